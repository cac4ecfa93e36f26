/*
 * ftps_get.c - listings, file reads and server-side digests of the ftps
 * transport. See ftps_get.h.
 */
#define _GNU_SOURCE
#include "ftps_get.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <time.h>

#include "base/buf.h"
#include "ftpctl.h"
#include "ftplist.h"
#include "ftps_session.h"

#define FTPS_LIST_CAP (64u << 20) /* a directory listing larger than this is refused */
#define FTPS_LIST_MIN_RATE 256L   /* bytes/s a listing keeps up over `timeout` seconds */
#define FTPS_LIST_DEADLINE_X 10   /* a whole listing ends within this many x timeout */
#define FTPS_MDTM_ROUND 256       /* MDTM commands per request */

static rsl_code oom(rsl_err *err)
{
    return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
}

/* ---- list ----------------------------------------------------------------------------- */

static size_t list_cb(char *d, size_t sz, size_t n, void *ud)
{
    rsl_conn *c = ud;
    size_t k = sz * n;
    if (rsl_buf_append(&c->list, d, k) != RSL_BUF_OK)
        return 0; /* out of memory, or larger than the cap: abort the transfer at once */
    return k;
}

typedef struct lent {
    const char *name;
    rsl_rstat st;
} lent;

typedef struct lents {
    lent *v;
    size_t n, cap;
} lents;

/* One round of at most FTPS_MDTM_ROUND MDTM commands for the files among
 * ents from *i on; fills their exact mtime. A name whose MDTM would not fit
 * a command line keeps LIST's minute. */
static rsl_code mdtm_round(rsl_conn *c, const char *dir, const char *rel, lents *ents, size_t *i,
                           char **cmds, size_t *idx, rsl_err *err)
{
    rsl_code rc = RSL_OK;
    size_t k = 0;
    for (; *i < ents->n && k < FTPS_MDTM_ROUND && rc == RSL_OK; (*i)++) {
        const lent *e = &ents->v[*i];
        if (e->st.is_dir || rsl_ftpctl_has_ctl(e->name))
            continue;
        if (asprintf(&cmds[k], "MDTM %s%s%s", dir, strcmp(dir, "/") ? "/" : "", e->name) < 0) {
            cmds[k] = NULL;
            rc = oom(err);
            break;
        }
        if (strlen(cmds[k]) + 2 > RSL_FTPCTL_LINE_MAX) {
            free(cmds[k]);
            cmds[k] = NULL;
            continue;
        }
        idx[k++] = *i;
    }
    if (rc == RSL_OK && k > 0 &&
        (rc = rsl_ftps_run(c, (const char *const *)cmds, k, "list", rel, err)) == RSL_OK) {
        for (size_t j = 0; j < k; j++) {
            const char *t = NULL;
            if (rsl_ftps_code(c, cmds[j], &t) == 213 && strlen(t) > 4)
                ents->v[idx[j]].st.mtime = rsl_ftplist_time(t + 4);
        }
    }
    for (size_t j = 0; j < k; j++) {
        free(cmds[j]);
        cmds[j] = NULL;
    }
    return rc;
}

/* LIST says "Nov 22 03:17" (minutes, or only the day for old files): ask MDTM
 * for the exact second of each file, in rounds of commands on the control
 * connection. */
static rsl_code list_mdtm(rsl_conn *c, const char *dir, const char *rel, lents *ents, rsl_err *err)
{
    rsl_code rc = RSL_OK;
    char **cmds = calloc(FTPS_MDTM_ROUND, sizeof(char *));
    size_t *idx = calloc(FTPS_MDTM_ROUND, sizeof(size_t));
    if (cmds == NULL || idx == NULL)
        rc = oom(err);
    for (size_t i = 0; rc == RSL_OK && i < ents->n;)
        rc = mdtm_round(c, dir, rel, ents, &i, cmds, idx, err);
    free(cmds);
    free(idx);
    return rc;
}

/* Parses every line of c->list into ents (names point into c->list.p, which
 * the MDTM rounds leave alone). */
