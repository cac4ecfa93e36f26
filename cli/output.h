/*
 * output.h - renders results, run summaries and errors for people (text) and
 * programs (JSON records through cli/json.h). Shared by run, push, log,
 * status, check and verify.
 *
 * Every string that comes from outside the program (a file name, a message
 * that quotes a server's reply or a Location header, a job file's value, a
 * stored result replayed by `log`) reaches a terminal only through
 * rsl_out_escape (or the printers built on it), so it cannot move the
 * cursor, clear the screen or rewrite earlier lines.
 *
 * Owns: output formats and the escaping of text. Must not touch: the state
 * db, the network.
 */
#ifndef RSL_CLI_OUTPUT_H
#define RSL_CLI_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/catalog.h"
#include "cli/json.h"
#include "state/state.h"

/* Flags of rsl_out_escape. */
enum {
    /* Leave a backslash as it is: for text that was escaped once already
     * (a child's output relayed into the daemon's log). */
    RSL_ESC_KEEP_BACKSLASH = 1
};

/* The length of the well-formed UTF-8 sequence at p (1-4), with its code
 * point in *cp; 0 when p starts with an invalid byte (stray continuation,
 * overlong form, surrogate, past U+10FFFF, cut short by the terminating NUL). */
size_t rsl_out_utf8_seq(const unsigned char *p, unsigned *cp);

/* THE escape for text output: copies s into dst (at most n bytes with the
 * NUL; it never cuts an escape in half) with every byte that could act on a
 * terminal made visible:
 *   \r \n \t             carriage return, line feed, tab
 *   \xNN                 other C0 controls (ESC is \x1b), DEL (\x7f), and a
 *                        byte that is not part of valid UTF-8 (\xff)
 *   \uNNNN               C1 controls U+0080..U+009F and the bidirectional
 *                        overrides and isolates (U+202A..U+202E, U+2066..U+2069)
 *   \\                   a backslash that would otherwise read as one of the
 *                        escapes above (followed by x, u, r, n, t or \);
 *                        any other backslash is printed as it is
 * Valid UTF-8 text is copied unchanged. Returns the length written. */
size_t rsl_out_escape(char *dst, size_t n, const char *s, unsigned flags);
/* rsl_out_escape of s onto f, of any length. */
void rsl_out_text(FILE *f, const char *s);
/* printf-formats one line (up to 8 KiB), escapes all of it, and ends it with
 * a newline. For lines that mix our words with foreign strings; the format
 * itself must not hold the newline. */
void rsl_out_line(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One per-item result as a JSON record (docs/json.md, type "item"). */
void rsl_out_result_json(FILE *f, const rsl_item_result *r, int dry_run);
/* One line of a dry run's plan (engine/sync.h on_plan: verb "create",
 * "update", "mkdir", "replace", "delete", "keep", "skip", "defer" or "fail")
 * as an item record: outcome "planned" for what the run would do, "skipped",
 * "deferred" or "failed" (with the code and message taken from the detail
 * "NAME: message") for what it already knows it would not. */
void rsl_out_plan_json(FILE *f, const char *verb, const char *path, const char *detail);
/* The same with a "from" member (a planned move: verb "move", path the new
 * path, from the old one; from NULL: none). */
void rsl_out_plan_json_from(FILE *f, const char *verb, const char *path, const char *from,
                            const char *detail);
/* The same as text: "verb     path  (detail)". */
void rsl_out_plan_text(FILE *f, const char *verb, const char *path, const char *detail);
/* A planned move as text: "move     OLD -> NEW  (detail)". */
void rsl_out_move_text(FILE *f, const char *from, const char *to, const char *detail);
/* One per-item result as text: "action outcome path", then the code line. */
void rsl_out_result_text(FILE *f, const rsl_item_result *r);
/* One failed item as a single line, for stderr while a run goes on:
 * "rsyncd-lite: failed: create a/b.txt: NAME (201, persistent), attempt 1: message". */
void rsl_out_failure_line(FILE *f, const rsl_item_result *r);
/* The run summary as text. */
void rsl_out_summary_text(FILE *f, const rsl_run_record *r);
/* The run summary as a JSON record of type "run" (docs/json.md). */
void rsl_out_summary_json(FILE *f, const rsl_run_record *r, int dry_run);
/* The members of a run record (run, dry_run, mode, outcome, exit_code, times,
 * counts, code, message) into the object j is writing (status nests them). */
void rsl_out_run_members(rsl_json *j, const rsl_run_record *r, int dry_run);
/* "error NAME (number): message" + "fix: remediation" on f. */
void rsl_out_error(FILE *f, const rsl_err *e);
/* UTC time for text: "2026-11-22 02:40:01Z" (or "-" for 0). */
void rsl_out_time(char *buf, size_t n, int64_t ms);

#endif
