// Tests for Message and MessageQueue: bounds, FIFO order, ownership of data parts and
// handles, drain/restore for migration and close.

#include <catch2/catch.hpp>
#include <kernel/containers/message_queue.h>

#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <vector>

using base::Error;
using kernel::obj::KObject;
using kernel::obj::Message;
using kernel::obj::MessageQueue;
using kernel::obj::Ref;

namespace {

#define CHECK_ERROR(expr, expected)                                                                \
    do {                                                                                           \
        auto result_ = (expr);                                                                     \
        REQUIRE(result_.is_error());                                                               \
        CHECK(result_.error() == (expected));                                                      \
    } while (0)

class Port final : public KObject {
public:
    static constexpr uint32_t kType = TERN_OBJ_PORT;
    Port() : KObject(kType) {}
    int destroyed = 0;

private:
    void destroy() override { ++destroyed; }
};

// Data parts come from malloc here and are returned through this counter, so a test can
// see that each buffer is freed exactly once (and ASan sees any double free).
int g_freed_buffers = 0;
void free_buffer(void* data, uint32_t) {
    ++g_freed_buffers;
    std::free(data);
}

void attach_bytes(Message& message, uint32_t size, uint8_t fill) {
    void* data = std::malloc(size);
    std::memset(data, fill, size);
    message.attach_data(data, size, free_buffer);
}

Message make_message(uint32_t label) {
    Message message;
    message.header.label = label;
    message.header.sender_badge = 0xB000 + label;
    for (uint32_t i = 0; i < TERN_MSG_INLINE_WORDS; ++i)
        message.words[i] = uint64_t(label) * 100 + i;
    return message;
}

bool has_words_of(const Message& message, uint32_t label) {
    for (uint32_t i = 0; i < TERN_MSG_INLINE_WORDS; ++i) {
        if (message.words[i] != uint64_t(label) * 100 + i)
            return false;
    }
    return message.header.label == label && message.header.sender_badge == 0xB000 + label;
}

struct FreedCounterReset {
    FreedCounterReset() { g_freed_buffers = 0; }
};

} // namespace

TEST_CASE("an empty queue reports WOULD_BLOCK and has nothing to peek") {
    MessageQueue queue(4);
    CHECK(queue.capacity() == 4);
    CHECK(queue.size() == 0);
    CHECK(queue.is_empty());
    CHECK(queue.peek() == nullptr);
    CHECK_ERROR(queue.pop(), Error::WOULD_BLOCK);
}

TEST_CASE("messages come out in the order they went in") {
    MessageQueue queue(8);
    for (uint32_t label = 1; label <= 8; ++label)
        REQUIRE(queue.push(make_message(label)).ok());
    CHECK(queue.is_full());
    for (uint32_t label = 1; label <= 8; ++label) {
        REQUIRE(queue.peek() != nullptr);
        CHECK(queue.peek()->header.label == label);
        auto message = queue.pop();
        REQUIRE(message.ok());
        CHECK(has_words_of(message.value(), label));
    }
    CHECK(queue.is_empty());
}

TEST_CASE("a full queue refuses with WOULD_BLOCK and loses nothing") {
    FreedCounterReset reset;
    Port port;
    MessageQueue queue(2);
    REQUIRE(queue.push(make_message(1)).ok());
    REQUIRE(queue.push(make_message(2)).ok());

    Message extra = make_message(3);
    attach_bytes(extra, 100, 0x33);
    REQUIRE(extra.add_handle(Ref<KObject>::retain(&port), TERN_RIGHT_SEND).ok());
    CHECK_ERROR(queue.push(base::move(extra)), Error::WOULD_BLOCK);
    // The refused message is still whole in the caller's hands.
    CHECK(has_words_of(extra, 3));
    CHECK(extra.data_size() == 100);
    CHECK(static_cast<uint8_t*>(extra.data())[99] == 0x33);
    CHECK(extra.header.handle_count == 1);
    CHECK(extra.handles[0].object.get() == &port);
    CHECK(port.ref_count() == 2);
    CHECK(g_freed_buffers == 0);
    CHECK(queue.size() == 2);

    // Once there is room the same message goes in and comes out last.
    auto first = queue.pop();
    REQUIRE(first.ok());
    CHECK(first.value().header.label == 1);
    REQUIRE(queue.push(base::move(extra)).ok());
    CHECK(queue.pop().value().header.label == 2);
    auto last = queue.pop();
    REQUIRE(last.ok());
    CHECK(has_words_of(last.value(), 3));
    CHECK(last.value().handles[0].object.get() == &port);
    CHECK(static_cast<uint8_t*>(last.value().data())[0] == 0x33);
}

