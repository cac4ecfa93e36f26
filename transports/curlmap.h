/*
 * curlmap.h - what the libcurl transports (ftps, https) share about libcurl:
 * the one curl_global_init (run once per process, thread-safe) and the one
 * table from a CURLcode to a catalog code.
 *
 * The rule of the table: every CURLcode a transfer can end with is listed
 * with its catalog code and a reason. Name resolution, connect, timeout,
 * TLS (certificate verification split by OpenSSL's verify result into
 * expired / wrong name / untrusted), credentials, the passive FTP data
 * connection, a full remote disk and out-of-memory have their own codes; a
 * transfer cut or aborted mid-way is CONNECTION_LOST; a CURLcode not in the
 * table is PROTOCOL (libcurl or the server did something we do not expect).
 * A ca_file curl cannot load is CONFIG_BAD_VALUE (the operator fixes the job
 * file). What a server's own reply means (an FTP reply code, an HTTP status)
 * is not decided here: each transport maps those itself, before falling back
 * to this table.
 *
 * Owns: the global init's result. Must not touch: a transport's handles
 * beyond reading CURLINFO_SSL_VERIFYRESULT.
 */
#ifndef RSL_TRANSPORT_CURLMAP_H
#define RSL_TRANSPORT_CURLMAP_H

#include <curl/curl.h>

#include "base/catalog.h"

/* Runs curl_global_init once for the process. Returns RSL_OK, or
 * RSL_E_INTERNAL with err set when libcurl could not initialise. */
rsl_code rsl_curlmap_init(rsl_err *err);

/* The catalog code for CURLcode e. verify_result is OpenSSL's verify result
 * (CURLINFO_SSL_VERIFYRESULT; only read for CURLE_PEER_FAILED_VERIFICATION),
 * detail the error buffer's text (may name the host mismatch). */
rsl_code rsl_curlmap_code(CURLcode e, long verify_result, const char *detail);

/* What a message needs about the failed transfer. */
typedef struct rsl_curlmap_ctx {
    CURL *h;            /* the easy handle (for the verify result), or NULL */
    const char *errbuf; /* CURLOPT_ERRORBUFFER's text, or NULL / "" */
    const char *host;   /* "host:port" as the user wrote it */
    int timeout_sec;    /* for TIMEOUT messages */
} rsl_curlmap_ctx;

/* Fills err for CURLcode e of operation `what` on `item` and returns the
 * code: "<what> '<item>' on <host>: <reason>: <detail>". err->native is the
 * CURLcode (the verify result for certificate failures). */
rsl_code rsl_curlmap_err(rsl_err *err, const rsl_curlmap_ctx *x, CURLcode e, const char *what,
                         const char *item);

#endif
