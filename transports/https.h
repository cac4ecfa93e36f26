/*
 * https.h - the https:// (and, with allow_insecure, http://) transport:
 * WebDAV (RFC 4918) over libcurl. One CURL easy handle per rsl_conn, so TLS
 * sessions and HTTP/2 or HTTP/1.1 keep-alive connections are reused across
 * files.
 *
 * Methods: PUT (whole, or chunked with Content-Range where the server applies
 * it), MKCOL, MOVE (Overwrite, absolute Destination), DELETE, HEAD, GET with
 * Range (resume tail check), PROPFIND Depth 0/1 (parsed by webdav_xml.c).
 *
 * Partial PUT is probed once per server location (a probe file in the remote
 * root: plain PUT, ranged PUT, GET, DELETE) and the answer cached through
 * opts->cache_set under "https:<host>:<port><root-path>:partial-put" =
 * "yes" | "no". Without it: whole-file PUT to the temp name, resume_offset 0.
 *
 * Error details: err->native is the HTTP status or CURLcode, except for
 * RSL_E_REMOTE_BUSY with a Retry-After header, where it is the delay in seconds
 * (the message says both).
 *
 * Requests, error mapping and the response sink are https_req.c; a PROPFIND
 * answer is streamed into webdav_xml.h's parser, never kept whole.
 *
 * Its [remote] keys: ca_file, pinned_pubkey, tls_verify, allow_insecure
 * (tls.h), token_file, chunk_size.
 *
 * Owns: its CURL handle, its directory cache (dircache.h), the secrets it reads
 * (secret.h; wiped after handing them to libcurl). Must not touch: SQLite, the
 * terminal, the engine's plan; it never prints (warnings go to opts->log).
 */
#ifndef RSL_TRANSPORT_HTTPS_H
#define RSL_TRANSPORT_HTTPS_H

#include <stdint.h>

#include "tls.h"
#include "transport.h"

extern const rsl_transport_ops rsl_transport_https;

#define RSL_HTTPS_DEFAULT_CHUNK (16ull << 20)

/* The https transport's settings (rsl_remote_opts.cfg). */
typedef struct rsl_https_cfg {
    rsl_tls_cfg tls;
    char *token_file;    /* bearer token file, or NULL */
    uint64_t chunk_size; /* ranged-PUT chunk size (>= 4K; below 64K counts as 64K) */
} rsl_https_cfg;

/* The defaults: TLS verified (tls.h), no token, 16 MiB chunks. */
void rsl_https_cfg_init(rsl_https_cfg *cfg);

#endif
