// The boot file system server: the files of the archive the build packs
// (tools/mkbootfs.py), read-only, by path (tern/protocols/bootfs.h).
//
// init hands over the archive's read-only memory object (startup handle
// TERN_STARTUP_PRIVATE) with argv[1] = the offset of the archive's first byte in it and
// argv[2] = its size. The archive is validated once at start; a broken one stops the
// server with a log line rather than serving half of it.
#include <base/string_view.h>
#include <base/utility.h>
#include <lib/ustar.h>
#include <tern/print.h>
#include <tern/protocols/bootfs.h>
#include <tern/runtime.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall_result.h>

using namespace tern;

namespace {

constexpr uint64_t kPage = 4096;

struct State {
    ::ustar::Archive archive;
    tern_handle_t memory = TERN_INVALID_HANDLE;
    const uint8_t* mapping = nullptr; // the memory object's first page
    uint64_t archive_offset = 0;      // where the archive starts in the object
};

State g_state;

bool parse_number(const char* s, uint64_t& out) {
    auto value = base::parse_u64(base::StringView(s));
    if (value.has_value())
        out = *value;
    return value.has_value();
}

base::StringView path_of(proto::Request& request) {
    return {reinterpret_cast<const char*>(request.data().data()), request.data().size()};
}

bool path_ok(base::StringView path) {
    for (char c : path)
        if (c == '\0')
            return false;
    return path.size() <= tern::bootfs::kMaxPath;
}

base::Error on_stat(State* s, proto::Request& request, const proto::Empty&,
                    tern::bootfs::StatResponse& out, proto::Reply&, proto::PendingReply&) {
    base::StringView path = path_of(request);
    if (!path_ok(path))
        return base::Error::INVALID_ARGUMENT;
    if (path.empty() || path == base::StringView("/")) {
        out = {0, 0555, 1};
        return base::Error::OK;
    }
    const ::ustar::Entry* e = s->archive.find(path);
    if (!e)
        return base::Error::NOT_FOUND;
    out = {e->size, e->mode, e->is_directory ? 1u : 0u};
    return base::Error::OK;
}

base::Error on_map(State* s, proto::Request& request, const proto::Empty&,
                   tern::bootfs::MapResponse& out, proto::Reply& reply, proto::PendingReply&) {
    base::StringView path = path_of(request);
    if (!path_ok(path))
        return base::Error::INVALID_ARGUMENT;
    const ::ustar::Entry* e = s->archive.find(path);
    if (!e)
        return base::Error::NOT_FOUND;
    if (e->is_directory)
        return base::Error::INVALID_ARGUMENT;
    uint64_t start = uint64_t(e->data.data() - s->mapping);
    uint64_t map_offset = base::align_down(start, kPage);
    uint64_t map_end = base::align_up(start + e->size, kPage);
    if (map_end == map_offset)
        map_end = map_offset + kPage; // an empty file still maps one page
    int64_t copy = tern_sys_handle_duplicate(
        s->memory, TERN_RIGHT_MAP | TERN_RIGHT_READ | TERN_RIGHT_TRANSFER | TERN_RIGHT_DUPLICATE);
    if (copy < 0)
        return tern::sys_status(copy);
    reply.handles[0] = tern_handle_t(copy);
    reply.handle_count = 1;
    out.size = e->size;
    out.map_offset = map_offset;
    out.map_size = map_end - map_offset;
    out.data_offset = start - map_offset;
    out.mode = e->mode;
    return base::Error::OK;
}

char g_listing[16384];

base::Error on_list(State* s, proto::Request& request, const proto::Empty&,
                    tern::bootfs::ListResponse& out, proto::Reply& reply, proto::PendingReply&) {
    base::StringView path = path_of(request);
    if (!path_ok(path))
        return base::Error::INVALID_ARGUMENT;
    base::BufferSink sink(g_listing, sizeof(g_listing));
    auto n = s->archive.list(path, [&](const ::ustar::Entry& e) {
        base::StringView p = e.path;
        auto slash = p.find_last('/');
        base::StringView leaf = slash.has_value() ? p.substr(*slash + 1) : p;
        base::format_to(sink, "{}{}\n", leaf, e.is_directory ? "/" : "");
    });
    if (n.is_error())
        return n.error() == base::Error::WRONG_TYPE ? base::Error::INVALID_ARGUMENT : n.error();
    if (sink.truncated())
        return base::Error::TOO_BIG;
    out.count = uint32_t(n.value());
    reply.data = {reinterpret_cast<const uint8_t*>(g_listing), sink.written()};
    return base::Error::OK;
}

} // namespace

extern "C" int main(uint64_t) {
    uint64_t offset = 0, size = 0;
    g_state.memory = startup_handle(TERN_STARTUP_PRIVATE);
    if (g_state.memory == TERN_INVALID_HANDLE || argc() != 3 || !parse_number(argv()[1], offset)
        || !parse_number(argv()[2], size) || offset >= kPage) {
        tern::println("bootfs: usage: bootfs <offset> <size>, with the archive as startup "
                      "handle {}",
                      TERN_STARTUP_PRIVATE);
        return 2;
    }
    uint64_t span = base::align_up(offset + size, kPage);
    int64_t at = tern_sys_vm_map_memory(tern::self(), g_state.memory, 0, 0, span, TERN_PROT_READ);
    if (at < 0) {
        tern::println("bootfs: cannot map the archive: {}", base::error_name(tern::sys_status(at)));
        return 1;
    }
    g_state.mapping = reinterpret_cast<const uint8_t*>(at);
    g_state.archive_offset = offset;
    if (auto r = g_state.archive.open({g_state.mapping + offset, size}); r.is_error()) {
        tern::println("bootfs: the archive is unusable: {}", base::error_name(r.error()));
        return 1;
    }
    int64_t port = tern_sys_port_create(64);
    if (port < 0)
        return 1;
    proto::Server server("bootfs", tern_handle_t(port));
    server.on<tern::bootfs::Stat>(&g_state, on_stat);
    server.on<tern::bootfs::Map>(&g_state, on_map);
    server.on<tern::bootfs::List>(&g_state, on_list);
    if (auto r = register_name("bootfs", tern_handle_t(port)); r.is_error()) {
        tern::println("bootfs: cannot register: {}", base::error_name(r.error()));
        return 1;
    }
    tern::println("bootfs: serving {} entries ({} bytes)", g_state.archive.count(), size);
    server.run();
}
