/*
 * sendless_cases.h - the "send less" scenarios (issue 12) run end to end by
 * the built binary against a destination whose remote root is a local
 * directory (file://, and the fixture's sshd for sftp://), so that what the
 * remote holds can be checked on disk: a remote move keeps the inode of the
 * remote file, an append keeps the remote file's inode and sends only the
 * tail, directory mtimes and links are read back with lstat.
 * Included by tests/e2e/test_sendless.c and
 * tests/transport_sftp/test_sendless.c; each fills an sl_env.
 * Owns: the env's strings (sl_free).
 */
#ifndef RSL_TEST_SENDLESS_CASES_H
#define RSL_TEST_SENDLESS_CASES_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* gcc 12 at -O2 and up takes the output that sl_run hands over through
 * char **out, once inlined, for a pointer into the caller's frame: a false
 * -Wdangling-pointer on every search in it. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/harness.h"

typedef struct sl_env {
    char *dir, *src, *root, *conf;
    char *dest;   /* destination URL */
    char *remote; /* the [remote] section's lines */
} sl_env;

static inline char *sl_path(const char *a, const char *b)
{
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/%s", a, b) > 0);
    return p;
}

/* (Re)writes the job file with the [job] lines `extra`. */
static inline void sl_conf(sl_env *e, const char *extra)
{
    char *text = NULL;
    cr_assert(asprintf(&text,
                       "[job]\nname = sl\nsource = %s\ndestination = %s\nstate = %s/state.db\n"
                       "%s\n[remote]\n%s\n",
                       e->src, e->dest, e->dir, extra ? extra : "",
                       e->remote ? e->remote : "") > 0);
    rslt_write(e->conf, text);
    free(text);
}

static inline void sl_free(sl_env *e)
{
    rslt_rmrf(e->dir);
    rslt_rmrf(e->root);
    free(e->dir);
    free(e->src);
    free(e->root);
    free(e->conf);
    free(e->dest);
    free(e->remote);
}

/* Runs `rsyncd-lite run ARGS job.conf`; stdout into *out (caller frees). */
static inline int sl_run(sl_env *e, const char *args, char **out)
{
    char *err = NULL, *o = NULL;
    int rc = rslt_sh(&o, &err, "'%s' run %s '%s'", rslt_bin(), args ? args : "", e->conf);
    if (rc != 0 && rc != 23) /* for the reader of a failure (not cr_log: it fails the run) */
        fprintf(stderr, "run %s: exit %d\n%s\n%s\n", args ? args : "", rc, o, err);
    free(err);
    if (out)
        *out = o;
    else
        free(o);
    return rc;
}

/* A number member of the JSON summary (the last record of out). */
static inline long long sl_num(const char *out, const char *key)
{
    const char *last = strstr(out, "{\"summary\":true");
    cr_assert_not_null(last, "no summary in %s", out);
    char k[64];
    snprintf(k, sizeof(k), "\"%s\":", key);
    const char *p = strstr(last, k);
    cr_assert_not_null(p, "no %s in %s", key, last);
    return strtoll(p + strlen(k), NULL, 10);
}

/* One --json run that must exit 0; its output (caller frees). */
static inline char *sl_json(sl_env *e)
{
    char *out = NULL;
    int rc = sl_run(e, "--json", &out);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    return out;
}

static inline unsigned long long sl_ino(const char *dir, const char *rel)
{
    char *p = sl_path(dir, rel);
    struct stat sb;
    cr_assert_eq(lstat(p, &sb), 0, "%s is not there", p);
    free(p);
    return (unsigned long long)sb.st_ino;
}

static inline int sl_has(const char *dir, const char *rel)
{
    char *p = sl_path(dir, rel);
    struct stat sb;
    int r = lstat(p, &sb) == 0;
    free(p);
    return r;
}

/* The source and the remote root hold the same files (links not followed). */
static inline void sl_same_tree_x(sl_env *e, const char *diff_opts)
{
    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "diff -r --no-dereference %s '%s' '%s' 2>&1", diff_opts, e->src,
                     e->root);
    cr_assert_eq(rc, 0, "trees differ:\n%s", out);
    free(out);
}

static inline void sl_same_tree(sl_env *e)
{
    sl_same_tree_x(e, "");
}

/* A shell command (printf format) that must succeed. */
#define SL_SH(...) cr_assert_eq(rslt_sh(NULL, NULL, __VA_ARGS__), 0, "a setup command failed")

