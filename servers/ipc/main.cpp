// The ipc server: System V shared memory, semaphores and message queues, and POSIX
// message queues, of this node (tern/protocols/ipc.h; the rules are
// servers/ipc/portable/sysv.h's and mq.h's).
//
// The objects live in an ::ipc::Store; this file gives it I/O. A segment is a memory
// object the server makes at shmget and hands to each shmat (the client maps it, so the
// data never passes through here). Calls that wait (semop, msgsnd, msgrcv) keep their
// reply right in a table of parked calls with a deadline (semtimedop), and the loop's
// receive timeout is the nearest deadline. Each client says Hello once with a handle to
// its own task; the server watches the task (object_watch), so when it ends, however it
// ends, its SEM_UNDO adjustments are applied, its attaches dropped (a removed segment is
// freed at its last detach) and its parked calls dropped.
//
// POSIX queues' waits share the table of parked calls; their deadlines are the caller's
// CLOCK_REALTIME time turned into a monotonic one at the call, and end with ETIMEDOUT. A
// receive whose caller gave up (a signal cut its wait short: the deferred reply is
// refused) puts its message back. A fired SIGEV_SIGNAL registration is a Signal to proc.
//
// Small messages of both kinds travel through the client's call area (ipc.h, "The call
// area"), mapped here from AreaOpen until the client ends, so their calls carry words only.
#include <servers/ipc/portable/common.h>
#include <servers/ipc/portable/mq.h>
#include <servers/ipc/portable/sysv.h>
#include <tern/print.h>
#include <tern/protocols/ipc.h>
#include <tern/protocols/proc.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall_result.h>

using namespace tern;

