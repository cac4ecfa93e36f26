/*
 * catalog.h - the error catalog: the single source of truth for every error
 * code rsyncd-lite reports (name, number, class, meaning, remediation), and
 * struct rsl_err, the out-parameter every fallible call fills.
 *
 * Owns: the table (RSL_CATALOG below), lookups by name/number, and the
 * Markdown rendering that docs/errors.md is generated from.
 * Must not touch: files, the state db, transports. Pure data + formatting.
 *
 * Numbers are stable forever: never renumber, only append. Ranges:
 *   0        ok
 *   1xx      usage and config
 *   2xx      per-item, local side (validation, unreadable, vanished, changed)
 *   3xx      per-item, remote side (permission, quota, refused name, ...)
 *   4xx      session (connect, auth, trust, TLS, remote root, safety guards)
 *   5xx      state db and internal
 */
#ifndef RSL_CATALOG_H
#define RSL_CATALOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* What kind of error it is. */
typedef enum rsl_class {
    RSL_CLASS_NONE = 0,   /* not an error (RSL_OK) */
    RSL_CLASS_INFO,       /* an item deliberately skipped; not a failure */
    RSL_CLASS_TRANSIENT,  /* per-item, retried automatically on the next run */
    RSL_CLASS_PERSISTENT, /* per-item, needs an operator change; retried with backoff */
    RSL_CLASS_SESSION     /* the whole run failed */
} rsl_class;

/* What the engine does with the connection when a call returns the code:
 * the one place that decides "reconnect and resume" against "stop". */
typedef enum rsl_handling {
    RSL_HANDLE_KEEP = 0,  /* the connection is fine: record the item, go on */
    RSL_HANDLE_RECONNECT, /* the connection is unusable: reconnect (bounded) and resume */
    RSL_HANDLE_STOP       /* a reconnect cannot fix it: the run stops */
} rsl_handling;

/* Process exit codes, rsync-compatible where the meaning is the same. */
typedef enum rsl_exit {
    RSL_EXIT_OK = 0,
    RSL_EXIT_USAGE = 1,        /* usage or config error */
    RSL_EXIT_SESSION = 5,      /* session failure before anything was applied */
    RSL_EXIT_INTERRUPTED = 20, /* stopped by SIGTERM/SIGINT; resumable */
    RSL_EXIT_PARTIAL = 23,     /* partial failure */
    RSL_EXIT_VANISHED = 24,    /* partial only because source files vanished */
    RSL_EXIT_TIMEOUT = 30,     /* the session timed out */
    RSL_EXIT_LOCKED = 75       /* another run of this job holds the lock (EX_TEMPFAIL) */
} rsl_exit;

/* Where in a run (and in `check`'s steps) a code belongs. */
typedef enum rsl_stage {
    RSL_STAGE_NONE = 0,
    RSL_STAGE_CONFIG,  /* the command line or job file */
    RSL_STAGE_LOCAL,   /* the source tree, the lock */
    RSL_STAGE_NETWORK, /* DNS, TCP, the protocol conversation */
    RSL_STAGE_TRUST,   /* host key, TLS certificate, plain-text refusal */
    RSL_STAGE_AUTH,    /* credentials */
    RSL_STAGE_ROOT,    /* the remote root and what the server allows there */
    RSL_STAGE_ITEM,    /* one item */
    RSL_STAGE_GUARD,   /* a safety guard stopped the run */
    RSL_STAGE_STATE    /* the state db, memory, internal */
} rsl_stage;

/*
 * X(NAME, number, class, handling, exit, stage, meaning, remediation)
 *   class:    NONE INFO TRANSIENT PERSISTENT SESSION
 *   handling: KEEP RECONNECT STOP (rsl_handling)
 *   exit:     the exit code when this is the run's worst outcome and, for a
 *             session error, nothing was applied yet (rsl_exit without prefix)
 *   stage:    rsl_stage without prefix
 */
