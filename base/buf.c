/*
 * buf.c - see buf.h.
 */
#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rsl_buf_reset(rsl_buf *b, size_t limit)
{
    b->n = 0;
    b->limit = limit;
    b->truncated = 0;
    if (b->p)
        b->p[0] = '\0';
}

int rsl_buf_append(rsl_buf *b, const void *data, size_t n)
{
    size_t room = b->limit > b->n ? b->limit - b->n : 0;
    size_t take = n < room ? n : room;
    if (b->n + take + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + take + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL)
            return RSL_BUF_NOMEM;
        b->p = p;
        b->cap = cap;
    }
    if (take)
        memcpy(b->p + b->n, data, take);
    b->n += take;
    b->p[b->n] = '\0';
    if (take < n) {
        b->truncated = 1;
        return RSL_BUF_TRUNCATED;
    }
    return RSL_BUF_OK;
}

void rsl_buf_free(rsl_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

char *rsl_read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    rsl_buf b = {.limit = max};
    char chunk[8192];
    size_t r;
    int oom = 0, big = 0;
    while (!oom && !big && (r = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        int a = rsl_buf_append(&b, chunk, r);
        oom = a == RSL_BUF_NOMEM;
        big = a == RSL_BUF_TRUNCATED;
    }
    /* one byte past max tells "larger than max" from "exactly max" */
    if (!oom && !big && b.n == max && fgetc(f) != EOF)
        big = 1;
    int rerr = ferror(f);
    fclose(f);
    if (oom || rerr || big) {
        rsl_buf_free(&b);
        errno = oom ? ENOMEM : rerr ? EIO : EFBIG;
        return NULL;
    }
    if (b.p == NULL && rsl_buf_append(&b, "", 0) != RSL_BUF_OK) {
        errno = ENOMEM;
        return NULL;
    }
    if (len)
        *len = b.n;
    return b.p;
}