TEST_CASE("the ring wraps around many times at every capacity") {
    for (uint32_t capacity : {1u, 2u, 3u, 7u, 64u}) {
        MessageQueue queue(capacity);
        uint32_t next_in = 0;
        uint32_t next_out = 0;
        for (int round = 0; round < 500; ++round) {
            while (!queue.is_full())
                REQUIRE(queue.push(make_message(next_in++)).ok());
            CHECK_ERROR(queue.push(make_message(999999)), Error::WOULD_BLOCK);
            uint32_t take = 1 + uint32_t(round) % capacity;
            for (uint32_t i = 0; i < take; ++i) {
                auto message = queue.pop();
                REQUIRE(message.ok());
                REQUIRE(has_words_of(message.value(), next_out++));
            }
        }
        CHECK(queue.size() == next_in - next_out);
    }
}

TEST_CASE("the largest queue holds 64 messages") {
    auto queue = std::make_unique<MessageQueue>(MessageQueue::kMaxCapacity);
    CHECK(MessageQueue::kMaxCapacity == 64);
    for (uint32_t i = 0; i < 64; ++i)
        REQUIRE(queue->push(make_message(i)).ok());
    CHECK_ERROR(queue->push(make_message(64)), Error::WOULD_BLOCK);
}

TEST_CASE("a message frees its data part exactly once, unless detached") {
    FreedCounterReset reset;
    {
        Message message = make_message(1);
        attach_bytes(message, 16, 0);
        CHECK(message.header.data_size == 16);
        Message moved = base::move(message);
        CHECK(message.data() == nullptr);
        CHECK(message.data_size() == 0);
        CHECK(moved.data_size() == 16);
    }
    CHECK(g_freed_buffers == 1);

    Message message = make_message(2);
    attach_bytes(message, 8, 0);
    void* data = message.detach_data();
    CHECK(message.header.data_size == 0);
    message.reset();
    CHECK(g_freed_buffers == 1);
    free_buffer(data, 8);
    CHECK(g_freed_buffers == 2);
}

TEST_CASE("queued handles keep their objects alive until the message is dropped") {
    Port a;
    Port b;
    MessageQueue queue(4);
    {
        Message message = make_message(7);
        REQUIRE(message.add_handle(Ref<KObject>::adopt(&a), TERN_RIGHT_SEND).ok());
        REQUIRE(message.add_handle(Ref<KObject>::adopt(&b), TERN_RIGHT_RECEIVE).ok());
        REQUIRE(queue.push(base::move(message)).ok());
    }
    CHECK(a.destroyed == 0);
    CHECK(a.ref_count() == 1);
    auto received = queue.pop();
    REQUIRE(received.ok());
    CHECK(received.value().header.handle_count == 2);
    CHECK(received.value().handles[0].rights == TERN_RIGHT_SEND);
    CHECK(received.value().handles[1].rights == TERN_RIGHT_RECEIVE);
    // The receiver takes the references into its table; here we just move them out.
    Ref<KObject> kept = base::move(received.value().handles[1].object);
    received = Error::WOULD_BLOCK; // drop the message and whatever it still holds
    CHECK(a.destroyed == 1);
    CHECK(b.destroyed == 0);
    kept.reset();
    CHECK(b.destroyed == 1);
}

