/*
 * Tern ABI: task control, pagers and exceptions.
 *
 * A holder of a task handle with TERN_RIGHT_CONTROL may stop and resume the task's
 * threads, read and write their registers, read, write and map the task's memory, and
 * list its mappings and handles. The migrate server is built on exactly this.
 */
#ifndef TERN_ABI_TASK_H
#define TERN_ABI_TASK_H

#include <stdint.h>
#include <tern/abi/rights.h>

/* The user-visible register state of a stopped thread. */
struct tern_regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags, fs_base, reserved;
};

/* FXSAVE image: x87, MMX and SSE state. thread_set_fpu refuses an MXCSR with bits the
 * CPU does not support (INVALID_ARGUMENT). */
struct tern_fpu_state {
    uint8_t fxsave[512];
};

/* RFLAGS bits a controller may set; IF is always on, IOPL 0, everything else clear. */
#define TERN_RFLAGS_USER_MASK 0x0DD5ull

/* One region of an address space, as listed by task_mappings. */
struct tern_mapping {
    uint64_t start;
    uint64_t end;  /* exclusive */
    uint32_t prot; /* TERN_PROT_* */
    uint32_t kind; /* TERN_MAPPING_* */
    uint64_t resident_pages;
};
#define TERN_MAPPING_ANONYMOUS 1u
#define TERN_MAPPING_IMAGE 2u
#define TERN_MAPPING_STACK 3u
#define TERN_MAPPING_PAGER 4u
#define TERN_MAPPING_MEMORY 5u /* a mapping of a memory object (shared; see vm_map_memory) */

/* What memory_info reports: the node's RAM and what the kernel's allocators hold. */
struct tern_memory_info {
    uint64_t total_bytes;       /* RAM the firmware reported */
    uint64_t managed_bytes;     /* pages the page allocator manages */
    uint64_t free_bytes;        /* of those, free */
    uint64_t kernel_heap_bytes; /* in use by the kernel heap (inside managed - free) */
    uint64_t live_objects;      /* kernel objects (tasks, threads, ports, ...) alive now */
};

/* What cpu_times reports: the processor time of a thread, or of every thread a task has
 * had. Sampled by the timer (TERN_CPU_TICK_NS apart): each tick is counted for the thread
 * it interrupted, as user time when it was running user code, else as system time. */
struct tern_cpu_times {
    uint64_t user_ns;
    uint64_t system_ns;
};
#define TERN_CPU_TICK_NS 10000000ull

/* One thread's robust list, as task_set_robust_lists registers an array of them: where
 * the list is (Linux's struct robust_list_head: the first entry, the offset from an entry
 * to its lock word, the entry being changed) and the id its lock words hold for their
 * owner (bits 0-29). The records stay in the task's memory; the kernel reads them when
 * the task ends. */
#define TERN_ROBUST_LISTS_MAX 65
struct tern_robust_list {
    uint64_t head;
    uint32_t owner;
    uint32_t reserved;
};

/* One handle of a task, as listed by task_handles. */
struct tern_handle_info {
    tern_handle_t handle;
    uint32_t type;   /* TERN_OBJ_* */
    uint32_t rights; /* TERN_RIGHT_* */
    uint32_t reserved;
    uint64_t object; /* the object's id: the same for every handle to it, unique among
                        live objects (it may come back once the object is gone) */
};

/* Messages the kernel sends. label identifies them; words[] carry the details. */

/* To a pager port when a thread touches a missing page of a pager-backed region:
 * words[0] = faulting address, words[1] = access (TERN_PROT_READ/WRITE/EXEC),
 * words[2] = task id, words[3] = thread id; handles[0] = the task (CONTROL | MAP), so the
 * pager can answer with vm_supply or vm_refuse. The thread waits until then. */
#define TERN_LABEL_PAGE_FAULT 0x7E000001u

/* To a task's exception port when one of its threads raises a CPU exception that the
 * kernel cannot resolve: words[0] = vector, words[1] = error code, words[2] = rip,
 * words[3] = faulting address (page faults), words[4] = thread id; handles[0] = the
 * thread (CONTROL). The thread stays stopped until resumed (after fixing its registers)
 * or until its task is killed. Without an exception port the task is killed. */
#define TERN_LABEL_EXCEPTION 0x7E000002u

#endif /* TERN_ABI_TASK_H */
