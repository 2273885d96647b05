#pragma once

// KObject: the base of every kernel object a handle can name (task, thread, port, memory
// object, IRQ, I/O port range), and Ref<T>, the smart pointer that keeps one alive.
//
// The reference count is a plain integer, not an atomic: the kernel serializes every
// change to an object's count under its own locks, and these structures are also run in
// host tests where no locking is needed. When the count drops to zero the object's
// destroy() hook runs exactly once; the concrete type decides how its memory is freed
// (kernel heap, slab, or nothing for a statically allocated object), which is why there
// is no virtual destructor and no delete through a KObject pointer.
//
// A new object starts with one reference that belongs to its creator, who hands it to a
// Ref with Ref<T>::adopt:
//
//     Ref<Port> port = Ref<Port>::adopt(new (memory) Port(...));
//     Ref<KObject> any = port;                     // copy: count 2
//     TRY(table.insert(move(any), rights));        // the table keeps that reference
//
// The count has two ceilings. Paths driven by user requests (duplicating a handle,
// sending one in a message) take references with try_add_ref(), which refuses beyond
// kMaxRefCount; the space above that is left for short-lived kernel references, so
// add_ref() overflowing is a kernel bug and is verified rather than returned.

#include <base/assert.h>
#include <base/utility.h>
#include <stddef.h>
#include <stdint.h>
#include <tern/abi/rights.h>

namespace kernel::obj {

class KObject {
public:
    // The most references user-driven paths may create; see try_add_ref().
    static constexpr uint32_t kMaxRefCount = 0xFFFF0000u;

    KObject(const KObject&) = delete;
    KObject& operator=(const KObject&) = delete;

    // One of the TERN_OBJ_* codes; fixed for the object's life.
    [[nodiscard]] uint32_t type() const { return m_type; }
    [[nodiscard]] uint32_t ref_count() const { return m_ref_count; }

    // Takes a reference the kernel itself needs. The object must be alive: reviving an
    // object whose count already reached zero is a bug.
    void add_ref() {
        TERN_VERIFY(m_ref_count != 0);
        TERN_VERIFY(m_ref_count != UINT32_MAX);
        ++m_ref_count;
    }

    // Takes a reference on behalf of a request from outside the kernel; false when the
    // object already has kMaxRefCount references, which the caller reports as an error.
    [[nodiscard]] bool try_add_ref() {
        TERN_VERIFY(m_ref_count != 0);
        if (m_ref_count >= kMaxRefCount)
            return false;
        ++m_ref_count;
        return true;
    }

    // Drops a reference; the last one runs destroy(), after which the object must not be
    // touched (destroy may have freed it).
    void release_ref() {
        TERN_VERIFY(m_ref_count != 0);
        if (--m_ref_count == 0)
            destroy();
        else if (m_ref_count == 1)
            unshared();
    }

    // Drops a reference the caller knows is not the last, without running unshared():
    // for a holder that knows unshared() would find nothing to do (the IPC fast path's
    // answered reply).
    void release_shared_ref() {
        TERN_VERIFY(m_ref_count > 1);
        --m_ref_count;
    }

    // The object as a T when its type tag matches T::kType, else nullptr. This replaces
    // dynamic_cast, which the kernel cannot use without RTTI.
    // The object's id (task_handles reports it): the same for every handle to it, and
    // different from every other live object's (a bijection of its address, so it costs
    // no storage; an id may come back once its object is gone).
    [[nodiscard]] uint64_t object_id() const {
        return uint64_t(reinterpret_cast<uintptr_t>(this)) * 0x9E3779B97F4A7C15ull;
    }

    template<typename T>
    [[nodiscard]] T* as() {
        return m_type == T::kType ? static_cast<T*>(this) : nullptr;
    }
    template<typename T>
    [[nodiscard]] const T* as() const {
        return m_type == T::kType ? static_cast<const T*>(this) : nullptr;
    }

protected:
    // Starts with the creator's reference, which Ref<T>::adopt takes over.
    explicit KObject(uint32_t type) : m_type(type) {
        if (type < kCountedTypes)
            ++s_live[type];
    }

