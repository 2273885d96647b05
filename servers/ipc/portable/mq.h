#pragma once
// ipc::MqStore: the POSIX message queues of one node as a pure state machine (no I/O, no
// clock), driven by servers/ipc/main.cpp and by the host tests. Every answer is 0 or a
// Linux errno (tern/protocols/ipc.h), with the rules Linux has:
//
// - Names: "/x" is the caller's business (the C library strips the slash); here a name is
//   1..kMqNameMax bytes without '/' (EACCES for one with a slash, "." or ".."; ENOENT for
//   an empty one; ENAMETOOLONG for a longer one).
// - mq_open: O_CREAT makes the queue unless it exists (O_EXCL: EEXIST); without it a
//   missing queue is ENOENT. A new queue takes the caller's mq_attr (mq_maxmsg 1..
//   kMqMaxMsgHard, mq_msgsize 1..kMqMsgSizeMax, else EINVAL) or Linux's defaults (10
//   messages of 8192 bytes). Its bytes (maxmsg * (msgsize + 8)) count against its owner's
//   kMqBytesPerUser (EMFILE beyond, as RLIMIT_MSGQUEUE's default does on Linux); more
//   than kMqMaxQueues queues is ENOSPC, more than kMqMaxDescriptions open descriptions
//   ENFILE. Opening an existing queue checks the mode bits for the access asked (EACCES;
//   uid 0 passes), O_RDONLY|O_WRONLY|O_RDWR together is EINVAL.
// - An open queue description belongs to the tasks that hold it (its descriptors in
//   their fd tables): a fork lends it to the child (lend, then share in the child), and
//   it goes when its last holder closes it or ends. O_NONBLOCK is the description's.
// - mq_unlink removes the name at once (ENOENT when there is none; EACCES for a caller
//   that is neither the owner nor uid 0); the queue lives until its last description goes.
// - Messages: highest priority first, first in first out within a priority. A send
//   longer than mq_msgsize is EMSGSIZE, a receive with a buffer shorter than mq_msgsize
//   too. A full queue (send) or an empty one (receive) is EAGAIN on an O_NONBLOCK
//   description, else the call waits (kBlocked); waiters are served in arrival order, a
//   message sent to an empty queue goes straight to the first waiting receiver.
// - mq_notify: one registration per queue (EBUSY for any other while one exists); a null
//   request removes the caller's own. It fires when a message arrives on an empty queue
//   that no receiver waits on, and is removed as it fires, when its task closes a
//   description of the queue, or when its task ends.
//
// Calls that wait are parked under a token the server chooses; when one completes the
// store calls the completion function, which says whether the answer reached its caller:
// when not (the caller gave up, interrupted by a signal), a receive's message goes back to
// the front of its priority, as if never taken, and a send's message is not sent.
#include <stddef.h>
#include <stdint.h>
#include <tern/protocols/ipc.h>

#include "sysv.h"
#include "wait_list.h"

namespace ipc {

struct MqMessage {
    MqMessage* next = nullptr;
    uint32_t priority = 0;
    uint32_t size = 0;
    uint8_t* text = nullptr;
};

// What a fired SIGEV_SIGNAL registration asks for: signal `signo` to the process `pid`
// (its global pid as the registering task gave it), on behalf of `sender`.
struct MqNotice {
    uint64_t task = 0;
    uint64_t pid = 0;
    int32_t signo = 0;
    int64_t value = 0; // sigev_value
    uint32_t sender_pid = 0;
    uint32_t sender_uid = 0;
};

// The answer to a parked call: true when it reached its caller (false: for a receive the
// message is put back, a send's message is dropped).
using MqCompletion = bool (*)(void* context, uint64_t token, int32_t error, const MqMessage* m);
using MqNotifier = void (*)(void* context, const MqNotice& notice);

class MqStore {
public:
    explicit MqStore(uint32_t node);
    ~MqStore();
    MqStore(const MqStore&) = delete;
    MqStore& operator=(const MqStore&) = delete;

    void set_completion(void* context, MqCompletion completion) {
        m_completion_context = context;
        m_completion = completion;
    }
    void set_notifier(void* context, MqNotifier notifier) {
        m_notifier_context = context;
        m_notifier = notifier;
    }
    void set_now(int64_t now) { m_now = now; }

    // mq_open: 0 and the description's handle, or an errno. attr null: the defaults.
    // oflag: Linux's O_ACCMODE bits, O_CREAT, O_EXCL, O_NONBLOCK; mode: the permission
    // bits (the caller applied its umask).
    int32_t open(const Caller& c, const char* name, size_t length, uint32_t oflag, uint32_t mode,
                 const MqAttr* attr, MqHandle* out);
    int32_t unlink(const Caller& c, const char* name, size_t length);
    // mq_close (the last descriptor of the caller's description): EBADF when the caller
    // does not hold it.
    int32_t close(const Caller& c, const MqHandle& h);
    // Before a fork (delta 1) the caller lends each description it holds to the child to
    // come; after a failed fork it takes the loan back (-1). The child then shares it.
    int32_t lend(const Caller& c, const MqHandle& h, int32_t delta);
    int32_t share(const Caller& c, const MqHandle& h);

