/*
 * Tern ABI: the system call table.
 *
 * One X-macro defines every syscall: number, name, argument count, and the errors it
 * returns (beside it, in the comment). The kernel's dispatch table and the user-side
 * stubs are both generated from it, so they cannot disagree.
 *
 * Calling convention (SYSCALL): number in RAX; arguments in RDI, RSI, RDX, R10, R8, R9;
 * result in RAX: >= 0 success, < 0 the negated tern_status (errors.h). RCX and R11 are
 * clobbered by the instruction itself; every other register is preserved.
 *
 * Timeouts are in nanoseconds: TERN_TIMEOUT_NONE (0) never blocks, TERN_TIMEOUT_INFINITE
 * waits forever.
 */
#ifndef TERN_ABI_SYSCALLS_H
#define TERN_ABI_SYSCALLS_H

#include <stdint.h>

#define TERN_TIMEOUT_NONE ((uint64_t)0)
#define TERN_TIMEOUT_INFINITE (~(uint64_t)0)

/* Memory protection bits for vm_* calls. W and X together are refused (W^X). */
#define TERN_PROT_READ 1u
#define TERN_PROT_WRITE 2u
#define TERN_PROT_EXEC 4u

/* Every task the kernel starts from a boot module finds a handle to itself here (every
 * task right but RECEIVE), so it can use the task_* calls on itself. */
#define TERN_HANDLE_SELF ((uint32_t)((1u << 14) | 0u))
/* Device resources: the kernel gives them to the system tasks it starts from boot modules
 * (init and the test programs), which hand sub-ranges to drivers. */
#define TERN_HANDLE_IRQ_RESOURCE ((uint32_t)((1u << 14) | 1u))
#define TERN_HANDLE_IOPORT_RESOURCE ((uint32_t)((1u << 14) | 2u))
#define TERN_HANDLE_MMIO_RESOURCE ((uint32_t)((1u << 14) | 4u))
/* MSI vectors (irq_create_msi), and the right to read boot options (boot_option): also
 * given to the system tasks the kernel starts from boot modules. */
#define TERN_HANDLE_MSI_RESOURCE ((uint32_t)((1u << 14) | 5u))
#define TERN_HANDLE_CONFIG ((uint32_t)((1u << 14) | 6u))

/* init's bootstrap port: one TERN_LABEL_BOOT_MODULE message per boot module (data = its
 * name, words[0] = size in bytes, words[1] = offset of the first byte in the first page,
 * words[2] = index; handles[0] = a read-only memory object of its pages). */
#define TERN_HANDLE_BOOTSTRAP ((uint32_t)((1u << 14) | 3u))

#define TERN_MEMORY_CONTIGUOUS 1u

/* futex_* flags. */
#define TERN_FUTEX_SHARED 1u  /* keyed by memory object and offset where there is one */
#define TERN_FUTEX_COMPARE 2u /* futex_requeue: only when *addr == expected */

