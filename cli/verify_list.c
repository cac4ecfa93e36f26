/*
 * verify_list.c - verify's entry lists and entry output. See verify_list.h.
 */
#include "cli/verify_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/json.h"
#include "cli/output.h"

rsl_ventry *rsl_vlist_add(rsl_vlist *l, const char *path, int is_dir, uint64_t size, int64_t mtime)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 256;
        rsl_ventry *nv = realloc(l->v, nc * sizeof(*nv));
        if (nv == NULL)
            return NULL;
        l->v = nv;
        l->cap = nc;
    }
    rsl_ventry *e = &l->v[l->n];
    memset(e, 0, sizeof(*e));
    if ((e->path = strdup(path)) == NULL)
        return NULL;
    e->is_dir = is_dir;
    e->size = size;
    e->mtime = mtime;
    e->mtime_ns = -1;
    l->n++;
    return e;
}

void rsl_vlist_free(rsl_vlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].path);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* One side of an entry (prefix "manifest" or "remote"): type, size, mtime;
 * all null when the side has no such item. */
static void side_json(rsl_json *j, const char *prefix, const rsl_ventry *e)
{
    char k[40];
    snprintf(k, sizeof(k), "%s_type", prefix);
    rsl_json_str(j, k, e ? (e->is_dir ? "dir" : "file") : NULL);
    snprintf(k, sizeof(k), "%s_size", prefix);
    if (e)
        rsl_json_int(j, k, (long long)e->size);
    else
        rsl_json_null(j, k);
    snprintf(k, sizeof(k), "%s_mtime", prefix);
    if (e && e->mtime >= 0) {
        char t[40];
        rsl_json_format_time(t, sizeof(t), e->mtime * 1000);
        rsl_json_str(j, k, t);
    } else {
        rsl_json_null(j, k);
    }
}

/* The content members: how it was compared, the algorithm, both digests
 * (null when not compared or unknown). */
static void content_json(rsl_json *j, const rsl_vc_result *c)
{
    static const char *const how[] = {NULL, "server_checksum", "read_back"};
    rsl_json_str(j, "compared_by", c ? how[c->method] : NULL);
    rsl_json_str(j, "digest_alg", c && c->alg[0] ? c->alg : NULL);
    rsl_json_str(j, "expected_digest", c && c->expected[0] ? c->expected : NULL);
    rsl_json_str(j, "remote_digest", c && c->remote[0] ? c->remote : NULL);
}

void rsl_verify_report(rsl_vui *u, const char *kind, const char *path, const rsl_ventry *m,
                       const rsl_ventry *r, const rsl_vc_result *c, const char *note)
{
    if (u->json) {
        rsl_json j;
        rsl_json_begin(&j, stdout, "verify_entry");
        rsl_json_str(&j, "kind", kind);
        rsl_json_name(&j, "path", path);
        side_json(&j, "manifest", m);
        side_json(&j, "remote", r);
        content_json(&j, c);
        rsl_json_str(&j, "detail", note && *note ? note : NULL);
        rsl_json_end(&j);
        return;
    }
    if (note)
        rsl_out_line(stdout, "%-8s %s  (%s)", kind, path, note);
    else
        rsl_out_line(stdout, "%-8s %s", kind, path);
}
