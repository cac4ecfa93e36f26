/* FTPS transport: the operations the engine drives (mkdir, resume_offset, upload,
 * finish, remove, list, stat) against the real vsftpd (require_ssl_reuse=YES). The
 * results are checked on the server's disk (the fixture's chroot is local). */
#include "ftps_test.h"

#define OPS rsl_transport_ftps

static char *disk(fx *f, const char *dir, const char *rel)
{
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/%s/%s", f->datadir, dir, rel);
    return p;
}

Test(ftps_ops, mkdir_nested_cached_exists_conflict)
{
    fx f;
    fx_load(&f);
    rsl_conn *c = fx_connect_dir(&f, "mk");
    rsl_err err = {0};
    cr_assert_eq(OPS.mkdir(c, "a", &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(OPS.mkdir(c, "a/b", &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(OPS.mkdir(c, "a/b/c d", &err), RSL_OK, "%s", err.msg);
    char *p = disk(&f, "mk", "a/b/c d");
    struct stat sb;
    cr_assert(stat(p, &sb) == 0 && S_ISDIR(sb.st_mode));
    free(p);
    /* cached: a second mkdir sends nothing (no perform: transfers counter unchanged and
     * the directory may even vanish without being recreated) */
    p = disk(&f, "mk", "a/b/c d");
    rmdir(p);
    cr_assert_eq(OPS.mkdir(c, "a/b/c d", &err), RSL_OK);
    cr_assert(!rslt_exists(p), "cached mkdir must not go to the server");
    free(p);
    /* exists already (made by someone else): fine */
    p = disk(&f, "mk", "pre");
    mkdir(p, 0755);
    free(p);
    cr_assert_eq(OPS.mkdir(c, "pre", &err), RSL_OK, "%s", err.msg);
    /* a file in the way */
    p = disk(&f, "mk", "file");
    rslt_write(p, "x");
    free(p);
    rsl_code rc = OPS.mkdir(c, "file", &err);
    cr_assert_eq(rc, RSL_E_REMOTE_TYPE_CONFLICT, "%s %s", rsl_code_name(rc), err.msg);
    /* parent missing */
    rc = OPS.mkdir(c, "nope/sub", &err);
    cr_assert(rc == RSL_E_REMOTE_PERMISSION || rc == RSL_E_REMOTE_NOT_FOUND, "%s %s",
              rsl_code_name(rc), err.msg);
    OPS.disconnect(c);
    fx_free(&f);
}

Test(ftps_ops, upload_finish_size_mtime_stat)
{
    fx f;
    fx_load(&f);
    rsl_conn *c = fx_connect_dir(&f, "up");
    rsl_err err = {0};
    const char *data = "hello over FTPS\n";
    rsl_code rc = fx_put(c, "h.txt", data, 1600000000, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    char *p = disk(&f, "up", "h.txt");
    size_t n = 0;
    char *got = rslt_read(p, &n);
    cr_assert_not_null(got);
    cr_assert_str_eq(got, data);
    struct stat sb;
    stat(p, &sb);
    cr_assert_eq((long long)sb.st_mtime, 1600000000LL, "mtime set (MFMT/MDTM)");
    cr_assert(!rslt_exists(disk(&f, "up", "h.txt.rsl-part")), "temp renamed away");
    cr_assert(OPS.caps_of(c) & RSL_CAP_SET_MTIME);
    rsl_rstat st;
    cr_assert_eq(OPS.stat(c, "h.txt", &st, &err), RSL_OK, "%s", err.msg);
    cr_assert(st.exists && !st.is_dir);
    cr_assert_eq(st.size, strlen(data));
    cr_assert_eq(st.mtime, 1600000000);
    cr_assert_eq(OPS.stat(c, "missing", &st, &err), RSL_OK);
    cr_assert_eq(st.exists, 0);
    cr_assert_eq(OPS.stat(c, "", &st, &err), RSL_OK);
    cr_assert(st.exists && st.is_dir);
    /* finish refuses a temp file of the wrong size and leaves both names alone */
    tsrc t;
    tsrc_mem(&t, "12345", 5);
    cr_assert_eq(OPS.upload(c, "s.rsl-part", 0, 5, &t.s, &err), RSL_OK, "%s", err.msg);
    rc = OPS.finish(c, "s.rsl-part", "s", 6, -1, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_SIZE_MISMATCH, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(rslt_exists(disk(&f, "up", "s.rsl-part")));
    cr_assert(!rslt_exists(disk(&f, "up", "s")));
    /* an empty file */
    rc = fx_put(c, "empty", "", -1, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert_eq(rslt_size(disk(&f, "up", "empty")), 0);
    free(got);
    free(p);
    OPS.disconnect(c);
    fx_free(&f);
}

Test(ftps_ops, atomic_replace_of_existing_file)
{
    fx f;
    fx_load(&f);
    rsl_conn *c = fx_connect_dir(&f, "rep");
    rsl_err err = {0};
    cr_assert_eq(fx_put(c, "r.txt", "old contents", -1, &err), RSL_OK, "%s", err.msg);
    char *p = disk(&f, "rep", "r.txt");
    struct stat before;
    stat(p, &before);
    /* replace: the new version lands under the temp name, the old one stays readable
     * until the rename swaps the inode in one step */
    tsrc t;
    const char *nv = "new contents, longer than before";
    tsrc_mem(&t, nv, strlen(nv));
    cr_assert_eq(OPS.upload(c, "r.txt.rsl-part", 0, t.size, &t.s, &err), RSL_OK, "%s", err.msg);
    char *mid = rslt_read(p, NULL);
    cr_assert_str_eq(mid, "old contents", "old version intact while the new one uploads");
    cr_assert_eq(OPS.finish(c, "r.txt.rsl-part", "r.txt", t.size, -1, &err), RSL_OK, "%s", err.msg);
    char *got = rslt_read(p, NULL);
    cr_assert_str_eq(got, nv);
    struct stat after;
    stat(p, &after);
    cr_assert_neq(before.st_ino, after.st_ino, "replaced by rename, not rewritten in place");
    cr_assert(OPS.caps_of(c) & RSL_CAP_ATOMIC_RENAME);
    /* a directory in the way of the final name */
    char *d = disk(&f, "rep", "isdir");
    mkdir(d, 0755);
    tsrc_mem(&t, "x", 1);
    cr_assert_eq(OPS.upload(c, "isdir.rsl-part", 0, 1, &t.s, &err), RSL_OK, "%s", err.msg);
    rsl_code rc = OPS.finish(c, "isdir.rsl-part", "isdir", 1, -1, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_TYPE_CONFLICT, "%s %s", rsl_code_name(rc), err.msg);
    free(d);
    free(mid);
    free(got);
    free(p);
    OPS.disconnect(c);
    fx_free(&f);
}

Test(ftps_ops, resume_offset_and_append)
{
    fx f;
    fx_load(&f);
    rsl_conn *c = fx_connect_dir(&f, "res");
    rsl_err err = {0};
    static char big[300000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + (i * 7) % 26);
    uint64_t have = 99;
    tsrc t;
    tsrc_mem(&t, big, sizeof(big));
    cr_assert_eq(OPS.resume_offset(c, "b.rsl-part", sizeof(big), &t.s, &have, &err), RSL_OK);
    cr_assert_eq(have, 0, "absent temp file: start at 0");
    /* a previous run left the first 100000 bytes */
    char *tp = disk(&f, "res", "b.rsl-part");
    FILE *fp = fopen(tp, "wb");
    fwrite(big, 1, 100000, fp);
    fclose(fp);
    rslt_sh(NULL, NULL, "chown %s '%s'", f.user, tp); /* as if the FTP user wrote it */
    cr_assert_eq(OPS.resume_offset(c, "b.rsl-part", sizeof(big), &t.s, &have, &err), RSL_OK, "%s",
                 err.msg);
    cr_assert_eq(have, 100000);
    tsrc_seek(&t, have);
    cr_assert_eq(OPS.upload(c, "b.rsl-part", have, sizeof(big), &t.s, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(t.pulled, sizeof(big) - 100000, "only the rest is pulled from src");
    cr_assert_eq(OPS.finish(c, "b.rsl-part", "b", sizeof(big), -1, &err), RSL_OK, "%s", err.msg);
    size_t n = 0;
    char *got = rslt_read(disk(&f, "res", "b"), &n);
    cr_assert_eq(n, sizeof(big));
    cr_assert(memcmp(got, big, n) == 0);
    /* a temp file larger than the source is not resumable */
    fp = fopen(tp, "wb");
    fwrite(big, 1, 1000, fp);
    fclose(fp);
    cr_assert_eq(OPS.resume_offset(c, "b.rsl-part", 500, &t.s, &have, &err), RSL_OK);
    cr_assert_eq(have, 0);
    /* upload at an offset the remote does not have is refused, not appended blindly */
    rsl_code rc = OPS.upload(c, "b.rsl-part", 700, 2000, &t.s, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_SIZE_MISMATCH, "%s %s", rsl_code_name(rc), err.msg);
    /* offset == total: nothing to send */
    tsrc_mem(&t, big, 1000);
    tsrc_seek(&t, 1000);
    cr_assert_eq(OPS.upload(c, "b.rsl-part", 1000, 1000, &t.s, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(t.pulled, 0);
    free(got);
    free(tp);
    OPS.disconnect(c);
    fx_free(&f);
}

Test(ftps_ops, source_error_is_returned_unchanged)
{
    fx f;
    fx_load(&f);
    rsl_conn *c = fx_connect_dir(&f, "srcerr");
    rsl_err err = {0};
    static char buf[200000];
    tsrc t;
    tsrc_mem(&t, buf, sizeof(buf));
    t.fail_at_end = 1;
    /* the engine says 300000 bytes; the source fails after 200000 */
    rsl_code rc = OPS.upload(c, "x.rsl-part", 0, 300000, &t.s, &err);
    cr_assert_eq(rc, RSL_E_LOCAL_CHANGED, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, "test: local file changed") != NULL, "%s", err.msg);
    /* a source that simply ends early (the file shrank) is a local change too */
    tsrc_mem(&t, buf, sizeof(buf));
    rc = OPS.upload(c, "y.rsl-part", 0, 300000, &t.s, &err);
    cr_assert_eq(rc, RSL_E_LOCAL_CHANGED, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert_eq(t.pulled, sizeof(buf));
    /* the connection is still usable */
    cr_assert_eq(fx_put(c, "after", "ok", -1, &err), RSL_OK, "%s", err.msg);
    OPS.disconnect(c);
    fx_free(&f);
}

Test(ftps_ops, remove_files_and_dirs)
{
    fx f;
    fx_load(&f);
    rsl_conn *c = fx_connect_dir(&f, "rm");
    rsl_err err = {0};
    cr_assert_eq(OPS.mkdir(c, "d", &err), RSL_OK);
    cr_assert_eq(fx_put(c, "d/f", "x", -1, &err), RSL_OK, "%s", err.msg);
    rsl_code rc = OPS.remove(c, "d", 1, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_DELETE_FAILED, "not empty: %s %s", rsl_code_name(rc), err.msg);
    cr_assert_eq(OPS.remove(c, "d/f", 0, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(OPS.remove(c, "d/f", 0, &err), RSL_OK, "already absent is OK");
    cr_assert_eq(OPS.remove(c, "d", 1, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(OPS.remove(c, "d", 1, &err), RSL_OK, "already absent is OK");
    cr_assert(!rslt_exists(disk(&f, "rm", "d")));
    /* the mkdir cache forgot it: mkdir creates it again */
    cr_assert_eq(OPS.mkdir(c, "d", &err), RSL_OK);
    cr_assert(rslt_exists(disk(&f, "rm", "d")));
    OPS.disconnect(c);
    fx_free(&f);
}

struct seen {
    int n, files, dirs;
    char names[16][128];
    uint64_t size_of_b;
};

static int seen_cb(void *ud, const char *name, const rsl_rstat *st)
{
    struct seen *s = ud;
    if (s->n < 16)
        snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
    s->n++;
    if (st->is_dir)
        s->dirs++;
    else
        s->files++;
    if (strcmp(name, "b b") == 0)
        s->size_of_b = st->size;
    return 0;
}

Test(ftps_ops, list_and_utf8_names)
{
    fx f;
    fx_load(&f);
    rsl_conn *c = fx_connect_dir(&f, "ls");
    rsl_err err = {0};
    const char *u = "\xc3\xa9t\xc3\xa9 \xe2\x82\xac %41#?;.txt"; /* "été € %41#?;.txt" */
    cr_assert_eq(fx_put(c, u, "utf8", -1, &err), RSL_OK, "%s", err.msg);
    cr_assert(rslt_exists(disk(&f, "ls", u)), "raw UTF-8 name on the server");
    cr_assert_eq(fx_put(c, "b b", "12345", -1, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(OPS.mkdir(c, "sub dir", &err), RSL_OK);
    cr_assert_eq(fx_put(c, "sub dir/inner", "i", -1, &err), RSL_OK, "%s", err.msg);
    struct seen s = {0};
    cr_assert_eq(OPS.list(c, "", seen_cb, &s, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(s.n, 3, "3 entries");
    cr_assert_eq(s.dirs, 1);
    cr_assert_eq(s.size_of_b, 5);
    int found = 0;
    for (int i = 0; i < s.n; i++)
        found += strcmp(s.names[i], u) == 0;
    cr_assert_eq(found, 1, "UTF-8 name listed verbatim");
    struct seen s2 = {0};
    cr_assert_eq(OPS.list(c, "sub dir", seen_cb, &s2, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(s2.n, 1);
    cr_assert_str_eq(s2.names[0], "inner");
    /* after a listing (TYPE A), SIZE-based calls still see binary sizes */
    rsl_rstat st;
    cr_assert_eq(OPS.stat(c, "b b", &st, &err), RSL_OK);
    cr_assert_eq(st.size, 5);
    OPS.disconnect(c);
    fx_free(&f);
}

Test(ftps_ops, permission_denied_on_read_only_dir)
{
    fx f;
    fx_load(&f);
    rsl_conn *c = NULL;
    rsl_err err = {0};
    cr_assert_eq(fx_connect_url(&f, "ftps", f.host, f.port, "/ro", &c, &err), RSL_OK, "%s",
                 err.msg);
    rsl_code rc = OPS.mkdir(c, "x", &err);
    cr_assert_eq(rc, RSL_E_REMOTE_PERMISSION, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, "x") != NULL);
    tsrc t;
    tsrc_mem(&t, "data", 4);
    rc = OPS.upload(c, "f.rsl-part", 0, 4, &t.s, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_PERMISSION, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert_eq(err.native, 553);
    /* the connection survives a per-item error */
    rsl_rstat st;
    cr_assert_eq(OPS.stat(c, "", &st, &err), RSL_OK, "%s", err.msg);
    OPS.disconnect(c);
    fx_free(&f);
}

Test(ftps_ops, control_chars_never_reach_the_server)
{
    fx f;
    fx_load(&f);
    rsl_conn *c = fx_connect_dir(&f, "ctl");
    rsl_err err = {0};
    /* a victim the injected command would delete */
    cr_assert_eq(fx_put(c, "victim", "v", -1, &err), RSL_OK, "%s", err.msg);
    const char *bad[] = {"a\r\nDELE /data/ctl/victim", "b\nDELE /data/ctl/victim",
                         "c\rDELE /data/ctl/victim", "d\x01"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *n = bad[i];
        rsl_rstat st;
        uint64_t have;
        tsrc t;
        tsrc_mem(&t, "x", 1);
        cr_assert_eq(OPS.mkdir(c, n, &err), RSL_E_NAME_CONTROL_CHAR);
        cr_assert_eq(OPS.stat(c, n, &st, &err), RSL_E_NAME_CONTROL_CHAR);
        cr_assert_eq(OPS.resume_offset(c, n, 1, &t.s, &have, &err), RSL_E_NAME_CONTROL_CHAR);
        cr_assert_eq(OPS.upload(c, n, 0, 1, &t.s, &err), RSL_E_NAME_CONTROL_CHAR);
        cr_assert_eq(t.pulled, 0);
        cr_assert_eq(OPS.finish(c, n, "ok", 1, -1, &err), RSL_E_NAME_CONTROL_CHAR);
        cr_assert_eq(OPS.finish(c, "victim", n, 1, -1, &err), RSL_E_NAME_CONTROL_CHAR);
        cr_assert_eq(OPS.remove(c, n, 0, &err), RSL_E_NAME_CONTROL_CHAR);
        cr_assert_eq(OPS.remove(c, n, 1, &err), RSL_E_NAME_CONTROL_CHAR);
        cr_assert_eq(OPS.list(c, n, seen_cb, &(struct seen){0}, &err), RSL_E_NAME_CONTROL_CHAR);
        cr_assert_eq(rsl_code_class(err.code), RSL_CLASS_PERSISTENT);
    }
    cr_assert(rslt_exists(disk(&f, "ctl", "victim")), "no command was injected");
    OPS.disconnect(c);
    fx_free(&f);
}

/* Many small files over ONE control connection: no new login, and every data
 * connection resumes the control connection's TLS session (require_ssl_reuse=YES
 * on the server: a data connection that did not resume would be refused with 522). */
Test(ftps_ops, many_small_files_one_connection, .timeout = 120)
{
    fx f;
    fx_load(&f);
    rsl_conn *c = fx_connect_dir(&f, "many");
    rsl_err err = {0};
    rsl_ftps_stats s0, s1;
    rsl_ftps_stats_get(c, &s0);
    enum { N = 200 };
    for (int i = 0; i < N; i++) {
        char name[64], body[64];
        if (i % 50 == 0) {
            snprintf(name, sizeof(name), "d%d", i / 50);
            cr_assert_eq(OPS.mkdir(c, name, &err), RSL_OK, "%s", err.msg);
        }
        snprintf(name, sizeof(name), "d%d/f%03d", i / 50, i);
        snprintf(body, sizeof(body), "file %d\n", i);
        rsl_code rc = fx_put(c, name, body, 1500000000 + i, &err);
        cr_assert_eq(rc, RSL_OK, "file %d: %s %s", i, rsl_code_name(rc), err.msg);
    }
    rsl_ftps_stats_get(c, &s1);
    cr_assert_eq(s1.control_connects - s0.control_connects, 0,
                 "no new control connection: connects %ld->%ld, handshakes %ld->%ld full %ld->%ld",
                 s0.control_connects, s1.control_connects, s0.tls_handshakes, s1.tls_handshakes,
                 s0.tls_full_handshakes, s1.tls_full_handshakes);
    cr_assert_eq(s1.data_transfers - s0.data_transfers, N);
    cr_assert_eq(s1.tls_handshakes - s0.tls_handshakes, N, "one TLS handshake per data conn");
    cr_assert_eq(s1.tls_full_handshakes - s0.tls_full_handshakes, 0,
                 "every data connection resumed the session (no certificate sent)");
    char *p = disk(&f, "many", "d3/f199");
    char *got = rslt_read(p, NULL);
    cr_assert_str_eq(got, "file 199\n");
    free(got);
    free(p);
    OPS.disconnect(c);
    fx_free(&f);
}

/* The server refuses to replace the final name (here: a sticky directory owned by
 * root, the existing file owned by root): RNTO and the DELE fallback both fail ->
 * REMOTE_RENAME_FAILED, and neither the old file nor the upload is lost. */
Test(ftps_ops, rename_refused_keeps_both_files)
{
    fx f;
    fx_load(&f);
    rsl_conn *c = fx_connect_dir(&f, "sticky");
    char *d = disk(&f, "sticky", "");
    cr_assert_eq(rslt_sh(NULL, NULL, "chown root:root '%s' && chmod 1777 '%s'", d, d), 0);
    char *old = disk(&f, "sticky", "locked");
    rslt_write(old, "root's file");
    rsl_err err = {0};
    tsrc t;
    tsrc_mem(&t, "new", 3);
    cr_assert_eq(OPS.upload(c, "locked.rsl-part", 0, 3, &t.s, &err), RSL_OK, "%s", err.msg);
    rsl_code rc = OPS.finish(c, "locked.rsl-part", "locked", 3, -1, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_RENAME_FAILED, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, "locked") != NULL, "%s", err.msg);
    char *got = rslt_read(old, NULL);
    cr_assert_str_eq(got, "root's file");
    cr_assert(rslt_exists(disk(&f, "sticky", "locked.rsl-part")), "the upload is kept");
    free(got);
    free(old);
    free(d);
    OPS.disconnect(c);
    fx_free(&f);
}
