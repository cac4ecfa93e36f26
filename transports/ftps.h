/*
 * ftps.h - the FTPS transport (ftps://, and plain ftp:// only with allow_insecure),
 * on libcurl's FTP engine.
 *
 * Owns: one libcurl easy handle per rsl_conn (curl keeps the control connection
 * open across calls and reopens it when it is lost), the per-connection cache of
 * created directories, the FEAT-derived facts (MLSD, MFMT, UTF8), the mapping of
 * CURLcode and FTP reply codes onto the error catalog.
 * Must not touch: SQLite, the engine's plan, the terminal (it never prints), any
 * global mutable state (curl_global_init runs once through pthread_once).
 */
#ifndef RSL_FTPS_H
#define RSL_FTPS_H

#include "transport.h"

extern const rsl_transport_ops rsl_transport_ftps;

/* Counters of one connection since connect, for tests and `check`. */
typedef struct rsl_ftps_stats {
    long control_connects;    /* new control connections curl made (login included) */
    long tls_handshakes;      /* TLS handshakes, control and data connections */
    long tls_full_handshakes; /* of which not resumed (the server sent its certificate) */
    long data_transfers;      /* performs that opened a data connection */
} rsl_ftps_stats;

/* Fills *out with c's counters. c must come from rsl_transport_ftps.connect. */
void rsl_ftps_stats_get(rsl_conn *c, rsl_ftps_stats *out);

#endif
