// The process server: the node's process table, spawn, wait, kill and list
// (tern/protocols/proc.h).
//
// Every process is a kernel task that proc holds a CONTROL handle to and watches with
// object_watch, so its exit arrives here as a death notice carrying the exit status.
// A process stays in the table as a zombie until its parent waits for it; one whose
// parent is gone (or is init, which never waits) is reaped at once.
//
// A child on another node (Spawn with a node) is started by that node's proc, reached
// through the bus's root export; this proc keeps a record of it (its pid is that node's)
// with one asynchronous RemoteWait outstanding for it, so waits, kills and Ctrl-C work
// as for a local child and the loop never blocks on another node. A process started here
// for a parent on another node keeps its ended state until that parent's RemoteWait
// collects it.
//
// Requests from other nodes come through the bus on a port of their own (key
// kBusPortKey), whose only SEND right the network server holds (init.conf +bus):
// RemoteSpawn and RemoteWait are taken there only.
#include "exec.h"

#include <base/string_view.h>
#include <base/utility.h>
#include <lib/spawn_data.h>
#include <tern/abi/task.h>
#include <tern/async_call.h>
#include <tern/print.h>
#include <tern/protocols/bootfs.h>
#include <tern/protocols/bus.h>
#include <tern/protocols/name.h>
#include <tern/protocols/proc.h>
#include <tern/runtime.h>
#include <tern/services.h>
#include <tern/spawn.h>
#include <tern/startup.h>
#include <tern/syscall_result.h>

#include "signals.h"

using namespace tern;

