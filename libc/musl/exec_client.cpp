// Tern's musl port: the native half of execve (backend_exec.c): the new image is loaded
// into a task of this process's making with the native runtime's spawn_image, and proc
// moves the process onto it (proc Exec, tern/protocols/proc.h).
#include <base/span.h>
#include <base/string_view.h>
#include <lib/elf.h>
#include <libc/musl/exec_client.h>
#include <libc/musl/portable/translate.h>
#include <libc/musl/services.h>
#include <tern/abi/startup.h>
#include <tern/protocols/proc.h>
#include <tern/services.h>
#include <tern/spawn.h>
#include <tern/startup.h>
#include <tern/syscall.h>

namespace {

constexpr uint64_t kPage = 4096;

int64_t linux_error(base::Error e) { return -tern_libc_errno_from_status(int32_t(e)); }

} // namespace

extern "C" {

int tern_libc_exec_check_image(const void* image, uint64_t size) {
    elf::LoadLimits limits;
    limits.user_end = TERN_STARTUP_STACK_TOP - TERN_STARTUP_STACK_SIZE - kPage;
    elf::LoadPlan plan;
    auto r = elf::parse({static_cast<const uint8_t*>(image), size}, limits, plan);
    return r.is_error() ? -TERN_LINUX_ENOEXEC : 0;
}

int64_t tern_libc_exec_build(const struct tern_libc_exec_image* image, const char* name,
                             const char* const* argv, const char* const* envp, uint64_t pid,
                             uint64_t state_size, struct tern_libc_exec_child* child) {
    *child = {};
    tern_handle_t proc = tern::startup_handle(TERN_STARTUP_PROC_SERVER);
    if (proc == TERN_INVALID_HANDLE)
        return -TERN_LINUX_ENOSYS; // no proc server (a boot module) to keep the pid
    uint64_t map_size = (state_size + kPage - 1) & ~(kPage - 1);
    struct tern_libc_shared_memory state;
    if (int r = tern_libc_memory_share(map_size, &state); r != 0)
        return r;
    tern::SpawnOptions options;
    options.name = base::StringView(name);
    options.argv = argv;
    options.envp = envp;
    options.pid = pid;
    options.start_stopped = true;
    if (image->memory != 0) {
        options.image_memory = image->memory;
        options.image_offset = image->memory_offset;
    }
    constexpr tern_rights_t kForward = TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER | TERN_RIGHT_DUPLICATE;
    if (tern::name_server() != TERN_INVALID_HANDLE)
        options.handles[options.handle_count++] = {TERN_STARTUP_NAME_SERVER, tern::name_server(),
                                                   kForward};
    options.handles[options.handle_count++] = {TERN_STARTUP_PROC_SERVER, proc, kForward};
    uint32_t console = tern_libc_console_port();
    if (console != TERN_INVALID_HANDLE)
        options.handles[options.handle_count++] = {TERN_STARTUP_CONSOLE, console, kForward};
    options.handles[options.handle_count++] = {TERN_STARTUP_EXEC_STATE, state.handle,
                                               TERN_RIGHT_MAP | TERN_RIGHT_READ};
    auto spawned =
        tern::spawn_image({static_cast<const uint8_t*>(image->data), image->size}, options);
    if (spawned.is_error()) {
        tern_libc_memory_unshare(&state);
        base::Error e = spawned.error();
        if (e == base::Error::TOO_BIG)
            return -TERN_LINUX_E2BIG;
        if (e == base::Error::CORRUPT || e == base::Error::NOT_SUPPORTED
            || e == base::Error::OUT_OF_RANGE || e == base::Error::INVALID_ARGUMENT)
            return -TERN_LINUX_ENOEXEC;
        if (e == base::Error::QUOTA_EXCEEDED)
            return -TERN_LINUX_ENOMEM;
        return linux_error(e);
    }
    child->task = spawned.value().task;
    child->thread = spawned.value().thread;
    child->state_address = state.address;
    child->state_size = map_size;
    child->state_memory = state.handle;
    return 0;
}

void tern_libc_exec_discard(struct tern_libc_exec_child* child) {
    if (child->task != 0) {
        (void)tern_sys_task_kill(child->task, uint64_t(-1));
        (void)tern_sys_handle_close(child->task);
    }
    if (child->thread != 0)
        (void)tern_sys_handle_close(child->thread);
    if (child->state_address != 0) {
        struct tern_libc_shared_memory state = {child->state_address, child->state_size,
                                                child->state_memory};
        tern_libc_memory_unshare(&state);
    }
    *child = {};
}

int64_t tern_libc_exec_give(const struct tern_libc_exec_child* child, uint32_t handle,
                            uint32_t rights) {
    int64_t r = tern_sys_task_give_handle(child->task, handle, rights);
    return r < 0 ? linux_error(base::Error(-r)) : r;
}

} // extern "C"

