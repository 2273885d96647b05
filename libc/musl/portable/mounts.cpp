// Tern's musl port: the mount table and path resolution rules (mounts.h).
#include <libc/musl/portable/files.h>
#include <libc/musl/portable/mounts.h>
#include <libc/musl/portable/translate.h>

namespace {

uint64_t text_length(const char* s) {
    uint64_t n = 0;
    while (s[n] != '\0')
        ++n;
    return n;
}

bool copy_text(char* to, const char* from, uint64_t capacity) {
    uint64_t n = text_length(from);
    if (n + 1 > capacity)
        return false;
    for (uint64_t i = 0; i <= n; ++i)
        to[i] = from[i];
    return true;
}

bool same_text(const char* a, const char* b) {
    uint64_t i = 0;
    for (; a[i] != '\0' && a[i] == b[i]; ++i) {
    }
    return a[i] == b[i];
}

// A normalised absolute path: "/" or "/a/b" without "." or ".." or empty components.
bool is_normalised(const char* path) {
    if (path[0] != '/')
        return false;
    if (path[1] == '\0')
        return true;
    for (uint64_t i = 0; path[i] != '\0';) {
        ++i; // past the "/"
        uint64_t start = i;
        while (path[i] != '\0' && path[i] != '/')
            ++i;
        uint64_t length = i - start;
        if (length == 0)
            return false;
        if (path[start] == '.' && (length == 1 || (length == 2 && path[start + 1] == '.')))
            return false;
    }
    return true;
}

// The length of the prefix of path a mount's prefix covers, or -1 when it does not.
int64_t match(const char* prefix, const char* path) {
    uint64_t n = text_length(prefix);
    if (n == 1) // "/" covers every absolute path
        return path[0] == '/' ? 1 : -1;
    for (uint64_t i = 0; i < n; ++i)
        if (path[i] != prefix[i])
            return -1;
    return path[n] == '\0' || path[n] == '/' ? int64_t(n) : -1;
}

void store_u64(uint8_t* at, uint64_t value) {
    for (int i = 0; i < 8; ++i)
        at[i] = uint8_t(value >> (8 * i));
}

uint64_t load_u64(const uint8_t* at) {
    uint64_t value = 0;
    for (int i = 0; i < 8; ++i)
        value |= uint64_t(at[i]) << (8 * i);
    return value;
}

// struct linux_dirent64: d_ino, d_off, d_reclen (u16), d_type (u8), d_name.
constexpr uint64_t kDirentNameOffset = 19;
// tern::file::ListEntry: inode (u64), mode (u32), name_length (u16), reserved (u16).
constexpr uint64_t kListHeader = 16;

} // namespace