namespace {

struct Client {
    bool used = false;
    uint32_t generation = 0;
    tern_handle_t task = TERN_INVALID_HANDLE;
    ::ipc::Caller caller;
    // Its call area (ipc.h, AreaOpen), mapped here; epoch counts the areas it has had.
    uint8_t* area = nullptr;
    tern_handle_t area_memory = TERN_INVALID_HANDLE;
    uint32_t area_epoch = 0;
};

// Where a parked receive's text goes when it came through its caller's call area.
struct AreaPlace {
    bool used = false;
    uint32_t client = 0; // index in State::clients
    uint32_t generation = 0;
    uint32_t epoch = 0;
    ::ipc::AreaText text;
};

struct Parked {
    bool used = false;
    uint32_t generation = 0;
    uint32_t label = 0;
    uint64_t task = 0;
    uint64_t deadline = TERN_TIMEOUT_INFINITE; // monotonic ns
    proto::PendingReply reply;
    AreaPlace place;
};

constexpr uint32_t kMaxNotices = 8;

struct State {
    explicit State(uint32_t node) : store(node), mq(node) {}
    ::ipc::Store store;
    ::ipc::MqStore mq;
    tern_handle_t proc = TERN_INVALID_HANDLE;
    ::ipc::MqNotice notices[kMaxNotices];
    uint32_t notice_count = 0;
    tern_handle_t port = TERN_INVALID_HANDLE;
    Client clients[::ipc::kMaxClients];
    Parked parked[::ipc::kMaxWaiters];
    uint32_t timed = 0; // parked calls with a deadline
    tern_handle_t memory[::ipc::kMaxObjects] = {};
};

State* g_state = nullptr;

uint64_t now_ns() { return uint64_t(tern_sys_clock_monotonic()); }

// Object times (shm_atime, sem_otime, ...) are wall-clock seconds, as on Linux; deadlines
// use the monotonic clock.
void update_clock(State* s) {
    int64_t now = int64_t(uint64_t(tern_sys_clock_realtime()) / 1000000000ull);
    s->store.set_now(now);
    s->mq.set_now(now);
}

Client* find_client(State* s, uint64_t task) {
    for (Client& c : s->clients)
        if (c.used && c.caller.task == task)
            return &c;
    return nullptr;
}

// Every operation but Hello is served to a client that has said Hello: H gets its record;
// anyone else is refused.
template<typename O>
using ClientHandler = base::Error (*)(State*, Client&, proto::Request&, const typename O::Request&,
                                      typename O::Response&, proto::Reply&, proto::PendingReply&);

template<typename O, ClientHandler<O> H>
base::Error for_client(State* s, proto::Request& request, const typename O::Request& in,
                       typename O::Response& out, proto::Reply& reply,
                       proto::PendingReply& pending) {
    Client* c = find_client(s, request.badge());
    if (!c) {
        request.set_refusal_reason("Hello first");
        return base::Error::INVALID_ARGUMENT;
    }
    return H(s, *c, request, in, out, reply, pending);
}

void release_memory(State* s, int32_t slot) {
    if (slot < 0 || uint32_t(slot) >= ::ipc::kMaxObjects)
        return;
    if (s->memory[slot] != TERN_INVALID_HANDLE)
        (void)tern_sys_handle_close(s->memory[slot]);
    s->memory[slot] = TERN_INVALID_HANDLE;
}

// A call that may wait: a free slot for it and its token; slot null when all are taken
// (the stores' tables of waiters are as large, so the call is then never parked there).
struct Wait {
    Parked* slot;
    uint64_t token;
};

Wait reserve(State* s) {
    for (uint32_t i = 0; i < ::ipc::kMaxWaiters; ++i) {
        Parked& p = s->parked[i];
        if (!p.used)
            return {&p, proto::SlotCookie{i, p.generation + 1}.value()};
    }
    return {nullptr, 0};
}

void park(State* s, Parked* p, uint64_t token, uint32_t label, uint64_t task, uint64_t deadline,
          proto::PendingReply pending) {
    p->used = true;
    p->place.used = false;
    s->timed += deadline != TERN_TIMEOUT_INFINITE;
    p->generation = proto::SlotCookie::from(token).generation;
    p->label = label;
    p->task = task;
    p->deadline = deadline;
    p->reply = pending;
}

Parked* parked_of(State* s, uint64_t token) {
    auto cookie = proto::SlotCookie::from(token);
    if (cookie.index >= ::ipc::kMaxWaiters)
        return nullptr;
    Parked& p = s->parked[cookie.index];
    return p.used && p.generation == cookie.generation ? &p : nullptr;
}

void vacate(State* s, Parked& p) {
    s->timed -= p.deadline != TERN_TIMEOUT_INFINITE;
    p.used = false;
}

bool is_mq(uint32_t label) {
    return label == ::ipc::MqSend::kLabel || label == ::ipc::MqReceive::kLabel
           || label == ::ipc::MqSendArea::kLabel || label == ::ipc::MqReceiveArea::kLabel;
}

// ---- Call areas (ipc.h, "The call area") ----

uint32_t* area_state(uint8_t* slot) { return reinterpret_cast<uint32_t*>(slot); }

// The slot `t` names in the client's area, or null: no area, a slot out of range, a
// ticket that is not one, or more text than `room`.
uint8_t* area_slot(const Client& c, const ::ipc::AreaText& t, uint32_t room) {
    if (!c.area || t.slot >= ::ipc::kAreaSlots || t.ticket == 0
        || (t.ticket & (::ipc::kAreaBusy | ::ipc::kAreaDone)) != 0 || t.size > room)
        return nullptr;
    return c.area + t.slot * ::ipc::kAreaSlotBytes;
}

// Takes the slot for the call with this ticket: false when the slot holds another (its
// caller gave up on the call and took the slot back).
bool area_claim(uint8_t* slot, uint32_t ticket) {
    uint32_t expected = ticket;
    return __atomic_compare_exchange_n(area_state(slot), &expected, ticket | ::ipc::kAreaBusy,
                                       false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

void area_release(uint8_t* slot, uint32_t state) {
    __atomic_store_n(area_state(slot), state, __ATOMIC_RELEASE);
}

// Writes a received text to the slot of the call with this ticket; false when the caller
// gave up on it.
bool area_put(uint8_t* slot, uint32_t ticket, const uint8_t* text, uint32_t size) {
    if (!area_claim(slot, ticket))
        return false;
    __builtin_memcpy(slot + ::ipc::kAreaTextOffset, text, size);
    area_release(slot, ticket | ::ipc::kAreaDone);
    return true;
}

// The slot a send through the caller's area names, claimed for the call. Null when the
// call names none (the request is refused: *refused is set) or when the caller took the
// slot back, having gone (answered with EINVAL).
uint8_t* claim_send_slot(const Client& c, const ::ipc::AreaText& text, proto::Request& request,
                         ::ipc::Answer& out, bool* refused) {
    uint8_t* slot = area_slot(c, text, ::ipc::kAreaTextMax);
    if (!slot) {
        request.set_refusal_reason("not a slot of the caller's area");
        *refused = true;
        return nullptr;
    }
    if (!area_claim(slot, text.ticket)) {
        out.error = ::ipc::kEINVAL;
        return nullptr;
    }
    return slot;
}

// The slot a receive through the caller's area names, with room for `max` bytes; null
// (the request is refused) when there is none.
uint8_t* receive_slot(const Client& c, const ::ipc::AreaText& text, uint64_t max,
                      proto::Request& request) {
    uint8_t* slot = area_slot(c, text, ::ipc::kAreaTextMax);
    if (slot && max <= text.size)
        return slot;
    request.set_refusal_reason("not a slot of the caller's area, or one too small");
    return nullptr;
}

// The slot of a parked call's area, or null when its area is not the one it was parked
// with (the client ended, or a new image opened a new area).
uint8_t* place_slot(State* s, const AreaPlace& place) {
    if (place.client >= ::ipc::kMaxClients)
        return nullptr;
    const Client& c = s->clients[place.client];
    if (!c.used || c.generation != place.generation || c.area_epoch != place.epoch)
        return nullptr;
    return area_slot(c, place.text, ::ipc::kAreaTextMax);
}

// Drops a call its store parked (as the call's label says which).
void cancel(State* s, uint32_t label, uint64_t token) {
    if (is_mq(label))
        (void)s->mq.cancel(token);
    else
        (void)s->store.cancel(token);
}

// A parked call's answer (every operation that waits answers an ::ipc::Answer): on
// success, value and the text of a message received. False when its caller is no longer
// there.
bool answer(State* s, Parked& p, int32_t error, int64_t value, base::Span<const uint8_t> text) {
    ::ipc::Answer a = {error, 0, 0};
    proto::Reply parts;
    if (error == 0) {
        a.value = value;
        if (!p.place.used) {
            parts.data = text;
        } else {
            // The text goes to the caller's area, its size in the answer.
            uint8_t* slot = place_slot(s, p.place);
            if (!slot || text.size() > p.place.text.size
                || !area_put(slot, p.place.text.ticket, text.data(), uint32_t(text.size()))) {
                (void)tern_sys_handle_close(p.reply.reply);
                p.reply.reply = TERN_INVALID_HANDLE;
                vacate(s, p);
                return false;
            }
            a.id = int32_t(text.size());
        }
    }
    tern_handle_t reply = p.reply.reply;
    p.reply.reply = TERN_INVALID_HANDLE;
    vacate(s, p);
    return proto::reply_raw(reply, base::Error::OK, &a, sizeof(a), parts) == base::Error::OK;
}

// The stores' answers to parked calls (m: a message received, else null).
bool on_mq_completion(void* context, uint64_t token, int32_t error, const ::ipc::MqMessage* m) {
    auto* s = static_cast<State*>(context);
    Parked* p = parked_of(s, token);
    if (!p)
        return false;
    return m ? answer(s, *p, error, m->priority, {m->text, m->size}) : answer(s, *p, error, 0, {});
}

void on_completion(void* context, uint64_t token, int32_t error, const ::ipc::Message* m) {
    auto* s = static_cast<State*>(context);
    if (Parked* p = parked_of(s, token))
        (void)(m ? answer(s, *p, error, m->type, {m->text, m->size}) : answer(s, *p, error, 0, {}));
}

// A fired SIGEV_SIGNAL registration waits until the call that fired it is answered (a
// process that sends to a queue it registered for gets its answer before the signal, as
// on Linux), then proc sends the signal (it carries the number alone).
void on_mq_notice(void* context, const ::ipc::MqNotice& n) {
    auto* s = static_cast<State*>(context);
    if (s->notice_count == kMaxNotices) {
        tern::println("ipc: too many queue notifications at once; one to {:#x} dropped", n.pid);
        return;
    }
    s->notices[s->notice_count++] = n;
}

void send_notice(State* s, const ::ipc::MqNotice& n) {
    if (s->proc == TERN_INVALID_HANDLE) {
        auto r = tern::lookup("proc", true, 1000000000ull);
        if (r.is_error()) {
            tern::println("ipc: no proc for a queue's notification: {}",
                          base::error_name(r.error()));
            return;
        }
        s->proc = r.value();
    }
    auto r = proto::call<tern::proc::Signal>(s->proc, {n.pid, uint32_t(n.signo), 0});
    if (r.is_error() && r.error() != base::Error::NOT_FOUND)
        tern::println("ipc: signal {} to {:#x} for a queue: {}", n.signo, n.pid,
                      base::error_name(r.error()));
}

base::Error on_hello(State* s, proto::Request& request, const ::ipc::HelloRequest& in,
                     proto::Empty&, proto::Reply&, proto::PendingReply&) {
    tern_handle_t task = request.take_handle(0);
    if (tern_sys_task_id_of(task) != int64_t(request.badge())) {
        (void)tern_sys_handle_close(task);
        request.set_refusal_reason("the handle is not the caller's task");
        return base::Error::INVALID_ARGUMENT;
    }
    if (Client* c = find_client(s, request.badge())) {
        (void)tern_sys_handle_close(task);
        c->caller.pid = in.pid;
        c->caller.uid = in.uid;
        c->caller.gid = in.gid;
        return base::Error::OK;
    }
    for (uint32_t i = 0; i < ::ipc::kMaxClients; ++i) {
        Client& c = s->clients[i];
        if (c.used)
            continue;
        uint32_t generation = c.generation + 1;
        uint64_t cookie = proto::SlotCookie{i, generation}.value();
        if (int64_t r = tern_sys_object_watch(task, s->port, cookie); r < 0) {
            (void)tern_sys_handle_close(task);
            return tern::sys_status(r);
        }
        c.used = true;
        c.generation = generation;
        c.task = task;
        c.caller = {request.badge(), in.pid, in.uid, in.gid};
        return base::Error::OK;
    }
    (void)tern_sys_handle_close(task);
    return base::Error::NO_SPACE;
}

base::Error on_get(State* s, Client& c, proto::Request&, const ::ipc::GetRequest& in,
                   ::ipc::Answer& out, proto::Reply&, proto::PendingReply&) {
    update_clock(s);
    bool created = false;
    out.error =
        s->store.get(c.caller, ::ipc::Kind(in.kind), in.key, in.flags, in.size, &out.id, &created);
    if (out.error == 0 && created) {
        // The segment's pages: zeroed, whole pages, made now so shmat cannot fail for
        // want of memory later.
        uint64_t size = (in.size + ::ipc::kPageSize - 1) & ~(::ipc::kPageSize - 1);
        int64_t memory = tern_sys_memory_create(size, 0);
        if (memory < 0) {
            tern::println("ipc: no memory for a segment of {} bytes: {}", in.size,
                          base::error_name(tern::sys_status(memory)));
            s->store.shm_abandon(out.id);
            out.error = ::ipc::kENOMEM;
            out.id = 0;
            return base::Error::OK;
        }
        int32_t slot = s->store.shm_slot(out.id);
        release_memory(s, slot);
        s->memory[slot] = tern_handle_t(memory);
    }
    return base::Error::OK;
}

base::Error on_attach(State* s, Client& c, proto::Request&, const ::ipc::AttachRequest& in,
                      ::ipc::Answer& out, proto::Reply& reply, proto::PendingReply&) {
    update_clock(s);
    int32_t slot = s->store.shm_slot(in.id);
    if (slot < 0 || s->memory[slot] == TERN_INVALID_HANDLE) {
        out.error = ::ipc::kEINVAL;
        return base::Error::OK;
    }
    bool read_only = (in.flags & ::ipc::kShmRdonly) != 0;
    tern_rights_t rights = TERN_RIGHT_MAP | TERN_RIGHT_READ | TERN_RIGHT_TRANSFER;
    if (!read_only)
        rights |= TERN_RIGHT_WRITE;
    uint64_t size = 0;
    out.error = s->store.shm_attach(c.caller, in.id, in.flags, &size);
    if (out.error != 0)
        return base::Error::OK;
    int64_t copy = tern_sys_handle_duplicate(s->memory[slot], rights);
    if (copy < 0) {
        int32_t freed = -1;
        (void)s->store.shm_detach(c.caller, in.id, &freed);
        release_memory(s, freed);
        out.error = ::ipc::kENOMEM;
        return base::Error::OK;
    }
    out.value = int64_t(size);
    reply.handles[0] = tern_handle_t(copy);
    reply.handle_count = 1;
    return base::Error::OK;
}

base::Error on_detach(State* s, Client& c, proto::Request&, const ::ipc::DetachRequest& in,
                      ::ipc::Answer& out, proto::Reply&, proto::PendingReply&) {
    update_clock(s);
    int32_t freed = -1;
    out.error = s->store.shm_detach(c.caller, in.id, &freed);
    release_memory(s, freed);
    return base::Error::OK;
}

uint8_t g_control_out[::ipc::kControlData];

base::Error on_control(State* s, Client& c, proto::Request& request,
                       const ::ipc::ControlRequest& in, ::ipc::Answer& out, proto::Reply& reply,
                       proto::PendingReply&) {
    update_clock(s);
    size_t out_size = 0;
    int32_t freed = -1;
    out.error = s->store.control(c.caller, ::ipc::Kind(in.kind), in.id, in.command, in.semnum,
                                 in.value, request.data().data(), request.data().size(),
                                 g_control_out, &out_size, &out.value, &freed);
    release_memory(s, freed);
    if (out.error == 0)
        reply.data = {g_control_out, out_size};
    return base::Error::OK;
}

// A deadline already behind (a monotonic time never waited for).
constexpr uint64_t kPassed = 0;

// A call its store answered kBlocked: parked here until `when` (monotonic ns), or dropped
// there and answered now: ENOMEM with no slot free, `late` when the deadline has passed.
void wait_or_answer(State* s, const Wait& w, uint32_t label, const Client& c, uint64_t when,
                    int32_t late, int32_t* error, proto::Reply& reply,
                    proto::PendingReply& pending) {
    if (*error != ::ipc::kBlocked)
        return;
    if (!w.slot || when == kPassed) {
        cancel(s, label, w.token);
        *error = w.slot ? late : ::ipc::kENOMEM;
        return;
    }
    park(s, w.slot, w.token, label, c.caller.task, when, pending);
    reply.deferred = true;
}

// A message received at once: its text goes in the reply from buffer (which outlives
// the handler), value in the answer.
void reply_text(uint8_t* buffer, const uint8_t* text, uint32_t size, int64_t value,
                ::ipc::Answer& out, proto::Reply& reply) {
    __builtin_memcpy(buffer, text, size);
    out.value = value;
    reply.data = {buffer, size};
}

uint64_t deadline_after(uint64_t timeout_ns) {
    if (timeout_ns == ::ipc::kForever)
        return TERN_TIMEOUT_INFINITE;
    uint64_t now = now_ns();
    return timeout_ns > TERN_TIMEOUT_INFINITE - now - 1 ? TERN_TIMEOUT_INFINITE - 1
                                                        : now + timeout_ns;
}

base::Error on_semop(State* s, Client& c, proto::Request& request, const ::ipc::SemOpRequest& in,
                     ::ipc::Answer& out, proto::Reply& reply, proto::PendingReply& pending) {
    IPC_SCRATCH ::ipc::SemOp ops[::ipc::kSemOpm];
    size_t count = in.count;
    if (!request.data().empty()) {
        if (in.count != 0) {
            request.set_refusal_reason("operations both inline and as data");
            return base::Error::INVALID_ARGUMENT;
        }
        if (request.data().size() % sizeof(::ipc::SemOp) != 0) {
            request.set_refusal_reason("not a whole number of operations");
            return base::Error::INVALID_ARGUMENT;
        }
        count = request.data().size() / sizeof(::ipc::SemOp);
        __builtin_memcpy(ops, request.data().data(), request.data().size());
    } else if (in.count > ::ipc::kSemOpsInline) {
        request.set_refusal_reason("more inline operations than the request holds");
        return base::Error::INVALID_ARGUMENT;
    } else {
        __builtin_memcpy(ops, in.ops, count * sizeof(::ipc::SemOp));
    }
    update_clock(s);
    Wait w = reserve(s);
    out.error = s->store.semop(c.caller, in.id, ops, count, w.token);
    // A zero timeout that must wait fails at once, as on Linux.
    if (out.error == ::ipc::kBlocked) {
        uint64_t when = in.timeout_ns == 0 ? kPassed : deadline_after(in.timeout_ns);
        wait_or_answer(s, w, ::ipc::SemOperate::kLabel, c, when, ::ipc::kEAGAIN, &out.error, reply,
                       pending);
    }
    return base::Error::OK;
}

base::Error on_msgsnd(State* s, Client& c, proto::Request& request, const ::ipc::SendRequest& in,
                      ::ipc::Answer& out, proto::Reply& reply, proto::PendingReply& pending) {
    update_clock(s);
    Wait w = reserve(s);
    out.error = s->store.msgsnd(c.caller, in.id, in.type, request.data().data(),
                                request.data().size(), in.flags, w.token);
    wait_or_answer(s, w, ::ipc::MsgSend::kLabel, c, TERN_TIMEOUT_INFINITE, 0, &out.error, reply,
                   pending);
    return base::Error::OK;
}

base::Error on_msgrcv(State* s, Client& c, proto::Request&, const ::ipc::ReceiveRequest& in,
                      ::ipc::Answer& out, proto::Reply& reply, proto::PendingReply& pending) {
    static uint8_t text[::ipc::kMsgMax];
    update_clock(s);
    Wait w = reserve(s);
    ::ipc::Message* m = nullptr;
    // The reply carries at most kMsgMax bytes, as many as a message has.
    uint64_t max = in.max > ::ipc::kMsgMax && int64_t(in.max) >= 0 ? ::ipc::kMsgMax : in.max;
    out.error = s->store.msgrcv(c.caller, in.id, in.type, max, in.flags, w.token, &m);
    wait_or_answer(s, w, ::ipc::MsgReceive::kLabel, c, TERN_TIMEOUT_INFINITE, 0, &out.error, reply,
                   pending);
    if (m) {
        reply_text(text, m->text, m->size, m->type, out, reply);
        ::ipc::Store::free_message(m);
    }
    return base::Error::OK;
}

// A receive through the call area that may wait: the text goes to the slot now, or is
// written there when the call is answered.
void place_receive(State* s, Client& c, const Wait& w, const ::ipc::AreaText& text,
                   const proto::Reply& reply) {
    if (!reply.deferred)
        return;
    AreaPlace& place = w.slot->place;
    place.used = true;
    place.client = uint32_t(&c - s->clients);
    place.generation = c.generation;
    place.epoch = c.area_epoch;
    place.text = text;
}

base::Error on_area_open(State*, Client& c, proto::Request&, const proto::Empty&,
                         ::ipc::Answer& out, proto::Reply& reply, proto::PendingReply&) {
    if (c.area) {
        // A new image of the task: calls parked with the old area no longer find it.
        (void)tern_sys_vm_free(reinterpret_cast<uint64_t>(c.area), ::ipc::kAreaSize);
        (void)tern_sys_handle_close(c.area_memory);
        c.area = nullptr;
        c.area_memory = TERN_INVALID_HANDLE;
    }
    int64_t memory = tern_sys_memory_create(::ipc::kAreaSize, 0);
    if (memory < 0) {
        out.error = ::ipc::kENOMEM;
        return base::Error::OK;
    }
    int64_t at = tern_sys_vm_map_memory(tern::self(), tern_handle_t(memory), 0, 0, ::ipc::kAreaSize,
                                        TERN_PROT_READ | TERN_PROT_WRITE);
    int64_t copy = at < 0 ? at
                          : tern_sys_handle_duplicate(tern_handle_t(memory),
                                                      TERN_RIGHT_MAP | TERN_RIGHT_READ
                                                          | TERN_RIGHT_WRITE | TERN_RIGHT_TRANSFER);
    if (copy < 0) {
        if (at >= 0)
            (void)tern_sys_vm_free(uint64_t(at), ::ipc::kAreaSize);
        (void)tern_sys_handle_close(tern_handle_t(memory));
        tern::println("ipc: no call area for task {}: {}", c.caller.task,
                      base::error_name(tern::sys_status(copy)));
        out.error = ::ipc::kENOMEM;
        return base::Error::OK;
    }
    c.area = reinterpret_cast<uint8_t*>(at);
    c.area_memory = tern_handle_t(memory);
    ++c.area_epoch;
    reply.handles[0] = tern_handle_t(copy);
    reply.handle_count = 1;
    return base::Error::OK;
}

base::Error on_msgsnd_area(State* s, Client& c, proto::Request& request,
                           const ::ipc::AreaSendRequest& in, ::ipc::Answer& out,
                           proto::Reply& reply, proto::PendingReply& pending) {
    bool refused = false;
    uint8_t* slot = claim_send_slot(c, in.text, request, out, &refused);
    if (!slot)
        return refused ? base::Error::INVALID_ARGUMENT : base::Error::OK;
    update_clock(s);
    Wait w = reserve(s);
    out.error = s->store.msgsnd(c.caller, in.id, in.type, slot + ::ipc::kAreaTextOffset,
                                in.text.size, in.flags, w.token);
    area_release(slot, in.text.ticket);
    wait_or_answer(s, w, ::ipc::MsgSendArea::kLabel, c, TERN_TIMEOUT_INFINITE, 0, &out.error, reply,
                   pending);
    return base::Error::OK;
}

base::Error on_msgrcv_area(State* s, Client& c, proto::Request& request,
                           const ::ipc::AreaReceiveRequest& in, ::ipc::Answer& out,
                           proto::Reply& reply, proto::PendingReply& pending) {
    uint8_t* slot = receive_slot(c, in.text, in.max, request);
    if (!slot)
        return base::Error::INVALID_ARGUMENT;
    update_clock(s);
    Wait w = reserve(s);
    ::ipc::Message* m = nullptr;
    out.error = s->store.msgrcv(c.caller, in.id, in.type, in.max, in.flags, w.token, &m);
    wait_or_answer(s, w, ::ipc::MsgReceiveArea::kLabel, c, TERN_TIMEOUT_INFINITE, 0, &out.error,
                   reply, pending);
    place_receive(s, c, w, in.text, reply);
    if (m) {
        // A caller that gave up meanwhile loses it, as one whose answer is refused.
        if (area_put(slot, in.text.ticket, m->text, m->size)) {
            out.value = m->type;
            out.id = int32_t(m->size);
        } else {
            out.error = ::ipc::kEINVAL;
        }
        ::ipc::Store::free_message(m);
    }
    return base::Error::OK;
}

// ---- POSIX message queues ----

base::Error on_mq_open(State* s, Client& c, proto::Request& request, const ::ipc::MqOpenRequest& in,
                       ::ipc::MqOpenAnswer& out, proto::Reply&, proto::PendingReply&) {
    update_clock(s);
    auto name = request.data();
    out.error = s->mq.open(c.caller, reinterpret_cast<const char*>(name.data()), name.size(),
                           in.oflag, in.mode, in.has_attr ? &in.attr : nullptr, &out.handle);
    return base::Error::OK;
}

base::Error on_mq_unlink(State* s, Client& c, proto::Request& request, const proto::Empty&,
                         ::ipc::Answer& out, proto::Reply&, proto::PendingReply&) {
    auto name = request.data();
    out.error = s->mq.unlink(c.caller, reinterpret_cast<const char*>(name.data()), name.size());
    return base::Error::OK;
}

base::Error on_mq_close(State* s, Client& c, proto::Request&, const ::ipc::MqHandle& in,
                        ::ipc::Answer& out, proto::Reply&, proto::PendingReply&) {
    out.error = s->mq.close(c.caller, in);
    return base::Error::OK;
}

base::Error on_mq_share(State* s, Client& c, proto::Request& request,
                        const ::ipc::MqShareRequest& in, ::ipc::Answer& out, proto::Reply&,
                        proto::PendingReply&) {
    if (in.delta < -1 || in.delta > 1) {
        request.set_refusal_reason("a share's delta is -1, 0 or 1");
        return base::Error::INVALID_ARGUMENT;
    }
    out.error = in.delta == 0 ? s->mq.share(c.caller, in.handle)
                              : s->mq.lend(c.caller, in.handle, in.delta);
    return base::Error::OK;
}

base::Error on_mq_attr(State* s, Client& c, proto::Request&, const ::ipc::MqAttrRequest& in,
                       ::ipc::MqAttrAnswer& out, proto::Reply&, proto::PendingReply&) {
    out.error = in.set ? s->mq.setattr(c.caller, in.handle, in.flags, &out.attr)
                       : s->mq.getattr(c.caller, in.handle, &out.attr);
    return base::Error::OK;
}

// A POSIX deadline (CLOCK_REALTIME ns, or kForever) as a monotonic one (kPassed when it
// is already behind).
uint64_t mq_deadline(uint64_t deadline) {
    if (deadline == ::ipc::kForever)
        return TERN_TIMEOUT_INFINITE;
    uint64_t now = uint64_t(tern_sys_clock_realtime());
    return deadline <= now ? kPassed : deadline_after(deadline - now);
}

base::Error on_mq_send(State* s, Client& c, proto::Request& request, const ::ipc::MqSendRequest& in,
                       ::ipc::Answer& out, proto::Reply& reply, proto::PendingReply& pending) {
    update_clock(s);
    Wait w = reserve(s);
    out.error = s->mq.send(c.caller, in.handle, request.data().data(), request.data().size(),
                           in.priority, w.token);
    if (out.error == ::ipc::kBlocked)
        wait_or_answer(s, w, ::ipc::MqSend::kLabel, c, mq_deadline(in.deadline), ::ipc::kETIMEDOUT,
                       &out.error, reply, pending);
    return base::Error::OK;
}

base::Error on_mq_receive(State* s, Client& c, proto::Request&, const ::ipc::MqReceiveRequest& in,
                          ::ipc::Answer& out, proto::Reply& reply, proto::PendingReply& pending) {
    static uint8_t text[::ipc::kMqMsgSizeMax];
    update_clock(s);
    Wait w = reserve(s);
    ::ipc::MqMessage* m = nullptr;
    out.error = s->mq.receive(c.caller, in.handle, in.max, w.token, &m);
    if (out.error == ::ipc::kBlocked)
        wait_or_answer(s, w, ::ipc::MqReceive::kLabel, c, mq_deadline(in.deadline),
                       ::ipc::kETIMEDOUT, &out.error, reply, pending);
    if (m) {
        reply_text(text, m->text, m->size, m->priority, out, reply);
        ::ipc::MqStore::free_message(m);
    }
    return base::Error::OK;
}

base::Error on_mq_send_area(State* s, Client& c, proto::Request& request,
                            const ::ipc::MqAreaSendRequest& in, ::ipc::Answer& out,
                            proto::Reply& reply, proto::PendingReply& pending) {
    bool refused = false;
    uint8_t* slot = claim_send_slot(c, in.text, request, out, &refused);
    if (!slot)
        return refused ? base::Error::INVALID_ARGUMENT : base::Error::OK;
    update_clock(s);
    Wait w = reserve(s);
    out.error = s->mq.send(c.caller, in.handle, slot + ::ipc::kAreaTextOffset, in.text.size,
                           in.priority, w.token);
    area_release(slot, in.text.ticket);
    if (out.error == ::ipc::kBlocked)
        wait_or_answer(s, w, ::ipc::MqSendArea::kLabel, c, mq_deadline(in.deadline),
                       ::ipc::kETIMEDOUT, &out.error, reply, pending);
    return base::Error::OK;
}

base::Error on_mq_receive_area(State* s, Client& c, proto::Request& request,
                               const ::ipc::MqAreaReceiveRequest& in, ::ipc::Answer& out,
                               proto::Reply& reply, proto::PendingReply& pending) {
    uint8_t* slot = receive_slot(c, in.text, in.max, request);
    if (!slot)
        return base::Error::INVALID_ARGUMENT;
    update_clock(s);
    Wait w = reserve(s);
    ::ipc::MqMessage* m = nullptr;
    out.error = s->mq.receive(c.caller, in.handle, in.max, w.token, &m);
    if (out.error == ::ipc::kBlocked)
        wait_or_answer(s, w, ::ipc::MqReceiveArea::kLabel, c, mq_deadline(in.deadline),
                       ::ipc::kETIMEDOUT, &out.error, reply, pending);
    place_receive(s, c, w, in.text, reply);
    if (m) {
        if (area_put(slot, in.text.ticket, m->text, m->size)) {
            out.value = m->priority;
            out.id = int32_t(m->size);
            ::ipc::MqStore::free_message(m);
        } else {
            // The caller gave up: the message goes back, as for a refused answer.
            s->mq.unreceive(in.handle, m);
            out.error = ::ipc::kEINVAL;
        }
    }
    return base::Error::OK;
}

base::Error on_mq_notify(State* s, Client& c, proto::Request&, const ::ipc::MqNotifyRequest& in,
                         ::ipc::Answer& out, proto::Reply&, proto::PendingReply&) {
    out.error = s->mq.notify(c.caller, in.handle, in.remove ? nullptr : &in);
    return base::Error::OK;
}

void freed_slot(void* context, int32_t slot) { release_memory(static_cast<State*>(context), slot); }

// A client's task ended: its parked calls go (their callers are gone), then the store
// applies its undo records and drops its attaches.
void client_ended(State* s, Client& c) {
    update_clock(s);
    for (uint32_t i = 0; i < ::ipc::kMaxWaiters; ++i) {
        Parked& p = s->parked[i];
        if (p.used && p.task == c.caller.task) {
            (void)tern_sys_handle_close(p.reply.reply);
            vacate(s, p);
        }
    }
    s->store.task_ended(c.caller.task, freed_slot, s);
    s->mq.task_ended(c.caller.task);
    (void)tern_sys_handle_close(c.task);
    if (c.area) {
        (void)tern_sys_vm_free(reinterpret_cast<uint64_t>(c.area), ::ipc::kAreaSize);
        (void)tern_sys_handle_close(c.area_memory);
    }
    uint32_t epoch = c.area_epoch;
    uint32_t generation = c.generation;
    c = Client{};
    c.generation = generation;
    c.area_epoch = epoch;
}

void on_event(void* context, const tern_msg& event, uint32_t) {
    auto* s = static_cast<State*>(context);
    if (event.hdr.label != TERN_LABEL_OBJECT_GONE)
        return;
    auto cookie = proto::SlotCookie::from(event.words[0]);
    if (cookie.index >= ::ipc::kMaxClients)
        return;
    Client& c = s->clients[cookie.index];
    if (c.used && c.generation == cookie.generation)
        client_ended(s, c);
}

// Parked calls whose deadline passed are answered EAGAIN (semtimedop's timeout) or
// ETIMEDOUT (a POSIX queue's); returns
// how long until the next deadline.
uint64_t expire(State* s) {
    if (s->timed == 0)
        return TERN_TIMEOUT_INFINITE;
    uint64_t now = now_ns();
    uint64_t next = TERN_TIMEOUT_INFINITE;
    for (uint32_t i = 0; i < ::ipc::kMaxWaiters; ++i) {
        Parked& p = s->parked[i];
        if (!p.used || p.deadline == TERN_TIMEOUT_INFINITE)
            continue;
        if (p.deadline <= now) {
            uint64_t token = proto::SlotCookie{i, p.generation}.value();
            cancel(s, p.label, token);
            (void)answer(s, p, is_mq(p.label) ? ::ipc::kETIMEDOUT : ::ipc::kEAGAIN, 0, {});
        } else if (p.deadline - now < next) {
            next = p.deadline - now;
        }
    }
    return next;
}

} // namespace

extern "C" int main(uint64_t) {
    int64_t port = tern_sys_port_create(64);
    if (port < 0) {
        tern::println("ipc: cannot create a port: {}", port);
        return 1;
    }
    g_state = new State(uint32_t(tern_sys_node_id()));
    State& state = *g_state;
    state.port = tern_handle_t(port);
    state.store.set_completion(&state, on_completion);
    state.mq.set_completion(&state, on_mq_completion);
    state.mq.set_notifier(&state, on_mq_notice);
    proto::Server server("ipc", state.port);
    server.on<::ipc::Hello>(&state, on_hello);
    server.on<::ipc::Get>(&state, for_client<::ipc::Get, on_get>);
    server.on<::ipc::Attach>(&state, for_client<::ipc::Attach, on_attach>);
    server.on<::ipc::Detach>(&state, for_client<::ipc::Detach, on_detach>);
    server.on<::ipc::Control>(&state, for_client<::ipc::Control, on_control>);
    server.on<::ipc::SemOperate>(&state, for_client<::ipc::SemOperate, on_semop>);
    server.on<::ipc::MsgSend>(&state, for_client<::ipc::MsgSend, on_msgsnd>);
    server.on<::ipc::MsgReceive>(&state, for_client<::ipc::MsgReceive, on_msgrcv>);
    server.on<::ipc::MqOpen>(&state, for_client<::ipc::MqOpen, on_mq_open>);
    server.on<::ipc::MqUnlink>(&state, for_client<::ipc::MqUnlink, on_mq_unlink>);
    server.on<::ipc::MqClose>(&state, for_client<::ipc::MqClose, on_mq_close>);
    server.on<::ipc::MqShare>(&state, for_client<::ipc::MqShare, on_mq_share>);
    server.on<::ipc::MqGetSetAttr>(&state, for_client<::ipc::MqGetSetAttr, on_mq_attr>);
    server.on<::ipc::MqSend>(&state, for_client<::ipc::MqSend, on_mq_send>);
    server.on<::ipc::MqReceive>(&state, for_client<::ipc::MqReceive, on_mq_receive>);
    server.on<::ipc::MqNotify>(&state, for_client<::ipc::MqNotify, on_mq_notify>);
    server.on<::ipc::AreaOpen>(&state, for_client<::ipc::AreaOpen, on_area_open>);
    server.on<::ipc::MsgSendArea>(&state, for_client<::ipc::MsgSendArea, on_msgsnd_area>);
    server.on<::ipc::MsgReceiveArea>(&state, for_client<::ipc::MsgReceiveArea, on_msgrcv_area>);
    server.on<::ipc::MqSendArea>(&state, for_client<::ipc::MqSendArea, on_mq_send_area>);
    server.on<::ipc::MqReceiveArea>(&state, for_client<::ipc::MqReceiveArea, on_mq_receive_area>);
    server.on_event(&state, on_event);
    if (auto r = tern::register_name("ipc", state.port); r.is_error()) {
        tern::println("ipc: cannot register: {}", base::error_name(r.error()));
        return 1;
    }
    // Each answer goes out with the next wait, in one call; a queue's notification waits
    // for the answer to the call that fired it.
    server.batch_replies();
    for (;;) {
        uint64_t wait = expire(&state);
        (void)server.serve_one(wait);
        if (state.notice_count > 0)
            server.flush_reply();
        for (uint32_t i = 0; i < state.notice_count; ++i)
            send_notice(&state, state.notices[i]);
        state.notice_count = 0;
    }
}
