#pragma once

// Message and MessageQueue: the storage behind a port.
//
// A Message owns everything it carries: the inline words, an optional data part in a
// kernel buffer, and up to TERN_MSG_MAX_HANDLES object references with the rights the
// receiver will get. Destroying a Message frees its data part and drops its references,
// so a message can never leak them whichever path drops it (close, task death, a failed
// delivery).
//
// A MessageQueue is a bounded FIFO of messages with its slots inline. It never drops a
// message on its own: a push to a full queue fails with WOULD_BLOCK and the caller keeps
// the message, so the port layer can wait and retry or report the error. Closing the
// queue (the receiver is gone) releases what is pending and makes later pushes fail with
// PEER_CLOSED. No locking and no blocking here; the kernel does both around it.
//
// A slot can also be reserved ahead of the message that will fill it (the answer to an
// asynchronous call): a reserved slot counts as taken for push(), and push_reserved()
// later fills it, which cannot fail for lack of room.
//
// A port must not carry a handle to itself in its own queue: that reference would keep
// the port alive with nobody left to receive it. The port layer refuses such sends.

#include <base/result.h>
#include <kernel/object/kobject.h>
#include <stddef.h>
#include <stdint.h>
#include <tern/abi/message.h>
#include <tern/abi/rights.h>

namespace kernel::obj {

// A handle in flight: the reference and the rights the receiver's new handle will have.
struct MessageHandle {
    Ref<KObject> object;
    uint32_t rights{0};
};

// Frees a message's data part. The kernel passes its heap's free; tests pass a counter.
using DataRelease = void (*)(void* data, uint32_t size);

// Called when a message is released still holding a RECEIVE right (its receiver is gone:
// the port layer closes the port if the right had left every task). Null: nothing.
using ReceiveRightDropped = void (*)(KObject& object);
extern ReceiveRightDropped g_receive_right_dropped;

class Message {
public:
    tern_msg_header header{};
    uint64_t words[TERN_MSG_INLINE_WORDS]{};
    MessageHandle handles[TERN_MSG_MAX_HANDLES];

    Message() = default;
    Message(const Message&) = delete;
    Message& operator=(const Message&) = delete;
    Message(Message&& other) { take_from(other); }
    Message& operator=(Message&& other) {
        if (this != &other) {
            release_resources();
            take_from(other);
        }
        return *this;
    }
    ~Message() { release_resources(); }

    // Gives the message a data part, which it frees with `release` unless the buffer is
    // detached first. Sets header.data_size. The message must not have one already.
    void attach_data(void* data, uint32_t size, DataRelease release);

    // Takes the data part back: the caller owns the buffer from now on. Clears
    // header.data_size. Null when there is none.
    [[nodiscard]] void* detach_data();

    [[nodiscard]] void* data() const { return m_data; }
    [[nodiscard]] uint32_t data_size() const { return m_data_size; }

    // Appends a handle and counts it in header.handle_count. TOO_BIG: the message already
    // carries TERN_MSG_MAX_HANDLES. INVALID_ARGUMENT: object is null.
    [[nodiscard]] base::Result<void> add_handle(Ref<KObject> object, uint32_t rights);

    // Checks the header against what the message carries: header.data_size and
    // header.handle_count must match, with every counted handle present and nothing
    // beyond. TOO_BIG: a bound of the ABI is exceeded. INVALID_ARGUMENT: a mismatch.
    [[nodiscard]] base::Result<void> validate() const;

    // Frees the data part, drops every handle and clears header and words.
    void reset();

    // True while the message holds a data part or a handle (what reset() releases).
    [[nodiscard]] bool owns_resources() const { return m_data || header.handle_count; }

private:
    void take_from(Message& other);
    void release_resources();

    void* m_data{nullptr};
    uint32_t m_data_size{0};
    DataRelease m_data_release{nullptr};
};

class MessageQueue {
public:
    static constexpr uint32_t kMaxCapacity = 64;

