// The POSIX message queues of one node (mq.h has the rules).
#include "mq.h"

#include "common.h"

namespace ipc {

namespace {

constexpr uint32_t kRead = 4;
constexpr uint32_t kWrite = 2;
// What a queue counts against its owner besides its messages: one pointer per message.
constexpr uint64_t kPerMessage = 8;

bool same_name(const char* a, size_t a_length, const char* b, size_t b_length) {
    if (a_length != b_length)
        return false;
    for (size_t i = 0; i < a_length; ++i)
        if (a[i] != b[i])
            return false;
    return true;
}

// Linux's checks of a queue's name (the part after the C library's '/').
int32_t check_name(const char* name, size_t length) {
    if (length == 0)
        return kENOENT;
    if (length > kMqNameMax)
        return kENAMETOOLONG;
    for (size_t i = 0; i < length; ++i)
        if (name[i] == '/' || name[i] == 0)
            return kEACCES;
    if (name[0] == '.' && (length == 1 || (length == 2 && name[1] == '.')))
        return kEACCES;
    return 0;
}

} // namespace

MqStore::MqStore(uint32_t node)
    : m_node(node), m_secret_state(0x9E3779B97F4A7C15ull ^ (uint64_t(node) << 32)) {
    m_queues = new (std::nothrow) Queue[kMqMaxQueues];
    m_descriptions = new (std::nothrow) Description[kMqMaxDescriptions];
    m_holds = new (std::nothrow) Hold[kMqMaxHolds];
    m_waiters = new (std::nothrow) Waiter[kMaxWaiters];
}

MqStore::~MqStore() {
    if (m_queues)
        for (uint32_t i = 0; i < kMqMaxQueues; ++i)
            free_queue(m_queues[i]);
    if (m_waiters)
        for (uint32_t i = 0; i < kMaxWaiters; ++i)
            free_message(m_waiters[i].message);
    delete[] m_queues;
    delete[] m_descriptions;
    delete[] m_holds;
    delete[] m_waiters;
}

void MqStore::free_message(MqMessage* m) { delete_message(m); }

// splitmix64 over a counter seeded by the node and, in the server, mixed with the clock
// at each open (set_now): the secrets need only be hard to guess from another task.
uint64_t MqStore::next_secret() {
    m_secret_state += 0x9E3779B97F4A7C15ull + uint64_t(m_now);
    uint64_t z = m_secret_state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// ---- Lookups ---------------------------------------------------------------------------

MqStore::Description* MqStore::describe(const MqHandle& h) {
    if (!m_descriptions || mq_node(h.description) != m_node)
        return nullptr;
    uint32_t slot = mq_slot(h.description);
    if (slot >= kMqMaxDescriptions)
        return nullptr;
    Description& d = m_descriptions[slot];
    if (!d.used || d.generation != mq_generation(h.description) || d.secret != h.secret)
        return nullptr;
    return &d;
}

MqStore::Hold* MqStore::find_hold(uint64_t task, uint32_t description) {
    for (uint32_t i = 0; i < kMqMaxHolds; ++i)
        if (m_holds[i].used && m_holds[i].holding && m_holds[i].task == task
            && m_holds[i].description == description)
            return &m_holds[i];
    return nullptr;
}

MqStore::Queue* MqStore::find_queue(const char* name, size_t length) {
    for (uint32_t i = 0; i < kMqMaxQueues; ++i) {
        Queue& q = m_queues[i];
        if (q.used && q.linked && same_name(q.name, q.length, name, length))
            return &q;
    }
    return nullptr;
}

bool MqStore::permitted(const Caller& c, const Queue& q, uint32_t access) const {
    if (c.uid == 0)
        return true;
    uint32_t granted = q.mode;
    if (c.uid == q.uid)
        granted >>= 6;
    else if (c.gid == q.gid)
        granted >>= 3;
    return (granted & access) == access;
}

uint64_t MqStore::user_bytes(uint32_t uid) const {
    uint64_t total = 0;
    for (uint32_t i = 0; i < kMqMaxQueues; ++i)
        if (m_queues[i].used && m_queues[i].uid == uid)
            total += m_queues[i].bytes;
    return total;
}

// ---- Open, close, unlink, fork ------------------------------------------------------------

int32_t MqStore::open(const Caller& c, const char* name, size_t length, uint32_t oflag,
                      uint32_t mode, const MqAttr* attr, MqHandle* out) {
    if (!m_queues || !m_descriptions || !m_holds || !m_waiters)
        return kENOMEM;
    if (int32_t e = check_name(name, length))
        return e;
    uint32_t access = oflag & kOAccmode;
    Queue* q = find_queue(name, length);
    if (q && (oflag & kOCreat) && (oflag & kOExcl))
        return kEEXIST;
    if (!q && !(oflag & kOCreat))
        return kENOENT;
    if (q) {
        if (access == kOAccmode)
            return kEINVAL;
        uint32_t want = access == 0 ? kRead : access == 1 ? kWrite : kRead | kWrite;
        if (!permitted(c, *q, want))
            return kEACCES;
    }
    if (access == kOAccmode)
        return kEINVAL;
    int64_t maxmsg = kMqDefaultMaxMsg;
    int64_t msgsize = kMqDefaultMsgSize;
    Queue* fresh = nullptr;
    if (!q) {
        if (attr) {
            if (attr->maxmsg <= 0 || attr->msgsize <= 0 || attr->maxmsg > kMqMaxMsgHard
                || attr->msgsize > kMqMsgSizeMax)
                return kEINVAL;
            maxmsg = attr->maxmsg;
            msgsize = attr->msgsize;
        }
        for (uint32_t i = 0; i < kMqMaxQueues && !fresh; ++i)
            if (!m_queues[i].used)
                fresh = &m_queues[i];
        if (!fresh)
            return kENOSPC;
        uint64_t bytes = uint64_t(maxmsg) * (uint64_t(msgsize) + kPerMessage);
        if (bytes + user_bytes(c.uid) > kMqBytesPerUser)
            return kEMFILE;
        q = fresh;
        *q = Queue{};
        q->bytes = bytes;
    }
    Description* d = nullptr;
    uint32_t slot = 0;
    for (; slot < kMqMaxDescriptions; ++slot)
        if (!m_descriptions[slot].used) {
            d = &m_descriptions[slot];
            break;
        }
    Hold* hold = nullptr;
    for (uint32_t i = 0; i < kMqMaxHolds && !hold; ++i)
        if (!m_holds[i].used)
            hold = &m_holds[i];
    if (!d || !hold) {
        if (fresh)
            *fresh = Queue{};
        return kENFILE;
    }
    if (fresh) {
        fresh->name = new (std::nothrow) char[length];
        if (!fresh->name) {
            *fresh = Queue{};
            return kENOMEM;
        }
        fresh->used = true;
        fresh->linked = true;
        copy_bytes(fresh->name, name, length);
        fresh->length = uint32_t(length);
        fresh->uid = c.uid;
        fresh->gid = c.gid;
        fresh->mode = mode & kModeBits;
        fresh->maxmsg = maxmsg;
        fresh->msgsize = msgsize;
        fresh->ctime = m_now;
    }
    uint16_t generation = uint16_t(d->generation + 1);
    *d = Description{};
    d->used = true;
    d->generation = generation;
    d->queue = uint32_t(q - m_queues);
    d->access = access;
    d->nonblock = (oflag & kONonblock) != 0;
    d->secret = next_secret();
    d->holders = 1;
    ++q->descriptions;
    *hold = Hold{true, c.task, slot, true, 0};
    out->description = make_mq_description(m_node, slot, generation);
    out->secret = d->secret;
    return 0;
}

int32_t MqStore::unlink(const Caller& c, const char* name, size_t length) {
    if (!m_queues)
        return kENOMEM;
    if (int32_t e = check_name(name, length))
        return e;
    Queue* q = find_queue(name, length);
    if (!q)
        return kENOENT;
    if (c.uid != 0 && c.uid != q->uid)
        return kEACCES;
    q->linked = false;
    drop_queue_if_unused(*q);
    return 0;
}

void MqStore::free_queue(Queue& q) {
    while (MqMessage* m = take(q))
        free_message(m);
    delete[] q.name;
    q = Queue{};
}

void MqStore::drop_queue_if_unused(Queue& q) {
    if (!q.used || q.linked || q.descriptions > 0)
        return;
    free_queue(q);
}

void MqStore::drop_notification(Queue& q) {
    q.notify = false;
    q.notify_task = 0;
    q.notify_pid = 0;
}

// One holder of description `slot` let it go.
void MqStore::release(uint32_t slot) {
    Description& d = m_descriptions[slot];
    if (!d.used || d.holders == 0)
        return;
    if (--d.holders > 0)
        return;
    Queue& q = m_queues[d.queue];
    // Parked calls through it stay parked: their tasks hold it (a call is made through a
    // description its caller holds), so none can be left here.
    d.used = false;
    --q.descriptions;
    drop_queue_if_unused(q);
}

int32_t MqStore::close(const Caller& c, const MqHandle& h) {
    Description* d = describe(h);
    if (!d)
        return kEBADF;
    uint32_t slot = uint32_t(d - m_descriptions);
    Hold* hold = find_hold(c.task, slot);
    if (!hold)
        return kEBADF;
    // As Linux's flush: closing a descriptor of the queue removes the closer's
    // registration.
    Queue& q = m_queues[d->queue];
    if (q.notify && q.notify_task == c.task)
        drop_notification(q);
    // The caller's parked calls through it (another thread's) are dropped with it.
    for (uint32_t i = 0; i < kMaxWaiters; ++i) {
        Waiter& w = m_waiters[i];
        if (w.used && w.task == c.task && w.handle.description == h.description) {
            if (m_completion)
                (void)m_completion(m_completion_context, w.token, kEBADF, nullptr);
            free_message(w.message);
            drop(w);
        }
    }
    // Its loans to children not yet started stay (the record goes when they are taken).
    hold->holding = false;
    if (hold->loans == 0)
        *hold = Hold{};
    release(slot);
    return 0;
}

int32_t MqStore::lend(const Caller& c, const MqHandle& h, int32_t delta) {
    Description* d = describe(h);
    if (!d)
        return kEBADF;
    Hold* hold = find_hold(c.task, uint32_t(d - m_descriptions));
    if (!hold)
        return kEBADF;
    if (delta > 0) {
        ++hold->loans;
        ++d->holders;
        return 0;
    }
    if (hold->loans == 0)
        return kEBADF;
    --hold->loans;
    release(uint32_t(d - m_descriptions));
    return 0;
}

int32_t MqStore::share(const Caller& c, const MqHandle& h) {
    Description* d = describe(h);
    if (!d)
        return kEBADF;
    uint32_t slot = uint32_t(d - m_descriptions);
    if (find_hold(c.task, slot))
        return 0; // already a holder (a second fork of the same image, say)
    Hold* lender = nullptr;
    for (uint32_t i = 0; i < kMqMaxHolds && !lender; ++i)
        if (m_holds[i].used && m_holds[i].description == slot && m_holds[i].loans > 0)
            lender = &m_holds[i];
    Hold* hold = nullptr;
    for (uint32_t i = 0; i < kMqMaxHolds && !hold; ++i)
        if (!m_holds[i].used)
            hold = &m_holds[i];
    if (!hold)
        return kENFILE;
    *hold = Hold{true, c.task, slot, true, 0};
    if (lender) {
        --lender->loans; // the loan becomes the child's hold
        if (!lender->holding && lender->loans == 0)
            *lender = Hold{};
    } else
        ++d->holders; // the secret is shown: a new image of a holder (exec)
    return 0;
}

// ---- Attributes ------------------------------------------------------------------------------

int32_t MqStore::getattr(const Caller& c, const MqHandle& h, MqAttr* out) {
    Description* d = describe(h);
    if (!d || !find_hold(c.task, uint32_t(d - m_descriptions)))
        return kEBADF;
    const Queue& q = m_queues[d->queue];
    out->flags = d->nonblock ? kONonblock : 0;
    out->maxmsg = q.maxmsg;
    out->msgsize = q.msgsize;
    out->curmsgs = q.curmsgs;
    return 0;
}

int32_t MqStore::setattr(const Caller& c, const MqHandle& h, int64_t flags, MqAttr* old) {
    if (int32_t e = getattr(c, h, old))
        return e;
    describe(h)->nonblock = (flags & kONonblock) != 0;
    return 0;
}

// ---- Messages -----------------------------------------------------------------------------

// Highest priority first, arrival order within one; a message put back goes before the
// others of its priority.
void MqStore::insert(Queue& q, MqMessage* m, bool front) {
    MqMessage** at = &q.head;
    while (*at && ((*at)->priority > m->priority || (!front && (*at)->priority == m->priority)))
        at = &(*at)->next;
    m->next = *at;
    *at = m;
    ++q.curmsgs;
}

MqMessage* MqStore::take(Queue& q) {
    MqMessage* m = q.head;
    if (!m)
        return nullptr;
    q.head = m->next;
    m->next = nullptr;
    --q.curmsgs;
    return m;
}

MqStore::Waiter* MqStore::park(WaitKind kind, const Caller& c, const MqHandle& h, uint32_t queue,
                               uint64_t token) {
    for (uint32_t i = 0; i < kMaxWaiters; ++i) {
        Waiter& w = m_waiters[i];
        if (w.used)
            continue;
        w = Waiter{};
        w.used = true;
        w.kind = kind;
        w.token = token;
        w.sequence = ++m_wait_sequence;
        w.task = c.task;
        w.queue = queue;
        w.handle = h;
        w.caller = c;
        m_queues[queue].waiting[uint32_t(kind)].append(w);
        return &w;
    }
    return nullptr;
}

MqStore::Waiter* MqStore::first_waiter(uint32_t queue, WaitKind kind) {
    return m_queues[queue].waiting[uint32_t(kind)].first;
}

// Takes w off its queue's list and frees its slot (not the message it holds).
void MqStore::drop(Waiter& w) {
    m_queues[w.queue].waiting[uint32_t(w.kind)].remove(w);
    w = Waiter{};
}

// A message for queue q: to the first waiting receiver that takes it, else into the
// queue, where it may fire the registration.
void MqStore::deliver(Queue& q, uint32_t qi, MqMessage* m, const Caller& sender) {
    while (Waiter* w = first_waiter(qi, WaitKind::kReceive)) {
        uint64_t token = w->token;
        drop(*w);
        if (!m_completion || m_completion(m_completion_context, token, 0, m)) {
            free_message(m);
            return;
        }
    }
    bool was_empty = q.curmsgs == 0;
    insert(q, m, false);
    if (was_empty && q.notify) {
        MqNotice n{q.notify_task,  q.notify_pid, q.notify_signo,
                   q.notify_value, sender.pid,   sender.uid};
        bool signal = q.notify_kind == kSigevSignal && q.notify_signo != 0;
        drop_notification(q);
        if (signal && m_notifier)
            m_notifier(m_notifier_context, n);
    }
}

// A message left queue q: the first waiting sender's message takes its place, unless its
// caller gave up (the send then did not happen, as its EINTR says).
void MqStore::room(Queue& q, uint32_t qi) {
    while (q.curmsgs < q.maxmsg) {
        Waiter* w = first_waiter(qi, WaitKind::kSend);
        if (!w)
            return;
        uint64_t token = w->token;
        MqMessage* m = w->message;
        Caller sender = w->caller;
        drop(*w);
        if (m_completion && !m_completion(m_completion_context, token, 0, nullptr)) {
            free_message(m);
            continue;
        }
        deliver(q, qi, m, sender);
    }
}

int32_t MqStore::send(const Caller& c, const MqHandle& h, const void* text, size_t size,
                      uint32_t priority, uint64_t token) {
    if (priority >= kMqPrioMax)
        return kEINVAL;
    Description* d = describe(h);
    if (!d || !find_hold(c.task, uint32_t(d - m_descriptions)) || d->access == 0)
        return kEBADF;
    Queue& q = m_queues[d->queue];
    if (int64_t(size) > q.msgsize)
        return kEMSGSIZE;
    if (q.curmsgs >= q.maxmsg && d->nonblock)
        return kEAGAIN;
    auto* m = new_message<MqMessage>(text, size);
    if (!m)
        return kENOMEM;
    m->priority = priority;
    q.ctime = m_now;
    if (q.curmsgs >= q.maxmsg) {
        Waiter* w = park(WaitKind::kSend, c, h, d->queue, token);
        if (!w) {
            free_message(m);
            return kENOMEM;
        }
        w->message = m;
        return kBlocked;
    }
    deliver(q, d->queue, m, c);
    return 0;
}

int32_t MqStore::receive(const Caller& c, const MqHandle& h, uint64_t max, uint64_t token,
                         MqMessage** out) {
    *out = nullptr;
    Description* d = describe(h);
    if (!d || !find_hold(c.task, uint32_t(d - m_descriptions)) || d->access == 1)
        return kEBADF;
    Queue& q = m_queues[d->queue];
    if (max < uint64_t(q.msgsize))
        return kEMSGSIZE;
    if (q.curmsgs == 0) {
        if (d->nonblock)
            return kEAGAIN;
        return park(WaitKind::kReceive, c, h, d->queue, token) ? kBlocked : kENOMEM;
    }
    *out = take(q);
    room(q, d->queue);
    return 0;
}

void MqStore::unreceive(const MqHandle& h, MqMessage* m) {
    Description* d = describe(h);
    if (!d) {
        free_message(m);
        return;
    }
    Queue& q = m_queues[d->queue];
    // Back in front of its priority: a receiver waiting now gets it, as it would have.
    Caller nobody;
    if (first_waiter(d->queue, WaitKind::kReceive)) {
        deliver(q, d->queue, m, nobody);
        return;
    }
    insert(q, m, true);
}

// ---- Notification ---------------------------------------------------------------------------

int32_t MqStore::notify(const Caller& c, const MqHandle& h, const MqNotifyRequest* r) {
    Description* d = describe(h);
    if (!d || !find_hold(c.task, uint32_t(d - m_descriptions)))
        return kEBADF;
    Queue& q = m_queues[d->queue];
    if (!r) {
        if (q.notify && q.notify_task == c.task)
            drop_notification(q);
        return 0;
    }
    if (r->kind != kSigevSignal && r->kind != kSigevNone)
        return kEINVAL;
    if (r->kind == kSigevSignal && (r->signo < 0 || r->signo > 64))
        return kEINVAL;
    if (q.notify)
        return kEBUSY;
    q.notify = true;
    q.notify_task = c.task;
    q.notify_pid = r->pid;
    q.notify_kind = r->kind;
    q.notify_signo = r->signo;
    q.notify_value = r->value;
    return 0;
}

// ---- Parked calls, ended tasks ------------------------------------------------------------

bool MqStore::cancel(uint64_t token) {
    for (uint32_t i = 0; i < kMaxWaiters; ++i) {
        Waiter& w = m_waiters[i];
        if (w.used && w.token == token) {
            free_message(w.message);
            drop(w);
            return true;
        }
    }
    return false;
}

void MqStore::task_ended(uint64_t task) {
    if (!m_holds)
        return;
    for (uint32_t i = 0; i < kMaxWaiters; ++i)
        if (m_waiters[i].used && m_waiters[i].task == task) {
            free_message(m_waiters[i].message);
            drop(m_waiters[i]);
        }
    for (uint32_t i = 0; i < kMqMaxQueues; ++i)
        if (m_queues[i].used && m_queues[i].notify && m_queues[i].notify_task == task)
            drop_notification(m_queues[i]);
    for (uint32_t i = 0; i < kMqMaxHolds; ++i) {
        Hold& hold = m_holds[i];
        if (!hold.used || hold.task != task)
            continue;
        uint32_t slot = hold.description;
        uint32_t count = hold.loans + (hold.holding ? 1 : 0);
        hold = Hold{};
        for (uint32_t k = 0; k < count; ++k)
            release(slot);
    }
}

uint32_t MqStore::waiters() const {
    uint32_t n = 0;
    for (uint32_t i = 0; m_waiters && i < kMaxWaiters; ++i)
        n += m_waiters[i].used ? 1 : 0;
    return n;
}

uint32_t MqStore::queues() const {
    uint32_t n = 0;
    for (uint32_t i = 0; m_queues && i < kMqMaxQueues; ++i)
        n += m_queues[i].used ? 1 : 0;
    return n;
}

uint32_t MqStore::descriptions() const {
    uint32_t n = 0;
    for (uint32_t i = 0; m_descriptions && i < kMqMaxDescriptions; ++i)
        n += m_descriptions[i].used ? 1 : 0;
    return n;
}

int64_t MqStore::queued(const char* name, size_t length) const {
    for (uint32_t i = 0; m_queues && i < kMqMaxQueues; ++i) {
        const Queue& q = m_queues[i];
        if (q.used && q.linked && same_name(q.name, q.length, name, length))
            return q.curmsgs;
    }
    return -1;
}

} // namespace ipc
