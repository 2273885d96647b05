// The codec of remote port messages (servers/bus/portable/remote.h): every kind round
// trips with its words, data, port ids and memory contents; every field rule refuses.
#include <catch2/catch.hpp>
#include <servers/bus/portable/remote.h>

#include <cstring>
#include <vector>

using namespace tern::bus;
using base::Error;

namespace {

std::vector<uint8_t> encode(const RemoteMessage& m) {
    std::vector<uint8_t> out(kMaxMessage);
    auto r = encode_remote(m, base::Span<uint8_t>(out.data(), out.size()));
    REQUIRE(r.ok());
    out.resize(r.value());
    return out;
}

Error decode(const std::vector<uint8_t>& bytes, RemoteMessage& out) {
    auto r = decode_remote(base::Span<const uint8_t>(bytes.data(), bytes.size()), out);
    return r.ok() ? Error::OK : r.error();
}

RemoteMessage call_with_everything(std::vector<uint8_t>& data, std::vector<uint8_t>& memory) {
    RemoteMessage m;
    m.kind = BusMessageKind::kCall;
    m.target = global_port_id(3, kFirstSerial + 5);
    m.call_id = 0x1122334455667788u;
    m.label = 0xCAFEu;
    for (size_t i = 0; i < kRemoteWords; ++i)
        m.words[i] = 0x0101010101010101u * (i + 1);
    data.assign(1000, 0);
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = uint8_t(i * 7);
    memory.assign(4096, 0xA5);
    m.data = base::Span<const uint8_t>(data.data(), data.size());
    m.handle_count = 2;
    m.handles[0].kind = RemoteHandleKind::kPort;
    m.handles[0].port_id = global_port_id(1, kRootNameSerial);
    m.handles[1].kind = RemoteHandleKind::kMemory;
    m.handles[1].contents = base::Span<const uint8_t>(memory.data(), memory.size());
    return m;
}

} // namespace

TEST_CASE("global port ids split into node and serial") {
    uint64_t id = global_port_id(0xBEEF, 0x123456789ABCu);
    CHECK(id == 0xBEEF123456789ABCu);
    CHECK(port_id_node(id) == 0xBEEF);
    CHECK(port_id_serial(id) == 0x123456789ABCu);
    CHECK(is_valid_port_id(id));
    CHECK_FALSE(is_valid_port_id(global_port_id(0, 5)));
    CHECK_FALSE(is_valid_port_id(global_port_id(4, 0)));
    CHECK(global_port_id(2, kRootProcSerial) == (uint64_t(2) << 48 | 2));
}

TEST_CASE("a call with data, a port and memory round trips") {
    std::vector<uint8_t> data, memory;
    RemoteMessage m = call_with_everything(data, memory);
    std::vector<uint8_t> bytes = encode(m);
    CHECK(bytes.size() == remote_size(m));
    CHECK(bytes.size() == kRemoteHeaderSize + 2 * kRemoteHandleEntrySize + 1000 + 4096);
    CHECK(bytes[0] == uint8_t(BusMessageKind::kCall));
    RemoteMessage d;
    REQUIRE(decode(bytes, d) == Error::OK);
    CHECK(d.kind == BusMessageKind::kCall);
    CHECK(d.target == m.target);
    CHECK(d.call_id == m.call_id);
    CHECK(d.label == m.label);
    CHECK(d.status == Error::OK);
    for (size_t i = 0; i < kRemoteWords; ++i)
        CHECK(d.words[i] == m.words[i]);
    REQUIRE(d.data.size() == data.size());
    CHECK(std::memcmp(d.data.data(), data.data(), data.size()) == 0);
    REQUIRE(d.handle_count == 2);
    CHECK(d.handles[0].kind == RemoteHandleKind::kPort);
    CHECK(d.handles[0].port_id == m.handles[0].port_id);
    CHECK(d.handles[1].kind == RemoteHandleKind::kMemory);
    REQUIRE(d.handles[1].contents.size() == memory.size());
    CHECK(std::memcmp(d.handles[1].contents.data(), memory.data(), memory.size()) == 0);
}

