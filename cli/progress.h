/*
 * progress.h - the progress display of `run` / `push`: a live line on a TTY
 * (files and bytes done of total, rate, ETA, current file), plain periodic
 * lines when asked for with --progress and stderr is not a TTY, nothing by
 * default otherwise (cron).
 *
 * Owns: the rendering and its rate estimate. Must not touch: the engine's
 * state; it only reads the rsl_progress snapshots handed to it.
 */
#ifndef RSL_CLI_PROGRESS_H
#define RSL_CLI_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

#include "engine/sync.h"

enum { RSL_PROGRESS_OFF = 0, RSL_PROGRESS_LIVE = 1, RSL_PROGRESS_LINES = 2 };

typedef struct rsl_progress_ui {
    FILE *f;
    int mode;
    int width;         /* terminal columns for the live line */
    double interval;   /* seconds between plain lines */
    double t0;         /* first update (monotonic seconds) */
    double last_draw;  /* last line written */
    double rate_t;     /* last rate sample */
    long long rate_b;  /* bytes at the last rate sample */
    double rate;       /* smoothed bytes per second */
    int drawn;         /* a live line is on screen */
    char current[512]; /* the last file reported */
} rsl_progress_ui;

/* want: -1 (default: live on a TTY, else off), 0 (--no-progress), 1
 * (--progress: live on a TTY, else plain lines every `interval` seconds). */
void rsl_progress_init(rsl_progress_ui *u, FILE *f, int want);
/* Takes one engine progress snapshot (call it from rsl_run_opts.on_progress). */
void rsl_progress_update(void *ud, const rsl_progress *p);
/* Remembers the last item handled, shown when the engine names no current file. */
void rsl_progress_note(rsl_progress_ui *u, const char *path);
/* Erases the live line before other output goes to the terminal. */
void rsl_progress_clear(rsl_progress_ui *u);
/* Ends the display (erases the live line). */
void rsl_progress_done(rsl_progress_ui *u);

/* Pure: formats one progress line into buf (at most width columns when
 * width > 0): "12/40 files  3.1/10.0 MiB  1.2 MiB/s  ETA 0:06  dir/file".
 * rate < 0 means not known yet. Returns the length. */
size_t rsl_progress_format(char *buf, size_t n, const rsl_progress *p, double rate,
                           const char *current, int width);
/* Pure: "812 B", "3.1 KiB", "10.0 MiB", "1.5 GiB". */
void rsl_progress_bytes(char *buf, size_t n, double bytes);

#endif
