// The translation rules of Tern's musl backend (libc/musl/portable/translate.h): the
// errno table, PROT_* bits, mmap checks, page ranges, time conversion and clock ids.
#include <catch2/catch.hpp>

#include <errno.h>
#include <fcntl.h>
#include <libc/musl/portable/files.h>
#include <libc/musl/portable/translate.h>
#include <sys/mman.h>
#include <tern/abi/errors.h>
#include <tern/abi/syscalls.h>
#include <time.h>

// The host is Linux on x86-64: its headers state the same ABI the translation spells out.
#define TERN_X_CHECK_HOST_ERRNO(name, value)                                                       \
    static_assert(TERN_LINUX_##name == name, "Linux " #name " differs from the host's");
TERN_ENUMERATE_LINUX_ERRNOS(TERN_X_CHECK_HOST_ERRNO)
#undef TERN_X_CHECK_HOST_ERRNO
static_assert(TERN_LINUX_MAP_ANONYMOUS == MAP_ANONYMOUS && TERN_LINUX_MAP_FIXED == MAP_FIXED
              && TERN_LINUX_MAP_PRIVATE == MAP_PRIVATE && TERN_LINUX_MAP_SHARED == MAP_SHARED);
static_assert(TERN_LINUX_MS_ASYNC == MS_ASYNC && TERN_LINUX_MS_SYNC == MS_SYNC
              && TERN_LINUX_MS_INVALIDATE == MS_INVALIDATE);
static_assert(TERN_LINUX_CLOCK_MONOTONIC == CLOCK_MONOTONIC
              && TERN_LINUX_CLOCK_PROCESS_CPUTIME_ID == CLOCK_PROCESS_CPUTIME_ID);

namespace {

constexpr uint64_t kAnonPrivate = MAP_PRIVATE | MAP_ANONYMOUS;

int64_t err(int status) { return -int64_t(status); }

} // namespace

TEST_CASE("every Tern status has an errno, and the common ones are the POSIX ones") {
    CHECK(tern_libc_errno_from_status(TERN_OK) == 0);
    CHECK(tern_libc_errno_from_status(TERN_NO_MEMORY) == ENOMEM);
    CHECK(tern_libc_errno_from_status(TERN_INVALID_ARGUMENT) == EINVAL);
    CHECK(tern_libc_errno_from_status(TERN_BAD_HANDLE) == EBADF);
    CHECK(tern_libc_errno_from_status(TERN_ACCESS_DENIED) == EACCES);
    CHECK(tern_libc_errno_from_status(TERN_BAD_ADDRESS) == EFAULT);
    CHECK(tern_libc_errno_from_status(TERN_TIMED_OUT) == ETIMEDOUT);
    CHECK(tern_libc_errno_from_status(TERN_WOULD_BLOCK) == EAGAIN);
    CHECK(tern_libc_errno_from_status(TERN_PEER_CLOSED) == EPIPE);
    CHECK(tern_libc_errno_from_status(TERN_NOT_FOUND) == ENOENT);
    CHECK(tern_libc_errno_from_status(TERN_ALREADY_EXISTS) == EEXIST);
    CHECK(tern_libc_errno_from_status(TERN_NOT_SUPPORTED) == EOPNOTSUPP);
    CHECK(tern_libc_errno_from_status(TERN_BUSY) == EBUSY);
    CHECK(tern_libc_errno_from_status(TERN_INTERRUPTED) == EINTR);
    CHECK(tern_libc_errno_from_status(TERN_MISALIGNED) == EINVAL);
    CHECK(tern_libc_errno_from_status(TERN_NOT_OWNER) == EPERM);
    // A quota is not "try again": a program looping on EAGAIN would spin forever.
    CHECK(tern_libc_errno_from_status(TERN_QUOTA_EXCEEDED) == EDQUOT);
    for (int status = 1; status < TERN_ERROR_COUNT_; ++status) {
        INFO("status " << status);
        CHECK(tern_libc_errno_from_status(status) > 0);
    }
}

TEST_CASE("statuses outside the table become EIO") {
    CHECK(tern_libc_errno_from_status(TERN_ERROR_COUNT_) == EIO);
    CHECK(tern_libc_errno_from_status(1000000) == EIO);
    CHECK(tern_libc_errno_from_status(-1) == EIO);
    CHECK(tern_libc_errno_from_status(INT64_MIN) == EIO);
}

TEST_CASE("raw results: success passes through, errors become negated errnos") {
    CHECK(tern_libc_linux_result(0) == 0);
    CHECK(tern_libc_linux_result(4096) == 4096);
    CHECK(tern_libc_linux_result(INT64_MAX) == INT64_MAX);
    CHECK(tern_libc_linux_result(err(TERN_BAD_ADDRESS)) == -EFAULT);
    CHECK(tern_libc_linux_result(err(TERN_TOO_BIG)) == -E2BIG);
    CHECK(tern_libc_linux_result(-9999) == -EIO);
    CHECK(tern_libc_linux_result(INT64_MIN) == -EIO);
}

TEST_CASE("vm results take the errors POSIX gives mmap, munmap and mprotect") {
    for (auto call : {TERN_LIBC_VM_ALLOCATE, TERN_LIBC_VM_FREE, TERN_LIBC_VM_PROTECT}) {
        CHECK(tern_libc_vm_result(call, 0x7000) == 0x7000);
        CHECK(tern_libc_vm_result(call, err(TERN_NO_MEMORY)) == -ENOMEM);
        CHECK(tern_libc_vm_result(call, err(TERN_QUOTA_EXCEEDED)) == -ENOMEM);
        CHECK(tern_libc_vm_result(call, err(TERN_NO_SPACE)) == -ENOMEM);
        CHECK(tern_libc_vm_result(call, err(TERN_MISALIGNED)) == -EINVAL);
        CHECK(tern_libc_vm_result(call, err(TERN_INVALID_ARGUMENT)) == -EINVAL);
    }
    // Unmapping nothing succeeds; protecting nothing is ENOMEM.
    CHECK(tern_libc_vm_result(TERN_LIBC_VM_FREE, err(TERN_NOT_FOUND)) == 0);
    CHECK(tern_libc_vm_result(TERN_LIBC_VM_PROTECT, err(TERN_NOT_FOUND)) == -ENOMEM);
    CHECK(tern_libc_vm_result(TERN_LIBC_VM_ALLOCATE, err(TERN_NOT_FOUND)) == -ENOENT);
}

TEST_CASE("PROT bits map to TERN_PROT bits with W^X") {
    uint32_t prot = 0xdead;
    REQUIRE(tern_libc_prot_from_linux(PROT_NONE, &prot) == 0);
    CHECK(prot == 0);
    REQUIRE(tern_libc_prot_from_linux(PROT_READ, &prot) == 0);
    CHECK(prot == TERN_PROT_READ);
    REQUIRE(tern_libc_prot_from_linux(PROT_READ | PROT_WRITE, &prot) == 0);
    CHECK(prot == (TERN_PROT_READ | TERN_PROT_WRITE));
    REQUIRE(tern_libc_prot_from_linux(PROT_READ | PROT_EXEC, &prot) == 0);
    CHECK(prot == (TERN_PROT_READ | TERN_PROT_EXEC));
    // x86 pages cannot be write-only or execute-only: they are readable too.
    REQUIRE(tern_libc_prot_from_linux(PROT_WRITE, &prot) == 0);
    CHECK(prot == (TERN_PROT_READ | TERN_PROT_WRITE));
    REQUIRE(tern_libc_prot_from_linux(PROT_EXEC, &prot) == 0);
    CHECK(prot == (TERN_PROT_READ | TERN_PROT_EXEC));

    prot = 0xdead;
    CHECK(tern_libc_prot_from_linux(PROT_WRITE | PROT_EXEC, &prot) == -EACCES);
    CHECK(tern_libc_prot_from_linux(PROT_READ | PROT_WRITE | PROT_EXEC, &prot) == -EACCES);
    CHECK(tern_libc_prot_from_linux(PROT_READ | PROT_GROWSDOWN, &prot) == -EINVAL);
    CHECK(tern_libc_prot_from_linux(PROT_READ | PROT_GROWSUP, &prot) == -EINVAL);
    CHECK(tern_libc_prot_from_linux(0x8, &prot) == -EINVAL);
    CHECK(prot == 0xdead); // untouched on failure
}

TEST_CASE("mmap: private anonymous requests are planned in whole pages") {
    struct tern_libc_mmap_plan plan {};
    REQUIRE(tern_libc_plan_mmap(0, 1, PROT_READ | PROT_WRITE, kAnonPrivate, -1, 0, &plan) == 0);
    CHECK(plan.size == 4096);
    CHECK(plan.prot == (TERN_PROT_READ | TERN_PROT_WRITE));
    REQUIRE(tern_libc_plan_mmap(0, 4096, PROT_READ, kAnonPrivate, -1, 0, &plan) == 0);
    CHECK(plan.size == 4096);
    REQUIRE(tern_libc_plan_mmap(0, 10 << 20, PROT_NONE, kAnonPrivate, -1, 0, &plan) == 0);
    CHECK(plan.size == 10u << 20);
    CHECK(plan.prot == 0);
    // A hint without MAP_FIXED is ignored; harmless flags are accepted; the fd of an
    // anonymous mapping does not matter.
    CHECK(tern_libc_plan_mmap(0x12345000, 8192, PROT_READ, kAnonPrivate, -1, 0, &plan) == 0);
    CHECK(tern_libc_plan_mmap(0, 8192, PROT_READ,
                              kAnonPrivate | MAP_NORESERVE | MAP_POPULATE | MAP_STACK, 7, 0, &plan)
          == 0);
}

TEST_CASE("mmap: shared, file and fixed requests are planned") {
    struct tern_libc_mmap_plan plan {};
    REQUIRE(tern_libc_plan_mmap(0, 100, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0, &plan) == 0);
    CHECK(plan.shared == 1);
    CHECK(plan.file == 0);
    CHECK(plan.fixed == TERN_LIBC_MAP_ANYWHERE);
    CHECK(plan.offset == 0);
    REQUIRE(
        tern_libc_plan_mmap(0, 4096, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0, &plan)
        == 0);
    CHECK(plan.shared == 1);
    REQUIRE(tern_libc_plan_mmap(0, 5000, PROT_READ | PROT_WRITE, MAP_SHARED, 3, 8192, &plan) == 0);
    CHECK(plan.file == 1);
    CHECK(plan.shared == 1);
    CHECK(plan.offset == 8192);
    CHECK(plan.size == 8192);
    REQUIRE(tern_libc_plan_mmap(0, 4096, PROT_READ, MAP_PRIVATE, 3, 0, &plan) == 0);
    CHECK(plan.file == 1);
    CHECK(plan.shared == 0);
    REQUIRE(tern_libc_plan_mmap(0x10000000, 4096, PROT_READ, kAnonPrivate | MAP_FIXED, -1, 0, &plan)
            == 0);
    CHECK(plan.fixed == TERN_LIBC_MAP_REPLACE);
    CHECK(plan.address == 0x10000000);
    REQUIRE(tern_libc_plan_mmap(0x10000000, 4096, PROT_READ, kAnonPrivate | MAP_FIXED_NOREPLACE, -1,
                                0, &plan)
            == 0);
    CHECK(plan.fixed == TERN_LIBC_MAP_NOREPLACE);
    // A hint without MAP_FIXED is not an address to keep.
    REQUIRE(tern_libc_plan_mmap(0x10000000, 4096, PROT_READ, kAnonPrivate, -1, 0, &plan) == 0);
    CHECK(plan.address == 0);
}

TEST_CASE("mmap: what Tern cannot serve is refused with the POSIX errno") {
    struct tern_libc_mmap_plan plan {};
    CHECK(tern_libc_plan_mmap(0, 0, PROT_READ, kAnonPrivate, -1, 0, &plan) == -EINVAL);
    CHECK(tern_libc_plan_mmap(0, 4096, PROT_READ, kAnonPrivate, -1, 100, &plan) == -EINVAL);
    CHECK(tern_libc_plan_mmap(0, 4096, PROT_READ, MAP_PRIVATE, 3, 100, &plan) == -EINVAL);
    CHECK(tern_libc_plan_mmap(0, 4096, PROT_READ, MAP_ANONYMOUS, -1, 0, &plan) == -EINVAL);
    CHECK(tern_libc_plan_mmap(0, 4096, PROT_READ, 0x0f | MAP_ANONYMOUS, -1, 0, &plan) == -EINVAL);
    CHECK(tern_libc_plan_mmap(0x10000100, 4096, PROT_READ, kAnonPrivate | MAP_FIXED, -1, 0, &plan)
          == -EINVAL);
    CHECK(tern_libc_plan_mmap(0, 4096, PROT_READ, kAnonPrivate | MAP_FIXED, -1, 0, &plan)
          == -EPERM);
    for (uint64_t flag : {uint64_t(MAP_GROWSDOWN), uint64_t(MAP_HUGETLB), uint64_t(MAP_32BIT),
                          uint64_t(MAP_SYNC)}) {
        INFO("flag " << flag);
        CHECK(tern_libc_plan_mmap(0, 4096, PROT_READ, kAnonPrivate | flag, -1, 0, &plan)
              == -EINVAL);
    }
    CHECK(tern_libc_plan_mmap(0, 4096, PROT_WRITE | PROT_EXEC, kAnonPrivate, -1, 0, &plan)
          == -EACCES);
    CHECK(tern_libc_plan_mmap(0, 4096, 0x10, kAnonPrivate, -1, 0, &plan) == -EINVAL);
    // A length whose page rounding overflows does not fit anywhere.
    CHECK(tern_libc_plan_mmap(0, UINT64_MAX, PROT_READ, kAnonPrivate, -1, 0, &plan) == -ENOMEM);
    CHECK(tern_libc_plan_mmap(0, UINT64_MAX - 4094, PROT_READ, kAnonPrivate, -1, 0, &plan)
          == -ENOMEM);
    // Nor does a file mapping past the largest file.
    CHECK(tern_libc_plan_mmap(0, 8192, PROT_READ, MAP_PRIVATE, 3, uint64_t(INT64_MAX) & ~4095ull,
                              &plan)
          == -ENOMEM);
}

TEST_CASE("mmap: a descriptor's file is mapped as Linux allows") {
    uint32_t how = 0;
    // Shared mappings of a file server's file map its memory object; the rest are copies.
    CHECK(tern_libc_mmap_source(TERN_LIBC_FD_FILE, 1, O_RDWR, 1, PROT_READ | PROT_WRITE, &how)
          == 0);
    CHECK(how == TERN_LIBC_MAP_OBJECT);
    CHECK(tern_libc_mmap_source(TERN_LIBC_FD_FILE, 1, O_RDONLY, 1, PROT_READ, &how) == 0);
    CHECK(how == TERN_LIBC_MAP_OBJECT);
    CHECK(tern_libc_mmap_source(TERN_LIBC_FD_FILE, 1, O_RDONLY, 0, PROT_READ | PROT_WRITE, &how)
          == 0);
    CHECK(how == TERN_LIBC_MAP_COPY);
    CHECK(tern_libc_mmap_source(TERN_LIBC_FD_FILE, 0, O_RDONLY, 1, PROT_READ, &how) == 0);
    CHECK(how == TERN_LIBC_MAP_COPY);
    // Writing through a shared mapping needs O_RDWR; any mapping needs read access.
    CHECK(tern_libc_mmap_source(TERN_LIBC_FD_FILE, 1, O_RDONLY, 1, PROT_WRITE, &how) == -EACCES);
    CHECK(tern_libc_mmap_source(TERN_LIBC_FD_FILE, 1, O_WRONLY, 1, PROT_WRITE, &how) == -EACCES);
    CHECK(tern_libc_mmap_source(TERN_LIBC_FD_FILE, 1, O_WRONLY, 0, PROT_READ, &how) == -EACCES);
    CHECK(tern_libc_mmap_source(TERN_LIBC_FD_FILE, 0, O_RDONLY, 1, PROT_WRITE, &how) == -EACCES);
    // Only regular files can be mapped.
    CHECK(tern_libc_mmap_source(TERN_LIBC_FD_CONSOLE, 0, O_RDWR, 0, PROT_READ, &how) == -ENODEV);
    CHECK(tern_libc_mmap_source(TERN_LIBC_FD_PIPE_READ, 0, O_RDONLY, 0, PROT_READ, &how)
          == -ENODEV);
    CHECK(tern_libc_mmap_source(TERN_LIBC_FD_DIRECTORY, 1, O_RDONLY, 0, PROT_READ, &how)
          == -ENODEV);
    CHECK(tern_libc_mmap_source(TERN_LIBC_FD_SOCKET, 0, O_RDWR, 1, PROT_READ, &how) == -ENODEV);
}

TEST_CASE("msync: flags and alignment") {
    CHECK(tern_libc_msync_check(0x10000, MS_SYNC) == 0);
    CHECK(tern_libc_msync_check(0x10000, MS_ASYNC | MS_INVALIDATE) == 0);
    CHECK(tern_libc_msync_check(0x10000, 0) == 0);
    CHECK(tern_libc_msync_check(0x10001, MS_SYNC) == -EINVAL);
    CHECK(tern_libc_msync_check(0x10000, MS_SYNC | MS_ASYNC) == -EINVAL);
    CHECK(tern_libc_msync_check(0x10000, 8) == -EINVAL);
}

TEST_CASE("munmap and mprotect ranges: aligned start, non-zero length, rounded up") {
    uint64_t size = 0;
    REQUIRE(tern_libc_page_range(0x10000, 1, &size) == 0);
    CHECK(size == 4096);
    REQUIRE(tern_libc_page_range(0x10000, 8192, &size) == 0);
    CHECK(size == 8192);
    REQUIRE(tern_libc_page_range(0x10000, 8193, &size) == 0);
    CHECK(size == 12288);
    CHECK(tern_libc_page_range(0x10001, 4096, &size) == -EINVAL);
    CHECK(tern_libc_page_range(0x10000, 0, &size) == -EINVAL);
    CHECK(tern_libc_page_range(0x10000, UINT64_MAX, &size) == -ENOMEM);
}

TEST_CASE("timespecs become nanoseconds; invalid ones are EINVAL; huge ones saturate") {
    uint64_t ns = 1;
    REQUIRE(tern_libc_timespec_to_ns(0, 0, &ns) == 0);
    CHECK(ns == 0);
    REQUIRE(tern_libc_timespec_to_ns(2, 500, &ns) == 0);
    CHECK(ns == 2000000500ull);
    REQUIRE(tern_libc_timespec_to_ns(0, 999999999, &ns) == 0);
    CHECK(ns == 999999999ull);
    REQUIRE(tern_libc_timespec_to_ns(18446744073ll, 709551615, &ns) == 0);
    CHECK(ns == UINT64_MAX);
    REQUIRE(tern_libc_timespec_to_ns(18446744073ll, 709551616, &ns) == 0);
    CHECK(ns == UINT64_MAX);
    REQUIRE(tern_libc_timespec_to_ns(INT64_MAX, 0, &ns) == 0);
    CHECK(ns == UINT64_MAX);
    REQUIRE(tern_libc_timespec_to_ns(18446744072ll, 999999999, &ns) == 0);
    CHECK(ns == 18446744072999999999ull);
    CHECK(tern_libc_timespec_to_ns(-1, 0, &ns) == -EINVAL);
    CHECK(tern_libc_timespec_to_ns(0, -1, &ns) == -EINVAL);
    CHECK(tern_libc_timespec_to_ns(0, 1000000000, &ns) == -EINVAL);
}

TEST_CASE("the wall and monotonic clocks are served; CPU-time clocks are not") {
    CHECK(tern_libc_clock_supported(CLOCK_REALTIME));
    CHECK(tern_libc_clock_supported(CLOCK_MONOTONIC));
    CHECK(tern_libc_clock_supported(CLOCK_MONOTONIC_RAW));
    CHECK(tern_libc_clock_supported(CLOCK_REALTIME_COARSE));
    CHECK(tern_libc_clock_supported(CLOCK_MONOTONIC_COARSE));
    CHECK(tern_libc_clock_supported(CLOCK_BOOTTIME));
    CHECK_FALSE(tern_libc_clock_supported(CLOCK_PROCESS_CPUTIME_ID));
    CHECK_FALSE(tern_libc_clock_supported(CLOCK_THREAD_CPUTIME_ID));
    CHECK_FALSE(tern_libc_clock_supported(-2)); // a per-process CPU clock id
    CHECK_FALSE(tern_libc_clock_supported(100));
}
