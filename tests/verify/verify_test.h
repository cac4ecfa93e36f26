/*
 * verify_test.h - helpers shared by the verify tests: recording content
 * digests in the manifest, altering a remote file's bytes while keeping its
 * size and mtime, running a sub-command in-process with its stdout captured
 * (for the fake transport, which lives in the test's process), and the
 * fixture's settings.
 *
 * Digests: the engine fills rsl_manifest_row.digest while it uploads (the
 * SHA-256 of the bytes read for upload). Until every transport's upload
 * path does, these tests write the digest of the source file into the rows a
 * run recorded, through the state API (fill_digests), which is what the
 * engine records for a file that did not change during its upload.
 */
#ifndef RSL_TEST_VERIFY_H
#define RSL_TEST_VERIFY_H

#include <criterion/criterion.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state/state.h"
#include "tests/support/harness.h"

static __attribute__((unused)) void sha256_file(const char *path, unsigned char *md)
{
    size_t len = 0;
    char *b = rslt_read(path, &len);
    cr_assert_not_null(b, "cannot read %s", path);
    unsigned n = 0;
    cr_assert_eq(EVP_Digest(b, len, md, &n, EVP_sha256(), NULL), 1);
    free(b);
}

/* Writes into every file row of the manifest at state the SHA-256 of
 * src/<path> (what a run records when it sends that file). Returns how many
 * rows got one. */
static __attribute__((unused)) int fill_digests(const char *state, const char *src)
{
    rsl_state *st = NULL;
    rsl_err e;
    cr_assert_eq(rsl_state_open(&st, state, RSL_STATE_RDWR, &e), RSL_OK, "%s", e.msg);
    char *paths[512];
    int n = 0;
    cr_assert_eq(rsl_state_manifest_iter_begin(st, &e), RSL_OK);
    rsl_manifest_row row;
    while (rsl_state_manifest_iter_next(st, &row, &e) == 1)
        if (row.type == RSL_TYPE_FILE && !row.pending && n < 512)
            paths[n++] = strdup(row.path);
    rsl_state_manifest_iter_end(st);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(rsl_state_manifest_get(st, paths[i], &row), 1);
        rsl_manifest_row w = row;
        w.path = paths[i];
        unsigned char md[EVP_MAX_MD_SIZE];
        char p[8300];
        snprintf(p, sizeof(p), "%s/%s", src, paths[i]);
        sha256_file(p, md);
        w.digest = md;
        w.digest_len = RSL_DIGEST_LEN;
        cr_assert_eq(rsl_state_manifest_put_row(st, &w, 1, &e), RSL_OK, "%s", e.msg);
        free(paths[i]);
    }
    rsl_state_close(st);
    return n;
}

/* Removes the recorded digest of path (an upload older than digests). */
static __attribute__((unused)) void drop_digest(const char *state, const char *path)
{
    rsl_state *st = NULL;
    rsl_err e;
    cr_assert_eq(rsl_state_open(&st, state, RSL_STATE_RDWR, &e), RSL_OK, "%s", e.msg);
    rsl_manifest_row row;
    cr_assert_eq(rsl_state_manifest_get(st, path, &row), 1, "%s not in the manifest", path);
    char *keep = strdup(path);
    rsl_manifest_row w = row;
    w.path = keep;
    w.digest = NULL;
    w.digest_len = 0;
    cr_assert_eq(rsl_state_manifest_put_row(st, &w, 1, &e), RSL_OK, "%s", e.msg);
    free(keep);
    rsl_state_close(st);
}

/* Overwrites len bytes at offset off of file path with zeros (a write cache
 * that lost them), keeping its size and its mtime to the nanosecond. */
static __attribute__((unused)) void zero_range(const char *path, long off, size_t len)
{
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0, "%s", path);
    int fd = open(path, O_WRONLY);
    cr_assert(fd >= 0, "%s", path);
    char *z = calloc(1, len);
    cr_assert_eq(pwrite(fd, z, len, off), (ssize_t)len);
    free(z);
    close(fd);
    struct timespec ts[2] = {sb.st_atim, sb.st_mtim};
    cr_assert_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* Runs fn(argc, argv) in this process with its stdout in *out (caller
 * frees); returns what fn returned. */
static __attribute__((unused)) int capture(int (*fn)(int, char **), char **argv, char **out)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    char tmpl[] = "/tmp/rsl-capture-XXXXXX";
    int fd = mkstemp(tmpl);
    cr_assert(fd >= 0);
    fflush(stdout);
    int saved = dup(1);
    dup2(fd, 1);
    int rc = fn(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    close(fd);
    *out = rslt_read(tmpl, NULL);
    unlink(tmpl);
    return rc;
}

/* Checks JSON lines with tests/output/json_check.py. */
static __attribute__((unused)) void json_valid(const char *text)
{
    char *d = rslt_tmpdir("vjson");
    char p[8300];
    snprintf(p, sizeof(p), "%s/in.jsonl", d);
    rslt_write(p, text);
    char *out = NULL;
    int rc =
        rslt_sh(&out, NULL, "python3 '%s/tests/output/json_check.py' < '%s'", rslt_srcdir(), p);
    cr_assert_eq(rc, 0, "%s\n--- input:\n%s", out, text);
    free(out);
    rslt_rmrf(d);
    free(d);
}

#endif
