// Host tests for base::Span, base::IntrusiveList and base::FixedVector.

#include <base/fixed_vector.h>
#include <base/intrusive_list.h>
#include <base/optional.h>
#include <base/span.h>
#include <catch2/catch.hpp>
#include <vector>

using base::Error;
using base::FixedVector;
using base::IntrusiveList;
using base::ListNode;
using base::Span;

namespace {

// The node is deliberately not the first member, so the list must apply its offset.
struct Item {
    int value;
    ListNode node;
    ListNode other_node;
    explicit Item(int v) : value(v) {}
};

using ItemList = IntrusiveList<Item, &Item::node>;
using OtherList = IntrusiveList<Item, &Item::other_node>;

std::vector<int> values(const ItemList& list) {
    std::vector<int> out;
    for (const Item& item : list)
        out.push_back(item.value);
    return out;
}

struct Tracked {
    static inline int live = 0;
    int value;
    explicit Tracked(int v) : value(v) { ++live; }
    Tracked(const Tracked& other) : value(other.value) { ++live; }
    Tracked(Tracked&& other) : value(other.value) { ++live; }
    Tracked& operator=(const Tracked&) = default;
    Tracked& operator=(Tracked&&) = default;
    ~Tracked() { --live; }
};

struct MoveOnly {
    int value;
    explicit MoveOnly(int v) : value(v) {}
    MoveOnly(MoveOnly&&) = default;
    MoveOnly& operator=(MoveOnly&&) = default;
    MoveOnly(const MoveOnly&) = delete;
    MoveOnly& operator=(const MoveOnly&) = delete;
};

int sum(Span<const int> s) {
    int total = 0;
    for (int v : s)
        total += v;
    return total;
}

} // namespace

TEST_CASE("Span views, slices and conversion", "[base][span]") {
    int array[] = {1, 2, 3, 4, 5};
    Span<int> s = array;
    REQUIRE(s.size() == 5);
    REQUIRE_FALSE(s.empty());
    REQUIRE(s[4] == 5);
    REQUIRE(s.front() == 1);
    REQUIRE(s.back() == 5);
    REQUIRE(s.size_bytes() == sizeof(array));

    REQUIRE(sum(s) == 15);
    REQUIRE(sum(s.subspan(1, 3)) == 9);
    REQUIRE(sum(s.subspan(2)) == 12);
    REQUIRE(s.subspan(5).empty());
    REQUIRE(sum(s.first(2)) == 3);
    REQUIRE(sum(s.last(2)) == 9);
    REQUIRE(s.first(0).empty());

    s[0] = 10;
    REQUIRE(array[0] == 10);

    Span<const int> c = s;
    REQUIRE(c.data() == array);
    Span<const int> from_pointer(array + 1, 2);
    REQUIRE(sum(from_pointer) == 5);

    Span<int> empty;
    REQUIRE(empty.empty());
    REQUIRE(empty.begin() == empty.end());

    auto bytes = base::as_bytes(c);
    REQUIRE(bytes.size() == sizeof(array));
}

TEST_CASE("IntrusiveList push, pop and order", "[base][list]") {
    Item a(1), b(2), c(3);
    ItemList list;
    REQUIRE(list.is_empty());
    REQUIRE(list.front() == nullptr);
    REQUIRE(list.pop_front() == nullptr);

    list.push_back(b);
    list.push_back(c);
    list.push_front(a);
    REQUIRE(list.size() == 3);
    REQUIRE(values(list) == std::vector<int>{1, 2, 3});
    REQUIRE(list.front() == &a);
    REQUIRE(list.back() == &c);
    REQUIRE(a.node.is_linked());
    REQUIRE(list.contains(b));

    REQUIRE(list.pop_front() == &a);
    REQUIRE_FALSE(a.node.is_linked());
    REQUIRE_FALSE(list.contains(a));
    REQUIRE(list.pop_back() == &c);
    REQUIRE(list.pop_front() == &b);
    REQUIRE(list.pop_front() == nullptr);
    REQUIRE(list.is_empty());
    REQUIRE(list.size() == 0);
}

