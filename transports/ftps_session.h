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

#define RSL_FTPS_PATH_MAX 4096                    /* longest absolute remote path we send */
#define RSL_FTPS_CMD_BUF (RSL_FTPS_PATH_MAX + 64) /* "VERB path" */

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
    int has_mlsd, has_mlst, has_mfmt, has_utf8;
    int mdtm_write;        /* 1 yes, 0 unknown, -1 no: "MDTM time path" sets mtime (vsftpd) */
    int need_setup;        /* the control connection in use lacks OPTS UTF8 ON / TYPE I */
    int ascii;             /* curl left the session in TYPE A (after a listing) */
    int rename_overwrites; /* 1: RNTO replaces an existing file; 0 once a server refused */
    /* SIZE of the temp file asked right after its upload (POSTQUOTE), for finish */
    char *after_upload_path;
    uint64_t after_upload_size;
    int after_upload_ok;
    rsl_dircache made;  /* directories known to exist */
    rsl_ftpctl_log rep; /* transcript of the current perform */
    char errbuf[CURL_ERROR_SIZE];
    /* upload state */
    rsl_source *src;
    uint64_t to_send, sent;
    rsl_err src_err;
    int src_failed;
    /* listing state */
    rsl_buf list; /* a listing's raw text, capped (ftps.c) */
    rsl_ftps_stats stats;
};

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
 * for a control character; REMOTE_NAME_REFUSED when longer than
 * RSL_FTPS_PATH_MAX: a command is never cut (a cut path names another file). */
rsl_code rsl_ftps_path(const rsl_conn *c, const char *rel, char **out, rsl_err *err);
/* "VERB path" into buf[RSL_FTPS_CMD_BUF] (fits: rsl_ftps_path capped the
 * path); returns buf. */
const char *rsl_ftps_cmd(char *buf, const char *verb, const char *p);

/* Sends commands (without '*') in order, whatever each answers, in one
 * request; the answers are then read with rsl_ftps_code. Sets the session up
 * (binary mode, OPTS UTF8 ON) first when the connection in use may lack it.
 * RSL_OK when the server answered (whatever it answered). */
rsl_code rsl_ftps_run(rsl_conn *c, const char *const *cmds, size_t n, const char *what,
                      const char *path, rsl_err *err);
/* The reply code to command `cmd` of the last request (0: unanswered);
 * *text (may be NULL) its last line. */
int rsl_ftps_code(const rsl_conn *c, const char *cmd, const char **text);
/* A "213 <n>" answer to SIZE command `cmd` -> 1 with *size; else 0. */
int rsl_ftps_size(const rsl_conn *c, const char *cmd, uint64_t *size);
/* SIZE of absolute path p (item rel): *exists and *size. */
rsl_code rsl_ftps_remote_size(rsl_conn *c, const char *rel, const char *p, int *exists,
                              uint64_t *size, rsl_err *err);

/* Resets the per-operation options before a transfer of one's own. */
void rsl_ftps_reset(rsl_conn *c);
/* Runs one transfer on url through the connection's multi handle. */
CURLcode rsl_ftps_perform(rsl_conn *c, const char *url);
/* 1 if curl dropped the connection with e (the next one needs setup). */
int rsl_ftps_conn_error(CURLcode e);
/* Maps what a perform ended with: a 421 (the server says why it closed),
 * the FTP-specific cases, the server's reply code when curl's code does not
 * decide, then curlmap.h's table. */
rsl_code rsl_ftps_map_curl(rsl_conn *c, CURLcode e, rsl_err *err, const char *what,
                           const char *path);

#endif
