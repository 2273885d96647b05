/*
 * Tern's musl port: what backend_exec.c (C) asks of the native runtime for execve
 * (exec_client.cpp, C++): checking an ELF image, loading it into a new task with the
 * startup block and handles the process keeps, and proc's Exec. Each returns 0 (or a
 * handle) or a negated Linux errno.
 */
#ifndef TERN_LIBC_MUSL_EXEC_CLIENT_H
#define TERN_LIBC_MUSL_EXEC_CLIENT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* -ENOEXEC unless image is an ELF program Tern can load. */
int tern_libc_exec_check_image(const void* image, uint64_t size);

/* The new image, loaded and stopped, and the state memory it gets (mapped here at
 * state_address for the caller to fill). */
struct tern_libc_exec_child {
    uint32_t task;
    uint32_t thread;
    uint32_t state_memory;
    uint32_t reserved;
    uint64_t state_address;
    uint64_t state_size;
};

/* The program's bytes: data[0, size), and when they lie in a memory object mapped here
 * (a bootfs file) that object's handle and the offset of data[0] in it, else 0 and 0. */
struct tern_libc_exec_image {
    const void* data;
    uint64_t size;
    uint32_t memory;
    uint32_t reserved;
    uint64_t memory_offset;
};

/* Loads image into a new task with argv and envp, pid (this process's for an execve, 0 for
 * a new process, which learns its pid from the exec state), the name server,
 * proc and console handles and a memory object of state_size bytes for the exec state
 * (TERN_STARTUP_EXEC_STATE). The read-only segments of an image in a memory object are
 * mapped from it, not copied. -ENOEXEC (not a program Tern runs), -E2BIG (arguments and
 * environment do not fit), -ENOMEM, -ENOSYS (no proc server). */
int64_t tern_libc_exec_build(const struct tern_libc_exec_image* image, const char* name,
                             const char* const* argv, const char* const* envp, uint64_t pid,
                             uint64_t state_size, struct tern_libc_exec_child* child);

/* Gives the new task a copy of handle with rights; returns its value there. */
int64_t tern_libc_exec_give(const struct tern_libc_exec_child* child, uint32_t handle,
                            uint32_t rights);

/* Ends what tern_libc_exec_build made (a failed exec). */
void tern_libc_exec_discard(struct tern_libc_exec_child* child);

/* proc Exec: the process goes on in the new task, whose thread the caller then starts
 * (thread_resume of child->thread). 0, or -EAGAIN/-ENOMEM with nothing changed. */
int64_t tern_libc_exec_commit(struct tern_libc_exec_child* child, const char* name);

/* posix_spawn: proc Fork makes the new task (its thread not started) a child process of
 * this one, listed under name; *pid its pid. 0, or -EAGAIN/-ENOMEM with nothing changed. */
int64_t tern_libc_exec_adopt(struct tern_libc_exec_child* child, const char* name, uint64_t* pid);

/* posix_spawn, once the state is packed: starts the new task's thread and lets go of
 * the task, its thread and the state memory here. 0, or the resume's error (then nothing
 * is let go: the caller discards the child). */
int64_t tern_libc_exec_start(struct tern_libc_exec_child* child);

/* In a new image: the exec state memory its startup block carries, 0 when none. */
uint32_t tern_libc_exec_state_handle(void);

#ifdef __cplusplus
}
#endif

#endif /* TERN_LIBC_MUSL_EXEC_CLIENT_H */
