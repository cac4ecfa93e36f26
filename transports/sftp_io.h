/*
 * sftp_io.h - the sftp transport's calls that write file contents, one file
 * at a time, over our SFTP client: the classic upload (pipelined WRITEs
 * under a window) and finish (size check, mtime, atomic replace), check's
 * probe of writing at an offset, and the refinement of a FAILURE status
 * (a directory in the way, a full file system). Part of the sftp transport
 * (see sftp_conn.h); reading is sftp_get.c, the pipelined run of many
 * files sftp_put.c.
 *
 * Owns: the per-call state (on the stack; every request it sends is
 * answered or the session failed before it returns). Must not touch: the
 * session's carrier, the dircache's rules (sftp.c's), SQLite.
 *
 * Writing at an offset: a resumed upload (offset > 0) whose server refuses
 * the open without truncation or the first write at the offset (FAILURE,
 * OP_UNSUPPORTED), or whose temp file has the wrong size after the last
 * write, is sent again from zero in the same call (the kept prefix read
 * again through src->pread); when that succeeds the server is remembered
 * as one that cannot write at an offset (rsl_sftp_learn_no_seek).
 */
#ifndef RSL_SFTP_IO_H
#define RSL_SFTP_IO_H

#include "sftp_conn.h"

/* The ops of transport.h of the same names. */
rsl_code rsl_sftp_io_upload(rsl_conn *c, const char *tmp_rel, uint64_t offset, uint64_t total,
                            rsl_source *src, rsl_err *err);
rsl_code rsl_sftp_io_finish(rsl_conn *c, const char *tmp_rel, const char *final_rel, uint64_t size,
                            int64_t mtime, rsl_err *err);

/* After a failure mapped to REMOTE_IO or REMOTE_TYPE_CONFLICT on rel
 * (OpenSSH says FAILURE for EISDIR, ENOSPC, EEXIST): a directory in the
 * way becomes REMOTE_TYPE_CONFLICT, a full file system REMOTE_NO_SPACE
 * (statvfs@openssh.com on rel, else the root). A session that fails
 * meanwhile replaces *err with its error. */
void rsl_sftp_io_refine(rsl_conn *c, const char *rel, rsl_err *err);

/* check's probe (a connection that cannot remember facts): writes 4 bytes
 * to a probe file in the root, reopens it without truncation, writes 4
 * more at offset 4, checks the size is 8, removes it; learns the answer.
 * A probe that cannot even create its file decides nothing. */
void rsl_sftp_io_probe_seek(rsl_conn *c);

#endif
