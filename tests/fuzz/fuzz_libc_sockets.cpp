// The C library's socket layer (libc/musl/portable/sockets.h): the checks of what a
// program passes to socket, bind, connect, setsockopt and the like, and the socket state
// it keeps from the network server's answers, driven by a sequence of calls decoded from
// the input.
//
// Input: records of one operation byte and its operands (an "arg" is one byte: below
// 0x80 the small value byte & 0x3F, which covers every constant these calls know, else
// a raw u64 follows):
//   0  arg domain, arg type, arg protocol: check_create (a new socket on success)
//   1  u8 len, len bytes, u8 unspec: sockaddr_read, round trip through sockaddr_make
//   2  arg: sockaddr_out_size                     3  u8 op, u8 addressed: precheck
//   4  u8 op, arg status: socket_error            5  arg: shutdown_bits
//   6  arg level, arg name, u8 len, len bytes: setsockopt
//   7  arg level, arg name: getsockopt           8  u32, u32: poll events and interest
//   9  u32 state, u32 error: observe
// Every answer must be 0 or a negated errno (precheck may answer 1), the state and flags
// must stay within their enums, and a pending error must be a positive errno.
#include "seeds.h"

#include <libc/musl/portable/sockets.h>

#include <cstring>
#include <vector>

using tern::fuzz::Input;
using tern::fuzz::Output;