/* X(number, name, argc) */
#define TERN_ENUMERATE_SYSCALLS(X)                                                                 \
    /* null(): returns 0. The cheapest round trip, for measurement. */                             \
    X(0, null, 0)                                                                                  \
    /* debug_write(const char* buf, size_t len): writes to the kernel console; returns             \
       len. BAD_ADDRESS: buf is not readable user memory. TOO_BIG: len > 4096. */                  \
    X(1, debug_write, 2)                                                                           \
    /* thread_exit(int64 status): ends the calling thread. Does not return. */                     \
    X(2, thread_exit, 1)                                                                           \
    /* task_exit(int64 status): ends every thread of the calling task. No return. */               \
    X(3, task_exit, 1)                                                                             \
    /* thread_yield(): gives up the rest of the time slice; returns 0. */                          \
    X(4, thread_yield, 0)                                                                          \
    /* clock_monotonic(): nanoseconds since boot. */                                               \
    X(5, clock_monotonic, 0)                                                                       \
    /* thread_sleep(uint64 ns): sleeps at least ns; returns 0. */                                  \
    X(6, thread_sleep, 1)                                                                          \
    /* vm_allocate(uint64 size, uint32 prot): maps zeroed anonymous memory in the caller;          \
       returns its address. INVALID_ARGUMENT: size 0 or not page-aligned, bad prot bits,           \
       W+X. NO_MEMORY. QUOTA_EXCEEDED: the task's memory quota. NO_SPACE: no gap. */               \
    X(7, vm_allocate, 2)                                                                           \
    /* vm_free(uint64 addr, uint64 size): unmaps whole regions or parts of them.                   \
       MISALIGNED, INVALID_ARGUMENT (not user space), NOT_FOUND (nothing mapped there). */         \
    X(8, vm_free, 2)                                                                               \
    /* vm_protect(uint64 addr, uint64 size, uint32 prot): changes protection.                      \
       Errors as vm_free, plus INVALID_ARGUMENT for W+X and ACCESS_DENIED for                      \
       TERN_PROT_WRITE on a memory object mapped through a handle without WRITE. */                \
    X(9, vm_protect, 3)                                                                            \
    /* thread_create(uint64 entry, uint64 stack_top, uint64 arg, uint32 priority):                 \
       a new thread in the caller's task; returns a thread handle. INVALID_ARGUMENT:               \
       entry or stack outside user space, priority > 31. QUOTA_EXCEEDED: thread quota. */          \
    X(10, thread_create, 4)                                                                        \
    /* handle_close(handle): BAD_HANDLE. */                                                        \
    X(11, handle_close, 1)                                                                         \
    /* handle_duplicate(handle, rights): a new handle with rights (a subset, or                    \
       TERN_RIGHTS_SAME). BAD_HANDLE, ACCESS_DENIED (no DUPLICATE right or more rights             \
       than held), QUOTA_EXCEEDED. */                                                              \
    X(12, handle_duplicate, 2)                                                                     \
    /* port_create(uint32 capacity): a port with a queue of capacity (1..64) messages;             \
       returns a handle with every port right. INVALID_ARGUMENT, NO_MEMORY,                        \
       QUOTA_EXCEEDED. */                                                                          \
    X(13, port_create, 1)                                                                          \
    /* port_send(port, struct tern_msg* msg, uint64 timeout): queues a message.                    \
       BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED (no SEND), BAD_ADDRESS, TOO_BIG,                      \
       WOULD_BLOCK (full, timeout 0), TIMED_OUT (full until timeout), PEER_CLOSED (the             \
       receiver is gone). Handles listed in msg move to the receiver (TRANSFER needed).            \
       A RECEIVE right moves too (the port goes with its queue; a member leaves its                \
       set), except the target's own or a set's with members (ACCESS_DENIED) and that              \
       of a port whose queue carries a receive right (BUSY): no port can end up inside             \
       its own queue. A receive right dropped in flight closes its port. */                        \
    X(14, port_send, 3)                                                                            \
    /* port_receive(port, struct tern_msg* msg, uint64 timeout): takes the oldest                  \
       message. ACCESS_DENIED (no RECEIVE), WOULD_BLOCK, TIMED_OUT, BAD_ADDRESS,                   \
       NO_SPACE (data part larger than msg->data_capacity), QUOTA_EXCEEDED (no room for            \
       its handles); after any of the last three the message stays queued. */                      \
    X(15, port_receive, 3)                                                                         \
    /* port_call(port, struct tern_msg* msg, uint64 timeout): sends msg with a one-shot            \
       reply right and waits for the reply, which overwrites msg. Errors as port_send,             \
       plus PEER_CLOSED when the server drops the reply right unanswered. */                       \
    X(16, port_call, 3)                                                                            \
    /* port_reply(reply_handle, struct tern_msg* msg): answers a call; consumes the reply          \
       handle. BAD_HANDLE, PEER_CLOSED (the caller gave up), BAD_ADDRESS, TOO_BIG;                 \
       ACCESS_DENIED: the answer to a port_call_async carries a handle to its reply port. */       \
    X(17, port_reply, 2)                                                                           \
    /* task_create(const char* name, size_t len): a task with an empty address space and           \
       no threads; returns a handle with every task right. TOO_BIG: len > 31. */                   \
    X(18, task_create, 2)                                                                          \
    /* task_vm_allocate(task, addr, size, prot): memory in another task (CONTROL|MAP);             \
       addr 0 lets the kernel choose. Errors as vm_allocate, plus ALREADY_EXISTS. */               \
    X(19, task_vm_allocate, 4)                                                                     \
    /* task_vm_write(task, addr, const void* buf, len) / task_vm_read(task, addr, buf,             \
       len): copy to or from the task's memory (CONTROL). BAD_ADDRESS: a page of the               \
       target range is not in a region, or buf is bad. TOO_BIG: len > 1 MiB. BAD_STATE:            \
       the task has exited (its memory is gone). ACCESS_DENIED (write): the range holds a          \
       memory object's pages mapped without TERN_PROT_WRITE (they are the object's). */            \
    X(20, task_vm_write, 4)                                                                        \
    X(21, task_vm_read, 4)                                                                         \
    /* task_thread_create(task, entry, stack_top, arg): a stopped thread in the task;              \
       resume it with thread_resume. Returns a thread handle (CONTROL). */                         \
    X(22, task_thread_create, 4)                                                                   \
    /* thread_stop(thread, timeout): stops a thread of another task at its next exit               \
       from the kernel (a blocked wait returns INTERRUPTED first) and waits until it is            \
       stopped. BAD_STATE: the caller's own thread, or the thread is dead. TIMED_OUT. */           \
    X(23, thread_stop, 2)                                                                          \
    /* thread_resume(thread): BAD_STATE unless stopped. */                                         \
    X(24, thread_resume, 1)                                                                        \
    /* thread_get_regs(thread, struct tern_regs*) / thread_set_regs(thread, const struct           \
       tern_regs*): BAD_STATE unless stopped. set: INVALID_ARGUMENT for a RIP, RSP or FS           \
       base outside user space; RFLAGS is masked with TERN_RFLAGS_USER_MASK (IF forced). */        \
    X(25, thread_get_regs, 2)                                                                      \
    X(26, thread_set_regs, 2)                                                                      \
    /* thread_get_fpu(thread, struct tern_fpu_state*) / thread_set_fpu(...): as above;             \
       set refuses an MXCSR with unsupported bits (INVALID_ARGUMENT). */                           \
    X(27, thread_get_fpu, 2)                                                                       \
    X(28, thread_set_fpu, 2)                                                                       \
    /* task_kill(task, int64 status): ends every thread of the task (CONTROL). */                  \
    X(29, task_kill, 2)                                                                            \
    /* task_wait(task, timeout): waits for the task to exit; returns its exit status               \
       (>= 0 as given to task_exit, or TERN_EXIT_FAULT_BASE + vector when killed by a              \
       fault). TIMED_OUT, WOULD_BLOCK (timeout 0 and still running). */                            \
    X(30, task_wait, 2)                                                                            \
    /* task_mappings(task, struct tern_mapping* out, max): lists regions; returns the              \
       total count (which may exceed max; only max are written). */                                \
    X(31, task_mappings, 3)                                                                        \
    /* task_handles(task, struct tern_handle_info* out, max): lists handles likewise. */           \
    X(32, task_handles, 3)                                                                         \
    /* task_set_exception_port(task, port): CPU exceptions become messages (see                    \
       TERN_LABEL_EXCEPTION); port 0 removes it. Needs SEND on the port. */                        \
    X(33, task_set_exception_port, 2)                                                              \
    /* vm_map_pager(task, addr, size, prot, port): a region of the task whose pages come           \
       from a pager (see TERN_LABEL_PAGE_FAULT). addr 0: kernel chooses. */                        \
    X(34, vm_map_pager, 5)                                                                         \
    /* vm_supply(task, addr, const void* page): maps a page with a copy of 4096 bytes at           \
       the pager-backed address and resumes threads waiting for it. ALREADY_EXISTS:                \
       already present. NOT_FOUND: not a pager region. BAD_STATE: the task has exited. */          \
    X(35, vm_supply, 3)                                                                            \
    /* vm_refuse(task, addr): the pager cannot supply the page; the waiting threads take           \
       a page-fault exception (exception port or death). */                                        \
    X(36, vm_refuse, 2)                                                                            \
    /* port_capture(port, struct tern_msg* out, max): drains the queue (RECEIVE needed)            \
       into out[0..n) in order, moving carried handles into the caller's table; data               \
       parts go to each out[i].data (capacity out[i].data_capacity). Returns n. NO_SPACE:          \
       a data part does not fit (nothing is taken). BAD_STATE: the port has slots reserved         \
       for answers to port_call_async still owed (capture it once they have arrived). */           \
    X(37, port_capture, 3)                                                                         \
    /* port_restore(port, const struct tern_msg* msgs, n): queues n messages in order              \
       (SEND and RECEIVE needed), moving their handles. WOULD_BLOCK if they do not all             \
       fit beside the queued messages and reserved slots (nothing is queued). A message            \
       flagged TERN_MSG_FLAG_ASYNC_REPLY keeps that flag. */                                       \
    X(38, port_restore, 3)                                                                         \
    /* task_give_handle(task, handle, rights): copies a handle of the caller into the              \
       task (CONTROL on the task, TRANSFER on the handle; rights a subset or                       \
       TERN_RIGHTS_SAME; a RECEIVE right moves: the caller's handle is closed). Returns            \
       the handle value in the target, the way a new task gets its first port. BAD_STATE:          \
       a task's handle to itself while it has no thread (nothing would ever free it). */           \
    X(39, task_give_handle, 3)                                                                     \
    /* port_signal(port, uint64 bits): ORs bits into the port's signal word (SIGNAL                \
       right) and wakes its receiver. Signals never block and never take a queue slot:             \
       port_receive returns them first, as a message with label TERN_LABEL_SIGNAL and              \
       words[0] = the accumulated bits, which are then cleared. PEER_CLOSED: the receive           \
       right is gone. INVALID_ARGUMENT: bits == 0. */                                              \
    X(40, port_signal, 2)                                                                          \
    /* memory_create(uint64 size, uint32 flags): a memory object of zeroed pages;                  \
       TERN_MEMORY_CONTIGUOUS asks for physically contiguous pages (DMA; at most 4 MiB).           \
       Returns a handle (MAP, READ, WRITE, DUPLICATE, TRANSFER, CONTROL). INVALID_ARGUMENT,        \
       NO_MEMORY, QUOTA_EXCEEDED (counts against the task's memory quota). */                      \
    X(41, memory_create, 2)                                                                        \
    /* vm_map_memory(task, memory, addr, offset, size, prot): maps part of a memory                \
       object into a task (addr 0: kernel chooses); the pages are shared with every other          \
       mapping of the object: this is how bulk data moves between tasks (send the handle           \
       in a message, the receiver maps it). MAP on the memory; WRITE for TERN_PROT_WRITE;          \
       OUT_OF_RANGE: offset/size beyond the object. */                                             \
    X(42, vm_map_memory, 6)                                                                        \
    /* memory_physical(memory, uint64 offset): the physical address of the page at offset          \
       (for DMA; CONTROL on the memory object). OUT_OF_RANGE. */                                   \
    X(43, memory_physical, 2)                                                                      \
    /* irq_create(resource, uint32 line, uint32 flags): an IRQ object for an I/O APIC              \
       input (tern/abi/firmware.h): flags TERN_IRQ_ISA (0): line is an ISA IRQ (0-15),             \
       routed as the MADT's overrides say (GSI, trigger, polarity); TERN_IRQ_GSI: line is          \
       a GSI, with TERN_IRQ_LEVEL and TERN_IRQ_ACTIVE_LOW (PCI INTx: both). The resource           \
       must be an IRQ resource (READ) covering the GSI. Created masked; irq_bind unmasks.          \
       INVALID_ARGUMENT: unknown flags, or LEVEL/ACTIVE_LOW with TERN_IRQ_ISA.                     \
       OUT_OF_RANGE: no such ISA IRQ or no I/O APIC input with that GSI. ACCESS_DENIED:            \
       not covered. BUSY: another IRQ object owns the input. */                                    \
    X(44, irq_create, 3)                                                                           \
    /* irq_bind(irq, port, uint64 bits): each interrupt signals the port with bits (SIGNAL         \
       right on the port) and, for an I/O APIC input, masks it; binding unmasks it and             \
       clears a pending interrupt; port 0 unbinds (masked). */                                     \
    X(45, irq_bind, 3)                                                                             \
    /* irq_ack(irq): the driver has drained the device: unmasks the input (MSI: clears the         \
       pending state). BAD_STATE: nothing fired since the last bind or ack (a double               \
       ack). */                                                                                    \
    X(46, irq_ack, 1)                                                                              \
    /* ioport_enable(resource, uint32 base, uint32 count): lets the calling task use IN            \
       and OUT on [base, base+count); the resource must be an I/O resource covering it.            \
       ACCESS_DENIED otherwise. */                                                                 \
    X(47, ioport_enable, 3)                                                                        \
    /* port_set_add(set, member, uint32 key): makes member part of the set (RECEIVE on             \
       both): port_receive on the set then also takes member's messages and signals,               \
       round-robin, and returns key (>= 1; 0 means the set's own queue). A port belongs            \
       to at most one set (BUSY); INVALID_ARGUMENT: key 0, set == member, or the set is            \
       itself a member. A set has no member limit: the next pending member is found                \
       in the same time among 3 members or 3,000. */                                               \
    X(48, port_set_add, 3)                                                                         \
    /* port_set_remove(set, member): NOT_FOUND unless member is in the set. */                     \
    X(49, port_set_remove, 2)                                                                      \
    /* memory_create_physical(resource, uint64 phys, uint64 size): a memory object over a          \
       device's registers (MMIO), mapped uncached; the resource must be an MMIO resource           \
       covering the range, which must not be RAM the kernel manages. MISALIGNED,                   \
       ACCESS_DENIED, INVALID_ARGUMENT. */                                                         \
    X(50, memory_create_physical, 3)                                                               \
    /* thread_set_fs_base(uint64 base): sets the calling thread's FS base (thread-local            \
       storage). INVALID_ARGUMENT: not a user address (0 is allowed). */                           \
    X(51, thread_set_fs_base, 1)                                                                   \
    /* task_id(): the calling task's kernel id (> 0, unique on this node until reboot).            \
       thread_id(): the calling thread's. Global process ids come from the proc server. */         \
    X(52, task_id, 0)                                                                              \
    X(53, thread_id, 0)                                                                            \
    /* object_watch(handle, port, uint64 cookie): asks for a death notice on port when the         \
       object goes away: a task when it exits (or is killed), a port when its receive right        \
       is closed. The notice is a message with label TERN_LABEL_OBJECT_GONE, words[0] =            \
       cookie, words[1] = the task's exit status (0 for a port), words[2] = the object type.       \
       It is allocated here and, like a signal, takes no queue slot, so it is never lost to        \
       a full queue; an object already gone is noticed at once. Any right on the object;           \
       RECEIVE on port (only a port's owner asks for notices on it). BAD_HANDLE,                   \
       WRONG_TYPE (neither task nor port), ACCESS_DENIED, NO_MEMORY, QUOTA_EXCEEDED (64            \
       watches on one object). */                                                                  \
    X(54, object_watch, 3)                                                                         \
    /* node_id(): this node's id in the cluster (1..65535, from the kernel command line). */       \
    X(55, node_id, 0)                                                                              \
    /* task_id_of(task): the kernel id of the task behind a handle (any right), the value          \
       its messages carry as sender_badge. BAD_HANDLE, WRONG_TYPE. */                              \
    X(56, task_id_of, 1)                                                                           \
    /* memory_info(struct tern_memory_info* out): the node's memory figures. BAD_ADDRESS. */       \
    X(57, memory_info, 1)                                                                          \
    /* port_reply_receive(reply_handle, const struct tern_msg* reply, port, struct tern_msg*       \
       msg, uint64 timeout): port_reply then port_receive in one syscall, a server loop's          \
       fast path; returns what port_receive returns. The reply cannot fail the call: when          \
       its caller is gone the reply's handles are closed; when the reply is refused (bad           \
       message or address, a reply right without SEND) the right is dropped, so the caller         \
       gets PEER_CLOSED, the reply's handles stay, and the kernel logs it; a reply_handle          \
       that names no reply object is logged and left in the table as it is. */                     \
    X(58, port_reply_receive, 5)                                                                   \
    /* object_unwatch(handle, port, cookie): cancels the object_watch that would send              \
       `cookie` to `port` (RECEIVE needed on port). NOT_FOUND: no such watch (it may have          \
       fired). WRONG_TYPE: neither task nor port. A watch whose port has lost its receiver         \
       is dropped by the kernel when the object's 64 watches are full. */                          \
    X(59, object_unwatch, 3)                                                                       \
    /* irq_create_msi(resource, struct tern_msi_message* out): allocates an MSI vector from        \
       an MSI resource (READ) and returns an IRQ object bound to it (irq_bind, irq_ack as          \
       for a GSI); out gets the address/data pair the driver writes into the device's MSI          \
       capability or MSI-X table entry. ACCESS_DENIED: not an MSI resource, or no READ.            \
       NO_SPACE: every vector of the resource is taken. BAD_ADDRESS: out (nothing kept). */        \
    X(60, irq_create_msi, 2)                                                                       \
    /* resource_split(resource, uint64 base, uint64 count): a new resource of the same kind        \
       over [base, base+count), which must lie inside the given one (READ and DUPLICATE            \
       needed; the new handle has READ, DUPLICATE and TRANSFER as far as the source had            \
       them): how a bus server gives a driver only its device's BARs, ports, GSI or MSI            \
       vectors. INVALID_ARGUMENT: count 0, base + count overflows, or a config resource.           \
       ACCESS_DENIED: outside the resource, or missing rights. */                                  \
    X(61, resource_split, 3)                                                                       \
    /* firmware_info(struct tern_firmware_info* out): the interrupt routing and PCI                \
       configuration windows the firmware described (tern/abi/firmware.h). Needs no                \
       handle: it describes hardware, and claiming any of it needs a resource.                     \
       BAD_ADDRESS. */                                                                             \
    X(62, firmware_info, 1)                                                                        \
    /* boot_option(config, const char* name, size_t name_len, char* buf, size_t cap): the          \
       value in force for one kernel command-line option ("ip" gives e.g. "10.0.0.3/24"),          \
       not NUL-terminated; returns its length. Needs a config resource with READ                   \
       (TERN_HANDLE_CONFIG). INVALID_ARGUMENT: no such option (or name_len > 32).                  \
       NOT_FOUND: an option without a default that the command line did not set.                   \
       ACCESS_DENIED: a secret (cluster_key, as hex digits) read without CONTROL on the            \
       resource (whether it is set is not told), or the wrong handle.                              \
       NO_SPACE: cap smaller than the value (nothing written). BAD_ADDRESS. */                     \
    X(63, boot_option, 5)                                                                          \
    /* port_call_async(port, const struct tern_msg* msg, reply_port, uint64 cookie): sends         \
       msg as a call (the server sees TERN_MSG_FLAG_CALL and a reply_handle, as for                \
       port_call) and returns 0 without waiting; the answer arrives later on reply_port as         \
       a message with TERN_MSG_FLAG_ASYNC_REPLY and sender_badge = cookie: the server's            \
       reply, or label TERN_LABEL_CALL_FAILED with words[0] = TERN_PEER_CLOSED when the            \
       reply right is dropped unanswered. One slot of reply_port's queue is reserved for           \
       the answer until it is queued, so it is never lost for lack of room; answers to a           \
       reply_port that has lost its receiver are discarded (their handles closed) and the          \
       server's reply still succeeds. SEND on port and on reply_port. Errors as port_send          \
       with timeout 0 (WOULD_BLOCK: port is full, nothing queued; TOO_BIG: more than               \
       TERN_MSG_MAX_HANDLES - 1 handles), plus, for reply_port: WOULD_BLOCK (its queue,            \
       counting reserved slots, is full), PEER_CLOSED (no receiver), QUOTA_EXCEEDED (the           \
       caller's reply objects, shared with port_call), NO_MEMORY. Never blocks. */                 \
    X(64, port_call_async, 4)                                                                      \
    /* ipc_stats(struct tern_ipc_stats* out): the node's fast-path counters of port_call and       \
       port_reply_receive (tern/abi/message.h). Needs no handle. BAD_ADDRESS. */                   \
    X(65, ipc_stats, 1)                                                                            \
    /* port_reply_error(reply_handle, uint64 status): answers a call with a status instead of      \
       a message, as a server that relays calls does when it cannot deliver one (the bus,          \
       for a node that went down): the caller's port_call returns -status, as if the call          \
       had failed locally; the answer to a port_call_async is TERN_LABEL_CALL_FAILED with          \
       words[0] = status. status is one a call can fail with on the far side: NODE_DOWN,           \
       PEER_CLOSED, TIMED_OUT, WOULD_BLOCK, TOO_BIG, NO_MEMORY, QUOTA_EXCEEDED (anything           \
       else is INVALID_ARGUMENT, logged, and the right stays). Consumes the reply handle.          \
       BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED (no SEND), PEER_CLOSED (the caller gave up). */       \
    X(66, port_reply_error, 2)                                                                     \
    /* clock_realtime(): nanoseconds since 1970-01-01 00:00:00 UTC: the CMOS clock read at         \
       boot, advanced by the monotonic clock. Before 1970 (a clock that was not readable or        \
       not valid) it is the monotonic clock's value. */                                            \
    X(67, clock_realtime, 0)                                                                       \
    /* task_clone(task, entry, stack_top, arg, tern_handle_t* thread_out): a copy-on-write         \
       clone of the task (CONTROL): a new task with the same name, quotas and regions whose        \
       private pages are shared with the source until either side writes one (then that            \
       side gets a copy); memory objects stay shared. Handles are copied at the same values        \
       with the same rights: ports without RECEIVE, memory objects, tasks and resources; the       \
       source's handles to itself name the clone. RECEIVE rights, reply rights, threads and        \
       IRQs are not copied. The clone gets one stopped thread at entry with RSP = stack_top        \
       and RDI = arg (FS base, priority and clear-tid word (thread_spawn) the calling thread's     \
       when the source is the caller's task), whose handle (CONTROL, READ, DUPLICATE,              \
       TRANSFER) goes to *thread_out; resume it with thread_resume. Returns a handle to            \
       the clone with every task right but RECEIVE. The pages a clone may copy count               \
       against its memory quota from the start.                                                    \
       INVALID_ARGUMENT: entry or stack as for thread_create. BAD_STATE: the task has              \
       exited. BAD_ADDRESS: thread_out (nothing is made). NO_MEMORY, QUOTA_EXCEEDED (the           \
       caller's tasks or handles). */                                                              \
    X(68, task_clone, 5)                                                                           \
    /* futex_wait(uint32* addr, uint32 expected, uint64 timeout, uint32 flags): blocks while       \
       *addr == expected until a futex_wake or futex_requeue on the same futex picks it, the       \
       timeout (nanoseconds; TERN_TIMEOUT_NONE does not block) runs out, or the thread is          \
       stopped or killed. A futex is the task and address, or with TERN_FUTEX_SHARED the           \
       memory object and offset when addr lies in a mapped memory object (tasks mapping the        \
       same object meet there; elsewhere SHARED is the task and address too). Returns 0 when       \
       woken. WOULD_BLOCK: *addr != expected. TIMED_OUT. INTERRUPTED. INVALID_ARGUMENT: addr       \
       not 4-byte aligned, unknown flags. BAD_ADDRESS: addr not readable user memory. */           \
    X(69, futex_wait, 4)                                                                           \
    /* futex_wake(uint32* addr, uint32 count, uint32 flags): wakes up to count waiters of the      \
       futex, oldest first; returns how many. Errors as futex_wait's for addr and flags. */        \
    X(70, futex_wake, 3)                                                                           \
    /* futex_requeue(uint32* addr, uint32 wake, uint32* addr2, uint32 move, uint32 expected,       \
       uint32 flags): wakes up to wake waiters of addr's futex and moves up to move of the         \
       rest, in order, to addr2's futex; returns how many were woken and moved. With               \
       TERN_FUTEX_COMPARE, WOULD_BLOCK unless *addr == expected (nothing is done). Errors as       \
       futex_wait's for both addresses. */                                                         \
    X(71, futex_requeue, 6)                                                                        \
    /* thread_spawn(entry, stack_top, arg, uint64 fs_base, uint32* clear_tid, handle_out): a       \
       thread in the caller's task starting at entry with RSP = stack_top, RDI = arg and the       \
       given FS base, at the caller's priority; when it ends with thread_exit, the kernel          \
       writes 0 to *clear_tid (0: nothing) and wakes one waiter of that futex                      \
       (TERN_FUTEX_SHARED), after the thread last ran user code. Returns its thread id             \
       (thread_id). With handle_out                                                                \
       (tern_handle_t*, 0: none) a handle to the thread (CONTROL, READ, DUPLICATE, TRANSFER)       \
       is written there, for another task's thread control (the C library gives it to proc         \
       to deliver a signal to that thread). INVALID_ARGUMENT: entry, stack, fs_base or             \
       clear_tid outside user space, stack_top not 16-byte aligned, clear_tid not 4-byte           \
       aligned. BAD_ADDRESS: handle_out not writable (no thread is made). QUOTA_EXCEEDED:          \
       the thread quota, or the handle table. NO_MEMORY. */                                        \
    X(72, thread_spawn, 6)                                                                         \
    /* thread_set_clear_tid(uint32* clear_tid): sets the calling thread's clear_tid (as            \
       thread_spawn's; 0 removes it); returns 0. INVALID_ARGUMENT as for thread_spawn. */          \
    X(73, thread_set_clear_tid, 1)                                                                 \
    /* port_call_regs(port, uint64 label, uint64 timeout): port_call with the message in           \
       registers (the IPC fast path): label in RSI (upper half zero), words[0..7] in R10,          \
       R8, R9, R12, R13, R14, R15, RBX; the server sees an ordinary call without data or           \
       handles. On success RAX = 0 and the answer is in registers: RSI its label, RDX its          \
       sender_badge, RDI its flags, words in the same eight registers. An answer with a            \
       data part or handles is written whole to the struct tern_msg at RBP (data/                  \
       data_capacity name its buffer, as for port_call) and RDI gets                               \
       TERN_MSG_FLAG_IN_BUFFER; with RBP = 0 it is dropped, NO_SPACE. Errors as port_call          \
       (INVALID_ARGUMENT: label above 32 bits). On an error only RAX changes.                      \
       Use tern_ipc_regs() (tern/ipc_regs.h), which saves what the ABI clobbers. */                \
    X(74, port_call_regs, 3)                                                                       \
    /* port_reply_receive_regs(port, uint64 label, uint64 timeout): answers the call this          \
       thread last received with this syscall, if it holds one, with label (RSI) and the           \
       eight words (registers as for port_call_regs), then receives on port as port_receive        \
       does, into registers (RSI label, RDX sender_badge, RDI flags, the eight words; RAX          \
       the key). A call's reply right stays with the thread (no handle) for the next               \
       port_reply_receive_regs to answer; a thread that ends holding one gives its caller          \
       PEER_CLOSED. A message with a data part or handles is written whole to the                  \
       struct tern_msg at RBP (its reply right then in reply_handle, as port_receive) and          \
       RDI = TERN_MSG_FLAG_IN_BUFFER; with RBP = 0 it stays queued, NO_SPACE. The reply            \
       half cannot fail the call (a caller that gave up loses the answer). INVALID_ARGUMENT:       \
       label above 32 bits (nothing done). Other errors as port_receive; on an error only          \
       RAX changes. */                                                                             \
    X(75, port_reply_receive_regs, 3)                                                              \
    /* vm_supply_batch(task, addr, const void* pages, uint64 count): vm_supply for count           \
       (1..64) consecutive pages from the page holding addr, from count * 4096 bytes at            \
       pages; all or nothing (errors as vm_supply; INVALID_ARGUMENT: count 0 or over 64,           \
       or the range leaves user space). Returns count. For prefetching around a fault. */          \
    X(76, vm_supply_batch, 4)                                                                      \
    /* cpu_times(handle, struct tern_cpu_times* out): the processor time of a thread (READ)        \
       or of a task (READ: every thread it has had, those that ended included);                    \
       TERN_INVALID_HANDLE: the calling thread. BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED,             \
       BAD_ADDRESS. */                                                                             \
    X(77, cpu_times, 2)                                                                            \
    /* task_set_robust_lists(const struct tern_robust_list* records, uint64 count): registers      \
       the robust lists of the calling task's threads, an array of count (at most 65)              \
       records in its memory (tern/abi/task.h; count 0 removes it). When the task is killed or     \
       ends (task_exit), the first of its threads to end in its own address space reads the        \
       records and walks each list (at most 2048 entries) and its pending entry: each 32-bit       \
       word whose bits 0-29 are the record's owner becomes 0x40000000 (OWNER_DIED) plus its        \
       bit 31 (WAITERS), and one waiter of it (shared and private keys) is woken. A record,        \
       entry or word that cannot be read is skipped or ends that list; a record with head 0,       \
       owner 0 or owner above 0x3fffffff marks nothing. A thread that ends alone (thread_exit)     \
       walks nothing. INVALID_ARGUMENT: records not 8-byte aligned or outside user space,          \
       count above 65. A forked task starts with none. */                                          \
    X(78, task_set_robust_lists, 2)                                                                \
    /* fault_resume(start, end, resume): a page fault or general-protection fault of this          \
       task's user code at an RIP in [start, end) that the kernel cannot resolve (one that         \
       would go to the exception port or end the task) resumes the faulting thread at resume       \
       instead, with RAX = the vector (14 or 13) and every other register as it was: a             \
       checked copy in user space (the C library's) reports a bad address without a system         \
       call on the good path. One range per task, replaced by the next call; task_clone            \
       copies it; all three 0 removes it. Returns 0. INVALID_ARGUMENT: start >= end, an            \
       address outside user space, resume inside [start, end). */                                  \
    X(79, fault_resume, 3)

enum tern_syscall {
#define TERN_X_SYSCALL_ENUM(num, name, argc) TERN_SYS_##name = (num),
    TERN_ENUMERATE_SYSCALLS(TERN_X_SYSCALL_ENUM)
#undef TERN_X_SYSCALL_ENUM
    TERN_SYSCALL_COUNT
};

#endif /* TERN_ABI_SYSCALLS_H */
