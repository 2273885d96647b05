// Tern's musl port: the startup block and the servers C programs use (see services.h).
// C++ on the native runtime's startup, protocol client and name lookups
// (TERN_NATIVE_SHARED_SOURCES), linked into every C program beside libc.a.

#include <base/assert.h>
#include <libc/musl/include/tern/libc.h>
#include <libc/musl/portable/files.h>
#include <libc/musl/portable/translate.h>
#include <libc/musl/services.h>
#include <tern/protocols/bootfs.h>
#include <tern/protocols/console.h>
#include <tern/protocols/proc.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall.h>

namespace {

// How long the first use of a server waits for its name to be registered. A program the
// proc server starts normally finds the console and bootfs already there; the wait covers
// a system still starting up, and a program without them pays it once, not per call.
constexpr uint64_t kLookupTimeoutNs = 3000000000ull;

int64_t linux_error(base::Error e) { return -tern_libc_errno_from_status(int32_t(e)); }

uint64_t address(const void* p) { return reinterpret_cast<uint64_t>(p); }

// A server reached by name, looked up on first use and cached for the process's life. A
// spawner may hand the handle over in the startup block (startup_kind), which saves the
// lookup. forget() drops a handle whose server went away (PEER_CLOSED), so the next get()
// looks the name up again; a failed lookup is final, so a program without the server
// does not wait for it on every call.
class Service {
public:
    constexpr Service(const char* name, uint32_t startup_kind)
        : m_name(name), m_startup_kind(startup_kind) {}

    tern_handle_t get() {
        if (m_handle != TERN_INVALID_HANDLE || m_absent)
            return m_handle;
        if (!m_startup_tried) {
            m_startup_tried = true;
            m_handle =
                m_startup_kind != 0 ? tern::startup_handle(m_startup_kind) : TERN_INVALID_HANDLE;
            if (m_handle != TERN_INVALID_HANDLE)
                return m_handle;
        }
        if (tern::name_server() == TERN_INVALID_HANDLE) {
            m_absent = true;
            return TERN_INVALID_HANDLE;
        }
        auto r = tern::lookup(m_name, true, kLookupTimeoutNs);
        if (r.is_error()) {
            m_absent = true;
            return TERN_INVALID_HANDLE;
        }
        m_handle = r.value();
        return m_handle;
    }

    void forget() {
        if (m_handle != TERN_INVALID_HANDLE)
            (void)tern_sys_handle_close(m_handle);
        m_handle = TERN_INVALID_HANDLE;
    }

    // Makes one call through the server's handle; when the server has gone away, looks
    // it up once more and repeats the call once. kNoServer when there is none.
    template<typename Call>
    base::Error call(Call&& make_call) {
        for (int attempt = 0;; ++attempt) {
            tern_handle_t handle = get();
            if (handle == TERN_INVALID_HANDLE)
                return kNoServer;
            base::Error e = make_call(handle);
            if (e != base::Error::PEER_CLOSED || attempt > 0)
                return e;
            forget();
        }
    }

    // Not a status any call returns: the marker for "no such server".
    static constexpr base::Error kNoServer = base::Error(-1);

private:
    const char* m_name;
    uint32_t m_startup_kind;
    tern_handle_t m_handle = TERN_INVALID_HANDLE;
    bool m_startup_tried = false;
    bool m_absent = false;
};

constinit Service g_console("console", TERN_STARTUP_CONSOLE);
constinit Service g_bootfs("bootfs", 0);
constinit tern_libc_line_buffer g_line = {};
// End of input (Ctrl-D) that a wait for input saw: the next read returns 0.
constinit bool g_input_ended = false;

// Sends a bootfs path without its leading "/" (bootfs takes either, and its bound,
// kMaxPath, counts the bytes sent); the root is "".
base::Span<const uint8_t> bootfs_path(const char* path) {
    while (*path == '/')
        ++path;
    size_t length = 0;
    while (path[length] != '\0')
        ++length;
    return {reinterpret_cast<const uint8_t*>(path), length};
}

bool is_root(const char* path) { return path[0] == '/' && path[1] == '\0'; }

} // namespace

namespace base {

// The runtime's invariant checks (base/assert.h). A C program has no native print; the
// kernel's debug output is always there.
void assert_failed(const char* expr, const char* file, int line) {
    (void)line;
    const char* parts[] = {"libc: assertion failed: ", expr, " at ", file, "\n"};
    for (const char* part : parts) {
        size_t length = 0;
        while (part[length] != '\0')
            ++length;
        (void)tern_sys_debug_write(address(part), length);
    }
    // 134, as abort() ends a C program.
    tern_sys_task_exit(134);
    __builtin_trap();
}

} // namespace base

