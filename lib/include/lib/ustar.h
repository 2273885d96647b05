#pragma once
// The boot file system archive: a POSIX ustar archive, written by tools/mkbootfs.py,
// loaded by GRUB as a Multiboot2 module and served read-only by the bootfs server.
//
// The image arrives as a boot module, so it is outside input: a truncated module, a
// corrupted build product or a deliberately hostile file must each yield an error, never
// an out-of-bounds read or an entry whose data lies outside the image. open() walks every
// 512-byte header exactly once, checks all of them, and only then publishes the entries;
// the lookups afterwards trust what open() recorded and never re-read a header.
//
// Accepted: POSIX ustar headers (magic "ustar\0", version "00") and GNU headers (magic
// "ustar " and version " \0"), with typeflag '0' or '\0' (a regular file), '5' (a
// directory) or '1' (a hard link: another name for a regular file an earlier header
// named, its linkname; the entry is a regular file with the target's data and size).
// The checksum is the sum of the header's bytes with the checksum field read as spaces,
// taken over unsigned bytes or, as old tars did, signed ones (GNU tar and Python's
// tarfile accept both). Numeric fields are octal: optional leading spaces, at least one
// digit, then only NULs and spaces to the end of the field.
//
// A name field ends at its first NUL or, when it has none, at the end of the field: POSIX
// lets a 100-byte name fill its field, and that is what Python's tarfile (and so
// mkbootfs) writes. Nothing is ever read past a field. With the POSIX magic a non-empty
// prefix is joined as prefix + "/" + name; GNU headers keep other data in that field, so
// their prefix is ignored. A directory's single trailing "/" is dropped.
//
// The end of the archive is the first all-zero block. The 512 bytes after it (or what is
// left of the image, if less) must be zero as well; anything after two zero blocks is
// ignored (tar pads archives to whole records). An image that ends right after a member,
// with no zero block at all, is accepted too.
//
// Errors. Each header is checked in the order below and the first failing rule of the
// first failing header decides; the parent rule is checked once the walk is done.
//   TOO_BIG — a header for a 257th entry (more than kMaxEntries).
//   CORRUPT — damage or a contradiction:
//     * fewer than 512 bytes left where a header should start, unless they are all zero;
//     * a stored checksum that is malformed or does not match;
//     * a magic/version pair other than the two above;
//   NOT_SUPPORTED — any typeflag other than '0', '\0', '1', '5' and 'x': symbolic
//     links, devices, FIFOs, contiguous files, pax global ('g') and GNU long-name ('L',
//     'K') headers, ...
//   CORRUPT, again:
//     * a malformed size, or the data, padded to a whole block, not inside the image;
//   For a pax extended header ('x'), which is no entry (it neither counts as one nor names
//     anything): its records must tile its data ("<length> <keyword>=<value>\n", CORRUPT
//     otherwise) and be "comment" records alone (NOT_SUPPORTED otherwise: any other
//     keyword would change the next entry). mkbootfs writes them as padding so that an
//     ELF file's data starts on a page boundary, where exec can map it.
//   CORRUPT, again, for an entry:
//     * a directory or a hard link with a non-zero size;
//     * a malformed mode;
//     * a name that is empty, starts with "/", has an empty component ("a//b", or a
//       regular file whose name ends in "/"), or has a "." or ".." component;
//   ALREADY_EXISTS — two entries with the same normalized path.
//   CORRUPT, again: a hard link whose linkname is not a regular file of an earlier header.
//   CORRUPT, after the walk: an entry whose parent directory is not in the archive, or is
//     a regular file. mkbootfs always writes every parent, and the rule keeps the tree
//     consistent: no path is both a file and a directory with children.
//   A lone zero block followed by a non-zero one is CORRUPT as well (see above).
//
// Ignored: uid, gid, mtime, uname, gname, linkname (but a hard link's), the device numbers, and the
// mode bits above 07777.
//
// Storage: open() copies each normalized path into a name pool inside the Archive (the
// ustar prefix and name are not adjacent in the header, so a joined path cannot point into
// the image). Entry::data, by contrast, points into the image, so the image must stay
// mapped, and unchanged, for as long as the entries are used. The pool and the tables
// make an Archive about 80 KiB: keep it in static storage, not on a small stack. Entries
// point into the Archive itself, so it can be neither copied nor moved.
//
// Cost: open() keeps an index of the entries sorted by path, filled by binary insertion,
// so the duplicate check and the parent check of each entry, and each find(), take at most
// 9 path comparisons (about 4,600 for a full archive, against 32,640 for comparing every
// pair), plus at most 32,640 two-byte moves in the index. list() scans every entry once.

