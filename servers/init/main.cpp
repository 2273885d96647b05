// init: the first task. It starts the core servers from the boot file system archive
// itself (name, bootfs, proc: every other start goes through proc, which needs them),
// hands them to proc's process table, then starts the drivers /etc/init.conf lists
// (straight from the archive too, each waited for until it has registered its name), then
// the services it lists, and restarts those that end when their policy says so, logging
// why and when each time.
#include <base/string_view.h>
#include <base/utility.h>
#include <lib/ustar.h>
#include <servers/init/portable/config.h>
#include <servers/init/portable/drivers_table.h>
#include <tern/abi/message.h>
#include <tern/print.h>
#include <tern/process.h>
#include <tern/protocols/pci.h>
#include <tern/protocols/proc.h>
#include <tern/runtime.h>
#include <tern/services.h>
#include <tern/spawn.h>
#include <tern/syscall_result.h>

using namespace tern;

namespace {

constexpr uint64_t kPage = 4096;
// The services of /etc/init.conf, then the PCI drivers /etc/drivers.conf matches.
constexpr size_t kMaxServices = initconf::kMaxServices + 8;
constexpr uint32_t kReadyLabel = 1;
constexpr uint64_t kSecondNs = 1000000000ull;
// Serials below proc's first (16) belong to init and the processes it starts itself: the
// core servers (2..4) and the drivers (from 5).
constexpr uint64_t kFirstDriverSerial = 5;
constexpr uint64_t kLastDriverSerial = 15;
constexpr uint64_t kDriverWaitNs = 5 * kSecondNs;

// The restart policy of a `restart` service. It is started again at once after it ends,
// unless it has ended kBurstEnds times within kBurstWindowNs: then init waits, first
// kFirstBackoffNs and twice as long after each further end in such a burst, up to
// kMaxBackoffNs, and starts it again. init never gives up on a service: a shell that the
// user leaves again and again must still come back. A start that fails counts as an end
// and is tried again after kRetryDelayNs at the least.
constexpr size_t kBurstEnds = 6;
constexpr uint64_t kBurstWindowNs = 60 * kSecondNs;
constexpr uint64_t kFirstBackoffNs = 1 * kSecondNs;
constexpr uint64_t kMaxBackoffNs = 30 * kSecondNs;
constexpr uint64_t kRetryDelayNs = 1 * kSecondNs;

struct Service : initconf::ServiceSpec {
    bool pci_device = false; // a PCI driver: claims `address` before each start
    pci::Address address = {};
    uint64_t pid = 0;
    tern_handle_t task = TERN_INVALID_HANDLE;
    // When the service last ended (or failed to start), the newest kBurstEnds of them in a
    // ring: ends[next_end] is the oldest once end_count reaches kBurstEnds.
    uint64_t ends[kBurstEnds] = {};
    size_t end_count = 0;
    size_t next_end = 0;
    uint64_t backoff = kFirstBackoffNs; // the wait after the next end in a burst
    uint64_t retry_at = 0;              // when the service is started again (0: not pending)
};

struct State {
    tern_handle_t port = TERN_INVALID_HANDLE;
    uint64_t node = 0;
    ::ustar::Archive archive;
    Service services[kMaxServices];
    size_t service_count = 0;
    tern_handle_t proc = TERN_INVALID_HANDLE;
    tern_handle_t names = TERN_INVALID_HANDLE;
    uint64_t next_driver_serial = kFirstDriverSerial;
    tern_handle_t pci = TERN_INVALID_HANDLE; // the PCI bus server, once it is up
};

State g_state;

[[noreturn]] void fail(const char* what, base::Error e) {
    tern::println("init: {}: {}; the system cannot come up", what, base::error_name(e));
    // init must not exit: the kernel has nothing else to run. Sleep so the log stays.
    for (;;)
        tern_sys_thread_sleep(~0ull);
}

uint64_t pid_of(uint64_t serial) { return (g_state.node << 32) | serial; }

// The archive module from the bootstrap port; every other module handle is closed.
struct ArchiveModule {
    tern_handle_t memory = TERN_INVALID_HANDLE;
    uint64_t offset = 0;
    uint64_t size = 0;
    const uint8_t* bytes = nullptr;
};

ArchiveModule receive_archive() {
    ArchiveModule module;
    for (;;) {
        char name[64];
        tern_msg msg = {};
        msg.data = reinterpret_cast<uint64_t>(name);
        msg.data_capacity = sizeof(name);
        int64_t r = tern_sys_port_receive(TERN_HANDLE_BOOTSTRAP, reinterpret_cast<uint64_t>(&msg),
                                          TERN_TIMEOUT_NONE);
        if (r == -TERN_WOULD_BLOCK)
            break;
        if (r < 0)
            fail("reading the boot modules", tern::sys_status(r));
        if (msg.hdr.label != TERN_LABEL_BOOT_MODULE || msg.hdr.handle_count != 1)
            continue;
        if (base::StringView(name, msg.hdr.data_size) == base::StringView("bootfs")
            && module.memory == TERN_INVALID_HANDLE) {
            module.memory = msg.handles[0];
            module.size = msg.words[0];
            module.offset = msg.words[1];
        } else {
            (void)tern_sys_handle_close(msg.handles[0]);
        }
    }
    if (module.memory == TERN_INVALID_HANDLE)
        fail("no 'bootfs' boot module", base::Error::NOT_FOUND);
    int64_t at =
        tern_sys_vm_map_memory(TERN_HANDLE_SELF, module.memory, 0, 0,
                               base::align_up(module.offset + module.size, kPage), TERN_PROT_READ);
    if (at < 0)
        fail("mapping the boot file system", tern::sys_status(at));
    module.bytes = reinterpret_cast<const uint8_t*>(at) + module.offset;
    return module;
}

base::Span<const uint8_t> program(base::StringView path) {
    const ::ustar::Entry* e = g_state.archive.find(path);
    if (!e || e->is_directory)
        fail("a core server is missing from the boot file system", base::Error::NOT_FOUND);
    return e->data;
}

tern_handle_t duplicate(tern_handle_t h, tern_rights_t rights) {
    int64_t r = tern_sys_handle_duplicate(h, rights);
    if (r < 0)
        fail("duplicating a handle", tern::sys_status(r));
    return tern_handle_t(r);
}

constexpr tern_rights_t kSendRights = TERN_RIGHT_SEND | TERN_RIGHT_TRANSFER | TERN_RIGHT_DUPLICATE;

// Starts a core server straight from the archive.
tern_handle_t start_core(const char* path, uint64_t serial, const char* const* argv,
                         SpawnOptions& options) {
    options.name = base::StringView(path).substr(5); // after "/bin/"
    options.argv = argv;
    options.pid = pid_of(serial);
    auto spawned = spawn_image(program(path), options);
    if (spawned.is_error())
        fail(path, spawned.error());
    (void)tern_sys_handle_close(spawned.value().thread);
    tern::println("init: started {} ({:#x})", base::StringView(path), options.pid);
    return spawned.value().task;
}

// proc knows about init and the core servers only from here.
void adopt(tern_handle_t task, uint64_t serial, const char* name) {
    tern_handle_t h = duplicate(task, TERN_RIGHT_CONTROL | TERN_RIGHT_READ | TERN_RIGHT_TRANSFER
                                          | TERN_RIGHT_DUPLICATE);
    proto::CallParts parts;
    parts.in_data = {reinterpret_cast<const uint8_t*>(name), __builtin_strlen(name)};
    parts.in_handles = {&h, 1};
    auto r = proto::call<proc::Adopt>(g_state.proc, {pid_of(serial)}, parts);
    if (r.is_error())
        (void)tern_sys_handle_close(h); // still ours when the call failed before sending
    if (r.is_error())
        tern::println("init: proc did not adopt {}: {}", base::StringView(name),
                      base::error_name(r.error()));
}

// ---- /etc/init.conf ---------------------------------------------------------------------

void read_config() {
    const ::ustar::Entry* e = g_state.archive.find("etc/init.conf");
    if (!e) {
        tern::println("init: no /etc/init.conf; only the core servers run");
        return;
    }
    base::StringView text(reinterpret_cast<const char*>(e->data.data()), e->data.size());
    g_state.service_count = initconf::parse_config(
        text, [](size_t i) -> initconf::ServiceSpec& { return g_state.services[i]; },
        [](size_t line, const char* what) {
            tern::println("init: /etc/init.conf:{}: {}", line, what);
        });
}

uint64_t now() { return uint64_t(tern_sys_clock_monotonic()); }

// Records that the service ended (or failed to start) at `at`; returns how many of its
// ends fell within the last kBurstWindowNs, this one included (at most kBurstEnds).
size_t record_end(Service& s, uint64_t at) {
    s.ends[s.next_end] = at;
    s.next_end = (s.next_end + 1) % kBurstEnds;
    if (s.end_count < kBurstEnds)
        ++s.end_count;
    size_t recent = 0;
    for (size_t i = 0; i < s.end_count; ++i)
        recent += at - s.ends[i] < kBurstWindowNs ? 1 : 0;
    return recent;
}

// How long to wait before the service runs again after an end that made `recent` ends
// within the window: nothing (or minimum) outside a burst, the backoff inside one, which
// then doubles for the next end.
uint64_t restart_delay(Service& s, size_t recent, uint64_t minimum) {
    if (recent < kBurstEnds) {
        s.backoff = kFirstBackoffNs;
        return minimum;
    }
    uint64_t delay = base::max(s.backoff, minimum);
    s.backoff = base::min(s.backoff * 2, kMaxBackoffNs);
    return delay;
}

// Starts a driver straight from the archive, as init starts the core servers, and waits
// until it has registered its name (the service's name), so the services that use it find
// it, and it registers while system names are still open (proc vouches only for the
// services it starts). A driver is never restarted: like a core server it holds state no
// restart could bring back (a device mid-operation), and it cannot be killed; its end is
// logged.
void start_driver(Service& s) {
    if (g_state.next_driver_serial > kLastDriverSerial) {
        tern::println("init: no pid left for driver {}; not started", base::StringView(s.name));
        return;
    }
    const ::ustar::Entry* e = g_state.archive.find(s.program);
    if (!e || e->is_directory) {
        tern::println("init: driver {}: no program {}", base::StringView(s.name),
                      base::StringView(s.program));
        return;
    }
    uint64_t serial = g_state.next_driver_serial++;
    SpawnOptions options;
    options.name = base::StringView(s.name);
    options.argv = s.argv;
    options.pid = pid_of(serial);
    options.handles[options.handle_count++] = {TERN_STARTUP_NAME_SERVER, g_state.names,
                                               kSendRights};
    if (s.serial) {
        // The COM1 I/O ports and interrupt line, as a `+serial` service gets them.
        options.handles[options.handle_count++] = {TERN_STARTUP_PRIVATE,
                                                   TERN_HANDLE_IOPORT_RESOURCE, TERN_RIGHTS_SAME};
        options.handles[options.handle_count++] = {TERN_STARTUP_PRIVATE + 1,
                                                   TERN_HANDLE_IRQ_RESOURCE, TERN_RIGHTS_SAME};
    }
    if (s.pci && !s.serial) {
        // Every device resource: the bus server hands each driver its part of them.
        options.handles[options.handle_count++] = {TERN_STARTUP_PRIVATE,
                                                   TERN_HANDLE_IOPORT_RESOURCE, TERN_RIGHTS_SAME};
        options.handles[options.handle_count++] = {TERN_STARTUP_PRIVATE + 1,
                                                   TERN_HANDLE_IRQ_RESOURCE, TERN_RIGHTS_SAME};
        options.handles[options.handle_count++] = {TERN_STARTUP_PRIVATE + 2,
                                                   TERN_HANDLE_MMIO_RESOURCE, TERN_RIGHTS_SAME};
        options.handles[options.handle_count++] = {TERN_STARTUP_PRIVATE + 3,
                                                   TERN_HANDLE_MSI_RESOURCE, TERN_RIGHTS_SAME};
    }
    auto spawned = spawn_image(e->data, options);
    if (spawned.is_error()) {
        tern::println("init: starting driver {} ({}) failed: {}", base::StringView(s.name),
                      base::StringView(s.program), base::error_name(spawned.error()));
        return;
    }
    (void)tern_sys_handle_close(spawned.value().thread);
    tern_handle_t task = spawned.value().task;
    tern::println("init: started {} ({:#x})", base::StringView(s.name), options.pid);
    adopt(task, serial, s.name);
    (void)tern_sys_object_watch(task, g_state.port, 1000 + serial);
    s.pid = options.pid;
    auto port = lookup(s.name, true, kDriverWaitNs);
    if (port.is_error()) {
        tern::println("init: driver {} did not register: {}", base::StringView(s.name),
                      base::error_name(port.error()));
        return;
    }
    (void)tern_sys_handle_close(port.value());
}

// ---- PCI drivers (/etc/drivers.conf) ----------------------------------------------------

// A device port for the function at `address`, from the bus server.
base::Result<tern_handle_t> claim(pci::Address address) {
    if (g_state.pci == TERN_INVALID_HANDLE)
        return base::Error::NOT_FOUND;
    tern_handle_t device = TERN_INVALID_HANDLE;
    uint32_t count = 0;
    proto::CallParts parts;
    parts.out_handles = &device;
    parts.out_handle_count = &count;
    TRY(proto::call<pci::Claim>(g_state.pci, {address}, parts, 5 * kSecondNs));
    if (count != 1)
        return base::Error::CORRUPT;
    return device;
}

void start_service(size_t index);

// Lists the PCI functions and starts the driver the table names for each, as a `restart`
// service. Functions without a driver are named once, in one line.
void start_pci_drivers() {
    auto bus = lookup("pci");
    if (bus.is_error()) {
        tern::println("init: no PCI bus server ({}); no PCI drivers started",
                      base::error_name(bus.error()));
        return;
    }
    g_state.pci = bus.value();
    tern_handle_t self = duplicate(TERN_HANDLE_SELF, TERN_RIGHT_READ | TERN_RIGHT_TRANSFER);
    proto::CallParts trust_parts;
    trust_parts.in_handles = {&self, 1};
    if (auto r = proto::call<pci::Trust>(g_state.pci, {}, trust_parts, 5 * kSecondNs);
        r.is_error()) {
        tern::println("init: the PCI bus server does not trust init: {}",
                      base::error_name(r.error()));
        return;
    }
    static pci::DeviceInfo infos[pci::kMaxDevices];
    uint32_t size = 0;
    proto::CallParts list_parts;
    list_parts.out_data = {reinterpret_cast<uint8_t*>(infos), sizeof(infos)};
    list_parts.out_data_size = &size;
    auto listed = proto::call<pci::List>(g_state.pci, {}, list_parts, 5 * kSecondNs);
    if (listed.is_error() || size != listed.value().count * sizeof(pci::DeviceInfo)) {
        tern::println("init: listing PCI functions failed: {}",
                      base::error_name(listed.is_error() ? listed.error() : base::Error::CORRUPT));
        return;
    }
    static initconf::DriverTable table;
    if (const ::ustar::Entry* e = g_state.archive.find("etc/drivers.conf")) {
        base::StringView text(reinterpret_cast<const char*>(e->data.data()), e->data.size());
        initconf::parse_driver_table(text, table, [](size_t line, const char* what) {
            tern::println("init: /etc/drivers.conf:{}: {}", line, what);
        });
    }
    char unmatched[512];
    base::BufferSink sink(unmatched, sizeof(unmatched));
    size_t unmatched_count = 0;
    for (uint32_t i = 0; i < listed.value().count; ++i) {
        const pci::DeviceInfo& d = infos[i];
        const initconf::DriverRule* match =
            table.match(d.vendor_id, d.device_id, d.class_code, d.subclass);
        if (!match) {
            base::format_to(sink, "{}{:02x}:{:02x}.{} {:04x}:{:04x}",
                            base::StringView(unmatched_count ? ", " : ""), d.address.bus,
                            d.address.device, d.address.function, d.vendor_id, d.device_id);
            ++unmatched_count;
            continue;
        }
        if (g_state.service_count == kMaxServices) {
            tern::println("init: no room for the driver of PCI {:02x}:{:02x}.{}", d.address.bus,
                          d.address.device, d.address.function);
            continue;
        }
        // The service's line holds its strings: the program, its name, and the function's
        // address as its argument.
        Service& s = g_state.services[g_state.service_count];
        base::StringView program(match->program);
        size_t slash = 0;
        for (size_t k = 0; k < program.size(); ++k)
            if (program[k] == '/')
                slash = k + 1;
        base::StringView base_name = program.substr(slash);
        char address[16];
        base::BufferSink address_sink(address, sizeof(address));
        base::format_to(address_sink, "{:02x}:{:02x}.{}", d.address.bus, d.address.device,
                        d.address.function);
        char* at = s.line;
        auto put = [&at](base::StringView text) {
            char* start = at;
            __builtin_memcpy(at, text.data(), text.size());
            at[text.size()] = '\0';
            at += text.size() + 1;
            return start;
        };
        s.program = put(program);
        s.name = put(base_name);
        s.argv[0] = s.name;
        s.argv[1] = put(address_sink.view());
        s.argv[2] = nullptr;
        s.restart = true;
        s.pci_device = true;
        s.address = d.address;
        start_service(g_state.service_count++);
    }
    if (unmatched_count)
        tern::println("init: PCI functions without a driver: {}", sink.view());
}

// Starts a service through proc and watches it. A start that fails is tried again later
// (retry_at), under the same policy as an end.
void start_service(size_t index) {
    Service& s = g_state.services[index];
    s.retry_at = 0;
    // Startup handles go to TERN_STARTUP_PRIVATE, +1, ... in the order added below.
    tern_handle_t handles[4];
    uint32_t kinds[4] = {TERN_STARTUP_PRIVATE, TERN_STARTUP_PRIVATE + 1, TERN_STARTUP_PRIVATE + 2,
                         TERN_STARTUP_PRIVATE + 3};
    uint32_t count = 0;
    SpawnExtras extras;
    tern_handle_t task = TERN_INVALID_HANDLE;
    extras.task = &task;
    // proc's port for the bus: the network server's alone (docs/bus.md, "Root exports").
    extras.bus_port = s.bus;
    if (s.serial) {
        handles[count++] = duplicate(TERN_HANDLE_IOPORT_RESOURCE, TERN_RIGHTS_SAME);
        handles[count++] = duplicate(TERN_HANDLE_IRQ_RESOURCE, TERN_RIGHTS_SAME);
    }
    if (s.config) {
        // Read access to the boot options (ip=, gw=); CONTROL too with +key, which
        // reads the secret ones (the cluster key).
        handles[count++] = duplicate(TERN_HANDLE_CONFIG, TERN_RIGHT_READ | TERN_RIGHT_DUPLICATE
                                                             | TERN_RIGHT_TRANSFER
                                                             | (s.key ? TERN_RIGHT_CONTROL : 0));
    }
    if (s.rtc) {
        // The CMOS clock's index and data ports and nothing else: the network server
        // reads the time of day from it to number this boot (docs/bus.md).
        int64_t rtc = tern_sys_resource_split(TERN_HANDLE_IOPORT_RESOURCE, 0x70, 2);
        if (rtc < 0)
            tern::println("init: {}: no CMOS clock ports: {}", base::StringView(s.name),
                          base::error_name(tern::sys_status(rtc)));
        else
            handles[count++] = tern_handle_t(rtc);
    }
    if (s.pci_device) {
        // Each start claims the function afresh: the bus server revokes the device port a
        // dead driver held and turns the function's DMA and interrupts off.
        auto device = claim(s.address);
        if (device.is_error()) {
            tern::println("init: {}: claiming PCI {:02x}:{:02x}.{} failed: {}",
                          base::StringView(s.name), s.address.bus, s.address.device,
                          s.address.function, base::error_name(device.error()));
            for (uint32_t i = 0; i < count; ++i)
                (void)tern_sys_handle_close(handles[i]);
            return;
        }
        handles[count++] = device.value();
    }
    extras.handles = handles;
    extras.kinds = kinds;
    extras.handle_count = count;
    auto pid = spawn(s.program, s.argv, nullptr, extras);
    if (pid.is_error()) {
        if (!s.restart) {
            tern::println("init: starting {} ({}) failed: {}", base::StringView(s.name),
                          base::StringView(s.program), base::error_name(pid.error()));
            return;
        }
        uint64_t at = now();
        size_t recent = record_end(s, at);
        uint64_t delay = restart_delay(s, recent, kRetryDelayNs);
        s.retry_at = at + delay;
        tern::println("init: starting {} ({}) failed: {}; next try in {} s",
                      base::StringView(s.name), base::StringView(s.program),
                      base::error_name(pid.error()), delay / kSecondNs);
        return;
    }
    s.pid = pid.value();
    s.task = task;
    if (task == TERN_INVALID_HANDLE || tern_sys_object_watch(task, g_state.port, index) < 0) {
        tern::println("init: cannot watch {}; it will not be restarted", base::StringView(s.name));
        if (task != TERN_INVALID_HANDLE)
            (void)tern_sys_handle_close(task);
        s.task = TERN_INVALID_HANDLE;
        return;
    }
    tern::println("init: started {} ({:#x})", base::StringView(s.name), s.pid);
}

void service_ended(size_t index, int64_t status) {
    Service& s = g_state.services[index];
    (void)tern_sys_handle_close(s.task);
    s.task = TERN_INVALID_HANDLE;
    if (!s.restart) {
        tern::println("init: {} ({:#x}) ended with status {}", base::StringView(s.name), s.pid,
                      status);
        return;
    }
    uint64_t at = now();
    size_t recent = record_end(s, at);
    uint64_t delay = restart_delay(s, recent, 0);
    if (delay == 0) {
        tern::println("init: {} ({:#x}) ended (status {}); restarting it ({} of {} within {} s)",
                      base::StringView(s.name), s.pid, status, recent, kBurstEnds - 1,
                      kBurstWindowNs / kSecondNs);
        start_service(index);
        return;
    }
    s.retry_at = at + delay;
    tern::println("init: {} ({:#x}) ended (status {}) {} times within {} s; next restart in {} s",
                  base::StringView(s.name), s.pid, status, recent, kBurstWindowNs / kSecondNs,
                  delay / kSecondNs);
    if (s.pci_device) {
        // A claim quiesces the function now (bus mastering and interrupts off, the dead
        // driver's pinned DMA memory released) rather than when the restart is due.
        auto device = claim(s.address);
        if (device.is_error())
            tern::println("init: {}: quiescing PCI {:02x}:{:02x}.{} failed: {}",
                          base::StringView(s.name), s.address.bus, s.address.device,
                          s.address.function, base::error_name(device.error()));
        else
            (void)tern_sys_handle_close(device.value());
    }
}

// How long init may sleep before a retry is due (TERN_TIMEOUT_INFINITE: none pending).
uint64_t next_timeout() {
    uint64_t current = now();
    uint64_t timeout = TERN_TIMEOUT_INFINITE;
    for (size_t i = 0; i < g_state.service_count; ++i) {
        uint64_t at = g_state.services[i].retry_at;
        if (at)
            timeout = base::min(timeout, at > current ? at - current : 1);
    }
    return timeout;
}

void run_retries() {
    uint64_t due = now();
    for (size_t i = 0; i < g_state.service_count; ++i)
        if (g_state.services[i].retry_at && g_state.services[i].retry_at <= due)
            start_service(i);
}

} // namespace