TEST_CASE("push rejects messages that break the ABI bounds or disagree with the header") {
    FreedCounterReset reset;
    Port port;
    MessageQueue queue(4);

    Message too_big = make_message(1);
    attach_bytes(too_big, TERN_MSG_MAX_DATA + 1, 0);
    CHECK_ERROR(queue.push(base::move(too_big)), Error::TOO_BIG);
    CHECK(too_big.data_size() == TERN_MSG_MAX_DATA + 1);

    Message at_limit = make_message(2);
    attach_bytes(at_limit, TERN_MSG_MAX_DATA, 0);
    CHECK(queue.push(base::move(at_limit)).ok());

    Message many = make_message(3);
    for (uint32_t i = 0; i < TERN_MSG_MAX_HANDLES; ++i)
        REQUIRE(many.add_handle(Ref<KObject>::retain(&port), TERN_RIGHT_SEND).ok());
    CHECK_ERROR(many.add_handle(Ref<KObject>::retain(&port), TERN_RIGHT_SEND), Error::TOO_BIG);
    CHECK_ERROR(many.add_handle(Ref<KObject>(), 0), Error::INVALID_ARGUMENT);
    CHECK(port.ref_count() == 1 + TERN_MSG_MAX_HANDLES);
    CHECK(queue.push(base::move(many)).ok());

    Message bad_count = make_message(4);
    bad_count.header.handle_count = TERN_MSG_MAX_HANDLES + 1;
    CHECK_ERROR(queue.push(base::move(bad_count)), Error::TOO_BIG);

    Message lying_count = make_message(5);
    lying_count.header.handle_count = 1; // but no handle attached
    CHECK_ERROR(queue.push(base::move(lying_count)), Error::INVALID_ARGUMENT);

    Message hidden_handle = make_message(6);
    hidden_handle.handles[2].object = Ref<KObject>::retain(&port); // not counted
    CHECK_ERROR(queue.push(base::move(hidden_handle)), Error::INVALID_ARGUMENT);

    Message lying_size = make_message(7);
    attach_bytes(lying_size, 32, 0);
    lying_size.header.data_size = 16;
    CHECK_ERROR(queue.push(base::move(lying_size)), Error::INVALID_ARGUMENT);

    Message missing_data = make_message(8);
    missing_data.header.data_size = 16;
    CHECK_ERROR(queue.push(base::move(missing_data)), Error::INVALID_ARGUMENT);

    Message oversize_header = make_message(9);
    oversize_header.header.data_size = TERN_MSG_MAX_DATA + 1;
    CHECK_ERROR(queue.push(base::move(oversize_header)), Error::TOO_BIG);

    CHECK(queue.size() == 2);
}

TEST_CASE("close releases pending messages and refuses later pushes") {
    FreedCounterReset reset;
    Port port;
    MessageQueue queue(8);
    for (uint32_t label = 0; label < 5; ++label) {
        Message message = make_message(label);
        attach_bytes(message, 64, uint8_t(label));
        REQUIRE(message.add_handle(Ref<KObject>::retain(&port), TERN_RIGHT_SEND).ok());
        REQUIRE(queue.push(base::move(message)).ok());
    }
    CHECK(port.ref_count() == 6);
    CHECK(queue.close() == 5);
    CHECK(queue.is_closed());
    CHECK(queue.is_empty());
    CHECK(port.ref_count() == 1);
    CHECK(g_freed_buffers == 5);

    Message late = make_message(9);
    REQUIRE(late.add_handle(Ref<KObject>::retain(&port), TERN_RIGHT_SEND).ok());
    CHECK_ERROR(queue.push(base::move(late)), Error::PEER_CLOSED);
    CHECK(late.handles[0].object.get() == &port); // still the sender's
    CHECK_ERROR(queue.pop(), Error::PEER_CLOSED);
    CHECK(queue.close() == 0);
}

TEST_CASE("close of an empty queue releases nothing") {
    MessageQueue queue(1);
    CHECK(queue.close() == 0);
    CHECK(queue.is_closed());
    CHECK_ERROR(queue.push(make_message(1)), Error::PEER_CLOSED);
}