extern "C" {

void tern_libc_mounts_init(struct tern_libc_mount_table* table) {
    *table = {};
    (void)tern_libc_mount_add(table, "/", "/", TERN_LIBC_SERVER_BOOTFS, 1);
    (void)tern_libc_mount_add(table, "/tmp", "/tmp", TERN_LIBC_SERVER_TMPFS, 0);
    (void)tern_libc_mount_add(table, "/home", "/home", TERN_LIBC_SERVER_TMPFS, 0);
    (void)tern_libc_mount_add(table, "/dev/shm", "/dev/shm", TERN_LIBC_SERVER_TMPFS, 0);
}

int tern_libc_mount_add(struct tern_libc_mount_table* table, const char* prefix, const char* root,
                        uint32_t server, int read_only) {
    if (!is_normalised(prefix) || !is_normalised(root))
        return -TERN_LINUX_EINVAL;
    if (text_length(prefix) + 1 > TERN_LIBC_MOUNT_PREFIX
        || text_length(root) + 1 > TERN_LIBC_MOUNT_PREFIX)
        return -TERN_LINUX_ENAMETOOLONG;
    for (uint32_t i = 0; i < table->count; ++i)
        if (same_text(table->mounts[i].prefix, prefix))
            return -TERN_LINUX_EEXIST;
    if (table->count >= TERN_LIBC_MAX_MOUNTS)
        return -TERN_LINUX_ENOSPC;
    tern_libc_mount& m = table->mounts[table->count++];
    (void)copy_text(m.prefix, prefix, sizeof(m.prefix));
    (void)copy_text(m.root, root, sizeof(m.root));
    m.server = server;
    m.read_only = read_only ? 1 : 0;
    return 0;
}

int tern_libc_mount_find(const struct tern_libc_mount_table* table, const char* path) {
    int best = -TERN_LINUX_ENOENT;
    int64_t best_length = -1;
    for (uint32_t i = 0; i < table->count && i < TERN_LIBC_MAX_MOUNTS; ++i) {
        int64_t n = match(table->mounts[i].prefix, path);
        if (n > best_length) {
            best_length = n;
            best = int(i);
        }
    }
    return best;
}

int tern_libc_mount_server_path(const struct tern_libc_mount_table* table, int index,
                                const char* path, char* out, uint64_t capacity) {
    const tern_libc_mount& m = table->mounts[index];
    uint64_t prefix = text_length(m.prefix);
    const char* rest = prefix == 1 ? path : path + prefix; // "" or "/..."
    uint64_t root = text_length(m.root);
    bool root_is_slash = root == 1;
    uint64_t rest_length = text_length(rest);
    // "/" + "/a" is "/a"; "/tmp" + "" is "/tmp"; "/" + "" is "/".
    uint64_t total = (root_is_slash && rest_length > 0 ? 0 : root) + rest_length;
    if (total + 1 > capacity)
        return -TERN_LINUX_ENAMETOOLONG;
    uint64_t at = 0;
    if (!(root_is_slash && rest_length > 0))
        for (uint64_t i = 0; i < root; ++i)
            out[at++] = m.root[i];
    for (uint64_t i = 0; i < rest_length; ++i)
        out[at++] = rest[i];
    out[at] = '\0';
    return 0;
}

uint64_t tern_libc_add_mount_points(const struct tern_libc_mount_table* table,
                                    const char* directory, char* listing, uint64_t size,
                                    uint64_t capacity) {
    uint64_t directory_length = text_length(directory);
    bool root = directory_length == 1;
    for (uint32_t i = 0; i < table->count && i < TERN_LIBC_MAX_MOUNTS; ++i) {
        const char* prefix = table->mounts[i].prefix;
        int64_t n = root ? (prefix[1] != '\0' ? 1 : -1) : match(directory, prefix);
        if (n < 0 || (!root && prefix[n] != '/'))
            continue;
        const char* leaf = prefix + n + (root ? 0 : 1);
        uint64_t leaf_length = text_length(leaf);
        bool nested = false;
        for (uint64_t j = 0; j < leaf_length; ++j)
            nested = nested || leaf[j] == '/';
        if (leaf_length == 0 || nested)
            continue;
        // Already listed (as a directory or not)?
        bool listed = false;
        for (uint64_t at = 0; at < size && !listed;) {
            uint64_t end = at;
            while (end < size && listing[end] != '\n')
                ++end;
            uint64_t length = end - at;
            if (length > 0 && listing[end - 1] == '/')
                --length;
            if (length == leaf_length) {
                bool same = true;
                for (uint64_t j = 0; j < length; ++j)
                    same = same && listing[at + j] == leaf[j];
                listed = same;
            }
            at = end + 1;
        }
        if (listed || size + leaf_length + 2 > capacity)
            continue;
        for (uint64_t j = 0; j < leaf_length; ++j)
            listing[size++] = leaf[j];
        listing[size++] = '/';
        listing[size++] = '\n';
    }
    return size;
}

int tern_libc_mount_global_path(const struct tern_libc_mount_table* table, int index,
                                const char* server_path, char* out, uint64_t capacity) {
    const tern_libc_mount& m = table->mounts[index];
    uint64_t root = text_length(m.root);
    const char* rest = server_path;
    if (root > 1) {
        int64_t n = match(m.root, server_path);
        if (n < 0)
            return -TERN_LINUX_EINVAL;
        rest = server_path + n; // "" or "/..."
    } else if (server_path[0] != '/') {
        return -TERN_LINUX_EINVAL;
    }
    uint64_t prefix = text_length(m.prefix);
    bool prefix_is_slash = prefix == 1;
    uint64_t rest_length = text_length(rest);
    if (rest_length == 1 && rest[0] == '/') // the server's "/" is the prefix itself
        rest_length = 0;
    uint64_t total = (prefix_is_slash ? 0 : prefix) + rest_length;
    if (total == 0)
        total = 1; // "/"
    if (total + 1 > capacity)
        return -TERN_LINUX_ENAMETOOLONG;
    uint64_t at = 0;
    if (!prefix_is_slash)
        for (uint64_t i = 0; i < prefix; ++i)
            out[at++] = m.prefix[i];
    for (uint64_t i = 0; i < rest_length; ++i)
        out[at++] = rest[i];
    if (at == 0)
        out[at++] = '/';
    out[at] = '\0';
    return 0;
}

int tern_libc_link_target_path(const char* link, const char* target, uint64_t target_length,
                               char* out, uint64_t capacity, int* must_be_directory) {
    *must_be_directory = 0;
    if (target_length == 0)
        return -TERN_LINUX_ENOENT;
    if (target_length >= TERN_LINUX_PATH_MAX)
        return -TERN_LINUX_ENAMETOOLONG;
    char text[TERN_LINUX_PATH_MAX];
    for (uint64_t i = 0; i < target_length; ++i) {
        if (target[i] == '\0')
            return -TERN_LINUX_ENOENT;
        text[i] = target[i];
    }
    text[target_length] = '\0';
    // The directory holding the link.
    char directory[TERN_LINUX_PATH_MAX];
    uint64_t n = text_length(link);
    if (n + 1 > sizeof(directory))
        return -TERN_LINUX_ENAMETOOLONG;
    for (uint64_t i = 0; i <= n; ++i)
        directory[i] = link[i];
    while (n > 1 && directory[n - 1] != '/')
        --n;
    if (n > 1)
        --n; // drop the "/" before the leaf, unless it is the root's
    directory[n] = '\0';
    return tern_libc_normalize_path(directory, text, out, capacity, must_be_directory);
}

int tern_libc_list_entry(const void* buffer, uint64_t size, uint64_t* offset, uint64_t* inode,
                         uint32_t* mode, const char** name, uint32_t* name_length) {
    const auto* bytes = static_cast<const uint8_t*>(buffer);
    uint64_t at = *offset;
    if (at >= size)
        return 0;
    if (size - at < kListHeader)
        return -TERN_LINUX_EBADMSG;
    *inode = load_u64(bytes + at);
    *mode = uint32_t(bytes[at + 8]) | uint32_t(bytes[at + 9]) << 8 | uint32_t(bytes[at + 10]) << 16
            | uint32_t(bytes[at + 11]) << 24;
    uint32_t length = uint32_t(bytes[at + 12]) | uint32_t(bytes[at + 13]) << 8;
    if (length == 0 || length > TERN_LINUX_NAME_MAX || size - at - kListHeader < length)
        return -TERN_LINUX_EBADMSG;
    const char* text = reinterpret_cast<const char*>(bytes + at + kListHeader);
    for (uint32_t i = 0; i < length; ++i)
        if (text[i] == '/' || text[i] == '\0')
            return -TERN_LINUX_EBADMSG;
    if (text[0] == '.' && (length == 1 || (length == 2 && text[1] == '.')))
        return -TERN_LINUX_EBADMSG;
    uint64_t record = (kListHeader + length + 7) & ~uint64_t(7);
    *offset = at + record < size ? at + record : size;
    *name = text;
    *name_length = length;
    return 1;
}

int tern_libc_put_dirent(void* out, uint64_t capacity, uint64_t* used, uint64_t inode,
                         uint64_t next, uint32_t mode, const char* name, uint32_t name_length) {
    uint64_t record = (kDirentNameOffset + name_length + 1 + 7) & ~uint64_t(7);
    if (*used > capacity || record > capacity - *used)
        return 0;
    uint8_t* r = static_cast<uint8_t*>(out) + *used;
    for (uint64_t i = 0; i < record; ++i)
        r[i] = 0;
    store_u64(r, inode);
    store_u64(r + 8, next);
    r[16] = uint8_t(record);
    r[17] = uint8_t(record >> 8);
    // DT_* is the S_IFMT type shifted down: DT_DIR 4, DT_REG 8, DT_LNK 10.
    r[18] = uint8_t((mode >> 12) & 017);
    for (uint32_t i = 0; i < name_length; ++i)
        r[kDirentNameOffset + i] = uint8_t(name[i]);
    *used += record;
    return 1;
}

} // extern "C"
