// Tests for KObject reference counting, Ref<T> and the per-task HandleTable.

#include <catch2/catch.hpp>
#include <kernel/containers/handle_table.h>
#include <kernel/object/kobject.h>

#include <map>
#include <memory>
#include <random>
#include <vector>

using base::Error;
using kernel::obj::downcast;
using kernel::obj::HandleTable;
using kernel::obj::InlineHandleTable;
using kernel::obj::KObject;
using kernel::obj::Ref;

namespace {

#define CHECK_ERROR(expr, expected)                                                                \
    do {                                                                                           \
        auto result_ = (expr);                                                                     \
        REQUIRE(result_.is_error());                                                               \
        CHECK(result_.error() == (expected));                                                      \
    } while (0)

// An object that only counts how often it was destroyed, so tests can keep it on the
// stack and look at it afterwards.
class CountedObject : public KObject {
public:
    explicit CountedObject(uint32_t type) : KObject(type) {}
    int destroyed = 0;

protected:
    void destroy() override { ++destroyed; }
};

class Port final : public CountedObject {
public:
    static constexpr uint32_t kType = TERN_OBJ_PORT;
    Port() : CountedObject(kType) {}
};

class Thread final : public CountedObject {
public:
    static constexpr uint32_t kType = TERN_OBJ_THREAD;
    Thread() : CountedObject(kType) {}
};

// An object on the heap that frees itself, as real kernel objects do; ASan reports a
// double destroy or a leak.
class HeapObject final : public KObject {
public:
    static constexpr uint32_t kType = TERN_OBJ_MEMORY;
    explicit HeapObject(int* destroyed) : KObject(kType), m_destroyed(destroyed) {}

private:
    void destroy() override {
        ++*m_destroyed;
        delete this;
    }
    int* m_destroyed;
};

// A fresh Ref<KObject> on a stack object, taking a reference for the table.
Ref<KObject> ref_to(KObject& object) { return Ref<KObject>::retain(&object); }

constexpr uint32_t kAll = TERN_RIGHTS_ALL;

} // namespace

TEST_CASE("KObject starts with the creator's reference and destroys once at zero") {
    Port port;
    CHECK(port.ref_count() == 1);
    {
        Ref<Port> first = Ref<Port>::adopt(&port);
        CHECK(port.ref_count() == 1);
        Ref<Port> second = first;
        CHECK(port.ref_count() == 2);
        Ref<Port> third(second);
        CHECK(port.ref_count() == 3);
        third.reset();
        CHECK(port.ref_count() == 2);
        CHECK(port.destroyed == 0);
    }
    CHECK(port.ref_count() == 0);
    CHECK(port.destroyed == 1);
}

TEST_CASE("Ref move passes the reference without counting") {
    Port port;
    Ref<Port> a = Ref<Port>::adopt(&port);
    Ref<Port> b = base::move(a);
    CHECK(a.is_null());
    CHECK(b.get() == &port);
    CHECK(port.ref_count() == 1);
    Ref<Port> c;
    c = base::move(b);
    CHECK(b.is_null());
    CHECK(port.ref_count() == 1);
    c.reset();
    CHECK(port.destroyed == 1);
    c.reset(); // resetting an empty Ref is harmless
    CHECK(port.destroyed == 1);
}

TEST_CASE("Ref release hands the reference to the caller and adopt takes it back") {
    Port port;
    Ref<Port> ref = Ref<Port>::adopt(&port);
    Port* raw = ref.release();
    CHECK(ref.is_null());
    CHECK(raw == &port);
    CHECK(port.ref_count() == 1);
    CHECK(port.destroyed == 0);
    Ref<Port> back = Ref<Port>::adopt(raw);
    back.reset();
    CHECK(port.destroyed == 1);
}

