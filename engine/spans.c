/*
 * spans.c - byte ranges of one file. See spans.h.
 */
#include "spans.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rsl_spans_init(rsl_spans *s)
{
    memset(s, 0, sizeof(*s));
}

void rsl_spans_free(rsl_spans *s)
{
    free(s->v);
    rsl_spans_init(s);
}

static int grow(rsl_spans *s, size_t need)
{
    if (need <= s->cap)
        return 0;
    size_t cap = s->cap ? s->cap * 2 : 8;
    while (cap < need)
        cap *= 2;
    rsl_span *v = realloc(s->v, cap * sizeof(*v));
    if (v == NULL)
        return -1;
    s->v = v;
    s->cap = cap;
    return 0;
}

/* One decimal number at *p (no sign, no leading '+'); advances *p. */
static int number(const char **p, uint64_t *out)
{
    const char *q = *p;
    uint64_t v = 0;
    if (*q < '0' || *q > '9')
        return -1;
    for (; *q >= '0' && *q <= '9'; q++) {
        unsigned d = (unsigned)(*q - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *p = q;
    *out = v;
    return 0;
}

int rsl_spans_parse(rsl_spans *s, const char *text, uint64_t size)
{
    s->n = 0;
    const char *p = text;
    uint64_t last = 0;
    while (p != NULL && *p != '\0') {
        uint64_t a, b;
        if (number(&p, &a) != 0 || *p++ != '-' || number(&p, &b) != 0 || a >= b || b > size ||
            (s->n > 0 && a < last) || (*p != ',' && *p != '\0'))
            goto bad;
        if (*p == ',' && *++p == '\0')
            goto bad;
        if (rsl_spans_add(s, a, b) != 0)
            goto bad;
        last = b;
    }
    return 0;
bad:
    s->n = 0;
    return -1;
}

int rsl_spans_add(rsl_spans *s, uint64_t off, uint64_t end)
{
    if (off >= end)
        return 0;
    /* the first range that ends at or after off */
    size_t i = 0;
    while (i < s->n && s->v[i].end < off)
        i++;
    /* merge every range that touches [off, end) */
    size_t j = i;
    while (j < s->n && s->v[j].off <= end) {
        if (s->v[j].off < off)
            off = s->v[j].off;
        if (s->v[j].end > end)
            end = s->v[j].end;
        j++;
    }
    if (j == i) { /* nothing merged: insert at i */
        if (grow(s, s->n + 1) != 0)
            return -1;
        memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(*s->v));
        s->n++;
    } else if (j > i + 1) { /* ranges i..j-1 become one */
        memmove(&s->v[i + 1], &s->v[j], (s->n - j) * sizeof(*s->v));
        s->n -= j - i - 1;
    }
    s->v[i] = (rsl_span){off, end};
    return 0;
}

int rsl_spans_remove(rsl_spans *s, uint64_t off, uint64_t end)
{
    for (size_t i = 0; i < s->n && off < end; i++) {
        rsl_span *x = &s->v[i];
        if (x->end <= off || x->off >= end)
            continue;
        if (x->off < off && x->end > end) { /* split in two */
            if (grow(s, s->n + 1) != 0)
                return -1;
            x = &s->v[i];
            memmove(&s->v[i + 2], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
            s->v[i + 1] = (rsl_span){end, x->end};
            x->end = off;
            s->n++;
            return 0;
        }
        if (x->off < off) {
            x->end = off;
        } else if (x->end > end) {
            x->off = end;
        } else { /* wholly inside: drop it */
            memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
            s->n--;
            i--;
        }
    }
    return 0;
}

int rsl_spans_covers(const rsl_spans *s, uint64_t off, uint64_t end)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].off <= off && s->v[i].end >= end)
            return 1;
    return off >= end;
}

uint64_t rsl_spans_bytes(const rsl_spans *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += s->v[i].end - s->v[i].off;
    return n;
}

char *rsl_spans_format(const rsl_spans *s)
{
    size_t cap = s->n * 42 + 1; /* two 20-digit numbers, '-' and ',' per range */
    char *buf = malloc(cap);
    if (buf == NULL)
        return NULL;
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < s->n; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%" PRIu64 "-%" PRIu64, i ? "," : "",
                               s->v[i].off, s->v[i].end);
    return buf;
}

uint64_t rsl_spans_piece(uint64_t size, int conns)
{
    uint64_t n = (uint64_t)(conns > 0 ? conns : 1) * RSL_SPAN_PIECES_PER_CONN;
    uint64_t piece = size / n + (size % n != 0);
    piece = (piece + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);
    if (piece < RSL_SPAN_PIECE_MIN)
        piece = RSL_SPAN_PIECE_MIN;
    if (piece > RSL_SPAN_PIECE_MAX)
        piece = RSL_SPAN_PIECE_MAX;
    return piece;
}