TEST_CASE("dropping a queue releases what it still holds") {
    FreedCounterReset reset;
    Port port;
    {
        MessageQueue queue(4);
        Message message = make_message(1);
        attach_bytes(message, 10, 1);
        REQUIRE(message.add_handle(Ref<KObject>::retain(&port), TERN_RIGHT_SEND).ok());
        REQUIRE(queue.push(base::move(message)).ok());
    }
    CHECK(port.ref_count() == 1);
    CHECK(g_freed_buffers == 1);
}

TEST_CASE("drain and restore move a queue intact, in order, across a wrapped ring") {
    FreedCounterReset reset;
    Port ports[3];
    MessageQueue source(5);
    // Move the ring's head away from slot 0 first.
    for (uint32_t i = 0; i < 3; ++i) {
        REQUIRE(source.push(make_message(1000 + i)).ok());
        REQUIRE(source.pop().ok());
    }
    for (uint32_t label = 0; label < 5; ++label) {
        Message message = make_message(label);
        if (label % 2 == 0)
            attach_bytes(message, 20 + label, uint8_t(0xA0 + label));
        REQUIRE(message.add_handle(Ref<KObject>::retain(&ports[label % 3]), label).ok());
        REQUIRE(source.push(base::move(message)).ok());
    }

    std::vector<Message> captured;
    uint32_t drained =
        source.drain([&](Message&& message) { captured.push_back(base::move(message)); });
    CHECK(drained == 5);
    CHECK(source.is_empty());
    CHECK(g_freed_buffers == 0);
    CHECK(ports[0].ref_count() == 3);

    MessageQueue target(5);
    for (Message& message : captured)
        REQUIRE(target.restore(base::move(message)).ok());
    captured.clear();

    for (uint32_t label = 0; label < 5; ++label) {
        auto message = target.pop();
        REQUIRE(message.ok());
        const Message& m = message.value();
        CHECK(has_words_of(m, label));
        CHECK(m.header.handle_count == 1);
        CHECK(m.handles[0].object.get() == &ports[label % 3]);
        CHECK(m.handles[0].rights == label);
        if (label % 2 == 0) {
            REQUIRE(m.data_size() == 20 + label);
            CHECK(m.header.data_size == 20 + label);
            CHECK(static_cast<uint8_t*>(m.data())[m.data_size() - 1] == 0xA0 + label);
        } else {
            CHECK(m.data() == nullptr);
        }
    }
    CHECK(g_freed_buffers == 3);
    for (Port& port : ports)
        CHECK(port.ref_count() == 1);
    CHECK(source.drain([](Message&&) { FAIL("an empty queue has nothing to drain"); }) == 0);
}

namespace {
// An object whose destruction looks at the queue that held it, as a port's destroy hook
// could through a handle that was in flight.
class Watcher final : public KObject {
public:
    static constexpr uint32_t kType = TERN_OBJ_PORT;
    Watcher() : KObject(kType) {}
    MessageQueue* queue = nullptr;
    uint32_t size_seen = 999;
    bool closed_seen = false;

private:
    void destroy() override {
        size_seen = queue->size();
        closed_seen = queue->is_closed();
    }
};
} // namespace

TEST_CASE("a destroy hook reached from close sees a consistent closed queue") {
    MessageQueue queue(4);
    Watcher watcher;
    watcher.queue = &queue;
    REQUIRE(queue.push(make_message(1)).ok());
    Message message = make_message(2);
    REQUIRE(message.add_handle(Ref<KObject>::adopt(&watcher), TERN_RIGHT_SEND).ok());
    REQUIRE(queue.push(base::move(message)).ok());
    REQUIRE(queue.push(make_message(3)).ok());
    CHECK(queue.close() == 3);
    CHECK(watcher.closed_seen);
    CHECK(watcher.size_seen == 1); // the message behind it was still pending
}

