/*
 * daemon_proc.h - one child process of the scheduler daemon: fork+exec in
 * its own process group with stdin on /dev/null and stdout/stderr on
 * non-blocking pipes, the pipes relayed line by line to a callback, and the
 * whole group killed when it outlives the stop timeout.
 *
 * Owns: the child's pid, pipes and line buffers. Must not touch: the job
 * table, scheduling decisions, the log (lines go to the callback). Linux.
 */
#ifndef RSL_CLI_DAEMON_PROC_H
#define RSL_CLI_DAEMON_PROC_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#define RSL_DAEMON_LINE_MAX 2048

typedef struct rsl_daemon_child {
    pid_t pid; /* 0: none */
    int fd[2]; /* the child's stdout, stderr (-1 when closed) */
    char buf[2][RSL_DAEMON_LINE_MAX];
    size_t blen[2];
    double started; /* monotonic time of the start */
} rsl_daemon_child;

/* One line of output (is_stderr: from fd[1]); without its '\n'. */
typedef void (*rsl_daemon_line_fn)(void *ud, int is_stderr, const char *line);

/* No process, pipes closed. */
void rsl_daemon_proc_init(rsl_daemon_child *c);
/* The descriptor a child reads the password from (RSYNCD_LITE_PASSWORD_FD). */
#define RSL_DAEMON_PASSWORD_FD 3

/* Starts exe with argv; the child gets child_mask as its signal mask, default
 * SIGPIPE, its own process group, /dev/null as stdin and the pipes as stdout
 * and stderr (no other child inherits them). pass_fd >= 0 (a pipe holding
 * the password, cli/secret_env.h) becomes the child's descriptor
 * RSL_DAEMON_PASSWORD_FD, named in its environment as
 * RSYNCD_LITE_PASSWORD_FD; the caller closes its own pass_fd afterwards.
 * Returns 0, or -1 with errno set and `what` naming the call that failed
 * ("pipe", "fork"). */
int rsl_daemon_proc_spawn(rsl_daemon_child *c, const char *exe, char *const argv[],
                          const sigset_t *child_mask, int pass_fd, const char **what);
/* Reads what pipe k has now and passes each complete line to fn (a line of
 * RSL_DAEMON_LINE_MAX-1 bytes is passed as it is); at end of file the rest,
 * and the pipe is closed. Never blocks. */
void rsl_daemon_proc_relay(rsl_daemon_child *c, int k, rsl_daemon_line_fn fn, void *ud);
/* After the child exited: relays what the pipes hold now, then closes them
 * (a process the child left behind could keep them open: no waiting). */
void rsl_daemon_proc_drain(rsl_daemon_child *c, rsl_daemon_line_fn fn, void *ud);
/* SIGKILL to the child's process group and the child. */
void rsl_daemon_proc_kill(const rsl_daemon_child *c);
/* Closes the pipes (the pid is left alone). */
void rsl_daemon_proc_close(rsl_daemon_child *c);
/* The monotonic clock, in seconds. */
double rsl_daemon_proc_mono(void);

#endif
