/*
 * ftps_get.h - what the ftps transport reads from the server: directory
 * listings (MLSD, or LIST refined by MDTM), a remote file's bytes (RETR) and
 * a server-side digest (HASH, XSHA256, XMD5). Internal to the ftps
 * transport: only ftps*.c include it.
 *
 * Deadlines (docs/transport-ftps.md, "Deadlines"): a listing must keep at
 * least FTPS_LIST_MIN_RATE bytes/s over any `timeout` seconds and end within
 * FTPS_LIST_DEADLINE_X x timeout, and is refused at once past its size cap;
 * a file read fails after `timeout` seconds without a byte.
 *
 * Owns: nothing beyond the call. Must not touch: the engine, the terminal.
 */
#ifndef RSL_FTPS_GET_H
#define RSL_FTPS_GET_H

#include <stddef.h>
#include <stdint.h>

#include "transport.h"

rsl_code rsl_ftps_list(rsl_conn *c, const char *rel, rsl_list_cb cb, void *ud, rsl_err *err);
rsl_code rsl_ftps_read(rsl_conn *c, const char *rel, rsl_read_cb cb, void *ud, rsl_err *err);
/* Up to len bytes of rel from byte off into buf (*got: how many came): REST
 * + RETR. to_eof: the range ends at the end of the file, so the transfer
 * ends by itself and the control connection is kept; otherwise curl cuts
 * the transfer short after len bytes and closes the control connection (the
 * next command logs in again: a reconnect's round trips). */
rsl_code rsl_ftps_read_range(rsl_conn *c, const char *rel, uint64_t off, size_t len, int to_eof,
                             unsigned char *buf, size_t *got, rsl_err *err);
/* The server's digest of rel by the first of HASH, XSHA256, XMD5 that FEAT
 * offers and that gives `want` ("sha256", "md5"; NULL: any): the
 * algorithm's name ("SHA-256") into alg, the digest into digest, *len its
 * length; *len = 0 when none applies. */
rsl_code rsl_ftps_hash(rsl_conn *c, const char *rel, const char *want, char *alg, size_t algsz,
                       unsigned char *digest, size_t *len, rsl_err *err);

#endif