namespace {

void check(bool ok, const char* what) {
    if (!ok) {
        fprintf(stderr, "fuzz_libc_sockets: broken: %s\n", what);
        abort();
    }
}

int64_t arg(Input& in) {
    uint8_t b = in.u8();
    return (b & 0x80) ? int64_t(in.u64()) : int64_t(b & 0x3F);
}

void errno_or_zero(int64_t r, const char* what) { check(r <= 0 && r >= -4095, what); }

constexpr uint32_t kAllFlags = 255;

void check_socket(const tern_libc_socket& s) {
    check(s.state <= TERN_LIBC_SOCKET_FAILED, "socket state in range");
    check((s.flags & ~kAllFlags) == 0, "socket flags known");
    check(s.error >= 0 && s.error <= 4095, "pending error is an errno");
}

void make_seeds() {
    tern::fuzz::SeedWriter seeds;
    if (!seeds.enabled())
        return;
    for (uint8_t type : {1, 2}) {
        Output out;
        out.u8(0); // socket(AF_INET, type, 0)
        out.u8(2);
        out.u8(type);
        out.u8(0);
        uint8_t addr[TERN_LINUX_SOCKADDR_IN_SIZE];
        tern_libc_sockaddr_make(0x7F000001, 8080, addr);
        out.u8(1);
        out.u8(sizeof(addr));
        out.bytes(std::vector<uint8_t>(addr, addr + sizeof(addr)));
        out.u8(0);
        for (uint8_t op = 0; op <= TERN_LIBC_OP_POLL; ++op) {
            out.u8(3);
            out.u8(op);
            out.u8(op & 1);
            out.u8(4);
            out.u8(op);
            out.u8(uint8_t(op % 12));
        }
        const uint8_t options[][2] = {{1, 2}, {1, 9}, {1, 20}, {1, 21}, {6, 1}, {1, 4}, {1, 3}};
        for (const auto& o : options) {
            out.u8(6);
            out.u8(o[0]);
            out.u8(o[1]);
            out.u8(o[1] >= 20 ? 16 : 4);
            for (int i = 0; i < (o[1] >= 20 ? 16 : 4); ++i)
                out.u8(uint8_t(i == 0 ? 1 : 0));
            out.u8(7);
            out.u8(o[0]);
            out.u8(o[1]);
        }
        out.u8(9);
        out.u32(4);
        out.u32(0);
        out.u8(5);
        out.u8(1);
        seeds.add(out.result());
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    make_seeds();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Input in(data, size);
    tern_libc_socket s{};
    s.type = TERN_LINUX_SOCK_STREAM;
    while (!in.empty()) {
        switch (in.u8() % 10) {
        case 0: {
            uint32_t base_type = 0, extra = 0;
            int64_t domain = arg(in), type = arg(in), protocol = arg(in);
            int r = tern_libc_socket_check_create(domain, type, protocol, &base_type, &extra);
            errno_or_zero(r, "check_create");
            if (r == 0) {
                check(base_type == TERN_LINUX_SOCK_STREAM || base_type == TERN_LINUX_SOCK_DGRAM,
                      "a created socket is a stream or datagram socket");
                s = {};
                s.type = base_type;
            }
            break;
        }
        case 1: {
            std::vector<uint8_t> bytes = in.bytes(in.u8());
            int unspec = in.u8() & 1;
            uint32_t ip = 0;
            uint16_t port = 0;
            int r = tern_libc_sockaddr_read(bytes.empty() ? nullptr : bytes.data(),
                                            int64_t(bytes.size()), unspec, &ip, &port);
            errno_or_zero(r, "sockaddr_read");
            if (r == 0) {
                uint8_t again[TERN_LINUX_SOCKADDR_IN_SIZE];
                tern_libc_sockaddr_make(ip, port, again);
                uint32_t ip2 = 0;
                uint16_t port2 = 0;
                check(tern_libc_sockaddr_read(again, sizeof(again), 0, &ip2, &port2) == 0
                          && ip2 == ip && port2 == port,
                      "an address read back through sockaddr_make is the same");
            }
            break;
        }
        case 2: {
            int64_t given = arg(in);
            int r = tern_libc_sockaddr_out_size(given);
            if (given < 0)
                check(r < 0, "a negative address size is refused");
            else
                check(r >= 0 && r <= TERN_LINUX_SOCKADDR_IN_SIZE && r <= given,
                      "an address size within the caller's and 16");
            break;
        }
        case 3: {
            auto op = tern_libc_socket_op(in.u8() % (TERN_LIBC_OP_POLL + 1));
            int r = tern_libc_socket_precheck(&s, op, in.u8() & 1);
            check(r == 1 ? (op == TERN_LIBC_OP_SEND || op == TERN_LIBC_OP_RECV) : r <= 0,
                  "precheck answer");
            break;
        }
        case 4: {
            auto op = tern_libc_socket_op(in.u8() % (TERN_LIBC_OP_POLL + 1));
            int64_t status = arg(in);
            errno_or_zero(tern_libc_socket_error(&s, op, status), "socket_error");
            break;
        }
        case 5: {
            int r = tern_libc_shutdown_bits(arg(in));
            check(r == -22 || (r >= 0 && r <= 3), "shutdown bits");
            break;
        }
        case 6: {
            int64_t level = arg(in), name = arg(in);
            std::vector<uint8_t> value = in.bytes(in.u8() % 33);
            uint32_t option = 0, setting = 0;
            int r = tern_libc_socket_setopt(&s, level, name, value.empty() ? nullptr : value.data(),
                                            int64_t(value.size()), &option, &setting);
            check(r <= 1 && r >= -4095, "setsockopt answer");
            break;
        }
        case 7: {
            int64_t level = arg(in), name = arg(in);
            alignas(8) uint8_t out[16];
            uint32_t out_size = 0;
            int r = tern_libc_socket_getopt(&s, level, name, out, &out_size);
            errno_or_zero(r, "getsockopt");
            if (r == 0)
                check(out_size <= sizeof(out), "an option fits 16 bytes");
            break;
        }
        case 8: {
            uint32_t net = in.u32(), requested = in.u32();
            (void)tern_libc_poll_events(net, requested);
            (void)tern_libc_poll_interest(requested);
            break;
        }
        default: {
            uint32_t state = in.u32();
            int32_t error = int32_t(in.u32());
            tern_libc_socket_observe(&s, state, error);
            break;
        }
        }
        check_socket(s);
    }
    return 0;
}
