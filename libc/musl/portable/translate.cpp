// Tern's musl port: the translation rules (see translate.h). Freestanding and portable:
// compiled into the musl backend of every C program, into the kernel with the other
// portable sources, and into the host unit tests.

#include <libc/musl/portable/files.h>
#include <libc/musl/portable/translate.h>
#include <stddef.h>
#include <tern/abi/errors.h>
#include <tern/abi/syscalls.h>

namespace {

// The one table from Tern status codes to Linux errno values, in status order.
// X(tern status, Linux errno). Every code of <tern/abi/errors.h> has exactly one row; the
// static_assert below fails the build when a code is added there and not here.
//
// Where Tern's meaning is wider than any one errno, the row picks the errno a C program
// is least likely to misread; the vm_* calls refine it (tern_libc_vm_result).
#define TERN_ENUMERATE_ERRNO_MAP(X)                                                                \
    X(OK, 0)                                                                                       \
    X(NO_MEMORY, TERN_LINUX_ENOMEM)                                                                \
    X(INVALID_ARGUMENT, TERN_LINUX_EINVAL)                                                         \
    /* A handle is to Tern what a file descriptor is to POSIX. */                                  \
    X(BAD_HANDLE, TERN_LINUX_EBADF)                                                                \
    X(ACCESS_DENIED, TERN_LINUX_EACCES)                                                            \
    /* Like a descriptor of the wrong kind (writing to a read-only fd is EBADF). */                \
    X(WRONG_TYPE, TERN_LINUX_EBADF)                                                                \
    X(BAD_ADDRESS, TERN_LINUX_EFAULT)                                                              \
    X(TIMED_OUT, TERN_LINUX_ETIMEDOUT)                                                             \
    X(WOULD_BLOCK, TERN_LINUX_EAGAIN)                                                              \
    X(PEER_CLOSED, TERN_LINUX_EPIPE)                                                               \
    X(NOT_FOUND, TERN_LINUX_ENOENT)                                                                \
    X(ALREADY_EXISTS, TERN_LINUX_EEXIST)                                                           \
    X(OUT_OF_RANGE, TERN_LINUX_EINVAL)                                                             \
    /* Not EAGAIN: a program that retries on EAGAIN would spin on a quota forever. */              \
    X(QUOTA_EXCEEDED, TERN_LINUX_EDQUOT)                                                           \
    X(NOT_SUPPORTED, TERN_LINUX_EOPNOTSUPP)                                                        \
    X(BUSY, TERN_LINUX_EBUSY)                                                                      \
    X(BAD_STATE, TERN_LINUX_EINVAL)                                                                \
    X(NO_SPACE, TERN_LINUX_ENOBUFS)                                                                \
    X(INTERRUPTED, TERN_LINUX_EINTR)                                                               \
    X(CORRUPT, TERN_LINUX_EBADMSG)                                                                 \
    X(DOUBLE_FREE, TERN_LINUX_EINVAL)                                                              \
    X(MISALIGNED, TERN_LINUX_EINVAL)                                                               \
    X(NOT_OWNER, TERN_LINUX_EPERM)                                                                 \
    X(TOO_BIG, TERN_LINUX_E2BIG)                                                                   \
    X(NODE_DOWN, TERN_LINUX_EHOSTDOWN)                                                             \
    X(AMBIGUOUS, TERN_LINUX_ENOTUNIQ)

struct ErrnoRow {
    int status;
    int linux_errno;
};

constexpr ErrnoRow kErrnoMap[] = {
#define TERN_X_ERRNO_ROW(name, linux_errno) {TERN_##name, linux_errno},
    TERN_ENUMERATE_ERRNO_MAP(TERN_X_ERRNO_ROW)
#undef TERN_X_ERRNO_ROW
};

constexpr size_t kErrnoMapSize = sizeof(kErrnoMap) / sizeof(kErrnoMap[0]);

constexpr bool errno_map_in_status_order() {
    for (size_t i = 0; i < kErrnoMapSize; ++i) {
        if (kErrnoMap[i].status != static_cast<int>(i))
            return false;
    }
    return true;
}

static_assert(kErrnoMapSize == TERN_ERROR_COUNT_,
              "every tern_status needs exactly one row in the errno table");
static_assert(errno_map_in_status_order(), "the errno table must list the codes in order");

constexpr uint64_t kPageMask = TERN_LIBC_PAGE_SIZE - 1;

// Rounds a length up to whole pages; false when that overflows.
bool round_to_pages(uint64_t length, uint64_t& rounded) {
    if (length > UINT64_MAX - kPageMask)
        return false;
    rounded = (length + kPageMask) & ~kPageMask;
    return true;
}

} // namespace

