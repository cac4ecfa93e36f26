/*
 * output.c - see output.h.
 */
#include "output.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "cli/json.h"
#include "engine/validate.h"

size_t rsl_out_utf8_seq(const unsigned char *p, unsigned *cp)
{
    unsigned c = p[0];
    if (c < 0x80) {
        *cp = c;
        return c ? 1 : 0;
    }
    size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || strnlen((const char *)p, len) < len || !rsl_utf8_valid(p, len))
        return 0;
    unsigned v = c & (0x7Fu >> len);
    for (size_t k = 1; k < len; k++)
        v = (v << 6) | (p[k] & 0x3Fu);
    *cp = v;
    return len;
}

/* A code point that must not reach a terminal as it is: C0, DEL, C1, and the
 * bidirectional overrides/isolates that reorder what is displayed. */
static int hostile(unsigned cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

/* The visible form of the character at p into out (NUL-terminated, at most
 * 15 bytes, or the UTF-8 sequence itself); *used gets how many bytes of p it
 * stands for. */
static void escape_one(const unsigned char *p, unsigned flags, char out[16], size_t *used)
{
    unsigned cp = 0;
    size_t len = rsl_out_utf8_seq(p, &cp);
    *used = len ? len : 1;
    if (len == 0) {
        snprintf(out, 16, "\\x%02x", p[0]);
    } else if (cp == '\r' || cp == '\n' || cp == '\t') {
        snprintf(out, 16, "\\%c", cp == '\r' ? 'r' : cp == '\n' ? 'n' : 't');
    } else if (cp < 0x20 || cp == 0x7F) {
        snprintf(out, 16, "\\x%02x", cp);
    } else if (hostile(cp)) {
        snprintf(out, 16, "\\u%04x", cp & 0xFFFFu);
    } else if (cp == '\\' && !(flags & RSL_ESC_KEEP_BACKSLASH) && p[1] != '\0' &&
               strchr("xurnt\\", p[1]) != NULL) {
        snprintf(out, 16, "\\\\");
    } else {
        memcpy(out, p, len);
        out[len] = '\0';
    }
}

size_t rsl_out_escape(char *dst, size_t n, const char *s, unsigned flags)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t o = 0;
    if (n == 0)
        return 0;
    while (*p) {
        char e[16];
        size_t used, el;
        escape_one(p, flags, e, &used);
        el = strlen(e);
        if (o + el >= n)
            break;
        memcpy(dst + o, e, el);
        o += el;
        p += used;
    }
    dst[o] = '\0';
    return o;
}

void rsl_out_text(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        char e[16];
        size_t used;
        escape_one(p, 0, e, &used);
        fputs(e, f);
        p += used;
    }
}

void rsl_out_line(FILE *f, const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    rsl_out_text(f, buf);
    fputc('\n', f);
}