TEST_CASE("Ref assignment handles self-assignment and replaces the old object") {
    Port a;
    Port b;
    Ref<Port> ra = Ref<Port>::adopt(&a);
    Ref<Port> rb = Ref<Port>::adopt(&b);
    Ref<Port>& alias = ra;
    ra = alias;
    CHECK(a.ref_count() == 1);
    CHECK(a.destroyed == 0);
    ra = rb; // drops the only reference to a
    CHECK(a.destroyed == 1);
    CHECK(b.ref_count() == 2);
    ra = base::move(rb);
    CHECK(b.ref_count() == 1);
    CHECK(rb.is_null());
    ra.reset();
    CHECK(b.destroyed == 1);
}

TEST_CASE("Ref converts to a base class and downcast checks the type tag") {
    Port port;
    Ref<Port> typed = Ref<Port>::adopt(&port);
    Ref<KObject> any = typed;
    CHECK(port.ref_count() == 2);
    CHECK(any->type() == TERN_OBJ_PORT);
    CHECK(any->as<Port>() == &port);
    CHECK(any->as<Thread>() == nullptr);

    Ref<Thread> wrong = downcast<Thread>(base::move(any));
    CHECK(wrong.is_null());
    CHECK_FALSE(any.is_null()); // a failed downcast leaves the source alone
    Ref<Port> right = downcast<Port>(base::move(any));
    CHECK(right.get() == &port);
    CHECK(any.is_null());
    CHECK(port.ref_count() == 2);
    CHECK(right == typed);
}

TEST_CASE("a heap object frees itself exactly once when the last Ref goes") {
    int destroyed = 0;
    {
        Ref<KObject> a = Ref<HeapObject>::adopt(new HeapObject(&destroyed));
        Ref<KObject> b = a;
        InlineHandleTable<8> table;
        auto handle = table.insert(b, kAll);
        REQUIRE(handle.ok());
        a.reset();
        b.reset();
        CHECK(destroyed == 0);
        CHECK(table.close(handle.value()).ok());
        CHECK(destroyed == 1);
    }
    CHECK(destroyed == 1);
}

TEST_CASE("try_add_ref counts like add_ref below the ceiling") {
    Port port;
    REQUIRE(port.try_add_ref());
    CHECK(port.ref_count() == 2);
    port.release_ref();
    port.release_ref();
    CHECK(port.destroyed == 1);
}

TEST_CASE("insert and get return the same object with a reference") {
    Port port;
    InlineHandleTable<16> table;
    CHECK(table.capacity() == 16);
    auto handle = table.insert(ref_to(port), TERN_RIGHT_SEND | TERN_RIGHT_DUPLICATE);
    REQUIRE(handle.ok());
    CHECK(handle.value() != TERN_INVALID_HANDLE);
    CHECK(table.count() == 1);
    CHECK(port.ref_count() == 2);

    uint32_t rights = 0;
    auto object = table.get(handle.value(), TERN_OBJ_PORT, TERN_RIGHT_SEND, &rights);
    REQUIRE(object.ok());
    CHECK(object.value().get() == &port);
    CHECK(rights == (TERN_RIGHT_SEND | TERN_RIGHT_DUPLICATE));
    CHECK(port.ref_count() == 3);

    auto typed = table.get_as<Port>(handle.value(), TERN_RIGHT_SEND);
    REQUIRE(typed.ok());
    CHECK(typed.value().get() == &port);
    CHECK_ERROR(table.get_as<Thread>(handle.value(), 0), Error::WRONG_TYPE);
}

