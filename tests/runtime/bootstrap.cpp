// Reads the bootstrap port the kernel gives init-like tasks: one message per boot module
// with a read-only memory object of its contents. Maps each, checks the ELF and symbol
// modules' first bytes, and checks that the objects cannot be mapped writable.
#include <stddef.h>
#include <stdint.h>
#include <tern/abi/errors.h>
#include <tern/abi/message.h>
#include <tern/abi/syscalls.h>
#include <tern/print.h>
#include <tern/syscall.h>

namespace {

int g_failures = 0;

void check(bool ok, const char* name, int64_t detail) {
    if (ok) {
        tern::println("bootstrap: ok {}", name);
    } else {
        tern::println("bootstrap: FAILED {}: got {}", name, detail);
        ++g_failures;
    }
}

bool starts_with(const char* s, size_t n, const char* prefix) {
    for (size_t i = 0; prefix[i]; ++i)
        if (i >= n || s[i] != prefix[i])
            return false;
    return true;
}

} // namespace

extern "C" int main(uint64_t) {
    int modules = 0;
    bool saw_elf = false, saw_symbols = false;
    for (;;) {
        char name[256];
        tern_msg msg = {};
        msg.data = reinterpret_cast<uint64_t>(name);
        msg.data_capacity = sizeof(name);
        int64_t r = tern_sys_port_receive(TERN_HANDLE_BOOTSTRAP, reinterpret_cast<uint64_t>(&msg),
                                          TERN_TIMEOUT_NONE);
        if (r == -TERN_WOULD_BLOCK)
            break;
        check(r == 0, "receive_module_message", r);
        if (r != 0)
            return 1;
        ++modules;
        check(msg.hdr.label == TERN_LABEL_BOOT_MODULE && msg.hdr.handle_count == 1,
              "module_message_shape", msg.hdr.label);
        uint64_t size = msg.words[0], offset = msg.words[1];
        uint64_t span = (offset + size + 4095) & ~4095ull;
        tern_handle_t memory = msg.handles[0];
        int64_t writable = tern_sys_vm_map_memory(TERN_HANDLE_SELF, memory, 0, 0, span,
                                                  TERN_PROT_READ | TERN_PROT_WRITE);
        check(writable == -TERN_ACCESS_DENIED, "module_not_writable", writable);
        int64_t at = tern_sys_vm_map_memory(TERN_HANDLE_SELF, memory, 0, 0, span, TERN_PROT_READ);
        check(at > 0, "module_mapped", at);
        if (at <= 0)
            continue;
        const char* bytes = reinterpret_cast<const char*>(at + offset);
        size_t name_len = msg.hdr.data_size;
        if (starts_with(name, name_len, "symbols")) {
            saw_symbols = true;
            check(size > 16 && bytes[16] == ' ', "symbols_module_contents", size);
        } else {
            saw_elf |= starts_with(bytes, size,
                                   "\x7f"
                                   "ELF");
        }
        check(tern_sys_vm_free(uint64_t(at), span) == 0, "module_unmapped", 0);
        check(tern_sys_handle_close(memory) == 0, "module_handle_closed", 0);
    }
    check(modules >= 2, "module_count", modules);
    check(saw_elf, "elf_module_seen", 0);
    check(saw_symbols, "symbols_module_seen", 0);
    tern::println("bootstrap: {} modules, {} failures", modules, g_failures);
    return g_failures == 0 ? 0 : 1;
}
