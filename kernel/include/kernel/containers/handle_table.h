#pragma once

// HandleTable: one task's handles, each naming a kernel object with a set of rights.
//
// The table has a fixed number of slots chosen when it is made, which is the task's
// handle quota; insert, lookup and close are O(1). A handle value is
//
//     bits 31..14: generation of the slot (1 .. kMaxGeneration, never 0)
//     bits 13..0:  slot index
//
// and a slot's generation advances every time the slot is emptied, so a closed handle
// stays invalid (BAD_HANDLE) even after its slot holds a new object. Since the
// generation is never zero, no handle is ever TERN_INVALID_HANDLE. Free slots are reused
// oldest-first, spreading generation use over every free slot, so a stale handle could
// only come back to life after one slot was refilled 2^18 - 1 times while the stale
// value was kept. The layout is the same for every capacity, so a migrated task keeps
// its handle values on a node with an equal or larger quota (see insert_at).
//
// All rights checks go through get(): existence, then type, then rights. The table holds
// one reference per handle. It does no locking and never blocks; the kernel serializes
// access. A destroy() hook run when a handle's reference is dropped may call back into
// the table (the slot is already free by then) but must not destroy the table.

#include <base/result.h>
#include <base/span.h>
#include <kernel/object/kobject.h>
#include <stddef.h>
#include <stdint.h>
#include <tern/abi/rights.h>

namespace kernel::obj {

class HandleTable {
public:
    static constexpr uint32_t kIndexBits = 14;
    static constexpr uint32_t kMaxCapacity = 1u << kIndexBits;
    static constexpr uint32_t kGenerationBits = 32 - kIndexBits;
    static constexpr uint32_t kMaxGeneration = (1u << kGenerationBits) - 1;
    static constexpr uint32_t kDefaultQuota = 1024;

    // One slot of table storage. Its fields belong to the table; callers only provide
    // the memory (see the constructor).
    struct Slot {
        KObject* object;     // the reference this handle holds; null when free
        uint32_t generation; // 1 .. kMaxGeneration
        union {
            uint32_t rights;    // while in use
            uint32_t next_free; // while free: the next slot to reuse, or kNoSlot
        };
    };

    // Uses `storage` (which must outlive the table) as its slots; its capacity is the
    // span's size, 1 .. kMaxCapacity. Whatever the storage held is overwritten.
    explicit HandleTable(base::Span<Slot> storage);

    // Drops every reference the table still holds.
    ~HandleTable() { clear(); }

    HandleTable(const HandleTable&) = delete;
    HandleTable& operator=(const HandleTable&) = delete;

    // Stores a reference under a new handle. `rights` must lie within TERN_RIGHTS_ALL.
    // INVALID_ARGUMENT: object is null or rights has unknown bits. QUOTA_EXCEEDED: no
    // free slot. On failure the object's reference is dropped with `object`.
    [[nodiscard]] base::Result<tern_handle_t> insert(Ref<KObject> object, uint32_t rights);

    // Stores a reference under a chosen handle value, for recreating a migrated task's
    // table exactly. O(capacity), as it is rare. BAD_HANDLE: the value cannot name a slot
    // of this table. ALREADY_EXISTS: that slot is in use. INVALID_ARGUMENT: as insert.
    [[nodiscard]] base::Result<void> insert_at(tern_handle_t handle, Ref<KObject> object,
                                               uint32_t rights);

    // The one lookup helper: the object named by `handle`, with a new reference, provided
    // it exists (else BAD_HANDLE), has type `type` or type is TERN_OBJ_ANY (else
    // WRONG_TYPE), and the handle has every right in `required_rights` (else
    // ACCESS_DENIED). `rights_out`, when given, receives the handle's rights on success.
    [[nodiscard]] base::Result<Ref<KObject>> get(tern_handle_t handle, uint32_t type,
                                                 uint32_t required_rights,
                                                 uint32_t* rights_out = nullptr) const;

    // get() for a concrete object type T (with a static kType member).
    template<typename T>
    [[nodiscard]] base::Result<Ref<T>> get_as(tern_handle_t handle, uint32_t required_rights,
                                              uint32_t* rights_out = nullptr) const {
        Ref<KObject> object = TRY(get(handle, T::kType, required_rights, rights_out));
        return downcast<T>(base::move(object));
    }

    // get() without the reference and the error: the object named by `handle` when it
    // exists, has type T and the handle has every right in `required_rights`, else null.
    // For the IPC fast path, which falls back to get() on null and uses the object only
    // while nothing can close the handle (before it blocks).
    template<typename T>
    [[nodiscard]] T* peek(tern_handle_t handle, uint32_t required_rights) const {
        uint32_t index = index_of(handle);
        if (index >= m_fresh)
            return nullptr;
        const Slot& slot = m_slots[index];
        if (!slot.object || slot.generation != generation_of(handle)
            || slot.object->type() != T::kType
            || (slot.rights & required_rights) != required_rights)
            return nullptr;
        return static_cast<T*>(slot.object);
    }

