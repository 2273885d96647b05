// Tern's musl port: the ipc server's calls for the System V functions (sysv_client.h).
#include <libc/musl/portable/translate.h>
#include <libc/musl/services.h>
#include <libc/musl/sysv_client.h>
#include <stddef.h>
#include <tern/protocols/ipc.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall.h>

namespace ipc = tern::ipc;

static_assert(sizeof(tern_libc_ipc_stat) == sizeof(ipc::ObjectStat)
              && offsetof(tern_libc_ipc_stat, qbytes) == offsetof(ipc::ObjectStat, qbytes)
              && offsetof(tern_libc_ipc_stat, ctime) == offsetof(ipc::ObjectStat, ctime));
static_assert(sizeof(tern_libc_ipc_set) == sizeof(ipc::ObjectSet));
static_assert(sizeof(tern_libc_ipc_usage) == sizeof(ipc::Usage));
static_assert(TERN_LIBC_IPC_CONTROL_DATA == ipc::kControlData);
static_assert(TERN_LIBC_IPC_MSGMAX == ipc::kMsgMax && TERN_LIBC_IPC_SEMOPM == ipc::kSemOpm);
static_assert(TERN_LIBC_IPC_FOREVER == ipc::kForever);
static_assert(sizeof(struct tern_libc_mq_attr) == sizeof(ipc::MqAttr));
static_assert(TERN_LIBC_MQ_NAME_MAX == ipc::kMqNameMax
              && TERN_LIBC_MQ_MSGSIZE_MAX == ipc::kMqMsgSizeMax);