namespace {

// Hands the child's task and thread (duplicates: this process keeps its own, to end the
// task on failure) to proc with the program's name, as Op (Exec or Fork); proc keeps the
// thread to deliver the process's signals. Its answer, or a negated errno.
template<typename Op>
base::Result<typename Op::Response> hand_to_proc(const struct tern_libc_exec_child* child,
                                                 const char* name, int64_t* error) {
    tern_handle_t proc = tern::startup_handle(TERN_STARTUP_PROC_SERVER);
    int64_t task = tern_sys_handle_duplicate(child->task, TERN_RIGHTS_SAME);
    if (task < 0) {
        *error = linux_error(base::Error(-task));
        return base::Error(-task);
    }
    int64_t thread = tern_sys_handle_duplicate(child->thread, TERN_RIGHTS_SAME);
    if (thread < 0) {
        (void)tern_sys_handle_close(tern_handle_t(task));
        *error = linux_error(base::Error(-thread));
        return base::Error(-thread);
    }
    tern_handle_t handles[2] = {tern_handle_t(task), tern_handle_t(thread)};
    base::StringView program(name);
    tern::proto::CallParts parts;
    parts.in_handles = {handles, 2};
    parts.in_data = {reinterpret_cast<const uint8_t*>(program.data()),
                     program.size() < 31 ? program.size() : 31};
    auto r = tern::proto::call<Op>(proc, {}, parts);
    if (r.is_error()) {
        (void)tern_sys_handle_close(handles[0]);
        (void)tern_sys_handle_close(handles[1]);
        base::Error e = r.error();
        *error = e == base::Error::NO_MEMORY || e == base::Error::QUOTA_EXCEEDED
                     ? -TERN_LINUX_ENOMEM
                     : -TERN_LINUX_EAGAIN;
    }
    return r;
}

} // namespace

extern "C" {

int64_t tern_libc_exec_commit(struct tern_libc_exec_child* child, const char* name) {
    int64_t error = 0;
    auto r = hand_to_proc<tern::proc::Exec>(child, name, &error);
    return r.is_error() ? error : 0;
}

int64_t tern_libc_exec_adopt(struct tern_libc_exec_child* child, const char* name, uint64_t* pid) {
    int64_t error = 0;
    auto r = hand_to_proc<tern::proc::Fork>(child, name, &error);
    if (r.is_error())
        return error;
    *pid = r.value().pid;
    return 0;
}

int64_t tern_libc_exec_start(struct tern_libc_exec_child* child) {
    int64_t r = tern_sys_thread_resume(child->thread);
    if (r < 0)
        return linux_error(base::Error(-r));
    (void)tern_sys_handle_close(child->thread);
    (void)tern_sys_handle_close(child->task);
    struct tern_libc_shared_memory state = {child->state_address, child->state_size,
                                            child->state_memory};
    tern_libc_memory_unshare(&state);
    *child = {};
    return 0;
}

uint32_t tern_libc_exec_state_handle(void) { return tern::startup_handle(TERN_STARTUP_EXEC_STATE); }

} // extern "C"
