/*
 * sftp.h - the sftp:// transport on libssh2 (SFTP v3 against OpenSSH and
 * compatible servers).
 *
 * Owns: the TCP connection, the SSH session (host-key trust, auth,
 * keepalives, timeouts), the SFTP channel, a second SFTP channel used only
 * for OpenSSH extensions libssh2 1.10 cannot send (posix-rename@openssh.com),
 * the per-connection cache of created directories (dircache.h), the mapping
 * of libssh2 / SFTP status codes onto the catalog, and its [remote] keys:
 *   identity_file, passphrase_file, known_hosts, host_key_fingerprint,
 *   strict_host_key_checking, use_agent.
 * The parts: sftp.c (connect, operations), sftp_conn.c (shared state, TCP,
 * error mapping), sftp_auth.c (trust, authentication), sftp_side.c (the
 * extension channel).
 * Must not touch: SQLite, the engine's plan, the terminal, known_hosts files
 * (read only, via knownhosts.h). Secrets are read from their files
 * (secret.h), used, wiped; never logged.
 */
#ifndef RSL_TRANSPORT_SFTP_H
#define RSL_TRANSPORT_SFTP_H

#include "transport.h"

extern const rsl_transport_ops rsl_transport_sftp;

/* The sftp transport's settings (rsl_remote_opts.cfg). Paths are absolute
 * (or start with "~/"); NULL means not set. */
typedef struct rsl_sftp_cfg {
    char *identity_file;          /* SSH private key */
    char *passphrase_file;        /* passphrase for identity_file */
    char *known_hosts;            /* NULL: ~/.ssh/known_hosts */
    char *host_key_fingerprint;   /* "SHA256:base64" pin, replaces known_hosts */
    int strict_host_key_checking; /* 1 (default): verify; 0: warn on every run */
    int use_agent;                /* 1 (default): try ssh-agent */
} rsl_sftp_cfg;

/* The defaults: strict host key checking, ssh-agent tried, nothing else set. */
void rsl_sftp_cfg_init(rsl_sftp_cfg *cfg);

#endif
