/* Engine tests: the local side of an upload (engine/source) on real files.
 * Opens stay beneath the source root without following a symlink in any
 * component (openat2 and the walk fallback alike); a directory swapped for a
 * link to the outside between the scan and the upload reads nothing outside;
 * a FIFO swapped in does not hang; a file replaced by another is
 * LOCAL_CHANGED; the manifest's digest is the file's SHA-256, also after a
 * resumed upload. */
#include "engine_test.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <time.h>

#include "base/beneath.h"
#include "engine/source.h"

static void sha256_of(const char *path, unsigned char out[32])
{
    size_t n = 0;
    char *data = rslt_read(path, &n);
    cr_assert_not_null(data, "%s", path);
    unsigned int len = 0;
    cr_assert_eq(EVP_Digest(data, n, out, &len, EVP_sha256(), NULL), 1);
    free(data);
}

/* The manifest row of path: its digest (1 when it has one), dev and ino. */
static int manifest_digest(eng *e, const char *path, unsigned char out[32], uint64_t *dev,
                           uint64_t *ino)
{
    rsl_state *st = eng_state(e);
    rsl_manifest_row row;
    int found = rsl_state_manifest_get(st, path, &row);
    cr_assert(found, "no manifest row for %s", path);
    int has = row.digest != NULL;
    if (has)
        memcpy(out, row.digest, 32);
    *dev = row.dev;
    *ino = row.ino;
    rsl_state_close(st);
    return has;
}

/* ---- opening beneath the root ---- */

typedef int (*open_fn)(int rootfd, const char *rel, int flags);

static void beneath_rules(open_fn fn, const char *tag)
{
    char *d = rslt_tmpdir(tag);
    char p[4096];
    snprintf(p, sizeof(p), "%s/src/a/b/c.txt", d);
    rslt_write(p, "inside");
    snprintf(p, sizeof(p), "%s/out/secret.txt", d);
    rslt_write(p, "SECRET");
    char src[4096], link[4200], out[4200];
    snprintf(src, sizeof(src), "%s/src", d);
    snprintf(link, sizeof(link), "%s/l", src);
    cr_assert_eq(symlink("a/b", link), 0);
    snprintf(link, sizeof(link), "%s/o", src);
    snprintf(out, sizeof(out), "%s/out", d);
    cr_assert_eq(symlink(out, link), 0);
    snprintf(link, sizeof(link), "%s/a/f", src);
    cr_assert_eq(symlink("b/c.txt", link), 0);
    rsl_err err;
    int root = rsl_source_root_open(src, &err);
    cr_assert_geq(root, 0, "%s", err.msg);

    int fd = fn(root, "a/b/c.txt", O_RDONLY);
    cr_assert_geq(fd, 0, "%s: a plain path opens: %s", tag, strerror(errno));
    close(fd);
    const char *refused[] = {"l/c.txt", "o/secret.txt", "a/f", "../out/secret.txt",
                             "a/../../out/secret.txt"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        errno = 0;
        fd = fn(root, refused[i], O_RDONLY);
        cr_assert_lt(fd, 0, "%s: %s was opened", tag, refused[i]);
        cr_assert(errno == ELOOP || errno == EXDEV, "%s: %s: %s", tag, refused[i], strerror(errno));
    }
    errno = 0;
    cr_assert_lt(fn(root, "a/nope.txt", O_RDONLY), 0);
    cr_assert_eq(errno, ENOENT);
    struct stat sb;
    cr_assert_eq(rsl_source_lstat_beneath(root, "a/b/c.txt", &sb), 0);
    cr_assert(S_ISREG(sb.st_mode));
    cr_assert_lt(rsl_source_lstat_beneath(root, "l/c.txt", &sb), 0, "through a link");
    close(root);
    rslt_rmrf(d);
    free(d);
}

Test(engine_source, openat2_stays_beneath_the_root_without_links)
{
    beneath_rules(rsl_source_open_beneath, "src-o2");
}

Test(engine_source, the_walk_fallback_stays_beneath_the_root_without_links)
{
    rsl_beneath_force_walk(1);
    beneath_rules(rsl_source_open_beneath, "src-walk");
    rsl_beneath_force_walk(0);
}

/* ---- one file ---- */

typedef struct lsrc_fx {
    char *dir;
    char path[4200];
    int root;
    struct stat sb;
    rsl_local_src s;
} lsrc_fx;

