// Tern's musl port: the rules of a pipe's ring (see pipe.h). Freestanding and portable:
// compiled into the musl backend of every C program, the kernel's portable set and the
// host unit tests.

#include <libc/musl/portable/files.h>
#include <libc/musl/portable/pipe.h>
#include <libc/musl/portable/translate.h>

static_assert(sizeof(tern_libc_pipe_ring) == TERN_LIBC_PIPE_HEADER, "the ring header is 64 bytes");

namespace {

uint8_t* ring_data(tern_libc_pipe_ring* ring) {
    return reinterpret_cast<uint8_t*>(ring) + TERN_LIBC_PIPE_HEADER;
}

} // namespace

extern "C" {

void tern_libc_pipe_init(struct tern_libc_pipe_ring* ring, uint32_t capacity) {
    *ring = {};
    ring->readers = 1;
    ring->writers = 1;
    ring->capacity = capacity;
}

uint64_t tern_libc_pipe_available(const struct tern_libc_pipe_ring* ring) {
    return ring->written - ring->read;
}

uint64_t tern_libc_pipe_space(const struct tern_libc_pipe_ring* ring) {
    return ring->capacity - tern_libc_pipe_available(ring);
}

int64_t tern_libc_pipe_write_count(const struct tern_libc_pipe_ring* ring, uint64_t length,
                                   int atomic) {
    if (ring->readers == 0)
        return -TERN_LINUX_EPIPE;
    uint64_t space = tern_libc_pipe_space(ring);
    if (atomic)
        return space >= length ? static_cast<int64_t>(length) : -TERN_LINUX_EAGAIN;
    if (space == 0)
        return -TERN_LINUX_EAGAIN;
    return static_cast<int64_t>(length < space ? length : space);
}

int64_t tern_libc_pipe_read_count(const struct tern_libc_pipe_ring* ring, uint64_t length) {
    uint64_t available = tern_libc_pipe_available(ring);
    if (available > 0)
        return static_cast<int64_t>(length < available ? length : available);
    return ring->writers == 0 ? 0 : -TERN_LINUX_EAGAIN;
}

struct tern_libc_pipe_span tern_libc_pipe_read_span(struct tern_libc_pipe_ring* ring) {
    uint64_t at = ring->read & (ring->capacity - 1);
    return {ring_data(ring) + at, ring->capacity - at, ring_data(ring)};
}

struct tern_libc_pipe_span tern_libc_pipe_write_span(struct tern_libc_pipe_ring* ring) {
    uint64_t at = ring->written & (ring->capacity - 1);
    return {ring_data(ring) + at, ring->capacity - at, ring_data(ring)};
}

void tern_libc_pipe_commit_write(struct tern_libc_pipe_ring* ring, uint64_t count) {
    ring->written += count;
}

void tern_libc_pipe_commit_read(struct tern_libc_pipe_ring* ring, uint64_t count) {
    ring->read += count;
}

uint32_t tern_libc_pipe_poll(const struct tern_libc_pipe_ring* ring, int write_end,
                             uint32_t asked) {
    uint32_t events = 0;
    if (write_end) {
        if (tern_libc_pipe_space(ring) >= TERN_LINUX_PIPE_BUF)
            events |= asked & (TERN_LINUX_POLLOUT | TERN_LINUX_POLLWRNORM);
        if (ring->readers == 0)
            events |= TERN_LINUX_POLLERR;
        return events;
    }
    if (tern_libc_pipe_available(ring) > 0)
        events |= asked & (TERN_LINUX_POLLIN | TERN_LINUX_POLLRDNORM);
    if (ring->writers == 0)
        events |= TERN_LINUX_POLLHUP;
    return events;
}

int tern_libc_pipe_check_flags(int64_t flags) {
    return (flags & ~static_cast<int64_t>(TERN_LINUX_O_CLOEXEC | TERN_LINUX_O_NONBLOCK)) != 0
               ? -TERN_LINUX_EINVAL
               : 0;
}

} // extern "C"

extern "C" {

struct tern_libc_pipe_holder* tern_libc_pipe_holders(struct tern_libc_pipe_ring* ring) {
    return reinterpret_cast<tern_libc_pipe_holder*>(reinterpret_cast<uint8_t*>(ring)
                                                    + TERN_LIBC_PIPE_HEADER + ring->capacity);
}

int tern_libc_pipe_hold(struct tern_libc_pipe_holder* table, uint32_t count, uint64_t pid,
                        int32_t readers, int32_t writers) {
    if (pid == 0)
        return 0;
    tern_libc_pipe_holder* entry = nullptr;
    for (uint32_t i = 0; i < count && !entry; ++i)
        if (__atomic_load_n(&table[i].pid, __ATOMIC_ACQUIRE) == pid)
            entry = &table[i];
    for (uint32_t i = 0; i < count && !entry; ++i) {
        uint64_t expected = 0;
        if (__atomic_compare_exchange_n(&table[i].pid, &expected, pid, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            table[i].readers = 0;
            table[i].writers = 0;
            entry = &table[i];
        }
    }
    if (!entry)
        return -1;
    entry->readers = uint32_t(int64_t(entry->readers) + readers);
    entry->writers = uint32_t(int64_t(entry->writers) + writers);
    if (entry->readers == 0 && entry->writers == 0)
        __atomic_store_n(&entry->pid, uint64_t(0), __ATOMIC_RELEASE);
    return 0;
}

uint32_t tern_libc_pipe_forget(struct tern_libc_pipe_ring* ring,
                               struct tern_libc_pipe_holder* table, uint32_t count, uint64_t pid) {
    if (pid == 0)
        return 0;
    for (uint32_t i = 0; i < count; ++i) {
        tern_libc_pipe_holder& entry = table[i];
        if (__atomic_load_n(&entry.pid, __ATOMIC_ACQUIRE) != pid)
            continue;
        uint32_t readers = entry.readers, writers = entry.writers;
        __atomic_fetch_sub(&ring->readers, readers, __ATOMIC_SEQ_CST);
        __atomic_fetch_sub(&ring->writers, writers, __ATOMIC_SEQ_CST);
        entry.readers = 0;
        entry.writers = 0;
        __atomic_store_n(&entry.pid, uint64_t(0), __ATOMIC_RELEASE);
        return readers + writers;
    }
    return 0;
}

} // extern "C"
