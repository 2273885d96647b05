// tmpfstest: the RAM file system's protocol (tern/protocols/file.h) from a native client:
// a file made, written, read and removed by node number, then requests that break the
// protocol (a NUL in a path, a relative path, unknown open flags, a bad split of two
// paths, a read longer than kMaxIo, parts over the limits) and file system errors
// (a name over 255 bytes, a node that is gone, List of a file), after each of which the
// server must still serve; Map's memory object and Link's second name.
//
//   tmpfstest    run every check; exit 0 when all pass
#include <tern/print.h>
#include <tern/protocol.h>
#include <tern/protocols/file.h>
#include <tern/services.h>
#include <tern/syscall.h>

using namespace tern;

namespace {

int g_checks = 0, g_failures = 0;

void check(bool ok, const char* what, int64_t detail = 0) {
    ++g_checks;
    if (ok) {
        tern::println("tmpfstest: ok {}", what);
    } else {
        ++g_failures;
        tern::println("tmpfstest: FAILED {} (got {})", what, detail);
    }
}

int64_t code(base::Error e) { return int64_t(e); }

base::Span<const uint8_t> bytes(const char* s, size_t n) {
    return {reinterpret_cast<const uint8_t*>(s), n};
}

base::Span<const uint8_t> text(const char* s) { return bytes(s, __builtin_strlen(s)); }

template<typename O>
base::Result<typename O::Response> call_with(tern_handle_t port, const typename O::Request& in,
                                             base::Span<const uint8_t> data) {
    proto::CallParts parts;
    parts.in_data = data;
    return proto::call<O>(port, in, parts, 5000000000ull);
}

uint8_t g_big[file::kMaxIo + 1];
uint8_t g_reply[file::kMaxIo];

} // namespace

