/*
 * sftp_conn.h - one sftp:// connection's state, shared by the files of the
 * sftp transport: sftp.c (settings, connect, the simple operations, run),
 * sftp_auth.c (host-key trust and authentication on the libssh2 carrier),
 * sftp_io.c (uploads, finish) and sftp_get.c (reads, hashes); plus what
 * they all use:
 * the run-log line, the TCP connect, the connect deadline, the one place
 * libssh2 errors become catalog codes, and the facts remembered about a
 * server. Internal to the sftp transport; its functions are named rsl_sftp_*
 * because they are the transport's parts, not modules of their own.
 *
 * Owns: struct rsl_conn of the sftp transport (sftp.c frees it). Must not
 * touch: the engine, the terminal, known_hosts files (read only, through
 * knownhosts.h), the SFTP bytes (the client modules own them).
 */
#ifndef RSL_SFTP_CONN_H
#define RSL_SFTP_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <libssh2.h>

#include "dircache.h"
#include "sftp.h"
#include "sftp_client.h"

#define RSL_SFTP_PATH_BUF 4096 /* longest remote path we send */
#define RSL_SFTP_EARLY_MAX 64  /* early stats taken (opts->early_stat) */

/* One of the caller's early stats, answered with connect's first look and
 * kept for the first RSL_OP_STAT of its path. */
typedef struct rsl_sftp_early {
    char *path;
    int answered, used;
    int *left; /* the first look's count of answers still out */
    rsl_rstat st;
    rsl_err err;
} rsl_sftp_early;

struct rsl_conn {
    /* the way to the server */
    int sock;            /* TCP socket of the libssh2 carrier; -1 with ssh_command */
    LIBSSH2_SESSION *ss; /* NULL with ssh_command */
    rsl_sftp_client *cl; /* our SFTP client; it owns the carrier */
    int exec;            /* 1: the carrier is OpenSSH's ssh (ssh_command) */
    int dead;            /* the session failed: close without a goodbye */
    double deadline;     /* connect's deadline (CLOCK_MONOTONIC seconds) */
    int tsec;            /* the timeout, seconds */
    /* names */
    char *root, *host;
    char *user; /* NULL on the exec carrier when neither the URL nor username names one */
    int port;   /* the port connected to (22 when the URL names none) */
    char hostport[300];
    /* what connect learnt */
    char hostfp[64], keytype[64], trust[160], auth[64];
    const char *kbd_password; /* only during keyboard-interactive auth */
    int strict;
    int no_seek;         /* the server cannot write at an offset: no resume */
    char seek_note[160]; /* how that is known, for describe() */
    /* operations */
    rsl_dircache dirs;           /* directories known to exist */
    char *last_tmp;              /* temp file of the last upload and its size after */
    uint64_t last_size;          /* the last write (FSTAT), for finish()'s size check */
    rsl_remote_opts o;           /* a copy; its strings are borrowed (valid while connected) */
    const rsl_remote_opts *opts; /* = &o */
    const rsl_sftp_cfg *cfg;     /* o.cfg, or the defaults */
    rsl_sftp_early *early;       /* opts->early_stat's answers (n_early) */
    size_t n_early;
};

/* A line for the run log (opts->log), when there is one. */
void rsl_sftp_log(rsl_conn *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- the connect deadline (libssh2 carrier, non-blocking session) ---- */

double rsl_sftp_now(void);
/* Milliseconds left before c->deadline (0 when passed). */
int rsl_sftp_left_ms(const rsl_conn *c);
/* Waits until c->sock is ready in the direction libssh2 is blocked on, or
 * the deadline passes. Returns 0, or -1 at the deadline. */
int rsl_sftp_wait(rsl_conn *c);
/* TIMEOUT for `what` (the session is dead). */
rsl_code rsl_sftp_timed_out(rsl_conn *c, rsl_err *err, const char *what);

/* Maps the session's last error after a failed libssh2 call: everything
 * means the session is unusable (c->dead). */
rsl_code rsl_sftp_map_ssh(rsl_conn *c, rsl_err *err, const char *what, const char *rel);
/* 1 if the last libssh2 error means the session died (not just "rejected"). */
int rsl_sftp_broken(rsl_conn *c);

/* Connects c->sock to c->host:c->port before the deadline. */
rsl_code rsl_sftp_tcp_connect(rsl_conn *c, rsl_err *err);

/* ---- after an operation ---- */

/* rc came back from the client: when the session failed, marks c dead (the
 * engine reconnects). Returns rc. */
rsl_code rsl_sftp_after(rsl_conn *c, rsl_code rc);
/* REMOTE_NAME_REFUSED for a path longer than RSL_SFTP_PATH_BUF - 1. */
rsl_code rsl_sftp_path_too_long(rsl_conn *c, rsl_err *err, const char *rel);

/* ---- facts remembered about the server (opts->cache_get/set) ---- */

/* Reads what the cache says about writing at an offset into c->no_seek
 * (a "no" older than RSL_SFTP_FACT_MAX_AGE is forgotten). Returns 1 when
 * the cache had a fresh answer. */
int rsl_sftp_facts_load(rsl_conn *c);
/* The server showed that it cannot write at an offset (why: what it did):
 * no resume on this connection from now on, remembered for the next ones,
 * logged once. */
void rsl_sftp_learn_no_seek(rsl_conn *c, const char *why);
/* A probe (check) showed that it can: remembered. */
void rsl_sftp_learn_seek_ok(rsl_conn *c);
/* What the cache says of posix-rename@openssh.com on this server for this
 * user (RSL_SFTP_RENAME_FACT): 1 it works, 0 it is refused, -1 unknown or
 * older than RSL_SFTP_FACT_MAX_AGE (probe again). */
int rsl_sftp_rename_fact(rsl_conn *c);
/* Remembers the probe's answer: "yes", "no", or NULL to forget (a
 * posix-rename was refused against what the cache said). */
void rsl_sftp_rename_fact_set(rsl_conn *c, const char *what);

/* ---- for tests: a connection over a client opened by the caller ---- */

/* Builds the connection over cl (any carrier: tests use a scripted one) as
 * connect() does after the carrier: names from ep and opts, the remote root
 * checked, extensions the server refuses dropped, facts loaded. Takes cl
 * in every case. On RSL_OK the caller owns *out (ops->disconnect). */
rsl_code rsl_sftp_conn_adopt(rsl_conn **out, rsl_sftp_client *cl, const rsl_endpoint *ep,
                             const rsl_remote_opts *opts, rsl_err *err);

#endif
