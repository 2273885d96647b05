// Host tests for base::Result, TRY/MUST, base::Optional and the error tables.

#include <base/error.h>
#include <base/optional.h>
#include <base/result.h>
#include <base/utility.h>
#include <catch2/catch.hpp>
#include <string.h>

using base::Error;
using base::Optional;
using base::Result;

namespace {

// A value that can only be moved, and that counts live instances so tests can see that
// Result and Optional construct and destroy exactly what they hold.
struct MoveOnly {
    static inline int live = 0;
    int value;
    explicit MoveOnly(int v) : value(v) { ++live; }
    MoveOnly(MoveOnly&& other) : value(other.value) {
        other.value = -1;
        ++live;
    }
    MoveOnly& operator=(MoveOnly&& other) {
        value = base::exchange(other.value, -1);
        return *this;
    }
    MoveOnly(const MoveOnly&) = delete;
    MoveOnly& operator=(const MoveOnly&) = delete;
    ~MoveOnly() { --live; }
};

// No default constructor: Result must not need one.
struct NoDefault {
    explicit NoDefault(int v) : value(v) {}
    int value;
};

Result<int> half(int v) {
    if (v % 2 != 0)
        return Error::INVALID_ARGUMENT;
    return v / 2;
}

Result<int> quarter(int v) {
    int h = TRY(half(v));
    int q = TRY(half(h));
    return q;
}

Result<void> check_even(int v) {
    if (v % 2 != 0)
        return Error::OUT_OF_RANGE;
    return {};
}

Result<int> checked_double(int v) {
    TRY(check_even(v));
    return v * 2;
}

Result<void> all_even(int a, int b) {
    TRY(check_even(a));
    TRY(check_even(b));
    return base::ok();
}

Result<MoveOnly> make_move_only(int v) {
    if (v < 0)
        return Error::NO_MEMORY;
    return MoveOnly(v);
}

Result<int> unwrap_move_only(int v) {
    MoveOnly m = TRY(make_move_only(v));
    return m.value;
}

// TRY may also be used in a function that returns a plain Error.
Error status_of(int v) {
    TRY(check_even(v));
    return Error::OK;
}

} // namespace

TEST_CASE("Result holds a value or an error", "[base][result]") {
    Result<int> good = 42;
    REQUIRE(good.ok());
    REQUIRE_FALSE(good.is_error());
    REQUIRE(good.value() == 42);

    Result<int> bad = Error::NOT_FOUND;
    REQUIRE(bad.is_error());
    REQUIRE_FALSE(bad.ok());
    REQUIRE(bad.error() == Error::NOT_FOUND);
    REQUIRE(bad.value_or(7) == 7);
    REQUIRE(good.value_or(7) == 42);
}

TEST_CASE("TRY propagates errors and yields values", "[base][result]") {
    REQUIRE(quarter(8).value() == 2);
    REQUIRE(quarter(6).error() == Error::INVALID_ARGUMENT);
    REQUIRE(quarter(3).error() == Error::INVALID_ARGUMENT);
}

TEST_CASE("TRY works with Result<void> in both directions", "[base][result]") {
    REQUIRE(checked_double(4).value() == 8);
    REQUIRE(checked_double(5).error() == Error::OUT_OF_RANGE);
    REQUIRE(all_even(2, 4).ok());
    REQUIRE(all_even(2, 5).error() == Error::OUT_OF_RANGE);
    REQUIRE(all_even(3, 4).error() == Error::OUT_OF_RANGE);
    REQUIRE(status_of(2) == Error::OK);
    REQUIRE(status_of(3) == Error::OUT_OF_RANGE);
}

TEST_CASE("Result<void> success forms", "[base][result]") {
    Result<void> a;
    Result<void> b = base::ok();
    Result<void> c = Error::OK;
    Result<void> d = Error::BUSY;
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    REQUIRE(c.ok());
    REQUIRE(d.is_error());
    REQUIRE(d.error() == Error::BUSY);
}

