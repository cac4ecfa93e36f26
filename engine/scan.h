/*
 * scan.h - a streaming walk of the local source tree.
 *
 * Entries come depth-first, each directory's children sorted by strcmp, a
 * directory before its contents: exactly the order of the state db's sort
 * keys, so the plan can merge-join the walk with the manifest. Memory is
 * bounded by the depth times the widest directory, not by the tree's size.
 *
 * Owns: directory fds and name lists while walking; exclude matching.
 * Must not touch: the state db, the network.
 */
#ifndef RSL_SCAN_H
#define RSL_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "base/catalog.h"

typedef enum rsl_ent_kind {
    RSL_ENT_FILE,
    RSL_ENT_DIR,
    RSL_ENT_SKIPPED,  /* symlink not followed, special file: see code */
    RSL_ENT_EXCLUDED, /* matched an exclude pattern; not descended */
    RSL_ENT_ERROR     /* could not be stat'ed: see code */
} rsl_ent_kind;

typedef struct rsl_entry {
    const char *path; /* relative to the root, '/'-separated; valid during the callback */
    size_t path_len;
    const char *name; /* last component */
    rsl_ent_kind kind;
    uint64_t size;
    int64_t mtime_ns;
    int unreadable; /* RSL_ENT_DIR that could not be listed (contents unknown): code is
                       LOCAL_UNREADABLE, or DEPTH_LIMIT past 256 levels */
    int followed;   /* reached through a followed symlink */
    /* FILE/DIR reached through a followed symlink (itself or a directory
     * above it): its path beneath the root with every link resolved, which
     * is how the upload opens it (no symlink followed then). NULL when it is
     * `path` itself. Valid during the callback. */
    const char *resolved;
    uint64_t dev, ino; /* FILE/DIR: its identity (of the link's target when followed) */
    uint32_t mode;     /* FILE/DIR: its permission bits (st_mode & 07777) */
    rsl_code code;     /* for SKIPPED / ERROR / unreadable dirs */
    const char *detail;
} rsl_entry;

/* Returns 0 to go on, 1 (for a directory) to skip its contents, -1 to stop. */
typedef int (*rsl_scan_cb)(void *ud, const rsl_entry *e);

typedef struct rsl_scan_opts {
    char *const *excludes;
    size_t n_excludes;
    int follow_symlinks;
} rsl_scan_opts;

/* Walks root. Returns RSL_OK, RSL_E_SOURCE_MISSING when root is not a readable
 * directory, or RSL_E_INTERRUPTED when the callback returned -1. */
rsl_code rsl_scan(const char *root, const rsl_scan_opts *o, rsl_scan_cb cb, void *ud, rsl_err *err);

/* 1 when rel (is_dir: a directory) matches one of the exclude patterns:
 * "name*" matches the last component anywhere; a pattern with a '/' inside
 * matches the whole relative path (a leading '/' anchors it at the root);
 * a trailing '/' matches directories only. */
int rsl_scan_excluded(char *const *pats, size_t n, const char *rel, const char *name, int is_dir);

#endif