TEST_CASE("sends, replies, failed replies and port deaths round trip") {
    RemoteMessage send;
    send.kind = BusMessageKind::kSend;
    send.target = global_port_id(2, 99);
    send.label = 7;
    RemoteMessage d;
    REQUIRE(decode(encode(send), d) == Error::OK);
    CHECK(d.kind == BusMessageKind::kSend);
    CHECK(d.target == send.target);
    CHECK(d.handle_count == 0);
    CHECK(d.data.size() == 0);

    RemoteMessage reply;
    reply.kind = BusMessageKind::kReply;
    reply.call_id = 42;
    reply.words[7] = 0xFFFFFFFFFFFFFFFFu;
    REQUIRE(decode(encode(reply), d) == Error::OK);
    CHECK(d.kind == BusMessageKind::kReply);
    CHECK(d.call_id == 42);
    CHECK(d.words[7] == 0xFFFFFFFFFFFFFFFFu);

    RemoteMessage failed;
    failed.kind = BusMessageKind::kReply;
    failed.call_id = 43;
    failed.status = Error::NODE_DOWN;
    REQUIRE(decode(encode(failed), d) == Error::OK);
    CHECK(d.status == Error::NODE_DOWN);

    RemoteMessage gone;
    gone.kind = BusMessageKind::kPortGone;
    gone.target = global_port_id(5, kFirstSerial);
    REQUIRE(decode(encode(gone), d) == Error::OK);
    CHECK(d.kind == BusMessageKind::kPortGone);
    CHECK(d.target == gone.target);
}

TEST_CASE("the largest message fits and one byte more does not") {
    std::vector<uint8_t> data(kRemoteMaxData, 1);
    RemoteMessage m;
    m.kind = BusMessageKind::kSend;
    m.target = global_port_id(1, 20);
    m.data = base::Span<const uint8_t>(data.data(), data.size());
    size_t room = kMaxMessage - kRemoteHeaderSize - kRemoteMaxData - kRemoteHandleEntrySize;
    std::vector<uint8_t> memory(room, 2);
    m.handle_count = 1;
    m.handles[0].kind = RemoteHandleKind::kMemory;
    m.handles[0].contents = base::Span<const uint8_t>(memory.data(), memory.size());
    std::vector<uint8_t> bytes = encode(m);
    CHECK(bytes.size() == kMaxMessage);
    RemoteMessage d;
    CHECK(decode(bytes, d) == Error::OK);

    memory.push_back(3);
    m.handles[0].contents = base::Span<const uint8_t>(memory.data(), memory.size());
    std::vector<uint8_t> out(kMaxMessage + 64);
    CHECK(encode_remote(m, base::Span<uint8_t>(out.data(), out.size())).error() == Error::TOO_BIG);

    std::vector<uint8_t> big(kRemoteMaxData + 1);
    m.handle_count = 0;
    m.data = base::Span<const uint8_t>(big.data(), big.size());
    CHECK(encode_remote(m, base::Span<uint8_t>(out.data(), out.size())).error() == Error::TOO_BIG);
}

TEST_CASE("encode refuses what decode would refuse and a short buffer") {
    uint8_t out[kRemoteHeaderSize + 64];
    base::Span<uint8_t> o(out, sizeof(out));
    RemoteMessage m;
    m.kind = BusMessageKind::kSend;
    m.target = 0;
    CHECK(encode_remote(m, o).error() == Error::INVALID_ARGUMENT); // no target
    m.target = global_port_id(1, 17);
    m.call_id = 5;
    CHECK(encode_remote(m, o).error() == Error::INVALID_ARGUMENT); // call id in a send
    m.kind = BusMessageKind::kCall;
    m.call_id = 0;
    CHECK(encode_remote(m, o).error() == Error::INVALID_ARGUMENT); // call without an id
    m.call_id = 5;
    m.handle_count = kRemoteMaxHandles; // a call keeps a slot for its reply right
    for (RemoteHandle& h : m.handles)
        h.port_id = global_port_id(1, 17);
    CHECK(encode_remote(m, o).error() == Error::INVALID_ARGUMENT);
    m.handle_count = 1;
    m.handles[0].port_id = global_port_id(0, 17); // a port of no node
    CHECK(encode_remote(m, o).error() == Error::INVALID_ARGUMENT);
    m.handles[0].port_id = global_port_id(1, 17);
    std::vector<uint8_t> data(100);
    m.data = base::Span<const uint8_t>(data.data(), data.size());
    CHECK(encode_remote(m, o).error() == Error::NO_SPACE);
    RemoteMessage failed;
    failed.kind = BusMessageKind::kReply;
    failed.call_id = 1;
    failed.status = Error::PEER_CLOSED;
    failed.data = base::Span<const uint8_t>(data.data(), 1); // a failure carries nothing
    CHECK(encode_remote(failed, o).error() == Error::INVALID_ARGUMENT);
    RemoteMessage heartbeat;
    heartbeat.kind = BusMessageKind::kHeartbeat;
    heartbeat.target = global_port_id(1, 17);
    CHECK(encode_remote(heartbeat, o).error() == Error::INVALID_ARGUMENT);
}