extern "C" int main(uint64_t) {
    g_state.node = uint64_t(tern_sys_node_id());
    int64_t port = tern_sys_port_create(16);
    if (port < 0)
        fail("creating init's port", tern::sys_status(port));
    g_state.port = tern_handle_t(port);

    ArchiveModule module = receive_archive();
    if (auto r = g_state.archive.open({module.bytes, module.size}); r.is_error())
        fail("the boot file system archive is unusable", r.error());

    // 1. The name server tells init its port through a message on init's port.
    SpawnOptions name_options;
    name_options.handles[name_options.handle_count++] = {TERN_STARTUP_PRIVATE, g_state.port,
                                                         kSendRights};
    const char* name_argv[] = {"name", nullptr};
    tern_handle_t name_task = start_core("/bin/name", 2, name_argv, name_options);
    tern_msg ready = {};
    int64_t r =
        tern_sys_port_receive(g_state.port, reinterpret_cast<uint64_t>(&ready), 5000000000ull);
    if (r < 0 || ready.hdr.label != kReadyLabel || ready.hdr.handle_count != 1)
        fail("the name server did not start", r < 0 ? tern::sys_status(r) : base::Error::CORRUPT);
    tern_handle_t names = ready.handles[0];
    g_state.names = names;
    set_name_server(names);

    // 2. The boot file system, over the same archive.
    char offset[24], size[24];
    base::BufferSink offset_sink(offset, sizeof(offset)), size_sink(size, sizeof(size));
    base::format_to(offset_sink, "{}", module.offset);
    base::format_to(size_sink, "{}", module.size);
    const char* bootfs_argv[] = {"bootfs", offset, size, nullptr};
    SpawnOptions bootfs_options;
    bootfs_options.handles[bootfs_options.handle_count++] = {TERN_STARTUP_NAME_SERVER, names,
                                                             kSendRights};
    bootfs_options.handles[bootfs_options.handle_count++] = {
        TERN_STARTUP_PRIVATE, module.memory,
        TERN_RIGHT_MAP | TERN_RIGHT_READ | TERN_RIGHT_TRANSFER | TERN_RIGHT_DUPLICATE};
    tern_handle_t bootfs_task = start_core("/bin/bootfs", 3, bootfs_argv, bootfs_options);

    // 3. proc, which starts everything else.
    const char* proc_argv[] = {"proc", nullptr};
    SpawnOptions proc_options;
    proc_options.handles[proc_options.handle_count++] = {TERN_STARTUP_NAME_SERVER, names,
                                                         kSendRights};
    tern_handle_t proc_task = start_core("/bin/proc", 4, proc_argv, proc_options);
    auto proc_port = lookup("proc", true, 5000000000ull);
    if (proc_port.is_error())
        fail("the proc server did not register", proc_port.error());
    g_state.proc = proc_port.value();
    set_proc_server(g_state.proc);
    adopt(TERN_HANDLE_SELF, 1, "init");
    adopt(name_task, 2, "name");
    adopt(bootfs_task, 3, "bootfs");
    adopt(proc_task, 4, "proc");
    // The core servers cannot be restarted: the name server's table and proc's process
    // table would be lost. Their end is logged.
    (void)tern_sys_object_watch(name_task, g_state.port, 1000 + 2);
    (void)tern_sys_object_watch(bootfs_task, g_state.port, 1000 + 3);
    (void)tern_sys_object_watch(proc_task, g_state.port, 1000 + 4);

    // 4. The configured drivers, then the configured services.
    read_config();
    for (size_t i = 0; i < g_state.service_count; ++i)
        if (g_state.services[i].driver)
            start_driver(g_state.services[i]);
    size_t configured = g_state.service_count;
    for (size_t i = 0; i < configured; ++i)
        if (!g_state.services[i].driver)
            start_service(i);
    start_pci_drivers();

    // Only the kernel's death notices are expected here; anything else is dropped whole
    // (its data fits the buffer, its handles are closed).
    static uint8_t scratch[TERN_MSG_MAX_DATA];
    for (;;) {
        tern_msg msg = {};
        msg.data = reinterpret_cast<uint64_t>(scratch);
        msg.data_capacity = sizeof(scratch);
        int64_t got =
            tern_sys_port_receive(g_state.port, reinterpret_cast<uint64_t>(&msg), next_timeout());
        if (got == -TERN_TIMED_OUT || got == -TERN_WOULD_BLOCK) {
            run_retries();
            continue;
        }
        if (got < 0) {
            tern::println("init: receive failed: {}", base::error_name(tern::sys_status(got)));
            tern_sys_thread_sleep(10000000);
            continue;
        }
        for (uint32_t i = 0; i < msg.hdr.handle_count; ++i)
            (void)tern_sys_handle_close(msg.handles[i]);
        if (msg.reply_handle != TERN_INVALID_HANDLE)
            (void)tern_sys_handle_close(msg.reply_handle);
        if (msg.hdr.label != TERN_LABEL_OBJECT_GONE || msg.hdr.sender_badge != 0)
            continue;
        uint64_t cookie = msg.words[0];
        if (cookie >= 1000) {
            tern::println("init: core server {:#x} ended with status {}; it cannot be restarted",
                          pid_of(cookie - 1000), int64_t(msg.words[1]));
            continue;
        }
        if (cookie < g_state.service_count)
            service_ended(size_t(cookie), int64_t(msg.words[1]));
        run_retries();
    }
}
