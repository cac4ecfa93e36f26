/*
 * cmd_run.c - `run JOB.conf`, `retry JOB.conf` (= run --only-failed) and
 * `push SRC DEST` (a job built from the command line). All three drive the
 * same engine (engine/sync.h) and render its results.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/config.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "engine/metrics.h"
#include "engine/sync.h"

/* Set by SIGTERM/SIGINT: the only signal-handler state. The engine's threads
 * read it with an atomic load, so it is stored atomically too (a lock-free
 * atomic store is async-signal-safe). */
static volatile sig_atomic_t g_cancel;

static void on_signal(int sig)
{
    (void)sig;
    __atomic_store_n(&g_cancel, 1, __ATOMIC_RELAXED);
}

typedef struct run_ui {
    int json;
    int verbose;
    int dry_run;
    FILE *out;
    rsl_progress_ui *prog; /* issue 6: progress display */
    long long failed;      /* items that failed in this run for the first time, or transiently */
    long long again;       /* items that failed again with a persistent error */
    long long deferred;    /* items still blocked after failing in earlier runs */
} run_ui;

/* A result as it is recorded. Text: a new failure is one line on stderr, at
 * once. An item still deferred from an earlier run, or failing again with a
 * persistent error (a name the remote refuses is re-checked on every run) was
 * reported when it first failed: it is only counted, and all of them make one
 * line after the run. With -v every item goes to stdout. */
static void ui_result(void *ud, const rsl_item_result *r, const char *cls)
{
    run_ui *u = ud;
    rsl_progress_note(u->prog, r->path);
    int failed = strcmp(r->outcome, "failed") == 0;
    int again = failed && r->attempts > 1 && strcmp(cls, "persistent") == 0;
    int deferred = strcmp(r->outcome, "deferred") == 0;
    u->failed += failed && !again;
    u->again += again;
    u->deferred += deferred;
    if (u->json) {
        rsl_out_result_json(u->out, r, 0);
        return;
    }
    int show = (failed && !again) || u->verbose;
    if (show)
        rsl_progress_clear(u->prog);
    if (failed && !again) {
        fflush(u->out); /* keep the order of stdout and stderr when both go to one file */
        rsl_out_failure_line(stderr, r);
    } else if (u->verbose)
        rsl_out_result_text(u->out, r);
}

static void ui_plan(void *ud, const char *verb, const char *path, const char *detail)
{
    run_ui *u = ud;
    if (u->json)
        rsl_out_plan_json(u->out, verb, path, detail);
    else
        rsl_out_plan_text(u->out, verb, path, detail);
}

static void ui_log(void *ud, int level, const char *msg)
{
    run_ui *u = ud;
    if (level >= RSL_LOG_WARN || u->verbose)
        rsl_progress_clear(u->prog);
    if (level >= RSL_LOG_WARN)
        rsl_out_line(stderr, "rsyncd-lite: %s: %s", level >= RSL_LOG_ERROR ? "error" : "warning",
                     msg);
    else if (u->verbose)
        rsl_out_line(stderr, "rsyncd-lite: %s", msg);
}

static void ui_progress(void *ud, const rsl_progress *p)
{
    run_ui *u = ud;
    rsl_progress_update(u->prog, p);
}

typedef struct run_flags {
    int only_failed, dry_run, json, verbose, quiet;
    int progress; /* 0: default (live on a TTY), 1: --progress, -1: --no-progress */
    long max_delete;
    const char *mode;
} run_flags;

/* SIGTERM/SIGINT ask the run to stop (a second one ends the process at
 * once); a closed pipe is an error, not a signal. */
static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second signal ends the process at once */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void warn_line(void *ud, const char *msg)
{
    (void)ud;
    rsl_out_line(stderr, "rsyncd-lite: warning: %s", msg);
}

/* The transport words the warning when its settings turn a check off; a
 * secret file others may read is named on every run (cron mails it). */
static void warn_unverified(const rsl_job *job)
{
    const char *unverified = rsl_job_unverified(job);
    if (unverified != NULL)
        fprintf(stderr, "rsyncd-lite: warning: %s\n", unverified);
    rsl_job_secret_warnings(job, warn_line, NULL);
}

/* When the earliest item deferred by an earlier run may be retried ("" if
 * unknown): the soonest next retry among the failures still blocked. */
