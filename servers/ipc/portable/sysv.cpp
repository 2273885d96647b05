// The System V objects of one node (sysv.h has the rules).
#include "sysv.h"

#include <base/utility.h>

#include "common.h"

namespace ipc {

namespace {

constexpr int32_t kENOSYS = 38;

bool valid_kind(Kind kind) { return kind == kShm || kind == kSem || kind == kMsg; }

} // namespace

Store::Store(uint32_t node) : m_node(node) { m_waiters = new (std::nothrow) Waiter[kMaxWaiters]; }

Store::~Store() {
    for (uint32_t k = 0; k < 3; ++k)
        for (Object& o : m_objects[k])
            if (o.used)
                destroy(Kind(k), o);
    for (Undo& u : m_undo)
        delete[] u.adjust;
    if (m_waiters)
        for (uint32_t i = 0; i < kMaxWaiters; ++i)
            free_message(m_waiters[i].message);
    delete[] m_waiters;
}

void Store::free_message(Message* m) { delete_message(m); }

// ---- Ids, permissions ------------------------------------------------------------------

const Store::Object* Store::lookup(Kind kind, int32_t id) const {
    if (!valid_kind(kind) || id < 0 || id_node(id) != m_node)
        return nullptr;
    const Object& o = m_objects[kind][id_slot(id)];
    if (!o.used || o.sequence != id_sequence(id))
        return nullptr;
    return &o;
}

Store::Object* Store::lookup(Kind kind, int32_t id) {
    return const_cast<Object*>(static_cast<const Store*>(this)->lookup(kind, id));
}

int32_t Store::slot_of(Kind kind, const Object* o) const { return int32_t(o - m_objects[kind]); }

int32_t Store::id_of(Kind kind, const Object* o) const {
    return make_id(m_node, uint32_t(slot_of(kind, o)), o->sequence);
}

// Linux's ipcperms: the owner's bits for the owner or creator, the group's for its
// group, else the others'; uid 0 passes.
bool Store::permitted(const Caller& c, const Perm& p, bool write) const {
    if (c.uid == 0)
        return true;
    uint32_t granted = p.mode;
    if (c.uid == p.uid || c.uid == p.cuid)
        granted >>= 6;
    else if (c.gid == p.gid || c.gid == p.cgid)
        granted >>= 3;
    uint32_t wanted = write ? 2 : 4;
    return (granted & wanted) != 0;
}

bool Store::owner(const Caller& c, const Perm& p) const {
    return c.uid == 0 || c.uid == p.uid || c.uid == p.cuid;
}

// ---- get -----------------------------------------------------------------------------

int32_t Store::get(const Caller& c, Kind kind, int32_t key, uint32_t flags, uint64_t size,
                   int32_t* id, bool* created) {
    if (created)
        *created = false;
    if (!valid_kind(kind))
        return kEINVAL;
    if (kind == kSem && size > kSemMsl)
        return kEINVAL;
    Object* found = nullptr;
    if (key != kIpcPrivate) {
        for (Object& o : m_objects[kind]) {
            if (o.used && !o.removed && o.perm.key == key) {
                found = &o;
                break;
            }
        }
    }
    if (found) {
        if ((flags & kIpcCreat) && (flags & kIpcExcl))
            return kEEXIST;
        if (kind == kShm && found->size < size)
            return kEINVAL;
        if (kind == kSem && found->nsems < size)
            return kEINVAL;
        // Every permission the caller asks for in flags must be granted.
        uint32_t wanted = flags & kModeBits;
        wanted = (wanted >> 6) | (wanted >> 3) | wanted;
        if ((wanted & 4) && !permitted(c, found->perm, false))
            return kEACCES;
        if ((wanted & 2) && !permitted(c, found->perm, true))
            return kEACCES;
        *id = id_of(kind, found);
        return 0;
    }
    if (key != kIpcPrivate && !(flags & kIpcCreat))
        return kENOENT;
    uint64_t pages = 0;
    if (kind == kShm) {
        if (size < kShmMin || size > kShmMax)
            return kEINVAL;
        pages = (size + kPageSize - 1) / kPageSize;
        if (m_shm_pages + pages > kShmAll)
            return kENOSPC;
    }
    if (kind == kSem) {
        if (size == 0)
            return kEINVAL;
        if (m_semaphores + size > kSemMns)
            return kENOSPC;
    }
    Object* o = nullptr;
    for (Object& candidate : m_objects[kind]) {
        if (!candidate.used) {
            o = &candidate;
            break;
        }
    }
    if (!o)
        return kENOSPC;
    uint32_t sequence = o->sequence;
    *o = Object{};
    o->sequence = sequence;
    if (kind == kSem) {
        o->values = new (std::nothrow) uint16_t[size];
        o->pids = new (std::nothrow) uint32_t[size];
        if (!o->values || !o->pids) {
            delete[] o->values;
            delete[] o->pids;
            o->values = nullptr;
            o->pids = nullptr;
            return kENOMEM;
        }
        for (uint64_t i = 0; i < size; ++i) {
            o->values[i] = 0;
            o->pids[i] = 0;
        }
        o->nsems = uint32_t(size);
        m_semaphores += uint32_t(size);
    }
    o->used = true;
    o->perm.key = key;
    o->perm.uid = o->perm.cuid = c.uid;
    o->perm.gid = o->perm.cgid = c.gid;
    o->perm.mode = flags & kModeBits;
    o->ctime = m_now;
    if (kind == kShm) {
        o->size = size;
        o->cpid = c.pid;
        m_shm_pages += pages;
        if (created)
            *created = true;
    }
    if (kind == kMsg)
        o->qbytes = kMsgMnb;
    *id = id_of(kind, o);
    return 0;
}

void Store::destroy(Kind kind, Object& o) {
    if (kind == kShm)
        m_shm_pages -= (o.size + kPageSize - 1) / kPageSize;
    if (kind == kSem) {
        m_semaphores -= o.nsems;
        delete[] o.values;
        delete[] o.pids;
    }
    if (kind == kMsg) {
        for (Message* m = o.head; m;) {
            Message* next = m->next;
            free_message(m);
            m = next;
        }
    }
    uint32_t sequence = (o.sequence + 1) & 0xFF;
    o = Object{};
    o.sequence = sequence;
}

void Store::shm_abandon(int32_t id) {
    if (Object* o = lookup(kShm, id))
        destroy(kShm, *o);
}

// ---- Segments ------------------------------------------------------------------------

int32_t Store::shm_slot(int32_t id) const {
    const Object* o = lookup(kShm, id);
    return o ? slot_of(kShm, o) : -1;
}

int32_t Store::shm_attach(const Caller& c, int32_t id, uint32_t flags, uint64_t* size) {
    Object* o = lookup(kShm, id);
    if (!o)
        return kEINVAL;
    bool write = !(flags & kShmRdonly);
    if (!permitted(c, o->perm, false) || (write && !permitted(c, o->perm, true)))
        return kEACCES;
    AttachRecord* record = nullptr;
    AttachRecord* free_record = nullptr;
    for (AttachRecord& r : m_attach) {
        if (r.used && r.task == c.task && r.id == id)
            record = &r;
        else if (!r.used && !free_record)
            free_record = &r;
    }
    if (!record) {
        if (!free_record)
            return kENOMEM;
        record = free_record;
        *record = AttachRecord{true, c.task, id, 0};
    }
    ++record->count;
    ++o->attaches;
    o->lpid = c.pid;
    o->atime = m_now;
    *size = o->size;
    return 0;
}

int32_t Store::shm_detach(const Caller& c, int32_t id, int32_t* freed_slot) {
    *freed_slot = -1;
    Object* o = lookup(kShm, id);
    AttachRecord* record = nullptr;
    for (AttachRecord& r : m_attach)
        if (r.used && r.task == c.task && r.id == id)
            record = &r;
    if (!o || !record)
        return kEINVAL;
    if (--record->count == 0)
        *record = AttachRecord{};
    --o->attaches;
    o->lpid = c.pid;
    o->dtime = m_now;
    if (o->removed && o->attaches == 0) {
        *freed_slot = slot_of(kShm, o);
        destroy(kShm, *o);
    }
    return 0;
}

// ---- Control -------------------------------------------------------------------------

void Store::fill_stat(Kind kind, const Object& o, ObjectStat& s) const {
    s = ObjectStat{};
    s.key = o.perm.key;
    s.id = id_of(kind, &o);
    s.uid = o.perm.uid;
    s.gid = o.perm.gid;
    s.cuid = o.perm.cuid;
    s.cgid = o.perm.cgid;
    s.mode = o.perm.mode | (o.removed ? kShmDest : 0);
    s.sequence = o.sequence;
    s.atime = o.atime;
    s.dtime = o.dtime;
    s.ctime = o.ctime;
    switch (kind) {
    case kShm:
        s.size = o.size;
        s.count = o.attaches;
        s.cpid = o.cpid;
        s.lpid = o.lpid;
        break;
    case kSem:
        s.size = o.nsems;
        break;
    case kMsg:
        s.size = o.bytes;
        s.count = o.messages;
        s.qbytes = o.qbytes;
        s.cpid = o.cpid;
        s.lpid = o.lpid;
        break;
    }
}

int32_t Store::stat_into(const Caller& c, Kind kind, const Object& o, bool check, void* out,
                         size_t* out_size) const {
    if (check && !permitted(c, o.perm, false))
        return kEACCES;
    ObjectStat s;
    fill_stat(kind, o, s);
    copy_bytes(out, &s, sizeof(s));
    *out_size = sizeof(s);
    return 0;
}

int32_t Store::info(Kind kind, void* out, size_t* out_size, int64_t* value) const {
    Usage u = {};
    int64_t highest = -1;
    for (uint32_t i = 0; i < kMaxObjects; ++i) {
        const Object& o = m_objects[kind][i];
        if (!o.used)
            continue;
        highest = i;
        ++u.objects;
        if (kind == kSem)
            u.total += o.nsems;
        if (kind == kMsg) {
            u.total += o.bytes;
            u.messages += o.messages;
        }
    }
    if (kind == kShm)
        u.total = m_shm_pages;
    u.waiters = waiters();
    copy_bytes(out, &u, sizeof(u));
    *out_size = sizeof(u);
    *value = highest;
    return 0;
}

int32_t Store::set_perm(const Caller& c, Kind kind, Object& o, const void* in, size_t in_size) {
    if (in_size != sizeof(ObjectSet))
        return kEFAULT;
    if (!owner(c, o.perm))
        return kEPERM;
    ObjectSet set;
    copy_bytes(&set, in, sizeof(set));
    if (kind == kMsg) {
        if (set.qbytes > kMsgMnb && c.uid != 0)
            return kEPERM;
        o.qbytes = set.qbytes;
    }
    o.perm.uid = set.uid;
    o.perm.gid = set.gid;
    o.perm.mode = set.mode & kModeBits;
    o.ctime = m_now;
    if (kind == kMsg)
        wake_msg(o);
    return 0;
}

int32_t Store::control(const Caller& c, Kind kind, int32_t id, int32_t command, int32_t semnum,
                       int64_t argument, const void* in, size_t in_size, void* out,
                       size_t* out_size, int64_t* value, int32_t* freed_slot) {
    *out_size = 0;
    *value = 0;
    *freed_slot = -1;
    if (!valid_kind(kind))
        return kEINVAL;
    if (command == kIpcInfo)
        return info(kind, out, out_size, value);
    // SHM_STAT, SEM_STAT and MSG_STAT (and *_STAT_ANY) name a slot, not an id.
    bool by_index = (kind == kShm && (command == kShmStat || command == kShmStatAny))
                    || (kind == kSem && (command == kSemStat || command == kSemStatAny))
                    || (kind == kMsg && (command == kMsgStat || command == kMsgStatAny));
    if (by_index) {
        bool any = command == kShmStatAny || command == kSemStatAny || command == kMsgStatAny;
        if (id < 0 || uint32_t(id) >= kMaxObjects || !m_objects[kind][id].used)
            return kEINVAL;
        const Object& o = m_objects[kind][id];
        int32_t r = stat_into(c, kind, o, !any, out, out_size);
        if (r == 0)
            *value = id_of(kind, &o);
        return r;
    }
    switch (kind) {
    case kShm:
        return control_shm(c, id, command, in, in_size, out, out_size, value, freed_slot);
    case kSem:
        return control_sem(c, id, command, semnum, argument, in, in_size, out, out_size, value);
    case kMsg:
        return control_msg(c, id, command, in, in_size, out, out_size, value);
    }
    return kEINVAL;
}

int32_t Store::control_shm(const Caller& c, int32_t id, int32_t command, const void* in,
                           size_t in_size, void* out, size_t* out_size, int64_t* value,
                           int32_t* freed_slot) {
    if (command == kShmInfo)
        return info(kShm, out, out_size, value);
    if (command != kIpcStat && command != kIpcSet && command != kIpcRmid && command != kShmLock
        && command != kShmUnlock)
        return kEINVAL;
    Object* o = lookup(kShm, id);
    if (!o)
        return kEINVAL;
    switch (command) {
    case kIpcStat:
        return stat_into(c, kShm, *o, true, out, out_size);
    case kIpcSet:
        return set_perm(c, kShm, *o, in, in_size);
    case kIpcRmid:
        if (!owner(c, o->perm))
            return kEPERM;
        if (o->attaches == 0) {
            *freed_slot = slot_of(kShm, o);
            destroy(kShm, *o);
        } else {
            // Linux: the key goes at once; the segment lives until its last detach.
            o->removed = true;
            o->perm.key = kIpcPrivate;
            o->ctime = m_now;
        }
        return 0;
    default:
        // SHM_LOCK and SHM_UNLOCK: segments are never paged out, so there is nothing to
        // lock; the owner's call succeeds as on Linux.
        return owner(c, o->perm) ? 0 : kEPERM;
    }
}

Store::Undo* Store::find_undo(const Caller& c, int32_t id, bool make, uint32_t nsems) {
    Undo* free_undo = nullptr;
    for (Undo& u : m_undo) {
        if (u.used && u.task == c.task && u.id == id)
            return &u;
        if (!u.used && !free_undo)
            free_undo = &u;
    }
    if (!make || !free_undo)
        return nullptr;
    delete[] free_undo->adjust;
    free_undo->adjust = new (std::nothrow) int16_t[nsems];
    if (!free_undo->adjust)
        return nullptr;
    for (uint32_t i = 0; i < nsems; ++i)
        free_undo->adjust[i] = 0;
    free_undo->used = true;
    free_undo->task = c.task;
    free_undo->pid = c.pid;
    free_undo->id = id;
    return free_undo;
}

// Linux: SETVAL and SETALL reset the semaphores' adjustments in every task.
void Store::clear_adjustments(int32_t id, int32_t semnum) {
    const Object* o = lookup(kSem, id);
    for (Undo& u : m_undo) {
        if (!u.used || u.id != id)
            continue;
        for (uint32_t i = 0; o && i < o->nsems; ++i)
            if (semnum < 0 || uint32_t(semnum) == i)
                u.adjust[i] = 0;
    }
}

void Store::remove_sem(Object& o, int32_t id) {
    while (Waiter* w = o.waiters.first)
        complete(*w, kEIDRM, nullptr);
    for (Undo& u : m_undo) {
        if (u.used && u.id == id) {
            delete[] u.adjust;
            u = Undo{};
        }
    }
    destroy(kSem, o);
}

void Store::remove_msg(Object& o) {
    while (Waiter* w = o.waiters.first)
        complete(*w, kEIDRM, nullptr);
    destroy(kMsg, o);
}

int32_t Store::control_sem(const Caller& c, int32_t id, int32_t command, int32_t semnum,
                           int64_t argument, const void* in, size_t in_size, void* out,
                           size_t* out_size, int64_t* value) {
    if (command == kSemInfo)
        return info(kSem, out, out_size, value);
    Object* o = lookup(kSem, id);
    switch (command) {
    case kIpcStat:
    case kIpcSet:
    case kIpcRmid:
    case kGetVal:
    case kGetPid:
    case kGetNcnt:
    case kGetZcnt:
    case kGetAll:
    case kSetVal:
    case kSetAll:
        break;
    default:
        return kEINVAL;
    }
    if (!o)
        return kEINVAL;
    switch (command) {
    case kIpcStat:
        return stat_into(c, kSem, *o, true, out, out_size);
    case kIpcSet:
        return set_perm(c, kSem, *o, in, in_size);
    case kIpcRmid:
        if (!owner(c, o->perm))
            return kEPERM;
        remove_sem(*o, id);
        return 0;
    case kGetAll:
        if (!permitted(c, o->perm, false))
            return kEACCES;
        copy_bytes(out, o->values, o->nsems * sizeof(uint16_t));
        *out_size = o->nsems * sizeof(uint16_t);
        return 0;
    case kSetAll: {
        if (!permitted(c, o->perm, true))
            return kEACCES;
        if (in_size != o->nsems * sizeof(uint16_t))
            return kEFAULT;
        uint16_t values[kSemMsl];
        copy_bytes(values, in, in_size);
        for (uint32_t i = 0; i < o->nsems; ++i)
            if (values[i] > kSemVmx)
                return kERANGE;
        for (uint32_t i = 0; i < o->nsems; ++i) {
            o->values[i] = values[i];
            o->pids[i] = c.pid;
        }
        clear_adjustments(id, -1);
        o->ctime = m_now;
        wake_sem(*o, id);
        return 0;
    }
    default:
        break;
    }
    // The commands on one semaphore.
    if (!permitted(c, o->perm, command == kSetVal))
        return kEACCES;
    if (semnum < 0 || uint32_t(semnum) >= o->nsems)
        return kEINVAL;
    switch (command) {
    case kGetVal:
        *value = o->values[semnum];
        return 0;
    case kGetPid:
        *value = o->pids[semnum];
        return 0;
    case kGetNcnt:
    case kGetZcnt: {
        int64_t n = 0;
        bool zero = command == kGetZcnt;
        for (const Waiter* w = o->waiters.first; w; w = w->next)
            n += w->blocking == semnum && w->for_zero == zero;
        *value = n;
        return 0;
    }
    case kSetVal:
        if (argument < 0 || argument > kSemVmx)
            return kERANGE;
        o->values[semnum] = uint16_t(argument);
        o->pids[semnum] = c.pid;
        clear_adjustments(id, semnum);
        o->ctime = m_now;
        wake_sem(*o, id);
        return 0;
    default:
        return kEINVAL;
    }
}

int32_t Store::control_msg(const Caller& c, int32_t id, int32_t command, const void* in,
                           size_t in_size, void* out, size_t* out_size, int64_t* value) {
    if (command == kMsgInfo)
        return info(kMsg, out, out_size, value);
    if (command != kIpcStat && command != kIpcSet && command != kIpcRmid)
        return kEINVAL;
    Object* o = lookup(kMsg, id);
    if (!o)
        return kEINVAL;
    switch (command) {
    case kIpcStat:
        return stat_into(c, kMsg, *o, true, out, out_size);
    case kIpcSet:
        return set_perm(c, kMsg, *o, in, in_size);
    default:
        if (!owner(c, o->perm))
            return kEPERM;
        remove_msg(*o);
        return 0;
    }
}

// ---- Semaphore operations ------------------------------------------------------------

// Tries the operations as one: 0 (applied), ERANGE, EAGAIN (an operation in the way has
// IPC_NOWAIT), ENOMEM (no room for an undo record) or kBlocked (*blocking, *for_zero say
// which semaphore is in the way and how).
int32_t Store::try_semop(Object& o, int32_t id, const Caller& c, const SemOp* ops, size_t count,
                         int32_t* blocking, bool* for_zero) {
    IPC_SCRATCH uint16_t values[kSemMsl];
    IPC_SCRATCH int32_t adjust[kSemMsl];
    bool undo = false;
    for (size_t i = 0; i < count; ++i)
        undo |= (ops[i].flags & kSemUndo) != 0;
    Undo* record = undo ? find_undo(c, id, false, o.nsems) : nullptr;
    for (uint32_t i = 0; i < o.nsems; ++i) {
        values[i] = o.values[i];
        adjust[i] = record ? record->adjust[i] : 0;
    }
    for (size_t i = 0; i < count; ++i) {
        const SemOp& op = ops[i];
        int32_t current = values[op.num];
        if (op.op == 0 && current != 0) {
            *blocking = op.num;
            *for_zero = true;
            return (op.flags & kIpcNoWait) ? kEAGAIN : kBlocked;
        }
        int32_t result = current + op.op;
        if (result < 0) {
            *blocking = op.num;
            *for_zero = false;
            return (op.flags & kIpcNoWait) ? kEAGAIN : kBlocked;
        }
        if (result > kSemVmx)
            return kERANGE;
        if (op.flags & kSemUndo) {
            int32_t a = adjust[op.num] - op.op;
            if (a < -(kSemAem + 1) || a > kSemAem)
                return kERANGE;
            adjust[op.num] = a;
        }
        values[op.num] = uint16_t(result);
    }
    if (undo && !record) {
        record = find_undo(c, id, true, o.nsems);
        if (!record)
            return kENOMEM;
    }
    for (uint32_t i = 0; i < o.nsems; ++i) {
        o.values[i] = values[i];
        if (record)
            record->adjust[i] = int16_t(adjust[i]);
    }
    for (size_t i = 0; i < count; ++i)
        o.pids[ops[i].num] = c.pid;
    o.atime = m_now;
    return 0;
}

Store::Waiter* Store::park(WaitKind kind, const Caller& c, Object& o, int32_t id, uint64_t token) {
    if (!m_waiters)
        return nullptr;
    for (uint32_t i = 0; i < kMaxWaiters; ++i) {
        Waiter& w = m_waiters[i];
        if (w.used)
            continue;
        w.used = true;
        w.kind = kind;
        w.token = token;
        w.sequence = ++m_wait_sequence;
        w.caller = c;
        w.id = id;
        w.flags = 0;
        w.count = 0;
        w.blocking = -1;
        w.for_zero = false;
        w.message = nullptr;
        w.type = 0;
        w.max = 0;
        w.object = &o;
        o.waiters.append(w);
        return &w;
    }
    return nullptr;
}

// Takes w off its object's list and frees its slot (and the message it held).
void Store::release(Waiter& w) {
    if (w.object)
        w.object->waiters.remove(w);
    w.object = nullptr;
    free_message(w.message);
    w.message = nullptr;
    w.used = false;
}

void Store::complete(Waiter& w, int32_t error, const Message* m) {
    uint64_t token = w.token;
    release(w);
    if (m_completion)
        m_completion(m_completion_context, token, error, m);
}

int32_t Store::semop(const Caller& c, int32_t id, const SemOp* ops, size_t count, uint64_t token) {
    if (count < 1)
        return kEINVAL;
    if (count > kSemOpm)
        return kE2BIG;
    Object* o = lookup(kSem, id);
    if (!o)
        return kEINVAL;
    bool alter = false;
    for (size_t i = 0; i < count; ++i) {
        if (ops[i].num >= o->nsems)
            return kEFBIG;
        alter |= ops[i].op != 0;
    }
    if (!permitted(c, o->perm, alter))
        return kEACCES;
    int32_t blocking = -1;
    bool for_zero = false;
    int32_t r = try_semop(*o, id, c, ops, count, &blocking, &for_zero);
    if (r == 0) {
        if (alter)
            wake_sem(*o, id);
        return 0;
    }
    if (r != kBlocked)
        return r;
    Waiter* w = park(WaitKind::kSem, c, *o, id, token);
    if (!w)
        return kENOMEM;
    copy_bytes(w->ops, ops, count * sizeof(SemOp));
    w->count = uint32_t(count);
    w->blocking = blocking;
    w->for_zero = for_zero;
    return kBlocked;
}

// Retries the set's waiters in arrival order until none can proceed: after one that
// changed a value, from the oldest again.
void Store::wake_sem(Object& o, int32_t id) {
    Waiter* w = o.waiters.first;
    while (w) {
        Waiter* next = w->next;
        int32_t r = try_semop(o, id, w->caller, w->ops, w->count, &w->blocking, &w->for_zero);
        if (r == kBlocked) {
            w = next;
            continue;
        }
        bool altered = false;
        for (uint32_t i = 0; i < w->count; ++i)
            altered |= w->ops[i].op != 0;
        complete(*w, r, nullptr);
        w = r == 0 && altered ? o.waiters.first : next;
    }
}

// ---- Messages ------------------------------------------------------------------------

int32_t Store::try_send(Object& o, const Caller& c, Message*& m) {
    if (o.bytes + m->size > o.qbytes || o.messages + 1 > o.qbytes)
        return kBlocked;
    if (o.tail)
        o.tail->next = m;
    else
        o.head = m;
    o.tail = m;
    m->next = nullptr;
    o.bytes += m->size;
    ++o.messages;
    o.cpid = c.pid;
    o.atime = m_now;
    m = nullptr;
    return 0;
}

int32_t Store::try_receive(Object& o, const Caller& c, int64_t type, uint64_t max, uint32_t flags,
                           Message** out) {
    Message* found = nullptr;
    Message* found_before = nullptr;
    Message* before = nullptr;
    for (Message* m = o.head; m; before = m, m = m->next) {
        bool match;
        if (type == 0)
            match = true;
        else if (type > 0)
            match = (flags & kMsgExcept) ? m->type != type : m->type == type;
        else
            match = m->type <= -type && (!found || m->type < found->type);
        if (match) {
            found = m;
            found_before = before;
            if (type >= 0)
                break;
        }
    }
    if (!found)
        return kBlocked;
    if (found->size > max && !(flags & kMsgNoError))
        return kE2BIG;
    if (found_before)
        found_before->next = found->next;
    else
        o.head = found->next;
    if (o.tail == found)
        o.tail = found_before;
    found->next = nullptr;
    o.bytes -= found->size;
    --o.messages;
    o.lpid = c.pid;
    o.dtime = m_now;
    if (found->size > max)
        found->size = uint32_t(max);
    *out = found;
    return 0;
}

int32_t Store::msgsnd(const Caller& c, int32_t id, int64_t type, const void* text, size_t size,
                      uint32_t flags, uint64_t token) {
    if (type < 1 || size > kMsgMax)
        return kEINVAL;
    Object* o = lookup(kMsg, id);
    if (!o)
        return kEINVAL;
    if (!permitted(c, o->perm, true))
        return kEACCES;
    Message* m = new_message<Message>(text, size);
    if (!m)
        return kENOMEM;
    m->type = type;
    if (try_send(*o, c, m) == 0) {
        wake_msg(*o);
        return 0;
    }
    if (flags & kIpcNoWait) {
        free_message(m);
        return kEAGAIN;
    }
    Waiter* w = park(WaitKind::kSend, c, *o, id, token);
    if (!w) {
        free_message(m);
        return kENOMEM;
    }
    w->message = m;
    w->flags = flags;
    return kBlocked;
}

int32_t Store::msgrcv(const Caller& c, int32_t id, int64_t type, uint64_t max, uint32_t flags,
                      uint64_t token, Message** out) {
    *out = nullptr;
    if (int64_t(max) < 0)
        return kEINVAL;
    if (flags & kMsgCopy)
        return kENOSYS;
    Object* o = lookup(kMsg, id);
    if (!o)
        return kEINVAL;
    if (!permitted(c, o->perm, false))
        return kEACCES;
    int32_t r = try_receive(*o, c, type, max, flags, out);
    if (r == 0) {
        wake_msg(*o);
        return 0;
    }
    if (r != kBlocked)
        return r;
    if (flags & kIpcNoWait)
        return kENOMSG;
    Waiter* w = park(WaitKind::kReceive, c, *o, id, token);
    if (!w)
        return kENOMEM;
    w->type = type;
    w->max = max;
    w->flags = flags;
    return kBlocked;
}

// Retries the queue's waiters (senders for room, receivers for a message) in arrival
// order until none can proceed.
void Store::wake_msg(Object& o) {
    Waiter* w = o.waiters.first;
    while (w) {
        Waiter* next = w->next;
        bool progress = false;
        if (w->kind == WaitKind::kSend) {
            progress = try_send(o, w->caller, w->message) == 0;
            if (progress)
                complete(*w, 0, nullptr);
        } else {
            Message* m = nullptr;
            int32_t r = try_receive(o, w->caller, w->type, w->max, w->flags, &m);
            progress = r != kBlocked;
            if (progress) {
                complete(*w, r, m);
                free_message(m);
            }
        }
        w = progress ? o.waiters.first : next;
    }
}

// ---- Waiters and ended tasks ---------------------------------------------------------

bool Store::cancel(uint64_t token) {
    if (!m_waiters)
        return false;
    for (uint32_t i = 0; i < kMaxWaiters; ++i) {
        Waiter& w = m_waiters[i];
        if (w.used && w.token == token) {
            release(w);
            return true;
        }
    }
    return false;
}

uint32_t Store::waiters() const {
    uint32_t n = 0;
    if (m_waiters)
        for (uint32_t i = 0; i < kMaxWaiters; ++i)
            n += m_waiters[i].used;
    return n;
}

uint32_t Store::objects(Kind kind) const {
    uint32_t n = 0;
    if (valid_kind(kind))
        for (const Object& o : m_objects[kind])
            n += o.used;
    return n;
}

void Store::task_ended(uint64_t task, void (*freed)(void* context, int32_t slot), void* context) {
    if (m_waiters)
        for (uint32_t i = 0; i < kMaxWaiters; ++i) {
            Waiter& w = m_waiters[i];
            if (w.used && w.caller.task == task)
                release(w);
        }
    // SEM_UNDO: each adjustment is added back, the result kept within 0..SEMVMX.
    for (Undo& u : m_undo) {
        if (!u.used || u.task != task)
            continue;
        Object* o = lookup(kSem, u.id);
        if (o) {
            bool changed = false;
            for (uint32_t i = 0; i < o->nsems; ++i) {
                if (u.adjust[i] == 0)
                    continue;
                int32_t v = int32_t(o->values[i]) + u.adjust[i];
                v = v < 0 ? 0 : v > kSemVmx ? kSemVmx : v;
                o->values[i] = uint16_t(v);
                o->pids[i] = u.pid; // Linux: the exiting task's
                changed = true;
            }
            if (changed) {
                o->atime = m_now;
                wake_sem(*o, u.id);
            }
        }
        delete[] u.adjust;
        u = Undo{};
    }
    for (AttachRecord& r : m_attach) {
        if (!r.used || r.task != task)
            continue;
        Object* o = lookup(kShm, r.id);
        if (o) {
            o->attaches -= r.count;
            o->dtime = m_now;
            if (o->removed && o->attaches == 0) {
                int32_t slot = slot_of(kShm, o);
                destroy(kShm, *o);
                if (freed)
                    freed(context, slot);
            }
        }
        r = AttachRecord{};
    }
}

} // namespace ipc
