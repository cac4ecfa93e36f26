/*
 * verify_extra.c - removing what the manifest does not know. See
 * verify_extra.h.
 */
#include "cli/verify_extra.h"

#include <stdio.h>
#include <string.h>

#include "cli/output.h"

size_t rsl_verify_extra_count(const rsl_verify_extra *x)
{
    size_t n = x->temps->n;
    for (size_t i = 0; i < x->remote->n; i++)
        n += x->remote->v[i].mark != 0;
    return n;
}

rsl_code rsl_verify_extra_guard(rsl_verify_extra *x, rsl_err *err)
{
    size_t n = rsl_verify_extra_count(x);
    x->fix[0] = '\0';
    if (n == 0)
        return RSL_OK;
    if (x->man->n == 0) {
        snprintf(x->fix, sizeof(x->fix),
                 "run `rsyncd-lite run %s` first: a state db that was lost or replaced knows "
                 "nothing, so everything looks extra; to empty the remote, remove its files by "
                 "hand",
                 x->conf);
        return rsl_err_set(err, RSL_E_MAX_DELETE, (long)n,
                           "the manifest is empty: --delete-extra would remove all %zu item(s) on "
                           "the remote; nothing was removed or repaired",
                           n);
    }
    if ((long)n <= x->limit)
        return RSL_OK;
    snprintf(x->fix, sizeof(x->fix),
             "check the extra items listed above; if they are all to go: rsyncd-lite verify %s "
             "--repair --delete-extra --max-delete %zu",
             x->conf, n);
    return rsl_err_set(err, RSL_E_MAX_DELETE, (long)n,
                       "--delete-extra would remove %zu remote item(s) (extra items and leftover "
                       "temps) but %s = %ld; nothing was removed or repaired",
                       n, x->limit_is_flag ? "--max-delete" : "max_delete", x->limit);
}

/* Removes one item and reports it. RSL_OK (a per-item failure is reported)
 * or a session code. */
static rsl_code remove_one(rsl_verify_extra *x, const rsl_ventry *e, const char *what, rsl_err *err)
{
    rsl_err e2 = {0};
    rsl_code rc = x->ops->remove(x->conn, e->path, e->is_dir, &e2);
    char note[700];
    if (rc == RSL_OK) {
        snprintf(note, sizeof(note), "removed: %s", what);
        rsl_verify_report(x->u, "removed", e->path, NULL, e, NULL, note);
        x->u->removed++;
        return RSL_OK;
    }
    snprintf(note, sizeof(note), "%s, not removed: %s (%s)", what, e2.msg, rsl_code_name(rc));
    rsl_verify_report(x->u, "remove_failed", e->path, NULL, e, NULL, note);
    x->u->remove_failed++;
    if (rsl_code_class(rc) == RSL_CLASS_SESSION) {
        *err = e2;
        return rc;
    }
    return RSL_OK;
}

rsl_code rsl_verify_extra_remove(rsl_verify_extra *x, rsl_err *err)
{
    rsl_code rc = RSL_OK;
    const rsl_vlist *r = x->remote;
    /* files first: a directory empties before it is removed */
    for (size_t i = 0; rc == RSL_OK && i < r->n; i++)
        if (r->v[i].mark && !r->v[i].is_dir)
            rc = remove_one(x, &r->v[i], "extra file (not in the manifest)", err);
    for (size_t i = 0; rc == RSL_OK && i < x->temps->n; i++)
        rc = remove_one(x, &x->temps->v[i], "leftover temp file", err);
    /* sorted by path, a directory comes before everything beneath it:
     * backwards, the deepest go first */
    for (size_t i = r->n; rc == RSL_OK && i-- > 0;)
        if (r->v[i].mark && r->v[i].is_dir)
            rc = remove_one(x, &r->v[i], "extra directory (not in the manifest)", err);
    return rc;
}

void rsl_verify_extra_advice(const rsl_vui *u, int repair, int delete_extra, const char *conf)
{
    if (u->json)
        return;
    if (delete_extra) {
        if (u->removed + u->remove_failed > 0)
            printf("delete-extra: %lld item(s) removed from the remote, %lld could not be\n",
                   u->removed, u->remove_failed);
        return;
    }
    if (u->extra == 0)
        return;
    if (repair)
        rsl_out_line(stdout,
                     "repair: %lld extra item(s) left on the remote; rsyncd-lite verify %s "
                     "--repair --delete-extra removes them",
                     u->extra, conf);
    else
        rsl_out_line(stdout,
                     "extra: %lld item(s) on the remote that the manifest does not know; a plain "
                     "--repair leaves them; --repair --delete-extra removes them",
                     u->extra);
}
