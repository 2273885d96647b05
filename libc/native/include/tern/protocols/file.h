#pragma once
// The file protocol: a writable file server's tree, by path and by node, with nothing
// kept per client. The RAM file system (servers/tmpfs, registered as "tmpfs") serves it,
// and a distributed file system client is meant to serve the same protocol, so the C
// library's mount table (libc/musl/portable/mounts.h) plugs either in by name.
//
// Paths are absolute within the server ("/tmp/a/b"), at most kMaxPath bytes, names at
// most kMaxName. The server never follows symbolic links: Lookup and Open answer with the
// link itself and the client reads it (Readlink) and resolves the target, which may lie on
// another server. A link before the last component is Lookup's kLinkInPath answer, and
// ENOTDIR to every other operation (a client looks a path up before changing it).
//
// Every open file is named by its node number (Attr::inode), which the server never
// reuses while it runs, so a client keeps no handle or session and a process can move to
// another node with its descriptors. A node that was removed is ENOENT.
//
// Statuses: a malformed request (a path with a NUL byte, parts over their bounds) is
// refused with INVALID_ARGUMENT or TOO_BIG and a log line; every file system outcome
// arrives with status OK and the Linux errno in the response's `error` (0 for success),
// because POSIX's errors (ENOTDIR, EISDIR, ENOTEMPTY, ENAMETOOLONG, ENOSPC, ...) have no
// Tern status of their own.
#include <stdint.h>
#include <tern/protocol.h>

