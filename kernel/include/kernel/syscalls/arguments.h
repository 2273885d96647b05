#pragma once
// The typed arguments of a system call. The dispatcher (kernel/syscalls/dispatch.cpp)
// decodes the raw registers of a call into its handler's parameter types once, before the
// handler runs, so a handler never sees a raw register:
//
//   SyscallResult sys_port_send(Handle port, UserPtr<tern_msg> msg, Timeout timeout);
//
// Each parameter type says how many registers it takes and how a bad value is refused
// (SyscallArgument<T> below): a handle above 32 bits is BAD_HANDLE, any other 32-bit
// argument above 32 bits is INVALID_ARGUMENT. Handlers return SyscallResult (a value >= 0
// or an error) and the dispatcher alone turns an error into the ABI's negative status.
#include <base/error.h>
#include <base/result.h>
#include <kernel/core/clock.h>
#include <kernel/core/usercopy.h>
#include <stddef.h>
#include <stdint.h>
#include <tern/abi/rights.h>
#include <tern/abi/syscalls.h>

namespace kernel {

// What every handler returns: the value for RAX (handles, addresses, counts, statuses:
// all below 2^63) or the error the call failed with.
using SyscallResult = base::Result<uint64_t>;

// A handle value from the caller's table. Handle values are 32 bits wide; 0 never names
// an object and calls that take an optional handle read it as "none".
class Handle {
public:
    constexpr explicit Handle(tern_handle_t value) : m_value(value) {}
    // A handle carried in a 64-bit value: BAD_HANDLE when the high half is not zero.
    static base::Result<Handle> from(uint64_t raw) {
        if (raw > 0xFFFFFFFFull)
            return base::Error::BAD_HANDLE;
        return Handle(tern_handle_t(raw));
    }
    [[nodiscard]] constexpr tern_handle_t value() const { return m_value; }
    [[nodiscard]] constexpr bool is_none() const { return m_value == TERN_INVALID_HANDLE; }

private:
    tern_handle_t m_value;
};

// A timeout in nanoseconds: TERN_TIMEOUT_NONE never blocks, TERN_TIMEOUT_INFINITE waits
// forever.
class Timeout {
public:
    constexpr explicit Timeout(uint64_t ns) : m_ns(ns) {}
    [[nodiscard]] constexpr bool blocks() const { return m_ns != TERN_TIMEOUT_NONE; }
    // The absolute deadline: 0 (none) for TERN_TIMEOUT_INFINITE or when now + timeout
    // would overflow. Inline: every blocking call asks, most often for no deadline.
    [[nodiscard]] uint64_t deadline() const {
        if (m_ns == TERN_TIMEOUT_INFINITE)
            return 0;
        uint64_t now = monotonic_ns();
        return m_ns > ~0ull - now ? 0 : now + m_ns;
    }
    [[nodiscard]] constexpr uint64_t nanoseconds() const { return m_ns; }

private:
    uint64_t m_ns;
};

// A pointer to a T in the calling task's memory. The kernel never dereferences it: it is
// copied in or out only through the checked routines of usercopy.h, which refuse
// addresses outside user space and turn a fault into BAD_ADDRESS. address() is there for
// range checks and logs, not for access.
template<typename T>
class UserPtr {
public:
    constexpr explicit UserPtr(uint64_t address) : m_address(address) {}
    [[nodiscard]] base::Result<void> read(T& out) const {
        return copy_from_user(&out, m_address, sizeof(T));
    }
    [[nodiscard]] base::Result<void> write(const T& value) const {
        return copy_to_user(m_address, &value, sizeof(T));
    }
    // The i-th T of an array that starts here.
    [[nodiscard]] constexpr UserPtr element(uint64_t i) const {
        return UserPtr(m_address + i * sizeof(T));
    }
    // The member of type U at `offset` bytes into the T (use offsetof).
    template<typename U>
    [[nodiscard]] constexpr UserPtr<U> member(size_t offset) const {
        return UserPtr<U>(m_address + offset);
    }
    [[nodiscard]] constexpr uint64_t address() const { return m_address; }

private:
    uint64_t m_address;
};

// Bytes in the calling task's memory and their count (a pointer and a length register,
// or a pointer and a size inside a message). Accesses beyond size() are BAD_ADDRESS.
class UserBuffer {
public:
    constexpr UserBuffer(uint64_t address, uint64_t size) : m_address(address), m_size(size) {}
    [[nodiscard]] constexpr uint64_t size() const { return m_size; }
    [[nodiscard]] constexpr uint64_t address() const { return m_address; }
    [[nodiscard]] base::Result<void> read(uint64_t offset, void* dst, size_t n) const {
        if (offset > m_size || n > m_size - offset)
            return base::Error::BAD_ADDRESS;
        return copy_from_user(dst, m_address + offset, n);
    }
    [[nodiscard]] base::Result<void> write(uint64_t offset, const void* src, size_t n) const {
        if (offset > m_size || n > m_size - offset)
            return base::Error::BAD_ADDRESS;
        return copy_to_user(m_address + offset, src, n);
    }
    // True when the whole buffer lies in user space (it may still be unmapped).
    [[nodiscard]] bool in_user_space() const { return user_range_ok(m_address, m_size); }

private:
    uint64_t m_address;
    uint64_t m_size;
};

// An array of T in the calling task's memory and its element count (two registers).
template<typename T>
class UserArray {
public:
    constexpr UserArray(uint64_t address, uint64_t count) : m_first(address), m_count(count) {}
    [[nodiscard]] constexpr uint64_t count() const { return m_count; }
    // Element i; the caller keeps i below count().
    [[nodiscard]] constexpr UserPtr<T> at(uint64_t i) const { return m_first.element(i); }
    // True when the first n elements lie in user space (they may still be unmapped).
    [[nodiscard]] bool in_user_space(uint64_t n) const {
        return n <= ~uint64_t(0) / sizeof(T) && user_range_ok(m_first.address(), n * sizeof(T));
    }

private:
    UserPtr<T> m_first;
    uint64_t m_count;
};

// How one parameter type is decoded: kRegisters registers starting at `r`.
template<typename T>
struct SyscallArgument;

template<>
struct SyscallArgument<uint64_t> {
    static constexpr size_t kRegisters = 1;
    static base::Result<uint64_t> decode(const uint64_t* r) { return r[0]; }
};

template<>
struct SyscallArgument<uint32_t> {
    static constexpr size_t kRegisters = 1;
    static base::Result<uint32_t> decode(const uint64_t* r) {
        if (r[0] > 0xFFFFFFFFull)
            return base::Error::INVALID_ARGUMENT;
        return uint32_t(r[0]);
    }
};

template<>
struct SyscallArgument<Handle> {
    static constexpr size_t kRegisters = 1;
    static base::Result<Handle> decode(const uint64_t* r) { return Handle::from(r[0]); }
};

template<>
struct SyscallArgument<Timeout> {
    static constexpr size_t kRegisters = 1;
    static base::Result<Timeout> decode(const uint64_t* r) { return Timeout(r[0]); }
};

template<typename T>
struct SyscallArgument<UserPtr<T>> {
    static constexpr size_t kRegisters = 1;
    static base::Result<UserPtr<T>> decode(const uint64_t* r) { return UserPtr<T>(r[0]); }
};

template<>
struct SyscallArgument<UserBuffer> {
    static constexpr size_t kRegisters = 2;
    static base::Result<UserBuffer> decode(const uint64_t* r) { return UserBuffer(r[0], r[1]); }
};

template<typename T>
struct SyscallArgument<UserArray<T>> {
    static constexpr size_t kRegisters = 2;
    static base::Result<UserArray<T>> decode(const uint64_t* r) { return UserArray<T>(r[0], r[1]); }
};

} // namespace kernel
