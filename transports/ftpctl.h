/*
 * ftpctl.h - the text of an FTP control connection, both ways: building
 * commands and URLs safely, and reading the server's replies.
 *
 *   - names: a byte below 0x20 or DEL never reaches a command (CR LF would
 *     end it and start another: command injection), and URLs percent-encode
 *     every byte but A-Za-z0-9-._~/ (pct.h);
 *   - the transcript: every command sent and the reply lines that answered
 *     it, so a batch of commands can be run in one request and each answer
 *     read back by its command. A reply's text is capped at
 *     RSL_FTPCTL_REPLY_CAP bytes; a longer one is reported
 *     (rsl_ftpctl_check: PROTOCOL naming the cap), never cut silently.
 *     The PASS command is recorded as "PASS ****": the secret is never copied;
 *   - the meaning of a reply code (and its text) in the catalog, FEAT's
 *     facts and SIZE's number.
 *
 * Owns: the transcript's memory (rsl_ftpctl_free). Must not touch: libcurl,
 * the network, the transport's connection.
 */
#ifndef RSL_TRANSPORT_FTPCTL_H
#define RSL_TRANSPORT_FTPCTL_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/catalog.h"

#define RSL_FTPCTL_REPLY_CAP (64 * 1024) /* bytes of reply text kept per command */

/* ---- names and URLs ---- */

/* 1 if s holds a byte below 0x20 or DEL. */
int rsl_ftpctl_has_ctl(const char *s);
/* RSL_OK, or NAME_CONTROL_CHAR (INTERNAL for NULL) with err set. */
rsl_code rsl_ftpctl_check_name(const char *rel, rsl_err *err);
/* base + "/%2F" + the encoded absolute path abs (+ "/" when dir): curl then
 * treats the path as absolute. malloc'd; NULL when out of memory. */
char *rsl_ftpctl_url(const char *base, const char *abs, int dir);

/* ---- the transcript ---- */

typedef struct rsl_ftpctl_reply {
    char *cmd;    /* the command as sent ("" for the greeting); PASS masked */
    int code;     /* final reply code, 0 while none came */
    rsl_buf text; /* reply lines, '\n'-separated, without CR LF; capped */
} rsl_ftpctl_reply;

typedef struct rsl_ftpctl_log {
    rsl_ftpctl_reply *rep;
    size_t n, cap;
    int nomem;            /* a command or reply line could not be recorded */
    const char *too_long; /* the command whose reply passed the cap, or NULL */
} rsl_ftpctl_log;         /* zero-initialised = empty */

/* Records a command line sent (without CR LF). */
void rsl_ftpctl_sent(rsl_ftpctl_log *l, const char *line, size_t n);
/* Records a reply line received (without CR LF): "NNN text" ends a reply,
 * "NNN-text" and other lines continue it; a line with no command waiting
 * (the greeting, a late 4xx) gets an entry with cmd "". */
void rsl_ftpctl_recv(rsl_ftpctl_log *l, const char *line, size_t n);
/* RSL_OK, or PROTOCOL (a reply longer than the cap) / NO_MEMORY with err
 * set, for what was recorded since the last clear. */
rsl_code rsl_ftpctl_check(const rsl_ftpctl_log *l, rsl_err *err);
/* The last entry for command `cmd` (as sent), or NULL. */
const rsl_ftpctl_reply *rsl_ftpctl_find(const rsl_ftpctl_log *l, const char *cmd);
/* The last entry that got a reply code, or NULL. */
const rsl_ftpctl_reply *rsl_ftpctl_last(const rsl_ftpctl_log *l);
/* The last line of a reply's text ("" for NULL or none). */
const char *rsl_ftpctl_text(const rsl_ftpctl_reply *r);
/* The reply code of `cmd` (0 when unanswered); *text its last line. */
int rsl_ftpctl_code(const rsl_ftpctl_log *l, const char *cmd, const char **text);
/* Empties the transcript (keeping its memory). */
void rsl_ftpctl_clear(rsl_ftpctl_log *l);
void rsl_ftpctl_free(rsl_ftpctl_log *l);

/* ---- meanings ---- */

/* Maps an FTP reply code and its text onto the catalog (the one place that
 * decides): "<what> '<path>': server answered \"<text>\"". */
rsl_code rsl_ftpctl_map(rsl_err *err, int code, const char *text, const char *what,
                        const char *path);

#define RSL_FTP_FEAT_MLSD 0x01 /* MLSD (also implied by MLST, RFC 3659) */
#define RSL_FTP_FEAT_MLST 0x02
#define RSL_FTP_FEAT_MFMT 0x04
#define RSL_FTP_FEAT_UTF8 0x08
/* The facts in FEAT's answer text (one feature per line). */
unsigned rsl_ftpctl_feat(const char *text);
/* A "213 <number>" SIZE reply -> 1 with *size set; 0 otherwise. */
int rsl_ftpctl_size(const rsl_ftpctl_reply *r, uint64_t *size);

#endif
