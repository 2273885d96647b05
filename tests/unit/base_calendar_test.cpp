// Host tests for base/calendar.h: seconds since 1970 for civil times, the CMOS clock's
// encodings, and reading the clock through a fake register file.

#include <catch2/catch.hpp>

#include <base/calendar.h>

#include <ctime>

namespace {

// The host's timegm() as the reference.
int64_t reference(const base::CivilTime& t) {
    std::tm tm = {};
    tm.tm_year = int(t.year) - 1900;
    tm.tm_mon = t.month - 1;
    tm.tm_mday = t.day;
    tm.tm_hour = t.hour;
    tm.tm_min = t.minute;
    tm.tm_sec = t.second;
    return int64_t(timegm(&tm));
}

uint8_t g_registers[128];
int g_reads;
// Makes the seconds register tick on the g_tick_at-th read (between the reader's passes).
int g_tick_at = -1;

uint8_t read_register(uint8_t reg) {
    if (++g_reads == g_tick_at)
        g_registers[0x00] = 0x31;
    return g_registers[reg & 0x7F];
}

void pause_none() {}

} // namespace

TEST_CASE("calendar: seconds since 1970 agree with timegm") {
    CHECK(base::unix_seconds({1970, 1, 1, 0, 0, 0}) == 0);
    CHECK(base::unix_seconds({2024, 1, 1, 0, 0, 0}) == 1704067200);
    for (uint32_t year : {1970u, 1999u, 2000u, 2024u, 2038u, 2099u, 2100u, 2400u}) {
        for (uint8_t month = 1; month <= 12; ++month) {
            base::CivilTime t{year, month, base::days_in_month(year, month), 23, 59, 58};
            CHECK(base::unix_seconds(t) == reference(t));
            t.day = 1;
            CHECK(base::unix_seconds(t) == reference(t));
        }
    }
    CHECK(base::days_in_month(2000, 2) == 29);
    CHECK(base::days_in_month(2100, 2) == 28);
    CHECK(base::unix_seconds({2025, 2, 29, 0, 0, 0}) == -1);
    CHECK(base::unix_seconds({1969, 12, 31, 23, 59, 59}) == -1);
    CHECK(base::unix_seconds({2024, 13, 1, 0, 0, 0}) == -1);
    CHECK(base::unix_seconds({2024, 1, 1, 24, 0, 0}) == -1);
    CHECK(base::unix_seconds({2024, 1, 1, 0, 60, 0}) == -1);
}

TEST_CASE("calendar: the CMOS clock is read in BCD, binary and 12-hour form") {
    g_reads = 0;
    g_tick_at = -1;
    g_registers[0x00] = 0x30; // 30 s, BCD
    g_registers[0x02] = 0x45;
    g_registers[0x04] = 0x80 | 0x01; // 1 PM in 12-hour form
    g_registers[0x07] = 0x06;
    g_registers[0x08] = 0x12;
    g_registers[0x09] = 0x26;
    g_registers[0x0A] = 0;
    g_registers[0x0B] = 0; // BCD, 12-hour
    base::CivilTime t;
    REQUIRE(base::cmos_read_time(read_register, pause_none, t));
    CHECK(t.year == 2026);
    CHECK(t.month == 12);
    CHECK(t.day == 6);
    CHECK(t.hour == 13);
    CHECK(t.minute == 45);
    CHECK(t.second == 30);
    // An update between the two passes: the reader tries again and takes the new value.
    g_reads = 0;
    g_tick_at = 5;
    REQUIRE(base::cmos_read_time(read_register, pause_none, t));
    CHECK(t.second == 31);
    // Binary, 24-hour.
    g_tick_at = -1;
    g_registers[0x0B] = 0x06;
    g_registers[0x04] = 23;
    g_registers[0x00] = 59;
    REQUIRE(base::cmos_read_time(read_register, pause_none, t));
    CHECK(t.hour == 23);
    CHECK(t.second == 59);
    // A clock that never leaves its update cycle is no clock.
    g_registers[0x0A] = 0x80;
    CHECK(!base::cmos_read_time(read_register, pause_none, t));
}
