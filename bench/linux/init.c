/*
 * init: the first process of the Linux VMs that ./tern bench runs beside Tern (the
 * initramfs that tools/linux_vm.py packs: this program as /init, the benchmark
 * programs in /bin, the NIC modules in /lib/modules).
 *
 * It reads its TSC first thing and prints `linux.boot_to_init_ms`: under -icount
 * shift=0 the TSC counts guest instructions, one per virtual nanosecond, from power-on.
 * Then, by the kernel command line:
 *
 *   tern.mode=bench      run /bin/microbench, then power off
 *   tern.mode=net        load the modules listed in /lib/modules/order, give the one NIC
 *                        the address tern.ip=a.b.c.d/len, wait for its carrier, then
 *                        read commands from the console like Tern's shell
 *   (no mode)            read commands from the console
 *
 * The command loop prints the prompt `linux# `, runs /bin/<word> with the line's words
 * as arguments and waits for it; `poweroff` (or the end of input) powers the VM off.
 * Every failure is printed as `init: ...` and ends in a power-off, never a hang: a
 * benchmark run is bounded by its driver's timeout in any case.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
    kMaxWords = 16,
    kCarrierWaitMs = 10000
};

static char g_cmdline[4096];

/* The value of `key=` on the kernel command line, or NULL. */
static const char* cmdline_value(const char* key, char* out, size_t size) {
    size_t length = strlen(key);
    for (char* p = g_cmdline; (p = strstr(p, key)) != NULL; p += length) {
        if ((p == g_cmdline || p[-1] == ' ') && p[length] == '=') {
            size_t n = strcspn(p + length + 1, " \n");
            if (n >= size)
                return NULL;
            memcpy(out, p + length + 1, n);
            out[n] = '\0';
            return out;
        }
    }
    return NULL;
}

static void power_off(void) {
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    /* Only a process that is not pid 1 gets here (EPERM): the host's test of this file. */
    exit(0);
}

static int run(char* const argv[]) {
    char path[256];
    snprintf(path, sizeof path, "/bin/%s", argv[0]);
    pid_t child = fork();
    if (child < 0) {
        printf("init: fork: %s\n", strerror(errno));
        return -1;
    }
    if (child == 0) {
        execv(path, argv);
        printf("init: %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) {
            printf("init: waitpid: %s\n", strerror(errno));
            return -1;
        }
    }
    /* Orphans re-parented to init are reaped here, between commands. */
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int load_modules(void) {
    FILE* order = fopen("/lib/modules/order", "r");
    if (!order) {
        printf("init: /lib/modules/order: %s\n", strerror(errno));
        return -1;
    }
    char name[128];
    int loaded = 0;
    while (fscanf(order, "%127s", name) == 1) {
        char path[192];
        snprintf(path, sizeof path, "/lib/modules/%s.ko", name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) != 0) {
            printf("init: loading %s: %s\n", path, strerror(errno));
            fclose(order);
            return -1;
        }
        close(fd);
        ++loaded;
    }
    fclose(order);
    printf("init: loaded %d modules\n", loaded);
    return 0;
}

/* The first network interface that is not the loopback, from sysfs. */
static int find_nic(char* name, size_t size) {
    DIR* dir = opendir("/sys/class/net");
    if (!dir)
        return -1;
    struct dirent* e;
    int found = -1;
    while ((e = readdir(dir)) != NULL) {
        size_t length = strlen(e->d_name);
        if (e->d_name[0] == '.' || strcmp(e->d_name, "lo") == 0 || length >= size)
            continue;
        memcpy(name, e->d_name, length + 1);
        found = 0;
        break;
    }
    closedir(dir);
    return found;
}

static int set_flags_up(int s, const char* name) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
        return -1;
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    return ioctl(s, SIOCSIFFLAGS, &ifr);
}

static int set_address(int s, const char* name, unsigned long request, struct in_addr a) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    struct sockaddr_in* sin = (struct sockaddr_in*)&ifr.ifr_addr;
    sin->sin_family = AF_INET;
    sin->sin_addr = a;
    return ioctl(s, request, &ifr);
}