    // A second handle to the same object with `new_rights`, which must be a subset of the
    // handle's rights (TERN_RIGHTS_SAME keeps them all). BAD_HANDLE; ACCESS_DENIED: the
    // handle lacks TERN_RIGHT_DUPLICATE or new_rights asks for more; QUOTA_EXCEEDED: no
    // free slot or the object has too many references.
    [[nodiscard]] base::Result<tern_handle_t> duplicate(tern_handle_t handle, uint32_t new_rights);

    // Replaces a handle with a new one to the same object with `new_rights` (a subset,
    // or TERN_RIGHTS_SAME); the old value becomes stale. Needs no right, since it can only
    // shrink what the task holds. BAD_HANDLE; ACCESS_DENIED: new_rights asks for more.
    [[nodiscard]] base::Result<tern_handle_t> replace(tern_handle_t handle, uint32_t new_rights);

    // Takes the object out of the table, passing on the handle's reference, e.g. to move
    // it into a message. The handle must have every right in `required_rights` (transfer
    // passes TERN_RIGHT_TRANSFER). `rights_out`, when given, receives its rights.
    // BAD_HANDLE; ACCESS_DENIED.
    [[nodiscard]] base::Result<Ref<KObject>> remove(tern_handle_t handle, uint32_t* rights_out,
                                                    uint32_t required_rights = 0);

    // Closes a handle and drops its reference. BAD_HANDLE.
    [[nodiscard]] base::Result<void> close(tern_handle_t handle);

    // Drops every reference (task death) and returns how many there were. Every handle
    // value issued so far stays stale afterwards.
    uint32_t clear();

    // From now on the table takes no new handle: insert and insert_at fail with BAD_STATE
    // (once cleared, no handle is left to duplicate or replace). A task that has exited seals its
    // table before clearing it, so nothing handed to it afterwards (a port whose queue holds a
    // handle to the task, say) can form a reference cycle that no exit will ever break.
    void seal() { m_sealed = true; }
    [[nodiscard]] bool is_sealed() const { return m_sealed; }

    [[nodiscard]] uint32_t count() const { return m_count; }
    [[nodiscard]] uint32_t capacity() const { return static_cast<uint32_t>(m_slots.size()); }
    [[nodiscard]] bool is_full() const { return m_count == capacity(); }

    // Calls visitor(tern_handle_t, KObject&, uint32_t rights) for every handle, in slot
    // order. The visitor must not change the table.
    template<typename Visitor>
    void for_each(Visitor&& visitor) const {
        for (uint32_t index = 0; index < m_fresh; ++index) {
            const Slot& slot = m_slots[index];
            if (slot.object)
                visitor(encode(index, slot.generation), *slot.object, slot.rights);
        }
    }

    // The parts of a handle value, exposed for tests and diagnostics.
    static constexpr tern_handle_t encode(uint32_t index, uint32_t generation) {
        return (generation << kIndexBits) | index;
    }
    static constexpr uint32_t index_of(tern_handle_t handle) { return handle & (kMaxCapacity - 1); }
    static constexpr uint32_t generation_of(tern_handle_t handle) { return handle >> kIndexBits; }

private:
    static constexpr uint32_t kNoSlot = UINT32_MAX;

    // The in-use slot a handle names, or null when the handle is stale or malformed.
    Slot* lookup(tern_handle_t handle) const;

    // Checks type and rights of a slot found by lookup().
    static base::Result<void> check(const Slot& slot, uint32_t type, uint32_t required_rights);

    // Fills the oldest free slot; the table must not be full.
    tern_handle_t occupy(KObject* object, uint32_t rights);

    // Empties an in-use slot, advances its generation and returns the reference it held.
    KObject* vacate(uint32_t index);

    void push_free(uint32_t index);

    // Initialises the never-used slots below `index` and puts them on the free list.
    void take_fresh_up_to(uint32_t index);

    base::Span<Slot> m_slots;
    bool m_sealed = false;
    uint32_t m_count{0};
    // Slots at m_fresh and above were never used; their storage is not initialised.
    uint32_t m_fresh{0};
    // The freed slots form a FIFO list threaded through Slot::next_free.
    uint32_t m_free_head{kNoSlot};
    uint32_t m_free_tail{kNoSlot};
};

namespace detail {
// Holds an InlineHandleTable's slots in a base class, so they exist before the
// HandleTable base that initializes them is constructed.
template<uint32_t Capacity>
struct InlineSlots {
    HandleTable::Slot m_storage[Capacity];
};
} // namespace detail

// A HandleTable with its slots inline, for tasks whose quota is fixed at compile time and
// for tests.
template<uint32_t Capacity = HandleTable::kDefaultQuota>
class InlineHandleTable : private detail::InlineSlots<Capacity>, public HandleTable {
    static_assert(Capacity > 0 && Capacity <= HandleTable::kMaxCapacity);

public:
    InlineHandleTable()
        : HandleTable(base::Span<Slot>(detail::InlineSlots<Capacity>::m_storage, Capacity)) {}
};

} // namespace kernel::obj
