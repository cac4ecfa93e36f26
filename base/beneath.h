/*
 * beneath.h - opening a path strictly beneath a directory: no symbolic link
 * followed in any component, no "..", no absolute path. The one rule every
 * open of a source file and every file:// operation on the destination
 * follows, so that a directory swapped for a symlink between the scan and
 * the upload cannot make us read or write outside the roots.
 *
 * Owns: nothing beyond the descriptors it returns (the caller closes them).
 * Must not touch: anything but the file system calls it makes. Linux: uses
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) where the kernel has it,
 * else a component-by-component openat(O_NOFOLLOW | O_DIRECTORY) walk.
 */
#ifndef RSL_BENEATH_H
#define RSL_BENEATH_H

#include <sys/types.h>

/* Opens rel (relative, '/'-separated, no "." or ".." or empty component;
 * "" is dirfd's directory itself) beneath dirfd with open(2) flags and mode
 * (O_NOFOLLOW and O_CLOEXEC are always added). Returns the fd, or -1 with
 * errno: ELOOP or ENOTDIR when a component is a symbolic link (or not a
 * directory), EXDEV for a path that would leave dirfd, ENOENT, EACCES... */
int rsl_beneath_open(int dirfd, const char *rel, int flags, mode_t mode);

/* Opens the directory holding rel's last component, beneath dirfd and
 * without symlinks, as an O_PATH descriptor for the *at() calls; *leaf
 * points at the last component inside rel. For a one-component rel it is a
 * dup of dirfd. Returns the fd, or -1 with errno as above. */
int rsl_beneath_parent(int dirfd, const char *rel, const char **leaf);

/* 1 when rel is a valid relative path for the two calls above. */
int rsl_beneath_valid(const char *rel);

/* Tests only: 1 makes every call use the component walk, as on a kernel
 * without openat2; 0 tries openat2 again. */
void rsl_beneath_force_walk(int on);

#endif
