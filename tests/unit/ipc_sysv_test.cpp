// Host tests for the ipc server's System V state machine (servers/ipc/portable/sysv.h):
// keys and ids, permissions, semop's all-or-nothing rule with waiters and SEM_UNDO,
// message types and limits, segment attach counts and removal while attached, each with
// the errno Linux gives.

#include <catch2/catch.hpp>

#include <servers/ipc/portable/sysv.h>

#include <cstring>
#include <string>
#include <vector>

using namespace ipc;

namespace {

struct Done {
    uint64_t token;
    int32_t error;
    std::string text;
    int64_t type;
};

struct Fixture {
    Store store{1};
    std::vector<Done> done;
    std::vector<int32_t> freed;
    Caller a{10, 100, 0, 0};
    Caller b{11, 101, 0, 0};
    Fixture() {
        store.set_completion(this,
                             [](void* context, uint64_t token, int32_t error, const Message* m) {
                                 auto* f = static_cast<Fixture*>(context);
                                 Done d{token, error, {}, 0};
                                 if (m) {
                                     d.text.assign(reinterpret_cast<const char*>(m->text), m->size);
                                     d.type = m->type;
                                 }
                                 f->done.push_back(d);
                             });
    }
    int32_t make(Kind kind, int32_t key, uint32_t flags, uint64_t size, const Caller& c) {
        int32_t id = -1;
        int32_t r = store.get(c, kind, key, flags, size, &id);
        REQUIRE(r == 0);
        return id;
    }
    int32_t ctl(const Caller& c, Kind kind, int32_t id, int32_t command, int32_t semnum = 0,
                int64_t argument = 0, int64_t* value = nullptr, const void* in = nullptr,
                size_t in_size = 0, void* out = nullptr) {
        uint8_t buffer[kControlData];
        size_t out_size = 0;
        int64_t v = 0;
        int32_t freed_slot = -1;
        int32_t r = store.control(c, kind, id, command, semnum, argument, in, in_size,
                                  out ? out : buffer, &out_size, &v, &freed_slot);
        if (value)
            *value = v;
        if (freed_slot >= 0)
            freed.push_back(freed_slot);
        return r;
    }
    int64_t getval(int32_t id, int32_t n) {
        int64_t v = -1;
        REQUIRE(ctl(a, kSem, id, kGetVal, n, 0, &v) == 0);
        return v;
    }
    int32_t op(const Caller& c, int32_t id, std::vector<SemOp> ops, uint64_t token = 1) {
        return store.semop(c, id, ops.data(), ops.size(), token);
    }
    int32_t send(const Caller& c, int32_t id, int64_t type, const std::string& text,
                 uint32_t flags = 0, uint64_t token = 1) {
        return store.msgsnd(c, id, type, text.data(), text.size(), flags, token);
    }
    // A received message's text (and *type), or "" on error (*error set).
    std::string receive(const Caller& c, int32_t id, int64_t type, uint64_t max, uint32_t flags,
                        int32_t* error, int64_t* got_type = nullptr, uint64_t token = 1) {
        Message* m = nullptr;
        *error = store.msgrcv(c, id, type, max, flags, token, &m);
        if (!m)
            return {};
        std::string s(reinterpret_cast<const char*>(m->text), m->size);
        if (got_type)
            *got_type = m->type;
        Store::free_message(m);
        return s;
    }
};

} // namespace

TEST_CASE("ids carry the node, the slot and the slot's sequence") {
    STATIC_REQUIRE(make_id(1, 0, 0) == 32768);
    STATIC_REQUIRE(id_node(make_id(65535, 127, 255)) == 65535);
    STATIC_REQUIRE(make_id(65535, 127, 255) > 0);
    STATIC_REQUIRE(id_slot(make_id(3, 5, 7)) == 5);
    STATIC_REQUIRE(id_sequence(make_id(3, 5, 7)) == 7);
    Fixture f;
    int32_t id = f.make(kMsg, 1234, kIpcCreat | 0600, 0, f.a);
    CHECK(id_node(id) == 1);
    REQUIRE(f.ctl(f.a, kMsg, id, kIpcRmid) == 0);
    // The slot comes back with the next sequence: the old id is stale.
    int32_t again = f.make(kMsg, 1234, kIpcCreat | 0600, 0, f.a);
    CHECK(id_slot(again) == id_slot(id));
    CHECK(again != id);
    CHECK(f.ctl(f.a, kMsg, id, kIpcStat) == kEINVAL);
    // An id of another node is not this store's.
    CHECK(f.ctl(f.a, kMsg, make_id(2, id_slot(again), id_sequence(again)), kIpcStat) == kEINVAL);
    CHECK(f.ctl(f.a, kMsg, -1, kIpcStat) == kEINVAL);
}

