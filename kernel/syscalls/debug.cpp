// The console, the clock and node-wide figures.
#include <base/utility.h>
#include <kernel/arch/x86_64/serial.h>
#include <kernel/core/boot.h>
#include <kernel/core/clock.h>
#include <kernel/core/memory.h>
#include <kernel/lib/cmdline.h>
#include <kernel/object/kobject.h>
#include <kernel/syscalls/handlers.h>

namespace kernel {

SyscallResult sys_null() { return 0; }

SyscallResult sys_debug_write(UserBuffer text) {
    if (text.size() > 4096)
        return base::Error::TOO_BIG;
    if (!text.in_user_space() && text.size() != 0)
        return base::Error::BAD_ADDRESS;
    char chunk[256];
    for (uint64_t done = 0; done < text.size();) {
        size_t n = base::min<uint64_t>(sizeof(chunk), text.size() - done);
        TRY(text.read(done, chunk, n));
        x86_64::com1().write(chunk, n);
        done += n;
    }
    return text.size();
}

SyscallResult sys_clock_monotonic() { return monotonic_ns(); }

SyscallResult sys_clock_realtime() { return realtime_ns(); }

SyscallResult sys_node_id() { return boot_options().node_id; }

SyscallResult sys_memory_info(UserPtr<tern_memory_info> out) {
    MemoryStats stats = memory_stats();
    tern_memory_info info = {stats.total_bytes, uint64_t(stats.total_pages) * 4096,
                             uint64_t(stats.free_pages) * 4096, stats.heap_bytes_in_use,
                             obj::KObject::live_total()};
    TRY(out.write(info));
    return 0;
}

} // namespace kernel
