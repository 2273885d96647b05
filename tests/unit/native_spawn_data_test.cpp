// Packing and unpacking proc's Spawn data (lib/include/lib/spawn_data.h).
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <lib/spawn_data.h>

namespace {

base::Span<const uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

} // namespace

TEST_CASE("spawn data round-trips path, arguments and environment") {
    char buffer[256];
    const char* argv[] = {"hello", "a b", "", nullptr};
    const char* envp[] = {"HOME=/", nullptr};
    size_t used = 0;
    uint32_t argc = 0, envc = 0;
    REQUIRE(proc_data::pack({buffer, sizeof(buffer)}, "/bin/hello", argv, envp, &used, &argc, &envc)
            == base::Error::OK);
    CHECK(argc == 3);
    CHECK(envc == 1);
    proc_data::Unpacked out;
    REQUIRE(proc_data::unpack({reinterpret_cast<const uint8_t*>(buffer), used}, argc, envc, out)
            == base::Error::OK);
    CHECK(std::string(out.path) == "/bin/hello");
    CHECK(std::string(out.argv[1]) == "a b");
    CHECK(std::string(out.argv[2]).empty());
    CHECK(out.argv[3] == nullptr);
    CHECK(std::string(out.envp[0]) == "HOME=/");
    CHECK(out.envp[1] == nullptr);
}

TEST_CASE("spawn data carries 200 arguments, as many as the shell takes") {
    std::vector<std::string> words;
    std::vector<const char*> argv;
    for (int i = 0; i < 200; ++i)
        words.push_back("w" + std::to_string(i));
    for (const std::string& w : words)
        argv.push_back(w.c_str());
    argv.push_back(nullptr);
    static char buffer[8192]; // proc::kMaxSpawnData
    size_t used = 0;
    uint32_t argc = 0, envc = 0;
    REQUIRE(
        proc_data::pack({buffer, sizeof(buffer)}, "args", argv.data(), nullptr, &used, &argc, &envc)
        == base::Error::OK);
    CHECK(argc == 200);
    static proc_data::Unpacked out;
    REQUIRE(proc_data::unpack({reinterpret_cast<const uint8_t*>(buffer), used}, argc, envc, out)
            == base::Error::OK);
    CHECK(std::string(out.argv[199]) == "w199");
    CHECK(out.argv[200] == nullptr);
}

TEST_CASE("spawn data packing refuses what does not fit") {
    char buffer[8];
    const char* argv[] = {"0123456789", nullptr};
    size_t used;
    uint32_t argc, envc;
    CHECK(proc_data::pack({buffer, sizeof(buffer)}, "p", argv, nullptr, &used, &argc, &envc)
          == base::Error::TOO_BIG);
    CHECK(proc_data::pack({buffer, sizeof(buffer)}, "", nullptr, nullptr, &used, &argc, &envc)
          == base::Error::INVALID_ARGUMENT);
    std::vector<const char*> many(proc_data::kMaxStrings + 2, "x");
    many.back() = nullptr;
    static char large[4096];
    CHECK(proc_data::pack({large, sizeof(large)}, "p", many.data(), nullptr, &used, &argc, &envc)
          == base::Error::TOO_BIG);
}

TEST_CASE("spawn data unpacking refuses every malformed request") {
    proc_data::Unpacked out;
    using std::string;
    CHECK(proc_data::unpack(bytes(string("p\0a\0", 4)), 1, 0, out) == base::Error::OK);
    CHECK(proc_data::unpack(bytes(string("p\0a\0", 4)), 2, 0, out)
          == base::Error::INVALID_ARGUMENT); // too few strings
    CHECK(proc_data::unpack(bytes(string("p\0a\0", 4)), 0, 0, out)
          == base::Error::INVALID_ARGUMENT); // too many
    CHECK(proc_data::unpack(bytes(string("p\0a", 3)), 1, 0, out)
          == base::Error::INVALID_ARGUMENT); // last one not terminated
    CHECK(proc_data::unpack(bytes(string("\0a\0", 3)), 1, 0, out)
          == base::Error::INVALID_ARGUMENT); // empty path
    CHECK(proc_data::unpack(bytes(string()), 0, 0, out) == base::Error::INVALID_ARGUMENT);
    CHECK(proc_data::unpack(bytes(string("p\0", 2)), proc_data::kMaxStrings + 1, 0, out)
          == base::Error::TOO_BIG);
}

TEST_CASE("spawn data unpacking survives random input") {
    std::mt19937 rng(12345);
    proc_data::Unpacked out;
    for (int round = 0; round < 20000; ++round) {
        std::vector<uint8_t> data(rng() % 64);
        for (auto& b : data)
            b = rng() % 4 == 0 ? 0 : uint8_t('a' + rng() % 26);
        uint32_t argc = rng() % 70, envc = rng() % 70;
        base::Error e = proc_data::unpack({data.data(), data.size()}, argc, envc, out);
        if (e == base::Error::OK) {
            // Every string the caller gets ends inside the data.
            for (uint32_t i = 0; i < argc; ++i) {
                const char* s = out.argv[i];
                REQUIRE(reinterpret_cast<const uint8_t*>(s) >= data.data());
                REQUIRE(reinterpret_cast<const uint8_t*>(s) + std::strlen(s)
                        < data.data() + data.size());
            }
        }
    }
}
