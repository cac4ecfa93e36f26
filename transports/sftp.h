/*
 * sftp.h - the sftp:// transport: our SFTP v3 client (sftp_client.h) over
 * one of two carriers (sftp_carrier.h):
 *   - by default a channel of an SSH session made by libssh2 (TCP, host-key
 *     trust against known_hosts or a pinned fingerprint, authentication by
 *     key, agent, password or keyboard-interactive, all under one deadline);
 *   - with ssh_command set, OpenSSH's ssh run as a child (the operator's
 *     ssh_config, agent, ProxyJump; host keys checked by ssh against the
 *     job's known_hosts, never a password).
 *
 * Owns: the connection (sftp_conn.h), the per-connection cache of created
 * directories (dircache.h), the facts it learns about a server (can it
 * write at an offset), and its [remote] keys:
 *   identity_file, passphrase_file, known_hosts, host_key_fingerprint,
 *   strict_host_key_checking, use_agent, ssh_command.
 * The parts: sftp.c (settings, connect, the simple operations, run),
 * sftp_conn.c (state, TCP, deadlines, libssh2 error mapping, facts),
 * sftp_auth.c (trust, authentication), sftp_io.c (upload, finish),
 * sftp_get.c (resume_offset, read, hash), and the client modules
 * (sftp_client.c, sftp_sync.c, sftp_put.c, the carriers).
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
    /* NULL: the embedded SSH client (libssh2). Else OpenSSH's ssh as this
     * command ("ssh", or a path and arguments, split without a shell). */
    char *ssh_command;
} rsl_sftp_cfg;

/* The defaults: strict host key checking, ssh-agent tried, nothing else set. */
void rsl_sftp_cfg_init(rsl_sftp_cfg *cfg);

/* The key of the fact "this server cannot write at an offset" in the
 * engine's cache (rsl_remote_opts.cache_get/set): "sftp:HOST:PORT:seek".
 * Its value is "no <unix time learnt>" or "yes <unix time probed>". */
#define RSL_SFTP_SEEK_FACT "sftp:%s:%d:seek"
/* A "no" older than this is tried again (resume attempted, or probed). */
#define RSL_SFTP_FACT_MAX_AGE (30 * 86400)
/* The key of the fact "this server, for this user, answers
 * posix-rename@openssh.com" (it lists it and a probe of a missing name said
 * NO_SUCH_FILE, or it refuses it): "sftp:USER@HOST:PORT:posix-rename", value
 * "yes <unix time>" or "no <unix time>". Fresh (younger than
 * RSL_SFTP_FACT_MAX_AGE), it replaces connect's probe; a posix-rename the
 * server refuses forgets it, so the next connect probes again. */
#define RSL_SFTP_RENAME_FACT "sftp:%s@%s:%d:posix-rename"

#endif
