// Tern's musl port: resource limits (see rlimits.h).
#include <libc/musl/portable/rlimits.h>
#include <libc/musl/portable/translate.h>

extern "C" {

void tern_libc_rlimits_init(struct tern_libc_rlimit limits[TERN_LIBC_RLIMIT_COUNT],
                            uint64_t stack_bytes) {
    for (int i = 0; i < TERN_LIBC_RLIMIT_COUNT; ++i)
        limits[i] = {TERN_LIBC_RLIM_INFINITY, TERN_LIBC_RLIM_INFINITY};
    constexpr uint64_t kQuota = 256ull << 20; // the kernel's memory quota per task
    limits[TERN_LINUX_RLIMIT_NOFILE] = {64, 64};
    limits[TERN_LINUX_RLIMIT_STACK] = {stack_bytes, stack_bytes};
    limits[TERN_LINUX_RLIMIT_AS] = {kQuota, kQuota};
    limits[TERN_LINUX_RLIMIT_DATA] = {kQuota, kQuota};
    limits[TERN_LINUX_RLIMIT_NPROC] = {256, 256};
    limits[TERN_LINUX_RLIMIT_CORE] = {0, TERN_LIBC_RLIM_INFINITY};
    limits[TERN_LINUX_RLIMIT_MEMLOCK] = {8ull << 20, 8ull << 20};
    limits[TERN_LINUX_RLIMIT_MSGQUEUE] = {819200, 819200};
    limits[TERN_LINUX_RLIMIT_SIGPENDING] = {64, 64};
    limits[TERN_LINUX_RLIMIT_NICE] = {0, 0};
    limits[TERN_LINUX_RLIMIT_RTPRIO] = {0, 0};
}

int tern_libc_rlimit_exchange(struct tern_libc_rlimit limits[TERN_LIBC_RLIMIT_COUNT],
                              int64_t resource, const struct tern_libc_rlimit* new_limit,
                              struct tern_libc_rlimit* old) {
    if (resource < 0 || resource >= TERN_LIBC_RLIMIT_COUNT)
        return -TERN_LINUX_EINVAL;
    struct tern_libc_rlimit& limit = limits[resource];
    if (new_limit) {
        if (new_limit->current > new_limit->maximum)
            return -TERN_LINUX_EINVAL;
        if (new_limit->maximum > limit.maximum)
            return -TERN_LINUX_EPERM;
    }
    if (old)
        *old = limit;
    if (new_limit)
        limit = *new_limit;
    return 0;
}

int tern_libc_rlimits_valid(const struct tern_libc_rlimit limits[TERN_LIBC_RLIMIT_COUNT]) {
    for (int i = 0; i < TERN_LIBC_RLIMIT_COUNT; ++i)
        if (limits[i].current > limits[i].maximum)
            return 0;
    return 1;
}

} // extern "C"
