/*
 * Tern's musl port: the pure rules that turn Linux system call arguments and results into
 * Tern's and back.
 *
 * musl speaks the Linux system call interface; libc/musl/backend.c answers it with Tern's
 * kernel calls. Everything in that translation that is a rule rather than an action (which
 * errno a Tern status becomes, which PROT_* bits mean which TERN_PROT_* bits, which mmap
 * requests Tern can serve) lives here, in code that touches no hardware, so the host unit
 * tests (tests/unit/libc_backend_test.cpp) check the same rules the backend runs.
 *
 * Valid C and C++: the backend is C compiled against musl's headers, the tests are C++.
 * The Linux constants below are the x86-64 Linux ABI values; the backend checks each one
 * against musl's own headers at compile time, so the two cannot drift apart.
 */
#ifndef TERN_LIBC_MUSL_TRANSLATE_H
#define TERN_LIBC_MUSL_TRANSLATE_H

#include <stdint.h>

/* The Linux errno values the translation produces: X(name, value). */
#define TERN_ENUMERATE_LINUX_ERRNOS(X)                                                             \
    X(EPERM, 1)                                                                                    \
    X(ENOENT, 2)                                                                                   \
    X(ESRCH, 3)                                                                                    \
    X(EINTR, 4)                                                                                    \
    X(EIO, 5)                                                                                      \
    X(ENXIO, 6)                                                                                    \
    X(E2BIG, 7)                                                                                    \
    X(ENOEXEC, 8)                                                                                  \
    X(EBADF, 9)                                                                                    \
    X(EAGAIN, 11)                                                                                  \
    X(ENOMEM, 12)                                                                                  \
    X(EACCES, 13)                                                                                  \
    X(EFAULT, 14)                                                                                  \
    X(EBUSY, 16)                                                                                   \
    X(EEXIST, 17)                                                                                  \
    X(EXDEV, 18)                                                                                   \
    X(ENODEV, 19)                                                                                  \
    X(ENOTDIR, 20)                                                                                 \
    X(EISDIR, 21)                                                                                  \
    X(EINVAL, 22)                                                                                  \
    X(EMFILE, 24)                                                                                  \
    X(ENOTTY, 25)                                                                                  \
    X(EFBIG, 27)                                                                                   \
    X(ENOSPC, 28)                                                                                  \
    X(ESPIPE, 29)                                                                                  \
    X(EROFS, 30)                                                                                   \
    X(EPIPE, 32)                                                                                   \
    X(EDOM, 33)                                                                                    \
    X(ERANGE, 34)                                                                                  \
    X(ENAMETOOLONG, 36)                                                                            \
    X(ENOSYS, 38)                                                                                  \
    X(ENOTEMPTY, 39)                                                                               \
    X(ELOOP, 40)                                                                                   \
    X(EBADMSG, 74)                                                                                 \
    X(EOVERFLOW, 75)                                                                               \
    X(ENOTUNIQ, 76)                                                                                \
    X(ENOTSOCK, 88)                                                                                \
    X(EDESTADDRREQ, 89)                                                                            \
    X(EMSGSIZE, 90)                                                                                \
    X(ENOPROTOOPT, 92)                                                                             \
    X(EPROTONOSUPPORT, 93)                                                                         \
    X(EOPNOTSUPP, 95)                                                                              \
    X(EAFNOSUPPORT, 97)                                                                            \
    X(EADDRINUSE, 98)                                                                              \
    X(EADDRNOTAVAIL, 99)                                                                           \
    X(ECONNABORTED, 103)                                                                           \
    X(ECONNRESET, 104)                                                                             \
    X(ENOBUFS, 105)                                                                                \
    X(EISCONN, 106)                                                                                \
    X(ENOTCONN, 107)                                                                               \
    X(ETIMEDOUT, 110)                                                                              \
    X(ECONNREFUSED, 111)                                                                           \
    X(EHOSTDOWN, 112)                                                                              \
    X(EALREADY, 114)                                                                               \
    X(EINPROGRESS, 115)                                                                            \
    X(EDQUOT, 122)

enum tern_linux_errno {
#define TERN_X_LINUX_ERRNO_ENUM(name, value) TERN_LINUX_##name = (value),
    TERN_ENUMERATE_LINUX_ERRNOS(TERN_X_LINUX_ERRNO_ENUM)
#undef TERN_X_LINUX_ERRNO_ENUM
};

