/*
 * digest.c - content digests by algorithm name. See digest.h.
 */
#include "cli/digest.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct rsl_digest {
    EVP_MD_CTX *md; /* NULL for adler32 */
    uLong adler;
    int done;
};

static const char *const evp_names[] = {"sha256", "sha512", "sha1", "md5"};

static int is_evp(const char *alg)
{
    for (size_t i = 0; i < sizeof(evp_names) / sizeof(evp_names[0]); i++)
        if (strcmp(alg, evp_names[i]) == 0)
            return 1;
    return 0;
}

int rsl_digest_known(const char *alg)
{
    return alg != NULL && (is_evp(alg) || strcmp(alg, "adler32") == 0);
}

rsl_digest *rsl_digest_new(const char *alg)
{
    if (!rsl_digest_known(alg))
        return NULL;
    rsl_digest *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    if (!is_evp(alg)) {
        d->adler = adler32(0L, Z_NULL, 0);
        return d;
    }
    const EVP_MD *md = EVP_get_digestbyname(alg);
    if (md == NULL || (d->md = EVP_MD_CTX_new()) == NULL ||
        EVP_DigestInit_ex(d->md, md, NULL) != 1) {
        rsl_digest_free(d);
        return NULL;
    }
    return d;
}

int rsl_digest_update(rsl_digest *d, const void *buf, size_t n)
{
    if (d->done)
        return -1;
    if (d->md != NULL)
        return EVP_DigestUpdate(d->md, buf, n) == 1 ? 0 : -1;
    const unsigned char *p = buf;
    while (n > 0) { /* zlib takes uInt lengths */
        uInt k = n > 0x40000000u ? 0x40000000u : (uInt)n;
        d->adler = adler32(d->adler, p, k);
        p += k;
        n -= k;
    }
    return 0;
}

int rsl_digest_final(rsl_digest *d, char *hex, size_t n)
{
    if (d->done || n < RSL_DIGEST_HEX)
        return -1;
    d->done = 1;
    if (d->md == NULL) {
        snprintf(hex, n, "%08lx", (unsigned long)(d->adler & 0xffffffffUL));
        return 0;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (EVP_DigestFinal_ex(d->md, md, &len) != 1)
        return -1;
    rsl_digest_hex(md, len, hex, n);
    return 0;
}

void rsl_digest_free(rsl_digest *d)
{
    if (d == NULL)
        return;
    EVP_MD_CTX_free(d->md);
    free(d);
}

void rsl_digest_hex(const unsigned char *bin, size_t len, char *hex, size_t n)
{
    static const char x[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < len && o + 2 < n; i++) {
        hex[o++] = x[bin[i] >> 4];
        hex[o++] = x[bin[i] & 15];
    }
    if (n > 0)
        hex[o] = '\0';
}

int rsl_digest_buf(const char *alg, const void *buf, size_t len, char *hex, size_t n)
{
    rsl_digest *d = rsl_digest_new(alg);
    int r = d == NULL || rsl_digest_update(d, buf, len) != 0 || rsl_digest_final(d, hex, n) != 0;
    rsl_digest_free(d);
    return r ? -1 : 0;
}
