#pragma once
// One handler per entry of TERN_ENUMERATE_SYSCALLS (abi/include/tern/abi/syscalls.h),
// grouped by the file under kernel/syscalls/ that defines it. The dispatcher decodes each
// call's registers into these parameter types and checks at compile time that they use
// exactly the registers the table gives the call; the contracts are in the table.
#include <kernel/syscalls/arguments.h>
#include <tern/abi/firmware.h>
#include <tern/abi/message.h>
#include <tern/abi/task.h>

namespace kernel {

// debug.cpp: the console, clocks and node-wide figures.
SyscallResult sys_null();
SyscallResult sys_debug_write(UserBuffer text);
SyscallResult sys_clock_monotonic();
SyscallResult sys_clock_realtime();
SyscallResult sys_node_id();
SyscallResult sys_memory_info(UserPtr<tern_memory_info> out);

// handle.cpp: handles of the calling task.
SyscallResult sys_handle_close(Handle handle);
SyscallResult sys_handle_duplicate(Handle handle, uint32_t rights);

// ipc.cpp: ports, port sets, calls and replies, signals, death notices, queue capture.
SyscallResult sys_port_create(uint32_t capacity);
SyscallResult sys_port_send(Handle port, UserPtr<tern_msg> msg, Timeout timeout);
SyscallResult sys_port_receive(Handle port, UserPtr<tern_msg> msg, Timeout timeout);
SyscallResult sys_port_call(Handle port, UserPtr<tern_msg> msg, Timeout timeout);
SyscallResult sys_port_reply(Handle reply, UserPtr<tern_msg> msg);
SyscallResult sys_port_call_async(Handle port, UserPtr<tern_msg> msg, Handle reply_port,
                                  uint64_t cookie);
SyscallResult sys_ipc_stats(UserPtr<tern_ipc_stats> out);
SyscallResult sys_cpu_times(Handle handle, UserPtr<tern_cpu_times> out);
SyscallResult sys_port_call_regs(Handle port, uint64_t label, Timeout timeout);
SyscallResult sys_port_reply_receive_regs(Handle port, uint64_t label, Timeout timeout);
SyscallResult sys_vm_supply_batch(Handle task, uint64_t address, uint64_t pages, uint64_t count);
SyscallResult sys_port_reply_error(Handle reply, uint64_t status);
SyscallResult sys_port_reply_receive(uint64_t reply, UserPtr<tern_msg> reply_msg, Handle port,
                                     UserPtr<tern_msg> msg, Timeout timeout);
SyscallResult sys_port_signal(Handle port, uint64_t bits);
SyscallResult sys_port_set_add(Handle set, Handle member, uint32_t key);
SyscallResult sys_port_set_remove(Handle set, Handle member);
SyscallResult sys_port_capture(Handle port, UserArray<tern_msg> out);
SyscallResult sys_port_restore(Handle port, UserArray<tern_msg> msgs);
SyscallResult sys_object_watch(Handle object, Handle port, uint64_t cookie);
SyscallResult sys_object_unwatch(Handle object, Handle port, uint64_t cookie);

// task.cpp: tasks, their memory and handles seen from outside, exit.
SyscallResult sys_task_create(UserBuffer name);
SyscallResult sys_task_exit(uint64_t status);
SyscallResult sys_task_id();
SyscallResult sys_task_id_of(Handle task);
SyscallResult sys_task_vm_allocate(Handle task, uint64_t address, uint64_t size, uint32_t prot);
SyscallResult sys_task_vm_write(Handle task, uint64_t address, UserBuffer bytes);
SyscallResult sys_task_vm_read(Handle task, uint64_t address, UserBuffer bytes);
SyscallResult sys_task_kill(Handle task, uint64_t status);
SyscallResult sys_fault_resume(uint64_t start, uint64_t end, uint64_t resume);
SyscallResult sys_task_wait(Handle task, Timeout timeout);
SyscallResult sys_task_mappings(Handle task, UserArray<tern_mapping> out);
SyscallResult sys_task_handles(Handle task, UserArray<tern_handle_info> out);
SyscallResult sys_task_set_exception_port(Handle task, Handle port);
SyscallResult sys_task_give_handle(Handle task, Handle handle, uint32_t rights);
SyscallResult sys_task_clone(Handle task, uint64_t entry, uint64_t stack_top, uint64_t arg,
                             UserPtr<tern_handle_t> thread_out);

// futex.cpp: waiting on user addresses.
SyscallResult sys_futex_wait(uint64_t addr, uint32_t expected, Timeout timeout, uint32_t flags);
SyscallResult sys_futex_wake(uint64_t addr, uint32_t count, uint32_t flags);
SyscallResult sys_futex_requeue(uint64_t addr, uint32_t wake, uint64_t addr2, uint32_t move,
                                uint32_t expected, uint32_t flags);

// thread.cpp: threads of the calling task and thread control.
SyscallResult sys_thread_exit(uint64_t status);
SyscallResult sys_thread_yield();
SyscallResult sys_thread_sleep(uint64_t ns);
SyscallResult sys_thread_create(uint64_t entry, uint64_t stack_top, uint64_t arg,
                                uint32_t priority);
SyscallResult sys_thread_id();
SyscallResult sys_thread_set_fs_base(uint64_t base);
SyscallResult sys_thread_spawn(uint64_t entry, uint64_t stack_top, uint64_t arg, uint64_t fs_base,
                               uint64_t clear_tid, uint64_t handle_out);
SyscallResult sys_thread_set_clear_tid(uint64_t clear_tid);
SyscallResult sys_task_set_robust_lists(uint64_t records, uint64_t count);
SyscallResult sys_task_thread_create(Handle task, uint64_t entry, uint64_t stack_top, uint64_t arg);
SyscallResult sys_thread_stop(Handle thread, Timeout timeout);
SyscallResult sys_thread_resume(Handle thread);
SyscallResult sys_thread_get_regs(Handle thread, UserPtr<tern_regs> out);
SyscallResult sys_thread_set_regs(Handle thread, UserPtr<tern_regs> regs);
SyscallResult sys_thread_get_fpu(Handle thread, UserPtr<tern_fpu_state> out);
SyscallResult sys_thread_set_fpu(Handle thread, UserPtr<tern_fpu_state> state);

// vm.cpp: address spaces, pagers and memory objects.
SyscallResult sys_vm_allocate(uint64_t size, uint32_t prot);
SyscallResult sys_vm_free(uint64_t address, uint64_t size);
SyscallResult sys_vm_protect(uint64_t address, uint64_t size, uint32_t prot);
SyscallResult sys_vm_map_pager(Handle task, uint64_t address, uint64_t size, uint32_t prot,
                               Handle pager);
SyscallResult sys_vm_supply(Handle task, uint64_t address, UserPtr<uint8_t[4096]> page);
SyscallResult sys_vm_refuse(Handle task, uint64_t address);
SyscallResult sys_memory_create(uint64_t size, uint32_t flags);
SyscallResult sys_vm_map_memory(Handle task, Handle memory, uint64_t address, uint64_t offset,
                                uint64_t size, uint32_t prot);
SyscallResult sys_memory_physical(Handle memory, uint64_t offset);

// device.cpp: device access for drivers.
SyscallResult sys_memory_create_physical(Handle resource, uint64_t phys, uint64_t size);
SyscallResult sys_irq_create(Handle resource, uint32_t line, uint32_t flags);
SyscallResult sys_irq_create_msi(Handle resource, UserPtr<tern_msi_message> out);
SyscallResult sys_resource_split(Handle resource, uint64_t base, uint64_t count);
SyscallResult sys_firmware_info(UserPtr<tern_firmware_info> out);
SyscallResult sys_boot_option(Handle config, UserBuffer name, UserBuffer value);
SyscallResult sys_irq_bind(Handle irq, Handle port, uint64_t bits);
SyscallResult sys_irq_ack(Handle irq);
SyscallResult sys_ioport_enable(Handle resource, uint32_t base, uint32_t count);

} // namespace kernel
