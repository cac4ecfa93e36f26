/*
 * resume_sample.c - which blocks of a kept prefix are checked. See
 * resume_sample.h.
 */
#include "resume_sample.h"

#include <string.h>

size_t rsl_resume_blocks(uint64_t have, size_t n, rsl_resume_block *out)
{
    const uint64_t b = RSL_RESUME_BLOCK;
    if (n < 2)
        n = 2;
    if (have <= (uint64_t)n * b) { /* small: all of it */
        size_t k = 0;
        for (uint64_t off = 0; off < have && k < n; off += b, k++)
            out[k] =
                (rsl_resume_block){.off = off, .len = (size_t)(have - off < b ? have - off : b)};
        return k;
    }
    for (size_t i = 0; i < n; i++) /* the first at 0, the last ending at the end */
        out[i] = (rsl_resume_block){.off = (have - b) * i / (n - 1), .len = (size_t)b};
    return n;
}

int rsl_resume_compare(rsl_source *src, const rsl_resume_block *b, const void *got, size_t len,
                       unsigned char *scratch, rsl_err *err)
{
    if (len != b->len)
        return 0;
    size_t have = 0;
    while (have < b->len) {
        ssize_t k = src->pread(src, scratch + have, b->len - have, b->off + have, err);
        if (k < 0)
            return -1;
        if (k == 0)
            return 0; /* the local file is shorter than the temp */
        have += (size_t)k;
    }
    return memcmp(scratch, got, b->len) == 0;
}

uint64_t rsl_resume_kept(const rsl_resume_block *blocks, size_t i)
{
    return i == 0 ? 0 : blocks[i - 1].off + blocks[i - 1].len;
}
