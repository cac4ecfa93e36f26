/*
 * metrics.h - the Prometheus text-format metrics file written after each run
 * (job.conf `metrics_file`), for node_exporter's textfile collector: the
 * file is written to a temp name in the same directory and renamed, so the
 * collector never reads half a file.
 *
 * Owns: metric names, labels and the file format. Must not touch: the
 * network, the terminal. Reads the state db only in rsl_metrics_after_run.
 */
#ifndef RSL_METRICS_H
#define RSL_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "job.h"
#include "state/state.h"

typedef struct rsl_metrics_in {
    const char *job;            /* the job name (a label) */
    const rsl_run_record *rec;  /* the run just finished */
    int64_t failing_persistent; /* items failing now, by class */
    int64_t failing_transient;
    int64_t last_success_ms; /* the last run with outcome success; 0 if unknown */
} rsl_metrics_in;

/* Writes the metrics in the Prometheus text exposition format. Returns 0, or
 * -1 on a write error. */
int rsl_metrics_render(FILE *f, const rsl_metrics_in *in);
/* Renders to a temp file next to path, fsyncs and renames it over path.
 * Returns 0, or -1 with a reason in err (no temp file is left behind). */
int rsl_metrics_write(const char *path, const rsl_metrics_in *in, char *err, size_t errsz);
/* After a run: reads the failing items and the last success from the job's
 * state db, then writes job->metrics_file (does nothing when it is NULL or
 * the run was a dry run, rec->id <= 0). Returns 0 or -1 with err. */
int rsl_metrics_after_run(const rsl_job *job, const rsl_run_record *rec, char *err, size_t errsz);

#endif
