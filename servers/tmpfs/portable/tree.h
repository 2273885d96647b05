#pragma once

// tmpfs::Tree: the RAM file system's tree of directories, regular files and symbolic
// links, as pure logic (no server calls, no clock: every change takes the time from its
// caller), so the host tests drive it directly. servers/tmpfs/main.cpp serves it over the
// file protocol (<tern/protocols/file.h>).
//
// Paths are the protocol's: absolute within the tree ("/tmp/a/b"; repeated "/" are one,
// "." stays and ".." goes up, never above the root). Symbolic links are never followed
// here: the client follows them, because a link may point into another file server. A
// link met before the last component is ENOTDIR, except to lookup_through, which says
// where it is so that the client can follow it too.
//
// Hard links (link()): a regular file may have several names, each a directory entry
// of its own; the file keeps its inode number, its bytes and its attributes (nlink
// counts the names) until the last name goes, whichever name that is.
//
// Mappable files: a regular file's bytes live in the server's heap until a client asks to
// map it (map()); from then on they live in a memory object the Backing makes, which the
// server maps into itself, so that the file's data IS the object's pages and read, write
// and every shared mapping see the same bytes. The object is whole pages, at least the
// file's size (and the end of any mapping asked for); it stays when the file shrinks
// (the bytes past the end are zeroed when the file grows over them again). A file that
// grows past its object moves to a bigger one: mappings made earlier keep the old pages.
//
// Errors are Linux errno numbers (the file protocol's), returned negated; 0 is success.
//
// Bounds: a path of at most kMaxPath bytes, a name of at most kMaxName, at most
// Limits::max_nodes nodes and Limits::max_bytes bytes of file data and link targets
// (ENOSPC beyond).
#include <base/string_view.h>
#include <stddef.h>
#include <stdint.h>

namespace tmpfs {

inline constexpr size_t kMaxPath = 4096;
inline constexpr size_t kMaxName = 255;

// The Linux errno values the tree answers with.
inline constexpr int kEPERM = 1;
inline constexpr int kENOENT = 2;
inline constexpr int kEEXIST = 17;
inline constexpr int kENOTDIR = 20;
inline constexpr int kEISDIR = 21;
inline constexpr int kEINVAL = 22;
inline constexpr int kEFBIG = 27;
inline constexpr int kENOSPC = 28;
inline constexpr int kENAMETOOLONG = 36;
inline constexpr int kENOTEMPTY = 39;
inline constexpr int kEBUSY = 16;
inline constexpr int kENODEV = 19;
inline constexpr int kENOMEM = 12;

// Node types, as the Linux S_IFMT bits of a mode.
inline constexpr uint32_t kTypeMask = 0170000;
inline constexpr uint32_t kDirectory = 0040000;
inline constexpr uint32_t kRegular = 0100000;
inline constexpr uint32_t kSymlink = 0120000;
inline constexpr uint32_t kPermissionMask = 07777;

// The largest file: what an int64_t offset holds (Linux's limit on a 64-bit system).
inline constexpr uint64_t kMaxFileSize = uint64_t(INT64_MAX);

// The byte limit counts the bytes files and links hold (their sizes, as tmpfs on Linux
// counts pages); a file's buffer may be up to a quarter (or, under 1 MiB, all) larger.
struct Limits {
    uint64_t max_bytes = 64ull << 20; // file data and link targets, together
    uint64_t max_nodes = 65536;       // directories, files and links, the root included
};

struct Node {
    uint64_t inode = 0;
    uint32_t mode = 0; // type | permission bits
    uint32_t nlink = 0;
    uint32_t uid = 0;
    uint32_t gid = 0;
    int64_t atime_ns = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    uint64_t size = 0; // bytes of a file or a link's target; entries of a directory
    Node* parent = nullptr;
    Node* first_child = nullptr; // directories: children in creation order
    Node* next_sibling = nullptr;
    Node* hash_next = nullptr; // the inode table's chain
    uint8_t* data = nullptr;   // files and links: size bytes of capacity
    uint64_t capacity = 0;
    uint64_t memory = 0; // a Backing's object holding data (capacity bytes), 0 for the heap
    // Hard links: every further name of a regular file is an entry node whose file is the
    // node holding the bytes (the same inode number); the file lists its entries.
    Node* file = nullptr;
    Node* next_link = nullptr;
    uint16_t name_length = 0;
    char name[kMaxName + 1] = {};

