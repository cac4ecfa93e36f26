/*
 * beneath.c - see beneath.h.
 */
#define _GNU_SOURCE
#include "beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* 1 while openat2 is worth trying: cleared once the kernel (or a seccomp
 * filter) says it is not there. */
static int have_openat2 = 1;

void rsl_beneath_force_walk(int on)
{
    __atomic_store_n(&have_openat2, on ? 0 : 1, __ATOMIC_RELAXED);
}

int rsl_beneath_valid(const char *rel)
{
    if (rel == NULL || rel[0] == '/')
        return 0;
    if (rel[0] == '\0')
        return 1;
    for (const char *p = rel;;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        if (e == NULL)
            return 1;
        p = e + 1;
    }
}

#ifdef SYS_openat2
/* -1 with errno ENOSYS when openat2 cannot be used here. */
static int try_openat2(int dirfd, const char *rel, int flags, mode_t mode)
{
    if (!__atomic_load_n(&have_openat2, __ATOMIC_RELAXED)) {
        errno = ENOSYS;
        return -1;
    }
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd = syscall(SYS_openat2, dirfd, rel[0] ? rel : ".", &how, sizeof(how));
    if (fd < 0 && (errno == ENOSYS || errno == EPERM)) {
        /* not in this kernel, or filtered: EPERM from a seccomp filter that
         * does not know the call; a real EPERM from the file system comes
         * back from the fallback too */
        __atomic_store_n(&have_openat2, 0, __ATOMIC_RELAXED);
        errno = ENOSYS;
    }
    return (int)fd;
}
#else
static int try_openat2(int dirfd, const char *rel, int flags, mode_t mode)
{
    (void)dirfd, (void)rel, (void)flags, (void)mode;
    errno = ENOSYS;
    return -1;
}
#endif

/* Walks the directories of rel[0, len) one component at a time from dirfd,
 * refusing symlinks; returns an O_PATH fd of the last one (a dup of dirfd
 * when len is 0). */
static int walk_dirs(int dirfd, const char *rel, size_t len)
{
    int cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    char comp[256];
    for (size_t i = 0; cur >= 0 && i < len;) {
        const char *e = memchr(rel + i, '/', len - i);
        size_t n = e ? (size_t)(e - (rel + i)) : len - i;
        if (n >= sizeof(comp)) {
            close(cur);
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(comp, rel + i, n);
        comp[n] = '\0';
        int next = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int saved = errno;
        struct stat sb;
        /* a symlink as a directory component: O_DIRECTORY says ENOTDIR; say
         * ELOOP, as openat2 does */
        if (next < 0 && saved == ENOTDIR && fstatat(cur, comp, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(sb.st_mode))
            saved = ELOOP;
        close(cur);
        errno = saved;
        cur = next;
        i += n + 1;
    }
    return cur;
}

int rsl_beneath_open(int dirfd, const char *rel, int flags, mode_t mode)
{
    if (!rsl_beneath_valid(rel)) {
        errno = EXDEV;
        return -1;
    }
    int fd = try_openat2(dirfd, rel, flags, mode);
    if (fd >= 0 || errno != ENOSYS)
        return fd;
    if (rel[0] == '\0')
        return openat(dirfd, ".", flags | O_CLOEXEC, mode);
    const char *leaf;
    int parent = rsl_beneath_parent(dirfd, rel, &leaf);
    if (parent < 0)
        return -1;
    fd = openat(parent, leaf, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    int saved = errno;
    close(parent);
    errno = saved;
    return fd;
}

int rsl_beneath_parent(int dirfd, const char *rel, const char **leaf)
{
    if (!rsl_beneath_valid(rel) || rel[0] == '\0') {
        errno = EXDEV;
        return -1;
    }
    const char *slash = strrchr(rel, '/');
    *leaf = slash ? slash + 1 : rel;
    if (slash == NULL)
        return fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    size_t n = (size_t)(slash - rel);
    char *dir = strndup(rel, n);
    if (dir == NULL)
        return -1;
    int fd = try_openat2(dirfd, dir, O_PATH | O_DIRECTORY, 0);
    free(dir);
    if (fd >= 0 || errno != ENOSYS)
        return fd;
    return walk_dirs(dirfd, rel, n);
}
