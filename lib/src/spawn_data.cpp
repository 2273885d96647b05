// Packing and unpacking proc's Spawn data (spawn_data.h).
#include <lib/spawn_data.h>

namespace proc_data {

base::Error pack(base::Span<char> out, base::StringView path, const char* const* argv,
                 const char* const* envp, size_t* used, uint32_t* argc, uint32_t* envc) {
    if (path.empty())
        return base::Error::INVALID_ARGUMENT;
    size_t n = 0;
    auto put = [&](base::StringView s) {
        if (s.contains('\0') || n + s.size() + 1 > out.size())
            return false;
        __builtin_memcpy(out.data() + n, s.data(), s.size());
        out[n + s.size()] = '\0';
        n += s.size() + 1;
        return true;
    };
    if (!put(path))
        return base::Error::TOO_BIG;
    uint32_t counts[2] = {0, 0};
    const char* const* vectors[2] = {argv, envp};
    for (int v = 0; v < 2; ++v) {
        for (const char* const* p = vectors[v]; p && *p; ++p) {
            if (counts[v] == kMaxStrings || !put(*p))
                return base::Error::TOO_BIG;
            ++counts[v];
        }
    }
    *used = n;
    *argc = counts[0];
    *envc = counts[1];
    return base::Error::OK;
}

base::Error unpack(base::Span<const uint8_t> data, uint32_t argc, uint32_t envc, Unpacked& out) {
    if (argc > kMaxStrings || envc > kMaxStrings)
        return base::Error::TOO_BIG;
    const char* strings[1 + 2 * kMaxStrings];
    uint32_t wanted = 1 + argc + envc, found = 0;
    size_t start = 0;
    for (size_t i = 0; i < data.size(); ++i) {
        if (data[i] != 0)
            continue;
        if (found == wanted)
            return base::Error::INVALID_ARGUMENT;
        strings[found++] = reinterpret_cast<const char*>(data.data() + start);
        start = i + 1;
    }
    if (found != wanted || start != data.size() || strings[0][0] == '\0')
        return base::Error::INVALID_ARGUMENT;
    out.path = strings[0];
    for (uint32_t i = 0; i < argc; ++i)
        out.argv[i] = strings[1 + i];
    out.argv[argc] = nullptr;
    for (uint32_t i = 0; i < envc; ++i)
        out.envp[i] = strings[1 + argc + i];
    out.envp[envc] = nullptr;
    return base::Error::OK;
}

} // namespace proc_data
