/*
 * progress.c - see progress.h.
 */
#include "progress.h"

#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli/output.h"

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void rsl_progress_bytes(char *buf, size_t n, double b)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024.0 && u < 4) {
        b /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, n, "%.0f B", b);
    else
        snprintf(buf, n, "%.1f %s", b, units[u]);
}

/* "1.2 MiB/s" and "ETA 1:05" (or "-- /s" and "ETA --" before a rate is
 * known; no ETA while the totals still grow). */
static void format_rate_eta(char *r, size_t rn, char *eta, size_t en, const rsl_progress *p,
                            double rate)
{
    if (rate < 0) {
        snprintf(r, rn, "-- /s");
        snprintf(eta, en, "ETA --");
        return;
    }
    rsl_progress_bytes(r, rn, rate);
    size_t l = strlen(r);
    snprintf(r + l, rn - l, "/s");
    long long left = p->bytes_total - p->bytes_done;
    if (!p->totals_final || rate < 1.0) {
        snprintf(eta, en, "ETA --");
        return;
    }
    long long s = left > 0 ? (long long)((double)left / rate + 0.5) : 0;
    if (s >= 3600)
        snprintf(eta, en, "ETA %lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(eta, en, "ETA %lld:%02lld", s / 60, s % 60);
}

/* Appends "  <cur>" to buf (len bytes used, n in all) when at least 8
 * bytes fit (width > 0: within width columns), keeping the end of a long
 * path: the file name. Returns the new length. */
static int append_current(char *buf, size_t n, int len, const char *cur, int width)
{
    if (cur == NULL || *cur == '\0' || (size_t)len + 3 >= n)
        return len;
    /* a name's control characters must not drive the terminal: the CLI's
     * one escape (cli/output.h) */
    char shown[1024];
    rsl_out_escape(shown, sizeof(shown), cur, 0);
    cur = shown;
    size_t room = n - (size_t)len - 3;
    if (width > 0)
        room = width > len + 3 ? (size_t)(width - len - 3) : 0;
    size_t cl = strlen(cur);
    if (room < 8)
        return len;
    buf[len++] = ' ';
    buf[len++] = ' ';
    if (cl > room) { /* keep the end of the path: the file name */
        memcpy(buf + len, "...", 3);
        memcpy(buf + len + 3, cur + cl - (room - 3), room - 3);
        len += (int)room;
    } else {
        memcpy(buf + len, cur, cl);
        len += (int)cl;
    }
    buf[len] = '\0';
    return len;
}

size_t rsl_progress_format(char *buf, size_t n, const rsl_progress *p, double rate,
                           const char *current, int width)
{
    char done[32], total[32], r[32], eta[32];
    rsl_progress_bytes(done, sizeof(done), (double)p->bytes_done);
    rsl_progress_bytes(total, sizeof(total), (double)p->bytes_total);
    const char *mark = p->totals_final ? "" : "+"; /* totals still growing */
    format_rate_eta(r, sizeof(r), eta, sizeof(eta), p, rate);
    int len = snprintf(buf, n, "%lld/%lld%s files  %s/%s%s  %s  %s", (long long)p->files_done,
                       (long long)p->files_total, mark, done, total, mark, r, eta);
    if (len < 0)
        len = 0;
    if ((size_t)len >= n)
        len = (int)n - 1;
    len = append_current(buf, n, len, p->current ? p->current : current, width);
    if (width > 0 && len > width - 1 && width > 1) {
        len = width - 1;
        buf[len] = '\0';
    }
    return (size_t)len;
}

void rsl_progress_init(rsl_progress_ui *u, FILE *f, int want)
{
    memset(u, 0, sizeof(*u));
    u->f = f;
    u->interval = 5.0;
    u->rate = -1;
    int tty = isatty(fileno(f));
    if (want == 0)
        u->mode = RSL_PROGRESS_OFF;
    else if (tty)
        u->mode = RSL_PROGRESS_LIVE;
    else
        u->mode = want > 0 ? RSL_PROGRESS_LINES : RSL_PROGRESS_OFF;
    u->width = 80;
    struct winsize ws;
    if (tty && ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        u->width = ws.ws_col;
}

void rsl_progress_note(rsl_progress_ui *u, const char *path)
{
    if (u && path)
        snprintf(u->current, sizeof(u->current), "%s", path);
}

void rsl_progress_update(void *ud, const rsl_progress *p)
{
    rsl_progress_ui *u = ud;
    if (u == NULL || u->mode == RSL_PROGRESS_OFF)
        return;
    double now = mono();
    if (u->t0 == 0) {
        u->t0 = now;
        u->rate_t = now;
        u->rate_b = p->bytes_done;
        u->last_draw = -1e9; /* the first line at once */
    }
    /* smoothed rate from samples at least 0.5 s apart */
    if (now - u->rate_t >= 0.5) {
        double inst = (double)(p->bytes_done - u->rate_b) / (now - u->rate_t);
        u->rate = u->rate < 0 ? inst : 0.7 * u->rate + 0.3 * inst;
        u->rate_t = now;
        u->rate_b = p->bytes_done;
    }
    char line[1024];
    if (u->mode == RSL_PROGRESS_LIVE) {
        if (now - u->last_draw < 0.2 && u->drawn)
            return;
        rsl_progress_format(line, sizeof(line), p, u->rate, u->current, u->width);
        fprintf(u->f, "\r\033[K%s", line);
        fflush(u->f);
        u->drawn = 1;
        u->last_draw = now;
    } else {
        if (now - u->last_draw < u->interval)
            return;
        rsl_progress_format(line, sizeof(line), p, u->rate, u->current, 0);
        fprintf(u->f, "progress: %s\n", line);
        fflush(u->f);
        u->last_draw = now;
    }
}

void rsl_progress_clear(rsl_progress_ui *u)
{
    if (u && u->mode == RSL_PROGRESS_LIVE && u->drawn) {
        fputs("\r\033[K", u->f);
        fflush(u->f);
        u->drawn = 0;
    }
}

void rsl_progress_done(rsl_progress_ui *u)
{
    rsl_progress_clear(u);
}