extern "C" int main(uint64_t) {
    auto found = lookup("tmpfs", true, 5000000000ull);
    if (found.is_error()) {
        tern::println("tmpfstest: FAILED no tmpfs server: {}", base::error_name(found.error()));
        return 1;
    }
    tern_handle_t port = found.value();

    // A file by path, then by node.
    auto made = call_with<file::Open>(port, {file::kOpenCreate, 0640}, text("/tmp/tmpfstest"));
    check(made.ok() && made.value().error == 0 && made.value().attr.mode == (0100000u | 0640),
          "Open creates a file with its mode", made.ok() ? made.value().error : -1);
    uint64_t inode = made.ok() ? made.value().attr.inode : 0;
    auto wrote = call_with<file::Write>(port, {inode, 0, 0, 0}, text("abc"));
    check(wrote.ok() && wrote.value().error == 0 && wrote.value().written == 3
              && wrote.value().size == 3,
          "Write 3 bytes");
    proto::CallParts parts;
    uint32_t received = 0;
    parts.out_data = {g_reply, sizeof(g_reply)};
    parts.out_data_size = &received;
    auto read = proto::call<file::Read>(port, {inode, 1, 10, 0}, parts, 5000000000ull);
    check(read.ok() && read.value().error == 0 && received == 2 && g_reply[0] == 'b',
          "Read from offset 1 gives the 2 bytes left", received);
    auto attr = proto::call<file::GetAttr>(port, {inode}, {}, 5000000000ull);
    check(attr.ok() && attr.value().attr.size == 3 && attr.value().attr.mtime_ns > 0,
          "GetAttr: size and a modification time");

    // Malformed requests: refused with INVALID_ARGUMENT (and logged by the server).
    auto nul = call_with<file::Lookup>(port, {}, bytes("/tmp/a\0b", 8));
    check(!nul.ok() && nul.error() == base::Error::INVALID_ARGUMENT, "a NUL in a path",
          code(nul.error()));
    auto relative = call_with<file::Lookup>(port, {}, text("tmp"));
    check(!relative.ok() && relative.error() == base::Error::INVALID_ARGUMENT, "a relative path",
          code(relative.error()));
    auto flags = call_with<file::Open>(port, {0x100, 0644}, text("/tmp/x"));
    check(!flags.ok() && flags.error() == base::Error::INVALID_ARGUMENT, "unknown open flags",
          code(flags.error()));
    auto split = call_with<file::Rename>(port, {100, 0}, text("/tmp/a/tmp/b"));
    check(!split.ok() && split.error() == base::Error::INVALID_ARGUMENT,
          "first_length beyond the data", code(split.error()));
    auto long_read =
        proto::call<file::Read>(port, {inode, 0, file::kMaxIo + 1, 0}, parts, 5000000000ull);
    check(!long_read.ok() && long_read.error() == base::Error::INVALID_ARGUMENT,
          "a read longer than kMaxIo", code(long_read.error()));
    // Past the client's own check of the limits, so the server sees it.
    file::WriteRequest write_in = {inode, 0, 0, 0};
    file::WriteResponse write_out = {};
    proto::CallParts big_parts;
    big_parts.in_data = {g_big, sizeof(g_big)};
    base::Error big = proto::call_raw(
        port, file::Write::kLabel, &write_in, sizeof(write_in), &write_out, sizeof(write_out),
        proto::Limits{.request_data = sizeof(g_big)}, big_parts, 5000000000ull);
    check(big == base::Error::TOO_BIG, "a write longer than kMaxIo", code(big));

    // File system errors: answered in the response.
    static char name[300] = "/tmp/";
    for (int i = 5; i < 5 + 256; ++i)
        name[i] = 'n';
    auto too_long = call_with<file::Mkdir>(port, {0755, 0}, text(name));
    check(too_long.ok() && too_long.value().error == 36, "a name of 256 bytes: ENAMETOOLONG",
          too_long.ok() ? too_long.value().error : -1);
    auto list = proto::call<file::List>(port, {inode, 0}, parts, 5000000000ull);
    check(list.ok() && list.value().error == 20, "List of a file: ENOTDIR",
          list.ok() ? list.value().error : -1);

    // Map: a memory object holding the file's bytes, read-only without kMapWrite.
    tern_handle_t memory = TERN_INVALID_HANDLE;
    uint32_t handles = 0;
    proto::CallParts map_parts;
    map_parts.out_handles = &memory;
    map_parts.out_handle_count = &handles;
    auto mapped = proto::call<file::Map>(port, {inode, 100, 0, 0}, map_parts, 5000000000ull);
    check(mapped.ok() && mapped.value().error == 0 && mapped.value().size == 4096 && handles == 1,
          "Map gives a one-page memory object", mapped.ok() ? mapped.value().error : -1);
    if (handles == 1) {
        int64_t at = tern_sys_vm_map_memory(TERN_HANDLE_SELF, memory, 0, 0, 4096, TERN_PROT_READ);
        check(at > 0 && reinterpret_cast<const char*>(at)[1] == 'b',
              "the object holds the file's bytes", at);
        int64_t writable = tern_sys_vm_map_memory(TERN_HANDLE_SELF, memory, 0, 0, 4096,
                                                  TERN_PROT_READ | TERN_PROT_WRITE);
        check(writable < 0, "and cannot be mapped writable without kMapWrite", writable);
        if (at > 0)
            (void)tern_sys_vm_free(uint64_t(at), 4096);
        (void)tern_sys_handle_close(memory);
    }
    auto bad_map = proto::call<file::Map>(port, {inode, 1, 0x10, 0}, {}, 5000000000ull);
    check(!bad_map.ok() && bad_map.error() == base::Error::INVALID_ARGUMENT, "unknown map flags",
          bad_map.ok() ? 0 : code(bad_map.error()));
    auto tmp = call_with<file::Lookup>(port, {}, text("/tmp"));
    uint64_t tmp_inode = tmp.ok() ? tmp.value().attr.inode : 0;
    auto map_dir = proto::call<file::Map>(port, {tmp_inode, 1, 0, 0}, {}, 5000000000ull);
    check(map_dir.ok() && map_dir.value().error == 21, "Map of a directory: EISDIR",
          map_dir.ok() ? map_dir.value().error : -1);
    // Link: a second name for the file; the file outlives its first name.
    static const char kLinkPaths[] = "/tmp/tmpfstest/dev/shm/tmpfstest.link";
    auto linked = call_with<file::Link>(port, {14, 0}, bytes(kLinkPaths, sizeof(kLinkPaths) - 1));
    check(linked.ok() && linked.value().error == 0 && linked.value().attr.nlink == 2
              && linked.value().attr.inode == inode,
          "Link gives the file a second name", linked.ok() ? linked.value().error : -1);
    auto linked_again =
        call_with<file::Link>(port, {14, 0}, bytes(kLinkPaths, sizeof(kLinkPaths) - 1));
    check(linked_again.ok() && linked_again.value().error == 17, "Link to a taken name: EEXIST",
          linked_again.ok() ? linked_again.value().error : -1);
    auto dropped = call_with<file::Unlink>(port, {}, text("/dev/shm/tmpfstest.link"));
    check(dropped.ok() && dropped.value().error == 0, "Unlink of the second name");

    auto removed = call_with<file::Unlink>(port, {}, text("/tmp/tmpfstest"));
    check(removed.ok() && removed.value().error == 0, "Unlink");
    auto gone = proto::call<file::GetAttr>(port, {inode}, {}, 5000000000ull);
    check(gone.ok() && gone.value().error == 2, "a removed node: ENOENT",
          gone.ok() ? gone.value().error : -1);
    auto statfs = proto::call<file::StatFs>(port, {}, {}, 5000000000ull);
    check(statfs.ok() && statfs.value().total_bytes > 0 && statfs.value().name_max == 255,
          "StatFs");

    auto still = call_with<file::Lookup>(port, {}, text("/tmp"));
    check(still.ok() && still.value().error == 0 && (still.value().attr.mode & 07777) == 01777,
          "tmpfs still serving: /tmp is 1777");
    tern::println("tmpfstest: {} checks, {} failures", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
