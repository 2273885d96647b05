// Self-tests of kernel-memory accounts.
#include <kernel/object/message_data.h>
#include <kernel/object/port.h>
#include <kernel/object/quota.h>
#include <kernel/test/ktest.h>

namespace kernel {
namespace {

KTEST(quota, object_counts_stop_at_the_limit_and_come_back) {
    KernelQuotas limits;
    limits.ports = 2;
    KernelAccount* account = KernelAccount::create(limits);
    KEXPECT(account != nullptr);
    {
        auto first = QuotaCharge::take(account, QuotaKind::kPorts);
        auto second = QuotaCharge::take(account, QuotaKind::kPorts);
        KEXPECT_OK(first);
        KEXPECT_OK(second);
        auto third = QuotaCharge::take(account, QuotaKind::kPorts);
        KEXPECT(third.is_error());
        KEXPECT_EQ(third.error(), base::Error::QUOTA_EXCEEDED);
        KEXPECT_OK(QuotaCharge::take(account, QuotaKind::kWatches)); // another kind
        KEXPECT_EQ(account->used(QuotaKind::kPorts), 2u);
    }
    // The charges went with the objects that held them.
    KEXPECT_EQ(account->used(QuotaKind::kPorts), 0u);
    KEXPECT_EQ(account->used(QuotaKind::kWatches), 0u);
    account->release_ref();
}

KTEST(quota, a_port_gives_its_charge_back_when_it_dies) {
    KernelAccount* account = KernelAccount::create(KernelQuotas{});
    KEXPECT(account != nullptr);
    auto charge = QuotaCharge::take(account, QuotaKind::kPorts);
    KEXPECT_OK(charge);
    obj::Ref<Port> port = obj::Ref<Port>::adopt(Port::create(1));
    port->set_quota_charge(charge.release_value());
    KEXPECT_EQ(account->used(QuotaKind::kPorts), 1u);
    port->close_receiver();
    port.reset();
    KEXPECT_EQ(account->used(QuotaKind::kPorts), 0u);
    account->release_ref();
}

KTEST(quota, message_data_is_charged_until_freed) {
    KernelQuotas limits;
    limits.message_data_bytes = 100000;
    KernelAccount* account = KernelAccount::create(limits);
    KEXPECT(account != nullptr);
    base::Error error = base::Error::OK;
    void* a = alloc_message_data(65536, account, &error);
    KEXPECT(a != nullptr);
    KEXPECT_EQ(account->data_used(), uint64_t(65536));
    void* b = alloc_message_data(65536, account, &error);
    KEXPECT(b == nullptr);
    KEXPECT_EQ(error, base::Error::QUOTA_EXCEEDED);
    void* small = alloc_message_data(64, account, &error); // from the pool
    KEXPECT(small != nullptr);
    free_message_data(a, 65536);
    free_message_data(small, 64);
    KEXPECT_EQ(account->data_used(), uint64_t(0));
    account->release_ref();
}

} // namespace
} // namespace kernel