TEST_CASE("get rejects the invalid handle and values naming no slot") {
    Port port;
    InlineHandleTable<4> table;
    auto handle = table.insert(ref_to(port), kAll);
    REQUIRE(handle.ok());
    CHECK_ERROR(table.get(TERN_INVALID_HANDLE, TERN_OBJ_ANY, 0), Error::BAD_HANDLE);
    // Index beyond the capacity, right generation.
    CHECK_ERROR(table.get(HandleTable::encode(4, 1), TERN_OBJ_ANY, 0), Error::BAD_HANDLE);
    CHECK_ERROR(table.get(HandleTable::encode(HandleTable::kMaxCapacity - 1, 1), TERN_OBJ_ANY, 0),
                Error::BAD_HANDLE);
    // A free slot in range.
    CHECK_ERROR(table.get(HandleTable::encode(1, 1), TERN_OBJ_ANY, 0), Error::BAD_HANDLE);
    // The right slot with another generation.
    uint32_t index = HandleTable::index_of(handle.value());
    uint32_t generation = HandleTable::generation_of(handle.value());
    CHECK_ERROR(table.get(HandleTable::encode(index, generation + 1), TERN_OBJ_ANY, 0),
                Error::BAD_HANDLE);
    CHECK_ERROR(table.get(0xFFFFFFFFu, TERN_OBJ_ANY, 0), Error::BAD_HANDLE);
    CHECK(table.get(handle.value(), TERN_OBJ_ANY, 0).ok());
}

TEST_CASE("a closed handle stays stale after its slot is reused") {
    Port first;
    Port second;
    InlineHandleTable<1> table;
    auto old_handle = table.insert(ref_to(first), kAll);
    REQUIRE(old_handle.ok());
    REQUIRE(table.close(old_handle.value()).ok());
    auto new_handle = table.insert(ref_to(second), kAll);
    REQUIRE(new_handle.ok());
    // Same slot, new generation.
    CHECK(HandleTable::index_of(new_handle.value()) == HandleTable::index_of(old_handle.value()));
    CHECK(new_handle.value() != old_handle.value());
    CHECK_ERROR(table.get(old_handle.value(), TERN_OBJ_ANY, 0), Error::BAD_HANDLE);
    CHECK_ERROR(table.close(old_handle.value()), Error::BAD_HANDLE);
    CHECK_ERROR(table.duplicate(old_handle.value(), TERN_RIGHTS_SAME), Error::BAD_HANDLE);
    uint32_t rights = 0;
    CHECK_ERROR(table.remove(old_handle.value(), &rights), Error::BAD_HANDLE);
    auto object = table.get(new_handle.value(), TERN_OBJ_ANY, 0);
    REQUIRE(object.ok());
    CHECK(object.value().get() == &second);
}

TEST_CASE("get checks type, then rights, in that order") {
    Port port;
    InlineHandleTable<4> table;
    auto handle = table.insert(ref_to(port), TERN_RIGHT_SEND);
    REQUIRE(handle.ok());
    CHECK(table.get(handle.value(), TERN_OBJ_ANY, 0).ok());
    CHECK(table.get(handle.value(), TERN_OBJ_PORT, TERN_RIGHT_SEND).ok());
    CHECK_ERROR(table.get(handle.value(), TERN_OBJ_THREAD, 0), Error::WRONG_TYPE);
    CHECK_ERROR(table.get(handle.value(), TERN_OBJ_PORT, TERN_RIGHT_RECEIVE), Error::ACCESS_DENIED);
    CHECK_ERROR(table.get(handle.value(), TERN_OBJ_PORT, TERN_RIGHT_SEND | TERN_RIGHT_RECEIVE),
                Error::ACCESS_DENIED);
    // A wrong type is reported before missing rights.
    CHECK_ERROR(table.get(handle.value(), TERN_OBJ_TASK, TERN_RIGHT_CONTROL), Error::WRONG_TYPE);
    // Failed lookups take no reference.
    CHECK(port.ref_count() == 2);
}

TEST_CASE("a full table refuses inserts with QUOTA_EXCEEDED and drops the offered ref") {
    Port ports[3];
    Port extra;
    InlineHandleTable<3> table;
    for (Port& port : ports)
        REQUIRE(table.insert(ref_to(port), kAll).ok());
    CHECK(table.is_full());
    CHECK_ERROR(table.insert(ref_to(extra), kAll), Error::QUOTA_EXCEEDED);
    CHECK(extra.ref_count() == 1);
    CHECK(table.count() == 3);
}

