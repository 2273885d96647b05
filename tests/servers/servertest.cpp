// servertest: the user-space servers end to end, from a program started by the shell:
// names registered and looked up across processes and released when their owner dies,
// a client killed in the middle of a call, and clients that break the servers' protocols
// (unknown operations, oversized or malformed parts, forged or missing handles, plain
// sends where a call is needed), after each of which the server must still serve.
//
//   servertest                 run every check; exit 0 when all pass
//   servertest client <name>   (child) call Echo on <name>, exit 0 on the right answer
//   servertest hang <name>     (child) call Hang on <name>, which never answers
//   servertest register <name> (child) register a port under <name>, then exit
//   servertest alias <name>    (child) register the port <name> names (someone else's)
//                              as <name>.alias, then exit
//   servertest readers         call the console's Read 20 times with a 1 ms timeout
#include <base/format.h>
#include <base/string_view.h>
#include <tern/print.h>
#include <tern/process.h>
#include <tern/protocol.h>
#include <tern/protocols/bootfs.h>
#include <tern/protocols/console.h>
#include <tern/protocols/ipc.h>
#include <tern/protocols/name.h>
#include <tern/protocols/proc.h>
#include <tern/services.h>
#include <tern/startup.h>
#include <tern/syscall.h>

using namespace tern;

