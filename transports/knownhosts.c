/*
 * knownhosts.c - known_hosts matching and fingerprints. See knownhosts.h.
 *
 * Matching follows OpenSSH (hostfile.c, match.c): a host on a port other
 * than 22 is looked up as "[host]:port"; a line's host field is a comma list
 * of patterns ('*' and '?' wildcards, a leading '!' negates and vetoes the
 * line) or one hashed entry "|1|base64(salt)|base64(HMAC-SHA1(salt, name))".
 */
#include "knownhosts.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* Decodes base64 [s, s+n) into a new buffer; NULL on error. */
static unsigned char *b64_decode(const char *s, size_t n, size_t *outlen)
{
    if (n == 0 || n % 4 != 0 || n > 65536)
        return NULL;
    unsigned char *out = malloc(n / 4 * 3 + 1);
    if (out == NULL)
        return NULL;
    int len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (len < 0) {
        free(out);
        return NULL;
    }
    size_t pad = 0;
    if (s[n - 1] == '=')
        pad++;
    if (n > 1 && s[n - 2] == '=')
        pad++;
    *outlen = (size_t)len - pad;
    return out;
}

/* OpenSSH-style wildcard match ('*' any run, '?' one character),
 * case-insensitive, in O(len(s) * len(p)) at worst: on a mismatch only the
 * most recent '*' is retried one character further (an earlier '*' never
 * needs to be: the later one can absorb whatever it would). The recursive
 * form this replaces backtracked exponentially on a line with many '*'. */
static int wild_match(const char *s, const char *p, size_t plen)
{
    size_t pi = 0;
    size_t star = (size_t)-1;  /* index of the last '*' seen in p */
    const char *star_s = NULL; /* where in s that '*' currently ends */
    while (*s) {
        if (pi < plen && p[pi] == '*') {
            star = pi++;
            star_s = s;
        } else if (pi < plen &&
                   (p[pi] == '?' || tolower((unsigned char)p[pi]) == tolower((unsigned char)*s))) {
            pi++;
            s++;
        } else if (star != (size_t)-1) {
            pi = star + 1;
            s = ++star_s;
        } else {
            return 0;
        }
    }
    while (pi < plen && p[pi] == '*')
        pi++;
    return pi == plen;
}

/* 1 if the hashed entry "|1|salt|hash" names `name`. */
static int hashed_match(const char *field, const char *name)
{
    const char *salt = field + 3, *bar = strchr(salt, '|');
    if (bar == NULL)
        return 0;
    size_t saltlen = 0, hashlen = 0;
    unsigned char *s = b64_decode(salt, (size_t)(bar - salt), &saltlen);
    unsigned char *h = b64_decode(bar + 1, strlen(bar + 1), &hashlen);
    int ok = 0;
    if (s != NULL && h != NULL && hashlen == 20) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        if (HMAC(EVP_sha1(), s, (int)saltlen, (const unsigned char *)name, strlen(name), md,
                 &mdlen) != NULL &&
            mdlen == 20 && memcmp(md, h, 20) == 0)
            ok = 1;
    }
    free(s);
    free(h);
    return ok;
}

/* 1 if the host field of a line names `name`. */
static int hosts_match(const char *field, const char *name)
{
    if (strncmp(field, "|1|", 3) == 0)
        return hashed_match(field, name);
    int hit = 0;
    const char *p = field;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        int neg = (len > 0 && p[0] == '!');
        if (wild_match(name, p + neg, len - (size_t)neg)) {
            if (neg)
                return 0;
            hit = 1;
        }
        if (e == NULL)
            break;
        p = e + 1;
    }
    return hit;
}

static void lookup_name(const char *host, int port, char *buf, size_t n)
{
    if (port == 0 || port == 22)
        snprintf(buf, n, "%s", host);
    else
        snprintf(buf, n, "[%s]:%d", host, port);
}

void rsl_knownhosts_keytype(const unsigned char *key, size_t keylen, char *buf, size_t n)
{
    buf[0] = '\0';
    if (keylen < 4)
        return;
    size_t l = ((size_t)key[0] << 24) | ((size_t)key[1] << 16) | ((size_t)key[2] << 8) | key[3];
    if (l > keylen - 4 || l >= n)
        return;
    memcpy(buf, key + 4, l);
    buf[l] = '\0';
}

/* One parsed line; fields point into the (modified) line buffer. */
typedef struct kh_line {
    int revoked;
    const char *hosts;
    const char *type;
    const char *b64;
} kh_line;

/* Splits a line; returns 0 if it is a usable host key line. */
static int parse_line(char *line, kh_line *out)
{
    memset(out, 0, sizeof(*out));
    char *save = NULL;
    char *f = strtok_r(line, " \t\r\n", &save);
    if (f == NULL || f[0] == '#')
        return -1;
    if (f[0] == '@') {
        if (strcmp(f, "@revoked") != 0)
            return -1; /* @cert-authority: not for plain host keys */
        out->revoked = 1;
        f = strtok_r(NULL, " \t\r\n", &save);
        if (f == NULL)
            return -1;
    }
    out->hosts = f;
    out->type = strtok_r(NULL, " \t\r\n", &save);
    out->b64 = strtok_r(NULL, " \t\r\n", &save);
    if (out->type == NULL || out->b64 == NULL)
        return -1;
    return 0;
}

