/*
 * transport.h - the transport interface: one const table of function pointers
 * per protocol (file, sftp, ftps, https), looked up by URL scheme.
 *
 * Owns: the interface (rsl_transport_ops), the endpoint (parsed URL), the
 * options a transport may read (rsl_remote_opts), the data source it pulls
 * upload bytes from (rsl_source), and the scheme registry.
 * Must not touch: SQLite, the engine's plan or the terminal. A transport never
 * prints: it returns a catalog code with a message, and reports warnings
 * through opts->log.
 *
 * Paths given to a transport ("rel") are relative to the remote root, use '/'
 * separators, never start with '/', never contain "." or ".." components,
 * and are raw UTF-8 bytes (a transport encodes them for its wire format).
 * The empty string "" names the remote root itself.
 *
 * Threading: one rsl_conn is used by one thread at a time. The engine opens
 * one connection per worker. Callbacks in rsl_remote_opts may be called from
 * any worker thread and are thread-safe.
 */
#ifndef RSL_TRANSPORT_H
#define RSL_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/catalog.h"

#define RSL_TRANSPORT_VERSION 2

/* A parsed destination URL. All strings are owned by the endpoint. */
typedef struct rsl_endpoint {
    char *scheme; /* lower case: "file", "sftp", "ftps", "ftp", "https", "http" */
    char *user;   /* percent-decoded user from the URL, or NULL */
    char *host;   /* NULL or "" for file:// */
    int port;     /* 0 when the URL names none (use the transport's default) */
    char *path;   /* percent-decoded absolute remote root; no trailing '/' except "/" */
} rsl_endpoint;

/* Parses "scheme://[user@]host[:port]/path" (or "file:///path", or a plain
 * absolute path meaning file://). Returns RSL_OK or RSL_E_CONFIG_BAD_VALUE /
 * RSL_E_SCHEME_UNSUPPORTED. On success the caller owns *out (rsl_endpoint_free). */
rsl_code rsl_endpoint_parse(rsl_endpoint *out, const char *url, rsl_err *err);
void rsl_endpoint_free(rsl_endpoint *ep);

enum { RSL_LOG_DEBUG = 0, RSL_LOG_INFO = 1, RSL_LOG_WARN = 2, RSL_LOG_ERROR = 3 };

/*
 * What every transport reads, whatever its protocol. Strings are borrowed
 * from the job (valid for the connection's life); NULL means "not set".
 * Secrets are never stored here: only the path of the file that holds the
 * password (the transport reads it through secret.h and wipes its copy),
 * plus `password_env`, the value of RSYNCD_LITE_PASSWORD if it was set.
 *
 * A transport's own settings (host keys, TLS, chunk sizes...) are in `cfg`:
 * the struct its ops->cfg_size names (e.g. rsl_sftp_cfg in sftp.h), filled
 * from the job file's [remote] keys through its ops->keys table. NULL means
 * the transport's defaults.
 */
typedef struct rsl_remote_opts {
    const char *username;      /* overrides the URL's user */
    const char *password_file; /* SSH/FTP/HTTP password */
    const char *password_env;  /* value of RSYNCD_LITE_PASSWORD, or NULL */
    int timeout_sec;           /* connect/idle timeout; 0 means the default, 60 s */
    const char *temp_suffix;
    /* 1: the caller only reads (verify, remote checks): connect writes
     * nothing to the remote, not even a probe file; upload, finish, mkdir and
     * remove are not called. A capability that only a write can probe is
     * then reported from the cache or as unknown. */
    int readonly;
    const void *cfg; /* the transport's own settings (ops->cfg_size bytes), or NULL */

    /* Warnings and notes for the run log (thread-safe). May be NULL. */
    void (*log)(void *ud, int level, const char *msg);
    /* A small persistent key/value cache kept in the state db by the engine,
     * for facts learnt about a server (e.g. "https:partial-put=no").
     * cache_get returns 1 and fills buf if the key exists, else 0. May be NULL. */
    int (*cache_get)(void *ud, const char *key, char *buf, size_t bufsz);
    void (*cache_set)(void *ud, const char *key, const char *value);
    void *ud;
    /* The paths (relative to the root; "" the root) the caller will STAT
     * first through run() (the engine's remote check). A transport that
     * waits for answers of its own at the end of connect may ask once, send
     * these stats with them and keep each answer for the first RSL_OP_STAT
     * of its path, which then completes without a round trip (SFTP).
     * Returns how many; 0 when there are none, when they are not known yet
     * (the connect may run while the caller still plans) or were handed to
     * another connection. *paths stays valid while the connection is open.
     * Thread-safe. May be NULL; a transport may ignore it. */
    size_t (*early_stat)(void *ud, const char *const **paths);
} rsl_remote_opts;

