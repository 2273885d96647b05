// Tern's musl port: the process state that crosses execve (see exec_state.h).
#include <libc/musl/portable/exec_state.h>
#include <libc/musl/portable/shared_file.h>
#include <libc/musl/portable/translate.h>

namespace {

uint64_t round8(uint64_t n) { return (n + 7) & ~uint64_t(7); }

uint64_t string_length(const char* s, uint64_t capacity) {
    uint64_t n = 0;
    while (n < capacity && s[n] != '\0')
        ++n;
    return n;
}

void copy_bytes(void* to, const void* from, uint64_t n) { __builtin_memcpy(to, from, n); }

void zero_bytes(void* to, uint64_t n) { __builtin_memset(to, 0, n); }

bool kind_crosses(uint32_t kind) {
    return kind == TERN_LIBC_FD_FILE || kind == TERN_LIBC_FD_DIRECTORY
           || kind == TERN_LIBC_FD_CONSOLE || kind == TERN_LIBC_FD_PIPE_READ
           || kind == TERN_LIBC_FD_PIPE_WRITE || kind == TERN_LIBC_FD_NULL
           || kind == TERN_LIBC_FD_SOCKET;
}

bool is_pipe(uint32_t kind) {
    return kind == TERN_LIBC_FD_PIPE_READ || kind == TERN_LIBC_FD_PIPE_WRITE;
}

// A file or directory whose offset other processes may share (a page, shared_file.h).
bool is_shareable(uint32_t kind) {
    return kind == TERN_LIBC_FD_FILE || kind == TERN_LIBC_FD_DIRECTORY
           || kind == TERN_LIBC_FD_SOCKET;
}

} // namespace

