/*
 * sftp_carrier.h - the byte stream an SFTP client runs over, behind one
 * small interface (as OpenSSH's sftp-client.c runs over two descriptors):
 *   - libssh2 (sftp_carrier_ssh2.c): the "sftp" subsystem on a channel of
 *     an already authenticated LIBSSH2_SESSION, driven non-blocking. The
 *     embedded default: no external program needed.
 *   - exec (sftp_carrier_exec.c): OpenSSH's ssh as a child process
 *     (`ssh ... -s HOST sftp`), as rsync, git and rclone's --sftp-ssh do:
 *     the operator's ~/.ssh/config, agent, ProxyJump, hardware keys and
 *     AES-GCM/ChaCha20 come for free. Host keys stay verified (BatchMode,
 *     StrictHostKeyChecking=yes, the job's known_hosts); password auth is
 *     impossible there.
 *
 * Owns: the interface, the two constructors, and the exec carrier's
 * config-time check. A carrier owns what it created (the channel, the
 * child process and its descriptors), never the SSH session it is given.
 * Must not touch: the SFTP protocol (sftp_wire.h, sftp_client.h), the
 * catalog beyond returning codes, SQLite, the terminal.
 *
 * Contract of the operations (all non-blocking; the client polls):
 *   send: writes up to n bytes; >0 bytes taken, 0 would block, <0 the
 *         carrier failed (*err has a session code).
 *   recv: reads up to n bytes; >0 bytes, 0 nothing now, <0 failed or the
 *         stream ended (*err says why: CONNECTION_LOST, HOSTKEY_UNKNOWN,
 *         AUTH_FAILED, ... as the carrier learnt it).
 *   wait_fds: the descriptors and events to poll() before calling send or
 *         recv again (want_send: the client has bytes to send). Returns
 *         how many it filled (at most max).
 *   tick: called at least every tick_ms() milliseconds while the client
 *         waits (keepalives). <0 on failure with *err.
 *   close: ends the stream and frees the carrier. abort = 1 when the
 *         session is known to be dead: no goodbye, a child is killed at
 *         once. Never leaves a process behind.
 * After a send or recv fails, only close may be called.
 */
#ifndef RSL_SFTP_CARRIER_H
#define RSL_SFTP_CARRIER_H

#include <poll.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/catalog.h"

typedef struct rsl_sftp_carrier rsl_sftp_carrier;

typedef struct rsl_sftp_carrier_ops {
    const char *name; /* "libssh2", "exec" */
    ssize_t (*send)(rsl_sftp_carrier *c, const void *p, size_t n, rsl_err *err);
    ssize_t (*recv)(rsl_sftp_carrier *c, void *p, size_t n, rsl_err *err);
    int (*wait_fds)(rsl_sftp_carrier *c, int want_send, struct pollfd *fds, int max);
    int (*tick_ms)(rsl_sftp_carrier *c);
    int (*tick)(rsl_sftp_carrier *c, rsl_err *err);
    /* one human line: "libssh2 channel (aes128-ctr, hmac-sha2-256)" */
    void (*describe)(rsl_sftp_carrier *c, char *buf, size_t n);
    void (*close)(rsl_sftp_carrier *c, int abort);
} rsl_sftp_carrier_ops;

/* Every carrier starts with this (libgit2 style). */
struct rsl_sftp_carrier {
    const rsl_sftp_carrier_ops *ops;
};

/* ------------------------------------------------------------------ */
/* libssh2 */

struct _LIBSSH2_SESSION;

/* Opens a session channel on ss (connected on socket sock, authenticated)
 * and starts the "sftp" subsystem on it, waiting at most timeout_sec. The
 * session is switched to non-blocking for the carrier's life and back to
 * its former mode by close(); the caller keeps owning ss and sock and
 * frees them after close(). Keepalives are sent as the session's
 * libssh2_keepalive_config() says. Returns RSL_OK, or PROTOCOL when the
 * server refuses the subsystem, TIMEOUT, CONNECTION_LOST. close() with
 * abort = 1 (the session failed) also shuts the socket down, so that
 * freeing the session never waits on a server that does not answer; the
 * session can then only be freed. */
