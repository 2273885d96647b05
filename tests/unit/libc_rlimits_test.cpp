// The resource limits of Tern's musl port (libc/musl/portable/rlimits.h): Tern's values and
// Linux's rules for a process without CAP_SYS_RESOURCE, with the host's RLIMIT_* numbers.
#include <catch2/catch.hpp>

#include <cerrno>
#include <sys/resource.h>

#include <libc/musl/portable/rlimits.h>

TEST_CASE("resource limits follow Linux's rules for an unprivileged process", "[exec]") {
    tern_libc_rlimit limits[TERN_LIBC_RLIMIT_COUNT];
    tern_libc_rlimits_init(limits, 65536);
    CHECK(limits[RLIMIT_NOFILE].current == 64);
    CHECK(limits[RLIMIT_STACK].maximum == 65536);
    CHECK(limits[RLIMIT_CPU].current == RLIM_INFINITY);
    tern_libc_rlimit old{};
    CHECK(tern_libc_rlimit_exchange(limits, RLIMIT_NOFILE, nullptr, &old) == 0);
    CHECK(old.maximum == 64);
    tern_libc_rlimit lower{16, 32};
    CHECK(tern_libc_rlimit_exchange(limits, RLIMIT_NOFILE, &lower, &old) == 0);
    CHECK(old.current == 64);
    CHECK(limits[RLIMIT_NOFILE].maximum == 32);
    tern_libc_rlimit raise{16, 64};
    CHECK(tern_libc_rlimit_exchange(limits, RLIMIT_NOFILE, &raise, nullptr) == -EPERM);
    tern_libc_rlimit inverted{33, 32};
    CHECK(tern_libc_rlimit_exchange(limits, RLIMIT_NOFILE, &inverted, nullptr) == -EINVAL);
    CHECK(limits[RLIMIT_NOFILE].current == 16); // unchanged by the refusals
    CHECK(tern_libc_rlimit_exchange(limits, 16, nullptr, &old) == -EINVAL);
    CHECK(tern_libc_rlimit_exchange(limits, -1, nullptr, &old) == -EINVAL);
    CHECK(tern_libc_rlimits_valid(limits));
    limits[RLIMIT_CORE] = {2, 1};
    CHECK_FALSE(tern_libc_rlimits_valid(limits));
}