TEST_CASE("Result works with move-only values", "[base][result]") {
    int before = MoveOnly::live;
    {
        Result<MoveOnly> r = make_move_only(5);
        REQUIRE(r.ok());
        REQUIRE(r.value().value == 5);
        MoveOnly taken = r.release_value();
        REQUIRE(taken.value == 5);

        Result<MoveOnly> moved = make_move_only(9);
        Result<MoveOnly> target = Error::BUSY;
        target = base::move(moved);
        REQUIRE(target.value().value == 9);

        Result<MoveOnly> failed = make_move_only(-1);
        REQUIRE(failed.error() == Error::NO_MEMORY);
        REQUIRE(base::move(failed).value_or(MoveOnly(3)).value == 3);
    }
    REQUIRE(MoveOnly::live == before);
    REQUIRE(unwrap_move_only(11).value() == 11);
    REQUIRE(unwrap_move_only(-2).error() == Error::NO_MEMORY);
    REQUIRE(MoveOnly::live == before);
}

TEST_CASE("Result works with non-default-constructible values and pointers", "[base][result]") {
    Result<NoDefault> r = NoDefault(3);
    REQUIRE(r.value().value == 3);
    Result<NoDefault> e = Error::TIMED_OUT;
    REQUIRE(e.error() == Error::TIMED_OUT);

    int x = 1;
    Result<int*> p = &x;
    REQUIRE(p.value() == &x);
    Result<int*> null = nullptr;
    REQUIRE(null.ok());
    REQUIRE(null.value() == nullptr);

    // Converting construction: an int literal into a Result<uint64_t>.
    Result<uint64_t> wide = 5;
    REQUIRE(wide.value() == 5u);
}

TEST_CASE("Result copies and assignment", "[base][result]") {
    Result<int> a = 1;
    Result<int> b = a;
    Result<int> c = Error::CORRUPT;
    c = b;
    REQUIRE(c.value() == 1);
    b = Error::TOO_BIG;
    REQUIRE(b.error() == Error::TOO_BIG);
    a = b;
    REQUIRE(a.error() == Error::TOO_BIG);
}

TEST_CASE("MUST yields the value of a successful Result", "[base][result]") {
    int v = MUST(half(10));
    REQUIRE(v == 5);
    MUST(check_even(2));
    MoveOnly m = MUST(make_move_only(4));
    REQUIRE(m.value == 4);
}

TEST_CASE("error names and descriptions come from the ABI table", "[base][error]") {
    REQUIRE(strcmp(base::error_name(Error::OK), "OK") == 0);
    REQUIRE(strcmp(base::error_name(Error::NO_MEMORY), "NO_MEMORY") == 0);
    REQUIRE(strcmp(base::error_name(Error::TOO_BIG), "TOO_BIG") == 0);
    REQUIRE(strcmp(base::error_description(Error::NO_MEMORY), "out of memory") == 0);
    REQUIRE(static_cast<int>(Error::NO_MEMORY) == TERN_NO_MEMORY);
    REQUIRE(static_cast<int>(Error::TOO_BIG) == TERN_TOO_BIG);
    // Codes from outside (another node, a newer binary) must not index past the table.
    REQUIRE(strcmp(base::error_name(static_cast<Error>(9999)), "UNKNOWN_ERROR") == 0);
    REQUIRE(strcmp(base::error_name(static_cast<Error>(-1)), "UNKNOWN_ERROR") == 0);
    REQUIRE(strcmp(base::error_description(static_cast<Error>(9999)), "unknown error") == 0);
}

TEST_CASE("syscall return conversion", "[base][error]") {
    REQUIRE(base::to_syscall_return(Error::NO_MEMORY) == -1);
    REQUIRE(base::error_from_syscall_return(-TERN_BAD_HANDLE) == Error::BAD_HANDLE);
    REQUIRE(base::error_from_syscall_return(12345) == Error::OK);
}

