/* Tests for transports/sftp_put.c, the pipelined run, over both carriers
 * against the fixture's sshd: a window of small files, per-op failure
 * isolation, a big file with many writes in flight, resume from sampled
 * blocks, verify failures, a source that ends early, and cancellation. */
#include "put_test.h"

#include <sys/stat.h>

#define BOTH(name)                                                                                 \
    static void name##_body(int kind);                                                             \
    Test(sftp_put_ssh2, name, .timeout = 240)                                                      \
    {                                                                                              \
        name##_body(CAR_SSH2);                                                                     \
    }                                                                                              \
    Test(sftp_put_exec, name, .timeout = 240)                                                      \
    {                                                                                              \
        name##_body(CAR_EXEC);                                                                     \
    }                                                                                              \
    static void name##_body(int kind)

static void open_main(tconn *c, int kind, const char *root)
{
    rsl_err err = {0};
    int port = fx_int("SSH_PORT");
    rsl_code rc = topen(c, kind, port, port, root, 30, &err);
    cr_assert_eq(rc, RSL_OK, "%s: %s", rsl_code_name(rc), err.msg);
}

static rsl_code run_feed(tconn *c, tfeed *f, const rsl_sftp_put_opts *o, rsl_err *err)
{
    rsl_feed feed = tfeed_feed(f);
    return rsl_sftp_put_run(c->s, o, &feed, err);
}

static void check_file(const char *root, const char *rel, const void *data, uint64_t n,
                       int64_t mtime, uint32_t mode)
{
    char p[4200];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    cr_assert(same_content(p, data, n), "%s: content differs", rel);
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    if (mtime >= 0)
        cr_assert_eq((int64_t)st.st_mtime, mtime, "%s: mtime", rel);
    if (mode != 0)
        cr_assert_eq(st.st_mode & 07777, mode, "%s: mode %o", rel, st.st_mode & 07777);
    snprintf(p, sizeof(p), "%s/%s.rsl-part", root, rel);
    cr_assert_not(rslt_exists(p), "%s: temp file left", rel);
}

/* 200 small files in 10 directories: MKDIRs first (each file waits for its
 * directory, as the engine feeds them), all in one window. */
BOTH(two_hundred_small_files_in_one_window)
{
    enum { D = 10, F = 200 };
    char *root = mkroot("small");
    tconn c;
    open_main(&c, kind, root);
    rsl_op ops[D + F];
    msrc src[F];
    unsigned char *data[F];
    tfeed f;
    tfeed_init(&f, ops, D + F);
    for (int d = 0; d < D; d++) {
        memset(&ops[d], 0, sizeof(ops[d]));
        ops[d].kind = RSL_OP_MKDIR;
        char *p = NULL;
        cr_assert(asprintf(&p, "d%02d", d) > 0);
        ops[d].path = p;
        ops[d].mode = d % 2 ? 0750 : 0; /* 0: the run's default, 0755 */
    }
    for (int i = 0; i < F; i++) {
        uint64_t n = (uint64_t)(i * 37) % 9000; /* 0 .. 9 KiB, some empty */
        data[i] = random_bytes(n, (unsigned)i);
        char rel[64];
        snprintf(rel, sizeof(rel), "d%02d/f%03d.bin", i % D, i);
        put_op(&ops[D + i], &src[i], rel, data[i], n, 1500000000 + i, i % 2 ? 0640 : 0604);
        f.dep[D + i] = i % D;
    }
    rsl_err err = {0};
    rsl_code rc = run_feed(&c, &f, NULL, &err);
    cr_assert_eq(rc, RSL_OK, "%s: %s", rsl_code_name(rc), err.msg);
    cr_assert_eq(f.done_n, D + F, "every op completes exactly once");
    for (int i = 0; i < D + F; i++)
        cr_assert_eq(ops[i].err.code, RSL_OK, "op %d (%s): %s", i, ops[i].path, ops[i].err.msg);
    for (int i = 0; i < F; i++) {
        check_file(root, ops[D + i].path, data[i], ops[D + i].size, ops[D + i].mtime,
                   ops[D + i].mode);
        cr_assert_eq(src[i].verified, 1, "verify runs once, before the rename");
        cr_assert_eq(src[i].started, 1);
        cr_assert_eq(ops[D + i].sent, ops[D + i].size);
        free(data[i]);
    }
    for (int d = 0; d < D; d++) {
        char p[4200];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", root, ops[d].path);
        cr_assert_eq(stat(p, &st), 0);
        cr_assert_eq(st.st_mode & 0777, d % 2 ? 0750 : 0755, "%s: mode %o", p, st.st_mode & 0777);
    }
    /* many files were in flight at once: far more requests than a file's */
    cr_assert_gt(rsl_sftp_client_get_stats(c.s)->max_outstanding, 60, "max in flight %u",
                 rsl_sftp_client_get_stats(c.s)->max_outstanding);
    for (int i = 0; i < D + F; i++)
        op_free(&ops[i]);
    tfeed_free(&f);
    tclose(&c);
    rslt_rmrf(root);
    free(root);
}

