// Host tests for the ipc server's POSIX message queues (servers/ipc/portable/mq.h): names,
// limits and errnos of mq_open, priority order, blocking sends and receives, a receive
// whose caller gave up, unlink while open, descriptions across a fork, and mq_notify's
// one-registration rule.

#include <catch2/catch.hpp>

#include <servers/ipc/portable/mq.h>

#include <cstring>
#include <string>
#include <vector>

using namespace ipc;

namespace {

struct Done {
    uint64_t token;
    int32_t error;
    std::string text;
    uint32_t priority;
};

struct Fixture {
    MqStore store{1};
    std::vector<Done> done;
    std::vector<MqNotice> notices;
    bool refuse = false;      // the next completed receive's caller is gone
    bool refuse_send = false; // the next completed send's caller is gone
    Caller a{10, 100, 1000, 1000};
    Caller b{11, 101, 1000, 1000};
    Caller other{12, 102, 2000, 2000};
    Fixture() {
        store.set_completion(this,
                             [](void* context, uint64_t token, int32_t error, const MqMessage* m) {
                                 auto* f = static_cast<Fixture*>(context);
                                 if (m && f->refuse) {
                                     f->refuse = false;
                                     return false;
                                 }
                                 if (!m && f->refuse_send) {
                                     f->refuse_send = false;
                                     return false;
                                 }
                                 Done d{token, error, {}, 0};
                                 if (m) {
                                     d.text.assign(reinterpret_cast<const char*>(m->text), m->size);
                                     d.priority = m->priority;
                                 }
                                 f->done.push_back(d);
                                 return true;
                             });
        store.set_notifier(this, [](void* context, const MqNotice& n) {
            static_cast<Fixture*>(context)->notices.push_back(n);
        });
    }
    int32_t open(const Caller& c, const std::string& name, uint32_t oflag, MqHandle* h,
                 int64_t maxmsg = 0, int64_t msgsize = 0, uint32_t mode = 0600) {
        MqAttr attr{0, maxmsg, msgsize, 0};
        return store.open(c, name.data(), name.size(), oflag, mode, maxmsg ? &attr : nullptr, h);
    }
    MqHandle make(const Caller& c, const std::string& name, int64_t maxmsg = 4,
                  int64_t msgsize = 64, uint32_t oflag = kOCreat | 2) {
        MqHandle h{};
        REQUIRE(open(c, name, oflag, &h, maxmsg, msgsize) == 0);
        return h;
    }
    int32_t send(const Caller& c, const MqHandle& h, const std::string& text, uint32_t prio,
                 uint64_t token = 0) {
        return store.send(c, h, text.data(), text.size(), prio, token);
    }
    // 0 and the text, or the errno (and "").
    int32_t receive(const Caller& c, const MqHandle& h, std::string* text, uint32_t* prio = nullptr,
                    uint64_t max = 64, uint64_t token = 0) {
        MqMessage* m = nullptr;
        int32_t r = store.receive(c, h, max, token, &m);
        text->clear();
        if (m) {
            text->assign(reinterpret_cast<const char*>(m->text), m->size);
            if (prio)
                *prio = m->priority;
            MqStore::free_message(m);
        }
        return r;
    }
};

} // namespace

TEST_CASE("mq_open: names, flags and attributes with Linux's errnos", "[ipc][mq]") {
    Fixture f;
    MqHandle h{};
    CHECK(f.open(f.a, "q", 2, &h) == kENOENT);
    CHECK(f.open(f.a, "", kOCreat | 2, &h) == kENOENT);
    CHECK(f.open(f.a, "a/b", kOCreat | 2, &h) == kEACCES);
    CHECK(f.open(f.a, ".", kOCreat | 2, &h) == kEACCES);
    CHECK(f.open(f.a, "..", kOCreat | 2, &h) == kEACCES);
    CHECK(f.open(f.a, std::string(256, 'x'), kOCreat | 2, &h) == kENAMETOOLONG);
    CHECK(f.open(f.a, std::string(255, 'x'), kOCreat | 2, &h) == 0);
    CHECK(f.open(f.a, "q", kOCreat | 2, &h, 0, 16) == 0); // maxmsg 0: the defaults
    MqAttr attr{};
    REQUIRE(f.store.getattr(f.a, h, &attr) == 0);
    CHECK(attr.maxmsg == kMqDefaultMaxMsg);
    CHECK(attr.msgsize == kMqDefaultMsgSize);
    CHECK(f.open(f.a, "q", kOCreat | kOExcl | 2, &h) == kEEXIST);
    CHECK(f.open(f.a, "q", kOCreat | 2, &h) == 0); // exists: opened
    CHECK(f.open(f.a, "q", 3, &h) == kEINVAL);

    MqAttr bad{0, -1, 16, 0};
    CHECK(f.store.open(f.a, "r", 1, kOCreat | 2, 0600, &bad, &h) == kEINVAL);
    bad = {0, 4, 0, 0};
    CHECK(f.store.open(f.a, "r", 1, kOCreat | 2, 0600, &bad, &h) == kEINVAL);
    bad = {0, kMqMaxMsgHard + 1, 16, 0};
    CHECK(f.store.open(f.a, "r", 1, kOCreat | 2, 0600, &bad, &h) == kEINVAL);
    bad = {0, 4, kMqMsgSizeMax + 1, 0};
    CHECK(f.store.open(f.a, "r", 1, kOCreat | 2, 0600, &bad, &h) == kEINVAL);
    CHECK(f.store.queues() == 2);
}