extern "C" {

int tern_libc_startup_init(uint64_t arg, struct tern_libc_startup_info* info) {
    *info = {};
    tern::startup_init(arg);
    const tern_startup* block = tern::startup_block();
    if (block == nullptr)
        return 0;
    info->pid = block->pid;
    info->argc = block->argc;
    info->envc = block->envc;
    info->argv = tern::argv();
    info->envp = tern::envp();
    return 1;
}

volatile uint64_t tern_libc_fork_pid = 0;
volatile uint64_t tern_libc_fork_parent = 0;

uint64_t tern_libc_startup_pid(void) {
    return tern_libc_fork_pid != 0 ? tern_libc_fork_pid : tern::pid();
}

unsigned long tern_global_pid(void) { return tern_libc_startup_pid(); }

uint32_t tern_libc_self_task(void) { return tern::self(); }

int64_t tern_libc_proc_fork(uint32_t task, uint64_t* pid) {
    tern_handle_t server = tern::startup_handle(TERN_STARTUP_PROC_SERVER);
    if (server == TERN_INVALID_HANDLE) {
        (void)tern_sys_handle_close(task);
        return -TERN_NOT_SUPPORTED;
    }
    tern_handle_t handles[1] = {task};
    tern::proto::CallParts parts;
    parts.in_handles = {handles, 1};
    auto r = tern::proto::call<tern::proc::Fork>(server, {}, parts);
    if (r.is_error()) {
        // Harmless when it went with the call (the value is stale then).
        (void)tern_sys_handle_close(task);
        return -int64_t(r.error());
    }
    *pid = r.value().pid;
    return 0;
}

int64_t tern_libc_proc_wait(uint64_t pid, int nohang, uint64_t* which, int64_t* status) {
    tern_handle_t server = tern::startup_handle(TERN_STARTUP_PROC_SERVER);
    if (server == TERN_INVALID_HANDLE)
        return -TERN_NOT_FOUND;
    for (;;) {
        auto r = tern::proto::call<tern::proc::Wait>(server,
                                                     {pid, nohang ? tern::proc::kWaitNoHang : 0u});
        // proc answers its oldest parked wait TIMED_OUT to make room for a new one: ask again.
        if (r.is_error() && r.error() == base::Error::TIMED_OUT)
            continue;
        if (r.is_error())
            return -int64_t(r.error());
        *which = r.value().pid;
        *status = r.value().status;
        return 0;
    }
}

int64_t tern_libc_proc_kill(uint64_t pid, int64_t status) {
    tern_handle_t server = tern::startup_handle(TERN_STARTUP_PROC_SERVER);
    if (server == TERN_INVALID_HANDLE)
        return -TERN_NOT_FOUND;
    auto r = tern::proto::call<tern::proc::Kill>(server, {pid, status, 0});
    return r.is_error() ? -int64_t(r.error()) : 0;
}

int64_t tern_libc_proc_parent(uint64_t pid, uint64_t* parent, uint64_t* parent_task) {
    tern_handle_t server = tern::startup_handle(TERN_STARTUP_PROC_SERVER);
    if (server == TERN_INVALID_HANDLE)
        return -TERN_NOT_FOUND;
    auto r = tern::proto::call<tern::proc::Parent>(server, {pid});
    if (r.is_error())
        return -int64_t(r.error());
    *parent = r.value().parent;
    if (parent_task)
        *parent_task = r.value().parent_task;
    return 0;
}

int tern_libc_console_present(void) { return g_console.get() != TERN_INVALID_HANDLE; }

int64_t tern_libc_console_write(const void* data, uint64_t size) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    uint64_t done = 0;
    while (done < size) {
        uint64_t chunk =
            size - done < tern::console::kMaxWrite ? size - done : tern::console::kMaxWrite;
        uint64_t written = 0;
        base::Error e = g_console.call([&](tern_handle_t console) {
            tern::proto::CallParts parts;
            parts.in_data = {bytes + done, size_t(chunk)};
            auto r = tern::proto::call<tern::console::Write>(console, {}, parts);
            if (r.is_error())
                return r.error();
            written = r.value().written;
            return base::Error::OK;
        });
        if (e != base::Error::OK) {
            if (done > 0)
                return int64_t(done);
            return e == Service::kNoServer ? TERN_LIBC_NO_SERVER : linux_error(e);
        }
        // A server that claims more than it was given wrote what it was given; one that
        // wrote nothing would make stdio retry forever, so that is an I/O error.
        if (written > chunk)
            written = chunk;
        if (written == 0)
            return done > 0 ? int64_t(done) : -TERN_LINUX_EIO;
        done += written;
        if (written < chunk)
            break;
    }
    return int64_t(done);
}

