/*
 * ftps.h - the FTPS transport (ftps://, and plain ftp:// only with allow_insecure),
 * on libcurl's FTP engine.
 *
 * Owns: one libcurl easy handle per rsl_conn (curl keeps the control connection
 * open across calls and reopens it when it is lost), the per-connection cache of
 * created directories (dircache.h), the FEAT-derived facts (MLSD, MFMT, UTF8), the
 * FTP-specific part of mapping libcurl's results (the reply transcript and reply
 * codes of ftpctl.h decide first, then curlmap.h), and its [remote] keys:
 *   ca_file, pinned_pubkey, tls_verify, allow_insecure (tls.h), ftps_mode.
 * Must not touch: SQLite, the engine's plan, the terminal (it never prints), any
 * global mutable state (curl_global_init runs once through curlmap.h).
 */
#ifndef RSL_FTPS_H
#define RSL_FTPS_H

#include "tls.h"
#include "transport.h"

extern const rsl_transport_ops rsl_transport_ftps;

/* The ftps transport's settings (rsl_remote_opts.cfg). */
typedef struct rsl_ftps_cfg {
    rsl_tls_cfg tls;
    int implicit; /* ftps_mode: 0 explicit (AUTH TLS, default), 1 implicit (port 990 style) */
} rsl_ftps_cfg;

/* The defaults: explicit TLS, verification on (tls.h). */
void rsl_ftps_cfg_init(rsl_ftps_cfg *cfg);

/* Counters of one connection since connect, for tests and `check`. */
typedef struct rsl_ftps_stats {
    long control_connects;    /* new control connections curl made (login included) */
    long tls_handshakes;      /* TLS handshakes, control and data connections */
    long tls_full_handshakes; /* of which not resumed (the server sent its certificate) */
    long data_transfers;      /* performs that opened a data connection */
    long commands;            /* command lines sent on the control connection (login included) */
    long performs;            /* requests run through libcurl (each a wait for the server) */
} rsl_ftps_stats;

/* Fills *out with c's counters. c must come from rsl_transport_ftps.connect. */
void rsl_ftps_stats_get(rsl_conn *c, rsl_ftps_stats *out);

#endif
