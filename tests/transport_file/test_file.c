/* Tests for transports/file through the ops table (the reference transport). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/harness.h"
#include "transports/transport.h"

typedef struct mem {
    const char *data;
    size_t len, pos;
    size_t pulled;
} mem;

static ssize_t mread(rsl_source *s, void *buf, size_t n, rsl_err *err)
{
    (void)err;
    mem *m = s->ud;
    if (m->pos >= m->len)
        return 0;
    if (n > m->len - m->pos)
        n = m->len - m->pos;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    m->pulled += n;
    return (ssize_t)n;
}

static ssize_t mpread(rsl_source *s, void *buf, size_t n, uint64_t off, rsl_err *err)
{
    (void)err;
    mem *m = s->ud;
    if (off >= m->len)
        return 0;
    if (n > m->len - off)
        n = m->len - (size_t)off;
    memcpy(buf, m->data + off, n);
    return (ssize_t)n;
}

static const rsl_transport_ops *ops(void)
{
    const rsl_transport_ops *o = rsl_transport_find("file");
    cr_assert_not_null(o);
    return o;
}

static rsl_conn *conn_to(const char *dir)
{
    char url[4096];
    snprintf(url, sizeof(url), "file://%s", dir);
    rsl_endpoint ep;
    rsl_err e;
    cr_assert_eq(rsl_endpoint_parse(&ep, url, &e), RSL_OK, "%s", e.msg);
    rsl_remote_opts o = {0};
    rsl_conn *c = NULL;
    cr_assert_eq(ops()->connect(&c, &ep, &o, &e), RSL_OK, "%s", e.msg);
    rsl_endpoint_free(&ep);
    return c;
}

Test(transport_file, endpoint_parsing)
{
    rsl_endpoint ep;
    rsl_err e;
    cr_assert_eq(rsl_endpoint_parse(&ep, "file:///a/b%20c/", &e), RSL_OK);
    cr_assert_str_eq(ep.path, "/a/b c");
    rsl_endpoint_free(&ep);
    cr_assert_eq(rsl_endpoint_parse(&ep, "/plain/path", &e), RSL_OK);
    cr_assert_str_eq(ep.scheme, "file");
    rsl_endpoint_free(&ep);
    cr_assert_eq(rsl_endpoint_parse(&ep, "file://otherhost/x", &e), RSL_E_CONFIG_BAD_VALUE);
    cr_assert_eq(rsl_endpoint_parse(&ep, "nope://h/x", &e), RSL_E_SCHEME_UNSUPPORTED);
    cr_assert_eq(rsl_endpoint_parse(&ep, "file:///bad%zz", &e), RSL_E_CONFIG_BAD_VALUE);
}

Test(transport_file, root_missing_is_session_error)
{
    rsl_endpoint ep;
    rsl_err e;
    rsl_endpoint_parse(&ep, "file:///nonexistent/rsl-root", &e);
    rsl_remote_opts o = {0};
    rsl_conn *c = NULL;
    cr_assert_eq(ops()->connect(&c, &ep, &o, &e), RSL_E_REMOTE_ROOT_MISSING);
    cr_assert(strstr(e.msg, "/nonexistent/rsl-root") != NULL);
    rsl_endpoint_free(&ep);
}

Test(transport_file, upload_resume_finish_list_remove)
{
    char *d = rslt_tmpdir("tfile");
    rsl_conn *c = conn_to(d);
    rsl_err e;
    cr_assert_eq(ops()->mkdir(c, "sub", &e), RSL_OK);
    cr_assert_eq(ops()->mkdir(c, "sub", &e), RSL_OK); /* exists: fine */
    const char *data = "0123456789abcdefghij";
    mem m = {.data = data, .len = 20};
    rsl_source src = {.read = mread, .pread = mpread, .ud = &m};
    uint64_t have = 99;
    cr_assert_eq(ops()->resume_offset(c, "sub/f.part", 20, &src, &have, &e), RSL_OK);
    cr_assert_eq(have, 0);
    /* a first attempt that stops after 8 bytes */
    mem m8 = {.data = data, .len = 8};
    rsl_source s8 = {.read = mread, .pread = mpread, .ud = &m8};
    cr_assert_eq(ops()->upload(c, "sub/f.part", 0, 8, &s8, &e), RSL_OK);
    cr_assert_eq(ops()->resume_offset(c, "sub/f.part", 20, &src, &have, &e), RSL_OK);
    cr_assert_eq(have, 8);
    m.pos = 8;
    cr_assert_eq(ops()->upload(c, "sub/f.part", 8, 20, &src, &e), RSL_OK);
    cr_assert_eq(m.pulled, 12, "resume must send only the rest");
    cr_assert_eq(ops()->finish(c, "sub/f.part", "sub/f", 21, 1000, &e), RSL_E_REMOTE_SIZE_MISMATCH);
    cr_assert_eq(ops()->finish(c, "sub/f.part", "sub/f", 20, 1000000000, &e), RSL_OK, "%s", e.msg);
    char p[4096];
    snprintf(p, sizeof(p), "%s/sub/f", d);
    char *got = rslt_read(p, NULL);
    cr_assert_str_eq(got, data);
    free(got);
    struct stat sb;
    stat(p, &sb);
    cr_assert_eq(sb.st_mtime, 1000000000);
    rsl_rstat st;
    cr_assert_eq(ops()->stat(c, "sub/f", &st, &e), RSL_OK);
    cr_assert(st.exists && !st.is_dir && st.size == 20);
    cr_assert_eq(ops()->stat(c, "sub/none", &st, &e), RSL_OK);
    cr_assert_not(st.exists);
    /* a temp file longer than the file is not resumable */
    cr_assert_eq(ops()->upload(c, "t.part", 0, 20, &src, &e), RSL_OK);
    cr_assert_eq(ops()->resume_offset(c, "t.part", 10, &src, &have, &e), RSL_OK);
    cr_assert_eq(have, 0);
    /* mkdir over a file is a type conflict; remove of absent is fine */
    cr_assert_eq(ops()->mkdir(c, "sub/f", &e), RSL_E_REMOTE_TYPE_CONFLICT);
    cr_assert_eq(ops()->remove(c, "absent", 0, &e), RSL_OK);
    cr_assert_eq(ops()->remove(c, "sub", 1, &e), RSL_E_REMOTE_DELETE_FAILED); /* not empty */
    cr_assert_eq(ops()->remove(c, "sub/f", 0, &e), RSL_OK);
    cr_assert_eq(ops()->remove(c, "sub", 1, &e), RSL_OK);
    ops()->disconnect(c);
    rslt_rmrf(d);
    free(d);
}

