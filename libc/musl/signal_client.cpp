// Tern's musl port: the proc server's signal, group and session calls (signal_client.h).
#include <libc/musl/portable/signals.h>
#include <libc/musl/services.h>
#include <libc/musl/signal_client.h>
#include <stddef.h>
#include <tern/protocols/console.h>
#include <tern/protocols/proc.h>
#include <tern/startup.h>
#include <tern/syscall.h>

namespace proc = tern::proc;

static_assert(sizeof(tern_libc_signal_frame) == sizeof(proc::SignalFrame));
static_assert(offsetof(tern_libc_signal_frame, rflags) == offsetof(proc::SignalFrame, rflags)
              && offsetof(tern_libc_signal_frame, rax) == offsetof(proc::SignalFrame, rax)
              && offsetof(tern_libc_signal_frame, rip) == offsetof(proc::SignalFrame, rip)
              && offsetof(tern_libc_signal_frame, status) == offsetof(proc::SignalFrame, status));
static_assert(TERN_LIBC_SIGNAL_FRAME_RESTORE == proc::kSignalFrameRestore
              && TERN_LIBC_RED_ZONE == proc::kRedZone);
static_assert(TERN_LIBC_SIGNAL_GROUP == proc::kSignalGroup
              && TERN_LIBC_SIGNAL_ALL == proc::kSignalAll
              && TERN_LIBC_SIGNAL_INCLUDE_CALLER == proc::kSignalIncludeCaller
              && TERN_LIBC_SIGNAL_STOP_CALLER == proc::kSignalStop
              && TERN_LIBC_SIGNAL_QUEUE == proc::kSignalQueue
              && TERN_LIBC_JOB_NO_CHILD_STOP == proc::kJobNoChildStop
              && TERN_LIBC_JOB_NO_CHILD_WAIT == proc::kJobNoChildWait
              && TERN_LIBC_SIGNAL_THREAD_ONLY == proc::kSignalThreadOnly
              && TERN_LIBC_SIGNAL_FRAME_THREAD == proc::kSignalFrameThread);
static_assert(TERN_LIBC_WAIT_NOHANG == proc::kWaitNoHang && TERN_LIBC_WAIT_GROUP == proc::kWaitGroup
              && TERN_LIBC_WAIT_STOPPED == proc::kWaitStopped
              && TERN_LIBC_WAIT_CONTINUED == proc::kWaitContinued
              && TERN_LIBC_WAIT_NOREAP == proc::kWaitNoReap
              && TERN_LIBC_WAIT_NOEXITS == proc::kWaitNoExits
              && TERN_LIBC_WAIT_EVENT_EXITED == proc::kWaitEventExited
              && TERN_LIBC_WAIT_EVENT_STOPPED == proc::kWaitEventStopped
              && TERN_LIBC_WAIT_EVENT_CONTINUED == proc::kWaitEventContinued);

namespace {

tern_handle_t server() { return tern::startup_handle(TERN_STARTUP_PROC_SERVER); }

} // namespace

