// Host tests for base::Bitmap: single bits, ranges across word boundaries and searches.

#include <base/bitmap.h>
#include <catch2/catch.hpp>

using base::Bitmap;

TEST_CASE("Bitmap single bits", "[base][bitmap]") {
    uint64_t words[2] = {0, 0};
    Bitmap bits(words, 100);
    REQUIRE(bits.size() == 100);
    REQUIRE(bits.word_count() == 2);
    REQUIRE(Bitmap::words_needed(64) == 1);
    REQUIRE(Bitmap::words_needed(65) == 2);
    REQUIRE(Bitmap::words_needed(0) == 0);

    bits.set(0);
    bits.set(63);
    bits.set(64);
    bits.set(99);
    REQUIRE(bits.test(0));
    REQUIRE(bits.test(63));
    REQUIRE(bits.test(64));
    REQUIRE(bits.test(99));
    REQUIRE_FALSE(bits.test(1));
    REQUIRE(words[0] == (1ull | (1ull << 63)));
    REQUIRE(words[1] == (1ull | (1ull << 35)));
    REQUIRE(bits.count_set() == 4);
    REQUIRE(bits.count_clear() == 96);

    bits.clear(63);
    REQUIRE_FALSE(bits.test(63));
    bits.assign(5, true);
    REQUIRE(bits.test(5));
    bits.assign(5, false);
    REQUIRE_FALSE(bits.test(5));
}

TEST_CASE("Bitmap ranges across word boundaries", "[base][bitmap]") {
    uint64_t words[4] = {};
    Bitmap bits(words, 256);
    bits.set_range(60, 10);
    REQUIRE(bits.count_set() == 10);
    REQUIRE(words[0] == 0xf000000000000000ull);
    REQUIRE(words[1] == 0x3full);
    REQUIRE(bits.is_range_set(60, 10));
    REQUIRE_FALSE(bits.is_range_set(59, 10));
    REQUIRE(bits.is_range_clear(0, 60));
    REQUIRE(bits.is_range_clear(70, 186));
    REQUIRE_FALSE(bits.is_range_clear(69, 2));

    bits.set_range(0, 256);
    REQUIRE(bits.count_set() == 256);
    bits.clear_range(1, 254);
    REQUIRE(bits.count_set() == 2);
    REQUIRE(bits.test(0));
    REQUIRE(bits.test(255));

    // Whole-word ranges and empty ranges.
    bits.clear_all();
    bits.set_range(64, 128);
    REQUIRE(words[0] == 0);
    REQUIRE(words[1] == ~0ull);
    REQUIRE(words[2] == ~0ull);
    REQUIRE(words[3] == 0);
    bits.set_range(10, 0);
    REQUIRE(bits.count_set() == 128);
    REQUIRE(bits.count_set(60, 10) == 6);
    REQUIRE(bits.is_range_clear(10, 0));
}

TEST_CASE("Bitmap ranges never touch bits past the end", "[base][bitmap]") {
    uint64_t words[2] = {0, 0};
    Bitmap bits(words, 70);
    bits.set_all();
    REQUIRE(bits.count_set() == 70);
    REQUIRE(words[1] == 0x3full);
    bits.clear_all();
    REQUIRE(words[0] == 0);
    REQUIRE(words[1] == 0);
}

TEST_CASE("Bitmap find_first_set and find_first_clear", "[base][bitmap]") {
    uint64_t words[3] = {};
    Bitmap bits(words, 150);
    REQUIRE_FALSE(bits.find_first_set().has_value());
    REQUIRE(bits.find_first_clear().value() == 0);

    bits.set(130);
    REQUIRE(bits.find_first_set().value() == 130);
    REQUIRE(bits.find_first_set(130).value() == 130);
    REQUIRE_FALSE(bits.find_first_set(131).has_value());
    REQUIRE_FALSE(bits.find_first_set(150).has_value());
    REQUIRE_FALSE(bits.find_first_set(1000).has_value());

    bits.set_all();
    REQUIRE_FALSE(bits.find_first_clear().has_value());
    bits.clear(149);
    REQUIRE(bits.find_first_clear().value() == 149);
    REQUIRE(bits.find_first_clear(149).value() == 149);
    bits.clear(64);
    REQUIRE(bits.find_first_clear(3).value() == 64);
    REQUIRE(bits.find_first_clear(65).value() == 149);
}