static void earliest_retry(const rsl_job *job, int64_t after_ms, char *buf, size_t n)
{
    rsl_state *st = NULL;
    rsl_failure *f = NULL;
    size_t nf = 0;
    rsl_err err;
    int64_t best = 0;
    buf[0] = '\0';
    if (rsl_state_open(&st, job->state_path, RSL_STATE_READONLY, &err) == RSL_OK &&
        rsl_state_failures_load(st, &f, &nf, &err) == RSL_OK)
        for (size_t i = 0; i < nf; i++)
            if (f[i].next_retry_ms > after_ms && (best == 0 || f[i].next_retry_ms < best))
                best = f[i].next_retry_ms;
    rsl_failures_free(f, nf);
    rsl_state_close(st);
    if (best > 0)
        rsl_out_time(buf, n, best);
}

/* One line for every item still failing from earlier runs (deferred, or
 * failing again with a persistent error). */
static void report_still_failing(const rsl_job *job, const run_ui *ui, int64_t started_ms)
{
    if (ui->deferred == 0 && ui->again == 0)
        return;
    char when[64] = "", what[256];
    if (ui->deferred > 0)
        earliest_retry(job, started_ms, when, sizeof(when));
    if (ui->deferred > 0 && ui->again > 0)
        snprintf(what, sizeof(what),
                 "%lld item(s) still deferred from earlier runs (next retry %s), %lld failed "
                 "again with a persistent error",
                 ui->deferred, when[0] ? when : "unknown", ui->again);
    else if (ui->deferred > 0)
        snprintf(what, sizeof(what),
                 "%lld item(s) still deferred from earlier runs (next retry %s)", ui->deferred,
                 when[0] ? when : "unknown");
    else
        snprintf(what, sizeof(what),
                 "%lld item(s) failed again with the persistent error of an earlier run",
                 ui->again);
    if (job->conf_path)
        rsl_out_line(stderr, "rsyncd-lite: %s; `rsyncd-lite status %s` lists them", what,
                     job->conf_path);
    else
        rsl_out_line(stderr, "rsyncd-lite: %s", what);
}

/* The text report after a run, for cron (which mails whatever is printed):
 * nothing after a success unless -v or stdout is a terminal; after a
 * problem (a session error, an item that newly failed) the summary on
 * stderr; the items still failing from earlier runs as one line; the hint
 * to retry. */
static void report_text(const rsl_job *job, const run_flags *fl, const run_ui *ui, int code,
                        const rsl_run_record *rec)
{
    /* a run whose only item errors were reported by earlier runs has
     * nothing new to say beyond the one still-failing line */
    int problem =
        code != RSL_EXIT_OK && !(code == RSL_EXIT_PARTIAL && ui->failed == 0 && rec->code == 0);
    fflush(stdout);
    if (rec->id > 0) {
        if (problem && rec->code != 0) { /* its message was printed just above, once */
            rsl_run_record *brief = malloc(sizeof(*brief));
            if (brief != NULL) {
                *brief = *rec;
                snprintf(brief->message, sizeof(brief->message), "(as above)");
            }
            rsl_out_summary_text(stderr, brief ? brief : rec);
            free(brief);
        } else if (problem)
            rsl_out_summary_text(stderr, rec);
        else if (!fl->quiet && (fl->verbose || isatty(STDOUT_FILENO)))
            rsl_out_summary_text(stdout, rec);
    }
    fflush(stdout);
    report_still_failing(job, ui, rec->started_ms);
    if (ui->failed > 0 && job->conf_path)
        rsl_out_line(stderr,
                     "rsyncd-lite: %lld item(s) failed: `rsyncd-lite log %s --failed`, "
                     "then `rsyncd-lite retry %s`",
                     ui->failed, job->conf_path, job->conf_path);
}

/* After the run: metrics file, session error, summary. Returns code. */
static int report_run(const rsl_job *job, const run_flags *fl, const run_ui *ui, int code,
                      const rsl_run_record *rec, const rsl_err *err)
{
    /* ---- metrics (issue 6): metrics_file after each real run ---- */
    char merr[600];
    if (!fl->dry_run && rsl_metrics_after_run(job, rec, merr, sizeof(merr)) != 0)
        rsl_out_line(stderr, "rsyncd-lite: warning: %s", merr);
    /* ---- end metrics ---- */
    if (rec->code != 0 ||
        (code != 0 && err->code != RSL_OK && code != RSL_EXIT_PARTIAL && code != RSL_EXIT_VANISHED))
        rsl_out_error(stderr, err);
    if (fl->json) {
        rsl_out_summary_json(stdout, rec, fl->dry_run);
        return code;
    }
    if (!fl->dry_run)
        report_text(job, fl, ui, code, rec);
    return code;
}

