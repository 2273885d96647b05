#pragma once
// The calls parked on one object (a semaphore set, a System V or POSIX queue), oldest
// first: a waiter is found by its object without a scan of the whole table of waiters.
// W has members `W* prev` and `W* next`; a waiter is on one list at a time.

namespace ipc {

template<typename W>
struct WaitList {
    W* first = nullptr;
    W* last = nullptr;

    void append(W& w) {
        w.prev = last;
        w.next = nullptr;
        (last ? last->next : first) = &w;
        last = &w;
    }
    void remove(W& w) {
        (w.prev ? w.prev->next : first) = w.next;
        (w.next ? w.next->prev : last) = w.prev;
        w.prev = nullptr;
        w.next = nullptr;
    }
};

} // namespace ipc
