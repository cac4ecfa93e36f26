/*
 * ftps_session.h - the control connection of one ftps connection: the curl
 * handles and their options, login, running a batch of commands in one
 * request and reading each answer back from the transcript (ftpctl.h), and
 * mapping what a perform ended with onto the catalog (the server's reply
 * first, then curlmap.h). Internal to the ftps transport: only ftps.c and
 * ftps_session.c include it. Its functions are named rsl_ftps_* because
 * they are the transport's other half, not a module of their own.
 *
 * Owns: struct rsl_conn of the ftps transport and everything in it
 * (rsl_ftps_close frees it). Must not touch: the engine, the terminal.
 */
#ifndef RSL_FTPS_SESSION_H
#define RSL_FTPS_SESSION_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "dircache.h"
#include "ftpctl.h"
#include "ftps.h"

/* Why a perform was aborted by us (rsl_conn.abort_why). */
enum { RSL_FTPS_ABORT_NONE = 0, RSL_FTPS_ABORT_DEADLINE, RSL_FTPS_ABORT_REPLY_CAP };

#define RSL_FTPS_SOCKS 4    /* sockets tracked for an abort (control + data) */
#define RSL_FTPS_CMDS_MAX 8 /* commands in one batch built with rsl_ftps_add */

struct rsl_conn {
    CURL *h;
    CURLM *m;                    /* drives h; owns the connection cache (the control connection) */
    rsl_remote_opts o;           /* a copy: the caller's struct may not outlive connect */
    const rsl_remote_opts *opts; /* = &o; its strings are borrowed for the connection */
    const rsl_ftps_cfg *cfg;     /* o.cfg, or the defaults */
    char *base;                  /* "ftp://127.0.0.1:2121" (implicit: "ftps://...") */
    char *typeurl;  /* the remote root as a file URL: NOBODY on it makes curl send TYPE I */
    char *root;     /* absolute remote root without trailing '/', "" for "/" */
    char *host;     /* for messages */
    char *hostport; /* "host:port" for messages */
    char *user;     /* for messages */
    int port;
    int insecure; /* plain ftp:// */
    int timeout;  /* seconds */
    /* FEAT facts */
    unsigned feat; /* RSL_FTP_FEAT_* */
    int has_mlsd, has_mlst, has_mfmt, has_utf8;
    int mdtm_write;        /* 1 yes, 0 unknown, -1 no: "MDTM time path" sets mtime (vsftpd) */
    int need_setup;        /* the control connection in use lacks OPTS UTF8 ON / TYPE I */
    int ascii;             /* curl left the session in TYPE A (after a listing) */
    int rename_overwrites; /* 1: RNTO replaces an existing file; 0 once a server refused */
    int epsv;              /* 1 until the server refused EPSV: then PASV directly */
    int data_ok;           /* a data connection of this connection worked (passive mode works) */
    long hash_login;       /* control_connects when OPTS HASH SHA-256 was accepted, or -1 */
    /* the temp file's size known right after its upload, for finish */
    char *after_upload_path;
    uint64_t after_upload_size;
    int after_upload_ok;
    rsl_dircache made;  /* directories known to exist */
    rsl_ftpctl_log rep; /* transcript of the current perform */
    char errbuf[CURL_ERROR_SIZE];
    /* deadlines and aborts of the current perform */
    int64_t deadline_ms; /* CLOCK_MONOTONIC ms after which it is aborted, 0: none */
    int abort_why;       /* RSL_FTPS_ABORT_* */
    long activity;       /* debug callbacks seen: curl moved on */
    int socks[RSL_FTPS_SOCKS], nsocks;
    /* upload state */
    rsl_source *src;
    uint64_t to_send, sent;
    rsl_err src_err;
    int src_failed;
    int verify_at_end; /* call src->verify when the last byte was read */
    /* download state (listing into `list`, or a read op's callback) */
    rsl_buf list; /* a listing's raw text, capped */
    int (*read_cb)(void *ud, const void *data, size_t n);
    void *read_ud;
    int read_stopped;
    uint64_t got;
    rsl_ftps_stats stats;
};

/* A batch of commands for one request, each checked against the command
 * line bound (rsl_ftps_add); free with rsl_ftps_cmds_free. */
typedef struct rsl_ftps_cmds {
    char *v[RSL_FTPS_CMDS_MAX];
    size_t n;
} rsl_ftps_cmds;

/* Connects: checks the destination (plain FTP allowed, a user, no control
 * character), reads the password (secret.h), sets the handle up (TLS from
 * cfg), logs in, reads FEAT and checks the remote root with CWD. On RSL_OK
 * the caller owns *out (rsl_ftps_close). */
