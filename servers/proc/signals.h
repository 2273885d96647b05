#pragma once
// Signals, process groups and sessions in the process server (tern/protocols/proc.h,
// "Signals"). main.cpp owns the process table; this part keeps, beside each slot, the
// process's group, session, thread and signal entry, and delivers signals.
#include <base/error.h>
#include <stddef.h>
#include <stdint.h>
#include <tern/protocol.h>

namespace proc_signals {

inline constexpr size_t kNone = ~size_t(0);

// What main.cpp tells of a slot of its table.
struct ProcessView {
    uint64_t pid = 0;
    uint64_t parent = 0;
    tern_handle_t task = TERN_INVALID_HANDLE;
    uint64_t task_id = 0;
    bool running = false;
    const char* name = "";
};

// ---- Provided by main.cpp ----
// False for a free slot (or one reserved for a child being started elsewhere).
bool view(size_t index, ProcessView& out);
size_t index_of_pid(uint64_t pid);
size_t index_of_task(uint64_t task_id);
uint64_t init_pid();
uint64_t this_node();
// Ends a child of this node's record that runs on another node (proc's Kill there),
// with its descendants there too when asked (the terminal's foreground).
void kill_remote(uint64_t pid, int64_t status, bool descendants);
// The process in a slot stopped or continued: a parked Wait of its parent may answer
// (take_report).
void job_changed(size_t index);

// ---- Provided by signals.cpp ----
// A slot now holds a new process whose parent is `parent` (a pid, 0 for none): it joins
// the parent's group and session, or leads its own when the parent is init, of another
// node or none.
void track(size_t index, uint64_t parent);
// The process leads a new group of its session (Spawn's kSpawnNewGroup).
void lead_group(size_t index);
// The process's thread (proc takes the handle) and, for a fork, its parent's entry.
void set_thread(size_t index, tern_handle_t thread);
void inherit_entry(size_t index, size_t parent_index);
// The process ended (its thread goes) / its slot is free again.
void ended(size_t index);
void forget(size_t index);
// A process of group `ended_pgid` ended: a group that its end orphaned and that has a
// stopped member gets SIGHUP and SIGCONT (POSIX).
void orphaned_groups(uint64_t ended_pid, uint64_t ended_pgid);
// True when `parent`, a process of this node, ignores SIGCHLD or set SA_NOCLDWAIT (its job
// word's kJobNoChildWait): its children are reaped as they end, leaving no zombie.
bool discards_children(uint64_t parent);
// SIGCHLD to `parent` for its child `child` that ended with `status`.
void child_ended(uint64_t parent, uint64_t child, int64_t status);
// The process group of a slot's process (0 for none).
uint64_t pgid_of(size_t index);
// A stop or continue of the process not yet reported that a Wait with `flags`
// (proc::kWaitStopped, kWaitContinued) takes: its event and status; `consume` marks it
// reported. False when there is none.
bool take_report(size_t index, uint32_t flags, bool consume, uint32_t& event, int64_t& status);
// Faults (tern/protocols/proc.h, "Faults"): makes the port every tracked process's CPU
// exceptions come to, a member of proc's port under `key`.
base::Error init_faults(tern_handle_t server_port, uint32_t key);
// A message that came through the faults port (the kernel's TERN_LABEL_EXCEPTION).
void on_fault(tern_msg& msg);
// The signal operations (SignalEntry, Signal, SetPgid, GetPgid, SetSid).
void serve(tern::proto::Server& server);

} // namespace proc_signals
