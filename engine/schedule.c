/*
 * schedule.c - cron / "every" schedules and the health rules. See schedule.h.
 */
#include "schedule.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct field_def {
    const char *name;
    int lo, hi;
    const char *const *names; /* 3-letter names for lo..; NULL if none */
} field_def;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static const field_def fields[5] = {
    {"minute", 0, 59, NULL},          {"hour", 0, 23, NULL},
    {"day-of-month", 1, 31, NULL},    {"month", 1, 12, month_names},
    {"day-of-week", 0, 7, dow_names},
};

static int fail(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errsz, const char *fmt, ...)
{
    if (err && errsz) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Reads a number or a name at *p; advances *p. Returns 0 or -1. */
static int read_value(const field_def *f, const char **p, int *out)
{
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        long v = 0;
        while (isdigit((unsigned char)*s)) {
            v = v * 10 + (*s - '0');
            if (v > 1000)
                return -1;
            s++;
        }
        *out = (int)v;
        *p = s;
        return 0;
    }
    if (f->names && isalpha((unsigned char)s[0]) && isalpha((unsigned char)s[1]) &&
        isalpha((unsigned char)s[2]) && !isalpha((unsigned char)s[3])) {
        int n = f->lo == 1 ? 12 : 7;
        for (int i = 0; i < n; i++)
            if (strncasecmp(s, f->names[i], 3) == 0) {
                *out = f->lo + i;
                *p = s + 3;
                return 0;
            }
    }
    return -1;
}

/* Parses one field (text is NUL-terminated) into a bit set. */
static int parse_field(const field_def *f, const char *text, uint64_t *bits, int *star, char *err,
                       size_t errsz)
{
    *bits = 0;
    *star = text[0] == '*';
    const char *p = text;
    for (;;) {
        int a, b, step = 1;
        if (*p == '*') {
            a = f->lo;
            b = f->hi;
            p++;
        } else {
            if (read_value(f, &p, &a) != 0)
                return fail(err, errsz,
                            "%s field '%s': expected a number%s, '*', a range a-b or "
                            "a step */n",
                            f->name, text, f->names ? " or a name" : "");
            b = a;
            if (*p == '-') {
                p++;
                if (read_value(f, &p, &b) != 0)
                    return fail(err, errsz, "%s field '%s': incomplete range", f->name, text);
            }
            if (a < f->lo || a > f->hi || b < f->lo || b > f->hi)
                return fail(err, errsz, "%s field '%s': %d is out of range %d-%d", f->name, text,
                            a < f->lo || a > f->hi ? a : b, f->lo, f->hi == 7 ? 6 : f->hi);
            if (b < a)
                return fail(err, errsz, "%s field '%s': range %d-%d is reversed", f->name, text, a,
                            b);
        }
        if (*p == '/') {
            p++;
            if (!isdigit((unsigned char)*p))
                return fail(err, errsz, "%s field '%s': step must be a number after '/'", f->name,
                            text);
            long v = 0;
            while (isdigit((unsigned char)*p) && v <= 1000)
                v = v * 10 + (*p++ - '0');
            if (v < 1 || v > f->hi)
                return fail(err, errsz, "%s field '%s': step %ld is out of range 1-%d", f->name,
                            text, v, f->hi);
            step = (int)v;
            if (a == b && text[0] != '*')
                b = f->hi; /* "5/15" means 5-max/15, as in cron */
        }
        for (int v = a; v <= b; v += step)
            *bits |= 1ull << v;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p != '\0')
            return fail(err, errsz, "%s field '%s': unexpected '%c'", f->name, text, *p);
        return 0;
    }
}

static int parse_every(rsl_schedule *s, const char *arg, char *err, size_t errsz)
{
    const char *p = arg;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!isdigit((unsigned char)*p))
        return fail(err, errsz, "'every %s': expected a number and a unit, e.g. every 15m", arg);
    errno = 0;
    char *end = NULL;
    long v = strtol(p, &end, 10);
    long mult;
    switch (*end) {
    case 's':
        mult = 1;
        break;
    case 'm':
        mult = 60;
        break;
    case 'h':
        mult = 3600;
        break;
    case 'd':
        mult = 86400;
        break;
    default:
        return fail(err, errsz, "'every %s': unit must be s, m, h or d (e.g. every 15m)", arg);
    }
    end++;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end != '\0')
        return fail(err, errsz, "'every %s': unexpected text after the unit", arg);
    if (errno || v < 1 || v > 366L * 86400 / mult)
        return fail(err, errsz, "'every %s': interval must be between 1s and 366d", arg);
    s->kind = RSL_SCHED_EVERY;
    s->every_sec = v * mult;
    return 0;
}