    // Only destroy() ends an object's life, and it knows the concrete type.
    ~KObject() {
        if (m_type < kCountedTypes)
            --s_live[m_type];
    }

public:
    // Live objects per type, for leak checks in tests and the kernel's statistics.
    static constexpr uint32_t kCountedTypes = 16;
    static uint64_t live_count(uint32_t type) { return type < kCountedTypes ? s_live[type] : 0; }
    static uint64_t live_total() {
        uint64_t total = 0;
        for (uint64_t n : s_live)
            total += n;
        return total;
    }

protected:
    static inline uint64_t s_live[kCountedTypes] = {};

    // Runs once, when the last reference is dropped. Every concrete object overrides it
    // to release what it holds and free its memory. The body here only catches a type
    // that forgot to: it is not pure virtual because a pure virtual slot would need the
    // C++ runtime's __cxa_pure_virtual, which the kernel does not link.
    virtual void destroy() { TERN_ASSERT_NOT_REACHED(); }
    // Runs when the count drops to one: an object whose last holder is its owner (a thread
    // held only by the scheduler) may want to act. Must not drop references itself.
    virtual void unshared() {}

private:
    uint32_t m_type;
    uint32_t m_ref_count{1};
};

// A counted reference to a KObject or a subclass. Copying takes a reference, moving
// passes it on, destruction and reset() drop it.
template<typename T>
class Ref {
public:
    constexpr Ref() = default;

    // Wraps an object's initial reference (or one the caller already owns, e.g. from
    // release()) without taking another.
    [[nodiscard]] static Ref adopt(T* object) {
        Ref ref;
        ref.m_ptr = object;
        return ref;
    }

    // Takes a new reference to an object the caller can only borrow.
    [[nodiscard]] static Ref retain(T* object) {
        if (object)
            object->add_ref();
        return adopt(object);
    }

    Ref(const Ref& other) : m_ptr(other.m_ptr) {
        if (m_ptr)
            m_ptr->add_ref();
    }
    Ref(Ref&& other) : m_ptr(other.m_ptr) { other.m_ptr = nullptr; }

    // Ref<Port> converts to Ref<KObject>; the reverse needs downcast().
    template<typename U>
    requires base::is_convertible_v<U*, T*> Ref(const Ref<U>& other) : m_ptr(other.get()) {
        if (m_ptr)
            m_ptr->add_ref();
    }
    template<typename U>
    requires base::is_convertible_v<U*, T*> Ref(Ref<U>&& other) : m_ptr(other.release()) {}

    Ref& operator=(const Ref& other) {
        // Take the new reference first so assigning a Ref to itself, or to another Ref
        // of the same object, never lets the count touch zero.
        T* incoming = other.m_ptr;
        if (incoming)
            incoming->add_ref();
        drop(base::exchange(m_ptr, incoming));
        return *this;
    }
    Ref& operator=(Ref&& other) {
        if (this != &other)
            drop(base::exchange(m_ptr, other.release()));
        return *this;
    }

    ~Ref() { reset(); }

    // Drops the reference (if any) and leaves the Ref empty. The Ref is emptied before
    // the object's destroy() can run, so a destroy hook never sees a half-reset Ref.
    void reset() { drop(base::exchange(m_ptr, static_cast<T*>(nullptr))); }

    // Gives up the reference without dropping it: the caller now owns one reference to
    // the returned object and must hand it back with adopt() or call release_ref().
    [[nodiscard]] T* release() { return base::exchange(m_ptr, static_cast<T*>(nullptr)); }

    [[nodiscard]] T* get() const { return m_ptr; }
    T* operator->() const {
        TERN_ASSERT(m_ptr);
        return m_ptr;
    }
    T& operator*() const {
        TERN_ASSERT(m_ptr);
        return *m_ptr;
    }
    [[nodiscard]] bool is_null() const { return m_ptr == nullptr; }
    explicit operator bool() const { return m_ptr != nullptr; }

    template<typename U>
    bool operator==(const Ref<U>& other) const {
        return m_ptr == other.get();
    }
    bool operator==(const T* other) const { return m_ptr == other; }

private:
    static void drop(T* object) {
        if (object)
            object->release_ref();
    }

    T* m_ptr{nullptr};
};

// Turns a Ref<KObject> into a Ref<T> when the object is a T, passing the reference on;
// otherwise returns an empty Ref and leaves `from` as it was.
template<typename T>
[[nodiscard]] Ref<T> downcast(Ref<KObject>&& from) {
    if (!from || from->type() != T::kType)
        return Ref<T>();
    return Ref<T>::adopt(static_cast<T*>(from.release()));
}

} // namespace kernel::obj