    bool is_directory() const { return (mode & kTypeMask) == kDirectory; }
    bool is_regular() const { return (mode & kTypeMask) == kRegular; }
    bool is_symlink() const { return (mode & kTypeMask) == kSymlink; }
    base::StringView leaf() const { return {name, name_length}; }
};

// open()'s flags.
inline constexpr uint32_t kOpenCreate = 1;    // make a regular file when there is none
inline constexpr uint32_t kOpenExclusive = 2; // with kOpenCreate: EEXIST when there is one
inline constexpr uint32_t kOpenTruncate = 4;  // a regular file becomes empty
inline constexpr uint32_t kOpenDirectory = 8; // ENOTDIR unless it is a directory

// Where mapped files keep their bytes: memory objects of whole pages, mapped into the
// server (data) and handed to clients by their handle. The server's is kernel memory
// objects; the host tests use one over the heap.
class Backing {
public:
    // A zeroed object of size bytes (a multiple of 4096) in *memory (never 0), mapped
    // readable and writable at *data. false when there is no memory for it.
    virtual bool make(uint64_t size, uint64_t* memory, uint8_t** data) = 0;
    // Unmaps and releases one (mappings clients made of it keep its pages).
    virtual void drop(uint64_t memory, uint8_t* data, uint64_t size) = 0;

protected:
    ~Backing() = default;
};

inline constexpr uint64_t kPageSize = 4096;

struct Usage {
    uint64_t bytes;
    uint64_t nodes;
};

class Tree {
public:
    // The root directory (inode 1, mode 0755) at time now_ns.
    // backing: where files that are mapped keep their bytes (nullptr: map() is ENODEV).
    explicit Tree(Limits limits, int64_t now_ns, Backing* backing = nullptr);
    ~Tree();
    Tree(const Tree&) = delete;
    Tree& operator=(const Tree&) = delete;

    // False when the root could not be made (no memory).
    bool ready() const { return m_root != nullptr; }
    Node* root() { return m_root; }
    const Limits& limits() const { return m_limits; }
    Usage usage() const { return {m_bytes, m_nodes}; }

    // The node at path (not following a final link).
    int lookup(base::StringView path, Node** out);
    // lookup, except that a symbolic link met before the last component is not ENOTDIR:
    // *out is the link and *link_end the length of the path up to the end of its name
    // (the client reads it, puts the target in its place and looks again). *link_end is
    // 0 when the whole path was resolved.
    int lookup_through(base::StringView path, Node** out, size_t* link_end);
    // The node with this inode number, or nullptr.
    Node* find(uint64_t inode);

    // Opens path (flags kOpen*): a final symbolic link is returned as it is (the client
    // follows it), a new file gets permission bits mode. kOpenTruncate on a directory is
    // EISDIR; on an existing link it does nothing (the client truncates the target).
    int open(base::StringView path, uint32_t flags, uint32_t mode, int64_t now_ns, Node** out);

