/*
 * output.h - renders results, run summaries and errors for people (text) and
 * programs (one JSON object per line). Shared by run, push, log and status.
 * Owns: output formats. Must not touch: the state db, the network.
 */
#ifndef RSL_CLI_OUTPUT_H
#define RSL_CLI_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#include "base/catalog.h"
#include "state/state.h"

/* Writes s as a JSON string literal (with quotes); invalid UTF-8 bytes are
 * written as \u00XX so the output is always valid JSON. */
void rsl_out_json_str(FILE *f, const char *s);
/* Writes a path for a terminal: control bytes and invalid UTF-8 as \xNN,
 * backslash as \\, so a hostile name cannot rewrite the screen. */
void rsl_out_path(FILE *f, const char *s);
/* One per-item result as a JSON object line. */
void rsl_out_result_json(FILE *f, const rsl_item_result *r);
/* One per-item result as a text line. */
void rsl_out_result_text(FILE *f, const rsl_item_result *r);
/* The run summary, text or JSON (one object line). */
void rsl_out_summary_text(FILE *f, const rsl_run_record *r);
void rsl_out_summary_json(FILE *f, const rsl_run_record *r);
/* "error NAME (number): message" + "fix: remediation" on f. */
void rsl_out_error(FILE *f, const rsl_err *e);
/* UTC time "2026-11-22 02:40:01Z" (or "-" for 0). */
void rsl_out_time(char *buf, size_t n, int64_t ms);

#endif