extern "C" {

int tern_libc_errno_from_status(int64_t status) {
    if (status < 0 || static_cast<uint64_t>(status) >= kErrnoMapSize)
        return TERN_LINUX_EIO;
    return kErrnoMap[status].linux_errno;
}

int64_t tern_libc_linux_result(int64_t tern_result) {
    if (tern_result >= 0)
        return tern_result;
    // -INT64_MIN does not exist; such a result is no status at all.
    if (tern_result == INT64_MIN)
        return -TERN_LINUX_EIO;
    return -tern_libc_errno_from_status(-tern_result);
}

int64_t tern_libc_vm_result(enum tern_libc_vm_call call, int64_t tern_result) {
    if (tern_result >= 0)
        return tern_result;
    switch (-tern_result) {
    case TERN_NO_MEMORY:
    case TERN_QUOTA_EXCEEDED:
    case TERN_NO_SPACE:
        return -TERN_LINUX_ENOMEM;
    case TERN_MISALIGNED:
        return -TERN_LINUX_EINVAL;
    case TERN_NOT_FOUND:
        // POSIX: munmap of a range with nothing mapped succeeds; mprotect of one fails.
        if (call == TERN_LIBC_VM_FREE)
            return 0;
        if (call == TERN_LIBC_VM_PROTECT)
            return -TERN_LINUX_ENOMEM;
        break;
    default:
        break;
    }
    return tern_libc_linux_result(tern_result);
}

int tern_libc_prot_from_linux(uint64_t linux_prot, uint32_t* tern_prot) {
    constexpr uint64_t kKnown = TERN_LINUX_PROT_READ | TERN_LINUX_PROT_WRITE | TERN_LINUX_PROT_EXEC;
    if (linux_prot & ~kKnown)
        return -TERN_LINUX_EINVAL;
    bool write = linux_prot & TERN_LINUX_PROT_WRITE;
    bool exec = linux_prot & TERN_LINUX_PROT_EXEC;
    if (write && exec)
        return -TERN_LINUX_EACCES;
    uint32_t prot = 0;
    if (linux_prot != 0)
        prot |= TERN_PROT_READ;
    if (write)
        prot |= TERN_PROT_WRITE;
    if (exec)
        prot |= TERN_PROT_EXEC;
    *tern_prot = prot;
    return 0;
}

int tern_libc_plan_mmap(uint64_t addr, uint64_t length, uint64_t prot, uint64_t flags, int64_t fd,
                        uint64_t offset, struct tern_libc_mmap_plan* plan) {
    (void)fd;
    if (length == 0 || (offset & kPageMask) != 0)
        return -TERN_LINUX_EINVAL;
    uint64_t type = flags & TERN_LINUX_MAP_TYPE;
    if (type != TERN_LINUX_MAP_PRIVATE && type != TERN_LINUX_MAP_SHARED
        && type != TERN_LINUX_MAP_SHARED_VALIDATE)
        return -TERN_LINUX_EINVAL;
    uint32_t fixed = TERN_LIBC_MAP_ANYWHERE;
    if (flags & TERN_LINUX_MAP_FIXED)
        fixed = TERN_LIBC_MAP_REPLACE;
    else if (flags & TERN_LINUX_MAP_FIXED_NOREPLACE)
        fixed = TERN_LIBC_MAP_NOREPLACE;
    if (fixed != TERN_LIBC_MAP_ANYWHERE && (addr & kPageMask) != 0)
        return -TERN_LINUX_EINVAL;
    if (fixed != TERN_LIBC_MAP_ANYWHERE && addr == 0)
        return -TERN_LINUX_EPERM;
    constexpr uint64_t kUnsupported = TERN_LINUX_MAP_GROWSDOWN | TERN_LINUX_MAP_HUGETLB
                                      | TERN_LINUX_MAP_32BIT | TERN_LINUX_MAP_SYNC;
    if (flags & kUnsupported)
        return -TERN_LINUX_EINVAL;
    uint32_t tern_prot = 0;
    if (int r = tern_libc_prot_from_linux(prot, &tern_prot); r != 0)
        return r;
    uint64_t size = 0;
    if (!round_to_pages(length, size))
        return -TERN_LINUX_ENOMEM;
    bool file = !(flags & TERN_LINUX_MAP_ANONYMOUS);
    if (file && (offset > uint64_t(INT64_MAX) || size > uint64_t(INT64_MAX) - offset))
        return -TERN_LINUX_ENOMEM;
    plan->size = size;
    plan->address = fixed != TERN_LIBC_MAP_ANYWHERE ? addr : 0;
    plan->offset = file ? offset : 0;
    plan->prot = tern_prot;
    plan->shared = type != TERN_LINUX_MAP_PRIVATE;
    plan->file = file;
    plan->fixed = fixed;
    return 0;
}

int tern_libc_mmap_source(uint32_t kind, int file_server, uint32_t open_flags, int shared,
                          uint64_t prot, uint32_t* how) {
    uint32_t access = open_flags & TERN_LINUX_O_ACCMODE;
    if (shared && (prot & TERN_LINUX_PROT_WRITE) && access != TERN_LINUX_O_RDWR)
        return -TERN_LINUX_EACCES;
    if (access == TERN_LINUX_O_WRONLY)
        return -TERN_LINUX_EACCES;
    if (kind != TERN_LIBC_FD_FILE)
        return -TERN_LINUX_ENODEV;
    *how = shared && file_server ? TERN_LIBC_MAP_OBJECT : TERN_LIBC_MAP_COPY;
    return 0;
}

int tern_libc_msync_check(uint64_t addr, uint64_t flags) {
    constexpr uint64_t kKnown = TERN_LINUX_MS_ASYNC | TERN_LINUX_MS_INVALIDATE | TERN_LINUX_MS_SYNC;
    if ((addr & kPageMask) != 0 || (flags & ~kKnown) != 0)
        return -TERN_LINUX_EINVAL;
    if ((flags & TERN_LINUX_MS_ASYNC) && (flags & TERN_LINUX_MS_SYNC))
        return -TERN_LINUX_EINVAL;
    return 0;
}

int tern_libc_page_range(uint64_t addr, uint64_t length, uint64_t* size) {
    if ((addr & kPageMask) != 0 || length == 0)
        return -TERN_LINUX_EINVAL;
    if (!round_to_pages(length, *size))
        return -TERN_LINUX_ENOMEM;
    return 0;
}

int tern_libc_timespec_to_ns(int64_t seconds, int64_t nanoseconds, uint64_t* ns) {
    constexpr uint64_t kNsPerSecond = 1000000000ull;
    if (seconds < 0 || nanoseconds < 0 || static_cast<uint64_t>(nanoseconds) >= kNsPerSecond)
        return -TERN_LINUX_EINVAL;
    uint64_t s = static_cast<uint64_t>(seconds);
    if (s > (UINT64_MAX - static_cast<uint64_t>(nanoseconds)) / kNsPerSecond) {
        *ns = UINT64_MAX;
        return 0;
    }
    *ns = s * kNsPerSecond + static_cast<uint64_t>(nanoseconds);
    return 0;
}

int tern_libc_clock_supported(int64_t clock_id) {
    switch (clock_id) {
    case TERN_LINUX_CLOCK_REALTIME:
    case TERN_LINUX_CLOCK_MONOTONIC:
    case TERN_LINUX_CLOCK_MONOTONIC_RAW:
    case TERN_LINUX_CLOCK_REALTIME_COARSE:
    case TERN_LINUX_CLOCK_MONOTONIC_COARSE:
    case TERN_LINUX_CLOCK_BOOTTIME:
        return 1;
    default:
        return 0;
    }
}

} // extern "C"
