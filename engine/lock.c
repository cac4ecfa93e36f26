/*
 * lock.c - see lock.h. The lock file holds the pid of the holder, for the
 * message a second run prints.
 */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

rsl_code rsl_lock_acquire(const char *state_path, int *fd_out, rsl_err *err)
{
    char path[4096];
    *fd_out = -1;
    if (snprintf(path, sizeof(path), "%s.lock", state_path) >= (int)sizeof(path))
        return rsl_err_set(err, RSL_E_STATE_OPEN, 0, "state path too long");
    /* the state directory may not exist yet */
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", state_path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1; *p; p++) {
            if (*p == '/') {
                *p = '\0';
                mkdir(dir, 0700);
                *p = '/';
            }
        }
        mkdir(dir, 0700);
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return rsl_err_set(err, RSL_E_STATE_OPEN, errno, "cannot open lock file '%s': %s", path,
                           strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(fd);
        if (e == EWOULDBLOCK)
            return rsl_err_set(err, RSL_E_JOB_LOCKED, e,
                               "another run of this job holds the lock %s (pid %s)", path,
                               pid[0] ? pid : "unknown");
        return rsl_err_set(err, RSL_E_STATE_OPEN, e, "cannot lock '%s': %s", path, strerror(e));
    }
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)n, 0) < 0) {
        /* the pid is informational only */
    }
    *fd_out = fd;
    return RSL_OK;
}

void rsl_lock_release(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}