/* What a remote item looks like. */
typedef struct rsl_rstat {
    int exists;    /* 0: no such item (the call still returns RSL_OK) */
    int is_dir;    /* 1: directory */
    uint64_t size; /* bytes, for files */
    int64_t mtime; /* seconds since the epoch, or -1 when unknown */
} rsl_rstat;

/*
 * The bytes of the local file being uploaded. The transport pulls from it.
 * read: sequential, from the position the engine set before calling upload
 *   (the upload offset). Returns >0 bytes, 0 at the end, or -1 with *err set
 *   (the local file changed or became unreadable, the run was interrupted):
 *   the transport then stops and returns err->code unchanged.
 *   read also applies bwlimit and counts the bytes sent.
 * pread: random access for verification (does not move the position).
 *   Returns bytes read, or -1 with *err set.
 */
typedef struct rsl_source {
    ssize_t (*read)(struct rsl_source *s, void *buf, size_t n, rsl_err *err);
    ssize_t (*pread)(struct rsl_source *s, void *buf, size_t n, uint64_t off, rsl_err *err);
    /* Pipelined path (xfer.h) only; NULL elsewhere. start: positions read at
     * offset before the first read (the kept prefix of a resumed upload).
     * verify: after the last byte is acknowledged and before the rename,
     * checks the local file did not change. Both return RSL_OK or a code
     * with *err set. */
    rsl_code (*start)(struct rsl_source *s, uint64_t offset, rsl_err *err);
    rsl_code (*verify)(struct rsl_source *s, rsl_err *err);
    /* Permission bits for the new remote file (the server's umask may only
     * narrow them), or 0 for the server's default. Set by the engine from
     * the job's `perms`; a transport without RSL_CAP_SET_MODE ignores it. */
    uint32_t mode;
    void *ud;
} rsl_source;

/* Called by list() for each entry of a directory ("." and ".." excluded).
 * Return 0 to go on, non-zero to stop (list then returns RSL_OK). */
typedef int (*rsl_list_cb)(void *ud, const char *name, const rsl_rstat *st);

/* Called by read() with the next bytes of the file, in order. Return 0 to go
 * on, non-zero to stop (read then returns RSL_OK). */
typedef int (*rsl_read_cb)(void *ud, const void *buf, size_t n);

/* A digest of a remote file computed by the server (hash()). */
typedef struct rsl_rhash {
    char alg[16];  /* lower case: "sha256", "sha512", "sha1", "md5", "adler32" */
    char hex[129]; /* the digest in lower-case hex */
} rsl_rhash;

/* Capability bits (rsl_transport_ops.caps, and caps_of() at run time). */
#define RSL_CAP_RESUME 0x01        /* resume_offset can return > 0 */
#define RSL_CAP_ATOMIC_RENAME 0x02 /* finish replaces the final name atomically */
#define RSL_CAP_SET_MTIME 0x04     /* finish sets the remote mtime */
#define RSL_CAP_CHECKSUM 0x08      /* server-side checksum available (verify --checksum) */
#define RSL_CAP_SET_MODE 0x10      /* new files get src->mode; set_mode works on directories */
/* One operation at a time per connection, whatever run() is fed (FTP: no
 * multiplexing on a control connection). The engine hides the round trips
 * of small files with more connections instead of a deeper window. */
#define RSL_CAP_NO_MULTIPLEX 0x20
/* Send less (xfer.h): the connection carries these ops itself; without the
 * bit the op completes with RSL_E_REMOTE_UNSUPPORTED and the engine falls
 * back (upload and delete, a whole upload through the temp name) or, for
 * links, reports the item. A transport's static caps say what it can ever
 * do (the plan decides on them before any connection); caps_of() what this
 * server does. */
#define RSL_CAP_MOVE 0x40       /* RSL_OP_MOVE: files and whole directories in one request */
#define RSL_CAP_SYMLINK 0x80    /* RSL_OP_SYMLINK */
#define RSL_CAP_DIR_MTIME 0x100 /* RSL_OP_SETTIME on directories */
#define RSL_CAP_APPEND 0x200    /* RSL_OP_APPEND: writes a file's tail in place */
/* Disjoint ranges of one temp file can be written at their offsets from
 * several connections at once, then renamed once (xfer.h: RSL_OP_PUT_RANGE
 * and RSL_OP_FINISH; write_range on the serial path). The engine then sends
 * a big file over several connections. */
#define RSL_CAP_WRITE_AT 0x400

