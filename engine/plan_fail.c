/*
 * plan_fail.c - the failures table as the plan meets it. See plan_fail.h.
 */
#define _GNU_SOURCE
#include "plan_fail.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scan.h"
#include "source.h"

/* Directories deeper than this are not listed (scan.c's MAX_DEPTH). */
#define PLAN_FAIL_MAX_DEPTH 256

int rsl_plan_fail_init(rsl_plan_fail *pf, rsl_failure *v, size_t n)
{
    pf->v = v;
    pf->n = n;
    pf->seen = calloc(n + 1, 1);
    return pf->seen ? 0 : -1;
}

void rsl_plan_fail_free(rsl_plan_fail *pf)
{
    free(pf->seen);
    memset(pf, 0, sizeof(*pf));
}

rsl_failure *rsl_plan_fail_find(rsl_plan_fail *pf, const char *path)
{
    rsl_failure *f = rsl_failures_find(pf->v, pf->n, path);
    if (f != NULL && pf->seen)
        pf->seen[f - pf->v] = 1;
    return f;
}

/* The exclude pattern that matches path or a directory above it, or NULL. */
static const char *excluded_by(const rsl_job *job, const char *path, int leaf_is_dir)
{
    char buf[8192];
    size_t len = strlen(path);
    if (job->n_excludes == 0 || len >= sizeof(buf))
        return NULL;
    memcpy(buf, path, len + 1);
    for (char *p = buf;; p++) {
        int end = *p == '\0';
        if (*p != '/' && !end)
            continue;
        char keep = *p;
        *p = '\0';
        const char *slash = strrchr(buf, '/');
        const char *name = slash ? slash + 1 : buf;
        for (size_t i = 0; i < job->n_excludes; i++)
            if (rsl_scan_excluded(&job->excludes[i], 1, buf, name, end ? leaf_is_dir : 1))
                return job->excludes[i];
        if (end)
            return NULL;
        *p = keep;
    }
}

int rsl_plan_fail_gone(const rsl_job *job, const char *path, char *why, size_t n)
{
    struct stat sb;
    int r, e;
    if (job->follow_symlinks) {
        char full[8192];
        snprintf(full, sizeof(full), "%s/%s", job->source, path);
        r = lstat(full, &sb);
        e = errno;
    } else { /* as the walk sees it: no symbolic link followed on the way */
        int root = open(job->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
            return 0; /* the source itself is unreadable: nothing is decided */
        r = rsl_source_lstat_beneath(root, path, &sb);
        e = errno;
        close(root);
    }
    if (r != 0 && (e == ENOENT || e == ENOTDIR)) {
        snprintf(why, n, "gone from the source");
        return 1;
    }
    if (r != 0 && (e == ELOOP || e == EXDEV)) {
        snprintf(why, n,
                 "gone from the source (its path now goes through a symbolic link, "
                 "which is not followed)");
        return 1;
    }
    if (r != 0)
        return 0; /* permission, I/O: it may still be there */
    const char *pat = excluded_by(job, path, S_ISDIR(sb.st_mode));
    if (pat == NULL)
        return 0;
    snprintf(why, n, "excluded now (exclude = %s)", pat);
    return 1;
}

void rsl_plan_fail_unseen(rsl_plan_fail *pf, const rsl_job *job,
                          void (*fn)(void *ud, const rsl_failure *f, const char *why), void *ud)
{
    char why[600];
    for (size_t i = 0; i < pf->n; i++)
        if (!pf->seen[i] && rsl_plan_fail_gone(job, pf->v[i].path, why, sizeof(why)))
            fn(ud, &pf->v[i], why);
}

rsl_code rsl_plan_fail_dir_ok(const char *source, const char *path, rsl_err *err)
{
    int depth = 1;
    for (const char *p = path; *p; p++)
        depth += *p == '/';
    if (depth >= PLAN_FAIL_MAX_DEPTH)
        return rsl_err_set(err, RSL_E_DEPTH_LIMIT, depth,
                           "not descended: the tree is deeper than %d levels here",
                           PLAN_FAIL_MAX_DEPTH);
    char full[8192];
    snprintf(full, sizeof(full), "%s/%s", source, path);
    int fd = open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    int e = errno;
    if (d != NULL) {
        errno = 0;
        if (readdir(d) == NULL && errno != 0)
            e = errno;
        else
            e = 0;
        closedir(d);
    } else if (fd >= 0) {
        close(fd);
    }
    if (d != NULL && e == 0)
        return RSL_OK;
    return rsl_err_set(err, RSL_E_LOCAL_UNREADABLE, e, "cannot read: %s", strerror(e));
}