#define RSL_CATALOG(X)                                                                             \
    X(OK, 0, NONE, KEEP, OK, NONE, "Success.", "None.")                                            \
    /* ---- 1xx usage and config ---- */                                                           \
    X(USAGE, 101, SESSION, STOP, USAGE, CONFIG, "The command line is not valid.",                  \
      "Run `rsyncd-lite --help` or `rsyncd-lite COMMAND --help` and fix the arguments.")           \
    X(CONFIG_SYNTAX, 102, SESSION, STOP, USAGE, CONFIG,                                            \
      "The job file has a line that is not `key = value` or `[section]`.",                         \
      "Fix the line named in the message (FILE:LINE). Comments start with `;` or `#`.")            \
    X(CONFIG_UNKNOWN_KEY, 103, SESSION, STOP, USAGE, CONFIG,                                       \
      "The job file has a key this version does not know.",                                        \
      "Check the spelling against job.conf(5); remove keys meant for other tools.")                \
    X(CONFIG_BAD_VALUE, 104, SESSION, STOP, USAGE, CONFIG,                                         \
      "A job file value is out of range or of the wrong type.",                                    \
      "Fix the value named in the message; job.conf(5) lists each key's type, unit and default.")  \
    X(CONFIG_MISSING_KEY, 105, SESSION, STOP, USAGE, CONFIG,                                       \
      "A required job file key is missing.",                                                       \
      "Add the key named in the message (name, source and destination are required).")             \
    X(CONFIG_UNREADABLE, 106, SESSION, STOP, USAGE, CONFIG, "The job file cannot be read.",        \
      "Check the path and that the user running rsyncd-lite may read it.")                         \
    X(SCHEME_UNSUPPORTED, 107, SESSION, STOP, USAGE, CONFIG,                                       \
      "The destination URL scheme is not supported.",                                              \
      "Use file://, sftp://, ftps:// or https:// (plain ftp:// and http:// need allow_insecure = " \
      "yes).")                                                                                     \
    X(SECRET_UNREADABLE, 108, SESSION, STOP, SESSION, AUTH,                                        \
      "A secret file (password, passphrase or token) cannot be read or is empty.",                 \
      "Check the *_file path, its permissions (0600 recommended) and that it is not empty.")       \
    /* ---- 2xx per-item, local side ---- */                                                       \
    X(NAME_FORBIDDEN_CHAR, 201, PERSISTENT, KEEP, PARTIAL, ITEM,                                   \
      "The name contains a character the remote forbids ([remote] forbidden_chars).",              \
      "Rename the item without that character, or adjust forbidden_chars if the remote really "    \
      "allows it.")                                                                                \
    X(NAME_CONTROL_CHAR, 202, PERSISTENT, KEEP, PARTIAL, ITEM,                                     \
      "The name contains a control character (for example CR or LF).",                             \
      "Rename the item; control characters are refused by most servers and are a "                 \
      "command-injection risk on FTP.")                                                            \
    X(NAME_INVALID_UTF8, 203, PERSISTENT, KEEP, PARTIAL, ITEM, "The name is not valid UTF-8.",     \
      "Rename the item to valid UTF-8 (for example with `convmv -f latin1 -t utf8`).")             \
    X(NAME_TOO_LONG, 204, PERSISTENT, KEEP, PARTIAL, ITEM,                                         \
      "A path component is longer than [remote] max_name_length bytes.",                           \
      "Shorten the file or folder name below the limit the remote server enforces.")               \
    X(PATH_TOO_LONG, 205, PERSISTENT, KEEP, PARTIAL, ITEM,                                         \
      "The absolute remote path (remote root + '/' + item path, + temp_suffix for a file, in "     \
      "bytes) is longer than [remote] max_path_length.",                                           \
      "Shorten folder or file names, or a long remote root; the limit counts the absolute remote " \
      "path, the remote root and temp_suffix included, as the servers do.")                        \
    X(FILE_TOO_LARGE, 206, PERSISTENT, KEEP, PARTIAL, ITEM,                                        \
      "The file is larger than [remote] max_file_size.",                                           \
      "Split or compress the file, or raise max_file_size if the remote accepts larger files.")    \
    X(FILE_EMPTY, 207, PERSISTENT, KEEP, PARTIAL, ITEM,                                            \
      "The file is empty and [remote] allow_empty_files = no.",                                    \
      "Remove the empty file, add content, or set allow_empty_files = yes if the remote accepts "  \
      "them.")                                                                                     \
    X(SYMLINK_SKIPPED, 208, INFO, KEEP, OK, NONE,                                                  \
      "The item is a symbolic link and follow_symlinks = no.",                                     \
      "None if intended. Set follow_symlinks = yes to upload what links inside the source point "  \
      "to.")                                                                                       \
    X(SYMLINK_OUTSIDE, 209, INFO, KEEP, OK, NONE,                                                  \
      "The symbolic link points outside the source root (or is broken or loops) and is not "       \
      "followed.",                                                                                 \
      "Copy the target into the source tree, or fix the link.")                                    \
    X(SPECIAL_SKIPPED, 210, INFO, KEEP, OK, NONE,                                                  \
      "The item is a socket, FIFO or device; only files and directories are synced.",              \
      "None. Exclude it to silence this notice.")                                                  \
    X(LOCAL_UNREADABLE, 211, PERSISTENT, KEEP, PARTIAL, ITEM,                                      \
      "The local item cannot be read (permission denied or I/O error).",                           \
      "Fix the file's permissions or ownership so the user running rsyncd-lite can read it.")      \
    X(LOCAL_VANISHED, 212, TRANSIENT, KEEP, VANISHED, ITEM,                                        \
      "The local item was deleted or renamed between the scan and its transfer.",                  \
      "None. The next run picks up the item under its new name, or deletes it remotely with "      \
      "delete = yes.")                                                                             \
    X(LOCAL_CHANGED, 213, TRANSIENT, KEEP, PARTIAL, ITEM,                                          \
      "The local file changed while it was being uploaded.",                                       \
      "None. It is uploaded again on the next run; if it changes constantly, exclude it or sync "  \
      "a snapshot.")                                                                               \
    X(RETRY_DEFERRED, 214, INFO, KEEP, PARTIAL, NONE,                                              \
      "The item failed with a persistent error and is blocked until its retry interval passes.",   \
      "Fix the cause, then change the file or run `rsyncd-lite retry JOB.conf` to try it now.")    \
    X(PARENT_FAILED, 215, TRANSIENT, KEEP, PARTIAL, ITEM,                                          \
      "The item's parent directory could not be created on the remote.",                           \
      "Fix the parent directory's error (see the log); the item follows automatically.")           \
    X(TYPE_CHANGED, 216, TRANSIENT, KEEP, PARTIAL, ITEM,                                           \
      "The item changed type during the run (file <-> directory).",                                \
      "None. The next run handles the new type.")                                                  \
    X(NAME_RESERVED, 217, PERSISTENT, KEEP, PARTIAL, ITEM,                                         \
      "The name ends with temp_suffix, which is reserved for partial uploads of other files.",     \
      "Rename the item, or choose another [remote] temp_suffix.")                                  \
    X(DEPTH_LIMIT, 218, PERSISTENT, KEEP, PARTIAL, ITEM,                                           \
      "The directory tree is deeper than 256 levels; what lies below is not scanned.",             \
      "Exclude the deep part (exclude = PATTERN in [job]) or flatten the tree; permissions are "   \
      "not the cause.")                                                                            \
    /* ---- 3xx per-item, remote side ---- */                                                      \
    X(REMOTE_PERMISSION, 301, PERSISTENT, KEEP, PARTIAL, ITEM,                                     \
      "The remote server denied permission for this item.",                                        \
      "Give the remote account write permission on the folder (test with a client using the same " \
      "account).")                                                                                 \
    X(REMOTE_NAME_REFUSED, 302, PERSISTENT, KEEP, PARTIAL, ITEM,                                   \
      "The remote server refused the item's name.",                                                \
      "Rename the item; add the character to forbidden_chars so it is caught before transfer "     \
      "next time.")                                                                                \
    X(REMOTE_NO_SPACE, 303, TRANSIENT, KEEP, PARTIAL, ITEM,                                        \
      "The remote disk is full or the account's quota is exceeded.",                               \
      "Free space or raise the quota on the remote server.")                                       \
    X(REMOTE_SIZE_MISMATCH, 304, TRANSIENT, KEEP, PARTIAL, ITEM,                                   \
      "After upload the remote size differs from the local size.",                                 \
      "None; the file is uploaded again. If it repeats, the server may alter files (ASCII mode, "  \
      "filters).")                                                                                 \
    X(REMOTE_IO, 305, TRANSIENT, KEEP, PARTIAL, ITEM,                                              \
      "The remote server reported an I/O error or the connection dropped during this item.",       \
      "None; retried on the next run. If it repeats, check the server's logs and network "         \
      "stability.")                                                                                \
    X(REMOTE_LOCKED, 306, TRANSIENT, KEEP, PARTIAL, ITEM, "The remote item is locked or in use.",  \
      "None; retried on the next run. If it repeats, release the lock on the server.")             \
    X(REMOTE_TOO_LARGE, 307, TRANSIENT, KEEP, PARTIAL, ITEM,                                       \
      "The remote server refused the request body as too large.",                                  \
      "Lower chunk_size, or ask the server administrator to raise the request size limit.")        \
    X(REMOTE_NOT_FOUND, 308, TRANSIENT, KEEP, PARTIAL, ITEM,                                       \
      "A remote path the item needs does not exist.",                                              \
      "None; retried on the next run. If it repeats, run `rsyncd-lite verify JOB.conf --repair`.") \
    X(REMOTE_TYPE_CONFLICT, 309, PERSISTENT, KEEP, PARTIAL, ITEM,                                  \
      "The remote has an item of another type (file vs directory) at this path.",                  \
      "Remove or rename the conflicting remote item.")                                             \
    X(REMOTE_BUSY, 310, TRANSIENT, KEEP, PARTIAL, ITEM,                                            \
      "The remote server is busy, throttling, or refused more connections (421, 429, 5xx).",       \
      "None; retried with backoff. Lower transfers = N if it repeats.")                            \
    X(REMOTE_RENAME_FAILED, 311, TRANSIENT, KEEP, PARTIAL, ITEM,                                   \
      "The uploaded temp file could not be renamed into place.",                                   \
      "Check that the account may rename and overwrite files; retried on the next run.")           \
    X(REMOTE_DELETE_FAILED, 312, TRANSIENT, KEEP, PARTIAL, ITEM,                                   \
      "A remote item could not be deleted.",                                                       \
      "Check delete permission on the remote; retried on the next run.")                           \
    X(REMOTE_BODY_LIMIT, 313, PERSISTENT, KEEP, PARTIAL, ITEM,                                     \
      "The remote server refuses a request this large, and the file cannot be sent in smaller "    \
      "pieces.",                                                                                   \
      "Ask the server administrator to raise the request size limit (Apache LimitRequestBody, "    \
      "nginx client_max_body_size), or set max_file_size below it so such files are reported "     \
      "before any transfer.")                                                                      \
    X(CHECKSUM_UNAVAILABLE, 314, INFO, KEEP, OK, ITEM,                                             \
      "The remote server offers no checksum of this item in a form rsyncd-lite reads.",            \
      "None; compare by reading the file back (verify --checksum falls back to it where it can).") \
    /* ---- 4xx session ---- */                                                                    \
    X(DNS_FAILED, 401, SESSION, STOP, SESSION, NETWORK,                                            \
      "The remote host name could not be resolved.",                                               \
      "Check the host name in destination and the machine's DNS settings (`getent hosts HOST`).")  \
    X(CONNECT_REFUSED, 402, SESSION, RECONNECT, SESSION, NETWORK,                                  \
      "The connection to the remote server was refused or unreachable.",                           \
      "Check host, port and that the server runs; check firewalls and IP allow-lists on the "      \
      "server side.")                                                                              \
    X(TIMEOUT, 403, SESSION, RECONNECT, TIMEOUT, NETWORK,                                          \
      "The remote server did not answer within `timeout`.",                                        \
      "Check the network; raise timeout; ask the server administrator about idle or session time " \
      "limits.")                                                                                   \
    X(AUTH_FAILED, 404, SESSION, STOP, SESSION, AUTH,                                              \
      "The remote server rejected the credentials.",                                               \
      "Check username, password_file, identity_file or token_file; check the account is not "      \
      "locked or IP-restricted.")                                                                  \
    X(HOSTKEY_UNKNOWN, 405, SESSION, STOP, SESSION, TRUST,                                         \
      "The SSH host key is not in known_hosts and no fingerprint is pinned.",                      \
      "Verify the fingerprint with the server's administrator, then add the line printed in the "  \
      "message to known_hosts.")                                                                   \
    X(HOSTKEY_CHANGED, 406, SESSION, STOP, SESSION, TRUST,                                         \
      "The SSH host key differs from the one in known_hosts or the pinned fingerprint.",           \
      "Do not proceed until the administrator confirms a key change; then update known_hosts.")    \
    X(TLS_UNTRUSTED, 407, SESSION, STOP, SESSION, TRUST,                                           \
      "The server's TLS certificate is not trusted (unknown CA, self-signed, or pin mismatch).",   \
      "Set ca_file to the CA that signed it, or pin it with pinned_pubkey = sha256//...")          \
    X(TLS_EXPIRED, 408, SESSION, STOP, SESSION, TRUST,                                             \
      "The server's TLS certificate has expired or is not yet valid.",                             \
      "Ask the server administrator to renew the certificate; check this machine's clock.")        \
    X(TLS_NAME_MISMATCH, 409, SESSION, STOP, SESSION, TRUST,                                       \
      "The server's TLS certificate does not match the host name.",                                \
      "Use the host name the certificate was issued for in destination.")                          \
    X(TLS_FAILED, 410, SESSION, RECONNECT, SESSION, TRUST, "The TLS handshake failed.",            \
      "Check that the server speaks TLS on this port (ftps_mode explicit/implicit) and supports "  \
      "TLS 1.2+.")                                                                                 \
    X(REMOTE_ROOT_MISSING, 411, SESSION, STOP, SESSION, ROOT,                                      \
      "The destination directory does not exist on the remote or is not a directory.",             \
      "Create the destination directory on the server, or fix the path in destination.")           \
    X(PROTOCOL, 412, SESSION, RECONNECT, SESSION, NETWORK,                                         \
      "The remote server answered something the protocol does not allow.",                         \
      "Check that destination points at the right kind of server; run `rsyncd-lite check "         \
      "JOB.conf`.")                                                                                \
    X(REDIRECT, 413, SESSION, STOP, SESSION, ROOT,                                                 \
      "The HTTP server answered with a redirect, which is not followed.",                          \
      "Use the redirect target named in the message as the destination.")                          \
    X(METHOD_NOT_ALLOWED, 414, SESSION, STOP, SESSION, ROOT,                                       \
      "The server does not allow a WebDAV method (405): WebDAV is off for this path.",             \
      "Enable WebDAV (PUT, MKCOL, MOVE, DELETE, PROPFIND) on the server for this path.")           \
    X(PASSIVE_FAILED, 415, SESSION, RECONNECT, SESSION, NETWORK,                                   \
      "The FTP data connection (passive mode) could not be opened, or the server refused passive " \
      "mode.",                                                                                     \
      "If the message quotes a refusal, enable passive mode (EPSV/PASV) on the server; otherwise " \
      "open the server's passive port range in firewalls and check its pasv_address.")             \
    X(CONNECTION_LOST, 416, SESSION, RECONNECT, SESSION, NETWORK,                                  \
      "The connection to the remote server was lost and could not be re-established.",             \
      "None; the next run resumes. If it repeats, check the network and the server's session "     \
      "limits.")                                                                                   \
    X(SOURCE_MISSING, 420, SESSION, STOP, SESSION, LOCAL,                                          \
      "The source directory does not exist or cannot be read.",                                    \
      "Fix source, or mount the file system. Nothing was deleted remotely.")                       \
    X(SOURCE_EMPTY, 421, SESSION, STOP, SESSION, LOCAL,                                            \
      "The source directory is empty while the manifest lists files: deleting everything was "     \
      "refused.",                                                                                  \
      "If the source is really meant to be empty, delete the remote files by hand or remove the "  \
      "state db.")                                                                                 \
    X(MAX_DELETE, 422, SESSION, STOP, SESSION, GUARD,                                              \
      "The run would delete more items than max_delete allows; nothing was deleted.",              \
      "Check the source is complete; if the deletions are intended, run once with --max-delete "   \
      "N.")                                                                                        \
    X(JOB_LOCKED, 423, SESSION, STOP, LOCKED, LOCAL, "Another run of this job holds the lock.",    \
      "None; the other run is still going. Check `rsyncd-lite status JOB.conf`.")                  \
    X(ALL_WRITES_FAILED, 424, SESSION, STOP, SESSION, GUARD,                                       \
      "Every write to the remote failed; the run stopped early.",                                  \
      "Look at the per-item errors (`rsyncd-lite log JOB.conf --failed`); often disk full or "     \
      "permissions.")                                                                              \
    X(INTERRUPTED, 425, SESSION, STOP, INTERRUPTED, NONE,                                          \
      "The run was interrupted by a signal; the file in flight can resume.",                       \
      "None; the next run continues where this one stopped.")                                      \
    X(INSECURE_REFUSED, 426, SESSION, STOP, SESSION, TRUST,                                        \
      "A plain-text protocol (ftp://, http://) was refused.",                                      \
      "Use ftps:// or https://, or set allow_insecure = yes if the risk is accepted.")             \
    X(SECRET_MISSING, 427, SESSION, STOP, SESSION, AUTH,                                           \
      "The remote needs credentials and none were configured.",                                    \
      "Set identity_file, password_file, token_file or RSYNCD_LITE_PASSWORD as the transport "     \
      "requires.")                                                                                 \
    X(REMOTE_CHANGED, 428, SESSION, STOP, SESSION, ROOT,                                           \
      "The remote changed behind our back: files the manifest says were sent are gone or differ "  \
      "(size, or mtime where the protocol keeps it) in the sample each run checks.",               \
      "Run `rsyncd-lite verify JOB.conf --repair`, then run again. Nothing was uploaded or "       \
      "deleted by this run.")                                                                      \
    X(RUN_TIME_EXCEEDED, 429, SESSION, STOP, TIMEOUT, GUARD,                                       \
      "The run reached max_run_time: it took no new item and stopped; the file in flight keeps "   \
      "its temp file and resumes.",                                                                \
      "None; the next run continues where this one stopped. Raise max_run_time if the job "        \
      "regularly needs longer.")                                                                   \
    /* ---- 5xx state and internal ---- */                                                         \
    X(STATE_OPEN, 501, SESSION, STOP, SESSION, STATE,                                              \
      "The state database cannot be opened or created.",                                           \
      "Check the state path, its directory's permissions and free disk space.")                    \
    X(STATE_CORRUPT, 502, SESSION, STOP, SESSION, STATE, "The state database is corrupt.",         \
      "Move the state db aside; the next run rebuilds it (everything is uploaded again once).")    \
    X(STATE_IO, 503, SESSION, STOP, SESSION, STATE,                                                \
      "Reading or writing the state database failed.",                                             \
      "Check free disk space and the file system holding the state db.")                           \
    X(STATE_TOO_NEW, 504, SESSION, STOP, SESSION, STATE,                                           \
      "The state database was written by a newer rsyncd-lite.",                                    \
      "Upgrade rsyncd-lite, or point state to another file.")                                      \
    X(STATE_WRITE, 505, SESSION, STOP, SESSION, STATE,                                             \
      "The state database could not be written (disk full, read-only or failing file system); "    \
      "the run stopped before changing anything more on the remote.",                              \
      "Free space on the file system that holds the state db (`df -h` on its directory) or move "  \
      "`state` to a writable disk; the next run continues where this one stopped.")                \
    X(NO_MEMORY, 598, SESSION, STOP, SESSION, STATE, "Out of memory.",                             \
      "Free memory or lower transfers.")                                                           \
    X(INTERNAL, 599, SESSION, STOP, SESSION, STATE, "An internal error occurred.",                 \
      "Please report it with the output of `rsyncd-lite log JOB.conf --json`.")

