// The RAM file system's tree (tree.h has the rules).
#include "tree.h"

#include <base/utility.h>
#if __STDC_HOSTED__
#include <new>
#else
#include <tern/new.h>
#endif

namespace tmpfs {

namespace {

// A file's buffer doubles up to this size, then grows by a quarter: copying stays linear
// in the file's size, and at most a quarter of a large file's buffer is unused.
constexpr uint64_t kGrowthStep = 1ull << 20;

// The runtime's word-at-a-time memcpy and memset (the compiler may call them for these).
void copy_bytes(void* to, const void* from, uint64_t n) {
    if (n > 0)
        __builtin_memcpy(to, from, n);
}

void zero_bytes(void* to, uint64_t n) {
    if (n > 0)
        __builtin_memset(to, 0, n);
}

// Checks the bytes of a path: no NUL, at most kMaxPath bytes, no component over kMaxName.
int check_path(base::StringView path) {
    if (path.size() > kMaxPath)
        return -kENAMETOOLONG;
    size_t run = 0;
    for (char c : path) {
        if (c == '\0')
            return -kEINVAL;
        run = c == '/' ? 0 : run + 1;
        if (run > kMaxName)
            return -kENAMETOOLONG;
    }
    return 0;
}

// Splits the next component off rest (skipping "/"s); false when none is left.
bool next_component(base::StringView& rest, base::StringView& component) {
    size_t i = 0;
    while (i < rest.size() && rest[i] == '/')
        ++i;
    if (i == rest.size())
        return false;
    size_t start = i;
    while (i < rest.size() && rest[i] != '/')
        ++i;
    component = rest.substr(start, i - start);
    rest = rest.substr(i);
    return true;
}

// The node an entry names: the file behind a hard link's entry, or the entry itself.
Node* file_of(Node* entry) { return entry && entry->file ? entry->file : entry; }

bool is_ancestor(const Node* ancestor, const Node* node) {
    for (const Node* n = node; n; n = n->parent)
        if (n == ancestor)
            return true;
    return false;
}

} // namespace

Tree::Tree(Limits limits, int64_t now_ns, Backing* backing) : m_limits(limits), m_backing(backing) {
    Node* root = new (std::nothrow) Node;
    if (!root)
        return;
    root->inode = m_next_inode++;
    root->mode = kDirectory | 0755;
    root->nlink = 2;
    root->atime_ns = root->mtime_ns = root->ctime_ns = now_ns;
    m_root = root;
    m_nodes = 1;
    hash_insert(root);
}

Tree::~Tree() {
    if (m_root)
        destroy(m_root);
}

void Tree::destroy(Node* node) {
    while (Node* c = node->first_child) {
        node->first_child = c->next_sibling;
        destroy(c);
    }
    release_data(node);
    delete node;
}

void Tree::hash_insert(Node* node) {
    Node*& head = m_buckets[node->inode % kBuckets];
    node->hash_next = head;
    head = node;
}

void Tree::hash_remove(Node* node) {
    for (Node** p = &m_buckets[node->inode % kBuckets]; *p; p = &(*p)->hash_next) {
        if (*p == node) {
            *p = node->hash_next;
            return;
        }
    }
}

Node* Tree::find(uint64_t inode) {
    for (Node* n = m_buckets[inode % kBuckets]; n; n = n->hash_next)
        if (n->inode == inode)
            return n;
    return nullptr;
}

Node* Tree::child(Node* directory, base::StringView name) {
    for (Node* c = directory->first_child; c; c = c->next_sibling)
        if (c->leaf() == name)
            return c;
    return nullptr;
}

Node* Tree::entry(Node* directory, uint64_t n) {
    if (!directory->is_directory())
        return nullptr;
    Node* c = directory->first_child;
    for (; c && n > 0; --n)
        c = c->next_sibling;
    return c;
}

int Tree::resolve_parent(base::StringView path, Parent* out) {
    if (int r = check_path(path); r != 0)
        return r;
    if (!path.starts_with('/'))
        return -kEINVAL;
    Node* directory = m_root;
    base::StringView rest = path;
    base::StringView component;
    if (!next_component(rest, component)) {
        *out = {m_root, {}}; // the root itself
        return 0;
    }
    for (;;) {
        base::StringView after = rest;
        base::StringView next;
        if (!next_component(after, next)) {
            *out = {directory, component};
            return 0;
        }
        if (component == base::StringView(".")) {
            // stays
        } else if (component == base::StringView("..")) {
            if (directory->parent)
                directory = directory->parent;
        } else {
            Node* c = child(directory, component);
            if (!c)
                return -kENOENT;
            if (c->is_symlink()) {
                // The client follows it; where it ends in path tells the client what to
                // read and what is left (lookup_through).
                m_link = c;
                m_link_end = size_t(component.data() + component.size() - path.data());
                return -kENOTDIR;
            }
            if (!c->is_directory())
                return -kENOTDIR;
            directory = c;
        }
        component = next;
        rest = after;
    }
}

int Tree::lookup_through(base::StringView path, Node** out, size_t* link_end) {
    m_link = nullptr;
    int r = lookup(path, out);
    *link_end = 0;
    if (r == -kENOTDIR && m_link) {
        *out = m_link;
        *link_end = m_link_end;
        return 0;
    }
    return r;
}

int Tree::lookup(base::StringView path, Node** out) {
    Parent p;
    if (int r = resolve_parent(path, &p); r != 0)
        return r;
    if (p.leaf.empty() || p.leaf == base::StringView(".")) {
        *out = p.directory;
        return 0;
    }
    if (p.leaf == base::StringView("..")) {
        *out = p.directory->parent ? p.directory->parent : p.directory;
        return 0;
    }
    Node* c = child(p.directory, p.leaf);
    if (!c)
        return -kENOENT;
    *out = file_of(c);
    return 0;
}

void Tree::attach(Node* directory, Node* node) {
    node->parent = directory;
    node->next_sibling = nullptr;
    Node** tail = &directory->first_child;
    while (*tail)
        tail = &(*tail)->next_sibling;
    *tail = node;
    directory->size++;
    if (node->is_directory())
        directory->nlink++;
}

void Tree::detach(Node* node) {
    Node* directory = node->parent;
    for (Node** p = &directory->first_child; *p; p = &(*p)->next_sibling) {
        if (*p == node) {
            *p = node->next_sibling;
            break;
        }
    }
    directory->size--;
    if (node->is_directory())
        directory->nlink--;
    node->parent = nullptr;
    node->next_sibling = nullptr;
}

int Tree::make_node(Node* directory, base::StringView leaf, uint32_t mode, int64_t now_ns,
                    Node** out) {
    if (leaf.empty() || leaf == base::StringView(".") || leaf == base::StringView(".."))
        return -kEEXIST;
    if (child(directory, leaf))
        return -kEEXIST;
    if (m_nodes >= m_limits.max_nodes)
        return -kENOSPC;
    Node* node = new (std::nothrow) Node;
    if (!node)
        return -kENOSPC;
    node->inode = m_next_inode++;
    node->mode = mode;
    node->nlink = node->is_directory() ? 2 : 1;
    node->atime_ns = node->mtime_ns = node->ctime_ns = now_ns;
    node->name_length = uint16_t(leaf.size());
    copy_bytes(node->name, leaf.data(), leaf.size());
    attach(directory, node);
    directory->mtime_ns = directory->ctime_ns = now_ns;
    hash_insert(node);
    ++m_nodes;
    *out = node;
    return 0;
}

bool Tree::room_for(const Node* node, uint64_t size) const {
    return size <= node->size || size - node->size <= m_limits.max_bytes - m_bytes;
}

void Tree::release_data(Node* node) {
    if (node->memory)
        m_backing->drop(node->memory, node->data, node->capacity);
    else
        delete[] node->data;
    node->memory = 0;
    node->data = nullptr;
    node->capacity = 0;
}

int Tree::move_to_object(Node* node, uint64_t capacity) {
    uint64_t memory = 0;
    uint8_t* data = nullptr;
    if (!m_backing->make(capacity, &memory, &data))
        return -kENOMEM;
    copy_bytes(data, node->data, node->size);
    release_data(node);
    node->memory = memory;
    node->data = data;
    node->capacity = capacity;
    return 0;
}

int Tree::map(Node* node, uint64_t end, uint64_t* memory, uint64_t* size) {
    if (node->is_directory())
        return -kEISDIR;
    if (!node->is_regular() || end > kMaxFileSize)
        return -kEINVAL;
    if (!m_backing)
        return -kENODEV;
    // Pages past the end of the file cost memory too: no more than the byte limit has left.
    if (end > node->size && end - node->size > m_limits.max_bytes - m_bytes)
        return -kENOMEM;
    uint64_t want = end > node->size ? end : node->size;
    if (want == 0)
        want = 1;
    if (want > kMaxFileSize - (kPageSize - 1))
        return -kEINVAL;
    want = (want + kPageSize - 1) & ~(kPageSize - 1);
    if (!node->memory || want > node->capacity) {
        if (int r = move_to_object(node, want); r != 0)
            return r;
    }
    *memory = node->memory;
    *size = node->capacity;
    return 0;
}

int Tree::reserve(Node* node, uint64_t size) {
    if (size <= node->capacity)
        return 0;
    uint64_t grown =
        node->capacity < kGrowthStep ? node->capacity * 2 : node->capacity + node->capacity / 4;
    uint64_t capacity = size > grown ? size : grown;
    if (node->memory) {
        // A mapped file stays in an object: whole pages, grown as the heap buffer grows.
        if (capacity > kMaxFileSize - (kPageSize - 1))
            capacity = size;
        capacity = (capacity + kPageSize - 1) & ~(kPageSize - 1);
        return move_to_object(node, capacity) == 0 ? 0 : -kENOSPC;
    }
    auto* data = new (std::nothrow) uint8_t[capacity];
    if (!data && capacity > size)
        data = new (std::nothrow) uint8_t[capacity = size];
    if (!data)
        return -kENOSPC;
    copy_bytes(data, node->data, node->size);
    delete[] node->data;
    node->data = data;
    node->capacity = capacity;
    return 0;
}

int Tree::open(base::StringView path, uint32_t flags, uint32_t mode, int64_t now_ns, Node** out) {
    Parent p;
    if (int r = resolve_parent(path, &p); r != 0)
        return r;
    Node* node = nullptr;
    if (p.leaf.empty() || p.leaf == base::StringView(".") || p.leaf == base::StringView("..")) {
        if (int r = lookup(path, &node); r != 0)
            return r;
    } else {
        node = file_of(child(p.directory, p.leaf));
    }
    if (node) {
        if ((flags & kOpenCreate) && (flags & kOpenExclusive))
            return -kEEXIST;
        if (node->is_symlink()) {
            *out = node;
            return 0;
        }
        if ((flags & kOpenDirectory) && !node->is_directory())
            return -kENOTDIR;
        if (node->is_directory() && (flags & (kOpenTruncate | kOpenCreate)))
            return -kEISDIR;
        if ((flags & kOpenTruncate) && node->size > 0)
            (void)truncate(node, 0, now_ns);
        *out = node;
        return 0;
    }
    if (!(flags & kOpenCreate))
        return -kENOENT;
    if (flags & kOpenDirectory)
        return -kEINVAL; // O_CREAT | O_DIRECTORY on a missing name, as Linux
    return make_node(p.directory, p.leaf, kRegular | (mode & kPermissionMask), now_ns, out);
}

int Tree::read(Node* node, uint64_t offset, uint64_t length, uint8_t* out, uint64_t* count,
               int64_t now_ns) {
    *count = 0;
    if (node->is_directory())
        return -kEISDIR;
    if (!node->is_regular())
        return -kEINVAL;
    if (offset < node->size) {
        uint64_t n = node->size - offset < length ? node->size - offset : length;
        copy_bytes(out, node->data + offset, n);
        *count = n;
    }
    node->atime_ns = now_ns;
    return 0;
}

int Tree::write(Node* node, uint64_t offset, const uint8_t* data, uint64_t length, bool append,
                uint64_t* at, int64_t now_ns) {
    if (node->is_directory())
        return -kEISDIR;
    if (!node->is_regular())
        return -kEINVAL;
    if (append)
        offset = node->size;
    if (offset > kMaxFileSize || length > kMaxFileSize - offset)
        return -kEFBIG;
    *at = offset;
    if (length == 0)
        return 0;
    uint64_t end = offset + length;
    if (!room_for(node, end))
        return -kENOSPC;
    if (int r = reserve(node, end); r != 0)
        return r;
    if (offset > node->size)
        zero_bytes(node->data + node->size, offset - node->size);
    copy_bytes(node->data + offset, data, length);
    if (end > node->size) {
        m_bytes += end - node->size;
        node->size = end;
    }
    node->mtime_ns = node->ctime_ns = now_ns;
    return 0;
}

int Tree::truncate(Node* node, uint64_t size, int64_t now_ns) {
    if (node->is_directory())
        return -kEISDIR;
    if (!node->is_regular())
        return -kEINVAL;
    if (size > kMaxFileSize)
        return -kEFBIG;
    if (size > node->size) {
        if (!room_for(node, size))
            return -kENOSPC;
        if (int r = reserve(node, size); r != 0)
            return r;
        zero_bytes(node->data + node->size, size - node->size);
    } else if (size == 0 && node->data && !node->memory) {
        // An emptied file gives its memory back (a mapped one keeps its object, which
        // clients may have mapped).
        release_data(node);
    }
    m_bytes = m_bytes - node->size + size;
    node->size = size;
    node->mtime_ns = node->ctime_ns = now_ns;
    return 0;
}

int Tree::chmod(Node* node, uint32_t mode, int64_t now_ns) {
    node->mode = (node->mode & kTypeMask) | (mode & kPermissionMask);
    node->ctime_ns = now_ns;
    return 0;
}

int Tree::set_times(Node* node, bool set_atime, int64_t atime_ns, bool set_mtime, int64_t mtime_ns,
                    int64_t now_ns) {
    if (set_atime)
        node->atime_ns = atime_ns;
    if (set_mtime)
        node->mtime_ns = mtime_ns;
    if (set_atime || set_mtime)
        node->ctime_ns = now_ns;
    return 0;
}

int Tree::mkdir(base::StringView path, uint32_t mode, int64_t now_ns, Node** out) {
    Parent p;
    if (int r = resolve_parent(path, &p); r != 0)
        return r;
    return make_node(p.directory, p.leaf, kDirectory | (mode & kPermissionMask), now_ns, out);
}

int Tree::rmdir(base::StringView path, int64_t now_ns) {
    Parent p;
    if (int r = resolve_parent(path, &p); r != 0)
        return r;
    if (p.leaf.empty())
        return -kEBUSY; // the root
    if (p.leaf == base::StringView("."))
        return -kEINVAL;
    if (p.leaf == base::StringView(".."))
        return -kENOTEMPTY;
    Node* node = child(p.directory, p.leaf);
    if (!node)
        return -kENOENT;
    if (!node->is_directory())
        return -kENOTDIR;
    if (node->first_child)
        return -kENOTEMPTY;
    detach(node);
    hash_remove(node);
    p.directory->mtime_ns = p.directory->ctime_ns = now_ns;
    destroy(node);
    --m_nodes;
    return 0;
}

int Tree::unlink(base::StringView path, int64_t now_ns) {
    Parent p;
    if (int r = resolve_parent(path, &p); r != 0)
        return r;
    if (p.leaf.empty() || p.leaf == base::StringView(".") || p.leaf == base::StringView(".."))
        return -kEISDIR;
    Node* node = child(p.directory, p.leaf);
    if (!node)
        return -kENOENT;
    if (node->is_directory())
        return -kEISDIR;
    detach(node);
    p.directory->mtime_ns = p.directory->ctime_ns = now_ns;
    file_of(node)->ctime_ns = now_ns;
    remove_entry(node);
    return 0;
}

void Tree::remove_entry(Node* entry) {
    Node* file = file_of(entry);
    --m_nodes;
    if (file != entry) {
        // One of the names a file has besides its own node: the node stays.
        for (Node** q = &file->next_link; *q; q = &(*q)->next_link) {
            if (*q == entry) {
                *q = entry->next_link;
                break;
            }
        }
        file->nlink--;
        delete entry;
        return;
    }
    if (Node* other = file->next_link) {
        // The file's own entry goes while it has other names: it takes the place of one
        // of them (same directory position and name), which goes instead.
        file->next_link = other->next_link;
        Node* directory = other->parent;
        for (Node** q = &directory->first_child; *q; q = &(*q)->next_sibling) {
            if (*q == other) {
                file->next_sibling = other->next_sibling;
                *q = file;
                break;
            }
        }
        file->parent = directory;
        file->name_length = other->name_length;
        copy_bytes(file->name, other->name, sizeof(file->name));
        file->nlink--;
        delete other;
        return;
    }
    hash_remove(file);
    m_bytes -= file->size; // a file's or a link's bytes
    destroy(file);
}

int Tree::link(base::StringView from, base::StringView to, int64_t now_ns, Node** out) {
    Node* file = nullptr;
    if (int r = lookup(from, &file); r != 0)
        return r;
    if (!file->is_regular())
        return -kEPERM;
    Parent p;
    if (int r = resolve_parent(to, &p); r != 0)
        return r;
    if (p.leaf.empty() || p.leaf == base::StringView(".") || p.leaf == base::StringView(".."))
        return -kEEXIST;
    if (p.leaf.size() > kMaxName)
        return -kENAMETOOLONG;
    if (child(p.directory, p.leaf))
        return -kEEXIST;
    if (m_nodes >= m_limits.max_nodes)
        return -kENOSPC;
    Node* entry = new (std::nothrow) Node;
    if (!entry)
        return -kENOSPC;
    entry->inode = file->inode;
    entry->mode = file->mode;
    entry->file = file;
    entry->name_length = uint16_t(p.leaf.size());
    copy_bytes(entry->name, p.leaf.data(), p.leaf.size());
    entry->name[p.leaf.size()] = '\0';
    attach(p.directory, entry);
    entry->next_link = file->next_link;
    file->next_link = entry;
    file->nlink++;
    file->ctime_ns = now_ns;
    p.directory->mtime_ns = p.directory->ctime_ns = now_ns;
    ++m_nodes;
    *out = file;
    return 0;
}

int Tree::symlink(base::StringView target, base::StringView path, int64_t now_ns, Node** out) {
    if (target.empty())
        return -kENOENT;
    if (int r = check_path(target); r != 0)
        return r;
    Parent p;
    if (int r = resolve_parent(path, &p); r != 0)
        return r;
    if (target.size() > m_limits.max_bytes - m_bytes)
        return -kENOSPC;
    Node* node = nullptr;
    if (int r = make_node(p.directory, p.leaf, kSymlink | 0777, now_ns, &node); r != 0)
        return r;
    if (int r = reserve(node, target.size()); r != 0) {
        detach(node);
        hash_remove(node);
        destroy(node);
        --m_nodes;
        return r;
    }
    copy_bytes(node->data, target.data(), target.size());
    node->size = target.size();
    m_bytes += node->size;
    *out = node;
    return 0;
}

int Tree::rename(base::StringView from, base::StringView to, int64_t now_ns) {
    Parent source, target;
    if (int r = resolve_parent(from, &source); r != 0)
        return r;
    if (int r = resolve_parent(to, &target); r != 0)
        return r;
    auto special = [](base::StringView leaf) {
        return leaf.empty() || leaf == base::StringView(".") || leaf == base::StringView("..");
    };
    if (special(source.leaf))
        return -kEBUSY;
    Node* node = child(source.directory, source.leaf);
    if (!node)
        return -kENOENT;
    if (special(target.leaf))
        return node->is_directory() ? -kEBUSY : -kEISDIR;
    // A directory cannot move under itself.
    if (node->is_directory() && is_ancestor(node, target.directory))
        return -kEINVAL;
    Node* existing = child(target.directory, target.leaf);
    // Two names of one file: nothing happens (POSIX).
    if (existing && file_of(existing) == file_of(node))
        return 0;
    if (existing) {
        if (node->is_directory() && !existing->is_directory())
            return -kENOTDIR;
        if (!node->is_directory() && existing->is_directory())
            return -kEISDIR;
        if (existing->first_child)
            return -kENOTEMPTY;
        detach(existing);
        if (existing->is_directory()) {
            hash_remove(existing);
            destroy(existing);
            --m_nodes;
        } else {
            remove_entry(existing);
        }
    }
    detach(node);
    node->name_length = uint16_t(target.leaf.size());
    copy_bytes(node->name, target.leaf.data(), target.leaf.size());
    node->name[target.leaf.size()] = '\0';
    attach(target.directory, node);
    node->ctime_ns = now_ns;
    source.directory->mtime_ns = source.directory->ctime_ns = now_ns;
    target.directory->mtime_ns = target.directory->ctime_ns = now_ns;
    return 0;
}

} // namespace tmpfs