extern "C" {

int64_t tern_libc_proc_signal_entry(uint64_t entry, uint64_t ignored) {
    tern_handle_t s = server();
    if (s == TERN_INVALID_HANDLE)
        return -TERN_NOT_SUPPORTED;
    auto r = tern::proto::call<proc::SignalEntry>(s, {entry, ignored});
    return r.is_error() ? -int64_t(r.error()) : 0;
}

int64_t tern_libc_proc_signal(uint64_t target, uint32_t signo, uint32_t flags, int* caller_too) {
    return tern_libc_proc_sigqueue(target, signo, flags & ~TERN_LIBC_SIGNAL_QUEUE, 0, caller_too);
}

int64_t tern_libc_proc_sigqueue(uint64_t target, uint32_t signo, uint32_t flags, uint64_t value,
                                int* caller_too) {
    tern_handle_t s = server();
    *caller_too = 0;
    if (s == TERN_INVALID_HANDLE)
        return -TERN_NOT_SUPPORTED;
    auto r = tern::proto::call<proc::Signal>(s, {target, signo, flags, value});
    if (r.is_error())
        return -int64_t(r.error());
    *caller_too = r.value().caller_too != 0;
    return 0;
}

int64_t tern_libc_proc_signal_thread(uint32_t thread, uint32_t signo, uint32_t flags, int64_t code,
                                     uint64_t value) {
    tern_handle_t s = server();
    if (s == TERN_INVALID_HANDLE) {
        if (thread != TERN_INVALID_HANDLE)
            (void)tern_sys_handle_close(thread);
        return -TERN_NOT_SUPPORTED;
    }
    tern::proto::CallParts parts;
    tern_handle_t handles[1] = {thread};
    if (thread != TERN_INVALID_HANDLE)
        parts.in_handles = {handles, 1};
    auto r = tern::proto::call<proc::SignalThread>(s, {signo, flags, code, value}, parts);
    return r.is_error() ? -int64_t(r.error()) : 0;
}

int64_t tern_libc_proc_wait_job(uint64_t pid, uint32_t flags, uint64_t* which, int64_t* status,
                                uint32_t* event, uint64_t times_ns[2]) {
    tern_handle_t s = server();
    if (s == TERN_INVALID_HANDLE)
        return -TERN_NOT_FOUND;
    for (;;) {
        auto r = tern::proto::call<proc::Wait>(s, {pid, flags});
        // proc answers its oldest parked wait TIMED_OUT to make room for a new one.
        if (r.is_error() && r.error() == base::Error::TIMED_OUT)
            continue;
        if (r.is_error())
            return -int64_t(r.error());
        *which = r.value().pid;
        *status = r.value().status;
        *event = r.value().event;
        times_ns[0] = r.value().user_ns;
        times_ns[1] = r.value().system_ns;
        return 0;
    }
}

int64_t tern_libc_proc_setpgid(uint64_t pid, uint64_t pgid) {
    tern_handle_t s = server();
    if (s == TERN_INVALID_HANDLE)
        return -TERN_NOT_SUPPORTED;
    auto r = tern::proto::call<proc::SetPgid>(s, {pid, pgid});
    return r.is_error() ? -int64_t(r.error()) : 0;
}

int64_t tern_libc_proc_getpgid(uint64_t pid, uint64_t* pgid, uint64_t* sid) {
    tern_handle_t s = server();
    if (s == TERN_INVALID_HANDLE)
        return -TERN_NOT_SUPPORTED;
    auto r = tern::proto::call<proc::GetPgid>(s, {pid, 0});
    if (r.is_error())
        return -int64_t(r.error());
    *pgid = r.value().pgid;
    *sid = r.value().sid;
    return 0;
}

int64_t tern_libc_proc_setsid(uint64_t* sid) {
    tern_handle_t s = server();
    if (s == TERN_INVALID_HANDLE)
        return -TERN_NOT_SUPPORTED;
    auto r = tern::proto::call<proc::SetSid>(s, {});
    if (r.is_error())
        return -int64_t(r.error());
    *sid = r.value().sid;
    return 0;
}

int64_t tern_libc_console_set_foreground_group(uint64_t pgid) {
    tern_handle_t console = tern_libc_console_port();
    if (console == TERN_INVALID_HANDLE)
        return -TERN_NOT_SUPPORTED;
    auto r = tern::proto::call<tern::console::SetForegroundGroup>(console, {pgid});
    return r.is_error() ? -int64_t(r.error()) : 0;
}

int64_t tern_libc_console_foreground(uint64_t* pgid) {
    tern_handle_t console = tern_libc_console_port();
    if (console == TERN_INVALID_HANDLE)
        return -TERN_NOT_SUPPORTED;
    auto r = tern::proto::call<tern::console::GetForeground>(console, {});
    if (r.is_error())
        return -int64_t(r.error());
    *pgid = r.value().pgid;
    return 0;
}

} // extern "C"
