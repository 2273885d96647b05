#pragma once
// The boot file system's protocol: read-only files from the archive the build packs
// (tools/mkbootfs.py) and GRUB loads as the `bootfs` module. Paths are archive paths with
// or without a leading '/', e.g. "/bin/hello" or "etc/init.conf".
//
// Files are not copied through messages: Map answers with a read-only memory object of
// the archive and where the file lies in it, and the client maps it. A read is then a
// memory access, and a program image is loaded without a copy in between.
#include <stdint.h>
#include <tern/protocol.h>

namespace tern::bootfs {

inline constexpr uint32_t kMaxPath = 255;

struct StatResponse {
    uint64_t size;
    uint32_t mode; // permission bits, 0444 or 0555
    uint32_t is_directory;
};
// data = path. NOT_FOUND, INVALID_ARGUMENT.
using Stat = proto::Op<1, proto::Empty, StatResponse, proto::Limits{.request_data = kMaxPath}>;

struct MapResponse {
    uint64_t size;        // the file's size in bytes
    uint64_t map_offset;  // page-aligned offset in the memory object to map from
    uint64_t map_size;    // page-aligned bytes to map
    uint64_t data_offset; // where the file starts inside that mapping
    uint32_t mode;
    uint32_t reserved;
};
// data = path; reply handles[0] = the archive's memory object (MAP, READ, TRANSFER,
// DUPLICATE). NOT_FOUND, INVALID_ARGUMENT (a directory, a bad path).
using Map = proto::Op<2, proto::Empty, MapResponse,
                      proto::Limits{.request_data = kMaxPath, .response_handles = 1}>;

struct ListResponse {
    uint32_t count;
};
// data = directory path ("" or "/" for the root); reply data: one entry per line, a
// directory's name ending in '/'. NOT_FOUND, INVALID_ARGUMENT (not a directory).
using List = proto::Op<3, proto::Empty, ListResponse,
                       proto::Limits{.request_data = kMaxPath, .response_data = 16384}>;

} // namespace tern::bootfs