TEST_CASE("keys: IPC_PRIVATE, IPC_CREAT, IPC_EXCL, ENOENT, ENOSPC") {
    Fixture f;
    int32_t id = -1;
    CHECK(f.store.get(f.a, kSem, 42, 0600, 1, &id) == kENOENT);
    int32_t s = f.make(kSem, 42, kIpcCreat | 0600, 2, f.a);
    CHECK(f.make(kSem, 42, 0, 0, f.a) == s);
    CHECK(f.make(kSem, 42, kIpcCreat, 1, f.a) == s);
    CHECK(f.store.get(f.a, kSem, 42, kIpcCreat | kIpcExcl, 2, &id) == kEEXIST);
    CHECK(f.store.get(f.a, kSem, 42, 0, 3, &id) == kEINVAL); // more than the set has
    CHECK(f.store.get(f.a, kSem, 43, kIpcCreat, 0, &id) == kEINVAL);
    CHECK(f.store.get(f.a, kSem, 43, kIpcCreat, kSemMsl + 1, &id) == kEINVAL);
    // Keys are per kind.
    CHECK(f.store.get(f.a, kMsg, 42, 0, 0, &id) == kENOENT);
    int32_t p1 = f.make(kMsg, kIpcPrivate, 0600, 0, f.a);
    int32_t p2 = f.make(kMsg, kIpcPrivate, 0600, 0, f.a);
    CHECK(p1 != p2);
    for (uint32_t i = 2; i < kMaxObjects; ++i)
        f.make(kMsg, kIpcPrivate, 0600, 0, f.a);
    CHECK(f.store.get(f.a, kMsg, kIpcPrivate, 0600, 0, &id) == kENOSPC);
    CHECK(f.store.objects(kMsg) == kMaxObjects);
    CHECK(f.store.get(f.a, Kind(7), 1, kIpcCreat, 0, &id) == kEINVAL);
}

TEST_CASE("permissions: owner, group, other; uid 0 passes; IPC_SET and IPC_RMID") {
    Fixture f;
    Caller owner{20, 200, 1000, 100};
    Caller group{21, 201, 1001, 100};
    Caller other{22, 202, 1002, 200};
    int32_t q = f.make(kMsg, 7, kIpcCreat | 0640, 0, owner);
    int32_t id = -1;
    CHECK(f.store.get(group, kMsg, 7, 0440, 0, &id) == 0);
    CHECK(f.store.get(group, kMsg, 7, 0660, 0, &id) == kEACCES);
    CHECK(f.store.get(other, kMsg, 7, 0004, 0, &id) == kEACCES);
    CHECK(f.send(owner, q, 1, "x") == 0);
    CHECK(f.send(group, q, 1, "x") == kEACCES);
    int32_t error = 0;
    CHECK(f.receive(group, q, 0, 10, kIpcNoWait, &error) == "x");
    CHECK(f.receive(other, q, 0, 10, kIpcNoWait, &error).empty());
    CHECK(error == kEACCES);
    CHECK(f.ctl(other, kMsg, q, kIpcStat) == kEACCES);
    CHECK(f.ctl(group, kMsg, q, kIpcRmid) == kEPERM);
    ObjectSet set{1002, 200, 0604, 0, kMsgMnb};
    CHECK(f.ctl(group, kMsg, q, kIpcSet, 0, 0, nullptr, &set, sizeof(set)) == kEPERM);
    CHECK(f.ctl(owner, kMsg, q, kIpcSet, 0, 0, nullptr, &set, sizeof(set)) == 0);
    // The creator keeps its rights; the new owner has them too.
    ObjectStat st{};
    CHECK(f.ctl(other, kMsg, q, kIpcStat, 0, 0, nullptr, nullptr, 0, &st) == 0);
    CHECK(st.uid == 1002);
    CHECK(st.cuid == 1000);
    CHECK((st.mode & 0777) == 0604);
    set.qbytes = kMsgMnb + 1;
    CHECK(f.ctl(other, kMsg, q, kIpcSet, 0, 0, nullptr, &set, sizeof(set)) == kEPERM);
    CHECK(f.ctl(f.a, kMsg, q, kIpcSet, 0, 0, nullptr, &set, sizeof(set)) == 0); // uid 0
    CHECK(f.ctl(other, kMsg, q, kIpcRmid) == 0);
}

