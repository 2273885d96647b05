#pragma once
// The ipc server's protocol: System V shared memory, semaphores and message queues, and
// POSIX message queues (docs/design.md section 7, docs/servers.md "ipc"). The C
// library's shmget, semop, msgsnd, mq_open and the rest are one call each
// (libc/musl/backend_sysv.c, libc/musl/backend_mq.c).
//
// Objects and ids. Every object has an owner node, the node whose server holds it, and an
// id that says which node that is: id = node << 15 | slot << 8 | sequence (slot <
// kMaxObjects, sequence 0..255, bumped each time the slot is reused), a positive int as
// System V wants, unique in the cluster. A call names the object by id alone, so a server
// can route it to the owner node's server ("ipc@N") without asking anyone. A client always
// calls its own node's server, which watches it (a task handle does not cross nodes) and
// will forward calls for other nodes' ids with the client's end; today it answers EINVAL
// for them. Keys are resolved by the node the call is made on.
//
// Errors. The System V calls are defined with Linux's errnos, so every response carries
// `error`: 0 or a Linux errno (the k* values below). The reply's status is OK for every
// answer the call defines; a status other than OK means the request itself was broken
// (INVALID_ARGUMENT, logged by the server) or the server could not be reached.
//
// Clients. A task says Hello once, with a handle to itself, before anything else
// (INVALID_ARGUMENT otherwise): the server watches it, and when it ends applies its
// SEM_UNDO adjustments, detaches its segments and drops the calls it left waiting.
#include <stdint.h>
#include <tern/protocol.h>

