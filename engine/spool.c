/*
 * spool.c - plan items in an unlinked temp file. See spool.h.
 *
 * Record: u32 n | payload (n bytes) | u32 n. Payload: action, type,
 * old_type, flags (u8 each), prev_attempts (u32), size, mtime_ns,
 * first_failed_ms, dev, ino (64 bits each), path length, src_rel length
 * (u16 each), mode (u32), old_size (64 bits), from length, target length
 * (u16 each), then the four strings without their NULs. Native byte
 * order: the file never outlives the process that wrote it.
 */
#define _GNU_SOURCE
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIXED 68
#define MAXREC (RSL_SPOOL_BUFSZ - 8) /* a record always fits a cursor's buffer */

enum { F_FOLLOWED = 1, F_HAS_REC = 2, F_REC_MATCHES = 4, F_COVERED = 8, F_OVERWRITE = 16 };

struct rsl_spool {
    int fd;
    uint64_t size; /* bytes written to the file */
    uint64_t count;
    unsigned char *wbuf;
    size_t wlen;
    int sealed;
    char where[256]; /* the directory, for messages */
};

/* An unlinked file in dir: O_TMPFILE, or mkstemp + unlink where the file
 * system lacks it. */
static int tmpfile_in(const char *dir)
{
    int fd = open(dir, O_RDWR | O_TMPFILE | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return fd;
    char path[4200];
    snprintf(path, sizeof(path), "%s/.rsyncd-lite-spool.XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0)
        unlink(path);
    return fd;
}

rsl_code rsl_spool_open(rsl_spool **out, const char *dir, rsl_err *err)
{
    *out = NULL;
    rsl_spool *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->wbuf = malloc(RSL_SPOOL_BUFSZ)) == NULL) {
        free(s);
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    }
    const char *tmp = getenv("TMPDIR");
    const char *dirs[] = {dir, tmp && tmp[0] == '/' ? tmp : NULL, "/tmp"};
    int e = 0;
    s->fd = -1;
    for (size_t i = 0; i < 3 && s->fd < 0; i++) {
        if (dirs[i] == NULL)
            continue;
        s->fd = tmpfile_in(dirs[i]);
        e = errno;
        snprintf(s->where, sizeof(s->where), "%s", dirs[i]);
    }
    if (s->fd < 0) {
        free(s->wbuf);
        free(s);
        return rsl_err_set(err, RSL_E_STATE_WRITE, e,
                           "cannot create the plan's spool file in '%s' (beside the state db): %s",
                           dir ? dir : "/tmp", strerror(e));
    }
    *out = s;
    return RSL_OK;
}

void rsl_spool_free(rsl_spool *s)
{
    if (s == NULL)
        return;
    if (s->fd >= 0)
        close(s->fd);
    free(s->wbuf);
    free(s);
}