TEST_CASE("semop applies all operations or none") {
    Fixture f;
    int32_t s = f.make(kSem, kIpcPrivate, 0600, 3, f.a);
    CHECK(f.op(f.a, s, {{0, 2, 0}, {1, 1, 0}}) == 0);
    CHECK(f.getval(s, 0) == 2);
    // The second operation cannot proceed, so the first is not applied either.
    CHECK(f.op(f.a, s, {{0, -1, 0}, {2, -1, kIpcNoWait}}) == kEAGAIN);
    CHECK(f.getval(s, 0) == 2);
    CHECK(f.op(f.a, s, {{0, 0, kIpcNoWait}}) == kEAGAIN);
    CHECK(f.op(f.a, s, {{2, 0, 0}}) == 0); // zero: proceeds
    CHECK(f.op(f.a, s, {{3, 1, 0}}) == kEFBIG);
    CHECK(f.op(f.a, s, {}) == kEINVAL);
    std::vector<SemOp> many(kSemOpm + 1, SemOp{0, 0, 0});
    CHECK(f.op(f.a, s, many) == kE2BIG);
    CHECK(f.op(f.a, s, {{0, kSemVmx, 0}}) == kERANGE);
    CHECK(f.op(f.a, s + 1, {{0, 1, 0}}) == kEINVAL);
    int64_t pid = 0;
    CHECK(f.ctl(f.a, kSem, s, kGetPid, 1, 0, &pid) == 0);
    CHECK(pid == f.a.pid);
    CHECK(f.ctl(f.a, kSem, s, kGetVal, 3) == kEINVAL);
    CHECK(f.ctl(f.a, kSem, s, kSetVal, 0, kSemVmx + 1) == kERANGE);
    CHECK(f.ctl(f.a, kSem, s, kSetVal, 0, -1) == kERANGE);
    CHECK(f.ctl(f.a, kSem, s, 99) == kEINVAL);
}

TEST_CASE("semop waiters queue in order and wake when they can proceed") {
    Fixture f;
    int32_t s = f.make(kSem, kIpcPrivate, 0600, 2, f.a);
    CHECK(f.op(f.a, s, {{0, -1, 0}}, 101) == kBlocked);
    CHECK(f.op(f.b, s, {{0, -1, 0}}, 102) == kBlocked);
    CHECK(f.op(f.b, s, {{1, 0, 0}}, 103) == 0); // semaphore 1 is zero
    CHECK(f.ctl(f.a, kSem, s, kSetVal, 1, 1) == 0);
    CHECK(f.op(f.b, s, {{1, 0, 0}}, 104) == kBlocked);
    int64_t n = 0;
    CHECK(f.ctl(f.a, kSem, s, kGetNcnt, 0, 0, &n) == 0);
    CHECK(n == 2);
    CHECK(f.ctl(f.a, kSem, s, kGetZcnt, 1, 0, &n) == 0);
    CHECK(n == 1);
    CHECK(f.store.waiters() == 3);
    CHECK(f.op(f.a, s, {{0, 1, 0}}) == 0);
    REQUIRE(f.done.size() == 1);
    CHECK(f.done[0].token == 101);
    CHECK(f.done[0].error == 0);
    // SETALL wakes the second and the zero waiter.
    uint16_t values[2] = {1, 0};
    CHECK(f.ctl(f.a, kSem, s, kSetAll, 0, 0, nullptr, values, sizeof(values)) == 0);
    REQUIRE(f.done.size() == 3);
    CHECK(f.done[1].token == 102);
    CHECK(f.done[2].token == 104);
    CHECK(f.getval(s, 0) == 0);
    // A cancelled waiter is gone without an answer; removing the set answers EIDRM.
    CHECK(f.op(f.a, s, {{0, -1, 0}}, 105) == kBlocked);
    CHECK(f.op(f.a, s, {{0, -1, 0}}, 106) == kBlocked);
    CHECK(f.store.cancel(105));
    CHECK_FALSE(f.store.cancel(105));
    CHECK(f.ctl(f.a, kSem, s, kIpcRmid) == 0);
    REQUIRE(f.done.size() == 4);
    CHECK(f.done[3].token == 106);
    CHECK(f.done[3].error == kEIDRM);
    CHECK(f.store.waiters() == 0);
}

