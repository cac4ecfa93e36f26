/*
 * sftp_conn.h - one sftp:// connection's state, shared by the files of the
 * sftp transport: sftp.c (connect and the operations), sftp_auth.c (host-key
 * trust and authentication) and sftp_side.c (the side channel for OpenSSH
 * extensions); plus what they all use: the run-log line, the TCP connect,
 * remote paths, and the one place libssh2 and SFTP status codes become
 * catalog codes. Internal to the sftp transport; its functions are named
 * rsl_sftp_* because they are the transport's parts, not modules of their
 * own.
 *
 * Owns: struct rsl_conn of the sftp transport (sftp.c frees it). Must not
 * touch: the engine, the terminal, known_hosts files (read only, through
 * knownhosts.h).
 */
#ifndef RSL_SFTP_CONN_H
#define RSL_SFTP_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "dircache.h"
#include "sftp.h"

#define RSL_SFTP_PATH_BUF 4096 /* longest remote path we send */
#define RSL_SFTP_XCH_STASH 64  /* > the replies of one batch (SMALL_MAX / 32 KiB + 3) */

struct rsl_conn {
    int sock;
    LIBSSH2_SESSION *ss;
    LIBSSH2_SFTP *sftp;
    LIBSSH2_CHANNEL *xch; /* side SFTP channel for extensions, or NULL */
    uint32_t xid;         /* request id on the side channel */
    int posix_rename;     /* server offers posix-rename@openssh.com (on xch) */
    int dead;             /* session unusable: disconnect without a goodbye */
    int strict;
    char *root;
    char *host;
    char *user;
    int port;
    char hostfp[64];
    char keytype[64];
    char trust[160];
    char auth[64];
    const char *kbd_password; /* only during keyboard-interactive auth */
    rsl_dircache dirs;        /* directories known to exist */
    struct {
        uint32_t id, len;
        unsigned char *pkt;
    } stash[RSL_SFTP_XCH_STASH]; /* side-channel replies that arrived before their turn */
    int nstash;
    char *last_tmp;              /* temp file of the last upload and its size after the */
    uint64_t last_size;          /* last write (fstat), for finish()'s size check */
    unsigned char *buf;          /* upload buffer, allocated on first upload */
    rsl_remote_opts o;           /* a copy; its strings are borrowed (valid while connected) */
    const rsl_remote_opts *opts; /* = &o */
    const rsl_sftp_cfg *cfg;     /* o.cfg, or the defaults */
};

/* A line for the run log (opts->log), when there is one. */
void rsl_sftp_log(rsl_conn *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Maps an SFTP status (FX_*) of an operation on rel. OpenSSH's sftp-server
 * reports ENOSPC/EEXIST/ENOTEMPTY/EISDIR as plain FAILURE and
 * ENAMETOOLONG/EINVAL as BAD_MESSAGE; callers refine FAILURE by context. */
rsl_code rsl_sftp_map_fx(rsl_conn *c, rsl_err *err, unsigned long fx, const char *what,
                         const char *rel);
/* Maps the session's last error after a failed libssh2 call. SFTP status
 * errors go to rsl_sftp_map_fx; everything else means the session is
 * unusable (c->dead). */
rsl_code rsl_sftp_map_ssh(rsl_conn *c, rsl_err *err, const char *what, const char *rel);
/* 1 if the last libssh2 error means the session died (not just "rejected"). */
int rsl_sftp_broken(rsl_conn *c);

/* Writes root + "/" + rel into buf; returns its length or -1 if too long. */
int rsl_sftp_path(rsl_conn *c, const char *rel, char *buf, size_t n);
/* REMOTE_NAME_REFUSED for a path longer than RSL_SFTP_PATH_BUF - 1. */
rsl_code rsl_sftp_path_too_long(rsl_conn *c, rsl_err *err, const char *rel);

/* Connects c->sock to c->host:c->port within timeout_ms. */
rsl_code rsl_sftp_tcp_connect(rsl_conn *c, int timeout_ms, rsl_err *err);

#endif
