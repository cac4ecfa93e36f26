/*
 * daemon_proc.c - the scheduler daemon's child processes. See daemon_proc.h.
 */
#include "daemon_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double rsl_daemon_proc_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void rsl_daemon_proc_init(rsl_daemon_child *c)
{
    memset(c, 0, sizeof(*c));
    c->fd[0] = c->fd[1] = -1;
}

void rsl_daemon_proc_close(rsl_daemon_child *c)
{
    for (int k = 0; k < 2; k++)
        if (c->fd[k] >= 0) {
            close(c->fd[k]);
            c->fd[k] = -1;
        }
}

/* In the child: own process group (a terminal's ^C reaches only the daemon,
 * which forwards one SIGTERM), default signals, pipes as 1 and 2, the
 * password pipe (if any) as RSL_DAEMON_PASSWORD_FD. Only async-signal-safe
 * calls: envp was built before the fork. */
static void exec_child(const char *exe, char *const argv[], char *const envp[],
                       const sigset_t *mask, int out, int err, int pass_fd)
{
    setpgid(0, 0);
    signal(SIGPIPE, SIG_DFL);
    sigprocmask(SIG_SETMASK, mask, NULL);
    /* out of the way of 0-3 first, whatever number the pipe got */
    int pf = pass_fd >= 0 ? fcntl(pass_fd, F_DUPFD_CLOEXEC, 10) : -1;
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0)
        dup2(null, 0);
    dup2(out, 1);
    dup2(err, 2);
    if (pf >= 0)
        dup2(pf, RSL_DAEMON_PASSWORD_FD); /* dup2 clears close-on-exec on the copy */
    execve(exe, argv, envp);
    _exit(127);
}

extern char **environ;

/* The daemon's environment, plus RSYNCD_LITE_PASSWORD_FD=N when a password
 * pipe is passed. The strings are borrowed; free only the array. */
static char **child_env(int pass_fd)
{
    static char var[64];
    size_t n = 0;
    while (environ && environ[n])
        n++;
    char **e = calloc(n + 2, sizeof(*e));
    if (e == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "RSYNCD_LITE_PASSWORD", 20) != 0) /* never inherited */
            e[k++] = environ[i];
    if (pass_fd >= 0) {
        snprintf(var, sizeof(var), "RSYNCD_LITE_PASSWORD_FD=%d", RSL_DAEMON_PASSWORD_FD);
        e[k++] = var;
    }
    e[k] = NULL;
    return e;
}

int rsl_daemon_proc_spawn(rsl_daemon_child *c, const char *exe, char *const argv[],
                          const sigset_t *child_mask, int pass_fd, const char **what)
{
    int out[2] = {-1, -1}, errp[2] = {-1, -1};
    char **envp = NULL;
    *what = "malloc";
    if ((envp = child_env(pass_fd)) == NULL)
        goto fail;
    *what = "pipe";
    if (pipe(out) != 0 || pipe(errp) != 0)
        goto fail;
    /* no other child may inherit these (dup2 onto 1 and 2 clears the flag) */
    for (int i = 0; i < 2; i++) {
        fcntl(out[i], F_SETFD, FD_CLOEXEC);
        fcntl(errp[i], F_SETFD, FD_CLOEXEC);
    }
    *what = "fork";
    pid_t pid = fork();
    if (pid < 0)
        goto fail;
    if (pid == 0)
        exec_child(exe, argv, envp, child_mask, out[1], errp[1], pass_fd);
    free(envp);
    close(out[1]);
    close(errp[1]);
    c->fd[0] = out[0];
    c->fd[1] = errp[0];
    fcntl(c->fd[0], F_SETFL, O_NONBLOCK);
    fcntl(c->fd[1], F_SETFL, O_NONBLOCK);
    c->blen[0] = c->blen[1] = 0;
    c->pid = pid;
    c->started = rsl_daemon_proc_mono();
    return 0;
fail:;
    int e = errno;
    free(envp);
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (errp[i] >= 0)
            close(errp[i]);
    }
    errno = e;
    return -1;
}

/* Passes the complete lines of pipe k's buffer to fn (and the rest when
 * `all`); keeps what is left. */
static void flush_lines(rsl_daemon_child *c, int k, int all, rsl_daemon_line_fn fn, void *ud)
{
    char *s = c->buf[k];
    size_t len = c->blen[k];
    char *nl;
    while ((nl = memchr(s, '\n', len)) != NULL) {
        *nl = '\0';
        if (nl > s)
            fn(ud, k, s);
        len -= (size_t)(nl + 1 - s);
        s = nl + 1;
    }
    if (len == sizeof(c->buf[k]) - 1 || (all && len > 0)) {
        s[len] = '\0';
        fn(ud, k, s);
        len = 0;
    }
    memmove(c->buf[k], s, len);
    c->blen[k] = len;
}

void rsl_daemon_proc_relay(rsl_daemon_child *c, int k, rsl_daemon_line_fn fn, void *ud)
{
    for (;;) {
        ssize_t r = read(c->fd[k], c->buf[k] + c->blen[k], sizeof(c->buf[k]) - 1 - c->blen[k]);
        if (r < 0 && errno == EINTR)
            continue;
        int eof = r == 0 || (r < 0 && errno != EAGAIN);
        if (r > 0)
            c->blen[k] += (size_t)r;
        flush_lines(c, k, eof, fn, ud);
        if (eof) {
            close(c->fd[k]);
            c->fd[k] = -1;
            return;
        }
        if (r < 0)
            return; /* EAGAIN */
    }
}

void rsl_daemon_proc_drain(rsl_daemon_child *c, rsl_daemon_line_fn fn, void *ud)
{
    for (int k = 0; k < 2; k++) {
        if (c->fd[k] < 0)
            continue;
        rsl_daemon_proc_relay(c, k, fn, ud);
        if (c->fd[k] >= 0) {
            flush_lines(c, k, 1, fn, ud);
            close(c->fd[k]);
            c->fd[k] = -1;
        }
    }
}

void rsl_daemon_proc_kill(const rsl_daemon_child *c)
{
    if (c->pid <= 0)
        return;
    kill(-c->pid, SIGKILL);
    kill(c->pid, SIGKILL);
}
