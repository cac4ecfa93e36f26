/*
 * sftp.h - the sftp:// transport on libssh2 (SFTP v3 against OpenSSH and
 * compatible servers).
 *
 * Owns: the TCP connection, the SSH session (host-key trust, auth,
 * keepalives, timeouts), the SFTP channel, a second SFTP channel used only
 * for OpenSSH extensions libssh2 1.10 cannot send (posix-rename@openssh.com),
 * the per-connection cache of created directories, and the mapping of
 * libssh2 / SFTP status codes onto the catalog (map_ssh / map_fx in sftp.c).
 * Must not touch: SQLite, the engine's plan, the terminal, known_hosts files
 * (read only, via knownhosts.h). Secrets are read from their files, used,
 * wiped; never logged.
 */
#ifndef RSL_TRANSPORT_SFTP_H
#define RSL_TRANSPORT_SFTP_H

#include "transport.h"

extern const rsl_transport_ops rsl_transport_sftp;

#endif