/* ---- renames and moves ---- */

/* A file renamed: one remote move, no byte sent, the remote inode kept;
 * the dry run says so first; a no-change run afterwards does nothing. */
static inline void sl_case_file_rename(sl_env *e)
{
    sl_conf(e, "delete = yes\nmax_delete = 0");
    rslt_write_random(sl_path(e->src, "a.bin"), 300000, 3);
    rslt_write(sl_path(e->src, "keep.txt"), "keep\n");
    free(sl_json(e));
    unsigned long long ino = sl_ino(e->root, "a.bin");
    SL_SH("mv '%s/a.bin' '%s/b.bin'", e->src, e->src);
    char *out = NULL;
    cr_assert_eq(sl_run(e, "--dry-run", &out), 0);
    cr_assert(strstr(out, "move     a.bin -> b.bin") != NULL, "%s", out);
    free(out);
    out = sl_json(e); /* max_delete = 0: a move is no delete */
    cr_assert_eq(sl_num(out, "moves"), 1, "%s", out);
    cr_assert_eq(sl_num(out, "transferred_bytes"), 0, "%s", out);
    cr_assert_eq(sl_num(out, "deletes_applied"), 0, "%s", out);
    cr_assert(strstr(out, "\"path\":\"b.bin\",\"from\":\"a.bin\",\"action\":\"move\"") != NULL,
              "%s", out);
    free(out);
    cr_assert_eq(sl_ino(e->root, "b.bin"), ino, "the remote file was sent again, not moved");
    cr_assert_not(sl_has(e->root, "a.bin"));
    sl_same_tree(e);
    out = sl_json(e);
    cr_assert_eq(sl_num(out, "moves"), 0, "%s", out);
    cr_assert_eq(sl_num(out, "transferred_files"), 0, "%s", out);
    free(out);
}

/* A directory renamed as a whole: one move of the directory. */
static inline void sl_case_dir_rename(sl_env *e)
{
    sl_conf(e, "delete = yes");
    rslt_write(sl_path(e->src, "d1/x.txt"), "x\n");
    rslt_write(sl_path(e->src, "d1/y.txt"), "yy\n");
    rslt_write_random(sl_path(e->src, "d1/sub/z.bin"), 70000, 4);
    free(sl_json(e));
    unsigned long long ino = sl_ino(e->root, "d1"), zino = sl_ino(e->root, "d1/sub/z.bin");
    SL_SH("mv '%s/d1' '%s/d2'", e->src, e->src);
    char *out = NULL;
    cr_assert_eq(sl_run(e, "--dry-run", &out), 0);
    cr_assert(strstr(out, "move     d1 -> d2") != NULL, "%s", out);
    cr_assert_eq(rslt_count(out, "\n"), 1, "one line for the whole directory: %s", out);
    free(out);
    out = sl_json(e);
    cr_assert_eq(sl_num(out, "moves"), 1, "%s", out);
    cr_assert_eq(sl_num(out, "transferred_bytes"), 0, "%s", out);
    cr_assert_eq(sl_num(out, "dirs_applied"), 0, "%s", out);
    free(out);
    cr_assert_eq(sl_ino(e->root, "d2"), ino);
    cr_assert_eq(sl_ino(e->root, "d2/sub/z.bin"), zino);
    cr_assert_not(sl_has(e->root, "d1"));
    sl_same_tree(e);
    out = sl_json(e);
    cr_assert_eq(sl_num(out, "transferred_files") + sl_num(out, "moves"), 0, "%s", out);
    free(out);
}

/* A file moved into another (new) directory: the directory is made first. */
static inline void sl_case_move_across_dirs(sl_env *e)
{
    sl_conf(e, "delete = yes");
    rslt_write_random(sl_path(e->src, "a/f.bin"), 50000, 5);
    rslt_write(sl_path(e->src, "a/stay.txt"), "stay\n");
    free(sl_json(e));
    unsigned long long ino = sl_ino(e->root, "a/f.bin");
    SL_SH("mkdir -p '%s/b/c' && mv '%s/a/f.bin' '%s/b/c/f.bin'", e->src, e->src, e->src);
    char *out = sl_json(e);
    cr_assert_eq(sl_num(out, "moves"), 1, "%s", out);
    cr_assert_eq(sl_num(out, "transferred_bytes"), 0, "%s", out);
    cr_assert_eq(sl_num(out, "dirs_applied"), 2, "%s", out);
    free(out);
    cr_assert_eq(sl_ino(e->root, "b/c/f.bin"), ino);
    cr_assert_not(sl_has(e->root, "a/f.bin"));
    sl_same_tree(e);
}

