// The bus's remote port tables (servers/bus/portable/remote_ports.h): exports keep one id
// per kernel object, proxies map ids to port set keys and go with their node, forwarded
// calls fail with their node, served calls fill reply ports 64 at a time.
#include <catch2/catch.hpp>
#include <servers/bus/portable/remote_ports.h>

#include <set>

using namespace tern::bus;
using base::Error;

TEST_CASE("root exports have fixed ids; others are numbered once per object") {
    RemotePorts t(3);
    auto name = t.set_root(kRootNameSerial, 0x1000, 11);
    REQUIRE(name.ok());
    CHECK(name.value() == (uint64_t(3) << 48 | 1));
    REQUIRE(t.set_root(kRootProcSerial, 0x2000, 12).ok());
    CHECK(t.set_root(kRootProcSerial, 0x2000, 12).error() == Error::ALREADY_EXISTS);
    CHECK(t.set_root(7, 0x3000, 13).error() == Error::INVALID_ARGUMENT);

    bool created = false;
    auto a = t.export_port(0xA, 20, created);
    REQUIRE(a.ok());
    CHECK(created);
    CHECK(a.value() == global_port_id(3, kFirstSerial));
    auto again = t.export_port(0xA, 21, created);
    REQUIRE(again.ok());
    CHECK_FALSE(created); // the owner closes handle 21
    CHECK(again.value() == a.value());
    CHECK(t.find_export(a.value())->handle == 20);
    auto b = t.export_port(0xB, 22, created);
    CHECK(b.value() == global_port_id(3, kFirstSerial + 1));
    // The name server re-exported is its root id.
    CHECK(t.export_port(0x1000, 23, created).value() == name.value());
    CHECK_FALSE(created);

    CHECK(t.remove_export(a.value()) == 20);
    CHECK(t.find_export(a.value()) == nullptr);
    CHECK(t.remove_export(a.value()) == 0);
    CHECK(t.remove_export(name.value()) == 0); // roots stay
    CHECK(t.find_export(b.value())->handle == 22);
    // A removed id is never given again.
    CHECK(t.export_port(0xA, 24, created).value() == global_port_id(3, kFirstSerial + 2));
}

TEST_CASE("the export table refuses when full") {
    RemotePorts t(1);
    bool created;
    for (size_t i = 0; i < RemotePorts::kMaxExports; ++i)
        REQUIRE(t.export_port(100 + i, uint32_t(i + 1), created).ok());
    CHECK(t.export_port(99, 5, created).error() == Error::NO_SPACE);
    CHECK(t.export_port(100, 5, created).ok()); // a known object still resolves
}

TEST_CASE("proxies get port set keys and go with their node") {
    RemotePorts t(1);
    uint64_t p3a = global_port_id(3, 1);
    uint64_t p3b = global_port_id(3, 40);
    uint64_t p2 = global_port_id(2, 2);
    CHECK(t.add_proxy(global_port_id(1, 1), 5).error() == Error::INVALID_ARGUMENT); // ours
    CHECK(t.add_proxy(0, 5).error() == Error::INVALID_ARGUMENT);
    auto k1 = t.add_proxy(p3a, 50);
    auto k2 = t.add_proxy(p3b, 51);
    auto k3 = t.add_proxy(p2, 52);
    REQUIRE((k1.ok() && k2.ok() && k3.ok()));
    CHECK(k1.value() == RemotePorts::kProxyKeyBase);
    CHECK(t.add_proxy(p3a, 53).error() == Error::ALREADY_EXISTS);
    CHECK(t.proxy_at_key(k2.value())->id == p3b);
    CHECK(t.proxy_at_key(0) == nullptr);
    CHECK(t.proxy_at_key(1) == nullptr); // a reply port's key
    CHECK(t.find_proxy(p2)->handle == 52);
    CHECK(t.key_of(p2) == k3.value());
    CHECK(t.key_of(global_port_id(3, 2)) == 0);

    uint32_t closed[RemotePorts::kMaxProxies];
    size_t n = t.remove_proxies_of(3, base::Span<uint32_t>(closed, RemotePorts::kMaxProxies));
    REQUIRE(n == 2);
    CHECK(std::set<uint32_t>{closed[0], closed[1]} == std::set<uint32_t>{50, 51});
    CHECK(t.find_proxy(p3a) == nullptr);
    CHECK(t.proxy_at_key(k1.value()) == nullptr);
    CHECK(t.proxy_count() == 1);
    CHECK(t.remove_proxy(p2) == 52);
    CHECK(t.remove_proxy(p2) == 0);

    for (size_t i = 0; i < RemotePorts::kMaxProxies; ++i)
        REQUIRE(t.add_proxy(global_port_id(4, 100 + i), uint32_t(200 + i)).ok());
    CHECK(t.add_proxy(global_port_id(4, 99), 9).error() == Error::NO_SPACE);
}

