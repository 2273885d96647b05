// The RAM file system server: a writable tree of directories, files and symbolic links
// in this server's memory (portable/tree.h), served over the file protocol
// (<tern/protocols/file.h>) under the name "tmpfs". init starts it; the C library's mount
// table sends /tmp, /home and /dev/shm here, which the server makes at start (mode 1777,
// 0755 and 1777; /dev/shm is where musl's shm_open and sem_open keep their objects).
// A file a client maps shared (file::Map) moves into a kernel memory object the server
// maps into itself, so its reads and writes and every client's mapping share its pages.
//
// Usage: tmpfs [max-bytes] — the bytes of file data and link targets the tree may hold
// (default 64 MiB); writes past it are ENOSPC. Nodes are bounded too (65536).
//
// Nothing is kept per client: files are named by node number, so a client that moves to
// another node, or restarts, still names the same file. What the tree holds is lost when
// the server ends (init restarts it empty).
//
// The one exception is fcntl's record locks (file::Lock, portable/locks.h), which live here
// with the files they cover: a process that sets one hands over a handle to its task, which
// the server watches (object_watch) so that the task's locks and parked F_SETLKW calls go
// when it ends, however it ends. A parked call keeps its reply right in a table and is
// answered when a release lets it through (flock's locks share the table, owned by open
// file descriptions); one whose caller gave up (a signal ended its
// wait) refuses the reply, and the lock it would have had is taken back.
#include <base/string_view.h>
#include <base/utility.h>
#include <servers/tmpfs/portable/locks.h>
#include <servers/tmpfs/portable/tree.h>
#include <tern/print.h>
#include <tern/protocols/file.h>
#include <tern/runtime.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall_result.h>

using namespace tern;

