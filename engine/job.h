/*
 * job.h - the settings of one sync job (what a job.conf says, after
 * defaults), shared by the config parser (cli/config.c), the engine and the
 * transports' options.
 *
 * What is specific to a protocol (host keys, TLS, chunk sizes...) is not
 * here: it is the destination transport's own settings struct, opaque to the
 * job (transport_cfg, filled through that transport's key table by the
 * config parser). The job only knows the keys every transport shares.
 *
 * Owns: struct rsl_job, its strings and the transport settings
 * (rsl_job_free releases them all). Must not touch: files, the state db, the
 * network. Plain data.
 */
#ifndef RSL_JOB_H
#define RSL_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "transports/transport.h"

#define RSL_DEFAULT_TEMP_SUFFIX ".rsl-part"
#define RSL_DEFAULT_MAX_DELETE 1000
#define RSL_DEFAULT_TRANSFERS 4
/* Files this big or bigger go over several connections where the
 * transport can write at an offset (engine/ranges.h); 0 turns it off. */
#define RSL_DEFAULT_MULTI_CONNECTION_MIN (64ull << 20)
/* The most connections a run opens (transfers, plus the extra ones for a
 * transport that carries one operation at a time, FTP, with small files). */
#define RSL_DEFAULT_MAX_CONNECTIONS 16
#define RSL_DEFAULT_TIMEOUT 60
#define RSL_PERMS_SOURCE (-1)
#define RSL_PERMS_SERVER (-2)
/* remote_check: confirm the remote root and a sample of the manifest on every
 * run (0), never (-1), or at most once per interval (> 0, seconds) */
#define RSL_RCHECK_EVERY_RUN 0
#define RSL_RCHECK_NEVER (-1)
/* the longest max_run_time (seconds): 30 days */
#define RSL_MAX_RUN_TIME_MAX (30L * 86400)
/* symlinks = skip | follow | as-links */
#define RSL_SYMLINKS_SKIP 0
#define RSL_SYMLINKS_FOLLOW 1
#define RSL_SYMLINKS_AS_LINKS 2

typedef struct rsl_job {
    char *conf_path; /* the job file, for messages; NULL for `push` */
    /* [job] */
    char *name;
    char *source;      /* absolute, no trailing '/' */
    char *destination; /* URL */
    char *state_path;  /* SQLite state db */
    int delete_;       /* delete = yes */
    long max_delete;
    char **excludes;
    size_t n_excludes;
    uint64_t bwlimit; /* bytes/s; 0 = unlimited */
    /* symlinks: RSL_SYMLINKS_SKIP, _FOLLOW or _AS_LINKS (follow_symlinks =
     * yes/no is the old spelling of follow/skip); follow_symlinks is 1
     * exactly when it is FOLLOW (what the walk reads) */
    int symlinks;
    int follow_symlinks;
    /* append = PATTERN (repeatable): files that only grow (logs); when one
     * grew and its old length still has the recorded digest, only the new
     * tail is sent, written in place */
    char **appends;
    size_t n_appends;
    int transfers;
    int max_connections;           /* at most this many connections in a run */
    uint64_t multi_connection_min; /* bytes; 0 = a file never goes over several */
    int timeout_sec;
    int max_run_time;   /* seconds a whole run may take; 0: no bound */
    int remote_check;   /* RSL_RCHECK_EVERY_RUN, RSL_RCHECK_NEVER or an interval (s) */
    char *schedule;     /* for the daemon; NULL if unset */
    char *metrics_file; /* Prometheus textfile; NULL if unset */
    /* [remote]: limits checked before transfer */
    char *forbidden_chars;
    long max_name_length;
    long max_path_length;
    char *temp_suffix;
    uint64_t max_file_size; /* 0 = unlimited */
    int allow_empty_files;
    /* [remote] perms: the permission bits new remote files and directories
     * get: RSL_PERMS_SOURCE (the source's, the default), RSL_PERMS_SERVER
     * (the server's default) or a mode 0..07777 */
    int perms;
    /* [remote]: connection settings every transport reads */
    char *username;
    char *password_file;
    /* [remote]: the destination transport's own settings (its key table),
     * made for `transport`; NULL (with transport NULL) means its defaults */
    const rsl_transport_ops *transport;
    void *transport_cfg;
    /* Borrowed, not freed by rsl_job_free: the password given through the
     * environment, read once at start-up by the CLI (cli/secret_env.c), which
     * keeps the only copy; NULL when none was given. */
    const char *password_env;
} rsl_job;

/* Sets every field to its default (strings NULL except temp_suffix). */
int rsl_job_init(rsl_job *job);
void rsl_job_free(rsl_job *job);
/* The default state path: $XDG_STATE_HOME/rsyncd-lite/<name>.db, or
 * ~/.local/state/rsyncd-lite/<name>.db. Caller frees. */
char *rsl_job_default_state_path(const char *name);
/* The permission bits a new remote item gets under the job's `perms`, from
 * the local item's bits (`local`, st_mode & 07777): the local bits
 * (source), 0 for the server's default (server), or the configured mode
 * (for a directory with a search bit added wherever it has a read bit). */
uint32_t rsl_job_remote_mode(const rsl_job *job, uint32_t local, int is_dir);
/* Calls warn(ud, message) once for each secret file of the job
 * (password_file and the transport's key, passphrase and token files) that
 * group or others may read or write: each message names the file, the key,
 * its mode and the fix. */
void rsl_job_secret_warnings(const rsl_job *job, void (*warn)(void *ud, const char *msg), void *ud);
/* Fills the transport options from the job: the shared settings, the
 * transport's own (opts->cfg = job->transport_cfg), RSYNCD_LITE_PASSWORD.
 * Strings are borrowed from job. */
void rsl_job_remote_opts(const rsl_job *job, rsl_remote_opts *opts);
/* The warning for every run when the job's transport settings turn off
 * checking the server's identity (the transport words it, e.g.
 * "tls_verify = no: the server's certificate is NOT verified"), or NULL. */
const char *rsl_job_unverified(const rsl_job *job);

#endif
