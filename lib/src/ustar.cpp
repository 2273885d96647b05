// The boot file system archive reader (see archive.h for the rules and the error each one
// yields).
//
// Every header field is read through a pointer and a fixed width that lie inside the
// 512-byte header, and every header is first checked to lie inside the image, so no field
// can lead a read past either. Sizes are checked against the room left in the image
// before they are rounded up or added to an offset, so no sum can wrap around and pass.

// The sibling header is included by a relative name so that this file compiles with any
// include path that reaches base/ and abi/, not only one that has the tree's root on it.
#include <lib/ustar.h>

#include <base/assert.h>
#include <base/utility.h>

namespace ustar {

namespace {

using base::Error;
using base::Result;
using base::StringView;

// ustar header layout (POSIX.1-1988, as in pax(1)): offset and width of each field used.
constexpr size_t kNameOffset = 0;
constexpr size_t kNameWidth = 100;
constexpr size_t kModeOffset = 100;
constexpr size_t kModeWidth = 8;
constexpr size_t kSizeOffset = 124;
constexpr size_t kSizeWidth = 12;
constexpr size_t kChecksumOffset = 148;
constexpr size_t kChecksumWidth = 8;
constexpr size_t kTypeOffset = 156;
constexpr size_t kMagicOffset = 257;
constexpr size_t kMagicWidth = 8; // magic (6) and version (2) together
constexpr size_t kPrefixOffset = 345;
constexpr size_t kPrefixWidth = 155;

constexpr char kTypeRegular = '0';
constexpr char kTypeRegularOld = '\0';
constexpr char kTypeDirectory = '5';
constexpr char kTypeHardLink = '1';
constexpr size_t kLinkNameOffset = 157;
constexpr size_t kLinkNameWidth = 100;
constexpr char kTypePaxHeader = 'x';

constexpr uint32_t kModeMask = 07777;

constexpr uint8_t kPosixMagic[kMagicWidth] = {'u', 's', 't', 'a', 'r', '\0', '0', '0'};
constexpr uint8_t kGnuMagic[kMagicWidth] = {'u', 's', 't', 'a', 'r', ' ', ' ', '\0'};

bool all_zero(const uint8_t* p, size_t length) {
    for (size_t i = 0; i < length; ++i) {
        if (p[i] != 0)
            return false;
    }
    return true;
}

// Parses a numeric field: optional leading spaces, one or more octal digits, then only
// NULs and spaces. GNU's base-256 form (high bit set) has no digits and so is rejected;
// no field mkbootfs writes needs it.
Result<uint64_t> parse_octal(const uint8_t* field, size_t width) {
    size_t i = 0;
    while (i < width && field[i] == ' ')
        ++i;
    size_t first_digit = i;
    uint64_t value = 0;
    while (i < width && field[i] >= '0' && field[i] <= '7') {
        // The widest field (12 bytes) cannot overflow, but the check keeps the parser
        // correct for any width rather than for the widths it happens to be given.
        if (value > (UINT64_MAX >> 3))
            return Error::CORRUPT;
        value = (value << 3) | uint64_t(field[i] - '0');
        ++i;
    }
    if (i == first_digit)
        return Error::CORRUPT;
    for (; i < width; ++i) {
        if (field[i] != ' ' && field[i] != '\0')
            return Error::CORRUPT;
    }
    return value;
}

Result<void> check_checksum(const uint8_t* header) {
    uint64_t stored = TRY(parse_octal(header + kChecksumOffset, kChecksumWidth));
    // 512 bytes of at most 255 each: neither sum can overflow.
    uint64_t unsigned_sum = 0;
    int64_t signed_sum = 0;
    for (size_t i = 0; i < kBlockSize; ++i) {
        bool in_field = i >= kChecksumOffset && i < kChecksumOffset + kChecksumWidth;
        uint8_t byte = in_field ? uint8_t(' ') : header[i];
        unsigned_sum += byte;
        signed_sum += int8_t(byte);
    }
    if (stored != unsigned_sum && (signed_sum < 0 || stored != uint64_t(signed_sum)))
        return Error::CORRUPT;
    return {};
}

// The text of a string field: up to its first NUL, or all of it when there is none.
StringView field_text(const uint8_t* field, size_t width) {
    size_t length = 0;
    while (length < width && field[length] != '\0')
        ++length;
    return StringView(reinterpret_cast<const char*>(field), length);
}

// A stored path must name one place only, relative to the root, so lookups and listings
// can compare paths as plain strings: no leading "/", no empty, "." or ".." component.
Result<void> check_path(StringView path) {
    if (path.is_empty())
        return Error::CORRUPT;
    // A leading "/" or a doubled or trailing one shows up as an empty component.
    for (StringView component : path.split('/', base::KeepEmpty::kYes)) {
        if (component.is_empty() || component == "." || component == "..")
            return Error::CORRUPT;
    }
    return {};
}

// The records of a pax extended header, "<length> <keyword>=<value>\n" each, the length
// in decimal counting the whole record: CORRUPT when they do not tile the data exactly,
// NOT_SUPPORTED for any keyword but "comment" (which every reader ignores; mkbootfs pads
// with it), since another keyword would change the next entry in a way this reader does
// not apply.
Result<void> check_pax_comments(const uint8_t* data, size_t size) {
    constexpr char kComment[] = "comment=";
    constexpr size_t kCommentLength = sizeof(kComment) - 1;
    constexpr size_t kMaxDigits = 9; // a header's data is far below 10^9 bytes here
    size_t at = 0;
    while (at < size) {
        size_t i = at;
        uint64_t length = 0;
        while (i < size && i - at < kMaxDigits && data[i] >= '0' && data[i] <= '9') {
            length = length * 10 + uint64_t(data[i] - '0');
            ++i;
        }
        size_t digits = i - at;
        // At least the digits, a space, one keyword byte, "=" and "\n".
        if (digits == 0 || i >= size || data[i] != ' ' || length < digits + 4 || length > size - at
            || data[at + length - 1] != '\n')
            return Error::CORRUPT;
        const uint8_t* keyword = data + i + 1;
        size_t rest = at + length - (i + 1); // keyword, "=", value and "\n"
        if (rest < kCommentLength + 1 || base::memcmp(keyword, kComment, kCommentLength) != 0)
            return Error::NOT_SUPPORTED;
        at += length;
    }
    return {};
}

// Bytewise order, shorter first on a common prefix, as mkbootfs sorts.
int compare(StringView a, StringView b) {
    size_t common = base::min(a.length(), b.length());
    for (size_t i = 0; i < common; ++i) {
        auto x = static_cast<unsigned char>(a[i]);
        auto y = static_cast<unsigned char>(b[i]);
        if (x != y)
            return x < y ? -1 : 1;
    }
    if (a.length() == b.length())
        return 0;
    return a.length() < b.length() ? -1 : 1;
}

StringView strip_leading_slash(StringView path) {
    return path.starts_with('/') ? path.substr(1) : path;
}

} // namespace

const Entry& Archive::at(size_t index) const {
    TERN_ASSERT(index < m_count);
    return m_entries[index];
}

void Archive::reset() {
    m_count = 0;
    m_names_used = 0;
}

Result<void> Archive::open(base::Span<const uint8_t> image) {
    reset();
    Result<void> result = walk(image);
    if (result.ok())
        result = check_parents();
    if (result.is_error())
        reset();
    return result;
}

Result<void> Archive::walk(base::Span<const uint8_t> image) {
    size_t offset = 0;
    while (offset < image.size()) {
        const uint8_t* block = image.data() + offset;
        size_t remaining = image.size() - offset;
        if (remaining < kBlockSize) {
            // A short tail of zeros is padding after the last member; anything else is a
            // header cut off by truncation.
            return all_zero(block, remaining) ? Result<void>() : Error::CORRUPT;
        }
        if (all_zero(block, kBlockSize)) {
            // The end-of-archive marker. A lone zero block followed by more headers would
            // hide those members from any reader that stops here, so the block after it
            // (or what is left of the image) must be zero too.
            size_t after = remaining - kBlockSize;
            return all_zero(block + kBlockSize, base::min(after, kBlockSize)) ? Result<void>()
                                                                              : Error::CORRUPT;
        }
        TRY(add_entry(image, offset, offset));
    }
    return {};
}

Result<void> Archive::add_entry(base::Span<const uint8_t> image, size_t offset,
                                size_t& next_offset) {
    if (m_count == kMaxEntries)
        return Error::TOO_BIG;
    // walk() has checked that the whole header lies inside the image.
    const uint8_t* header = image.data() + offset;
    TRY(check_checksum(header));

    bool gnu = false;
    if (base::memcmp(header + kMagicOffset, kGnuMagic, kMagicWidth) == 0)
        gnu = true;
    else if (base::memcmp(header + kMagicOffset, kPosixMagic, kMagicWidth) != 0)
        return Error::CORRUPT;

    char type = char(header[kTypeOffset]);
    bool is_directory = type == kTypeDirectory;
    bool is_padding = type == kTypePaxHeader;
    bool is_link = type == kTypeHardLink;
    if (!is_directory && !is_padding && !is_link && type != kTypeRegular && type != kTypeRegularOld)
        return Error::NOT_SUPPORTED;

    uint64_t size = TRY(parse_octal(header + kSizeOffset, kSizeWidth));
    size_t data_offset = offset + kBlockSize;
    size_t room = image.size() - data_offset;
    // Only once size is known to fit in the image can it be rounded up without wrapping.
    if (size > room || base::align_up(size, kBlockSize) > room)
        return Error::CORRUPT;
    if (is_padding) {
        // Not an entry: room that puts the next file's data on a page boundary.
        TRY(check_pax_comments(image.data() + data_offset, size_t(size)));
        next_offset = data_offset + size_t(base::align_up(size, kBlockSize));
        return {};
    }
    // Tar writes no data blocks for a directory or a hard link, so a size would make the
    // walk and tar disagree about where the next header starts.
    if ((is_directory || is_link) && size != 0)
        return Error::CORRUPT;

    uint64_t mode = TRY(parse_octal(header + kModeOffset, kModeWidth));
    StringView path = TRY(store_path(header, is_directory, gnu));

    size_t position = lower_bound(path);
    if (position < m_count && m_entries[m_sorted[position]].path == path)
        return Error::ALREADY_EXISTS;
    // A hard link is its target's data under another name: the target is a regular file
    // an earlier header named.
    base::Span<const uint8_t> data = image.subspan(data_offset, size_t(size));
    if (is_link) {
        const Entry* target = find(field_text(header + kLinkNameOffset, kLinkNameWidth));
        if (target == nullptr || target->is_directory)
            return Error::CORRUPT;
        data = target->data;
        size = target->size;
    }
    base::memmove(&m_sorted[position + 1], &m_sorted[position],
                  (m_count - position) * sizeof(m_sorted[0]));
    m_sorted[position] = uint16_t(m_count);

    m_entries[m_count] = Entry{
        .path = path,
        .is_directory = is_directory,
        .mode = uint32_t(mode & kModeMask),
        .size = size,
        .data = data,
    };
    ++m_count;
    m_names_used += path.length();
    next_offset = is_link ? data_offset : data_offset + size_t(base::align_up(size, kBlockSize));
    return {};
}

Result<StringView> Archive::store_path(const uint8_t* header, bool is_directory, bool gnu) {
    StringView name = field_text(header + kNameOffset, kNameWidth);
    // GNU tar keeps access and change times where ustar has the prefix.
    StringView prefix = gnu ? StringView() : field_text(header + kPrefixOffset, kPrefixWidth);

    // Each entry takes at most kMaxPathLength bytes and there are at most kMaxEntries.
    char* out = m_names + m_names_used;
    size_t length = 0;
    if (!prefix.is_empty()) {
        base::memcpy(out, prefix.data(), prefix.length());
        length = prefix.length();
        out[length++] = '/';
    }
    base::memcpy(out + length, name.data(), name.length());
    length += name.length();
    TERN_ASSERT(length <= kMaxPathLength);
    TERN_ASSERT(m_names_used + length <= sizeof(m_names));

    StringView path(out, length);
    if (is_directory && path.ends_with('/'))
        path = path.substr(0, length - 1);
    TRY(check_path(path));
    return path;
}

Result<void> Archive::check_parents() const {
    for (size_t i = 0; i < m_count; ++i) {
        StringView path = m_entries[i].path;
        auto slash = path.find_last('/');
        if (!slash.has_value())
            continue; // A child of the root, which always exists.
        const Entry* parent = find(path.substr(0, *slash));
        if (parent == nullptr || !parent->is_directory)
            return Error::CORRUPT;
    }
    return {};
}

size_t Archive::lower_bound(StringView path) const {
    size_t low = 0;
    size_t high = m_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (compare(m_entries[m_sorted[middle]].path, path) < 0)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

const Entry* Archive::find(StringView path) const {
    path = strip_leading_slash(path);
    if (path.is_empty())
        return nullptr;
    size_t position = lower_bound(path);
    if (position < m_count && m_entries[m_sorted[position]].path == path)
        return &m_entries[m_sorted[position]];
    return nullptr;
}

Result<StringView> Archive::directory_for_listing(StringView dir) const {
    dir = strip_leading_slash(dir);
    if (dir.is_empty())
        return StringView();
    const Entry* entry = find(dir);
    if (entry == nullptr)
        return Error::NOT_FOUND;
    if (!entry->is_directory)
        return Error::WRONG_TYPE;
    return entry->path;
}

bool Archive::is_direct_child(StringView path, StringView dir) {
    if (dir.is_empty())
        return !path.contains('/');
    if (path.length() <= dir.length() + 1 || !path.starts_with(dir) || path[dir.length()] != '/')
        return false;
    return !path.substr(dir.length() + 1).contains('/');
}

} // namespace ustar