TEST_CASE("random pushes and pops match a model FIFO") {
    FreedCounterReset reset;
    Port port;
    MessageQueue queue(13);
    std::deque<uint32_t> model;
    std::mt19937 rng(0x9a1e);
    uint32_t next_label = 0;
    int data_attached = 0;
    for (int step = 0; step < 20000; ++step) {
        if (rng() % 2 == 0) {
            Message message = make_message(next_label);
            if (rng() % 4 == 0) {
                attach_bytes(message, 1 + rng() % 64, 0);
                ++data_attached;
            }
            if (rng() % 3 == 0)
                REQUIRE(message.add_handle(Ref<KObject>::retain(&port), 0).ok());
            auto pushed = queue.push(base::move(message));
            if (model.size() == 13) {
                REQUIRE(pushed.error() == Error::WOULD_BLOCK);
            } else {
                REQUIRE(pushed.ok());
                model.push_back(next_label);
            }
            ++next_label;
        } else {
            auto popped = queue.pop();
            if (model.empty()) {
                REQUIRE(popped.error() == Error::WOULD_BLOCK);
            } else {
                REQUIRE(popped.ok());
                REQUIRE(has_words_of(popped.value(), model.front()));
                model.pop_front();
            }
        }
        REQUIRE(queue.size() == model.size());
    }
    queue.close();
    CHECK(port.ref_count() == 1);
    CHECK(g_freed_buffers == data_attached);
}

TEST_CASE("reserved slots count as taken for push and are filled by push_reserved") {
    MessageQueue queue(3);
    REQUIRE(queue.push(make_message(1)).ok());
    REQUIRE(queue.reserve().ok());
    REQUIRE(queue.reserve().ok());
    CHECK(queue.reserved() == 2);
    CHECK(queue.free_slots() == 0);
    CHECK(queue.is_full());
    // A full queue refuses both another push and another reservation.
    Message refused = make_message(2);
    CHECK_ERROR(queue.push(base::move(refused)), Error::WOULD_BLOCK);
    CHECK(has_words_of(refused, 2));
    CHECK_ERROR(queue.reserve(), Error::WOULD_BLOCK);
    CHECK(queue.size() == 1);

    // Filling a reserved slot always finds room, and keeps FIFO order with pushes.
    REQUIRE(queue.push_reserved(make_message(3)).ok());
    CHECK(queue.reserved() == 1);
    CHECK(queue.size() == 2);
    CHECK(queue.is_full());
    // A reservation given back unused frees its slot for push.
    queue.unreserve();
    CHECK(queue.reserved() == 0);
    REQUIRE(queue.push(make_message(4)).ok());
    for (uint32_t label : {1u, 3u, 4u}) {
        auto m = queue.pop();
        REQUIRE(m.ok());
        CHECK(has_words_of(m.value(), label));
    }
    CHECK(queue.is_empty());
}

TEST_CASE("a reservation on a closed queue fails, and filling one gives it back") {
    MessageQueue queue(2);
    REQUIRE(queue.reserve().ok());
    queue.close();
    CHECK_ERROR(queue.reserve(), Error::PEER_CLOSED);
    Message late = make_message(5);
    CHECK_ERROR(queue.push_reserved(base::move(late)), Error::PEER_CLOSED);
    // The message stays with the caller, and the reservation is gone.
    CHECK(has_words_of(late, 5));
    CHECK(queue.reserved() == 0);
}

TEST_CASE("reservations survive the ring wrapping around") {
    MessageQueue queue(4);
    uint32_t next_in = 0, next_out = 0;
    for (int round = 0; round < 50; ++round) {
        REQUIRE(queue.reserve().ok());
        REQUIRE(queue.push(make_message(++next_in)).ok());
        REQUIRE(queue.push(make_message(++next_in)).ok());
        REQUIRE(queue.push(make_message(++next_in)).ok());
        Message extra = make_message(999);
        CHECK_ERROR(queue.push(base::move(extra)), Error::WOULD_BLOCK);
        for (int i = 0; i < 2; ++i) {
            auto m = queue.pop();
            REQUIRE(m.ok());
            CHECK(has_words_of(m.value(), ++next_out));
        }
        REQUIRE(queue.push_reserved(make_message(++next_in)).ok());
        CHECK(queue.size() == 2);
        while (!queue.is_empty()) {
            auto m = queue.pop();
            REQUIRE(m.ok());
            CHECK(has_words_of(m.value(), ++next_out));
        }
    }
    CHECK(queue.reserved() == 0);
}