/* Renamed and changed (size and mtime differ): uploaded, not moved. */
static inline void sl_case_rename_and_change(sl_env *e)
{
    sl_conf(e, "delete = yes");
    rslt_write_random(sl_path(e->src, "a.bin"), 40000, 6);
    free(sl_json(e));
    SL_SH("mv '%s/a.bin' '%s/b.bin'", e->src, e->src);
    SL_SH("echo more >> '%s/b.bin' && touch -d '2001-01-01' '%s/b.bin'", e->src, e->src);
    char *out = sl_json(e);
    cr_assert_eq(sl_num(out, "moves"), 0, "%s", out);
    cr_assert_eq(sl_num(out, "transferred_files"), 1, "%s", out);
    cr_assert_eq(sl_num(out, "deletes_applied"), 1, "%s", out);
    free(out);
    sl_same_tree(e);
}

/* Same inode, size and mtime but other content (what a reused inode looks
 * like): the digest says no, the file is uploaded. */
static inline void sl_case_same_inode_other_content(sl_env *e)
{
    sl_conf(e, "delete = yes");
    rslt_write(sl_path(e->src, "a.txt"), "0123456789abcdef\n");
    free(sl_json(e));
    SL_SH("mv '%s/a.txt' '%s/b.txt'", e->src, e->src);
    SL_SH("cd '%s' && touch -r b.txt ../ref && printf 'ZZZZ' | dd of=b.txt conv=notrunc "
          "status=none && touch -r ../ref b.txt",
          e->src);
    char *out = sl_json(e);
    cr_assert_eq(sl_num(out, "moves"), 0, "%s", out);
    cr_assert_eq(sl_num(out, "transferred_files"), 1, "%s", out);
    free(out);
    char *got = rslt_read(sl_path(e->root, "b.txt"), NULL);
    cr_assert_str_eq(got, "ZZZZ456789abcdef\n");
    free(got);
    sl_same_tree(e);
}

/* The remote was changed behind the job's back: with the default
 * remote_check the run stops first with REMOTE_CHANGED (exit 5) and
 * changes nothing; the job then turns the check off (`extra` plus
 * remote_check = never) so that the engine's own fallback is what runs. */
static inline void sl_remote_changed_then_unchecked(sl_env *e, const char *extra)
{
    char *out = NULL;
    int rc = sl_run(e, "--json", &out);
    cr_assert_eq(rc, 5, "exit %d: %s", rc, out);
    cr_assert(strstr(out, "\"code\":\"REMOTE_CHANGED\"") != NULL, "%s", out);
    free(out);
    char conf[256];
    snprintf(conf, sizeof(conf), "%s\nremote_check = never", extra);
    sl_conf(e, conf);
}

/* The remote cannot do the move (its old file is gone): recorded as a
 * refused move, the new path uploaded, the run still succeeds. */
static inline void sl_case_refused_move_falls_back(sl_env *e)
{
    sl_conf(e, "delete = yes");
    rslt_write_random(sl_path(e->src, "a.bin"), 30000, 7);
    rslt_write(sl_path(e->src, "d1/x.txt"), "x\n");
    free(sl_json(e));
    SL_SH("mv '%s/a.bin' '%s/b.bin'", e->src, e->src);
    SL_SH("mv '%s/d1' '%s/d2'", e->src, e->src);
    SL_SH("rm -rf '%s/a.bin' '%s/d1'", e->root, e->root); /* the server lost them */
    sl_remote_changed_then_unchecked(e, "delete = yes");
    char *out = sl_json(e);
    cr_assert_eq(sl_num(out, "moves"), 0, "%s", out);
    cr_assert_eq(sl_num(out, "transferred_files"), 2, "%s", out);
    cr_assert(strstr(out, "\"from\":\"a.bin\",\"action\":\"move\",\"outcome\":\"skipped\","
                          "\"code\":\"REMOTE_NOT_FOUND\"") != NULL,
              "%s", out);
    free(out);
    sl_same_tree(e);
    out = sl_json(e);
    cr_assert_eq(sl_num(out, "transferred_files") + sl_num(out, "moves"), 0, "%s", out);
    free(out);
}

