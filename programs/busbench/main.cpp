// busbench: round trips of calls through the bus, for `./tern bench bus` (docs/bench.md).
//
//   busbench serve <seconds> [name]       registers name (default "bench.echo") on this
//                                         node, looks the bare name up and says what it
//                                         got (this node's own registration wins), and
//                                         answers every call with its data part, byte
//                                         for byte, for that long
//   busbench call <node> <bytes> <count>  looks up "bench.echo@<node>" (node 0: the bare
//                                         name, wherever it is) and calls it count times
//                                         with <bytes> of data each way (at most 64 KiB:
//                                         one data part), checking every answer; prints
//                                         the median, minimum and maximum round trip on
//                                         the monotonic clock
//   busbench mem <node> <bytes>           sends bench.echo@<node> a memory object of
//                                         <bytes> (whole pages) filled with a pattern;
//                                         the server checks its size and contents and
//                                         answers a checksum, which this side compares
//   busbench sink <count> <ms>            registers "bench.sink" with a 4-message queue
//                                         and receives count messages, sleeping ms after
//                                         each: a slow receiver; checks that they come in
//                                         order with intact data
//   busbench flood <node> <count>         sends count numbered messages to
//                                         "bench.sink@<node>" as fast as the port takes
//                                         them, each send waiting while the port is full
//   busbench ports <node> <count>         asks bench.echo@<node> for count ports of its
//                                         own (each a new member of the server's port
//                                         set, so each is a proxy here), then calls each
//                                         of them in turn, twice, and checks that the
//                                         port it reached is the one it asked for; then
//                                         signals each (port_signal on the proxy) and
//                                         checks that the port got exactly those bits
//   busbench adopt <seconds>              registers "bench.adopt" and waits for a port
//                                         (a RECEIVE right) sent to it, then answers
//                                         calls on that port for that long
//   busbench park <calls> <node>          registers "bench.park" on a new port, answers
//                                         calls to it, and after <calls> of them sends
//                                         the port itself to bench.adopt@<node>: the
//                                         port moves there with its queue and its id
//   busbench where <node> <count> <ms>    calls bench.park@<node> count times, ms apart,
//                                         checking each answer, and says how many each
//                                         node answered
//
// A 64 KiB call is one message with a 64 KiB data part, the largest the native API
// carries in one message; the bus fragments it into frames and reassembles it.
#include <base/format.h>
#include <base/string_view.h>
#include <tern/print.h>
#include <tern/protocol.h>
#include <tern/protocols/name.h>
#include <tern/runtime.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall.h>
#include <tern/syscall_result.h>

using namespace tern;