rsl_code rsl_ftps_open(rsl_conn **out, const rsl_endpoint *ep, const rsl_remote_opts *opts,
                       const rsl_ftps_cfg *cfg, rsl_err *err);
/* Closes the control connection (QUIT) and frees c. NULL-safe. */
void rsl_ftps_close(rsl_conn *c);

/* A line for the run log (opts->log), when there is one. */
void rsl_ftps_log(const rsl_conn *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The absolute remote path of rel (malloc'd) into *out. NAME_CONTROL_CHAR
 * for a control character. Its length is checked where a command is built
 * (rsl_ftps_add, rsl_ftps_fits). */
rsl_code rsl_ftps_path(const rsl_conn *c, const char *rel, char **out, rsl_err *err);
/* RSL_OK when "VERB p" fits one command line; else PATH_TOO_LONG for rel,
 * naming the limit (ftpctl.h). For commands curl builds from a URL. */
rsl_code rsl_ftps_fits(const char *verb, const char *p, const char *rel, rsl_err *err);
/* Appends the command printf(fmt, ...) to b (malloc'd). Returns its index
 * through *idx (may be NULL) and RSL_OK, PATH_TOO_LONG for item rel when it
 * would not fit a command line, NO_MEMORY. Never cuts a command. */
rsl_code rsl_ftps_add(rsl_ftps_cmds *b, size_t *idx, const char *rel, rsl_err *err, const char *fmt,
                      ...) __attribute__((format(printf, 5, 6)));
void rsl_ftps_cmds_free(rsl_ftps_cmds *b);

/* Sends commands (without '*') in order, whatever each answers, in one
 * request; the answers are then read with rsl_ftps_code. Sets the session up
 * (binary mode, OPTS UTF8 ON) first when the connection in use may lack it.
 * RSL_OK when the server answered (whatever it answered). */
rsl_code rsl_ftps_run(rsl_conn *c, const char *const *cmds, size_t n, const char *what,
                      const char *path, rsl_err *err);
/* rsl_ftps_run over a batch. */
rsl_code rsl_ftps_send(rsl_conn *c, const rsl_ftps_cmds *b, const char *what, const char *path,
                       rsl_err *err);
/* The reply code to command `cmd` of the last request (0: unanswered);
 * *text (may be NULL) its last line. */
int rsl_ftps_code(const rsl_conn *c, const char *cmd, const char **text);
/* A "213 <n>" answer to SIZE command `cmd` -> 1 with *size; else 0. */
int rsl_ftps_size(const rsl_conn *c, const char *cmd, uint64_t *size);
/* SIZE of absolute path p (item rel): *exists and *size. */
rsl_code rsl_ftps_remote_size(rsl_conn *c, const char *rel, const char *p, int *exists,
                              uint64_t *size, rsl_err *err);

/* What absolute path p (item rel) is, asked with CWD and SIZE in one
 * request: *kind 'd' (CWD 250), 'f' (SIZE 213) or 0 (neither). RSL_OK when the
 * server answered. */
rsl_code rsl_ftps_kind_of(rsl_conn *c, const char *rel, const char *p, const char *what, int *kind,
                          rsl_err *err);

/* Resets the per-operation options before a transfer of one's own. */
void rsl_ftps_reset(rsl_conn *c);
/* Runs one transfer on url through the connection's multi handle, within
 * c->deadline_ms when set (then CURLE_OPERATION_TIMEDOUT, abort_why
 * DEADLINE), and stops at once when a reply passes the transcript's cap
 * (abort_why REPLY_CAP): the connection's sockets are shut down, so nothing
 * more is read and curl drops that connection. */
CURLcode rsl_ftps_perform(rsl_conn *c, const char *url);
/* Milliseconds of CLOCK_MONOTONIC. */
int64_t rsl_ftps_now_ms(void);
/* 1 if curl dropped the connection with e (the next one needs setup). */
int rsl_ftps_conn_error(CURLcode e);
/* Maps what a perform ended with: our own abort (a reply past the cap, a
 * deadline), a 421 (the server says why it closed), the server's refusal of
 * the transfer command itself (a 550/553 to STOR is per item, whatever
 * CURLcode curl makes of it), passive mode (a data connection that could not
 * be opened: the firewall hint; EPSV and PASV refused: the server's answer),
 * then curlmap.h's table. */
rsl_code rsl_ftps_map_curl(rsl_conn *c, CURLcode e, rsl_err *err, const char *what,
                           const char *path);

#endif
