#pragma once
// Kernel-memory quotas. Every kernel object a task makes through a syscall (a port, a
// reply right, a memory object, a death-notice watch, a task) and every message data
// part it sends is charged to the task's account while it lives, wherever its handle or
// message has gone since; a request beyond the account's limit fails with
// QUOTA_EXCEEDED, so no task can fill the kernel heap. (Handles, threads and user memory
// have their own per-task bounds: TaskQuotas in task.h.)
//
// An account outlives its task while objects charged to it do: the objects hold it by
// reference, and the last one to go frees it.
//
// FIXME: A task's children get accounts of their own, so a task that creates tasks (up
// to KernelQuotas::tasks) and runs code in them multiplies these limits; accounts that
// also charge a child's objects to its creator would close that.
#include <base/result.h>
#include <base/utility.h>
#include <stddef.h>
#include <stdint.h>

namespace kernel {

enum class QuotaKind : uint8_t {
    kPorts,
    kReplies,
    kMemoryObjects,
    kWatches,
    kTasks,
};
inline constexpr size_t kQuotaKinds = 5;

// The limits of one account.
struct KernelQuotas {
    uint32_t ports = 1024;
    uint32_t replies = 1024;
    uint32_t memory_objects = 1024;
    uint32_t watches = 1024;
    uint32_t tasks = 256;
    // Data parts of messages sent and not yet received (or released).
    uint64_t message_data_bytes = 8ull << 20;
};

class KernelAccount {
public:
    // A new account with one reference, the caller's; null when memory is short.
    static KernelAccount* create(const KernelQuotas& limits);

    void add_ref() { ++m_refs; }
    void release_ref() {
        if (--m_refs == 0)
            destroy();
    }

    // Counts one object of `kind`; false at the limit. (bool rather than Result: this is
    // on the call path, where a Result returned through memory costs measurably.)
    [[nodiscard]] bool try_charge(QuotaKind kind) {
        uint32_t& used = m_used[size_t(kind)];
        if (used >= m_limits[size_t(kind)]) [[unlikely]]
            return false;
        ++used;
        ++m_refs;
        return true;
    }
    void uncharge(QuotaKind kind) {
        --m_used[size_t(kind)];
        release_ref();
    }
    // Counts `bytes` of message data; false beyond the limit.
    [[nodiscard]] bool try_charge_data(uint64_t bytes) {
        if (bytes > m_data_limit - m_data_used) [[unlikely]]
            return false;
        m_data_used += bytes;
        ++m_refs;
        return true;
    }
    void uncharge_data(uint64_t bytes) {
        m_data_used -= bytes;
        release_ref();
    }

    [[nodiscard]] uint32_t used(QuotaKind kind) const { return m_used[size_t(kind)]; }
    [[nodiscard]] uint64_t data_used() const { return m_data_used; }

private:
    explicit KernelAccount(const KernelQuotas& limits);
    void destroy();

    uint32_t m_refs = 1;
    uint32_t m_used[kQuotaKinds] = {};
    uint32_t m_limits[kQuotaKinds];
    uint64_t m_data_used = 0;
    uint64_t m_data_limit;
};

// One object's charge: taken when the object is made, given back when the object (whose
// member it is) is destroyed. Empty for objects the kernel makes for itself.
class QuotaCharge {
public:
    QuotaCharge() = default;
    // Charges one object of `kind` to `account` (which may be null: no charge).
    [[nodiscard]] static base::Result<QuotaCharge> take(KernelAccount* account, QuotaKind kind) {
        QuotaCharge charge;
        if (account && !charge.take_from(*account, kind))
            return base::Error::QUOTA_EXCEEDED;
        return charge;
    }
    // The same for an object that holds its (empty) charge already; false at the limit.
    [[nodiscard]] bool take_from(KernelAccount& account, QuotaKind kind) {
        if (!account.try_charge(kind))
            return false;
        release();
        m_account = &account;
        m_kind = kind;
        return true;
    }
    QuotaCharge(QuotaCharge&& other)
        : m_account(base::exchange(other.m_account, nullptr)), m_kind(other.m_kind) {}
    QuotaCharge& operator=(QuotaCharge&& other) {
        if (this != &other) {
            release();
            m_account = base::exchange(other.m_account, nullptr);
            m_kind = other.m_kind;
        }
        return *this;
    }
    QuotaCharge(const QuotaCharge&) = delete;
    QuotaCharge& operator=(const QuotaCharge&) = delete;
    ~QuotaCharge() { release(); }

    void release() {
        if (KernelAccount* account = base::exchange(m_account, nullptr))
            account->uncharge(m_kind);
    }

private:
    KernelAccount* m_account = nullptr;
    QuotaKind m_kind = QuotaKind::kPorts;
};

} // namespace kernel