TEST_CASE("insert rejects a null object and unknown rights bits") {
    Port port;
    InlineHandleTable<4> table;
    CHECK_ERROR(table.insert(Ref<KObject>(), kAll), Error::INVALID_ARGUMENT);
    CHECK_ERROR(table.insert(ref_to(port), TERN_RIGHTS_ALL + 1), Error::INVALID_ARGUMENT);
    CHECK_ERROR(table.insert(ref_to(port), TERN_RIGHTS_SAME), Error::INVALID_ARGUMENT);
    CHECK(table.count() == 0);
    CHECK(port.ref_count() == 1);
}

TEST_CASE("the default table quota is 1024 handles") {
    Port port;
    auto table = std::make_unique<InlineHandleTable<>>();
    CHECK(table->capacity() == HandleTable::kDefaultQuota);
    CHECK(HandleTable::kDefaultQuota == 1024);
    for (uint32_t i = 0; i < 1024; ++i)
        REQUIRE(table->insert(ref_to(port), kAll).ok());
    CHECK_ERROR(table->insert(ref_to(port), kAll), Error::QUOTA_EXCEEDED);
    CHECK(port.ref_count() == 1025);
    CHECK(table->clear() == 1024);
    CHECK(port.ref_count() == 1);
}

TEST_CASE("duplicate needs the DUPLICATE right and can only narrow rights") {
    Port port;
    InlineHandleTable<8> table;
    uint32_t rights = TERN_RIGHT_SEND | TERN_RIGHT_DUPLICATE | TERN_RIGHT_TRANSFER;
    auto handle = table.insert(ref_to(port), rights);
    REQUIRE(handle.ok());

    auto same = table.duplicate(handle.value(), TERN_RIGHTS_SAME);
    REQUIRE(same.ok());
    CHECK(same.value() != handle.value());
    uint32_t got = 0;
    REQUIRE(table.get(same.value(), TERN_OBJ_PORT, 0, &got).ok());
    CHECK(got == rights);

    auto narrower = table.duplicate(handle.value(), TERN_RIGHT_SEND);
    REQUIRE(narrower.ok());
    REQUIRE(table.get(narrower.value(), TERN_OBJ_PORT, 0, &got).ok());
    CHECK(got == TERN_RIGHT_SEND);
    CHECK(port.ref_count() == 4);

    // More rights than the source: refused, nothing created.
    CHECK_ERROR(table.duplicate(handle.value(), TERN_RIGHT_SEND | TERN_RIGHT_RECEIVE),
                Error::ACCESS_DENIED);
    CHECK_ERROR(table.duplicate(narrower.value(), TERN_RIGHT_SEND | TERN_RIGHT_DUPLICATE),
                Error::ACCESS_DENIED);
    // The narrower handle lacks DUPLICATE itself.
    CHECK_ERROR(table.duplicate(narrower.value(), TERN_RIGHT_SEND), Error::ACCESS_DENIED);
    CHECK_ERROR(table.duplicate(narrower.value(), 0), Error::ACCESS_DENIED);
    CHECK(table.count() == 3);
    CHECK(port.ref_count() == 4);

    // Zero rights is a subset of anything.
    auto none = table.duplicate(handle.value(), 0);
    REQUIRE(none.ok());
    CHECK_ERROR(table.get(none.value(), TERN_OBJ_PORT, TERN_RIGHT_SEND), Error::ACCESS_DENIED);
}

TEST_CASE("duplicate into a full table fails without taking a reference") {
    Port port;
    InlineHandleTable<2> table;
    auto handle = table.insert(ref_to(port), kAll);
    REQUIRE(handle.ok());
    REQUIRE(table.duplicate(handle.value(), TERN_RIGHTS_SAME).ok());
    CHECK_ERROR(table.duplicate(handle.value(), TERN_RIGHTS_SAME), Error::QUOTA_EXCEEDED);
    CHECK(port.ref_count() == 3);
}

