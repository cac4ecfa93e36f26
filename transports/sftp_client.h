/*
 * sftp_client.h - our SFTP v3 client: a request engine over a carrier
 * (sftp_carrier.h), as OpenSSH's sftp-client.c runs over two descriptors.
 *
 * Owns: request ids, the table of outstanding requests (a callback per
 * request), the output buffer and the reassembly of input into packets,
 * the pump that moves bytes and dispatches replies under a deadline,
 * INIT/VERSION with the server's extensions in a bitmask, the server's
 * limits (limits@openssh.com), the one function that maps SFTP status codes
 * onto the catalog. The synchronous helpers for the paths that are not hot
 * (stat, mkdir, remove, rename, realpath, readdir) are in sftp_sync.h.
 * Must not touch: the engine's plan, SQLite, the terminal; it never prints
 * (opts->log only).
 *
 * Asynchronous use: id = rsl_sftp_client_request(s, cb, ud) registers a callback,
 * then one request with that id is encoded into rsl_sftp_client_out(s) with the
 * sftp_wire.h encoders. rsl_sftp_client_pump() sends, receives and calls cb once
 * with the decoded reply (valid only during the call). A callback may queue
 * new requests. When the session fails (carrier error, TIMEOUT, malformed
 * packet), callbacks of outstanding requests are NOT called: every later
 * call returns the session's error (rsl_sftp_client_error), and the caller
 * completes its own work with that code.
 *
 * Callbacks must not call rsl_sftp_client_pump (nor the helpers of sftp_sync.h).
 *
 * Paths: every path argument is relative to cfg->root ("" is the root
 * itself, as in transport.h); rsl_sftp_client_path() builds the wire path.
 *
 * Deadline: a pump that waits (block = 1) fails with TIMEOUT when the
 * server sent nothing for cfg->timeout_sec seconds of waiting while
 * requests were outstanding. A packet over the reply cap is PROTOCOL.
 * Threading: one rsl_sftp_client is used by one thread at a time.
 */
#ifndef RSL_SFTP_CLIENT_H
#define RSL_SFTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "base/catalog.h"
#include "sftp_carrier.h"
#include "sftp_wire.h"
#include "transport.h"

typedef struct rsl_sftp_client rsl_sftp_client;

/* Extensions the server offers (VERSION), as bits. */
#define RSL_SFTP_EXT_POSIX_RENAME 0x0001u /* posix-rename@openssh.com: atomic replace */
#define RSL_SFTP_EXT_STATVFS 0x0002u      /* statvfs@openssh.com: free space */
#define RSL_SFTP_EXT_FSTATVFS 0x0004u     /* fstatvfs@openssh.com */
#define RSL_SFTP_EXT_HARDLINK 0x0008u     /* hardlink@openssh.com */
#define RSL_SFTP_EXT_FSYNC 0x0010u        /* fsync@openssh.com: durable before rename */
#define RSL_SFTP_EXT_LIMITS 0x0020u       /* limits@openssh.com: packet/read/write/handles */
#define RSL_SFTP_EXT_CHECK_FILE 0x0040u   /* check-file(-handle|-name): server-side hashes */
#define RSL_SFTP_EXT_MD5_HASH 0x0080u     /* md5-hash(-handle) */
#define RSL_SFTP_EXT_LSETSTAT 0x0100u     /* lsetstat@openssh.com */
#define RSL_SFTP_EXT_COPY_DATA 0x0200u    /* copy-data */

#define RSL_SFTP_REPLY_CAP ((256u << 10) + 1024u) /* default cap on one reply packet */

typedef struct rsl_sftp_client_cfg {
    const char *root;   /* remote root that paths are relative to; NULL or "": "/" */
    const char *host;   /* for messages ("host:port" or a name) */
    int timeout_sec;    /* 0: 60 */
    size_t reply_cap;   /* 0: RSL_SFTP_REPLY_CAP */
    uint32_t max_write; /* 0: from limits, at most 255 KiB; else this (tests) */
    /* 1: limits@openssh.com is sent at open but not waited for: its answer
     * comes with the caller's first requests (one round trip less); the
     * sizes are the defaults until then. rsl_sftp_client_settle waits. */
    int defer_limits;
    /* 1: open does not wait for VERSION either: it returns with INIT and a
     * limits@openssh.com request queued (asked before VERSION says whether
     * it is offered: v3 servers answer an unknown extended request with
     * OP_UNSUPPORTED, and then the defaults stay, quietly). The caller's
     * first requests leave with them, one round trip less again: servers
     * read requests in order, INIT first. Until VERSION has been read the
     * version, extensions and sizes are not known: call
     * rsl_sftp_client_wait_version (or settle) before asking for them. A
     * version other than 3 fails the session then. */
    int defer_version;
    void (*log)(void *ud, int level, const char *msg);
    void *ud;
} rsl_sftp_client_cfg;