typedef struct rsl_conn rsl_conn; /* a transport's private connection state */
struct rsl_scheme;
struct rsl_feed;
struct rsl_key;

/*
 * Every function returns RSL_OK or a catalog code, with err filled on error.
 * Per-item failures return per-item codes (2xx/3xx). When the connection is
 * unusable (dropped, timed out) the call returns a SESSION-class code such as
 * RSL_E_CONNECTION_LOST or RSL_E_TIMEOUT; the engine then disconnects,
 * reconnects and retries the item (resuming), within limits.
 */
typedef struct rsl_transport_ops {
    int version;      /* RSL_TRANSPORT_VERSION: the registry refuses other versions */
    const char *name; /* "file", "sftp", "ftps", "https" */
    unsigned caps;    /* capabilities this transport can have */

    /* Its own [remote] keys and the struct they fill (see keys.h): the
     * table, its length, the struct's size, and cfg_init, which sets the
     * defaults in a zeroed struct. Strings in it are freed through the table
     * (rsl_transport_cfg_free); cfg_free (may be NULL) frees anything else.
     * A transport without keys leaves all of these 0/NULL. */
    const struct rsl_key *keys;
    size_t n_keys;
    size_t cfg_size;
    void (*cfg_init)(void *cfg);
    void (*cfg_free)(void *cfg);
    /* Checks the settings as a whole once the job file is read, with the
     * keys every transport shares (opts: username, password_file; nothing
     * is opened or read). Returns RSL_OK, or CONFIG_BAD_VALUE with err->msg
     * the reason alone and *key the [remote] key it is about (the config
     * names that key's line). NULL: nothing to check. */
    rsl_code (*cfg_check)(const void *cfg, const rsl_remote_opts *opts, const char **key,
                          rsl_err *err);
    /* The warning for every run when these settings turn off checking the
     * server's identity (e.g. "tls_verify = no: the server's certificate is
     * NOT verified"), or NULL when they do not. cfg may be NULL (defaults).
     * NULL hook: the transport never skips that check. */
    const char *(*unverified)(const struct rsl_scheme *s, const void *cfg);

    /* The port a connection goes to when the URL names none, if it differs
     * from the scheme table's default (implicit FTPS: 990). NULL: the
     * table's. Use rsl_endpoint_port(), which asks this. */
    int (*default_port)(const struct rsl_scheme *s, const rsl_remote_opts *opts);

    /* Connects, authenticates, verifies trust, and checks that the remote root
     * exists and is a directory (RSL_E_REMOTE_ROOT_MISSING otherwise). The root
     * is never created. On RSL_OK the caller owns *out (disconnect). */
    rsl_code (*connect)(rsl_conn **out, const rsl_endpoint *ep, const rsl_remote_opts *opts,
                        rsl_err *err);
    /* Closes and frees. NULL-safe. */
    void (*disconnect)(rsl_conn *c);
    /* Capabilities of this connection (a server may lack one). */
    unsigned (*caps_of)(rsl_conn *c);
    /* One human line per negotiated fact, for `check` and the run log
     * (e.g. "partial PUT unsupported: whole-file PUT to the temp name").
     * Writes a NUL-terminated string into buf. */
    void (*describe)(rsl_conn *c, char *buf, size_t bufsz);

    /* Stats rel, not following a symlink, except for "" (the root, which the
     * URL names: a link to a directory is fine there, as for connect). A
     * missing item is RSL_OK with st->exists = 0. */
    rsl_code (*stat)(rsl_conn *c, const char *rel, rsl_rstat *st, rsl_err *err);
    /* Creates directory rel (its parent exists: the engine creates parents
     * first). Already existing as a directory is RSL_OK; existing as a file is
     * RSL_E_REMOTE_TYPE_CONFLICT. Implementations cache created directories. */
    rsl_code (*mkdir)(rsl_conn *c, const char *rel, rsl_err *err);

    /* How many bytes of the temp file tmp_rel can be kept for a resumed upload
     * of a `total`-byte file: 0 when absent or larger than total; otherwise its
     * size, possibly rounded down (to a chunk boundary) or lowered after checking
     * its tail against src->pread. */
    rsl_code (*resume_offset)(rsl_conn *c, const char *tmp_rel, uint64_t total, rsl_source *src,
                              uint64_t *have, rsl_err *err);
    /* Writes bytes [offset, total) pulled from src into tmp_rel. offset 0 creates
     * or truncates tmp_rel; offset > 0 continues a temp file whose first
     * `offset` bytes are kept (offset is a value resume_offset returned).
     * Returns when all bytes are on the remote (acknowledged). */
    rsl_code (*upload)(rsl_conn *c, const char *tmp_rel, uint64_t offset, uint64_t total,
                       rsl_source *src, rsl_err *err);
    /* Checks that tmp_rel has exactly `size` bytes (RSL_E_REMOTE_SIZE_MISMATCH
     * otherwise), moves it to final_rel replacing what is there (atomically when
     * caps has RSL_CAP_ATOMIC_RENAME), then sets the mtime when supported
     * (mtime < 0: leave it). */
    rsl_code (*finish)(rsl_conn *c, const char *tmp_rel, const char *final_rel, uint64_t size,
                       int64_t mtime, rsl_err *err);
    /* Removes a file (is_dir = 0) or an empty directory (is_dir = 1). Already
     * absent is RSL_OK. */
    rsl_code (*remove)(rsl_conn *c, const char *rel, int is_dir, rsl_err *err);
    /* Lists directory rel ("" = root), calling cb per entry. */
    rsl_code (*list)(rsl_conn *c, const char *rel, rsl_list_cb cb, void *ud, rsl_err *err);

    /* The pipelined path (xfer.h): runs a feed of operations with many in
     * flight. NULL: the engine uses rsl_xfer_run_serial() over the calls
     * above. */
    rsl_code (*run)(rsl_conn *c, const struct rsl_feed *feed, rsl_err *err);

    /* Sets the permission bits of rel (a directory the engine created;
     * the server's umask may narrow them). NULL when the protocol cannot
     * (FTPS, WebDAV): the connection then lacks RSL_CAP_SET_MODE. */
    rsl_code (*set_mode)(rsl_conn *c, const char *rel, uint32_t mode, rsl_err *err);

    /* ---- optional: NULL means "not available on this transport" ---- */

    /* Streams the content of file rel to cb, from its first byte to its
     * last, under the connection's deadlines (for verify --read-back: the
     * caller hashes what arrives). A missing file is RSL_E_REMOTE_NOT_FOUND,
     * a directory RSL_E_REMOTE_TYPE_CONFLICT; a transfer cut short is a
     * SESSION code (the bytes handed over so far are not the whole file). */
    rsl_code (*read)(rsl_conn *c, const char *rel, rsl_read_cb cb, void *ud, rsl_err *err);
    /* The digest of file rel as the server computes it, without sending the
     * content. want names the algorithm the caller can compare ("sha256"),
     * or NULL for the strongest the server offers. Returns RSL_OK with *out
     * filled, RSL_E_CHECKSUM_UNAVAILABLE when the server offers none for rel
     * (or not `want`): the caller then reads the file back or says it did
     * not compare; RSL_E_REMOTE_NOT_FOUND when rel is missing. A connection
     * whose caps_of() has RSL_CAP_CHECKSUM is expected to answer RSL_OK. */
    rsl_code (*hash)(rsl_conn *c, const char *rel, const char *want, rsl_rhash *out, rsl_err *err);

    /* ---- send less (xfer.h has each op's contract); NULL: unsupported ---- */

    /* Moves `from` to `to` (is_dir: a directory with all it holds) in one
     * remote request. `to` must not exist unless overwrite (REMOTE_EXISTS);
     * `from` missing is REMOTE_NOT_FOUND. */
    rsl_code (*move)(rsl_conn *c, const char *from, const char *to, int is_dir, int overwrite,
                     rsl_err *err);
    /* Creates symbolic link rel -> target (relative; rel absent). */
    rsl_code (*symlink)(rsl_conn *c, const char *rel, const char *target, rsl_err *err);
    /* Sets the mtime of directory rel (seconds since the epoch). */
    rsl_code (*set_mtime)(rsl_conn *c, const char *rel, int64_t mtime, rsl_err *err);
    /* Writes bytes [old_size, total) pulled from src (already started at
     * old_size) at old_size of the final file rel, which must hold exactly
     * old_size bytes (REMOTE_SIZE_MISMATCH before anything is written);
     * then checks its size is total and sets the mtime (mtime >= 0). */
    rsl_code (*append)(rsl_conn *c, const char *rel, uint64_t old_size, uint64_t total,
                       int64_t mtime, rsl_source *src, rsl_err *err);
    /* RSL_OP_PUT_RANGE on the serial path (see xfer.h for the rules): writes
     * bytes [off, off + len) pulled from src (src->start was called with
     * off; read ends at off + len) into tmp_rel at off, creating tmp_rel
     * when absent (mode src->mode) and never truncating it; *sent: bytes
     * written. check = 1 writes nothing: it compares sampled blocks of that
     * range of tmp_rel with src->pread (first and last included): *kept =
     * len when all match, 0 when not (or tmp_rel is shorter). A transport
     * with it (or with a run() that takes PUT_RANGE and FINISH) may report
     * RSL_CAP_WRITE_AT. */
    rsl_code (*write_range)(rsl_conn *c, const char *tmp_rel, uint64_t off, uint64_t len, int check,
                            rsl_source *src, uint64_t *kept, uint64_t *sent, rsl_err *err);
    /* The round trip to the server in microseconds as this connection
     * measured it (the least time from a request to its reply); it may wait
     * for one reply on its way or send one small request to learn it. -1
     * when unknown. The engine cuts a big file over several connections
     * only when the link is long enough for one connection's window to cap
     * it (engine/ranges.h). */
    long (*link_rtt_us)(rsl_conn *c);
} rsl_transport_ops;

