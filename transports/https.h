/*
 * https.h - the https:// (and, with allow_insecure, http://) transport:
 * WebDAV (RFC 4918) over libcurl. One libcurl multi handle per rsl_conn:
 * every request of the connection goes through it, so the HTTP/2
 * connection (or the HTTP/1.1 keep-alive connections) and TLS sessions are
 * reused across files, and the pipelined run() (https_run.h) carries many
 * operations at once as HTTP/2 streams (several connections over HTTP/1.1).
 *
 * Methods: PUT (whole, or chunked with Content-Range where the server applies
 * it), MKCOL, MOVE (Overwrite, absolute Destination), DELETE, HEAD, GET
 * (Range for the resume check; whole for read()), PROPFIND Depth 0/1
 * (parsed by webdav_xml.c). Which requests each operation makes:
 * https_ops.h. Deadlines and response caps: https_req.h.
 *
 * Server facts (partial PUT, the request size limit learnt from 413) are
 * kept through opts->cache_get/cache_set and probed again when an answer
 * contradicts them: https_probe.h names the keys. Without partial PUT:
 * whole-file PUT to the temp name, resume_offset 0.
 *
 * Error details: err->native is the HTTP status or CURLcode, except for
 * RSL_E_REMOTE_BUSY with a Retry-After header, where it is the delay in seconds
 * (the message says both). Text the server sent (a Location) is copied into
 * messages only capped and as printable ASCII.
 *
 * Its [remote] keys: ca_file, pinned_pubkey, tls_verify, allow_insecure
 * (tls.h), token_file, chunk_size.
 *
 * Owns: its libcurl handles, its directory cache (dircache.h), the secrets it
 * reads (secret.h; wiped after handing them to libcurl). Must not touch:
 * SQLite, the terminal, the engine's plan; it never prints (warnings go to
 * opts->log).
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

/* TCP connections c has opened so far (libcurl's CURLINFO_NUM_CONNECTS
 * summed over its requests): 1 for a connection whose requests all went
 * over one HTTP/2 connection. For tests and the run log. */
unsigned long rsl_https_connections(const rsl_conn *c);

#endif