TEST_CASE("each set's waiters are its own, in arrival order whatever slots they take") {
    Fixture f;
    int32_t s1 = f.make(kSem, kIpcPrivate, 0600, 1, f.a);
    int32_t s2 = f.make(kSem, kIpcPrivate, 0600, 1, f.a);
    CHECK(f.op(f.a, s1, {{0, -1, 0}}, 201) == kBlocked);
    CHECK(f.op(f.a, s2, {{0, -1, 0}}, 202) == kBlocked);
    CHECK(f.op(f.a, s1, {{0, -1, 0}}, 203) == kBlocked);
    CHECK(f.op(f.b, s2, {{0, -1, 0}}, 204) == kBlocked);
    CHECK(f.op(f.a, s1, {{0, -1, 0}}, 205) == kBlocked);
    // From the middle of s1's list; the next waiter takes the freed slot, yet comes last.
    CHECK(f.store.cancel(203));
    CHECK(f.op(f.b, s1, {{0, -1, 0}}, 206) == kBlocked);
    int64_t n = 0;
    CHECK(f.ctl(f.a, kSem, s1, kGetNcnt, 0, 0, &n) == 0);
    CHECK(n == 3);
    CHECK(f.op(f.a, s1, {{0, 2, 0}}) == 0);
    REQUIRE(f.done.size() == 2);
    CHECK(f.done[0].token == 201);
    CHECK(f.done[1].token == 205);
    // b's end takes its waiters off both sets; s2's other waiter is still first there.
    f.store.task_ended(f.b.task, nullptr, nullptr);
    CHECK(f.op(f.a, s1, {{0, 5, 0}}) == 0);
    CHECK(f.done.size() == 2);
    CHECK(f.op(f.a, s2, {{0, 2, 0}}) == 0);
    REQUIRE(f.done.size() == 3);
    CHECK(f.done[2].token == 202);
    CHECK(f.getval(s2, 0) == 1);
    CHECK(f.store.waiters() == 0);
}

TEST_CASE("SEM_UNDO is applied when the task ends; SETVAL clears it") {
    Fixture f;
    int32_t s = f.make(kSem, kIpcPrivate, 0600, 2, f.a);
    CHECK(f.ctl(f.a, kSem, s, kSetVal, 0, 1) == 0);
    // b takes the semaphore with SEM_UNDO and raises the other one.
    CHECK(f.op(f.b, s, {{0, -1, int16_t(kSemUndo)}, {1, 3, int16_t(kSemUndo)}}) == 0);
    CHECK(f.op(f.a, s, {{0, -1, 0}}, 200) == kBlocked);
    f.store.task_ended(f.b.task, nullptr, nullptr);
    // The undo gives the semaphore back, which the waiter takes.
    REQUIRE(f.done.size() == 1);
    CHECK(f.done[0].token == 200);
    CHECK(f.getval(s, 0) == 0);
    CHECK(f.getval(s, 1) == 0);
    int64_t pid = 0;
    CHECK(f.ctl(f.a, kSem, s, kGetPid, 1, 0, &pid) == 0);
    CHECK(pid == f.b.pid); // the ended task's, as on Linux
    // Clamped at 0: a takes 2 with undo, someone else drains it, a ends.
    CHECK(f.ctl(f.a, kSem, s, kSetVal, 1, 0) == 0);
    CHECK(f.op(f.a, s, {{1, 2, int16_t(kSemUndo)}}) == 0);
    CHECK(f.op(f.b, s, {{1, -2, 0}}) == 0);
    f.store.task_ended(f.a.task, nullptr, nullptr);
    CHECK(f.getval(s, 1) == 0);
    // SETVAL resets every task's adjustment for that semaphore.
    CHECK(f.op(f.b, s, {{1, 5, int16_t(kSemUndo)}}) == 0);
    CHECK(f.ctl(f.a, kSem, s, kSetVal, 1, 7) == 0);
    f.store.task_ended(f.b.task, nullptr, nullptr);
    CHECK(f.getval(s, 1) == 7);
    // A waiter of an ended task is dropped without an answer.
    CHECK(f.op(f.b, s, {{0, -1, 0}}, 300) == kBlocked);
    f.store.task_ended(f.b.task, nullptr, nullptr);
    CHECK(f.store.waiters() == 0);
    CHECK(f.done.size() == 1);
}

