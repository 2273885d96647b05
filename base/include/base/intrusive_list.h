#pragma once

// base::IntrusiveList: a doubly-linked list threaded through a ListNode member of each
// element, so linking never allocates. The kernel keeps run queues, wait queues and free
// lists this way because it cannot fail for lack of memory while moving an object from
// one queue to another.
//
//     struct Thread { ListNode run_node; ... };
//     IntrusiveList<Thread, &Thread::run_node> run_queue;
//
// The list does not own its elements. An element must be removed before it is destroyed,
// and linking a node that is already on a list is a bug that asserts.

#include <base/assert.h>
#include <base/utility.h>
#include <stddef.h>

namespace base {

struct ListNode {
    ListNode* prev{nullptr};
    ListNode* next{nullptr};

    constexpr ListNode() = default;
    constexpr ListNode(ListNode* p, ListNode* n) : prev(p), next(n) {}
    // Copying an element must not make the copy claim the original's place on a list,
    // so a copied node starts unlinked and assignment leaves the target's links alone.
    constexpr ListNode(const ListNode&) {}
    constexpr ListNode& operator=(const ListNode&) { return *this; }

    [[nodiscard]] constexpr bool is_linked() const { return next != nullptr; }
};

template<typename T, ListNode T::*Member>
class IntrusiveList {
public:
    constexpr IntrusiveList() : m_head{&m_head, &m_head} {}

    IntrusiveList(const IntrusiveList&) = delete;
    IntrusiveList& operator=(const IntrusiveList&) = delete;

    // The elements point at the head node, so moving the list re-points the two ends.
    IntrusiveList(IntrusiveList&& other) : m_head{&m_head, &m_head} { take_from(other); }

    IntrusiveList& operator=(IntrusiveList&& other) {
        if (this != &other) {
            TERN_ASSERT(is_empty());
            take_from(other);
        }
        return *this;
    }

    [[nodiscard]] bool is_empty() const { return m_head.next == &m_head; }
    [[nodiscard]] size_t size() const { return m_size; }

    void push_back(T& value) { insert_between(node_of(value), m_head.prev, &m_head); }
    void push_front(T& value) { insert_between(node_of(value), &m_head, m_head.next); }

    // Links value immediately before position, which must already be on this list.
    void insert_before(T& position, T& value) {
        ListNode* at = node_of(position);
        TERN_ASSERT(at->is_linked());
        insert_between(node_of(value), at->prev, at);
    }

    // Links value immediately after position, which must already be on this list.
    void insert_after(T& position, T& value) {
        ListNode* at = node_of(position);
        TERN_ASSERT(at->is_linked());
        insert_between(node_of(value), at, at->next);
    }

    // Unlinks value, which must be on this list.
    void remove(T& value) {
        ListNode* node = node_of(value);
        TERN_ASSERT(node->is_linked());
        TERN_ASSERT(m_size > 0);
        node->prev->next = node->next;
        node->next->prev = node->prev;
        node->prev = nullptr;
        node->next = nullptr;
        --m_size;
    }

    [[nodiscard]] T* front() { return is_empty() ? nullptr : owner_of(m_head.next); }
    [[nodiscard]] T* back() { return is_empty() ? nullptr : owner_of(m_head.prev); }
    [[nodiscard]] const T* front() const { return is_empty() ? nullptr : owner_of(m_head.next); }
    [[nodiscard]] const T* back() const { return is_empty() ? nullptr : owner_of(m_head.prev); }

    // Removes and returns the first element, or nullptr when the list is empty.
    T* pop_front() {
        T* value = front();
        if (value)
            remove(*value);
        return value;
    }

    T* pop_back() {
        T* value = back();
        if (value)
            remove(*value);
        return value;
    }

    // The element after value on this list, or nullptr at the end.
    [[nodiscard]] T* next(T& value) {
        ListNode* node = node_of(value);
        TERN_ASSERT(node->is_linked());
        return node->next == &m_head ? nullptr : owner_of(node->next);
    }

    // O(n): walks the list, so it is for assertions and tests rather than hot paths.
    [[nodiscard]] bool contains(const T& value) const {
        const ListNode* target = &(value.*Member);
        for (const ListNode* node = m_head.next; node != &m_head; node = node->next) {
            if (node == target)
                return true;
        }
        return false;
    }

    // Unlinks every element so each can be put on another list or destroyed.
    void clear() {
        while (pop_front()) {
        }
    }

    // Iterators fetch the next node before yielding the current one, so the element the
    // loop is visiting may be removed from the list inside the loop body.
    template<typename U, typename Node>
    class IteratorBase {
    public:
        explicit IteratorBase(Node* node) : m_node(node), m_next(node->next) {}

        U& operator*() const { return *owner_of(m_node); }
        U* operator->() const { return owner_of(m_node); }

        IteratorBase& operator++() {
            m_node = m_next;
            m_next = m_node->next;
            return *this;
        }

        bool operator==(const IteratorBase& other) const { return m_node == other.m_node; }

    private:
        Node* m_node;
        Node* m_next;
    };

    using Iterator = IteratorBase<T, ListNode>;
    using ConstIterator = IteratorBase<const T, const ListNode>;

    Iterator begin() { return Iterator(m_head.next); }
    Iterator end() { return Iterator(&m_head); }
    ConstIterator begin() const { return ConstIterator(m_head.next); }
    ConstIterator end() const { return ConstIterator(&m_head); }

private:
    static ListNode* node_of(T& value) { return &(value.*Member); }

    // Recovers the element from its embedded node. Under the Itanium C++ ABI, which every
    // Tern compiler follows, a pointer to data member is stored as the member's byte
    // offset; reading it avoids touching storage that holds no T.
    static size_t member_offset() {
        static_assert(sizeof(Member) == sizeof(ptrdiff_t));
        auto member = Member;
        ptrdiff_t offset;
        __builtin_memcpy(&offset, &member, sizeof(offset));
        return static_cast<size_t>(offset);
    }

    static T* owner_of(ListNode* node) {
        return reinterpret_cast<T*>(reinterpret_cast<char*>(node) - member_offset());
    }

    static const T* owner_of(const ListNode* node) {
        return reinterpret_cast<const T*>(reinterpret_cast<const char*>(node) - member_offset());
    }

    void insert_between(ListNode* node, ListNode* before, ListNode* after) {
        TERN_ASSERT(!node->is_linked());
        node->prev = before;
        node->next = after;
        before->next = node;
        after->prev = node;
        ++m_size;
    }

    void take_from(IntrusiveList& other) {
        if (other.is_empty())
            return;
        m_head.next = other.m_head.next;
        m_head.prev = other.m_head.prev;
        m_head.next->prev = &m_head;
        m_head.prev->next = &m_head;
        m_size = other.m_size;
        other.m_head.next = &other.m_head;
        other.m_head.prev = &other.m_head;
        other.m_size = 0;
    }

    ListNode m_head;
    size_t m_size{0};
};

} // namespace base
