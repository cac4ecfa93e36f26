/*
 * daemon_log.h - the scheduler daemon's log: one line per event, on stderr
 * or a log file (reopened on SIGHUP, for logrotate), as
 * "TIME LEVEL [who#seq] message" with TIME in UTC to the millisecond, and
 * "[daemon]" for the daemon's own events. Control bytes in a message (a
 * job's output is relayed here) become '?', so an entry is one line.
 *
 * Owns: the log FILE. Must not touch: jobs, processes, the state db.
 */
#ifndef RSL_CLI_DAEMON_LOG_H
#define RSL_CLI_DAEMON_LOG_H

#include <stdarg.h>
#include <stdio.h>

enum { RSL_DLOG_DEBUG, RSL_DLOG_INFO, RSL_DLOG_WARN, RSL_DLOG_ERROR };

typedef struct rsl_daemon_log {
    const char *path; /* NULL: stderr */
    FILE *f;          /* NULL until opened (stderr meanwhile) */
} rsl_daemon_log;

/* (Re)opens the log file for appending; on failure it logs the reason and
 * keeps the previous file (or stderr). No-op without a path. */
void rsl_daemon_log_open(rsl_daemon_log *l);
void rsl_daemon_log_close(rsl_daemon_log *l);

/* One entry. who NULL: "[daemon]"; else "[who#seq]". */
void rsl_daemon_log_write(rsl_daemon_log *l, int level, const char *who, int seq, const char *fmt,
                          ...) __attribute__((format(printf, 5, 6)));
void rsl_daemon_log_vwrite(rsl_daemon_log *l, int level, const char *who, int seq, const char *fmt,
                           va_list ap) __attribute__((format(printf, 5, 0)));

#endif
