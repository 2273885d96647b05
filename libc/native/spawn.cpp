// Starting a program from an ELF image in memory (libc/native/include/tern/spawn.h).
#include <base/utility.h>
#include <lib/elf.h>
#include <tern/spawn.h>
#include <tern/syscall_result.h>

namespace tern {
namespace {

constexpr uint64_t kPage = 4096;

uint64_t addr(const void* p) { return reinterpret_cast<uint64_t>(p); }

// Lays the startup block out in a local buffer whose last byte will sit just below
// TERN_STARTUP_STACK_TOP in the child: the block, then the pointer arrays, then the
// strings. Pointers are child addresses.
class BlockBuilder {
public:
    explicit BlockBuilder(uint8_t* buffer, size_t capacity)
        : m_buffer(buffer), m_capacity(capacity) {}

    // Reserves bytes (8-aligned) and returns their offset; TOO_BIG when out of room.
    base::Result<size_t> reserve(size_t bytes) {
        size_t offset = base::align_up(m_used, size_t(8));
        if (offset + bytes > m_capacity)
            return base::Error::TOO_BIG;
        m_used = offset + bytes;
        return offset;
    }
    uint8_t* at(size_t offset) { return m_buffer + offset; }
    size_t used() const { return m_used; }

private:
    uint8_t* m_buffer;
    size_t m_capacity;
    size_t m_used = 0;
};

uint32_t count(const char* const* v) {
    uint32_t n = 0;
    while (v && v[n])
        ++n;
    return n;
}

base::Error build_vector(BlockBuilder& b, const char* const* v, uint32_t n, uint64_t base_address,
                         uint64_t* out) {
    auto array = b.reserve((size_t(n) + 1) * 8);
    if (array.is_error())
        return array.error();
    uint64_t pointers[1] = {};
    for (uint32_t i = 0; i < n; ++i) {
        size_t len = __builtin_strlen(v[i]) + 1;
        auto s = b.reserve(len);
        if (s.is_error())
            return s.error();
        __builtin_memcpy(b.at(s.value()), v[i], len);
        pointers[0] = base_address + s.value();
        __builtin_memcpy(b.at(array.value() + i * 8), pointers, 8);
    }
    pointers[0] = 0;
    __builtin_memcpy(b.at(array.value() + size_t(n) * 8), pointers, 8);
    *out = base_address + array.value();
    return base::Error::OK;
}

// Maps a read-only segment straight from the memory object holding the image, when
// options name one and the segment can be: no bytes past its file part (memsz ==
// filesz), and its offset in the object on the same offset in a page as its address.
// False (nothing mapped) otherwise, or when the kernel refuses (the range leaves the
// object): the caller copies it.
bool map_segment(tern_handle_t task, const elf::Segment& s, const SpawnOptions& options) {
    if (options.image_memory == TERN_INVALID_HANDLE || (s.prot & TERN_PROT_WRITE)
        || s.memsz != s.filesz)
        return false;
    uint64_t at = options.image_offset + s.file_offset;
    if (at < options.image_offset || at % kPage != s.vaddr % kPage)
        return false;
    uint64_t start = base::align_down(s.vaddr, kPage);
    uint64_t end = base::align_up(s.vaddr + s.memsz, kPage);
    return tern_sys_vm_map_memory(task, options.image_memory, start, base::align_down(at, kPage),
                                  end - start, s.prot)
           >= 0;
}

struct TaskGuard {
    tern_handle_t task = TERN_INVALID_HANDLE;
    ~TaskGuard() {
        if (task != TERN_INVALID_HANDLE) {
            (void)tern_sys_task_kill(task, uint64_t(-1));
            (void)tern_sys_handle_close(task);
        }
    }
};

} // namespace

base::Result<Spawned> spawn_image(base::Span<const uint8_t> image, const SpawnOptions& options) {
    elf::LoadLimits limits;
    limits.user_end = TERN_STARTUP_STACK_TOP - TERN_STARTUP_STACK_SIZE - kPage;
    elf::LoadPlan plan;
    TRY(elf::parse(image, limits, plan));
    if (options.handle_count > TERN_STARTUP_MAX_HANDLES - 1) // one slot is the task's own
        return base::Error::TOO_BIG;

    base::StringView name = options.name.substr(0, 31);
    int64_t t = tern_sys_task_create(addr(name.data()), name.size());
    if (t < 0)
        return tern::sys_status(t);
    TaskGuard guard{tern_handle_t(t)};

    for (size_t i = 0; i < plan.segment_count; ++i) {
        const elf::Segment& s = plan.segments[i];
        if (map_segment(guard.task, s, options))
            continue;
        uint64_t start = base::align_down(s.vaddr, kPage);
        uint64_t end = base::align_up(s.vaddr + s.memsz, kPage);
        if (int64_t r = tern_sys_task_vm_allocate(guard.task, start, end - start, s.prot); r < 0)
            return tern::sys_status(r);
        // task_vm_write moves at most 1 MiB per call.
        for (uint64_t done = 0; done < s.filesz;) {
            uint64_t n = base::min<uint64_t>(s.filesz - done, 1u << 20);
            if (int64_t r = tern_sys_task_vm_write(guard.task, s.vaddr + done,
                                                   addr(image.data() + s.file_offset + done), n);
                r < 0)
                return tern::sys_status(r);
            done += n;
        }
    }

    constexpr uint64_t kStackBottom = TERN_STARTUP_STACK_TOP - TERN_STARTUP_STACK_SIZE;
    if (int64_t r = tern_sys_task_vm_allocate(guard.task, kStackBottom, TERN_STARTUP_STACK_SIZE,
                                              TERN_PROT_READ | TERN_PROT_WRITE);
        r < 0)
        return tern::sys_status(r);

    // The block is built for the largest size first and placed at the top afterwards, so
    // the child addresses depend on the final size: lay out with a provisional base of
    // zero, then relocate by rebuilding once the size is known.
    static uint8_t buffer[TERN_STARTUP_MAX_SIZE];
    tern_startup header = {};
    uint32_t argc = count(options.argv), envc = count(options.envp);
    size_t size = 0;
    for (int pass = 0; pass < 2; ++pass) {
        uint64_t base_address = TERN_STARTUP_STACK_TOP - base::align_up(size, size_t(16));
        BlockBuilder b(buffer, sizeof(buffer));
        TRY(b.reserve(sizeof(tern_startup)));
        header.magic = TERN_STARTUP_MAGIC;
        header.pid = options.pid;
        header.argc = argc;
        header.envc = envc;
        if (base::Error e = build_vector(b, options.argv, argc, base_address, &header.argv);
            e != base::Error::OK)
            return e;
        if (base::Error e = build_vector(b, options.envp, envc, base_address, &header.envp);
            e != base::Error::OK)
            return e;
        size = b.used();
        header.size = uint32_t(size);
    }
    uint64_t block_address = TERN_STARTUP_STACK_TOP - base::align_up(size, size_t(16));

    if (options.handle_count > TERN_STARTUP_MAX_HANDLES - 1)
        return base::Error::TOO_BIG;
    // The first thread, created stopped, with its stack below the block (16-byte aligned as
    // at a System V process entry). It comes before the task's handle to itself, which the
    // kernel refuses to a task without threads (the cycle would never be broken).
    int64_t thread =
        tern_sys_task_thread_create(guard.task, plan.entry, block_address - 16, block_address);
    if (thread < 0)
        return tern::sys_status(thread);
    struct ThreadGuard {
        tern_handle_t thread;
        ~ThreadGuard() {
            if (thread != TERN_INVALID_HANDLE)
                (void)tern_sys_handle_close(thread);
        }
    } thread_guard{tern_handle_t(thread)};
    int64_t self =
        tern_sys_task_give_handle(guard.task, guard.task, TERN_RIGHTS_ALL & ~TERN_RIGHT_RECEIVE);
    if (self < 0)
        return tern::sys_status(self);
    header.handles[header.handle_count++] = {TERN_STARTUP_SELF, tern_handle_t(self)};
    for (uint32_t i = 0; i < options.handle_count; ++i) {
        const SpawnHandle& h = options.handles[i];
        int64_t child = tern_sys_task_give_handle(guard.task, h.handle, h.rights);
        if (child < 0)
            return tern::sys_status(child);
        header.handles[header.handle_count++] = {h.kind, tern_handle_t(child)};
    }
    __builtin_memcpy(buffer, &header, sizeof(header));
    if (int64_t r = tern_sys_task_vm_write(guard.task, block_address, addr(buffer), size); r < 0)
        return tern::sys_status(r);
    if (!options.start_stopped) {
        if (int64_t r = tern_sys_thread_resume(uint64_t(thread)); r < 0)
            return tern::sys_status(r);
    }
    thread_guard.thread = TERN_INVALID_HANDLE;
    Spawned spawned{guard.task, tern_handle_t(thread)};
    guard.task = TERN_INVALID_HANDLE;
    return spawned;
}

} // namespace tern