static rsl_code parse_listing(rsl_conn *c, lents *ents, rsl_err *err)
{
    char *save = NULL;
    time_t now = time(NULL);
    for (char *line = strtok_r(c->list.p, "\r\n", &save); line;
         line = strtok_r(NULL, "\r\n", &save)) {
        rsl_rstat st = {.mtime = -1};
        const char *name = NULL;
        int ok = c->has_mlsd ? rsl_ftplist_mlsd(line, &name, &st)
                             : rsl_ftplist_unix(line, &name, &st, now);
        if (!ok || name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        if (ents->n == ents->cap) {
            size_t ncap = ents->cap ? ents->cap * 2 : 64;
            lent *g = realloc(ents->v, ncap * sizeof(*g));
            if (g == NULL)
                return oom(err);
            ents->v = g;
            ents->cap = ncap;
        }
        ents->v[ents->n].name = name;
        ents->v[ents->n].st = st;
        ents->n++;
    }
    return RSL_OK;
}

/* MLSD (or LIST) of directory url into c->list, within its deadlines. */
static rsl_code fetch_listing(rsl_conn *c, const char *url, const char *rel, rsl_err *err)
{
    rsl_ftps_reset(c);
    rsl_buf_reset(&c->list, FTPS_LIST_CAP - 1);
    if (c->has_mlsd)
        curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, "MLSD");
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, list_cb);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
    /* a trickle is no progress: a listing keeps FTPS_LIST_MIN_RATE up */
    curl_easy_setopt(c->h, CURLOPT_LOW_SPEED_LIMIT, FTPS_LIST_MIN_RATE);
    c->deadline_ms = rsl_ftps_now_ms() + (int64_t)FTPS_LIST_DEADLINE_X * c->timeout * 1000;
    CURLcode e = rsl_ftps_perform(c, url);
    c->deadline_ms = 0;
    curl_easy_setopt(c->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    c->ascii = 1; /* curl lists in TYPE A */
    c->stats.data_transfers++;
    curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, NULL);
    if (e == CURLE_OK) {
        c->data_ok = 1;
        return rsl_ftpctl_check(&c->rep, err);
    }
    if (c->list.truncated)
        return rsl_err_set(
            err, RSL_E_PROTOCOL, 0,
            "list '%s': listing larger than %u MiB (the cap on one listing): refused", rel,
            FTPS_LIST_CAP >> 20);
    if (c->abort_why == RSL_FTPS_ABORT_DEADLINE)
        return rsl_err_set(err, RSL_E_TIMEOUT, e,
                           "list '%s' on %s: not complete within %d s (%d x timeout, the cap on "
                           "one listing)",
                           rel, c->hostport, FTPS_LIST_DEADLINE_X * c->timeout,
                           FTPS_LIST_DEADLINE_X);
    if (e == CURLE_OPERATION_TIMEDOUT)
        return rsl_err_set(err, RSL_E_TIMEOUT, e,
                           "list '%s' on %s: less than %ld bytes/s for %d s (timeout): the server "
                           "stalls the listing",
                           rel, c->hostport, FTPS_LIST_MIN_RATE, c->timeout);
    return rsl_ftps_map_curl(c, e, err, "list", rel);
}

rsl_code rsl_ftps_list(rsl_conn *c, const char *rel, rsl_list_cb cb, void *ud, rsl_err *err)
{
    lents ents = {0};
    char *p = NULL, *url = NULL;
    rsl_code rc = rsl_ftps_path(c, rel, &p, err);
    if (rc == RSL_OK)
        rc = rsl_ftps_fits(c->has_mlsd ? "MLSD" : "LIST", p, rel, err);
    if (rc == RSL_OK && (url = rsl_ftpctl_url(c->base, p, 1)) == NULL)
        rc = oom(err);
    if (rc == RSL_OK)
        rc = fetch_listing(c, url, rel, err);
    if (rc == RSL_OK && c->list.n > 0)
        rc = parse_listing(c, &ents, err);
    if (rc == RSL_OK && !c->has_mlsd)
        rc = list_mdtm(c, p, rel, &ents, err);
    for (size_t i = 0; rc == RSL_OK && i < ents.n; i++)
        if (cb(ud, ents.v[i].name, &ents.v[i].st) != 0)
            break;
    free(ents.v);
    free(url);
    free(p);
    return rc;
}

