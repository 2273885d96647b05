#pragma once

// Dates and the PC's CMOS real-time clock, shared by the kernel (which sets its wall clock
// from the CMOS clock at boot) and the bus (which numbers a node's lives from it).
//
// The CMOS clock keeps the time of day in registers 0x00 (seconds), 0x02 (minutes), 0x04
// (hours), 0x07 (day), 0x08 (month) and 0x09 (year in the century), in BCD unless status
// register B (0x0B) bit 2 says binary, hours in 12-hour form unless bit 1 says 24; status
// register A (0x0A) bit 7 is set while the clock updates them. Tern takes the clock to
// keep UTC and the years to be 2000..2099 (the century register has no fixed place).

#include <stdint.h>

namespace base {

// A calendar date and time of day (UTC).
struct CivilTime {
    uint32_t year = 0; // 1970..
    uint8_t month = 0; // 1..12
    uint8_t day = 0;   // 1..31
    uint8_t hour = 0;  // 0..23
    uint8_t minute = 0;
    uint8_t second = 0;
};

bool is_leap_year(uint32_t year);
uint8_t days_in_month(uint32_t year, uint8_t month);

// Whether t names a real second from 1970 on (no leap seconds).
bool is_valid(const CivilTime& t);

// Seconds from 1970-01-01 00:00:00 to t; -1 when t is not valid.
int64_t unix_seconds(const CivilTime& t);

// A CMOS register value in the clock's encoding (BCD unless binary) as a number.
uint8_t cmos_value(uint8_t raw, bool binary);
// The hour register in 24-hour form: in 12-hour mode bit 7 means PM and 12 means 0 or 12.
uint8_t cmos_hour(uint8_t raw, bool binary, bool twenty_four);

// Reads the CMOS clock through read_register (which selects a register at port 0x70 and
// reads port 0x71), outside an update cycle: while one runs it calls pause, and it reads
// the registers twice and retries when they differ (an update began in between). False
// when no consistent reading came in 8 attempts or an update did not end within 100,000
// pauses.
bool cmos_read_time(uint8_t (*read_register)(uint8_t), void (*pause)(), CivilTime& out);

} // namespace base