    // `capacity` is the kernel's choice (1 .. kMaxCapacity), so it is verified, not
    // returned as an error.
    explicit MessageQueue(uint32_t capacity);

    MessageQueue(const MessageQueue&) = delete;
    MessageQueue& operator=(const MessageQueue&) = delete;

    // Appends a message. On failure the message is left with the caller untouched.
    // TOO_BIG, INVALID_ARGUMENT: see Message::validate. PEER_CLOSED: the queue was
    // closed. WOULD_BLOCK: the queue is full.
    [[nodiscard]] base::Result<void> push(Message&& message);

    // Sets one slot aside for push_reserved(). WOULD_BLOCK: every slot is taken or
    // reserved. PEER_CLOSED: the queue was closed.
    [[nodiscard]] base::Result<void> reserve();
    // Gives a reserved slot back unused.
    void unreserve();
    // Fills a reserved slot (which it gives up either way) with `message`. PEER_CLOSED:
    // the queue was closed; the message is left with the caller untouched. TOO_BIG,
    // INVALID_ARGUMENT: see Message::validate.
    [[nodiscard]] base::Result<void> push_reserved(Message&& message);

    // Removes the oldest message. WOULD_BLOCK: the queue is empty. PEER_CLOSED: the queue
    // was closed (it is then always empty).
    [[nodiscard]] base::Result<Message> pop();

    // The oldest message without removing it, or null when empty.
    [[nodiscard]] const Message* peek() const;

    // The oldest message, in place: receive delivers straight from the slot and then
    // calls drop_front(), which saves two moves of the message. Null when empty.
    [[nodiscard]] Message* front() { return m_size == 0 ? nullptr : &m_slots[m_head]; }

    // Removes the oldest message, releasing whatever it still owns; the queue must not
    // be empty.
    void drop_front();

    // Calls callback(Message&&) for every pending message, oldest first, removing each
    // before the call, and returns how many there were. Capturing a port's queue for
    // migration is a drain on the old node followed by restore() of each message, in
    // the same order, on the new one.
    template<typename Callback>
    uint32_t drain(Callback&& callback) {
        uint32_t drained = 0;
        while (m_size > 0) {
            Message message = take_front();
            callback(base::move(message));
            ++drained;
        }
        return drained;
    }

    // Puts back a message captured by drain(); the same as push(), named for the reader.
    [[nodiscard]] base::Result<void> restore(Message&& message) {
        return push(base::move(message));
    }

    // Marks the queue dead and releases every pending message (their data parts are
    // freed and handle references dropped), returning how many there were. Closing a
    // closed queue releases nothing and returns 0.
    uint32_t close();

    [[nodiscard]] uint32_t size() const { return m_size; }
    [[nodiscard]] uint32_t capacity() const { return m_capacity; }
    [[nodiscard]] bool is_empty() const { return m_size == 0; }
    // Full for push(): every slot is taken or reserved.
    [[nodiscard]] bool is_full() const { return m_size >= m_limit; }
    // Slots push() can still fill.
    [[nodiscard]] uint32_t free_slots() const { return m_limit - m_size; }
    [[nodiscard]] uint32_t reserved() const { return m_capacity - m_limit; }
    [[nodiscard]] bool is_closed() const { return m_closed; }
    // True when a pending message carries a handle with every right in `rights`.
    [[nodiscard]] bool carries(uint32_t rights) const;

private:
    // Removes the oldest message; the queue must not be empty.
    Message take_front();

    Message m_slots[kMaxCapacity];
    uint32_t m_capacity;
    // m_capacity less the reserved slots: what push() may fill. Kept rather than the
    // reserved count so that the check on every push costs what it did without them.
    uint32_t m_limit;
    uint32_t m_head{0}; // slot of the oldest message
    uint32_t m_size{0};
    bool m_closed{false};
};

} // namespace kernel::obj