TEST_CASE("IntrusiveList remove from any position", "[base][list]") {
    Item items[] = {Item(0), Item(1), Item(2), Item(3), Item(4)};
    ItemList list;
    for (Item& item : items)
        list.push_back(item);

    list.remove(items[2]);
    REQUIRE(values(list) == std::vector<int>{0, 1, 3, 4});
    list.remove(items[0]);
    REQUIRE(values(list) == std::vector<int>{1, 3, 4});
    list.remove(items[4]);
    REQUIRE(values(list) == std::vector<int>{1, 3});
    REQUIRE(list.size() == 2);

    // A removed element can be linked again.
    list.push_front(items[2]);
    REQUIRE(values(list) == std::vector<int>{2, 1, 3});

    list.insert_before(items[3], items[0]);
    list.insert_after(items[3], items[4]);
    REQUIRE(values(list) == std::vector<int>{2, 1, 0, 3, 4});
    REQUIRE(list.next(items[3]) == &items[4]);
    REQUIRE(list.next(items[4]) == nullptr);
    list.clear();
    REQUIRE(list.is_empty());
    for (Item& item : items)
        REQUIRE_FALSE(item.node.is_linked());
}

TEST_CASE("IntrusiveList allows removing the current element while iterating", "[base][list]") {
    Item items[] = {Item(1), Item(2), Item(3), Item(4), Item(5), Item(6)};
    ItemList list;
    for (Item& item : items)
        list.push_back(item);
    for (Item& item : list) {
        if (item.value % 2 == 0)
            list.remove(item);
    }
    REQUIRE(values(list) == std::vector<int>{1, 3, 5});
    list.clear();
}

TEST_CASE("An element can sit on two lists through two nodes", "[base][list]") {
    Item a(1), b(2);
    ItemList first;
    OtherList second;
    first.push_back(a);
    first.push_back(b);
    second.push_back(b);
    second.push_back(a);
    REQUIRE(second.front() == &b);
    REQUIRE(first.front() == &a);
    first.remove(a);
    REQUIRE(second.contains(a));
    REQUIRE(second.size() == 2);
    first.clear();
    second.clear();
}

TEST_CASE("Copying a linked element yields an unlinked copy", "[base][list]") {
    Item a(1);
    ItemList list;
    list.push_back(a);
    Item copy = a;
    REQUIRE(copy.value == 1);
    REQUIRE_FALSE(copy.node.is_linked());
    list.push_back(copy);
    REQUIRE(list.size() == 2);
    copy = a;
    REQUIRE(list.contains(copy));
    list.clear();
}

TEST_CASE("IntrusiveList moves keep the elements linked", "[base][list]") {
    Item a(1), b(2);
    ItemList list;
    list.push_back(a);
    list.push_back(b);
    ItemList moved(base::move(list));
    REQUIRE(list.is_empty());
    REQUIRE(values(moved) == std::vector<int>{1, 2});
    REQUIRE(moved.pop_back() == &b);
    REQUIRE(moved.pop_back() == &a);

    ItemList empty_source;
    ItemList target(base::move(empty_source));
    REQUIRE(target.is_empty());
    target.push_back(a);
    REQUIRE(target.front() == &a);
    target.clear();
}

TEST_CASE("FixedVector fills up and reports NO_SPACE", "[base][vector]") {
    FixedVector<int, 3> v;
    REQUIRE(v.is_empty());
    REQUIRE(v.capacity() == 3);
    REQUIRE(v.push_back(1).ok());
    REQUIRE(v.push_back(2).ok());
    REQUIRE(v.emplace_back(3).ok());
    REQUIRE(v.is_full());
    auto full = v.push_back(4);
    REQUIRE(full.is_error());
    REQUIRE(full.error() == Error::NO_SPACE);
    REQUIRE(v.emplace_back(5).error() == Error::NO_SPACE);
    REQUIRE(v.size() == 3);
    REQUIRE(v[0] == 1);
    REQUIRE(v.back() == 3);

    REQUIRE(v.pop_back() == 3);
    REQUIRE(v.size() == 2);
    REQUIRE(v.push_back(7).ok());
    REQUIRE(v.back() == 7);
}