TEST_CASE("mq_open checks the mode bits for the access asked", "[ipc][mq]") {
    Fixture f;
    MqHandle h{};
    REQUIRE(f.open(f.a, "p", kOCreat | 2, &h, 4, 16, 0640) == 0);
    CHECK(f.open(f.other, "p", 0, &h) == kEACCES);
    Caller group{13, 103, 3000, 1000};
    CHECK(f.open(group, "p", 0, &h) == 0);
    CHECK(f.open(group, "p", 1, &h) == kEACCES);
    Caller root{14, 104, 0, 0};
    CHECK(f.open(root, "p", 2, &h) == 0);
    CHECK(f.store.unlink(f.other, "p", 1) == kEACCES);
    CHECK(f.store.unlink(f.a, "p", 1) == 0);
    CHECK(f.store.unlink(f.a, "p", 1) == kENOENT);
}

TEST_CASE("mq_open: a user's bytes, the node's queues and descriptions are limited", "[ipc][mq]") {
    Fixture f;
    MqHandle h{};
    // 10 messages of 8192 bytes count 82000 bytes: nine fit in 819200, the tenth does not.
    int made = 0;
    int32_t r = 0;
    while ((r = f.open(f.a, "u" + std::to_string(made), kOCreat | 2, &h, 10, 8192)) == 0)
        ++made;
    CHECK(made == 9);
    CHECK(r == kEMFILE);
    CHECK(f.open(f.other, "other", kOCreat | 2, &h, 10, 8192) == 0); // another user's own
    // Queues: kMqMaxQueues in all (ENOSPC).
    Fixture g;
    uint32_t n = 0;
    while ((r = g.open(g.a, "n" + std::to_string(n), kOCreat | 2, &h, 1, 1)) == 0)
        ++n;
    CHECK(n == kMqMaxQueues);
    CHECK(r == kENOSPC);
    // Descriptions: kMqMaxDescriptions open at once (ENFILE), counted over every queue.
    Fixture d;
    d.make(d.a, "d", 1, 1);
    n = 1;
    while ((r = d.open(d.a, "d", 2, &h)) == 0)
        ++n;
    CHECK(n == kMqMaxDescriptions);
    CHECK(r == kENFILE);
}

TEST_CASE("messages leave by priority, first in first out within one", "[ipc][mq]") {
    Fixture f;
    MqHandle h = f.make(f.a, "q", 8, 64);
    CHECK(f.send(f.a, h, "low1", 1) == 0);
    CHECK(f.send(f.a, h, "high", 30) == 0);
    CHECK(f.send(f.a, h, "low2", 1) == 0);
    CHECK(f.send(f.a, h, "zero", 0) == 0);
    CHECK(f.send(f.a, h, "mid", 7) == 0);
    CHECK(f.send(f.a, h, "x", kMqPrioMax) == kEINVAL);
    CHECK(f.send(f.a, h, std::string(65, 'x'), 1) == kEMSGSIZE);
    MqAttr attr{};
    REQUIRE(f.store.getattr(f.a, h, &attr) == 0);
    CHECK(attr.curmsgs == 5);
    std::string text;
    uint32_t prio = 99;
    CHECK(f.receive(f.a, h, &text, &prio, 63) == kEMSGSIZE);
    const char* order[] = {"high", "mid", "low1", "low2", "zero"};
    uint32_t prios[] = {30, 7, 1, 1, 0};
    for (int i = 0; i < 5; ++i) {
        REQUIRE(f.receive(f.a, h, &text, &prio) == 0);
        CHECK(text == order[i]);
        CHECK(prio == prios[i]);
    }
}

