/*
 * xfer.c - the serial adapter of the pipelined interface. See xfer.h.
 */
#include "xfer.h"

#include <string.h>

const char *rsl_op_kind_name(rsl_op_kind k)
{
    switch (k) {
    case RSL_OP_MKDIR:
        return "mkdir";
    case RSL_OP_PUT:
        return "put";
    case RSL_OP_REMOVE:
        return "remove";
    case RSL_OP_STAT:
        return "stat";
    case RSL_OP_PUT_RANGE:
        return "put-range";
    case RSL_OP_FINISH:
        return "finish";
    }
    return "unknown";
}

/* One PUT through resume_offset, upload, the source's checks and finish. */
static rsl_code serial_put(const rsl_transport_ops *ops, rsl_conn *c, rsl_op *op)
{
    rsl_source *src = op->src;
    rsl_code rc = RSL_OK;
    op->offset = 0;
    if (src->mode == 0)
        src->mode = op->mode;
    if (op->resume && (ops->caps_of(c) & RSL_CAP_RESUME))
        rc = ops->resume_offset(c, op->tmp, op->size, src, &op->offset, &op->err);
    if (rc == RSL_OK && src->start)
        rc = src->start(src, op->offset, &op->err);
    if (rc == RSL_OK)
        rc = ops->upload(c, op->tmp, op->offset, op->size, src, &op->err);
    if (rc == RSL_OK && src->verify)
        rc = src->verify(src, &op->err);
    if (rc == RSL_OK)
        rc = ops->finish(c, op->tmp, op->path, op->size, op->mtime, &op->err);
    return rc;
}

/* One range of a file through write_range. */
static rsl_code serial_range(const rsl_transport_ops *ops, rsl_conn *c, rsl_op *op)
{
    rsl_source *src = op->src;
    rsl_code rc = RSL_OK;
    op->offset = 0;
    if (src->mode == 0)
        src->mode = op->mode;
    if (ops->write_range == NULL)
        return rsl_err_set(&op->err, RSL_E_INTERNAL, 0,
                           "put-range '%s': the %s transport cannot write at an offset", op->tmp,
                           ops->name);
    if (src->start && !op->resume) /* a check reads through pread only */
        rc = src->start(src, op->range_off, &op->err);
    if (rc == RSL_OK)
        rc = ops->write_range(c, op->tmp, op->range_off, op->range_len, op->resume, src,
                              &op->offset, &op->sent, &op->err);
    return rc;
}

/* The end of a file sent as ranges: the source's start and checks, finish. */
static rsl_code serial_finish(const rsl_transport_ops *ops, rsl_conn *c, rsl_op *op)
{
    rsl_source *src = op->src;
    rsl_code rc = RSL_OK;
    op->offset = op->size;
    if (src->start)
        rc = src->start(src, op->size, &op->err);
    if (rc == RSL_OK && src->verify)
        rc = src->verify(src, &op->err);
    if (rc == RSL_OK)
        rc = ops->finish(c, op->tmp, op->path, op->size, op->mtime, &op->err);
    return rc;
}

static rsl_code serial_one(const rsl_transport_ops *ops, rsl_conn *c, rsl_op *op)
{
    switch (op->kind) {
    case RSL_OP_MKDIR: {
        rsl_code rc = ops->mkdir(c, op->path, &op->err);
        if (rc == RSL_OK && op->mode != 0 && ops->set_mode != NULL)
            rc = ops->set_mode(c, op->path, op->mode, &op->err);
        return rc;
    }
    case RSL_OP_REMOVE:
        return ops->remove(c, op->path, op->is_dir, &op->err);
    case RSL_OP_STAT:
        return ops->stat(c, op->path, &op->st, &op->err);
    case RSL_OP_PUT:
        return serial_put(ops, c, op);
    case RSL_OP_PUT_RANGE:
        return serial_range(ops, c, op);
    case RSL_OP_FINISH:
        return serial_finish(ops, c, op);
    }
    return rsl_err_set(&op->err, RSL_E_INTERNAL, op->kind, "unknown operation %d on '%s'",
                       (int)op->kind, op->path);
}

rsl_code rsl_xfer_run_serial(const rsl_transport_ops *ops, rsl_conn *c, const rsl_feed *feed,
                             rsl_err *err)
{
    rsl_op *op;
    while ((feed->cancelled == NULL || !feed->cancelled(feed->ud)) &&
           (op = feed->next(feed->ud, 1)) != NULL) {
        rsl_err_clear(&op->err);
        op->sent = 0;
        rsl_code rc = serial_one(ops, c, op);
        if (rc == RSL_OK)
            rsl_err_clear(&op->err);
        else if (op->err.code == RSL_OK)
            rsl_err_set(&op->err, rc, 0, "%s '%s' failed", rsl_op_kind_name(op->kind), op->path);
        int broken = rc != RSL_OK && rsl_code_class(rc) == RSL_CLASS_SESSION;
        if (broken) /* op is the engine's once done: copy first */
            *err = op->err;
        feed->done(feed->ud, op);
        if (broken)
            return rc;
    }
    return RSL_OK;
}
