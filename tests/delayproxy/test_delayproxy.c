/*
 * rsl-delayproxy (scripts/delayproxy.c), the WAN benchmarks' delay line,
 * against servers in this process on 127.0.0.1 (same CLOCK_MONOTONIC, so one-way
 * times are measured exactly). Lower bounds on delays are exact (the proxy must
 * never deliver early); upper bounds and the rate check have wide margins so a
 * loaded 2-core machine cannot fail them. The proxy binary is $RSL_DELAYPROXY
 * (ctest sets it), else rsl-delayproxy next to this test.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/harness.h"

#define MS 1000000LL

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- servers (one thread per connection) ---- */

typedef enum { SRV_STAMP, SRV_SINK } srv_mode;

typedef struct srv {
    int lfd, port;
    srv_mode mode;
} srv;

static atomic_int sink_go = 1; /* SRV_SINK reads only while set */

static uint8_t pattern(uint64_t i)
{
    return (uint8_t)((i * 2654435761u) >> 13);
}

/* SRV_STAMP: for every byte received, replies with its 8-byte arrival time;
 * echoes the end of the stream (shutdown) after replying to everything. */
static void stamp_conn(int fd)
{
    unsigned char buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        int64_t t = now_ns();
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            if (send(fd, &t, sizeof(t), MSG_NOSIGNAL) != (ssize_t)sizeof(t))
                return;
    }
    shutdown(fd, SHUT_WR);
}

/* SRV_SINK: reads to the end, checking pattern(i) for byte i; replies with
 * "BYTES FIRST_NS LAST_NS OK" (arrival of the first and the last byte). */
static void sink_conn(int fd)
{
    static unsigned char buf[1 << 20];
    uint64_t total = 0;
    int64_t first = 0, last = 0;
    int ok = 1;
    for (;;) {
        while (!atomic_load(&sink_go))
            usleep(10000);
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            break;
        last = now_ns();
        if (total == 0)
            first = last;
        for (ssize_t i = 0; i < n; i++)
            ok &= buf[i] == pattern(total + (uint64_t)i);
        total += (uint64_t)n;
    }
    char reply[128];
    int len = snprintf(reply, sizeof(reply), "%llu %lld %lld %d", (unsigned long long)total,
                       (long long)first, (long long)last, ok);
    send(fd, reply, (size_t)len, MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
}

typedef struct conn_arg {
    int fd;
    srv_mode mode;
} conn_arg;

static void *conn_main(void *p)
{
    conn_arg a = *(conn_arg *)p;
    free(p);
    if (a.mode == SRV_STAMP)
        stamp_conn(a.fd);
    else
        sink_conn(a.fd);
    char b[256];
    while (recv(a.fd, b, sizeof(b), 0) > 0) /* wait for the peer's close */
        ;
    close(a.fd);
    return NULL;
}

static void *srv_main(void *p)
{
    srv *s = p;
    for (;;) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        conn_arg *a = malloc(sizeof(*a));
        *a = (conn_arg){fd, s->mode};
        pthread_t t;
        pthread_create(&t, NULL, conn_main, a);
        pthread_detach(t);
    }
    return NULL;
}

static int listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(fd, 64), 0);
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

static int start_server(srv_mode mode)
{
    srv *s = malloc(sizeof(*s));
    s->mode = mode;
    s->lfd = listener(&s->port);
    pthread_t t;
    pthread_create(&t, NULL, srv_main, s);
    pthread_detach(t);
    return s->port;
}

/* ---- the proxy process ---- */

typedef struct proxy {
    pid_t pid;
    int port;
} proxy;

/* args: extra options, space-separated */
static proxy proxy_start(int target, const char *args)
{
    static char self[4096];
    const char *bin = getenv("RSL_DELAYPROXY");
    if (bin == NULL || *bin == '\0') { /* run by hand: next to this test in the build dir */
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 32);
        cr_assert(n > 0);
        self[n] = '\0';
        snprintf(strrchr(self, '/'), 32, "/rsl-delayproxy");
        bin = self;
    }
    char buf[1024];
    snprintf(buf, sizeof(buf), "--target %d --lifetime 300 %s", target, args);
    char *argv[32] = {(char *)bin};
    int argc = 1;
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t && argc < 31;
         t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    int out[2];
    cr_assert_eq(pipe(out), 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* a failed test must not leave it behind */
        dup2(out[1], 1);
        close(out[0]);
        execv(bin, argv);
        _exit(127);
    }
    close(out[1]);
    char line[32] = {0};
    ssize_t n = read(out[0], line, sizeof(line) - 1);
    close(out[0]);
    cr_assert(n > 0, "the proxy did not print its port");
    return (proxy){pid, (int)strtol(line, NULL, 10)};
}