    // Reads up to length bytes at offset into out (a regular file; EISDIR for a
    // directory, EINVAL for a link); *count gets the bytes read. Updates the access time.
    int read(Node* node, uint64_t offset, uint64_t length, uint8_t* out, uint64_t* count,
             int64_t now_ns);
    // Writes length bytes at offset (at the end when append), growing the file with zeros
    // in between; *at gets the offset written at. ENOSPC past the byte limit, EFBIG past
    // kMaxFileSize.
    int write(Node* node, uint64_t offset, const uint8_t* data, uint64_t length, bool append,
              uint64_t* at, int64_t now_ns);
    // Sets a regular file's size (zeros when it grows).
    int truncate(Node* node, uint64_t size, int64_t now_ns);
    // Sets the permission bits (07777) of any node.
    int chmod(Node* node, uint32_t mode, int64_t now_ns);
    // Sets the access and modification times of any node (each only when its set_ flag
    // is true); the change time becomes now_ns when either is set.
    int set_times(Node* node, bool set_atime, int64_t atime_ns, bool set_mtime, int64_t mtime_ns,
                  int64_t now_ns);

    // Makes a regular file's bytes a Backing object covering at least end bytes (the
    // file's size when that is more) and returns it in *memory and its size in *size:
    // what a client maps for a shared mapping of [offset, end). EISDIR for a directory,
    // EINVAL for a link or an end past kMaxFileSize, ENODEV without a Backing, ENOMEM
    // when the object cannot be made or the part past the file's end is more than the
    // byte limit has left. Bytes past the file's end are zeros and are not
    // part of the file (the file's size does not change).
    int map(Node* node, uint64_t end, uint64_t* memory, uint64_t* size);

    // A new name to for the regular file at from (a final link is not followed). EEXIST
    // when to exists, EPERM for a directory or a symbolic link, ENOSPC past the node
    // limit; *out is the file.
    int link(base::StringView from, base::StringView to, int64_t now_ns, Node** out);

    int mkdir(base::StringView path, uint32_t mode, int64_t now_ns, Node** out);
    int rmdir(base::StringView path, int64_t now_ns);
    // Removes a file or a link; EISDIR for a directory.
    int unlink(base::StringView path, int64_t now_ns);
    int symlink(base::StringView target, base::StringView path, int64_t now_ns, Node** out);
    // POSIX rename: replaces an existing target of a compatible type (a file or link by a
    // file or link, an empty directory by a directory), refuses to move a directory into
    // itself (EINVAL), and renaming a node onto itself does nothing.
    int rename(base::StringView from, base::StringView to, int64_t now_ns);

    // The n-th entry of a directory (creation order), or nullptr past the end.
    Node* entry(Node* directory, uint64_t n);

private:
    struct Parent {
        Node* directory;
        base::StringView leaf;
    };
    // Resolves all but the last component of path into the directory and leaf name.
    int resolve_parent(base::StringView path, Parent* out);
    Node* child(Node* directory, base::StringView name);
    int make_node(Node* directory, base::StringView leaf, uint32_t mode, int64_t now_ns,
                  Node** out);
    void attach(Node* directory, Node* node);
    void detach(Node* node);
    void destroy(Node* node);
    // Removes a file's or a link's directory entry (detached already by the caller's
    // rules): the node goes with its last name.
    void remove_entry(Node* entry);
    // Whether node may grow to size bytes within the byte limit.
    bool room_for(const Node* node, uint64_t size) const;
    // Makes node's buffer hold size bytes (ENOSPC when memory runs out).
    int reserve(Node* node, uint64_t size);
    // Moves node's bytes into a Backing object of capacity bytes (whole pages).
    int move_to_object(Node* node, uint64_t capacity);
    // Gives node's buffer back (heap or object).
    void release_data(Node* node);
    void hash_insert(Node* node);
    void hash_remove(Node* node);

    static constexpr size_t kBuckets = 1024;
    Limits m_limits;
    Backing* m_backing = nullptr;
    Node* m_root = nullptr;
    Node* m_link = nullptr; // the last link resolve_parent met before the last component
    size_t m_link_end = 0;
    Node* m_buckets[kBuckets] = {};
    uint64_t m_next_inode = 1;
    uint64_t m_bytes = 0;
    uint64_t m_nodes = 0;
};

} // namespace tmpfs