static rsl_code flush(rsl_spool *s, rsl_err *err)
{
    size_t done = 0;
    while (done < s->wlen) {
        ssize_t n = pwrite(s->fd, s->wbuf + done, s->wlen - done, (off_t)(s->size + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return rsl_err_set(err, RSL_E_STATE_WRITE, n < 0 ? errno : ENOSPC,
                               "the plan's spool file in '%s' cannot be written: %s", s->where,
                               strerror(n < 0 ? errno : ENOSPC));
        done += (size_t)n;
    }
    s->size += s->wlen;
    s->wlen = 0;
    return RSL_OK;
}

static unsigned char *put_bytes(unsigned char *p, const void *v, size_t n)
{
    memcpy(p, v, n);
    return p + n;
}

rsl_code rsl_spool_put(rsl_spool *s, const rsl_item *it, rsl_err *err)
{
    size_t pl = strlen(it->path), sl = it->src_rel ? strlen(it->src_rel) : 0;
    size_t fl = it->from ? strlen(it->from) : 0, tl = it->target ? strlen(it->target) : 0;
    if (FIXED + pl + sl + fl + tl > MAXREC || s->sealed)
        return rsl_err_set(err, RSL_E_INTERNAL, 0, "spool: record for '%s' refused", it->path);
    uint32_t n = (uint32_t)(FIXED + pl + sl + fl + tl);
    if (s->wlen + n + 8 > RSL_SPOOL_BUFSZ) {
        rsl_code rc = flush(s, err);
        if (rc != RSL_OK)
            return rc;
    }
    unsigned char *p = s->wbuf + s->wlen;
    uint8_t b[4] = {(uint8_t)it->action, (uint8_t)it->type, (uint8_t)it->old_type,
                    (uint8_t)((it->followed ? F_FOLLOWED : 0) |
                              (it->has_upload_rec ? F_HAS_REC : 0) |
                              (it->upload_rec_matches ? F_REC_MATCHES : 0) |
                              (it->covered ? F_COVERED : 0) | (it->overwrite ? F_OVERWRITE : 0))};
    uint32_t prev = (uint32_t)it->prev_attempts;
    uint16_t l16[2] = {(uint16_t)pl, (uint16_t)sl}, x16[2] = {(uint16_t)fl, (uint16_t)tl};
    p = put_bytes(p, &n, 4);
    p = put_bytes(p, b, 4);
    p = put_bytes(p, &prev, 4);
    p = put_bytes(p, &it->size, 8);
    p = put_bytes(p, &it->mtime_ns, 8);
    p = put_bytes(p, &it->first_failed_ms, 8);
    p = put_bytes(p, &it->dev, 8);
    p = put_bytes(p, &it->ino, 8);
    p = put_bytes(p, l16, 4);
    p = put_bytes(p, &it->mode, 4);
    p = put_bytes(p, &it->old_size, 8);
    p = put_bytes(p, x16, 4);
    p = put_bytes(p, it->path, pl);
    if (sl)
        p = put_bytes(p, it->src_rel, sl);
    if (fl)
        p = put_bytes(p, it->from, fl);
    if (tl)
        p = put_bytes(p, it->target, tl);
    put_bytes(p, &n, 4);
    s->wlen += n + 8;
    s->count++;
    return RSL_OK;
}

rsl_code rsl_spool_seal(rsl_spool *s, rsl_err *err)
{
    rsl_code rc = flush(s, err);
    if (rc == RSL_OK)
        s->sealed = 1;
    return rc;
}

uint64_t rsl_spool_count(const rsl_spool *s)
{
    return s ? s->count : 0;
}

/* ---- cursors ---- */

rsl_code rsl_spool_cursor_init(rsl_spool_cursor *c, const rsl_spool *s, int backward, rsl_err *err)
{
    memset(c, 0, sizeof(*c));
    c->s = s;
    c->backward = backward;
    c->off = backward ? s->size : 0;
    c->idx = backward ? s->count : 0;
    if (!s->sealed)
        return rsl_err_set(err, RSL_E_INTERNAL, 0, "spool: read before it was sealed");
    if ((c->buf = malloc(RSL_SPOOL_BUFSZ)) == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    return RSL_OK;
}

void rsl_spool_cursor_free(rsl_spool_cursor *c)
{
    free(c->buf);
    free(c->path);
    free(c->src_rel);
    free(c->from);
    free(c->target);
    memset(c, 0, sizeof(*c));
}

/* Bytes [at, at + n) of the file, through the cursor's buffer (loaded from
 * `at` going forward, or ending at at + n going backward). */
static const unsigned char *window(rsl_spool_cursor *c, uint64_t at, size_t n, rsl_err *err)
{
    if (at >= c->buf_off && at + n <= c->buf_off + c->buf_len)
        return c->buf + (at - c->buf_off);
    uint64_t start = at;
    if (c->backward)
        start = at + n > RSL_SPOOL_BUFSZ ? at + n - RSL_SPOOL_BUFSZ : 0;
    size_t want =
        c->s->size - start < RSL_SPOOL_BUFSZ ? (size_t)(c->s->size - start) : RSL_SPOOL_BUFSZ;
    size_t got = 0;
    while (got < want) {
        ssize_t r = pread(c->s->fd, c->buf + got, want - got, (off_t)(start + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rsl_err_set(err, RSL_E_STATE_IO, r < 0 ? errno : 0,
                        "the plan's spool file cannot be read: %s",
                        r < 0 ? strerror(errno) : "short read");
            return NULL;
        }
        got += (size_t)r;
    }
    c->buf_off = start;
    c->buf_len = got;
    if (at < start || at + n > start + got) {
        rsl_err_set(err, RSL_E_STATE_IO, 0, "the plan's spool file is damaged");
        return NULL;
    }
    return c->buf + (at - start);
}

static int keep_str(char **dst, size_t *cap, const unsigned char *src, size_t n)
{
    if (n + 1 > *cap) {
        char *d = realloc(*dst, n + 64);
        if (d == NULL)
            return -1;
        *dst = d;
        *cap = n + 64;
    }
    memcpy(*dst, src, n);
    (*dst)[n] = '\0';
    return 0;
}

static int decode(rsl_spool_cursor *c, const unsigned char *p, uint32_t n, rsl_item *it,
                  rsl_err *err)
{
    uint32_t prev;
    uint16_t l16[2], x16[2];
    memset(it, 0, sizeof(*it));
    it->action = (rsl_action)p[0];
    it->type = p[1];
    it->old_type = p[2];
    it->followed = (p[3] & F_FOLLOWED) != 0;
    it->has_upload_rec = (p[3] & F_HAS_REC) != 0;
    it->upload_rec_matches = (p[3] & F_REC_MATCHES) != 0;
    it->covered = (p[3] & F_COVERED) != 0;
    it->overwrite = (p[3] & F_OVERWRITE) != 0;
    memcpy(&prev, p + 4, 4);
    it->prev_attempts = (int)prev;
    memcpy(&it->size, p + 8, 8);
    memcpy(&it->mtime_ns, p + 16, 8);
    memcpy(&it->first_failed_ms, p + 24, 8);
    memcpy(&it->dev, p + 32, 8);
    memcpy(&it->ino, p + 40, 8);
    memcpy(l16, p + 48, 4);
    memcpy(&it->mode, p + 52, 4);
    memcpy(&it->old_size, p + 56, 8);
    memcpy(x16, p + 64, 4);
    if ((uint32_t)FIXED + l16[0] + l16[1] + x16[0] + x16[1] != n) {
        rsl_err_set(err, RSL_E_STATE_IO, 0, "the plan's spool file is damaged");
        return -1;
    }
    const unsigned char *str = p + FIXED;
    if (keep_str(&c->path, &c->path_cap, str, l16[0]) != 0 ||
        (l16[1] && keep_str(&c->src_rel, &c->src_cap, str + l16[0], l16[1]) != 0) ||
        (x16[0] && keep_str(&c->from, &c->from_cap, str + l16[0] + l16[1], x16[0]) != 0) ||
        (x16[1] &&
         keep_str(&c->target, &c->target_cap, str + l16[0] + l16[1] + x16[0], x16[1]) != 0)) {
        rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
        return -1;
    }
    it->path = c->path;
    it->src_rel = l16[1] ? c->src_rel : NULL;
    it->from = x16[0] ? c->from : NULL;
    it->target = x16[1] ? c->target : NULL;
    return 1;
}

int rsl_spool_next(rsl_spool_cursor *c, rsl_item *it, uint64_t *idx, rsl_err *err)
{
    uint32_t n, n2;
    const unsigned char *p;
    if (c->backward ? c->off == 0 : c->off >= c->s->size)
        return 0;
    uint64_t hdr = c->backward ? c->off - 4 : c->off;
    if ((p = window(c, hdr, 4, err)) == NULL)
        return -1;
    memcpy(&n, p, 4);
    if (n < FIXED || n > MAXREC || (c->backward && c->off < (uint64_t)n + 8)) {
        rsl_err_set(err, RSL_E_STATE_IO, 0, "the plan's spool file is damaged");
        return -1;
    }
    uint64_t start = c->backward ? c->off - n - 8 : c->off;
    if ((p = window(c, start, n + 8, err)) == NULL)
        return -1;
    memcpy(&n2, p, 4);
    if (n2 != n) {
        rsl_err_set(err, RSL_E_STATE_IO, 0, "the plan's spool file is damaged");
        return -1;
    }
    if (decode(c, p + 4, n, it, err) < 0)
        return -1;
    if (c->backward) {
        c->off = start;
        c->idx--;
    } else {
        c->off = start + n + 8;
    }
    if (idx)
        *idx = c->idx;
    if (!c->backward)
        c->idx++;
    return 1;
}
