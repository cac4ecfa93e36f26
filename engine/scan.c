/*
 * scan.c - the local tree walk. See scan.h.
 */
#define _GNU_SOURCE
#include "scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 256

typedef struct walker {
    const rsl_scan_opts *o;
    rsl_scan_cb cb;
    void *ud;
    char root_real[PATH_MAX];
    size_t root_real_len;
    char path[PATH_MAX * 2];
    char rpath[PATH_MAX * 2]; /* the same path with followed links resolved */
    /* directories on the current path (device, inode) for symlink-loop detection */
    dev_t dev[MAX_DEPTH];
    ino_t ino[MAX_DEPTH];
    int depth;
    int stopped;
} walker;

int rsl_scan_excluded(char *const *pats, size_t n, const char *rel, const char *name, int is_dir)
{
    char pat[1024];
    for (size_t i = 0; i < n; i++) {
        const char *p = pats[i];
        size_t l = strlen(p);
        if (l == 0 || l >= sizeof(pat))
            continue;
        memcpy(pat, p, l + 1);
        int dir_only = 0;
        if (l > 1 && pat[l - 1] == '/') {
            pat[--l] = '\0';
            dir_only = 1;
        }
        if (dir_only && !is_dir)
            continue;
        const char *pp = pat;
        int anchored = 0;
        if (pp[0] == '/') {
            pp++;
            anchored = 1;
        }
        if (anchored || strchr(pp, '/') != NULL) {
            if (fnmatch(pp, rel, FNM_PATHNAME | FNM_PERIOD) == 0)
                return 1;
        } else if (fnmatch(pp, name, 0) == 0) {
            return 1;
        }
    }
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Reads a directory's names (minus . and ..), sorted. -1 with errno on failure. */
static int read_names(int dfd, char ***out, size_t *count)
{
    int fd = dup(dfd);
    if (fd < 0)
        return -1;
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return -1;
    }
    size_t n = 0, cap = 0;
    char **names = NULL;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' &&
            (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof(*nn));
            if (nn == NULL)
                goto oom;
            names = nn;
        }
        if ((names[n] = strdup(de->d_name)) == NULL)
            goto oom;
        n++;
    }
    int e = errno;
    closedir(d);
    if (e != 0) {
        free_names(names, n);
        errno = e;
        return -1;
    }
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_names);
    *out = names;
    *count = n;
    return 0;
oom:
    closedir(d);
    free_names(names, n);
    errno = ENOMEM;
    return -1;
}

static int64_t mtime_ns_of(const struct stat *sb)
{
    return (int64_t)sb->st_mtim.tv_sec * 1000000000LL + sb->st_mtim.tv_nsec;
}

static void visit(walker *w, int dfd, const char *name, size_t plen, size_t rplen, int linked,
                  const char *root);

static int emit(walker *w, rsl_entry *e)
{
    int r = w->cb(w->ud, e);
    if (r < 0)
        w->stopped = 1;
    return r;
}

/* Resolves a symlink at w->path (full path built by the caller); 0 and *sb
 * filled when it stays inside the root (real: its resolved absolute path),
 * else -1 with *why set. */
static int follow_link(walker *w, const char *full, struct stat *sb, const char **why,
                       char real[PATH_MAX])
{
    if (realpath(full, real) == NULL) {
        *why = "broken link";
        return -1;
    }
    if (strncmp(real, w->root_real, w->root_real_len) != 0 ||
        (real[w->root_real_len] != '/' && real[w->root_real_len] != '\0')) {
        *why = "points outside the source root";
        return -1;
    }
    if (stat(real, sb) != 0) {
        *why = "target cannot be stat'ed";
        return -1;
    }
    return 0;
}

/* The resolved path of the entry being visited: a followed link's target
 * beneath the root, else the parent's resolved path plus the name. Writes it
 * into w->rpath; returns its length, or -1 when it is too long. */