/* Without delete = yes nothing is moved: the new path is uploaded, the old
 * one stays. */
static inline void sl_case_no_delete_uploads(sl_env *e)
{
    sl_conf(e, NULL);
    rslt_write(sl_path(e->src, "a.txt"), "a\n");
    free(sl_json(e));
    SL_SH("mv '%s/a.txt' '%s/b.txt'", e->src, e->src);
    char *out = sl_json(e);
    cr_assert_eq(sl_num(out, "moves"), 0, "%s", out);
    cr_assert_eq(sl_num(out, "transferred_files"), 1, "%s", out);
    free(out);
    cr_assert(sl_has(e->root, "a.txt") && sl_has(e->root, "b.txt"));
}

/* ---- crashes ---- */

/* Runs that rename 200 files and a directory are SIGKILLed at spread
 * moments (between remote moves and their manifest rows, among others); a
 * final run always converges: the remote is the source, nothing pending. */
static inline void sl_case_sigkill_while_moving(sl_env *e_, long step_ns)
{
    sl_env e = *e_;
    sl_conf(&e, "delete = yes\ntransfers = 2");
    for (int i = 0; i < 200; i++) {
        char name[64];
        snprintf(name, sizeof(name), "f/%03d.txt", i);
        char body[64];
        snprintf(body, sizeof(body), "file %d\n", i);
        rslt_write(sl_path(e.src, name), body);
    }
    rslt_write(sl_path(e.src, "dir/a/x.txt"), "x\n");
    free(sl_json(&e));
    for (int round = 0; round < 6; round++) {
        /* every file and the directory get a new name */
        SL_SH("cd '%s/f' && for f in *; do mv \"$f\" \"r%d-$f\"; done", e.src, round);
        SL_SH("cd '%s' && mv dir dir%d", e.src, round);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
            int null = open("/dev/null", 1);
            dup2(null, 1);
            dup2(null, 2);
            execl(rslt_bin(), rslt_bin(), "run", e.conf, (char *)NULL);
            _exit(127);
        }
        struct timespec ts = {0, (long)round * step_ns};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        SL_SH("cd '%s' && mv dir%d dir", e.src, round);
    }
    char *out = NULL;
    cr_assert_eq(sl_run(&e, "--json", &out), 0, "%s", out);
    free(out);
    sl_same_tree(&e); /* temps of killed uploads included (plan.c: pending rows' temps) */
    out = sl_json(&e);
    cr_assert_eq(sl_num(out, "transferred_files") + sl_num(out, "moves") +
                     sl_num(out, "deletes_applied"),
                 0, "a converged run does nothing more: %s", out);
    free(out);
    char *db = sl_path(e.dir, "state.db");
    cr_assert_eq(
        rslt_sh(&out, NULL, "sqlite3 '%s' 'SELECT count(*) FROM manifest WHERE pending'", db), 0);
    cr_assert_eq(strtol(out, NULL, 10), 0, "pending rows left: %s", out);
    free(out);
}

/* The exact crash window: the remote move done and its write-ahead rows
 * committed (the new path pending, the old row marked pending), the
 * process gone before the manifest was updated. The next run converges:
 * the new path is on the remote with the right content, the old one gone,
 * nothing pending; the run after it does nothing. */
static inline void sl_case_crash_window(sl_env *e_)
{
    sl_env e = *e_;
    sl_conf(&e, "delete = yes");
    rslt_write(sl_path(e.src, "a.txt"), "content of a\n");
    free(sl_json(&e));
    SL_SH("mv '%s/a.txt' '%s/b.txt'", e.src, e.src);
    SL_SH("mv '%s/a.txt' '%s/b.txt'", e.root, e.root); /* the remote move */
    char *db = sl_path(e.dir, "state.db");
    SL_SH("sqlite3 '%s' \"UPDATE manifest SET pending = 1 WHERE path = 'a.txt'; INSERT INTO "
          "manifest(skey, path, type, size, mtime_ns, run_id, pending) VALUES(CAST('b.txt' AS "
          "BLOB), 'b.txt', 102, 0, 0, 2, 1);\"",
          db);
    char *out = sl_json(&e);
    cr_assert_eq(sl_num(out, "item_errors"), 0, "%s", out);
    free(out);
    sl_same_tree(&e);
    cr_assert_eq(
        rslt_sh(&out, NULL, "sqlite3 '%s' 'SELECT count(*) FROM manifest WHERE pending'", db), 0);
    cr_assert_eq(strtol(out, NULL, 10), 0, "pending rows left: %s", out);
    free(out);
    out = sl_json(&e);
    cr_assert_eq(sl_num(out, "transferred_files") + sl_num(out, "moves") +
                     sl_num(out, "deletes_applied"),
                 0, "%s", out);
    free(out);
    free(db);
}

