/*
 * state_create.c - a new state db file, made whole before it takes its
 * name. See state_db.h, rsl_state_db_create().
 *
 * SQLite's first write to an empty file (the switch to WAL mode) goes
 * through a rollback journal; a kill in that moment leaves a hot journal
 * that only a writer may roll back, so every read-only command would fail
 * until the next run. Building the db under a side name and renaming it
 * once committed means the final name only ever holds a db in WAL mode
 * with its whole schema.
 *
 * Owns: the side file PATH.creating and its lock.
 * Must not touch: the schema (the caller's build function makes it).
 */
#include "state_db.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* The journal, WAL and shared-memory files SQLite keeps beside a db. */
static void remove_companions(const char *db)
{
    static const char *const sfx[] = {"-journal", "-wal", "-shm"};
    char p[4200];
    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", db, sfx[i]);
        unlink(p);
    }
}

/* fsync of the directory holding path, so the rename survives a crash. */
static void sync_dir_of(const char *path)
{
    char d[4200];
    snprintf(d, sizeof(d), "%s", path);
    int fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static rsl_code fail_errno(rsl_err *err, rsl_code code, const char *what, const char *path)
{
    return rsl_err_set(err, code, errno, "state db: cannot %s '%s': %s", what, path,
                       strerror(errno));
}

/* Under the lock: what a killed attempt left is discarded, the db built,
 * synced and renamed to its name. */
static rsl_code build_side(int fd, const char *side, const char *path, rsl_state_build_fn build,
                           rsl_err *err)
{
    remove_companions(side);
    if (ftruncate(fd, 0) != 0)
        return fail_errno(err, RSL_E_STATE_WRITE, "truncate", side);
    rsl_code rc = build(side, err);
    if (rc != RSL_OK)
        return rc;
    if (fsync(fd) != 0)
        return fail_errno(err, RSL_E_STATE_WRITE, "sync", side);
    if (rename(side, path) != 0)
        return fail_errno(err, RSL_E_STATE_WRITE, "rename into place", side);
    sync_dir_of(path);
    return RSL_OK;
}

rsl_code rsl_state_db_create(const char *path, rsl_state_build_fn build, rsl_err *err)
{
    if (access(path, F_OK) == 0 || errno != ENOENT)
        return RSL_OK; /* there, or the open that follows reports why not */
    char side[4200];
    if (snprintf(side, sizeof(side), "%s.creating", path) >= (int)sizeof(side))
        return rsl_err_set(err, RSL_E_STATE_OPEN, ENAMETOOLONG, "state db: path too long: '%s'",
                           path);
    int fd = open(side, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return fail_errno(err, RSL_E_STATE_OPEN, "create", side);
    rsl_code rc = RSL_OK;
    if (flock(fd, LOCK_EX) != 0) {
        rc = fail_errno(err, RSL_E_STATE_OPEN, "lock", side);
    } else if (access(path, F_OK) == 0) {
        unlink(side); /* another process made it while we waited */
    } else {
        rc = build_side(fd, side, path, build, err);
        remove_companions(side);
        if (rc != RSL_OK)
            unlink(side);
    }
    close(fd);
    return rc;
}
