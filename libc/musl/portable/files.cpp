// Tern's musl port: the rules behind files and the console (see files.h). Freestanding
// and portable: compiled into the musl backend of every C program, into the kernel with
// the other portable sources, and into the host unit tests.

#include <libc/musl/portable/files.h>
#include <libc/musl/portable/translate.h>
#include <stddef.h>

namespace {

constexpr uint64_t kPageMask = TERN_LIBC_PAGE_SIZE - 1;

// The fixed part of struct linux_dirent64: d_ino, d_off, d_reclen, d_type.
constexpr uint64_t kDirentNameOffset = 19;

uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

// FNV-1a over the bytes of a string, continuing from hash.
uint64_t fnv(uint64_t hash, const char* text, uint64_t length) {
    for (uint64_t i = 0; i < length; ++i) {
        hash ^= static_cast<uint8_t>(text[i]);
        hash *= 0x100000001b3ull;
    }
    return hash;
}

constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ull;

uint64_t string_length(const char* text) {
    uint64_t n = 0;
    while (text[n] != '\0')
        ++n;
    return n;
}

uint64_t nonzero(uint64_t inode) { return inode == 0 ? 1 : inode; }

// One entry of a bootfs listing.
struct ListingEntry {
    const char* name;
    uint64_t length;
    bool is_directory;
};

// The next well-formed entry of listing at or after *at; false at the end. Lines that
// could not be a name in a directory are skipped, so a broken server cannot make
// readdir return "." twice, a name with a "/" or one that overruns d_name.
bool next_listing_entry(const char* listing, uint64_t size, uint64_t* at, ListingEntry* entry) {
    while (*at < size) {
        uint64_t start = *at;
        uint64_t end = start;
        while (end < size && listing[end] != '\n')
            ++end;
        *at = end < size ? end + 1 : end;
        uint64_t length = end - start;
        bool is_directory = length > 0 && listing[end - 1] == '/';
        if (is_directory)
            --length;
        if (length == 0 || length > TERN_LINUX_NAME_MAX)
            continue;
        const char* name = listing + start;
        bool valid = true;
        for (uint64_t i = 0; i < length && valid; ++i)
            valid = name[i] != '/' && name[i] != '\0';
        if (!valid || (length == 1 && name[0] == '.')
            || (length == 2 && name[0] == '.' && name[1] == '.'))
            continue;
        *entry = {name, length, is_directory};
        return true;
    }
    return false;
}

// The inode number of directory's parent (the root is its own parent).
uint64_t parent_inode(const char* directory) {
    uint64_t length = string_length(directory);
    uint64_t slash = 0;
    for (uint64_t i = 0; i < length; ++i)
        if (directory[i] == '/')
            slash = i;
    if (slash == 0)
        return tern_libc_path_inode("/");
    return nonzero(fnv(kFnvBasis, directory, slash));
}

void store_u64(uint8_t* at, uint64_t value) {
    for (int i = 0; i < 8; ++i)
        at[i] = static_cast<uint8_t>(value >> (8 * i));
}

} // namespace

