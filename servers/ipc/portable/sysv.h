#pragma once
// ipc::Store: the System V objects of one node (segments, semaphore sets, message queues)
// as a pure state machine: no I/O, no clock (the server sets `now`), so the host tests
// drive it directly. Every answer is 0 or a Linux errno (tern/protocols/ipc.h), with the
// rules Linux has:
//
// - Keys and ids: one table per kind of kMaxObjects slots; an id carries the node, the
//   slot and the slot's sequence (ipc::make_id), so a stale id of a reused slot is EINVAL.
//   IPC_PRIVATE always makes a new object; IPC_CREAT|IPC_EXCL on a key in use is EEXIST; a
//   key not in use without IPC_CREAT is ENOENT; a full table is ENOSPC.
// - Permissions: the owner, group or other bits as the caller's uid and gid select them
//   (read for stat and GET*, write for changes); uid 0 passes every check, as root does
//   on Linux. IPC_SET and IPC_RMID are for the owner, the creator or uid 0 (EPERM).
// - Semaphores: a semop applies all of its operations or none; one that cannot proceed
//   waits (kBlocked) unless the operation in the way has IPC_NOWAIT (EAGAIN). Waiters are
//   retried in arrival order after every change. SEM_UNDO keeps an adjustment per task,
//   set and semaphore, applied (clamped to 0..SEMVMX) when the task ends.
// - Message queues: msgrcv type 0 takes the first message, > 0 the first of that type
//   (MSG_EXCEPT: of any other), < 0 the first of the lowest type at most -type. A queue
//   holds at most qbytes bytes and qbytes messages.
// - Segments: IPC_RMID of an attached segment makes it private (key 0) and marks it
//   kShmDest; it is freed at its last detach (or when its last attacher ends).
//
// Calls that wait are parked here (so GETNCNT and GETZCNT count them) under a token the
// server chooses; when one completes, the store calls the completion function with its
// answer. The server cancels a parked call when its timeout passes or its task ends.
#include <stddef.h>
#include <stdint.h>
#include <tern/protocols/ipc.h>

#include "wait_list.h"

namespace ipc {

using namespace tern::ipc;

// Who is calling: the task (its kernel id) and the ids it gave in Hello.
struct Caller {
    uint64_t task = 0;
    uint32_t pid = 0;
    uint32_t uid = 0;
    uint32_t gid = 0;
};

struct Message {
    Message* next = nullptr;
    int64_t type = 0;
    uint32_t size = 0;
    uint8_t* text = nullptr; // size bytes
};

// The answer to a parked call, through Store::set_completion. For a msgrcv, `message` is
// the message taken (valid during the call; its text cut to the receiver's max), else null.
using Completion = void (*)(void* context, uint64_t token, int32_t error, const Message* message);

// The result of a call that may wait: kBlocked when it was parked.
inline constexpr int32_t kBlocked = -1;

class Store {
public:
    explicit Store(uint32_t node);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    void set_completion(void* context, Completion completion) {
        m_completion_context = context;
        m_completion = completion;
    }
    // Seconds since the epoch, for the times objects keep.
    void set_now(int64_t now) { m_now = now; }
    uint32_t node() const { return m_node; }

    // shmget, semget, msgget: 0 and *id, or an errno. For a new segment *created is set:
    // the server makes its memory and calls shm_abandon when it cannot.
    int32_t get(const Caller& c, Kind kind, int32_t key, uint32_t flags, uint64_t size, int32_t* id,
                bool* created = nullptr);
    // A segment made by get whose memory could not be made: gone again.
    void shm_abandon(int32_t id);

    // shmat and shmdt bookkeeping. attach: 0 and *size, or an errno. detach: EINVAL when
    // the caller has no attach of the segment. *freed_slot is the slot whose memory the
    // server may now release (or -1).
    int32_t shm_attach(const Caller& c, int32_t id, uint32_t flags, uint64_t* size);
    int32_t shm_detach(const Caller& c, int32_t id, int32_t* freed_slot);
    // The slot of a live segment id (for the server's memory table), or -1.
    int32_t shm_slot(int32_t id) const;

    // shmctl, semctl, msgctl. in/in_size: SETALL's values or an ObjectSet; out/out_size
    // (room for kControlData bytes): IPC_STAT's ObjectStat, GETALL's values, *_INFO's
    // Usage; *value: the command's return value. *freed_slot as for shm_detach.
    int32_t control(const Caller& c, Kind kind, int32_t id, int32_t command, int32_t semnum,
                    int64_t argument, const void* in, size_t in_size, void* out, size_t* out_size,
                    int64_t* value, int32_t* freed_slot);

    // semop: 0, an errno, or kBlocked (parked under token).
    int32_t semop(const Caller& c, int32_t id, const SemOp* ops, size_t count, uint64_t token);
    // msgsnd: 0, an errno or kBlocked. The text is copied.
    int32_t msgsnd(const Caller& c, int32_t id, int64_t type, const void* text, size_t size,
                   uint32_t flags, uint64_t token);
    // msgrcv: 0 with *out (the caller frees it with free_message), an errno, or kBlocked.
    int32_t msgrcv(const Caller& c, int32_t id, int64_t type, uint64_t max, uint32_t flags,
                   uint64_t token, Message** out);
    static void free_message(Message* m);

