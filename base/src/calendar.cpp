// Dates and the CMOS clock's encoding (calendar.h).
#include <base/calendar.h>

namespace base {

bool is_leap_year(uint32_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

uint8_t days_in_month(uint32_t year, uint8_t month) {
    static constexpr uint8_t kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12)
        return 0;
    return month == 2 && is_leap_year(year) ? 29 : kDays[month - 1];
}

bool is_valid(const CivilTime& t) {
    return t.year >= 1970 && t.year <= 9999 && t.month >= 1 && t.month <= 12 && t.day >= 1
           && t.day <= days_in_month(t.year, t.month) && t.hour <= 23 && t.minute <= 59
           && t.second <= 59;
}

int64_t unix_seconds(const CivilTime& t) {
    if (!is_valid(t))
        return -1;
    // Days before the year: 365 a year plus the leap days of the years before it.
    auto leaps_before = [](int64_t y) { return (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400; };
    int64_t days = (int64_t(t.year) - 1970) * 365 + leaps_before(t.year) - leaps_before(1970);
    for (uint8_t m = 1; m < t.month; ++m)
        days += days_in_month(t.year, m);
    days += t.day - 1;
    return days * 86400 + t.hour * 3600 + t.minute * 60 + t.second;
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

bool cmos_read_time(uint8_t (*read_register)(uint8_t), void (*pause)(), CivilTime& out) {
    static constexpr uint8_t kRegisters[6] = {0x00, 0x02, 0x04, 0x07, 0x08, 0x09};
    for (int attempt = 0; attempt < 8; ++attempt) {
        int waits = 0;
        while (read_register(0x0A) & 0x80) {
            if (++waits > 100000)
                return false;
            pause();
        }
        uint8_t raw[6], again[6];
        for (int i = 0; i < 6; ++i)
            raw[i] = read_register(kRegisters[i]);
        for (int i = 0; i < 6; ++i)
            again[i] = read_register(kRegisters[i]);
        bool same = true;
        for (int i = 0; i < 6; ++i)
            same = same && raw[i] == again[i];
        if (!same)
            continue;
        uint8_t status_b = read_register(0x0B);
        bool binary = status_b & 0x04;
        bool twenty_four = status_b & 0x02;
        out.second = cmos_value(raw[0], binary);
        out.minute = cmos_value(raw[1], binary);
        out.hour = cmos_hour(raw[2], binary, twenty_four);
        out.day = cmos_value(raw[3], binary);
        out.month = cmos_value(raw[4], binary);
        out.year = 2000u + cmos_value(raw[5], binary);
        return true;
    }
    return false;
}

} // namespace base
