/*
 * Tern's musl port: the mount table and the working directory, the rules that turn a path
 * a program names into a file server and that server's path.
 *
 * Every path call of the C library resolves the path against the working directory (or
 * the directory an *at() descriptor names) into a normalised absolute path
 * (tern_libc_normalize_path, files.h), then finds the mount whose prefix is the longest
 * that matches whole components: "/tmp/a" is on "/tmp", "/tmpx" on "/". The mount names
 * the server (bootfs, or a server of the file protocol, tern/protocols/file.h) and the
 * server's path is the mount's root followed by what comes after the prefix.
 *
 * The table and the working directory live in the process's own memory, beside the
 * descriptor table, so nothing about them is kept in a server: a process that moves takes
 * them along. A distributed file system client is one more server number and one more
 * entry; programs do not change.
 *
 * Valid C and C++; freestanding. The host unit tests (tests/unit/libc_mounts_test.cpp)
 * check it.
 */
#ifndef TERN_LIBC_MUSL_MOUNTS_H
#define TERN_LIBC_MUSL_MOUNTS_H

#include <stdint.h>

/* The servers a mount can name. */
#define TERN_LIBC_SERVER_BOOTFS 0u /* "bootfs", read-only (tern/protocols/bootfs.h) */
#define TERN_LIBC_SERVER_TMPFS 1u  /* "tmpfs" (tern/protocols/file.h) */

#define TERN_LIBC_MAX_MOUNTS 8
#define TERN_LIBC_MOUNT_PREFIX 64 /* bytes of a prefix or root, with the NUL */

struct tern_libc_mount {
    char prefix[TERN_LIBC_MOUNT_PREFIX]; /* normalised absolute path */
    char root[TERN_LIBC_MOUNT_PREFIX];   /* the server's path for the prefix itself */
    uint32_t server;                     /* TERN_LIBC_SERVER_* */
    uint32_t read_only;
};

struct tern_libc_mount_table {
    uint32_t count;
    uint32_t reserved;
    struct tern_libc_mount mounts[TERN_LIBC_MAX_MOUNTS];
};

#ifdef __cplusplus
extern "C" {
#endif

/* Tern's table: "/" on bootfs (read-only), "/tmp", "/home" and "/dev/shm" on tmpfs (its
 * /tmp, /home and /dev/shm: POSIX shared memory objects and named semaphores). */
void tern_libc_mounts_init(struct tern_libc_mount_table* table);

/* Adds a mount; prefix and root normalised absolute paths. -EEXIST for a prefix already
 * mounted, -ENOSPC for a full table, -ENAMETOOLONG for a prefix or root that does not fit,
 * -EINVAL for one that is not normalised. */
int tern_libc_mount_add(struct tern_libc_mount_table* table, const char* prefix, const char* root,
                        uint32_t server, int read_only);

/* The mount a normalised absolute path is on (the longest prefix of whole components);
 * -ENOENT when none matches (a table without "/"). */
int tern_libc_mount_find(const struct tern_libc_mount_table* table, const char* path);

/* The server's path for path on mount index into out (capacity bytes with the NUL):
 * the mount's root and the rest of path. -ENAMETOOLONG when it does not fit. */
int tern_libc_mount_server_path(const struct tern_libc_mount_table* table, int index,
                                const char* path, char* out, uint64_t capacity);

/* Adds the mount points directly inside directory (a normalised path) to a bootfs
 * listing (one "name/" line each) unless the listing has them already, so that readdir
 * of "/" shows "tmp" and "home". listing holds size bytes in capacity; returns the new
 * size (mount points that do not fit are left out). */
uint64_t tern_libc_add_mount_points(const struct tern_libc_mount_table* table,
                                    const char* directory, char* listing, uint64_t size,
                                    uint64_t capacity);

/* The inverse: the path of this process for a server path on mount index (the prefix
 * and what follows the mount's root). -EINVAL when server_path is not under the root,
 * -ENAMETOOLONG when the result does not fit. */
int tern_libc_mount_global_path(const struct tern_libc_mount_table* table, int index,
                                const char* server_path, char* out, uint64_t capacity);

/* The path a symbolic link leads to: target when absolute, else target after the
 * directory holding the link (link is a normalised absolute path), into out as
 * tern_libc_normalize_path makes it. -ENOENT for an empty target, -ENAMETOOLONG. */
int tern_libc_link_target_path(const char* link, const char* target, uint64_t target_length,
                               char* out, uint64_t capacity, int* must_be_directory);

/* One entry of a file protocol List reply (tern::file::ListEntry: inode, mode, name
 * length, then the name, padded to 8 bytes) at *offset in buffer[0, size): fills the
 * entry's fields (name points into buffer) and advances *offset. Returns 1 for an entry,
 * 0 at the end, -EBADMSG for a malformed record (cut short, a name of 0 or more than
 * NAME_MAX bytes, a "/" or NUL in it, or "." or ".."). */
int tern_libc_list_entry(const void* buffer, uint64_t size, uint64_t* offset, uint64_t* inode,
                         uint32_t* mode, const char** name, uint32_t* name_length);

/* Writes one struct linux_dirent64 record (d_ino, d_off = next, d_reclen, d_type from
 * the S_IFMT bits of mode, d_name) at out + *used when it fits in capacity, advancing
 * *used. Returns 1 when written, 0 when it does not fit. */
int tern_libc_put_dirent(void* out, uint64_t capacity, uint64_t* used, uint64_t inode,
                         uint64_t next, uint32_t mode, const char* name, uint32_t name_length);

#ifdef __cplusplus
}
#endif

#endif /* TERN_LIBC_MUSL_MOUNTS_H */
