/*
 * ftps_put.h - the upload side of the ftps transport: resume_offset, upload
 * and finish (the classic per-call functions), and one PUT operation of the
 * pipelined path (xfer.h) in as few commands as FTP allows: one request
 * carrying EPSV, STOR and, after the server's 226, the mtime and the rename
 * (docs/transport-ftps.md, "Commands per file"). Internal to the ftps
 * transport: only ftps*.c include it.
 *
 * Owns: nothing beyond the call. Must not touch: the engine, the terminal.
 */
#ifndef RSL_FTPS_PUT_H
#define RSL_FTPS_PUT_H

#include <stdint.h>

#include "transport.h"
#include "xfer.h"

/* Blocks of a temp file read back before a resume keeps it: the tail and
 * the rest spread over the prefix (resume_sample.h; a prefix of at most this
 * many blocks is read whole, in one RETR). */
#define FTPS_RESUME_SAMPLES 4

/* SIZE of the temp, then sampled blocks of it read back (REST + RETR) and
 * compared with src->pread: *have is all of it when every block matched,
 * else 0 (also when the server does not let the temp be read). */
rsl_code rsl_ftps_resume_offset(rsl_conn *c, const char *tmp_rel, uint64_t total, rsl_source *src,
                                uint64_t *have, rsl_err *err);
rsl_code rsl_ftps_upload(rsl_conn *c, const char *tmp_rel, uint64_t offset, uint64_t total,
                         rsl_source *src, rsl_err *err);
rsl_code rsl_ftps_finish(rsl_conn *c, const char *tmp_rel, const char *final_rel, uint64_t size,
                         int64_t mtime, rsl_err *err);

/* One RSL_OP_PUT (xfer.h, steps 1-4). A fresh upload is one request: STOR
 * of the temp name, src->verify when the last byte was read, and, once the
 * server confirmed every byte (226), MDTM/MFMT on the temp name, RNFR and
 * RNTO. A resumed one goes through the classic calls. Returns the op's code
 * (op->err filled). */
rsl_code rsl_ftps_put(rsl_conn *c, rsl_op *op);

#endif