TEST_CASE("access modes and O_NONBLOCK are the description's", "[ipc][mq]") {
    Fixture f;
    MqHandle rw = f.make(f.a, "q", 1, 16);
    MqHandle ro{}, wo{};
    REQUIRE(f.open(f.a, "q", 0 | kONonblock, &ro) == 0);
    REQUIRE(f.open(f.a, "q", 1 | kONonblock, &wo) == 0);
    CHECK(f.send(f.a, ro, "x", 0) == kEBADF);
    std::string text;
    CHECK(f.receive(f.a, wo, &text) == kEBADF);
    CHECK(f.receive(f.a, ro, &text) == kEAGAIN);
    CHECK(f.send(f.a, wo, "x", 0) == 0);
    CHECK(f.send(f.a, wo, "y", 0) == kEAGAIN);
    // rw blocks where wo does not; setattr changes only O_NONBLOCK.
    CHECK(f.send(f.a, rw, "y", 0, 5) == kBlocked);
    CHECK(f.store.cancel(5));
    MqAttr old{};
    CHECK(f.store.setattr(f.a, rw, kONonblock | 1234, &old) == 0);
    CHECK(old.flags == 0);
    CHECK(f.send(f.a, rw, "y", 0) == kEAGAIN);
    MqAttr now{};
    CHECK(f.store.getattr(f.a, rw, &now) == 0);
    CHECK(now.flags == kONonblock);
    CHECK(now.maxmsg == 1);
    CHECK(now.curmsgs == 1);
    // A forged or stale handle, or one the caller does not hold, is EBADF.
    MqHandle forged = rw;
    forged.secret ^= 1;
    CHECK(f.store.getattr(f.a, forged, &now) == kEBADF);
    CHECK(f.store.getattr(f.b, rw, &now) == kEBADF);
    CHECK(f.store.close(f.a, rw) == 0);
    CHECK(f.store.close(f.a, rw) == kEBADF);
    CHECK(f.store.getattr(f.a, rw, &now) == kEBADF);
}

TEST_CASE("blocked receivers and senders wake in arrival order", "[ipc][mq]") {
    Fixture f;
    MqHandle h = f.make(f.a, "q", 2, 16);
    MqHandle hb{};
    REQUIRE(f.open(f.b, "q", 2, &hb) == 0);
    std::string text;
    CHECK(f.receive(f.a, h, &text, nullptr, 16, 1) == kBlocked);
    CHECK(f.receive(f.b, hb, &text, nullptr, 16, 2) == kBlocked);
    CHECK(f.store.waiters() == 2);
    // Straight to the first receiver: never queued, so no notification either.
    CHECK(f.send(f.other, h, "one", 3) == kEBADF); // other holds nothing
    CHECK(f.send(f.b, hb, "one", 3) == 0);
    REQUIRE(f.done.size() == 1);
    CHECK(f.done[0].token == 1);
    CHECK(f.done[0].text == "one");
    CHECK(f.done[0].priority == 3);
    // A receiver whose caller gave up leaves the message for the next one.
    f.refuse = true;
    CHECK(f.send(f.a, h, "two", 1) == 0);
    REQUIRE(f.done.size() == 1);
    CHECK(f.store.waiters() == 0);
    MqAttr attr{};
    CHECK(f.store.getattr(f.a, h, &attr) == 0);
    CHECK(attr.curmsgs == 1);
    // Full: senders wait, and get in as receivers make room.
    CHECK(f.send(f.a, h, "three", 1) == 0);
    CHECK(f.send(f.a, h, "four", 9, 3) == kBlocked);
    CHECK(f.send(f.b, hb, "five", 0, 4) == kBlocked);
    uint32_t prio = 0;
    CHECK(f.receive(f.a, h, &text, &prio, 16) == 0);
    CHECK(text == "two");
    REQUIRE(f.done.size() == 2);
    CHECK(f.done[1].token == 3);
    CHECK(f.done[1].error == 0);
    CHECK(f.receive(f.a, h, &text, &prio, 16) == 0);
    CHECK(text == "four"); // priority 9 got ahead of "three"
    CHECK(f.done.size() == 3);
    CHECK(f.receive(f.a, h, &text) == 0);
    CHECK(text == "three");
    CHECK(f.receive(f.a, h, &text) == 0);
    CHECK(text == "five");
    // Parked calls of an ended task go without an answer.
    CHECK(f.receive(f.b, hb, &text, nullptr, 16, 7) == kBlocked);
    f.store.task_ended(f.b.task);
    CHECK(f.store.waiters() == 0);
    CHECK(f.done.size() == 3);
    CHECK(f.store.descriptions() == 1);
}

