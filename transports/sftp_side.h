/*
 * sftp_side.h - the side channel of an sftp connection: a second SFTP
 * session channel (when the server allows one) speaking just enough SFTP v3
 * for what libssh2 1.10 cannot do: posix-rename@openssh.com (an atomic
 * replace), and small uploads as one batch of requests (OPEN, then WRITEs +
 * FSTAT + CLOSE in one round trip). Part of the sftp transport (see
 * sftp_conn.h).
 *
 * Owns: c->xch, c->xid and the reply stash. Must not touch: the main SFTP
 * channel.
 */
#ifndef RSL_SFTP_SIDE_H
#define RSL_SFTP_SIDE_H

#include "sftp_conn.h"

/* Opens the side channel and learns the server's extensions (sets
 * c->posix_rename; without it the channel is closed again). A server that
 * refuses a second channel is not an error: finish() then uses the
 * fallback. Returns a session code only when the session itself failed. */
rsl_code rsl_sftp_side_open(rsl_conn *c, rsl_err *err);
/* Closes the side channel (NULL-safe on c->xch). */
void rsl_sftp_side_close(rsl_conn *c);
/* Uploads [offset, total) of a small file held in data (path is absolute,
 * rel for messages) in two round trips; keeps the FSTAT size in
 * c->last_tmp / c->last_size for finish()'s size check. */
rsl_code rsl_sftp_side_upload(rsl_conn *c, const char *path, const char *rel, uint64_t offset,
                              uint64_t total, const unsigned char *data, rsl_err *err);
/* SETSTAT (mtime, when >= 0) of the temp file `from` and
 * posix-rename@openssh.com to `to` (rename(2) semantics: replaces it
 * atomically), as one batch. */
rsl_code rsl_sftp_side_finish(rsl_conn *c, const char *from, const char *to, int64_t mtime,
                              const char *tmp_rel, const char *rel, rsl_err *err);

#endif
