/*
 * pathset.h - a set of relative paths (open addressing, FNV-1a), for the
 * dispatcher's small sets: directories of this run not yet created, items
 * that failed (their contents are not attempted), the old paths of moves,
 * the directories whose mtime is set at the end.
 *
 * Owns: its copies of the paths. Must not touch: anything else. Main thread.
 */
#ifndef RSL_PATHSET_H
#define RSL_PATHSET_H

#include <stddef.h>

typedef struct rsl_pathset {
    char **slot; /* NULL: empty; RSL_PATHSET_GONE: deleted */
    size_t cap, n, used;
} rsl_pathset;

void rsl_pathset_init(rsl_pathset *s);
void rsl_pathset_free(rsl_pathset *s);
/* Adds a copy of path. 0, or -1 when out of memory. */
int rsl_pathset_add(rsl_pathset *s, const char *path);
/* 1 when path is in the set. */
int rsl_pathset_has(const rsl_pathset *s, const char *path);
void rsl_pathset_del(rsl_pathset *s, const char *path);
/* 1 when a proper ancestor of path ("a" and "a/b" for "a/b/c") is in the set. */
int rsl_pathset_has_ancestor(const rsl_pathset *s, const char *path);
/* 1 when the parent directory of path is in the set ("" for a top-level path is never). */
int rsl_pathset_has_parent(const rsl_pathset *s, const char *path);
/* The paths in the set, in no order: a malloc'd array (caller frees it,
 * not the strings, which stay the set's and valid until it changes) into
 * *out; returns how many (0 with *out NULL when none or out of memory). */
size_t rsl_pathset_list(const rsl_pathset *s, const char ***out);

#endif
