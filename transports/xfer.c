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
    case RSL_OP_MOVE:
        return "move";
    case RSL_OP_SYMLINK:
        return "symlink";
    case RSL_OP_SETTIME:
        return "settime";
    case RSL_OP_APPEND:
        return "append";
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

/* An optional call the transport does not have. */
static rsl_code unsupported(const rsl_transport_ops *ops, rsl_op *op)
{
    return rsl_err_set(&op->err, RSL_E_REMOTE_UNSUPPORTED, 0, "%s '%s': the %s transport cannot",
                       rsl_op_kind_name(op->kind), op->path, ops->name);
}

/* One APPEND: the source starts at the old end (hashing the kept head),
 * the transport writes the tail in place, then the source's check. */
static rsl_code serial_append(const rsl_transport_ops *ops, rsl_conn *c, rsl_op *op)
{
    rsl_source *src = op->src;
    rsl_code rc = RSL_OK;
    op->offset = op->old_size;
    if (ops->append == NULL || !(ops->caps_of(c) & RSL_CAP_APPEND))
        return unsupported(ops, op);
    if (src->start)
        rc = src->start(src, op->old_size, &op->err);
    if (rc == RSL_OK)
        rc = ops->append(c, op->path, op->old_size, op->size, op->mtime, src, &op->err);
    if (rc == RSL_OK && src->verify)
        rc = src->verify(src, &op->err);
    return rc;
}

/* The send-less ops: each through its optional call, or unsupported. */
static rsl_code serial_sendless(const rsl_transport_ops *ops, rsl_conn *c, rsl_op *op)
{
    unsigned caps = ops->caps_of(c);
    switch (op->kind) {
    case RSL_OP_MOVE:
        if (ops->move == NULL || !(caps & RSL_CAP_MOVE))
            return unsupported(ops, op);
        return ops->move(c, op->from, op->path, op->is_dir, op->overwrite, &op->err);
    case RSL_OP_SYMLINK:
        if (ops->symlink == NULL || !(caps & RSL_CAP_SYMLINK))
            return unsupported(ops, op);
        return ops->symlink(c, op->path, op->target, &op->err);
    case RSL_OP_SETTIME:
        if (ops->set_mtime == NULL || !(caps & RSL_CAP_DIR_MTIME))
            return unsupported(ops, op);
        return ops->set_mtime(c, op->path, op->mtime, &op->err);
    case RSL_OP_APPEND:
        return serial_append(ops, c, op);
    default:
        return rsl_err_set(&op->err, RSL_E_INTERNAL, op->kind, "unknown operation %d on '%s'",
                           (int)op->kind, op->path);
    }
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
    default:
        return serial_sendless(ops, c, op);
    }
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
