#pragma once
// The process server's protocol: spawn, wait, kill, list. Process ids are global:
// home node << 32 | serial (docs/design.md section 3).
#include <stdint.h>
#include <tern/protocol.h>

namespace tern::proc {

inline constexpr uint32_t kMaxSpawnData = 8192;
inline constexpr uint32_t kMaxProcesses = 256;
// Exit status of a process ended by Ctrl-C (SIGINT's default action), as a POSIX shell
// reports SIGINT.
inline constexpr int64_t kInterruptedStatus = 130;
// Exit status of a process ended by Kill without a status of its own (SIGTERM's).
inline constexpr int64_t kKilledStatus = 143;

// The reply carries a handle to the new task (TRANSFER, DUPLICATE: enough to watch it
// with object_watch, not to control it). init uses it to restart services.
inline constexpr uint32_t kSpawnReturnTask = 1;
// The child's console (TERN_STARTUP_CONSOLE) is the console server of the caller's node,
// wherever the child runs: on this node it finds it by name anyway; on another node it
// gets a proxy for it that that node's proc keeps for every child from this node, so
// starting many programs elsewhere costs the bus one proxy, not one each. A request
// handle of kind TERN_STARTUP_CONSOLE beside it is INVALID_ARGUMENT.
inline constexpr uint32_t kSpawnConsoleHere = 2;
// The child gets proc's port for the bus (TERN_STARTUP_PROC_BUS), through which proc
// takes RemoteSpawn and RemoteWait. Only init may ask (ACCESS_DENIED otherwise), for a
// service init.conf marks +bus: the network server.
inline constexpr uint32_t kSpawnBusPort = 4;
// The child leads a new process group in the caller's session (a job of a shell), instead
// of joining the caller's group; on another node it leads one anyway.
inline constexpr uint32_t kSpawnNewGroup = 8;
inline constexpr uint32_t kMaxSpawnHandles = 4;
struct SpawnRequest {
    uint32_t argc;  // strings after the path
    uint32_t envc;  // strings after the arguments
    uint32_t flags; // kSpawnReturnTask, kSpawnConsoleHere, kSpawnBusPort, kSpawnNewGroup
    // The startup kind (TERN_STARTUP_*) of each request handle, which the child gets.
    uint32_t handle_kinds[kMaxSpawnHandles];
    // The node to start it on: 0 or this node's id for here, else another member of the
    // cluster, whose proc starts it (RemoteSpawn below).
    uint32_t node;
};
struct SpawnResponse {
    uint64_t pid;
};
// data = path, argv[0..argc), envp[0..envc), each NUL-terminated; handles = up to
// kMaxSpawnHandles handles for the child's startup block (kinds in handle_kinds). A path
// without '/' is looked up in /bin. NOT_FOUND (no such program), CORRUPT or NOT_SUPPORTED
// (not a program Tern can run), INVALID_ARGUMENT (badly packed data, a startup kind the
// system sets itself), TOO_BIG (more than 256 arguments or environment entries), NO_SPACE
// (process table full). A child of init is a service: proc vouches for it with the name
// server (name::Trust) before it runs, so it may register a system name.
//
// With another node in `node`, this node's proc forwards the request to that node's proc
// through the bus (RemoteSpawn) and answers when it has: the pid is then that node's
// (node << 32 | serial), and the request's handles cross as the bus carries them (a port
// becomes a proxy there, so a console handle takes the child's output to the caller's
// console). The caller waits for the child and kills it as for a local one; this proc
// keeps its record. More errors then: OUT_OF_RANGE (node is not a member of the
// cluster, or the bus is off), NODE_DOWN (node is not up, or went down before it
// answered), NOT_OWNER (the caller is not a process), NO_SPACE (this proc's table of
// remote children or calls is full), and the other node's errors (NOT_FOUND: no such
// program there). With kSpawnReturnTask the reply's handle is then no task handle but a
// right to a port of that node's proc (no SEND), which it closes when the child ends,
// seen here through the bus as a proxy: object_watch on it fires when the child ends or its
// node is lost (the notice's words[1] is 0 and words[2] TERN_OBJ_PORT; Wait tells the
// status, or NODE_DOWN). It holds one of the bus's proxies until then.
using Spawn = proto::Op<1, SpawnRequest, SpawnResponse,
                        proto::Limits{.request_data = kMaxSpawnData,
                                      .request_handles = kMaxSpawnHandles,
                                      .response_handles = 1}>;

inline constexpr uint32_t kWaitNoHang = 1;
// pid is a process group (0: the caller's): any child of the caller in it.
inline constexpr uint32_t kWaitGroup = 2;
// Job control (wait4's WUNTRACED and WCONTINUED): a child that stopped, or continued,
// since its last report answers too, once per stop or continue (event below).
inline constexpr uint32_t kWaitStopped = 4;
inline constexpr uint32_t kWaitContinued = 8;
// waitid's WNOWAIT: the child is reported and left as it was (a zombie stays, a stop or
// continue stays to report again).
inline constexpr uint32_t kWaitNoReap = 16;
// waitid without WEXITED: a child that ended is not reported (only stops and continues).
inline constexpr uint32_t kWaitNoExits = 32;
struct WaitRequest {
    uint64_t pid; // a child of the caller
    uint32_t flags;
};
// WaitResponse.event: what the answer reports.
inline constexpr uint32_t kWaitEventExited = 0;
inline constexpr uint32_t kWaitEventStopped = 1;   // status: the stop signal
inline constexpr uint32_t kWaitEventContinued = 2; // status: SIGCONT (18)
struct WaitResponse {
    uint64_t pid;
    int64_t status; // as the program exited, or 256 + vector after a CPU fault
    uint32_t event;
    // kWaitEventExited: the processor time of the child (every thread it had, cpu_times)
    // and of the children it reaped itself, theirs included: getrusage's RUSAGE_CHILDREN.
    uint64_t user_ns;
    uint64_t system_ns;
};
// Waits for a child of the caller to end and reaps it (or, with kWaitStopped or
// kWaitContinued, for one to stop or continue). NOT_FOUND (no such process, or
// another Wait reaped it first), NOT_OWNER (not the caller's child), WOULD_BLOCK
// (kWaitNoHang and still running), TIMED_OUT (64 waits were parked and this, the oldest,
// made room for a new one).
// A child on another node is waited for the same way; its wait fails with NODE_DOWN
// (within the bus's down time) when its node goes down or restarts before it ends.
using Wait = proto::Op<2, WaitRequest, WaitResponse>;

// KillRequest.flags: end every descendant of the process too (all with the same status);
// a process of another node forwards it so.
inline constexpr uint64_t kKillDescendants = 1;
struct KillRequest {
    uint64_t pid;
    int64_t status; // the exit status it ends with, 1..255, or 0 for kKilledStatus
    uint64_t flags; // kKillDescendants or 0; other bits: INVALID_ARGUMENT
};
// Any process may end any other (one user per node today), except: ACCESS_DENIED for init
// and the core servers it started itself (name, bootfs, proc). NOT_FOUND, BAD_STATE
// (already ended), INVALID_ARGUMENT (a status outside 0..255). A killed process never
// ends with status 0: 0 asks for kKilledStatus. A pid of another node is forwarded to
// that node's proc (OUT_OF_RANGE, NODE_DOWN as for Spawn).
using Kill = proto::Op<3, KillRequest, proto::Empty>;

inline constexpr uint32_t kStateRunning = 1;
inline constexpr uint32_t kStateZombie = 2; // ended, not yet waited for
struct ProcessInfo {
    uint64_t pid;
    uint64_t parent;
    int64_t status;
    uint64_t memory_bytes; // resident, from the kernel's mappings
    uint32_t state;
    uint32_t task_id;
    char name[32];
};
struct ListResponse {
    uint32_t count;
};
// reply data: count ProcessInfo records, the processes of this node (a child this node
// started on another node is listed there). `ps -a` asks every node's proc.
using List = proto::Op<4, proto::Empty, ListResponse,
                       proto::Limits{.response_data = kMaxProcesses * sizeof(ProcessInfo)}>;

// init hands over a process it started itself (the servers proc depends on), so the
// process table holds every process: request handles[0] = the task (CONTROL), data = name.
// The first Adopt must be the caller adopting itself, which makes it init; later ones are
// accepted from init only (ACCESS_DENIED). INVALID_ARGUMENT: a pid that is not init's to
// give (another node, a serial of 16 or more, one in use).
struct AdoptRequest {
    uint64_t pid;
};
using Adopt = proto::Op<5, AdoptRequest, proto::Empty,
                        proto::Limits{.request_data = 31, .request_handles = 1}>;

// Who a process's parent is, by pid and by task id (the badge its messages carry): how
// the console checks that only a process's parent makes it the terminal's foreground.
// Also whether the process itself still runs (the C library takes over a shared file
// description's lock from a holder that ended, zombie or reaped). NOT_FOUND: no such
// process.
struct ParentRequest {
    uint64_t pid;
};
struct ParentResponse {
    uint64_t parent;      // the parent's pid
    uint64_t parent_task; // the parent's kernel task id, 0 when it has ended
    uint64_t running;     // 1 while the process itself runs, 0 once it has ended
};
using Parent = proto::Op<6, ParentRequest, ParentResponse>;

// Makes a task the caller made (a copy-on-write clone of itself, task_clone: how the C
// library's fork() works) a process: its child, with a pid of this node, waited for,
// killed and listed exactly like a spawned child, under the caller's name. Request
// handles[0] = the task (CONTROL, READ and DUPLICATE; proc keeps it). The caller starts
// the task's thread once it has the pid. NOT_OWNER (the caller is not a process),
// INVALID_ARGUMENT (no task handle, or a task that is a process already or has ended),
// ACCESS_DENIED (a handle without those rights), NO_SPACE (process table full).
// posix_spawn makes its child the same way from a task it loaded with another program
// (not started yet): data then names that program (for List, at most 31 bytes); without
// data the child is listed under the caller's name.
struct ForkResponse {
    uint64_t pid;
};
// handles[1], when given, is the clone's thread (CONTROL): proc keeps it to deliver
// signals (SignalEntry below), and the child starts with its parent's signal entry,
// unless the request names the child (data: a program's name, posix_spawn's new image,
// which registers an entry of its own).
using Fork = proto::Op<9, proto::Empty, ForkResponse,
                       proto::Limits{.request_data = 31, .request_handles = 2}>;

// ---- Signals, process groups and sessions (servers/proc/signals.cpp) ----------------
//
// proc keeps no signal state of a process (dispositions, mask, pending set: all in the
// process's memory). It knows a process's group and session (pgid and sid, global pids,
// inherited over Fork and Spawn; a child of init starts a session of its own) and where
// its C library takes signals: an entry point, registered with SignalEntry. To deliver
// one, proc stops the process's thread (a blocked call returns INTERRUPTED), reads its
// registers, writes a SignalFrame below the red zone of its stack, and resumes it at the
// entry with RSP and RDI at the frame. The entry restores every register from the frame
// itself (popfq, the general registers, then `ret 128` to the saved RIP). A process
// without an entry (native programs, a C program that never set a handler or a mask)
// gets the default action from proc: terminating signals end it with 128 + N, SIGCHLD,
// SIGCONT, SIGURG and SIGWINCH nothing, stop signals stop it. SIGKILL is never delivered:
// proc ends the process (137), stopped or not.
//
// Stopping is proc's: SIGSTOP, and SIGTSTP, SIGTTIN and SIGTTOU where the process's job
// word (below) says so, stop the process's thread with task control and leave it stopped;
// SIGCONT resumes it whatever its disposition (then the entry takes SIGCONT as any other
// signal). A stopped process keeps the signals sent to it (each a frame on its stack) for
// when it continues. Each stop and continue is reported once to a Wait with kWaitStopped
// or kWaitContinued, and to the parent as SIGCHLD (CLD_STOPPED or CLD_CONTINUED, status the
// signal) unless its job word has kJobNoChildStop.
inline constexpr uint32_t kSignalCount = 64;
inline constexpr uint64_t kRedZone = 128;
struct SignalFrame {
    uint64_t signo;
    int64_t code;    // si_code: SI_USER 0, SI_KERNEL 0x80 (the terminal), CLD_* (SIGCHLD)
    uint64_t sender; // global pid of the sender (SIGCHLD: the child), 0 for the terminal
    int64_t status;  // SIGCHLD: the child's exit status as Wait reports it
    uint64_t rsp;    // the interrupted stack pointer
    // 0 for a signal. For a CPU exception of the thread (below, "Faults"): 1 + the vector,
    // with signo 0, code the error code (a page fault's bit 0 also set when the address is
    // inside a region of the task), sender the faulting address (page faults) and status
    // the faulting RIP; the C library works out the signal and its si_code.
    uint64_t fault;
    // Popped in this order by the entry; rip ends kRedZone + 8 below the interrupted RSP.
    uint64_t rflags;
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t rip;
};
static_assert(sizeof(SignalFrame) == 184);
inline constexpr uint64_t kSignalFrameRestore = 48; // offset of rflags

// Faults: proc is the exception port of every process it tracks (but init and the core
// servers, which the kernel ends at a fault). When a thread raises a CPU exception the
// kernel cannot resolve, proc writes a SignalFrame with `fault` set on that thread's stack
// and resumes it at the entry, which runs the process's handler for the signal (SIGSEGV,
// SIGBUS, SIGILL, SIGFPE, SIGTRAP) or ends the process as Linux would. A process without
// an entry, or whose stack has no room for the frame, ends with 0x100 + the vector as if
// the kernel had ended it (no room: 128 + SIGSEGV).

// The caller's C library takes signals at `entry` (0: it no longer does; proc acts on
// defaults again). `ignored` is the address of a 64-bit mask in its memory of the signals
// it ignores and does not block (bit N - 1 for signal N), which proc reads before it
// interrupts the thread: an ignored signal is dropped there, as Linux drops it when it is
// sent, so it cuts no call short (0: none). The word after it is the job word: bit N - 1
// set for a stop signal N whose action is to stop (its default, not blocked: proc stops the
// process without interrupting it first), kJobNoChildStop for SA_NOCLDSTOP on SIGCHLD, and
// kJobNoChildWait when SIGCHLD is ignored or has SA_NOCLDWAIT: its children then leave no
// zombies (proc reaps each as it ends, and a Wait that no child is left to answer ends
// NOT_FOUND, ECHILD), as POSIX says.
// NOT_OWNER: not a process; INVALID_ARGUMENT: an address outside user space; BAD_STATE:
// proc holds no thread of it (adopted by init).
inline constexpr uint64_t kJobNoChildStop = 1ull << 63;
inline constexpr uint64_t kJobNoChildWait = 1ull << 62;
struct SignalEntryRequest {
    uint64_t entry;
    uint64_t ignored;
};
using SignalEntry = proto::Op<10, SignalEntryRequest, proto::Empty>;

// Sends signal `signo` (1..64; 0 checks only) to a process, a group or every process.
inline constexpr uint32_t kSignalGroup = 1; // target is a pgid (0: the caller's group)
// Every process but init, the core servers, the services init started, and the caller.
inline constexpr uint32_t kSignalAll = 2;
// The terminal's foreground: target's group when it leads one, else target and its
// descendants (a native shell's child); code SI_KERNEL, sender 0.
inline constexpr uint32_t kSignalForeground = 4;
// Beside the others: the caller is a target like any other process (a helper thread of
// its C library asks, for alarm's SIGALRM, and proc interrupts the main thread).
inline constexpr uint32_t kSignalIncludeCaller = 8;
// Alone: the caller's C library takes a stop signal's default action (a stop it raised,
// or one it had blocked): proc stops the caller's process as for that signal from
// outside. target is ignored; INVALID_ARGUMENT unless signo is a stop signal.
inline constexpr uint32_t kSignalStop = 16;
// Beside the others: sigqueue's signal, si_code SI_QUEUE (-1) and `value` (si_value) in
// the frame's status.
inline constexpr uint32_t kSignalQueue = 32;
struct SignalRequest {
    uint64_t target;
    uint32_t signo;
    uint32_t flags;
    uint64_t value = 0; // with kSignalQueue
};
struct SignalResponse {
    uint32_t count;      // processes it went to (the caller included)
    uint32_t caller_too; // the caller is among them: its C library raises it itself
};
// NOT_FOUND (no such process or group), ACCESS_DENIED (init, a core server, or only such
// in the group), INVALID_ARGUMENT (a bad number or flags). A process of another node gets
// a terminating signal as a Kill with 128 + N; other signals to it are NOT_SUPPORTED.
using Signal = proto::Op<11, SignalRequest, SignalResponse>;

// Delivers a signal to one thread of the caller's process (pthread_kill, a signal to the
// process that its C library hands to a thread that does not block it, sigqueue), as
// Signal does to the process's thread: proc stops the thread (a blocked call returns
// INTERRUPTED; one running user code is stopped at its next exit from the kernel, a
// clock tick at most), writes a SignalFrame (signo, code, sender the caller's pid, status
// the value) and resumes it at the caller's entry. handles[0], when given, is the thread
// (CONTROL: the C library has it from thread_spawn; proc checks nothing more, as the
// caller controls that thread already); without it, the thread proc holds for the
// process. signo 0 interrupts the thread with no signal (its C library then looks at
// what is pending for the process). NOT_OWNER (the caller is not a process), BAD_STATE
// (no entry registered), NOT_FOUND (the thread has ended), INVALID_ARGUMENT (signo over
// 64, unknown flags, not a thread handle).
// kSignalThreadOnly: the signal is the thread's (pthread_kill, tgkill): the frame's signo
// has kSignalFrameThread set, and only that thread takes it.
inline constexpr uint32_t kSignalThreadOnly = 1;
inline constexpr uint64_t kSignalFrameThread = 1ull << 32;
struct SignalThreadRequest {
    uint32_t signo;
    uint32_t flags;
    int64_t code;
    uint64_t value;
};
using SignalThread =
    proto::Op<24, SignalThreadRequest, proto::Empty, proto::Limits{.request_handles = 1}>;

// setpgid: pid 0 is the caller, pgid 0 is pid. NOT_FOUND (not the caller or its child),
// ACCESS_DENIED (a session leader, a child of another session, a group of another
// session), INVALID_ARGUMENT.
struct SetPgidRequest {
    uint64_t pid;
    uint64_t pgid;
};
using SetPgid = proto::Op<12, SetPgidRequest, proto::Empty>;

// getpgid and getsid: pid 0 is the caller, or (with pid 0) the process whose task id is
// task_id (how the console checks the caller of a foreground change). NOT_FOUND.
struct GetPgidRequest {
    uint64_t pid;
    uint64_t task_id;
};
struct GetPgidResponse {
    uint64_t pid;
    uint64_t pgid;
    uint64_t sid;
};
using GetPgid = proto::Op<13, GetPgidRequest, GetPgidResponse>;

// setsid: the caller leads a new session and group. ACCESS_DENIED when some process's
// group is the caller's pid already (as Linux's EPERM).
using SetSid = proto::Op<14, proto::Empty, GetPgidResponse>;

// execve: the caller's process goes on in a task the caller made and loaded with the new
// program (task_create, spawn_image), keeping its pid, parent, children and everything
// else proc records. Request handles[0] = the new task (CONTROL, READ and DUPLICATE; proc
// keeps it), its thread not started yet; handles[1], optional = that thread (proc keeps
// it to deliver signals, as for Fork); data = the program's name (for List, at most 31
// bytes). proc puts the new task in the caller's record (watched from now on; the old
// task's end is not reported to the parent). The caller then closes what does not cross
// the exec, starts the new task's thread and ends itself (its end is not an exit of the
// process; a kill meanwhile ends the new task, as the process). NOT_OWNER (the caller is
// not a running process here), INVALID_ARGUMENT (no task, a task that is a process already
// or has ended), ACCESS_DENIED (a handle without those rights). On an error nothing has
// changed.
using Exec = proto::Op<15, proto::Empty, proto::Empty,
                       proto::Limits{.request_data = 31, .request_handles = 2}>;

// ---- Between the proc servers of two nodes (through the bus's root export, serial 2) ----
//
// The bus's root export for proc is proc's port for the bus (TERN_STARTUP_PROC_BUS),
// which only the network server holds; RemoteSpawn and RemoteWait that come any other
// way are ACCESS_DENIED (and logged), so a local program cannot pass itself off as
// another node's proc. The other operations are served on both ports.

// Starts a program here for a parent on another node: the request of Spawn with the
// parent's global pid, which must be of another node (INVALID_ARGUMENT). The child's
// record keeps that parent; its ended state stays until RemoteWait collects it (the
// oldest of more than kMaxUnclaimed such is dropped with a log line).
//
// Consoles: with kRemoteConsoleAttached the last request handle is the console of the
// parent's node, which this proc keeps (one per node, replacing an earlier one, dropped
// when the proxy closes); with it or kRemoteConsoleKept the child gets the kept console
// as TERN_STARTUP_CONSOLE. BAD_STATE: kRemoteConsoleKept and none is kept.
inline constexpr uint32_t kMaxUnclaimed = 32;
inline constexpr uint32_t kRemoteConsoleAttached = 1;
inline constexpr uint32_t kRemoteConsoleKept = 2;
// Beside either (or neither) of those: the answer carries a right to a port this proc
// closes when the child ends (TRANSFER and DUPLICATE only: for watching; kSpawnReturnTask
// across nodes).
inline constexpr uint32_t kRemoteReturnTask = 4;
struct RemoteSpawnRequest {
    uint64_t parent;
    uint32_t argc;
    uint32_t envc;
    uint32_t handle_kinds[kMaxSpawnHandles];
    uint32_t flags; // kRemoteConsole*, kRemoteReturnTask
};
using RemoteSpawn = proto::Op<7, RemoteSpawnRequest, SpawnResponse,
                              proto::Limits{.request_data = kMaxSpawnData,
                                            .request_handles = kMaxSpawnHandles + 1,
                                            .response_handles = 1}>;

// Waits for a process here whose parent is the given pid of another node, and reaps it.
// NOT_FOUND (no such process with that parent), TIMED_OUT (made room for a newer wait;
// the caller asks again), INVALID_ARGUMENT (a parent of this node).
struct RemoteWaitRequest {
    uint64_t parent;
    uint64_t pid;
};
using RemoteWait = proto::Op<8, RemoteWaitRequest, WaitResponse>;

} // namespace tern::proc