TEST_CASE("each queue's receivers are its own, in arrival order across slots", "[ipc][mq]") {
    Fixture f;
    MqHandle p = f.make(f.a, "p", 2, 16);
    MqHandle q = f.make(f.a, "q", 2, 16);
    std::string text;
    CHECK(f.receive(f.a, p, &text, nullptr, 16, 1) == kBlocked);
    CHECK(f.receive(f.a, q, &text, nullptr, 16, 2) == kBlocked);
    CHECK(f.receive(f.a, p, &text, nullptr, 16, 3) == kBlocked);
    CHECK(f.receive(f.a, p, &text, nullptr, 16, 4) == kBlocked);
    // From the middle of p's list; the next receiver takes the freed slot, yet comes last.
    CHECK(f.store.cancel(3));
    CHECK(f.receive(f.a, p, &text, nullptr, 16, 5) == kBlocked);
    for (const char* m : {"x", "y", "z"})
        CHECK(f.send(f.a, p, m, 0) == 0);
    REQUIRE(f.done.size() == 3);
    CHECK(f.done[0].token == 1);
    CHECK(f.done[1].token == 4);
    CHECK(f.done[2].token == 5);
    CHECK(f.done[2].text == "z");
    CHECK(f.send(f.a, q, "w", 0) == 0);
    REQUIRE(f.done.size() == 4);
    CHECK(f.done[3].token == 2);
    CHECK(f.store.waiters() == 0);
}

TEST_CASE("a blocked send whose caller gave up is not sent", "[ipc][mq]") {
    Fixture f;
    MqHandle h = f.make(f.a, "q", 1, 16);
    CHECK(f.send(f.a, h, "first", 0) == 0);
    CHECK(f.send(f.a, h, "gone", 5, 1) == kBlocked);
    CHECK(f.send(f.a, h, "kept", 0, 2) == kBlocked);
    f.refuse_send = true;
    std::string text;
    CHECK(f.receive(f.a, h, &text) == 0);
    CHECK(text == "first");
    REQUIRE(f.done.size() == 1);
    CHECK(f.done[0].token == 2);
    CHECK(f.receive(f.a, h, &text) == 0);
    CHECK(text == "kept");
    MqAttr attr{};
    CHECK(f.store.getattr(f.a, h, &attr) == 0);
    CHECK(attr.curmsgs == 0);
    CHECK(f.store.waiters() == 0);
}

TEST_CASE("a message put back goes before the others of its priority", "[ipc][mq]") {
    Fixture f;
    MqHandle h = f.make(f.a, "q", 4, 16);
    CHECK(f.send(f.a, h, "a", 1) == 0);
    CHECK(f.send(f.a, h, "b", 1) == 0);
    MqMessage* m = nullptr;
    REQUIRE(f.store.receive(f.a, h, 16, 0, &m) == 0);
    f.store.unreceive(h, m);
    std::string text;
    CHECK(f.receive(f.a, h, &text) == 0);
    CHECK(text == "a");
}

TEST_CASE("mq_unlink while open: the queue lives until its last description goes", "[ipc][mq]") {
    Fixture f;
    MqHandle h = f.make(f.a, "q", 4, 16);
    CHECK(f.send(f.a, h, "kept", 2) == 0);
    CHECK(f.store.unlink(f.a, "q", 1) == 0);
    MqHandle again{};
    CHECK(f.open(f.a, "q", 2, &again) == kENOENT);
    // A new queue of the same name is another queue.
    MqHandle fresh = f.make(f.a, "q", 4, 16);
    MqAttr attr{};
    CHECK(f.store.getattr(f.a, fresh, &attr) == 0);
    CHECK(attr.curmsgs == 0);
    CHECK(f.store.queues() == 2);
    std::string text;
    CHECK(f.receive(f.a, h, &text) == 0);
    CHECK(text == "kept");
    CHECK(f.store.close(f.a, h) == 0);
    CHECK(f.store.queues() == 1);
    CHECK(f.store.queued("q", 1) == 0);
}