/* ---- read ----------------------------------------------------------------------------- */

static size_t read_to_cb(char *d, size_t sz, size_t n, void *ud)
{
    rsl_conn *c = ud;
    size_t k = sz * n;
    c->got += k;
    if (c->read_cb(c->read_ud, d, k) != 0) {
        c->read_stopped = 1;
        return 0; /* the caller has what it wanted: stop the transfer */
    }
    return k;
}

/* RETR of rel to cb, from byte `range`'s start ("FROM-TO" or "FROM-": REST
 * then RETR; NULL: the whole file). */
static rsl_code read_from(rsl_conn *c, const char *rel, const char *range, rsl_read_cb cb, void *ud,
                          rsl_err *err)
{
    char *p = NULL, *url = NULL;
    rsl_code rc = rsl_ftps_path(c, rel, &p, err);
    if (rc == RSL_OK)
        rc = rsl_ftps_fits("RETR", p, rel, err);
    if (rc == RSL_OK && (url = rsl_ftpctl_url(c->base, p, 0)) == NULL)
        rc = oom(err);
    if (rc == RSL_OK && (c->need_setup || c->ascii))
        rc = rsl_ftps_run(c, NULL, 0, "read", rel, err);
    if (rc != RSL_OK)
        goto out;
    rsl_ftps_reset(c);
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, read_to_cb);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
    /* a whole file: RETR straight away, no SIZE first (one command less, and
     * curl reads a 550 to SIZE as a reason to drop the control connection); a
     * range needs curl's SIZE, REST, RETR (ignoring the length skips REST) */
    curl_easy_setopt(c->h, CURLOPT_IGNORE_CONTENT_LENGTH, range == NULL ? 1L : 0L);
    c->read_cb = cb;
    c->read_ud = ud;
    c->read_stopped = 0;
    c->got = 0;
    curl_easy_setopt(c->h, CURLOPT_RANGE, range);
    CURLcode e = rsl_ftps_perform(c, url);
    curl_easy_setopt(c->h, CURLOPT_RANGE, NULL);
    curl_easy_setopt(c->h, CURLOPT_IGNORE_CONTENT_LENGTH, 0L);
    c->stats.data_transfers++;
    c->read_cb = NULL;
    if (e == CURLE_OK)
        c->data_ok = 1;
    if (e != CURLE_OK && !(e == CURLE_WRITE_ERROR && c->read_stopped))
        rc = rsl_ftps_map_curl(c, e, err, "read", rel);
    if (c->read_stopped || (range != NULL && range[strlen(range) - 1] != '-'))
        c->need_setup = 1; /* curl closes the control connection after a cut-short RETR */
out:
    free(url);
    free(p);
    return rc;
}

rsl_code rsl_ftps_read(rsl_conn *c, const char *rel, rsl_read_cb cb, void *ud, rsl_err *err)
{
    return read_from(c, rel, NULL, cb, ud, err);
}

typedef struct range_buf {
    unsigned char *p;
    size_t n, cap;
} range_buf;

static int range_cb(void *ud, const void *data, size_t n)
{
    range_buf *b = ud;
    size_t k = n < b->cap - b->n ? n : b->cap - b->n;
    memcpy(b->p + b->n, data, k);
    b->n += k;
    return b->n == b->cap; /* enough: stop */
}

rsl_code rsl_ftps_read_range(rsl_conn *c, const char *rel, uint64_t off, size_t len, int to_eof,
                             unsigned char *buf, size_t *got, rsl_err *err)
{
    char range[64];
    if (to_eof)
        snprintf(range, sizeof(range), "%llu-", (unsigned long long)off);
    else
        snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)off,
                 (unsigned long long)(off + len - 1));
    range_buf b = {.p = buf, .cap = len};
    *got = 0;
    rsl_code rc = read_from(c, rel, range, range_cb, &b, err);
    *got = b.n;
    return rc;
}

/* ---- hash ----------------------------------------------------------------------------- */

