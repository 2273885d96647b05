// Tern's musl port: the startup block and the servers C programs use (see services.h).
// C++ on the native runtime's startup, protocol client and name lookups
// (TERN_NATIVE_SHARED_SOURCES), linked into every C program beside libc.a.

#include <base/assert.h>
#include <libc/musl/include/tern/libc.h>
#include <libc/musl/portable/files.h>
#include <libc/musl/portable/mounts.h>
#include <libc/musl/portable/translate.h>
#include <libc/musl/services.h>
#include <tern/protocols/bootfs.h>
#include <tern/protocols/console.h>
#include <tern/protocols/file.h>
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
constinit Service g_tmpfs("tmpfs", 0);
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

// A path longer than any the boot file system holds (kMaxPath after the leading "/").
bool beyond_bootfs(const char* path) {
    size_t length = 0;
    while (path[length] != '\0' && length <= tern::bootfs::kMaxPath + 1)
        ++length;
    return length > tern::bootfs::kMaxPath + 1;
}

// The file servers the mount table names (portable/mounts.h); nullptr for another number.
Service* file_server(uint32_t server) {
    switch (server) {
    case TERN_LIBC_SERVER_TMPFS:
        return &g_tmpfs;
    default:
        return nullptr;
    }
}

size_t text_length(const char* s) {
    size_t n = 0;
    while (s[n] != '\0')
        ++n;
    return n;
}

base::Span<const uint8_t> text_bytes(const char* s) {
    return {reinterpret_cast<const uint8_t*>(s), text_length(s)};
}

// Makes one file protocol call: op's request, the parts make_parts fills, the response in
// out. Returns 0, the translated status, or -ENODEV without the server; the response's
// own error is the caller's.
template<typename O, typename MakeParts>
int file_call(uint32_t server, const typename O::Request& request, typename O::Response& out,
              MakeParts&& make_parts) {
    Service* service = file_server(server);
    if (!service)
        return -TERN_LINUX_ENODEV;
    base::Error e = service->call([&](tern_handle_t port) {
        tern::proto::CallParts parts;
        make_parts(parts);
        auto r = tern::proto::call<O>(port, request, parts);
        if (r.is_error())
            return r.error();
        out = r.value();
        return base::Error::OK;
    });
    if (e == Service::kNoServer)
        return -TERN_LINUX_ENODEV;
    if (e != base::Error::OK)
        return int(linux_error(e));
    return 0;
}

// The server's errno, when it is one a file call may answer with; EIO for anything else.
int server_errno(int32_t error) {
    if (error < 0 || error > 4095)
        return -TERN_LINUX_EIO;
    return -error;
}

void copy_attr(struct tern_libc_file_attr* to, const tern::file::Attr& from) {
    to->inode = from.inode;
    to->size = from.size;
    to->atime_ns = from.atime_ns;
    to->mtime_ns = from.mtime_ns;
    to->ctime_ns = from.ctime_ns;
    to->mode = from.mode;
    to->nlink = from.nlink;
    to->uid = from.uid;
    to->gid = from.gid;
}

int attr_result(int r, const tern::file::AttrResponse& response, struct tern_libc_file_attr* attr) {
    if (r != 0)
        return r;
    if (response.error != 0)
        return server_errno(response.error);
    if (attr)
        copy_attr(attr, response.attr);
    return 0;
}

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

int64_t tern_libc_proc_fork(uint32_t task, uint32_t thread, uint64_t* pid) {
    tern_handle_t server = tern::startup_handle(TERN_STARTUP_PROC_SERVER);
    if (server == TERN_INVALID_HANDLE) {
        (void)tern_sys_handle_close(task);
        if (thread)
            (void)tern_sys_handle_close(thread);
        return -TERN_NOT_SUPPORTED;
    }
    tern_handle_t handles[2] = {task, thread};
    tern::proto::CallParts parts;
    parts.in_handles = {handles, thread ? 2u : 1u};
    auto r = tern::proto::call<tern::proc::Fork>(server, {}, parts);
    if (r.is_error()) {
        // Harmless when they went with the call (the values are stale then).
        (void)tern_sys_handle_close(task);
        if (thread)
            (void)tern_sys_handle_close(thread);
        return -int64_t(r.error());
    }
    *pid = r.value().pid;
    return 0;
}

