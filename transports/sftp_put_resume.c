/*
 * sftp_put_resume.c - the pipelined run's resume (sftp_put.h): which prefix
 * of a temp file left by an earlier attempt is kept (sampled blocks read
 * back and compared with the source), and the fresh start of a file whose
 * server turned out not to write at an offset. Part of sftp_put; see
 * sftp_put_job.h.
 */
#define _GNU_SOURCE
#include "sftp_put_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* PUT: resume (sampled blocks of the temp file against the source) */

static void on_read(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r);

static void send_read(job *j, sample *m)
{
    rsl_sftp_client *s = j->R->s;
    m->id = req(j, on_read);
    rsl_sftp_wire_read(rsl_sftp_client_out(s), m->id, &j->rh, m->off + m->got, m->len - m->got);
}

/* Compares data (remote bytes at m->off + m->got) with the source. Returns
 * 0, or -1 when the source failed (job failed). */
static int compare(job *j, sample *m, rsl_sftp_str data)
{
    unsigned char *loc = j->R->scratch;
    rsl_err le = {0};
    size_t got = 0;
    while (got < data.len) {
        ssize_t r =
            j->op->src->pread(j->op->src, loc + got, data.len - got, m->off + m->got + got, &le);
        if (r < 0) {
            rsl_sftp_put_fail(j, &le);
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    uint32_t same = 0;
    while (same < got && loc[same] == data.p[same])
        same++;
    m->good = m->got + same;
    if (same < data.len)
        m->bad = 1;
    m->got += data.len;
    return 0;
}

static void on_read(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)s;
    job *j = ud;
    j->inflight--;
    sample *m = NULL;
    for (int i = 0; i < j->nsmp && m == NULL; i++)
        if (j->smp[i].id == r->id)
            m = &j->smp[i];
    if (m == NULL || j->failed) {
        step(j);
        return;
    }
    if (r->type != RSL_FXP_DATA || r->data.len == 0 || r->data.len > m->len - m->got) {
        m->bad = 1; /* EOF (the file shrank), an error, or nonsense */
        m->good = m->got;
    } else if (compare(j, m, r->data) == 0 && !m->bad && m->got < m->len) {
        send_read(j, m); /* a short read: ask for the rest */
    }
    step(j);
}

/* A range check's samples are in: kept whole or not at all. */
static void range_sampled(job *j)
{
    int bad = 0;
    for (int i = 0; i < j->nsmp; i++)
        bad |= j->smp[i].bad;
    j->op->offset = bad ? 0 : j->op->range_len;
    if (bad)
        rsl_sftp_client_log(j->R->s, RSL_LOG_INFO,
                            "sftp: '%s': bytes %llu-%llu differ from the local file", j->op->tmp,
                            (unsigned long long)j->op->range_off,
                            (unsigned long long)(j->op->range_off + j->op->range_len));
    rsl_sftp_wire_close(out(j), req(j, rsl_sftp_put_ignore), &j->rh);
    j->rhopen = 0;
    j->phase = P_SIMPLE;
}

/* All samples are in: keep the prefix before the first mismatch. */
void rsl_sftp_put_sampling_done(job *j)
{
    if (j->op->kind == RSL_OP_PUT_RANGE) {
        range_sampled(j);
        return;
    }
    uint64_t kept = j->tmp_size;
    for (int i = 0; i < j->nsmp; i++) {
        if (!j->smp[i].bad)
            continue;
        if (j->whole || i == 0)
            kept = j->smp[i].off + j->smp[i].good;
        else
            kept = j->smp[i - 1].off + j->smp[i - 1].len;
        rsl_sftp_client_log(
            j->R->s, RSL_LOG_INFO,
            "sftp: '%s': the temp file differs from the local file at block %llu; %llu of "
            "%llu bytes kept",
            j->op->tmp, (unsigned long long)j->smp[i].off, (unsigned long long)kept,
            (unsigned long long)j->tmp_size);
        break;
    }
    rsl_sftp_wire_close(out(j), req(j, rsl_sftp_put_ignore), &j->rh);
    j->rhopen = 0;
    rsl_sftp_put_open_write(j, kept);
}

/* Samples of [base, base + size) of the temp file. */
static void start_sampling(job *j, uint64_t base, uint64_t size)
{
    const uint64_t n = RSL_SFTP_RESUME_SAMPLES, b = RSL_SFTP_RESUME_BLOCK;
    j->nsmp = 0;
    j->whole = size <= n * b;
    if (j->whole) { /* small: all of it, in READs of read_len */
        for (uint64_t off = 0; off < size; off += j->R->read_len) {
            sample *m = &j->smp[j->nsmp++];
            memset(m, 0, sizeof(*m));
            m->off = base + off;
            m->len = (uint32_t)(size - off < j->R->read_len ? size - off : j->R->read_len);
        }
    } else { /* blocks spread over the whole prefix: first at 0, last ending at its end */
        for (uint64_t i = 0; i < n; i++) {
            sample *m = &j->smp[j->nsmp++];
            memset(m, 0, sizeof(*m));
            m->off = base + (size - b) * i / (n - 1);
            m->len = (uint32_t)b;
        }
    }
    for (int i = 0; i < j->nsmp; i++)
        send_read(j, &j->smp[i]);
    j->phase = P_SAMPLE;
}

static void on_ropen(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)s;
    job *j = ud;
    j->inflight--;
    int range = j->op->kind == RSL_OP_PUT_RANGE;
    if (r->type != RSL_FXP_HANDLE) { /* unreadable: start over */
        if (range)
            j->phase = P_SIMPLE; /* offset 0: not kept */
        else
            rsl_sftp_put_open_write(j, 0);
        step(j);
        return;
    }
    memcpy(j->rh.b, r->handle.p, r->handle.len);
    j->rh.len = r->handle.len;
    j->rhopen = 1;
    if (range)
        start_sampling(j, j->op->range_off, j->op->range_len);
    else
        start_sampling(j, 0, j->tmp_size);
    step(j);
}

