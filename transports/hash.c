/*
 * hash.c - see hash.h.
 */
#include "hash.h"

#define FNV_PRIME 1099511628211ull

uint64_t rsl_hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * FNV_PRIME;
    return h;
}

uint64_t rsl_hash_str(const char *s)
{
    uint64_t h = RSL_HASH_INIT;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * FNV_PRIME;
    return h;
}
