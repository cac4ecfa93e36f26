/*
 * ftpctl.h - the text of an FTP control connection, both ways: building
 * commands and URLs safely, and reading the server's replies.
 *
 *   - names: a byte below 0x20 or DEL never reaches a command (CR LF would
 *     end it and start another: command injection), and URLs percent-encode
 *     every byte but A-Za-z0-9-._~/ (pct.h);
 *   - the command line bound: a line we send is at most RSL_FTPCTL_LINE_MAX
 *     bytes with its CR LF (rsl_ftpctl_fits); a longer one is refused per
 *     item (PATH_TOO_LONG naming the limit) before anything is sent, never
 *     cut (a cut path names another file);
 *   - the transcript: every command sent and the reply lines that answered
 *     it, so a batch of commands can be run in one request and each answer
 *     read back by its command. Commands are stored whole (no length cap: a
 *     cut copy would never match); one that libcurl only partly showed us
 *     (it sent the rest later) is marked partial and matched as a prefix. A
 *     reply's text is capped at RSL_FTPCTL_REPLY_CAP bytes; a longer one is
 *     reported (rsl_ftpctl_check: PROTOCOL naming the cap), never cut
 *     silently, and `too_long` tells the caller to stop reading at once.
 *     The PASS command is recorded as "PASS ****": the secret is never copied;
 *   - the meaning of a reply code (and its text) in the catalog, FEAT's
 *     facts, SIZE's number and the digest of a HASH / XSHA256 / XMD5 reply.
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
/* The longest command line we send, CR LF included: vsftpd's
 * VSFTP_MAX_COMMAND_LINE (a longer line gets "500 Input line too long." and
 * the session is closed), and the kernel's PATH_MAX on Unix servers. */
#define RSL_FTPCTL_LINE_MAX 4096

/* ---- names and URLs ---- */

/* 1 if s holds a byte below 0x20 or DEL. */
int rsl_ftpctl_has_ctl(const char *s);
/* RSL_OK, or NAME_CONTROL_CHAR (INTERNAL for NULL) with err set. */
rsl_code rsl_ftpctl_check_name(const char *rel, rsl_err *err);
/* base + "/%2F" + the encoded absolute path abs (+ "/" when dir): curl then
 * treats the path as absolute. malloc'd; NULL when out of memory. */
char *rsl_ftpctl_url(const char *base, const char *abs, int dir);
/* s for a message: itself when short, else its first and last 60 bytes
 * around "..." with its length (a message holds 512 bytes: a 4 KB path
 * would push out what the message is about). Returns s or buf. */
const char *rsl_ftpctl_abbrev(const char *s, char *buf, size_t bufsz);
/* RSL_OK when command line `line` (without CR LF) fits RSL_FTPCTL_LINE_MAX;
 * else PATH_TOO_LONG for item rel with a message naming the limit. */
rsl_code rsl_ftpctl_fits(const char *line, const char *rel, rsl_err *err);

/* ---- the transcript ---- */

typedef struct rsl_ftpctl_reply {
    char *cmd;    /* the command as sent ("" for the greeting); PASS masked */
    int partial;  /* cmd is only the start of the command (no line end seen) */
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
/* Records what libcurl showed of an outgoing buffer: each CR LF-terminated
 * line is a command; a last piece without a line end is recorded as a
 * partial command (the rest went out unseen). Returns how many commands
 * starting with "USER " it recorded (each one a new login). */
int rsl_ftpctl_sent_data(rsl_ftpctl_log *l, const char *data, size_t n);
/* Records a reply line received (without CR LF): "NNN text" ends a reply,
 * "NNN-text" and other lines continue it; a line with no command waiting
 * (the greeting, a late 4xx) gets an entry with cmd "". */
void rsl_ftpctl_recv(rsl_ftpctl_log *l, const char *line, size_t n);
/* RSL_OK, or PROTOCOL (a reply longer than the cap) / NO_MEMORY with err
 * set, for what was recorded since the last clear. */
rsl_code rsl_ftpctl_check(const rsl_ftpctl_log *l, rsl_err *err);
/* The last entry for command `cmd` (as sent; a partial entry matches when
 * it is a non-empty prefix of cmd), or NULL. */
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
#define RSL_FTP_FEAT_MDTM 0x10
#define RSL_FTP_FEAT_HASH 0x20        /* HASH (draft-bryan-ftp-hash) */
#define RSL_FTP_FEAT_HASH_SHA256 0x40 /* HASH lists SHA-256 */
#define RSL_FTP_FEAT_HASH_SHA1 0x80
#define RSL_FTP_FEAT_HASH_MD5 0x100
#define RSL_FTP_FEAT_XSHA256 0x200
#define RSL_FTP_FEAT_XSHA1 0x400
#define RSL_FTP_FEAT_XMD5 0x800
/* The facts in FEAT's answer text (one feature per line). */
unsigned rsl_ftpctl_feat(const char *text);
/* A "213 <number>" SIZE reply -> 1 with *size set; 0 otherwise. */
int rsl_ftpctl_size(const rsl_ftpctl_reply *r, uint64_t *size);
/* The digest in a 2xx reply to HASH ("213 SHA-256 0-49 <hex> <name>"; is_hash
 * = 1: the algorithm's name is checked against alg) or to XSHA256 / XSHA1 /
 * XMD5 ("213 <hex>", "250 <hex> <name>"; is_hash = 0) -> 1 with out[0..*len)
 * set; 0 when the reply is not a digest of want_len bytes. */
int rsl_ftpctl_digest(const rsl_ftpctl_reply *r, int is_hash, const char *alg, unsigned char *out,
                      size_t want_len, size_t *len);

#endif