typedef enum rsl_code {
#define RSL_X_ENUM(name, num, cls, handling, exitc, stage, meaning, fix) RSL_E_##name = num,
    RSL_CATALOG(RSL_X_ENUM)
#undef RSL_X_ENUM
} rsl_code;

#define RSL_OK RSL_E_OK

/* One catalog row. */
typedef struct rsl_catalog_entry {
    const char *name; /* stable name without prefix, e.g. "NAME_TOO_LONG" */
    int number;
    rsl_class cls;
    rsl_handling handling;
    rsl_exit exit_code;
    rsl_stage stage;
    const char *meaning;
    const char *remediation;
} rsl_catalog_entry;

/* The error out-parameter: catalog code, native code (errno, libssh2 error,
 * FTP reply, HTTP status, ...) and a detail message naming the item and rule. */
typedef struct rsl_err {
    rsl_code code;
    long native;
    char msg[512];
} rsl_err;

/* Returns the entry for a code, or NULL if the number is not in the catalog. */
const rsl_catalog_entry *rsl_catalog_get(int number);
/* Looks up by name ("NAME_TOO_LONG", case-insensitive, "RSL_E_" prefix optional)
 * or decimal number ("204"). NULL if unknown. */
const rsl_catalog_entry *rsl_catalog_find(const char *name_or_number);
/* Number of entries and indexed access, for iteration. */
size_t rsl_catalog_count(void);
const rsl_catalog_entry *rsl_catalog_at(size_t i);