TEST_CASE("a fork lends descriptions: the child's hold outlives the parent's close", "[ipc][mq]") {
    Fixture f;
    MqHandle h = f.make(f.a, "q", 4, 16);
    CHECK(f.store.unlink(f.a, "q", 1) == 0);
    CHECK(f.store.lend(f.a, h, 1) == 0);
    CHECK(f.store.close(f.a, h) == 0); // the loan keeps it
    CHECK(f.store.queues() == 1);
    CHECK(f.store.share(f.b, h) == 0);
    CHECK(f.send(f.b, h, "late", 0) == 0);
    CHECK(f.store.close(f.b, h) == 0);
    CHECK(f.store.queues() == 0);
    Fixture g;
    MqHandle k = g.make(g.a, "q", 4, 16);
    CHECK(g.store.lend(g.a, k, 1) == 0);
    CHECK(g.store.share(g.b, k) == 0);
    CHECK(g.store.close(g.a, k) == 0);
    CHECK(g.send(g.b, k, "child", 0) == 0);
    CHECK(g.store.lend(g.a, k, -1) == kEBADF);
    MqHandle forged = k;
    forged.secret += 1;
    CHECK(g.store.share(g.other, forged) == kEBADF);
    CHECK(g.store.close(g.b, k) == 0);
    CHECK(g.store.descriptions() == 0);
    // A loan taken back after a failed fork.
    MqHandle l = g.make(g.a, "r", 4, 16);
    CHECK(g.store.lend(g.a, l, 1) == 0);
    CHECK(g.store.lend(g.a, l, -1) == 0);
    CHECK(g.store.close(g.a, l) == 0);
    CHECK(g.store.descriptions() == 0);
    // A parent that ends with a loan outstanding gives it back.
    MqHandle e = g.make(g.a, "s", 4, 16);
    CHECK(g.store.lend(g.a, e, 1) == 0);
    g.store.task_ended(g.a.task);
    CHECK(g.store.descriptions() == 0);
}

TEST_CASE("mq_notify: one registration per queue, fired once on an empty queue", "[ipc][mq]") {
    Fixture f;
    MqHandle h = f.make(f.a, "q", 4, 16);
    MqHandle hb{};
    REQUIRE(f.open(f.b, "q", 2, &hb) == 0);
    MqNotifyRequest r{h, 0, kSigevSignal, 10, 0, 77, 5000};
    MqNotifyRequest bad = r;
    bad.kind = 9;
    CHECK(f.store.notify(f.a, h, &bad) == kEINVAL);
    bad = r;
    bad.signo = 65;
    CHECK(f.store.notify(f.a, h, &bad) == kEINVAL);
    CHECK(f.store.notify(f.a, h, &r) == 0);
    CHECK(f.store.notify(f.a, h, &r) == kEBUSY);
    MqNotifyRequest rb{hb, 0, kSigevNone, 0, 0, 0, 6000};
    CHECK(f.store.notify(f.b, hb, &rb) == kEBUSY);
    CHECK(f.store.notify(f.b, hb, nullptr) == 0); // not b's: stays
    CHECK(f.store.notify(f.b, hb, &rb) == kEBUSY);
    // A message on the empty queue fires it, once.
    CHECK(f.send(f.b, hb, "m", 0) == 0);
    REQUIRE(f.notices.size() == 1);
    CHECK(f.notices[0].pid == 5000);
    CHECK(f.notices[0].signo == 10);
    CHECK(f.notices[0].value == 77);
    CHECK(f.notices[0].sender_pid == f.b.pid);
    CHECK(f.send(f.b, hb, "n", 0) == 0);
    CHECK(f.notices.size() == 1);
    // Registered again on a queue that is not empty: nothing until it is empty and a
    // message comes.
    CHECK(f.store.notify(f.b, hb, &rb) == 0); // SIGEV_NONE
    CHECK(f.store.notify(f.a, h, &r) == kEBUSY);
    std::string text;
    CHECK(f.receive(f.a, h, &text) == 0);
    CHECK(f.receive(f.a, h, &text) == 0);
    CHECK(f.send(f.a, h, "o", 0) == 0);
    CHECK(f.notices.size() == 1); // SIGEV_NONE sends nothing, but was removed
    CHECK(f.store.notify(f.a, h, &r) == 0);
    // A waiting receiver takes the message: no notification.
    CHECK(f.receive(f.a, h, &text) == 0);
    CHECK(f.receive(f.b, hb, &text, nullptr, 16, 9) == kBlocked);
    CHECK(f.send(f.a, h, "p", 0) == 0);
    CHECK(f.notices.size() == 1);
    // The owner's close of a description of the queue removes it; so does its end.
    CHECK(f.store.close(f.a, h) == 0);
    CHECK(f.store.notify(f.b, hb, &rb) == 0);
    f.store.task_ended(f.b.task);
    MqHandle hc = f.make(f.other, "z", 4, 16);
    CHECK(f.store.notify(f.other, hc, &r) == 0);
    CHECK(f.store.notify(f.other, hc, nullptr) == 0);
    CHECK(f.store.notify(f.other, hc, &r) == 0);
}
