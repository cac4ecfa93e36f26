/*
 * commands.c - the sub-command table (see commands.h).
 */
#include "commands.h"

#include <stddef.h>

const rsl_command rsl_commands[] = {
    {"run", rsl_cmd_run, "sync a job's source to its destination"},
    {"retry", rsl_cmd_retry, "re-attempt only the items failing now"},
    {"push", rsl_cmd_push, "one-off push without a job file"},
    {"log", rsl_cmd_log, "per-item results of a run"},
    {"status", rsl_cmd_status, "the last run and the items failing now"},
    {"explain", rsl_cmd_explain, "what an error code means and how to fix it"},
    {"daemon", rsl_cmd_daemon, "run every job of a directory on its schedule"},
    {"check", rsl_cmd_check, "check a job's configuration, source and remote step by step"},
    {"verify", rsl_cmd_verify, "compare the remote with the manifest"},
    {NULL, NULL, NULL},
};
