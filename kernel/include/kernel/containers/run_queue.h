#pragma once

// RunQueue: the scheduler's ready set, a priority round-robin over intrusive nodes.
//
// There are 32 priority levels, 31 the most urgent. Each level is a FIFO list threaded
// through a ListNode inside the element (a thread), so queueing never allocates and can
// never fail. A bitmap of non-empty levels finds the most urgent runnable element in one
// count-leading-zeros instruction, whatever the number of elements.
//
//     struct Thread { base::ListNode run_link; uint8_t priority; ... };
//     RunQueue<Thread, &Thread::run_link, &Thread::priority> ready;
//
// An element is on at most one level at a time, the one its priority field names; the
// field must therefore not change while the element is queued, except through
// change_priority(). Priorities come from the kernel, which checks what user space asks
// for, so an out-of-range priority here is a bug and asserts. No locking: the kernel
// holds the scheduler lock around every call.

#include <base/assert.h>
#include <base/intrusive_list.h>
#include <base/optional.h>
#include <base/utility.h>
#include <stddef.h>
#include <stdint.h>

namespace kernel::obj {

template<typename T, base::ListNode T::*Link, auto Priority>
class RunQueue {
    using PriorityField = base::remove_cvref_t<decltype(base::declval<T&>().*Priority)>;
    static_assert(base::is_integral_v<PriorityField>, "the priority field must be an integer");

public:
    static constexpr uint32_t kLevels = 32;
    static constexpr uint32_t kLowestPriority = 0;
    static constexpr uint32_t kHighestPriority = kLevels - 1;

    RunQueue() = default;
    RunQueue(const RunQueue&) = delete;
    RunQueue& operator=(const RunQueue&) = delete;

    // Queues the element behind every other element of its priority: a thread that used
    // up its time slice or just became ready.
    void enqueue(T& element) {
        uint32_t level = level_of(element);
        m_levels[level].push_back(element);
        mark_added(level);
    }

    // Queues the element ahead of every other element of its priority: a thread that was
    // preempted by a more urgent one keeps its place in the round.
    void enqueue_front(T& element) {
        uint32_t level = level_of(element);
        m_levels[level].push_front(element);
        mark_added(level);
    }

    // Takes a queued element out (it blocked, was stopped or is being destroyed).
    void dequeue(T& element) {
        uint32_t level = level_of(element);
        TERN_ASSERT(m_levels[level].size() > 0);
        m_levels[level].remove(element);
        mark_removed(level);
    }

    // Removes and returns the element that should run next: the front of the most urgent
    // non-empty level. Null when nothing is ready.
    T* pick_next() {
        if (m_nonempty == 0)
            return nullptr;
        uint32_t level = highest_level();
        T* element = m_levels[level].pop_front();
        mark_removed(level);
        return element;
    }

    // The element pick_next() would return, left in place.
    [[nodiscard]] T* peek_next() {
        return m_nonempty == 0 ? nullptr : m_levels[highest_level()].front();
    }

    // Moves the front of a level to its back, for designs that keep the running element
    // queued. Does nothing to a level with fewer than two elements.
    void rotate(uint32_t priority) {
        TERN_ASSERT(priority < kLevels);
        auto& list = m_levels[priority];
        if (list.size() < 2)
            return;
        T* front = list.pop_front();
        list.push_back(*front);
    }

    // rotate() on the most urgent non-empty level.
    void rotate() {
        if (m_nonempty != 0)
            rotate(highest_level());
    }

    // Gives a queued element a new priority, moving it to the back of its new level.
    void change_priority(T& element, uint32_t new_priority) {
        TERN_ASSERT(new_priority < kLevels);
        dequeue(element);
        element.*Priority = static_cast<PriorityField>(new_priority);
        enqueue(element);
    }

    // The most urgent priority with a queued element, or nothing when empty.
    [[nodiscard]] base::Optional<uint32_t> highest_priority() const {
        if (m_nonempty == 0)
            return base::nullopt;
        return highest_level();
    }

    // True when a queued element is strictly more urgent than `priority`: the running
    // thread at that priority should be preempted.
    [[nodiscard]] bool has_higher_than(uint32_t priority) const {
        TERN_ASSERT(priority < kLevels);
        return (m_nonempty >> priority) > 1;
    }

    [[nodiscard]] size_t size() const { return m_size; }
    [[nodiscard]] bool is_empty() const { return m_size == 0; }

    [[nodiscard]] size_t count_at(uint32_t priority) const {
        TERN_ASSERT(priority < kLevels);
        return m_levels[priority].size();
    }

    // O(level size): for assertions and tests.
    [[nodiscard]] bool contains(const T& element) const {
        return m_levels[level_of(element)].contains(element);
    }

    // The bitmap of non-empty levels, bit n for priority n.
    [[nodiscard]] uint32_t nonempty_mask() const { return m_nonempty; }

private:
    static uint32_t level_of(const T& element) {
        uint32_t level = static_cast<uint32_t>(element.*Priority);
        TERN_ASSERT(level < kLevels);
        return level;
    }

    uint32_t highest_level() const {
        TERN_ASSERT(m_nonempty != 0);
        return 31u - static_cast<uint32_t>(__builtin_clz(m_nonempty));
    }

    void mark_added(uint32_t level) {
        m_nonempty |= 1u << level;
        ++m_size;
    }

    void mark_removed(uint32_t level) {
        if (m_levels[level].is_empty())
            m_nonempty &= ~(1u << level);
        --m_size;
    }

    base::IntrusiveList<T, Link> m_levels[kLevels];
    uint32_t m_nonempty{0};
    size_t m_size{0};
};

} // namespace kernel::obj
