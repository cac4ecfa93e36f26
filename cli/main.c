/*
 * main.c - the rsyncd-lite command line: dispatches to one cmd_*.c per
 * sub-command. Owns argv only.
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/secret_env.h"

static void usage(FILE *out)
{
    fputs("usage: rsyncd-lite COMMAND [ARGS]\n"
          "       rsyncd-lite COMMAND --help | --version\n"
          "\n"
          "commands:\n"
          "  run JOB.conf [--only-failed] [--dry-run] [--json] [--max-delete N] [--progress]\n"
          "                       sync a job's source to its destination\n"
          "  retry JOB.conf       re-attempt only the items failing now\n"
          "  push SRC DEST [--state PATH] [--dry-run] [--delete] [--progress]\n"
          "                       one-off push without a job file\n"
          "  log JOB.conf [--run N] [--failed] [--json]\n"
          "                       per-item results of a run\n"
          "  status JOB.conf|JOBDIR [--json]\n"
          "                       health, the last run and the items failing now\n"
          "  check JOB.conf [--json] [--strict]\n"
          "                       check config, source, DNS, connect, trust, auth, remote\n"
          "                       root, write, rename and resume, step by step\n"
          "  verify JOB.conf [--checksum] [--repair] [--json]\n"
          "                       compare the remote with the manifest\n"
          "  daemon JOBDIR [--log-file F] [--max-parallel-jobs N] [--stop-timeout S]\n"
          "                       run every JOBDIR/*.conf on its schedule (foreground)\n"
          "  explain CODE         what an error code means and how to fix it\n"
          "\n"
          "exit codes: 0 success, 1 usage/config, 5 session failure, 20 interrupted,\n"
          "  23 partial failure (verify: differences), 24 partial (source files vanished),\n"
          "  30 timeout, 75 job locked by another run;\n"
          "  status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (monitoring-plugin convention)\n"
          "see rsyncd-lite(1) and job.conf(5)\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("rsyncd-lite %s\n", RSL_VERSION);
        return 0;
    }
    for (const rsl_command *c = rsl_commands; c->name; c++) {
        if (strcmp(c->name, cmd) != 0)
            continue;
        char msg[512];
        if (c->secrets && rsl_secret_env_init(msg, sizeof(msg)) != 0) {
            rsl_secret_env_wipe();
            fprintf(stderr, "rsyncd-lite: %s\n", msg);
            return 1;
        }
        int code = c->fn(argc - 1, argv + 1);
        rsl_secret_env_wipe();
        return code;
    }
    fprintf(stderr, "rsyncd-lite: unknown command '%s'\n", cmd);
    usage(stderr);
    return 1;
}