namespace {

constexpr uint32_t kBlockSize = 4096;

constexpr uint32_t kMaxOwners = 128; // tasks watched for their locks
constexpr uint32_t kMaxWaiters = 64; // parked F_SETLKW calls

struct Owner {
    bool used = false;
    uint32_t generation = 0;
    uint64_t task = 0; // its id (the caller's badge)
    tern_handle_t handle = TERN_INVALID_HANDLE;
};

struct Waiter {
    bool used = false;
    tmpfs::LockRange range = {};
    proto::PendingReply reply;
};

struct State {
    tmpfs::Tree* tree = nullptr;
    tern_handle_t port = TERN_INVALID_HANDLE;
    tmpfs::LockTable locks;
    tmpfs::LockTable saved; // the table before a parked call's grant, for taking it back
    Owner owners[kMaxOwners];
    Waiter waiters[kMaxWaiters];
};

// Mapped files' bytes: kernel memory objects, mapped here readable and writable.
class ObjectBacking final : public tmpfs::Backing {
public:
    bool make(uint64_t size, uint64_t* memory, uint8_t** data) override {
        int64_t handle = tern_sys_memory_create(size, 0);
        if (handle < 0) {
            tern::println("tmpfs: no memory object of {} bytes: {}", size,
                          base::error_name(tern::sys_status(handle)));
            return false;
        }
        int64_t at = tern_sys_vm_map_memory(TERN_HANDLE_SELF, tern_handle_t(handle), 0, 0, size,
                                            TERN_PROT_READ | TERN_PROT_WRITE);
        if (at < 0) {
            tern::println("tmpfs: cannot map a memory object of {} bytes: {}", size,
                          base::error_name(tern::sys_status(at)));
            (void)tern_sys_handle_close(tern_handle_t(handle));
            return false;
        }
        *memory = uint64_t(handle);
        *data = reinterpret_cast<uint8_t*>(at);
        return true;
    }
    void drop(uint64_t memory, uint8_t* data, uint64_t size) override {
        (void)tern_sys_vm_free(reinterpret_cast<uint64_t>(data), size);
        (void)tern_sys_handle_close(tern_handle_t(memory));
    }
};

ObjectBacking g_backing;
State g_state;
uint8_t g_io[file::kMaxIo];
alignas(8) uint8_t g_list[file::kMaxList];
char g_link[file::kMaxPath];

// File times: the kernel's wall clock (CLOCK_REALTIME).
int64_t now() { return tern_sys_clock_realtime(); }

base::StringView path_of(proto::Request& request) {
    return {reinterpret_cast<const char*>(request.data().data()), request.data().size()};
}

// A path the protocol accepts: absolute, no NUL (lengths are the tree's errors).
bool path_ok(proto::Request& request, base::StringView path) {
    for (char c : path) {
        if (c == '\0') {
            request.set_refusal_reason("a NUL byte in a path");
            return false;
        }
    }
    if (!path.starts_with('/')) {
        request.set_refusal_reason("a path not starting with /");
        return false;
    }
    return true;
}

void fill(file::Attr& a, const tmpfs::Node* n) {
    a.inode = n->inode;
    a.size = n->size;
    a.atime_ns = n->atime_ns;
    a.mtime_ns = n->mtime_ns;
    a.ctime_ns = n->ctime_ns;
    a.mode = n->mode;
    a.nlink = n->nlink;
    a.uid = n->uid;
    a.gid = n->gid;
}

// Answers with the node's attributes, or the tree's errno.
base::Error answer(int r, const tmpfs::Node* node, file::AttrResponse& out) {
    out = {};
    out.error = -r;
    if (r == 0)
        fill(out.attr, node);
    return base::Error::OK;
}

base::Error on_lookup(State* s, proto::Request& request, const file::PathRequest&,
                      file::AttrResponse& out, proto::Reply&, proto::PendingReply&) {
    base::StringView path = path_of(request);
    if (!path_ok(request, path))
        return base::Error::INVALID_ARGUMENT;
    tmpfs::Node* node = nullptr;
    size_t link_end = 0;
    answer(s->tree->lookup_through(path, &node, &link_end), node, out);
    if (out.error == 0 && link_end != 0) {
        out.error = file::kLinkInPath;
        out.link_end = uint32_t(link_end);
    }
    return base::Error::OK;
}

base::Error on_open(State* s, proto::Request& request, const file::OpenRequest& in,
                    file::AttrResponse& out, proto::Reply&, proto::PendingReply&) {
    base::StringView path = path_of(request);
    if (!path_ok(request, path))
        return base::Error::INVALID_ARGUMENT;
    static_assert(tmpfs::kOpenCreate == file::kOpenCreate
                  && tmpfs::kOpenExclusive == file::kOpenExclusive
                  && tmpfs::kOpenTruncate == file::kOpenTruncate
                  && tmpfs::kOpenDirectory == file::kOpenDirectory);
    if (in.flags
        & ~uint32_t(file::kOpenCreate | file::kOpenExclusive | file::kOpenTruncate
                    | file::kOpenDirectory)) {
        request.set_refusal_reason("unknown open flags");
        return base::Error::INVALID_ARGUMENT;
    }
    tmpfs::Node* node = nullptr;
    return answer(s->tree->open(path, in.flags, in.mode, now(), &node), node, out);
}

// The node a request names; ENOENT (in the reply) for one that is gone.
tmpfs::Node* node_of(State* s, uint64_t inode) { return s->tree->find(inode); }

base::Error on_get_attr(State* s, proto::Request&, const file::NodeRequest& in,
                        file::AttrResponse& out, proto::Reply&, proto::PendingReply&) {
    tmpfs::Node* node = node_of(s, in.inode);
    return answer(node ? 0 : -tmpfs::kENOENT, node, out);
}

base::Error on_read(State* s, proto::Request& request, const file::ReadRequest& in,
                    file::ReadResponse& out, proto::Reply& reply, proto::PendingReply&) {
    if (in.length > file::kMaxIo) {
        request.set_refusal_reason("a read longer than kMaxIo");
        return base::Error::INVALID_ARGUMENT;
    }
    out = {};
    tmpfs::Node* node = node_of(s, in.inode);
    if (!node) {
        out.error = tmpfs::kENOENT;
        return base::Error::OK;
    }
    uint64_t count = 0;
    out.error = -s->tree->read(node, in.offset, in.length, g_io, &count, now());
    out.count = uint32_t(count);
    reply.data = {g_io, size_t(count)};
    return base::Error::OK;
}

base::Error on_write(State* s, proto::Request& request, const file::WriteRequest& in,
                     file::WriteResponse& out, proto::Reply&, proto::PendingReply&) {
    out = {};
    tmpfs::Node* node = node_of(s, in.inode);
    if (!node) {
        out.error = tmpfs::kENOENT;
        return base::Error::OK;
    }
    auto data = request.data();
    uint64_t at = 0;
    out.error = -s->tree->write(node, in.offset, data.data(), data.size(),
                                (in.flags & file::kWriteAppend) != 0, &at, now());
    if (out.error == 0)
        out.written = uint32_t(data.size());
    out.offset = at;
    out.size = node->size;
    return base::Error::OK;
}

base::Error on_truncate(State* s, proto::Request&, const file::TruncateRequest& in,
                        file::AttrResponse& out, proto::Reply&, proto::PendingReply&) {
    tmpfs::Node* node = node_of(s, in.inode);
    if (!node)
        return answer(-tmpfs::kENOENT, nullptr, out);
    return answer(s->tree->truncate(node, in.size, now()), node, out);
}

base::Error on_map(State* s, proto::Request& request, const file::MapRequest& in,
                   file::MapResponse& out, proto::Reply& reply, proto::PendingReply&) {
    if (in.flags & ~file::kMapWrite) {
        request.set_refusal_reason("unknown map flags");
        return base::Error::INVALID_ARGUMENT;
    }
    out = {};
    tmpfs::Node* node = node_of(s, in.inode);
    if (!node) {
        out.error = tmpfs::kENOENT;
        return base::Error::OK;
    }
    uint64_t memory = 0;
    uint64_t size = 0;
    out.error = -s->tree->map(node, in.end, &memory, &size);
    if (out.error != 0)
        return base::Error::OK;
    tern_rights_t rights = TERN_RIGHT_MAP | TERN_RIGHT_READ | TERN_RIGHT_TRANSFER;
    if (in.flags & file::kMapWrite)
        rights |= TERN_RIGHT_WRITE;
    int64_t copy = tern_sys_handle_duplicate(tern_handle_t(memory), rights);
    if (copy < 0) {
        out.error = tmpfs::kENOMEM;
        return base::Error::OK;
    }
    out.size = size;
    reply.handles[0] = tern_handle_t(copy);
    reply.handle_count = 1;
    return base::Error::OK;
}

base::Error on_chmod(State* s, proto::Request&, const file::ChmodRequest& in,
                     file::AttrResponse& out, proto::Reply&, proto::PendingReply&) {
    tmpfs::Node* node = node_of(s, in.inode);
    if (!node)
        return answer(-tmpfs::kENOENT, nullptr, out);
    return answer(s->tree->chmod(node, in.mode, now()), node, out);
}

// kTimeNow stands for the server's clock and kTimeOmit for "unchanged"; any other time,
// before 1970 included, is kept as given.
base::Error on_set_times(State* s, proto::Request&, const file::SetTimesRequest& in,
                         file::AttrResponse& out, proto::Reply&, proto::PendingReply&) {
    tmpfs::Node* node = node_of(s, in.inode);
    if (!node)
        return answer(-tmpfs::kENOENT, nullptr, out);
    int64_t t = now();
    return answer(s->tree->set_times(node, in.atime_ns != file::kTimeOmit,
                                     in.atime_ns == file::kTimeNow ? t : in.atime_ns,
                                     in.mtime_ns != file::kTimeOmit,
                                     in.mtime_ns == file::kTimeNow ? t : in.mtime_ns, t),
                  node, out);
}

// Splits a two-path request's data at first_length; false (refused) when it does not fit.
bool two_paths(proto::Request& request, const file::TwoPathRequest& in, base::StringView& first,
               base::StringView& second) {
    base::StringView all = path_of(request);
    if (in.first_length > all.size()) {
        request.set_refusal_reason("first_length beyond the data");
        return false;
    }
    first = all.substr(0, in.first_length);
    second = all.substr(in.first_length);
    for (char c : all) {
        if (c == '\0') {
            request.set_refusal_reason("a NUL byte in a path");
            return false;
        }
    }
    return true;
}

base::Error on_rename(State* s, proto::Request& request, const file::TwoPathRequest& in,
                      file::ErrorResponse& out, proto::Reply&, proto::PendingReply&) {
    base::StringView from, to;
    if (!two_paths(request, in, from, to) || !path_ok(request, from) || !path_ok(request, to))
        return base::Error::INVALID_ARGUMENT;
    out = {-s->tree->rename(from, to, now()), 0};
    return base::Error::OK;
}

base::Error on_unlink(State* s, proto::Request& request, const file::PathRequest&,
                      file::ErrorResponse& out, proto::Reply&, proto::PendingReply&) {
    base::StringView path = path_of(request);
    if (!path_ok(request, path))
        return base::Error::INVALID_ARGUMENT;
    out = {-s->tree->unlink(path, now()), 0};
    return base::Error::OK;
}

base::Error on_mkdir(State* s, proto::Request& request, const file::MkdirRequest& in,
                     file::AttrResponse& out, proto::Reply&, proto::PendingReply&) {
    base::StringView path = path_of(request);
    if (!path_ok(request, path))
        return base::Error::INVALID_ARGUMENT;
    tmpfs::Node* node = nullptr;
    return answer(s->tree->mkdir(path, in.mode, now(), &node), node, out);
}

base::Error on_rmdir(State* s, proto::Request& request, const file::PathRequest&,
                     file::ErrorResponse& out, proto::Reply&, proto::PendingReply&) {
    base::StringView path = path_of(request);
    if (!path_ok(request, path))
        return base::Error::INVALID_ARGUMENT;
    out = {-s->tree->rmdir(path, now()), 0};
    return base::Error::OK;
}

base::Error on_symlink(State* s, proto::Request& request, const file::TwoPathRequest& in,
                       file::AttrResponse& out, proto::Reply&, proto::PendingReply&) {
    base::StringView target, path;
    if (!two_paths(request, in, target, path) || !path_ok(request, path))
        return base::Error::INVALID_ARGUMENT;
    tmpfs::Node* node = nullptr;
    return answer(s->tree->symlink(target, path, now(), &node), node, out);
}

base::Error on_link(State* s, proto::Request& request, const file::TwoPathRequest& in,
                    file::AttrResponse& out, proto::Reply&, proto::PendingReply&) {
    base::StringView from, to;
    if (!two_paths(request, in, from, to) || !path_ok(request, from) || !path_ok(request, to))
        return base::Error::INVALID_ARGUMENT;
    tmpfs::Node* node = nullptr;
    return answer(s->tree->link(from, to, now(), &node), node, out);
}

base::Error on_readlink(State* s, proto::Request& request, const file::PathRequest&,
                        file::ReadlinkResponse& out, proto::Reply& reply, proto::PendingReply&) {
    base::StringView path = path_of(request);
    if (!path_ok(request, path))
        return base::Error::INVALID_ARGUMENT;
    out = {};
    tmpfs::Node* node = nullptr;
    int r = s->tree->lookup(path, &node);
    if (r == 0 && !node->is_symlink())
        r = -tmpfs::kEINVAL;
    out.error = -r;
    if (r == 0) {
        size_t n = node->size < sizeof(g_link) ? size_t(node->size) : sizeof(g_link);
        for (size_t i = 0; i < n; ++i)
            g_link[i] = char(node->data[i]);
        out.length = uint32_t(n);
        reply.data = {reinterpret_cast<const uint8_t*>(g_link), n};
    }
    return base::Error::OK;
}

base::Error on_list(State* s, proto::Request&, const file::ListRequest& in, file::ListResponse& out,
                    proto::Reply& reply, proto::PendingReply&) {
    out = {};
    tmpfs::Node* directory = node_of(s, in.inode);
    if (!directory || !directory->is_directory()) {
        out.error = directory ? tmpfs::kENOTDIR : tmpfs::kENOENT;
        return base::Error::OK;
    }
    size_t used = 0;
    uint64_t index = in.start;
    tmpfs::Node* entry = s->tree->entry(directory, index);
    for (; entry; entry = entry->next_sibling, ++index) {
        size_t record = base::align_up(sizeof(file::ListEntry) + entry->name_length, size_t(8));
        if (used + record > sizeof(g_list))
            break;
        file::ListEntry header = {entry->inode, entry->mode & tmpfs::kTypeMask, entry->name_length,
                                  0};
        __builtin_memcpy(g_list + used, &header, sizeof(header));
        __builtin_memcpy(g_list + used + sizeof(header), entry->name, entry->name_length);
        for (size_t i = sizeof(header) + entry->name_length; i < record; ++i)
            g_list[used + i] = 0;
        used += record;
        ++out.count;
    }
    out.next = index;
    out.done = entry == nullptr;
    reply.data = {g_list, used};
    return base::Error::OK;
}

base::Error on_statfs(State* s, proto::Request&, const file::PathRequest&,
                      file::StatFsResponse& out, proto::Reply&, proto::PendingReply&) {
    tmpfs::Usage usage = s->tree->usage();
    const tmpfs::Limits& limits = s->tree->limits();
    out = {};
    out.block_size = kBlockSize;
    out.total_bytes = limits.max_bytes;
    out.free_bytes = limits.max_bytes - usage.bytes;
    out.total_nodes = limits.max_nodes;
    out.free_nodes = limits.max_nodes - usage.nodes;
    out.name_max = file::kMaxName;
    return base::Error::OK;
}

// ---- Record locks ----

// Watches the calling task (its handle is the request's first) unless it is already
// watched; false (ENOLCK) when it cannot be.
bool watch_caller(State* s, proto::Request& request) {
    tern_handle_t task = request.take_handle(0);
    uint64_t id = request.badge();
    for (Owner& o : s->owners) {
        if (o.used && o.task == id) {
            (void)tern_sys_handle_close(task);
            return true;
        }
    }
    if (task == TERN_INVALID_HANDLE || tern_sys_task_id_of(task) != int64_t(id)) {
        tern::println("tmpfs: a lock call without the caller's task handle");
        (void)tern_sys_handle_close(task);
        return false;
    }
    for (uint32_t i = 0; i < kMaxOwners; ++i) {
        Owner& o = s->owners[i];
        if (o.used)
            continue;
        uint32_t generation = o.generation + 1;
        if (tern_sys_object_watch(task, s->port, proto::SlotCookie{i, generation}.value()) < 0)
            break;
        o = {true, generation, id, task};
        return true;
    }
    tern::println("tmpfs: no room to watch task {:#x} for its locks", id);
    (void)tern_sys_handle_close(task);
    return false;
}

// Parked calls a release may let through are granted, in the order they came; a grant
// whose caller has gone is taken back.
void grant_waiters(State* s) {
    for (Waiter& w : s->waiters) {
        if (!w.used || s->locks.conflict(w.range))
            continue;
        s->saved = s->locks;
        file::LockResponse answer = {};
        answer.error = -s->locks.set(w.range);
        answer.type = w.range.type;
        answer.start = w.range.start;
        answer.end = w.range.end;
        answer.pid = uint32_t(w.range.owner);
        w.used = false;
        if (proto::reply_later<file::Lock>(w.reply, base::Error::OK, answer) != base::Error::OK
            && answer.error == 0)
            s->locks = s->saved;
    }
}

// EDEADLK: the holder of a lock r conflicts with is itself parked for a lock of r's owner.
bool would_deadlock(State* s, const tmpfs::LockRange& r, const tmpfs::Lock& holder) {
    for (const Waiter& w : s->waiters)
        if (w.used && w.range.owner == holder.owner && s->locks.blocked_by(w.range, r.owner))
            return true;
    return false;
}

base::Error on_lock(State* s, proto::Request& request, const file::LockRequest& in,
                    file::LockResponse& out, proto::Reply& reply, proto::PendingReply& pending) {
    out = {};
    if (in.type > tmpfs::kUnlock || in.command > file::kLockWait || in.start >= in.end) {
        out.error = tmpfs::kEINVAL;
        return base::Error::OK;
    }
    if (!node_of(s, in.inode)) {
        out.error = tmpfs::kENOENT;
        return base::Error::OK;
    }
    uint64_t owner = in.flock_owner != 0 ? in.flock_owner | tmpfs::kFlockOwner : in.pid;
    tmpfs::LockRange r = {in.inode, owner, request.badge(), in.type, in.start, in.end};
    if (in.command == file::kLockGet) {
        const tmpfs::Lock* c = s->locks.conflict(r);
        out.type = c ? c->type : tmpfs::kUnlock;
        if (c) {
            out.start = c->start;
            out.end = c->end;
            out.pid = uint32_t(c->owner);
        }
        return base::Error::OK;
    }
    if (in.type != tmpfs::kUnlock && !watch_caller(s, request)) {
        out.error = tmpfs::LockTable::kENOLCK;
        return base::Error::OK;
    }
    const tmpfs::Lock* blocker = nullptr;
    int e = s->locks.set(r, &blocker);
    if (e == 0) {
        grant_waiters(s); // an unlock or a downgrade may let parked calls through
        return base::Error::OK;
    }
    if (e != -tmpfs::LockTable::kEAGAIN || in.command != file::kLockWait) {
        out.error = -e;
        return base::Error::OK;
    }
    if (in.flock_owner == 0 && would_deadlock(s, r, *blocker)) {
        out.error = tmpfs::kEDEADLK;
        return base::Error::OK;
    }
    for (Waiter& w : s->waiters) {
        if (!w.used) {
            w = {true, r, pending};
            reply.deferred = true;
            return base::Error::OK;
        }
    }
    tern::println("tmpfs: no room to park a lock call of {:#x}", in.pid);
    out.error = tmpfs::LockTable::kENOLCK;
    return base::Error::OK;
}

base::Error on_release_locks(State* s, proto::Request&, const file::ReleaseLocksRequest& in,
                             file::ErrorResponse& out, proto::Reply&, proto::PendingReply&) {
    out = {};
    uint64_t owner = in.flock_owner != 0 ? in.flock_owner | tmpfs::kFlockOwner : in.pid;
    if (s->locks.release(in.inode, owner))
        grant_waiters(s);
    return base::Error::OK;
}

// A watched task ended: its parked calls and its locks go, and what they held back is
// granted.
void on_event(void* context, const tern_msg& event, uint32_t) {
    auto* s = static_cast<State*>(context);
    if (event.hdr.label != TERN_LABEL_OBJECT_GONE)
        return;
    auto cookie = proto::SlotCookie::from(event.words[0]);
    if (cookie.index >= kMaxOwners)
        return;
    Owner& o = s->owners[cookie.index];
    if (!o.used || o.generation != cookie.generation)
        return;
    for (Waiter& w : s->waiters) {
        if (w.used && w.range.task == o.task) {
            (void)tern_sys_handle_close(w.reply.reply);
            w.used = false;
        }
    }
    s->locks.release_task(o.task);
    (void)tern_sys_handle_close(o.handle);
    o.used = false;
    o.handle = TERN_INVALID_HANDLE;
    grant_waiters(s);
}

} // namespace