static long set_rpath(walker *w, size_t rplen, const char *name, const char *real)
{
    size_t nl;
    if (real != NULL) {
        const char *rel = real + w->root_real_len + (real[w->root_real_len] == '/');
        nl = strlen(rel);
        if (nl + 1 >= sizeof(w->rpath))
            return -1;
        memcpy(w->rpath, rel, nl + 1);
        return (long)nl;
    }
    nl = strlen(name);
    if (rplen + nl + 2 >= sizeof(w->rpath))
        return -1;
    size_t off = rplen ? rplen + 1 : 0;
    if (rplen)
        w->rpath[rplen] = '/';
    memcpy(w->rpath + off, name, nl + 1);
    return (long)(off + nl);
}

/* A symlink at w->path: skipped (emitted; returns 1) unless links are
 * followed and it stays inside the root (returns 0 with *sb the target's
 * and real its resolved path). */
static int visit_link(walker *w, rsl_entry *e, struct stat *sb, const char *root,
                      char real[PATH_MAX])
{
    char full[PATH_MAX * 2 + 2];
    const char *why = NULL;
    snprintf(full, sizeof(full), "%s/%s", root, w->path);
    e->kind = RSL_ENT_SKIPPED;
    if (!w->o->follow_symlinks) {
        e->code = RSL_E_SYMLINK_SKIPPED;
        e->detail = "symbolic link (follow_symlinks = no)";
    } else if (follow_link(w, full, sb, &why, real) != 0) {
        e->code = RSL_E_SYMLINK_OUTSIDE;
        e->detail = why;
    } else {
        e->followed = 1;
        return 0;
    }
    emit(w, e);
    return 1;
}

/* A directory: emitted, then its children (unless the callback skips it).
 * len, rlen: its path's and its resolved path's lengths. */
static void visit_dir(walker *w, int dfd, const char *name, rsl_entry *e, const struct stat *sb,
                      int is_link, size_t len, size_t rlen, int linked, const char *root)
{
    for (int i = 0; i < w->depth; i++) {
        if (w->dev[i] == sb->st_dev && w->ino[i] == sb->st_ino) {
            e->kind = RSL_ENT_SKIPPED;
            e->code = RSL_E_SYMLINK_OUTSIDE;
            e->detail = "link loops back to a parent directory";
            emit(w, e);
            return;
        }
    }
    int cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (is_link ? 0 : O_NOFOLLOW));
    e->kind = RSL_ENT_DIR;
    e->mtime_ns = mtime_ns_of(sb);
    char **names = NULL;
    size_t n = 0;
    int deep = cfd >= 0 && w->depth >= MAX_DEPTH;
    if (cfd < 0 || deep || read_names(cfd, &names, &n) != 0) {
        e->unreadable = 1;
        e->code = deep ? RSL_E_DEPTH_LIMIT : RSL_E_LOCAL_UNREADABLE;
        e->detail = deep ? "the tree is deeper than 256 levels" : strerror(errno);
        if (cfd >= 0)
            close(cfd);
        emit(w, e);
        return;
    }
    if (emit(w, e) == 0) {
        w->dev[w->depth] = sb->st_dev;
        w->ino[w->depth] = sb->st_ino;
        w->depth++;
        for (size_t i = 0; i < n && !w->stopped; i++)
            visit(w, cfd, names[i], len, rlen, linked, root);
        w->depth--;
    }
    free_names(names, n);
    close(cfd);
}

/* What is not a directory: a file, an excluded entry, a special file. */
static void visit_other(walker *w, rsl_entry *e, const struct stat *sb)
{
    if (S_ISREG(sb->st_mode)) {
        e->kind = RSL_ENT_FILE;
        e->size = (uint64_t)sb->st_size;
        e->mtime_ns = mtime_ns_of(sb);
    } else {
        e->kind = RSL_ENT_SKIPPED;
        e->code = RSL_E_SPECIAL_SKIPPED;
        e->detail = S_ISFIFO(sb->st_mode) ? "FIFO" : S_ISSOCK(sb->st_mode) ? "socket" : "device";
    }
    emit(w, e);
}

