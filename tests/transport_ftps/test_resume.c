/* FTPS transport: real faults. The server's session processes killed in the middle
 * of a 48 MiB upload, the control connection cut by scripts/cutproxy.py, the final
 * "226" lost after every byte was sent; then resume and byte-identical results. */
#include "ftps_test.h"

#define OPS rsl_transport_ftps
#define CHUNK (1u << 20) /* the transport's upload buffer: "one chunk" */

/* A remote directory for one test, writable by the FTP user. */
static void fresh_dir(fx *f, const char *name, char *local, size_t n)
{
    snprintf(local, n, "%s/%s", f->datadir, name);
    rslt_rmrf(local);
    cr_assert_eq(mkdir(local, 0755), 0);
    cr_assert_eq(rslt_sh(NULL, NULL, "chown %s '%s'", f->user, local), 0);
}

static int same_file(const char *a, const char *b)
{
    return rslt_sh(NULL, NULL, "cmp -s '%s' '%s'", a, b) == 0;
}

struct killer {
    int pid;
    int killed;
};

static void kill_session(void *ud)
{
    struct killer *k = ud;
    k->killed = kill_children(k->pid);
}

Test(ftps_resume, server_session_killed_mid_upload, .timeout = 180)
{
    fx f;
    fx_load(&f);
    char local[4096], src[4096], remote_final[4200];
    fresh_dir(&f, "killres", local, sizeof(local));
    char *tmpd = rslt_tmpdir("ftps-kill");
    snprintf(src, sizeof(src), "%s/big.bin", tmpd);
    const uint64_t total = 48ull << 20;
    rslt_write_random(src, total, 7);
    rsl_err err = {0};
    rsl_conn *c = NULL;
    cr_assert_eq(fx_connect_url(&f, "ftps", f.host, f.kill_port, "/data/killres", &c, &err), RSL_OK,
                 "%s", err.msg);

    /* run 1: the vsftpd processes serving us are SIGKILLed after 20 MiB were pulled */
    tsrc t;
    tsrc_file(&t, src);
    struct killer k = {.pid = f.kill_pid};
    t.trip_at = 20ull << 20;
    t.trip = kill_session;
    t.trip_ud = &k;
    uint64_t have = 1;
    cr_assert_eq(OPS.resume_offset(c, "big.bin.rsl-part", total, &t.s, &have, &err), RSL_OK);
    cr_assert_eq(have, 0);
    tsrc_seek(&t, 0);
    rsl_code rc = OPS.upload(c, "big.bin.rsl-part", 0, total, &t.s, &err);
    cr_assert_gt(k.killed, 0, "the session processes were killed");
    cr_assert_eq(rsl_code_class(rc), RSL_CLASS_SESSION, "a session error: %s %s", rsl_code_name(rc),
                 err.msg);
    uint64_t pulled1 = t.pulled;
    OPS.disconnect(c);

    /* run 2: as the engine does: reconnect, ask how much is there, send only the rest */
    c = NULL;
    cr_assert_eq(fx_connect_url(&f, "ftps", f.host, f.kill_port, "/data/killres", &c, &err), RSL_OK,
                 "%s", err.msg);
    cr_assert_eq(OPS.resume_offset(c, "big.bin.rsl-part", total, &t.s, &have, &err), RSL_OK, "%s",
                 err.msg);
    cr_log_info("killed after %llu bytes pulled (%s: %s); resume at %llu of %llu",
                (unsigned long long)pulled1, rsl_code_name(rc), err.msg, (unsigned long long)have,
                (unsigned long long)total);
    cr_assert_gt(have, 8ull << 20, "most of what was sent before the kill is kept (%llu)",
                 (unsigned long long)have);
    cr_assert_leq(have, pulled1);
    tsrc_seek(&t, have);
    rc = OPS.upload(c, "big.bin.rsl-part", have, total, &t.s, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert_leq(t.pulled, total - have + CHUNK, "second attempt: %llu bytes for %llu left",
                  (unsigned long long)t.pulled, (unsigned long long)(total - have));
    cr_assert_eq(OPS.finish(c, "big.bin.rsl-part", "big.bin", total, -1, &err), RSL_OK, "%s",
                 err.msg);
    snprintf(remote_final, sizeof(remote_final), "%s/big.bin", local);
    cr_assert(same_file(src, remote_final), "byte-identical after resume");
    OPS.disconnect(c);
    close(t.fd);
    rslt_rmrf(tmpd);
    rslt_rmrf(local);
    free(tmpd);
    fx_free(&f);
}

/* ---- cutproxy helpers ---- */

struct proxy {
    int pid;
    int port;
    char portfile[4096];
};

static void proxy_start(struct proxy *p, int target, long cut_after, int listen_port)
{
    char *out = NULL;
    unlink(p->portfile);
    int st = rslt_sh(&out, NULL,
                     "python3 '%s/scripts/cutproxy.py' --target 127.0.0.1:%d --cut-after %ld "
                     "--listen-port %d --port-file '%s' --lifetime 120 >/dev/null 2>&1 & echo $!",
                     rslt_srcdir(), target, cut_after, listen_port, p->portfile);
    cr_assert_eq(st, 0);
    p->pid = (int)strtol(out, NULL, 10);
    free(out);
    for (int i = 0; i < 200 && !rslt_exists(p->portfile); i++)
        usleep(20000); /* polls for the port file the proxy writes once listening */
    char *port = rslt_read(p->portfile, NULL);
    cr_assert_not_null(port, "cutproxy did not start");
    p->port = (int)strtol(port, NULL, 10);
    free(port);
}

static void proxy_stop(struct proxy *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        /* gone, or a zombie nobody reaped yet: either way its sockets are closed */
        rslt_sh(NULL, NULL,
                "while [ -e /proc/%d ] && ! grep -q '^[0-9]* ([^)]*) Z' /proc/%d/stat 2>/dev/null; "
                "do sleep 0.01; done",
                p->pid, p->pid);
    }
    p->pid = 0;
}