namespace tern::ipc {

// Linux errno values, as the answers carry them.
inline constexpr int32_t kEPERM = 1;
inline constexpr int32_t kENOENT = 2;
inline constexpr int32_t kE2BIG = 7;
inline constexpr int32_t kEAGAIN = 11;
inline constexpr int32_t kENOMEM = 12;
inline constexpr int32_t kEACCES = 13;
inline constexpr int32_t kEFAULT = 14;
inline constexpr int32_t kEEXIST = 17;
inline constexpr int32_t kEINVAL = 22;
inline constexpr int32_t kEFBIG = 27;
inline constexpr int32_t kENOSPC = 28;
inline constexpr int32_t kERANGE = 34;
inline constexpr int32_t kENOMSG = 42;
inline constexpr int32_t kEIDRM = 43;
inline constexpr int32_t kEBADF = 9;
inline constexpr int32_t kEBUSY = 16;
inline constexpr int32_t kENFILE = 23;
inline constexpr int32_t kEMFILE = 24;
inline constexpr int32_t kENAMETOOLONG = 36;
inline constexpr int32_t kEMSGSIZE = 90;
inline constexpr int32_t kETIMEDOUT = 110;

// Flags and commands, Linux's values (<sys/ipc.h>, <sys/shm.h>, <sys/sem.h>, <sys/msg.h>).
inline constexpr int32_t kIpcPrivate = 0;
inline constexpr uint32_t kIpcCreat = 01000;
inline constexpr uint32_t kIpcExcl = 02000;
inline constexpr uint32_t kIpcNoWait = 04000;
inline constexpr int32_t kIpcRmid = 0;
inline constexpr int32_t kIpcSet = 1;
inline constexpr int32_t kIpcStat = 2;
inline constexpr int32_t kIpcInfo = 3;
inline constexpr uint32_t kShmRdonly = 010000;
inline constexpr uint32_t kShmRnd = 020000;
inline constexpr uint32_t kShmRemap = 040000;
inline constexpr uint32_t kShmExec = 0100000;
inline constexpr int32_t kShmLock = 11;
inline constexpr int32_t kShmUnlock = 12;
inline constexpr int32_t kShmStat = 13;
inline constexpr int32_t kShmInfo = 14;
inline constexpr int32_t kShmStatAny = 15;
inline constexpr uint32_t kShmDest = 01000; // mode bit: removed, freed at the last detach
inline constexpr int32_t kGetPid = 11;
inline constexpr int32_t kGetVal = 12;
inline constexpr int32_t kGetAll = 13;
inline constexpr int32_t kGetNcnt = 14;
inline constexpr int32_t kGetZcnt = 15;
inline constexpr int32_t kSetVal = 16;
inline constexpr int32_t kSetAll = 17;
inline constexpr int32_t kSemStat = 18;
inline constexpr int32_t kSemInfo = 19;
inline constexpr int32_t kSemStatAny = 20;
inline constexpr uint32_t kSemUndo = 0x1000;
inline constexpr int32_t kMsgStat = 11;
inline constexpr int32_t kMsgInfo = 12;
inline constexpr int32_t kMsgStatAny = 13;
inline constexpr uint32_t kMsgNoError = 010000;
inline constexpr uint32_t kMsgExcept = 020000;
inline constexpr uint32_t kMsgCopy = 040000;

// Limits of one node's server (Linux's names; ipcs -l prints them).
inline constexpr uint32_t kMaxObjects = 128;     // SHMMNI, SEMMNI, MSGMNI
inline constexpr uint64_t kShmMin = 1;           // SHMMIN
inline constexpr uint64_t kShmMax = 16ull << 20; // SHMMAX: bytes in one segment
inline constexpr uint64_t kShmAll = 16384;       // SHMALL: pages in all segments
inline constexpr uint32_t kSemMsl = 250;         // SEMMSL: semaphores in a set
inline constexpr uint32_t kSemMns = 32000;       // SEMMNS: semaphores in all sets
inline constexpr uint32_t kSemOpm = 64;          // SEMOPM: operations in one semop
inline constexpr int32_t kSemVmx = 32767;        // SEMVMX: a semaphore's largest value
inline constexpr int32_t kSemAem = 32767;        // SEMAEM: the largest undo adjustment
inline constexpr uint32_t kMsgMax = 8192;        // MSGMAX: bytes in one message
inline constexpr uint32_t kMsgMnb = 16384;       // MSGMNB: default bytes in a queue
inline constexpr uint32_t kMaxWaiters = 64;      // calls parked at once (all kinds)
inline constexpr uint64_t kPageSize = 4096;

enum Kind : uint32_t {
    kShm = 0,
    kSem = 1,
    kMsg = 2
};

// Ids: node << 15 | slot << 8 | sequence.
inline constexpr int32_t make_id(uint32_t node, uint32_t slot, uint32_t sequence) {
    return int32_t((node & 0xFFFF) << 15 | (slot & 0x7F) << 8 | (sequence & 0xFF));
}
inline constexpr uint32_t id_node(int32_t id) { return (uint32_t(id) >> 15) & 0xFFFF; }
inline constexpr uint32_t id_slot(int32_t id) { return (uint32_t(id) >> 8) & 0x7F; }
inline constexpr uint32_t id_sequence(int32_t id) { return uint32_t(id) & 0xFF; }

// One semaphore operation, struct sembuf's layout.
struct SemOp {
    uint16_t num;
    int16_t op;
    int16_t flags;
};
static_assert(sizeof(SemOp) == 6);

// What IPC_STAT (and SHM_STAT, SEM_STAT, MSG_STAT) answers, for every kind; the C
// library fills struct shmid_ds, semid_ds or msqid_ds from it.
struct ObjectStat {
    int32_t key;
    int32_t id;
    uint32_t uid, gid, cuid, cgid;
    uint32_t mode; // permission bits, and kShmDest for a removed segment still attached
    uint32_t sequence;
    uint64_t size;   // shm: bytes; sem: semaphores; msg: bytes queued
    uint64_t count;  // shm: attaches; msg: messages queued
    uint64_t qbytes; // msg: the queue's byte limit
    uint32_t cpid;   // shm: creator; msg: last sender
    uint32_t lpid;   // shm: last shmat/shmdt; msg: last receiver
    int64_t atime;   // shm: last attach; sem: last semop; msg: last send
    int64_t dtime;   // shm: last detach; msg: last receive
    int64_t ctime;   // last change (creation, IPC_SET, SETVAL, ...)
};

// IPC_SET's fields (the rest of the caller's struct is ignored, as on Linux).
struct ObjectSet {
    uint32_t uid, gid, mode;
    uint32_t reserved;
    uint64_t qbytes; // msg only
};

// What SHM_INFO, SEM_INFO and MSG_INFO answer besides the highest slot in use.
struct Usage {
    uint32_t objects;  // in use
    uint32_t waiters;  // calls parked
    uint64_t total;    // shm: pages; sem: semaphores; msg: bytes queued
    uint64_t messages; // msg: messages queued
};

struct HelloRequest {
    uint32_t pid; // the caller's process id as getpid() says it (for GETPID, shm_cpid, ...)
    uint32_t uid, gid;
};
// handles[0] = the caller's own task (any right but TRANSFER is enough). A second Hello
// from the same task only updates its ids. INVALID_ARGUMENT: not the caller's task.
// NO_SPACE: kMaxClients tasks already.
using Hello = proto::Op<1, HelloRequest, proto::Empty, proto::Limits{.request_handles = 1}>;
inline constexpr uint32_t kMaxClients = 128;

struct GetRequest {
    uint32_t kind;
    int32_t key;
    uint32_t flags; // kIpcCreat, kIpcExcl and the permission bits
    uint32_t reserved;
    uint64_t size; // shm: bytes; sem: semaphores in the set; msg: unused
};
struct Answer {
    int32_t error; // 0 or a Linux errno
    int32_t id;
    int64_t value;
};
// shmget, semget, msgget. Answer.id.
using Get = proto::Op<2, GetRequest, Answer>;

struct AttachRequest {
    int32_t id;
    uint32_t flags; // kShmRdonly
};
// shmat: handles[0] of the reply = the segment's memory object (without WRITE for
// kShmRdonly), Answer.value = its size in bytes. The caller maps it and says Detach when
// it unmaps; its attaches end with it anyway.
using Attach = proto::Op<3, AttachRequest, Answer, proto::Limits{.response_handles = 1}>;

struct DetachRequest {
    int32_t id;
};
// shmdt of one attach of the segment by the caller. EINVAL: the caller has none.
using Detach = proto::Op<4, DetachRequest, Answer>;

struct ControlRequest {
    uint32_t kind;
    int32_t id; // or a slot index for *_STAT and *_STAT_ANY
    int32_t command;
    int32_t semnum;
    int64_t value; // SETVAL
};
// shmctl, semctl, msgctl. Request data: ObjectSet for IPC_SET; uint16_t values for
// SETALL. Reply data: ObjectStat for IPC_STAT and *_STAT; uint16_t values for GETALL;
// Usage for *_INFO. Answer.value: GETVAL, GETPID, GETNCNT, GETZCNT; the id for *_STAT;
// the highest slot in use (-1: none) for *_INFO and IPC_INFO.
inline constexpr uint32_t kControlData = kSemMsl * 2 > sizeof(ObjectStat) ? kSemMsl * 2
                                                                          : sizeof(ObjectStat);
using Control =
    proto::Op<5, ControlRequest, Answer,
              proto::Limits{.request_data = kControlData, .response_data = kControlData}>;

inline constexpr uint64_t kForever = ~0ull;
// Operations that fit in the request's inline words beside the id and the timeout.
inline constexpr uint32_t kSemOpsInline = 8;
struct SemOpRequest {
    int32_t id;
    uint32_t count;      // operations in ops (then no data part), or 0
    uint64_t timeout_ns; // kForever: no limit (semop); else semtimedop's
    SemOp ops[kSemOpsInline];
};
static_assert(sizeof(SemOpRequest) == 64);
// semop, semtimedop: the SemOps inline (count of them, at most kSemOpsInline, and no
// data part: the call then goes in registers) or as the data part (count 0; at most
// kSemOpm, more is E2BIG). Waits as System V says unless an operation that would wait
// has kIpcNoWait (EAGAIN); a timeout ends the wait with EAGAIN, the set's removal with
// EIDRM.
using SemOperate =
    proto::Op<6, SemOpRequest, Answer, proto::Limits{.request_data = kSemOpm * sizeof(SemOp)}>;

struct SendRequest {
    int32_t id;
    uint32_t flags; // kIpcNoWait
    int64_t type;
};
// msgsnd: data = the message text (at most kMsgMax bytes). Waits for room in the queue
// unless kIpcNoWait (EAGAIN).
using MsgSend = proto::Op<7, SendRequest, Answer, proto::Limits{.request_data = kMsgMax}>;

struct ReceiveRequest {
    int32_t id;
    uint32_t flags; // kIpcNoWait, kMsgNoError, kMsgExcept
    int64_t type;
    uint64_t max; // msgsz
};
// msgrcv: reply data = the text, Answer.value = its type. E2BIG: longer than max
// without kMsgNoError (it stays queued); ENOMSG: none and kIpcNoWait.
using MsgReceive = proto::Op<8, ReceiveRequest, Answer, proto::Limits{.response_data = kMsgMax}>;

// ---- POSIX message queues ----------------------------------------------------------------
//
// A queue has a name on its owner node (the node of the mq_open call) and lives until it
// is unlinked and its last open description is closed. An open description is named by
// an MqHandle: `description` says the node (bits 40..55), the slot's generation (16..31)
// and the slot (0..15), so a call can be routed to the owner node as a System V id is;
// `secret` is a number the server chose at mq_open that the holder must show (a
// description another task guesses the slot of is still EBADF). The tasks that hold a
// description are its holders: the opener, and each child it is lent to across a fork
// (MqShare). The rules are servers/ipc/portable/mq.h's.

// Linux's values: O_ACCMODE, O_CREAT, O_EXCL, O_NONBLOCK; SIGEV_*; limits.
inline constexpr uint32_t kOAccmode = 03;
inline constexpr uint32_t kOCreat = 0100;
inline constexpr uint32_t kOExcl = 0200;
inline constexpr uint32_t kONonblock = 04000;
inline constexpr int32_t kSigevSignal = 0;
inline constexpr int32_t kSigevNone = 1;
inline constexpr int32_t kSigevThread = 2;
inline constexpr uint32_t kMqNameMax = 255;         // NAME_MAX
inline constexpr int64_t kMqDefaultMaxMsg = 10;     // msg_default
inline constexpr int64_t kMqDefaultMsgSize = 8192;  // msgsize_default
inline constexpr int64_t kMqMaxMsgHard = 65536;     // HARD_MSGMAX
inline constexpr int64_t kMqMsgSizeMax = 8192;      // msgsize_max: one message's bytes
inline constexpr uint32_t kMqPrioMax = 32768;       // MQ_PRIO_MAX
inline constexpr uint64_t kMqBytesPerUser = 819200; // RLIMIT_MSGQUEUE's default
inline constexpr uint32_t kMqMaxQueues = 256;       // queues_max
inline constexpr uint32_t kMqMaxDescriptions = 256; // open descriptions on the node
inline constexpr uint32_t kMqMaxHolds = 512;        // (task, description) pairs

struct MqHandle {
    uint64_t description;
    uint64_t secret;
};
inline constexpr uint64_t make_mq_description(uint32_t node, uint32_t slot, uint32_t generation) {
    return uint64_t(node & 0xFFFF) << 40 | uint64_t(generation & 0xFFFF) << 16 | (slot & 0xFFFF);
}
inline constexpr uint32_t mq_node(uint64_t d) { return uint32_t(d >> 40) & 0xFFFF; }
inline constexpr uint32_t mq_generation(uint64_t d) { return uint32_t(d >> 16) & 0xFFFF; }
inline constexpr uint32_t mq_slot(uint64_t d) { return uint32_t(d) & 0xFFFF; }

// struct mq_attr's layout (x86-64: four longs).
struct MqAttr {
    int64_t flags; // O_NONBLOCK or 0
    int64_t maxmsg;
    int64_t msgsize;
    int64_t curmsgs;
};

struct MqOpenRequest {
    uint32_t oflag; // O_ACCMODE bits, kOCreat, kOExcl, kONonblock
    uint32_t mode;  // permission bits, the caller's umask applied
    uint32_t has_attr;
    uint32_t reserved;
    MqAttr attr; // with kOCreat and has_attr: the new queue's maxmsg and msgsize
};
struct MqOpenAnswer {
    int32_t error;
    int32_t reserved;
    MqHandle handle;
};
// mq_open: data = the name without its leading '/' (at most kMqNameMax + 1 bytes; a
// longer one is ENAMETOOLONG).
using MqOpen =
    proto::Op<9, MqOpenRequest, MqOpenAnswer, proto::Limits{.request_data = kMqNameMax + 1}>;
// mq_unlink: data = the name as for MqOpen.
using MqUnlink = proto::Op<10, proto::Empty, Answer, proto::Limits{.request_data = kMqNameMax + 1}>;
// mq_close of the caller's description (its last descriptor in the process).
using MqClose = proto::Op<11, MqHandle, Answer>;

struct MqShareRequest {
    MqHandle handle;
    int32_t delta; // 0: the caller (a forked child) takes one loan; 1: lend; -1: take back
    uint32_t reserved;
};
// Around fork: the parent lends each description it holds (1) before the clone and takes
// the loan back (-1) when the clone failed; the child takes it (0). EBADF: no such
// description or loan.
using MqShare = proto::Op<12, MqShareRequest, Answer>;

struct MqAttrRequest {
    MqHandle handle;
    uint32_t set; // 1: mq_setattr with flags
    uint32_t reserved;
    int64_t flags;
};
struct MqAttrAnswer {
    int32_t error;
    int32_t reserved;
    MqAttr attr; // the attributes (before the change, for mq_setattr)
};
using MqGetSetAttr = proto::Op<13, MqAttrRequest, MqAttrAnswer>;

struct MqSendRequest {
    MqHandle handle;
    uint32_t priority;
    uint32_t reserved;
    uint64_t deadline; // CLOCK_REALTIME ns when the wait ends (ETIMEDOUT); kForever: none
};
// mq_send, mq_timedsend: data = the message (at most kMqMsgSizeMax bytes).
using MqSend = proto::Op<14, MqSendRequest, Answer, proto::Limits{.request_data = kMqMsgSizeMax}>;

struct MqReceiveRequest {
    MqHandle handle;
    uint64_t max;      // msg_len
    uint64_t deadline; // as MqSend's
};
// mq_receive, mq_timedreceive: reply data = the message, Answer.value = its priority.
using MqReceive =
    proto::Op<15, MqReceiveRequest, Answer, proto::Limits{.response_data = kMqMsgSizeMax}>;

struct MqNotifyRequest {
    MqHandle handle;
    uint32_t remove; // 1: mq_notify(mqd, NULL)
    int32_t kind;    // kSigevSignal or kSigevNone
    int32_t signo;
    uint32_t reserved;
    int64_t value; // sigev_value
    uint64_t pid;  // the caller's global pid: where proc sends the signal
};
// mq_notify. EBUSY: the queue has a registration already. The signal is sent through
// proc's Signal, which carries the number alone: the receiver sees si_code SI_USER and the
// ipc server as the sender, not SI_MESGQ and sigev_value.
using MqNotify = proto::Op<16, MqNotifyRequest, Answer>;

// ---- The call area -------------------------------------------------------------------------
//
// A client's small messages (System V and POSIX) go through memory it shares with the
// server instead of a call's data part, so the calls themselves go in registers. The area
// is kAreaSlots slots of kAreaSlotBytes; a call uses one slot (the client chooses a free
// one) and names it with a ticket it wrote in the slot's state word first. The server
// touches a slot only for the call whose ticket is there: it swaps the ticket for ticket |
// kAreaBusy (atomically), reads or writes the text, and stores ticket | kAreaDone (a
// receive's text is there) or the ticket again (a send's text was taken). A client whose
// call ended without an answer (a signal cut its wait short) takes the slot back by
// swapping its state for 0 once it is not busy, so a late answer to that call finds
// another ticket and leaves the slot alone (the server then treats the caller as gone).
// The server never waits on a slot: whatever a client writes there harms only itself.
inline constexpr uint32_t kAreaSlots = 8;
inline constexpr uint32_t kAreaSlotBytes = 2048;
inline constexpr uint32_t kAreaSize = kAreaSlots * kAreaSlotBytes;
inline constexpr uint32_t kAreaTextOffset = 64; // the state word, then the text from here
inline constexpr uint32_t kAreaTextMax = kAreaSlotBytes - kAreaTextOffset;
// A state word: 0 (no call), a ticket (its two low bits clear), or ticket | one of these.
inline constexpr uint32_t kAreaBusy = 1;
inline constexpr uint32_t kAreaDone = 2;

// The caller's call area: handles[0] of the reply = its memory object (kAreaSize bytes,
// to map read-write). A second call from the same task (a new image after exec) gets a
// fresh area; calls parked with the old one are then answered as if their caller had
// gone. ENOMEM: no memory for it (the client uses data parts).
using AreaOpen = proto::Op<17, proto::Empty, Answer, proto::Limits{.response_handles = 1}>;

// Where a call's text is in the caller's area.
struct AreaText {
    uint32_t slot;
    uint32_t ticket;
    uint32_t size; // the text's bytes (a send's), or the room for it (a receive's)
    uint32_t reserved;
};

struct AreaSendRequest {
    int32_t id;
    uint32_t flags;
    int64_t type;
    AreaText text; // size <= kAreaTextMax
};
// msgsnd as MsgSend, the text in the caller's area.
using MsgSendArea = proto::Op<18, AreaSendRequest, Answer>;

struct AreaReceiveRequest {
    int32_t id;
    uint32_t flags;
    int64_t type;
    uint64_t max;
    AreaText text; // text.size = the slot's room, kAreaTextMax
};
// msgrcv as MsgReceive, the text written to the caller's area (its state then ticket |
// kAreaDone): Answer.value = its type, Answer.id = its size. A message longer than the
// slot's room is E2BIG unless kMsgNoError (the client asks only when max fits).
using MsgReceiveArea = proto::Op<19, AreaReceiveRequest, Answer>;

struct MqAreaSendRequest {
    MqHandle handle;
    uint32_t priority;
    uint32_t reserved;
    uint64_t deadline;
    AreaText text;
};
// mq_send, mq_timedsend as MqSend, the message in the caller's area.
using MqSendArea = proto::Op<20, MqAreaSendRequest, Answer>;

struct MqAreaReceiveRequest {
    MqHandle handle;
    uint64_t max;
    uint64_t deadline;
    AreaText text;
};
// mq_receive, mq_timedreceive as MqReceive, the message written to the caller's area:
// Answer.value = its priority, Answer.id = its size.
using MqReceiveArea = proto::Op<21, MqAreaReceiveRequest, Answer>;

} // namespace tern::ipc
