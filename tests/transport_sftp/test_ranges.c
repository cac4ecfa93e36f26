/* One big file over several SFTP connections against the fixture's sshd
 * (engine/ranges.h, RSL_OP_PUT_RANGE in transports/sftp_put.c). A file is
 * cut only on a link whose round trip lets one connection's window cap it
 * (RSL_RANGES_MIN_RTT_US), so these runs go through rsl-delayproxy adding
 * 5 ms each way: the built binary pushes a 64 MiB file as 16 MiB pieces
 * over 2 connections; it is SIGKILLed mid-way (nothing under the final name
 * then), and the next run sends exactly the pieces its upload record does
 * not list, so the bytes sent twice are at most one piece per connection;
 * the result is byte-identical. On loopback itself the file goes whole,
 * and the round trip the transport measures says why. */
#include "sftp_test.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "engine/ranges.h"
#include "engine/spans.h"
#include "state/state.h"

#define MIB (1ll << 20)
#define TOTAL (64 * MIB) /* small: the suite must fit a small CI disk */
#define PIECE (16 * MIB) /* engine/spans.h for 64 MiB over 2 connections */
#define CONNS 2

#define DELAY_MS 5 /* each way: a 10 ms link, over RSL_RANGES_MIN_RTT_US */

typedef struct job {
    char *dir, *src, *conf, *root, *db;
    pid_t proxy; /* rsl-delayproxy in front of sshd, or 0 */
} job;

static char *sub(const char *a, const char *b)
{
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/%s", a, b) > 0);
    return p;
}

/* known_hosts naming the fixture's host key at 127.0.0.1:port (the proxy's) */
static char *known_hosts_for(int port)
{
    char *pub = fx("SSH_HOST_PUB");
    char *kh = rslt_known_hosts_for(pub, port);
    free(pub);
    return kh;
}

/* delay_ms > 0: through rsl-delayproxy adding that much each way */
static job make_job(const char *tag, const char *extra, int delay_ms)
{
    job j;
    j.dir = rslt_tmpdir(tag);
    int port = fx_int("SSH_PORT");
    j.proxy = 0;
    if (delay_ms > 0) {
        j.proxy = rslt_delayproxy(port, delay_ms, &port);
        cr_assert_gt(port, 0, "the delay proxy did not start");
    }
    j.root = mkroot(tag);
    j.src = sub(j.dir, "src");
    j.conf = sub(j.dir, "job.conf");
    j.db = sub(j.dir, "state.db");
    cr_assert_eq(mkdir(j.src, 0755), 0);
    char *user = fx("SSH_USER"), *key = fx("SSH_KEY");
    char *kh = delay_ms > 0 ? known_hosts_for(port) : fx("SSH_KNOWN_HOSTS");
    char *text = NULL;
    cr_assert(asprintf(&text,
                       "[job]\nname = %s\nsource = %s\ndestination = sftp://%s@127.0.0.1:%d%s\n"
                       "state = %s\n%s\n[remote]\nidentity_file = %s\nknown_hosts = %s\n",
                       tag, j.src, user, port, j.root, j.db, extra, key, kh) > 0);
    rslt_write(j.conf, text);
    free(text);
    return j;
}

static long long sent_bytes(const char *out)
{
    const char *p = strstr(out, "transferred:");
    cr_assert(p != NULL, "%s", out);
    p = strchr(p, '(');
    cr_assert(p != NULL, "%s", out);
    return strtoll(p + 1, NULL, 10);
}

/* Bytes the file system holds for path (the temp file is sparse while its
 * pieces are written), -1 when absent. */
static long long allocated(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_blocks * 512 : -1;
}

/* The pieces the upload record of path says are written. */
static long long recorded(const char *db, const char *path)
{
    rsl_state *st = NULL;
    rsl_err err;
    cr_assert_eq(rsl_state_open(&st, db, RSL_STATE_READONLY, &err), RSL_OK, "%s", err.msg);
    rsl_upload_rec *u = NULL;
    size_t n = 0;
    cr_assert_eq(rsl_state_uploads_load(st, &u, &n, &err), RSL_OK, "%s", err.msg);
    long long bytes = -1;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(u[i].path, path) != 0)
            continue;
        cr_assert_not_null(u[i].done, "the record of a file sent in pieces lists them");
        rsl_spans s;
        rsl_spans_init(&s);
        cr_assert_eq(rsl_spans_parse(&s, u[i].done, (uint64_t)TOTAL), 0, "'%s'", u[i].done);
        bytes = (long long)rsl_spans_bytes(&s);
        cr_log_info("record after the kill: %s", u[i].done);
        rsl_spans_free(&s);
    }
    rsl_uploads_free(u, n);
    rsl_state_close(st);
    return bytes;
}

