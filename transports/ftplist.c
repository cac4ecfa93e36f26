/*
 * ftplist.c - see ftplist.h.
 */
#include "ftplist.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int64_t rsl_ftplist_time(const char *s)
{
    static const int width[6] = {4, 2, 2, 2, 2, 2};
    int v[6], o = 0;
    for (int i = 0; i < 14; i++)
        if (!isdigit((unsigned char)s[i]))
            return -1; /* also stops at the NUL of a short string */
    for (int k = 0; k < 6; k++) {
        v[k] = 0;
        for (int i = 0; i < width[k]; i++)
            v[k] = v[k] * 10 + (s[o++] - '0');
    }
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];
    return (int64_t)timegm(&tm);
}

/* One "fact=value" of an MLSD line. Returns 1 when it said file or dir. */
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
        st->size = strtoull(v, NULL, 10);
    else if (strcasecmp(f, "modify") == 0)
        st->mtime = rsl_ftplist_time(v);
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
    for (char *f = strtok_r(line, ";", &save); f; f = strtok_r(NULL, ";", &save))
        type_ok |= mlsd_fact(f, st);
    return type_ok;
}

static int month_of(const char *m)
{
    static const char *mon[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                "jul", "aug", "sep", "oct", "nov", "dec"};
    for (int i = 0; i < 12; i++)
        if (strncasecmp(m, mon[i], 3) == 0)
            return i;
    return -1;
}

/* "Nov 22 02:33" (this year, or the last) or "Jan 02 2020" -> epoch, -1. */
static int64_t list_time(const char *mon, const char *day, const char *yt, time_t now)
{
    int m = month_of(mon);
    if (m < 0)
        return -1;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_mon = m;
    tm.tm_mday = (int)strtol(day, NULL, 10);
    const char *colon = strchr(yt, ':');
    if (colon == NULL) {
        tm.tm_year = (int)strtol(yt, NULL, 10) - 1900;
        return (int64_t)timegm(&tm);
    }
    struct tm nt;
    gmtime_r(&now, &nt);
    tm.tm_year = nt.tm_year;
    tm.tm_hour = (int)strtol(yt, NULL, 10);
    tm.tm_min = (int)strtol(colon + 1, NULL, 10);
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
    *name = p;
    st->exists = 1;
    st->is_dir = line[0] == 'd';
    st->size = strtoull(f[4], NULL, 10);
    st->mtime = list_time(f[5], f[6], f[7], now);
    return 1;
}