static void visit(walker *w, int dfd, const char *name, size_t plen, size_t rplen, int linked,
                  const char *root)
{
    size_t nl = strlen(name);
    if (plen + nl + 2 >= sizeof(w->path)) {
        rsl_entry e = {.path = name,
                       .path_len = nl,
                       .name = name,
                       .kind = RSL_ENT_ERROR,
                       .code = RSL_E_PATH_TOO_LONG,
                       .detail = "local path too long to handle"};
        emit(w, &e);
        return;
    }
    size_t off = plen ? plen + 1 : 0;
    if (plen)
        w->path[plen] = '/';
    memcpy(w->path + off, name, nl + 1);
    rsl_entry e = {.path = w->path, .path_len = off + nl, .name = w->path + off};
    struct stat sb;
    char real[PATH_MAX];
    char *saved = NULL; /* the parent's resolved path, while a link's replaces it */
    long rlen = -1;
    int is_link = 0;
    if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        e.kind = RSL_ENT_ERROR;
        e.code = errno == ENOENT ? RSL_E_LOCAL_VANISHED : RSL_E_LOCAL_UNREADABLE;
        e.detail = strerror(errno);
        emit(w, &e);
        goto out;
    }
    if ((is_link = S_ISLNK(sb.st_mode)) != 0 && visit_link(w, &e, &sb, root, real) != 0)
        goto out;
    if (is_link && (saved = strndup(w->rpath, rplen)) == NULL) {
        w->stopped = 1;
        goto out;
    }
    linked = linked || is_link;
    if (linked && (rlen = set_rpath(w, rplen, name, is_link ? real : NULL)) < 0) {
        e.kind = RSL_ENT_ERROR;
        e.code = RSL_E_PATH_TOO_LONG;
        e.detail = "resolved local path too long to handle";
        emit(w, &e);
        goto out;
    }
    e.resolved = linked ? w->rpath : NULL;
    e.dev = (uint64_t)sb.st_dev;
    e.ino = (uint64_t)sb.st_ino;
    e.mode = (uint32_t)(sb.st_mode & 07777);
    int is_dir = S_ISDIR(sb.st_mode);
    if (w->o->n_excludes &&
        rsl_scan_excluded(w->o->excludes, w->o->n_excludes, w->path, e.name, is_dir)) {
        e.kind = RSL_ENT_EXCLUDED;
        emit(w, &e);
    } else if (is_dir) {
        visit_dir(w, dfd, name, &e, &sb, is_link, off + nl, linked ? (size_t)rlen : 0, linked,
                  root);
    } else {
        visit_other(w, &e, &sb);
    }
out:
    if (saved) { /* the siblings' resolved paths start with the parent's again */
        memcpy(w->rpath, saved, rplen);
        free(saved);
    }
    w->path[plen] = '\0';
    if (linked)
        w->rpath[rplen] = '\0';
}

rsl_code rsl_scan(const char *root, const rsl_scan_opts *o, rsl_scan_cb cb, void *ud, rsl_err *err)
{
    walker *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    w->o = o;
    w->cb = cb;
    w->ud = ud;
    rsl_code rc = RSL_OK;
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || realpath(root, w->root_real) == NULL) {
        rc = rsl_err_set(err, RSL_E_SOURCE_MISSING, errno,
                         "source '%s' is not a readable directory: %s", root, strerror(errno));
        goto done;
    }
    w->root_real_len = strlen(w->root_real);
    if (w->root_real_len == 1) /* "/" */
        w->root_real_len = 0;
    w->dev[0] = sb.st_dev;
    w->ino[0] = sb.st_ino;
    w->depth = 1;
    char **names = NULL;
    size_t n = 0;
    if (read_names(fd, &names, &n) != 0) {
        rc = rsl_err_set(err, RSL_E_SOURCE_MISSING, errno, "source '%s' cannot be listed: %s", root,
                         strerror(errno));
        goto done;
    }
    for (size_t i = 0; i < n && !w->stopped; i++)
        visit(w, fd, names[i], 0, 0, 0, root);
    free_names(names, n);
    if (w->stopped)
        rc = rsl_err_set(err, RSL_E_INTERRUPTED, 0, "scan stopped");
done:
    if (fd >= 0)
        close(fd);
    free(w);
    return rc;
}
