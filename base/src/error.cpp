// Name and description tables for base::Error, generated from the ABI X-macro.

#include <base/error.h>

namespace base {

namespace {

constexpr const char* kErrorNames[] = {
#define TERN_X_ERROR_NAME(name, value, desc) #name,
    TERN_ENUMERATE_ERRORS(TERN_X_ERROR_NAME)
#undef TERN_X_ERROR_NAME
};

constexpr const char* kErrorDescriptions[] = {
#define TERN_X_ERROR_DESC(name, value, desc) desc,
    TERN_ENUMERATE_ERRORS(TERN_X_ERROR_DESC)
#undef TERN_X_ERROR_DESC
};

// The tables are indexed by value, so the ABI list must stay dense and in value order.
constexpr int32_t kErrorValues[] = {
#define TERN_X_ERROR_VALUE(name, value, desc) value,
    TERN_ENUMERATE_ERRORS(TERN_X_ERROR_VALUE)
#undef TERN_X_ERROR_VALUE
};

constexpr bool error_values_are_dense() {
    for (int32_t i = 0; i < kErrorCount; ++i) {
        if (kErrorValues[i] != i)
            return false;
    }
    return true;
}

static_assert(error_values_are_dense(), "TERN_ENUMERATE_ERRORS must list codes 0, 1, 2, ...");
static_assert(sizeof(kErrorNames) / sizeof(kErrorNames[0]) == kErrorCount);

} // namespace

const char* error_name(Error error) {
    int64_t index = static_cast<int64_t>(error);
    if (!is_known_error(index))
        return "UNKNOWN_ERROR";
    return kErrorNames[index];
}

const char* error_description(Error error) {
    int64_t index = static_cast<int64_t>(error);
    if (!is_known_error(index))
        return "unknown error";
    return kErrorDescriptions[index];
}

} // namespace base