TEST_CASE("replace narrows rights under a new value and invalidates the old one") {
    Port port;
    InlineHandleTable<1> table; // replacing must work even with no spare slot
    auto handle = table.insert(ref_to(port), TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    REQUIRE(handle.ok());
    CHECK_ERROR(table.replace(handle.value(), TERN_RIGHT_RECEIVE), Error::ACCESS_DENIED);
    auto replaced = table.replace(handle.value(), TERN_RIGHT_SEND);
    REQUIRE(replaced.ok());
    CHECK(replaced.value() != handle.value());
    CHECK_ERROR(table.get(handle.value(), TERN_OBJ_ANY, 0), Error::BAD_HANDLE);
    uint32_t rights = 0;
    REQUIRE(table.get(replaced.value(), TERN_OBJ_ANY, 0, &rights).ok());
    CHECK(rights == TERN_RIGHT_SEND);
    CHECK(port.ref_count() == 2);
    CHECK(table.count() == 1);
}

TEST_CASE("remove passes the reference and rights on, checking required rights") {
    Port port;
    InlineHandleTable<4> table;
    auto movable = table.insert(ref_to(port), TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER);
    auto pinned = table.insert(ref_to(port), TERN_RIGHT_SEND);
    REQUIRE(movable.ok());
    REQUIRE(pinned.ok());
    CHECK(port.ref_count() == 3);

    uint32_t rights = 0;
    CHECK_ERROR(table.remove(pinned.value(), &rights, TERN_RIGHT_TRANSFER), Error::ACCESS_DENIED);
    CHECK(table.count() == 2);

    auto taken = table.remove(movable.value(), &rights, TERN_RIGHT_TRANSFER);
    REQUIRE(taken.ok());
    CHECK(taken.value().get() == &port);
    CHECK(rights == (TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER));
    CHECK(table.count() == 1);
    CHECK(port.ref_count() == 3); // the table's reference now lives in `taken`
    CHECK_ERROR(table.get(movable.value(), TERN_OBJ_ANY, 0), Error::BAD_HANDLE);

    // Without a rights check, as for closing through a transfer path.
    auto also = table.remove(pinned.value(), nullptr);
    REQUIRE(also.ok());
    CHECK(table.count() == 0);
}

TEST_CASE("close drops the table's reference and destroys the last one once") {
    Port port;
    InlineHandleTable<4> table;
    Ref<KObject> creator = Ref<KObject>::adopt(&port);
    auto a = table.insert(creator, kAll);
    auto b = table.insert(creator, kAll);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    creator.reset();
    CHECK(port.ref_count() == 2);
    REQUIRE(table.close(a.value()).ok());
    CHECK(port.destroyed == 0);
    CHECK_ERROR(table.close(a.value()), Error::BAD_HANDLE);
    REQUIRE(table.close(b.value()).ok());
    CHECK(port.destroyed == 1);
    CHECK_ERROR(table.close(b.value()), Error::BAD_HANDLE);
    CHECK(port.destroyed == 1);
    CHECK(table.count() == 0);
}

TEST_CASE("clear drops every reference and leaves old handles stale") {
    Port ports[5];
    InlineHandleTable<8> table;
    std::vector<tern_handle_t> handles;
    for (Port& port : ports) {
        auto handle = table.insert(Ref<KObject>::adopt(&port), kAll);
        REQUIRE(handle.ok());
        handles.push_back(handle.value());
    }
    REQUIRE(table.close(handles[2]).ok());
    CHECK(table.clear() == 4);
    CHECK(table.count() == 0);
    for (Port& port : ports)
        CHECK(port.destroyed == 1);
    for (tern_handle_t handle : handles)
        CHECK_ERROR(table.get(handle, TERN_OBJ_ANY, 0), Error::BAD_HANDLE);
    CHECK(table.clear() == 0);
}

TEST_CASE("a sealed table takes no new handle") {
    Port kept, offered, at;
    InlineHandleTable<8> table;
    auto handle = table.insert(Ref<KObject>::adopt(&kept), kAll);
    REQUIRE(handle.ok());
    table.seal();
    CHECK(table.is_sealed());
    CHECK(table.clear() == 1);
    CHECK(kept.destroyed == 1);
    CHECK_ERROR(table.insert(Ref<KObject>::adopt(&offered), kAll), Error::BAD_STATE);
    CHECK(offered.destroyed == 1); // the refused reference is dropped, not kept
    CHECK_ERROR(table.insert_at(handle.value(), Ref<KObject>::adopt(&at), kAll), Error::BAD_STATE);
    CHECK(at.destroyed == 1);
    CHECK(table.count() == 0);
}

TEST_CASE("the destructor releases what the table still holds") {
    Port port;
    {
        InlineHandleTable<4> table;
        REQUIRE(table.insert(Ref<KObject>::adopt(&port), kAll).ok());
    }
    CHECK(port.destroyed == 1);
}

TEST_CASE("for_each lists every handle with its object and rights") {
    Port port;
    Thread thread;
    InlineHandleTable<8> table;
    auto a = table.insert(ref_to(port), TERN_RIGHT_SEND);
    auto b = table.insert(ref_to(thread), TERN_RIGHT_CONTROL);
    auto c = table.insert(ref_to(port), TERN_RIGHT_RECEIVE);
    REQUIRE((a.ok() && b.ok() && c.ok()));
    REQUIRE(table.close(b.value()).ok());
    std::map<tern_handle_t, std::pair<KObject*, uint32_t>> seen;
    table.for_each([&](tern_handle_t handle, KObject& object, uint32_t rights) {
        seen[handle] = {&object, rights};
    });
    REQUIRE(seen.size() == 2);
    CHECK(seen[a.value()] == std::make_pair(static_cast<KObject*>(&port), TERN_RIGHT_SEND));
    CHECK(seen[c.value()] == std::make_pair(static_cast<KObject*>(&port), TERN_RIGHT_RECEIVE));
}

TEST_CASE("freed slots are reused oldest first") {
    Port port;
    InlineHandleTable<4> table;
    tern_handle_t handles[4];
    for (tern_handle_t& handle : handles) {
        auto result = table.insert(ref_to(port), kAll);
        REQUIRE(result.ok());
        handle = result.value();
    }
    for (uint32_t i = 0; i < 4; ++i)
        CHECK(HandleTable::index_of(handles[i]) == i);
    REQUIRE(table.close(handles[2]).ok());
    REQUIRE(table.close(handles[0]).ok());
    auto first = table.insert(ref_to(port), kAll);
    auto second = table.insert(ref_to(port), kAll);
    REQUIRE((first.ok() && second.ok()));
    CHECK(HandleTable::index_of(first.value()) == 2);
    CHECK(HandleTable::index_of(second.value()) == 0);
}

TEST_CASE("a slot's generation wraps without ever producing the invalid handle") {
    Port port;
    InlineHandleTable<1> table;
    tern_handle_t previous = TERN_INVALID_HANDLE;
    tern_handle_t first = TERN_INVALID_HANDLE;
    for (uint32_t i = 0; i < HandleTable::kMaxGeneration + 2; ++i) {
        auto handle = table.insert(ref_to(port), kAll);
        REQUIRE(handle.ok());
        REQUIRE(handle.value() != TERN_INVALID_HANDLE);
        REQUIRE(handle.value() != previous);
        REQUIRE(HandleTable::generation_of(handle.value()) != 0);
        if (i == 0)
            first = handle.value();
        if (i == HandleTable::kMaxGeneration)
            CHECK(handle.value() == first); // the full cycle of generations
        previous = handle.value();
        REQUIRE(table.close(handle.value()).ok());
    }
    CHECK(port.ref_count() == 1);
}

TEST_CASE("insert_at recreates exact handle values") {
    Port port;
    Thread thread;
    InlineHandleTable<8> source;
    auto a = source.insert(ref_to(port), TERN_RIGHT_SEND);
    auto b = source.insert(ref_to(thread), TERN_RIGHT_CONTROL);
    REQUIRE((a.ok() && b.ok()));
    REQUIRE(source.close(a.value()).ok());
    auto c = source.insert(ref_to(port), TERN_RIGHT_RECEIVE); // generation 2 of slot 2
    REQUIRE(c.ok());

    InlineHandleTable<16> target;
    source.for_each([&](tern_handle_t handle, KObject& object, uint32_t rights) {
        REQUIRE(target.insert_at(handle, Ref<KObject>::retain(&object), rights).ok());
    });
    CHECK(target.count() == 2);
    uint32_t rights = 0;
    auto object = target.get(b.value(), TERN_OBJ_THREAD, TERN_RIGHT_CONTROL, &rights);
    REQUIRE(object.ok());
    CHECK(object.value().get() == &thread);
    object = target.get(c.value(), TERN_OBJ_PORT, TERN_RIGHT_RECEIVE, &rights);
    REQUIRE(object.ok());

    CHECK_ERROR(target.insert_at(b.value(), ref_to(port), kAll), Error::ALREADY_EXISTS);
    CHECK_ERROR(target.insert_at(HandleTable::encode(3, 0), ref_to(port), kAll), Error::BAD_HANDLE);
    CHECK_ERROR(target.insert_at(HandleTable::encode(16, 1), ref_to(port), kAll),
                Error::BAD_HANDLE);
    CHECK_ERROR(target.insert_at(HandleTable::encode(3, 1), Ref<KObject>(), kAll),
                Error::INVALID_ARGUMENT);

    // The free list is intact: every other slot can still be filled, then none.
    for (uint32_t i = 0; i < 14; ++i) {
        auto handle = target.insert(ref_to(port), kAll);
        REQUIRE(handle.ok());
        CHECK(handle.value() != b.value());
        CHECK(handle.value() != c.value());
    }
    CHECK_ERROR(target.insert(ref_to(port), kAll), Error::QUOTA_EXCEEDED);
}

namespace {
// Closes another handle of the same table from its destroy hook, as a task object
// tearing down a related handle might.
class ChainObject final : public KObject {
public:
    static constexpr uint32_t kType = TERN_OBJ_TASK;
    ChainObject() : KObject(kType) {}
    HandleTable* table = nullptr;
    tern_handle_t close_on_destroy = TERN_INVALID_HANDLE;
    bool close_ok = false;
    int destroyed = 0;

private:
    void destroy() override {
        ++destroyed;
        if (table && close_on_destroy != TERN_INVALID_HANDLE)
            close_ok = table->close(close_on_destroy).ok();
    }
};
} // namespace

TEST_CASE("a destroy hook may close other handles of the same table") {
    ChainObject outer;
    Port inner;
    InlineHandleTable<4> table;
    auto inner_handle = table.insert(Ref<KObject>::adopt(&inner), kAll);
    auto outer_handle = table.insert(Ref<KObject>::adopt(&outer), kAll);
    REQUIRE((inner_handle.ok() && outer_handle.ok()));
    outer.table = &table;
    outer.close_on_destroy = inner_handle.value();
    REQUIRE(table.close(outer_handle.value()).ok());
    CHECK(outer.destroyed == 1);
    CHECK(outer.close_ok);
    CHECK(inner.destroyed == 1);
    CHECK(table.count() == 0);

    // The same during clear().
    ChainObject outer2;
    Port inner2;
    auto h1 = table.insert(Ref<KObject>::adopt(&outer2), kAll);
    auto h2 = table.insert(Ref<KObject>::adopt(&inner2), kAll);
    REQUIRE((h1.ok() && h2.ok()));
    outer2.table = &table;
    outer2.close_on_destroy = h2.value();
    table.clear();
    CHECK(outer2.destroyed == 1);
    CHECK(inner2.destroyed == 1);
    CHECK(table.count() == 0);
}

TEST_CASE("random operations match a model of the table") {
    constexpr uint32_t kCapacity = 32;
    Port ports[4];
    InlineHandleTable<kCapacity> table;
    struct Entry {
        KObject* object;
        uint32_t rights;
    };
    std::map<tern_handle_t, Entry> live;
    std::vector<tern_handle_t> dead;
    std::mt19937 rng(0x7e51);
    auto pick_live = [&]() {
        auto it = live.begin();
        std::advance(it, rng() % live.size());
        return it->first;
    };

    for (int step = 0; step < 20000; ++step) {
        uint32_t op = rng() % 6;
        if (op == 0 || live.empty()) {
            Port& port = ports[rng() % 4];
            uint32_t rights = rng() & TERN_RIGHTS_ALL;
            auto handle = table.insert(ref_to(port), rights);
            if (live.size() == kCapacity) {
                REQUIRE(handle.is_error());
                REQUIRE(handle.error() == Error::QUOTA_EXCEEDED);
            } else {
                REQUIRE(handle.ok());
                REQUIRE(live.count(handle.value()) == 0);
                live[handle.value()] = {&port, rights};
            }
        } else if (op == 1) {
            tern_handle_t handle = pick_live();
            REQUIRE(table.close(handle).ok());
            live.erase(handle);
            dead.push_back(handle);
        } else if (op == 2) {
            tern_handle_t handle = pick_live();
            uint32_t wanted = rng() & TERN_RIGHTS_ALL;
            const Entry entry = live[handle];
            auto copy = table.duplicate(handle, wanted);
            if (!(entry.rights & TERN_RIGHT_DUPLICATE) || (wanted & ~entry.rights)) {
                REQUIRE(copy.is_error());
                REQUIRE(copy.error() == Error::ACCESS_DENIED);
            } else if (live.size() == kCapacity) {
                REQUIRE(copy.is_error());
                REQUIRE(copy.error() == Error::QUOTA_EXCEEDED);
            } else {
                REQUIRE(copy.ok());
                live[copy.value()] = {entry.object, wanted};
            }
        } else if (op == 3) {
            tern_handle_t handle = pick_live();
            uint32_t required = rng() & TERN_RIGHTS_ALL & (rng() & TERN_RIGHTS_ALL);
            uint32_t type = rng() % 3 == 0 ? TERN_OBJ_THREAD : TERN_OBJ_PORT;
            uint32_t rights = 0;
            auto object = table.get(handle, type, required, &rights);
            const Entry& entry = live[handle];
            if (type != TERN_OBJ_PORT) {
                REQUIRE(object.error() == Error::WRONG_TYPE);
            } else if ((entry.rights & required) != required) {
                REQUIRE(object.error() == Error::ACCESS_DENIED);
            } else {
                REQUIRE(object.ok());
                REQUIRE(object.value().get() == entry.object);
                REQUIRE(rights == entry.rights);
            }
        } else if (op == 4 && !dead.empty()) {
            tern_handle_t handle = dead[rng() % dead.size()];
            if (live.count(handle) == 0)
                REQUIRE(table.get(handle, TERN_OBJ_ANY, 0).error() == Error::BAD_HANDLE);
        } else if (op == 5) {
            tern_handle_t handle = pick_live();
            uint32_t rights = 0;
            auto object = table.remove(handle, &rights);
            REQUIRE(object.ok());
            REQUIRE(object.value().get() == live[handle].object);
            REQUIRE(rights == live[handle].rights);
            live.erase(handle);
            dead.push_back(handle);
        }
        REQUIRE(table.count() == live.size());
    }

    // Every reference the model says is held is held, and nothing else.
    uint32_t expected[4] = {1, 1, 1, 1};
    for (auto& [handle, entry] : live) {
        for (int i = 0; i < 4; ++i) {
            if (entry.object == &ports[i])
                ++expected[i];
        }
    }
    for (int i = 0; i < 4; ++i)
        CHECK(ports[i].ref_count() == expected[i]);
    table.clear();
    for (Port& port : ports)
        CHECK(port.ref_count() == 1);
}