TEST_CASE("Optional basics", "[base][optional]") {
    Optional<int> empty;
    REQUIRE_FALSE(empty.has_value());
    REQUIRE(empty.value_or(3) == 3);
    REQUIRE(empty == base::nullopt);

    Optional<int> full = 7;
    REQUIRE(full.has_value());
    REQUIRE(*full == 7);
    REQUIRE(full.value_or(3) == 7);
    REQUIRE(full == 7);

    full.reset();
    REQUIRE_FALSE(full.has_value());
    full.emplace(9);
    REQUIRE(full.value() == 9);
    full = base::nullopt;
    REQUIRE_FALSE(full.has_value());

    Optional<int> a = 1;
    Optional<int> b = a;
    REQUIRE(a == b);
    b = empty;
    REQUIRE_FALSE(b.has_value());
    REQUIRE_FALSE(a == b);
}

TEST_CASE("Optional of a move-only value", "[base][optional]") {
    int before = MoveOnly::live;
    {
        Optional<MoveOnly> o;
        o.emplace(4);
        REQUIRE(o->value == 4);
        Optional<MoveOnly> p = base::move(o);
        REQUIRE(p.has_value());
        REQUIRE(p->value == 4);
        MoveOnly taken = p.release_value();
        REQUIRE(taken.value == 4);
        REQUIRE_FALSE(p.has_value());

        Optional<MoveOnly> q = MoveOnly(8);
        Optional<MoveOnly> r;
        r = base::move(q);
        REQUIRE(r->value == 8);
        REQUIRE(base::move(r).value_or(MoveOnly(1)).value == 8);
    }
    REQUIRE(MoveOnly::live == before);
}

TEST_CASE("utility helpers", "[base][utility]") {
    STATIC_REQUIRE(base::align_up(0x1001, 0x1000) == 0x2000);
    STATIC_REQUIRE(base::align_up(0x1000, 0x1000) == 0x1000);
    STATIC_REQUIRE(base::align_down(0x1fff, 0x1000) == 0x1000);
    STATIC_REQUIRE(base::is_aligned(0x3000, 0x1000));
    STATIC_REQUIRE_FALSE(base::is_aligned(0x3001, 0x1000));
    STATIC_REQUIRE(base::is_power_of_two(1));
    STATIC_REQUIRE(base::is_power_of_two(1ull << 63));
    STATIC_REQUIRE_FALSE(base::is_power_of_two(0));
    STATIC_REQUIRE_FALSE(base::is_power_of_two(12));
    STATIC_REQUIRE(base::KiB(4) == 4096);
    STATIC_REQUIRE(base::MiB(2) == 2 * 1024 * 1024);
    STATIC_REQUIRE(base::GiB(1) == 1ull << 30);
    STATIC_REQUIRE(base::min(3, 5) == 3);
    STATIC_REQUIRE(base::max(3, 5) == 5);
    STATIC_REQUIRE(base::clamp(9, 0, 4) == 4);
    STATIC_REQUIRE(base::clamp(-1, 0, 4) == 0);
    STATIC_REQUIRE(base::is_same_v<base::decay_t<const int&>, int>);
    STATIC_REQUIRE(base::is_same_v<base::decay_t<int[3]>, int*>);
    STATIC_REQUIRE(base::is_signed_v<int64_t>);
    STATIC_REQUIRE_FALSE(base::is_signed_v<uint64_t>);
    STATIC_REQUIRE(base::is_integral_v<const unsigned char>);
    STATIC_REQUIRE_FALSE(base::is_integral_v<int*>);
    STATIC_REQUIRE(base::is_pointer_v<int* const>);
    STATIC_REQUIRE(base::is_convertible_v<int, uint64_t>);
    STATIC_REQUIRE_FALSE(base::is_convertible_v<Error, int>);

    int a = 1;
    int b = 2;
    base::swap(a, b);
    REQUIRE(a == 2);
    REQUIRE(b == 1);
    REQUIRE(base::exchange(a, 5) == 2);
    REQUIRE(a == 5);

    char buf[8];
    base::memset(buf, 'x', sizeof(buf));
    base::memcpy(buf, "hi", 3);
    REQUIRE(base::strlen(buf) == 2);
    REQUIRE(base::memcmp(buf, "hi", 3) == 0);
}
