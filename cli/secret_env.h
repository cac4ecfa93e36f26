/*
 * secret_env.h - the process's care while it may hold a secret (issue 10.16),
 * and the one in-memory copy of the password given through the environment.
 *
 * The sub-commands that connect to a remote (run, retry, push, check,
 * verify) and the daemon call rsl_secret_env_init first thing:
 *   - the process becomes non-dumpable (prctl PR_SET_DUMPABLE 0: no core
 *     file, no ptrace or /proc/PID/mem, environ or maps for other users) and
 *     its core size limit is 0, so a crash or a gcore by another user does
 *     not put the password on disk;
 *   - the password is read once: from the file descriptor named by
 *     RSYNCD_LITE_PASSWORD_FD (how the daemon hands it to a run; the fd is
 *     closed after reading), else from RSYNCD_LITE_PASSWORD. Both variables
 *     are removed from the environment before any child can start, and the
 *     original "RSYNCD_LITE_PASSWORD=..." string is overwritten with zeros
 *     (unsetenv only drops the pointer; the bytes would stay in the process's
 *     memory and in /proc/PID/environ);
 *   - the copy lives in one page of its own: locked in RAM (mlock: never
 *     written to swap), left out of core dumps (MADV_DONTDUMP) and zeroed in
 *     a forked child (MADV_WIPEONFORK). A failed mlock is not an error (a
 *     tight RLIMIT_MEMLOCK); the process is non-dumpable either way.
 * The daemon needs the password for every run it starts, for as long as it
 * runs, so it keeps that copy until it exits and gives each child a pipe
 * holding it (rsl_secret_env_pipe): the value is never in a child's argv or
 * environment, only RSYNCD_LITE_PASSWORD_FD=N is.
 *
 * Secrets read from files (password_file, passphrase_file, token_file) are
 * the transports' (transports/): this module does not read them.
 *
 * Owns: the page and the two environment variables. Must not touch: the
 * network, the state db. Process-wide by nature (the environment is).
 */
#ifndef RSL_CLI_SECRET_ENV_H
#define RSL_CLI_SECRET_ENV_H

#include <stddef.h>

#define RSL_PASSWORD_ENV "RSYNCD_LITE_PASSWORD"
#define RSL_PASSWORD_FD_ENV "RSYNCD_LITE_PASSWORD_FD"

/* Makes the process non-dumpable with no core file, then takes the password
 * out of the environment (see above). Returns 0, or -1 with msg saying why
 * (RSYNCD_LITE_PASSWORD_FD is not a readable descriptor, the password is
 * longer than a page, no memory). Idempotent. */
int rsl_secret_env_init(char *msg, size_t n);
/* The password (NUL-terminated), or NULL when none was given. Valid until
 * rsl_secret_env_wipe. */
const char *rsl_secret_env_password(void);
/* A pipe holding the password, for a child: returns the read end (close-on-
 * exec; the caller moves it to the child's fd and names it in the child's
 * RSYNCD_LITE_PASSWORD_FD), or -1 when there is no password or on error.
 * The write end is closed: the value waits in the kernel's pipe buffer. */
int rsl_secret_env_pipe(void);
/* Zeroes the copy and releases the page. */
void rsl_secret_env_wipe(void);

#endif
