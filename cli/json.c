/*
 * json.c - the CLI's JSON writer. See json.h.
 */
#include "json.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/output.h"

/* U+FFFD REPLACEMENT CHARACTER */
static const char replacement[] = "\xef\xbf\xbd";

void rsl_json_write_string(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    fputc('"', f);
    while (*p) {
        unsigned c = *p, cp = 0;
        size_t len = rsl_out_utf8_seq(p, &cp);
        if (len == 0) {
            fputs(replacement, f); /* not UTF-8: names keep their bytes in *_bytes */
            p++;
        } else if (c == '"' || c == '\\') {
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
        } else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
            fprintf(f, "\\u%04x", cp); /* C0, DEL, C1: never raw */
            p += len;
        } else {
            fwrite(p, 1, len, f);
            p += len;
        }
    }
    fputc('"', f);
}

int rsl_json_utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned cp;
    while (*p) {
        size_t len = rsl_out_utf8_seq(p, &cp);
        if (len == 0)
            return 0;
        p += len;
    }
    return 1;
}

size_t rsl_json_format_time(char *buf, size_t n, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tmv;
    gmtime_r(&t, &tmv);
    char sec[32];
    strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tmv);
    int r = snprintf(buf, n, "%s.%03dZ", sec, (int)(ms % 1000));
    return r < 0 ? 0 : (size_t)r < n ? (size_t)r : n - 1;
}

size_t rsl_json_base64(char *out, size_t n, const unsigned char *in, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 <= n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    if (n > 0)
        out[o] = '\0';
    return o;
}

/* The separator and key of the next member of the innermost object/array. */
static void member(rsl_json *j, const char *key)
{
    if (j->count[j->depth]++ > 0)
        fputc(',', j->f);
    if (key) {
        rsl_json_write_string(j->f, key);
        fputc(':', j->f);
    }
}

static void begin(rsl_json *j, FILE *f)
{
    memset(j, 0, sizeof(*j));
    j->f = f;
    fputc('{', f);
}

void rsl_json_begin(rsl_json *j, FILE *f, const char *type)
{
    begin(j, f);
    rsl_json_str(j, "type", type);
}

void rsl_json_begin_summary(rsl_json *j, FILE *f, const char *type)
{
    begin(j, f);
    rsl_json_bool(j, "summary", 1);
    rsl_json_str(j, "type", type);
}

void rsl_json_end(rsl_json *j)
{
    while (j->depth > 0)
        rsl_json_close(j);
    fputs("}\n", j->f);
}

void rsl_json_str(rsl_json *j, const char *key, const char *s)
{
    member(j, key);
    if (s == NULL)
        fputs("null", j->f);
    else
        rsl_json_write_string(j->f, s);
}

void rsl_json_name(rsl_json *j, const char *key, const char *s)
{
    rsl_json_str(j, key, s);
    if (s == NULL || rsl_json_utf8_ok(s))
        return;
    size_t len = strlen(s);
    size_t cap = 4 * ((len + 2) / 3) + 1;
    char *b = malloc(cap);
    char k[64];
    snprintf(k, sizeof(k), "%s_bytes", key ? key : "name");
    if (b == NULL) {
        rsl_json_null(j, k);
        return;
    }
    rsl_json_base64(b, cap, (const unsigned char *)s, len);
    rsl_json_str(j, k, b);
    free(b);
}

void rsl_json_int(rsl_json *j, const char *key, long long v)
{
    member(j, key);
    fprintf(j->f, "%lld", v);
}

void rsl_json_bool(rsl_json *j, const char *key, int v)
{
    member(j, key);
    fputs(v ? "true" : "false", j->f);
}

void rsl_json_null(rsl_json *j, const char *key)
{
    member(j, key);
    fputs("null", j->f);
}

void rsl_json_time(rsl_json *j, const char *key, int64_t ms)
{
    if (ms <= 0) {
        rsl_json_null(j, key);
        return;
    }
    char t[40];
    rsl_json_format_time(t, sizeof(t), ms);
    member(j, key);
    fprintf(j->f, "\"%s\"", t);
}

/* Opens '{' or '[' as the next member. */
static void open_nested(rsl_json *j, const char *key, char c)
{
    member(j, key);
    fputc(c, j->f);
    if (j->depth + 1 < RSL_JSON_MAX_DEPTH)
        j->depth++;
    j->count[j->depth] = 0;
    j->close[j->depth] = c == '[' ? ']' : '}';
}

void rsl_json_object(rsl_json *j, const char *key)
{
    open_nested(j, key, '{');
}

void rsl_json_array(rsl_json *j, const char *key)
{
    open_nested(j, key, '[');
}

void rsl_json_close(rsl_json *j)
{
    if (j->depth == 0)
        return;
    fputc(j->close[j->depth], j->f);
    j->depth--;
}
