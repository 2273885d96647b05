/*
 * Tern ABI: how a program learns its arguments, environment, identity and first handles.
 *
 * A task started by another task (the proc server, or init for the first servers) finds
 * a startup block at the top of its stack, and its first thread starts with RDI = the
 * block's address. The block and everything it points to (argument and environment
 * strings, the pointer arrays) lie in the stack mapping, so they stay valid for the life
 * of the program. Handles named in the block are already in the task's handle table.
 *
 * Programs started directly by the kernel from a boot module (init, the kernel's test
 * programs) get a small integer in RDI instead; the runtime tells the two apart by the
 * address range and the magic.
 *
 * The spawner also gives the task a handle to itself (TERN_STARTUP_SELF).
 */
#ifndef TERN_ABI_STARTUP_H
#define TERN_ABI_STARTUP_H

#include <stdint.h>
#include <tern/abi/rights.h>

#define TERN_STARTUP_MAGIC 0x3174726174536e54ull /* "TnStart1" */
#define TERN_STARTUP_MAX_HANDLES 8
/* The top of the first thread's stack and the stack size every spawner uses. */
#define TERN_STARTUP_STACK_TOP 0x00007FFFFFFF0000ull
#define TERN_STARTUP_STACK_SIZE (256ull * 1024)
/* The startup block with its strings may use at most this much of the stack. */
#define TERN_STARTUP_MAX_SIZE (64u * 1024)

/* What a startup handle is for. */
#define TERN_STARTUP_NAME_SERVER 1u /* SEND to the name server */
#define TERN_STARTUP_PROC_SERVER 2u /* SEND to the proc server */
#define TERN_STARTUP_CONSOLE 3u     /* SEND to the console server */
/* The task itself (every right but RECEIVE): what TERN_HANDLE_SELF is for boot-module
 * tasks. tern::self() (libc/native) returns whichever the program has. */
#define TERN_STARTUP_SELF 4u
/* SEND to proc's port for the bus: the one through which proc accepts the requests of
 * other nodes' proc servers (RemoteSpawn, RemoteWait). proc gives it only to a service
 * init starts with +bus (the network server). */
#define TERN_STARTUP_PROC_BUS 5u
/* MAP and READ on a memory object holding the process state an execve carries into the
 * new image (the C library's descriptors, working directory, umask, limits and signal
 * state: libc/musl/portable/exec_state.h); the new image maps it, reads it and closes
 * the handle before main. */
#define TERN_STARTUP_EXEC_STATE 6u
/* Kinds from 16 up are private between a server and whoever starts it. */
#define TERN_STARTUP_PRIVATE 16u

struct tern_startup_handle {
    uint32_t kind;
    tern_handle_t handle;
};

struct tern_startup {
    uint64_t magic; /* TERN_STARTUP_MAGIC */
    uint32_t size;  /* bytes of the block with its strings and arrays */
    uint32_t flags; /* zero */
    uint64_t pid;   /* global process id: home node << 32 | serial */
    uint32_t argc;
    uint32_t envc;
    uint64_t argv; /* char*[argc + 1], NULL-terminated */
    uint64_t envp; /* char*[envc + 1], NULL-terminated */
    uint32_t handle_count;
    uint32_t reserved;
    struct tern_startup_handle handles[TERN_STARTUP_MAX_HANDLES];
};

#endif /* TERN_ABI_STARTUP_H */
