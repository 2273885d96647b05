/*
 * tern-hub-bench: what tern-hub adds to a frame's trip, measured on this machine.
 *
 *   tern-hub-bench --hub PATH [--round-trips N] [--burst N]
 *
 * Two UDP sockets on 127.0.0.1 play two nodes' QEMUs. First they ping-pong 64-byte
 * Ethernet frames straight to each other (the floor: four socket calls and two wake-ups
 * per round trip), then through a hub started here (each frame also passes through the
 * hub's loop). The hub's added latency per frame is half the difference of the median
 * round trips. A burst then sends frames through the hub as fast as one sender can, with
 * a bounded number in flight, for the frames per second the hub sustains. Prints
 * `name: value unit` lines and the hub's own `latency` counters; exits 0 when every
 * frame came back.
 *
 * Only the hub process started here is ended, by its pid.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
    kFrameBytes = 64,
    kReceiveTimeoutMs = 2000
};

static pid_t g_hub_pid = -1;
static char g_dir[64];

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void cleanup(void) {
    if (g_hub_pid > 0) {
        kill(g_hub_pid, SIGTERM);
        waitpid(g_hub_pid, NULL, 0);
        g_hub_pid = -1;
    }
    if (g_dir[0]) {
        char path[128];
        snprintf(path, sizeof(path), "%s/hub.sock", g_dir);
        unlink(path);
        rmdir(g_dir);
    }
}

static void fail(const char* format, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char* format, ...) {
    va_list args;
    va_start(args, format);
    fputs("tern-hub-bench: FAIL: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    cleanup();
    exit(1);
}

static int udp_socket(uint16_t* port) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || bind(fd, (struct sockaddr*)&local, sizeof(local)) < 0) {
        fail("udp socket: %s", strerror(errno));
    }
    socklen_t length = sizeof(local);
    getsockname(fd, (struct sockaddr*)&local, &length);
    *port = ntohs(local.sin_port);
    int buffer = 4 * 1024 * 1024;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
    return fd;
}

static struct sockaddr_in loopback(uint16_t port) {
    return (struct sockaddr_in){
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
}

// A frame from node `from` to node `to`: locally administered MACs 02:00:00:00:00:<id>.
static void make_frame(unsigned char* frame, unsigned from, unsigned to, uint32_t sequence) {
    memset(frame, 0, kFrameBytes);
    frame[0] = 0x02;
    frame[5] = (unsigned char)to;
    frame[6] = 0x02;
    frame[11] = (unsigned char)from;
    frame[12] = 0x88; // the local experimental EtherType
    frame[13] = 0xb5;
    memcpy(frame + 14, &sequence, sizeof(sequence));
}

static void send_to(int fd, const unsigned char* frame, uint16_t port) {
    struct sockaddr_in to = loopback(port);
    if (sendto(fd, frame, kFrameBytes, 0, (struct sockaddr*)&to, sizeof(to)) != kFrameBytes) {
        fail("sendto: %s", strerror(errno));
    }
}

static void receive(int fd, unsigned char* frame) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, kReceiveTimeoutMs) != 1) {
        fail("a frame did not arrive within %d ms", kReceiveTimeoutMs);
    }
    if (recv(fd, frame, kFrameBytes, 0) != kFrameBytes) {
        fail("recv: %s", strerror(errno));
    }
}

static int compare_u64(const void* a, const void* b) {
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

// Median round trip in ns: a sends to a_target and b receives; b answers to b_target.
static uint64_t ping_pong(int a, uint16_t a_target, int b, uint16_t b_target, unsigned count) {
    uint64_t* samples = calloc(count, sizeof(uint64_t));
    if (!samples) {
        fail("out of memory");
    }
    unsigned char frame[kFrameBytes], reply[kFrameBytes];
    for (unsigned i = 0; i < count; ++i) {
        make_frame(frame, 1, 2, i);
        uint64_t start = now_ns();
        send_to(a, frame, a_target);
        receive(b, reply);
        make_frame(reply, 2, 1, i);
        send_to(b, reply, b_target);
        receive(a, frame);
        samples[i] = now_ns() - start;
        uint32_t sequence;
        memcpy(&sequence, frame + 14, sizeof(sequence));
        if (sequence != i) {
            fail("round trip %u came back as %u", i, sequence);
        }
    }
    qsort(samples, count, sizeof(uint64_t), compare_u64);
    uint64_t median = samples[count / 2];
    free(samples);
    return median;
}

static int control_connect(void) {
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    snprintf(address.sun_path, sizeof(address.sun_path), "%s/hub.sock", g_dir);
    for (int attempt = 0; attempt < 200; ++attempt) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr*)&address, sizeof(address)) == 0) {
            return fd;
        }
        if (fd >= 0) {
            close(fd);
        }
        usleep(10000);
    }
    fail("the hub's control socket did not appear within 2 s");
}

// Sends one command and returns its reply (up to and including the ok/error line).
static void control(const char* command, char* reply, size_t size) {
    int fd = control_connect();
    char line[128];
    int length = snprintf(line, sizeof(line), "%s\n", command);
    if (write(fd, line, (size_t)length) != length) {
        fail("control write: %s", strerror(errno));
    }
    size_t used = 0;
    while (used + 1 < size) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, kReceiveTimeoutMs) != 1) {
            fail("the hub did not answer '%s'", command);
        }
        ssize_t n = read(fd, reply + used, size - 1 - used);
        if (n <= 0) {
            break;
        }
        used += (size_t)n;
        reply[used] = '\0';
        if (strstr(reply, "ok\n") || strstr(reply, "error: ")) {
            break;
        }
    }
    reply[used] = '\0';
    close(fd);
}

static uint16_t hub_port_of(const char* nodes, unsigned node) {
    char key[32];
    snprintf(key, sizeof(key), "node %u hub_port=", node);
    const char* at = strstr(nodes, key);
    if (!at) {
        fail("the hub did not list node %u", node);
    }
    return (uint16_t)atoi(at + strlen(key));
}

int main(int argc, char** argv) {
    const char* hub = NULL;
    unsigned round_trips = 20000, burst = 200000;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--hub") == 0 && i + 1 < argc) {
            hub = argv[++i];
        } else if (strcmp(argv[i], "--round-trips") == 0 && i + 1 < argc) {
            round_trips = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--burst") == 0 && i + 1 < argc) {
            burst = (unsigned)strtoul(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: tern-hub-bench --hub PATH [--round-trips N] [--burst N]\n");
            return 2;
        }
    }
    if (!hub || round_trips == 0) {
        fprintf(stderr, "usage: tern-hub-bench --hub PATH [--round-trips N] [--burst N]\n");
        return 2;
    }
    snprintf(g_dir, sizeof(g_dir), "/tmp/tern-hub-bench-XXXXXX");
    if (!mkdtemp(g_dir)) {
        g_dir[0] = '\0';
        fail("mkdtemp: %s", strerror(errno));
    }

    uint16_t port_a, port_b;
    int a = udp_socket(&port_a);
    int b = udp_socket(&port_b);
    unsigned warm = round_trips / 10 + 1;
    ping_pong(a, port_b, b, port_a, warm);
    uint64_t direct = ping_pong(a, port_b, b, port_a, round_trips);

    char control_path[128], node1[64], node2[64];
    snprintf(control_path, sizeof(control_path), "%s/hub.sock", g_dir);
    snprintf(node1, sizeof(node1), "1:0:%u", port_a);
    snprintf(node2, sizeof(node2), "2:0:%u", port_b);
    g_hub_pid = fork();
    if (g_hub_pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execl(hub, hub, "--control", control_path, "--node", node1, "--node", node2, "--seed", "1",
              (char*)NULL);
        _exit(127);
    }
    if (g_hub_pid < 0) {
        fail("fork: %s", strerror(errno));
    }
    static char reply[65536];
    control("nodes", reply, sizeof(reply));
    uint16_t hub_a = hub_port_of(reply, 1), hub_b = hub_port_of(reply, 2);
    ping_pong(a, hub_a, b, hub_b, warm);
    control("stats reset", reply, sizeof(reply));
    uint64_t through = ping_pong(a, hub_a, b, hub_b, round_trips);
    control("stats", reply, sizeof(reply));
    const char* latency = strstr(reply, "latency ");
    char latency_line[256] = "";
    if (latency) {
        size_t length = strcspn(latency, "\n");
        snprintf(latency_line, sizeof(latency_line), "%.*s", (int)length, latency);
    }

    // The burst: up to 64 frames in flight from a to b through the hub.
    uint64_t start = now_ns();
    unsigned sent = 0, received = 0;
    unsigned char frame[kFrameBytes];
    while (received < burst) {
        while (sent < burst && sent - received < 64) {
            make_frame(frame, 1, 2, sent++);
            send_to(a, frame, hub_a);
        }
        receive(b, frame);
        ++received;
    }
    double seconds = (double)(now_ns() - start) / 1e9;

    printf("hub.rt_direct_us: %.2f us\n", (double)direct / 1000.0);
    printf("hub.rt_through_hub_us: %.2f us\n", (double)through / 1000.0);
    printf("hub.added_per_frame_us: %.2f us\n", ((double)through - (double)direct) / 2.0 / 1000.0);
    if (burst) {
        printf("hub.burst_frames_per_s: %.0f frames/s\n", (double)burst / seconds);
    }
    printf("hub.residence: %s\n", latency_line[0] ? latency_line : "(no counters)");
    cleanup();
    return 0;
}
