/*
 * test_https_e2e.c - the built binary (RSL_BIN) with an https:// destination
 * job file, against the real Apache and nginx: a first run, a no-change run,
 * changes and deletions, `check`, and a run SIGKILLed in the middle of a large
 * file followed by a run that resumes it (Apache) or re-sends it (nginx).
 */
#define _GNU_SOURCE /* asprintf */
#include <signal.h>
#include <time.h>

#include "https_test_util.h"

typedef struct e2e {
    char *dir, *src, *conf, *up, *disk;
} e2e;

static void write_job(e2e *e, const char *srv, const char *extra_job, const char *extra_remote)
{
    char *url = url_of(srv, "https", e->up), *pw = fx(srv, "PASSWORD_FILE"),
         *ca = fx(srv, "CA_FILE"), *conf = NULL;
    cr_assert(asprintf(&conf,
                       "[job]\nname = e2e\nsource = src\ndestination = %s\nstate = state/e2e.db\n"
                       "%s\n[remote]\nusername = rsl\npassword_file = %s\nca_file = %s\n"
                       "chunk_size = 1M\n%s\n",
                       url, extra_job ? extra_job : "", pw, ca,
                       extra_remote ? extra_remote : "") > 0);
    rslt_write(e->conf, conf);
    free(conf);
    free(url);
    free(pw);
    free(ca);
}

static void e2e_new(e2e *e, const char *srv, const char *tag)
{
    memset(e, 0, sizeof(*e));
    e->dir = rslt_tmpdir(tag);
    cr_assert(asprintf(&e->src, "%s/src", e->dir) > 0);
    cr_assert(asprintf(&e->conf, "%s/job.conf", e->dir) > 0);
    cr_assert(mkdir(e->src, 0755) == 0);
    e->disk = make_remote_root(srv, tag, &e->up);
    write_job(e, srv, NULL, NULL);
}

static void e2e_free(e2e *e)
{
    rslt_rmrf(e->dir);
    rslt_rmrf(e->disk);
    free(e->dir);
    free(e->src);
    free(e->conf);
    free(e->up);
    free(e->disk);
}

static void put(e2e *e, const char *rel, const char *content)
{
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/%s", e->src, rel) > 0);
    rslt_write(p, content);
    free(p);
}

static int run_bin(e2e *e, char **out, const char *args)
{
    char *err = NULL;
    int rc = rslt_sh(out, &err, "cd '%s' && '%s' %s", e->dir, rslt_bin(), args);
    if (rc != 0)
        fprintf(stderr, "rsyncd-lite %s -> %d\n%s", args, rc, err);
    free(err);
    return rc;
}

static long long summary_num(const char *out, const char *key)
{
    const char *line = strstr(out, "{\"summary\":true");
    cr_assert_not_null(line, "no summary in: %s", out);
    char k[128];
    snprintf(k, sizeof(k), "\"%s\":", key);
    const char *p = strstr(line, k);
    cr_assert_not_null(p, "no %s in summary", key);
    return strtoll(p + strlen(k), NULL, 10);
}

static int same_tree(e2e *e)
{
    return rslt_sh(NULL, NULL, "diff -r '%s' '%s' >/dev/null", e->src, e->disk) == 0;
}

BOTH_SERVERS(e2e_run_nochange_change_delete_check, .timeout = 120)
{
    e2e e;
    e2e_new(&e, srv, "e2e-basic");
    write_job(&e, srv, "delete = yes", NULL);
    put(&e, "index.html", "<h1>hi</h1>\n");
    put(&e, "a dir/with space #1 100%.txt", "odd name\n");
    put(&e, "caf\xc3\xa9/men\xc3\xbc?.txt", "utf-8\n");
    put(&e, "deep/er/still/x.txt", "deep\n");
    put(&e, "empty.txt", "");
    char *big = NULL;
    cr_assert(asprintf(&big, "%s/big.bin", e.src) > 0);
    rslt_write_random(big, 5 * 1024 * 1024 + 3, 11);
    char *out = NULL;
    cr_assert_eq(run_bin(&e, &out, "run job.conf --json"), 0, "%s", out);
    cr_assert_eq(summary_num(out, "transferred_files"), 6, "%s", out);
    cr_assert(same_tree(&e), "remote differs after the first run");
    free(out);
    /* nothing changed: nothing sent */
    cr_assert_eq(run_bin(&e, &out, "run job.conf --json"), 0, "%s", out);
    cr_assert_eq(summary_num(out, "transferred_files"), 0, "%s", out);
    free(out);
    /* a change, a new file, a deletion */
    put(&e, "index.html", "<h1>hello again</h1>\n");
    put(&e, "deep/new.txt", "new\n");
    char *gone = NULL;
    cr_assert(asprintf(&gone, "%s/empty.txt", e.src) > 0);
    unlink(gone);
    cr_assert_eq(run_bin(&e, &out, "run job.conf --json"), 0, "%s", out);
    cr_assert_eq(summary_num(out, "transferred_files"), 2, "%s", out);
    cr_assert_eq(summary_num(out, "deletes_applied"), 1, "%s", out);
    cr_assert(same_tree(&e), "remote differs after the changes");
    free(out);
    /* check says what the server can do */
    cr_assert_eq(run_bin(&e, &out, "check job.conf"), 0, "%s", out);
    cr_assert(strstr(out, is_apache(srv) ? "partial PUT supported" : "partial PUT unsupported") !=
                  NULL,
              "%s", out);
    cr_assert(strstr(out, "TLS verified") != NULL, "%s", out);
    free(out);
    free(gone);
    free(big);
    e2e_free(&e);
}

