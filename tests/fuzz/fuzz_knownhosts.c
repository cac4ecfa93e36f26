/*
 * fuzz_knownhosts.c - libFuzzer harness for known_hosts matching
 * (transports/knownhosts.c): the input is a known_hosts file (held in a
 * memfd, so nothing touches the disk), checked for a few host names and
 * ports against a fixed ed25519 key. Wildcards must match in linear time
 * (libFuzzer's -timeout catches a return of the exponential matcher).
 * Run: scripts/fuzz.sh knownhosts SECONDS (tests/fuzz/README.md).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "transports/knownhosts.h"

/* an ssh-ed25519 public key blob: string "ssh-ed25519", string(32 bytes) */
static const unsigned char key[] = {0,   0,   0,  11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5',
                                    '1', '9', 0,  0,  0,   32,  1,   2,   3,   4,   5,   6,   7,
                                    8,   9,   10, 11, 12,  13,  14,  15,  16,  17,  18,  19,  20,
                                    21,  22,  23, 24, 25,  26,  27,  28,  29,  30,  31,  32};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("known_hosts", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (size > 0 && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    static const char *const hosts[] = {"h.example", "10.0.0.1", "srv", "a.b.c.d.e.f.g"};
    static const int ports[] = {22, 2222};
    for (size_t h = 0; h < sizeof(hosts) / sizeof(hosts[0]); h++)
        for (size_t p = 0; p < sizeof(ports) / sizeof(ports[0]); p++) {
            int line = 0, missing = 0;
            (void)rsl_knownhosts_check(path, hosts[h], ports[p], key, sizeof(key), &line, &missing);
            char types[256];
            rsl_knownhosts_types(path, hosts[h], ports[p], types, sizeof(types));
        }
    close(fd);
    return 0;
}
