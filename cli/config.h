/*
 * config.h - parses a job file (INI: [job] and [remote] sections) into an
 * rsl_job, with every error reported as "FILE:LINE: key: reason" (LINE: where
 * the key was set, also for checks made after reading; the [job] header's
 * line for a missing key). The syntax is cli/ini.h's. A `schedule` is
 * checked here, so run, check and the daemon all refuse a bad one.
 *
 * Owns: the key table (every key, its type, range and default lives here and
 * in docs/job.conf.5). Must not touch: the state db, the network.
 */
#ifndef RSL_CLI_CONFIG_H
#define RSL_CLI_CONFIG_H

#include <stdint.h>

#include "base/catalog.h"
#include "engine/job.h"

/* Parses path into *job (initialised here; the caller frees it with
 * rsl_job_free, also on error). Returns RSL_OK, or a 1xx code with err->msg
 * "FILE:LINE: key: reason". */
rsl_code rsl_config_load(rsl_job *job, const char *path, rsl_err *err);
/* Parses the same text from memory (path is only used in messages). */
rsl_code rsl_config_parse(rsl_job *job, const char *path, const char *text, rsl_err *err);
/* Checks a job built in code (push): required keys, name, URL. */
rsl_code rsl_config_finish(rsl_job *job, const char *path, rsl_err *err);

/* "0", "512", "64K", "100M", "2G", "1T" (binary multiples; optional "B"/"iB").
 * Returns 0 on success, -1 on a bad value or overflow. */
int rsl_config_parse_size(const char *s, uint64_t *out);
/* yes/no/true/false/on/off/1/0 -> 1/0; -1 if none of those. */
int rsl_config_parse_bool(const char *s);
/* "30", "30s", "5m", "2h" -> seconds; -1 on a bad value. */
long rsl_config_parse_duration(const char *s);

#endif