/* ---- growing files ---- */

/* A log that grew: only the tail is sent, in place (the remote inode is
 * kept); a rotated log (head changed) is sent whole. */
static inline void sl_case_append(sl_env *e)
{
    sl_conf(e, "append = *.log");
    const long long base = 1 << 20;
    rslt_write_random(sl_path(e->src, "app.log"), (uint64_t)base, 8);
    rslt_write_random(sl_path(e->src, "other.bin"), 5000, 9);
    free(sl_json(e));
    unsigned long long ino = sl_ino(e->root, "app.log");
    SL_SH("head -c 3000 /dev/urandom >> '%s/app.log'", e->src);
    SL_SH("head -c 100 /dev/urandom >> '%s/other.bin'", e->src); /* no pattern: whole */
    char *out = sl_json(e);
    cr_assert_eq(sl_num(out, "transferred_bytes"), 3000 + 5100, "%s", out);
    cr_assert(strstr(out, "\"path\":\"app.log\",\"action\":\"append\",\"outcome\":\"ok\"") != NULL,
              "%s", out);
    free(out);
    cr_assert_eq(sl_ino(e->root, "app.log"), ino, "appended in place");
    sl_same_tree(e);
    /* rotated: a new head, longer than before */
    rslt_write_random(sl_path(e->src, "app.log"), (uint64_t)base + 9000, 10);
    out = sl_json(e);
    cr_assert_eq(sl_num(out, "transferred_bytes"), base + 9000, "%s", out);
    free(out);
    sl_same_tree(e);
    /* and it grows again from there: the tail only */
    SL_SH("printf 'line\\n' >> '%s/app.log'", e->src);
    out = sl_json(e);
    cr_assert_eq(sl_num(out, "transferred_bytes"), 5, "%s", out);
    free(out);
    sl_same_tree(e);
    /* an append records the whole file's digest: the next growth is a tail again */
    SL_SH("printf 'more\\n' >> '%s/app.log'", e->src);
    out = sl_json(e);
    cr_assert_eq(sl_num(out, "transferred_bytes"), 5, "%s", out);
    cr_assert(strstr(out, "\"path\":\"app.log\",\"action\":\"append\",\"outcome\":\"ok\"") != NULL,
              "%s", out);
    free(out);
    sl_same_tree(e);
}

/* The remote file is not the length recorded (someone wrote to it): the
 * append is refused before a byte is written and the file goes whole. */
static inline void sl_case_append_remote_changed(sl_env *e)
{
    sl_conf(e, "append = *.log");
    rslt_write_random(sl_path(e->src, "app.log"), 100000, 13);
    free(sl_json(e));
    SL_SH("printf 'written on the server\\n' >> '%s/app.log'", e->root);
    SL_SH("head -c 2000 /dev/urandom >> '%s/app.log'", e->src);
    sl_remote_changed_then_unchecked(e, "append = *.log");
    char *out = sl_json(e);
    cr_assert_eq(sl_num(out, "transferred_bytes"), 102000, "%s", out);
    free(out);
    sl_same_tree(e);
}

/* ---- directory mtimes and links ---- */

static inline long long sl_mtime(const char *dir, const char *rel)
{
    char *p = sl_path(dir, rel);
    struct stat sb;
    cr_assert_eq(lstat(p, &sb), 0, "%s", p);
    free(p);
    return (long long)sb.st_mtim.tv_sec;
}

/* Directory mtimes: set once everything inside is done, again when the
 * directory changed. */