/* A symlink planted in the destination tree is never followed: no write,
 * rename, mkdir or delete lands outside the remote root (issue 10.3). */
Test(transport_file, symlinks_in_the_destination_are_not_followed)
{
    char *d = rslt_tmpdir("tfile-link");
    char root[4200], out[4200], p[8300];
    snprintf(root, sizeof(root), "%s/root", d);
    snprintf(out, sizeof(out), "%s/outside", d);
    snprintf(p, sizeof(p), "%s/keep.txt", out);
    rslt_write(p, "outside, must survive");
    snprintf(p, sizeof(p), "%s/target.txt", out);
    rslt_write(p, "the link's target");
    cr_assert_eq(rslt_sh(NULL, NULL,
                         "mkdir -p '%s' && ln -s '%s' '%s/dir' && ln -s '%s/target.txt' '%s/f'",
                         root, out, root, out, root),
                 0);
    rsl_conn *c = conn_to(root);
    rsl_err e;
    mem m = {.data = "payload", .len = 7};
    rsl_source src = {.read = mread, .pread = mpread, .ud = &m};
    cr_assert_eq(ops()->upload(c, "dir/new.part", 0, 7, &src, &e), RSL_E_REMOTE_TYPE_CONFLICT, "%s",
                 e.msg);
    cr_assert(strstr(e.msg, "symbolic link") != NULL, "%s", e.msg);
    cr_assert_eq(ops()->mkdir(c, "dir/sub", &e), RSL_E_REMOTE_TYPE_CONFLICT, "%s", e.msg);
    rsl_code rc = ops()->remove(c, "dir/keep.txt", 0, &e);
    cr_assert_neq(rc, RSL_OK, "a delete through the link reported success");
    rsl_rstat st;
    cr_assert_neq(ops()->stat(c, "dir/keep.txt", &st, &e), RSL_OK);
    uint64_t have = 0;
    cr_assert_neq(ops()->resume_offset(c, "dir/keep.txt", 100, &src, &have, &e), RSL_OK);
    cr_assert_neq(ops()->list(c, "dir", NULL, NULL, &e), RSL_OK);
    /* a temp renamed over a symlink replaces the link, not its target */
    m.pos = 0;
    cr_assert_eq(ops()->upload(c, "f.part", 0, 7, &src, &e), RSL_OK, "%s", e.msg);
    cr_assert_eq(ops()->finish(c, "f.part", "f", 7, -1, &e), RSL_OK, "%s", e.msg);
    cr_assert_eq(ops()->finish(c, "f.part", "dir/moved", 7, -1, &e), RSL_E_REMOTE_TYPE_CONFLICT);
    snprintf(p, sizeof(p), "%s/target.txt", out);
    char *t = rslt_read(p, NULL);
    cr_assert_str_eq(t, "the link's target");
    free(t);
    snprintf(p, sizeof(p), "%s/keep.txt", out);
    cr_assert(rslt_exists(p), "a file outside the remote root was deleted");
    char *ls = NULL;
    rslt_sh(&ls, NULL, "ls -A '%s'", out);
    cr_assert_str_eq(ls, "keep.txt\ntarget.txt\n", "something was written outside: %s", ls);
    free(ls);
    struct stat sb;
    snprintf(p, sizeof(p), "%s/f", root);
    cr_assert_eq(lstat(p, &sb), 0);
    cr_assert(S_ISREG(sb.st_mode), "the link at the final name was replaced by the file");
    ops()->disconnect(c);
    rslt_rmrf(d);
    free(d);
}