/* A refused file in the middle of a window fails alone with its code. */
BOTH(refused_files_fail_alone)
{
    enum { F = 60 };
    char *root = mkroot("refuse");
    char p[4200], *user = fx("SSH_USER");
    snprintf(p, sizeof(p), "%s/ro", root);
    cr_assert_eq(
        rslt_sh(NULL, NULL, "mkdir '%s' && chown %s '%s' && chmod 0555 '%s'", p, user, p, p), 0);
    free(user);
    int can = fx_int("SSH_CAN_CHMOD");
    tconn c;
    open_main(&c, kind, root);
    rsl_op ops[F + 3];
    msrc src[F];
    unsigned char *data = random_bytes(5000, 7);
    char longname[400];
    memset(longname, 'L', 300);
    longname[300] = '\0';
    for (int i = 0; i < F; i++) {
        char rel[400];
        if (i == 20)
            snprintf(rel, sizeof(rel), "ro/denied.bin");
        else if (i == 30)
            snprintf(rel, sizeof(rel), "%s", longname);
        else if (i == 40)
            snprintf(rel, sizeof(rel), "nodir/x.bin");
        else
            snprintf(rel, sizeof(rel), "ok%02d.bin", i);
        put_op(&ops[i], &src[i], rel, data, 5000, 1600000000, 0);
    }
    memset(&ops[F], 0, sizeof(rsl_op) * 3);
    ops[F].kind = RSL_OP_STAT;
    ops[F].path = strdup("ok00.bin"); /* may run before or after its PUT */
    ops[F + 1].kind = RSL_OP_REMOVE;
    ops[F + 1].path = strdup("absent.bin");
    ops[F + 2].kind = RSL_OP_MKDIR;
    ops[F + 2].path = strdup("ro/sub");
    tfeed f;
    tfeed_init(&f, ops, F + 3);
    rsl_err err = {0};
    rsl_code rc = run_feed(&c, &f, NULL, &err);
    cr_assert_eq(rc, RSL_OK, "per-item failures do not end the run: %s", err.msg);
    cr_assert_eq(f.done_n, F + 3);
    for (int i = 0; i < F; i++) {
        rsl_code want = RSL_OK;
        if (i == 20 && can)
            want = RSL_E_REMOTE_PERMISSION;
        else if (i == 30)
            want = RSL_E_REMOTE_NAME_REFUSED;
        else if (i == 40)
            want = RSL_E_REMOTE_NOT_FOUND;
        cr_assert_eq(ops[i].err.code, want, "op %d (%.40s): %s %s", i, ops[i].path,
                     rsl_code_name(ops[i].err.code), ops[i].err.msg);
        if (want == RSL_OK)
            check_file(root, ops[i].path, data, 5000, 1600000000, 0);
        else
            cr_assert(strstr(ops[i].err.msg, "open '") != NULL, "%s", ops[i].err.msg);
    }
    cr_assert_eq(ops[F + 1].err.code, RSL_OK, "removing what is absent is OK");
    if (can)
        cr_assert_eq(ops[F + 2].err.code, RSL_E_REMOTE_PERMISSION, "%s", ops[F + 2].err.msg);
    cr_assert_eq(rsl_sftp_client_error(c.s, &err), RSL_OK);
    for (int i = 0; i < F + 3; i++)
        op_free(&ops[i]);
    tfeed_free(&f);
    free(data);
    tclose(&c);
    rslt_sh(NULL, NULL, "chmod -R u+w '%s'", root);
    rslt_rmrf(root);
    free(root);
}

/* One 64 MiB file: many writes in flight, exact content, one pass over the
 * source. */
BOTH(big_file_many_writes_in_flight)
{
    const uint64_t N = 64ull << 20;
    char *root = mkroot("big");
    tconn c;
    open_main(&c, kind, root);
    unsigned char *data = random_bytes(N, 64);
    rsl_op op;
    msrc m;
    put_op(&op, &m, "big.bin", data, N, 1700000000, 0640);
    tfeed f;
    tfeed_init(&f, &op, 1);
    rsl_err err = {0};
    double t0 = now_s();
    rsl_code rc = run_feed(&c, &f, NULL, &err);
    double dt = now_s() - t0;
    cr_assert_eq(rc, RSL_OK, "%s", err.msg);
    cr_assert_eq(op.err.code, RSL_OK, "%s", op.err.msg);
    cr_log_info("64 MiB over %s in %.2f s (%.0f MB/s); at most %u requests in flight",
                kind == CAR_SSH2 ? "libssh2" : "ssh", dt, N / dt / 1e6,
                rsl_sftp_client_get_stats(c.s)->max_outstanding);
    check_file(root, "big.bin", data, N, 1700000000, 0640);
    cr_assert_eq(m.pulled, N, "the source is read once");
    cr_assert_eq(op.sent, N);
    cr_assert_eq(op.offset, 0);
    /* the 2 MiB SSH channel window of OpenSSH bounds the bytes in flight:
     * 8 writes of 255 KiB, plus what waits in our buffer */
    cr_assert_geq(rsl_sftp_client_get_stats(c.s)->max_outstanding, 8);
    op_free(&op);
    tfeed_free(&f);
    free(data);
    tclose(&c);
    rslt_rmrf(root);
    free(root);
}