/* mmap and mprotect arguments (x86-64 Linux values). */
#define TERN_LINUX_PROT_READ 0x1u
#define TERN_LINUX_PROT_WRITE 0x2u
#define TERN_LINUX_PROT_EXEC 0x4u
#define TERN_LINUX_PROT_GROWSDOWN 0x01000000u
#define TERN_LINUX_PROT_GROWSUP 0x02000000u

#define TERN_LINUX_MAP_SHARED 0x01u
#define TERN_LINUX_MAP_PRIVATE 0x02u
#define TERN_LINUX_MAP_SHARED_VALIDATE 0x03u
#define TERN_LINUX_MAP_TYPE 0x0fu
#define TERN_LINUX_MAP_FIXED 0x10u
#define TERN_LINUX_MAP_ANONYMOUS 0x20u
#define TERN_LINUX_MAP_32BIT 0x40u
#define TERN_LINUX_MAP_GROWSDOWN 0x100u
#define TERN_LINUX_MAP_HUGETLB 0x40000u
#define TERN_LINUX_MAP_SYNC 0x80000u
#define TERN_LINUX_MAP_FIXED_NOREPLACE 0x100000u

/* Clock ids (x86-64 Linux values). */
#define TERN_LINUX_CLOCK_REALTIME 0
#define TERN_LINUX_CLOCK_MONOTONIC 1
#define TERN_LINUX_CLOCK_PROCESS_CPUTIME_ID 2
#define TERN_LINUX_CLOCK_THREAD_CPUTIME_ID 3
#define TERN_LINUX_CLOCK_MONOTONIC_RAW 4
#define TERN_LINUX_CLOCK_REALTIME_COARSE 5
#define TERN_LINUX_CLOCK_MONOTONIC_COARSE 6
#define TERN_LINUX_CLOCK_BOOTTIME 7

/* The page size of every Tern mapping. */
#define TERN_LIBC_PAGE_SIZE 4096u

/* Which virtual-memory call a result came from: the same Tern status means different
 * things to munmap (nothing mapped there is success) and mprotect (it is ENOMEM). */
enum tern_libc_vm_call {
    TERN_LIBC_VM_ALLOCATE,
    TERN_LIBC_VM_FREE,
    TERN_LIBC_VM_PROTECT,
};

/* What an accepted mmap request asks for. */
struct tern_libc_mmap_plan {
    uint64_t size;    /* the length rounded up to whole pages */
    uint64_t address; /* with fixed: where the mapping goes */
    uint64_t offset;  /* a file mapping's offset (whole pages) */
    uint32_t prot;    /* TERN_PROT_* bits */
    uint32_t shared;  /* 1 for MAP_SHARED (and MAP_SHARED_VALIDATE) */
    uint32_t file;    /* 1 without MAP_ANONYMOUS: the descriptor's file is mapped */
    uint32_t fixed;   /* TERN_LIBC_MAP_* placement */
};

/* Where a mapping goes: anywhere, at address replacing what is there (MAP_FIXED), or at
 * address only where nothing is (MAP_FIXED_NOREPLACE: EEXIST otherwise). */
#define TERN_LIBC_MAP_ANYWHERE 0u
#define TERN_LIBC_MAP_REPLACE 1u
#define TERN_LIBC_MAP_NOREPLACE 2u

/* How a file mapping is made (tern_libc_mmap_source). */
#define TERN_LIBC_MAP_COPY 1u   /* the bytes are read into private memory */
#define TERN_LIBC_MAP_OBJECT 2u /* the file server's memory object is mapped (shared) */

/* msync's flags (x86-64 Linux values). */
#define TERN_LINUX_MS_ASYNC 1u
#define TERN_LINUX_MS_INVALIDATE 2u
#define TERN_LINUX_MS_SYNC 4u

