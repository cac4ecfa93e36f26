/*
 * lock.h - one run per job at a time: flock(2) on "<state>.lock".
 * Owns: the lock file descriptor. Must not touch: the state db itself.
 */
#ifndef RSL_LOCK_H
#define RSL_LOCK_H

#include "base/catalog.h"

/* Takes the lock without waiting. Returns RSL_OK with *fd_out (release with
 * rsl_lock_release), RSL_E_JOB_LOCKED when another process holds it, or
 * RSL_E_STATE_OPEN when the lock file cannot be created. */
rsl_code rsl_lock_acquire(const char *state_path, int *fd_out, rsl_err *err);
void rsl_lock_release(int fd);

#endif