static int execute(rsl_job *job, const run_flags *fl)
{
    install_signals();
    /* ---- progress (issue 6) ---- */
    rsl_progress_ui prog;
    int want = fl->progress > 0 ? 1 : fl->progress < 0 ? 0 : -1;
    if (fl->progress == 0 && (fl->json || fl->quiet || fl->dry_run))
        want = 0;
    rsl_progress_init(&prog, stderr, want);
    /* ---- end progress ---- */
    run_ui ui = {.json = fl->json,
                 .verbose = fl->verbose,
                 .dry_run = fl->dry_run,
                 .out = stdout,
                 .prog = &prog};
    rsl_run_opts o = {.only_failed = fl->only_failed,
                      .dry_run = fl->dry_run,
                      .max_delete_override = fl->max_delete,
                      .mode = fl->mode,
                      .cancel = &g_cancel,
                      .on_result = ui_result,
                      .on_plan = ui_plan,
                      .on_log = ui_log,
                      .on_progress = prog.mode != RSL_PROGRESS_OFF ? ui_progress : NULL,
                      .ud = &ui};
    warn_unverified(job);
    rsl_run_record rec;
    rsl_err err;
    int code = rsl_sync_run(job, &o, &rec, &err);
    rsl_progress_done(&prog);
    return report_run(job, fl, &ui, code, &rec, &err);
}

/* Parses the flags shared by run/retry/push; returns index of first
 * non-flag argument consumed count, or -1 on error. */
static int parse_flag(run_flags *fl, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (strcmp(a, "--only-failed") == 0)
        fl->only_failed = 1;
    else if (strcmp(a, "--dry-run") == 0 || strcmp(a, "-n") == 0)
        fl->dry_run = 1;
    else if (strcmp(a, "--json") == 0)
        fl->json = 1;
    else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0)
        fl->verbose = 1;
    else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0)
        fl->quiet = 1;
    else if (strcmp(a, "--progress") == 0)
        fl->progress = 1;
    else if (strcmp(a, "--no-progress") == 0)
        fl->progress = -1;
    else if (strcmp(a, "--max-delete") == 0) {
        if (*i + 1 >= argc)
            return -1;
        char *end = NULL;
        errno = 0;
        long v = strtol(argv[++*i], &end, 10);
        if (errno || *end || v < 0)
            return -1;
        fl->max_delete = v;
    } else
        return 0;
    return 1;
}

static const char run_usage[] =
    "usage: rsyncd-lite run JOB.conf [--only-failed] [--dry-run] [--json] [--max-delete N]\n"
    "                       [--verbose] [--quiet] [--progress | --no-progress]\n"
    "  Syncs the job's source to its destination: only what changed since the last run.\n"
    "  --only-failed   re-attempt only the items failing now (same as `retry`)\n"
    "  --dry-run, -n   print the plan (create/update/mkdir/replace/delete/skip) and change\n"
    "                  nothing, remote or state\n"
    "  --json          one JSON object per item result, then a summary object\n"
    "  --max-delete N  allow up to N deletions for this run only\n"
    "  --verbose, -v   print every item, not just failures, and the summary\n"
    "  --quiet, -q     no summary unless something failed, even on a terminal\n"
    "  --progress      progress on stderr: a live line on a terminal (the default there),\n"
    "                  plain lines every 5 s otherwise; --no-progress turns it off\n"
    "  Output: nothing after a success unless -v or stdout is a terminal (cron mails\n"
    "  what is printed); each failed item one line on stderr when it fails; items still\n"
    "  deferred from earlier runs one line in all; after a failure the summary on stderr.\n"
    "exit: 0 ok, 1 usage/config, 5 session failure, 20 interrupted, 23 partial failure,\n"
    "      24 partial (vanished files only), 30 timeout, 75 locked by another run\n";

static int run_or_retry(int argc, char **argv, int retry)
{
    run_flags fl = {.max_delete = -1, .only_failed = retry};
    const char *conf = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            if (retry) /* issue 6: every sub-command's --help names it */
                fputs("usage: rsyncd-lite retry JOB.conf [options]: run --only-failed\n", stdout);
            fputs(run_usage, stdout);
            return 0;
        }
        int r = parse_flag(&fl, argc, argv, &i);
        if (r < 0 || (r == 0 && (argv[i][0] == '-' || conf != NULL))) {
            rsl_out_line(stderr, "rsyncd-lite %s: bad argument '%s'", argv[0], argv[i]);
            fputs(run_usage, stderr);
            return RSL_EXIT_USAGE;
        }
        if (r == 0)
            conf = argv[i];
    }
    if (conf == NULL) {
        fputs(run_usage, stderr);
        return RSL_EXIT_USAGE;
    }
    rsl_job job;
    rsl_err err;
    if (rsl_config_load(&job, conf, &err) != RSL_OK) {
        rsl_out_line(stderr, "%s", err.msg);
        rsl_job_free(&job);
        return RSL_EXIT_USAGE;
    }
    fl.mode = fl.only_failed ? "only-failed" : "normal";
    int code = execute(&job, &fl);
    rsl_job_free(&job);
    return code;
}

