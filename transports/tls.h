/*
 * tls.h - the TLS settings the TLS transports (ftps, https) share, declared
 * once: the struct each of them embeds in its own settings, the key-table
 * fragment they both list (one RSL_KEY_GROUP row), the defaults, and the
 * warning line when verification is turned off.
 *
 *   ca_file        PEM bundle to verify the server against (default: the
 *                  system store)
 *   pinned_pubkey  "sha256//base64" of the server's public key
 *   tls_verify     yes (default) / no: no means NOT verified, warned about
 *                  on every run and every connect
 *   allow_insecure yes lets the plain-text schemes (ftp://, http://) run
 *
 * Owns: the struct's strings (freed through the key table). Must not touch:
 * libcurl (each transport applies the settings its own way), the network.
 */
#ifndef RSL_TRANSPORT_TLS_H
#define RSL_TRANSPORT_TLS_H

#include "keys.h"

typedef struct rsl_tls_cfg {
    char *ca_file;       /* NULL: the system store */
    char *pinned_pubkey; /* NULL: no pin */
    int tls_verify;      /* 1 (default): verify; 0: warn on every run */
    int allow_insecure;  /* 1: plain ftp:// and http:// allowed (warns) */
} rsl_tls_cfg;

/* The defaults as an initializer: no CA file, no pin, verification on,
 * plain text refused. */
#define RSL_TLS_CFG_DEFAULTS                                                                       \
    {                                                                                              \
        .ca_file = NULL, .pinned_pubkey = NULL, .tls_verify = 1, .allow_insecure = 0               \
    }

#define RSL_TLS_NKEYS 4
extern const rsl_key rsl_tls_keys[RSL_TLS_NKEYS];

/* Sets the defaults (RSL_TLS_CFG_DEFAULTS). */
void rsl_tls_cfg_init(rsl_tls_cfg *t);
/* The run's warning when these settings turn verification off, else NULL. */
const char *rsl_tls_unverified(const rsl_tls_cfg *t);

#endif
