/* Tests for engine/scan: order, excludes, symlinks, special files. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/scan.h"
#include "tests/support/harness.h"

typedef struct seen {
    char buf[8192];
} seen;

static int cb(void *ud, const rsl_entry *e)
{
    seen *s = ud;
    const char *k = e->kind == RSL_ENT_FILE       ? "f"
                    : e->kind == RSL_ENT_DIR      ? "d"
                    : e->kind == RSL_ENT_EXCLUDED ? "x"
                    : e->kind == RSL_ENT_SKIPPED  ? "s"
                                                  : "e";
    size_t l = strlen(s->buf);
    snprintf(s->buf + l, sizeof(s->buf) - l, "%s:%s%s;", k, e->path,
             e->kind == RSL_ENT_SKIPPED ? (e->code == RSL_E_SYMLINK_SKIPPED ? "(link)" : "(out)")
                                        : "");
    return 0;
}

static char *tree(void)
{
    char *d = rslt_tmpdir("scan");
    char p[4096];
    const char *files[] = {"src/a/x",     "src/a.txt",        "src/a b", "src/b.tmp",
                           "src/cache/c", "src/deep/cache/k", "src/z"};
    for (size_t i = 0; i < 7; i++) {
        snprintf(p, sizeof(p), "%s/%s", d, files[i]);
        rslt_write(p, "data");
    }
    snprintf(p, sizeof(p), "%s/src/empty", d);
    mkdir(p, 0755);
    return d;
}

Test(scan, walks_depth_first_sorted)
{
    char *d = tree();
    char root[4096];
    snprintf(root, sizeof(root), "%s/src", d);
    seen s = {{0}};
    rsl_scan_opts o = {0};
    rsl_err e;
    cr_assert_eq(rsl_scan(root, &o, cb, &s, &e), RSL_OK);
    cr_assert_str_eq(s.buf, "d:a;f:a/x;f:a b;f:a.txt;f:b.tmp;d:cache;f:cache/c;d:deep;"
                            "d:deep/cache;f:deep/cache/k;d:empty;f:z;");
    rslt_rmrf(d);
    free(d);
}

Test(scan, excludes)
{
    char *d = tree();
    char root[4096];
    snprintf(root, sizeof(root), "%s/src", d);
    seen s = {{0}};
    char *pats[] = {"*.tmp", "cache/", "/z"};
    rsl_scan_opts o = {.excludes = pats, .n_excludes = 3};
    rsl_err e;
    cr_assert_eq(rsl_scan(root, &o, cb, &s, &e), RSL_OK);
    cr_assert_str_eq(s.buf, "d:a;f:a/x;f:a b;f:a.txt;x:b.tmp;x:cache;d:deep;x:deep/cache;"
                            "d:empty;x:z;");
    cr_assert(rsl_scan_excluded(pats, 3, "q/w.tmp", "w.tmp", 0));
    cr_assert_not(rsl_scan_excluded(pats, 3, "cache", "cache", 0)); /* file, dir-only pattern */
    cr_assert_not(rsl_scan_excluded(pats, 3, "a/z", "z", 0));       /* anchored at the root */
    rslt_rmrf(d);
    free(d);
}

Test(scan, symlinks_skipped_or_followed_inside_root_only)
{
    char *d = tree();
    char root[4096], p[4096], q[4096];
    snprintf(root, sizeof(root), "%s/src", d);
    snprintf(p, sizeof(p), "%s/src/l-in", d);
    cr_assert_eq(symlink("a.txt", p), 0);
    snprintf(p, sizeof(p), "%s/src/l-out", d);
    snprintf(q, sizeof(q), "%s/outside", d);
    rslt_write(q, "secret");
    cr_assert_eq(symlink(q, p), 0);
    snprintf(p, sizeof(p), "%s/src/l-loop", d);
    cr_assert_eq(symlink(".", p), 0);
    snprintf(p, sizeof(p), "%s/src/l-dir", d);
    cr_assert_eq(symlink("a", p), 0);
    rsl_err e;
    seen s = {{0}};
    char *pats[] = {"a*", "b*", "c*", "d*", "e*", "z"};
    rsl_scan_opts o = {.excludes = pats, .n_excludes = 6};
    cr_assert_eq(rsl_scan(root, &o, cb, &s, &e), RSL_OK);
    cr_assert_str_eq(s.buf, "x:a;x:a b;x:a.txt;x:b.tmp;x:cache;x:deep;x:empty;s:l-dir(link);"
                            "s:l-in(link);s:l-loop(link);s:l-out(link);x:z;");
    seen s2 = {{0}};
    o.follow_symlinks = 1;
    cr_assert_eq(rsl_scan(root, &o, cb, &s2, &e), RSL_OK);
    cr_assert_str_eq(s2.buf, "x:a;x:a b;x:a.txt;x:b.tmp;x:cache;x:deep;x:empty;d:l-dir;"
                             "f:l-dir/x;f:l-in;s:l-loop(out);s:l-out(out);x:z;");
    rslt_rmrf(d);
    free(d);
}

Test(scan, missing_root_is_source_missing)
{
    seen s = {{0}};
    rsl_scan_opts o = {0};
    rsl_err e;
    cr_assert_eq(rsl_scan("/nonexistent/rsl/src", &o, cb, &s, &e), RSL_E_SOURCE_MISSING);
    cr_assert(strstr(e.msg, "/nonexistent/rsl/src") != NULL);
}

Test(scan, fifo_is_skipped_as_special)
{
    char *d = rslt_tmpdir("scan");
    char p[4096];
    snprintf(p, sizeof(p), "%s/fifo", d);
    cr_assert_eq(mkfifo(p, 0600), 0);
    seen s = {{0}};
    rsl_scan_opts o = {0};
    rsl_err e;
    cr_assert_eq(rsl_scan(d, &o, cb, &s, &e), RSL_OK);
    cr_assert_str_eq(s.buf, "s:fifo(out);"); /* code SPECIAL_SKIPPED, not the link code */
    rslt_rmrf(d);
    free(d);
}

typedef struct deep {
    int dirs;
    rsl_code code;
    char path[4096];
} deep;

static int deep_cb(void *ud, const rsl_entry *e)
{
    deep *d = ud;
    if (e->kind == RSL_ENT_DIR)
        d->dirs++;
    if (e->unreadable) {
        d->code = e->code;
        snprintf(d->path, sizeof(d->path), "%s", e->path);
    }
    return 0;
}

/* The walk does not go deeper than 256 levels; that limit has its own code
 * (what to do about it is not "fix permissions"). */
Test(scan, the_depth_limit_has_its_own_code)
{
    char *d = rslt_tmpdir("scan-deep");
    char p[8192];
    size_t n = (size_t)snprintf(p, sizeof(p), "%s/src", d);
    for (int i = 0; i < 260; i++)
        n += (size_t)snprintf(p + n, sizeof(p) - n, "/d");
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p '%s'", p), 0);
    snprintf(p, sizeof(p), "%s/src", d);
    deep s = {0};
    rsl_scan_opts o = {0};
    rsl_err e;
    cr_assert_eq(rsl_scan(p, &o, deep_cb, &s, &e), RSL_OK);
    cr_assert_eq(s.code, RSL_E_DEPTH_LIMIT, "%s", rsl_code_name(s.code));
    cr_assert_eq(strlen(s.path), 256 * 2 - 1, "the directory at level 256 is not entered");
    cr_assert_eq(s.dirs, 256);
    rslt_rmrf(d);
    free(d);
}
