/*
 * Tern ABI: handles, rights and kernel object types.
 *
 * A task reaches every kernel object through a handle: a 32-bit name that is only
 * meaningful inside the task's own handle table. Each handle carries a set of rights,
 * and every operation on a handle names the rights it needs; the kernel checks them in
 * one lookup helper, so there is no ambient authority. Rights can only shrink as a
 * handle is duplicated or sent to another task, never grow.
 *
 * This header is shared by the kernel, libc, servers and host tests. It holds no kernel
 * internals and must stay valid C and C++.
 */
#ifndef TERN_ABI_RIGHTS_H
#define TERN_ABI_RIGHTS_H

#include <stdint.h>

/* A task-local name for a kernel object. The value encodes a table slot and a
 * generation, so a handle that was closed stays invalid even after its slot is reused;
 * user space must treat it as opaque. */
typedef uint32_t tern_handle_t;

/* No valid handle ever has this value, so it can mean "none" in messages and calls. */
#define TERN_INVALID_HANDLE ((tern_handle_t)0)

/* A set of TERN_RIGHT_* bits. */
typedef uint32_t tern_rights_t;

#define TERN_RIGHT_NONE ((tern_rights_t)0)
/* Send messages to a port, or signal an object that accepts signals through one. */
#define TERN_RIGHT_SEND ((tern_rights_t)1u << 0)
/* Receive messages from a port; a port has exactly one handle with this right. */
#define TERN_RIGHT_RECEIVE ((tern_rights_t)1u << 1)
/* Make another handle to the same object in the same task (with equal or fewer rights). */
#define TERN_RIGHT_DUPLICATE ((tern_rights_t)1u << 2)
/* Move or copy the handle to another task inside a message. */
#define TERN_RIGHT_TRANSFER ((tern_rights_t)1u << 3)
/* Map a memory object (or an MMIO range) into an address space. */
#define TERN_RIGHT_MAP ((tern_rights_t)1u << 4)
/* Read the object's contents or state: memory object bytes, I/O port input, thread
 * registers together with CONTROL. */
#define TERN_RIGHT_READ ((tern_rights_t)1u << 5)
/* Change the object's contents or state: memory object bytes, I/O port output, thread
 * registers together with CONTROL. */
#define TERN_RIGHT_WRITE ((tern_rights_t)1u << 6)
/* Control a task or thread: stop, resume, kill, read and write its registers and memory,
 * create threads in it. This is what a debugger or the migrate server holds. */
#define TERN_RIGHT_CONTROL ((tern_rights_t)1u << 7)
/* Raise or acknowledge the object's signals, e.g. acknowledge an interrupt so the IRQ can
 * fire again. */
#define TERN_RIGHT_SIGNAL ((tern_rights_t)1u << 8)

/* Every right defined above; bits outside this mask are rejected by the kernel. */
#define TERN_RIGHTS_ALL ((tern_rights_t)0x1FFu)

/* For duplicate and replace: "the same rights the source handle has", so a caller need
 * not query the rights first. It is never a right itself and is never stored. */
#define TERN_RIGHTS_SAME ((tern_rights_t)1u << 31)

/* Kernel object types, as reported for a handle and as required by a lookup. Zero is no
 * type: a lookup that names type 0 accepts an object of any type. */
#define TERN_OBJ_ANY ((uint32_t)0)
/* An address space with its handle table and threads. */
#define TERN_OBJ_TASK ((uint32_t)1)
/* A schedulable thread of execution inside a task. */
#define TERN_OBJ_THREAD ((uint32_t)2)
/* A message queue with one receiver and any number of senders. */
#define TERN_OBJ_PORT ((uint32_t)3)
/* A set of pages that can be mapped into address spaces. */
#define TERN_OBJ_MEMORY ((uint32_t)4)
/* A hardware interrupt line delivered as messages to a port. */
#define TERN_OBJ_IRQ ((uint32_t)5)
/* A range of x86 I/O ports a driver may access. */
#define TERN_OBJ_IOPORT ((uint32_t)6)
/* A one-shot right to answer one port_call; consumed by port_reply. */
#define TERN_OBJ_REPLY ((uint32_t)7)
/* A range of device resources (IRQ lines, I/O ports or MMIO) that may be handed out. */
#define TERN_OBJ_RESOURCE ((uint32_t)8)
/* One past the largest type code, for tables indexed by type. */
#define TERN_OBJ_TYPE_COUNT ((uint32_t)9)

#endif /* TERN_ABI_RIGHTS_H */
