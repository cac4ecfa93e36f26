/*
 * pathset.c - a set of relative paths. See pathset.h.
 */
#include "pathset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char gone_mark;
#define GONE (&gone_mark)

static uint64_t hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

void rsl_pathset_init(rsl_pathset *s)
{
    memset(s, 0, sizeof(*s));
}

void rsl_pathset_free(rsl_pathset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        if (s->slot[i] && s->slot[i] != GONE)
            free(s->slot[i]);
    free(s->slot);
    memset(s, 0, sizeof(*s));
}

/* The slot holding the n-byte path p, or NULL. */
static char **find(const rsl_pathset *s, const char *p, size_t n)
{
    if (s->cap == 0)
        return NULL;
    for (size_t i = (size_t)hash(p, n) & (s->cap - 1), k = 0; k < s->cap;
         i = (i + 1) & (s->cap - 1), k++) {
        char *e = s->slot[i];
        if (e == NULL)
            return NULL;
        if (e != GONE && strncmp(e, p, n) == 0 && e[n] == '\0')
            return &s->slot[i];
    }
    return NULL;
}

static int grow(rsl_pathset *s)
{
    /* mostly tombstones (paths come and go): rehash at the same size */
    size_t cap = s->cap == 0 ? 64 : (s->n + 1) * 2 > s->cap ? s->cap * 2 : s->cap;
    char **old = s->slot;
    size_t ocap = s->cap;
    if ((s->slot = calloc(cap, sizeof(*s->slot))) == NULL) {
        s->slot = old;
        return -1;
    }
    s->cap = cap;
    s->used = s->n;
    for (size_t i = 0; i < ocap; i++) {
        char *e = old[i];
        if (e == NULL || e == GONE)
            continue;
        size_t j = (size_t)hash(e, strlen(e)) & (cap - 1);
        while (s->slot[j])
            j = (j + 1) & (cap - 1);
        s->slot[j] = e;
    }
    free(old);
    return 0;
}

int rsl_pathset_add(rsl_pathset *s, const char *path)
{
    size_t n = strlen(path);
    if (find(s, path, n))
        return 0;
    if ((s->used + 1) * 4 > s->cap * 3 && grow(s) != 0)
        return -1;
    char *copy = strdup(path);
    if (copy == NULL)
        return -1;
    size_t i = (size_t)hash(path, n) & (s->cap - 1);
    while (s->slot[i] && s->slot[i] != GONE)
        i = (i + 1) & (s->cap - 1);
    s->used += s->slot[i] == NULL;
    s->slot[i] = copy;
    s->n++;
    return 0;
}

int rsl_pathset_has(const rsl_pathset *s, const char *path)
{
    return s->n > 0 && find(s, path, strlen(path)) != NULL;
}

void rsl_pathset_del(rsl_pathset *s, const char *path)
{
    char **e = s->n > 0 ? find(s, path, strlen(path)) : NULL;
    if (e == NULL)
        return;
    free(*e);
    *e = GONE;
    s->n--;
}

int rsl_pathset_has_ancestor(const rsl_pathset *s, const char *path)
{
    if (s->n == 0)
        return 0;
    for (const char *p = strchr(path, '/'); p; p = strchr(p + 1, '/'))
        if (find(s, path, (size_t)(p - path)))
            return 1;
    return 0;
}

int rsl_pathset_has_parent(const rsl_pathset *s, const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && s->n > 0 && find(s, path, (size_t)(slash - path)) != NULL;
}

size_t rsl_pathset_list(const rsl_pathset *s, const char ***out)
{
    *out = NULL;
    if (s->n == 0 || (*out = malloc(s->n * sizeof(**out))) == NULL)
        return 0;
    size_t k = 0;
    for (size_t i = 0; i < s->cap && k < s->n; i++)
        if (s->slot[i] && s->slot[i] != GONE)
            (*out)[k++] = s->slot[i];
    return k;
}
