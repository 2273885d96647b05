#include <kernel/containers/handle_table.h>

namespace kernel::obj {

using base::Error;
using base::Result;

HandleTable::HandleTable(base::Span<Slot> storage) : m_slots(storage) {
    // The capacity is the kernel's own choice of quota, never a raw user value. Slots are
    // initialised as they are first used (see m_fresh), so a table costs nothing to make
    // and its task's death walks only the slots it ever used.
    TERN_VERIFY(storage.size() > 0 && storage.size() <= kMaxCapacity);
}

void HandleTable::take_fresh_up_to(uint32_t index) {
    // Slots below `index` that were never used join the free list in index order, as
    // they would have stood in it had the whole table been initialised up front.
    while (m_fresh < index) {
        m_slots[m_fresh].object = nullptr;
        m_slots[m_fresh].generation = 1;
        push_free(m_fresh++);
    }
}

Result<tern_handle_t> HandleTable::insert(Ref<KObject> object, uint32_t rights) {
    if (m_sealed)
        return Error::BAD_STATE;
    if (!object || (rights & ~TERN_RIGHTS_ALL) != 0)
        return Error::INVALID_ARGUMENT;
    if (is_full())
        return Error::QUOTA_EXCEEDED;
    return occupy(object.release(), rights);
}

Result<void> HandleTable::insert_at(tern_handle_t handle, Ref<KObject> object, uint32_t rights) {
    if (m_sealed)
        return Error::BAD_STATE;
    if (!object || (rights & ~TERN_RIGHTS_ALL) != 0)
        return Error::INVALID_ARGUMENT;
    uint32_t index = index_of(handle);
    uint32_t generation = generation_of(handle);
    if (generation == 0 || index >= capacity())
        return Error::BAD_HANDLE;
    if (index >= m_fresh) {
        // A never-used slot: it is not on the free list, so there is nothing to unlink.
        take_fresh_up_to(index);
        Slot& slot = m_slots[index];
        ++m_fresh;
        slot.object = object.release();
        slot.generation = generation;
        slot.rights = rights;
        ++m_count;
        return base::ok();
    }
    Slot& slot = m_slots[index];
    if (slot.object)
        return Error::ALREADY_EXISTS;

    // Unlink the chosen slot from the free list. A walk is fine: restoring a table is
    // rare and bounded by the capacity.
    uint32_t previous = kNoSlot;
    uint32_t current = m_free_head;
    while (current != index) {
        TERN_ASSERT(current != kNoSlot);
        previous = current;
        current = m_slots[current].next_free;
    }
    uint32_t next = slot.next_free;
    if (previous == kNoSlot)
        m_free_head = next;
    else
        m_slots[previous].next_free = next;
    if (m_free_tail == index)
        m_free_tail = previous;

    slot.object = object.release();
    slot.generation = generation;
    slot.rights = rights;
    ++m_count;
    return base::ok();
}

HandleTable::Slot* HandleTable::lookup(tern_handle_t handle) const {
    uint32_t index = index_of(handle);
    if (index >= m_fresh) // beyond the capacity, or never used
        return nullptr;
    Slot& slot = m_slots[index];
    // A free slot never matches: its object is null whatever the generation says, and
    // generation 0 (which includes TERN_INVALID_HANDLE) is never stored.
    if (!slot.object || slot.generation != generation_of(handle))
        return nullptr;
    return &slot;
}

Result<void> HandleTable::check(const Slot& slot, uint32_t type, uint32_t required_rights) {
    if (type != TERN_OBJ_ANY && slot.object->type() != type)
        return Error::WRONG_TYPE;
    if ((slot.rights & required_rights) != required_rights)
        return Error::ACCESS_DENIED;
    return base::ok();
}

Result<Ref<KObject>> HandleTable::get(tern_handle_t handle, uint32_t type, uint32_t required_rights,
                                      uint32_t* rights_out) const {
    Slot* slot = lookup(handle);
    if (!slot)
        return Error::BAD_HANDLE;
    TRY(check(*slot, type, required_rights));
    if (rights_out)
        *rights_out = slot->rights;
    return Ref<KObject>::retain(slot->object);
}

// Resolves TERN_RIGHTS_SAME and checks that `requested` only narrows `current`.
static Result<uint32_t> narrowed_rights(uint32_t current, uint32_t requested) {
    if (requested == TERN_RIGHTS_SAME)
        return current;
    if ((requested & ~current) != 0)
        return Error::ACCESS_DENIED;
    return requested;
}

Result<tern_handle_t> HandleTable::duplicate(tern_handle_t handle, uint32_t new_rights) {
    Slot* slot = lookup(handle);
    if (!slot)
        return Error::BAD_HANDLE;
    TRY(check(*slot, TERN_OBJ_ANY, TERN_RIGHT_DUPLICATE));
    uint32_t rights = TRY(narrowed_rights(slot->rights, new_rights));
    if (is_full())
        return Error::QUOTA_EXCEEDED;
    if (!slot->object->try_add_ref())
        return Error::QUOTA_EXCEEDED;
    return occupy(slot->object, rights);
}

Result<tern_handle_t> HandleTable::replace(tern_handle_t handle, uint32_t new_rights) {
    Slot* slot = lookup(handle);
    if (!slot)
        return Error::BAD_HANDLE;
    uint32_t rights = TRY(narrowed_rights(slot->rights, new_rights));
    // Vacating first guarantees a free slot, so replacing never fails for quota; the
    // reference moves from the old slot to the new one.
    KObject* object = vacate(index_of(handle));
    return occupy(object, rights);
}

Result<Ref<KObject>> HandleTable::remove(tern_handle_t handle, uint32_t* rights_out,
                                         uint32_t required_rights) {
    Slot* slot = lookup(handle);
    if (!slot)
        return Error::BAD_HANDLE;
    TRY(check(*slot, TERN_OBJ_ANY, required_rights));
    if (rights_out)
        *rights_out = slot->rights;
    return Ref<KObject>::adopt(vacate(index_of(handle)));
}

Result<void> HandleTable::close(tern_handle_t handle) {
    if (!lookup(handle))
        return Error::BAD_HANDLE;
    // The slot is free before the reference drops, so a destroy() hook that looks at
    // this table sees a consistent one.
    vacate(index_of(handle))->release_ref();
    return base::ok();
}

uint32_t HandleTable::clear() {
    uint32_t dropped = 0;
    for (uint32_t index = 0; index < m_fresh; ++index) {
        if (!m_slots[index].object)
            continue;
        vacate(index)->release_ref();
        ++dropped;
    }
    return dropped;
}

tern_handle_t HandleTable::occupy(KObject* object, uint32_t rights) {
    TERN_ASSERT(object);
    // Never-used slots come first, then freed ones oldest first: a closed handle's slot
    // is reused as late as possible, which keeps stale values stale the longest.
    uint32_t index;
    if (m_fresh < capacity()) {
        index = m_fresh++;
        m_slots[index].generation = 1;
    } else {
        TERN_ASSERT(m_free_head != kNoSlot);
        index = m_free_head;
        TERN_ASSERT(!m_slots[index].object);
        m_free_head = m_slots[index].next_free;
        if (m_free_head == kNoSlot)
            m_free_tail = kNoSlot;
    }
    Slot& slot = m_slots[index];
    slot.object = object;
    slot.rights = rights;
    ++m_count;
    return encode(index, slot.generation);
}

KObject* HandleTable::vacate(uint32_t index) {
    Slot& slot = m_slots[index];
    KObject* object = slot.object;
    TERN_ASSERT(object);
    slot.object = nullptr;
    // Generation 0 is skipped so no handle value is ever TERN_INVALID_HANDLE.
    slot.generation = slot.generation == kMaxGeneration ? 1 : slot.generation + 1;
    push_free(index);
    --m_count;
    return object;
}

void HandleTable::push_free(uint32_t index) {
    m_slots[index].next_free = kNoSlot;
    if (m_free_tail == kNoSlot)
        m_free_head = index;
    else
        m_slots[m_free_tail].next_free = index;
    m_free_tail = index;
}

} // namespace kernel::obj