Test(sftp_ranges, pieces_over_two_connections_killed_then_resumed, .timeout = 180)
{
    /* bwlimit keeps the upload slow enough to be caught after the first pieces */
    cr_assert_eq(rsl_spans_piece((uint64_t)TOTAL, CONNS), (uint64_t)PIECE,
                 "the engine's piece size");
    job j =
        make_job("rg-kill", "transfers = 2\nmulti_connection_min = 32M\nbwlimit = 16M", DELAY_MS);
    rslt_write_random(sub(j.src, "big.bin"), (uint64_t)TOTAL, 11);
    char *tmp = sub(j.root, "big.bin.rsl-part"), *fin = sub(j.root, "big.bin");
    pid_t kid = fork();
    cr_assert(kid >= 0);
    if (kid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execl(rslt_bin(), rslt_bin(), "run", j.conf, (char *)NULL);
        _exit(127);
    }
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* past the first round of pieces (one per connection), into the second */
    while (allocated(tmp) < CONNS * PIECE + 8 * MIB) {
        int st;
        cr_assert_eq(waitpid(kid, &st, WNOHANG), 0, "run ended before it was killed");
        clock_gettime(CLOCK_MONOTONIC, &now);
        cr_assert_lt(now.tv_sec - t0.tv_sec, 90, "upload did not get far enough");
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(kid, SIGKILL);
    waitpid(kid, NULL, 0);
    long long on_remote = allocated(tmp);
    cr_assert(!rslt_exists(fin), "a partial file under the final name");
    long long done = recorded(j.db, "big.bin");
    cr_assert_geq(done, PIECE, "at least one piece recorded as written");
    cr_assert_lt(done, TOTAL);
    cr_assert_eq(done % PIECE, 0, "whole pieces");
    cr_assert_leq(on_remote - done, (long long)CONNS * PIECE + MIB,
                  "%lld bytes on the remote not recorded: more than one piece per connection",
                  on_remote - done);

    char *out = NULL, *err = NULL;
    int rc = rslt_sh(&out, &err, "'%s' run -v '%s'", rslt_bin(), j.conf);
    cr_assert_eq(rc, 0, "exit %d\n%s\n%s", rc, out, err);
    long long sent = sent_bytes(out);
    cr_log_info("killed with %lld bytes on the remote, %lld recorded; the next run sent %lld",
                on_remote, done, sent);
    cr_assert_eq(sent, TOTAL - done, "only the pieces not recorded were sent again");
    cr_assert_leq(sent - (TOTAL - on_remote), (long long)CONNS * PIECE + MIB,
                  "bytes sent twice: at most one piece per connection");
    cr_assert_eq(rslt_sh(NULL, NULL, "cmp '%s/big.bin' '%s'", j.src, fin), 0, "not identical");
    cr_assert(!rslt_exists(tmp), "temp left");
    /* the record is gone and a re-run sends nothing */
    cr_assert_eq(recorded(j.db, "big.bin"), -1);
    rc = rslt_sh(&out, &err, "'%s' run -v '%s'", rslt_bin(), j.conf);
    cr_assert_eq(rc, 0, "exit %d\n%s\n%s", rc, out, err);
    cr_assert(strstr(out, "applied: 0 files") != NULL, "%s", out);
}

Test(sftp_ranges, a_big_file_in_pieces_keeps_mode_and_mtime, .timeout = 120)
{
    job j = make_job("rg-attrs", "transfers = 3\nmulti_connection_min = 1M", DELAY_MS);
    char *src = sub(j.src, "mid.bin");
    rslt_write_random(src, (uint64_t)(40 * MIB), 12);
    cr_assert_eq(chmod(src, 0640), 0);
    struct timespec ts[2] = {{.tv_sec = 1500000000}, {.tv_sec = 1500000000}};
    cr_assert_eq(utimensat(AT_FDCWD, src, ts, 0), 0);
    char *out = NULL, *err = NULL;
    int rc = rslt_sh(&out, &err, "'%s' run -v '%s'", rslt_bin(), j.conf);
    cr_assert_eq(rc, 0, "exit %d\n%s\n%s", rc, out, err);
    cr_assert_eq(sent_bytes(out), 40 * MIB, "each byte sent once");
    cr_assert(strstr(err, "are cut over several connections") != NULL, "%s", err);
    char *fin = sub(j.root, "mid.bin");
    cr_assert_eq(rslt_sh(NULL, NULL, "cmp '%s' '%s'", src, fin), 0, "not identical");
    struct stat sb;
    cr_assert_eq(stat(fin, &sb), 0);
    cr_assert_eq(sb.st_mtime, 1500000000, "mtime set by the FINISH op");
    cr_assert_eq(sb.st_mode & 07777, 0640, "mode %o", sb.st_mode & 07777);
}

/* The round trip a run logged ("the link's round trip is X ms"), in ms;
 * -1 when it logged none. */
static double logged_rtt_ms(const char *out)
{
    const char *p = strstr(out, "the link's round trip is ");
    return p == NULL ? -1 : strtod(p + strlen("the link's round trip is "), NULL);
}

/* Loopback attempts: a machine busy with the rest of the suite (ASan, two
 * test binaries at once on two cores) can delay every reply of one run by
 * more than the 5 ms threshold; the run then rightly cuts. A few fresh
 * runs are tried until one measured loopback as loopback. */
#define LOOPBACK_TRIES 4

/* On loopback the file goes whole over one connection: the run says why
 * (the round trip it measured), sends each byte once, and the result is
 * the file. */
Test(sftp_ranges, on_loopback_a_big_file_goes_whole, .timeout = 180)
{
    char *out = NULL;
    double ms = -1;
    for (int t = 0; t < LOOPBACK_TRIES; t++) {
        char tag[32];
        snprintf(tag, sizeof(tag), "rg-local%d", t);
        job j = make_job(tag, "transfers = 3\nmulti_connection_min = 1M", 0);
        char *src = sub(j.src, "mid.bin");
        rslt_write_random(src, (uint64_t)(16 * MIB), 13);
        free(out);
        out = NULL;
        int rc = rslt_sh(&out, NULL, "'%s' run -v '%s' 2>&1", rslt_bin(), j.conf);
        cr_assert_eq(rc, 0, "exit %d\n%s", rc, out);
        ms = logged_rtt_ms(out);
        cr_assert_geq(ms, 0, "the run did not log the round trip it measured:\n%s", out);
        if (ms >= RSL_RANGES_MIN_RTT_US / 1000.0) {
            cr_assert(strstr(out, "are cut over several connections") != NULL, "%s", out);
            cr_log_warn("loopback measured %.1f ms (a busy machine): trying again", ms);
            continue;
        }
        cr_assert(strstr(out, "big files go whole over one connection each") != NULL, "%s", out);
        cr_assert_eq(sent_bytes(out), 16 * MIB, "each byte sent once");
        char *fin = sub(j.root, "mid.bin");
        cr_assert_eq(rslt_sh(NULL, NULL, "cmp '%s' '%s'", src, fin), 0, "not identical");
        free(out);
        return;
    }
    cr_assert_fail("loopback measured at least %.1f ms in %d runs:\n%s", ms, LOOPBACK_TRIES, out);
}

/* The transport's round trip: well under the threshold on loopback, at
 * least the added delay through the proxy (and not wildly more). */
Test(sftp_ranges, the_measured_round_trip_follows_the_link, .timeout = 60)
{
    rsl_remote_opts o;
    opts_init(&o, NULL);
    char *root = mkroot("rg-rtt");
    rsl_conn *c = NULL;
    rsl_err err;
    long local = -1; /* the least of a few connections (see LOOPBACK_TRIES) */
    for (int t = 0; t < LOOPBACK_TRIES && (local < 0 || local >= RSL_RANGES_MIN_RTT_US); t++) {
        cr_assert_eq(sconnect(&c, fx_int("SSH_PORT"), NULL, root, &o, &err), RSL_OK, "%s", err.msg);
        long us = sftp_ops()->link_rtt_us(c);
        sftp_ops()->disconnect(c);
        cr_assert_geq(us, 0, "no round trip measured");
        local = local < 0 || us < local ? us : local;
    }
    cr_assert(local < RSL_RANGES_MIN_RTT_US, "loopback: %ld us", local);

    int port = 0;
    pid_t px = rslt_delayproxy(fx_int("SSH_PORT"), 10, &port);
    cr_assert_gt(port, 0);
    scfg(&o)->known_hosts = known_hosts_for(port);
    cr_assert_eq(sconnect(&c, port, NULL, root, &o, &err), RSL_OK, "%s", err.msg);
    long far = sftp_ops()->link_rtt_us(c);
    sftp_ops()->disconnect(c);
    kill(px, SIGTERM);
    waitpid(px, NULL, 0);
    cr_assert(far >= 20000 && far < 200000, "through a 20 ms link: %ld us", far);
}