rsl_code rsl_sftp_carrier_ssh2(rsl_sftp_carrier **out, struct _LIBSSH2_SESSION *ss, int sock,
                               int timeout_sec, rsl_err *err);
/* What to poll() while the non-blocking session ss on socket sock waits:
 * the directions libssh2 last blocked on (POLLIN when it says none). */
struct pollfd rsl_sftp_ssh2_pollfd(struct _LIBSSH2_SESSION *ss, int sock);

/* ------------------------------------------------------------------ */
/* exec: OpenSSH's ssh as a child */

typedef struct rsl_sftp_exec_cfg {
    /* "ssh" (found on PATH), or a path and arguments ("/usr/bin/ssh -F
     * /etc/rsl/ssh_config -c aes128-gcm@openssh.com"), split on blanks
     * with '...', "..." and \ quoting, never through a shell. NULL: "ssh". */
    const char *ssh_command;
    const char *host;          /* required; never starts with '-' */
    int port;                  /* 0: ssh's own (its config, else 22) */
    const char *user;          /* NULL: ssh's own (its config, else the login name) */
    const char *identity_file; /* -i; NULL: ssh's own keys and agent */
    /* The job's known_hosts: the only file consulted (the global one is
     * turned off). NULL: ssh's own files. */
    const char *known_hosts;
    int strict;      /* 1: StrictHostKeyChecking=yes (the default and the norm) */
    int no_agent;    /* 1: IdentityAgent=none (use_agent = no) */
    int timeout_sec; /* ConnectTimeout and keepalive; 0: 60 */
    void (*log)(void *ud, int level, const char *msg);
    void *ud;
} rsl_sftp_exec_cfg;

/* Starts the child: `ssh -oBatchMode=yes -oStrictHostKeyChecking=yes
 * -oUserKnownHostsFile=KH ... [operator args] [-i ID] [-p PORT] [-l USER]
 * -s -- HOST sftp` with stdin/stdout on a socket pair and stderr captured
 * (capped), in its own process group, with a clean environment (HOME,
 * PATH, SSH_AUTH_SOCK, USER, LOGNAME; never RSYNCD_LITE_PASSWORD).
 * ssh's own failures (host key, auth, DNS, refused, timeout) show up when
 * the client first reads (recv < 0 with the mapped code). Returns RSL_OK,
 * or CONFIG_BAD_VALUE (bad ssh_command or host), or INTERNAL. */
rsl_code rsl_sftp_carrier_exec(rsl_sftp_carrier **out, const rsl_sftp_exec_cfg *cfg, rsl_err *err);

/* The child's pid (for tests), or -1 once reaped. */
pid_t rsl_sftp_carrier_exec_pid(rsl_sftp_carrier *c);

/* For the config code: a job that sets ssh_command may not set what ssh
 * cannot use in batch mode: password_file ("password auth is not possible
 * with ssh_command"), passphrase_file (load the key into ssh-agent instead) and
 * host_key_fingerprint (put the key in known_hosts instead); pass each
 * key's value or NULL. Also checks that ssh_command splits. Returns RSL_OK
 * or CONFIG_BAD_VALUE with a message naming the key and what to do. */
rsl_code rsl_sftp_exec_check_opts(const char *ssh_command, const char *password_file,
                                  const char *passphrase_file, const char *host_key_fingerprint,
                                  rsl_err *err);

/* Splits cmd as the exec carrier does. On success *argv is a NULL-ended
 * array (free with rsl_sftp_exec_argv_free) of *argc words (at least 1).
 * Returns RSL_OK or CONFIG_BAD_VALUE (empty, unbalanced quote, ...). */
rsl_code rsl_sftp_exec_split(const char *cmd, char ***argv, int *argc, rsl_err *err);
void rsl_sftp_exec_argv_free(char **argv);

/* Maps what ssh printed on stderr (and its exit status) onto a catalog
 * code with a message; exposed for tests. */
rsl_code rsl_sftp_exec_classify(const char *stderr_text, int exit_status, const char *host,
                                int port, rsl_err *err);

#endif
