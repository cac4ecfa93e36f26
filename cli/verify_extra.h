/*
 * verify_extra.h - `verify --repair --delete-extra`: removes from the
 * remote what the manifest does not know (extra files and directories, and
 * leftover temp files), so that an operator can converge a remote that was
 * written to by hand; and the advice plain verify and --repair give about
 * extras.
 *
 * Files go first, then directories, deepest first. Nothing is removed when
 * the count exceeds max_delete (the job's, or --max-delete N), or when the
 * manifest is empty (a lost or replaced state db would make everything
 * "extra"). Paths come from the listing, relative to the remote root, and
 * were checked by the walk (no "..", "." or empty component), so a removal
 * never reaches outside the remote root.
 *
 * Owns: the guard and the removals. Must not touch: the manifest, anything
 * the listing did not mark as extra or temp.
 */
#ifndef RSL_CLI_VERIFY_EXTRA_H
#define RSL_CLI_VERIFY_EXTRA_H

#include "base/catalog.h"
#include "cli/verify_list.h"
#include "transports/transport.h"

typedef struct rsl_verify_extra {
    const rsl_transport_ops *ops;
    rsl_conn *conn;
    rsl_vui *u;
    const rsl_vlist *man;    /* the manifest */
    const rsl_vlist *remote; /* the listing, extras marked, sorted by path */
    const rsl_vlist *temps;  /* leftover temps, sorted by path */
    long limit;              /* max_delete */
    int limit_is_flag;       /* 1: from --max-delete */
    const char *conf;        /* the job file, for the fix */
    char fix[400];           /* the fix of a refusal */
} rsl_verify_extra;

/* How many items the removal would take: extra files and directories, and
 * leftover temps. */
size_t rsl_verify_extra_count(const rsl_verify_extra *x);
/* RSL_OK when the removal may go ahead; RSL_E_MAX_DELETE with err (what and
 * how many) and x->fix (what to do) when it must not. */
rsl_code rsl_verify_extra_guard(rsl_verify_extra *x, rsl_err *err);
/* Removes the extra files and temps, then the extra directories deepest
 * first, reporting each ("removed", or "remove_failed" with the error).
 * Returns RSL_OK (per-item failures are reported and counted in
 * u->remove_failed) or a session code when the connection failed. */
rsl_code rsl_verify_extra_remove(rsl_verify_extra *x, rsl_err *err);
/* Text mode: what became of the extras (listed, left by --repair, removed). */
void rsl_verify_extra_advice(const rsl_vui *u, int repair, int delete_extra, const char *conf);

#endif