/* The control connection is cut (RST) by cutproxy in the middle of the run: the
 * call in flight fails with a code the engine reconnects on (rsl_code_reconnects;
 * the engine's retry itself is tested on the fake transport), never leaving a
 * partial file under its final name; the next call on the same connection object
 * logs in again, once, and every file it sends arrives byte for byte. */
Test(ftps_resume, control_connection_cut_by_proxy, .timeout = 120)
{
    fx f;
    fx_load(&f);
    char local[4096];
    fresh_dir(&f, "cutres", local, sizeof(local));
    struct proxy p = {0};
    char *tmpd = rslt_tmpdir("ftps-cut");
    snprintf(p.portfile, sizeof(p.portfile), "%s/port", tmpd);
    /* ~4 KB of client->server control bytes: past the login, into the uploads */
    proxy_start(&p, f.port, 4000, 0);
    rsl_err err = {0};
    rsl_conn *c = NULL;
    cr_assert_eq(fx_connect_url(&f, "ftps", f.host, p.port, "/data/cutres", &c, &err), RSL_OK, "%s",
                 err.msg);
    int failures = 0, after = 0;
    /* until the cut happened and a few files went through after it */
    for (int i = 0; i < 80 && after < 5; i++) {
        rsl_ftps_stats now;
        rsl_ftps_stats_get(c, &now);
        after += now.control_connects > 1; /* the cut forced a new login */
        char name[32], body[64];
        snprintf(name, sizeof(name), "f%02d", i);
        snprintf(body, sizeof(body), "body of file %d\n", i);
        rsl_code rc = fx_put(c, name, body, -1, &err);
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s", local, name);
        char *got = rslt_read(path, NULL);
        if (rc != RSL_OK) {
            failures++;
            cr_assert(rc == RSL_E_CONNECTION_LOST || rc == RSL_E_TIMEOUT, "%s %s",
                      rsl_code_name(rc), err.msg);
            cr_assert(rsl_code_reconnects(rc), "the engine reconnects on %s", rsl_code_name(rc));
            cr_assert(got == NULL || strcmp(got, body) == 0,
                      "never a partial file under its final name");
            free(got);
            continue;
        }
        cr_assert_not_null(got, "%s", name);
        cr_assert_str_eq(got, body);
        free(got);
    }
    /* the call in flight failed once, or (cut while asking SIZE after a complete
     * upload) the transport confirmed the size on a new login and went on */
    cr_assert_leq(failures, 1, "the proxy cut exactly one connection");
    rsl_ftps_stats st;
    rsl_ftps_stats_get(c, &st);
    cr_assert_eq(st.control_connects, 2, "logged in again once");
    OPS.disconnect(c);
    proxy_stop(&p);
    rslt_rmrf(tmpd);
    free(tmpd);
    rslt_rmrf(local);
    fx_free(&f);
}