/*
 * The scheme table: the facts about each URL scheme, as data (curl's
 * protocol table). A scheme names the transport that drives it, its default
 * port and its flags. Adding a transport is one new file (its ops, with its
 * key table and settings struct) and one row in transport.c's table; see
 * docs/design.md, "Adding a transport".
 */
#define RSL_SCHEME_LOCAL 0x01    /* no network (file://) */
#define RSL_SCHEME_SECURE 0x02   /* encrypted and authenticated (TLS or SSH) */
#define RSL_SCHEME_INSECURE 0x04 /* plain text: refused unless allow_insecure = yes */

typedef struct rsl_scheme {
    const char *name; /* lower case, as in the URL: "sftp" */
    const rsl_transport_ops *ops;
    int default_port; /* 0 for file:// */
    unsigned flags;   /* RSL_SCHEME_* */
} rsl_scheme;

/* The row for a scheme (case-insensitive), or NULL. */
const rsl_scheme *rsl_scheme_find(const char *scheme);
/* Adds a scheme at run time (tests register a fake transport this way, as
 * libgit2's tests register a dummy one). The row must outlive its use.
 * Returns 0, or -1 when the table is full, the name is taken or ops->version
 * is not RSL_TRANSPORT_VERSION. rsl_scheme_unregister removes it again. */