    int32_t getattr(const Caller& c, const MqHandle& h, MqAttr* out);
    // mq_setattr: only O_NONBLOCK of flags counts; *old gets the attributes before.
    int32_t setattr(const Caller& c, const MqHandle& h, int64_t flags, MqAttr* old);

    // mq_send and mq_receive: 0, an errno or kBlocked (parked under token; the server
    // cancels it when it must not wait). receive: 0 with *out (free it with
    // free_message).
    int32_t send(const Caller& c, const MqHandle& h, const void* text, size_t size,
                 uint32_t priority, uint64_t token);
    int32_t receive(const Caller& c, const MqHandle& h, uint64_t max, uint64_t token,
                    MqMessage** out);
    static void free_message(MqMessage* m);
    // Puts back a message taken by receive that never reached its caller.
    void unreceive(const MqHandle& h, MqMessage* m);

    // mq_notify: request null removes the caller's registration.
    int32_t notify(const Caller& c, const MqHandle& h, const MqNotifyRequest* request);

    bool cancel(uint64_t token);
    // The task ended: its descriptions (and loans) are released, its parked calls dropped
    // without an answer, its registrations removed.
    void task_ended(uint64_t task);

    // For tests and the server's log.
    uint32_t waiters() const;
    uint32_t queues() const;
    uint32_t descriptions() const;
    // Messages queued in the queue named so (or -1 when there is none).
    int64_t queued(const char* name, size_t length) const;

private:
    struct Waiter;
    struct Queue {
        bool used = false;
        bool linked = false;  // has its name
        char* name = nullptr; // length bytes, made at mq_open
        uint32_t length = 0;
        uint32_t uid = 0, gid = 0, mode = 0;
        int64_t maxmsg = 0, msgsize = 0, curmsgs = 0;
        uint64_t bytes = 0; // what it counts against its owner
        MqMessage* head = nullptr;
        uint32_t descriptions = 0;
        bool notify = false;
        uint64_t notify_task = 0;
        uint64_t notify_pid = 0;
        int32_t notify_kind = 0;
        int32_t notify_signo = 0;
        int64_t notify_value = 0;
        int64_t ctime = 0;
        // The calls parked on it, oldest first: senders (WaitKind::kSend) and receivers.
        WaitList<Waiter> waiting[2];
    };
    struct Description {
        bool used = false;
        uint16_t generation = 0;
        uint32_t queue = 0;
        uint32_t access = 0; // O_ACCMODE
        bool nonblock = false;
        uint64_t secret = 0;
        uint32_t holders = 0; // holds plus loans
    };
    struct Hold {
        bool used = false;
        uint64_t task = 0;
        uint32_t description = 0;
        bool holding = false; // the task holds it (else only its loans are left)
        uint32_t loans = 0;   // lent to children not yet started
    };
    enum class WaitKind : uint8_t {
        kSend,
        kReceive
    };
    struct Waiter {
        bool used = false;
        WaitKind kind = WaitKind::kSend;
        Waiter* prev = nullptr;
        Waiter* next = nullptr;
        uint64_t token = 0;
        uint64_t sequence = 0;
        uint64_t task = 0;
        uint32_t queue = 0;
        MqHandle handle{};
        MqMessage* message = nullptr; // a send's
        Caller caller;
    };

    Description* describe(const MqHandle& h);
    Hold* find_hold(uint64_t task, uint32_t description);
    Queue* find_queue(const char* name, size_t length);
    void free_queue(Queue& q);
    bool permitted(const Caller& c, const Queue& q, uint32_t access) const;
    uint64_t user_bytes(uint32_t uid) const;
    void release(uint32_t description);
    void drop_queue_if_unused(Queue& q);
    void insert(Queue& q, MqMessage* m, bool front);
    MqMessage* take(Queue& q);
    Waiter* park(WaitKind kind, const Caller& c, const MqHandle& h, uint32_t queue, uint64_t token);
    Waiter* first_waiter(uint32_t queue, WaitKind kind);
    void drop(Waiter& w);
    void deliver(Queue& q, uint32_t qi, MqMessage* m, const Caller& sender);
    void room(Queue& q, uint32_t qi);
    void drop_notification(Queue& q);
    uint64_t next_secret();

    uint32_t m_node;
    int64_t m_now = 0;
    uint64_t m_wait_sequence = 0;
    uint64_t m_secret_state;
    Queue* m_queues = nullptr;             // kMqMaxQueues
    Description* m_descriptions = nullptr; // kMqMaxDescriptions
    Hold* m_holds = nullptr;               // kMqMaxHolds
    Waiter* m_waiters = nullptr;           // kMaxWaiters
    void* m_completion_context = nullptr;
    MqCompletion m_completion = nullptr;
    void* m_notifier_context = nullptr;
    MqNotifier m_notifier = nullptr;
};

} // namespace ipc