namespace {

struct EchoRequest {
    uint64_t value;
};
struct EchoResponse {
    uint64_t value;
    uint64_t badge;
};
using Echo = proto::Op<1, EchoRequest, EchoResponse>;
using Hang = proto::Op<2, EchoRequest, EchoResponse>;

int g_checks = 0, g_failures = 0;

void check(bool ok, const char* what, int64_t detail = 0) {
    ++g_checks;
    if (ok) {
        tern::println("servertest: ok {}", what);
    } else {
        ++g_failures;
        tern::println("servertest: FAILED {} (got {})", what, detail);
    }
}

int64_t code(base::Error e) { return int64_t(e); }

// ---- the children ------------------------------------------------------------------------

int child_client(const char* name) {
    auto port = lookup(name, true, 5000000000ull);
    if (port.is_error())
        return 10;
    auto r = proto::call<Echo>(port.value(), {41}, {}, 5000000000ull);
    return r.ok() && r.value().value == 42 ? 0 : 11;
}

int child_hang(const char* name) {
    auto port = lookup(name, true, 5000000000ull);
    if (port.is_error())
        return 10;
    (void)proto::call<Hang>(port.value(), {1});
    return 7; // only reached if the call returns, which it must not
}

// Reads from the console that give up after 1 ms, more than the console has reader
// slots: the console must still serve the shell afterwards (tests/system/sessions).
int abandoned_readers() {
    auto console = lookup("console", true, 5000000000ull);
    if (console.is_error())
        return 10;
    static char line[tern::console::kMaxLine + 1];
    for (int i = 0; i < 20; ++i) {
        proto::CallParts parts;
        parts.out_data = {reinterpret_cast<uint8_t*>(line), sizeof(line)};
        (void)proto::call<tern::console::Read>(console.value(), {0, 0}, parts, 1000000);
    }
    tern::println("servertest: readers gave up");
    return 0;
}

int child_register(const char* name) {
    int64_t port = tern_sys_port_create(4);
    if (port < 0 || register_name(name, tern_handle_t(port)).is_error())
        return 10;
    return 0; // exiting closes the port: the name must go with it
}

int child_alias(const char* name) {
    auto port = lookup(name);
    if (port.is_error())
        return 10;
    char alias[64];
    base::BufferSink sink(alias, sizeof(alias));
    base::format_to(sink, "{}.alias", base::StringView(name));
    if (sink.truncated() || register_name(sink.view(), port.value()).is_error())
        return 11;
    return 0; // the port lives on with its owner; the name must go with this task
}

// Polls until `name` is gone (about 2 s at most).
bool released(const char* name) {
    for (int i = 0; i < 200; ++i) {
        auto r = lookup(name);
        if (r.is_error() && r.error() == base::Error::NOT_FOUND)
            return true;
        if (r.ok())
            (void)tern_sys_handle_close(r.value());
        tern_sys_thread_sleep(10000000);
    }
    return false;
}

// ---- the test server ---------------------------------------------------------------------

struct TestServer {
    proto::PendingReply parked;
    uint64_t echo_calls = 0;
};

base::Error on_echo(TestServer* s, proto::Request& request, const EchoRequest& in,
                    EchoResponse& out, proto::Reply&, proto::PendingReply&) {
    ++s->echo_calls;
    out.value = in.value + 1;
    out.badge = request.badge();
    return base::Error::OK;
}

base::Error on_hang(TestServer* s, proto::Request&, const EchoRequest&, EchoResponse&,
                    proto::Reply& reply, proto::PendingReply& pending) {
    s->parked = pending;
    reply.deferred = true;
    return base::Error::OK;
}

uint64_t g_serial = 0;

void make_name(char* out, size_t size, const char* what) {
    base::BufferSink sink(out, size);
    base::format_to(sink, "servertest.{}.{}", what, g_serial);
}

int64_t run_child(const char* mode, const char* name, uint64_t* pid_out = nullptr) {
    const char* argv[] = {"servertest", mode, name, nullptr};
    auto pid = spawn("servertest", argv);
    if (pid.is_error())
        return -1000 - code(pid.error());
    if (pid_out) {
        *pid_out = pid.value();
        return 0;
    }
    auto status = wait(pid.value());
    return status.is_error() ? -2000 - code(status.error()) : status.value();
}

void names_and_calls_across_processes() {
    static TestServer state;
    int64_t port = tern_sys_port_create(8);
    check(port > 0, "port_create", port);
    char name[64];
    make_name(name, sizeof(name), "echo");
    check(register_name(name, tern_handle_t(port)).ok(), "register_name");
    check(register_name(name, tern_handle_t(port)).error() == base::Error::ALREADY_EXISTS,
          "register_twice_refused");
    proto::Server server("servertest", tern_handle_t(port));
    server.on<Echo>(&state, on_echo);
    server.on<Hang>(&state, on_hang);

    // A child looks the name up and calls us.
    uint64_t pid = 0;
    check(run_child("client", name, &pid) == 0, "spawn_client");
    check(server.serve_one(10000000000ull) == base::Error::OK && state.echo_calls == 1,
          "served_child_call", int64_t(state.echo_calls));
    auto status = wait(pid);
    check(status.ok() && status.value() == 0, "child_got_answer",
          status.ok() ? status.value() : -1);

    // A child killed while its call is parked here: the late answer finds nobody, and
    // the server goes on serving the next client.
    check(run_child("hang", name, &pid) == 0, "spawn_hanging_client");
    check(server.serve_one(10000000000ull) == base::Error::OK && state.parked.valid(),
          "hang_call_parked");
    check(kill(pid, 0).ok(), "kill_client_mid_call");
    status = wait(pid);
    check(status.ok() && status.value() == proc::kKilledStatus, "killed_client_status",
          status.ok() ? status.value() : -1);
    base::Error late = proto::reply_later<Hang>(state.parked, base::Error::OK, {0, 0});
    check(late == base::Error::PEER_CLOSED, "late_reply_to_dead_client", code(late));
    check(run_child("client", name, &pid) == 0, "spawn_next_client");
    check(server.serve_one(10000000000ull) == base::Error::OK && state.echo_calls == 2,
          "served_after_kill", int64_t(state.echo_calls));
    status = wait(pid);
    check(status.ok() && status.value() == 0, "next_client_answered",
          status.ok() ? status.value() : -1);

    // A name goes when its owner dies.
    char gone[64];
    make_name(gone, sizeof(gone), "gone");
    check(run_child("register", gone) == 0, "child_registered_and_exited");
    check(released(gone), "name_released_when_owner_died");

    // Also when the port it names lives on: a child registers our port under another
    // name and exits; that name goes, ours stays.
    char alias[80];
    base::BufferSink alias_sink(alias, sizeof(alias));
    base::format_to(alias_sink, "{}.alias", base::StringView(name));
    check(run_child("alias", name) == 0, "child_registered_our_port_and_exited");
    check(released(alias), "name_released_when_registering_task_died");
    auto ours = lookup(name);
    check(ours.ok(), "our_name_stays");
    if (ours.ok())
        (void)tern_sys_handle_close(ours.value());
    (void)tern_sys_handle_close(uint64_t(port));
}

// A raw message with a label and an optional data part, for requests the typed layer
// would refuse to build.
tern_msg request(uint32_t label, const void* data = nullptr, uint32_t size = 0) {
    tern_msg msg = {};
    msg.hdr.label = label;
    msg.data = reinterpret_cast<uint64_t>(data);
    msg.hdr.data_size = size;
    return msg;
}

// A raw call, for requests the typed layer would refuse to build.
int64_t raw_call(tern_handle_t port, tern_msg& msg) {
    return tern_sys_port_call(port, reinterpret_cast<uint64_t>(&msg), 5000000000ull);
}

void bad_clients_of_the_name_server() {
    tern_handle_t names = name_server();
    static char big[8192];
    tern_msg msg = request(99);
    check(raw_call(names, msg) == 0 && msg.hdr.label == TERN_NOT_SUPPORTED, "name_unknown_op",
          msg.hdr.label);

    msg = request(name::Lookup::kLabel, big, 200);
    check(raw_call(names, msg) == 0 && msg.hdr.label == TERN_TOO_BIG, "name_oversized_data",
          msg.hdr.label);

    msg = request(name::Register::kLabel, "servertest.nohandle", 19);
    check(raw_call(names, msg) == 0 && msg.hdr.label == TERN_INVALID_ARGUMENT,
          "name_register_without_handle", msg.hdr.label);

    auto own_task = [] {
        return tern_handle_t(tern_sys_handle_duplicate(self(), TERN_RIGHT_TRANSFER));
    };
    int64_t memory = tern_sys_memory_create(4096, 0);
    msg = request(name::Register::kLabel, "servertest.memory", 17);
    msg.hdr.handle_count = 2;
    msg.handles[0] = tern_handle_t(memory);
    msg.handles[1] = own_task();
    check(raw_call(names, msg) == 0 && msg.hdr.label == TERN_INVALID_ARGUMENT,
          "name_register_non_port", msg.hdr.label);

    msg = request(name::Register::kLabel, "servertest.task", 15);
    msg.hdr.handle_count = 2;
    msg.handles[0] = own_task();
    msg.handles[1] = own_task();
    check(raw_call(names, msg) == 0 && msg.hdr.label == TERN_INVALID_ARGUMENT,
          "name_register_task_as_port", msg.hdr.label);

    // A registration must come with the caller's own task, which the server watches.
    int64_t spare = tern_sys_port_create(1);
    auto port_copy = [&] {
        return tern_handle_t(tern_sys_handle_duplicate(
            uint64_t(spare), TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER | TERN_RIGHT_DUPLICATE));
    };
    msg = request(name::Register::kLabel, "servertest.notask", 17);
    msg.hdr.handle_count = 1;
    msg.handles[0] = port_copy();
    check(raw_call(names, msg) == 0 && msg.hdr.label == TERN_INVALID_ARGUMENT,
          "name_register_without_task", msg.hdr.label);
    const char* argv[] = {"true", nullptr};
    tern_handle_t other = TERN_INVALID_HANDLE;
    SpawnExtras extras;
    extras.task = &other;
    auto child = spawn("true", argv, nullptr, extras);
    check(child.ok() && other != TERN_INVALID_HANDLE, "spawn_true_with_task");
    msg = request(name::Register::kLabel, "servertest.othertask", 20);
    msg.hdr.handle_count = 2;
    msg.handles[0] = port_copy();
    msg.handles[1] = other;
    check(raw_call(names, msg) == 0 && msg.hdr.label == TERN_INVALID_ARGUMENT,
          "name_register_with_another_task", msg.hdr.label);
    if (child.ok())
        (void)wait(child.value());

    // Names without a '.' are for the services init starts.
    auto reserved = register_name("servertest", tern_handle_t(spare));
    check(reserved.is_error() && reserved.error() == base::Error::ACCESS_DENIED,
          "name_system_name_refused", reserved.is_error() ? code(reserved.error()) : 0);
    tern_handle_t me = own_task();
    proto::CallParts trust_parts;
    trust_parts.in_handles = {&me, 1};
    auto trusted = proto::call<name::Trust>(names, {}, trust_parts);
    check(trusted.is_error() && trusted.error() == base::Error::ACCESS_DENIED,
          "name_trust_only_from_proc", trusted.is_error() ? code(trusted.error()) : 0);
    (void)tern_sys_handle_close(uint64_t(spare));

    msg = request(name::Register::kLabel);
    msg.hdr.handle_count = 1;
    msg.handles[0] = 0x7FFF1234;
    int64_t forged = raw_call(names, msg);
    check(forged == -TERN_BAD_HANDLE, "name_forged_handle_refused_by_kernel", forged);

    msg = request(name::Lookup::kLabel, "a b", 3);
    check(raw_call(names, msg) == 0 && msg.hdr.label == TERN_INVALID_ARGUMENT, "name_bad_name",
          msg.hdr.label);

    // A plain send where a call is needed: logged and dropped, the server goes on.
    msg = request(name::Lookup::kLabel, "proc", 4);
    int64_t sent = tern_sys_port_send(names, reinterpret_cast<uint64_t>(&msg), 5000000000ull);
    check(sent == 0, "name_plain_send_accepted_by_kernel", sent);

    msg = request(name::Unregister::kLabel, "proc", 4);
    check(raw_call(names, msg) == 0 && msg.hdr.label == TERN_NOT_OWNER,
          "name_unregister_others_refused", msg.hdr.label);

    // Forged kernel events: a client's message labelled as a death notice for the first
    // slots (generation 1, the first registrations: bootfs, proc, console) is not taken
    // for one, and the kernel does not deliver real notices to a port the caller does not
    // own.
    for (uint64_t slot = 0; slot < 8; ++slot) {
        msg = request(TERN_LABEL_OBJECT_GONE);
        msg.words[0] = (uint64_t(1) << 32) | slot;
        (void)tern_sys_port_send(names, reinterpret_cast<uint64_t>(&msg), 5000000000ull);
    }
    int64_t own = tern_sys_port_create(1);
    int64_t watched = tern_sys_object_watch(uint64_t(own), names, (uint64_t(1) << 32) | 1);
    check(watched == -TERN_ACCESS_DENIED, "watch_needs_receive_on_the_notice_port", watched);
    (void)tern_sys_handle_close(uint64_t(own));

    // Registering and unregistering one port again and again: each name's watch on the
    // port goes with the name, so the port's 64 watch slots never fill.
    int64_t cycled = tern_sys_port_create(1);
    char cycle_name[64];
    make_name(cycle_name, sizeof(cycle_name), "cycle");
    int cycles = 0;
    int64_t cycle_error = 0;
    for (; cycles < 70; ++cycles) {
        // register_name sends its own copy of the handle each time.
        if (auto r = register_name(cycle_name, tern_handle_t(cycled)); r.is_error()) {
            cycle_error = -1000 - code(r.error());
            break;
        }
        msg = request(name::Unregister::kLabel, cycle_name, uint32_t(__builtin_strlen(cycle_name)));
        if (int64_t r = raw_call(names, msg); r != 0 || msg.hdr.label != 0) {
            cycle_error = r != 0 ? -2000 + r : -3000 - int64_t(msg.hdr.label);
            break;
        }
    }
    if (cycles != 70)
        tern::println("servertest: cycle {} failed: {}", cycles, cycle_error);
    check(cycles == 70, "name_register_unregister_70_times", cycles);
    (void)tern_sys_handle_close(uint64_t(cycled));

    auto proc_port = lookup("proc");
    check(proc_port.ok(), "name_server_still_serves");
    if (proc_port.ok())
        (void)tern_sys_handle_close(proc_port.value());
}

void bad_clients_of_proc_bootfs_console() {
    const char* argv[] = {"x", nullptr};
    auto missing = spawn("no_such_program", argv);
    check(missing.is_error() && missing.error() == base::Error::NOT_FOUND, "spawn_missing",
          missing.is_error() ? code(missing.error()) : 0);
    auto corrupt = spawn("/etc/motd", argv);
    check(corrupt.is_error() && corrupt.error() == base::Error::CORRUPT, "spawn_corrupt_elf",
          corrupt.is_error() ? code(corrupt.error()) : 0);

    tern_msg msg = request(proc::Spawn::kLabel, "true", 5);
    msg.words[0] = 5; // argc 5, but only the path follows
    check(raw_call(proc_server(), msg) == 0 && msg.hdr.label == TERN_INVALID_ARGUMENT,
          "spawn_badly_packed", msg.hdr.label);

    uint64_t init_pid = (uint64_t(tern_sys_node_id()) << 32) | 1;
    auto w = wait(init_pid);
    check(w.is_error() && w.error() == base::Error::NOT_OWNER, "wait_not_a_child",
          w.is_error() ? code(w.error()) : 0);
    auto bad_status = kill((uint64_t(tern_sys_node_id()) << 32) | 0xFFFFFF, 300);
    check(bad_status.is_error() && bad_status.error() == base::Error::INVALID_ARGUMENT,
          "kill_status_out_of_range", bad_status.is_error() ? code(bad_status.error()) : 0);
    auto k = kill((uint64_t(tern_sys_node_id()) << 32) | 0xFFFFFF);
    check(k.is_error() && k.error() == base::Error::NOT_FOUND, "kill_no_such_process",
          k.is_error() ? code(k.error()) : 0);
    auto unknown_flags = proto::call<proc::Kill>(proc_server(), {tern::pid(), 0, 0x80});
    check(unknown_flags.is_error() && unknown_flags.error() == base::Error::INVALID_ARGUMENT,
          "kill_unknown_flags_refused", unknown_flags.is_error() ? code(unknown_flags.error()) : 0);
    k = kill(init_pid);
    check(k.is_error() && k.error() == base::Error::ACCESS_DENIED, "kill_init_refused",
          k.is_error() ? code(k.error()) : 0);
    k = kill(init_pid + 1); // the name server
    check(k.is_error() && k.error() == base::Error::ACCESS_DENIED, "kill_core_server_refused",
          k.is_error() ? code(k.error()) : 0);

    // Children on other nodes. This node runs alone (no bus), so no other node is a member.
    uint32_t node = uint32_t(tern_sys_node_id());
    SpawnExtras here;
    here.node = node; // this node's own id: an ordinary local spawn
    auto local = spawn("true", argv, nullptr, here);
    auto local_status = local.ok() ? wait(local.value()) : base::Result<int64_t>(local.error());
    check(local.ok() && (local.value() >> 32) == node && local_status.ok()
              && local_status.value() == 0,
          "spawn_on_own_node_is_local", local_status.is_error() ? code(local_status.error()) : 0);
    SpawnExtras elsewhere;
    elsewhere.node = node + 8;
    auto remote = spawn("true", argv, nullptr, elsewhere);
    check(remote.is_error() && remote.error() == base::Error::OUT_OF_RANGE, "spawn_on_no_such_node",
          remote.is_error() ? code(remote.error()) : 0);
    uint64_t other_pid = (uint64_t(node + 8) << 32) | 20;
    k = kill(other_pid);
    check(k.is_error() && k.error() == base::Error::OUT_OF_RANGE, "kill_on_no_such_node",
          k.is_error() ? code(k.error()) : 0);
    // RemoteSpawn and RemoteWait come only from other nodes' proc servers, through the
    // bus's port of proc's: from a local program, whatever they say, they are refused.
    msg = request(proc::RemoteSpawn::kLabel, "true", 5);
    proc::RemoteSpawnRequest own_parent = {tern::pid(), 0, 0, {}, 0};
    __builtin_memcpy(msg.words, &own_parent, sizeof(own_parent));
    check(raw_call(proc_server(), msg) == 0 && msg.hdr.label == TERN_ACCESS_DENIED,
          "remote_spawn_from_a_local_program_refused", msg.hdr.label);
    msg = request(proc::RemoteSpawn::kLabel, "true", 5);
    proc::RemoteSpawnRequest other_parent = {other_pid, 0, 0, {}, 0};
    __builtin_memcpy(msg.words, &other_parent, sizeof(other_parent));
    check(raw_call(proc_server(), msg) == 0 && msg.hdr.label == TERN_ACCESS_DENIED,
          "remote_spawn_for_another_node_from_a_local_program_refused", msg.hdr.label);
    auto remote_wait = proto::call<proc::RemoteWait>(proc_server(), {other_pid, init_pid});
    check(remote_wait.is_error() && remote_wait.error() == base::Error::ACCESS_DENIED,
          "remote_wait_from_a_local_program_refused",
          remote_wait.is_error() ? code(remote_wait.error()) : 0);
    // Nor may it give a child proc's port for the bus (init alone may).
    SpawnExtras with_bus_port;
    with_bus_port.bus_port = true;
    auto bus_child = spawn("true", argv, nullptr, with_bus_port);
    check(bus_child.is_error() && bus_child.error() == base::Error::ACCESS_DENIED,
          "spawn_with_the_bus_port_refused", bus_child.is_error() ? code(bus_child.error()) : 0);

    // Only init adopts processes.
    proto::CallParts adopt_parts;
    tern_handle_t self_copy = tern_handle_t(tern_sys_handle_duplicate(self(), TERN_RIGHTS_SAME));
    adopt_parts.in_handles = {&self_copy, 1};
    auto adopted = proto::call<proc::Adopt>(proc_server(), {init_pid + 9}, adopt_parts);
    check(adopted.is_error() && adopted.error() == base::Error::ACCESS_DENIED,
          "adopt_refused_from_others", adopted.is_error() ? code(adopted.error()) : 0);

    auto bootfs = lookup("bootfs");
    check(bootfs.ok(), "bootfs_lookup");
    if (bootfs.ok()) {
        proto::CallParts parts;
        parts.in_data = {reinterpret_cast<const uint8_t*>("/no/such"), 8};
        tern_handle_t h = TERN_INVALID_HANDLE;
        uint32_t n = 0;
        parts.out_handles = &h;
        parts.out_handle_count = &n;
        auto r = proto::call<tern::bootfs::Map>(bootfs.value(), {}, parts);
        check(r.is_error() && r.error() == base::Error::NOT_FOUND, "bootfs_map_missing");
        parts.in_data = {reinterpret_cast<const uint8_t*>("/bin"), 4};
        r = proto::call<tern::bootfs::Map>(bootfs.value(), {}, parts);
        check(r.is_error() && r.error() == base::Error::INVALID_ARGUMENT, "bootfs_map_directory");
        parts.in_data = {reinterpret_cast<const uint8_t*>("/bin/true"), 9};
        auto st = proto::call<tern::bootfs::Stat>(bootfs.value(), {}, parts);
        check(st.ok() && st.value().size > 0 && st.value().is_directory == 0, "bootfs_stat");

        // Bad input: an unknown operation, a path over the limit, garbage paths. Each is
        // answered with an error (and logged by the server), and it goes on serving.
        msg = request(99);
        check(raw_call(bootfs.value(), msg) == 0 && msg.hdr.label == TERN_NOT_SUPPORTED,
              "bootfs_unknown_op", msg.hdr.label);
        static char long_path[tern::bootfs::kMaxPath + 2];
        for (char& c : long_path)
            c = 'a';
        long_path[0] = '/';
        msg = request(tern::bootfs::Stat::kLabel, long_path, sizeof(long_path));
        check(raw_call(bootfs.value(), msg) == 0 && msg.hdr.label == TERN_TOO_BIG,
              "bootfs_oversized_path", msg.hdr.label);
        static const char kNul[] = {'/', 'b', 'i', 'n', '\0', 't', 'r', 'u', 'e'};
        parts.in_data = {reinterpret_cast<const uint8_t*>(kNul), sizeof(kNul)};
        r = proto::call<tern::bootfs::Map>(bootfs.value(), {}, parts);
        check(r.is_error() && r.error() == base::Error::INVALID_ARGUMENT, "bootfs_path_with_nul",
              r.is_error() ? code(r.error()) : 0);
        static const char* const kGarbage[] = {"\xff\xfe\x01", "../../../etc/init.conf", "///",
                                               "bin/../bin/true/", "\x1b[2J"};
        for (const char* g : kGarbage) {
            parts.in_data = {reinterpret_cast<const uint8_t*>(g), base::StringView(g).length()};
            r = proto::call<tern::bootfs::Map>(bootfs.value(), {}, parts);
            check(r.is_error()
                      && (r.error() == base::Error::NOT_FOUND
                          || r.error() == base::Error::INVALID_ARGUMENT),
                  "bootfs_garbage_path_refused", r.is_error() ? code(r.error()) : 0);
        }
        parts.in_data = {reinterpret_cast<const uint8_t*>("/bin/true"), 9};
        st = proto::call<tern::bootfs::Stat>(bootfs.value(), {}, parts);
        check(st.ok() && st.value().size > 0, "bootfs_still_serving");
        (void)tern_sys_handle_close(bootfs.value());
    }

    auto console = lookup("console");
    check(console.ok(), "console_lookup");
    if (console.ok()) {
        static char big[5000];
        msg = request(tern::console::Write::kLabel, big, sizeof(big));
        check(raw_call(console.value(), msg) == 0 && msg.hdr.label == TERN_TOO_BIG,
              "console_oversized_write", msg.hdr.label);
        msg = request(99);
        check(raw_call(console.value(), msg) == 0 && msg.hdr.label == TERN_NOT_SUPPORTED,
              "console_unknown_op", msg.hdr.label);
        static const char kStill[] = "servertest: console still serving\n";
        msg = request(tern::console::Write::kLabel, kStill, sizeof(kStill) - 1);
        check(raw_call(console.value(), msg) == 0 && msg.hdr.label == 0, "console_still_serving",
              msg.hdr.label);
        // Only a process's parent makes it the foreground (Ctrl-C ends it and its
        // descendants), and only that parent clears it: the shell set us.
        uint64_t init_pid = (uint64_t(tern_sys_node_id()) << 32) | 1;
        auto others = proto::call<tern::console::SetForeground>(console.value(), {init_pid});
        check(others.is_error() && others.error() == base::Error::ACCESS_DENIED,
              "console_foreground_of_a_stranger_refused",
              others.is_error() ? code(others.error()) : 0);
        auto clear = proto::call<tern::console::SetForeground>(console.value(), {0});
        check(clear.is_error() && clear.error() == base::Error::ACCESS_DENIED,
              "console_foreground_cleared_only_by_its_setter",
              clear.is_error() ? code(clear.error()) : 0);
        (void)tern_sys_handle_close(console.value());
    }
}

// ---- proc Fork ---------------------------------------------------------------------------

static_assert(TERN_SYS_task_exit == 3, "the child below exits with syscall 3");
asm(R"(
    .text
    .globl servertest_fork_child
    .type servertest_fork_child, @function
servertest_fork_child:
    movl $42, %edi
    movl $3, %eax
    syscall
    ud2
    .size servertest_fork_child, . - servertest_fork_child
)");
extern "C" void servertest_fork_child();

alignas(16) uint8_t g_fork_stack[4096];

// A clone of this program (task_clone) made its child process with proc Fork: listed with
// its parent, waited for with its status, killable like a spawned child.
void forked_children() {
    auto clone = [](uint64_t* thread) {
        return tern_sys_task_clone(tern::self(), reinterpret_cast<uint64_t>(&servertest_fork_child),
                                   reinterpret_cast<uint64_t>(g_fork_stack + sizeof(g_fork_stack)),
                                   0, reinterpret_cast<uint64_t>(thread));
    };
    uint64_t thread = 0;
    int64_t task = clone(&thread);
    check(task >= 0, "fork: task_clone", task);
    if (task < 0)
        return;
    int64_t copy = tern_sys_handle_duplicate(uint64_t(task), TERN_RIGHTS_SAME);
    tern_handle_t handles[1] = {tern_handle_t(copy)};
    proto::CallParts parts;
    parts.in_handles = {handles, 1};
    auto forked = proto::call<proc::Fork>(proc_server(), {}, parts);
    check(forked.ok(), "fork: proc adopts the clone", forked.ok() ? 0 : code(forked.error()));
    if (forked.is_error())
        return;
    uint64_t child = forked.value().pid;
    check(child >> 32 == tern::pid() >> 32 && child != tern::pid(), "fork: a pid of this node",
          int64_t(child));
    // The same task again, from its parent: it is that child already, and the answer is
    // its pid again (a fork whose first call a signal cut short asks twice).
    int64_t again = tern_sys_handle_duplicate(uint64_t(task), TERN_RIGHTS_SAME);
    handles[0] = tern_handle_t(again);
    auto twice = proto::call<proc::Fork>(proc_server(), {}, parts);
    check(twice.ok() && twice.value().pid == child,
          "fork: a second Fork of the same child answers its pid",
          twice.ok() ? int64_t(twice.value().pid) : code(twice.error()));
    // A handle that could not end the task is refused.
    int64_t weak = tern_sys_handle_duplicate(uint64_t(task), TERN_RIGHT_READ | TERN_RIGHT_TRANSFER);
    handles[0] = tern_handle_t(weak);
    auto powerless = proto::call<proc::Fork>(proc_server(), {}, parts);
    check(powerless.is_error() && powerless.error() == base::Error::ACCESS_DENIED,
          "fork: a task handle without CONTROL is ACCESS_DENIED",
          powerless.ok() ? 0 : code(powerless.error()));
    auto none = proto::call<proc::Fork>(proc_server(), {});
    check(none.is_error() && none.error() == base::Error::INVALID_ARGUMENT,
          "fork: no task is INVALID_ARGUMENT", none.ok() ? 0 : code(none.error()));
    // Listed, with this program as its parent and its name.
    static uint8_t list[proc::kMaxProcesses * sizeof(proc::ProcessInfo)];
    uint32_t size = 0;
    proto::CallParts list_parts;
    list_parts.out_data = {list, sizeof(list)};
    list_parts.out_data_size = &size;
    auto listed = proto::call<proc::List>(proc_server(), {}, list_parts);
    bool found = false;
    for (uint32_t i = 0; listed.ok() && i < listed.value().count; ++i) {
        proc::ProcessInfo info;
        __builtin_memcpy(&info, list + i * sizeof(info), sizeof(info));
        if (info.pid == child)
            found = info.parent == tern::pid() && info.state == proc::kStateRunning
                    && base::StringView(info.name) == base::StringView("servertest");
    }
    check(found, "fork: ps lists the child under its parent");
    check(tern_sys_thread_resume(thread) == 0, "fork: the child starts");
    (void)tern_sys_handle_close(thread);
    (void)tern_sys_handle_close(uint64_t(task));
    auto waited = proto::call<proc::Wait>(proc_server(), {child, 0});
    check(waited.ok() && waited.value().pid == child && waited.value().status == 42,
          "fork: wait reports the child's exit status",
          waited.ok() ? waited.value().status : code(waited.error()));

    // A forked child killed through proc ends with the killer's status.
    task = clone(&thread);
    if (task < 0)
        return;
    handles[0] = tern_handle_t(task); // the handle goes to proc
    forked = proto::call<proc::Fork>(proc_server(), {}, parts);
    check(forked.ok(), "fork: a second child", forked.ok() ? 0 : code(forked.error()));
    if (forked.ok()) {
        child = forked.value().pid;
        auto killed = proto::call<proc::Kill>(proc_server(), {child, 137, 0});
        check(killed.ok(), "fork: kill the child", killed.ok() ? 0 : code(killed.error()));
        waited = proto::call<proc::Wait>(proc_server(), {child, 0});
        check(waited.ok() && waited.value().status == 137, "fork: a killed child's status",
              waited.ok() ? waited.value().status : code(waited.error()));
    }
    (void)tern_sys_handle_close(thread);
}

// The ipc server: requests before Hello, a Hello without the caller's task, semops that
// are not whole operations or too many, unknown kinds; refused or answered EINVAL, and it
// goes on serving.
void bad_clients_of_the_ipc_server() {
    auto server = lookup("ipc", true, 5000000000ull);
    check(server.ok(), "ipc_lookup", server.ok() ? 0 : code(server.error()));
    if (!server.ok())
        return;
    tern_handle_t s = server.value();
    tern_msg msg = request(99);
    check(raw_call(s, msg) == 0 && msg.hdr.label == TERN_NOT_SUPPORTED, "ipc_unknown_op",
          msg.hdr.label);
    ipc::GetRequest get = {ipc::kMsg, ipc::kIpcPrivate, 0600, 0, 0};
    auto early = proto::call<ipc::Get>(s, get);
    check(early.is_error() && early.error() == base::Error::INVALID_ARGUMENT,
          "ipc_get_before_hello", early.is_error() ? code(early.error()) : 0);
    auto no_task = proto::call<ipc::Hello>(s, {1, 0, 0});
    check(no_task.is_error() && no_task.error() == base::Error::INVALID_ARGUMENT,
          "ipc_hello_without_task", no_task.is_error() ? code(no_task.error()) : 0);
    tern_handle_t task[1] = {tern_handle_t(tern_sys_handle_duplicate(self(), TERN_RIGHT_TRANSFER))};
    proto::CallParts parts;
    parts.in_handles = {task, 1};
    auto hello = proto::call<ipc::Hello>(s, {uint32_t(g_serial), 0, 0}, parts);
    check(hello.ok(), "ipc_hello", hello.ok() ? 0 : code(hello.error()));
    static uint8_t ops[(ipc::kSemOpm + 1) * sizeof(ipc::SemOp)];
    ipc::SemOpRequest op = {1, 0, ipc::kForever, {}};
    msg = request(ipc::SemOperate::kLabel, ops, 7);
    __builtin_memcpy(msg.words, &op, sizeof(op));
    check(raw_call(s, msg) == 0 && msg.hdr.label == TERN_INVALID_ARGUMENT,
          "ipc_semop_partial_operation", msg.hdr.label);
    msg = request(ipc::SemOperate::kLabel, ops, sizeof(ops));
    __builtin_memcpy(msg.words, &op, sizeof(op));
    check(raw_call(s, msg) == 0 && msg.hdr.label == TERN_TOO_BIG, "ipc_semop_too_many",
          msg.hdr.label);
    ipc::SemOpRequest both = {1, 1, ipc::kForever, {}};
    msg = request(ipc::SemOperate::kLabel, ops, sizeof(ipc::SemOp));
    __builtin_memcpy(msg.words, &both, sizeof(both));
    check(raw_call(s, msg) == 0 && msg.hdr.label == TERN_INVALID_ARGUMENT, "ipc_semop_two_lists",
          msg.hdr.label);
    auto crammed = proto::call<ipc::SemOperate>(s, {1, ipc::kSemOpsInline + 1, ipc::kForever, {}});
    check(crammed.is_error() && crammed.error() == base::Error::INVALID_ARGUMENT,
          "ipc_semop_inline_too_many", crammed.is_error() ? code(crammed.error()) : 0);
    auto kind = proto::call<ipc::Get>(s, {9, 5, ipc::kIpcCreat, 0, 0});
    check(kind.ok() && kind.value().error == ipc::kEINVAL, "ipc_get_unknown_kind");
    static uint8_t control_out[ipc::kControlData];
    proto::CallParts control_parts;
    control_parts.out_data = {control_out, sizeof(control_out)};
    auto control = proto::call<ipc::Control>(s, {9, 0, ipc::kIpcStat, 0, 0}, control_parts);
    check(control.ok() && control.value().error == ipc::kEINVAL, "ipc_control_unknown_kind",
          control.ok() ? control.value().error : code(control.error()));
    auto attach = proto::call<ipc::Attach>(s, {-5, 0});
    check(attach.ok() && attach.value().error == ipc::kEINVAL, "ipc_attach_bad_id");
    auto made = proto::call<ipc::Get>(s, get);
    check(made.ok() && made.value().error == 0 && made.value().id > 0, "ipc_still_serving");
    if (made.ok() && made.value().error == 0)
        (void)proto::call<ipc::Control>(s, {ipc::kMsg, made.value().id, ipc::kIpcRmid, 0, 0},
                                        control_parts);
    (void)tern_sys_handle_close(s);
}

} // namespace

extern "C" int main(uint64_t) {
    if (argc() == 3) {
        base::StringView mode(argv()[1]);
        if (mode == "client")
            return child_client(argv()[2]);
        if (mode == "hang")
            return child_hang(argv()[2]);
        if (mode == "register")
            return child_register(argv()[2]);
        if (mode == "alias")
            return child_alias(argv()[2]);
    }
    if (argc() == 2 && base::StringView(argv()[1]) == "readers")
        return abandoned_readers();
    if (argc() > 1) {
        tern::println("usage: servertest [readers | client|hang|register|alias <name>]");
        return 2;
    }
    g_serial = pid() & 0xFFFFFFFFu;
    names_and_calls_across_processes();
    bad_clients_of_the_name_server();
    bad_clients_of_proc_bootfs_console();
    forked_children();
    bad_clients_of_the_ipc_server();
    tern::println("servertest: {} checks, {} failures", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
