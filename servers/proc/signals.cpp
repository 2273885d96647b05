// Signals, process groups and sessions in the process server (signals.h; the protocol in
// tern/protocols/proc.h, "Signals").
//
// proc keeps no signal state of a process: dispositions, the mask and the pending set are
// in the process's own memory, where its C library keeps them (so a process can be
// captured whole). What proc knows is who is related to whom (the group and the session),
// the thread to interrupt and the entry its C library registered, and whether the process
// is stopped (job control), with the stop or continue its parent has not been told of yet.
// Delivering a signal is what a kernel would do, from user space with task control: stop
// the thread, read its registers, write a frame below its red zone, resume it at the
// entry. Stopping a process is the same first step, without the resume.
#include "signals.h"

#include <base/utility.h>
#include <tern/abi/errors.h>
#include <tern/abi/task.h>
#include <tern/print.h>
#include <tern/protocols/proc.h>
#include <tern/syscall_result.h>

using namespace tern;

namespace proc_signals {
namespace {

constexpr uint64_t kPidSerialMask = 0xFFFFFFFFull;
constexpr uint64_t kFirstSerial = 16; // below: init and the core servers (main.cpp)
constexpr uint64_t kStopTimeoutNs = 1000000000ull;
constexpr uint64_t kUserTop = 0x0000800000000000ull;

// Linux's numbers: what the C library and programs use.
constexpr uint32_t kSigHup = 1, kSigKill = 9, kSigSegv = 11, kSigChld = 17, kSigCont = 18,
                   kSigStop = 19, kSigTstp = 20, kSigTtin = 21, kSigTtou = 22, kSigUrg = 23,
                   kSigWinch = 28;
constexpr int64_t kSiUser = 0, kSiQueue = -1, kSiKernel = 0x80, kCldExited = 1, kCldStopped = 5,
                  kCldContinued = 6;

struct Record {
    uint64_t pgid = 0;
    uint64_t sid = 0;
    tern_handle_t thread = TERN_INVALID_HANDLE;
    uint64_t entry = 0;
    uint64_t ignored = 0; // address of the process's mask of ignored signals, then its job word
    // Job control: stopped by stop_signo; report is the stop or continue (a
    // proc::kWaitEvent*) its parent's Wait has not taken yet, 0 for none.
    bool stopped = false;
    uint32_t stop_signo = 0;
    uint32_t report = 0;
};

Record g_records[proc::kMaxProcesses];
// Processes stopped now: while there are none, an exit costs no orphaned-group check.
size_t g_stopped_count = 0;
// Processes with an entry: while there are none (native programs only), an ending child
// costs its parent's lookup nothing.
size_t g_with_entry = 0;

void set_entry(Record& r, uint64_t entry, uint64_t ignored) {
    if ((r.entry != 0) != (entry != 0))
        entry != 0 ? ++g_with_entry : --g_with_entry;
    r.entry = entry;
    r.ignored = ignored;
}

bool privileged(uint64_t pid) {
    return (pid & kPidSerialMask) < kFirstSerial && (pid >> 32) == this_node();
}

void close_thread(Record& r) {
    if (r.thread != TERN_INVALID_HANDLE)
        (void)tern_sys_handle_close(r.thread);
    r.thread = TERN_INVALID_HANDLE;
}

// The action of a signal nobody catches: 1 ends the process, 0 does nothing, -1 stops it.
int default_action(uint32_t signo) {
    switch (signo) {
    case kSigChld:
    case kSigCont:
    case kSigUrg:
    case kSigWinch:
        return 0;
    case kSigStop:
    case kSigTstp:
    case kSigTtin:
    case kSigTtou:
        return -1;
    default:
        return 1;
    }
}

int64_t ending_status(uint32_t signo) { return signo <= 31 ? 128 + signo : 128 + kSigKill; }

bool is_stop(uint32_t signo) {
    return signo == kSigStop || signo == kSigTstp || signo == kSigTtin || signo == kSigTtou;
}

bool has(uint64_t mask, uint32_t signo) { return (mask >> (signo - 1)) & 1; }

// The process's mask of ignored signals and its job word (proc.h, SignalEntry); false
// (both 0) when its C library gave none or they cannot be read.
bool read_words(const Record& r, tern_handle_t task, uint64_t (&words)[2]) {
    words[0] = words[1] = 0;
    if (r.entry == 0 || r.ignored == 0)
        return false;
    if (tern_sys_task_vm_read(task, r.ignored, uint64_t(&words[0]), sizeof(words)) >= 0)
        return true;
    words[0] = words[1] = 0;
    return false;
}

base::Error deliver(size_t index, uint32_t signo, int64_t code, uint64_t sender, int64_t status);

// The process stopped or continued: its parent's Wait may take it, and the parent gets
// SIGCHLD unless it asked not to (SA_NOCLDSTOP).
void tell_parent(size_t index, uint32_t event, uint32_t signo) {
    g_records[index].report = event;
    job_changed(index);
    ProcessView p;
    if (!view(index, p) || (p.parent >> 32) != this_node() || privileged(p.parent))
        return;
    size_t pi = index_of_pid(p.parent);
    ProcessView parent;
    if (pi == kNone || !view(pi, parent) || !parent.running || g_records[pi].entry == 0)
        return; // SIGCHLD's default is to ignore it
    uint64_t words[2];
    if (read_words(g_records[pi], parent.task, words) && (words[1] & proc::kJobNoChildStop))
        return;
    (void)deliver(pi, kSigChld, event == proc::kWaitEventStopped ? kCldStopped : kCldContinued,
                  p.pid, int64_t(signo));
}

// Stops the process's thread and leaves it stopped (a call it was blocked in returns
// INTERRUPTED when it goes on, which its C library restarts).
base::Error stop_process(size_t index, uint32_t signo) {
    Record& r = g_records[index];
    ProcessView p;
    if (!view(index, p) || !p.running || r.stopped)
        return base::Error::OK;
    if (r.thread == TERN_INVALID_HANDLE) {
        tern::println("proc: {} ({:#x}) has no thread proc holds; signal {} cannot stop it", p.name,
                      p.pid, signo);
        return base::Error::OK;
    }
    if (int64_t s = tern_sys_thread_stop(r.thread, kStopTimeoutNs); s < 0) {
        base::Error e = tern::sys_status(s);
        if (e == base::Error::BAD_STATE) // its thread has ended: so is the process, nearly
            return base::Error::OK;
        tern::println("proc: cannot stop {} ({:#x}) for signal {}: {}", p.name, p.pid, signo,
                      base::error_name(e));
        return e;
    }
    r.stopped = true;
    r.stop_signo = signo;
    ++g_stopped_count;
    tell_parent(index, proc::kWaitEventStopped, signo);
    return base::Error::OK;
}

// SIGCONT, whatever the process does with it: a stopped process goes on.
void continue_process(size_t index) {
    Record& r = g_records[index];
    if (!r.stopped)
        return;
    r.stopped = false;
    r.stop_signo = 0;
    --g_stopped_count;
    (void)tern_sys_thread_resume(r.thread);
    tell_parent(index, proc::kWaitEventContinued, kSigCont);
}

// Writes frame `f` (its registers filled in here) below the red zone of the stopped
// `thread` of `task` and points the thread at `entry` with RSP and RDI at the frame.
// BAD_ADDRESS: its stack has no room (nothing was changed).
base::Error push_frame(tern_handle_t task, tern_handle_t thread, uint64_t entry,
                       proc::SignalFrame& f) {
    tern_regs regs;
    TRY(tern::sys_result<void>(tern_sys_thread_get_regs(thread, uint64_t(&regs))));
    if (regs.rsp < 4096 + sizeof(f) + proc::kRedZone || regs.rsp >= kUserTop)
        return base::Error::BAD_ADDRESS;
    uint64_t at = regs.rsp - proc::kRedZone - sizeof(proc::SignalFrame);
    f.rsp = regs.rsp;
    f.rflags = regs.rflags;
    f.r15 = regs.r15;
    f.r14 = regs.r14;
    f.r13 = regs.r13;
    f.r12 = regs.r12;
    f.r11 = regs.r11;
    f.r10 = regs.r10;
    f.r9 = regs.r9;
    f.r8 = regs.r8;
    f.rbp = regs.rbp;
    f.rdi = regs.rdi;
    f.rsi = regs.rsi;
    f.rdx = regs.rdx;
    f.rcx = regs.rcx;
    f.rbx = regs.rbx;
    f.rax = regs.rax;
    f.rip = regs.rip;
    TRY(tern::sys_result<void>(tern_sys_task_vm_write(task, at, uint64_t(&f), sizeof(f))));
    regs.rsp = at;
    regs.rdi = at;
    regs.rip = entry;
    return tern::sys_status(tern_sys_thread_set_regs(thread, uint64_t(&regs)));
}

// Delivers signo to the process in `index` (running, of this node).
base::Error deliver(size_t index, uint32_t signo, int64_t code, uint64_t sender, int64_t status) {
    ProcessView p;
    if (!view(index, p) || !p.running)
        return base::Error::OK; // a zombie takes a signal without effect
    if (signo == 0)
        return base::Error::OK;
    Record& r = g_records[index];
    if (signo == kSigKill) // a stopped process ends too
        return tern::sys_status(tern_sys_task_kill(p.task, uint64_t(ending_status(kSigKill))));
    if (signo == kSigCont)
        continue_process(index);
    uint64_t words[2];
    bool have_words = read_words(r, p.task, words);
    if (is_stop(signo)) {
        // SIGSTOP always stops; the others where the default action applies: a process
        // without an entry, or one whose job word says so (not caught, not blocked).
        if (signo == kSigStop || r.entry == 0 || r.thread == TERN_INVALID_HANDLE
            || has(words[1], signo))
            return stop_process(index, signo);
    }
    if (r.entry == 0 || r.thread == TERN_INVALID_HANDLE) {
        if (default_action(signo) <= 0)
            return base::Error::OK;
        return tern::sys_status(tern_sys_task_kill(p.task, uint64_t(ending_status(signo))));
    }
    // What the process ignores is dropped here, without interrupting it.
    if (have_words && has(words[0], signo))
        return base::Error::OK;
    // A stopped process keeps the frame for when it goes on.
    bool was_stopped = r.stopped;
    if (int64_t s = was_stopped ? 0 : tern_sys_thread_stop(r.thread, kStopTimeoutNs); s < 0) {
        base::Error e = tern::sys_status(s);
        if (e == base::Error::BAD_STATE) // its thread has ended: so is the process, nearly
            return base::Error::OK;
        tern::println("proc: cannot stop {} ({:#x}) for signal {}: {}", p.name, p.pid, signo,
                      base::error_name(e));
        return e;
    }
    proc::SignalFrame f = {};
    f.signo = signo;
    f.code = code;
    f.sender = sender;
    f.status = status;
    base::Error e = push_frame(p.task, r.thread, r.entry, f);
    if (e == base::Error::BAD_ADDRESS) {
        // No room for the frame: as Linux does, the process ends with SIGSEGV.
        tern::println("proc: no stack for signal {} in {} ({:#x}); ending it", signo, p.name,
                      p.pid);
        (void)tern_sys_task_kill(p.task, uint64_t(ending_status(kSigSegv)));
        if (!was_stopped)
            (void)tern_sys_thread_resume(r.thread);
        return base::Error::OK;
    }
    if (!was_stopped)
        (void)tern_sys_thread_resume(r.thread);
    if (e != base::Error::OK)
        tern::println("proc: signal {} to {} ({:#x}): {}", signo, p.name, p.pid,
                      base::error_name(e));
    return e;
}

// Whether the process in `index` is among a Signal's targets.
bool in_group(size_t index, uint64_t pgid) { return g_records[index].pgid == pgid; }

bool group_exists(uint64_t pgid) {
    ProcessView v;
    for (size_t i = 0; i < proc::kMaxProcesses; ++i)
        if (view(i, v) && g_records[i].pgid == pgid)
            return true;
    return false;
}

// Marks the process at `root` and every descendant of it (by the parent links).
void mark_descendants(size_t root, bool* marked) {
    for (size_t i = 0; i < proc::kMaxProcesses; ++i)
        marked[i] = i == root;
    ProcessView v;
    for (bool grew = true; grew;) {
        grew = false;
        for (size_t i = 0; i < proc::kMaxProcesses; ++i) {
            if (marked[i] || !view(i, v))
                continue;
            size_t pi = index_of_pid(v.parent);
            if (pi != kNone && marked[pi] && !privileged(v.pid)) {
                marked[i] = true;
                grew = true;
            }
        }
    }
}

tern_handle_t g_fault_port = TERN_INVALID_HANDLE; // SEND only: what the kernel is given

// A process whose C library takes signals takes its faults too (proc.h, "Faults"): proc
// becomes its task's exception port while it has an entry. Without one (native programs,
// init and the core servers) the kernel ends it at a fault, as before.
void watch_faults(size_t index) {
    ProcessView v;
    if (g_fault_port == TERN_INVALID_HANDLE || !view(index, v) || !v.running || privileged(v.pid)
        || (v.pid >> 32) != this_node())
        return;
    tern_handle_t port = g_records[index].entry != 0 ? g_fault_port : TERN_INVALID_HANDLE;
    if (int64_t r = tern_sys_task_set_exception_port(v.task, port); r < 0)
        tern::println("proc: {} ({:#x}) keeps the kernel's end at a fault: {}", v.name, v.pid,
                      base::error_name(tern::sys_status(r)));
}

base::Error on_entry(void*, proto::Request& request, const proc::SignalEntryRequest& in,
                     proto::Empty&, proto::Reply&, proto::PendingReply&) {
    size_t index = index_of_task(request.badge());
    if (index == kNone) {
        request.set_refusal_reason("the caller is not a process");
        return base::Error::NOT_OWNER;
    }
    if (in.entry >= kUserTop || in.ignored >= kUserTop || in.ignored % 8 != 0) {
        request.set_refusal_reason("an address outside user space");
        return base::Error::INVALID_ARGUMENT;
    }
    if (g_records[index].thread == TERN_INVALID_HANDLE)
        return base::Error::BAD_STATE;
    set_entry(g_records[index], in.entry, in.ignored);
    watch_faults(index);
    return base::Error::OK;
}

base::Error on_signal(void*, proto::Request& request, const proc::SignalRequest& in,
                      proc::SignalResponse& out, proto::Reply&, proto::PendingReply&) {
    if (in.flags == proc::kSignalStop) {
        // The caller's C library takes a stop signal's default action.
        size_t self = index_of_task(request.badge());
        if (self == kNone) {
            request.set_refusal_reason("the caller is not a process");
            return base::Error::NOT_OWNER;
        }
        if (!is_stop(in.signo)) {
            request.set_refusal_reason("not a stop signal");
            return base::Error::INVALID_ARGUMENT;
        }
        out.count = 1;
        return stop_process(self, in.signo);
    }
    uint32_t kind = in.flags & ~(proc::kSignalIncludeCaller | proc::kSignalQueue);
    if (in.signo > proc::kSignalCount
        || (kind & ~(proc::kSignalGroup | proc::kSignalAll | proc::kSignalForeground))
        || __builtin_popcount(kind) > 1) {
        request.set_refusal_reason("a bad signal number or flags");
        return base::Error::INVALID_ARGUMENT;
    }
    size_t caller = index_of_task(request.badge());
    // The caller's own thread is interrupted only when it asks (from a helper thread):
    // otherwise it waits in this very call, and its C library raises the signal itself.
    size_t skip = in.flags & proc::kSignalIncludeCaller ? kNone : caller;
    ProcessView cv;
    uint64_t sender = caller != kNone && view(caller, cv) ? cv.pid : 0;
    int64_t code = in.flags & proc::kSignalForeground ? kSiKernel : kSiUser;
    if (in.flags & proc::kSignalForeground)
        sender = 0;
    // sigqueue: the value travels in the frame's status.
    int64_t value = 0;
    if (in.flags & proc::kSignalQueue) {
        code = kSiQueue;
        value = int64_t(in.value);
    }
    if (kind == 0) {
        uint64_t pid = in.target;
        size_t index = index_of_pid(pid);
        if ((pid >> 32) != this_node() && pid != 0) {
            if (index == kNone)
                return base::Error::NOT_FOUND;
            // A child of this node's running elsewhere: ended through its node's proc.
            if (in.signo == 0 || default_action(in.signo) == 0)
                return base::Error::OK;
            if (default_action(in.signo) < 0)
                return base::Error::NOT_SUPPORTED;
            kill_remote(pid, ending_status(in.signo), false);
            out.count = 1;
            return base::Error::OK;
        }
        if (index == kNone)
            return base::Error::NOT_FOUND;
        if (privileged(pid)) {
            request.set_refusal_reason("init and the core servers take no signals");
            return base::Error::ACCESS_DENIED;
        }
        out.count = 1;
        if (index == skip) {
            out.caller_too = 1;
            return base::Error::OK;
        }
        return deliver(index, in.signo, code, sender, value);
    }
    // Several processes: a group, the foreground, or all.
    static bool marked[proc::kMaxProcesses];
    if (kind & proc::kSignalAll) {
        for (size_t i = 0; i < proc::kMaxProcesses; ++i)
            marked[i] = true;
    } else {
        uint64_t pgid = in.target;
        if (pgid == 0 && caller != kNone)
            pgid = g_records[caller].pgid;
        if ((in.flags & proc::kSignalForeground) && !group_exists(pgid)) {
            size_t root = index_of_pid(pgid);
            if (root == kNone)
                return base::Error::NOT_FOUND;
            mark_descendants(root, marked);
        } else {
            for (size_t i = 0; i < proc::kMaxProcesses; ++i)
                marked[i] = in_group(i, pgid) && pgid != 0;
        }
    }
    uint32_t members = 0, denied = 0;
    ProcessView v;
    for (size_t i = 0; i < proc::kMaxProcesses; ++i) {
        if (!marked[i] || !view(i, v))
            continue;
        // kill(-1) spares init, the core servers and the services init started (the
        // node's servers and the shell): a program cannot take the node down with it.
        if (privileged(v.pid)
            || ((kind & proc::kSignalAll) && (v.parent == init_pid() || v.pid == init_pid()))) {
            ++denied;
            continue;
        }
        if ((v.pid >> 32) != this_node()) {
            if (v.running && in.signo != 0 && default_action(in.signo) > 0)
                kill_remote(v.pid, ending_status(in.signo), (kind & proc::kSignalForeground) != 0);
            ++members;
            continue;
        }
        ++members;
        if (i == skip) {
            if (!(kind & proc::kSignalAll))
                out.caller_too = 1;
            else
                --members; // kill(-1) spares the caller
            continue;
        }
        (void)deliver(i, in.signo, code, sender, value);
    }
    out.count = members;
    if (members == 0)
        return denied ? base::Error::ACCESS_DENIED : base::Error::NOT_FOUND;
    return base::Error::OK;
}

// A signal to one thread of the caller's process (proc.h, SignalThread).
base::Error on_signal_thread(void*, proto::Request& request, const proc::SignalThreadRequest& in,
                             proto::Empty&, proto::Reply&, proto::PendingReply&) {
    size_t caller = index_of_task(request.badge());
    ProcessView p;
    if (caller == kNone || !view(caller, p) || !p.running) {
        request.set_refusal_reason("the caller is not a process");
        return base::Error::NOT_OWNER;
    }
    if (in.signo > proc::kSignalCount || (in.flags & ~proc::kSignalThreadOnly) != 0) {
        request.set_refusal_reason("a signal number over 64 or unknown flags");
        return base::Error::INVALID_ARGUMENT;
    }
    Record& r = g_records[caller];
    if (r.entry == 0) {
        request.set_refusal_reason("the process registered no signal entry");
        return base::Error::BAD_STATE;
    }
    tern_handle_t given = request.take_handle(0);
    struct Closer {
        tern_handle_t h;
        ~Closer() {
            if (h != TERN_INVALID_HANDLE)
                (void)tern_sys_handle_close(h);
        }
    } closer{given};
    tern_handle_t thread = given != TERN_INVALID_HANDLE ? given : r.thread;
    if (thread == TERN_INVALID_HANDLE)
        return base::Error::NOT_FOUND;
    // The process's own thread, stopped by job control, keeps the frame for later.
    bool was_stopped = given == TERN_INVALID_HANDLE && r.stopped;
    if (int64_t s = was_stopped ? 0 : tern_sys_thread_stop(thread, kStopTimeoutNs); s < 0) {
        base::Error e = tern::sys_status(s);
        if (e == base::Error::BAD_STATE) // the thread has ended
            return base::Error::NOT_FOUND;
        if (e == base::Error::WRONG_TYPE || e == base::Error::ACCESS_DENIED) {
            request.set_refusal_reason("not a thread handle with CONTROL");
            return base::Error::INVALID_ARGUMENT;
        }
        tern::println("proc: cannot stop a thread of {} ({:#x}) for signal {}: {}", p.name, p.pid,
                      in.signo, base::error_name(e));
        return e;
    }
    proc::SignalFrame f = {};
    f.signo = in.signo | (in.flags & proc::kSignalThreadOnly ? proc::kSignalFrameThread : 0);
    f.code = in.code;
    f.sender = p.pid;
    f.status = int64_t(in.value);
    base::Error e = push_frame(p.task, thread, r.entry, f);
    if (e == base::Error::BAD_ADDRESS) {
        tern::println("proc: no stack for signal {} in a thread of {} ({:#x}); ending it", in.signo,
                      p.name, p.pid);
        (void)tern_sys_task_kill(p.task, uint64_t(ending_status(kSigSegv)));
        e = base::Error::OK;
    }
    if (!was_stopped)
        (void)tern_sys_thread_resume(thread);
    return e;
}

base::Error on_setpgid(void*, proto::Request& request, const proc::SetPgidRequest& in,
                       proto::Empty&, proto::Reply&, proto::PendingReply&) {
    size_t caller = index_of_task(request.badge());
    ProcessView cv;
    if (caller == kNone || !view(caller, cv)) {
        request.set_refusal_reason("the caller is not a process");
        return base::Error::NOT_OWNER;
    }
    uint64_t pid = in.pid ? in.pid : cv.pid;
    uint64_t pgid = in.pgid ? in.pgid : pid;
    size_t index = index_of_pid(pid);
    ProcessView v;
    if (index == kNone || !view(index, v) || !v.running || (index != caller && v.parent != cv.pid))
        return base::Error::NOT_FOUND;
    Record& r = g_records[index];
    const Record& c = g_records[caller];
    // A session leader stays in its group; a child of another session cannot be moved.
    if (r.sid == v.pid || r.sid != c.sid) {
        request.set_refusal_reason("a session leader, or a child of another session");
        return base::Error::ACCESS_DENIED;
    }
    if (pgid != pid) {
        // Only into a group of the same session that exists.
        bool found = false;
        ProcessView m;
        for (size_t i = 0; i < proc::kMaxProcesses && !found; ++i)
            found = view(i, m) && g_records[i].pgid == pgid && g_records[i].sid == c.sid;
        if (!found) {
            request.set_refusal_reason("no such group in the session");
            return base::Error::ACCESS_DENIED;
        }
    }
    r.pgid = pgid;
    return base::Error::OK;
}

base::Error on_getpgid(void*, proto::Request& request, const proc::GetPgidRequest& in,
                       proc::GetPgidResponse& out, proto::Reply&, proto::PendingReply&) {
    size_t index =
        in.pid ? index_of_pid(in.pid) : index_of_task(in.task_id ? in.task_id : request.badge());
    ProcessView v;
    if (index == kNone || !view(index, v))
        return base::Error::NOT_FOUND;
    out.pid = v.pid;
    out.pgid = g_records[index].pgid;
    out.sid = g_records[index].sid;
    return base::Error::OK;
}

base::Error on_setsid(void*, proto::Request& request, const proto::Empty&,
                      proc::GetPgidResponse& out, proto::Reply&, proto::PendingReply&) {
    size_t caller = index_of_task(request.badge());
    ProcessView cv;
    if (caller == kNone || !view(caller, cv)) {
        request.set_refusal_reason("the caller is not a process");
        return base::Error::NOT_OWNER;
    }
    if (group_exists(cv.pid))
        return base::Error::ACCESS_DENIED; // it leads a group already (Linux's EPERM)
    g_records[caller].pgid = cv.pid;
    g_records[caller].sid = cv.pid;
    out = {cv.pid, cv.pid, cv.pid};
    return base::Error::OK;
}

} // namespace

void track(size_t index, uint64_t parent) {
    Record& r = g_records[index];
    if (r.stopped)
        --g_stopped_count;
    close_thread(r);
    set_entry(r, 0, 0);
    r = Record{};
    ProcessView v;
    (void)view(index, v);
    size_t pi = parent && parent != init_pid() && (parent >> 32) == this_node()
                    ? index_of_pid(parent)
                    : kNone;
    if (pi != kNone) {
        r.pgid = g_records[pi].pgid;
        r.sid = g_records[pi].sid;
    } else {
        r.pgid = v.pid;
        r.sid = v.pid;
    }
}

void lead_group(size_t index) {
    ProcessView v;
    if (view(index, v))
        g_records[index].pgid = v.pid;
}

void set_thread(size_t index, tern_handle_t thread) {
    close_thread(g_records[index]);
    g_records[index].thread = thread;
}

void inherit_entry(size_t index, size_t parent_index) {
    set_entry(g_records[index], g_records[parent_index].entry, g_records[parent_index].ignored);
    watch_faults(index);
}

void ended(size_t index) {
    close_thread(g_records[index]);
    set_entry(g_records[index], 0, 0);
    if (g_records[index].stopped)
        --g_stopped_count;
    g_records[index].stopped = false;
    g_records[index].stop_signo = 0;
    g_records[index].report = 0;
}

void forget(size_t index) {
    if (g_records[index].stopped)
        --g_stopped_count;
    close_thread(g_records[index]);
    set_entry(g_records[index], 0, 0);
    g_records[index] = Record{};
}

bool discards_children(uint64_t parent) {
    if (g_with_entry == 0 || (parent >> 32) != this_node() || privileged(parent))
        return false;
    size_t index = index_of_pid(parent);
    ProcessView p;
    if (index == kNone || !view(index, p) || !p.running || g_records[index].entry == 0)
        return false;
    uint64_t words[2];
    return read_words(g_records[index], p.task, words) && (words[1] & proc::kJobNoChildWait);
}

void child_ended(uint64_t parent, uint64_t child, int64_t status) {
    if (g_with_entry == 0 || (parent >> 32) != this_node() || privileged(parent))
        return;
    size_t index = index_of_pid(parent);
    if (index == kNone || (parent >> 32) != this_node() || privileged(parent))
        return;
    // Default: ignored; so only a process whose C library takes signals sees it.
    if (g_records[index].entry == 0)
        return;
    (void)deliver(index, kSigChld, kCldExited, child, status);
}

uint64_t pgid_of(size_t index) { return index < proc::kMaxProcesses ? g_records[index].pgid : 0; }

namespace {

// POSIX's orphaned group: no member has a parent in another group of the same session
// (a parent that ended counts as outside). When such a group has a stopped member, every
// member gets SIGHUP and then SIGCONT, so nothing stays stopped with nobody to continue it.
void hang_up_if_orphaned(uint64_t pgid) {
    bool stopped = false;
    ProcessView v, pv;
    for (size_t i = 0; i < proc::kMaxProcesses; ++i) {
        if (g_records[i].pgid != pgid || !view(i, v) || !v.running)
            continue;
        stopped |= g_records[i].stopped;
        size_t pi = index_of_pid(v.parent);
        if (pi != kNone && view(pi, pv) && pv.running && g_records[pi].pgid != pgid
            && g_records[pi].sid == g_records[i].sid)
            return; // a parent in the session that can continue it
    }
    if (!stopped)
        return;
    for (size_t i = 0; i < proc::kMaxProcesses; ++i) {
        if (g_records[i].pgid != pgid || !view(i, v) || !v.running || privileged(v.pid))
            continue;
        (void)deliver(i, kSigHup, kSiKernel, 0, 0);
        (void)deliver(i, kSigCont, kSiKernel, 0, 0);
    }
}

} // namespace

void orphaned_groups(uint64_t ended_pid, uint64_t ended_pgid) {
    if (g_stopped_count == 0 || (ended_pid >> 32) != this_node())
        return;
    // The groups the end may have orphaned: its own, and those of its children.
    if (ended_pgid != 0)
        hang_up_if_orphaned(ended_pgid);
    ProcessView v;
    for (size_t i = 0; i < proc::kMaxProcesses && g_stopped_count != 0; ++i)
        if (view(i, v) && v.running && v.parent == ended_pid && g_records[i].pgid != ended_pgid
            && g_records[i].pgid != 0)
            hang_up_if_orphaned(g_records[i].pgid);
}

bool take_report(size_t index, uint32_t flags, bool consume, uint32_t& event, int64_t& status) {
    Record& r = g_records[index];
    if (r.report == proc::kWaitEventStopped && r.stopped && (flags & proc::kWaitStopped)) {
        event = r.report;
        status = int64_t(r.stop_signo);
    } else if (r.report == proc::kWaitEventContinued && (flags & proc::kWaitContinued)) {
        event = r.report;
        status = int64_t(kSigCont);
    } else {
        return false;
    }
    if (consume)
        r.report = 0;
    return true;
}

namespace {

const char* vector_name(uint64_t vector) {
    switch (vector) {
    case 0:
        return "divide error";
    case 3:
        return "breakpoint";
    case 6:
        return "invalid opcode";
    case 13:
        return "general protection fault";
    case 14:
        return "page fault";
    case 17:
        return "alignment check";
    default:
        return "CPU exception";
    }
}

constexpr uint64_t kVecPageFault = 14;

// Whether `address` is inside one of the task's regions.
bool in_mapping(tern_handle_t task, uint64_t address) {
    static tern_mapping mappings[256];
    int64_t n = tern_sys_task_mappings(task, uint64_t(&mappings[0]), 256);
    for (int64_t i = 0; i < n && i < 256; ++i)
        if (address >= mappings[i].start && address < mappings[i].end)
            return true;
    return false;
}

} // namespace

base::Error init_faults(tern_handle_t server_port, uint32_t key) {
    int64_t port = tern_sys_port_create(64);
    if (port < 0)
        return tern::sys_status(port);
    if (int64_t r = tern_sys_port_set_add(server_port, tern_handle_t(port), key); r < 0) {
        (void)tern_sys_handle_close(tern_handle_t(port));
        return tern::sys_status(r);
    }
    int64_t send = tern_sys_handle_duplicate(tern_handle_t(port), TERN_RIGHT_SEND);
    if (send < 0)
        return tern::sys_status(send);
    g_fault_port = tern_handle_t(send);
    return base::Error::OK;
}

void on_fault(tern_msg& msg) {
    tern_handle_t thread = msg.hdr.handle_count ? msg.handles[0] : TERN_INVALID_HANDLE;
    for (uint32_t i = 1; i < msg.hdr.handle_count; ++i)
        (void)tern_sys_handle_close(msg.handles[i]);
    if (msg.reply_handle != TERN_INVALID_HANDLE)
        (void)tern_sys_handle_close(msg.reply_handle);
    struct Closer {
        tern_handle_t h;
        ~Closer() {
            if (h != TERN_INVALID_HANDLE)
                (void)tern_sys_handle_close(h);
        }
    } closer{thread};
    if (msg.hdr.label != TERN_LABEL_EXCEPTION || thread == TERN_INVALID_HANDLE)
        return;
    uint64_t vector = msg.words[0], error = msg.words[1], rip = msg.words[2],
             address = msg.words[3];
    size_t index = index_of_task(msg.hdr.sender_badge);
    ProcessView p;
    if (index == kNone || !view(index, p) || !p.running || p.task_id != msg.hdr.sender_badge) {
        // An image an exec replaced, ending anyway: its thread stays stopped until then.
        return;
    }
    Record& r = g_records[index];
    int64_t fault_status = int64_t(TERN_EXIT_FAULT_BASE + vector);
    if (r.entry != 0) {
        // A page that is not there inside a region (PROT_NONE, a guard page) is an
        // access the region refuses, which Linux reports as SEGV_ACCERR: bit 0 says so.
        if (vector == kVecPageFault && !(error & 1) && in_mapping(p.task, address))
            error |= 1;
        proc::SignalFrame f = {};
        f.fault = 1 + vector;
        f.code = int64_t(error);
        f.sender = address;
        f.status = int64_t(rip);
        base::Error e = push_frame(p.task, thread, r.entry, f);
        if (e == base::Error::OK) {
            (void)tern_sys_thread_resume(thread);
            return;
        }
        // Not stopped any more: a signal's delivery (which found it stopped) resumed it
        // meanwhile, at the entry; it will retry the instruction and report it again.
        if (e == base::Error::BAD_STATE)
            return;
        tern::println("proc: no stack for the {} of {} ({:#x}) at rip {:#x}; ending it",
                      vector_name(vector), p.name, p.pid, rip);
        if (e == base::Error::BAD_ADDRESS)
            fault_status = ending_status(kSigSegv);
    } else {
        tern::println("proc: {} ({:#x}): {} at rip {:#x} (address {:#x}, error {:#x})", p.name,
                      p.pid, vector_name(vector), rip, address, error);
    }
    (void)tern_sys_task_kill(p.task, uint64_t(fault_status));
}

void serve(proto::Server& server) {
    server.on<proc::SignalEntry>(static_cast<void*>(nullptr), on_entry);
    server.on<proc::Signal>(static_cast<void*>(nullptr), on_signal);
    server.on<proc::SignalThread>(static_cast<void*>(nullptr), on_signal_thread);
    server.on<proc::SetPgid>(static_cast<void*>(nullptr), on_setpgid);
    server.on<proc::GetPgid>(static_cast<void*>(nullptr), on_getpgid);
    server.on<proc::SetSid>(static_cast<void*>(nullptr), on_setsid);
}

} // namespace proc_signals