static int carrier_up(const char* nic) {
    char path[128], state = '0';
    snprintf(path, sizeof path, "/sys/class/net/%s/carrier", nic);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    if (read(fd, &state, 1) != 1)
        state = '0';
    close(fd);
    return state == '1';
}

static int configure_network(void) {
    char ip[64], nic[IFNAMSIZ];
    if (!cmdline_value("tern.ip", ip, sizeof ip)) {
        printf("init: tern.mode=net needs tern.ip=a.b.c.d/len on the command line\n");
        return -1;
    }
    char* slash = strchr(ip, '/');
    int prefix = slash ? atoi(slash + 1) : 24;
    if (slash)
        *slash = '\0';
    struct in_addr address, mask;
    if (inet_pton(AF_INET, ip, &address) != 1 || prefix < 1 || prefix > 32) {
        printf("init: bad tern.ip %s/%d\n", ip, prefix);
        return -1;
    }
    mask.s_addr = htonl(prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix));
    if (load_modules() != 0)
        return -1;
    if (find_nic(nic, sizeof nic) != 0) {
        printf("init: no network interface besides lo\n");
        return -1;
    }
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0 || set_flags_up(s, "lo") != 0 || set_address(s, nic, SIOCSIFADDR, address) != 0
        || set_address(s, nic, SIOCSIFNETMASK, mask) != 0 || set_flags_up(s, nic) != 0) {
        printf("init: configuring %s: %s\n", nic, strerror(errno));
        return -1;
    }
    close(s);
    for (int waited = 0; !carrier_up(nic); waited += 10) {
        if (waited >= kCarrierWaitMs) {
            printf("init: %s has no carrier after %d ms\n", nic, kCarrierWaitMs);
            return -1;
        }
        struct timespec ten_ms = {0, 10 * 1000 * 1000};
        nanosleep(&ten_ms, NULL);
    }
    printf("init: %s %s/%d up\n", nic, ip, prefix);
    return 0;
}

static void command_loop(void) {
    char line[512];
    for (;;) {
        printf("linux# ");
        fflush(stdout);
        if (!fgets(line, sizeof line, stdin))
            return;
        char* argv[kMaxWords + 1];
        int argc = 0;
        for (char* word = strtok(line, " \t\r\n"); word && argc < kMaxWords;
             word = strtok(NULL, " \t\r\n"))
            argv[argc++] = word;
        argv[argc] = NULL;
        if (argc == 0)
            continue;
        if (strcmp(argv[0], "poweroff") == 0)
            return;
        if (strchr(argv[0], '/')) {
            printf("init: commands are names in /bin\n");
            continue;
        }
        int status = run(argv);
        if (status != 0)
            printf("init: %s exited with status %d\n", argv[0], status);
    }
}

int main(void) {
    uint64_t at_init = __builtin_ia32_rdtsc();
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (getpid() == 1) {
        mkdir("/proc", 0555);
        mkdir("/sys", 0555);
        mkdir("/dev", 0755);
        if (mount("proc", "/proc", "proc", 0, NULL) != 0
            || mount("sysfs", "/sys", "sysfs", 0, NULL) != 0
            || (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) != 0 && errno != EBUSY)) {
            printf("init: mounting proc, sysfs and devtmpfs: %s\n", strerror(errno));
            power_off();
        }
    }
    printf("linux.boot_to_init_ms: %llu.%03llu ms\n", (unsigned long long)(at_init / 1000000),
           (unsigned long long)(at_init / 1000 % 1000));
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, g_cmdline, sizeof g_cmdline - 1) : -1;
    g_cmdline[n > 0 ? n : 0] = '\0';
    if (fd >= 0)
        close(fd);
    char mode[32] = "";
    cmdline_value("tern.mode", mode, sizeof mode);
    if (strcmp(mode, "bench") == 0) {
        char* argv[] = {"microbench", NULL};
        int status = run(argv);
        printf("init: microbench %s\n", status == 0 ? "done" : "FAILED");
    } else if (strcmp(mode, "net") == 0) {
        if (configure_network() == 0)
            command_loop();
    } else {
        command_loop();
    }
    power_off();
    return 0;
}
