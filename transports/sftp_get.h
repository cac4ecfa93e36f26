/*
 * sftp_get.h - the sftp transport's calls that read file contents, one file
 * at a time, over our SFTP client: read (pipelined READs, memory bounded
 * by a window of READ requests), the resume offset (the temp file's size,
 * its tail read back and compared with the source) and hash (the server's
 * check-file or md5-hash extension; OpenSSH has neither). Part of the sftp
 * transport (see sftp_conn.h).
 *
 * Owns: the per-call state and read buffers (freed before returning).
 * Must not touch: the session's carrier, SQLite; it never writes.
 */
#ifndef RSL_SFTP_GET_H
#define RSL_SFTP_GET_H

#include "sftp_conn.h"

/* The ops of transport.h of the same names. */
rsl_code rsl_sftp_get_resume_offset(rsl_conn *c, const char *tmp_rel, uint64_t total,
                                    rsl_source *src, uint64_t *have, rsl_err *err);
rsl_code rsl_sftp_get_read(rsl_conn *c, const char *rel, rsl_read_cb cb, void *ud, rsl_err *err);
rsl_code rsl_sftp_get_hash(rsl_conn *c, const char *rel, const char *want, rsl_rhash *out,
                           rsl_err *err);

/* 1 when the server offers a hash extension that gives SHA-256
 * (RSL_CAP_CHECKSUM). */
int rsl_sftp_get_can_hash(rsl_conn *c);
/* What hash() can use, for describe(): "check-file (sha256, md5)",
 * "md5-hash", or "none (no check-file or md5-hash extension)". */
void rsl_sftp_get_hash_describe(rsl_conn *c, char *buf, size_t n);

#endif
