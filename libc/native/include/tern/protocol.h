#pragma once

// The typed protocol layer: every server protocol is declared once, as a list of
// operations, and both the client and the server use that declaration.
//
//     // tern/protocols/name.h
//     struct LookupRequest { uint32_t flags; };
//     struct LookupResponse { uint64_t port_id; };
//     using Lookup = tern::proto::Op<2, LookupRequest, LookupResponse,
//                                    tern::proto::Limits{.request_data = 64,
//                                                        .response_handles = 1}>;
//
// An operation's fixed request and response are trivially copyable structs carried in
// the message's 64 inline bytes; a variable part (a name, file bytes) travels in the data
// part and handles in the handle slots, each with a declared bound. On the wire:
//
//   request: label = the operation's label, words = Request, data = request bytes,
//            handles = request handles; sent with port_call.
//   reply:   label = status (0 success, else a tern_status code), words = Response,
//            data = response bytes, handles = response handles.
//
// The client side (call<Op>) and the server side (Server::on<Op>) both enforce the
// bounds, so a peer that breaks them gets an error and a log line, never a crash or a
// leaked handle.

#include <base/error.h>
#include <base/result.h>
#include <base/span.h>
#include <stddef.h>
#include <stdint.h>
#include <tern/abi/message.h>
#include <tern/abi/syscalls.h>

