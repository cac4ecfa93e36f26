/*
 * daemon_log.c - the scheduler daemon's log. See daemon_log.h.
 */
#include "daemon_log.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "cli/output.h"

void rsl_daemon_log_vwrite(rsl_daemon_log *l, int level, const char *who, int seq, const char *fmt,
                           va_list ap)
{
    static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char t[40];
    strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
    char raw[4096], msg[4096];
    vsnprintf(raw, sizeof(raw), fmt, ap);
    /* one line, nothing that acts on a terminal (`tail -f`): a run's output
     * was escaped by the run already, so its backslashes stay as they are */
    rsl_out_escape(msg, sizeof(msg), raw, RSL_ESC_KEEP_BACKSLASH);
    FILE *f = l->f ? l->f : stderr;
    if (who)
        fprintf(f, "%s.%03ldZ %-5s [%s#%d] %s\n", t, ts.tv_nsec / 1000000, names[level], who, seq,
                msg);
    else
        fprintf(f, "%s.%03ldZ %-5s [daemon] %s\n", t, ts.tv_nsec / 1000000, names[level], msg);
    fflush(f);
}

void rsl_daemon_log_write(rsl_daemon_log *l, int level, const char *who, int seq, const char *fmt,
                          ...)
{
    va_list ap;
    va_start(ap, fmt);
    rsl_daemon_log_vwrite(l, level, who, seq, fmt, ap);
    va_end(ap);
}

void rsl_daemon_log_open(rsl_daemon_log *l)
{
    if (l->path == NULL)
        return;
    FILE *f = fopen(l->path, "ae");
    if (f == NULL) {
        rsl_daemon_log_write(l, RSL_DLOG_ERROR, NULL, 0,
                             "cannot open log file %s: %s; logging to stderr", l->path,
                             strerror(errno));
        return;
    }
    if (l->f)
        fclose(l->f);
    l->f = f;
}

void rsl_daemon_log_close(rsl_daemon_log *l)
{
    if (l->f)
        fclose(l->f);
    l->f = NULL;
}