/* What the client uses, derived from limits@openssh.com (or defaults). */
typedef struct rsl_sftp_sizes {
    rsl_sftp_limits server; /* as advertised; all 0 without the extension */
    uint32_t write_len;     /* data bytes per WRITE */
    uint32_t read_len;      /* data bytes per READ */
    uint32_t handles;       /* open handles we allow ourselves */
} rsl_sftp_sizes;

/* Statistics for tests and describe(). */
typedef struct rsl_sftp_stats {
    uint64_t requests, replies;
    uint64_t bytes_out, bytes_in;
    uint32_t max_outstanding; /* most requests in flight at once */
} rsl_sftp_stats;

/* Starts the protocol over car: INIT, VERSION, limits@openssh.com when
 * offered (defer_limits and defer_version say what it waits for). Takes
 * car in every case (closed on failure). On RSL_OK the caller owns *out
 * (rsl_sftp_client_close). Errors: the carrier's (host key, auth,
 * connection), TIMEOUT, PROTOCOL (not an SFTP server, version < 3). */
rsl_code rsl_sftp_client_open(rsl_sftp_client **out, rsl_sftp_carrier *car,
                              const rsl_sftp_client_cfg *cfg, rsl_err *err);
/* Waits for VERSION (cfg.defer_version), if it has not been read yet.
 * RSL_OK or the session's error (PROTOCOL: not SFTP, or not version 3). */
rsl_code rsl_sftp_client_wait_version(rsl_sftp_client *s, rsl_err *err);
/* Waits for VERSION (cfg.defer_version) and a deferred limits@openssh.com
 * answer (cfg.defer_limits), if any is still out; then the sizes are
 * final. RSL_OK or the session's error. */
rsl_code rsl_sftp_client_settle(rsl_sftp_client *s, rsl_err *err);
/* Closes the carrier (politely unless the session failed) and frees. NULL-safe. */
void rsl_sftp_client_close(rsl_sftp_client *s);

unsigned rsl_sftp_client_exts(const rsl_sftp_client *s);
/* Forgets extensions the server advertised but refuses to serve (an
 * OpenSSH sftp-server started with -P lists posix-rename and answers
 * PERMISSION_DENIED): later calls act as if it never offered them. */
void rsl_sftp_client_drop_exts(rsl_sftp_client *s, unsigned bits);
/* Changes the deadline of later waits (connect uses what is left of its
 * own deadline, then the connection's timeout). */
void rsl_sftp_client_set_timeout(rsl_sftp_client *s, int timeout_sec);
/* The data of an extension pair from VERSION ("1", "2", an algorithm list),
 * NUL-terminated, or NULL when not offered. */
