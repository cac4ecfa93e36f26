/*
 * cmd_log.c - `log JOB.conf [--run N] [--failed] [--json]`: the per-item
 * results of a run (the last one by default), read from the state db.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/config.h"
#include "cli/output.h"
#include "engine/sync.h"

static const char log_usage[] =
    "usage: rsyncd-lite log JOB.conf [--run N] [--failed] [--json]\n"
    "  Per-item results of the last run (or run N): path, action, outcome, code,\n"
    "  class, attempts, bytes and message. --failed shows only failed and deferred\n"
    "  items; --json prints one JSON object per line (docs/json.md: type \"item\").\n"
    "  Stored messages are replayed with control characters escaped (\\x1b, \\r).\n";

typedef struct log_ud {
    int json;
    long n;
} log_ud;

static int log_cb(void *ud, const rsl_item_result *r)
{
    log_ud *u = ud;
    u->n++;
    if (u->json)
        rsl_out_result_json(stdout, r, 0);
    else
        rsl_out_result_text(stdout, r);
    return 0;
}

typedef struct log_args {
    const char *conf;
    long long run; /* 0: the last */
    int failed, json;
} log_args;

/* Returns 0 to go on, 1 after --help, -1 after a usage error (printed). */
static int parse_args(int argc, char **argv, log_args *a)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            fputs(log_usage, stdout);
            return 1;
        } else if (strcmp(argv[i], "--failed") == 0) {
            a->failed = 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            a->json = 1;
        } else if (strcmp(argv[i], "--run") == 0 && i + 1 < argc) {
            char *end = NULL;
            errno = 0;
            a->run = strtoll(argv[++i], &end, 10);
            if (errno || *end || a->run <= 0) {
                fprintf(stderr, "rsyncd-lite log: --run takes a run number\n");
                return -1;
            }
        } else if (argv[i][0] != '-' && a->conf == NULL) {
            a->conf = argv[i];
        } else {
            fputs(log_usage, stderr);
            return -1;
        }
    }
    if (a->conf == NULL) {
        fputs(log_usage, stderr);
        return -1;
    }
    return 0;
}

/* "# run N (mode) started TIME: outcome, exit N" and the session error. */
static void print_run_header(const rsl_run_record *rec)
{
    char t[64];
    rsl_out_time(t, sizeof(t), rec->started_ms);
    rsl_out_line(stdout, "# run %lld (%s) started %s: %s, exit %d", (long long)rec->id, rec->mode,
                 t, rec->outcome, rec->exit_code);
    if (rec->code)
        rsl_out_line(stdout, "# session error %s (%d): %s", rsl_code_name((rsl_code)rec->code),
                     rec->code, rec->message);
}

/* The results of the run a asks for. Returns the exit code. */
static int print_results(const rsl_job *job, rsl_state *st, const log_args *a)
{
    rsl_err err;
    rsl_run_record rec;
    if (rsl_state_run_get(st, a->run, &rec, &err) <= 0) {
        if (a->run)
            rsl_out_line(stderr, "rsyncd-lite log: no run %lld in %s", a->run, job->state_path);
        else
            rsl_out_line(stderr, "rsyncd-lite log: job '%s' has not run yet", job->name);
        return RSL_EXIT_USAGE;
    }
    if (!a->json)
        print_run_header(&rec);
    log_ud u = {.json = a->json};
    if (rsl_state_results_foreach(st, rec.id, a->failed, log_cb, &u, &err) != RSL_OK) {
        rsl_out_error(stderr, &err);
        return RSL_EXIT_SESSION;
    }
    if (!a->json && u.n == 0)
        printf("# no %sitem results\n", a->failed ? "failed " : "");
    return 0;
}

int rsl_cmd_log(int argc, char **argv)
{
    log_args a = {0};
    int r = parse_args(argc, argv, &a);
    if (r != 0)
        return r > 0 ? 0 : RSL_EXIT_USAGE;
    rsl_job job;
    rsl_err err;
    if (rsl_config_load(&job, a.conf, &err) != RSL_OK) {
        rsl_out_line(stderr, "%s", err.msg);
        rsl_job_free(&job);
        return RSL_EXIT_USAGE;
    }
    rsl_state *st = NULL;
    int code;
    if (rsl_state_open(&st, job.state_path, RSL_STATE_READONLY, &err) != RSL_OK) {
        rsl_out_error(stderr, &err);
        code = RSL_EXIT_SESSION;
    } else {
        code = print_results(&job, st, &a);
    }
    rsl_state_close(st);
    rsl_job_free(&job);
    return code;
}