namespace tern::proto {

// Bounds on an operation's variable parts.
struct Limits {
    uint32_t request_data = 0;
    uint32_t response_data = 0;
    uint32_t request_handles = 0;
    uint32_t response_handles = 0;
};

struct Empty {};

template<uint32_t Label, typename Req, typename Resp, Limits L = Limits{}>
struct Op {
    static constexpr uint32_t kLabel = Label;
    using Request = Req;
    using Response = Resp;
    static constexpr Limits kLimits = L;
    static_assert(sizeof(Req) <= TERN_MSG_INLINE_WORDS * 8, "request must fit the inline words");
    static_assert(sizeof(Resp) <= TERN_MSG_INLINE_WORDS * 8, "response must fit the inline words");
    static_assert(__is_trivially_copyable(Req) && __is_trivially_copyable(Resp));
    static_assert(L.request_data <= TERN_MSG_MAX_DATA && L.response_data <= TERN_MSG_MAX_DATA);
    // A call carries a reply right in one handle slot.
    static_assert(L.request_handles < TERN_MSG_MAX_HANDLES);
    static_assert(L.response_handles <= TERN_MSG_MAX_HANDLES);
    static_assert(Label != 0 && Label < 0x7E000000u, "labels from 0x7E000000 are the kernel's");
};

// The variable parts of one call, as the client sees them. Reply data lands in out_data,
// which must hold the operation's response_data bound (the most a server may send);
// reply handles in out_handles (room for Limits::response_handles), or nowhere when it is
// null (a reply that carries some then fails with CORRUPT, its handles closed).
struct CallParts {
    base::Span<const uint8_t> in_data;
    base::Span<const tern_handle_t> in_handles;
    base::Span<uint8_t> out_data;
    uint32_t* out_data_size = nullptr;
    tern_handle_t* out_handles = nullptr;
    uint32_t* out_handle_count = nullptr;
};

// The untyped call underneath call<Op>: checks the bounds, makes the call, checks the
// reply. Errors: the kernel's (BAD_HANDLE, PEER_CLOSED, TIMED_OUT, ...), the server's
// status, TOO_BIG for parts over the limits, CORRUPT for a reply that breaks them.
base::Error call_raw(tern_handle_t port, uint32_t label, const void* request, size_t request_size,
                     void* response, size_t response_size, const Limits& limits,
                     const CallParts& parts, uint64_t timeout_ns);

template<typename O>
base::Result<typename O::Response> call(tern_handle_t port, const typename O::Request& request,
                                        const CallParts& parts = {},
                                        uint64_t timeout_ns = TERN_TIMEOUT_INFINITE) {
    typename O::Response response{};
    base::Error e = call_raw(port, O::kLabel, &request, sizeof(request), &response,
                             sizeof(response), O::kLimits, parts, timeout_ns);
    if (e != base::Error::OK)
        return e;
    return response;
}

// ---- Server side ------------------------------------------------------------------------

// One received request, as a handler sees it: who sent it (the kernel-set badge: the
// sender's task id), its data and handles. A handler that keeps a handle takes it
// (take_handle); the rest are closed when the handler returns.
class Request {
public:
    uint64_t badge() const { return m_msg->hdr.sender_badge; }
    base::Span<const uint8_t> data() const {
        return {reinterpret_cast<const uint8_t*>(m_msg->data), m_msg->hdr.data_size};
    }
    uint32_t handle_count() const { return m_msg->hdr.handle_count; }
    // The handle in slot i, now owned by the caller; TERN_INVALID_HANDLE when absent or
    // taken already.
    tern_handle_t take_handle(uint32_t i);
    // What the server's log line says when the handler refuses the request (a status for
    // which is_refusal() holds); `why` must outlive the request (a string literal).
    void set_refusal_reason(const char* why) { m_refusal_reason = why; }
    const char* refusal_reason() const { return m_refusal_reason; }
    // Which member of a port set the request came through (the key given to
    // port_set_add; 0 for the port the server was made with), so one loop can serve a
    // port per object it hands out.
    uint32_t key() const { return m_key; }
    explicit Request(tern_msg* msg, uint32_t key = 0) : m_msg(msg), m_key(key) {}

private:
    tern_msg* m_msg;
    uint32_t m_key;
    const char* m_refusal_reason = "refused by the handler";
};

// Whether a handler's status says the request itself was bad (malformed, not permitted,
// naming the wrong object) rather than giving an ordinary answer (NOT_FOUND,
// WOULD_BLOCK, ALREADY_EXISTS, ...) or reporting the server's own trouble (NO_MEMORY,
// NO_SPACE, ...). The server logs a handler's refusals as it logs its own.
constexpr bool is_refusal(base::Error e) {
    switch (e) {
    case base::Error::INVALID_ARGUMENT:
    case base::Error::BAD_HANDLE:
    case base::Error::ACCESS_DENIED:
    case base::Error::WRONG_TYPE:
    case base::Error::BAD_ADDRESS:
    case base::Error::OUT_OF_RANGE:
    case base::Error::CORRUPT:
    case base::Error::DOUBLE_FREE:
    case base::Error::MISALIGNED:
    case base::Error::NOT_OWNER:
    case base::Error::TOO_BIG:
        return true;
    default:
        return false;
    }
}

// What a handler answers with besides its Response struct. Data is copied at reply time
// from the span; handles move to the client.
struct Reply {
    base::Span<const uint8_t> data;
    tern_handle_t handles[TERN_MSG_MAX_HANDLES] = {};
    uint32_t handle_count = 0;
    // When set, the server does not answer now: the handler kept the reply right
    // (deferred_reply) and answers later with reply_later().
    bool deferred = false;
};

// A deferred reply right, kept by a handler that answers later (a wait on a process
// that has not exited, a read from the console with no line yet).
struct PendingReply {
    tern_handle_t reply = TERN_INVALID_HANDLE;
    bool valid() const { return reply != TERN_INVALID_HANDLE; }
};

// Answers a deferred call. The right is consumed either way.
template<typename O>
base::Error reply_later(PendingReply& pending, base::Error status,
                        const typename O::Response& response, const Reply& parts = {});
base::Error reply_raw(tern_handle_t reply_handle, base::Error status, const void* response,
                      size_t response_size, const Reply& parts);
// The reply message reply_raw sends: the status in the label, the response in the words,
// and on success the parts (on an error status their handles are closed here).
void build_reply(tern_msg& msg, base::Error status, const void* response, size_t response_size,
                 const Reply& parts);

// The cookie a server gives object_watch for an object kept in slot `index` of a table:
// the slot's generation rides along, so a notice about an earlier occupant of the slot
// is recognised as stale.
struct SlotCookie {
    uint32_t index;
    uint32_t generation;
    uint64_t value() const { return (uint64_t(generation) << 32) | index; }
    static SlotCookie from(uint64_t cookie) {
        return {uint32_t(cookie & 0xFFFFFFFFu), uint32_t(cookie >> 32)};
    }
};

// A slot for a parked call in a server's fixed table of them. The kernel does not tell a
// server when a caller gives up, so a table of parked calls must make room rather than
// refuse: when every slot is taken, the oldest call is answered TIMED_OUT (its caller has
// most likely left) and its slot is reused. W is the server's slot type, with members
// `bool used`, `uint64_t sequence` and `PendingReply reply`; the returned slot is reset,
// marked used and stamped from `clock`, and the caller fills in the rest.
template<typename O, typename W, size_t N>
W& park(W (&slots)[N], uint64_t& clock) {
    W* slot = nullptr;
    for (W& w : slots) {
        if (!w.used) {
            slot = &w;
            break;
        }
    }
    if (!slot) {
        slot = &slots[0];
        for (W& w : slots)
            if (w.sequence < slot->sequence)
                slot = &w;
        (void)reply_later<O>(slot->reply, base::Error::TIMED_OUT, {});
    }
    *slot = W{};
    slot->used = true;
    slot->sequence = ++clock;
    return *slot;
}

// A request loop over one port (or port set). Handlers are registered per operation;
// everything a client can get wrong (an unknown label, a fixed part of the wrong shape,
// parts over the limits, a plain send where a call is needed) is answered with an error
// and logged, and the loop goes on; so is a request its handler refuses (is_refusal).
// Each refusal is one line:
//
//     <server>: refused request <label> from task <id>: <why> (<error name>)
//
// Within a minute from its first refusal a server logs kLoggedRefusals of them, then one
// in kRefusalLogInterval with the count so far, so a client that keeps sending bad
// requests cannot flood the log; the first refusal after that minute says how many went
// unlogged and starts the next one. Kernel events (signals, death notices) go to the
// event handler.
class Server {
public:
    static constexpr size_t kMaxOps = 32;
    static constexpr uint64_t kLoggedRefusals = 32;
    static constexpr uint64_t kRefusalLogInterval = 1000;
    static constexpr uint64_t kRefusalWindowNs = 60ull * 1000000000ull;
    using RawHandler = base::Error (*)(void* context, Request& request, const void* in, void* out,
                                       Reply& reply, PendingReply& pending);
    using EventHandler = void (*)(void* context, const tern_msg& event, uint32_t key);

