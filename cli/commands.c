/*
 * commands.c - the sub-command table (see commands.h).
 */
#include "commands.h"

#include <stddef.h>

const rsl_command rsl_commands[] = {
    {"explain", rsl_cmd_explain, "what an error code means and how to fix it"},
    {NULL, NULL, NULL},
};
