/*
 * ftplist.c - see ftplist.h.
 *
 * Every number is read with its range checked before it is used: a field
 * that is not all digits or is out of range (a year 2147483648, day 99,
 * hour 25, a size past 2^64) rejects the line instead of wrapping or
 * overflowing an int (found by fuzzing: issue 10.14).
 */
#include "ftplist.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The digits s[0..n) as a number in [lo, hi] -> 1 with *out; 0 for an empty
 * field, a non-digit or a value out of range. Never overflows. */
static int num_in(const char *s, size_t n, long lo, long hi, long *out)
{
    long v = 0;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
        v = v * 10 + (s[i] - '0');
        if (v > hi)
            return 0; /* stops long before a long could overflow */
    }
    if (v < lo)
        return 0;
    *out = v;
    return 1;
}

/* A decimal size (digits only, no sign) -> 1 with *out; 0 if malformed or
 * larger than UINT64_MAX. */
static int size_of(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

int64_t rsl_ftplist_time(const char *s)
{
    static const int width[6] = {4, 2, 2, 2, 2, 2};
    static const long lo[6] = {1900, 1, 1, 0, 0, 0}, hi[6] = {9999, 12, 31, 23, 59, 60};
    long v[6];
    int o = 0;
    for (int i = 0; i < 14; i++)
        if (!isdigit((unsigned char)s[i]))
            return -1; /* also stops at the NUL of a short string */
    for (int k = 0; k < 6; k++) {
        if (!num_in(s + o, (size_t)width[k], lo[k], hi[k], &v[k]))
            return -1;
        o += width[k];
    }
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = (int)v[0] - 1900;
    tm.tm_mon = (int)v[1] - 1;
    tm.tm_mday = (int)v[2];
    tm.tm_hour = (int)v[3];
    tm.tm_min = (int)v[4];
    tm.tm_sec = (int)v[5];
    return (int64_t)timegm(&tm);
}

/* One "fact=value" of an MLSD line. Returns 1 when it said file or dir,
 * -1 when a size or time is malformed (the line is rejected), else 0. */
static int mlsd_fact(char *f, rsl_rstat *st)
{
    char *eq = strchr(f, '=');
    if (eq == NULL)
        return 0;
    *eq = '\0';
    const char *v = eq + 1;
    if (strcasecmp(f, "type") == 0) {
        if (strcasecmp(v, "dir") == 0)
            st->is_dir = 1;
        return strcasecmp(v, "file") == 0 || strcasecmp(v, "dir") == 0;
    } /* cdir, pdir, OS.unix=symlink...: skipped */
    if (strcasecmp(f, "size") == 0)
        return size_of(v, strlen(v), &st->size) ? 0 : -1;
    if (strcasecmp(f, "modify") == 0)
        return (st->mtime = rsl_ftplist_time(v)) >= 0 ? 0 : -1;
    return 0;
}

int rsl_ftplist_mlsd(char *line, const char **name, rsl_rstat *st)
{
    char *sp = strstr(line, "; ");
    if (sp == NULL)
        return 0;
    *sp = '\0';
    *name = sp + 2;
    st->exists = 1;
    int type_ok = 0;
    char *save = NULL;
    for (char *f = strtok_r(line, ";", &save); f; f = strtok_r(NULL, ";", &save)) {
        int r = mlsd_fact(f, st);
        if (r < 0)
            return 0;
        type_ok |= r;
    }
    return type_ok;
}

static int month_of(const char *m)
{
    static const char *mon[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                "jul", "aug", "sep", "oct", "nov", "dec"};
    if (strlen(m) != 3)
        return -1;
    for (int i = 0; i < 12; i++)
        if (strncasecmp(m, mon[i], 3) == 0)
            return i;
    return -1;
}

/* "Nov 22 02:33" (this year, or the last) or "Jan 02 2020" -> epoch; -2
 * when a field is malformed or out of range (the line is rejected). */
static int64_t list_time(const char *mon, const char *day, const char *yt, time_t now)
{
    long d = 0, y = 0, h = 0, mi = 0;
    int m = month_of(mon);
    if (m < 0 || !num_in(day, strlen(day), 1, 31, &d))
        return -2;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_mon = m;
    tm.tm_mday = (int)d;
    const char *colon = strchr(yt, ':');
    if (colon == NULL) {
        if (!num_in(yt, strlen(yt), 1900, 9999, &y))
            return -2;
        tm.tm_year = (int)y - 1900;
        return (int64_t)timegm(&tm);
    }
    if (!num_in(yt, (size_t)(colon - yt), 0, 23, &h) ||
        !num_in(colon + 1, strlen(colon + 1), 0, 59, &mi))
        return -2;
    struct tm nt;
    gmtime_r(&now, &nt);
    tm.tm_year = nt.tm_year;
    tm.tm_hour = (int)h;
    tm.tm_min = (int)mi;
    int64_t t = (int64_t)timegm(&tm);
    if (t > (int64_t)now + 86400) { /* "Dec 31 10:00" seen in January */
        tm.tm_year--;
        t = (int64_t)timegm(&tm);
    }
    return t;
}

int rsl_ftplist_unix(char *line, const char **name, rsl_rstat *st, time_t now)
{
    char *f[8];
    char *p = line;
    if (line[0] != '-' && line[0] != 'd')
        return 0; /* "total N", links, devices */
    for (int i = 0; i < 8; i++) {
        while (*p == ' ')
            p++;
        f[i] = p;
        while (*p && *p != ' ')
            p++;
        if (*p == '\0')
            return 0;
        *p++ = '\0';
    }
    if (*p == ' ')
        p++; /* exactly one separator before the name */
    uint64_t size = 0;
    int64_t mtime = list_time(f[5], f[6], f[7], now);
    if (!size_of(f[4], strlen(f[4]), &size) || mtime == -2)
        return 0;
    *name = p;
    st->exists = 1;
    st->is_dir = line[0] == 'd';
    st->size = size;
    st->mtime = mtime;
    return 1;
}