TEST_CASE("a proxy's send credits run out and come back") {
    RemotePorts t(1);
    uint64_t id = global_port_id(3, 40);
    CHECK(t.take_send_credit(id).error() == Error::NOT_FOUND);
    CHECK(t.add_send_credit(id, 1).error() == Error::NOT_FOUND);
    REQUIRE(t.add_proxy(id, 50).ok());
    CHECK(t.find_proxy(id)->credits == kSendWindow);
    CHECK(t.add_send_credit(id, 1).error() == Error::INVALID_ARGUMENT); // none taken
    for (uint32_t i = 1; i <= kSendWindow; ++i)
        CHECK(t.take_send_credit(id).value() == kSendWindow - i);
    CHECK(t.take_send_credit(id).error() == Error::WOULD_BLOCK);
    CHECK(t.add_send_credit(id, 0).error() == Error::INVALID_ARGUMENT);
    CHECK(t.add_send_credit(id, kCreditBatch).value() == 0);
    CHECK(t.add_send_credit(id, kSendWindow).error() == Error::INVALID_ARGUMENT); // too many
    CHECK(t.add_send_credit(id, kSendWindow - kCreditBatch).value() == kCreditBatch);
    CHECK(t.find_proxy(id)->credits == kSendWindow);
    // A proxy made again after its node was lost starts with a full window.
    uint32_t closed[RemotePorts::kMaxProxies];
    (void)t.take_send_credit(id);
    CHECK(t.remove_proxies_of(3, base::Span<uint32_t>(closed, RemotePorts::kMaxProxies)) == 1);
    REQUIRE(t.add_proxy(id, 51).ok());
    CHECK(t.find_proxy(id)->credits == kSendWindow);
}

TEST_CASE("forwarded calls are answered once, by their node, or failed with it") {
    RemotePorts t(1);
    auto c1 = t.add_forwarded(3, 70);
    auto c2 = t.add_forwarded(3, 71);
    auto c3 = t.add_forwarded(2, 72);
    REQUIRE((c1.ok() && c2.ok() && c3.ok()));
    CHECK(c1.value() != c2.value());
    CHECK(t.take_forwarded(2, c1.value()) == 0); // node 2 cannot answer node 3's call
    CHECK(t.take_forwarded(3, c1.value()) == 70);
    CHECK(t.take_forwarded(3, c1.value()) == 0); // a duplicate answer
    uint32_t failed[RemotePorts::kMaxForwardedCalls];
    size_t n =
        t.take_forwarded_of(3, base::Span<uint32_t>(failed, RemotePorts::kMaxForwardedCalls));
    REQUIRE(n == 1);
    CHECK(failed[0] == 71);
    CHECK(t.forwarded_count() == 1);
    CHECK(t.take_forwarded(2, c3.value()) == 72);
    for (size_t i = 0; i < RemotePorts::kMaxForwardedCalls; ++i)
        REQUIRE(t.add_forwarded(2, uint32_t(i + 1)).ok());
    CHECK(t.add_forwarded(2, 9).error() == Error::NO_SPACE);
}

