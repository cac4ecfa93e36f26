/*
 * job.h - the settings of one sync job (what a job.conf says, after
 * defaults), shared by the config parser (cli/config.c), the engine and the
 * transports' options.
 *
 * Owns: struct rsl_job and its strings (rsl_job_free releases them all).
 * Must not touch: files, the state db, the network. Plain data.
 */
#ifndef RSL_JOB_H
#define RSL_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "transports/transport.h"

#define RSL_DEFAULT_TEMP_SUFFIX ".rsl-part"
#define RSL_DEFAULT_MAX_DELETE 1000
#define RSL_DEFAULT_TRANSFERS 4
#define RSL_DEFAULT_TIMEOUT 60
#define RSL_DEFAULT_CHUNK_SIZE (16ull << 20)

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
    int follow_symlinks;
    int transfers;
    int timeout_sec;
    char *schedule;     /* for the daemon; NULL if unset */
    char *metrics_file; /* Prometheus textfile; NULL if unset */
    /* [remote]: limits checked before transfer */
    char *forbidden_chars;
    long max_name_length;
    long max_path_length;
    char *temp_suffix;
    uint64_t max_file_size; /* 0 = unlimited */
    int allow_empty_files;
    /* [remote]: connection settings handed to the transport */
    char *username;
    char *identity_file;
    char *passphrase_file;
    char *password_file;
    char *token_file;
    char *known_hosts;
    char *host_key_fingerprint;
    char *ca_file;
    char *pinned_pubkey;
    int use_agent;
    int strict_host_key_checking;
    int tls_verify;
    int allow_insecure;
    int ftps_implicit;
    uint64_t chunk_size;
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
/* Fills the transport options from the job. Strings are borrowed from job. */
void rsl_job_remote_opts(const rsl_job *job, rsl_remote_opts *opts);

#endif
