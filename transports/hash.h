/*
 * hash.h - the one string hash of the transports (64-bit FNV-1a), for hash
 * tables such as the created-directory cache. Not for anything an attacker
 * could use to flood a table: the keys it sees are our own paths.
 *
 * Owns: nothing. Must not touch: anything (a pure function).
 */
#ifndef RSL_TRANSPORT_HASH_H
#define RSL_TRANSPORT_HASH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a of the bytes of s up to its NUL. */
uint64_t rsl_hash_str(const char *s);
/* FNV-1a of n bytes, continuing from h (start with RSL_HASH_INIT). */
uint64_t rsl_hash_bytes(uint64_t h, const void *p, size_t n);

#define RSL_HASH_INIT 14695981039346656037ull

#endif