namespace {

constexpr uint64_t kPidSerialMask = 0xFFFFFFFFull;
// Serials below this are init's: it numbers itself and the servers it starts itself.
constexpr uint64_t kFirstSerial = 16;
constexpr size_t kMaxWaiters = 64;
// The port set key of proc's port for the bus (TERN_STARTUP_PROC_BUS).
constexpr uint32_t kBusPortKey = 2;
// The port the kernel sends the CPU exceptions of processes to (proc_signals::on_fault).
constexpr uint32_t kFaultPortKey = 3;
// start_here's flag beside proc::kSpawnReturnTask and kSpawnBusPort: the child gets an
// end port, a SEND right to which the reply carries (a task handle across nodes).
constexpr uint32_t kReturnEndPort = 1u << 31;

struct Process {
    bool used = false;
    uint64_t pid = 0;
    uint64_t parent = 0;
    uint32_t state = 0;
    int64_t status = 0;
    tern_handle_t task = TERN_INVALID_HANDLE;
    uint64_t task_id = 0;
    uint32_t generation = 0;
    // A child on another node (its pid's node is not this one) whose node was lost before
    // it ended: what its parent's wait answers instead of a status.
    base::Error lost = base::Error::OK;
    // A child started for a parent on another node that asked for a task handle: a port
    // whose receive right is closed when it ends; the parent watches its proxy.
    tern_handle_t end_port = TERN_INVALID_HANDLE;
    uint64_t ended = 0; // when it became a zombie (an order, not a time)
    // Processor time: once it has ended, its own (every image's) and its reaped
    // children's (what Wait answers); while it runs, that of the children it has reaped
    // and of its images before execve.
    uint64_t user_ns = 0;
    uint64_t system_ns = 0;
    char name[32] = {};
};

// A record reserved for a child being started on another node: no pid yet, not listed.
constexpr uint32_t kStateStarting = 0;
constexpr uint64_t kStartingPid = ~0ull;

struct Waiter {
    bool used = false;
    uint64_t parent = 0; // who waits
    uint64_t pid = 0;    // for whom (0: any child)
    uint64_t pgid = 0;   // or any child in this group (proc::kWaitGroup)
    uint32_t flags = 0;  // proc::kWaitStopped, kWaitContinued, kWaitNoReap
    proto::PendingReply reply;
    uint64_t sequence = 0; // age, for making room
};

struct State {
    Process table[proc::kMaxProcesses];
    Waiter waiters[kMaxWaiters];
    tern_handle_t port = TERN_INVALID_HANDLE;
    tern_handle_t bus_port = TERN_INVALID_HANDLE; // for other nodes' requests (kBusPortKey)
    uint64_t node = 0;
    uint64_t next_serial = kFirstSerial;
    uint64_t init_pid = 0;
    uint64_t waiter_sequence = 0;
    uint64_t end_sequence = 0;
    ServiceHandle bootfs{"bootfs"};
};

State g_state;

// Consoles of other nodes kept for their children (kRemoteConsoleAttached), one per node,
// each watched so that it is dropped when its proxy closes.
constexpr uint32_t kConsoleCookieBase = 0x10000;
struct KeptConsole {
    uint16_t node = 0; // 0: free
    uint32_t generation = 0;
    tern_handle_t port = TERN_INVALID_HANDLE;
};
KeptConsole g_consoles[bus::kMaxNodes];

Process* by_pid(uint64_t pid) {
    for (Process& p : g_state.table)
        if (p.used && p.pid == pid)
            return &p;
    return nullptr;
}

Process* by_task_id(uint64_t id) {
    for (Process& p : g_state.table)
        if (p.used && p.task_id == id)
            return &p;
    return nullptr;
}

uint64_t node_of(uint64_t pid) { return pid >> 32; }

bool on_other_node(uint64_t pid) { return pid != 0 && node_of(pid) != g_state.node; }

bool alive(uint64_t pid) {
    Process* p = by_pid(pid);
    return p && p->state == proc::kStateRunning;
}

Process* free_slot(size_t* index) {
    for (size_t i = 0; i < proc::kMaxProcesses; ++i) {
        if (!g_state.table[i].used) {
            *index = i;
            return &g_state.table[i];
        }
    }
    return nullptr;
}

void copy_name(Process& p, base::StringView name) {
    size_t n = base::min(name.size(), sizeof(p.name) - 1);
    __builtin_memcpy(p.name, name.data(), n);
    p.name[n] = '\0';
}

// Records a started task: watches it and gives it a slot. The caller has the slot.
base::Error track(size_t index, tern_handle_t task, uint64_t pid, uint64_t parent,
                  base::StringView name) {
    Process& p = g_state.table[index];
    uint32_t generation = p.generation + 1;
    int64_t id = tern_sys_task_id_of(task);
    if (id < 0)
        return tern::sys_status(id);
    if (int64_t r = tern_sys_object_watch(task, g_state.port,
                                          proto::SlotCookie{uint32_t(index), generation}.value());
        r < 0)
        return tern::sys_status(r);
    p = Process{};
    p.used = true;
    p.pid = pid;
    p.parent = parent;
    p.state = proc::kStateRunning;
    p.task = task;
    p.task_id = uint64_t(id);
    p.generation = generation;
    copy_name(p, name);
    proc_signals::track(index, parent);
    return base::Error::OK;
}

void close_end_port(Process& p) {
    if (p.end_port != TERN_INVALID_HANDLE)
        (void)tern_sys_handle_close(p.end_port);
    p.end_port = TERN_INVALID_HANDLE;
}

void reap(Process& p) {
    proc_signals::forget(size_t(&p - g_state.table));
    close_end_port(p);
    uint32_t generation = p.generation;
    p = Process{};
    p.generation = generation;
}

// What a Wait answers for a child that ended.
proc::WaitResponse exited_answer(const Process& p) {
    return {p.pid, p.status, proc::kWaitEventExited, p.user_ns, p.system_ns};
}

// A child's end was collected by its parent: the parent's children's time grows by it.
void charge_parent(const Process& child) {
    if (Process* parent = by_pid(child.parent)) {
        parent->user_ns += child.user_ns;
        parent->system_ns += child.system_ns;
    }
}

bool waiter_matches(const Waiter& w, const Process& p) {
    if (w.pgid != 0)
        return w.used && p.parent == w.parent
               && proc_signals::pgid_of(size_t(&p - g_state.table)) == w.pgid;
    return w.used && p.parent == w.parent && (w.pid == 0 || w.pid == p.pid);
}

// A zombie: answer a waiting parent, or reap it when nobody ever will.
void drop_unclaimed();

// Waits by `parent` that no child of it can answer any more end with NOT_FOUND (ECHILD).
void end_unanswerable_waits(uint64_t parent) {
    for (Waiter& w : g_state.waiters) {
        if (!w.used || w.parent != parent)
            continue;
        bool answerable = false;
        for (const Process& q : g_state.table)
            if (q.used && waiter_matches(w, q)) {
                answerable = true;
                break;
            }
        if (!answerable) {
            (void)proto::reply_later<proc::Wait>(w.reply, base::Error::NOT_FOUND, {});
            w = Waiter{};
        }
    }
}

void settle(Process& p) {
    bool delivered = false;
    uint64_t pid = p.pid;
    // A parent that ignores SIGCHLD or set SA_NOCLDWAIT keeps no zombies (POSIX): the
    // child goes now, its times uncounted as Linux leaves them, and a wait with no child
    // left to answer it ends with ECHILD.
    if (p.parent != g_state.init_pid && p.lost == base::Error::OK
        && proc_signals::discards_children(p.parent)) {
        uint64_t parent = p.parent;
        reap(p);
        end_unanswerable_waits(parent);
        return;
    }
    for (Waiter& w : g_state.waiters) {
        if (!waiter_matches(w, p) || (w.flags & proc::kWaitNoExits))
            continue;
        // A waiter that gave up (timed out, died) is skipped: the status goes to the next
        // one, or stays with the zombie for a later Wait. A child whose node was lost
        // answers that error instead of a status.
        bool keep = (w.flags & proc::kWaitNoReap) != 0;
        delivered =
            (p.lost != base::Error::OK
                 ? proto::reply_later<proc::Wait>(w.reply, p.lost, {})
                 : proto::reply_later<proc::Wait>(w.reply, base::Error::OK, exited_answer(p)))
            == base::Error::OK;
        w = Waiter{};
        if (delivered && keep) {
            delivered = false; // told, and left for a Wait that reaps it
            continue;
        }
        if (delivered) {
            charge_parent(p);
            break;
        }
    }
    if (!delivered && on_other_node(p.parent)) {
        // Its parent's proc collects it with RemoteWait; a parent whose node is gone never
        // will, so only the newest kMaxUnclaimed such stay.
        drop_unclaimed();
        return;
    }
    if (delivered || p.parent == g_state.init_pid || !alive(p.parent)) {
        reap(p);
        // Others waiting for this very process will never see it now.
        for (Waiter& w : g_state.waiters) {
            if (w.used && w.pid == pid) {
                (void)proto::reply_later<proc::Wait>(w.reply, base::Error::NOT_FOUND, {});
                w = Waiter{};
            }
        }
    }
}

void on_exit(Process& p, int64_t status) {
    p.state = proc::kStateZombie;
    p.status = status;
    p.ended = ++g_state.end_sequence;
    if (p.task != TERN_INVALID_HANDLE) {
        // Its own time joins that of the children it reaped (a child on another node
        // brought its figures in the answer to RemoteWait instead).
        tern_cpu_times times = {};
        if (tern_sys_cpu_times(p.task, reinterpret_cast<uint64_t>(&times)) == 0) {
            p.user_ns += times.user_ns;
            p.system_ns += times.system_ns;
        }
        (void)tern_sys_handle_close(p.task);
    }
    p.task = TERN_INVALID_HANDLE;
    proc_signals::ended(size_t(&p - g_state.table));
    // A watcher on another node learns of the end through the bus (its proxy closes).
    close_end_port(p);
    // Ordinary exits are the parent's business (wait); a CPU fault is worth a line.
    if (status >= 256 && status < 512)
        tern::println("proc: {} ({:#x}) ended by a CPU exception (vector {})",
                      base::StringView(p.name), p.pid, status - 256);
    uint64_t pid = p.pid;
    uint64_t parent = p.parent;
    uint64_t pgid = proc_signals::pgid_of(size_t(&p - g_state.table));
    settle(p);
    // Its children lose their parent: zombies among them go, and waits by it end.
    for (Process& child : g_state.table)
        if (child.used && child.parent == pid && child.state == proc::kStateZombie)
            reap(child);
    for (Waiter& w : g_state.waiters) {
        if (w.used && w.parent == pid) {
            (void)proto::reply_later<proc::Wait>(w.reply, base::Error::PEER_CLOSED, {});
            w = Waiter{};
        }
    }
    proc_signals::child_ended(parent, pid, status);
    proc_signals::orphaned_groups(pid, pgid);
}

// ---- Spawn ----------------------------------------------------------------------------

// Program images, mapped read-only from the boot file system and kept: the archive is
// immutable, so a mapping stays right for the life of the node, and starting the same
// program again needs neither a Map call nor a map and unmap. (A writable file system
// will need invalidation here.) The least recently used of kCachedPrograms goes.
constexpr size_t kCachedPrograms = 8;

struct CachedProgram {
    char path[bootfs::kMaxPath + 1] = {};
    size_t path_length = 0;
    uint64_t address = 0;
    uint64_t map_size = 0;
    tern_handle_t memory = TERN_INVALID_HANDLE;
    base::Span<const uint8_t> bytes;
    uint64_t last_used = 0;
};

CachedProgram g_programs[kCachedPrograms];
uint64_t g_program_clock = 0;

void forget(CachedProgram& c) {
    if (c.address)
        (void)tern_sys_vm_free(c.address, c.map_size);
    if (c.memory != TERN_INVALID_HANDLE)
        (void)tern_sys_handle_close(c.memory);
    c = CachedProgram{};
}

base::Error map_program(base::StringView path, base::Span<const uint8_t>& image) {
    char full[bootfs::kMaxPath + 1];
    base::BufferSink sink(full, sizeof(full));
    if (!path.contains('/'))
        base::format_to(sink, "/bin/{}", path);
    else
        base::format_to(sink, "{}", path);
    if (sink.truncated())
        return base::Error::INVALID_ARGUMENT;
    base::StringView key = sink.view();
    CachedProgram* victim = &g_programs[0];
    for (CachedProgram& c : g_programs) {
        if (c.address && base::StringView(c.path, c.path_length) == key) {
            c.last_used = ++g_program_clock;
            image = c.bytes;
            return base::Error::OK;
        }
        if (c.last_used < victim->last_used)
            victim = &c;
    }
    base::Error e = base::Error::OK;
    for (int attempt = 0; attempt < 2; ++attempt) {
        auto server = g_state.bootfs.get();
        if (server.is_error())
            return server.error();
        tern_handle_t memory = TERN_INVALID_HANDLE;
        uint32_t count = 0;
        proto::CallParts parts;
        parts.in_data = {reinterpret_cast<const uint8_t*>(full), sink.written()};
        parts.out_handles = &memory;
        parts.out_handle_count = &count;
        auto r = proto::call<bootfs::Map>(server.value(), {}, parts);
        if (r.is_error()) {
            e = r.error();
            if (e == base::Error::PEER_CLOSED) { // bootfs restarted: look it up again
                g_state.bootfs.forget();
                continue;
            }
            return e;
        }
        const bootfs::MapResponse& m = r.value();
        if (count != 1 || m.data_offset > m.map_size || m.size > m.map_size - m.data_offset) {
            if (count == 1)
                (void)tern_sys_handle_close(memory);
            return base::Error::CORRUPT; // not what bootfs answers: refuse to read past it
        }
        int64_t at = tern_sys_vm_map_memory(tern::self(), memory, 0, m.map_offset, m.map_size,
                                            TERN_PROT_READ);
        if (at < 0) {
            (void)tern_sys_handle_close(memory);
            return tern::sys_status(at);
        }
        forget(*victim);
        __builtin_memcpy(victim->path, key.data(), key.size());
        victim->path_length = key.size();
        victim->address = uint64_t(at);
        victim->map_size = m.map_size;
        victim->memory = memory;
        victim->bytes = {reinterpret_cast<const uint8_t*>(at + m.data_offset), m.size};
        victim->last_used = ++g_program_clock;
        image = victim->bytes;
        return base::Error::OK;
    }
    return e;
}

base::StringView base_name(base::StringView path) {
    auto slash = path.find_last('/');
    return slash.has_value() ? path.substr(*slash + 1) : path;
}

// A failed spawn is one log line: the server's refusal line for a request that names no
// program Tern can run (the reason given here), else this one, with the path.
base::Error spawn_failed(proto::Request& request, base::StringView path, base::Error e) {
    if (proto::is_refusal(e))
        request.set_refusal_reason("not a program Tern can run");
    else
        tern::println("proc: spawn '{}': {}", path, base::error_name(e));
    return e;
}

// Lets a service init starts register system names (tern/protocols/name.h, Trust).
// The service has not run yet, so it cannot ask for its name before the name server
// knows it.
void vouch(tern_handle_t task, base::StringView name) {
    int64_t copy = tern_sys_handle_duplicate(task, TERN_RIGHT_TRANSFER);
    base::Error e = tern::sys_status(copy);
    if (e == base::Error::OK) {
        tern_handle_t h = tern_handle_t(copy);
        proto::CallParts parts;
        parts.in_handles = {&h, 1};
        auto r = proto::call<name::Trust>(name_server(), {}, parts);
        if (r.is_error()) {
            (void)tern_sys_handle_close(h);
            e = r.error();
        }
    }
    if (e != base::Error::OK)
        tern::println("proc: the name server does not take {} as a service: {}", name,
                      base::error_name(e));
}

// The startup handle kinds a request may give the child: none proc sets itself.
bool kinds_valid(proto::Request& request, const uint32_t* kinds, uint32_t count) {
    for (uint32_t i = 0; i < count; ++i) {
        uint32_t kind = kinds[i];
        if (kind == TERN_STARTUP_NAME_SERVER || kind == TERN_STARTUP_PROC_SERVER
            || kind == TERN_STARTUP_SELF || kind == TERN_STARTUP_PROC_BUS || kind == 0) {
            request.set_refusal_reason("a startup handle kind proc sets itself");
            return false;
        }
    }
    return true;
}

// Starts a program here for `parent` (a pid here, one of another node, or 0) with the
// request's first `count` handles and, when valid, `console` (a right of proc's own the
// child gets a copy of). The reply's task handle when flags ask for it (kSpawnReturnTask),
// or a SEND right to the child's end port (kReturnEndPort); the bus port for the child
// with kSpawnBusPort.
base::Error start_here(State* s, proto::Request& request, const proc_data::Unpacked& args,
                       const uint32_t* kinds, uint32_t count, tern_handle_t console,
                       uint64_t parent, bool service, uint32_t flags, proto::Reply& reply,
                       uint64_t& pid_out) {
    size_t index = 0;
    if (!free_slot(&index))
        return base::Error::NO_SPACE;

    base::Span<const uint8_t> image;
    if (base::Error e = map_program(args.path, image); e != base::Error::OK)
        return spawn_failed(request, args.path, e);
    uint64_t pid = (s->node << 32) | (s->next_serial & kPidSerialMask);
    SpawnOptions options;
    base::StringView name = base_name(args.path);
    options.name = name;
    options.argv = args.argv;
    options.envp = args.envp;
    options.pid = pid;
    options.start_stopped = service;
    options.handles[options.handle_count++] = {TERN_STARTUP_NAME_SERVER, name_server(),
                                               TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER
                                                   | TERN_RIGHT_DUPLICATE};
    options.handles[options.handle_count++] = {TERN_STARTUP_PROC_SERVER, s->port,
                                               TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER
                                                   | TERN_RIGHT_DUPLICATE};
    for (uint32_t i = 0; i < count; ++i)
        options.handles[options.handle_count++] = {kinds[i], request.take_handle(i),
                                                   TERN_RIGHTS_SAME};
    uint32_t taken = options.handle_count;
    if (console != TERN_INVALID_HANDLE)
        options.handles[options.handle_count++] = {TERN_STARTUP_CONSOLE, console,
                                                   TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER
                                                       | TERN_RIGHT_DUPLICATE};
    if ((flags & proc::kSpawnBusPort) && s->bus_port != TERN_INVALID_HANDLE)
        options.handles[options.handle_count++] = {TERN_STARTUP_PROC_BUS, s->bus_port,
                                                   TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER
                                                       | TERN_RIGHT_DUPLICATE};
    auto spawned = spawn_image(image, options);
    // The child has copies of the handles the request carried; ours go.
    for (uint32_t i = 2; i < taken; ++i)
        (void)tern_sys_handle_close(options.handles[i].handle);
    if (spawned.is_error())
        return spawn_failed(request, args.path, spawned.error());
    tern_handle_t task = spawned.value().task;
    tern_handle_t thread = spawned.value().thread;
    if (base::Error e = track(index, task, pid, parent, name); e != base::Error::OK) {
        (void)tern_sys_task_kill(task, uint64_t(-1));
        (void)tern_sys_handle_close(thread);
        (void)tern_sys_handle_close(task);
        return e;
    }
    if (flags & proc::kSpawnNewGroup)
        proc_signals::lead_group(index);
    ++s->next_serial;
    if (service) {
        vouch(task, name);
        int64_t resumed = tern_sys_thread_resume(thread);
        if (resumed < 0) {
            // Tracked already: its death notice reaps it.
            (void)tern_sys_task_kill(task, uint64_t(-1));
            (void)tern_sys_handle_close(thread);
            return tern::sys_status(resumed);
        }
    }
    // proc keeps the thread: signals are delivered on it.
    proc_signals::set_thread(index, thread);
    if (flags & proc::kSpawnReturnTask) {
        int64_t copy = tern_sys_handle_duplicate(task, TERN_RIGHT_TRANSFER | TERN_RIGHT_DUPLICATE);
        if (copy >= 0) {
            reply.handles[0] = tern_handle_t(copy);
            reply.handle_count = 1;
        }
    }
    if (flags & kReturnEndPort) {
        // Nothing is ever received there; only its end matters. The right given out
        // cannot send (enough to watch, like a task handle), so nothing can fill its
        // queue: the bus drops what a parent sends its proxy, ACCESS_DENIED.
        int64_t port = tern_sys_port_create(1);
        int64_t copy = port < 0
                           ? port
                           : tern_sys_handle_duplicate(tern_handle_t(port),
                                                       TERN_RIGHT_TRANSFER | TERN_RIGHT_DUPLICATE);
        if (copy < 0) {
            // The child runs; its parent gets no handle to watch (and says so).
            tern::println("proc: no end port for {} ({:#x}): {}", name, pid,
                          base::error_name(tern::sys_status(copy)));
            if (port >= 0)
                (void)tern_sys_handle_close(tern_handle_t(port));
        } else {
            g_state.table[index].end_port = tern_handle_t(port);
            reply.handles[0] = tern_handle_t(copy);
            reply.handle_count = 1;
        }
    }
    pid_out = pid;
    return base::Error::OK;
}

base::Error spawn_remote(State* s, proto::Request& request, const proc::SpawnRequest& in,
                         const proc_data::Unpacked& args, proto::Reply& reply,
                         proto::PendingReply& pending);

base::Error on_spawn(State* s, proto::Request& request, const proc::SpawnRequest& in,
                     proc::SpawnResponse& out, proto::Reply& reply, proto::PendingReply& pending) {
    if ((in.flags
         & ~(proc::kSpawnReturnTask | proc::kSpawnConsoleHere | proc::kSpawnBusPort
             | proc::kSpawnNewGroup))
        != 0) {
        request.set_refusal_reason("unknown flags");
        return base::Error::INVALID_ARGUMENT;
    }
    Process* parent = by_task_id(request.badge());
    // init's children are the node's services, which may register system names.
    bool service = parent && parent->pid == s->init_pid;
    if ((in.flags & proc::kSpawnBusPort)
        && (!service || request.key() != 0 || (in.node != 0 && in.node != s->node))) {
        request.set_refusal_reason("only init gives a service here the bus port");
        return base::Error::ACCESS_DENIED;
    }
    static proc_data::Unpacked args;
    if (base::Error e = proc_data::unpack(request.data(), in.argc, in.envc, args);
        e != base::Error::OK) {
        request.set_refusal_reason("badly packed, or too many strings");
        return e;
    }
    if (!kinds_valid(request, in.handle_kinds, request.handle_count()))
        return base::Error::INVALID_ARGUMENT;
    if (in.flags & proc::kSpawnConsoleHere) {
        for (uint32_t i = 0; i < request.handle_count(); ++i) {
            if (in.handle_kinds[i] == TERN_STARTUP_CONSOLE) {
                request.set_refusal_reason("a console handle and kSpawnConsoleHere");
                return base::Error::INVALID_ARGUMENT;
            }
        }
    }
    if (in.node != 0 && in.node != s->node)
        return spawn_remote(s, request, in, args, reply, pending);
    return start_here(s, request, args, in.handle_kinds, request.handle_count(),
                      TERN_INVALID_HANDLE, parent ? parent->pid : 0, service, in.flags, reply,
                      out.pid);
}

// The console of another node, kept for its children: replaces an earlier one and is
// watched, so that it goes when its proxy closes (that node down, or its console gone).
void keep_console(State* s, uint16_t node, tern_handle_t port) {
    KeptConsole* slot = nullptr;
    for (KeptConsole& k : g_consoles) {
        if (k.node == node) {
            slot = &k;
            break;
        }
        if (!slot && k.node == 0)
            slot = &k;
    }
    if (!slot)
        slot = &g_consoles[0];
    if (slot->port != TERN_INVALID_HANDLE)
        (void)tern_sys_handle_close(slot->port);
    uint32_t generation = slot->generation + 1;
    *slot = KeptConsole{node, generation, port};
    uint32_t index = kConsoleCookieBase + uint32_t(slot - g_consoles);
    if (int64_t r =
            tern_sys_object_watch(port, s->port, proto::SlotCookie{index, generation}.value());
        r < 0) {
        // Unwatched it could outlive its proxy; better to ask for it again.
        tern::println("proc: cannot watch the console of node {}: {}", node,
                      base::error_name(tern::sys_status(r)));
        (void)tern_sys_handle_close(port);
        *slot = KeptConsole{0, generation, TERN_INVALID_HANDLE};
    }
}

tern_handle_t kept_console(uint16_t node) {
    for (const KeptConsole& k : g_consoles)
        if (k.node == node)
            return k.port;
    return TERN_INVALID_HANDLE;
}

base::Error on_remote_spawn(State* s, proto::Request& request, const proc::RemoteSpawnRequest& in,
                            proc::SpawnResponse& out, proto::Reply& reply, proto::PendingReply&) {
    if (request.key() != kBusPortKey) {
        request.set_refusal_reason("RemoteSpawn is taken only from the bus");
        return base::Error::ACCESS_DENIED;
    }
    if (!on_other_node(in.parent) || node_of(in.parent) > UINT16_MAX) {
        request.set_refusal_reason("the parent is not of another node");
        return base::Error::INVALID_ARGUMENT;
    }
    uint32_t count = request.handle_count();
    uint32_t console_flags = in.flags & ~proc::kRemoteReturnTask;
    bool attached = console_flags == proc::kRemoteConsoleAttached;
    if ((console_flags != 0 && !attached && console_flags != proc::kRemoteConsoleKept)
        || (attached ? count == 0 : count > proc::kMaxSpawnHandles)) {
        request.set_refusal_reason("unknown flags, or handles that do not match them");
        return base::Error::INVALID_ARGUMENT;
    }
    uint16_t node = uint16_t(node_of(in.parent));
    if (attached)
        keep_console(s, node, request.take_handle(--count));
    static proc_data::Unpacked args;
    if (base::Error e = proc_data::unpack(request.data(), in.argc, in.envc, args);
        e != base::Error::OK) {
        request.set_refusal_reason("badly packed, or too many strings");
        return e;
    }
    if (!kinds_valid(request, in.handle_kinds, count))
        return base::Error::INVALID_ARGUMENT;
    tern_handle_t console = TERN_INVALID_HANDLE;
    if (console_flags != 0) {
        console = kept_console(node);
        if (console == TERN_INVALID_HANDLE) {
            tern::println("proc: spawn '{}' for node {}: no console of that node is kept",
                          base::StringView(args.path), node);
            return base::Error::BAD_STATE;
        }
    }
    base::Error e =
        start_here(s, request, args, in.handle_kinds, count, console, in.parent, false,
                   (in.flags & proc::kRemoteReturnTask) ? kReturnEndPort : 0, reply, out.pid);
    if (e == base::Error::OK)
        tern::println("proc: started {} ({:#x}) for {:#x} on node {}", base_name(args.path),
                      out.pid, in.parent, node_of(in.parent));
    return e;
}

// ---- Children on other nodes ----------------------------------------------------------
//
// Each call to another node's proc is asynchronous, its answer arriving on a reply port
// that is a member of the server's port (key kReplyPortKey) with a RemoteCall slot as its
// cookie. A remote child holds one slot for its RemoteWait while it runs.

constexpr uint32_t kReplyPortKey = 1;
constexpr size_t kMaxRemoteCalls = 64; // the reply port's queue: one slot each
constexpr size_t kMaxNodeProxies = 16;

enum class CallKind : uint8_t {
    kFree,
    kSpawn,
    kWait,
    kKill
};

struct RemoteCall {
    CallKind kind = CallKind::kFree;
    uint32_t generation = 0;
    uint16_t node = 0;
    uint32_t process = 0;      // table index of the child's record (spawn, wait)
    proto::PendingReply reply; // the local caller's (spawn, kill)
    bool want_task = false;    // spawn: the caller asked for a handle to watch
};

struct NodeProxy {
    uint16_t node = 0; // 0: free
    tern_handle_t port = TERN_INVALID_HANDLE;
    // This node's console went to that node's proc through this proxy (it keeps it).
    bool console_sent = false;
};

RemoteCall g_calls[kMaxRemoteCalls];
NodeProxy g_node_proxies[kMaxNodeProxies];
tern_handle_t g_reply_port = TERN_INVALID_HANDLE;

void forget_node_proxy(uint16_t node) {
    for (NodeProxy& p : g_node_proxies) {
        if (p.node == node) {
            (void)tern_sys_handle_close(p.port);
            p = NodeProxy{};
        }
    }
}

// A SEND right to node's proc through the bus, kept for later calls. OUT_OF_RANGE: no
// such member (or the bus is off); NODE_DOWN: it is not up.
base::Result<NodeProxy*> node_proxy(uint16_t node) {
    for (NodeProxy& p : g_node_proxies)
        if (p.node == node)
            return &p;
    auto bus = lookup("bus");
    if (bus.is_error())
        return bus.error() == base::Error::NOT_FOUND ? base::Error::OUT_OF_RANGE : bus.error();
    tern_handle_t proxy = TERN_INVALID_HANDLE;
    uint32_t count = 0;
    proto::CallParts parts;
    parts.out_handles = &proxy;
    parts.out_handle_count = &count;
    // A local call the network server answers from its own tables; bounded all the same.
    auto r = proto::call<bus::RemoteRoot>(bus.value(), {node, 2}, parts, 1'000'000'000ull);
    (void)tern_sys_handle_close(bus.value());
    if (r.is_error())
        return r.error() == base::Error::NOT_FOUND ? base::Error::OUT_OF_RANGE : r.error();
    if (count != 1)
        return base::Error::CORRUPT;
    for (NodeProxy& p : g_node_proxies) {
        if (p.node == 0) {
            p = {node, proxy, false};
            return &p;
        }
    }
    (void)tern_sys_handle_close(g_node_proxies[0].port);
    g_node_proxies[0] = {node, proxy, false};
    return &g_node_proxies[0];
}

// This node's console, looked up once and watched: when it goes (the console server
// restarted), no other node keeps it any more, so it is sent again with the next spawn.
constexpr uint32_t kOwnConsoleCookie = kConsoleCookieBase + bus::kMaxNodes;
tern_handle_t g_own_console = TERN_INVALID_HANDLE;
uint32_t g_own_console_generation = 0;

void own_console_gone() {
    if (g_own_console != TERN_INVALID_HANDLE)
        (void)tern_sys_handle_close(g_own_console);
    g_own_console = TERN_INVALID_HANDLE;
    ++g_own_console_generation;
    for (NodeProxy& p : g_node_proxies)
        p.console_sent = false;
}

// A copy of this node's console right, to send.
base::Result<tern_handle_t> own_console() {
    if (g_own_console == TERN_INVALID_HANDLE) {
        tern_handle_t found = TRY(lookup("console"));
        uint64_t cookie = proto::SlotCookie{kOwnConsoleCookie, g_own_console_generation}.value();
        if (int64_t r = tern_sys_object_watch(found, g_state.port, cookie); r < 0) {
            (void)tern_sys_handle_close(found);
            return tern::sys_status(r);
        }
        g_own_console = found;
    }
    return tern::sys_result<tern_handle_t>(tern_sys_handle_duplicate(
        g_own_console, TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER | TERN_RIGHT_DUPLICATE));
}

RemoteCall* free_call() {
    for (RemoteCall& c : g_calls)
        if (c.kind == CallKind::kFree)
            return &c;
    return nullptr;
}

void release_call(RemoteCall& c) {
    uint32_t generation = c.generation + 1;
    c = RemoteCall{};
    c.generation = generation;
}

// Sends msg to node's proc as call slot c (its handles move, or are closed on failure).
// With spawn set (a RemoteSpawn whose child gets this node's console) the console is
// attached when this proxy has not carried it yet, else the kept one is named.
base::Error send_call(RemoteCall& c, uint16_t node, tern_msg& msg,
                      proc::RemoteSpawnRequest* spawn = nullptr) {
    base::Error e = base::Error::OK;
    if (g_reply_port == TERN_INVALID_HANDLE) {
        // Made at the first call to another node: a member costs every receive a little,
        // which a node that never spawns across the cluster need not pay.
        int64_t port = tern_sys_port_create(kMaxRemoteCalls);
        e = tern::sys_status(port);
        if (port >= 0) {
            int64_t r = tern_sys_port_set_add(g_state.port, tern_handle_t(port), kReplyPortKey);
            e = tern::sys_status(r);
            if (r < 0)
                (void)tern_sys_handle_close(tern_handle_t(port));
            else
                g_reply_port = tern_handle_t(port);
        }
        if (e != base::Error::OK)
            tern::println("proc: no reply port for calls to other nodes: {}", base::error_name(e));
    }
    uint64_t cookie = proto::SlotCookie{uint32_t(&c - g_calls), c.generation}.value();
    uint32_t handles = msg.hdr.handle_count;
    tern_handle_t console = TERN_INVALID_HANDLE;
    // A proxy the bus closed (its node was down for a while) is fetched again once.
    for (int attempt = 0; attempt < 2 && e == base::Error::OK; ++attempt) {
        auto proxy = node_proxy(node);
        if (proxy.is_error()) {
            e = proxy.error();
            break;
        }
        NodeProxy& entry = *proxy.value();
        msg.hdr.handle_count = handles;
        if (spawn) {
            uint32_t task = spawn->flags & proc::kRemoteReturnTask;
            spawn->flags = proc::kRemoteConsoleKept | task;
            if (!entry.console_sent) {
                if (console == TERN_INVALID_HANDLE) {
                    auto found = own_console();
                    if (found.is_error()) {
                        e = found.error();
                        tern::println("proc: no console to give a child on node {}: {}", node,
                                      base::error_name(e));
                        break;
                    }
                    console = found.value();
                }
                spawn->flags = proc::kRemoteConsoleAttached | task;
                msg.handles[msg.hdr.handle_count++] = console;
            }
            __builtin_memcpy(msg.words, spawn, sizeof(*spawn));
        }
        auto sent = call_async(entry.port, msg, g_reply_port, cookie);
        if (sent.ok()) {
            if (spawn && (spawn->flags & ~proc::kRemoteReturnTask) == proc::kRemoteConsoleAttached)
                entry.console_sent = true;
            c.node = node;
            return base::Error::OK;
        }
        e = sent.error();
        forget_node_proxy(node);
        if (e != base::Error::PEER_CLOSED)
            break;
        e = attempt == 0 ? base::Error::OK : base::Error::NODE_DOWN;
    }
    for (uint32_t i = 0; i < handles; ++i)
        (void)tern_sys_handle_close(msg.handles[i]);
    if (console != TERN_INVALID_HANDLE)
        (void)tern_sys_handle_close(console);
    return e;
}

// Asks the child's node for its end; the slot stays with it until the answer comes.
void send_wait(RemoteCall& c, Process& p) {
    tern_msg msg = {};
    msg.hdr.label = proc::RemoteWait::kLabel;
    proc::RemoteWaitRequest request = {p.parent, p.pid};
    __builtin_memcpy(msg.words, &request, sizeof(request));
    c.kind = CallKind::kWait;
    c.process = uint32_t(&p - g_state.table);
    if (base::Error e = send_call(c, uint16_t(node_of(p.pid)), msg); e != base::Error::OK) {
        tern::println("proc: lost {} ({:#x}) on node {}: {}", base::StringView(p.name), p.pid,
                      node_of(p.pid), base::error_name(e));
        release_call(c);
        p.lost = e == base::Error::PEER_CLOSED ? base::Error::NODE_DOWN : e;
        on_exit(p, 0);
    }
}

base::Error spawn_remote(State* s, proto::Request& request, const proc::SpawnRequest& in,
                         const proc_data::Unpacked& args, proto::Reply& reply,
                         proto::PendingReply& pending) {
    bool console_here = (in.flags & proc::kSpawnConsoleHere) != 0;
    if (in.node > UINT16_MAX) {
        tern::println("proc: spawn '{}' on node {}: no such node", base::StringView(args.path),
                      in.node);
        return base::Error::OUT_OF_RANGE;
    }
    Process* parent = by_task_id(request.badge());
    if (!parent) {
        request.set_refusal_reason("the caller is not a process");
        return base::Error::NOT_OWNER;
    }
    size_t index = 0;
    RemoteCall* c = free_call();
    if (!free_slot(&index) || !c) {
        tern::println("proc: spawn '{}' on node {}: no room for another remote child",
                      base::StringView(args.path), in.node);
        return base::Error::NO_SPACE;
    }
    tern_msg msg = {};
    msg.hdr.label = proc::RemoteSpawn::kLabel;
    // A task handle across nodes is a proxy for an end port of that node's proc.
    uint32_t forward_flags = (in.flags & proc::kSpawnReturnTask) ? proc::kRemoteReturnTask : 0;
    proc::RemoteSpawnRequest forward = {parent->pid, in.argc, in.envc, {}, forward_flags};
    for (uint32_t i = 0; i < proc::kMaxSpawnHandles; ++i)
        forward.handle_kinds[i] = in.handle_kinds[i];
    __builtin_memcpy(msg.words, &forward, sizeof(forward));
    msg.data = reinterpret_cast<uint64_t>(request.data().data());
    msg.hdr.data_size = uint32_t(request.data().size());
    uint32_t handles = request.handle_count();
    for (uint32_t i = 0; i < handles; ++i)
        msg.handles[i] = request.take_handle(i);
    msg.hdr.handle_count = handles;
    c->kind = CallKind::kSpawn;
    c->process = uint32_t(index);
    c->want_task = forward_flags != 0;
    if (base::Error e = send_call(*c, uint16_t(in.node), msg, console_here ? &forward : nullptr);
        e != base::Error::OK) {
        release_call(*c);
        tern::println("proc: spawn '{}' on node {}: {}", base::StringView(args.path), in.node,
                      base::error_name(e));
        return e;
    }
    // The record is reserved now, so the answer always finds room.
    Process& p = s->table[index];
    uint32_t generation = p.generation;
    p = Process{};
    p.used = true;
    p.generation = generation;
    p.pid = kStartingPid;
    p.parent = parent->pid;
    p.state = kStateStarting;
    copy_name(p, base_name(args.path));
    c->reply = pending;
    reply.deferred = true;
    return base::Error::OK;
}

// The answer of another node's proc to call c: the protocol status in the label, the
// response in the words; PEER_CLOSED when the bus dropped the call.
void on_remote_answer(void*, tern_msg& msg, uint32_t key) {
    proto::SlotCookie cookie = proto::SlotCookie::from(msg.hdr.sender_badge);
    // The first handle may be a spawned child's end port, for its parent; the rest go, and
    // so does that one unless it is passed on.
    struct Kept {
        tern_handle_t handle;
        ~Kept() {
            if (handle != TERN_INVALID_HANDLE)
                (void)tern_sys_handle_close(handle);
        }
    } first{msg.hdr.handle_count ? msg.handles[0] : TERN_INVALID_HANDLE};
    for (uint32_t i = 1; i < msg.hdr.handle_count; ++i)
        (void)tern_sys_handle_close(msg.handles[i]);
    if (msg.reply_handle != TERN_INVALID_HANDLE)
        (void)tern_sys_handle_close(msg.reply_handle);
    if (key != kReplyPortKey || !is_async_answer(msg) || cookie.index >= kMaxRemoteCalls
        || g_calls[cookie.index].kind == CallKind::kFree
        || g_calls[cookie.index].generation != cookie.generation)
        return;
    RemoteCall& c = g_calls[cookie.index];
    base::Error status = async_answer_status(msg);
    if (status == base::Error::OK && msg.hdr.label != 0)
        status = msg.hdr.label <= uint32_t(base::Error::NODE_DOWN)
                     ? base::Error(int32_t(msg.hdr.label))
                     : base::Error::CORRUPT;
    uint16_t node = c.node;
    if (status == base::Error::NODE_DOWN || status == base::Error::PEER_CLOSED)
        forget_node_proxy(node);
    if (status == base::Error::BAD_STATE && c.kind == CallKind::kSpawn) {
        // That node no longer keeps this node's console: the next spawn sends it.
        for (NodeProxy& n : g_node_proxies)
            if (n.node == node)
                n.console_sent = false;
    }
    Process& p = g_state.table[c.process];
    switch (c.kind) {
    case CallKind::kSpawn: {
        proc::SpawnResponse response;
        __builtin_memcpy(&response, msg.words, sizeof(response));
        proto::PendingReply pending = c.reply;
        if (status == base::Error::OK && node_of(response.pid) != node) {
            tern::println("proc: node {} answered a spawn with pid {:#x}, not one of its own", node,
                          response.pid);
            status = base::Error::CORRUPT;
        }
        if (status != base::Error::OK) {
            tern::println("proc: spawn '{}' on node {}: {}", base::StringView(p.name), node,
                          base::error_name(status));
            reap(p);
            release_call(c);
            (void)proto::reply_later<proc::Spawn>(pending, status, {});
            return;
        }
        p.pid = response.pid;
        p.state = proc::kStateRunning;
        proto::Reply parts;
        if (c.want_task && first.handle != TERN_INVALID_HANDLE && msg.hdr.handle_count == 1) {
            parts.handles[0] = first.handle;
            parts.handle_count = 1;
            first.handle = TERN_INVALID_HANDLE;
        } else if (c.want_task) {
            tern::println("proc: node {} gave no handle to watch {} ({:#x})", node,
                          base::StringView(p.name), p.pid);
        }
        // The same slot now waits for the child's end.
        ++c.generation;
        c.reply = {};
        c.want_task = false;
        (void)proto::reply_later<proc::Spawn>(pending, base::Error::OK, {response.pid}, parts);
        send_wait(c, p);
        return;
    }
    case CallKind::kWait: {
        proc::WaitResponse response;
        __builtin_memcpy(&response, msg.words, sizeof(response));
        if (status == base::Error::TIMED_OUT) {
            // That node's proc made room for a newer wait: ask again.
            ++c.generation;
            send_wait(c, p);
            return;
        }
        release_call(c);
        if (p.state != proc::kStateRunning)
            return;
        if (status == base::Error::OK && response.pid != p.pid)
            status = base::Error::CORRUPT;
        if (status != base::Error::OK) {
            tern::println("proc: lost {} ({:#x}) on node {}: {}", base::StringView(p.name), p.pid,
                          node, base::error_name(status));
            p.lost = status == base::Error::PEER_CLOSED ? base::Error::NODE_DOWN : status;
            on_exit(p, 0);
            return;
        }
        p.user_ns = response.user_ns;
        p.system_ns = response.system_ns;
        on_exit(p, response.status);
        return;
    }
    case CallKind::kKill: {
        proto::PendingReply pending = c.reply;
        release_call(c);
        if (pending.valid())
            (void)proto::reply_later<proc::Kill>(pending, status, {});
        return;
    }
    case CallKind::kFree:
        return;
    }
}

// Forwards a Kill to pid's node. With a pending reply the caller is answered when that
// node has; without one (a descendant of a local process) nobody waits for the answer.
base::Error forward_kill(uint64_t pid, int64_t status, uint64_t flags,
                         proto::PendingReply* pending) {
    uint64_t node = node_of(pid);
    if (node == 0 || node > UINT16_MAX)
        return base::Error::NOT_FOUND;
    RemoteCall* c = free_call();
    if (!c) {
        tern::println("proc: kill {:#x} on node {}: no room for another remote call", pid, node);
        return base::Error::NO_SPACE;
    }
    tern_msg msg = {};
    msg.hdr.label = proc::Kill::kLabel;
    proc::KillRequest request = {pid, status, flags};
    __builtin_memcpy(msg.words, &request, sizeof(request));
    c->kind = CallKind::kKill;
    if (base::Error e = send_call(*c, uint16_t(node), msg); e != base::Error::OK) {
        release_call(*c);
        tern::println("proc: kill {:#x} on node {}: {}", pid, node, base::error_name(e));
        return e;
    }
    if (pending)
        c->reply = *pending;
    return base::Error::OK;
}

// Zombies kept for parents on other nodes: beyond kMaxUnclaimed, the oldest goes.
void drop_unclaimed() {
    size_t count = 0;
    Process* oldest = nullptr;
    for (Process& p : g_state.table) {
        if (!p.used || p.state != proc::kStateZombie || !on_other_node(p.parent))
            continue;
        ++count;
        if (!oldest || p.ended < oldest->ended)
            oldest = &p;
    }
    if (count > proc::kMaxUnclaimed && oldest) {
        tern::println("proc: dropping the end of {} ({:#x}): its parent {:#x} never collected it",
                      base::StringView(oldest->name), oldest->pid, oldest->parent);
        reap(*oldest);
    }
}

// ---- Wait, kill, list, adopt ----------------------------------------------------------

base::Error on_wait(State* s, proto::Request& request, const proc::WaitRequest& in,
                    proc::WaitResponse& out, proto::Reply& reply, proto::PendingReply& pending) {
    if ((in.flags
         & ~(proc::kWaitNoHang | proc::kWaitGroup | proc::kWaitStopped | proc::kWaitContinued
             | proc::kWaitNoReap | proc::kWaitNoExits))
        != 0) {
        request.set_refusal_reason("unknown flags");
        return base::Error::INVALID_ARGUMENT;
    }
    Process* caller = by_task_id(request.badge());
    if (!caller) {
        request.set_refusal_reason("the caller is not a process");
        return base::Error::NOT_OWNER;
    }
    bool any_child = false;
    uint64_t pgid = 0;
    if (in.flags & proc::kWaitGroup)
        pgid = in.pid ? in.pid : proc_signals::pgid_of(size_t(caller - s->table));
    for (Process& p : s->table) {
        if (!p.used || p.parent != caller->pid || (!pgid && in.pid && p.pid != in.pid)
            || (pgid && proc_signals::pgid_of(size_t(&p - s->table)) != pgid))
            continue;
        any_child = true;
        // The answer goes out here, and the child is reaped (or its report taken) only
        // when it reached the caller: a call a signal cut short is still queued here after
        // its caller left, and what it took would be lost to the caller's next Wait.
        if (p.state == proc::kStateZombie) {
            if (in.flags & proc::kWaitNoExits)
                continue;
            reply.deferred = true;
            if (proto::reply_later<proc::Wait>(pending, p.lost, exited_answer(p)) == base::Error::OK
                && !(in.flags & proc::kWaitNoReap)) {
                charge_parent(p);
                reap(p);
            }
            return base::Error::OK;
        }
        size_t index = size_t(&p - s->table);
        if (proc_signals::take_report(index, in.flags, false, out.event, out.status)) {
            out.pid = p.pid;
            reply.deferred = true;
            if (proto::reply_later<proc::Wait>(pending, base::Error::OK, out) == base::Error::OK
                && !(in.flags & proc::kWaitNoReap))
                (void)proc_signals::take_report(index, in.flags, true, out.event, out.status);
            return base::Error::OK;
        }
    }
    if (!any_child) {
        if (!in.pid || pgid || !by_pid(in.pid))
            return base::Error::NOT_FOUND;
        request.set_refusal_reason("not the caller's child");
        return base::Error::NOT_OWNER;
    }
    if (in.flags & proc::kWaitNoHang)
        return base::Error::WOULD_BLOCK;
    // Parked waits are bounded; a full table answers its oldest TIMED_OUT (proto::park),
    // so a Wait is never refused for lack of room.
    Waiter& slot = proto::park<proc::Wait>(s->waiters, s->waiter_sequence);
    slot.parent = caller->pid;
    slot.pid = pgid ? 0 : in.pid;
    slot.pgid = pgid;
    slot.flags =
        in.flags
        & (proc::kWaitStopped | proc::kWaitContinued | proc::kWaitNoReap | proc::kWaitNoExits);
    slot.reply = pending;
    reply.deferred = true;
    return base::Error::OK;
}

base::Error on_remote_wait(State* s, proto::Request& request, const proc::RemoteWaitRequest& in,
                           proc::WaitResponse& out, proto::Reply& reply,
                           proto::PendingReply& pending) {
    if (request.key() != kBusPortKey) {
        request.set_refusal_reason("RemoteWait is taken only from the bus");
        return base::Error::ACCESS_DENIED;
    }
    if (!on_other_node(in.parent)) {
        request.set_refusal_reason("the parent is not of another node");
        return base::Error::INVALID_ARGUMENT;
    }
    Process* p = by_pid(in.pid);
    if (!p || p->parent != in.parent || on_other_node(p->pid))
        return base::Error::NOT_FOUND;
    if (p->state == proc::kStateZombie) {
        out = exited_answer(*p);
        reap(*p);
        return base::Error::OK;
    }
    Waiter& slot = proto::park<proc::Wait>(s->waiters, s->waiter_sequence);
    slot.parent = in.parent;
    slot.pid = in.pid;
    slot.reply = pending;
    reply.deferred = true;
    return base::Error::OK;
}

base::Error on_kill(State*, proto::Request& request, const proc::KillRequest& in, proto::Empty&,
                    proto::Reply& reply, proto::PendingReply& pending) {
    if (in.flags & ~proc::kKillDescendants) {
        request.set_refusal_reason("unknown flags");
        return base::Error::INVALID_ARGUMENT;
    }
    // Statuses above 255 are the kernel's (CPU faults); a killer gives a plain one.
    if (in.status < 0 || in.status > 255) {
        request.set_refusal_reason("status outside 0..255");
        return base::Error::INVALID_ARGUMENT;
    }
    Process* p = by_pid(in.pid);
    if (on_other_node(in.pid)) {
        // A child's record here knows it has ended; anything else is that node's to say.
        if (p && p->state != proc::kStateRunning)
            return base::Error::BAD_STATE;
        if (base::Error e = forward_kill(in.pid, in.status, in.flags, &pending);
            e != base::Error::OK)
            return e;
        reply.deferred = true;
        return base::Error::OK;
    }
    if (!p)
        return base::Error::NOT_FOUND;
    if (p->state != proc::kStateRunning)
        return base::Error::BAD_STATE;
    // init and the core servers it started (serials below kFirstSerial) hold state nothing
    // can rebuild; ending them would take the node down.
    if ((p->pid & kPidSerialMask) < kFirstSerial) {
        request.set_refusal_reason("init and the core servers cannot be killed");
        return base::Error::ACCESS_DENIED;
    }
    int64_t status = in.status ? in.status : proc::kKilledStatus;
    if (in.flags & proc::kKillDescendants) {
        // Every running descendant is found first (a zombie in the chain still links its
        // children to it), then each is ended. Core servers are never among them.
        static bool doomed[proc::kMaxProcesses];
        for (size_t i = 0; i < proc::kMaxProcesses; ++i)
            doomed[i] = &g_state.table[i] == p;
        for (bool grew = true; grew;) {
            grew = false;
            for (size_t i = 0; i < proc::kMaxProcesses; ++i) {
                Process& q = g_state.table[i];
                if (doomed[i] || !q.used)
                    continue;
                Process* parent = by_pid(q.parent);
                if (parent && doomed[parent - g_state.table]
                    && (q.pid & kPidSerialMask) >= kFirstSerial) {
                    doomed[i] = true;
                    grew = true;
                }
            }
        }
        for (size_t i = 0; i < proc::kMaxProcesses; ++i) {
            Process& q = g_state.table[i];
            if (!doomed[i] || &q == p || q.state != proc::kStateRunning)
                continue;
            if (on_other_node(q.pid))
                (void)forward_kill(q.pid, status, proc::kKillDescendants, nullptr);
            else
                (void)tern_sys_task_kill(q.task, uint64_t(status));
        }
    }
    if (int64_t r = tern_sys_task_kill(p->task, uint64_t(status)); r < 0)
        return tern::sys_status(r);
    return base::Error::OK;
}

base::Error on_parent(State*, proto::Request&, const proc::ParentRequest& in,
                      proc::ParentResponse& out, proto::Reply&, proto::PendingReply&) {
    Process* p = by_pid(in.pid);
    if (!p)
        return base::Error::NOT_FOUND;
    out.parent = p->parent;
    Process* parent = by_pid(p->parent);
    out.parent_task =
        parent && parent->state == proc::kStateRunning ? parent->task_id : uint64_t(0);
    out.running = p->state == proc::kStateRunning ? 1 : 0;
    return base::Error::OK;
}

uint64_t resident_bytes(tern_handle_t task) {
    static tern_mapping mappings[256];
    int64_t n = tern_sys_task_mappings(task, reinterpret_cast<uint64_t>(mappings), 256);
    if (n < 0)
        return 0;
    uint64_t pages = 0;
    // Memory objects are shared (the boot file system archive, for one) and not counted
    // against any one process.
    for (int64_t i = 0; i < base::min<int64_t>(n, 256); ++i)
        if (mappings[i].kind != TERN_MAPPING_MEMORY)
            pages += mappings[i].resident_pages;
    return pages * 4096;
}

proc::ProcessInfo g_list[proc::kMaxProcesses];

base::Error on_list(State* s, proto::Request&, const proto::Empty&, proc::ListResponse& out,
                    proto::Reply& reply, proto::PendingReply&) {
    uint32_t n = 0;
    for (const Process& p : s->table) {
        // Children on other nodes are that node's to list.
        if (!p.used || p.state == kStateStarting || on_other_node(p.pid))
            continue;
        proc::ProcessInfo& info = g_list[n++];
        info = {};
        info.pid = p.pid;
        info.parent = p.parent;
        info.status = p.status;
        info.state = p.state;
        info.task_id = uint32_t(p.task_id);
        info.memory_bytes =
            p.state == proc::kStateRunning
                ? (p.task_id == uint64_t(tern_sys_task_id()) ? resident_bytes(tern::self())
                                                             : resident_bytes(p.task))
                : 0;
        __builtin_memcpy(info.name, p.name, sizeof(info.name));
    }
    out.count = n;
    reply.data = {reinterpret_cast<const uint8_t*>(g_list), n * sizeof(proc::ProcessInfo)};
    return base::Error::OK;
}

base::Error on_adopt(State* s, proto::Request& request, const proc::AdoptRequest& in, proto::Empty&,
                     proto::Reply&, proto::PendingReply&) {
    if (request.handle_count() != 1 || (in.pid >> 32) != s->node
        || (in.pid & kPidSerialMask) >= kFirstSerial || by_pid(in.pid)) {
        request.set_refusal_reason("no task, or a pid that is not init's to give");
        return base::Error::INVALID_ARGUMENT;
    }
    size_t index = 0;
    if (!free_slot(&index))
        return base::Error::NO_SPACE;
    // init adopts itself first (which makes it init); after that only init may adopt, and
    // what it adopts are its children.
    Process* adopter = by_task_id(request.badge());
    if (s->init_pid ? !adopter || adopter->pid != s->init_pid : false) {
        request.set_refusal_reason("only init adopts");
        return base::Error::ACCESS_DENIED;
    }
    tern_handle_t task = request.take_handle(0);
    if (!s->init_pid && tern_sys_task_id_of(task) != int64_t(request.badge())) {
        (void)tern_sys_handle_close(task);
        request.set_refusal_reason("the first adoption must be of the caller itself");
        return base::Error::ACCESS_DENIED;
    }
    base::StringView name(reinterpret_cast<const char*>(request.data().data()),
                          request.data().size());
    if (base::Error e = track(index, task, in.pid, adopter ? adopter->pid : 0, name);
        e != base::Error::OK) {
        (void)tern_sys_handle_close(task);
        return e;
    }
    if (!adopter)
        s->init_pid = in.pid;
    return base::Error::OK;
}

base::Error on_fork(State* s, proto::Request& request, const proto::Empty&, proc::ForkResponse& out,
                    proto::Reply&, proto::PendingReply&) {
    Process* parent = by_task_id(request.badge());
    if (!parent || parent->state != proc::kStateRunning) {
        request.set_refusal_reason("the caller is not a process");
        return base::Error::NOT_OWNER;
    }
    if (request.handle_count() < 1) {
        request.set_refusal_reason("no task");
        return base::Error::INVALID_ARGUMENT;
    }
    size_t index = 0;
    if (!free_slot(&index))
        return base::Error::NO_SPACE;
    tern_handle_t given = request.take_handle(0);
    // proc must be able to end and list what it records: the handle it keeps has CONTROL
    // and READ, which only a handle that has them (and DUPLICATE) can give.
    int64_t kept = tern_sys_handle_duplicate(given, TERN_RIGHT_CONTROL | TERN_RIGHT_READ);
    (void)tern_sys_handle_close(given);
    if (kept < 0) {
        request.set_refusal_reason("not a task handle with CONTROL, READ and DUPLICATE");
        return kept == -TERN_ACCESS_DENIED ? base::Error::ACCESS_DENIED
                                           : base::Error::INVALID_ARGUMENT;
    }
    tern_handle_t task = tern_handle_t(kept);
    // One record per task, of a task that runs.
    int64_t id = tern_sys_task_id_of(task);
    int64_t ended = tern_sys_task_wait(task, 0);
    // The same Fork again: a signal cut the caller's first call short after it was sent,
    // and proc took it all the same. The answer is the pid it got then.
    Process* known = id < 0 ? nullptr : by_task_id(uint64_t(id));
    if (known && known->parent == parent->pid && ended == -TERN_WOULD_BLOCK) {
        (void)tern_sys_handle_close(task);
        if (request.handle_count() > 1)
            (void)tern_sys_handle_close(request.take_handle(1));
        out.pid = known->pid;
        return base::Error::OK;
    }
    if (id < 0 || known || ended != -TERN_WOULD_BLOCK) {
        (void)tern_sys_handle_close(task);
        request.set_refusal_reason("not a running task that is not a process yet");
        return base::Error::INVALID_ARGUMENT;
    }
    uint64_t pid = (s->node << 32) | (s->next_serial & kPidSerialMask);
    base::StringView name(parent->name);
    if (!request.data().empty())
        name = base::StringView(reinterpret_cast<const char*>(request.data().data()),
                                request.data().size());
    if (base::Error e = track(index, task, pid, parent->pid, name); e != base::Error::OK) {
        (void)tern_sys_handle_close(task);
        return e;
    }
    ++s->next_serial;
    if (request.handle_count() > 1) {
        proc_signals::set_thread(index, request.take_handle(1));
        // A named Fork is a new program (posix_spawn's image, not a clone): its C
        // library registers an entry of its own.
        if (request.data().empty())
            proc_signals::inherit_entry(index, size_t(parent - s->table));
    }
    out.pid = pid;
    return base::Error::OK;
}

// Exec (servers/proc/exec.cpp): the record goes on in the new task under a new generation,
// so the old task's death notice matches nothing and its end reports no exit. A hook for
// what else a process keeps over exec (process group, session) belongs here.
base::Error on_exec(State* s, proto::Request& request, const proto::Empty&, proto::Empty&,
                    proto::Reply&, proto::PendingReply&) {
    Process* p = by_task_id(request.badge());
    if (!p || p->state != proc::kStateRunning || on_other_node(p->pid)) {
        request.set_refusal_reason("the caller is not a process");
        return base::Error::NOT_OWNER;
    }
    auto taken = proc_exec::take(request, [](uint64_t id) { return by_task_id(id) != nullptr; });
    if (taken.is_error())
        return taken.error();
    proc_exec::NewImage image = taken.value();
    uint32_t index = uint32_t(p - s->table);
    uint32_t generation = p->generation + 1;
    if (int64_t r = tern_sys_object_watch(image.task, s->port,
                                          proto::SlotCookie{index, generation}.value());
        r < 0) {
        proc_exec::discard(image);
        return tern::sys_status(r);
    }
    // The old image's own time stays the process's: it joins the children's, to which
    // the last image's is added at the end (on_exit).
    tern_cpu_times times = {};
    if (tern_sys_cpu_times(p->task, reinterpret_cast<uint64_t>(&times)) == 0) {
        p->user_ns += times.user_ns;
        p->system_ns += times.system_ns;
    }
    (void)tern_sys_handle_close(p->task);
    p->task = image.task;
    p->task_id = image.task_id;
    p->generation = generation;
    // The old image's thread and signal entry went with it; the group and session stay.
    proc_signals::ended(index);
    if (image.thread != TERN_INVALID_HANDLE)
        proc_signals::set_thread(index, image.thread);
    if (!image.name.empty())
        copy_name(*p, image.name);
    return base::Error::OK; // the caller starts the new task's thread
}

// Messages through the port set's members: other nodes' answers, and CPU exceptions.
void on_member_message(void* context, tern_msg& msg, uint32_t key) {
    if (key == kFaultPortKey)
        proc_signals::on_fault(msg);
    else
        on_remote_answer(context, msg, key);
}

void on_event(void* context, const tern_msg& event, uint32_t) {
    auto* s = static_cast<State*>(context);
    if (event.hdr.label != TERN_LABEL_OBJECT_GONE)
        return;
    auto cookie = proto::SlotCookie::from(event.words[0]);
    if (cookie.index == kOwnConsoleCookie) {
        if (cookie.generation == g_own_console_generation)
            own_console_gone();
        return;
    }
    if (cookie.index >= kConsoleCookieBase && cookie.index - kConsoleCookieBase < bus::kMaxNodes) {
        KeptConsole& k = g_consoles[cookie.index - kConsoleCookieBase];
        if (k.node != 0 && k.generation == cookie.generation) {
            (void)tern_sys_handle_close(k.port);
            k = KeptConsole{0, k.generation, TERN_INVALID_HANDLE};
        }
        return;
    }
    if (cookie.index >= proc::kMaxProcesses)
        return;
    Process& p = s->table[cookie.index];
    if (p.used && p.generation == cookie.generation && p.state == proc::kStateRunning)
        on_exit(p, int64_t(event.words[1]));
}

} // namespace

// What signals.cpp sees of the table (signals.h).
namespace proc_signals {

bool view(size_t index, ProcessView& out) {
    if (index >= proc::kMaxProcesses)
        return false;
    const Process& p = g_state.table[index];
    if (!p.used || p.state == kStateStarting)
        return false;
    out.pid = p.pid;
    out.parent = p.parent;
    out.task = p.task;
    out.task_id = p.task_id;
    out.running = p.state == proc::kStateRunning;
    out.name = p.name;
    return true;
}

size_t index_of_pid(uint64_t pid) {
    Process* p = pid ? by_pid(pid) : nullptr;
    return p ? size_t(p - g_state.table) : kNone;
}

size_t index_of_task(uint64_t task_id) {
    Process* p = task_id ? by_task_id(task_id) : nullptr;
    return p ? size_t(p - g_state.table) : kNone;
}

uint64_t init_pid() { return g_state.init_pid; }

void job_changed(size_t index) {
    Process& p = g_state.table[index];
    for (Waiter& w : g_state.waiters) {
        if (!waiter_matches(w, p) || !(w.flags & (proc::kWaitStopped | proc::kWaitContinued)))
            continue;
        proc::WaitResponse out = {p.pid, 0, 0, 0, 0};
        if (!proc_signals::take_report(index, w.flags, false, out.event, out.status))
            continue;
        bool keep = (w.flags & proc::kWaitNoReap) != 0;
        base::Error e = proto::reply_later<proc::Wait>(w.reply, base::Error::OK, out);
        w = Waiter{};
        // A waiter that gave up is skipped: the report is the next one's, or a later Wait's.
        if (e == base::Error::OK && !keep) {
            (void)proc_signals::take_report(index, proc::kWaitStopped | proc::kWaitContinued, true,
                                            out.event, out.status);
            return;
        }
    }
}

uint64_t this_node() { return g_state.node; }

void kill_remote(uint64_t pid, int64_t status, bool descendants) {
    (void)forward_kill(pid, status, descendants ? proc::kKillDescendants : 0, nullptr);
}

} // namespace proc_signals

extern "C" int main(uint64_t) {
    int64_t port = tern_sys_port_create(64);
    if (port < 0) {
        tern::println("proc: cannot create a port: {}", port);
        return 1;
    }
    g_state.port = tern_handle_t(port);
    g_state.node = uint64_t(tern_sys_node_id());
    proto::Server server("proc", g_state.port);
    server.on<proc::Spawn>(&g_state, on_spawn);
    server.on<proc::Wait>(&g_state, on_wait);
    server.on<proc::Kill>(&g_state, on_kill);
    server.on<proc::List>(&g_state, on_list);
    server.on<proc::Adopt>(&g_state, on_adopt);
    server.on<proc::Parent>(&g_state, on_parent);
    server.on<proc::Fork>(&g_state, on_fork);
    proc_signals::serve(server);
    server.on<proc::Exec>(&g_state, on_exec);
    server.on<proc::RemoteSpawn>(&g_state, on_remote_spawn);
    server.on<proc::RemoteWait>(&g_state, on_remote_wait);
    server.on_member(nullptr, on_member_message);
    server.on_event(&g_state, on_event);
    // Other nodes' requests come through the bus on a port of their own, which init hands
    // the network server alone (+bus); RemoteSpawn and RemoteWait are taken only there.
    int64_t bus_port = tern_sys_port_create(64);
    int64_t added = bus_port < 0
                        ? bus_port
                        : tern_sys_port_set_add(g_state.port, tern_handle_t(bus_port), kBusPortKey);
    if (added < 0) {
        tern::println("proc: no port for the bus (other nodes cannot reach this one): {}",
                      base::error_name(tern::sys_status(added)));
        if (bus_port >= 0)
            (void)tern_sys_handle_close(tern_handle_t(bus_port));
    } else {
        g_state.bus_port = tern_handle_t(bus_port);
        server.requests_on_member(kBusPortKey);
    }
    if (base::Error e = proc_signals::init_faults(g_state.port, kFaultPortKey);
        e != base::Error::OK)
        tern::println(
            "proc: no port for CPU exceptions (a fault ends a process, no handler runs): {}",
            base::error_name(e));
    if (auto r = register_name("proc", g_state.port); r.is_error()) {
        tern::println("proc: cannot register: {}", base::error_name(r.error()));
        return 1;
    }
    server.run();
}
