/*
 * Tern's replacement for musl's src/thread/x86_64/syscall_cp.s: the system call of a
 * cancellation point (read, write, nanosleep, ... once pthread_cancel is linked).
 *
 *   long __syscall_cp_asm(volatile int *cancel, long nr,
 *                         long u, long v, long w, long x, long y, long z);
 *
 * As in musl's version, a pending cancellation request is acted on before the call; the
 * call itself goes to Tern's backend instead of the SYSCALL instruction:
 *
 *   long __tern_syscall(long nr, long u, long v, long w, long x, long y, long z);
 *
 * The arguments shift down by one register. The seventh argument travels on the stack in
 * both functions; this function overwrites its own first stack argument slot (which the
 * caller has given up to it) with z and tail-calls the backend, which then finds z at
 * 8(%rsp) under the caller's return address, as the System V ABI requires.
 *
 * FIXME: musl's cancellation signal handler checks whether the interrupted instruction
 * lies in [__cp_begin, __cp_end) to act on a deferred cancellation that arrives while a
 * call blocks. The blocking happens inside the backend, outside that range, so such a
 * call is cancelled only when its wait ends with EINTR (docs/libc.md, "Threads");
 * asynchronous cancellation does not look at the range and ends the thread anywhere.
 */
	.text
	.global __cp_begin
	.hidden __cp_begin
	.global __cp_end
	.hidden __cp_end
	.global __cp_cancel
	.hidden __cp_cancel
	.hidden __cancel
	.hidden __tern_syscall
	.global __syscall_cp_asm
	.hidden __syscall_cp_asm
	.type __syscall_cp_asm,@function
__syscall_cp_asm:
__cp_begin:
	mov (%rdi),%eax
	test %eax,%eax
	jnz __cp_cancel
	mov %rsi,%rdi
	mov %rdx,%rsi
	mov %rcx,%rdx
	mov %r8,%rcx
	mov %r9,%r8
	mov 8(%rsp),%r9
	mov 16(%rsp),%rax
	mov %rax,8(%rsp)
	jmp __tern_syscall
__cp_end:
__cp_cancel:
	jmp __cancel
	.size __syscall_cp_asm, . - __syscall_cp_asm