namespace {

constexpr uint64_t kLookupTimeoutNs = 3000000000ull;

tern_handle_t g_ipc = TERN_INVALID_HANDLE;
bool g_absent = false;
// Why the last Hello failed: the server is there but would not take this task (ENOSPC
// when it has as many clients as it can watch).
long g_hello_error = -TERN_LINUX_ENOSYS;

// The call area (below).
uint8_t* g_area = nullptr;
bool g_area_failed = false;  // no area to be had: data parts only
bool g_area_opening = false; // a thread is opening it
uint32_t g_area_taken = 0;
uint32_t g_area_tickets[ipc::kAreaSlots];

// The server has gone: its area with it (left mapped for calls that may still use it).
void lose_server() {
    (void)tern_sys_handle_close(g_ipc);
    g_ipc = TERN_INVALID_HANDLE;
    g_area = nullptr;
    g_area_taken = 0;
}

long linux_error(base::Error e) { return -tern_libc_errno_from_status(int32_t(e)); }

uint32_t own_pid() {
    uint64_t pid = tern_libc_startup_pid();
    int32_t serial = int32_t(uint32_t(pid));
    return pid != 0 && serial > 0 ? uint32_t(serial) : uint32_t(tern_sys_task_id());
}

// The server, looked up and greeted on first use.
tern_handle_t server() {
    if (g_ipc != TERN_INVALID_HANDLE || g_absent)
        return g_ipc;
    if (tern::name_server() == TERN_INVALID_HANDLE) {
        g_absent = true;
        return TERN_INVALID_HANDLE;
    }
    auto r = tern::lookup("ipc", true, kLookupTimeoutNs);
    if (r.is_error()) {
        g_absent = true;
        return TERN_INVALID_HANDLE;
    }
    int64_t task = tern_sys_handle_duplicate(tern::self(), TERN_RIGHT_TRANSFER);
    if (task < 0) {
        (void)tern_sys_handle_close(r.value());
        return TERN_INVALID_HANDLE;
    }
    tern_handle_t handles[1] = {tern_handle_t(task)};
    tern::proto::CallParts parts;
    parts.in_handles = {handles, 1};
    auto hello = tern::proto::call<ipc::Hello>(r.value(), {own_pid(), 0, 0}, parts);
    if (hello.is_error()) {
        (void)tern_sys_handle_close(r.value());
        g_hello_error = hello.error() == base::Error::NO_SPACE ? -long(ipc::kENOSPC)
                                                               : linux_error(hello.error());
        return TERN_INVALID_HANDLE;
    }
    g_ipc = r.value();
    return g_ipc;
}

// One call; when the server has gone (restarted), found and greeted again once.
template<typename Call>
long call(Call&& make_call) {
    for (int attempt = 0;; ++attempt) {
        tern_handle_t s = server();
        if (s == TERN_INVALID_HANDLE)
            return g_absent ? -TERN_LINUX_ENOSYS : g_hello_error;
        base::Error e = make_call(s);
        if (e == base::Error::PEER_CLOSED && attempt == 0) {
            lose_server();
            continue;
        }
        return e == base::Error::OK ? 0 : linux_error(e);
    }
}

// One call of operation O, its answer in *out; 0 or a negated errno for the call itself.
template<typename O>
long call_op(const typename O::Request& in, typename O::Response* out,
             const tern::proto::CallParts& parts = {}) {
    return call([&](tern_handle_t s) {
        auto x = tern::proto::call<O>(s, in, parts);
        if (x.ok())
            *out = x.value();
        return x.ok() ? base::Error::OK : x.error();
    });
}

// The result of a call and of the operation it asked for: value when both went well.
long result(long call_status, int32_t error, long value) {
    if (call_status < 0)
        return call_status;
    return error != 0 ? -long(error) : value;
}

tern::proto::CallParts sending(const void* data, size_t size) {
    tern::proto::CallParts parts;
    parts.in_data = {static_cast<const uint8_t*>(data), size};
    return parts;
}

tern::proto::CallParts receiving(void* data, size_t room, uint32_t* size) {
    tern::proto::CallParts parts;
    parts.out_data = {static_cast<uint8_t*>(data), room};
    parts.out_data_size = size;
    return parts;
}

// ---- The call area (ipc.h, "The call area") ----
//
// Small messages go through memory shared with the server, so their calls go in
// registers. Each call takes a free slot (g_area_taken, one bit a slot, so threads do not
// share one) and writes a new ticket to its state word first.

// One call's slot: where it is and the ticket in its state word.
struct Slot {
    uint8_t* base = nullptr; // null: no slot (the call uses data parts)
    uint32_t index = 0;
    uint32_t ticket = 0;
    uint32_t* state() const { return reinterpret_cast<uint32_t*>(base); }
    uint8_t* text() const { return base + ipc::kAreaTextOffset; }
    ipc::AreaText place(uint32_t size) const { return {index, ticket, size, 0}; }
};

bool open_area() {
    ipc::Answer a = {};
    tern_handle_t memory = TERN_INVALID_HANDLE;
    uint32_t count = 0;
    tern::proto::CallParts parts;
    parts.out_handles = &memory;
    parts.out_handle_count = &count;
    long r = result(call_op<ipc::AreaOpen>({}, &a, parts), a.error, 0);
    if (r == 0 && count == 1) {
        int64_t at = tern_sys_vm_map_memory(tern::self(), memory, 0, 0, ipc::kAreaSize,
                                            TERN_PROT_READ | TERN_PROT_WRITE);
        if (at > 0)
            __atomic_store_n(&g_area, reinterpret_cast<uint8_t*>(at), __ATOMIC_RELEASE);
    }
    if (count == 1)
        (void)tern_sys_handle_close(memory); // the mapping keeps the memory
    return g_area != nullptr;
}

// A free slot of the area with a new ticket in it; none when there is no area or every
// slot is in use.
Slot take_slot() {
    if (!__atomic_load_n(&g_area, __ATOMIC_ACQUIRE)) {
        // One thread opens it; a call of another meanwhile uses data parts.
        bool opening = false;
        if (g_area_failed
            || !__atomic_compare_exchange_n(&g_area_opening, &opening, true, false,
                                            __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return {};
        if (!g_area && !g_area_failed && server() != TERN_INVALID_HANDLE && !open_area())
            g_area_failed = true;
        __atomic_store_n(&g_area_opening, false, __ATOMIC_RELEASE);
        if (!g_area)
            return {};
    }
    uint32_t taken = __atomic_load_n(&g_area_taken, __ATOMIC_RELAXED);
    for (;;) {
        if (taken == (1u << ipc::kAreaSlots) - 1)
            return {};
        uint32_t index = uint32_t(__builtin_ctz(~taken));
        if (__atomic_compare_exchange_n(&g_area_taken, &taken, taken | (1u << index), false,
                                        __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            uint32_t ticket = g_area_tickets[index] + 4;
            if (ticket == 0)
                ticket = 4;
            g_area_tickets[index] = ticket;
            Slot slot = {g_area + index * ipc::kAreaSlotBytes, index, ticket};
            __atomic_store_n(slot.state(), ticket, __ATOMIC_RELEASE);
            return slot;
        }
    }
}

// Ends the slot's call: once the server is not in it, its state goes back to 0, so a
// late answer to a call that was given up leaves it alone.
void give_slot(const Slot& slot) {
    for (;;) {
        uint32_t now = __atomic_load_n(slot.state(), __ATOMIC_ACQUIRE);
        if (now & ipc::kAreaBusy) {
            (void)tern_sys_thread_yield();
            continue;
        }
        if (__atomic_compare_exchange_n(slot.state(), &now, 0, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            break;
    }
    if (slot.base - slot.index * ipc::kAreaSlotBytes == g_area)
        __atomic_fetch_and(&g_area_taken, ~(1u << slot.index), __ATOMIC_RELEASE);
}

// A received text in the slot: its size (at most room), or -EBADMSG when the server's
// answer does not match what the slot holds.
long take_text(const Slot& slot, const ipc::Answer& a, uint64_t room, void* text) {
    if (a.id < 0 || uint64_t(a.id) > room
        || __atomic_load_n(slot.state(), __ATOMIC_ACQUIRE) != (slot.ticket | ipc::kAreaDone))
        return -TERN_LINUX_EBADMSG;
    __builtin_memcpy(text, slot.text(), uint32_t(a.id));
    return a.id;
}

// One call of an area operation (the area came from the server, so g_ipc is there). A lost
// server (PEER_CLOSED) takes the area with it: the call fails, and the next one greets
// the new server and opens a new area (the old one stays mapped for the calls that may
// still be using it).
template<typename O>
long call_area(const typename O::Request& in, ipc::Answer* out) {
    auto x = tern::proto::call<O>(g_ipc, in);
    if (x.ok()) {
        *out = x.value();
        return 0;
    }
    if (x.error() == base::Error::PEER_CLOSED)
        lose_server();
    return linux_error(x.error());
}

} // namespace

extern "C" {

void tern_libc_ipc_forget_server(void) {
    // A forked child's area is its parent's: the child opens its own.
    if (g_area)
        (void)tern_sys_vm_free(reinterpret_cast<uint64_t>(g_area), ipc::kAreaSize);
    g_area = nullptr;
    g_area_failed = false;
    g_area_opening = false;
    g_area_taken = 0;
    if (g_ipc != TERN_INVALID_HANDLE)
        (void)tern_sys_handle_close(g_ipc);
    g_ipc = TERN_INVALID_HANDLE;
    g_absent = false;
    g_hello_error = -TERN_LINUX_ENOSYS;
}

long tern_libc_ipc_get(uint32_t kind, int32_t key, uint32_t flags, uint64_t size) {
    ipc::Answer a = {};
    long r = call_op<ipc::Get>({kind, key, flags, 0, size}, &a);
    return result(r, a.error, a.id);
}

long tern_libc_ipc_attach(int32_t id, uint32_t flags, uint32_t* memory, uint64_t* size) {
    ipc::Answer a = {};
    tern_handle_t handle = TERN_INVALID_HANDLE;
    uint32_t count = 0;
    tern::proto::CallParts parts;
    parts.out_handles = &handle;
    parts.out_handle_count = &count;
    long r = result(call_op<ipc::Attach>({id, flags}, &a, parts), a.error, 0);
    if (r == 0 && count != 1)
        r = -TERN_LINUX_EBADMSG;
    if (r < 0) {
        if (count == 1)
            (void)tern_sys_handle_close(handle);
        return r;
    }
    *memory = handle;
    *size = uint64_t(a.value);
    return 0;
}

long tern_libc_ipc_detach(int32_t id) {
    ipc::Answer a = {};
    long r = call_op<ipc::Detach>({id}, &a);
    return result(r, a.error, 0);
}

long tern_libc_ipc_control(uint32_t kind, int32_t id, int32_t command, int32_t semnum,
                           int64_t value, const void* in, uint32_t in_size, void* out,
                           uint32_t* out_size, int64_t* value_out) {
    ipc::Answer a = {};
    *out_size = 0;
    tern::proto::CallParts parts = receiving(out, TERN_LIBC_IPC_CONTROL_DATA, out_size);
    parts.in_data = {static_cast<const uint8_t*>(in), in_size};
    long r = call_op<ipc::Control>({kind, id, command, semnum, value}, &a, parts);
    *value_out = a.value;
    return result(r, a.error, 0);
}

long tern_libc_ipc_semop(int32_t id, const void* ops, uint32_t count, uint64_t timeout_ns) {
    ipc::Answer a = {};
    ipc::SemOpRequest in = {id, 0, timeout_ns, {}};
    tern::proto::CallParts parts;
    // A few operations ride in the request itself, and the call in registers.
    if (count >= 1 && count <= ipc::kSemOpsInline) {
        in.count = count;
        __builtin_memcpy(in.ops, ops, count * sizeof(ipc::SemOp));
    } else {
        parts = sending(ops, count * sizeof(ipc::SemOp));
    }
    long r = call_op<ipc::SemOperate>(in, &a, parts);
    return result(r, a.error, 0);
}

long tern_libc_ipc_msgsnd(int32_t id, int64_t type, const void* text, uint32_t size,
                          uint32_t flags) {
    ipc::Answer a = {};
    Slot slot = size <= ipc::kAreaTextMax ? take_slot() : Slot{};
    if (slot.base) {
        __builtin_memcpy(slot.text(), text, size);
        long r = call_area<ipc::MsgSendArea>({id, flags, type, slot.place(size)}, &a);
        give_slot(slot);
        return result(r, a.error, 0);
    }
    long r = call_op<ipc::MsgSend>({id, flags, type}, &a, sending(text, size));
    return result(r, a.error, 0);
}

long tern_libc_ipc_msgrcv(int32_t id, int64_t type, uint64_t max, uint32_t flags, void* text,
                          int64_t* got_type) {
    ipc::Answer a = {};
    Slot slot = max <= ipc::kAreaTextMax ? take_slot() : Slot{};
    if (slot.base) {
        long r = call_area<ipc::MsgReceiveArea>(
            {id, flags, type, max, slot.place(ipc::kAreaTextMax)}, &a);
        r = result(r, a.error, 0);
        if (r == 0)
            r = take_text(slot, a, max, text);
        give_slot(slot);
        *got_type = a.value;
        return r;
    }
    uint32_t size = 0;
    long r = call_op<ipc::MsgReceive>({id, flags, type, max}, &a,
                                      receiving(text, TERN_LIBC_IPC_MSGMAX, &size));
    *got_type = a.value;
    return result(r, a.error, long(size));
}

// ---- POSIX message queues ----

long tern_libc_mq_open(const char* name, uint32_t length, uint32_t oflag, uint32_t mode,
                       const struct tern_libc_mq_attr* attr, uint64_t* description,
                       uint64_t* secret) {
    ipc::MqOpenAnswer a = {};
    ipc::MqOpenRequest in = {oflag, mode, attr ? 1u : 0u, 0, {}};
    if (attr)
        in.attr = {attr->flags, attr->maxmsg, attr->msgsize, attr->curmsgs};
    long r = result(call_op<ipc::MqOpen>(in, &a, sending(name, length)), a.error, 0);
    if (r == 0) {
        *description = a.handle.description;
        *secret = a.handle.secret;
    }
    return r;
}

long tern_libc_mq_unlink(const char* name, uint32_t length) {
    ipc::Answer a = {};
    long r = call_op<ipc::MqUnlink>({}, &a, sending(name, length));
    return result(r, a.error, 0);
}

long tern_libc_mq_close(uint64_t description, uint64_t secret) {
    ipc::Answer a = {};
    long r = call_op<ipc::MqClose>({description, secret}, &a);
    return result(r, a.error, 0);
}

long tern_libc_mq_share(uint64_t description, uint64_t secret, int32_t delta) {
    ipc::Answer a = {};
    long r = call_op<ipc::MqShare>({{description, secret}, delta, 0}, &a);
    return result(r, a.error, 0);
}

long tern_libc_mq_attr(uint64_t description, uint64_t secret, int set, int64_t flags,
                       struct tern_libc_mq_attr* out) {
    ipc::MqAttrAnswer a = {};
    long r = call_op<ipc::MqGetSetAttr>({{description, secret}, set ? 1u : 0u, 0, flags}, &a);
    r = result(r, a.error, 0);
    if (r == 0)
        *out = {a.attr.flags, a.attr.maxmsg, a.attr.msgsize, a.attr.curmsgs};
    return r;
}

long tern_libc_mq_send(uint64_t description, uint64_t secret, const void* text, uint32_t size,
                       uint32_t priority, uint64_t deadline) {
    ipc::Answer a = {};
    Slot slot = size <= ipc::kAreaTextMax ? take_slot() : Slot{};
    if (slot.base) {
        __builtin_memcpy(slot.text(), text, size);
        long r = call_area<ipc::MqSendArea>(
            {{description, secret}, priority, 0, deadline, slot.place(size)}, &a);
        give_slot(slot);
        return result(r, a.error, 0);
    }
    long r = call_op<ipc::MqSend>({{description, secret}, priority, 0, deadline}, &a,
                                  sending(text, size));
    return result(r, a.error, 0);
}

long tern_libc_mq_receive(uint64_t description, uint64_t secret, void* text, uint64_t max,
                          uint64_t deadline, uint32_t* priority) {
    ipc::Answer a = {};
    Slot slot = max <= ipc::kAreaTextMax ? take_slot() : Slot{};
    if (slot.base) {
        long r = call_area<ipc::MqReceiveArea>(
            {{description, secret}, max, deadline, slot.place(ipc::kAreaTextMax)}, &a);
        r = result(r, a.error, 0);
        if (r == 0)
            r = take_text(slot, a, max, text);
        give_slot(slot);
        *priority = uint32_t(a.value);
        return r;
    }
    uint32_t size = 0;
    long r = call_op<ipc::MqReceive>({{description, secret}, max, deadline}, &a,
                                     receiving(text, TERN_LIBC_MQ_MSGSIZE_MAX, &size));
    *priority = uint32_t(a.value);
    return result(r, a.error, long(size));
}

long tern_libc_mq_notify(uint64_t description, uint64_t secret, int remove, int32_t kind,
                         int32_t signo, int64_t value, uint64_t pid) {
    ipc::Answer a = {};
    long r = call_op<ipc::MqNotify>(
        {{description, secret}, remove ? 1u : 0u, kind, signo, 0, value, pid}, &a);
    return result(r, a.error, 0);
}

} // extern "C"