/* What the lines of one known_hosts file say about a host's key. */
typedef struct kh_scan {
    int revoked_line, match_line, changed_line, other_line;
} kh_scan;

/* Reads fp's lines for host `name` and records the first line of each kind;
 * stops at a @revoked line holding this very key. */
static void scan_lines(FILE *fp, const char *name, const unsigned char *key, size_t keylen,
                       const char *ktype, kh_scan *s)
{
    char *line = NULL;
    size_t cap = 0;
    int no = 0;
    while (s->revoked_line == 0 && getline(&line, &cap, fp) >= 0) {
        no++;
        kh_line kl;
        if (parse_line(line, &kl) != 0 || !hosts_match(kl.hosts, name))
            continue;
        size_t blen = 0;
        unsigned char *blob = b64_decode(kl.b64, strlen(kl.b64), &blen);
        if (blob == NULL)
            continue;
        int same = (blen == keylen && memcmp(blob, key, keylen) == 0);
        free(blob);
        if (kl.revoked) {
            if (same)
                s->revoked_line = no;
        } else if (same) {
            if (!s->match_line)
                s->match_line = no;
        } else if (strcmp(kl.type, ktype) == 0) {
            if (!s->changed_line)
                s->changed_line = no;
        } else if (!s->other_line) {
            s->other_line = no;
        }
    }
    free(line);
}

rsl_kh_result rsl_knownhosts_check(const char *file, const char *host, int port,
                                   const unsigned char *key, size_t keylen, int *line_no,
                                   int *file_missing)
{
    char name[1100], ktype[128];
    lookup_name(host, port, name, sizeof(name));
    rsl_knownhosts_keytype(key, keylen, ktype, sizeof(ktype));
    if (line_no)
        *line_no = 0;
    if (file_missing)
        *file_missing = 0;
    FILE *fp = fopen(file, "re");
    if (fp == NULL) {
        if (file_missing)
            *file_missing = 1;
        return RSL_KH_UNKNOWN;
    }
    kh_scan s = {0};
    scan_lines(fp, name, key, keylen, ktype, &s);
    fclose(fp);
    /* As OpenSSH: one matching line trusts the key even if another line for
     * the host holds a stale key of the same type. */
    rsl_kh_result res = RSL_KH_UNKNOWN;
    int at = 0;
    if (s.revoked_line) {
        res = RSL_KH_REVOKED;
        at = s.revoked_line;
    } else if (s.match_line) {
        res = RSL_KH_MATCH;
        at = s.match_line;
    } else if (s.changed_line) {
        res = RSL_KH_CHANGED;
        at = s.changed_line;
    } else if (s.other_line) {
        res = RSL_KH_OTHER_TYPE;
        at = s.other_line;
    }
    if (line_no)
        *line_no = at;
    return res;
}

void rsl_knownhosts_types(const char *file, const char *host, int port, char *buf, size_t n)
{
    char name[1100];
    lookup_name(host, port, name, sizeof(name));
    buf[0] = '\0';
    FILE *fp = fopen(file, "re");
    if (fp == NULL)
        return;
    char *line = NULL;
    size_t cap = 0, used = 0;
    while (getline(&line, &cap, fp) >= 0) {
        kh_line kl;
        if (parse_line(line, &kl) != 0 || kl.revoked || !hosts_match(kl.hosts, name))
            continue;
        /* skip duplicates: compare against ",type," in ",buf," */
        size_t tl = strlen(kl.type);
        int dup = 0;
        for (const char *p = buf; *p;) {
            const char *e = strchr(p, ',');
            size_t l = e ? (size_t)(e - p) : strlen(p);
            if (l == tl && strncmp(p, kl.type, tl) == 0)
                dup = 1;
            if (e == NULL)
                break;
            p = e + 1;
        }
        if (dup || used + tl + 2 > n)
            continue;
        used += (size_t)snprintf(buf + used, n - used, "%s%s", used ? "," : "", kl.type);
    }
    free(line);
    fclose(fp);
}

void rsl_knownhosts_fingerprint(const unsigned char *key, size_t keylen, char *buf, size_t n)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    unsigned char b64[EVP_MAX_MD_SIZE * 2];
    if (EVP_Digest(key, keylen, md, &mdlen, EVP_sha256(), NULL) != 1) {
        snprintf(buf, n, "SHA256:?");
        return;
    }
    int l = EVP_EncodeBlock(b64, md, (int)mdlen);
    while (l > 0 && b64[l - 1] == '=')
        l--;
    snprintf(buf, n, "SHA256:%.*s", l, (const char *)b64);
}

int rsl_knownhosts_line(const char *host, int port, const unsigned char *key, size_t keylen,
                        char *buf, size_t n)
{
    char name[1100], ktype[128];
    lookup_name(host, port, name, sizeof(name));
    rsl_knownhosts_keytype(key, keylen, ktype, sizeof(ktype));
    size_t b64len = (keylen + 2) / 3 * 4;
    unsigned char *b64 = malloc(b64len + 1);
    if (b64 == NULL)
        return -1;
    EVP_EncodeBlock(b64, key, (int)keylen);
    int w = snprintf(buf, n, "%s %s %s", name, ktype, (const char *)b64);
    free(b64);
    return (w < 0 || (size_t)w >= n) ? -1 : 0;
}