/* Resume: the temp file's prefix is checked by sampled blocks. */
BOTH(resume_keeps_the_verified_prefix)
{
    const uint64_t N = 12ull << 20;
    char *root = mkroot("resume");
    unsigned char *data = random_bytes(N, 12);
    /* a: 8 MiB of the right bytes; b: 8 MiB with a changed byte at 5 MiB;
     * c: 100 KiB with byte 5000 changed; d: complete; e: longer than the file */
    /* the sampled blocks of an 8 MiB temp file: 16 of 32 KiB, the i-th at
     * (8 MiB - 32 KiB) * i / 15; a change outside them is not seen (that is
     * what sampling means), so b's change is inside block 9 */
    const uint64_t S = 8u << 20, B = RSL_SFTP_RESUME_BLOCK;
    const uint64_t blk9 = (S - B) * 9 / 15, blk8_end = (S - B) * 8 / 15 + B;
    unsigned char *bad = malloc(N);
    memcpy(bad, data, N);
    bad[blk9 + 1000] ^= 0xff;
    bad[5000] ^= 0x01;
    remote_put_local(root, "a.bin.rsl-part", data, 8u << 20);
    remote_put_local(root, "b.bin.rsl-part", bad + 0, 8u << 20);
    remote_put_local(root, "c.bin.rsl-part", bad, 100000);
    remote_put_local(root, "d.bin.rsl-part", data, N);
    remote_put_local(root, "e.bin.rsl-part", data, 1000);
    /* b's block at 5000 differs too: make b differ only at 5 MiB */
    char p[4200];
    snprintf(p, sizeof(p), "%s/b.bin.rsl-part", root);
    FILE *fp = fopen(p, "r+b");
    fseek(fp, 5000, SEEK_SET);
    fputc(data[5000], fp);
    fclose(fp);
    tconn c;
    open_main(&c, kind, root);
    const char *names[5] = {"a.bin", "b.bin", "c.bin", "d.bin", "e.bin"};
    uint64_t sizes[5] = {N, N, N, N, 500};
    rsl_op ops[5];
    msrc src[5];
    for (int i = 0; i < 5; i++) {
        put_op(&ops[i], &src[i], names[i], data, sizes[i], 1650000000, 0);
        ops[i].resume = 1;
    }
    tfeed f;
    tfeed_init(&f, ops, 5);
    rsl_err err = {0};
    cr_assert_eq(run_feed(&c, &f, NULL, &err), RSL_OK, "%s", err.msg);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(ops[i].err.code, RSL_OK, "%s: %s", names[i], ops[i].err.msg);
        check_file(root, names[i], data, sizes[i], 1650000000, 0);
        cr_assert_eq(src[i].start_at, ops[i].offset);
        cr_assert_eq(src[i].pulled, sizes[i] - ops[i].offset, "%s pulls only what is missing",
                     names[i]);
    }
    cr_assert_eq(ops[0].offset, 8u << 20, "a: the whole prefix is kept");
    /* b: block 9 differs: the kept prefix ends after block 8 */
    cr_assert_eq(ops[1].offset, blk8_end, "b kept %llu", (unsigned long long)ops[1].offset);
    cr_assert_eq(ops[2].offset, 5000, "c: small temp files are compared whole");
    cr_assert_eq(ops[3].offset, N, "d: complete: only finished");
    cr_assert_eq(ops[4].offset, 0, "e: a temp file larger than the file is not resumed");
    for (int i = 0; i < 5; i++)
        op_free(&ops[i]);
    tfeed_free(&f);
    free(data);
    free(bad);
    tclose(&c);
    rslt_rmrf(root);
    free(root);
}

/* A failed verify leaves the final name alone and the temp file whole; a
 * source that ends early fails with LOCAL_CHANGED. The others land. */