TEST_CASE("a credit carries a target and a count and nothing else") {
    RemoteMessage credit;
    credit.kind = kCreditKind;
    credit.target = global_port_id(3, kFirstSerial);
    credit.words[0] = kCreditBatch;
    RemoteMessage d;
    const std::vector<uint8_t> good = encode(credit);
    REQUIRE(decode(good, d) == Error::OK);
    CHECK(d.kind == kCreditKind);
    CHECK(d.target == credit.target);
    CHECK(d.words[0] == kCreditBatch);
    credit.words[0] = kSendWindow;
    CHECK(decode(encode(credit), d) == Error::OK);

    std::vector<uint8_t> out(kMaxMessage);
    auto refused = [&](auto change) {
        RemoteMessage m = credit;
        change(m);
        bool encode_refused = !encode_remote(m, base::Span<uint8_t>(out.data(), out.size())).ok();
        return encode_refused;
    };
    CHECK(refused([](RemoteMessage& m) { m.words[0] = 0; }));
    CHECK(refused([](RemoteMessage& m) { m.words[0] = kSendWindow + 1; }));
    CHECK(refused([](RemoteMessage& m) { m.words[1] = 1; }));
    CHECK(refused([](RemoteMessage& m) { m.label = 1; }));
    CHECK(refused([](RemoteMessage& m) { m.target = 0; }));
    CHECK(refused([](RemoteMessage& m) { m.call_id = 1; }));
    CHECK(refused([](RemoteMessage& m) { m.status = Error::NODE_DOWN; }));

    auto corrupt = [&](size_t at, uint8_t value) {
        std::vector<uint8_t> b = good;
        b[at] = value;
        return decode(b, d) == Error::CORRUPT;
    };
    CHECK(corrupt(32, 0));               // count 0
    CHECK(corrupt(32, kSendWindow + 1)); // more than a window
    CHECK(corrupt(40, 1));               // words[1]
    CHECK(corrupt(4, 1));                // label
    CHECK(corrupt(16, 1));               // call id
}

TEST_CASE("a moving port's receive right and a location hint round trip") {
    RemoteMessage m;
    m.kind = BusMessageKind::kSend;
    m.target = global_port_id(3, kFirstSerial);
    m.label = 7;
    m.handle_count = 1;
    m.handles[0].kind = RemoteHandleKind::kReceive;
    m.handles[0].port_id = global_port_id(1, kFirstSerial + 4);
    RemoteMessage d;
    REQUIRE(decode(encode(m), d) == Error::OK);
    CHECK(d.handles[0].kind == RemoteHandleKind::kReceive);
    CHECK(d.handles[0].port_id == m.handles[0].port_id);
    std::vector<uint8_t> out(kMaxMessage);
    m.handles[0].port_id = 0;
    CHECK_FALSE(encode_remote(m, base::Span<uint8_t>(out.data(), out.size())).ok());

    RemoteMessage hint;
    hint.kind = kMovedKind;
    hint.target = global_port_id(1, kFirstSerial);
    hint.words[0] = 3;
    REQUIRE(decode(encode(hint), d) == Error::OK);
    CHECK(d.kind == kMovedKind);
    CHECK(d.words[0] == 3);
    hint.words[0] = 0;
    CHECK_FALSE(encode_remote(hint, base::Span<uint8_t>(out.data(), out.size())).ok());
    hint.words[0] = 65536;
    CHECK_FALSE(encode_remote(hint, base::Span<uint8_t>(out.data(), out.size())).ok());
    hint.words[0] = 3;
    hint.words[1] = 1;
    CHECK_FALSE(encode_remote(hint, base::Span<uint8_t>(out.data(), out.size())).ok());
}