int64_t tern_libc_console_read(void* out, uint64_t size, int wait) {
    if (size == 0)
        return 0;
    uint64_t n = tern_libc_line_take(&g_line, out, size);
    if (n > 0 || !wait)
        return int64_t(n);
    if (g_input_ended) {
        g_input_ended = false;
        return 0;
    }
    tern::console::ReadResponse response = {};
    uint32_t received = 0;
    base::Error e = g_console.call([&](tern_handle_t console) {
        tern::proto::CallParts parts;
        parts.out_data = {reinterpret_cast<uint8_t*>(g_line.data), sizeof(g_line.data)};
        parts.out_data_size = &received;
        auto r = tern::proto::call<tern::console::Read>(console, {0}, parts);
        if (r.is_error())
            return r.error();
        response = r.value();
        return base::Error::OK;
    });
    if (e == Service::kNoServer)
        return 0;
    if (e != base::Error::OK)
        return linux_error(e);
    if (response.end_of_file)
        return 0;
    g_line.start = 0;
    g_line.end = received < sizeof(g_line.data) ? received : uint32_t(sizeof(g_line.data));
    return int64_t(tern_libc_line_take(&g_line, out, size));
}

int tern_libc_console_wait(uint64_t timeout_ns) {
    if (g_line.start < g_line.end || g_input_ended)
        return 1;
    if (g_console.get() == TERN_INVALID_HANDLE)
        return 1; // end of input at once
    if (timeout_ns == 0)
        return 0;
    // The console has no readiness call: a Read that gives up when the time is over. The
    // console server skips a reader that left, so a line typed later is not lost.
    tern::console::ReadResponse response = {};
    uint32_t received = 0;
    base::Error e = g_console.call([&](tern_handle_t console) {
        tern::proto::CallParts parts;
        parts.out_data = {reinterpret_cast<uint8_t*>(g_line.data), sizeof(g_line.data)};
        parts.out_data_size = &received;
        auto r = tern::proto::call<tern::console::Read>(console, {0}, parts, timeout_ns);
        if (r.is_error())
            return r.error();
        response = r.value();
        return base::Error::OK;
    });
    if (e == base::Error::TIMED_OUT)
        return 0;
    if (e != base::Error::OK)
        return 1; // a read now meets the failure (Ctrl-C, no console) at once
    if (response.end_of_file) {
        g_input_ended = true;
        return 1;
    }
    g_line.start = 0;
    g_line.end = received < sizeof(g_line.data) ? received : uint32_t(sizeof(g_line.data));
    return 1;
}

int tern_libc_memory_share(uint64_t size, struct tern_libc_shared_memory* out) {
    int64_t memory = tern_sys_memory_create(size, 0);
    if (memory < 0)
        return static_cast<int>(tern_libc_vm_result(TERN_LIBC_VM_ALLOCATE, memory));
    int64_t mapped = tern_sys_vm_map_memory(tern::self(), static_cast<uint32_t>(memory), 0, 0, size,
                                            TERN_PROT_READ | TERN_PROT_WRITE);
    if (mapped < 0) {
        (void)tern_sys_handle_close(static_cast<uint32_t>(memory));
        return static_cast<int>(tern_libc_vm_result(TERN_LIBC_VM_ALLOCATE, mapped));
    }
    *out = {static_cast<uint64_t>(mapped), size, static_cast<uint32_t>(memory)};
    return 0;
}

void tern_libc_memory_unshare(const struct tern_libc_shared_memory* memory) {
    (void)tern_sys_vm_free(memory->address, memory->size);
    (void)tern_sys_handle_close(memory->handle);
}

int tern_libc_copy_in(void* to, const void* user, uint64_t size) {
    if (size == 0)
        return 0;
    int64_t r = tern_sys_task_vm_read(tern::self(), address(user), address(to), size);
    return r < 0 ? -TERN_LINUX_EFAULT : 0;
}