int64_t tern_libc_proc_wait(uint64_t pid, int group, int nohang, uint64_t* which, int64_t* status) {
    tern_handle_t server = tern::startup_handle(TERN_STARTUP_PROC_SERVER);
    if (server == TERN_INVALID_HANDLE)
        return -TERN_NOT_FOUND;
    for (;;) {
        uint32_t flags =
            (nohang ? tern::proc::kWaitNoHang : 0u) | (group ? tern::proc::kWaitGroup : 0u);
        auto r = tern::proto::call<tern::proc::Wait>(server, {pid, flags});
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

int tern_libc_proc_ended(uint64_t pid) {
    tern_handle_t server = tern::startup_handle(TERN_STARTUP_PROC_SERVER);
    if (server == TERN_INVALID_HANDLE)
        return 0;
    auto r = tern::proto::call<tern::proc::Parent>(server, {pid});
    if (r.is_error())
        return r.error() == base::Error::NOT_FOUND ? 1 : 0;
    return r.value().running == 0 ? 1 : 0;
}

int tern_libc_console_present(void) { return g_console.get() != TERN_INVALID_HANDLE; }

uint32_t tern_libc_console_port(void) { return g_console.get(); }

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
            if (r.is_error() && r.error() == base::Error::INTERRUPTED) {
                // A signal cut the wait for the answer short; the request stays with the
                // console, which writes it (its answer is refused): it is written.
                written = chunk;
                return base::Error::OK;
            }
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
    // The console keeps what this read does not take (the rest of a line, raw bytes), so
    // the program's next read, or the next program's, finds it there.
    uint32_t max = size < sizeof(g_line.data) ? uint32_t(size) : uint32_t(sizeof(g_line.data));
    tern::console::ReadResponse response = {};
    uint32_t received = 0;
    base::Error e = g_console.call([&](tern_handle_t console) {
        tern::proto::CallParts parts;
        parts.out_data = {reinterpret_cast<uint8_t*>(g_line.data), sizeof(g_line.data)};
        parts.out_data_size = &received;
        auto r = tern::proto::call<tern::console::Read>(console, {0, max}, parts);
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

// Asks the console (kReadPeek) how many bytes a read would find: -1 when none is ready
// within timeout_ns, else the count (0 at the end of input, or with no console).
static int64_t console_peek(uint64_t timeout_ns) {
    uint32_t flags = tern::console::kReadPeek | (timeout_ns == 0 ? tern::console::kReadNoWait : 0);
    // A peek's answer has no data part, but a call must have room for the most a Read
    // may answer.
    static uint8_t room[tern::console::kMaxLine + 1];
    tern::console::ReadResponse response = {};
    base::Error e = g_console.call([&](tern_handle_t console) {
        tern::proto::CallParts parts;
        parts.out_data = {room, sizeof(room)};
        auto r = tern::proto::call<tern::console::Read>(console, {flags, 0}, parts, timeout_ns);
        if (r.is_error())
            return r.error();
        response = r.value();
        return base::Error::OK;
    });
    if (e == base::Error::TIMED_OUT)
        return -1;
    if (e != base::Error::OK)
        return 0; // a read now meets the failure (Ctrl-C, no console) at once
    if (response.nothing)
        return -1;
    return response.size;
}

int tern_libc_console_wait(uint64_t timeout_ns) {
    if (g_line.start < g_line.end || g_input_ended)
        return 1;
    if (g_console.get() == TERN_INVALID_HANDLE)
        return 1; // end of input at once
    // The console answers a peek when input is ready (a line, the end of input, or in raw
    // mode a byte); one that gives up when the time is over is skipped there.
    return console_peek(timeout_ns) >= 0 ? 1 : 0;
}

int64_t tern_libc_console_pending(void) {
    uint64_t held = g_line.end - g_line.start;
    if (g_console.get() == TERN_INVALID_HANDLE)
        return int64_t(held);
    int64_t n = console_peek(0);
    return int64_t(held) + (n > 0 ? n : 0);
}

static_assert(sizeof(tern::console::Termios) == 36);

int64_t tern_libc_console_get_attr(void* termios, void* window) {
    tern::console::AttrResponse attr = {};
    base::Error e = g_console.call([&](tern_handle_t console) {
        auto r = tern::proto::call<tern::console::GetAttr>(console, {});
        if (r.is_error())
            return r.error();
        attr = r.value();
        return base::Error::OK;
    });
    if (e != base::Error::OK)
        return e == Service::kNoServer ? -TERN_LINUX_ENOTTY : linux_error(e);
    if (termios)
        __builtin_memcpy(termios, &attr.termios, sizeof(attr.termios));
    if (window)
        __builtin_memcpy(window, &attr.window, sizeof(attr.window));
    return 0;
}

int64_t tern_libc_console_set_attr(const void* termios, uint32_t when) {
    tern::console::SetAttrRequest request = {};
    __builtin_memcpy(&request.termios, termios, sizeof(request.termios));
    request.when = when;
    if (when == tern::console::kSetFlush)
        g_line.start = g_line.end = 0;
    base::Error e = g_console.call([&](tern_handle_t console) {
        auto r = tern::proto::call<tern::console::SetAttr>(console, request);
        return r.is_error() ? r.error() : base::Error::OK;
    });
    if (e != base::Error::OK)
        return e == Service::kNoServer ? -TERN_LINUX_ENOTTY : linux_error(e);
    return 0;
}

int64_t tern_libc_console_flush(uint32_t queue) {
    if (queue != 1)
        g_line.start = g_line.end = 0;
    base::Error e = g_console.call([&](tern_handle_t console) {
        auto r = tern::proto::call<tern::console::Flush>(console, {queue});
        return r.is_error() ? r.error() : base::Error::OK;
    });
    if (e != base::Error::OK)
        return e == Service::kNoServer ? -TERN_LINUX_ENOTTY : linux_error(e);
    return 0;
}

int64_t tern_libc_console_set_window(const void* window) {
    tern::console::SetWindowRequest request = {};
    __builtin_memcpy(&request.window, window, sizeof(request.window));
    base::Error e = g_console.call([&](tern_handle_t console) {
        auto r = tern::proto::call<tern::console::SetWindow>(console, request);
        return r.is_error() ? r.error() : base::Error::OK;
    });
    if (e != base::Error::OK)
        return e == Service::kNoServer ? -TERN_LINUX_ENOTTY : linux_error(e);
    return 0;
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

// The checked copy: n bytes from src to dst (not overlapping), 0 when done. A fault the
// kernel cannot resolve at any of its instructions resumes at its second return with RAX
// the fault's vector (fault_resume), so it returns nonzero and the program goes on. A
// string move: under QEMU's -icount each of its iterations is one instruction, fewer
// than any loop's.
extern "C" uint64_t tern_libc_checked_copy(void* dst, const void* src, uint64_t n);
extern "C" char tern_libc_checked_copy_end[];
extern "C" char tern_libc_checked_copy_fault[];
__asm__(".text\n"
        ".globl tern_libc_checked_copy\n"
        ".type tern_libc_checked_copy, @function\n"
        "tern_libc_checked_copy:\n"
        "    movq %rdx, %rcx\n"
        "    shrq $3, %rcx\n"
        "    rep movsq\n"
        "    movq %rdx, %rcx\n"
        "    andq $7, %rcx\n"
        "    rep movsb\n"
        "    xorl %eax, %eax\n"
        "    .globl tern_libc_checked_copy_end\n"
        "tern_libc_checked_copy_end:\n"
        "    ret\n"
        "    .globl tern_libc_checked_copy_fault\n"
        "tern_libc_checked_copy_fault:\n"
        "    ret\n"
        ".size tern_libc_checked_copy, . - tern_libc_checked_copy\n");

namespace {

// 0 before the first copy, 1 when the kernel took the copy's range, -1 when it refused it
// (copies then go through the kernel). A fork's child inherits both the value and the
// kernel's range (task_clone copies it); a new image starts at 0.
int g_checked_copy;

bool checked_copy_ready() {
    int state = __atomic_load_n(&g_checked_copy, __ATOMIC_RELAXED);
    if (state == 0) {
        int64_t r = tern_sys_fault_resume(reinterpret_cast<uint64_t>(&tern_libc_checked_copy),
                                          address(tern_libc_checked_copy_end),
                                          address(tern_libc_checked_copy_fault));
        state = r == 0 ? 1 : -1;
        __atomic_store_n(&g_checked_copy, state, __ATOMIC_RELAXED);
    }
    return state > 0;
}

} // namespace

int tern_libc_copy_in(void* to, const void* user, uint64_t size) {
    if (size == 0)
        return 0;
    if (checked_copy_ready())
        return tern_libc_checked_copy(to, user, size) != 0 ? -TERN_LINUX_EFAULT : 0;
    int64_t r = tern_sys_task_vm_read(tern::self(), address(user), address(to), size);
    return r < 0 ? -TERN_LINUX_EFAULT : 0;
}

int tern_libc_copy_out(void* user, const void* from, uint64_t size) {
    if (size == 0)
        return 0;
    if (checked_copy_ready())
        return tern_libc_checked_copy(user, from, size) != 0 ? -TERN_LINUX_EFAULT : 0;
    int64_t r = tern_sys_task_vm_write(tern::self(), address(user), address(from), size);
    return r < 0 ? -TERN_LINUX_EFAULT : 0;
}

int tern_libc_bootfs_stat(const char* path, struct tern_libc_bootfs_node* node) {
    if (beyond_bootfs(path))
        return -TERN_LINUX_ENOENT;
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
    if (beyond_bootfs(path))
        return -TERN_LINUX_ENOENT;
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
    mapping->map_offset = map_address != 0 ? response.map_offset : 0;
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
    if (beyond_bootfs(path))
        return -TERN_LINUX_ENOENT;
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

// ---- Writable file servers --------------------------------------------------------------

int tern_libc_fs_lookup(uint32_t server, const char* path, struct tern_libc_file_attr* attr,
                        uint32_t* link_end) {
    tern::file::AttrResponse response = {};
    int r = file_call<tern::file::Lookup>(server, {}, response, [&](tern::proto::CallParts& parts) {
        parts.in_data = text_bytes(path);
    });
    *link_end = 0;
    if (r == 0 && response.error == tern::file::kLinkInPath) {
        // A link's name ends inside the path, after its first "/" and before its end.
        size_t length = text_length(path);
        if (response.link_end < 2 || response.link_end >= length || path[response.link_end] != '/')
            return -TERN_LINUX_EIO;
        *link_end = response.link_end;
        copy_attr(attr, response.attr);
        return TERN_LIBC_FS_LINK_IN_PATH;
    }
    return attr_result(r, response, attr);
}

int tern_libc_fs_open(uint32_t server, const char* path, uint32_t flags, uint32_t mode,
                      struct tern_libc_file_attr* attr) {
    static_assert(TERN_LIBC_FS_CREATE == tern::file::kOpenCreate
                  && TERN_LIBC_FS_EXCLUSIVE == tern::file::kOpenExclusive
                  && TERN_LIBC_FS_TRUNCATE == tern::file::kOpenTruncate
                  && TERN_LIBC_FS_DIRECTORY == tern::file::kOpenDirectory);
    tern::file::AttrResponse response = {};
    int r = file_call<tern::file::Open>(
        server, {flags, mode}, response,
        [&](tern::proto::CallParts& parts) { parts.in_data = text_bytes(path); });
    return attr_result(r, response, attr);
}

int tern_libc_fs_getattr(uint32_t server, uint64_t inode, struct tern_libc_file_attr* attr) {
    tern::file::AttrResponse response = {};
    int r =
        file_call<tern::file::GetAttr>(server, {inode}, response, [](tern::proto::CallParts&) {});
    return attr_result(r, response, attr);
}

int64_t tern_libc_fs_read(uint32_t server, uint64_t inode, uint64_t offset, void* data,
                          uint64_t size) {
    // The reply lands in the caller's buffer when it has room for a whole reply, else in
    // this one (a call's reply buffer must hold the operation's largest reply).
    static uint8_t bounce[tern::file::kMaxIo];
    auto* bytes = static_cast<uint8_t*>(data);
    uint64_t done = 0;
    while (done < size) {
        uint32_t piece =
            size - done < tern::file::kMaxIo ? uint32_t(size - done) : tern::file::kMaxIo;
        uint8_t* into = piece == tern::file::kMaxIo ? bytes + done : bounce;
        tern::file::ReadResponse response = {};
        uint32_t received = 0;
        int r = file_call<tern::file::Read>(server, {inode, offset + done, piece, 0}, response,
                                            [&](tern::proto::CallParts& parts) {
                                                parts.out_data = {into, tern::file::kMaxIo};
                                                parts.out_data_size = &received;
                                            });
        if (r == 0 && response.error != 0)
            r = server_errno(response.error);
        if (r != 0)
            return done > 0 ? int64_t(done) : r;
        if (received > piece)
            received = piece;
        if (into == bounce && tern_libc_copy_out(bytes + done, bounce, received) != 0)
            return done > 0 ? int64_t(done) : -TERN_LINUX_EFAULT;
        done += received;
        if (received < piece)
            break; // the end of the file
    }
    return int64_t(done);
}

int64_t tern_libc_fs_write(uint32_t server, uint64_t inode, uint64_t offset, const void* data,
                           uint64_t size, int append, uint64_t* end) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    uint64_t done = 0;
    *end = offset;
    do {
        uint32_t piece =
            size - done < tern::file::kMaxIo ? uint32_t(size - done) : tern::file::kMaxIo;
        tern::file::WriteResponse response = {};
        uint32_t flags = append ? tern::file::kWriteAppend : 0u;
        int r = file_call<tern::file::Write>(server, {inode, offset + done, flags, 0}, response,
                                             [&](tern::proto::CallParts& parts) {
                                                 parts.in_data = {bytes + done, piece};
                                             });
        if (r == 0 && response.error != 0)
            r = server_errno(response.error);
        if (r == 0 && response.written != piece)
            r = -TERN_LINUX_EIO;
        if (r != 0)
            return done > 0 ? int64_t(done) : r;
        done += piece;
        *end = response.offset + piece;
    } while (done < size);
    return int64_t(done);
}

int tern_libc_fs_truncate(uint32_t server, uint64_t inode, uint64_t size) {
    tern::file::AttrResponse response = {};
    int r = file_call<tern::file::Truncate>(server, {inode, size}, response,
                                            [](tern::proto::CallParts&) {});
    return attr_result(r, response, nullptr);
}

int tern_libc_fs_chmod(uint32_t server, uint64_t inode, uint32_t mode) {
    tern::file::AttrResponse response = {};
    int r = file_call<tern::file::Chmod>(server, {inode, mode, 0}, response,
                                         [](tern::proto::CallParts&) {});
    return attr_result(r, response, nullptr);
}

int tern_libc_fs_lock(uint32_t server, uint64_t inode, uint32_t command,
                      struct tern_libc_lock* lock) {
    static_assert(TERN_LIBC_LOCK_GET == tern::file::kLockGet
                  && TERN_LIBC_LOCK_SET == tern::file::kLockSet
                  && TERN_LIBC_LOCK_WAIT == tern::file::kLockWait
                  && TERN_LIBC_LOCK_TO_END == tern::file::kLockToEnd);
    // A lock that is set comes with this task, which the server watches so that the
    // task's locks go when it ends.
    tern_handle_t task = TERN_INVALID_HANDLE;
    if (command != TERN_LIBC_LOCK_GET && lock->type != 2) {
        int64_t copy = tern_sys_handle_duplicate(tern::self(), TERN_RIGHT_TRANSFER);
        if (copy < 0)
            return -37; // ENOLCK
        task = tern_handle_t(copy);
    }
    tern::file::LockResponse response = {};
    tern_handle_t handles[1] = {task};
    int r = file_call<tern::file::Lock>(
        server,
        {inode, lock->start, lock->end, lock->flock_owner, lock->pid, lock->type, command, 0},
        response, [&](tern::proto::CallParts& parts) {
            if (task != TERN_INVALID_HANDLE)
                parts.in_handles = {handles, 1};
        });
    if (r == 0 && response.error != 0)
        r = server_errno(response.error);
    if (r == 0 && command == TERN_LIBC_LOCK_GET) {
        lock->type = response.type;
        if (response.type != 2) {
            lock->start = response.start;
            lock->end = response.end;
            lock->pid = response.pid;
        }
    }
    return r;
}

int tern_libc_fs_release_locks(uint32_t server, uint64_t inode, uint32_t pid,
                               uint64_t flock_owner) {
    tern::file::ErrorResponse response = {};
    int r = file_call<tern::file::ReleaseLocks>(server, {inode, pid, 0, flock_owner}, response,
                                                [](tern::proto::CallParts&) {});
    if (r == 0 && response.error != 0)
        r = server_errno(response.error);
    return r;
}

int tern_libc_fs_set_times(uint32_t server, uint64_t inode, int64_t atime_ns, int64_t mtime_ns) {
    static_assert(TERN_LIBC_TIME_NOW == tern::file::kTimeNow
                  && TERN_LIBC_TIME_OMIT == tern::file::kTimeOmit);
    tern::file::AttrResponse response = {};
    int r = file_call<tern::file::SetTimes>(server, {inode, atime_ns, mtime_ns}, response,
                                            [](tern::proto::CallParts&) {});
    return attr_result(r, response, nullptr);
}

} // extern "C"

namespace {

// Sends two paths in one data part: first, then second.
template<typename O>
int two_path_call(uint32_t server, const char* first, const char* second,
                  typename O::Response& response) {
    static char buffer[2 * tern::file::kMaxPath];
    size_t a = text_length(first), b = text_length(second);
    if (a > tern::file::kMaxPath || b > tern::file::kMaxPath)
        return -TERN_LINUX_ENAMETOOLONG;
    __builtin_memcpy(buffer, first, a);
    __builtin_memcpy(buffer + a, second, b);
    return file_call<O>(server, {uint32_t(a), 0}, response, [&](tern::proto::CallParts& parts) {
        parts.in_data = {reinterpret_cast<const uint8_t*>(buffer), a + b};
    });
}

template<typename O>
int path_call(uint32_t server, const char* path) {
    tern::file::ErrorResponse response = {};
    int r = file_call<O>(server, {}, response,
                         [&](tern::proto::CallParts& parts) { parts.in_data = text_bytes(path); });
    if (r == 0 && response.error != 0)
        r = server_errno(response.error);
    return r;
}

} // namespace

extern "C" {

int tern_libc_fs_rename(uint32_t server, const char* from, const char* to) {
    tern::file::ErrorResponse response = {};
    int r = two_path_call<tern::file::Rename>(server, from, to, response);
    if (r == 0 && response.error != 0)
        r = server_errno(response.error);
    return r;
}

int tern_libc_fs_unlink(uint32_t server, const char* path) {
    return path_call<tern::file::Unlink>(server, path);
}

int tern_libc_fs_rmdir(uint32_t server, const char* path) {
    return path_call<tern::file::Rmdir>(server, path);
}

int tern_libc_fs_mkdir(uint32_t server, const char* path, uint32_t mode) {
    tern::file::AttrResponse response = {};
    int r = file_call<tern::file::Mkdir>(
        server, {mode, 0}, response,
        [&](tern::proto::CallParts& parts) { parts.in_data = text_bytes(path); });
    return attr_result(r, response, nullptr);
}

int tern_libc_fs_symlink(uint32_t server, const char* target, const char* path) {
    tern::file::AttrResponse response = {};
    int r = two_path_call<tern::file::Symlink>(server, target, path, response);
    return attr_result(r, response, nullptr);
}

int tern_libc_fs_link(uint32_t server, const char* existing, const char* path) {
    tern::file::AttrResponse response = {};
    int r = two_path_call<tern::file::Link>(server, existing, path, response);
    return attr_result(r, response, nullptr);
}

int64_t tern_libc_fs_readlink(uint32_t server, const char* path, char* buffer, uint64_t capacity) {
    static char target[tern::file::kMaxPath];
    tern::file::ReadlinkResponse response = {};
    uint32_t received = 0;
    int r =
        file_call<tern::file::Readlink>(server, {}, response, [&](tern::proto::CallParts& parts) {
            parts.in_data = text_bytes(path);
            parts.out_data = {reinterpret_cast<uint8_t*>(target), sizeof(target)};
            parts.out_data_size = &received;
        });
    if (r == 0 && response.error != 0)
        r = server_errno(response.error);
    if (r != 0)
        return r;
    uint64_t n = received < capacity ? received : capacity;
    __builtin_memcpy(buffer, target, n);
    return int64_t(n);
}

int64_t tern_libc_fs_list(uint32_t server, uint64_t inode, uint64_t start, void* buffer,
                          uint64_t* next, int* done) {
    tern::file::ListResponse response = {};
    uint32_t received = 0;
    int r = file_call<tern::file::List>(
        server, {inode, start}, response, [&](tern::proto::CallParts& parts) {
            parts.out_data = {static_cast<uint8_t*>(buffer), TERN_LIBC_FS_LIST_BYTES};
            parts.out_data_size = &received;
        });
    if (r == 0 && response.error != 0)
        r = server_errno(response.error);
    if (r != 0)
        return r;
    *next = response.next;
    *done = response.done != 0;
    return received < TERN_LIBC_FS_LIST_BYTES ? int64_t(received) : TERN_LIBC_FS_LIST_BYTES;
}

int tern_libc_fs_map(uint32_t server, uint64_t inode, uint64_t end, int write, uint32_t* memory,
                     uint64_t* size) {
    tern::file::MapResponse response = {};
    tern_handle_t handle = TERN_INVALID_HANDLE;
    uint32_t count = 0;
    int r = file_call<tern::file::Map>(server, {inode, end, write ? tern::file::kMapWrite : 0u, 0},
                                       response, [&](tern::proto::CallParts& parts) {
                                           parts.out_handles = &handle;
                                           parts.out_handle_count = &count;
                                       });
    if (r == 0 && response.error != 0)
        r = server_errno(response.error);
    if (r == 0 && (count != 1 || response.size < end))
        r = -TERN_LINUX_EBADMSG;
    if (r != 0) {
        if (count == 1)
            (void)tern_sys_handle_close(handle);
        return r;
    }
    *memory = handle;
    *size = response.size;
    return 0;
}

int tern_libc_fs_statfs(uint32_t server, struct tern_libc_file_statfs* out) {
    tern::file::StatFsResponse response = {};
    int r = file_call<tern::file::StatFs>(server, {}, response, [](tern::proto::CallParts&) {});
    if (r == 0 && response.error != 0)
        r = server_errno(response.error);
    if (r != 0)
        return r;
    out->block_size = response.block_size;
    out->total_bytes = response.total_bytes;
    out->free_bytes = response.free_bytes;
    out->total_nodes = response.total_nodes;
    out->free_nodes = response.free_nodes;
    out->name_max = response.name_max;
    return 0;
}

} // extern "C"