static inline void sl_case_dir_mtimes(sl_env *e)
{
    sl_conf(e, "delete = yes");
    rslt_write(sl_path(e->src, "d/e/f.txt"), "f\n");
    rslt_write(sl_path(e->src, "d/g.txt"), "g\n");
    SL_SH("touch -d '2003-04-05 06:07:08' '%s/d/e' '%s/d'", e->src, e->src);
    free(sl_json(e));
    cr_assert_eq(sl_mtime(e->root, "d"), sl_mtime(e->src, "d"));
    cr_assert_eq(sl_mtime(e->root, "d/e"), sl_mtime(e->src, "d/e"));
    /* a file deleted inside: the directory's time follows the source */
    SL_SH("rm '%s/d/g.txt' && touch -d '2004-01-01 00:00:00' '%s/d'", e->src, e->src);
    free(sl_json(e));
    cr_assert_eq(sl_mtime(e->root, "d"), sl_mtime(e->src, "d"));
    cr_assert_eq(sl_mtime(e->root, "d/e"), sl_mtime(e->src, "d/e"));
    /* only the time changed */
    SL_SH("touch -d '2005-01-01 00:00:00' '%s/d/e'", e->src);
    free(sl_json(e));
    cr_assert_eq(sl_mtime(e->root, "d/e"), sl_mtime(e->src, "d/e"));
}

static inline char *sl_link(const char *dir, const char *rel)
{
    char *p = sl_path(dir, rel);
    char buf[4096];
    ssize_t n = readlink(p, buf, sizeof(buf) - 1);
    free(p);
    if (n < 0)
        return NULL;
    buf[n] = '\0';
    return strdup(buf);
}

/* symlinks = as-links: relative links inside the tree are made as links;
 * one leaving the tree and an absolute one are refused (not made). */
static inline void sl_case_links(sl_env *e)
{
    sl_conf(e, "symlinks = as-links\ndelete = yes");
    rslt_write(sl_path(e->src, "a.txt"), "a\n");
    rslt_write(sl_path(e->src, "d/b.txt"), "b\n");
    SL_SH("cd '%s' && ln -s a.txt top && ln -s ../a.txt d/up && ln -s ../../etc/passwd d/out "
          "&& ln -s /etc/passwd abs && ln -s d dirlink && touch -h -d 2001-01-01 top",
          e->src);
    char *out = sl_json(e);
    cr_assert(strstr(out, "\"path\":\"d/out\",\"action\":\"skip\",\"outcome\":\"skipped\","
                          "\"code\":\"SYMLINK_OUTSIDE\"") != NULL,
              "%s", out);
    cr_assert(strstr(out, "\"path\":\"abs\",\"action\":\"skip\",\"outcome\":\"skipped\","
                          "\"code\":\"SYMLINK_OUTSIDE\"") != NULL,
              "%s", out);
    free(out);
    char *t = sl_link(e->root, "top");
    cr_assert(t && strcmp(t, "a.txt") == 0, "top -> %s", t ? t : "(no link)");
    free(t);
    t = sl_link(e->root, "d/up");
    cr_assert(t && strcmp(t, "../a.txt") == 0, "d/up -> %s", t ? t : "(no link)");
    free(t);
    t = sl_link(e->root, "dirlink");
    cr_assert(t && strcmp(t, "d") == 0, "dirlink -> %s", t ? t : "(no link)");
    free(t);
    cr_assert_not(sl_has(e->root, "d/out"), "a link leaving the tree was made");
    cr_assert_not(sl_has(e->root, "abs"), "an absolute link was made");
    /* verify knows links: no content to compare, no mtime set on them */
    char *vout = NULL;
    cr_assert_eq(rslt_sh(&vout, NULL, "'%s' verify '%s'", rslt_bin(), e->conf), 0, "%s", vout);
    free(vout);
    rslt_sh(&vout, NULL, "'%s' verify --checksum '%s'", rslt_bin(), e->conf);
    cr_assert(strstr(vout, "top") == NULL && strstr(vout, "d/up") == NULL, "%s", vout);
    free(vout);
    /* the target changes: the link is made again */
    SL_SH("cd '%s' && ln -sfn d/b.txt top", e->src);
    out = sl_json(e);
    free(out);
    t = sl_link(e->root, "top");
    cr_assert(t && strcmp(t, "d/b.txt") == 0, "top -> %s", t ? t : "(no link)");
    free(t);
    /* the link goes: removed on the remote */
    SL_SH("rm '%s/top'", e->src);
    free(sl_json(e));
    cr_assert_not(sl_has(e->root, "top"));
}

#endif