int rsl_scheme_register(const rsl_scheme *s);
void rsl_scheme_unregister(const char *name);

/* The transport for a scheme ("ftp" maps to the ftps transport, "http"
 * to https; they then refuse to run unless allow_insecure is set). NULL if none. */
const rsl_transport_ops *rsl_transport_find(const char *scheme);

/* The port a connection to ep goes to: the URL's, else the transport's
 * default for these options, else the scheme table's; 0 for file://. The one
 * place that decides, used by the transports and by `check`. */
int rsl_endpoint_port(const rsl_endpoint *ep, const rsl_remote_opts *opts);

/* ---- a transport's own settings (ops->keys, ops->cfg_size) ---- */

/* A new settings struct for ops with its defaults (caller frees with
 * rsl_transport_cfg_free). For a transport without settings: NULL with
 * *err untouched and RSL_OK; NULL with RSL_E_NO_MEMORY on failure. */
rsl_code rsl_transport_cfg_new(const rsl_transport_ops *ops, void **out, rsl_err *err);
/* Sets [remote] key `key` of ops' settings from its text value (see
 * rsl_keys_set: err->msg is the reason alone). A key ops does not have is
 * RSL_E_CONFIG_UNKNOWN_KEY. */
rsl_code rsl_transport_cfg_set(const rsl_transport_ops *ops, void *cfg, const char *key,
                               const char *value, const char *base_dir, rsl_err *err);
void rsl_transport_cfg_free(const rsl_transport_ops *ops, void *cfg);
/* ops->cfg_check when the transport has one (cfg NULL: its defaults);
 * RSL_OK otherwise. */
rsl_code rsl_transport_cfg_check(const rsl_transport_ops *ops, const void *cfg,
                                 const rsl_remote_opts *opts, const char **key, rsl_err *err);
/* Calls cb for every key of cfg that names a file holding a secret (an SSH
 * key, a passphrase, a token), with the key's name and the path. */
void rsl_transport_secret_paths(const rsl_transport_ops *ops, const void *cfg,
                                void (*cb)(void *ud, const char *key, const char *path), void *ud);
/* The schemes whose transport has [remote] key `key`, as "sftp" or
 * "ftps, ftp, https, http" in buf. Returns how many. */
int rsl_scheme_key_owners(const char *key, char *buf, size_t bufsz);
/* The warning line when settings cfg (of s's transport; NULL: defaults)
 * turn off checking the identity of the server behind scheme s, or NULL. */
const char *rsl_scheme_unverified(const rsl_scheme *s, const void *cfg);

#endif
