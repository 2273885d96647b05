#pragma once
// A node's incarnation number: the bus's name for one life of a node, which must grow
// with every boot (and every restart of the network server) so that peers refuse frames
// of an earlier life (docs/bus.md).
//
// Tern keeps no state across boots, so the number comes from the time of day: the CMOS
// clock's seconds since 2024-01-01 00:00:00, read right after the clock's seconds
// register ticks. Waiting for that edge makes two lives differ even when the second
// starts less than a second after the first: each takes the value of a tick it saw
// happen, and the later life can only see a later tick. 32 bits last until 2160.
#include <stdint.h>

namespace tern::bus {

// What the CMOS clock says, already converted from BCD and 12-hour form.
struct ClockTime {
    uint32_t year = 0; // 2024..
    uint8_t month = 0; // 1..12
    uint8_t day = 0;   // 1..31
    uint8_t hour = 0;  // 0..23
    uint8_t minute = 0;
    uint8_t second = 0;
};

// Seconds from 2024-01-01 00:00:00 to t, plus one so that no life is numbered 0 (which the
// transport reserves for "unknown"); 0 when t is before 2024 or not a valid date.
uint32_t incarnation_of(const ClockTime& t);

// A CMOS register value in the clock's encoding (BCD unless status B bit 2 says binary)
// as a number.
uint8_t cmos_value(uint8_t raw, bool binary);
// The hour register in 24-hour form: in 12-hour mode bit 7 means PM and 12 means 0 or 12.
uint8_t cmos_hour(uint8_t raw, bool binary, bool twenty_four);

} // namespace tern::bus
