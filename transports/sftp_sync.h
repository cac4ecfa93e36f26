/*
 * sftp_sync.h - one-request-at-a-time helpers over the SFTP client
 * (sftp_client.h), for the paths that are not hot: the transport's
 * connect (stat of the root), check, verify's listing, and the classic
 * per-call functions. Each sends one request and pumps until its reply.
 *
 * Owns: nothing beyond what each call returns (the caller frees).
 * Must not touch: the client's internals (it uses sftp_client.h only).
 * Never called from a reply callback (they pump).
 *
 * Paths are relative to the client's root ("" is the root). Errors are
 * catalog codes from rsl_sftp_client_map_status, or the session's error.
 */
#ifndef RSL_SFTP_SYNC_H
#define RSL_SFTP_SYNC_H

#include "sftp_client.h"

/* Stats rel (lstat = 1: does not follow a symlink). A missing item is
 * RSL_OK with *exists = 0. */
rsl_code rsl_sftp_sync_stat(rsl_sftp_client *s, const char *rel, int lstat, rsl_sftp_attrs *a,
                            int *exists, rsl_err *err);
/* The bare MKDIR with permission bits (0: the server's default): an
 * existing item is an error here (OpenSSH says FAILURE). */
rsl_code rsl_sftp_sync_mkdir(rsl_sftp_client *s, const char *rel, uint32_t mode, rsl_err *err);
rsl_code rsl_sftp_sync_rmdir(rsl_sftp_client *s, const char *rel, rsl_err *err);
rsl_code rsl_sftp_sync_remove(rsl_sftp_client *s, const char *rel, rsl_err *err);
/* posix-rename@openssh.com when posix is set and the server offers it
 * (replaces to atomically), else version 3 RENAME (fails when to exists on
 * most servers). */
rsl_code rsl_sftp_sync_rename(rsl_sftp_client *s, const char *from, const char *to, int posix,
                              rsl_err *err);
rsl_code rsl_sftp_sync_setstat(rsl_sftp_client *s, const char *rel, const rsl_sftp_attrs *a,
                               rsl_err *err);
/* The server's canonical absolute path for rel; *out is malloc'd. */
rsl_code rsl_sftp_sync_realpath(rsl_sftp_client *s, const char *rel, char **out, rsl_err *err);
/* statvfs@openssh.com (REMOTE_IO when the server lacks it). */
rsl_code rsl_sftp_sync_statvfs(rsl_sftp_client *s, const char *rel, rsl_sftp_statvfs *v,
                               rsl_err *err);
/* Lists directory rel: cb gets each entry but "." and ".."; a name with a
 * '/' or a NUL byte is PROTOCOL. cb returns non-zero to stop. */
typedef int (*rsl_sftp_dir_cb)(void *ud, const char *name, const rsl_sftp_attrs *a);
rsl_code rsl_sftp_sync_readdir(rsl_sftp_client *s, const char *rel, rsl_sftp_dir_cb cb, void *ud,
                               rsl_err *err);

/* ---- handles (the paths that are not hot: probes, small reads) ---- */

/* OPEN rel with pflags (RSL_SFTP_PF_*) and attrs a (NULL: none). */
rsl_code rsl_sftp_sync_open(rsl_sftp_client *s, const char *rel, uint32_t pflags,
                            const rsl_sftp_attrs *a, rsl_sftp_handle *h, rsl_err *err);
/* CLOSE h (rel for messages). */
rsl_code rsl_sftp_sync_close(rsl_sftp_client *s, const rsl_sftp_handle *h, const char *rel,
                             rsl_err *err);
/* One WRITE of n bytes at off. */
rsl_code rsl_sftp_sync_write(rsl_sftp_client *s, const rsl_sftp_handle *h, uint64_t off,
                             const void *data, uint32_t n, const char *rel, rsl_err *err);
rsl_code rsl_sftp_sync_fstat(rsl_sftp_client *s, const rsl_sftp_handle *h, const char *rel,
                             rsl_sftp_attrs *a, rsl_err *err);

/* ---- server-side hashes ---- */

/* check-file-name on rel over the whole file with the first algorithm of
 * algs (a comma list, strongest first) the server has: *alg (NUL-ended)
 * and the digest's bytes (at most 64: *n). Errors: the server's status
 * (OP_UNSUPPORTED maps to REMOTE_IO with err->native 8), PROTOCOL for a
 * malformed reply. */
rsl_code rsl_sftp_sync_check_file(rsl_sftp_client *s, const char *rel, const char *algs, char *alg,
                                  size_t algsz, unsigned char *digest, size_t *n, rsl_err *err);
/* md5-hash on rel over the whole file: 16 bytes into digest. */
rsl_code rsl_sftp_sync_md5(rsl_sftp_client *s, const char *rel, unsigned char digest[16],
                           rsl_err *err);

#endif