TEST_CASE("msgrcv by type: 0, > 0, < 0, MSG_EXCEPT, MSG_NOERROR") {
    Fixture f;
    int32_t q = f.make(kMsg, kIpcPrivate, 0600, 0, f.a);
    CHECK(f.send(f.a, q, 3, "three") == 0);
    CHECK(f.send(f.a, q, 1, "one") == 0);
    CHECK(f.send(f.a, q, 2, "two") == 0);
    CHECK(f.send(f.a, q, 1, "one again") == 0);
    int32_t e = 0;
    int64_t type = 0;
    CHECK(f.receive(f.a, q, 2, 100, 0, &e, &type) == "two");
    CHECK(type == 2);
    CHECK(f.receive(f.a, q, -3, 100, 0, &e, &type) == "one"); // lowest type first
    CHECK(f.receive(f.a, q, 1, 100, kMsgExcept, &e, &type) == "three");
    CHECK(f.receive(f.a, q, 1, 3, 0, &e).empty());
    CHECK(e == kE2BIG); // and it stays
    CHECK(f.receive(f.a, q, 0, 3, kMsgNoError, &e) == "one");
    CHECK(f.receive(f.a, q, 0, 100, kIpcNoWait, &e).empty());
    CHECK(e == kENOMSG);
    CHECK(f.send(f.a, q, 0, "x") == kEINVAL);
    CHECK(f.send(f.a, q, 1, std::string(kMsgMax + 1, 'x')) == kEINVAL);
    CHECK(f.receive(f.a, q, 0, 10, kMsgCopy | kIpcNoWait, &e).empty());
    CHECK(e == 38);
    ObjectStat st{};
    CHECK(f.ctl(f.a, kMsg, q, kIpcStat, 0, 0, nullptr, nullptr, 0, &st) == 0);
    CHECK(st.count == 0);
    CHECK(st.lpid == f.a.pid);
}

TEST_CASE("a full queue blocks senders; messages wake receivers") {
    Fixture f;
    int32_t q = f.make(kMsg, kIpcPrivate, 0600, 0, f.a);
    ObjectSet set{0, 0, 0600, 0, 10};
    REQUIRE(f.ctl(f.a, kMsg, q, kIpcSet, 0, 0, nullptr, &set, sizeof(set)) == 0);
    CHECK(f.send(f.a, q, 1, "12345678") == 0);
    CHECK(f.send(f.a, q, 1, "abc", kIpcNoWait) == kEAGAIN);
    CHECK(f.send(f.b, q, 5, "abc", 0, 401) == kBlocked);
    int32_t e = 0;
    CHECK(f.receive(f.a, q, 0, 100, 0, &e) == "12345678");
    REQUIRE(f.done.size() == 1);
    CHECK(f.done[0].token == 401);
    CHECK(f.receive(f.a, q, 7, 100, 0, &e, nullptr, 402).empty());
    CHECK(e == kBlocked);
    CHECK(f.send(f.b, q, 7, "seven") == 0);
    REQUIRE(f.done.size() == 2);
    CHECK(f.done[1].token == 402);
    CHECK(f.done[1].text == "seven");
    CHECK(f.done[1].type == 7);
    CHECK(f.receive(f.a, q, 0, 100, 0, &e, nullptr, 403) == "abc");
    CHECK(f.receive(f.a, q, 0, 100, 0, &e, nullptr, 404).empty());
    CHECK(f.ctl(f.a, kMsg, q, kIpcRmid) == 0);
    REQUIRE(f.done.size() == 3);
    CHECK(f.done[2].error == kEIDRM);
}

