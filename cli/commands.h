/*
 * commands.h - the sub-command table. Each sub-command lives in its own
 * cli/cmd_<name>.c and receives argv starting at the sub-command's name.
 * Returns the process exit code.
 */
#ifndef RSL_CLI_COMMANDS_H
#define RSL_CLI_COMMANDS_H

typedef struct rsl_command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
    /* 1: may hold a secret (it connects, or starts runs that do): main makes
     * the process non-dumpable and takes the password out of the environment
     * before the command starts (cli/secret_env.h) */
    int secrets;
} rsl_command;

extern const rsl_command rsl_commands[]; /* NULL-terminated */

int rsl_cmd_explain(int argc, char **argv);
int rsl_cmd_run(int argc, char **argv);
int rsl_cmd_retry(int argc, char **argv);
int rsl_cmd_push(int argc, char **argv);
int rsl_cmd_log(int argc, char **argv);
int rsl_cmd_status(int argc, char **argv);
int rsl_cmd_daemon(int argc, char **argv);
int rsl_cmd_check(int argc, char **argv);
int rsl_cmd_verify(int argc, char **argv);

#endif