extern "C" {

int tern_libc_exec_keeps(const struct tern_libc_fd_table* table, int fd) {
    if (fd < 0 || fd >= TERN_LIBC_MAX_FDS)
        return 0;
    const tern_libc_fd_slot& slot = table->fds[fd];
    if (slot.file == 0 || slot.file > TERN_LIBC_MAX_FDS || (slot.flags & TERN_LINUX_FD_CLOEXEC))
        return 0;
    return kind_crosses(table->files[slot.file - 1].kind) ? 1 : 0;
}

int tern_libc_exec_keeps_file(const struct tern_libc_fd_table* table,
                              const struct tern_libc_file* file) {
    for (int fd = 0; fd < TERN_LIBC_MAX_FDS; ++fd)
        if (tern_libc_exec_keeps(table, fd) && &table->files[table->fds[fd].file - 1] == file)
            return 1;
    return 0;
}

int64_t tern_libc_exec_pack(const struct tern_libc_fd_table* table,
                            const struct tern_libc_exec_process* process,
                            const uint32_t handles[TERN_LIBC_MAX_FDS], void* out,
                            uint64_t capacity) {
    auto* bytes = static_cast<uint8_t*>(out);
    uint64_t cwd_length = string_length(process->cwd, sizeof(process->cwd) - 1);
    uint64_t used = round8(sizeof(tern_libc_exec_header)) + round8(cwd_length + 1);
    if (used > capacity)
        return -TERN_LINUX_E2BIG;
    tern_libc_exec_header header;
    zero_bytes(&header, sizeof(header));
    header.magic = TERN_LIBC_EXEC_MAGIC;
    header.version = TERN_LIBC_EXEC_VERSION;
    header.umask = process->umask & 0777;
    header.pipes_shared = process->pipes_shared ? 1 : 0;
    header.pid = process->pid;
    header.parent = process->parent;
    header.signal_mask = process->signal_mask;
    header.signal_ignored = process->signal_ignored;
    for (uint32_t i = 0; i < TERN_LIBC_EXEC_SIGNAL_WORDS; ++i)
        header.signal_words[i] = process->signal_words[i];
    for (uint32_t i = 0; i < TERN_LIBC_EXEC_TIMES; ++i)
        header.times_ns[i] = process->times_ns[i];
    for (int i = 0; i < TERN_LIBC_RLIMIT_COUNT; ++i)
        header.rlimits[i] = process->rlimits[i];
    header.peer_count = process->peer_count < TERN_LIBC_EXEC_MAX_PEERS ? process->peer_count
                                                                       : TERN_LIBC_EXEC_MAX_PEERS;
    for (uint32_t i = 0; i < header.peer_count; ++i)
        header.peers[i] = process->peers[i];
    header.cwd_length = uint32_t(cwd_length);
    zero_bytes(bytes + round8(sizeof(header)), round8(cwd_length + 1));
    copy_bytes(bytes + round8(sizeof(header)), process->cwd, cwd_length);

    // One record per kept description, in the table's order.
    uint8_t record_of[TERN_LIBC_MAX_FDS] = {};
    uint32_t records = 0;
    uint64_t in_use = tern_libc_fd_descriptions(table);
    for (int i = 0; i < TERN_LIBC_MAX_FDS; ++i) {
        if (!(in_use >> i & 1))
            continue;
        const tern_libc_file& file = table->files[i];
        if (file.references == 0 || !tern_libc_exec_keeps_file(table, &file))
            continue;
        uint64_t path_length = string_length(file.path, sizeof(file.path) - 1);
        uint64_t need = sizeof(tern_libc_exec_record) + round8(path_length + 1);
        if (used + need > capacity)
            return -TERN_LINUX_E2BIG;
        tern_libc_exec_record record;
        zero_bytes(&record, sizeof(record));
        record.kind = file.kind;
        record.mode = file.mode;
        record.flags = file.flags;
        record.unlinked = file.unlinked;
        record.server = file.server;
        record.device = file.device;
        record.handle = is_pipe(file.kind) || is_shareable(file.kind) ? handles[i] : 0;
        record.map_size = is_pipe(file.kind)                      ? file.pipe.map_size
                          : is_shareable(file.kind) && handles[i] ? TERN_LIBC_SHARED_FILE_SIZE
                                                                  : 0;
        record.path_length = uint32_t(path_length);
        record.size = file.size;
        record.position = file.position;
        record.inode = file.inode;
        if (file.kind == TERN_LIBC_FD_SOCKET)
            record.socket = file.socket;
        copy_bytes(bytes + used, &record, sizeof(record));
        zero_bytes(bytes + used + sizeof(record), round8(path_length + 1));
        copy_bytes(bytes + used + sizeof(record), file.path, path_length);
        used += need;
        record_of[i] = uint8_t(++records);
    }
    for (int fd = 0; fd < TERN_LIBC_MAX_FDS; ++fd)
        header.fds[fd] =
            tern_libc_exec_keeps(table, fd) ? record_of[table->fds[fd].file - 1] : uint8_t(0);
    header.record_count = records;
    header.size = uint32_t(used);
    copy_bytes(bytes, &header, sizeof(header));
    return int64_t(used);
}

int tern_libc_exec_unpack(const void* block, uint64_t size, struct tern_libc_fd_table* table,
                          struct tern_libc_exec_process* process) {
    const auto* bytes = static_cast<const uint8_t*>(block);
    tern_libc_exec_header header;
    if (size < sizeof(header))
        return -TERN_LINUX_EINVAL;
    copy_bytes(&header, bytes, sizeof(header));
    if (header.magic != TERN_LIBC_EXEC_MAGIC || header.version != TERN_LIBC_EXEC_VERSION
        || header.size > size || header.peer_count > TERN_LIBC_EXEC_MAX_PEERS
        || header.record_count > TERN_LIBC_MAX_FDS || header.cwd_length >= TERN_LIBC_PATH_BUFFER
        || !tern_libc_rlimits_valid(header.rlimits))
        return -TERN_LINUX_EINVAL;
    uint64_t at = round8(sizeof(header));
    if (at + round8(uint64_t(header.cwd_length) + 1) > header.size)
        return -TERN_LINUX_EINVAL;
    const uint8_t* cwd = bytes + at;
    if (header.cwd_length == 0 || cwd[0] != '/')
        return -TERN_LINUX_EINVAL;
    for (uint32_t i = 0; i < header.cwd_length; ++i)
        if (cwd[i] == 0)
            return -TERN_LINUX_EINVAL;
    at += round8(uint64_t(header.cwd_length) + 1);

    // Check every record before anything is written.
    uint64_t record_at[TERN_LIBC_MAX_FDS] = {};
    for (uint32_t r = 0; r < header.record_count; ++r) {
        if (at + sizeof(tern_libc_exec_record) > header.size)
            return -TERN_LINUX_EINVAL;
        tern_libc_exec_record record;
        copy_bytes(&record, bytes + at, sizeof(record));
        if (!kind_crosses(record.kind) || record.path_length >= TERN_LIBC_PATH_BUFFER
            || at + sizeof(record) + round8(uint64_t(record.path_length) + 1) > header.size
            || (is_pipe(record.kind) && (record.handle == 0 || record.map_size == 0)))
            return -TERN_LINUX_EINVAL;
        const uint8_t* path = bytes + at + sizeof(record);
        for (uint32_t i = 0; i < record.path_length; ++i)
            if (path[i] == 0)
                return -TERN_LINUX_EINVAL;
        record_at[r] = at;
        at += sizeof(record) + round8(uint64_t(record.path_length) + 1);
    }
    uint32_t references[TERN_LIBC_MAX_FDS] = {};
    for (int fd = 0; fd < TERN_LIBC_MAX_FDS; ++fd) {
        if (header.fds[fd] > header.record_count)
            return -TERN_LINUX_EINVAL;
        if (header.fds[fd] != 0)
            ++references[header.fds[fd] - 1];
    }
    for (uint32_t r = 0; r < header.record_count; ++r)
        if (references[r] == 0)
            return -TERN_LINUX_EINVAL; // a description no descriptor names

    // Only what is in use is cleared: the table of a new image is zero already, and
    // clearing all of its 64 descriptions (280 KiB) would cost more than the exec. Not
    // even read: each description lies on a page of its own, and reading an untouched
    // page costs a page fault that maps a fresh zero page, 64 of them for nothing.
    bool fresh = table->initialised == 0;
    table->initialised = 1;
    for (uint32_t i = 0; i < TERN_LIBC_MAX_FDS; ++i)
        if (i < header.record_count
            || (!fresh
                && (table->files[i].kind != TERN_LIBC_FD_FREE || table->files[i].references != 0)))
            zero_bytes(&table->files[i], sizeof(table->files[i]));
    for (uint32_t r = 0; r < header.record_count; ++r) {
        tern_libc_exec_record record;
        copy_bytes(&record, bytes + record_at[r], sizeof(record));
        tern_libc_file& file = table->files[r];
        file.kind = record.kind;
        file.mode = record.mode;
        file.flags = record.flags;
        file.unlinked = record.unlinked;
        file.server = record.server;
        file.device = record.device;
        file.size = record.size;
        file.position = record.position;
        file.inode = record.inode;
        file.references = references[r];
        copy_bytes(file.path, bytes + record_at[r] + sizeof(record), record.path_length);
        file.path[record.path_length] = '\0';
        if (is_pipe(record.kind)) {
            file.pipe.memory = record.handle;
            file.pipe.map_size = record.map_size;
        } else if (is_shareable(record.kind)) {
            file.shared_memory = record.handle; /* 0: held by this process alone */
        }
        if (record.kind == TERN_LIBC_FD_SOCKET)
            file.socket = record.socket;
    }
    for (int fd = 0; fd < TERN_LIBC_MAX_FDS; ++fd)
        table->fds[fd] = {header.fds[fd], 0};

    zero_bytes(process, sizeof(*process));
    process->umask = header.umask & 0777;
    process->pipes_shared = header.pipes_shared;
    process->pid = header.pid;
    process->parent = header.parent;
    process->signal_mask = header.signal_mask;
    process->signal_ignored = header.signal_ignored;
    for (uint32_t i = 0; i < TERN_LIBC_EXEC_SIGNAL_WORDS; ++i)
        process->signal_words[i] = header.signal_words[i];
    for (uint32_t i = 0; i < TERN_LIBC_EXEC_TIMES; ++i)
        process->times_ns[i] = header.times_ns[i];
    for (int i = 0; i < TERN_LIBC_RLIMIT_COUNT; ++i)
        process->rlimits[i] = header.rlimits[i];
    process->peer_count = header.peer_count;
    for (uint32_t i = 0; i < header.peer_count; ++i)
        process->peers[i] = header.peers[i];
    copy_bytes(process->cwd, cwd, header.cwd_length);
    process->cwd[header.cwd_length] = '\0';
    return 0;
}

int tern_libc_exec_script(const char* data, uint64_t size, char* interpreter, char* argument) {
    constexpr uint64_t kLine = 256; // "#!" and the line, as Linux reads (BINPRM_BUF_SIZE)
    if (size < 2 || data[0] != '#' || data[1] != '!')
        return -TERN_LINUX_ENOEXEC;
    uint64_t end = 2;
    while (end < size && end < kLine && data[end] != '\n')
        ++end;
    bool cut = end == kLine; // a longer line is cut there, as Linux does
    auto blank = [](char c) { return c == ' ' || c == '\t'; };
    uint64_t i = 2;
    while (i < end && blank(data[i]))
        ++i;
    uint64_t name_start = i;
    while (i < end && !blank(data[i]) && data[i] != '\0')
        ++i;
    uint64_t name_end = i;
    if (name_end == name_start || (cut && name_end == end))
        return -TERN_LINUX_ENOEXEC; // no interpreter, or its name cut
    while (i < end && blank(data[i]))
        ++i;
    uint64_t arg_start = i, arg_end = end;
    while (arg_end > arg_start && (blank(data[arg_end - 1]) || data[arg_end - 1] == '\r'))
        --arg_end;
    for (uint64_t k = arg_start; k < arg_end; ++k)
        if (data[k] == '\0') {
            arg_end = k;
            break;
        }
    copy_bytes(interpreter, data + name_start, name_end - name_start);
    interpreter[name_end - name_start] = '\0';
    copy_bytes(argument, data + arg_start, arg_end - arg_start);
    argument[arg_end - arg_start] = '\0';
    return arg_end > arg_start ? 1 : 0;
}

} // extern "C"