extern "C" int main(uint64_t) {
    tmpfs::Limits limits;
    if (argc() > 2 || (argc() == 2 && !base::parse_u64(base::StringView(argv()[1])).has_value())) {
        tern::println("tmpfs: usage: tmpfs [max-bytes]");
        return 2;
    }
    if (argc() == 2)
        limits.max_bytes = *base::parse_u64(base::StringView(argv()[1]));
    static tmpfs::Tree tree(limits, now(), &g_backing);
    if (!tree.ready()) {
        tern::println("tmpfs: no memory for the root");
        return 1;
    }
    g_state.tree = &tree;
    tmpfs::Node* made = nullptr;
    if (tree.mkdir("/tmp", 01777, now(), &made) != 0 || tree.mkdir("/home", 0755, now(), &made) != 0
        || tree.mkdir("/dev", 0755, now(), &made) != 0
        || tree.mkdir("/dev/shm", 01777, now(), &made) != 0) {
        tern::println("tmpfs: cannot make /tmp, /home and /dev/shm");
        return 1;
    }
    int64_t port = tern_sys_port_create(64);
    if (port < 0)
        return 1;
    g_state.port = tern_handle_t(port);
    proto::Server server("tmpfs", tern_handle_t(port));
    server.on<file::Lookup>(&g_state, on_lookup);
    server.on<file::Open>(&g_state, on_open);
    server.on<file::GetAttr>(&g_state, on_get_attr);
    server.on<file::Read>(&g_state, on_read);
    server.on<file::Write>(&g_state, on_write);
    server.on<file::Truncate>(&g_state, on_truncate);
    server.on<file::Chmod>(&g_state, on_chmod);
    server.on<file::SetTimes>(&g_state, on_set_times);
    server.on<file::Rename>(&g_state, on_rename);
    server.on<file::Unlink>(&g_state, on_unlink);
    server.on<file::Mkdir>(&g_state, on_mkdir);
    server.on<file::Rmdir>(&g_state, on_rmdir);
    server.on<file::Symlink>(&g_state, on_symlink);
    server.on<file::Readlink>(&g_state, on_readlink);
    server.on<file::List>(&g_state, on_list);
    server.on<file::StatFs>(&g_state, on_statfs);
    server.on<file::Map>(&g_state, on_map);
    server.on<file::Link>(&g_state, on_link);
    server.on<file::Lock>(&g_state, on_lock);
    server.on<file::ReleaseLocks>(&g_state, on_release_locks);
    server.on_event(&g_state, on_event);
    if (auto r = register_name("tmpfs", tern_handle_t(port)); r.is_error()) {
        tern::println("tmpfs: cannot register: {}", base::error_name(r.error()));
        return 1;
    }
    tern::println("tmpfs: serving /tmp, /home and /dev/shm ({} bytes at most)", limits.max_bytes);
    server.run();
}
