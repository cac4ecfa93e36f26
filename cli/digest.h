/*
 * digest.h - content digests by algorithm name, for `verify --checksum`
 * (comparing with a server's digest or with bytes read back) and `check`
 * (the server checksum and read-back probes): sha256, sha512, sha1, md5
 * (OpenSSL) and adler32 (zlib), the algorithms a transport's hash() names
 * in rsl_rhash.alg.
 *
 * Owns: the hashing state and the lower-case hex form. Must not touch:
 * files, the network, the state db (callers feed the bytes).
 */
#ifndef RSL_CLI_DIGEST_H
#define RSL_CLI_DIGEST_H

#include <stddef.h>

/* Room for the hex of the longest digest (sha512) and its NUL. */
#define RSL_DIGEST_HEX 129

typedef struct rsl_digest rsl_digest;

/* 1 when alg (lower case, as in rsl_rhash.alg) is one this module computes. */
int rsl_digest_known(const char *alg);
/* A new digest of algorithm alg, or NULL (unknown algorithm, out of memory). */
rsl_digest *rsl_digest_new(const char *alg);
/* Feeds n bytes. Returns 0, or -1 when the library failed. */
int rsl_digest_update(rsl_digest *d, const void *buf, size_t n);
/* Ends the digest and writes it as lower-case hex into hex (n >=
 * RSL_DIGEST_HEX). Returns 0 or -1. The digest cannot be fed afterwards. */
int rsl_digest_final(rsl_digest *d, char *hex, size_t n);
/* NULL-safe. */
void rsl_digest_free(rsl_digest *d);

/* The lower-case hex of bin[0..len) into hex (n >= 2*len+1). */
void rsl_digest_hex(const unsigned char *bin, size_t len, char *hex, size_t n);
/* The digest of buf[0..len) in one call; 0 or -1. */
int rsl_digest_buf(const char *alg, const void *buf, size_t len, char *hex, size_t n);

#endif