int rsl_schedule_parse(rsl_schedule *s, const char *expr, char *err, size_t errsz)
{
    memset(s, 0, sizeof(*s));
    if (expr == NULL)
        return fail(err, errsz, "empty schedule");
    while (isspace((unsigned char)*expr))
        expr++;
    if (strncasecmp(expr, "every", 5) == 0 && (expr[5] == ' ' || expr[5] == '\t'))
        return parse_every(s, expr + 6, err, errsz);
    static const struct {
        const char *name, *expr;
    } macros[] = {{"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
                  {"@weekly", "0 0 * * 0"},  {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
                  {"@annually", "0 0 1 1 *"}};
    if (expr[0] == '@') {
        for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
            if (strcasecmp(expr, macros[i].name) == 0)
                return rsl_schedule_parse(s, macros[i].expr, err, errsz);
        return fail(err, errsz,
                    "'%s': unknown macro (known: @hourly @daily @weekly @monthly "
                    "@yearly)",
                    expr);
    }
    char buf[256];
    if (strlen(expr) >= sizeof(buf))
        return fail(err, errsz, "schedule is too long");
    snprintf(buf, sizeof(buf), "%s", expr);
    char *tok[6];
    int n = 0;
    for (char *p = buf; *p;) {
        while (isspace((unsigned char)*p))
            *p++ = '\0';
        if (*p == '\0')
            break;
        if (n == 6)
            break;
        tok[n++] = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
    }
    if (n != 5)
        return fail(err, errsz,
                    "'%s': expected 5 fields (minute hour day-of-month month day-of-week) "
                    "or 'every N{s,m,h,d}', got %d field%s",
                    expr, n > 5 ? 6 : n, n == 1 ? "" : "s");
    uint64_t bits[5];
    int star[5];
    for (int i = 0; i < 5; i++)
        if (parse_field(&fields[i], tok[i], &bits[i], &star[i], err, errsz) != 0)
            return -1;
    s->kind = RSL_SCHED_CRON;
    s->minute = bits[0];
    s->hour = (uint32_t)bits[1];
    s->dom = (uint32_t)bits[2];
    s->month = (uint32_t)bits[3];
    s->dow = (uint32_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday */
    s->dom_star = star[2];
    s->dow_star = star[4];
    return 0;
}

static int day_matches(const rsl_schedule *s, const struct tm *tm)
{
    int dom = (s->dom >> tm->tm_mday) & 1, dow = (s->dow >> tm->tm_wday) & 1;
    if (!s->dom_star && !s->dow_star)
        return dom || dow;
    return dom && dow;
}

static time_t norm(struct tm *tm)
{
    tm->tm_isdst = -1;
    return mktime(tm);
}

time_t rsl_schedule_next(const rsl_schedule *s, time_t after)
{
    if (s->kind == RSL_SCHED_EVERY)
        return after + s->every_sec;
    if (s->kind != RSL_SCHED_CRON)
        return -1;
    time_t t = after - (after % 60 + 60) % 60 + 60; /* the next whole minute */
    struct tm tm;
    if (localtime_r(&t, &tm) == NULL)
        return -1;
    tm.tm_sec = 0;
    int start_year = tm.tm_year;
    for (int guard = 0; guard < 200000; guard++) {
        if (tm.tm_year > start_year + 5)
            return -1;
        if (!((s->month >> (tm.tm_mon + 1)) & 1)) {
            tm.tm_mon++;
            tm.tm_mday = 1;
            tm.tm_hour = 0;
            tm.tm_min = 0;
        } else if (!day_matches(s, &tm)) {
            tm.tm_mday++;
            tm.tm_hour = 0;
            tm.tm_min = 0;
        } else if (!((s->hour >> tm.tm_hour) & 1)) {
            int want = tm.tm_hour + 1, mday = tm.tm_mday;
            tm.tm_hour++;
            tm.tm_min = 0;
            time_t r = norm(&tm);
            if (r == (time_t)-1)
                return -1;
            /* A DST gap swallowed hour `want`: a job set inside it runs at the
             * first minute after the change, as cron does. */
            if (tm.tm_hour != want && tm.tm_mday == mday && want < 24 && ((s->hour >> want) & 1) &&
                r > after)
                return r;
            continue;
        } else if (!((s->minute >> tm.tm_min) & 1)) {
            tm.tm_min++;
        } else {
            time_t r = norm(&tm);
            /* a DST jump may normalise to a time before `after`: move on */
            if (r > after)
                return r;
            tm.tm_min++;
        }
        /* normalise (a skipped DST hour moves forward, as cron does) */
        if (norm(&tm) == (time_t)-1)
            return -1;
    }
    return -1;
}

long rsl_schedule_interval(const rsl_schedule *s, time_t from)
{
    if (s->kind == RSL_SCHED_EVERY)
        return s->every_sec;
    time_t prev = rsl_schedule_next(s, from);
    if (prev < 0)
        return -1;
    long gap = 0;
    for (int i = 0; i < 8; i++) {
        time_t n = rsl_schedule_next(s, prev);
        if (n < 0)
            break;
        if (n - prev > gap)
            gap = (long)(n - prev);
        prev = n;
    }
    return gap > 0 ? gap : 366L * 86400;
}

rsl_health rsl_health_eval(const rsl_health_in *in)
{
    if (!in->has_run)
        return RSL_HEALTH_PENDING;
    if (in->interval_sec > 0 && in->now_ms - in->last_start_ms > 2000LL * in->interval_sec)
        return RSL_HEALTH_NO_ACTIVITY;
    const char *o = in->outcome ? in->outcome : "";
    if (strcmp(o, "failure") == 0 || strcmp(o, "interrupted") == 0 || in->session_code != 0)
        return RSL_HEALTH_ERROR;
    if (in->failing > 0 || strcmp(o, "partial_failure") == 0)
        return RSL_HEALTH_PARTIAL;
    return RSL_HEALTH_HEALTHY;
}

const char *rsl_health_name(rsl_health h)
{
    switch (h) {
    case RSL_HEALTH_HEALTHY:
        return "Healthy";
    case RSL_HEALTH_PENDING:
        return "Pending";
    case RSL_HEALTH_ERROR:
        return "Error";
    case RSL_HEALTH_PARTIAL:
        return "Partial";
    case RSL_HEALTH_NO_ACTIVITY:
        return "No Activity";
    }
    return "?";
}
