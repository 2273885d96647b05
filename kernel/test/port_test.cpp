// Self-tests of ports, port sets, death notices and queue capture.
#include <kernel/core/clock.h>
#include <kernel/object/port.h>
#include <kernel/test/ktest.h>

namespace kernel {
namespace {

obj::Message make_message(uint32_t label, uint64_t word) {
    obj::Message m;
    m.header.label = label;
    m.words[0] = word;
    return m;
}

KTEST(port, fifo_order_and_full_queue) {
    obj::Ref<Port> port = obj::Ref<Port>::adopt(Port::create(4));
    for (uint32_t i = 0; i < 4; ++i)
        KEXPECT_OK(port->send(make_message(i, i * 10), 0, false));
    auto full = port->send(make_message(99, 0), 0, false);
    KEXPECT(full.is_error());
    KEXPECT_EQ(full.error(), base::Error::WOULD_BLOCK);
    for (uint32_t i = 0; i < 4; ++i) {
        auto m = port->receive(0, false);
        KEXPECT_OK(m);
        KEXPECT_EQ(m.value().header.label, i);
        KEXPECT_EQ(m.value().words[0], uint64_t(i * 10));
    }
    auto empty = port->receive(0, false);
    KEXPECT(empty.is_error());
    KEXPECT_EQ(empty.error(), base::Error::WOULD_BLOCK);
}

KTEST(port, timeouts) {
    obj::Ref<Port> port = obj::Ref<Port>::adopt(Port::create(1));
    uint64_t start = monotonic_ns();
    auto r = port->receive(start + 20000000ull, true);
    KEXPECT(r.is_error());
    KEXPECT_EQ(r.error(), base::Error::TIMED_OUT);
    KEXPECT_OK(port->send(make_message(1, 1), 0, false));
    auto s = port->send(make_message(2, 2), monotonic_ns() + 20000000ull, true);
    KEXPECT(s.is_error());
    KEXPECT_EQ(s.error(), base::Error::TIMED_OUT);
    KEXPECT(monotonic_ns() - start >= 40000000ull);
}

struct PortPair {
    Port* port;
    volatile int received = 0;
    volatile uint64_t sum = 0;
};

void receiver_fn(void* arg) {
    auto* p = static_cast<PortPair*>(arg);
    for (int i = 0; i < 100; ++i) {
        auto m = p->port->receive(0, true);
        if (m.is_error())
            return;
        p->sum = p->sum + m.value().words[0];
        p->received = p->received + 1;
    }
}

KTEST(port, blocking_sender_and_receiver_threads) {
    static PortPair pair;
    obj::Ref<Port> port = obj::Ref<Port>::adopt(Port::create(2));
    pair.port = port.get();
    pair.received = 0;
    pair.sum = 0;
    Thread* t = Thread::create_kernel("receiver", receiver_fn, &pair, Thread::kDefaultPriority);
    KEXPECT(t != nullptr);
    make_ready(*t);
    // The queue holds two: the sender blocks and the receiver drains, a hundred times.
    uint64_t expected = 0;
    for (uint64_t i = 1; i <= 100; ++i) {
        KEXPECT_OK(port->send(make_message(0, i), 0, true));
        expected += i;
    }
    while (pair.received < 100)
        sleep_ns(1000000);
    KEXPECT_EQ(pair.sum, expected);
}

struct Counted final : obj::KObject {
    static constexpr uint32_t kType = TERN_OBJ_MEMORY;
    static inline int destroyed = 0;
    Counted() : obj::KObject(kType) {}
    void destroy() override {
        ++destroyed;
        delete this;
    }
};

KTEST(port, closing_the_receiver_fails_senders_and_releases_messages) {
    Counted::destroyed = 0;
    obj::Ref<Port> port = obj::Ref<Port>::adopt(Port::create(4));
    obj::Message m = make_message(7, 7);
    KEXPECT_OK(m.add_handle(obj::Ref<obj::KObject>::adopt(new Counted()), TERN_RIGHT_SEND));
    KEXPECT_OK(port->send(base::move(m), 0, false));
    port->close_receiver();
    KEXPECT_EQ(Counted::destroyed, 1); // the carried handle was dropped, not leaked
    auto s = port->send(make_message(8, 8), 0, false);
    KEXPECT(s.is_error());
    KEXPECT_EQ(s.error(), base::Error::PEER_CLOSED);
}

KTEST(port, signals_accumulate_and_come_first) {
    obj::Ref<Port> port = obj::Ref<Port>::adopt(Port::create(2));
    KEXPECT_OK(port->send(make_message(5, 5), 0, false));
    KEXPECT_OK(port->signal(0x1));
    KEXPECT_OK(port->signal(0x4));
    auto s = port->receive(0, false);
    KEXPECT_OK(s);
    KEXPECT_EQ(s.value().header.label, uint32_t(TERN_LABEL_SIGNAL));
    KEXPECT_EQ(s.value().words[0], uint64_t(0x5));
    auto m = port->receive(0, false);
    KEXPECT_OK(m);
    KEXPECT_EQ(m.value().header.label, 5u);
    KEXPECT(!port->has_signals());
    port->close_receiver();
    KEXPECT(port->signal(1).is_error());
}

KTEST(port, port_set_receives_for_members_round_robin) {
    obj::Ref<Port> set = obj::Ref<Port>::adopt(Port::create(2));
    obj::Ref<Port> a = obj::Ref<Port>::adopt(Port::create(4));
    obj::Ref<Port> b = obj::Ref<Port>::adopt(Port::create(4));
    KEXPECT_OK(set->add_member(a, 1));
    KEXPECT_OK(set->add_member(b, 2));
    KEXPECT_EQ(set->add_member(a, 3).error(), base::Error::BUSY);
    KEXPECT_EQ(a->add_member(b, 4).error(), base::Error::INVALID_ARGUMENT);
    KEXPECT_OK(a->send(make_message(10, 0), 0, false));
    KEXPECT_OK(a->send(make_message(11, 0), 0, false));
    KEXPECT_OK(b->send(make_message(20, 0), 0, false));
    uint32_t key = 0;
    uint32_t labels[3];
    uint32_t keys[3];
    for (int i = 0; i < 3; ++i) {
        Port* source = set->ready_source(&key);
        KEXPECT(source != nullptr);
        auto m = source->receive(0, false);
        KEXPECT_OK(m);
        labels[i] = m.value().header.label;
        keys[i] = key;
    }
    // Round-robin: a, b, a — each member's own order kept.
    KEXPECT_EQ(keys[0], 1u);
    KEXPECT_EQ(labels[0], 10u);
    KEXPECT_EQ(keys[1], 2u);
    KEXPECT_EQ(labels[1], 20u);
    KEXPECT_EQ(labels[2], 11u);
    KEXPECT(set->ready_source(&key) == nullptr);
    KEXPECT_OK(b->signal(0x8));
    KEXPECT(set->ready_source(&key) == b.get());
    KEXPECT_OK(set->remove_member(*b));
    KEXPECT(set->ready_source(&key) == nullptr);
    KEXPECT_EQ(set->remove_member(*b).error(), base::Error::NOT_FOUND);
}

KTEST(port, death_notice_of_a_port_survives_a_full_queue) {
    obj::Ref<Port> watcher = obj::Ref<Port>::adopt(Port::create(1));
    obj::Ref<Port> watched = obj::Ref<Port>::adopt(Port::create(1));
    KEXPECT_OK(watcher->send(make_message(5, 5), 0, false)); // now full
    KEXPECT_OK(watched->watchers().add(watcher, 77, TERN_OBJ_PORT));
    KEXPECT(!watcher->has_events());
    watched->close_receiver();
    KEXPECT(watcher->has_events());
    auto n = watcher->receive(0, false);
    KEXPECT_OK(n);
    KEXPECT_EQ(n.value().header.label, uint32_t(TERN_LABEL_OBJECT_GONE));
    KEXPECT_EQ(n.value().words[0], uint64_t(77));
    KEXPECT_EQ(n.value().words[2], uint64_t(TERN_OBJ_PORT));
    auto m = watcher->receive(0, false); // the queued message is still there, after it
    KEXPECT_OK(m);
    KEXPECT_EQ(m.value().header.label, 5u);
    // A second close notifies nobody twice.
    watched->close_receiver();
    KEXPECT(!watcher->has_events());
    watcher->close_receiver();
}

KTEST(port, death_notices_reach_a_port_set_and_die_with_a_closed_watcher) {
    obj::Ref<Port> set = obj::Ref<Port>::adopt(Port::create(1));
    obj::Ref<Port> member = obj::Ref<Port>::adopt(Port::create(1));
    KEXPECT_OK(set->add_member(member, 3));
    obj::Ref<Port> a = obj::Ref<Port>::adopt(Port::create(1));
    obj::Ref<Port> b = obj::Ref<Port>::adopt(Port::create(1));
    KEXPECT_OK(a->watchers().add(member, 1, TERN_OBJ_PORT));
    KEXPECT_OK(b->watchers().add(member, 2, TERN_OBJ_PORT));
    a->close_receiver();
    uint32_t key = 0;
    KEXPECT(set->ready_source(&key) == member.get());
    KEXPECT_EQ(key, 3u);
    obj::Message out;
    KEXPECT(member->take_event(out));
    KEXPECT_EQ(out.words[0], uint64_t(1));
    // The watcher goes first: b's notice is dropped when it fires, not leaked or delivered.
    member->close_receiver();
    b->close_receiver();
    KEXPECT(!member->has_events());
    set->close_receiver();
}

KTEST(port, unwatch_cancels_one_watch) {
    obj::Ref<Port> watcher = obj::Ref<Port>::adopt(Port::create(4));
    obj::Ref<Port> watched = obj::Ref<Port>::adopt(Port::create(1));
    KEXPECT_OK(watched->watchers().add(watcher, 1, TERN_OBJ_PORT));
    KEXPECT_OK(watched->watchers().add(watcher, 2, TERN_OBJ_PORT));
    KEXPECT_OK(watched->watchers().remove(*watcher, 1));
    auto again = watched->watchers().remove(*watcher, 1);
    KEXPECT(again.is_error());
    KEXPECT_EQ(again.error(), base::Error::NOT_FOUND);
    watched->close_receiver();
    auto n = watcher->receive(0, false);
    KEXPECT_OK(n);
    KEXPECT_EQ(n.value().words[0], uint64_t(2)); // only the watch that stayed fired
    KEXPECT(!watcher->receive(0, false).ok());
    watcher->close_receiver();
}

KTEST(port, a_full_watch_list_drops_watches_nobody_can_read) {
    obj::Ref<Port> watched = obj::Ref<Port>::adopt(Port::create(1));
    obj::Ref<Port> gone = obj::Ref<Port>::adopt(Port::create(1));
    for (size_t i = 0; i < WatchList::kMaxWatches; ++i)
        KEXPECT_OK(watched->watchers().add(gone, i, TERN_OBJ_PORT));
    obj::Ref<Port> live = obj::Ref<Port>::adopt(Port::create(1));
    KEXPECT(watched->watchers().add(live, 100, TERN_OBJ_PORT).is_error());
    gone->close_receiver(); // its 64 watches can never be read now
    KEXPECT_OK(watched->watchers().add(live, 101, TERN_OBJ_PORT));
    watched->close_receiver();
    auto n = live->receive(0, false);
    KEXPECT_OK(n);
    KEXPECT_EQ(n.value().words[0], uint64_t(101));
    live->close_receiver();
}

KTEST(port, watch_list_is_bounded) {
    obj::Ref<Port> watcher = obj::Ref<Port>::adopt(Port::create(1));
    obj::Ref<Port> watched = obj::Ref<Port>::adopt(Port::create(1));
    for (size_t i = 0; i < WatchList::kMaxWatches; ++i)
        KEXPECT_OK(watched->watchers().add(watcher, i, TERN_OBJ_PORT));
    auto r = watched->watchers().add(watcher, 99, TERN_OBJ_PORT);
    KEXPECT(r.is_error());
    KEXPECT_EQ(r.error(), base::Error::QUOTA_EXCEEDED);
    watched->close_receiver();
    size_t notices = 0;
    while (watcher->receive(0, false).ok())
        ++notices;
    KEXPECT_EQ(notices, WatchList::kMaxWatches);
    watcher->close_receiver();
}

KTEST(port, queue_capture_and_recreate_keeps_order) {
    obj::Ref<Port> a = obj::Ref<Port>::adopt(Port::create(8));
    obj::Ref<Port> b = obj::Ref<Port>::adopt(Port::create(8));
    for (uint32_t i = 0; i < 5; ++i)
        KEXPECT_OK(a->send(make_message(i, 100 + i), 0, false));
    uint32_t moved =
        a->queue().drain([&](obj::Message&& m) { (void)b->queue().restore(base::move(m)); });
    KEXPECT_EQ(moved, 5u);
    KEXPECT(a->queue().is_empty());
    for (uint32_t i = 0; i < 5; ++i) {
        auto m = b->receive(0, false);
        KEXPECT_OK(m);
        KEXPECT_EQ(m.value().header.label, i);
        KEXPECT_EQ(m.value().words[0], uint64_t(100 + i));
    }
}

} // namespace
} // namespace kernel