int rsl_cmd_run(int argc, char **argv)
{
    return run_or_retry(argc, argv, 0);
}

int rsl_cmd_retry(int argc, char **argv)
{
    return run_or_retry(argc, argv, 1);
}

static const char push_usage[] =
    "usage: rsyncd-lite push SRC DEST [--state PATH] [--dry-run] [--delete] [--json]\n"
    "                        [--max-delete N] [--transfers N] [--verbose] [--progress]\n"
    "  One-off push of directory SRC to DEST (file:///path, sftp://, ftps://, https://)\n"
    "  with default settings. A state db remembers what was sent, so a second push only\n"
    "  sends changes (default: $XDG_STATE_HOME/rsyncd-lite/push-<hash>.db).\n";

typedef struct push_args {
    const char *src, *dst, *state;
    int del;
    long transfers; /* 0: the default */
} push_args;

/* Returns 0 to go on, 1 after --help, -1 on a usage error. */
static int parse_push_args(int argc, char **argv, run_flags *fl, push_args *a)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(push_usage, stdout);
            return 1;
        }
        int r = parse_flag(fl, argc, argv, &i);
        if (r < 0)
            return -1;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--delete") == 0) {
            a->del = 1;
        } else if (strcmp(argv[i], "--state") == 0 && i + 1 < argc) {
            a->state = argv[++i];
        } else if (strcmp(argv[i], "--transfers") == 0 && i + 1 < argc) {
            char *end = NULL;
            a->transfers = strtol(argv[++i], &end, 10);
            if (*end || a->transfers < 1 || a->transfers > 64)
                return -1;
        } else if (argv[i][0] == '-') {
            return -1;
        } else if (a->src == NULL) {
            a->src = argv[i];
        } else if (a->dst == NULL) {
            a->dst = argv[i];
        } else {
            return -1;
        }
    }
    return a->src == NULL || a->dst == NULL ? -1 : 0;
}

/* A stable name per (source, destination), for the default state db. */
static void push_name(char *name, size_t n, const char *real_src, const char *dst)
{
    unsigned long long h = 1469598103934665603ull;
    for (const char *p = real_src; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h = (h ^ 0) * 1099511628211ull;
    for (const char *p = dst; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    snprintf(name, n, "push-%016llx", h);
}

/* The job push runs, built from the command line (job is initialised here;
 * the caller frees it). Returns 0, or an exit code after printing why. */
static int build_push_job(rsl_job *job, const push_args *a)
{
    rsl_job_init(job);
    char real[PATH_MAX];
    if (realpath(a->src, real) == NULL) {
        rsl_out_line(stderr, "rsyncd-lite push: source '%s': %s", a->src, strerror(errno));
        return RSL_EXIT_SESSION;
    }
    char name[64];
    push_name(name, sizeof(name), real, a->dst);
    job->name = strdup(name);
    job->source = strdup(real);
    job->destination = strdup(a->dst);
    job->state_path = a->state ? strdup(a->state) : NULL;
    job->delete_ = a->del;
    if (a->transfers)
        job->transfers = (int)a->transfers;
    rsl_err err;
    rsl_endpoint ep;
    if (rsl_endpoint_parse(&ep, a->dst, &err) != RSL_OK) {
        rsl_out_line(stderr, "rsyncd-lite push: destination: %s", err.msg);
        return RSL_EXIT_USAGE;
    }
    rsl_endpoint_free(&ep);
    if (rsl_config_finish(job, "push", &err) != RSL_OK) {
        rsl_out_line(stderr, "%s", err.msg);
        return RSL_EXIT_USAGE;
    }
    return 0;
}

int rsl_cmd_push(int argc, char **argv)
{
    run_flags fl = {.max_delete = -1, .mode = "push"};
    push_args a = {0};
    int r = parse_push_args(argc, argv, &fl, &a);
    if (r != 0) {
        if (r < 0)
            fputs(push_usage, stderr);
        return r < 0 ? RSL_EXIT_USAGE : 0;
    }
    if (fl.only_failed) {
        fputs("rsyncd-lite push: --only-failed needs a job file; use `retry JOB.conf`\n", stderr);
        return RSL_EXIT_USAGE;
    }
    rsl_job job;
    int code = build_push_job(&job, &a);
    if (code == 0)
        code = execute(&job, &fl);
    rsl_job_free(&job);
    return code;
}
