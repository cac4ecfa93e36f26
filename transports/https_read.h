/*
 * https_read.h - reading back from an https (WebDAV) server, for verify:
 * read() streams a file with one GET (under the request deadlines of
 * https_req.h, nothing kept in memory), hash() asks for the server's own
 * digest with one HEAD: an ownCloud/Nextcloud-style `OC-Checksum:
 * SHA1:<hex>` header, or RFC 9530 `Repr-Digest` / RFC 3230 `Digest`
 * (asked for with Want-Repr-Digest / Want-Digest). Plain mod_dav and nginx
 * send none of them: hash() is then RSL_E_CHECKSUM_UNAVAILABLE.
 *
 * Internal to the https transport (its ops->read and ops->hash).
 * Owns: nothing beyond a call. Must not touch: the remote's content.
 */
#ifndef RSL_HTTPS_READ_H
#define RSL_HTTPS_READ_H

#include "https_req.h"

rsl_code rsl_https_read(rsl_conn *c, const char *rel, rsl_read_cb cb, void *ud, rsl_err *err);
rsl_code rsl_https_hash(rsl_conn *c, const char *rel, const char *want, rsl_rhash *out,
                        rsl_err *err);

/* The digest named `want` (or the strongest, want NULL) among the values of
 * the OC-Checksum, Repr-Digest and Digest headers (each may be NULL) into
 * *out. Returns 1 when one was found, 0 otherwise. Pure: unit-tested. */
int rsl_https_pick_digest(const char *oc, const char *repr, const char *digest, const char *want,
                          rsl_rhash *out);

#endif
