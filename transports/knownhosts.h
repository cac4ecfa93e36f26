/*
 * knownhosts.h - OpenSSH known_hosts matching and host-key fingerprints for
 * the SFTP transport.
 *
 * Owns: reading one known_hosts file (plain, wildcard, negated, hashed |1|
 * and [host]:port entries; @revoked markers; @cert-authority lines and key
 * types it cannot parse are skipped, never fatal), comparing a server's raw
 * host key blob against it, and formatting SHA256 fingerprints and the line
 * an operator adds to trust a host.
 * Must not touch: the network, libssh2 sessions, the terminal. Never writes
 * the file: adding a host is the operator's decision.
 */
#ifndef RSL_TRANSPORT_KNOWNHOSTS_H
#define RSL_TRANSPORT_KNOWNHOSTS_H

#include <stddef.h>

typedef enum rsl_kh_result {
    RSL_KH_MATCH = 0,  /* a line for this host has exactly this key */
    RSL_KH_UNKNOWN,    /* no line names this host (or the file is absent) */
    RSL_KH_OTHER_TYPE, /* the host is known, but only with keys of other types */
    RSL_KH_CHANGED,    /* a line for this host has another key of the same type */
    RSL_KH_REVOKED     /* the key is marked @revoked */
} rsl_kh_result;

/* Checks the raw host key blob (SSH wire format) of host:port against file.
 * *line_no (may be NULL) receives the 1-based line of the deciding entry (0
 * if none). *file_missing (may be NULL) is set to 1 when the file does not
 * exist or cannot be read. */
rsl_kh_result rsl_knownhosts_check(const char *file, const char *host, int port,
                                   const unsigned char *key, size_t keylen, int *line_no,
                                   int *file_missing);

/* Writes into buf a comma list of the key types known for host:port in
 * file, in file order, without duplicates (e.g. "ssh-ed25519,ssh-rsa"), so
 * the key exchange can prefer a key we can verify. "" when none. */
void rsl_knownhosts_types(const char *file, const char *host, int port, char *buf, size_t n);

/* "SHA256:<base64 without padding>" of the key blob, as ssh-keygen -l prints. */
void rsl_knownhosts_fingerprint(const unsigned char *key, size_t keylen, char *buf, size_t n);

/* The known_hosts line that trusts this key for host:port ("host type b64"
 * for port 22, "[host]:port type b64" otherwise), without a newline.
 * Returns 0, or -1 if buf is too small. */
int rsl_knownhosts_line(const char *host, int port, const unsigned char *key, size_t keylen,
                        char *buf, size_t n);

/* The key type named inside a key blob ("ssh-ed25519"), or "" if malformed. */
void rsl_knownhosts_keytype(const unsigned char *key, size_t keylen, char *buf, size_t n);

#endif