    // Drops a parked call without an answer (its timeout passed, its caller is gone).
    // false when no call is parked under token.
    bool cancel(uint64_t token);
    // The task ended: its SEM_UNDO adjustments are applied, its attaches dropped (segments
    // removed meanwhile are freed: the slots go to freed(context, slot)) and its parked
    // calls dropped without an answer.
    void task_ended(uint64_t task, void (*freed)(void* context, int32_t slot), void* context);

    // For tests and ipcs: parked calls, and the objects in use.
    uint32_t waiters() const;
    uint32_t objects(Kind kind) const;

private:
    struct Perm {
        int32_t key = 0;
        uint32_t uid = 0, gid = 0, cuid = 0, cgid = 0, mode = 0;
    };
    struct Waiter;
    struct Object {
        bool used = false;
        uint32_t sequence = 0;
        Perm perm;
        int64_t atime = 0, dtime = 0, ctime = 0;
        // shm
        uint64_t size = 0;
        uint32_t attaches = 0;
        bool removed = false;
        uint32_t cpid = 0, lpid = 0;
        // sem
        uint32_t nsems = 0;
        uint16_t* values = nullptr;
        uint32_t* pids = nullptr;
        // msg
        Message* head = nullptr;
        Message* tail = nullptr;
        uint64_t bytes = 0;
        uint64_t messages = 0;
        uint64_t qbytes = 0;
        // sem and msg: the calls parked on it, oldest first
        WaitList<Waiter> waiters;
    };
    struct Undo {
        bool used = false;
        uint64_t task = 0;
        uint32_t pid = 0; // the task's, for GETPID after its adjustments are applied
        int32_t id = 0;
        int16_t* adjust = nullptr; // nsems
    };
    struct AttachRecord {
        bool used = false;
        uint64_t task = 0;
        int32_t id = 0;
        uint32_t count = 0;
    };
    enum class WaitKind : uint8_t {
        kSem,
        kSend,
        kReceive
    };
    struct Waiter {
        bool used = false;
        WaitKind kind = WaitKind::kSem;
        Object* object = nullptr; // whose list it is on
        Waiter* prev = nullptr;
        Waiter* next = nullptr;
        uint64_t token = 0;
        uint64_t sequence = 0; // arrival order
        Caller caller;
        int32_t id = 0;
        uint32_t flags = 0;
        // sem
        SemOp ops[kSemOpm];
        uint32_t count = 0;
        int32_t blocking = -1; // the semaphore in the way, for GETNCNT/GETZCNT
        bool for_zero = false;
        // msgsnd: the message; msgrcv: type and max
        Message* message = nullptr;
        int64_t type = 0;
        uint64_t max = 0;
    };
    static constexpr size_t kMaxUndo = 256;
    static constexpr size_t kMaxAttachRecords = 256;

    Object* lookup(Kind kind, int32_t id);
    const Object* lookup(Kind kind, int32_t id) const;
    int32_t slot_of(Kind kind, const Object* o) const;
    int32_t id_of(Kind kind, const Object* o) const;
    bool permitted(const Caller& c, const Perm& p, bool write) const;
    bool owner(const Caller& c, const Perm& p) const;
    void fill_stat(Kind kind, const Object& o, ObjectStat& s) const;
    // IPC_STAT and *_STAT: o's record in out (EACCES when check and c may not read it).
    int32_t stat_into(const Caller& c, Kind kind, const Object& o, bool check, void* out,
                      size_t* out_size) const;
    void destroy(Kind kind, Object& o);
    void remove_sem(Object& o, int32_t id);
    void remove_msg(Object& o);
    Undo* find_undo(const Caller& c, int32_t id, bool make, uint32_t nsems);
    void clear_adjustments(int32_t id, int32_t semnum);
    int32_t try_semop(Object& o, int32_t id, const Caller& c, const SemOp* ops, size_t count,
                      int32_t* blocking, bool* for_zero);
    int32_t try_send(Object& o, const Caller& c, Message*& m);
    int32_t try_receive(Object& o, const Caller& c, int64_t type, uint64_t max, uint32_t flags,
                        Message** out);
    Waiter* park(WaitKind kind, const Caller& c, Object& o, int32_t id, uint64_t token);
    void release(Waiter& w);
    void wake_sem(Object& o, int32_t id);
    void wake_msg(Object& o);
    void complete(Waiter& w, int32_t error, const Message* m);
    int32_t control_shm(const Caller& c, int32_t id, int32_t command, const void* in,
                        size_t in_size, void* out, size_t* out_size, int64_t* value,
                        int32_t* freed_slot);
    int32_t control_sem(const Caller& c, int32_t id, int32_t command, int32_t semnum,
                        int64_t argument, const void* in, size_t in_size, void* out,
                        size_t* out_size, int64_t* value);
    int32_t control_msg(const Caller& c, int32_t id, int32_t command, const void* in,
                        size_t in_size, void* out, size_t* out_size, int64_t* value);
    int32_t info(Kind kind, void* out, size_t* out_size, int64_t* value) const;
    int32_t set_perm(const Caller& c, Kind kind, Object& o, const void* in, size_t in_size);

    uint32_t m_node;
    int64_t m_now = 0;
    Object m_objects[3][kMaxObjects];
    Undo m_undo[kMaxUndo];
    AttachRecord m_attach[kMaxAttachRecords];
    Waiter* m_waiters = nullptr; // kMaxWaiters
    uint64_t m_wait_sequence = 0;
    uint64_t m_shm_pages = 0;
    uint32_t m_semaphores = 0;
    void* m_completion_context = nullptr;
    Completion m_completion = nullptr;
};

} // namespace ipc
