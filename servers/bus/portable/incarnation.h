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
#include <base/calendar.h>
#include <stdint.h>

namespace tern::bus {

// What the CMOS clock says, already converted from BCD and 12-hour form (base/calendar.h
// reads it).
using ClockTime = base::CivilTime;

// Seconds from 2024-01-01 00:00:00 to t, plus one so that no life is numbered 0 (which the
// transport reserves for "unknown"); 0 when t is before 2024 or not a valid date.
uint32_t incarnation_of(const ClockTime& t);

using base::cmos_hour;
using base::cmos_value;

} // namespace tern::bus
