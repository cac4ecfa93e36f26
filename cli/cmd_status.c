/*
 * cmd_status.c - `status JOB.conf [--json]`: the last run's outcome, times and
 * counts, and the items failing now with their next retry time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/config.h"
#include "cli/output.h"
#include "engine/sync.h"

static const char status_usage[] =
    "usage: rsyncd-lite status JOB.conf [--json]\n"
    "  The last run (outcome, start/end, counts) and the items failing now\n"
    "  (persistent/transient) with their next retry time.\n";

/* Health from the last run: Pending (never ran), Error (session failure),
 * Partial (items failing now), Healthy. */
static const char *health_of(int found, const rsl_run_record *r, size_t failing)
{
    if (!found)
        return "Pending";
    if (strcmp(r->outcome, "failure") == 0 || strcmp(r->outcome, "interrupted") == 0 ||
        (r->code != 0 && strcmp(r->outcome, "partial_failure") == 0))
        return "Error";
    if (failing > 0)
        return "Partial";
    return "Healthy";
}

int rsl_cmd_status(int argc, char **argv)
{
    const char *conf = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            fputs(status_usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (argv[i][0] != '-' && conf == NULL) {
            conf = argv[i];
        } else {
            fputs(status_usage, stderr);
            return RSL_EXIT_USAGE;
        }
    }
    if (conf == NULL) {
        fputs(status_usage, stderr);
        return RSL_EXIT_USAGE;
    }
    rsl_job job;
    rsl_err err;
    if (rsl_config_load(&job, conf, &err) != RSL_OK) {
        fprintf(stderr, "%s\n", err.msg);
        rsl_job_free(&job);
        return RSL_EXIT_USAGE;
    }
    rsl_state *st = NULL;
    rsl_failure *f = NULL;
    size_t nf = 0;
    int code = 0;
    if (rsl_state_open(&st, job.state_path, RSL_STATE_READONLY, &err) != RSL_OK ||
        rsl_state_failures_load(st, &f, &nf, &err) != RSL_OK) {
        rsl_out_error(stderr, &err);
        code = RSL_EXIT_SESSION;
        goto done;
    }
    rsl_run_record rec;
    int found = rsl_state_run_get(st, 0, &rec, &err) > 0;
    const char *health = health_of(found, &rec, nf);
    if (json) {
        printf("{\"job\":");
        rsl_out_json_str(stdout, job.name);
        printf(",\"health\":");
        rsl_out_json_str(stdout, health);
        printf(",\"last_run\":");
        if (found) {
            rsl_out_summary_json(stdout, &rec); /* ends with a newline */
        } else {
            printf("null\n");
        }
        printf(",\"failing\":[");
        for (size_t i = 0; i < nf; i++) {
            char t[64];
            rsl_out_time(t, sizeof(t), f[i].next_retry_ms);
            printf("%s{\"path\":", i ? "," : "");
            rsl_out_json_str(stdout, f[i].path);
            printf(",\"action\":");
            rsl_out_json_str(stdout, f[i].action);
            printf(",\"code\":");
            rsl_out_json_str(stdout, rsl_code_name((rsl_code)f[i].code));
            printf(",\"class\":");
            rsl_out_json_str(stdout, rsl_class_name(rsl_code_class((rsl_code)f[i].code)));
            printf(",\"attempts\":%d,\"next_retry\":", f[i].attempts);
            rsl_out_json_str(stdout, t);
            printf(",\"message\":");
            rsl_out_json_str(stdout, f[i].message);
            printf("}");
        }
        printf("]}\n");
        goto done;
    }
    printf("job %s: %s\n", job.name, health);
    printf("  source %s\n  destination %s\n  state %s\n", job.source, job.destination,
           job.state_path);
    if (found) {
        printf("last ");
        rsl_out_summary_text(stdout, &rec);
    } else {
        printf("never ran\n");
    }
    size_t np = 0;
    for (size_t i = 0; i < nf; i++)
        np += rsl_code_class((rsl_code)f[i].code) == RSL_CLASS_PERSISTENT;
    printf("failing now: %zu item(s) (%zu persistent, %zu transient)\n", nf, np, nf - np);
    for (size_t i = 0; i < nf; i++) {
        char t[64];
        rsl_out_time(t, sizeof(t), f[i].next_retry_ms);
        rsl_class cls = rsl_code_class((rsl_code)f[i].code);
        printf("  ");
        rsl_out_path(stdout, f[i].path);
        printf("\n    %s (%d, %s), %d attempt(s), next retry %s: %s\n",
               rsl_code_name((rsl_code)f[i].code), f[i].code, rsl_class_name(cls), f[i].attempts,
               cls == RSL_CLASS_PERSISTENT ? t : "next run", f[i].message);
    }
done:
    rsl_failures_free(f, nf);
    rsl_state_close(st);
    rsl_job_free(&job);
    return code;
}