    Server(const char* name, tern_handle_t port) : m_name(name), m_port(port) {}
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    ~Server() { delete[] m_buffer; }

    template<typename O, typename Context>
    void on(Context* context,
            base::Error (*handler)(Context*, Request&, const typename O::Request&,
                                   typename O::Response&, Reply&, PendingReply&)) {
        add(O::kLabel, sizeof(typename O::Request), sizeof(typename O::Response), O::kLimits,
            context, reinterpret_cast<void*>(handler), &invoke<O, Context>);
    }
    void on_event(void* context, EventHandler handler) {
        m_event_context = context;
        m_event_handler = handler;
    }
    // When set, every message received through a member of the port set (key >= 1) goes
    // to this handler whole instead of the operations: the handler owns its handles and
    // its reply right. A server that forwards messages (the bus's proxies) uses it.
    using MemberHandler = void (*)(void* context, tern_msg& msg, uint32_t key);
    void on_member(void* context, MemberHandler handler) {
        m_member_context = context;
        m_member_handler = handler;
    }
    // Messages through member `key` are requests for the operations all the same, even
    // with a member handler set; Request::key() tells a handler where one came from (proc
    // serves the bus's requests on a port of their own).
    void requests_on_member(uint32_t key) { m_request_key = key; }
    // Receives and dispatches one message (waiting up to timeout_ns). Returns the receive
    // error (TIMED_OUT, WOULD_BLOCK, ...) or OK.
    base::Error serve_one(uint64_t timeout_ns = TERN_TIMEOUT_INFINITE);
    // Serves for ever. Each answer goes out with the wait for the next request, in one
    // port_reply_receive; a reply the kernel refuses ends the call with PEER_CLOSED for
    // its caller and a kernel log line.
    [[noreturn]] void run();
    // Makes serve_one hold each answer until the next wait, as run() does: for a server
    // that runs its own loop around serve_one (to wake at its own deadlines).
    void batch_replies() { m_batch_replies = true; }
    // Sends the answer batch_replies holds now, for a server that must act after its
    // caller has it (and before its next wait).
    void flush_reply();
    // Counters for tests and diagnostics: requests that reached a handler, and refusals
    // (the layer's and the handlers', logged or not).
    uint64_t served() const { return m_served; }
    uint64_t refused() const { return m_refused; }

private:
    struct Entry {
        uint32_t label;
        uint32_t request_size;
        uint32_t response_size;
        Limits limits;
        void* context;
        void* handler;
        base::Error (*invoke)(void* handler, void* context, Request&, const void*, void*, Reply&,
                              PendingReply&);
    };
    template<typename O, typename Context>
    static base::Error invoke(void* handler, void* context, Request& request, const void* in,
                              void* out, Reply& reply, PendingReply& pending) {
        auto* typed =
            reinterpret_cast<base::Error (*)(Context*, Request&, const typename O::Request&,
                                             typename O::Response&, Reply&, PendingReply&)>(
                handler);
        return typed(static_cast<Context*>(context), request,
                     *static_cast<const typename O::Request*>(in),
                     *static_cast<typename O::Response*>(out), reply, pending);
    }
    void add(uint32_t label, uint32_t request_size, uint32_t response_size, const Limits& limits,
             void* context, void* handler,
             base::Error (*invoke)(void*, void*, Request&, const void*, void*, Reply&,
                                   PendingReply&));
    void refuse(tern_msg& msg, base::Error status, const char* why);
    void log_refusal(const tern_msg& msg, base::Error status, const char* why);

    const char* m_name;
    tern_handle_t m_port;
    Entry m_ops[kMaxOps];
    size_t m_op_count = 0;
    void* m_event_context = nullptr;
    MemberHandler m_member_handler = nullptr;
    uint32_t m_request_key = 0; // 0: none (key 0 is the port's own queue)
    void* m_member_context = nullptr;
    EventHandler m_event_handler = nullptr;
    uint64_t m_served = 0;
    uint64_t m_refused = 0;
    uint64_t m_window_start = 0;    // when the current minute of refusals began
    uint64_t m_window_refused = 0;  // refusals in it
    uint64_t m_window_unlogged = 0; // of which not logged
    size_t m_buffer_size = 0;
    uint8_t* m_buffer = nullptr;
    // run() holds each answer back to send it with the next receive.
    bool m_batch_replies = false;
    tern_handle_t m_held_reply = TERN_INVALID_HANDLE;
    tern_msg m_held_msg = {};
};

template<typename O>
base::Error reply_later(PendingReply& pending, base::Error status,
                        const typename O::Response& response, const Reply& parts) {
    tern_handle_t h = pending.reply;
    pending.reply = TERN_INVALID_HANDLE;
    return reply_raw(h, status, &response, sizeof(response), parts);
}

} // namespace tern::proto
