/*
 * verify_content.h - comparing one file's content for `verify --checksum`.
 *
 * Where the server computes a digest (the transport's hash(): SFTP
 * check-file, FTP HASH/XSHA256/XMD5, WebDAV checksum headers, file://), it is
 * compared with the SHA-256 the manifest recorded when the bytes were read
 * for upload; a digest in another algorithm (md5, sha1, sha512, adler32) is
 * compared with the local file's, computed here while the local file is
 * unchanged since the upload (same size and mtime as the manifest row, and,
 * when a digest was recorded, the same SHA-256). With --read-back every file
 * is streamed back through the transport's read() and hashed here, whatever
 * the server offers (a server's checksum may be stored metadata rather than
 * computed from the bytes it holds). A row without a recorded digest (an
 * upload older than digests) is compared with the local file when that is
 * unchanged since the upload.
 *
 * Every outcome but a comparison is RSL_VC_UNCHECKED with its reason: this
 * module never says "same" for content it did not compare.
 *
 * Owns: the choice of method and the verdict. Must not touch: the manifest
 * (the caller passes the row's facts), the terminal.
 */
#ifndef RSL_CLI_VERIFY_CONTENT_H
#define RSL_CLI_VERIFY_CONTENT_H

#include <stdint.h>

#include "base/catalog.h"
#include "cli/digest.h"
#include "transports/transport.h"

typedef enum rsl_vc_verdict {
    RSL_VC_SAME = 0,
    RSL_VC_DIFFERENT, /* the remote content is not what was sent */
    RSL_VC_UNCHECKED  /* not compared; why says why */
} rsl_vc_verdict;

typedef enum rsl_vc_method {
    RSL_VC_BY_NONE = 0,
    RSL_VC_BY_SERVER,   /* the server's digest */
    RSL_VC_BY_READ_BACK /* the bytes read back, hashed here */
} rsl_vc_method;

/* Why a file's content was not compared (the summary counts each). */
typedef enum rsl_vc_why {
    RSL_VC_WHY_NONE = 0,
    RSL_VC_WHY_NO_SERVER_SUM, /* the server offers no digest of it: --read-back */
    RSL_VC_WHY_NO_READ,       /* --read-back, but this transport cannot read files */
    RSL_VC_WHY_NO_DIGEST,     /* no recorded digest, and the local file changed since */
    RSL_VC_WHY_LOCAL_CHANGED, /* the server's algorithm needs the local file: it changed */
    RSL_VC_WHY_UNKNOWN_ALG,   /* the server's digest is in an algorithm we do not compute */
    RSL_VC_WHY_ERROR,         /* the item could not be hashed or read (vanished, refused) */
    RSL_VC_NWHY
} rsl_vc_why;

/* One file present on both sides with the same size. */
typedef struct rsl_vc_file {
    const char *path;            /* relative to both roots */
    uint64_t size;               /* the manifest's (= the remote's) */
    int64_t mtime_ns;            /* the local mtime the manifest row came from */
    const unsigned char *digest; /* the recorded SHA-256 (32 bytes), or NULL */
} rsl_vc_file;

typedef struct rsl_vc_result {
    rsl_vc_verdict verdict;
    rsl_vc_method method;
    rsl_vc_why why;
    char alg[16];                  /* the algorithm compared ("" when none) */
    char expected[RSL_DIGEST_HEX]; /* the digest of what was sent ("" unknown) */
    char remote[RSL_DIGEST_HEX];   /* the server's, or of the bytes read back ("" none) */
    char detail[600];              /* words for the report */
} rsl_vc_result;

typedef struct rsl_vc {
    const rsl_transport_ops *ops;
    rsl_conn *conn;
    int srcfd;     /* the local source root (O_DIRECTORY), or -1 */
    int read_back; /* read every file back */
    /* learnt: this server answers another algorithm where sha256 is asked,
     * so later files ask for any at once (one request instead of two) */
    int ask_any;
    uint64_t bytes_read;  /* remote bytes read back */
    uint64_t bytes_local; /* local bytes hashed */
} rsl_vc;

/* A short phrase for why (for summaries): "no server checksum", ... */
const char *rsl_vc_why_text(rsl_vc_why why);

/* Compares f's content. RSL_OK with *out filled (a per-item failure such as
 * a file that vanished is UNCHECKED with the error in out->detail); a
 * SESSION-class code with err set when the connection is unusable (the
 * caller may reconnect and call again). */
rsl_code rsl_vc_compare(rsl_vc *vc, const rsl_vc_file *f, rsl_vc_result *out, rsl_err *err);

#endif