static void on_rstat(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)s;
    job *j = ud;
    j->inflight--;
    const rsl_sftp_attrs *a = &r->attrs;
    int regular =
        !(a->flags & RSL_SFTP_ATTR_PERMISSIONS) || (a->perm & RSL_SFTP_S_IFMT) == RSL_SFTP_S_IFREG;
    if (r->type == RSL_FXP_ATTRS && regular && (a->flags & RSL_SFTP_ATTR_SIZE) && a->size > 0 &&
        a->size <= j->op->size && j->op->src->pread != NULL) {
        j->tmp_size = a->size;
        rsl_sftp_wire_open(out(j), req(j, on_ropen), j->wtmp, RSL_SFTP_PF_READ, NULL);
        j->phase = P_ROPEN;
    } else {
        rsl_sftp_put_open_write(j, 0); /* absent, not a file, too large: from the start */
    }
    step(j);
}

static void on_range_stat(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)s;
    job *j = ud;
    j->inflight--;
    const rsl_sftp_attrs *a = &r->attrs;
    j->phase = P_SIMPLE; /* offset 0: not kept, unless the samples say so */
    if (r->type == RSL_FXP_ATTRS && (a->flags & RSL_SFTP_ATTR_SIZE) &&
        a->size >= j->op->range_off + j->op->range_len && j->op->range_len > 0) {
        rsl_sftp_wire_open(out(j), req(j, on_ropen), j->wtmp, RSL_SFTP_PF_READ, NULL);
        j->phase = P_ROPEN;
    }
    step(j);
}

void rsl_sftp_put_range_check(job *j)
{
    j->op->offset = 0;
    rsl_sftp_wire_lstat(out(j), req(j, on_range_stat), j->wtmp);
    j->phase = P_RSTAT;
}

void rsl_sftp_put_resume_begin(job *j)
{
    rsl_sftp_wire_lstat(out(j), req(j, on_rstat), j->wtmp);
    j->phase = P_RSTAT;
}

/* ------------------------------------------------------------------ */
/* a server that cannot write at an offset: the file again from zero */

int rsl_sftp_put_suspect_seek(job *j, uint32_t fx, const char *why)
{
    rsl_op *op = j->op;
    if (j->redo)
        return 1;
    /* only a PUT starts again from zero: an append writes in place, a range
     * is checked by sampled reads of its own */
    if (op->kind != RSL_OP_PUT || j->redone || j->failed || j->kept == 0 ||
        op->src->start == NULL || j->append)
        return 0;
    if (fx != 0 && fx != RSL_FX_FAILURE && fx != RSL_FX_OP_UNSUPPORTED)
        return 0;
    j->redo = 1;
    snprintf(j->why, sizeof(j->why), "%s%s%s%s", why, fx ? " (" : "",
             fx ? rsl_sftp_wire_status_name(fx) : "", fx ? ")" : "");
    rsl_sftp_client_log(j->R->s, RSL_LOG_INFO, "sftp: '%s': %s; sending it again from the start",
                        op->tmp, j->why);
    return 1;
}

void rsl_sftp_put_redo(job *j)
{
    if (j->rhopen) {
        rsl_sftp_wire_close(out(j), req(j, rsl_sftp_put_ignore), &j->rh);
        j->rhopen = 0;
    }
    if (j->hopen && !j->close_sent) {
        rsl_sftp_wire_close(out(j), req(j, rsl_sftp_put_ignore), &j->h);
        j->close_sent = 1;
    }
    j->hopen = 0;
    if (j->inflight > 0)
        return; /* step() comes back once the close is answered */
    memset(j->ring, 0, (size_t)j->rcap * sizeof(*j->ring));
    j->rhead = j->rn = 0;
    j->next_off = j->acked = j->wbytes = 0;
    j->close_sent = j->truncated = j->refined = j->refine_rename = 0;
    j->have_fstat = 0;
    memset(&j->fattrs, 0, sizeof(j->fattrs));
    j->tmp_size = 0;
    j->redo = 0;
    j->redone = 1;
    rsl_err_clear(&j->op->err);
    rsl_sftp_put_open_write(j, 0);
}

void rsl_sftp_put_learnt(job *j)
{
    run *R = j->R;
    if (R->o.no_seek)
        return;
    R->o.no_seek = 1;
    if (R->o.no_seek_learnt != NULL)
        R->o.no_seek_learnt(R->o.ud, j->why);
}
