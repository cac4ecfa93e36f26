/*
 * verify_list.h - what `verify` compares and how it reports it: the entry
 * lists (manifest, remote listing, leftover temps), the counters, and the one
 * function that prints an entry as a text line or a "verify_entry" JSON
 * record (docs/json.md). Shared by cli/cmd_verify.c and cli/verify_extra.c.
 *
 * Owns: the entries' memory and the entry output. Must not touch: the
 * remote, the state db.
 */
#ifndef RSL_CLI_VERIFY_LIST_H
#define RSL_CLI_VERIFY_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "cli/verify_content.h"
#include "state/state.h"

typedef struct rsl_ventry {
    char *path;
    int is_dir;
    uint64_t size;
    int64_t mtime;    /* seconds; -1 unknown */
    int64_t mtime_ns; /* manifest: the local mtime the row came from */
    int pending;      /* manifest: a change was started, its result not recorded */
    int has_digest;   /* manifest: digest holds the SHA-256 of what was sent */
    int is_link;      /* manifest: a symbolic link made as a link (no content, mtime not set) */
    unsigned char digest[RSL_DIGEST_LEN];
    int mark; /* manifest: --repair forgets it; remote: an extra item */
} rsl_ventry;

typedef struct rsl_vlist {
    rsl_ventry *v;
    size_t n, cap;
} rsl_vlist;

/* Appends an entry (other members zero); NULL when out of memory. The
 * pointer is valid until the next add. */
rsl_ventry *rsl_vlist_add(rsl_vlist *l, const char *path, int is_dir, uint64_t size, int64_t mtime);
void rsl_vlist_free(rsl_vlist *l);

/* The counters of one verify, and how it prints. */
typedef struct rsl_vui {
    int json;
    long long missing, extra, different, temps, pending;
    /* --checksum */
    long long content_same, content_different, unchecked;
    long long by_server, by_read_back; /* compared (same or different), per method */
    long long why[RSL_VC_NWHY];        /* unchecked, per reason */
    /* --delete-extra */
    long long removed, remove_failed;
} rsl_vui;

/* One entry: kind ("missing", "extra", "content", "removed"...), its path,
 * the manifest's and the remote's side (either may be NULL), the content
 * comparison (NULL: none) and the detail in words (may be NULL). */
void rsl_verify_report(rsl_vui *u, const char *kind, const char *path, const rsl_ventry *m,
                       const rsl_ventry *r, const rsl_vc_result *c, const char *note);

#endif
