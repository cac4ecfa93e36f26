#include "cli/commands.h"
int rsl_cmd_check(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 1;
}
