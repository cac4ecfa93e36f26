/*
 * https_read.c - read() and hash() of the https transport. See
 * https_read.h.
 */
#define _GNU_SOURCE
#include "https_read.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "https_ops.h"

static rsl_code oom(rsl_err *err)
{
    return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
}

/* ------------------------------------------------------------ digests */

static const struct {
    const char *name; /* canonical, as in rsl_rhash.alg */
    const char *alias[3];
    size_t bytes;
} algs[] = {
    /* strongest first */
    {"sha512", {"sha-512", "sha512", NULL}, 64}, {"sha256", {"sha-256", "sha256", NULL}, 32},
    {"sha1", {"sha-1", "sha1", "sha"}, 20},      {"md5", {"md5", NULL, NULL}, 16},
    {"adler32", {"adler32", "adler", NULL}, 4},
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

/* The index of algorithm name[0..n) (any case, any alias), or -1. */
static int alg_of(const char *name, size_t n)
{
    for (size_t i = 0; i < NALGS; i++)
        for (size_t k = 0; k < 3 && algs[i].alias[k]; k++)
            if (strlen(algs[i].alias[k]) == n && strncasecmp(algs[i].alias[k], name, n) == 0)
                return (int)i;
    return -1;
}

typedef struct pick {
    int want; /* algorithm index asked for, -1: the strongest */
    int best; /* index found, -1: none */
    rsl_rhash *out;
} pick;

/* Offers algorithm a with binary digest bin. */
static void offer(pick *p, int a, const unsigned char *bin)
{
    if ((p->want >= 0 && a != p->want) || (p->best >= 0 && p->best <= a))
        return;
    p->best = a;
    snprintf(p->out->alg, sizeof(p->out->alg), "%s", algs[a].name);
    for (size_t i = 0; i < algs[a].bytes; i++)
        snprintf(p->out->hex + 2 * i, 3, "%02x", bin[i]);
}

/* Hex text s[0..n) of exactly `bytes` bytes into bin; 0 when it is not. */
static int from_hex(const char *s, size_t n, unsigned char *bin, size_t bytes)
{
    if (n != 2 * bytes)
        return 0;
    for (size_t i = 0; i < bytes; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            int ch = tolower((unsigned char)s[2 * i + (size_t)k]);
            if (!isxdigit(ch))
                return 0;
            v = v * 16 + (unsigned)(isdigit(ch) ? ch - '0' : ch - 'a' + 10);
        }
        bin[i] = (unsigned char)v;
    }
    return 1;
}

/* Base64 text s[0..n) of exactly `bytes` bytes into bin; 0 when it is not. */
static int from_b64(const char *s, size_t n, unsigned char *bin, size_t bytes)
{
    unsigned char tmp[96];
    if (n == 0 || n % 4 != 0 || n / 4 * 3 > sizeof(tmp))
        return 0;
    int got = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)n);
    size_t pad = (s[n - 1] == '=') + (n > 1 && s[n - 2] == '=');
    if (got < 0 || (size_t)got - pad != bytes)
        return 0;
    memcpy(bin, tmp, bytes);
    return 1;
}

/* One "alg<sep>value" member; value hex (hex_ok) or base64 (b64_ok), with
 * the RFC 9530 ':' delimiters stripped. */
static void member(pick *p, const char *s, size_t n, char sep, int hex_ok, int b64_ok)
{
    const char *eq = memchr(s, sep, n);
    if (eq == NULL)
        return;
    int a = alg_of(s, (size_t)(eq - s));
    const char *v = eq + 1;
    size_t vn = n - (size_t)(v - s);
    if (vn >= 2 && v[0] == ':' && v[vn - 1] == ':') {
        v++;
        vn -= 2;
    }
    unsigned char bin[64];
    if (a >= 0 && ((hex_ok && from_hex(v, vn, bin, algs[a].bytes)) ||
                   (b64_ok && from_b64(v, vn, bin, algs[a].bytes))))
        offer(p, a, bin);
}

/* Splits a header value at spaces and commas into members. */
static void members(pick *p, const char *h, char sep, int hex_ok, int b64_ok)
{
    while (h != NULL && *h) {
        h += strspn(h, " ,\t");
        size_t n = strcspn(h, " ,\t;");
        if (n > 0 && n < 256)
            member(p, h, n, sep, hex_ok, b64_ok);
        h += n;
        h += strcspn(h, " ,\t"); /* skip parameters (";...") */
    }
}

