/*
 * daemon_conf.h - JOBDIR/daemon.conf, the scheduler daemon's optional
 * settings: max_parallel_jobs, log_file (relative to JOBDIR), stop_timeout,
 * retry_min, retry_max. Read with cli/ini.h, so it has the job file's syntax
 * (comments, quotes; sections are allowed and ignored); errors are
 * "FILE:LINE: key: reason".
 *
 * Owns: the keys of daemon.conf. Must not touch: jobs, processes, the log.
 */
#ifndef RSL_CLI_DAEMON_CONF_H
#define RSL_CLI_DAEMON_CONF_H

#include <limits.h>

#include "base/catalog.h"

typedef struct rsl_daemon_conf {
    long max_parallel;       /* 1..256; -1 unset */
    long stop_timeout;       /* seconds >= 1; -1 unset */
    long retry_min;          /* seconds >= 1; default 30 */
    long retry_max;          /* seconds >= 1; default 3600 */
    char log_file[PATH_MAX]; /* absolute; "" unset */
} rsl_daemon_conf;

/* Sets the defaults. */
void rsl_daemon_conf_init(rsl_daemon_conf *c);
/* Parses the text of a daemon.conf at path (used in messages) in jobdir.
 * Returns RSL_OK, or a config code with err->msg "FILE:LINE: key: reason". */
rsl_code rsl_daemon_conf_parse(rsl_daemon_conf *c, const char *path, const char *jobdir,
                               const char *text, rsl_err *err);
/* Initialises c and reads JOBDIR/daemon.conf if it can be read (a missing or
 * unreadable file leaves the defaults). Returns RSL_OK or the parse error. */
rsl_code rsl_daemon_conf_load(rsl_daemon_conf *c, const char *jobdir, rsl_err *err);

#endif