void rsl_out_time(char *buf, size_t n, int64_t ms)
{
    if (ms <= 0) {
        snprintf(buf, n, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tmv;
    gmtime_r(&t, &tmv);
    strftime(buf, n, "%Y-%m-%d %H:%M:%SZ", &tmv);
}

void rsl_out_result_json(FILE *f, const rsl_item_result *r, int dry_run)
{
    rsl_json j;
    rsl_json_begin(&j, f, "item");
    rsl_json_name(&j, "path", r->path);
    rsl_json_str(&j, "action", r->action);
    rsl_json_str(&j, "outcome", r->outcome);
    rsl_json_str(&j, "code", r->code ? rsl_code_name((rsl_code)r->code) : "OK");
    rsl_json_int(&j, "code_number", r->code);
    if (r->code)
        rsl_json_str(&j, "class", rsl_class_name(rsl_code_class((rsl_code)r->code)));
    else
        rsl_json_null(&j, "class");
    rsl_json_str(&j, "message", r->message && r->message[0] ? r->message : NULL);
    rsl_json_null(&j, "detail");
    rsl_json_int(&j, "attempts", r->attempts);
    rsl_json_int(&j, "bytes", r->bytes);
    rsl_json_time(&j, "time", r->ts_ms);
    rsl_json_bool(&j, "dry_run", dry_run);
    rsl_json_end(&j);
}

/* The outcome a dry-run verb stands for; NULL for a planned action. */
static const char *plan_outcome(const char *verb)
{
    static const char *const map[][2] = {
        {"skip", "skipped"}, {"defer", "deferred"}, {"fail", "failed"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(verb, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

void rsl_out_plan_json(FILE *f, const char *verb, const char *path, const char *detail)
{
    const char *outcome = plan_outcome(verb);
    /* the engine hands over no action for a deferred or failing item, only
     * for a skipped one (whose action is "skip") */
    const char *action = outcome == NULL || strcmp(verb, "skip") == 0 ? verb : NULL;
    const rsl_catalog_entry *ce = NULL;
    const char *msg = NULL;
    char name[64] = "";
    const char *colon = detail ? strstr(detail, ": ") : NULL;
    if (outcome && colon && (size_t)(colon - detail) < sizeof(name)) {
        memcpy(name, detail, (size_t)(colon - detail));
        name[colon - detail] = '\0';
        if ((ce = rsl_catalog_find(name)) != NULL) {
            msg = colon + 2;
            detail = NULL;
        }
    }
    rsl_json j;
    rsl_json_begin(&j, f, "item");
    rsl_json_name(&j, "path", path);
    rsl_json_str(&j, "action", action);
    rsl_json_str(&j, "outcome", outcome ? outcome : "planned");
    rsl_json_str(&j, "code", ce ? ce->name : "OK");
    rsl_json_int(&j, "code_number", ce ? ce->number : 0);
    if (ce)
        rsl_json_str(&j, "class", rsl_class_name(ce->cls));
    else
        rsl_json_null(&j, "class");
    rsl_json_str(&j, "message", msg);
    rsl_json_str(&j, "detail", detail && detail[0] ? detail : NULL);
    rsl_json_null(&j, "attempts");
    rsl_json_null(&j, "bytes");
    rsl_json_null(&j, "time");
    rsl_json_bool(&j, "dry_run", 1);
    rsl_json_end(&j);
}

void rsl_out_plan_text(FILE *f, const char *verb, const char *path, const char *detail)
{
    rsl_out_line(f, "%-8s %s  (%s)", verb, path, detail ? detail : "");
}

void rsl_out_result_text(FILE *f, const rsl_item_result *r)
{
    fprintf(f, "%-8s %-11s ", r->action, r->outcome);
    rsl_out_text(f, r->path);
    fputc('\n', f);
    if (r->code == 0 && r->message && r->message[0]) /* resolved: why */
        rsl_out_line(f, "         %s", r->message);
    if (r->code == 0)
        return;
    rsl_out_line(f, "         %s (%d, %s), attempt %d: %s", rsl_code_name((rsl_code)r->code),
                 r->code, rsl_class_name(rsl_code_class((rsl_code)r->code)), r->attempts,
                 r->message);
}

void rsl_out_failure_line(FILE *f, const rsl_item_result *r)
{
    rsl_out_line(f, "rsyncd-lite: %s: %s %s: %s (%d, %s), attempt %d: %s", r->outcome, r->action,
                 r->path, rsl_code_name((rsl_code)r->code), r->code,
                 rsl_class_name(rsl_code_class((rsl_code)r->code)), r->attempts, r->message);
}

void rsl_out_summary_text(FILE *f, const rsl_run_record *r)
{
    char a[64], b[64], bytes[64], sent[64], failed[64];
    const rsl_counts *c = &r->counts;
    rsl_out_time(a, sizeof(a), r->started_ms);
    rsl_out_time(b, sizeof(b), r->ended_ms);
    rsl_fmt_bytes(bytes, sizeof(bytes), (uint64_t)c->bytes_applied);
    rsl_fmt_bytes(sent, sizeof(sent), (uint64_t)c->transferred_bytes);
    rsl_fmt_bytes(failed, sizeof(failed), (uint64_t)c->failed_bytes);
    rsl_out_line(f, "run %lld (%s): %s, exit %d", (long long)r->id, r->mode, r->outcome,
                 r->exit_code);
    fprintf(f, "  started %s, ended %s (%.1f s)\n", a, b,
            r->ended_ms > r->started_ms ? (double)(r->ended_ms - r->started_ms) / 1000.0 : 0.0);
    fprintf(f, "  applied: %lld files, %lld dirs, %lld deletes, %s\n", (long long)c->files_applied,
            (long long)c->dirs_applied, (long long)c->deletes_applied, bytes);
    fprintf(f, "  transferred: %lld files, %s sent; failed: %lld files, %s\n",
            (long long)c->transferred_files, sent, (long long)c->failed_files, failed);
    fprintf(f,
            "  per-item errors: %lld%s; scanned %lld files, %lld dirs; unchanged %lld; "
            "skipped %lld\n",
            (long long)c->item_errors, c->vanished ? " (some vanished)" : "",
            (long long)c->scanned_files, (long long)c->scanned_dirs, (long long)c->unchanged,
            (long long)c->skipped);
    if (r->code)
        rsl_out_line(f, "  session error: %s (%d): %s", rsl_code_name((rsl_code)r->code), r->code,
                     r->message);
}

void rsl_out_summary_json(FILE *f, const rsl_run_record *r, int dry_run)
{
    rsl_json j;
    rsl_json_begin_summary(&j, f, "run");
    rsl_out_run_members(&j, r, dry_run);
    rsl_json_end(&j);
}

void rsl_out_run_members(rsl_json *j, const rsl_run_record *r, int dry_run)
{
    const rsl_counts *c = &r->counts;
    if (r->id > 0)
        rsl_json_int(j, "run", r->id);
    else
        rsl_json_null(j, "run");
    rsl_json_bool(j, "dry_run", dry_run);
    rsl_json_str(j, "mode", r->mode);
    rsl_json_str(j, "outcome", r->outcome);
    rsl_json_int(j, "exit_code", r->exit_code);
    rsl_json_time(j, "started", r->started_ms);
    rsl_json_time(j, "ended", r->ended_ms);
    if (r->ended_ms >= r->started_ms && r->started_ms > 0)
        rsl_json_int(j, "duration_ms", r->ended_ms - r->started_ms);
    else
        rsl_json_null(j, "duration_ms");
    const struct {
        const char *k;
        int64_t v;
    } n[] = {{"files_applied", c->files_applied},
             {"dirs_applied", c->dirs_applied},
             {"deletes_applied", c->deletes_applied},
             {"bytes_applied", c->bytes_applied},
             {"item_errors", c->item_errors},
             {"transferred_files", c->transferred_files},
             {"transferred_bytes", c->transferred_bytes},
             {"failed_files", c->failed_files},
             {"failed_bytes", c->failed_bytes},
             {"scanned_files", c->scanned_files},
             {"scanned_dirs", c->scanned_dirs},
             {"unchanged", c->unchanged},
             {"skipped", c->skipped},
             {"vanished", c->vanished}};
    for (size_t i = 0; i < sizeof(n) / sizeof(n[0]); i++)
        rsl_json_int(j, n[i].k, n[i].v);
    rsl_json_str(j, "code", r->code ? rsl_code_name((rsl_code)r->code) : "OK");
    rsl_json_int(j, "code_number", r->code);
    rsl_json_str(j, "message", r->message[0] ? r->message : NULL);
}

void rsl_out_error(FILE *f, const rsl_err *e)
{
    const rsl_catalog_entry *c = rsl_catalog_get((int)e->code);
    rsl_out_line(f, "rsyncd-lite: error %s (%d): %s", c ? c->name : "UNKNOWN", (int)e->code,
                 e->msg);
    if (c)
        fprintf(f, "  fix: %s\n  (more: rsyncd-lite explain %d)\n", c->remediation, c->number);
}
