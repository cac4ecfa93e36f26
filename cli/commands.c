/*
 * commands.c - the sub-command table (see commands.h).
 */
#include "commands.h"

#include <stddef.h>

const rsl_command rsl_commands[] = {
    {"run", rsl_cmd_run, "sync a job's source to its destination", 1},
    {"retry", rsl_cmd_retry, "re-attempt only the items failing now", 1},
    {"push", rsl_cmd_push, "one-off push without a job file", 1},
    {"log", rsl_cmd_log, "per-item results of a run", 0},
    {"status", rsl_cmd_status, "the last run and the items failing now", 0},
    {"explain", rsl_cmd_explain, "what an error code means and how to fix it", 0},
    {"daemon", rsl_cmd_daemon, "run every job of a directory on its schedule", 1},
    {"check", rsl_cmd_check, "check a job's configuration, source and remote step by step", 1},
    {"verify", rsl_cmd_verify, "compare the remote with the manifest", 1},
    {NULL, NULL, NULL, 0},
};