TEST_CASE("signals and a port right's signal bit round trip") {
    RemoteMessage sig;
    sig.kind = kSignalKind;
    sig.target = global_port_id(3, kFirstSerial);
    sig.words[0] = 0x8000000000000001ull;
    RemoteMessage d;
    REQUIRE(decode(encode(sig), d) == Error::OK);
    CHECK(d.kind == kSignalKind);
    CHECK(d.words[0] == sig.words[0]);
    std::vector<uint8_t> out(kMaxMessage);
    sig.words[0] = 0;
    CHECK_FALSE(encode_remote(sig, base::Span<uint8_t>(out.data(), out.size())).ok());

    RemoteMessage m;
    m.kind = BusMessageKind::kSend;
    m.target = global_port_id(3, kFirstSerial);
    m.handle_count = 1;
    m.handles[0].port_id = global_port_id(2, kFirstSerial);
    m.handles[0].rights = kRemoteRightSignal;
    std::vector<uint8_t> good = encode(m);
    REQUIRE(decode(good, d) == Error::OK);
    CHECK(d.handles[0].rights == kRemoteRightSignal);
    good[97] = 2; // no other right
    CHECK(decode(good, d) == Error::CORRUPT);
    m.handles[0].kind = RemoteHandleKind::kReceive; // only a SEND right has the bit
    CHECK_FALSE(encode_remote(m, base::Span<uint8_t>(out.data(), out.size())).ok());
}

TEST_CASE("decode refuses every malformed field") {
    std::vector<uint8_t> data, memory;
    RemoteMessage m = call_with_everything(data, memory);
    const std::vector<uint8_t> good = encode(m);
    RemoteMessage d;
    auto refused = [&](auto change) {
        std::vector<uint8_t> b = good;
        change(b);
        return decode(b, d) == Error::CORRUPT;
    };
    CHECK(refused([](auto& b) { b[0] = uint8_t(BusMessageKind::kHeartbeat); }));
    CHECK(refused([](auto& b) { b[0] = 6; })); // a credit carries no call id or handles
    CHECK(refused([](auto& b) { b[0] = 7; }));
    CHECK(refused([](auto& b) { b[1] = 2; })); // version
    CHECK(refused([](auto& b) { b[2] = 3; })); // handle count
    CHECK(refused([](auto& b) { b[2] = 9; }));
    CHECK(refused([](auto& b) { b[3] = 1; }));                  // reserved byte
    CHECK(refused([](auto& b) { std::memset(&b[8], 0, 8); }));  // target
    CHECK(refused([](auto& b) { std::memset(&b[16], 0, 8); })); // call id
    CHECK(refused([](auto& b) { b[24] = 9; }));                 // status in a call
    CHECK(refused([](auto& b) { b[28] ^= 1; }));                // data size
    CHECK(refused([](auto& b) { b[31] = 0x80; }));
    CHECK(refused([](auto& b) { b[96] = 4; }));                      // handle kind
    CHECK(refused([](auto& b) { b[97] = 2; }));                      // an unknown right
    CHECK(refused([](auto& b) { b[98] = 1; }));                      // entry padding
    CHECK(refused([](auto& b) { b[100] = 1; }));                     // a port with contents
    CHECK(refused([](auto& b) { std::memset(&b[104], 0, 8); }));     // port id 0
    CHECK(refused([](auto& b) { b[112 + 4] ^= 1; }));                // memory size
    CHECK(refused([](auto& b) { std::memset(&b[112 + 4], 0, 4); })); // empty memory
    CHECK(refused([](auto& b) { b[112 + 8] = 1; }));                 // memory with an id
    CHECK(refused([](auto& b) { b.pop_back(); }));
    CHECK(refused([](auto& b) { b.push_back(0); }));
    CHECK(refused([](auto& b) { b.resize(kRemoteHeaderSize - 1); }));
    // The refusals above are changes of a good message, which still decodes.
    CHECK(decode(good, d) == Error::OK);

    RemoteMessage reply;
    reply.kind = BusMessageKind::kReply;
    reply.call_id = 9;
    const std::vector<uint8_t> r = encode(reply);
    std::vector<uint8_t> b = r;
    b[24] = 200; // no such error
    CHECK(decode(b, d) == Error::CORRUPT);
    b = r;
    b[8] = 1; // a reply has no target
    CHECK(decode(b, d) == Error::CORRUPT);
    b = r;
    std::memset(&b[24], 0xFF, 4); // a negative status
    CHECK(decode(b, d) == Error::CORRUPT);
}