TEST_CASE("segments: sizes, attach counts, IPC_RMID while attached") {
    Fixture f;
    int32_t id = -1;
    bool created = false;
    CHECK(f.store.get(f.a, kShm, kIpcPrivate, 0600, 0, &id) == kEINVAL);
    CHECK(f.store.get(f.a, kShm, kIpcPrivate, 0600, kShmMax + 1, &id) == kEINVAL);
    REQUIRE(f.store.get(f.a, kShm, 99, kIpcCreat | 0600, 5000, &id, &created) == 0);
    CHECK(created);
    int32_t again = -1;
    CHECK(f.store.get(f.a, kShm, 99, 0, 8192, &again) == kEINVAL); // larger than it is
    CHECK(f.store.get(f.a, kShm, 99, 0, 4096, &again, &created) == 0);
    CHECK_FALSE(created);
    uint64_t size = 0;
    CHECK(f.store.shm_attach(f.a, id, 0, &size) == 0);
    CHECK(size == 5000);
    CHECK(f.store.shm_attach(f.b, id, kShmRdonly, &size) == 0);
    CHECK(f.store.shm_attach(f.b, id, 0, &size) == 0);
    int32_t freed = -1;
    CHECK(f.store.shm_detach(f.a, id, &freed) == 0);
    CHECK(f.store.shm_detach(f.a, id, &freed) == kEINVAL);
    CHECK(f.ctl(f.a, kShm, id, kIpcRmid) == 0);
    CHECK(f.freed.empty());
    ObjectStat st{};
    CHECK(f.ctl(f.a, kShm, id, kIpcStat, 0, 0, nullptr, nullptr, 0, &st) == 0);
    CHECK(st.count == 2);
    CHECK(st.key == kIpcPrivate);
    CHECK((st.mode & kShmDest) != 0);
    CHECK(f.store.get(f.a, kShm, 99, 0, 0, &again) == kENOENT); // the key is free
    CHECK(f.store.shm_detach(f.b, id, &freed) == 0);
    CHECK(freed == -1);
    // The last attacher ends: the segment goes.
    std::vector<int32_t> slots;
    f.store.task_ended(
        f.b.task,
        [](void* context, int32_t slot) {
            static_cast<std::vector<int32_t>*>(context)->push_back(slot);
        },
        &slots);
    REQUIRE(slots.size() == 1);
    CHECK(slots[0] == int32_t(id_slot(id)));
    CHECK(f.store.shm_slot(id) == -1);
    CHECK(f.store.objects(kShm) == 0);
    // Removed without attaches: freed at once.
    int32_t other = f.make(kShm, kIpcPrivate, 0400, 100, f.a);
    Caller reader{30, 300, 5, 5};
    CHECK(f.store.shm_attach(reader, other, 0, &size) == kEACCES);
    CHECK(f.ctl(f.a, kShm, other, kIpcRmid) == 0);
    REQUIRE(f.freed.size() == 1);
    // The whole-node page limit.
    int32_t big = -1;
    uint64_t pages = 0;
    while (f.store.get(f.a, kShm, kIpcPrivate, 0600, kShmMax, &big) == 0)
        pages += kShmMax / kPageSize;
    CHECK(pages == kShmAll);
    CHECK(f.store.get(f.a, kShm, kIpcPrivate, 0600, kShmMax, &big) == kENOSPC);
}

TEST_CASE("*_INFO and *_STAT walk the slots") {
    Fixture f;
    int64_t highest = 0;
    CHECK(f.ctl(f.a, kSem, 0, kSemInfo, 0, 0, &highest) == 0);
    CHECK(highest == -1);
    f.make(kSem, kIpcPrivate, 0600, 1, f.a);
    int32_t s = f.make(kSem, 5, kIpcCreat | 0600, 4, f.a);
    CHECK(f.ctl(f.a, kSem, 0, kSemInfo, 0, 0, &highest) == 0);
    CHECK(highest == 1);
    int64_t id = 0;
    ObjectStat st{};
    CHECK(f.ctl(f.a, kSem, 1, kSemStat, 0, 0, &id, nullptr, 0, &st) == 0);
    CHECK(id == s);
    CHECK(st.key == 5);
    CHECK(st.size == 4);
    CHECK(f.ctl(f.a, kSem, 2, kSemStat) == kEINVAL);
    CHECK(f.ctl(f.a, kSem, -1, kSemStat) == kEINVAL);
}