TEST_CASE("Bitmap searches ignore stale bits beyond the size", "[base][bitmap]") {
    // Bits past the end are garbage the caller never cleared; a search must not report
    // them.
    uint64_t words[1] = {~0ull << 10};
    Bitmap bits(words, 10);
    REQUIRE_FALSE(bits.find_first_set().has_value());
    words[0] = 0x3ff;
    REQUIRE_FALSE(bits.find_first_clear().has_value());
    REQUIRE_FALSE(bits.find_clear_run(1).has_value());
}

TEST_CASE("Bitmap find_clear_run with alignment", "[base][bitmap]") {
    uint64_t words[4] = {};
    Bitmap bits(words, 256);

    REQUIRE(bits.find_clear_run(1).value() == 0);
    REQUIRE(bits.find_clear_run(256).value() == 0);
    REQUIRE_FALSE(bits.find_clear_run(257).has_value());
    REQUIRE_FALSE(bits.find_clear_run(0).has_value());

    bits.set(0);
    REQUIRE(bits.find_clear_run(4).value() == 1);
    REQUIRE(bits.find_clear_run(4, 4).value() == 4);
    REQUIRE(bits.find_clear_run(4, 0).value() == 1);

    // A run that must cross the word boundary at 64.
    bits.set_range(0, 60);
    bits.set_range(70, 186);
    REQUIRE(bits.find_clear_run(10).value() == 60);
    REQUIRE_FALSE(bits.find_clear_run(11).has_value());
    REQUIRE(bits.find_clear_run(6, 4).value() == 60);
    REQUIRE(bits.find_clear_run(6, 8).value() == 64);
    REQUIRE_FALSE(bits.find_clear_run(8, 8).has_value());
    REQUIRE(bits.find_clear_run(2, 8).value() == 64);

    // Natural alignment as for 2^order frame blocks.
    bits.clear_all();
    bits.set(3);
    bits.set(17);
    REQUIRE(bits.find_clear_run(16, 16).value() == 32);
    REQUIRE(bits.find_clear_run(8, 8).value() == 8);
    REQUIRE(bits.find_clear_run(3, 3).value() == 0);
    REQUIRE(bits.find_clear_run(4, 3).value() == 6);
    REQUIRE(bits.find_clear_run(64, 64).value() == 64);
    REQUIRE(bits.find_clear_run(128, 128).value() == 128);
    REQUIRE_FALSE(bits.find_clear_run(256, 256).has_value());

    // The from argument starts the search later.
    REQUIRE(bits.find_clear_run(4, 4, 33).value() == 36);
    REQUIRE(bits.find_clear_run(1, 1, 255).value() == 255);
    REQUIRE_FALSE(bits.find_clear_run(2, 1, 255).has_value());
    REQUIRE_FALSE(bits.find_clear_run(1, 1, 256).has_value());
    REQUIRE_FALSE(bits.find_clear_run(1, 512, 1).has_value());
}

TEST_CASE("Bitmap find_clear_run on an odd-sized map", "[base][bitmap]") {
    uint64_t words[2] = {};
    Bitmap bits(words, 100);
    bits.set_range(0, 90);
    REQUIRE(bits.find_clear_run(10).value() == 90);
    REQUIRE_FALSE(bits.find_clear_run(11).has_value());
    REQUIRE(bits.find_clear_run(4, 4).value() == 92);
    REQUIRE(bits.find_clear_run(8, 4).value() == 92);
    REQUIRE_FALSE(bits.find_clear_run(9, 4).has_value());
}