/* SIGTERM; asserts a clean exit 0 within 2 s */
static void proxy_stop(proxy p)
{
    kill(p.pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 200; i++) {
        if (waitpid(p.pid, &st, WNOHANG) == p.pid) {
            cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "proxy exit status %d", st);
            return;
        }
        usleep(10000);
    }
    kill(p.pid, SIGKILL);
    waitpid(p.pid, &st, 0);
    cr_assert_fail("the proxy did not exit on SIGTERM");
}

/* SIGUSR1, then the stats file once it shows sequence number seq (malloc'd) */
static char *proxy_stats(proxy p, const char *file, int seq)
{
    char want[32];
    snprintf(want, sizeof(want), "seq=%d\n", seq);
    kill(p.pid, SIGUSR1);
    char *s = NULL;
    for (int i = 0; i < 300 && (s == NULL || strstr(s, want) == NULL); i++) {
        free(s);
        usleep(10000);
        s = rslt_read(file, NULL);
    }
    cr_assert(s && strstr(s, want), "no stats %s in %s", want, file);
    return s;
}

static long long stat_val(const char *stats, const char *key)
{
    const char *v = strstr(stats, key);
    cr_assert(v, "%s missing from stats: %s", key, stats);
    return strtoll(v + strlen(key), NULL, 10);
}

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "%s", strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static void recv_all(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = recv(fd, (char *)buf + got, len - got, 0);
        cr_assert(n > 0, "connection ended after %zu of %zu bytes", got, len);
        got += (size_t)n;
    }
}

/* sends one byte at t0; returns the server's arrival stamp, *back = arrival here */
static int64_t stamp_once(int fd, int64_t *t0, int64_t *back)
{
    int64_t stamp;
    *t0 = now_ns();
    cr_assert_eq(send(fd, "x", 1, 0), 1);
    recv_all(fd, &stamp, sizeof(stamp));
    *back = now_ns();
    return stamp;
}

static double ms(int64_t ns)
{
    return (double)ns / 1e6;
}

/* ---- delays ---- */

Test(delayproxy, echo_takes_one_rtt_and_the_first_one_the_handshake_too)
{
    proxy p = proxy_start(start_server(SRV_STAMP), "--delay 100");
    int fd = dial(p.port);
    int64_t t0, t2, t1 = stamp_once(fd, &t0, &t2);
    /* sent at once, held for the handshake (SYN, SYN-ACK, ACK: 3 x 100),
     * then the reply's way back (100) */
    cr_assert_geq(t1 - t0, 300 * MS, "first byte reached the server after %.1f ms", ms(t1 - t0));
    cr_assert_geq(t2 - t0, 400 * MS, "first exchange %.1f ms", ms(t2 - t0));
    cr_assert_lt(t2 - t0, 700 * MS, "first exchange %.1f ms", ms(t2 - t0));
    for (int i = 0; i < 3; i++) {
        t1 = stamp_once(fd, &t0, &t2);
        cr_assert_geq(t1 - t0, 100 * MS, "one way %.1f ms", ms(t1 - t0));
        cr_assert_geq(t2 - t0, 200 * MS, "echo %.1f ms", ms(t2 - t0));
        cr_assert_lt(t2 - t0, 450 * MS, "echo %.1f ms", ms(t2 - t0));
    }
    close(fd);
    proxy_stop(p);
}

Test(delayproxy, asymmetric_delays_without_handshake)
{
    proxy p = proxy_start(start_server(SRV_STAMP), "--up-delay 150 --down-delay 40 --no-handshake");
    int fd = dial(p.port);
    for (int i = 0; i < 2; i++) {
        int64_t t0, t2, t1 = stamp_once(fd, &t0, &t2);
        cr_assert_geq(t1 - t0, 150 * MS, "up %.1f ms", ms(t1 - t0));
        cr_assert_lt(t1 - t0, 400 * MS, "up %.1f ms", ms(t1 - t0));
        cr_assert_geq(t2 - t1, 40 * MS, "down %.1f ms", ms(t2 - t1));
        cr_assert_lt(t2 - t1, 290 * MS, "down %.1f ms", ms(t2 - t1));
    }
    close(fd);
    proxy_stop(p);
}

/* A delay line, not stop-and-wait: 20 bytes sent 10 ms apart all come back
 * about one RTT after they were sent (stop-and-wait would need 20 RTTs). */