extern "C" {

void tern_libc_fd_table_init(struct tern_libc_fd_table* table) {
    *table = {};
    table->initialised = 1;
    struct tern_libc_file* console = &table->files[0];
    console->kind = TERN_LIBC_FD_CONSOLE;
    console->flags = 02; // O_RDWR
    console->references = 3;
    for (int fd = 0; fd < 3; ++fd)
        table->fds[fd] = {1, 0};
}

namespace {

int lowest_free_fd(const struct tern_libc_fd_table* table, int64_t from) {
    for (int64_t fd = from; fd < TERN_LIBC_MAX_FDS; ++fd)
        if (table->fds[fd].file == 0)
            return static_cast<int>(fd);
    return -TERN_LINUX_EMFILE;
}

struct tern_libc_file* free_description(struct tern_libc_fd_table* table) {
    for (auto& file : table->files)
        if (file.kind == TERN_LIBC_FD_FREE)
            return &file;
    return nullptr; // unreachable: descriptions never outnumber descriptors
}

uint16_t description_number(const struct tern_libc_fd_table* table,
                            const struct tern_libc_file* file) {
    return static_cast<uint16_t>(file - table->files + 1);
}

bool valid_fd(int64_t fd) { return fd >= 0 && fd < TERN_LIBC_MAX_FDS; }

} // namespace

int tern_libc_fd_allocate(struct tern_libc_fd_table* table, uint32_t kind) {
    int fd = lowest_free_fd(table, 0);
    if (fd < 0)
        return fd;
    struct tern_libc_file* file = free_description(table);
    if (!file)
        return -TERN_LINUX_EMFILE;
    *file = {};
    file->kind = kind;
    file->references = 1;
    table->fds[fd] = {description_number(table, file), 0};
    return fd;
}

static_assert(TERN_LIBC_MAX_FDS <= 64, "tern_libc_fd_descriptions: one bit per description");

uint64_t tern_libc_fd_descriptions(const struct tern_libc_fd_table* table) {
    uint64_t used = 0;
    for (int fd = 0; fd < TERN_LIBC_MAX_FDS; ++fd)
        if (table->fds[fd].file != 0)
            used |= uint64_t(1) << ((table->fds[fd].file - 1) % 64);
    return used;
}

struct tern_libc_file* tern_libc_fd_lookup(struct tern_libc_fd_table* table, int64_t fd) {
    if (!valid_fd(fd) || table->fds[fd].file == 0)
        return nullptr;
    return &table->files[table->fds[fd].file - 1];
}

struct tern_libc_file* tern_libc_fd_get(struct tern_libc_fd_table* table, int64_t fd) {
    struct tern_libc_file* file = tern_libc_fd_lookup(table, fd);
    return file && file->kind != TERN_LIBC_FD_CONSOLE ? file : nullptr;
}

struct tern_libc_file* tern_libc_fd_release(struct tern_libc_fd_table* table, int64_t fd) {
    struct tern_libc_file* file = tern_libc_fd_lookup(table, fd);
    if (!file)
        return nullptr;
    table->fds[fd] = {};
    return --file->references == 0 ? file : nullptr;
}

void tern_libc_file_free(struct tern_libc_file* file) { *file = {}; }

int tern_libc_fd_dup_from(struct tern_libc_fd_table* table, int64_t fd, int64_t minimum,
                          int cloexec) {
    struct tern_libc_file* file = tern_libc_fd_lookup(table, fd);
    if (!file)
        return -TERN_LINUX_EBADF;
    if (!valid_fd(minimum))
        return -TERN_LINUX_EINVAL;
    int target = lowest_free_fd(table, minimum);
    if (target < 0)
        return target;
    ++file->references;
    table->fds[target] = {description_number(table, file),
                          static_cast<uint16_t>(cloexec ? TERN_LINUX_FD_CLOEXEC : 0)};
    return target;
}

int tern_libc_fd_dup_to(struct tern_libc_fd_table* table, int64_t fd, int64_t target, int64_t flags,
                        struct tern_libc_file** displaced) {
    *displaced = nullptr;
    bool is_dup3 = flags != -1;
    if (is_dup3 && (flags & ~static_cast<int64_t>(TERN_LINUX_O_CLOEXEC)) != 0)
        return -TERN_LINUX_EINVAL;
    struct tern_libc_file* file = tern_libc_fd_lookup(table, fd);
    if (!file)
        return -TERN_LINUX_EBADF;
    if (!valid_fd(target))
        return -TERN_LINUX_EBADF;
    if (fd == target)
        return is_dup3 ? -TERN_LINUX_EINVAL : static_cast<int>(target);
    ++file->references; // before the release: target may be file's other descriptor
    *displaced = tern_libc_fd_release(table, target);
    table->fds[target] = {description_number(table, file),
                          static_cast<uint16_t>(is_dup3 && (flags & TERN_LINUX_O_CLOEXEC)
                                                    ? TERN_LINUX_FD_CLOEXEC
                                                    : 0)};
    return static_cast<int>(target);
}

int tern_libc_fd_get_flags(struct tern_libc_fd_table* table, int64_t fd) {
    if (!tern_libc_fd_lookup(table, fd))
        return -TERN_LINUX_EBADF;
    return table->fds[fd].flags;
}

int tern_libc_fd_set_flags(struct tern_libc_fd_table* table, int64_t fd, int64_t flags) {
    if (!tern_libc_fd_lookup(table, fd))
        return -TERN_LINUX_EBADF;
    table->fds[fd].flags = static_cast<uint16_t>(flags & TERN_LINUX_FD_CLOEXEC);
    return 0;
}

uint32_t tern_libc_status_flags_set(uint32_t current, int64_t flags) {
    constexpr uint32_t kChangeable = TERN_LINUX_O_APPEND | TERN_LINUX_O_NONBLOCK;
    return (current & ~kChangeable) | (static_cast<uint32_t>(flags) & kChangeable);
}

int tern_libc_fd_cloexec_list(const struct tern_libc_fd_table* table, int fds[TERN_LIBC_MAX_FDS]) {
    int count = 0;
    for (int fd = 0; fd < TERN_LIBC_MAX_FDS; ++fd)
        if (table->fds[fd].file != 0 && (table->fds[fd].flags & TERN_LINUX_FD_CLOEXEC))
            fds[count++] = fd;
    return count;
}

int tern_libc_lseek(uint64_t position, uint64_t size, int64_t offset, int64_t whence,
                    uint64_t* result) {
    uint64_t base = 0;
    switch (whence) {
    case TERN_LINUX_SEEK_SET:
        base = 0;
        break;
    case TERN_LINUX_SEEK_CUR:
        base = position;
        break;
    case TERN_LINUX_SEEK_END:
        base = size;
        break;
    default:
        return -TERN_LINUX_EINVAL;
    }
    constexpr uint64_t kMax = INT64_MAX;
    if (offset < 0) {
        // 0 - offset as unsigned is the magnitude, INT64_MIN included.
        uint64_t magnitude = 0 - static_cast<uint64_t>(offset);
        if (magnitude > base)
            return -TERN_LINUX_EINVAL;
        base -= magnitude;
        if (base > kMax)
            return -TERN_LINUX_EOVERFLOW;
        *result = base;
        return 0;
    }
    if (base > kMax || static_cast<uint64_t>(offset) > kMax - base)
        return -TERN_LINUX_EOVERFLOW;
    *result = base + static_cast<uint64_t>(offset);
    return 0;
}

uint64_t tern_libc_read_count(uint64_t position, uint64_t size, uint64_t want) {
    if (position >= size)
        return 0;
    return min_u64(size - position, want);
}

int tern_libc_normalize_path(const char* directory, const char* path, char* out, uint64_t capacity,
                             int* must_be_directory) {
    *must_be_directory = 0;
    if (capacity < 2)
        return -TERN_LINUX_ENAMETOOLONG;
    uint64_t length = 0;
    while (length < TERN_LINUX_PATH_MAX && path[length] != '\0')
        ++length;
    if (length == 0)
        return -TERN_LINUX_ENOENT;
    if (length >= TERN_LINUX_PATH_MAX)
        return -TERN_LINUX_ENAMETOOLONG;

    // out holds "/component" segments; the root is the empty sequence until the end.
    uint64_t at = 0;
    if (path[0] != '/') {
        uint64_t base = string_length(directory);
        if (!(base == 1 && directory[0] == '/')) {
            if (base + 1 > capacity)
                return -TERN_LINUX_ENAMETOOLONG;
            for (uint64_t i = 0; i < base; ++i)
                out[at++] = directory[i];
        }
    }
    bool last_is_dot = false;
    for (uint64_t i = 0; i < length;) {
        while (i < length && path[i] == '/')
            ++i;
        uint64_t start = i;
        while (i < length && path[i] != '/')
            ++i;
        uint64_t component = i - start;
        if (component == 0)
            break;
        const char* name = path + start;
        last_is_dot = false;
        if (component == 1 && name[0] == '.') {
            last_is_dot = true;
            continue;
        }
        if (component == 2 && name[0] == '.' && name[1] == '.') {
            last_is_dot = true;
            while (at > 0 && out[at - 1] != '/')
                --at;
            if (at > 0)
                --at;
            continue;
        }
        if (component > TERN_LINUX_NAME_MAX)
            return -TERN_LINUX_ENAMETOOLONG;
        if (at + 1 + component + 1 > capacity)
            return -TERN_LINUX_ENAMETOOLONG;
        out[at++] = '/';
        for (uint64_t j = 0; j < component; ++j)
            out[at++] = name[j];
    }
    if (path[length - 1] == '/' || last_is_dot)
        *must_be_directory = 1;
    if (at == 0)
        out[at++] = '/';
    out[at] = '\0';
    return 0;
}

uint64_t tern_libc_path_inode(const char* path) {
    return nonzero(fnv(kFnvBasis, path, string_length(path)));
}

void tern_libc_fill_stat_node(struct tern_linux_stat* st, uint64_t device, uint64_t inode,
                              uint32_t mode, uint64_t size, uint32_t nlink, uint32_t uid,
                              uint32_t gid, int64_t atime_ns, int64_t mtime_ns, int64_t ctime_ns) {
    *st = {};
    st->st_dev = device;
    st->st_ino = inode;
    st->st_nlink = nlink;
    st->st_mode = mode;
    st->st_uid = uid;
    st->st_gid = gid;
    st->st_size = int64_t(size);
    st->st_blksize = TERN_LIBC_BLOCK_SIZE;
    st->st_blocks = int64_t((size + 511) / 512);
    auto split = [](int64_t ns, int64_t* sec, int64_t* nsec) {
        int64_t s = ns / 1000000000;
        int64_t n = ns % 1000000000;
        if (n < 0) {
            n += 1000000000;
            --s;
        }
        *sec = s;
        *nsec = n;
    };
    split(atime_ns, &st->st_atime_sec, &st->st_atime_nsec);
    split(mtime_ns, &st->st_mtime_sec, &st->st_mtime_nsec);
    split(ctime_ns, &st->st_ctime_sec, &st->st_ctime_nsec);
}

void tern_libc_fill_stat(struct tern_linux_stat* st, enum tern_libc_node_type type, uint32_t mode,
                         uint64_t size, uint64_t inode) {
    *st = {};
    uint32_t format = TERN_LINUX_S_IFREG;
    if (type == TERN_LIBC_NODE_DIRECTORY)
        format = TERN_LINUX_S_IFDIR;
    else if (type == TERN_LIBC_NODE_CONSOLE)
        format = TERN_LINUX_S_IFCHR;
    else if (type == TERN_LIBC_NODE_SOCKET)
        format = TERN_LINUX_S_IFSOCK;
    else if (type == TERN_LIBC_NODE_PIPE)
        format = TERN_LINUX_S_IFIFO;
    st->st_dev = 1;
    st->st_ino = inode;
    st->st_nlink = type == TERN_LIBC_NODE_DIRECTORY ? 2 : 1;
    st->st_mode = format | (mode & 07777u);
    // Sizes beyond INT64_MAX cannot be expressed; no mapping is that large anyway.
    st->st_size = size > uint64_t(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(size);
    st->st_blksize = TERN_LIBC_BLOCK_SIZE;
    st->st_blocks = static_cast<int64_t>(size / 512 + (size % 512 != 0 ? 1 : 0));
}

int tern_libc_access_check(uint32_t mode, int is_directory, int64_t amode) {
    if (amode & ~int64_t(TERN_LINUX_R_OK | TERN_LINUX_W_OK | TERN_LINUX_X_OK))
        return -TERN_LINUX_EINVAL;
    if (amode & TERN_LINUX_W_OK)
        return -TERN_LINUX_EROFS;
    if ((amode & TERN_LINUX_X_OK) && !is_directory && (mode & 0111u) == 0)
        return -TERN_LINUX_EACCES;
    if ((amode & TERN_LINUX_R_OK) && (mode & 0444u) == 0)
        return -TERN_LINUX_EACCES;
    return 0;
}

int tern_libc_open_check_flags(int64_t flags) {
    int64_t access = flags & TERN_LINUX_O_ACCMODE;
    if (access == TERN_LINUX_O_ACCMODE)
        return -TERN_LINUX_EINVAL;
    if (access != TERN_LINUX_O_RDONLY
        || (flags & (TERN_LINUX_O_CREAT | TERN_LINUX_O_TRUNC | TERN_LINUX_O_TMPFILE_ONLY)))
        return -TERN_LINUX_EROFS;
    return 0;
}

int tern_libc_open_check_type(int64_t flags, int is_directory, int must_be_directory) {
    if (!is_directory && ((flags & TERN_LINUX_O_DIRECTORY) || must_be_directory))
        return -TERN_LINUX_ENOTDIR;
    return 0;
}

int tern_libc_check_map_reply(uint64_t size, uint64_t map_offset, uint64_t map_size,
                              uint64_t data_offset) {
    if ((map_offset & kPageMask) != 0 || (map_size & kPageMask) != 0)
        return -TERN_LINUX_EBADMSG;
    if (data_offset > map_size || size > map_size - data_offset)
        return -TERN_LINUX_EBADMSG;
    return 0;
}

uint64_t tern_libc_listing_entries(const char* listing, uint64_t size) {
    uint64_t count = 2;
    uint64_t at = 0;
    ListingEntry entry;
    while (next_listing_entry(listing, size, &at, &entry))
        ++count;
    return count;
}

int64_t tern_libc_fill_dirents(const char* listing, uint64_t size, const char* directory,
                               uint64_t* index, void* out, uint64_t capacity) {
    auto* bytes = static_cast<uint8_t*>(out);
    uint64_t written = 0;
    uint64_t at = 0;
    uint64_t skipped = 2;
    ListingEntry entry;
    // Find the listing entry for *index (entries 0 and 1 are "." and "..").
    while (skipped < *index) {
        if (!next_listing_entry(listing, size, &at, &entry))
            return 0;
        ++skipped;
    }
    uint64_t directory_length = string_length(directory);
    bool root = directory_length == 1 && directory[0] == '/';
    for (;;) {
        uint64_t inode = 0;
        uint8_t type = TERN_LINUX_DT_DIR;
        if (*index == 0) {
            entry = {".", 1, true};
            inode = tern_libc_path_inode(directory);
        } else if (*index == 1) {
            entry = {"..", 2, true};
            inode = parent_inode(directory);
        } else {
            if (!next_listing_entry(listing, size, &at, &entry))
                break;
            uint64_t hash = fnv(kFnvBasis, directory, root ? 0 : directory_length);
            inode = nonzero(fnv(fnv(hash, "/", 1), entry.name, entry.length));
            type = entry.is_directory ? TERN_LINUX_DT_DIR : TERN_LINUX_DT_REG;
        }
        uint64_t record = (kDirentNameOffset + entry.length + 1 + 7) & ~uint64_t(7);
        if (record > capacity - written) {
            if (written == 0)
                return -TERN_LINUX_EINVAL;
            break;
        }
        uint8_t* r = bytes + written;
        for (uint64_t i = 0; i < record; ++i)
            r[i] = 0;
        store_u64(r, inode);
        store_u64(r + 8, *index + 1);
        r[16] = static_cast<uint8_t>(record);
        r[17] = static_cast<uint8_t>(record >> 8);
        r[18] = type;
        for (uint64_t i = 0; i < entry.length; ++i)
            r[kDirentNameOffset + i] = static_cast<uint8_t>(entry.name[i]);
        written += record;
        ++*index;
    }
    return static_cast<int64_t>(written);
}

uint64_t tern_libc_line_take(struct tern_libc_line_buffer* buffer, void* out, uint64_t capacity) {
    if (buffer->end > TERN_LIBC_LINE_BUFFER || buffer->start > buffer->end) {
        buffer->start = buffer->end = 0;
        return 0;
    }
    uint64_t n = min_u64(buffer->end - buffer->start, capacity);
    auto* bytes = static_cast<uint8_t*>(out);
    for (uint64_t i = 0; i < n; ++i)
        bytes[i] = static_cast<uint8_t>(buffer->data[buffer->start + i]);
    buffer->start += static_cast<uint32_t>(n);
    if (buffer->start == buffer->end)
        buffer->start = buffer->end = 0;
    return n;
}

} // extern "C"