/* One way of asking a digest: the commands and how the reply reads. */
typedef struct hash_way {
    unsigned feat;   /* the FEAT bits that offer it */
    const char *cmd; /* "HASH", "XSHA256", "XMD5" */
    const char *alg; /* the algorithm's name */
    size_t len;      /* digest bytes */
} hash_way;

static const hash_way hash_ways[] = {
    {RSL_FTP_FEAT_HASH_SHA256, "HASH", "SHA-256", 32}, /* draft-bryan-ftp-hash */
    {RSL_FTP_FEAT_XSHA256, "XSHA256", "SHA-256", 32},
    {RSL_FTP_FEAT_XMD5, "XMD5", "MD5", 16},
};

/* Asks the digest of p (item rel) the way w says. RSL_OK with *len > 0 on an
 * answer, *len = 0 when the server does not give one this way (OPTS HASH
 * refused, a reply that is no digest); a per-item or session code for a
 * refusal of the file. */
static rsl_code hash_one(rsl_conn *c, const hash_way *w, const char *p, const char *rel,
                         unsigned char *digest, size_t *len, rsl_err *err)
{
    rsl_ftps_cmds b = {0};
    size_t opts = SIZE_MAX, cmd = 0;
    int is_hash = strcmp(w->cmd, "HASH") == 0;
    long logins = c->stats.control_connects;
    rsl_code rc = RSL_OK;
    *len = 0;
    if (is_hash && c->hash_login != logins) /* once per control connection */
        rc = rsl_ftps_add(&b, &opts, rel, err, "OPTS HASH %s", w->alg);
    if (rc == RSL_OK)
        rc = rsl_ftps_add(&b, &cmd, rel, err, "%s %s", w->cmd, p);
    if (rc == RSL_OK)
        rc = rsl_ftps_send(c, &b, "hash", rel, err);
    if (rc != RSL_OK)
        goto done;
    if (opts != SIZE_MAX && rsl_ftps_code(c, b.v[opts], NULL) != 200)
        goto done; /* the server cannot select that algorithm */
    if (opts != SIZE_MAX)
        c->hash_login = c->stats.control_connects;
    const rsl_ftpctl_reply *r = rsl_ftpctl_find(&c->rep, b.v[cmd]);
    if (rsl_ftpctl_digest(r, is_hash, w->alg, digest, w->len, len))
        goto done;
    int code = r ? r->code : 0;
    if (code == 421 || code == 530 || code == 450 || code == 550 || code == 553 || code == 0)
        rc = rsl_ftpctl_map(err, code, rsl_ftpctl_text(r), "hash", rel);
done:
    rsl_ftps_cmds_free(&b);
    return rc;
}

/* 1 when way w gives the algorithm `want` ("sha256", "md5"; NULL: any). */
static int way_gives(const hash_way *w, const char *want)
{
    if (want == NULL)
        return 1;
    char a[16];
    size_t o = 0;
    for (const char *p = w->alg; *p && o + 1 < sizeof(a); p++)
        if (*p != '-')
            a[o++] = (char)tolower((unsigned char)*p);
    a[o] = '\0';
    return strcasecmp(a, want) == 0;
}

rsl_code rsl_ftps_hash(rsl_conn *c, const char *rel, const char *want, char *alg, size_t algsz,
                       unsigned char *digest, size_t *len, rsl_err *err)
{
    char *p = NULL;
    *len = 0;
    if (algsz > 0)
        alg[0] = '\0';
    rsl_code rc = rsl_ftps_path(c, rel, &p, err);
    for (size_t i = 0; rc == RSL_OK && *len == 0 && i < sizeof(hash_ways) / sizeof(hash_ways[0]);
         i++) {
        if (!(c->feat & hash_ways[i].feat) || !way_gives(&hash_ways[i], want))
            continue;
        rc = hash_one(c, &hash_ways[i], p, rel, digest, len, err);
        if (rc == RSL_OK && *len > 0 && algsz > 0)
            snprintf(alg, algsz, "%s", hash_ways[i].alg);
    }
    free(p);
    return rc;
}