int tern_libc_copy_out(void* user, const void* from, uint64_t size) {
    if (size == 0)
        return 0;
    int64_t r = tern_sys_task_vm_write(tern::self(), address(user), address(from), size);
    return r < 0 ? -TERN_LINUX_EFAULT : 0;
}

int tern_libc_bootfs_stat(const char* path, struct tern_libc_bootfs_node* node) {
    if (is_root(path)) {
        *node = {0, 0555, 1};
        return 0;
    }
    tern::bootfs::StatResponse response = {};
    base::Error e = g_bootfs.call([&](tern_handle_t bootfs) {
        tern::proto::CallParts parts;
        parts.in_data = bootfs_path(path);
        auto r = tern::proto::call<tern::bootfs::Stat>(bootfs, {}, parts);
        if (r.is_error())
            return r.error();
        response = r.value();
        return base::Error::OK;
    });
    if (e == Service::kNoServer)
        return -TERN_LINUX_ENOENT;
    if (e != base::Error::OK)
        return int(linux_error(e));
    node->size = response.size;
    node->mode = response.mode & 07777u;
    node->is_directory = response.is_directory != 0;
    return 0;
}

int tern_libc_bootfs_map(const char* path, struct tern_libc_bootfs_mapping* mapping) {
    *mapping = {};
    tern::bootfs::MapResponse response = {};
    tern_handle_t memory = TERN_INVALID_HANDLE;
    uint32_t handle_count = 0;
    base::Error e = g_bootfs.call([&](tern_handle_t bootfs) {
        tern::proto::CallParts parts;
        parts.in_data = bootfs_path(path);
        parts.out_handles = &memory;
        parts.out_handle_count = &handle_count;
        auto r = tern::proto::call<tern::bootfs::Map>(bootfs, {}, parts);
        if (r.is_error())
            return r.error();
        response = r.value();
        return base::Error::OK;
    });
    if (e == Service::kNoServer)
        return -TERN_LINUX_ENOENT;
    if (e != base::Error::OK)
        return int(linux_error(e));
    if (handle_count != 1 || memory == TERN_INVALID_HANDLE)
        return -TERN_LINUX_EBADMSG;
    int r = tern_libc_check_map_reply(response.size, response.map_offset, response.map_size,
                                      response.data_offset);
    if (r != 0) {
        (void)tern_sys_handle_close(memory);
        return r;
    }
    uint64_t map_address = 0;
    if (response.map_size > 0) {
        int64_t mapped = tern_sys_vm_map_memory(tern::self(), memory, 0, response.map_offset,
                                                response.map_size, TERN_PROT_READ);
        if (mapped < 0) {
            (void)tern_sys_handle_close(memory);
            return int(tern_libc_vm_result(TERN_LIBC_VM_ALLOCATE, mapped));
        }
        map_address = uint64_t(mapped);
    }
    mapping->map_address = map_address;
    mapping->map_size = map_address != 0 ? response.map_size : 0;
    mapping->data = map_address != 0
                        ? reinterpret_cast<const char*>(map_address + response.data_offset)
                        : nullptr;
    mapping->size = map_address != 0 ? response.size : 0;
    mapping->memory = memory;
    mapping->mode = response.mode & 07777u;
    return 0;
}

void tern_libc_bootfs_unmap(uint64_t map_address, uint64_t map_size, uint32_t memory) {
    if (map_address != 0 && map_size != 0)
        (void)tern_sys_vm_free(map_address, map_size);
    if (memory != TERN_INVALID_HANDLE)
        (void)tern_sys_handle_close(memory);
}

int64_t tern_libc_bootfs_list(const char* path, char* buffer, uint64_t capacity) {
    uint32_t received = 0;
    base::Error e = g_bootfs.call([&](tern_handle_t bootfs) {
        tern::proto::CallParts parts;
        parts.in_data = bootfs_path(path);
        parts.out_data = {reinterpret_cast<uint8_t*>(buffer), size_t(capacity)};
        parts.out_data_size = &received;
        auto r = tern::proto::call<tern::bootfs::List>(bootfs, {}, parts);
        return r.is_error() ? r.error() : base::Error::OK;
    });
    if (e == Service::kNoServer)
        return -TERN_LINUX_ENOENT;
    if (e != base::Error::OK)
        return linux_error(e);
    return received < capacity ? int64_t(received) : int64_t(capacity);
}

} // extern "C"
