#include "cli/commands.h"
int rsl_cmd_verify(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 1;
}