TEST_CASE("served calls fill each reply port up to 64 and orphan with their node") {
    RemotePorts t(3);
    size_t per_port[RemotePorts::kReplyPorts] = {};
    std::set<uint64_t> cookies;
    for (size_t i = 0; i < RemotePorts::kMaxServedCalls; ++i) {
        auto s = t.add_served(uint16_t(1 + i % 2), 1000 + i);
        REQUIRE(s.ok());
        REQUIRE(s.value().reply_port < RemotePorts::kReplyPorts);
        ++per_port[s.value().reply_port];
        cookies.insert(s.value().cookie);
    }
    CHECK(cookies.size() == RemotePorts::kMaxServedCalls);
    for (size_t n : per_port)
        CHECK(n == RemotePorts::kCallsPerReplyPort);
    CHECK(t.add_served(1, 5).error() == Error::NO_SPACE);

    RemotePorts::ServedCall c;
    REQUIRE(t.take_served(7, c));
    CHECK(c.node == 2);
    CHECK(c.call_id == 1007);
    CHECK_FALSE(t.take_served(7, c)); // answered once
    CHECK_FALSE(t.take_served(RemotePorts::kMaxServedCalls, c));
    auto s = t.add_served(1, 5); // the freed slot, on its reply port
    REQUIRE(s.ok());
    CHECK(s.value().cookie == 7);
    CHECK(s.value().reply_port == 0);

    // Half were node 2's, less slot 7, answered and given to node 1.
    CHECK(t.orphan_served_of(2) == RemotePorts::kMaxServedCalls / 2 - 1);
    REQUIRE(t.take_served(9, c));
    CHECK(c.node == 0); // node 2 went down: the answer is dropped
    CHECK(t.served_count() == RemotePorts::kMaxServedCalls - 1);
}

TEST_CASE("an export's holders are told when it dies") {
    RemotePorts t(3);
    REQUIRE(t.set_root(kRootProcSerial, 0x2000, 12).ok());
    bool created = false;
    uint64_t a = t.export_port(0xA, 20, created).value();
    uint64_t b = t.export_port(0xB, 21, created).value();
    CHECK(t.add_holder(a, 1));
    CHECK(t.add_holder(a, 1)); // once per node
    CHECK(t.add_holder(a, 2));
    CHECK(t.add_holder(b, 1));
    CHECK_FALSE(t.add_holder(a, 3));                            // this node
    CHECK_FALSE(t.add_holder(a, 0));                            // no node
    CHECK_FALSE(t.add_holder(global_port_id(3, 99), 1));        // no such export
    CHECK(t.add_holder(global_port_id(3, kRootProcSerial), 1)); // roots never die
    CHECK(t.find_export(a)->holder_count == 2);

    RemotePorts::GoneNotice n;
    CHECK_FALSE(t.next_notice(n));
    CHECK(t.remove_export(a) == 20);
    REQUIRE(t.notice_count() == 2);
    REQUIRE(t.next_notice(n));
    CHECK((n.id == a && n.node == 1));
    t.pop_notice();
    REQUIRE(t.next_notice(n));
    CHECK((n.id == a && n.node == 2));
    t.pop_notice();
    CHECK_FALSE(t.next_notice(n));
    t.pop_notice(); // nothing to drop: harmless
    CHECK(t.notice_count() == 0);
    // A root is never removed, so it never queues a notice.
    CHECK(t.remove_export(global_port_id(3, kRootProcSerial)) == 0);
    CHECK(t.notice_count() == 0);
    CHECK(t.remove_export(b) == 21);
    CHECK(t.notice_count() == 1);
}