Test(delayproxy, keeps_reading_while_earlier_bytes_wait)
{
    proxy p = proxy_start(start_server(SRV_STAMP), "--delay 100 --no-handshake");
    int fd = dial(p.port);
    int64_t sent[20], start = now_ns();
    for (int i = 0; i < 20; i++) {
        sent[i] = now_ns();
        cr_assert_eq(send(fd, "x", 1, 0), 1);
        usleep(10000);
    }
    for (int i = 0; i < 20; i++) {
        int64_t stamp;
        recv_all(fd, &stamp, sizeof(stamp));
        int64_t back = now_ns();
        cr_assert_geq(stamp - sent[i], 100 * MS, "byte %d: one way %.1f ms", i,
                      ms(stamp - sent[i]));
        cr_assert_geq(back - sent[i], 200 * MS, "byte %d: echo %.1f ms", i, ms(back - sent[i]));
    }
    cr_assert_lt(now_ns() - start, 1500 * MS, "20 pipelined echoes took %.1f ms",
                 ms(now_ns() - start));
    close(fd);
    proxy_stop(p);
}

Test(delayproxy, many_connections_at_once)
{
    proxy p = proxy_start(start_server(SRV_STAMP), "--delay 50");
    enum { N = 40 };
    int fd[N];
    int64_t start = now_ns();
    for (int i = 0; i < N; i++) {
        fd[i] = dial(p.port);
        cr_assert_eq(send(fd[i], "x", 1, 0), 1);
    }
    for (int i = 0; i < N; i++) {
        int64_t stamp;
        recv_all(fd[i], &stamp, sizeof(stamp));
        cr_assert_geq(stamp - start, 150 * MS, "conn %d reached the server early", i);
    }
    int64_t took = now_ns() - start;
    cr_assert_geq(took, 200 * MS);
    cr_assert_lt(took, 1500 * MS, "%d connections in parallel took %.1f ms (one: 200 ms)", N,
                 ms(took));
    for (int i = 0; i < N; i++)
        close(fd[i]);
    proxy_stop(p);
}

/* ---- stream semantics, rate, window ---- */

/* sends len pattern bytes (then shuts down) and reads the sink's reply */
static void push_pattern(int fd, uint64_t len, unsigned long long *got, long long *first,
                         long long *last, int *ok)
{
    static unsigned char buf[1 << 16];
    for (uint64_t off = 0; off < len;) {
        size_t n = len - off < sizeof(buf) ? (size_t)(len - off) : sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(off + i);
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        cr_assert(w > 0, "send: %s", strerror(errno));
        off += (uint64_t)w;
    }
    shutdown(fd, SHUT_WR);
    char reply[128] = {0};
    size_t r = 0;
    ssize_t n;
    while (r < sizeof(reply) - 1 && (n = recv(fd, reply + r, sizeof(reply) - 1 - r, 0)) > 0)
        r += (size_t)n;
    cr_assert_eq(sscanf(reply, "%llu %lld %lld %d", got, first, last, ok), 4, "reply '%s'", reply);
}

Test(delayproxy, rate_cap_holds_over_three_seconds)
{
    const double rate = 2.0 * 1024 * 1024;
    proxy p = proxy_start(start_server(SRV_SINK), "--delay 10 --rate 2M --no-handshake");
    int fd = dial(p.port);
    unsigned long long got;
    long long first, last;
    int ok;
    int64_t t0 = now_ns();
    push_pattern(fd, 6u << 20, &got, &first, &last, &ok);
    cr_assert_eq(got, 6u << 20);
    cr_assert(ok, "bytes changed on the way");
    /* paced from the first read; the last byte then travels 10 ms. The proxy
     * reads at most 5 ms of the link ahead, so this never exceeds the cap by
     * more than 5 ms in 3 s; a late proxy only makes it slower */
    double achieved = (double)got / ((double)(last - t0 - 10 * MS) / 1e9);
    cr_assert_leq(achieved, rate * 1.03, "%.0f B/s over a %.0f B/s cap", achieved, rate);
    cr_assert_geq(achieved, rate * 0.75, "%.0f B/s under a %.0f B/s cap", achieved, rate);
    close(fd);
    proxy_stop(p);
}

static long rss_kb(pid_t pid)
{
    char path[64], *s;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    char *st = rslt_read(path, NULL);
    cr_assert(st && (s = strstr(st, "VmRSS:")));
    long kb = strtol(s + 6, NULL, 10);
    free(st);
    return kb;
}

/* The window bounds both the throughput (W / RTT) and, with a receiver that
 * does not read, what the proxy holds: TCP backpressure stops the sender. */
