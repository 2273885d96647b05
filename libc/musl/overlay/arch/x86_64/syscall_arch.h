/*
 * Tern's replacement for musl's arch/x86_64/syscall_arch.h (copied over musl's own file in
 * the build's copy of the musl tree; see cmake/musl.cmake).
 *
 * musl issues nearly every system call through the inline functions below. On Linux they
 * execute SYSCALL with a Linux syscall number; Tern's kernel numbers its calls differently
 * and offers different primitives, so here every call becomes an ordinary function call to
 * __tern_syscall (libc/musl/backend.c), which translates the Linux call musl meant into
 * Tern kernel calls. The arguments and the result keep the Linux meaning: the result is
 * >= 0 on success or a negated Linux errno, exactly what musl's __syscall_ret expects.
 *
 * The few assembly files that execute SYSCALL themselves are removed or replaced in the
 * same copy, so no Linux syscall instruction is left in libc.a.
 *
 * No vDSO symbols are declared: Tern maps no vDSO, so clock_gettime always reaches the
 * backend.
 */
#define __SYSCALL_LL_E(x) (x)
#define __SYSCALL_LL_O(x) (x)

/* Hidden: the backend is linked statically into every program, and a hidden symbol lets
 * position-independent musl objects call it directly instead of through the PLT. */
__attribute__((__visibility__("hidden"))) long __tern_syscall(long n, long a1, long a2, long a3,
                                                              long a4, long a5, long a6);

static __inline long __syscall0(long n) { return __tern_syscall(n, 0, 0, 0, 0, 0, 0); }

static __inline long __syscall1(long n, long a1) { return __tern_syscall(n, a1, 0, 0, 0, 0, 0); }

static __inline long __syscall2(long n, long a1, long a2) {
    return __tern_syscall(n, a1, a2, 0, 0, 0, 0);
}

static __inline long __syscall3(long n, long a1, long a2, long a3) {
    return __tern_syscall(n, a1, a2, a3, 0, 0, 0);
}

static __inline long __syscall4(long n, long a1, long a2, long a3, long a4) {
    return __tern_syscall(n, a1, a2, a3, a4, 0, 0);
}

static __inline long __syscall5(long n, long a1, long a2, long a3, long a4, long a5) {
    return __tern_syscall(n, a1, a2, a3, a4, a5, 0);
}

static __inline long __syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6) {
    return __tern_syscall(n, a1, a2, a3, a4, a5, a6);
}

/* System V IPC structures use the 64-bit layout on x86-64, as on Linux. */
#define IPC_64 0