const char *rsl_sftp_client_ext_data(const rsl_sftp_client *s, const char *name);
uint32_t rsl_sftp_client_server_version(const rsl_sftp_client *s);
const rsl_sftp_sizes *rsl_sftp_client_get_sizes(const rsl_sftp_client *s);
const rsl_sftp_stats *rsl_sftp_client_get_stats(const rsl_sftp_client *s);
const char *rsl_sftp_client_host(const rsl_sftp_client *s);
int rsl_sftp_client_timeout(const rsl_sftp_client *s);
/* One line: version, extensions, limits and sizes, the carrier. */
void rsl_sftp_client_describe(rsl_sftp_client *s, char *buf, size_t n);
void rsl_sftp_client_log(rsl_sftp_client *s, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes root + "/" + rel into buf; returns its length, or -1 when it does
 * not fit. */
int rsl_sftp_client_path(const rsl_sftp_client *s, const char *rel, char *buf, size_t n);

/* ------------------------------------------------------------------ */
/* asynchronous requests */

/* r is the decoded reply (never NULL). The callback must check r->type. */
typedef void (*rsl_sftp_cb)(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r);

/* Registers a request and returns its id; encode exactly one request with
 * it into rsl_sftp_client_out(s) before the next pump. cb may be NULL (the reply
 * is read and dropped). Out of memory fails the session (see pump). */
uint32_t rsl_sftp_client_request(rsl_sftp_client *s, rsl_sftp_cb cb, void *ud);
rsl_sftp_buf *rsl_sftp_client_out(rsl_sftp_client *s);
/* Takes back the last registered request before anything was sent: forgets
 * id and cuts the output buffer back to mark (rsl_sftp_client_mark() taken
 * before encoding it). */
size_t rsl_sftp_client_mark(const rsl_sftp_client *s);
void rsl_sftp_client_cancel(rsl_sftp_client *s, uint32_t id, size_t mark);

/* The round trip to the server in microseconds: the least time, so far,
 * from the pump that sent a timed request to its reply (one request at a
 * time is timed; replies queued behind others only make a sample longer).
 * -1 before the first sample. *samples (may be NULL): how many were taken. */
long rsl_sftp_client_rtt_us(const rsl_sftp_client *s, unsigned *samples);
/* With no sample yet, waits for the timed request on its way, if one is:
 * the first request registered once VERSION was read (requests that go
 * with INIT are not timed: their answers wait for the server, or ssh, to
 * start). Returns the session's failure or RSL_OK (the sample may still
 * be missing when no request was on its way). */
rsl_code rsl_sftp_client_wait_rtt(rsl_sftp_client *s, rsl_err *err);

size_t rsl_sftp_client_outstanding(const rsl_sftp_client *s); /* requests awaiting a reply */
size_t rsl_sftp_client_unsent(const rsl_sftp_client *s);      /* bytes queued, not yet sent */

/* Sends what is queued, reads what arrived and dispatches replies. With
 * block = 1 and nothing moved, waits (poll on the carrier) until something
 * does, the deadline passes (TIMEOUT) or nothing is outstanding. Returns
 * RSL_OK or the session's error (the session is then dead). */
rsl_code rsl_sftp_client_pump(rsl_sftp_client *s, int block, rsl_err *err);

/* Ends the session with code (e.g. PROTOCOL from a callback that got a
 * reply of the wrong type); later calls return it. Returns code. */
rsl_code rsl_sftp_client_fail(rsl_sftp_client *s, rsl_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The session's error, or RSL_OK while it is alive. */
rsl_code rsl_sftp_client_error(const rsl_sftp_client *s, rsl_err *err);
int rsl_sftp_client_dead(const rsl_sftp_client *s);

/* Inside a callback: the raw reply packet being dispatched (after its
 * length field), to keep a copy of it; NULL outside callbacks. */
const unsigned char *rsl_sftp_client_packet(const rsl_sftp_client *s, size_t *len);

/* ------------------------------------------------------------------ */
/* status mapping: the one place SFTP status codes become catalog codes */

/* Maps status fx of `what` on rel: NO_SUCH_FILE -> REMOTE_NOT_FOUND,
 * PERMISSION_DENIED -> REMOTE_PERMISSION, BAD_MESSAGE (OpenSSH says so for
 * ENAMETOOLONG/EINVAL) and INVALID_FILENAME -> REMOTE_NAME_REFUSED, NO_SPACE
 * and QUOTA -> REMOTE_NO_SPACE, FILE_ALREADY_EXISTS, NOT_A_DIRECTORY and
 * FILE_IS_A_DIRECTORY -> REMOTE_TYPE_CONFLICT, LOCK_CONFLICT ->
 * REMOTE_LOCKED, NO_CONNECTION/CONNECTION_LOST -> CONNECTION_LOST (session),
 * everything else (FAILURE above all: OpenSSH reports ENOSPC, EEXIST,
 * ENOTEMPTY and EISDIR so) -> REMOTE_IO, which callers refine by context.
 * The server's message (sanitized) is appended. host may be NULL. */
rsl_code rsl_sftp_client_map_status(uint32_t fx, rsl_sftp_str srvmsg, const char *what,
                                    const char *rel, const char *host, rsl_err *err);
/* For a reply expected to be a STATUS: OK -> RSL_OK; another status ->
 * rsl_sftp_client_map_status (CONNECTION_LOST also fails the session); another
 * reply type -> PROTOCOL (fails the session). */
rsl_code rsl_sftp_client_status(rsl_sftp_client *s, const rsl_sftp_reply *r, const char *what,
                                const char *rel, rsl_err *err);
/* For a reply of type `want` (HANDLE, ATTRS, ...): a STATUS is mapped as
 * above, a wrong type is PROTOCOL (fails the session); RSL_OK when r->type
 * is want. */
rsl_code rsl_sftp_client_expect(rsl_sftp_client *s, const rsl_sftp_reply *r, uint8_t want,
                                const char *what, const char *rel, rsl_err *err);

/* An item's kind from its attrs: 1 directory, 0 otherwise. */
int rsl_sftp_client_attrs_is_dir(const rsl_sftp_attrs *a);
/* attrs -> rsl_rstat (exists = 1). */
void rsl_sftp_client_attrs_to_rstat(const rsl_sftp_attrs *a, rsl_rstat *st);

#endif