static void lsrc_setup(lsrc_fx *f, const char *tag, const char *content)
{
    f->dir = rslt_tmpdir(tag);
    snprintf(f->path, sizeof(f->path), "%s/x.txt", f->dir);
    rslt_write(f->path, content);
    cr_assert_eq(stat(f->path, &f->sb), 0);
    rsl_err err;
    f->root = rsl_source_root_open(f->dir, &err);
    cr_assert_geq(f->root, 0);
    rsl_local_src_cfg cfg = {.rootfd = f->root};
    rsl_local_src_init(&f->s, &cfg, "x.txt", NULL, (uint64_t)f->sb.st_size,
                       (int64_t)f->sb.st_mtim.tv_sec * 1000000000LL + f->sb.st_mtim.tv_nsec,
                       (uint64_t)f->sb.st_dev, (uint64_t)f->sb.st_ino);
}

static void lsrc_teardown(lsrc_fx *f)
{
    rsl_local_src_close(&f->s);
    close(f->root);
    rslt_rmrf(f->dir);
    free(f->dir);
}

Test(engine_source, reads_and_hashes_in_one_pass_and_a_resume_hashes_the_kept_prefix)
{
    lsrc_fx f;
    lsrc_setup(&f, "src-hash", "0123456789abcdefghij");
    unsigned char want[32], got[32];
    sha256_of(f.path, want);
    rsl_err err;
    char buf[64];
    cr_assert_eq(f.s.src.start(&f.s.src, 0, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(f.s.src.read(&f.s.src, buf, sizeof(buf), &err), 20);
    cr_assert_eq(f.s.src.read(&f.s.src, buf, sizeof(buf), &err), 0);
    cr_assert_eq(f.s.src.verify(&f.s.src, &err), RSL_OK, "%s", err.msg);
    cr_assert(rsl_local_src_digest(&f.s, got));
    cr_assert_arr_eq(got, want, 32);
    /* a resumed attempt: the first 7 bytes are kept, the digest still covers all */
    cr_assert_eq(f.s.src.start(&f.s.src, 7, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(f.s.src.read(&f.s.src, buf, sizeof(buf), &err), 13);
    cr_assert(rsl_local_src_digest(&f.s, got));
    cr_assert_arr_eq(got, want, 32);
    cr_assert_eq(f.s.sent, 33, "bytes read over both attempts");
    lsrc_teardown(&f);
}

Test(engine_source, a_fifo_swapped_in_is_type_changed_without_blocking, .timeout = 10)
{
    lsrc_fx f;
    lsrc_setup(&f, "src-fifo", "data");
    unlink(f.path);
    cr_assert_eq(mkfifo(f.path, 0644), 0);
    rsl_err err;
    cr_assert_eq(f.s.src.start(&f.s.src, 0, &err), RSL_E_TYPE_CHANGED, "%s", err.msg);
    cr_assert(strstr(err.msg, "FIFO") != NULL, "%s", err.msg);
    lsrc_teardown(&f);
}

Test(engine_source, another_file_under_the_name_is_local_changed)
{
    lsrc_fx f;
    lsrc_setup(&f, "src-ino", "same size");
    char other[4300];
    snprintf(other, sizeof(other), "%s.new", f.path);
    rslt_write(other, "SAME SIZE");
    struct timespec ts[2] = {f.sb.st_atim, f.sb.st_mtim};
    cr_assert_eq(utimensat(AT_FDCWD, other, ts, 0), 0);
    cr_assert_eq(rename(other, f.path), 0); /* same size and mtime, another inode */
    rsl_err err;
    cr_assert_eq(f.s.src.start(&f.s.src, 0, &err), RSL_E_LOCAL_CHANGED, "%s", err.msg);
    cr_assert(strstr(err.msg, "replaced") != NULL, "%s", err.msg);
    lsrc_teardown(&f);
}

Test(engine_source, a_file_replaced_during_the_upload_fails_verify)
{
    lsrc_fx f;
    lsrc_setup(&f, "src-ver", "first");
    rsl_err err;
    char buf[16];
    cr_assert_eq(f.s.src.start(&f.s.src, 0, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(f.s.src.read(&f.s.src, buf, sizeof(buf), &err), 5);
    char other[4300];
    snprintf(other, sizeof(other), "%s.new", f.path);
    rslt_write(other, "other");
    cr_assert_eq(rename(other, f.path), 0);
    cr_assert_eq(f.s.src.verify(&f.s.src, &err), RSL_E_LOCAL_CHANGED, "%s", err.msg);
    unlink(f.path);
    cr_assert_eq(f.s.src.verify(&f.s.src, &err), RSL_E_LOCAL_VANISHED, "%s", err.msg);
    lsrc_teardown(&f);
}

/* ---- whole runs ---- */

typedef struct swap {
    char from[4300], to[4300], outside[4300];
    int kind; /* 'l': dir -> link outside, 'p': file -> FIFO, 'r': file -> another inode */
    int done;
} swap;

/* Between the scan and the upload: at the first MKDIR (the directories go
 * before any file). */
static void do_swap(void *ud, rslt_fake_op op, const char *rel)
{
    (void)rel;
    swap *s = ud;
    if (op != RSLT_FAKE_MKDIR || s->done)
        return;
    s->done = 1;
    if (s->kind == 'l') {
        char moved[4400];
        snprintf(moved, sizeof(moved), "%s.moved", s->from);
        rename(s->from, moved);
        symlink(s->outside, s->from);
    } else if (s->kind == 'p') {
        unlink(s->from);
        mkfifo(s->from, 0644);
    } else {
        struct stat sb;
        stat(s->from, &sb);
        char other[4400];
        snprintf(other, sizeof(other), "%s.new", s->from);
        size_t n = 0;
        char *data = rslt_read(s->from, &n);
        for (size_t i = 0; i < n; i++)
            data[i] = data[i] == 'x' ? 'y' : data[i];
        rslt_write(other, data);
        free(data);
        struct timespec ts[2] = {sb.st_atim, sb.st_mtim};
        utimensat(AT_FDCWD, other, ts, 0);
        rename(other, s->from);
    }
}

static void run_with_swap(int window, int kind)
{
    eng e;
    eng_setup(&e, "src-swap");
    if (window)
        rslt_fake_pipeline(window);
    swap s = {.kind = kind};
    eng_put(&e, "d/f.txt", "xxxx inside");
    eng_put(&e, "p.txt", "xxxx plain");
    snprintf(s.outside, sizeof(s.outside), "%s/outside", e.dir);
    char p[4400];
    snprintf(p, sizeof(p), "%s/f.txt", s.outside);
    rslt_write(p, "SECRET from outside the tree");
    snprintf(s.from, sizeof(s.from), "%s/%s", e.src, kind == 'l' ? "d" : "p.txt");
    rslt_fake_on_call(do_swap, &s);

    int x = eng_run(&e);
    cr_assert(s.done);
    cr_assert_eq(x, RSL_EXIT_PARTIAL, "%s", e.err.msg);
    const char *item = kind == 'l' ? "d/f.txt" : "p.txt";
    const eng_result *r = eng_result_of(&e, item);
    cr_assert_not_null(r);
    cr_assert_str_eq(r->outcome, "failed");
    rsl_code want = kind == 'r' ? RSL_E_LOCAL_CHANGED : RSL_E_TYPE_CHANGED;
    cr_assert_eq((int)r->code, (int)want, "%s: %s", item, rsl_code_name(r->code));
    cr_assert_eq(e.rec.counts.transferred_bytes, kind == 'l' ? 10 : 11,
                 "only the other file's bytes were read");
    char *got = rslt_fake_get(kind == 'l' ? "d/f.txt.rsl-part" : "p.txt.rsl-part", NULL);
    cr_assert(got == NULL || got[0] == '\0', "no byte of it reached the remote");
    free(got);
    cr_assert_eq(rslt_fake_type(item), 0);
    cr_assert(eng_same(&e, kind == 'l' ? "p.txt" : "d/f.txt"), "the other file went alone");
    eng_teardown(&e);
}

Test(engine_source, a_directory_swapped_for_a_link_outside_reads_nothing_outside)
{
    run_with_swap(0, 'l');
}

Test(engine_source, a_directory_swapped_for_a_link_outside_pipelined)
{
    run_with_swap(8, 'l');
}

Test(engine_source, a_fifo_swapped_in_fails_the_item_without_a_hang, .timeout = 20)
{
    run_with_swap(0, 'p');
}

Test(engine_source, a_file_replaced_by_another_inode_is_local_changed)
{
    run_with_swap(8, 'r');
}

Test(engine_source, the_manifest_digest_is_the_sha256_of_the_file)
{
    eng e;
    eng_setup(&e, "src-dg");
    rslt_fake_pipeline(8);
    eng_put_random(&e, "a.bin", 300000, 1);
    eng_put(&e, "empty.txt", "");
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    const char *names[] = {"a.bin", "empty.txt"};
    for (int i = 0; i < 2; i++) {
        char p[4300];
        snprintf(p, sizeof(p), "%s/%s", e.src, names[i]);
        unsigned char want[32], got[32];
        uint64_t dev, ino;
        sha256_of(p, want);
        cr_assert(manifest_digest(&e, names[i], got, &dev, &ino), "%s has a digest", names[i]);
        cr_assert_arr_eq(got, want, 32, "%s", names[i]);
        struct stat sb;
        cr_assert_eq(stat(p, &sb), 0);
        cr_assert_eq(ino, (uint64_t)sb.st_ino);
        cr_assert_eq(dev, (uint64_t)sb.st_dev);
    }
    eng_teardown(&e);
}

Test(engine_source, the_digest_covers_the_whole_file_after_a_resume_in_the_next_run)
{
    eng e;
    eng_setup(&e, "src-dgr");
    eng_put_random(&e, "big.bin", 3 * MIB, 9);
    rslt_fake_cut_after(777 * 1024, -1); /* 3 attempts: 2.3 of 3 MiB */
    cr_assert_eq(eng_run(&e), RSL_EXIT_PARTIAL);
    rslt_fake_clear_faults();
    rslt_fake_clear_counts();
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    rslt_fake_upload up[4];
    cr_assert_eq(rslt_fake_uploads(up, 4), 1);
    cr_assert_gt(up[0].offset, 0, "resumed");
    char p[4300];
    snprintf(p, sizeof(p), "%s/big.bin", e.src);
    unsigned char want[32], got[32];
    uint64_t dev, ino;
    sha256_of(p, want);
    cr_assert(manifest_digest(&e, "big.bin", got, &dev, &ino));
    cr_assert_arr_eq(got, want, 32, "the kept prefix is hashed too");
    cr_assert(eng_same(&e, "big.bin"));
    eng_teardown(&e);
}

Test(engine_source, items_reached_through_a_followed_link_are_opened_by_their_resolved_path)
{
    eng e;
    eng_setup(&e, "src-fl");
    e.job.follow_symlinks = 1;
    eng_put(&e, "real/sub/f.txt", "through a link");
    char l[4300];
    snprintf(l, sizeof(l), "%s/via", e.src);
    cr_assert_eq(symlink("real", l), 0);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert(eng_same(&e, "via/sub/f.txt"));
    cr_assert(eng_same(&e, "real/sub/f.txt"));
    eng_teardown(&e);
}

/* A file sent in pieces: its digest taken ahead (rsl_local_src_hash_to) as
 * pieces complete is continued by the FINISH op's start(size); a start
 * before where the digest got to begins again from zero. Both are the
 * file's SHA-256. */
Test(engine_source, a_digest_taken_ahead_is_continued_by_start)
{
    lsrc_fx f;
    lsrc_setup(&f, "src-ahead", "0123456789abcdefghij");
    unsigned char want[32], got[32];
    sha256_of(f.path, want);
    rsl_err err;
    cr_assert_eq(rsl_local_src_hash_to(&f.s, 8, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(rsl_local_src_hash_to(&f.s, 12, &err), RSL_OK);
    cr_assert_eq(f.s.hashed, 12);
    cr_assert_eq(rsl_local_src_hash_to(&f.s, 99, &err), RSL_OK, "capped at the size");
    cr_assert_eq(f.s.hashed, 20);
    cr_assert_eq(f.s.src.start(&f.s.src, 20, &err), RSL_OK);
    cr_assert(rsl_local_src_digest(&f.s, got));
    cr_assert(memcmp(got, want, 32) == 0, "ahead, then start(size)");
    lsrc_teardown(&f);

    lsrc_setup(&f, "src-ahead2", "0123456789abcdefghij");
    cr_assert_eq(rsl_local_src_hash_to(&f.s, 15, &err), RSL_OK);
    cr_assert_eq(f.s.src.start(&f.s.src, 10, &err), RSL_OK, "before where the digest got");
    char buf[32];
    cr_assert_eq(f.s.src.read(&f.s.src, buf, sizeof(buf), &err), 10);
    cr_assert(rsl_local_src_digest(&f.s, got));
    cr_assert(memcmp(got, want, 32) == 0, "from zero again");
    lsrc_teardown(&f);
}