BOTH(local_failures_fail_alone)
{
    char *root = mkroot("local");
    tconn c;
    open_main(&c, kind, root);
    const uint64_t N = 3u << 20;
    unsigned char *data = random_bytes(N, 3);
    rsl_op ops[3];
    msrc src[3];
    put_op(&ops[0], &src[0], "changed.bin", data, N, -1, 0);
    src[0].fail_verify = 1;
    put_op(&ops[1], &src[1], "short.bin", data, N, -1, 0);
    src[1].size = (1u << 20) + 77; /* the local file ends before op->size */
    put_op(&ops[2], &src[2], "fine.bin", data, N, -1, 0);
    tfeed f;
    tfeed_init(&f, ops, 3);
    rsl_err err = {0};
    cr_assert_eq(run_feed(&c, &f, NULL, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(ops[0].err.code, RSL_E_LOCAL_CHANGED);
    char p[4200];
    snprintf(p, sizeof(p), "%s/changed.bin", root);
    cr_assert_not(rslt_exists(p), "no file under its final name after a failed verify");
    snprintf(p, sizeof(p), "%s/changed.bin.rsl-part", root);
    cr_assert(same_content(p, data, N), "the temp file stays whole (resumable)");
    cr_assert_eq(ops[1].err.code, RSL_E_LOCAL_CHANGED, "%s", ops[1].err.msg);
    cr_assert(strstr(ops[1].err.msg, "ended at") != NULL, "%s", ops[1].err.msg);
    snprintf(p, sizeof(p), "%s/short.bin.rsl-part", root);
    cr_assert_eq(rslt_size(p), (long long)ops[1].sent, "temp truncated to the acknowledged end");
    snprintf(p, sizeof(p), "%s/short.bin", root);
    cr_assert_not(rslt_exists(p));
    cr_assert_eq(ops[2].err.code, RSL_OK, "%s", ops[2].err.msg);
    check_file(root, "fine.bin", data, N, -1, 0);
    for (int i = 0; i < 3; i++)
        op_free(&ops[i]);
    tfeed_free(&f);
    free(data);
    tclose(&c);
    rslt_rmrf(root);
    free(root);
}

/* Cancelled (SIGTERM in the engine): no new ops; a PUT in flight stops as
 * INTERRUPTED with its acknowledged prefix, resumable. */
BOTH(cancel_stops_and_leaves_resumable_temp)
{
    char *root = mkroot("cancel");
    tconn c;
    open_main(&c, kind, root);
    const uint64_t N = 48ull << 20;
    unsigned char *data = random_bytes(N, 48);
    rsl_op ops[4];
    msrc src[4];
    put_op(&ops[0], &src[0], "small.bin", data, 1000, -1, 0);
    put_op(&ops[1], &src[1], "huge.bin", data, N, -1, 0);
    put_op(&ops[2], &src[2], "later1.bin", data, 1000, -1, 0);
    put_op(&ops[3], &src[3], "later2.bin", data, 1000, -1, 0);
    tfeed f;
    tfeed_init(&f, ops, 4);
    f.dep[2] = 1; /* only after huge.bin: never taken once cancelled */
    f.dep[3] = 1;
    f.cancel_after = 1;
    rsl_err err = {0};
    cr_assert_eq(run_feed(&c, &f, NULL, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(f.done_n, 2, "the ops not taken stay with the engine");
    cr_assert_eq(ops[0].err.code, RSL_OK);
    cr_assert_eq(ops[1].err.code, RSL_E_INTERRUPTED, "%s", ops[1].err.msg);
    cr_assert_lt(ops[1].sent, N);
    char p[4200];
    snprintf(p, sizeof(p), "%s/huge.bin.rsl-part", root);
    cr_assert_eq(rslt_size(p), (long long)ops[1].sent, "temp holds the acknowledged prefix");
    cr_assert(same_content(p, data, ops[1].sent));
    for (int i = 0; i < 4; i++)
        op_free(&ops[i]);
    tfeed_free(&f);
    free(data);
    tclose(&c);
    rslt_rmrf(root);
    free(root);
}

/* The things a run reports about itself. */
BOTH(caps_and_describe)
{
    char *root = mkroot("desc");
    tconn c;
    open_main(&c, kind, root);
    cr_assert_eq(rsl_sftp_put_caps(c.s),
                 RSL_CAP_RESUME | RSL_CAP_SET_MTIME | RSL_CAP_ATOMIC_RENAME | RSL_CAP_WRITE_AT);
    char d[1024];
    rsl_sftp_put_opts o = {.fsync = 1};
    rsl_sftp_put_describe(c.s, &o, d, sizeof(d));
    cr_assert(strstr(d, "atomic replace via posix-rename@openssh.com") != NULL, "%s", d);
    cr_assert(strstr(d, "fsync@openssh.com") != NULL, "%s", d);
    cr_assert(strstr(d, "up to 128 operations") != NULL, "%s", d);
    tclose(&c);
    rslt_rmrf(root);
    free(root);
}
