/*
 * output.c - see output.h.
 */
#include "output.h"

#include <string.h>
#include <time.h>

#include "engine/validate.h"

void rsl_out_json_str(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    fputc('"', f);
    while (*p) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc((int)c, f);
            p++;
        } else if (c == '\n') {
            fputs("\\n", f);
            p++;
        } else if (c == '\r') {
            fputs("\\r", f);
            p++;
        } else if (c == '\t') {
            fputs("\\t", f);
            p++;
        } else if (c < 0x20 || c == 0x7F) {
            fprintf(f, "\\u%04x", c);
            p++;
        } else if (c < 0x80) {
            fputc((int)c, f);
            p++;
        } else {
            /* copy a valid UTF-8 sequence whole, escape a stray byte */
            size_t len = (c & 0xE0) == 0xC0   ? 2
                         : (c & 0xF0) == 0xE0 ? 3
                         : (c & 0xF8) == 0xF0 ? 4
                                              : 1;
            size_t avail = strnlen((const char *)p, len);
            if (len > 1 && avail == len && rsl_utf8_valid(p, len)) {
                fwrite(p, 1, len, f);
                p += len;
            } else {
                fprintf(f, "\\u%04x", c);
                p++;
            }
        }
    }
    fputc('"', f);
}

void rsl_out_path(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        unsigned c = *p;
        if (c == '\\') {
            fputs("\\\\", f);
            p++;
        } else if (c < 0x20 || c == 0x7F) {
            fprintf(f, "\\x%02X", c);
            p++;
        } else if (c < 0x80) {
            fputc((int)c, f);
            p++;
        } else {
            size_t len = (c & 0xE0) == 0xC0   ? 2
                         : (c & 0xF0) == 0xE0 ? 3
                         : (c & 0xF8) == 0xF0 ? 4
                                              : 1;
            if (len > 1 && strnlen((const char *)p, len) == len && rsl_utf8_valid(p, len)) {
                fwrite(p, 1, len, f);
                p += len;
            } else {
                fprintf(f, "\\x%02X", c);
                p++;
            }
        }
    }
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

void rsl_out_result_json(FILE *f, const rsl_item_result *r)
{
    fputs("{\"path\":", f);
    rsl_out_json_str(f, r->path);
    fputs(",\"action\":", f);
    rsl_out_json_str(f, r->action);
    fputs(",\"outcome\":", f);
    rsl_out_json_str(f, r->outcome);
    fputs(",\"code\":", f);
    rsl_out_json_str(f, r->code ? rsl_code_name((rsl_code)r->code) : "OK");
    fprintf(f, ",\"code_number\":%d,\"class\":", r->code);
    rsl_out_json_str(f, rsl_class_name(rsl_code_class((rsl_code)r->code)));
    fputs(",\"message\":", f);
    rsl_out_json_str(f, r->message);
    char t[64];
    rsl_out_time(t, sizeof(t), r->ts_ms);
    fprintf(f, ",\"attempts\":%d,\"bytes\":%lld,\"time\":", r->attempts, (long long)r->bytes);
    rsl_out_json_str(f, t);
    fputs("}\n", f);
}

void rsl_out_result_text(FILE *f, const rsl_item_result *r)
{
    fprintf(f, "%-8s %-11s ", r->action, r->outcome);
    rsl_out_path(f, r->path);
    fputc('\n', f);
    if (r->code == 0)
        return;
    fprintf(f, "         %s (%d, %s), attempt %d: %s\n", rsl_code_name((rsl_code)r->code), r->code,
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
    fprintf(f, "run %lld (%s): %s, exit %d\n", (long long)r->id, r->mode, r->outcome, r->exit_code);
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
        fprintf(f, "  session error: %s (%d): %s\n", rsl_code_name((rsl_code)r->code), r->code,
                r->message);
}

void rsl_out_summary_json(FILE *f, const rsl_run_record *r)
{
    const rsl_counts *c = &r->counts;
    char a[64], b[64];
    rsl_out_time(a, sizeof(a), r->started_ms);
    rsl_out_time(b, sizeof(b), r->ended_ms);
    fprintf(f, "{\"summary\":true,\"run\":%lld,\"mode\":", (long long)r->id);
    rsl_out_json_str(f, r->mode);
    fputs(",\"outcome\":", f);
    rsl_out_json_str(f, r->outcome);
    fprintf(f, ",\"exit_code\":%d,\"started\":", r->exit_code);
    rsl_out_json_str(f, a);
    fputs(",\"ended\":", f);
    rsl_out_json_str(f, b);
    fprintf(f,
            ",\"files_applied\":%lld,\"dirs_applied\":%lld,\"deletes_applied\":%lld,"
            "\"bytes_applied\":%lld,\"item_errors\":%lld,\"transferred_files\":%lld,"
            "\"transferred_bytes\":%lld,\"failed_files\":%lld,\"failed_bytes\":%lld,"
            "\"scanned_files\":%lld,\"scanned_dirs\":%lld,\"unchanged\":%lld,\"skipped\":%lld,"
            "\"vanished\":%lld,\"code\":",
            (long long)c->files_applied, (long long)c->dirs_applied, (long long)c->deletes_applied,
            (long long)c->bytes_applied, (long long)c->item_errors, (long long)c->transferred_files,
            (long long)c->transferred_bytes, (long long)c->failed_files, (long long)c->failed_bytes,
            (long long)c->scanned_files, (long long)c->scanned_dirs, (long long)c->unchanged,
            (long long)c->skipped, (long long)c->vanished);
    rsl_out_json_str(f, r->code ? rsl_code_name((rsl_code)r->code) : "OK");
    fputs(",\"message\":", f);
    rsl_out_json_str(f, r->message);
    fputs("}\n", f);
}

void rsl_out_error(FILE *f, const rsl_err *e)
{
    const rsl_catalog_entry *c = rsl_catalog_get((int)e->code);
    fprintf(f, "rsyncd-lite: error %s (%d): %s\n", c ? c->name : "UNKNOWN", (int)e->code, e->msg);
    if (c)
        fprintf(f, "  fix: %s\n  (more: rsyncd-lite explain %d)\n", c->remediation, c->number);
}
