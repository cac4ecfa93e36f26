/*
 * dircache.c - see dircache.h. Open addressing with linear probing; a
 * removal rebuilds the table so probe chains stay intact.
 */
#include "dircache.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"

static size_t find_slot(char **slot, size_t cap, const char *k)
{
    size_t i = (size_t)rsl_hash_str(k) & (cap - 1);
    while (slot[i] != NULL && strcmp(slot[i], k) != 0)
        i = (i + 1) & (cap - 1);
    return i;
}

int rsl_dircache_has(const rsl_dircache *d, const char *rel)
{
    return d->cap > 0 && d->slot[find_slot(d->slot, d->cap, rel)] != NULL;
}

/* Moves every entry into a table of ncap slots; -1 (nothing changed) on OOM. */
static int rehash(rsl_dircache *d, size_t ncap)
{
    char **ns = calloc(ncap, sizeof(*ns));
    if (ns == NULL)
        return -1;
    for (size_t i = 0; i < d->cap; i++)
        if (d->slot[i] != NULL)
            ns[find_slot(ns, ncap, d->slot[i])] = d->slot[i];
    free(d->slot);
    d->slot = ns;
    d->cap = ncap;
    return 0;
}

void rsl_dircache_add(rsl_dircache *d, const char *rel)
{
    if (rel[0] == '\0')
        return;
    if ((d->n + 1) * 2 > d->cap && rehash(d, d->cap ? d->cap * 2 : 64) != 0)
        return;
    size_t i = find_slot(d->slot, d->cap, rel);
    if (d->slot[i] == NULL && (d->slot[i] = strdup(rel)) != NULL)
        d->n++;
}

void rsl_dircache_forget(rsl_dircache *d, const char *rel)
{
    size_t kl = strlen(rel);
    size_t gone = 0;
    for (size_t i = 0; i < d->cap; i++) {
        const char *s = d->slot[i];
        if (s != NULL &&
            (kl == 0 || (strncmp(s, rel, kl) == 0 && (s[kl] == '\0' || s[kl] == '/')))) {
            free(d->slot[i]);
            d->slot[i] = NULL;
            gone++;
        }
    }
    if (gone == 0)
        return;
    d->n -= gone;
    if (rehash(d, d->cap) != 0) /* cannot rebuild: forget everything, still correct */
        rsl_dircache_clear(d);
}

void rsl_dircache_missing(rsl_dircache *d, const char *rel)
{
    const char *slash = strrchr(rel, '/');
    if (slash == NULL) { /* an item in the root: the root itself cannot go */
        return;
    }
    char *parent = strndup(rel, (size_t)(slash - rel));
    if (parent == NULL) {
        rsl_dircache_clear(d);
        return;
    }
    rsl_dircache_forget(d, parent);
    free(parent);
}

void rsl_dircache_clear(rsl_dircache *d)
{
    for (size_t i = 0; i < d->cap; i++)
        free(d->slot[i]);
    free(d->slot);
    memset(d, 0, sizeof(*d));
}
