// memstat: the node's memory as `name: value unit` lines: what the kernel's allocators
// hand out in all, what each process holds privately (from proc's table), and the kernel's
// share (the rest). Shared memory objects (the boot file system archive) are not counted
// against processes; the boot modules themselves sit outside the managed pages.
#include <tern/abi/task.h>
#include <tern/print.h>
#include <tern/process.h>
#include <tern/protocols/proc.h>
#include <tern/syscall.h>

using namespace tern;

extern "C" int main(uint64_t) {
    tern_memory_info info = {};
    if (tern_sys_memory_info(reinterpret_cast<uint64_t>(&info)) < 0) {
        tern::println("memstat: memory_info failed");
        return 1;
    }
    static proc::ProcessInfo infos[proc::kMaxProcesses];
    uint32_t size = 0;
    proto::CallParts parts;
    parts.out_data = {reinterpret_cast<uint8_t*>(infos), sizeof(infos)};
    parts.out_data_size = &size;
    auto r = proto::call<proc::List>(proc_server(), {}, parts);
    if (r.is_error() || size != r.value().count * sizeof(proc::ProcessInfo)) {
        tern::println("memstat: proc List failed");
        return 1;
    }
    uint64_t in_use = info.managed_bytes - info.free_bytes;
    uint64_t processes = 0;
    for (uint32_t i = 0; i < r.value().count; ++i) {
        if (infos[i].state != proc::kStateRunning)
            continue;
        processes += infos[i].memory_bytes;
        tern::println("memory.process.{}: {} KiB", base::StringView(infos[i].name),
                      infos[i].memory_bytes / 1024);
    }
    tern::println("memory.processes: {} KiB", processes / 1024);
    tern::println("memory.kernel: {} KiB", (in_use - processes) / 1024);
    tern::println("memory.kernel_heap: {} KiB", info.kernel_heap_bytes / 1024);
    tern::println("memory.in_use: {} KiB", in_use / 1024);
    tern::println("memory.managed: {} KiB", info.managed_bytes / 1024);
    // Usable RAM the allocator does not manage: the kernel image, the boot modules (the
    // boot file system archive among them) and the boot-time tables.
    tern::println("memory.boot_image: {} KiB", (info.total_bytes - info.managed_bytes) / 1024);
    tern::println("memory.node_total: {} KiB",
                  (in_use + info.total_bytes - info.managed_bytes) / 1024);
    return 0;
}