namespace {

struct EchoRequest {
    uint64_t seq;
};
struct EchoResponse {
    uint64_t seq;
};
inline constexpr uint32_t kMaxBytes = TERN_MSG_MAX_DATA;
using Echo = proto::Op<0x4502, EchoRequest, EchoResponse,
                       proto::Limits{.request_data = kMaxBytes, .response_data = kMaxBytes}>;

// A memory object in handles[0], size bytes: the server maps it, checks that it is
// exactly that big, and answers the sum of its 64-bit words.
struct MemRequest {
    uint64_t size;
};
struct MemResponse {
    uint64_t sum;
};
using MemSum = proto::Op<0x4504, MemRequest, MemResponse, proto::Limits{.request_handles = 1}>;

// A new port of the server's (handles[0] of the answer): calls to it are answered by
// the member handler with the port's index.
struct OpenRequest {
    uint64_t index;
};
using OpenPort = proto::Op<0x4505, OpenRequest, proto::Empty, proto::Limits{.response_handles = 1}>;
constexpr uint32_t kLabelWhich = 0x4506;
constexpr uint64_t kWhichMark = 0x5EED0000ull;
constexpr uint64_t kMaxPorts = 400;

constexpr uint64_t kPage = 4096;

constexpr char kName[] = "bench.echo";
constexpr uint64_t kTimeoutNs = 10'000'000'000ull;
constexpr uint64_t kMaxCount = 100'000;
constexpr uint64_t kWarmUp = 10;

uint64_t now_ns() { return uint64_t(tern_sys_clock_monotonic()); }

bool parse_number(const char* s, uint64_t& out) {
    auto value = base::parse_u64(base::StringView(s ? s : ""));
    if (value.has_value())
        out = *value;
    return value.has_value();
}

// name@node (node 0: the bare name, wherever it is) looked up, its spelling left in out;
// a failure is said on the console.
base::Result<tern_handle_t> find(base::StringView name, uint64_t node, base::BufferSink& out) {
    if (node == 0)
        base::format_to(out, "{}", name);
    else
        base::format_to(out, "{}@{}", name, node);
    auto found = lookup(out.view(), false, kTimeoutNs);
    if (found.is_error())
        println("busbench: {}: {}", out.view(), base::error_name(found.error()));
    return found;
}

uint8_t g_echo[kMaxBytes];

base::Error on_echo(void*, proto::Request& request, const EchoRequest& in, EchoResponse& out,
                    proto::Reply& reply, proto::PendingReply&) {
    base::Span<const uint8_t> data = request.data();
    for (size_t i = 0; i < data.size(); ++i)
        g_echo[i] = data[i];
    out.seq = in.seq;
    reply.data = {g_echo, data.size()};
    return base::Error::OK;
}

uint64_t pattern(uint64_t i) { return i * 0x9E3779B97F4A7C15ull + 17; }

base::Error on_mem(void*, proto::Request& request, const MemRequest& in, MemResponse& out,
                   proto::Reply&, proto::PendingReply&) {
    tern_handle_t memory = request.take_handle(0);
    if (memory == TERN_INVALID_HANDLE || in.size == 0 || in.size % kPage != 0)
        return base::Error::INVALID_ARGUMENT;
    base::Error e = base::Error::OK;
    // One page more than the size must not map: the object is exactly that big.
    int64_t beyond =
        tern_sys_vm_map_memory(tern::self(), memory, 0, in.size, kPage, TERN_PROT_READ);
    if (beyond >= 0) {
        (void)tern_sys_vm_free(uint64_t(beyond), kPage);
        e = base::Error::TOO_BIG;
    }
    int64_t at = tern_sys_vm_map_memory(tern::self(), memory, 0, 0, in.size, TERN_PROT_READ);
    if (e == base::Error::OK && at < 0)
        e = sys_status(at);
    if (e == base::Error::OK) {
        const uint64_t* words = reinterpret_cast<const uint64_t*>(at);
        out.sum = 0;
        for (uint64_t i = 0; i < in.size / 8; ++i)
            out.sum += words[i] ^ i;
    }
    if (at >= 0)
        (void)tern_sys_vm_free(uint64_t(at), in.size);
    (void)tern_sys_handle_close(memory);
    return e;
}

struct PortsServed {
    tern_handle_t set;
    uint64_t opened;
};

base::Error on_open(PortsServed* served, proto::Request&, const OpenRequest& in, proto::Empty&,
                    proto::Reply& reply, proto::PendingReply&) {
    if (served->opened >= kMaxPorts || in.index != served->opened)
        return base::Error::INVALID_ARGUMENT;
    int64_t port = tern_sys_port_create(4);
    if (port < 0)
        return sys_status(port);
    int64_t added = tern_sys_port_set_add(served->set, tern_handle_t(port), uint32_t(in.index + 1));
    int64_t send =
        added < 0
            ? added
            : tern_sys_handle_duplicate(tern_handle_t(port),
                                        TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER | TERN_RIGHT_SIGNAL);
    if (send < 0) {
        (void)tern_sys_handle_close(tern_handle_t(port));
        return sys_status(send);
    }
    ++served->opened; // the receive right stays open (and in the set) until the program ends
    reply.handles[0] = tern_handle_t(send);
    reply.handle_count = 1;
    return base::Error::OK;
}

// The signal bits each opened port has received.
uint64_t g_signalled[kMaxPorts];

// A call to one of the opened ports: answered with the port's index, from its key, and
// the signal bits the port has had; a signal (from the kernel: badge 0) is added up.
void on_which(void*, tern_msg& msg, uint32_t key) {
    for (uint32_t i = 0; i < msg.hdr.handle_count; ++i)
        (void)tern_sys_handle_close(msg.handles[i]);
    if (msg.hdr.label == TERN_LABEL_SIGNAL && msg.hdr.sender_badge == 0 && key >= 1
        && key <= kMaxPorts)
        g_signalled[key - 1] |= msg.words[0];
    if (msg.reply_handle == TERN_INVALID_HANDLE)
        return;
    tern_msg out = {};
    out.hdr.label = kLabelWhich;
    out.words[0] = msg.hdr.label == kLabelWhich ? kWhichMark + key - 1 : 0;
    out.words[1] = msg.words[0];
    out.words[2] = key >= 1 && key <= kMaxPorts ? g_signalled[key - 1] : 0;
    (void)tern_sys_port_reply(msg.reply_handle, reinterpret_cast<uint64_t>(&out));
}

int serve(uint64_t seconds, const char* name) {
    int64_t port = tern_sys_port_create(64);
    if (port < 0) {
        println("busbench: no port: {}", base::error_name(sys_status(port)));
        return 1;
    }
    if (auto r = register_name(name, tern_handle_t(port)); r.is_error()) {
        println("busbench: cannot register {}: {}", name, base::error_name(r.error()));
        return 1;
    }
    // The bare name resolves to this node's registration even when others have it too.
    auto own = lookup(name, false, kTimeoutNs);
    println("busbench: {} looked up here: {}", name,
            base::error_name(own.is_error() ? own.error() : base::Error::OK));
    if (!own.is_error())
        (void)tern_sys_handle_close(own.value());
    proto::Server server("busbench", tern_handle_t(port));
    server.on<Echo>(static_cast<void*>(nullptr), on_echo);
    server.on<MemSum>(static_cast<void*>(nullptr), on_mem);
    PortsServed served = {tern_handle_t(port), 0};
    server.on<OpenPort>(&served, on_open);
    server.on_member(nullptr, on_which);
    println("busbench: serving {} for {} s", name, seconds);
    uint64_t end = now_ns() + seconds * 1'000'000'000ull;
    for (uint64_t t = now_ns(); t < end; t = now_ns())
        (void)server.serve_one(end - t);
    println("busbench: served {} calls", server.served());
    return 0;
}

// Round trips in microseconds, sorted in place (Shell sort: no allocation, n <= kMaxCount).
uint32_t g_us[kMaxCount];

void sort(uint32_t* v, size_t n) {
    for (size_t gap = n / 2; gap > 0; gap /= 2) {
        for (size_t i = gap; i < n; ++i) {
            uint32_t x = v[i];
            size_t j = i;
            for (; j >= gap && v[j - gap] > x; j -= gap)
                v[j] = v[j - gap];
            v[j] = x;
        }
    }
}

uint8_t g_out[kMaxBytes];
uint8_t g_back[kMaxBytes];

int call(uint64_t node, uint64_t bytes, uint64_t count) {
    char full[32];
    base::BufferSink sink(full, sizeof(full));
    auto found = find(base::StringView(kName), node, sink);
    if (found.is_error())
        return 1;
    tern_handle_t echo = found.value();
    uint64_t done = 0;
    for (uint64_t i = 0; i < kWarmUp + count; ++i) {
        for (size_t j = 0; j < bytes; ++j)
            g_out[j] = uint8_t(i * 131 + j * 7);
        uint32_t back_size = 0;
        proto::CallParts parts;
        parts.in_data = {g_out, size_t(bytes)};
        parts.out_data = {g_back, sizeof(g_back)};
        parts.out_data_size = &back_size;
        uint64_t before = now_ns();
        auto r = proto::call<Echo>(echo, {i}, parts, kTimeoutNs);
        uint64_t took = now_ns() - before;
        if (r.is_error()) {
            println("busbench: call {} failed: {}", i, base::error_name(r.error()));
            break;
        }
        bool ok = r.value().seq == i && back_size == bytes;
        for (size_t j = 0; ok && j < bytes; ++j)
            ok = g_back[j] == g_out[j];
        if (!ok) {
            println("busbench: call {}: wrong answer (seq {}, {} bytes)", i, r.value().seq,
                    back_size);
            break;
        }
        // The first calls open the proxy's path and fill caches; they are not counted.
        if (i >= kWarmUp)
            g_us[done++] = uint32_t(took / 1000 > UINT32_MAX ? UINT32_MAX : took / 1000);
    }
    if (done == 0) {
        println("busbench: 0 of {} calls of {} bytes to {}", count, bytes, sink.view());
        return 2;
    }
    sort(g_us, done);
    println("busbench: {} of {} calls of {} bytes to {}, median {} us (min {}, max {})", done,
            count, bytes, sink.view(), g_us[done / 2], g_us[0], g_us[done - 1]);
    return done == count ? 0 : 2;
}

int mem(uint64_t node, uint64_t bytes) {
    char full[32];
    base::BufferSink name(full, sizeof(full));
    auto found = find(base::StringView(kName), node, name);
    if (found.is_error())
        return 1;
    int64_t memory = tern_sys_memory_create(bytes, 0);
    if (memory < 0) {
        println("busbench: no memory object: {}", base::error_name(sys_status(memory)));
        return 1;
    }
    int64_t at = tern_sys_vm_map_memory(tern::self(), tern_handle_t(memory), 0, 0, bytes,
                                        TERN_PROT_READ | TERN_PROT_WRITE);
    if (at < 0) {
        println("busbench: cannot map it: {}", base::error_name(sys_status(at)));
        return 1;
    }
    uint64_t* words = reinterpret_cast<uint64_t*>(at);
    uint64_t sum = 0;
    for (uint64_t i = 0; i < bytes / 8; ++i) {
        words[i] = pattern(i);
        sum += words[i] ^ i;
    }
    (void)tern_sys_vm_free(uint64_t(at), bytes);
    tern_handle_t h = tern_handle_t(memory);
    proto::CallParts parts;
    parts.in_handles = {&h, 1};
    auto r = proto::call<MemSum>(found.value(), {bytes}, parts, kTimeoutNs);
    if (r.is_error()) {
        println("busbench: memory of {} bytes to {}: {}", bytes, name.view(),
                base::error_name(r.error()));
        return 2;
    }
    if (r.value().sum != sum) {
        println("busbench: memory of {} bytes to {}: wrong contents", bytes, name.view());
        return 3;
    }
    println("busbench: memory of {} bytes to {}: checked", bytes, name.view());
    return 0;
}

constexpr char kSinkName[] = "bench.sink";
constexpr uint32_t kSinkData = 64;

// The data part of flood message seq: 64 bytes that depend on seq.
void fill_sink_data(uint64_t seq, uint8_t* out) {
    for (uint32_t j = 0; j < kSinkData; ++j)
        out[j] = uint8_t(seq * 37 + j);
}

int sink(uint64_t count, uint64_t ms) {
    int64_t port = tern_sys_port_create(4);
    if (port < 0) {
        println("busbench: no port: {}", base::error_name(sys_status(port)));
        return 1;
    }
    if (auto r = register_name(kSinkName, tern_handle_t(port)); r.is_error()) {
        println("busbench: cannot register {}: {}", kSinkName, base::error_name(r.error()));
        return 1;
    }
    println("busbench: sink receiving {} messages, {} ms each", count, ms);
    uint64_t got = 0;
    uint64_t start = 0;
    static uint8_t data[TERN_MSG_MAX_DATA];
    uint8_t expected[kSinkData];
    while (got < count) {
        tern_msg msg = {};
        msg.data = reinterpret_cast<uint64_t>(data);
        msg.data_capacity = sizeof(data);
        // A sender that stopped for this long is not coming back.
        int64_t r = tern_sys_port_receive(tern_handle_t(port), reinterpret_cast<uint64_t>(&msg),
                                          30'000'000'000ull);
        if (r < 0) {
            println("busbench: sink: {} after {} of {} messages", base::error_name(sys_status(r)),
                    got, count);
            return 2;
        }
        for (uint32_t i = 0; i < msg.hdr.handle_count; ++i)
            (void)tern_sys_handle_close(msg.handles[i]);
        if (got == 0)
            start = now_ns();
        fill_sink_data(got, expected);
        bool ok = msg.hdr.label == 0x4503 && msg.words[0] == got && msg.hdr.data_size == kSinkData;
        for (uint32_t j = 0; ok && j < kSinkData; ++j)
            ok = data[j] == expected[j];
        if (!ok) {
            println("busbench: sink: message {} is wrong (seq {}, {} bytes)", got, msg.words[0],
                    msg.hdr.data_size);
            return 3;
        }
        ++got;
        if (ms)
            (void)tern_sys_thread_sleep(ms * 1'000'000ull);
    }
    println("busbench: sink got {} of {} messages in order in {} ms", got, count,
            (now_ns() - start) / 1'000'000);
    return 0;
}

int flood(uint64_t node, uint64_t count) {
    char full[32];
    base::BufferSink name(full, sizeof(full));
    auto found = find(base::StringView(kSinkName), node, name);
    if (found.is_error())
        return 1;
    uint8_t data[kSinkData];
    uint64_t start = now_ns();
    uint64_t longest = 0;
    for (uint64_t i = 0; i < count; ++i) {
        fill_sink_data(i, data);
        tern_msg msg = {};
        msg.hdr.label = 0x4503;
        msg.words[0] = i;
        msg.data = reinterpret_cast<uint64_t>(data);
        msg.hdr.data_size = kSinkData;
        uint64_t before = now_ns();
        int64_t r =
            tern_sys_port_send(found.value(), reinterpret_cast<uint64_t>(&msg), kTimeoutNs * 3);
        uint64_t took = now_ns() - before;
        if (took > longest)
            longest = took;
        if (r < 0) {
            println("busbench: flood: send {} failed: {}", i, base::error_name(sys_status(r)));
            return 2;
        }
    }
    println("busbench: flood sent {} messages in {} ms (longest wait {} ms)", count,
            (now_ns() - start) / 1'000'000, longest / 1'000'000);
    return 0;
}

// ---- A port that moves (adopt, park, where). Calls carry a sequence number in
// words[0]; the answer carries the answering node in words[0] and the number in words[1].

constexpr char kAdoptName[] = "bench.adopt";
constexpr char kParkName[] = "bench.park";
constexpr uint32_t kLabelWhere = 0x4507;
constexpr uint32_t kLabelAdopt = 0x4508;

// Answers one call on port with this node's id; false when the wait ends without one.
bool answer_where(tern_handle_t port, uint64_t timeout_ns) {
    tern_msg msg = {};
    int64_t r = tern_sys_port_receive(port, reinterpret_cast<uint64_t>(&msg), timeout_ns);
    if (r < 0)
        return false;
    for (uint32_t i = 0; i < msg.hdr.handle_count; ++i)
        (void)tern_sys_handle_close(msg.handles[i]);
    if (msg.reply_handle == TERN_INVALID_HANDLE)
        return true;
    tern_msg out = {};
    out.hdr.label = kLabelWhere;
    out.words[0] = msg.hdr.label == kLabelWhere ? uint64_t(tern_sys_node_id()) : 0;
    out.words[1] = msg.words[0];
    (void)tern_sys_port_reply(msg.reply_handle, reinterpret_cast<uint64_t>(&out));
    return true;
}

int adopt(uint64_t seconds) {
    int64_t port = tern_sys_port_create(4);
    if (port < 0 || register_name(kAdoptName, tern_handle_t(port)).is_error()) {
        println("busbench: cannot register {}", kAdoptName);
        return 1;
    }
    println("busbench: adopt waiting on {}", kAdoptName);
    uint64_t end = now_ns() + seconds * 1'000'000'000ull;
    tern_handle_t moved = TERN_INVALID_HANDLE;
    while (moved == TERN_INVALID_HANDLE && now_ns() < end) {
        tern_msg msg = {};
        if (tern_sys_port_receive(tern_handle_t(port), reinterpret_cast<uint64_t>(&msg),
                                  end - now_ns())
            < 0)
            break;
        if (msg.hdr.label == kLabelAdopt && msg.hdr.handle_count == 1)
            moved = msg.handles[0];
        else
            for (uint32_t i = 0; i < msg.hdr.handle_count; ++i)
                (void)tern_sys_handle_close(msg.handles[i]);
    }
    if (moved == TERN_INVALID_HANDLE) {
        println("busbench: adopt: no port came");
        return 2;
    }
    println("busbench: adopt got a port; answering its calls");
    uint64_t answered = 0;
    for (uint64_t t = now_ns(); t < end; t = now_ns())
        answered += answer_where(moved, end - t) ? 1 : 0;
    println("busbench: adopt answered {} calls", answered);
    return 0;
}

int park(uint64_t calls, uint64_t node) {
    int64_t port = tern_sys_port_create(64);
    if (port < 0 || register_name(kParkName, tern_handle_t(port)).is_error()) {
        println("busbench: cannot register {}", kParkName);
        return 1;
    }
    char full[32];
    base::BufferSink name(full, sizeof(full));
    auto to = find(base::StringView(kAdoptName), node, name);
    if (to.is_error())
        return 1;
    println("busbench: parked {}; moving it to node {} after {} calls", kParkName, node, calls);
    uint64_t answered = 0;
    while (answered < calls) {
        if (!answer_where(tern_handle_t(port), 600'000'000'000ull)) {
            println("busbench: park: no call came");
            return 2;
        }
        ++answered;
    }
    tern_msg msg = {};
    msg.hdr.label = kLabelAdopt;
    msg.hdr.handle_count = 1;
    msg.handles[0] = tern_handle_t(port);
    if (int64_t r = tern_sys_port_send(to.value(), reinterpret_cast<uint64_t>(&msg), kTimeoutNs);
        r < 0) {
        println("busbench: park: cannot send the port: {}", base::error_name(sys_status(r)));
        return 3;
    }
    println("busbench: moved {} to node {} after {} calls", kParkName, node, answered);
    return 0;
}

int where(uint64_t node, uint64_t count, uint64_t ms) {
    char full[32];
    base::BufferSink name(full, sizeof(full));
    auto found = find(base::StringView(kParkName), node, name);
    if (found.is_error())
        return 1;
    constexpr size_t kNodes = 8;
    uint64_t by[kNodes + 1] = {};
    uint64_t longest = 0;
    for (uint64_t i = 0; i < count; ++i) {
        tern_msg msg = {};
        msg.hdr.label = kLabelWhere;
        msg.words[0] = i;
        uint64_t before = now_ns();
        int64_t r = tern_sys_port_call(found.value(), reinterpret_cast<uint64_t>(&msg), kTimeoutNs);
        uint64_t took = now_ns() - before;
        if (took > longest)
            longest = took;
        if (r < 0 || msg.words[1] != i || msg.words[0] == 0) {
            println("busbench: where: call {} failed: {} (answer {} {})", i,
                    base::error_name(r < 0 ? sys_status(r) : base::Error::CORRUPT), msg.words[0],
                    msg.words[1]);
            return 2;
        }
        ++by[msg.words[0] > kNodes ? 0 : msg.words[0]];
        if (ms)
            (void)tern_sys_thread_sleep(ms * 1'000'000ull);
    }
    char line[256];
    base::BufferSink out(line, sizeof(line));
    base::format_to(out, "busbench: where: {} calls checked (longest {} ms):", count,
                    longest / 1'000'000);
    for (size_t n = 1; n <= kNodes; ++n) {
        if (by[n])
            base::format_to(out, " node {} answered {}", n, by[n]);
    }
    println("{}", out.view());
    return 0;
}

tern_handle_t g_ports[kMaxPorts];

int ports(uint64_t node, uint64_t count) {
    char full[32];
    base::BufferSink name(full, sizeof(full));
    auto found = find(base::StringView(kName), node, name);
    if (found.is_error())
        return 1;
    uint64_t opened = 0;
    for (; opened < count; ++opened) {
        uint32_t got = 0;
        proto::CallParts parts;
        parts.out_handles = &g_ports[opened];
        parts.out_handle_count = &got;
        auto r = proto::call<OpenPort>(found.value(), {opened}, parts, kTimeoutNs);
        if (r.is_error() || got != 1) {
            println("busbench: port {} of {}: {}", opened, count,
                    base::error_name(r.is_error() ? r.error() : base::Error::CORRUPT));
            return 2;
        }
    }
    uint64_t start = now_ns();
    uint64_t calls = 0;
    for (int round = 0; round < 2; ++round) {
        for (uint64_t i = 0; i < count; ++i) {
            tern_msg msg = {};
            msg.hdr.label = kLabelWhich;
            msg.words[0] = i * 3 + uint64_t(round);
            int64_t r =
                tern_sys_port_call(g_ports[i], reinterpret_cast<uint64_t>(&msg), kTimeoutNs);
            if (r < 0 || msg.words[0] != kWhichMark + i
                || msg.words[1] != i * 3 + uint64_t(round)) {
                println("busbench: call to port {} (round {}): {} (answer {} {})", i, round,
                        base::error_name(r < 0 ? sys_status(r) : base::Error::CORRUPT),
                        msg.words[0], msg.words[1]);
                return 3;
            }
            ++calls;
        }
    }
    println("busbench: {} ports of {}: {} calls each reached its own port in {} ms", count,
            name.view(), calls, (now_ns() - start) / 1'000'000);
    // Signals: each port gets its own bits; a call behind them (same order) sees them.
    for (uint64_t i = 0; i < count; ++i) {
        if (int64_t r = tern_sys_port_signal(g_ports[i], i + 1); r < 0) {
            println("busbench: signal to port {}: {}", i, base::error_name(sys_status(r)));
            return 4;
        }
    }
    for (uint64_t i = 0; i < count; ++i) {
        tern_msg msg = {};
        msg.hdr.label = kLabelWhich;
        msg.words[0] = i;
        int64_t r = tern_sys_port_call(g_ports[i], reinterpret_cast<uint64_t>(&msg), kTimeoutNs);
        if (r < 0 || msg.words[0] != kWhichMark + i || msg.words[2] != i + 1) {
            println("busbench: port {} after its signal: {} (bits {:#x}, expected {:#x})", i,
                    base::error_name(r < 0 ? sys_status(r) : base::Error::CORRUPT), msg.words[2],
                    i + 1);
            return 5;
        }
    }
    println("busbench: {} ports of {}: each got exactly its signal bits", count, name.view());
    for (uint64_t i = 0; i < count; ++i)
        (void)tern_sys_handle_close(g_ports[i]);
    return 0;
}

} // namespace

extern "C" int main(uint64_t) {
    int argc = tern::argc();
    char* const* args = tern::argv();
    uint64_t a = 0;
    uint64_t b = 0;
    uint64_t c = 0;
    base::StringView verb = argc > 1 ? base::StringView(args[1]) : base::StringView();
    if ((argc == 3 || argc == 4) && verb == "serve" && parse_number(args[2], a))
        return serve(a, argc == 4 ? args[3] : kName);
    if (argc == 5 && verb == "call" && parse_number(args[2], a) && parse_number(args[3], b)
        && parse_number(args[4], c) && a <= UINT16_MAX && b <= kMaxBytes && c > 0 && c <= kMaxCount)
        return call(a, b, c);
    if (argc == 4 && verb == "mem" && parse_number(args[2], a) && parse_number(args[3], b) && a > 0
        && a <= UINT16_MAX && b > 0 && b % kPage == 0 && b <= (64u << 20))
        return mem(a, b);
    if (argc == 4 && verb == "sink" && parse_number(args[2], a) && parse_number(args[3], b) && a > 0
        && b <= 10'000)
        return sink(a, b);
    if (argc == 4 && verb == "flood" && parse_number(args[2], a) && parse_number(args[3], b)
        && a > 0 && a <= UINT16_MAX && b > 0)
        return flood(a, b);
    if (argc == 4 && verb == "ports" && parse_number(args[2], a) && parse_number(args[3], b)
        && a > 0 && a <= UINT16_MAX && b > 0 && b <= kMaxPorts)
        return ports(a, b);
    if (argc == 3 && verb == "adopt" && parse_number(args[2], a))
        return adopt(a);
    if (argc == 4 && verb == "park" && parse_number(args[2], a) && parse_number(args[3], b) && a > 0
        && b > 0 && b <= UINT16_MAX)
        return park(a, b);
    if (argc == 5 && verb == "where" && parse_number(args[2], a) && parse_number(args[3], b)
        && parse_number(args[4], c) && a > 0 && a <= UINT16_MAX && b > 0 && c <= 10'000)
        return where(a, b, c);
    println("usage: busbench serve <seconds> [name] | call <node> <bytes <= 65536> "
            "<count <= 100000> | mem <node> <bytes> | sink <count> <ms> | flood <node> <count> | "
            "ports <node> <count <= 400> | adopt <seconds> | park <calls> <node> | "
            "where <node> <count> <ms>");
    return 1;
}