TEST_CASE("FixedVector erase keeps order, swap_erase does not", "[base][vector]") {
    FixedVector<int, 8> v;
    for (int i = 0; i < 6; ++i)
        REQUIRE(v.push_back(i).ok());
    v.erase(0);
    v.erase(2);
    REQUIRE(std::vector<int>(v.begin(), v.end()) == std::vector<int>{1, 2, 4, 5});
    v.erase(3);
    REQUIRE(std::vector<int>(v.begin(), v.end()) == std::vector<int>{1, 2, 4});
    v.swap_erase(0);
    REQUIRE(std::vector<int>(v.begin(), v.end()) == std::vector<int>{4, 2});
    v.swap_erase(1);
    REQUIRE(std::vector<int>(v.begin(), v.end()) == std::vector<int>{4});
    v.clear();
    REQUIRE(v.is_empty());
}

TEST_CASE("FixedVector spans and copies", "[base][vector]") {
    FixedVector<int, 4> v;
    REQUIRE(v.push_back(5).ok());
    REQUIRE(v.push_back(6).ok());
    REQUIRE(sum(v.span()) == 11);
    const auto& cv = v;
    Span<const int> cs = cv.span();
    REQUIRE(cs.size() == 2);
    v.span()[0] = 1;
    REQUIRE(v[0] == 1);

    FixedVector<int, 4> copy = v;
    REQUIRE(copy.size() == 2);
    REQUIRE(copy[1] == 6);
    copy[1] = 9;
    REQUIRE(v[1] == 6);
}

TEST_CASE("FixedVector constructs and destroys exactly its elements", "[base][vector]") {
    int before = Tracked::live;
    {
        FixedVector<Tracked, 4> v;
        REQUIRE(Tracked::live == before);
        REQUIRE(v.emplace_back(1).ok());
        REQUIRE(v.emplace_back(2).ok());
        REQUIRE(v.push_back(Tracked(3)).ok());
        REQUIRE(Tracked::live == before + 3);
        v.erase(0);
        REQUIRE(Tracked::live == before + 2);
        REQUIRE(v[0].value == 2);
        FixedVector<Tracked, 4> moved = base::move(v);
        REQUIRE(v.is_empty());
        REQUIRE(Tracked::live == before + 2);
        {
            Tracked popped = moved.pop_back();
            REQUIRE(popped.value == 3);
        }
        REQUIRE(Tracked::live == before + 1);
    }
    REQUIRE(Tracked::live == before);
}

TEST_CASE("FixedVector holds move-only values", "[base][vector]") {
    FixedVector<MoveOnly, 2> v;
    REQUIRE(v.push_back(MoveOnly(1)).ok());
    REQUIRE(v.emplace_back(2).ok());
    REQUIRE(v.push_back(MoveOnly(3)).error() == Error::NO_SPACE);
    MoveOnly last = v.pop_back();
    REQUIRE(last.value == 2);
    REQUIRE(v.size() == 1);
}

TEST_CASE("plain-data containers stay trivially destructible", "[base][vector]") {
    // The kernel has no exit-time destructor support, so globals of these types must not
    // need one.
    STATIC_REQUIRE(__has_trivial_destructor(FixedVector<int, 4>));
    STATIC_REQUIRE(__has_trivial_destructor(base::Optional<int>));
    STATIC_REQUIRE(__has_trivial_destructor(ItemList));
    STATIC_REQUIRE_FALSE(__has_trivial_destructor(FixedVector<Tracked, 4>));
}