TEST_CASE("holders are bounded per export") {
    RemotePorts t(1);
    bool created = false;
    uint64_t a = t.export_port(0xA, 20, created).value();
    for (uint16_t node = 2; node < 2 + RemotePorts::kMaxHolders; ++node)
        CHECK(t.add_holder(a, node));
    CHECK_FALSE(t.add_holder(a, 100)); // learns lazily, at its next message
    CHECK(t.add_holder(a, 2));         // one already there still is
    t.remove_export(a);
    CHECK(t.notice_count() == RemotePorts::kMaxHolders);
}

TEST_CASE("a lost node is no holder and gets no notice") {
    RemotePorts t(1);
    bool created = false;
    uint64_t a = t.export_port(0xA, 20, created).value();
    uint64_t b = t.export_port(0xB, 21, created).value();
    uint64_t c = t.export_port(0xC, 22, created).value();
    t.add_holder(a, 2);
    t.add_holder(a, 3);
    t.add_holder(b, 2);
    t.add_holder(b, 4);
    t.add_holder(c, 2);
    t.remove_export(a);
    t.remove_export(b);
    CHECK(t.notice_count() == 4);
    CHECK(t.forget_holder(2) == 2);
    CHECK(t.find_export(c)->holder_count == 0);
    RemotePorts::GoneNotice n;
    REQUIRE(t.next_notice(n));
    CHECK((n.id == a && n.node == 3)); // the order of the rest is kept
    t.pop_notice();
    REQUIRE(t.next_notice(n));
    CHECK((n.id == b && n.node == 4));
    t.pop_notice();
    CHECK_FALSE(t.next_notice(n));
    t.remove_export(c);
    CHECK(t.notice_count() == 0);
}

TEST_CASE("the notice queue wraps and counts what did not fit") {
    RemotePorts t(1);
    bool created = false;
    // Rounds of 800 notices, each sent before the next, so the ring's head wraps.
    uint64_t object = 1;
    size_t sent = 0;
    for (int round = 0; round < 3; ++round) {
        for (size_t i = 0; i < 200; ++i) {
            uint64_t id = t.export_port(object++, 7, created).value();
            for (uint16_t node = 2; node < 6; ++node)
                t.add_holder(id, node);
            t.remove_export(id);
        }
        RemotePorts::GoneNotice n;
        uint64_t last = 0;
        for (; t.next_notice(n); ++sent) {
            CHECK(n.id >= last); // in the order the exports died
            last = n.id;
            t.pop_notice();
        }
    }
    CHECK(sent == 3 * 200 * 4);
    CHECK(t.notices_dropped() == 0);
    // Exactly a full queue, then one more.
    for (size_t i = 0; i < RemotePorts::kMaxGoneNotices / 4; ++i) {
        uint64_t id = t.export_port(object++, 7, created).value();
        for (uint16_t node = 2; node < 6; ++node)
            t.add_holder(id, node);
        t.remove_export(id);
    }
    CHECK(t.notice_count() == RemotePorts::kMaxGoneNotices);
    CHECK(t.notices_dropped() == 0);
    uint64_t extra = t.export_port(object++, 7, created).value();
    t.add_holder(extra, 9);
    t.remove_export(extra);
    CHECK(t.notices_dropped() == 1);
    CHECK(t.notice_count() == RemotePorts::kMaxGoneNotices);
}

TEST_CASE("no proxy is made for an id its node said was gone") {
    RemotePorts t(1);
    uint64_t x = global_port_id(3, 40);
    uint64_t y = global_port_id(3, 41);
    REQUIRE(t.add_proxy(x, 50).ok());
    CHECK(t.port_gone(x) == 50);
    CHECK(t.find_proxy(x) == nullptr);
    CHECK(t.is_gone(x));
    CHECK(t.add_proxy(x, 51).error() == Error::PEER_CLOSED);
    // A notice that comes before the proxy (none was made yet) refuses it too.
    CHECK(t.port_gone(y) == 0);
    CHECK(t.add_proxy(y, 52).error() == Error::PEER_CLOSED);
    // Ours, moved away and gone where it went: no proxy now, and none made again.
    CHECK(t.port_gone(global_port_id(1, 40)) == 0);
    CHECK(t.is_gone(global_port_id(1, 40)));
    CHECK(t.add_proxy(global_port_id(1, 40), 54, 3).error() == Error::PEER_CLOSED);
    CHECK_FALSE(t.is_gone(0));
    // The node's next life numbers its ports afresh: the ids are usable again.
    uint32_t out[RemotePorts::kMaxProxies];
    CHECK(t.remove_proxies_of(3, base::Span<uint32_t>(out, RemotePorts::kMaxProxies)) == 0);
    CHECK_FALSE(t.is_gone(x));
    CHECK(t.add_proxy(x, 53).ok());
}