/* Polls until the server holds more than `bytes` of the upload in progress:
 * Apache writes the temp file in place; nginx buffers the body in its own
 * client_body_temp directory until the request ends. */
static int server_holds(const char *srv, const char *tmpdisk, long long bytes)
{
    if (is_apache(srv))
        return rslt_size(tmpdisk) > bytes;
    char *dir = fx(srv, "DIR");
    int rc = rslt_sh(NULL, NULL, "find '%s/tmp/body' -type f -size +%lldc | grep -q .", dir, bytes);
    free(dir);
    return rc == 0;
}

BOTH_SERVERS(e2e_sigkill_mid_file_then_resume, .timeout = 180)
{
    e2e e;
    e2e_new(&e, srv, "e2e-kill");
    const long long total = 48ll << 20, at = 16ll << 20;
    char *big = NULL, *tmpdisk = NULL, *pidf = NULL;
    cr_assert(asprintf(&big, "%s/big.bin", e.src) > 0);
    cr_assert(asprintf(&tmpdisk, "%s/big.bin.rsl-part", e.disk) > 0);
    cr_assert(asprintf(&pidf, "%s/pid", e.dir) > 0);
    rslt_write_random(big, (uint64_t)total, 77);
    /* slow enough to be caught in the middle */
    write_job(&e, srv, "bwlimit = 8M", NULL);
    cr_assert_eq(rslt_sh(NULL, NULL,
                         "cd '%s' && { '%s' run job.conf >run1.log 2>&1 & echo $! >'%s'; }", e.dir,
                         rslt_bin(), pidf),
                 0);
    char *pid = rslt_read(pidf, NULL);
    cr_assert(pid != NULL);
    int held = 0;
    for (int i = 0; i < 3000 && !(held = server_holds(srv, tmpdisk, at)); i++)
        sleep_ms(10); /* polling the server's disk */
    cr_assert(held, "the upload never reached %lld bytes", at);
    pid_t p = (pid_t)strtol(pid, NULL, 10);
    cr_assert_eq(kill(p, SIGKILL), 0);
    for (int i = 0; i < 500 && kill(p, 0) == 0; i++)
        sleep_ms(10); /* polling for the process to be gone */
    long long had = is_apache(srv) ? rslt_size(tmpdisk) : 0;
    /* the next run (no bwlimit) resumes */
    write_job(&e, srv, NULL, NULL);
    char *out = NULL;
    cr_assert_eq(run_bin(&e, &out, "run job.conf --json"), 0, "%s", out);
    long long sent = summary_num(out, "transferred_bytes");
    char *final = NULL;
    cr_assert(asprintf(&final, "%s/big.bin", e.disk) > 0);
    cr_assert(files_equal(big, final), "final file differs");
    cr_assert(!rslt_exists(tmpdisk));
    if (is_apache(srv)) {
        cr_assert(had >= at, "server had %lld", had);
        cr_assert(sent <= total - had + (1ll << 20), "second run sent %lld, server lacked %lld",
                  sent, total - had);
    } else {
        cr_assert_eq(sent, total, "%s", out);
    }
    free(out);
    free(final);
    free(pid);
    free(pidf);
    free(tmpdisk);
    free(big);
    e2e_free(&e);
}