#ifdef __cplusplus
extern "C" {
#endif

/* The Linux errno for a Tern status code (a tern_status from <tern/abi/errors.h>, given as
 * a positive number). TERN_OK gives 0; a code the table does not know gives EIO. */
int tern_libc_errno_from_status(int64_t status);

/* A raw Tern syscall result (>= 0 success, < 0 the negated tern_status) as a Linux one:
 * success passes through unchanged, an error becomes the negated errno. */
int64_t tern_libc_linux_result(int64_t tern_result);

/* As tern_libc_linux_result, for vm_allocate, vm_free and vm_protect, with the errors
 * POSIX specifies for mmap, munmap and mprotect: running out of memory, quota or address
 * space is ENOMEM; a misaligned range is EINVAL; freeing a range where nothing is mapped
 * succeeds; protecting one is ENOMEM. */
int64_t tern_libc_vm_result(enum tern_libc_vm_call call, int64_t tern_result);

/* Linux PROT_* bits as TERN_PROT_* bits in *tern_prot. Returns 0, -EINVAL for bits Tern
 * does not support (PROT_GROWSDOWN and PROT_GROWSUP included), or -EACCES for write and
 * execute together (Tern enforces W^X). Write-only or execute-only pages are also
 * readable, as on every x86-64 system: the page tables cannot express otherwise. */
int tern_libc_prot_from_linux(uint64_t linux_prot, uint32_t* tern_prot);

/* Checks an mmap request and fills *plan: anonymous memory (private, or shared: a memory
 * object that fork keeps shared) or a file's bytes (tern_libc_mmap_source says how), at
 * an address of the kernel's choosing or, with MAP_FIXED or MAP_FIXED_NOREPLACE, at
 * addr. The checks run in this order:
 *   -EINVAL  length 0, or an offset that is not page-aligned;
 *   -EINVAL  a mapping type other than MAP_PRIVATE, MAP_SHARED or MAP_SHARED_VALIDATE;
 *   -EINVAL  MAP_FIXED or MAP_FIXED_NOREPLACE at an address that is not page-aligned;
 *   -EPERM   either of them at address 0 (below Linux's mmap_min_addr);
 *   -EINVAL  MAP_GROWSDOWN, MAP_HUGETLB, MAP_32BIT or MAP_SYNC, which Tern cannot honour;
 *   -EINVAL / -EACCES  the protection, as tern_libc_prot_from_linux;
 *   -ENOMEM  a length that does not fit the address space once rounded up to pages, or
 *            an offset + length past the largest file.
 * fd is not looked at: the descriptor's checks are tern_libc_mmap_source's. A hint without
 * MAP_FIXED is ignored, as Linux may ignore it. Other flags (MAP_NORESERVE, MAP_POPULATE,
 * MAP_STACK, MAP_LOCKED, ...) need nothing on Tern, where memory is never swapped. */
int tern_libc_plan_mmap(uint64_t addr, uint64_t length, uint64_t prot, uint64_t flags, int64_t fd,
                        uint64_t offset, struct tern_libc_mmap_plan* plan);

/* How the file a descriptor names can be mapped, as Linux checks it: kind is the
 * descriptor's (enum tern_libc_fd_kind, files.h), file_server 1 for a file of a writable
 * file server (tmpfs) and 0 for the boot file system's, open_flags its open flags.
 *   -EACCES  MAP_SHARED with PROT_WRITE on a descriptor not open for reading and writing,
 *            or any mapping of one open only for writing;
 *   -ENODEV  not a regular file (the console, a pipe, a socket, a directory);
 * else 0, and *how is TERN_LIBC_MAP_OBJECT for a shared mapping of a file server's file
 * (the server's memory object: every mapping sees every store) or TERN_LIBC_MAP_COPY (a
 * private mapping, or a shared one of a boot file system file, which nobody can change:
 * its bytes are read into the process's memory). */
int tern_libc_mmap_source(uint32_t kind, int file_server, uint32_t open_flags, int shared,
                          uint64_t prot, uint32_t* how);

/* msync's checks: -EINVAL for an address that is not page-aligned, unknown flags, or
 * MS_SYNC with MS_ASYNC; else 0. */
int tern_libc_msync_check(uint64_t addr, uint64_t flags);

/* The range rule of munmap and mprotect: the address must be page-aligned and the length
 * non-zero (else -EINVAL); *size is the length rounded up to whole pages (-ENOMEM when
 * that overflows). */
int tern_libc_page_range(uint64_t addr, uint64_t length, uint64_t* size);

/* A struct timespec as nanoseconds in *ns: -EINVAL for a negative second count or
 * nanoseconds outside [0, 1e9); values beyond 2^64 - 1 ns (584 years) saturate. */
int tern_libc_timespec_to_ns(int64_t seconds, int64_t nanoseconds, uint64_t* ns);

/* True (1) for the clock ids the backend serves from Tern's monotonic clock: REALTIME,
 * MONOTONIC, MONOTONIC_RAW, REALTIME_COARSE, MONOTONIC_COARSE and BOOTTIME. CPU-time
 * clocks and the rest give 0. */
int tern_libc_clock_supported(int64_t clock_id);

#ifdef __cplusplus
}
#endif

#endif /* TERN_LIBC_MUSL_TRANSLATE_H */