int rsl_https_pick_digest(const char *oc, const char *repr, const char *digest, const char *want,
                          rsl_rhash *out)
{
    pick p = {.want = -1, .best = -1, .out = out};
    memset(out, 0, sizeof(*out));
    if (want != NULL && (p.want = alg_of(want, strlen(want))) < 0)
        return 0;
    members(&p, oc, ':', 1, 0);     /* OC-Checksum: SHA1:<hex> */
    members(&p, repr, '=', 0, 1);   /* Repr-Digest: sha-256=:<base64>: */
    members(&p, digest, '=', 1, 1); /* Digest: SHA-256=<base64> (adler32 in hex) */
    return p.best >= 0;
}

/* ------------------------------------------------------------ requests */

/* What a non-2xx answer to a read means: a directory (servers answer 3xx
 * to "dir/", 403 or 404: a PROPFIND tells), absent, or the mapped status. */
static rsl_code read_refused(rsl_conn *c, const char *rel, long st, const char *what, rsl_err *err)
{
    rsl_code rc = st == 404 ? rsl_err_set(err, RSL_E_REMOTE_NOT_FOUND, st,
                                          "%s '%s' on %s: no such file", what, rel, c->host)
                            : rsl_https_map_http(c->last, err, st, what, rel, RSL_HTTPS_CTX_ITEM);
    if (!((st >= 300 && st < 400) || st == 403 || st == 404) || rel[0] == '\0')
        return rc;
    rsl_err saved = *err;
    rsl_op op = {.kind = RSL_OP_STAT, .path = rel};
    if (rsl_https_op_run(c, &op, 0) == RSL_OK && op.st.exists && op.st.is_dir)
        return rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, st,
                           "%s '%s' on %s: a directory, not a file", what, rel, c->host);
    *err = saved;
    return rc;
}

typedef struct sink_ctx {
    rsl_read_cb cb;
    void *ud;
} sink_ctx;

static int sink(void *ud, const void *p, size_t n)
{
    sink_ctx *s = ud;
    return s->cb(s->ud, p, n);
}

rsl_code rsl_https_read(rsl_conn *c, const char *rel, rsl_read_cb cb, void *ud, rsl_err *err)
{
    char *url = rsl_https_url(c, rel, 0);
    if (url == NULL)
        return oom(err);
    sink_ctx s = {cb, ud};
    long st = 0;
    rsl_https_req r = {.method = "GET", .url = url, .sink = sink, .sink_ud = &s};
    rsl_code rc = rsl_https_perform(c, &r, &st, rel, err);
    free(url);
    if (rc != RSL_OK || (st >= 200 && st <= 299))
        return rc;
    return read_refused(c, rel, st, "GET", err);
}

rsl_code rsl_https_hash(rsl_conn *c, const char *rel, const char *want, rsl_rhash *out,
                        rsl_err *err)
{
    memset(out, 0, sizeof(*out));
    char *url = rsl_https_url(c, rel, 0);
    struct curl_slist *h = rsl_https_hdr(NULL, "Want-Repr-Digest: sha-256=10, sha-512=5, sha=1");
    if (h != NULL)
        h = rsl_https_hdr(h, "Want-Digest: SHA-256;q=1, SHA-512;q=0.5, SHA;q=0.1");
    if (url == NULL || h == NULL) {
        free(url);
        curl_slist_free_all(h);
        return oom(err);
    }
    long st = 0;
    rsl_https_req r = {.method = "HEAD", .url = url, .hdrs = h};
    rsl_code rc = rsl_https_perform(c, &r, &st, rel, err);
    free(url);
    curl_slist_free_all(h);
    if (rc != RSL_OK)
        return rc;
    if (st < 200 || st > 299)
        return read_refused(c, rel, st, "HEAD", err);
    char oc[1024] = "", repr[1024] = "", dig[1024] = "";
    int any = rsl_https_io_header(c->last, "OC-Checksum", oc, sizeof(oc)) |
              rsl_https_io_header(c->last, "Repr-Digest", repr, sizeof(repr)) |
              rsl_https_io_header(c->last, "Digest", dig, sizeof(dig));
    if (any && rsl_https_pick_digest(oc, repr, dig, want, out)) {
        c->saw_checksum = 1;
        return RSL_OK;
    }
    return rsl_err_set(err, RSL_E_CHECKSUM_UNAVAILABLE, st,
                       "HEAD '%s' on %s: the server sends no %s%schecksum (OC-Checksum, "
                       "Repr-Digest or Digest header)",
                       rel, c->host, want ? want : "", want ? " " : "");
}
