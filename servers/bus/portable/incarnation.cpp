#include "incarnation.h"

namespace tern::bus {

namespace {

bool leap(uint32_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

uint8_t days_in_month(uint32_t year, uint8_t month) {
    static constexpr uint8_t kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && leap(year) ? 29 : kDays[month - 1];
}

} // namespace

uint32_t incarnation_of(const ClockTime& t) {
    if (t.year < 2024 || t.year > 2160 || t.month < 1 || t.month > 12 || t.day < 1
        || t.day > days_in_month(t.year, t.month) || t.hour > 23 || t.minute > 59 || t.second > 59)
        return 0;
    uint64_t days = 0;
    for (uint32_t y = 2024; y < t.year; ++y)
        days += leap(y) ? 366 : 365;
    for (uint8_t m = 1; m < t.month; ++m)
        days += days_in_month(t.year, m);
    days += t.day - 1u;
    uint64_t seconds = days * 86400 + t.hour * 3600u + t.minute * 60u + t.second;
    if (seconds + 1 > UINT32_MAX)
        return 0;
    return uint32_t(seconds + 1);
}

uint8_t cmos_value(uint8_t raw, bool binary) {
    return binary ? raw : uint8_t((raw >> 4) * 10 + (raw & 0x0F));
}

uint8_t cmos_hour(uint8_t raw, bool binary, bool twenty_four) {
    if (twenty_four)
        return cmos_value(raw, binary);
    bool pm = raw & 0x80;
    uint8_t hour = cmos_value(uint8_t(raw & 0x7F), binary) % 12;
    return pm ? uint8_t(hour + 12) : hour;
}

} // namespace tern::bus