const char *rsl_class_name(rsl_class c); /* "transient", "persistent", ... */
rsl_class rsl_code_class(rsl_code c);
const char *rsl_code_name(rsl_code c); /* "NAME_TOO_LONG"; "UNKNOWN" if absent */
/* The catalog's columns for a code; an unknown code is a session error that
 * stops the run (exit 5). */
rsl_handling rsl_code_handling(rsl_code c);
rsl_exit rsl_code_exit(rsl_code c);
rsl_stage rsl_code_stage(rsl_code c);
/* 1 when the code says the connection is unusable and a reconnect may help. */
int rsl_code_reconnects(rsl_code c);
const char *rsl_handling_name(rsl_handling h); /* "keep", "reconnect", "stop" */

/* Fills *err (if non-NULL) and returns code. Always returns code, so callers
 * can write `return rsl_err_set(err, RSL_E_X, errno, "...", ...);`. */
rsl_code rsl_err_set(rsl_err *err, rsl_code code, long native, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void rsl_err_clear(rsl_err *err);

/* Writes the whole catalog as Markdown (the content of docs/errors.md). */
void rsl_catalog_markdown(FILE *out);
/* Writes one entry as human text (the `explain` sub-command). */
void rsl_catalog_explain(FILE *out, const rsl_catalog_entry *e);

#endif