/* New files get the source's permission bits, narrowed by the umask, never
 * widened to 0644; directories get the mode set_mode gives (issue 10.4). */
Test(transport_file, new_files_and_directories_keep_the_source_mode)
{
    mode_t old = umask(022);
    char *d = rslt_tmpdir("tfile-mode");
    rsl_conn *c = conn_to(d);
    rsl_err e;
    cr_assert(ops()->caps_of(c) & RSL_CAP_SET_MODE);
    const struct {
        uint32_t mode;
        mode_t want;
    } cases[] = {{0600, 0600}, {0640, 0640}, {0777, 0755}, {0, 0644}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mem m = {.data = "x", .len = 1};
        rsl_source src = {.read = mread, .pread = mpread, .mode = cases[i].mode, .ud = &m};
        char name[32], tmp[40], p[4300];
        snprintf(name, sizeof(name), "f%zu", i);
        snprintf(tmp, sizeof(tmp), "%s.part", name);
        cr_assert_eq(ops()->upload(c, tmp, 0, 1, &src, &e), RSL_OK, "%s", e.msg);
        cr_assert_eq(ops()->finish(c, tmp, name, 1, -1, &e), RSL_OK, "%s", e.msg);
        snprintf(p, sizeof(p), "%s/%s", d, name);
        struct stat sb;
        cr_assert_eq(stat(p, &sb), 0);
        cr_assert_eq(sb.st_mode & 07777, cases[i].want, "mode %o gave %o", cases[i].mode,
                     sb.st_mode & 07777);
    }
    /* an existing temp (an earlier attempt) gets the mode again */
    char p[4300];
    snprintf(p, sizeof(p), "%s/g.part", d);
    rslt_write(p, "old");
    chmod(p, 0666);
    mem m = {.data = "new", .len = 3};
    rsl_source src = {.read = mread, .pread = mpread, .mode = 0600, .ud = &m};
    cr_assert_eq(ops()->upload(c, "g.part", 0, 3, &src, &e), RSL_OK, "%s", e.msg);
    struct stat sb;
    cr_assert_eq(stat(p, &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0600);
    cr_assert_eq(ops()->mkdir(c, "private", &e), RSL_OK);
    cr_assert_eq(ops()->set_mode(c, "private", 0700, &e), RSL_OK, "%s", e.msg);
    snprintf(p, sizeof(p), "%s/private", d);
    cr_assert_eq(stat(p, &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0700);
    ops()->disconnect(c);
    umask(old);
    rslt_rmrf(d);
    free(d);
}

static int collect(void *ud, const void *buf, size_t n)
{
    mem *m = ud; /* data is a buffer of len bytes here; pos counts */
    if (m->pos + n > m->len)
        return 1;
    memcpy((char *)m->data + m->pos, buf, n);
    m->pos += n;
    return 0;
}

static int stop_at_once(void *ud, const void *buf, size_t n)
{
    (void)buf;
    *(size_t *)ud += n;
    return 1;
}

Test(transport_file, read_and_hash_for_verify)
{
    char *d = rslt_tmpdir("tfread");
    char p[4096], out[4096];
    snprintf(p, sizeof(p), "%s/sub/f.txt", d);
    rslt_write(p, "hello, verify\n");
    snprintf(p, sizeof(p), "%s/big.bin", d);
    rslt_write_random(p, 3u << 20, 5);
    rsl_conn *c = conn_to(d);
    const rsl_transport_ops *o = ops();
    cr_assert_not_null(o->read);
    cr_assert_not_null(o->hash);
    rsl_err e;
    char buf[64] = {0};
    mem m = {.data = buf, .len = sizeof(buf)};
    cr_assert_eq(o->read(c, "sub/f.txt", collect, &m, &e), RSL_OK, "%s", e.msg);
    cr_assert_eq(m.pos, 14);
    cr_assert_str_eq(buf, "hello, verify\n");
    /* a callback that has enough stops the read */
    size_t got = 0;
    cr_assert_eq(o->read(c, "big.bin", stop_at_once, &got, &e), RSL_OK, "%s", e.msg);
    cr_assert(got > 0 && got < (3u << 20), "%zu", got);
    /* sha256 by default, the others on request; the digest is the file's */
    rsl_rhash h;
    cr_assert_eq(o->hash(c, "big.bin", NULL, &h, &e), RSL_OK, "%s", e.msg);
    cr_assert_str_eq(h.alg, "sha256");
    char *sum = NULL;
    cr_assert_eq(rslt_sh(&sum, NULL, "sha256sum '%s' | cut -c1-64", p), 0);
    cr_assert(strncmp(sum, h.hex, 64) == 0 && strlen(h.hex) == 64, "%s vs %s", sum, h.hex);
    free(sum);
    cr_assert_eq(o->hash(c, "big.bin", "md5", &h, &e), RSL_OK, "%s", e.msg);
    cr_assert_eq(rslt_sh(&sum, NULL, "md5sum '%s' | cut -c1-32", p), 0);
    cr_assert(strncmp(sum, h.hex, 32) == 0 && strlen(h.hex) == 32, "%s vs %s", sum, h.hex);
    free(sum);
    cr_assert_eq(o->hash(c, "big.bin", "crc32c", &h, &e), RSL_E_CHECKSUM_UNAVAILABLE);
    /* absent, a directory, a FIFO (no hang), symlinks (never followed) */
    cr_assert_eq(o->read(c, "nope", collect, &m, &e), RSL_E_REMOTE_NOT_FOUND, "%d", e.code);
    cr_assert_eq(o->hash(c, "nope", NULL, &h, &e), RSL_E_REMOTE_NOT_FOUND, "%d", e.code);
    cr_assert_eq(o->read(c, "sub", collect, &m, &e), RSL_E_REMOTE_TYPE_CONFLICT, "%d", e.code);
    snprintf(p, sizeof(p), "%s/fifo", d);
    cr_assert(mkfifo(p, 0644) == 0);
    cr_assert_eq(o->read(c, "fifo", collect, &m, &e), RSL_E_REMOTE_TYPE_CONFLICT, "%d", e.code);
    char *outside = rslt_tmpdir("tfout");
    snprintf(p, sizeof(p), "%s/secret", outside);
    rslt_write(p, "outside the root");
    snprintf(out, sizeof(out), "%s/link", d);
    cr_assert(symlink(p, out) == 0);
    cr_assert_eq(o->read(c, "link", collect, &m, &e), RSL_E_REMOTE_TYPE_CONFLICT, "%d %s", e.code,
                 e.msg);
    snprintf(out, sizeof(out), "%s/dirlink", d);
    cr_assert(symlink(outside, out) == 0);
    m.pos = 0;
    rsl_code rc = o->read(c, "dirlink/secret", collect, &m, &e);
    cr_assert_neq(rc, RSL_OK, "read through a symlinked directory: %.*s", (int)m.pos, buf);
    cr_assert_eq(m.pos, 0);
    ops()->disconnect(c);
    rslt_rmrf(outside);
    free(outside);
    rslt_rmrf(d);
    free(d);
}

/* Ranges of one temp file (RSL_OP_PUT_RANGE on the serial path): written out
 * of order into a temp that is never cut, checked afterwards (kept whole
 * when the samples match, 0 when a byte differs or the temp is short), then
 * one finish. */
Test(transport_file, write_range_out_of_order_check_and_finish)
{
    char *d = rslt_tmpdir("tfile-rg");
    rsl_conn *c = conn_to(d);
    rsl_err e;
    cr_assert(ops()->caps_of(c) & RSL_CAP_WRITE_AT);
    enum { N = 3 << 20, H = N / 2 };
    char *data = malloc(N);
    for (size_t i = 0; i < N; i++)
        data[i] = (char)(i * 7 + i / 4096);
    uint64_t kept = 9, sent = 9;
    /* the second half first, read from its own offset */
    mem hi = {.data = data, .len = N, .pos = H};
    rsl_source shi = {.read = mread, .pread = mpread, .ud = &hi};
    cr_assert_eq(ops()->write_range(c, "f.part", H, N - H, 0, &shi, &kept, &sent, &e), RSL_OK, "%s",
                 e.msg);
    cr_assert_eq(sent, N - H);
    cr_assert_eq(hi.pulled, N - H, "read only its range");
    /* the first half: the temp is not cut back */
    mem lo = {.data = data, .len = H};
    rsl_source slo = {.read = mread, .pread = mpread, .ud = &lo};
    cr_assert_eq(ops()->write_range(c, "f.part", 0, H, 0, &slo, &kept, &sent, &e), RSL_OK);
    char p[4096];
    snprintf(p, sizeof(p), "%s/f.part", d);
    cr_assert_eq(rslt_size(p), N, "the second half survived the first");
    /* checks: both ranges kept; a changed byte, or a range past the end, is not */
    mem all = {.data = data, .len = N};
    rsl_source sall = {.read = mread, .pread = mpread, .ud = &all};
    cr_assert_eq(ops()->write_range(c, "f.part", 0, H, 1, &sall, &kept, &sent, &e), RSL_OK);
    cr_assert_eq(kept, H);
    cr_assert_eq(sent, 0, "a check sends nothing");
    cr_assert_eq(all.pulled, 0, "a check reads through pread only");
    cr_assert_eq(ops()->write_range(c, "f.part", H, N - H, 1, &sall, &kept, &sent, &e), RSL_OK);
    cr_assert_eq(kept, N - H);
    data[N - 1] ^= 0x55; /* the last block is among the samples */
    cr_assert_eq(ops()->write_range(c, "f.part", H, N - H, 1, &sall, &kept, &sent, &e), RSL_OK);
    cr_assert_eq(kept, 0, "a differing last byte is seen");
    data[N - 1] ^= 0x55;
    cr_assert_eq(ops()->write_range(c, "f.part", H, N, 1, &sall, &kept, &sent, &e), RSL_OK);
    cr_assert_eq(kept, 0, "the temp is shorter than the range");
    cr_assert_eq(ops()->write_range(c, "none.part", 0, H, 1, &sall, &kept, &sent, &e), RSL_OK);
    cr_assert_eq(kept, 0, "no temp: nothing kept");
    cr_assert_eq(ops()->finish(c, "f.part", "f", N, 1000000000, &e), RSL_OK, "%s", e.msg);
    snprintf(p, sizeof(p), "%s/f", d);
    size_t len = 0;
    char *got = rslt_read(p, &len);
    cr_assert(len == N && memcmp(got, data, N) == 0, "byte-identical");
    free(got);
    free(data);
    ops()->disconnect(c);
    rslt_rmrf(d);
    free(d);
}

/* A resume keeps a temp's prefix only where sampled blocks spread over all
 * of it match the source (not only its last bytes): a temp whose middle was
 * zeroed keeps at most what lies before the damage; an intact one is kept
 * whole; one whose first block differs keeps nothing. */
Test(transport_file, resume_checks_sampled_blocks_over_the_whole_prefix)
{
    char *d = rslt_tmpdir("tfres");
    rsl_conn *c = conn_to(d);
    rsl_err e;
    const size_t total = 6u << 20, part = 3u << 20;
    char *data = malloc(total);
    cr_assert_not_null(data);
    for (size_t i = 0; i < total; i++)
        data[i] = (char)((i * 2654435761u) >> 13);
    mem first = {.data = data, .len = part};
    rsl_source s1 = {.read = mread, .pread = mpread, .ud = &first};
    cr_assert_eq(ops()->upload(c, "f.part", 0, part, &s1, &e), RSL_OK, "%s", e.msg);
    mem all = {.data = data, .len = total};
    rsl_source src = {.read = mread, .pread = mpread, .ud = &all};
    uint64_t have = 0;
    cr_assert_eq(ops()->resume_offset(c, "f.part", total, &src, &have, &e), RSL_OK, "%s", e.msg);
    cr_assert_eq(have, part, "an intact temp is kept whole");

    /* the middle megabyte zeroed (a write cache that lost it); the tail intact */
    char p[4096];
    snprintf(p, sizeof(p), "%s/f.part", d);
    const uint64_t zero_at = 1u << 20;
    cr_assert_eq(rslt_sh(NULL, NULL,
                         "dd if=/dev/zero of='%s' bs=1M seek=1 count=1 conv=notrunc "
                         "status=none",
                         p),
                 0);
    have = part;
    cr_assert_eq(ops()->resume_offset(c, "f.part", total, &src, &have, &e), RSL_OK, "%s", e.msg);
    cr_assert_leq(have, zero_at, "kept %llu bytes: the zeroed middle must not be kept",
                  (unsigned long long)have);
    cr_assert_gt(have, 0, "what lies before the damage (checked) is kept");
    all.pos = have; /* the upload continues there and the file comes out whole */
    cr_assert_eq(ops()->upload(c, "f.part", have, total, &src, &e), RSL_OK, "%s", e.msg);
    cr_assert_eq(ops()->finish(c, "f.part", "f", total, -1, &e), RSL_OK, "%s", e.msg);
    snprintf(p, sizeof(p), "%s/f", d);
    size_t len = 0;
    char *got = rslt_read(p, &len);
    cr_assert(got && len == total && memcmp(got, data, total) == 0, "byte-identical");
    free(got);

    /* the first block differs: nothing is kept */
    mem other = {.data = data + 1, .len = part};
    rsl_source s2 = {.read = mread, .pread = mpread, .ud = &other};
    cr_assert_eq(ops()->upload(c, "g.part", 0, part, &s2, &e), RSL_OK);
    have = 1;
    cr_assert_eq(ops()->resume_offset(c, "g.part", total, &src, &have, &e), RSL_OK);
    cr_assert_eq(have, 0);
    free(data);
    ops()->disconnect(c);
    rslt_rmrf(d);
    free(d);
}
