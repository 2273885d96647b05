// Reading the startup block (abi/include/tern/abi/startup.h).
#include <tern/abi/syscalls.h>
#include <tern/startup.h>

namespace tern {
namespace {

const tern_startup* g_block = nullptr;
char* g_empty_vector[1] = {nullptr};

bool inside_block(const tern_startup* block, uint64_t address, uint64_t size) {
    uint64_t start = reinterpret_cast<uint64_t>(block);
    return address >= start && size <= block->size && address - start <= block->size - size;
}

// Every pointer the block holds must point inside it, and every string must end in it.
bool vector_ok(const tern_startup* block, uint64_t vector, uint32_t count) {
    if (!inside_block(block, vector, (uint64_t(count) + 1) * sizeof(char*)) || vector % 8)
        return false;
    auto* entries = reinterpret_cast<char* const*>(vector);
    if (entries[count] != nullptr)
        return false;
    uint64_t end = reinterpret_cast<uint64_t>(block) + block->size;
    for (uint32_t i = 0; i < count; ++i) {
        uint64_t s = reinterpret_cast<uint64_t>(entries[i]);
        if (!inside_block(block, s, 1))
            return false;
        bool terminated = false;
        for (uint64_t p = s; p < end; ++p) {
            if (*reinterpret_cast<const char*>(p) == '\0') {
                terminated = true;
                break;
            }
        }
        if (!terminated)
            return false;
    }
    return true;
}

} // namespace

void startup_init(uint64_t arg) {
    constexpr uint64_t kLow = TERN_STARTUP_STACK_TOP - TERN_STARTUP_STACK_SIZE;
    if (arg < kLow || arg > TERN_STARTUP_STACK_TOP - sizeof(tern_startup) || arg % 8)
        return;
    auto* block = reinterpret_cast<const tern_startup*>(arg);
    if (block->magic != TERN_STARTUP_MAGIC || block->size < sizeof(tern_startup)
        || block->size > TERN_STARTUP_MAX_SIZE || arg + block->size > TERN_STARTUP_STACK_TOP
        || block->handle_count > TERN_STARTUP_MAX_HANDLES)
        return;
    if (!vector_ok(block, block->argv, block->argc) || !vector_ok(block, block->envp, block->envc))
        return;
    g_block = block;
}

const tern_startup* startup_block() { return g_block; }
int argc() { return g_block ? int(g_block->argc) : 0; }
char* const* argv() {
    return g_block ? reinterpret_cast<char* const*>(g_block->argv) : g_empty_vector;
}
char* const* envp() {
    return g_block ? reinterpret_cast<char* const*>(g_block->envp) : g_empty_vector;
}
uint64_t pid() { return g_block ? g_block->pid : 0; }

base::StringView getenv(base::StringView name) {
    for (char* const* e = envp(); *e; ++e) {
        base::StringView entry(*e);
        if (entry.size() > name.size() && entry.starts_with(name) && entry[name.size()] == '=')
            return entry.substr(name.size() + 1);
    }
    return {};
}

tern_handle_t startup_handle(uint32_t kind) {
    if (!g_block)
        return TERN_INVALID_HANDLE;
    for (uint32_t i = 0; i < g_block->handle_count; ++i)
        if (g_block->handles[i].kind == kind)
            return g_block->handles[i].handle;
    return TERN_INVALID_HANDLE;
}

tern_handle_t self() {
    tern_handle_t h = startup_handle(TERN_STARTUP_SELF);
    return h != TERN_INVALID_HANDLE ? h : TERN_HANDLE_SELF;
}

} // namespace tern