TEST_CASE("gone ids are remembered up to the limit, oldest forgotten first") {
    RemotePorts t(1);
    for (uint64_t s = 100; s < 100 + RemotePorts::kGoneMemory + 1; ++s)
        t.port_gone(global_port_id(2, s));
    CHECK_FALSE(t.is_gone(global_port_id(2, 100)));
    CHECK(t.is_gone(global_port_id(2, 101)));
    CHECK(t.is_gone(global_port_id(2, 100 + RemotePorts::kGoneMemory)));
    // The same id twice takes one place.
    t.port_gone(global_port_id(2, 101));
    CHECK(t.is_gone(global_port_id(2, 102)));
}

TEST_CASE("a port that moves keeps its id: adopted exports and redirected proxies") {
    // Node 1 exported a port as 1:16 and moved it to node 3: its old port is now a proxy
    // for its own id, living on node 3.
    RemotePorts one(1);
    bool created = false;
    auto id = one.export_port(0xA, 20, created);
    REQUIRE(id.ok());
    CHECK(one.add_proxy(id.value(), 21).error() == Error::INVALID_ARGUMENT); // lives here
    auto key = one.add_proxy(id.value(), 21, 3);
    REQUIRE(key.ok());
    CHECK(one.find_proxy(id.value())->node == 3);
    CHECK(one.find_export(id.value())->handle == 20); // other nodes' messages still land
    // A hint redirects a proxy, but never to this node or to no node.
    CHECK(one.move_proxy(id.value(), 5));
    CHECK(one.find_proxy(id.value())->node == 5);
    CHECK_FALSE(one.move_proxy(id.value(), 1));
    CHECK_FALSE(one.move_proxy(id.value(), 0));
    CHECK_FALSE(one.move_proxy(global_port_id(2, 99), 5));
    // The proxies that go with a lost node are those of ports living there.
    uint32_t closed[RemotePorts::kMaxProxies];
    CHECK(one.remove_proxies_of(3, base::Span<uint32_t>(closed, RemotePorts::kMaxProxies)) == 0);
    CHECK(one.remove_proxies_of(5, base::Span<uint32_t>(closed, RemotePorts::kMaxProxies)) == 1);
    CHECK(closed[0] == 21);

    // Node 3 adopts it: exported there under node 1's id, found by its own object id.
    RemotePorts three(3);
    auto before = three.adopt_export(id.value(), 0xB, 30);
    REQUIRE(before.ok());
    CHECK(before.value() == 0);
    CHECK(three.find_export(id.value())->handle == 30);
    CHECK(three.export_port(0xB, 31, created).value() == id.value());
    CHECK_FALSE(created);
    // Back again: the new right replaces the old, which the owner closes.
    auto again = three.adopt_export(id.value(), 0xC, 32);
    REQUIRE(again.ok());
    CHECK(again.value() == 30);
    CHECK(three.remove_export(id.value()) == 32);
    CHECK(three.adopt_export(global_port_id(1, kRootProcSerial), 0xD, 33).error()
          == Error::INVALID_ARGUMENT);
    CHECK(three.adopt_export(0, 0xD, 33).error() == Error::INVALID_ARGUMENT);
}
