/*
 * metrics.c - see metrics.h.
 */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A label value: backslash, double quote and newline escaped. */
static void label(FILE *f, const char *s)
{
    fputc('"', f);
    for (const char *p = s ? s : ""; *p; p++) {
        if (*p == '\\' || *p == '"')
            fputc('\\', f), fputc(*p, f);
        else if (*p == '\n')
            fputs("\\n", f);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void head(FILE *f, const char *name, const char *help)
{
    fprintf(f, "# HELP rsyncd_lite_%s %s\n# TYPE rsyncd_lite_%s gauge\n", name, help, name);
}

/* name{job="..."[,k="v"]} value */
static void sample(FILE *f, const char *name, const char *job, const char *k, const char *v,
                   double value)
{
    fprintf(f, "rsyncd_lite_%s{job=", name);
    label(f, job);
    if (k) {
        fprintf(f, ",%s=", k);
        label(f, v);
    }
    fprintf(f, "} %.15g\n", value);
}

int rsl_metrics_render(FILE *f, const rsl_metrics_in *in)
{
    const rsl_run_record *r = in->rec;
    const rsl_counts *c = &r->counts;
    const char *j = in->job;
    head(f, "last_run_start_timestamp_seconds", "Start of the last run (Unix time).");
    sample(f, "last_run_start_timestamp_seconds", j, NULL, NULL, (double)r->started_ms / 1000.0);
    head(f, "last_run_end_timestamp_seconds", "End of the last run (Unix time).");
    sample(f, "last_run_end_timestamp_seconds", j, NULL, NULL, (double)r->ended_ms / 1000.0);
    head(f, "last_run_duration_seconds", "Duration of the last run.");
    sample(f, "last_run_duration_seconds", j, NULL, NULL,
           (double)(r->ended_ms - r->started_ms) / 1000.0);
    head(f, "last_run_outcome", "1 for the outcome of the last run, 0 for the others.");
    static const char *const outcomes[] = {"success", "partial_failure", "failure", "interrupted"};
    for (size_t i = 0; i < 4; i++)
        sample(f, "last_run_outcome", j, "outcome", outcomes[i],
               strcmp(r->outcome, outcomes[i]) == 0 ? 1 : 0);
    head(f, "last_run_exit_code", "Exit code of the last run (see rsyncd-lite(1)).");
    sample(f, "last_run_exit_code", j, NULL, NULL, r->exit_code);
    head(f, "last_run_session_error_code",
         "Catalog code of the last run's session error, 0 if none (rsyncd-lite explain CODE).");
    sample(f, "last_run_session_error_code", j, NULL, NULL, r->code);
    head(f, "last_run_files", "Files of the last run, by kind.");
    sample(f, "last_run_files", j, "kind", "applied", (double)c->files_applied);
    sample(f, "last_run_files", j, "kind", "transferred", (double)c->transferred_files);
    sample(f, "last_run_files", j, "kind", "failed", (double)c->failed_files);
    sample(f, "last_run_files", j, "kind", "scanned", (double)c->scanned_files);
    sample(f, "last_run_files", j, "kind", "unchanged", (double)c->unchanged);
    sample(f, "last_run_files", j, "kind", "skipped", (double)c->skipped);
    sample(f, "last_run_files", j, "kind", "vanished", (double)c->vanished);
    head(f, "last_run_dirs", "Directories of the last run, by kind.");
    sample(f, "last_run_dirs", j, "kind", "applied", (double)c->dirs_applied);
    sample(f, "last_run_dirs", j, "kind", "scanned", (double)c->scanned_dirs);
    head(f, "last_run_deletes", "Remote deletions applied by the last run.");
    sample(f, "last_run_deletes", j, NULL, NULL, (double)c->deletes_applied);
    head(f, "last_run_moves", "Remote moves (local renames) applied by the last run.");
    sample(f, "last_run_moves", j, NULL, NULL, (double)c->moves);
    head(f, "last_run_bytes",
         "Bytes of the last run: applied (file sizes), transferred "
         "(actually sent), failed.");
    sample(f, "last_run_bytes", j, "kind", "applied", (double)c->bytes_applied);
    sample(f, "last_run_bytes", j, "kind", "transferred", (double)c->transferred_bytes);
    sample(f, "last_run_bytes", j, "kind", "failed", (double)c->failed_bytes);
    head(f, "last_run_item_errors", "Per-item errors in the last run.");
    sample(f, "last_run_item_errors", j, NULL, NULL, (double)c->item_errors);
    head(f, "failing_items", "Items failing now, by class (rsyncd-lite status).");
    sample(f, "failing_items", j, "class", "persistent", (double)in->failing_persistent);
    sample(f, "failing_items", j, "class", "transient", (double)in->failing_transient);
    if (in->last_success_ms > 0) {
        head(f, "last_success_timestamp_seconds", "Start of the last successful run (Unix time).");
        sample(f, "last_success_timestamp_seconds", j, NULL, NULL,
               (double)in->last_success_ms / 1000.0);
    }
    return ferror(f) ? -1 : 0;
}

/* Creates a hidden temp file next to path with O_EXCL and mode 0666, which
 * the process umask narrows (a node_exporter reading it needs what the
 * operator's umask allows, never more). Returns the fd, or -1 with err set. */
static int create_temp(const char *path, char *tmp, size_t tmpsz, char *err, size_t errsz)
{
    const char *slash = strrchr(path, '/');
    int dl = slash ? (int)(slash - path) : 0;
    const char *base = slash ? slash + 1 : path;
    for (unsigned i = 0; i < 100; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        /* hidden and not *.prom: the textfile collector ignores it */
        if (snprintf(tmp, tmpsz, "%.*s%s.%s.%ld.%lx%u", dl, path, slash ? "/" : "", base,
                     (long)getpid(), (unsigned long)ts.tv_nsec, i) >= (int)tmpsz) {
            snprintf(err, errsz, "metrics_file %s: path too long", path);
            return -1;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
        if (fd >= 0 || errno != EEXIST) {
            if (fd < 0)
                snprintf(err, errsz, "metrics_file %s: cannot create a temp file: %s", path,
                         strerror(errno));
            return fd;
        }
    }
    snprintf(err, errsz, "metrics_file %s: cannot create a temp file", path);
    return -1;
}

int rsl_metrics_write(const char *path, const rsl_metrics_in *in, char *err, size_t errsz)
{
    char tmp[4096];
    int fd = create_temp(path, tmp, sizeof(tmp), err, errsz);
    if (fd < 0)
        return -1;
    int rc = -1;
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        snprintf(err, errsz, "metrics_file %s: %s", path, strerror(errno));
        goto done;
    }
    if (rsl_metrics_render(f, in) != 0 || fflush(f) != 0 || fsync(fd) != 0) {
        snprintf(err, errsz, "metrics_file %s: write failed: %s", path, strerror(errno));
        fclose(f);
        goto done;
    }
    if (fclose(f) != 0) {
        snprintf(err, errsz, "metrics_file %s: write failed: %s", path, strerror(errno));
        goto done;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errsz, "metrics_file %s: rename failed: %s", path, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    if (rc != 0)
        unlink(tmp);
    return rc;
}

int rsl_metrics_after_run(const rsl_job *job, const rsl_run_record *rec, char *err, size_t errsz)
{
    if (job->metrics_file == NULL || rec->id <= 0)
        return 0;
    rsl_metrics_in in = {.job = job->name, .rec = rec};
    rsl_state *st = NULL;
    rsl_err e;
    if (rsl_state_open(&st, job->state_path, RSL_STATE_READONLY, &e) == RSL_OK) {
        rsl_failure *f = NULL;
        size_t nf = 0;
        if (rsl_state_failures_load(st, &f, &nf, &e) == RSL_OK) {
            for (size_t i = 0; i < nf; i++) {
                if (rsl_code_class((rsl_code)f[i].code) == RSL_CLASS_PERSISTENT)
                    in.failing_persistent++;
                else
                    in.failing_transient++;
            }
            rsl_failures_free(f, nf);
        }
        /* the last success: look back a bounded number of runs */
        if (strcmp(rec->outcome, "success") == 0) {
            in.last_success_ms = rec->started_ms;
        } else {
            rsl_run_record prev;
            for (int64_t id = rec->id - 1; id > 0 && id > rec->id - 200; id--)
                if (rsl_state_run_get(st, id, &prev, &e) > 0 &&
                    strcmp(prev.outcome, "success") == 0) {
                    in.last_success_ms = prev.started_ms;
                    break;
                }
        }
        rsl_state_close(st);
    }
    return rsl_metrics_write(job->metrics_file, &in, err, errsz);
}