#include <base/result.h>
#include <base/span.h>
#include <base/string_view.h>
#include <stddef.h>
#include <stdint.h>

namespace ustar {

inline constexpr size_t kBlockSize = 512;
// Bounds the tables inside Archive and the work open() does on a hostile image.
inline constexpr size_t kMaxEntries = 256;
// The longest path ustar can store: a 155-byte prefix, the "/" between and a 100-byte name.
inline constexpr size_t kMaxPathLength = 256;

// One validated member. path is normalized: no leading "/", no trailing "/", no empty,
// "." or ".." component. For a directory, size is 0 and data is empty; for a regular file,
// data is the size bytes of its contents inside the image.
struct Entry {
    base::StringView path;
    bool is_directory;
    uint32_t mode; // permission bits, at most 07777
    uint64_t size;
    base::Span<const uint8_t> data;
};

class Archive {
public:
    Archive() = default;
    Archive(const Archive&) = delete;
    Archive& operator=(const Archive&) = delete;

    // Validates `image` by the rules above and, on success, records its entries. On error
    // the archive is left empty (count() == 0), whatever it held before.
    [[nodiscard]] base::Result<void> open(base::Span<const uint8_t> image);

    // The entries in archive order.
    [[nodiscard]] size_t count() const { return m_count; }
    [[nodiscard]] const Entry& at(size_t index) const;

    // The entry at `path`, with or without one leading "/"; nullptr when there is none.
    // The root ("" or "/") has no entry of its own and also yields nullptr.
    [[nodiscard]] const Entry* find(base::StringView path) const;

    // Calls callback(const Entry&) for each direct child of the directory `dir`, in path
    // order; the root is "" or "/". Returns the number of children, NOT_FOUND when `dir`
    // is not in the archive, or WRONG_TYPE when it is a regular file.
    template<typename Callback>
    [[nodiscard]] base::Result<size_t> list(base::StringView dir, Callback&& callback) const {
        base::StringView normalized = TRY(directory_for_listing(dir));
        size_t children = 0;
        for (size_t i = 0; i < m_count; ++i) {
            const Entry& entry = m_entries[m_sorted[i]];
            if (is_direct_child(entry.path, normalized)) {
                callback(entry);
                ++children;
            }
        }
        return children;
    }

private:
    [[nodiscard]] base::Result<void> walk(base::Span<const uint8_t> image);
    [[nodiscard]] base::Result<void> add_entry(base::Span<const uint8_t> image, size_t offset,
                                               size_t& next_offset);
    [[nodiscard]] base::Result<base::StringView> store_path(const uint8_t* header,
                                                            bool is_directory, bool gnu);
    [[nodiscard]] base::Result<void> check_parents() const;
    [[nodiscard]] base::Result<base::StringView> directory_for_listing(base::StringView dir) const;
    [[nodiscard]] static bool is_direct_child(base::StringView path, base::StringView dir);
    // The position in m_sorted of the first entry whose path is not less than `path`.
    [[nodiscard]] size_t lower_bound(base::StringView path) const;
    void reset();

    Entry m_entries[kMaxEntries];
    // Indices into m_entries, ordered by path (bytewise).
    uint16_t m_sorted[kMaxEntries];
    size_t m_count = 0;
    char m_names[kMaxEntries * kMaxPathLength];
    size_t m_names_used = 0;
};

} // namespace ustar