Test(delayproxy, window_bounds_throughput_and_memory)
{
    char *dir = rslt_tmpdir("delayproxy");
    char stats[4200], args[4300];
    snprintf(stats, sizeof(stats), "%s/stats", dir);
    snprintf(args, sizeof(args), "--delay 25 --window 512K --stats-file %s", stats);
    proxy p = proxy_start(start_server(SRV_SINK), args);
    int fd = dial(p.port);
    unsigned long long got;
    long long first, last;
    int ok;
    int64_t t0 = now_ns();
    push_pattern(fd, 8u << 20, &got, &first, &last, &ok);
    double took = (double)(now_ns() - t0) / 1e9;
    cr_assert_eq(got, 8u << 20);
    cr_assert(ok, "bytes changed on the way");
    /* 16 windows of 512 KiB at one per 50 ms RTT: >= 15 RTTs + handshake */
    cr_assert_geq(took, 0.75 + 0.075, "8 MiB through a 512 KiB window took %.3f s", took);
    cr_assert_lt(took, 4.0, "8 MiB through a 512 KiB window took %.3f s", took);
    close(fd);

    atomic_store(&sink_go, 0);
    fd = dial(p.port);
    long before = rss_kb(p.pid);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    static unsigned char buf[1 << 16];
    uint64_t pushed = 0;
    struct pollfd pf = {.fd = fd, .events = POLLOUT};
    while (pushed < (256u << 20) && poll(&pf, 1, 1000) == 1) {
        ssize_t w = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);
        if (w > 0)
            pushed += (uint64_t)w;
    }
    long grew = rss_kb(p.pid) - before;
    cr_assert_lt(pushed, 128u << 20, "the sender was never held back (%llu bytes)",
                 (unsigned long long)pushed);
    /* the proxy holds a full window and no more */
    char *st = proxy_stats(p, stats, 1);
    long long held = stat_val(st, "held_bytes="),
              held_max = stat_val(st, "held_max_per_direction=");
    cr_assert(held >= 512 * 1024 - 65536 && held <= 512 * 1024, "held %lld bytes", held);
    cr_assert_leq(held_max, 512 * 1024, "one direction held %lld bytes", held_max);
    free(st);
#ifndef __SANITIZE_ADDRESS__ /* ASan's quarantine keeps freed chunks resident */
    cr_assert_lt(grew, 2 * 512 + 2048, "proxy RSS grew %ld KiB with a 512 KiB window", grew);
#else
    (void)grew;
#endif
    atomic_store(&sink_go, 1);
    close(fd);
    proxy_stop(p);
    rslt_rmrf(dir);
    free(dir);
}

/* A half-close crosses after the delay; the other direction still flows;
 * SIGUSR1 writes the byte counts. */
Test(delayproxy, half_close_passes_after_the_delay_and_stats_count_bytes)
{
    char *dir = rslt_tmpdir("delayproxy");
    char stats[4200], args[4300];
    snprintf(stats, sizeof(stats), "%s/stats", dir);
    snprintf(args, sizeof(args), "--delay 60 --no-handshake --stats-file %s", stats);
    proxy p = proxy_start(start_server(SRV_STAMP), args);
    int fd = dial(p.port);
    cr_assert_eq(send(fd, "abc", 3, 0), 3);
    int64_t t0 = now_ns();
    shutdown(fd, SHUT_WR);
    int64_t stamps[3];
    recv_all(fd, stamps, sizeof(stamps));
    char b;
    cr_assert_eq(recv(fd, &b, 1, 0), 0, "the server's end of stream did not arrive");
    cr_assert_geq(now_ns() - t0, 120 * MS, "end of stream after %.1f ms", ms(now_ns() - t0));
    close(fd);
    char *s = proxy_stats(p, stats, 1);
    cr_assert(strstr(s, "bytes_up=3\n") && strstr(s, "bytes_down=24\n") &&
                  strstr(s, "connections=1\n"),
              "stats: %s", s);
    free(s);
    proxy_stop(p);
    rslt_rmrf(dir);
    free(dir);
}

Test(delayproxy, target_down_closes_the_client_after_the_handshake)
{
    int dead_port;
    close(listener(&dead_port)); /* nothing listens there now */
    proxy p = proxy_start(dead_port, "--delay 30");
    int fd = dial(p.port);
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    cr_assert_eq(poll(&pf, 1, 3000), 1, "the client was left hanging");
    char b;
    cr_assert_leq(recv(fd, &b, 1, 0), 0);
    close(fd);
    proxy_stop(p);
}
