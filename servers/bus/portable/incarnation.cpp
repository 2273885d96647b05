#include "incarnation.h"

namespace tern::bus {

uint32_t incarnation_of(const ClockTime& t) {
    static constexpr base::CivilTime kEpoch = {2024, 1, 1, 0, 0, 0};
    if (t.year < 2024 || t.year > 2160)
        return 0;
    int64_t seconds = base::unix_seconds(t);
    if (seconds < 0)
        return 0;
    seconds -= base::unix_seconds(kEpoch);
    if (seconds + 1 > int64_t(UINT32_MAX))
        return 0;
    return uint32_t(seconds + 1);
}

} // namespace tern::bus