namespace tern::file {

inline constexpr uint32_t kMaxPath = 4096;
inline constexpr uint32_t kMaxName = 255;
// The most bytes one Read or Write carries; larger I/O is split by the client.
inline constexpr uint32_t kMaxIo = 32768;
// The most bytes of entries one List reply carries.
inline constexpr uint32_t kMaxList = 16384;

// What stat reports of a node. mode holds the Linux S_IFMT type bits and the permission
// bits; times are nanoseconds since 1970 (the kernel's wall clock).
struct Attr {
    uint64_t inode;
    uint64_t size; // a file's bytes, a link's target length, a directory's entries
    int64_t atime_ns;
    int64_t mtime_ns;
    int64_t ctime_ns;
    uint32_t mode;
    uint32_t nlink;
    uint32_t uid;
    uint32_t gid;
};

// Lookup's answer when a symbolic link stands before the last component of the path:
// attr is the link's and link_end the length of the path up to the end of its name. The
// client reads the link (Readlink of that part), puts the target in its place and looks
// the result up, which may be on another server.
inline constexpr int32_t kLinkInPath = -1;

struct AttrResponse {
    int32_t error;     // a Linux errno, 0 for success, kLinkInPath; attr is valid only then
    uint32_t link_end; // with kLinkInPath (Lookup only)
    Attr attr;
};
static_assert(sizeof(AttrResponse) == 64);

struct ErrorResponse {
    int32_t error;
    uint32_t reserved;
};

struct PathRequest {
    uint32_t reserved;
};

// data = path. The node at path, a final link not followed; kLinkInPath for one before.
using Lookup = proto::Op<1, PathRequest, AttrResponse, proto::Limits{.request_data = kMaxPath}>;

inline constexpr uint32_t kOpenCreate = 1;    // make a regular file with `mode` if missing
inline constexpr uint32_t kOpenExclusive = 2; // with kOpenCreate: EEXIST if present
inline constexpr uint32_t kOpenTruncate = 4;  // a regular file becomes empty
inline constexpr uint32_t kOpenDirectory = 8; // ENOTDIR unless a directory

struct OpenRequest {
    uint32_t flags; // kOpen*
    uint32_t mode;  // permission bits of a new file (the client applied its umask)
};
// data = path. A final link is answered as itself (and nothing is created or truncated).
using Open = proto::Op<2, OpenRequest, AttrResponse, proto::Limits{.request_data = kMaxPath}>;

struct NodeRequest {
    uint64_t inode;
};
using GetAttr = proto::Op<3, NodeRequest, AttrResponse>;

struct ReadRequest {
    uint64_t inode;
    uint64_t offset;
    uint32_t length; // at most kMaxIo
    uint32_t reserved;
};
struct ReadResponse {
    int32_t error;
    uint32_t count; // bytes in the reply's data; fewer than asked at the end of the file
};
using Read = proto::Op<4, ReadRequest, ReadResponse, proto::Limits{.response_data = kMaxIo}>;

inline constexpr uint32_t kWriteAppend = 1;
struct WriteRequest {
    uint64_t inode;
    uint64_t offset; // ignored with kWriteAppend: the end of the file
    uint32_t flags;
    uint32_t reserved;
};
struct WriteResponse {
    int32_t error;
    uint32_t written;
    uint64_t offset; // where the data went
    uint64_t size;   // the file's size after the write
};
// data = the bytes (at most kMaxIo), all written or none (ENOSPC, EFBIG).
using Write = proto::Op<5, WriteRequest, WriteResponse, proto::Limits{.request_data = kMaxIo}>;

struct TruncateRequest {
    uint64_t inode;
    uint64_t size;
};
using Truncate = proto::Op<6, TruncateRequest, AttrResponse>;

struct ChmodRequest {
    uint64_t inode;
    uint32_t mode; // the permission bits (07777)
    uint32_t reserved;
};
using Chmod = proto::Op<7, ChmodRequest, AttrResponse>;

// SetTimes: a node's access and modification times (nanoseconds since 1970), or one of
// these in their place; the change time becomes the server's clock unless both are
// kTimeOmit (utimensat's rules).
inline constexpr int64_t kTimeNow = INT64_MIN;      // the server's clock
inline constexpr int64_t kTimeOmit = INT64_MIN + 1; // left as it is
struct SetTimesRequest {
    uint64_t inode;
    int64_t atime_ns;
    int64_t mtime_ns;
};

struct TwoPathRequest {
    uint32_t first_length; // data = first path, then the second
    uint32_t reserved;
};
// data = old path, new path (first_length splits them).
using Rename =
    proto::Op<8, TwoPathRequest, ErrorResponse, proto::Limits{.request_data = 2 * kMaxPath}>;
// data = path. A file or link; EISDIR for a directory.
using Unlink = proto::Op<9, PathRequest, ErrorResponse, proto::Limits{.request_data = kMaxPath}>;

struct MkdirRequest {
    uint32_t mode;
    uint32_t reserved;
};
using Mkdir = proto::Op<10, MkdirRequest, AttrResponse, proto::Limits{.request_data = kMaxPath}>;
using Rmdir = proto::Op<11, PathRequest, ErrorResponse, proto::Limits{.request_data = kMaxPath}>;
// data = target, link path (first_length is the target's).
using Symlink =
    proto::Op<12, TwoPathRequest, AttrResponse, proto::Limits{.request_data = 2 * kMaxPath}>;

struct ReadlinkResponse {
    int32_t error;
    uint32_t length;
};
// data = path; reply data = the target. EINVAL when path is not a link.
using Readlink = proto::Op<13, PathRequest, ReadlinkResponse,
                           proto::Limits{.request_data = kMaxPath, .response_data = kMaxPath}>;

struct ListRequest {
    uint64_t inode; // a directory
    uint64_t start; // the index of the first entry wanted
};
struct ListResponse {
    int32_t error;
    uint32_t count; // entries in the reply
    uint64_t next;  // the index after the last one sent
    uint32_t done;  // 1 when no entry follows next
    uint32_t reserved;
};
// One entry of a List reply: this header, then name_length bytes of name, then padding
// to a multiple of 8 bytes. "." and ".." are not listed.
struct ListEntry {
    uint64_t inode;
    uint32_t mode; // the S_IFMT type bits
    uint16_t name_length;
    uint16_t reserved;
};
using List = proto::Op<14, ListRequest, ListResponse, proto::Limits{.response_data = kMaxList}>;

struct StatFsResponse {
    int32_t error;
    uint32_t block_size;
    uint64_t total_bytes;
    uint64_t free_bytes;
    uint64_t total_nodes;
    uint64_t free_nodes;
    uint32_t name_max;
    uint32_t reserved;
};
using StatFs = proto::Op<15, PathRequest, StatFsResponse>;
using SetTimes = proto::Op<16, SetTimesRequest, AttrResponse>;

// data = existing path, new path (first_length is the existing path's): a new name for a
// regular file (link()); the answer is the file's attributes (nlink counts its names).
// EEXIST, EPERM for a directory or a symbolic link (not followed), ENOENT, ENOSPC.
using Link =
    proto::Op<18, TwoPathRequest, AttrResponse, proto::Limits{.request_data = 2 * kMaxPath}>;

// Map: a memory object holding a regular file's bytes, for a shared mapping (mmap
// MAP_SHARED). The object covers at least [0, end) and the whole file, in whole pages;
// the client maps the part it wants. Every Map of the file gives the same object while
// the file fits in it, and the server's Read and Write use its pages too, so every
// mapping and every reader sees every store. Bytes past the file's end are zeros and not
// part of the file (Linux raises SIGBUS there; Tern maps the pages). A file that later
// grows past the object moves to a bigger one, and mappings made before keep the old
// pages. Without kMapWrite the handle has no WRITE right (a read-only mapping).
// EISDIR, EINVAL (a link, or end past the largest file), ENOMEM (no object, or more bytes
// past the end of the file than the server has room for), ENODEV (a server whose files
// cannot be mapped).
inline constexpr uint32_t kMapWrite = 1;
struct MapRequest {
    uint64_t inode;
    uint64_t end; // the mapping's end in the file (offset + length)
    uint32_t flags;
    uint32_t reserved;
};
struct MapResponse {
    int32_t error;
    uint32_t reserved;
    uint64_t size; // the object's size in bytes; handles[0] of the reply = the object
};
using Map = proto::Op<17, MapRequest, MapResponse, proto::Limits{.response_handles = 1}>;

// Lock: fcntl's record locks (F_GETLK, F_SETLK, F_SETLKW) on a node's bytes [start, end),
// end kLockToEnd for "to the end of the file however far it grows", owned by the process
// `pid` (its global pid): an owner's own locks never conflict and split and merge; two
// owners' overlapping locks conflict when either is a write lock. type is struct flock's
// l_type (0 F_RDLCK, 1 F_WRLCK, 2 F_UNLCK).
//   kLockGet:  the first conflicting lock of another owner (its type, range and pid), or
//              type 2 (F_UNLCK) when the request could be granted.
//   kLockSet:  sets the type on the range (2 removes the owner's locks there); EAGAIN on
//              a conflict.
//   kLockWait: as kLockSet, but a conflict parks the call until the lock can be granted;
//              EDEADLK when the holder is itself parked waiting for a lock of `pid`. A
//              caller that gives up (a signal ends its wait: EINTR) is never granted it.
// kLockSet and kLockWait carry handles[0] = the caller's own task (TRANSFER right): the
// server watches it, and when the task ends, however it ends, drops its locks and parked
// calls and grants what they held back. ENOENT for a node that is gone, ENOLCK when the
// server has no room for the lock, its owner or the parked call, EINVAL for a bad type,
// command or range.
//
// flock(2)'s whole-file locks travel the same way with a nonzero flock_owner (an open
// file description's id, unique on the node; pid is then the caller's, for the log):
// their owner is the description, they conflict only with each other, and kLockWait
// never answers EDEADLK for them.
inline constexpr uint32_t kLockGet = 0;
inline constexpr uint32_t kLockSet = 1;
inline constexpr uint32_t kLockWait = 2;
inline constexpr uint64_t kLockToEnd = ~uint64_t(0);
struct LockRequest {
    uint64_t inode;
    uint64_t start;
    uint64_t end;
    uint64_t flock_owner; // 0 for fcntl's locks
    uint32_t pid;
    uint32_t type;
    uint32_t command;
    uint32_t reserved;
};
struct LockResponse {
    int32_t error;
    uint32_t type; // kLockGet: the conflicting lock's type, or 2 (none)
    uint64_t start;
    uint64_t end;
    uint32_t pid;
    uint32_t reserved;
};
using Lock = proto::Op<19, LockRequest, LockResponse, proto::Limits{.request_handles = 1}>;

// ReleaseLocks: all of pid's locks on the node go (POSIX: a process closed a descriptor of
// the file, any of them), or with a nonzero flock_owner that description's flock lock (its
// last descriptor was closed); parked calls they held back are granted.
struct ReleaseLocksRequest {
    uint64_t inode;
    uint32_t pid;
    uint32_t reserved;
    uint64_t flock_owner;
};
using ReleaseLocks = proto::Op<20, ReleaseLocksRequest, ErrorResponse>;

} // namespace tern::file
