/*
 * secret.h - reading a secret (password, passphrase, token) from its file,
 * the same way for every transport.
 *
 * The rule: the secret is the file's first line, without its trailing LF or
 * CR LF. A file whose first line is empty, or that has more than one
 * non-empty line, is refused (a second line is most often a mistake: two
 * passwords, or a key pasted into a password file). The file is read with
 * open/read (no stdio buffer keeps a copy) and at most RSL_SECRET_MAX bytes;
 * a larger file is refused, never cut. Every buffer that held the secret is
 * wiped with explicit_bzero before it is freed. The secret never appears in
 * a message: only the file's path does.
 *
 * Codes: RSL_E_SECRET_UNREADABLE (cannot open or read, empty, several lines,
 * too large), RSL_E_SECRET_MISSING (rsl_secret_password: no file and no
 * RSYNCD_LITE_PASSWORD), RSL_E_NO_MEMORY.
 *
 * Owns: the secret's buffer until it is handed to the caller (who frees it
 * with rsl_secret_free). Must not touch: logs, the network.
 */
#ifndef RSL_TRANSPORT_SECRET_H
#define RSL_TRANSPORT_SECRET_H

#include "base/catalog.h"

#define RSL_SECRET_MAX 4096 /* bytes read from a secret file at most */

/* Reads the secret in `path`; `what` names the key in messages
 * ("password_file"). On RSL_OK *out is a NUL-terminated secret the caller
 * releases with rsl_secret_free; on error *out is NULL. */
rsl_code rsl_secret_read(const char *path, const char *what, char **out, rsl_err *err);

/* The password: from `file` when set (rsl_secret_read), else a copy of `env`
 * (RSYNCD_LITE_PASSWORD) when set and non-empty, else RSL_E_SECRET_MISSING
 * with "no password: set password_file or RSYNCD_LITE_PASSWORD". */
rsl_code rsl_secret_password(const char *file, const char *env, char **out, rsl_err *err);

/* 1 when the secret file at path can be read or written by group or others
 * (OpenSSH refuses such keys); msg (n bytes) then says which file, which
 * key, its mode and the fix. 0 when private, or when it cannot be stat'ed
 * (reading it reports that). */
int rsl_secret_exposed(const char *path, const char *what, char *msg, size_t n);

/* Wipes and frees a secret. NULL-safe. */
void rsl_secret_free(char *s);

#endif