struct swap {
    struct proxy *p;
    int target;
};

/* Kills the proxy carrying the control connection and starts a new one on the
 * same port: the 226 for the upload in flight is lost, later logins work. */
static void swap_proxy(void *ud)
{
    struct swap *s = ud;
    int port = s->p->port;
    proxy_stop(s->p);
    proxy_start(s->p, s->target, -1, port);
}

/* All data sent, then the control connection dies before the final 226: the
 * transport asks the server for the size instead of failing (and never starts
 * over a complete file). */
Test(ftps_resume, final_reply_lost_after_all_data_sent, .timeout = 120)
{
    fx f;
    fx_load(&f);
    char local[4096], src[4096], dst[4200];
    fresh_dir(&f, "lost226", local, sizeof(local));
    struct proxy p = {0};
    char *tmpd = rslt_tmpdir("ftps-226");
    snprintf(p.portfile, sizeof(p.portfile), "%s/port", tmpd);
    snprintf(src, sizeof(src), "%s/f.bin", tmpd);
    const uint64_t total = 4ull << 20;
    rslt_write_random(src, total, 11);
    proxy_start(&p, f.port, -1, 0);
    rsl_err err = {0};
    rsl_conn *c = NULL;
    cr_assert_eq(fx_connect_url(&f, "ftps", f.host, p.port, "/data/lost226", &c, &err), RSL_OK,
                 "%s", err.msg);
    tsrc t;
    tsrc_file(&t, src);
    struct swap sw = {.p = &p, .target = f.port};
    t.trip_at = total; /* when the last byte is handed over */
    t.trip = swap_proxy;
    t.trip_ud = &sw;
    rsl_code rc = OPS.upload(c, "f.bin.rsl-part", 0, total, &t.s, &err);
    cr_assert_eq(rc, RSL_OK, "complete on the server, so OK: %s %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(f.log.text, "no final reply") != NULL, "the size was checked: %s", f.log.text);
    cr_log_info("%s", f.log.text);
    cr_assert_eq(t.pulled, total, "nothing was sent twice");
    cr_assert_eq(OPS.finish(c, "f.bin.rsl-part", "f.bin", total, -1, &err), RSL_OK, "%s", err.msg);
    snprintf(dst, sizeof(dst), "%s/f.bin", local);
    cr_assert(same_file(src, dst));
    rsl_ftps_stats st;
    rsl_ftps_stats_get(c, &st);
    cr_assert_eq(st.control_connects, 2);
    OPS.disconnect(c);
    close(t.fd);
    proxy_stop(&p);
    rslt_rmrf(tmpd);
    free(tmpd);
    rslt_rmrf(local);
    fx_free(&f);
}

/* The server closed the idle control connection between two files (a NAT that
 * forgot it, the server's idle timeout): the call that finds it dead either logs
 * in again by itself or returns a code the engine reconnects on (its retry is
 * the engine's, tested on the fake transport); the next file goes through on
 * the one new login, byte for byte. */
Test(ftps_resume, idle_session_killed_between_files)
{
    fx f;
    fx_load(&f);
    char local[4096], path[4200];
    fresh_dir(&f, "idle", local, sizeof(local));
    rsl_conn *c = NULL;
    rsl_err err = {0};
    cr_assert_eq(fx_connect_url(&f, "ftps", f.host, f.idle_port, "/data/idle", &c, &err), RSL_OK,
                 "%s", err.msg);
    cr_assert_eq(fx_put(c, "one", "1", -1, &err), RSL_OK, "%s", err.msg);
    cr_assert_gt(kill_children(f.idle_pid), 0, "killed the session");
    rsl_code rc = fx_put(c, "two", "22", -1, &err);
    snprintf(path, sizeof(path), "%s/two", local);
    char *got = rslt_read(path, NULL);
    if (rc != RSL_OK) {
        cr_assert_eq(rsl_code_class(rc), RSL_CLASS_SESSION, "%s %s", rsl_code_name(rc), err.msg);
        cr_assert(rsl_code_reconnects(rc), "the engine reconnects on %s", rsl_code_name(rc));
        cr_assert(got == NULL || strcmp(got, "22") == 0, "never a partial file");
    } else {
        cr_assert_str_eq(got, "22");
    }
    free(got);
    cr_assert_eq(fx_put(c, "three", "333", -1, &err), RSL_OK, "%s", err.msg);
    rsl_ftps_stats st;
    rsl_ftps_stats_get(c, &st);
    cr_assert_eq(st.control_connects, 2, "logged in again once");
    snprintf(path, sizeof(path), "%s/three", local);
    got = rslt_read(path, NULL);
    cr_assert_str_eq(got, "333");
    free(got);
    OPS.disconnect(c);
    rslt_rmrf(local);
    fx_free(&f);
}

struct freezer {
    int pid;
    int frozen;
};

static void freeze_session(void *ud)
{
    struct freezer *z = ud;
    z->frozen = signal_children(z->pid, SIGSTOP);
}

/* The server stops answering in the middle of an upload (its session processes
 * frozen with SIGSTOP): the upload ends with TIMEOUT after `timeout` seconds
 * instead of hanging, and the next connection resumes from what arrived. */
Test(ftps_resume, server_frozen_mid_upload_times_out_then_resumes, .timeout = 120)
{
    fx f;
    fx_load(&f);
    char local[4096], src[4096], dst[4200];
    fresh_dir(&f, "stall", local, sizeof(local));
    char *tmpd = rslt_tmpdir("ftps-stall");
    snprintf(src, sizeof(src), "%s/s.bin", tmpd);
    const uint64_t total = 24ull << 20;
    rslt_write_random(src, total, 13);
    f.o.timeout_sec = 2;
    rsl_err err = {0};
    rsl_conn *c = NULL;
    cr_assert_eq(fx_connect_url(&f, "ftps", f.host, f.stall_port, "/data/stall", &c, &err), RSL_OK,
                 "%s", err.msg);
    tsrc t;
    tsrc_file(&t, src);
    struct freezer z = {.pid = f.stall_pid};
    t.trip_at = 6ull << 20;
    t.trip = freeze_session;
    t.trip_ud = &z;
    time_t t0 = time(NULL);
    rsl_code rc = OPS.upload(c, "s.bin.rsl-part", 0, total, &t.s, &err);
    time_t waited = time(NULL) - t0;
    cr_assert_gt(z.frozen, 0, "the session processes were frozen");
    cr_assert_eq(rc, RSL_E_TIMEOUT, "%s %s", rsl_code_name(rc), err.msg);
    cr_log_info("frozen server: %s after %ld s", err.msg, (long)waited);
    cr_assert_leq(waited, 15, "gave up after about `timeout`, not never (%ld s)", (long)waited);
    OPS.disconnect(c);
    kill_children(f.stall_pid); /* SIGKILL ends stopped processes too */

    c = NULL;
    f.o.timeout_sec = 20;
    cr_assert_eq(fx_connect_url(&f, "ftps", f.host, f.stall_port, "/data/stall", &c, &err), RSL_OK,
                 "%s", err.msg);
    uint64_t have = 0;
    cr_assert_eq(OPS.resume_offset(c, "s.bin.rsl-part", total, &t.s, &have, &err), RSL_OK, "%s",
                 err.msg);
    cr_assert_gt(have, 0);
    tsrc_seek(&t, have);
    cr_assert_eq(OPS.upload(c, "s.bin.rsl-part", have, total, &t.s, &err), RSL_OK, "%s", err.msg);
    cr_assert_leq(t.pulled, total - have + CHUNK);
    cr_assert_eq(OPS.finish(c, "s.bin.rsl-part", "s.bin", total, -1, &err), RSL_OK, "%s", err.msg);
    snprintf(dst, sizeof(dst), "%s/s.bin", local);
    cr_assert(same_file(src, dst));
    OPS.disconnect(c);
    close(t.fd);
    rslt_rmrf(tmpd);
    free(tmpd);
    rslt_rmrf(local);
    fx_free(&f);
}

/* Zeroes [off, off + n) of a file on the server's disk (a write cache that
 * lost part of the temp, as rclone's did). */
static void zero_range(const char *path, uint64_t off, size_t n)
{
    int fd = open(path, O_WRONLY);
    cr_assert_geq(fd, 0, "%s", path);
    char *z = calloc(1, n);
    cr_assert_eq(pwrite(fd, z, n, (off_t)off), (ssize_t)n);
    free(z);
    close(fd);
}

/* A resume keeps the temp only after sampled blocks spread over all of it
 * were read back (REST + RETR) and matched, not only its tail: a temp whose
 * middle was zeroed on the server is not kept (FTP cannot truncate, so
 * nothing of it is), an intact one is kept whole; the cut-short reads cost
 * logins, counted here. */
Test(ftps_resume, a_temp_with_a_zeroed_middle_is_not_kept, .timeout = 120)
{
    fx f;
    fx_load(&f);
    char local[4096], tmp[4200];
    fresh_dir(&f, "zeroed", local, sizeof(local));
    snprintf(tmp, sizeof(tmp), "%s/z.bin.rsl-part", local);
    const size_t total = 8u << 20, part = 5u << 20;
    unsigned char *data = malloc(total);
    cr_assert_not_null(data);
    for (size_t i = 0; i < total; i++)
        data[i] = (unsigned char)((i * 2654435761u) >> 13);
    rsl_conn *c = NULL;
    rsl_err err = {0};
    cr_assert_eq(fx_connect_url(&f, "ftps", f.host, f.port, "/data/zeroed", &c, &err), RSL_OK, "%s",
                 err.msg);
    tsrc first, all;
    tsrc_mem(&first, data, part); /* what an interrupted upload left */
    tsrc_mem(&all, data, total);
    cr_assert_eq(OPS.upload(c, "z.bin.rsl-part", 0, part, &first.s, &err), RSL_OK, "%s", err.msg);
    rsl_ftps_stats st0, st1;
    rsl_ftps_stats_get(c, &st0);
    uint64_t have = 0;
    cr_assert_eq(OPS.resume_offset(c, "z.bin.rsl-part", total, &all.s, &have, &err), RSL_OK, "%s",
                 err.msg);
    cr_assert_eq(have, part, "an intact temp is kept whole");
    rsl_ftps_stats_get(c, &st1);
    cr_log_info("sampling %zu bytes: %ld login(s), %ld data transfer(s)", part,
                st1.control_connects - st0.control_connects,
                st1.data_transfers - st0.data_transfers);
    cr_assert_eq(st1.data_transfers - st0.data_transfers, 4, /* FTPS_RESUME_SAMPLES */
                 "one RETR per sampled block");

    zero_range(tmp, 1u << 20, 3u << 20); /* the middle; its tail stays intact */
    have = 1;
    cr_assert_eq(OPS.resume_offset(c, "z.bin.rsl-part", total, &all.s, &have, &err), RSL_OK, "%s",
                 err.msg);
    cr_assert_eq(have, 0, "a temp that differs in the middle is not kept (kept %llu)",
                 (unsigned long long)have);
    /* the connection still works after the cut-short reads */
    all.pos = 0;
    cr_assert_eq(OPS.upload(c, "z.bin.rsl-part", 0, total, &all.s, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(OPS.finish(c, "z.bin.rsl-part", "z.bin", total, -1, &err), RSL_OK, "%s", err.msg);
    snprintf(tmp, sizeof(tmp), "%s/z.bin", local);
    size_t len = 0;
    char *got = rslt_read(tmp, &len);
    cr_assert(got != NULL && len == total && memcmp(got, data, total) == 0, "byte-identical");
    free(got);
    free(data);
    OPS.disconnect(c);
    rslt_rmrf(local);
    fx_free(&f);
}
