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

#include "transport.h"

rsl_code rsl_ftps_list(rsl_conn *c, const char *rel, rsl_list_cb cb, void *ud, rsl_err *err);
rsl_code rsl_ftps_read(rsl_conn *c, const char *rel, rsl_read_cb cb, void *ud, rsl_err *err);
/* The server's digest of rel by the first of HASH, XSHA256, XMD5 that FEAT
 * offers and that gives `want` ("sha256", "md5"; NULL: any): the
 * algorithm's name ("SHA-256") into alg, the digest into digest, *len its
 * length; *len = 0 when none applies. */
rsl_code rsl_ftps_hash(rsl_conn *c, const char *rel, const char *want, char *alg, size_t algsz,
                       unsigned char *digest, size_t *len, rsl_err *err);

#endif
