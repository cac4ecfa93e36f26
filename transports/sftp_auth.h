/*
 * sftp_auth.h - who the sftp server is and who we are to it: the host key
 * checked against known_hosts or the pinned host_key_fingerprint (with
 * strict_host_key_checking = no: warned about on every connect), and
 * authentication by identity_file (+ passphrase_file), ssh-agent, then
 * password / keyboard-interactive (password_file or RSYNCD_LITE_PASSWORD),
 * on the libssh2 carrier (with ssh_command, ssh does both). The session is
 * non-blocking: every call waits on the socket until the connect deadline
 * (c->deadline), so a server that stops mid-auth gives TIMEOUT.
 * Part of the sftp transport (see sftp_conn.h).
 *
 * Owns: the secrets it reads (secret.h), wiped after use. Must not touch:
 * known_hosts files beyond reading them (knownhosts.h), the SFTP channel.
 */
#ifndef RSL_SFTP_AUTH_H
#define RSL_SFTP_AUTH_H

#include "sftp_conn.h"

/* The known_hosts path to use (the setting with "~/" expanded, or
 * ~/.ssh/known_hosts); caller frees. NULL when out of memory. */
char *rsl_sftp_known_hosts(const rsl_sftp_cfg *cfg);
/* Host key algorithms libssh2 1.10 negotiates, ordered so that the types
 * known_hosts holds for this host (`known`, comma-separated) come first, as
 * OpenSSH does. */
void rsl_sftp_hostkey_prefs(const char *known, char *buf, size_t n);
/* Checks the session's host key (after the handshake) against the pin or
 * khfile; fills c->hostfp, c->keytype, c->trust. HOSTKEY_UNKNOWN /
 * HOSTKEY_CHANGED when strict, else RSL_OK with a warning in the run log. */
rsl_code rsl_sftp_verify_hostkey(rsl_conn *c, const char *khfile, rsl_err *err);
/* Authenticates as c->user with what is configured; fills c->auth.
 * SECRET_MISSING when nothing usable is configured, AUTH_FAILED naming what
 * was tried (and why the identity_file did not do: it could not be loaded,
 * or the server did not accept it), SECRET_UNREADABLE for a bad secret
 * file, TIMEOUT at the deadline. */
rsl_code rsl_sftp_authenticate(rsl_conn *c, rsl_err *err);

#endif
