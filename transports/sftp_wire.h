/*
 * sftp_wire.h - SFTP version 3 (draft-ietf-secsh-filexfer-02) packets: the
 * encoding of every request we send and the decoding of every reply a
 * server may send, plus the OpenSSH extensions (posix-rename, fsync,
 * limits, hardlink, statvfs) and the hash extensions some servers offer
 * (check-file-handle / check-file-name, md5-hash / md5-hash-handle).
 *
 * Owns: pure functions over byte buffers. No I/O, no allocation except the
 * growth of an rsl_sftp_buf, no global state. Decoders never read past the
 * bytes they are given: every length is checked, and a malformed packet
 * yields -1 with a sentence naming what was wrong (the caller turns it into
 * a PROTOCOL error). Decoded strings point into the packet (not copied, not
 * NUL-terminated): they are valid as long as the packet is.
 * Must not touch: sockets, carriers, the catalog (see sftp_client.h).
 *
 * Packet layout: uint32 length, byte type, then the payload; every reply
 * but VERSION carries the request id first. Encoders append one whole
 * packet (length included) to a buffer; decoders take the bytes after the
 * length field (type byte first).
 */
#ifndef RSL_SFTP_WIRE_H
#define RSL_SFTP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define RSL_SFTP_PROTO_VERSION 3
#define RSL_SFTP_MAX_HANDLE 256 /* the draft's limit on a handle's length */

enum rsl_fxp_type {
    RSL_FXP_INIT = 1,
    RSL_FXP_VERSION = 2,
    RSL_FXP_OPEN = 3,
    RSL_FXP_CLOSE = 4,
    RSL_FXP_READ = 5,
    RSL_FXP_WRITE = 6,
    RSL_FXP_LSTAT = 7,
    RSL_FXP_FSTAT = 8,
    RSL_FXP_SETSTAT = 9,
    RSL_FXP_FSETSTAT = 10,
    RSL_FXP_OPENDIR = 11,
    RSL_FXP_READDIR = 12,
    RSL_FXP_REMOVE = 13,
    RSL_FXP_MKDIR = 14,
    RSL_FXP_RMDIR = 15,
    RSL_FXP_REALPATH = 16,
    RSL_FXP_STAT = 17,
    RSL_FXP_RENAME = 18,
    RSL_FXP_READLINK = 19,
    RSL_FXP_SYMLINK = 20,
    RSL_FXP_STATUS = 101,
    RSL_FXP_HANDLE = 102,
    RSL_FXP_DATA = 103,
    RSL_FXP_NAME = 104,
    RSL_FXP_ATTRS = 105,
    RSL_FXP_EXTENDED = 200,
    RSL_FXP_EXTENDED_REPLY = 201
};

/* Status codes: 0-8 are version 3; servers also send the later drafts'
 * codes (listed for mapping, sftp_client.c's one function). */
enum rsl_fx_status {
    RSL_FX_OK = 0,
    RSL_FX_EOF = 1,
    RSL_FX_NO_SUCH_FILE = 2,
    RSL_FX_PERMISSION_DENIED = 3,
    RSL_FX_FAILURE = 4,
    RSL_FX_BAD_MESSAGE = 5,
    RSL_FX_NO_CONNECTION = 6,
    RSL_FX_CONNECTION_LOST = 7,
    RSL_FX_OP_UNSUPPORTED = 8,
    RSL_FX_INVALID_HANDLE = 9,
    RSL_FX_NO_SUCH_PATH = 10,
    RSL_FX_FILE_ALREADY_EXISTS = 11,
    RSL_FX_WRITE_PROTECT = 12,
    RSL_FX_NO_MEDIA = 13,
    RSL_FX_NO_SPACE_ON_FILESYSTEM = 14,
    RSL_FX_QUOTA_EXCEEDED = 15,
    RSL_FX_UNKNOWN_PRINCIPAL = 16,
    RSL_FX_LOCK_CONFLICT = 17,
    RSL_FX_DIR_NOT_EMPTY = 18,
    RSL_FX_NOT_A_DIRECTORY = 19,
    RSL_FX_INVALID_FILENAME = 20,
    RSL_FX_LINK_LOOP = 21,
    RSL_FX_FILE_IS_A_DIRECTORY = 24
};

/* ATTRS flags (version 3) */
#define RSL_SFTP_ATTR_SIZE 0x00000001u
#define RSL_SFTP_ATTR_UIDGID 0x00000002u
#define RSL_SFTP_ATTR_PERMISSIONS 0x00000004u
#define RSL_SFTP_ATTR_ACMODTIME 0x00000008u
#define RSL_SFTP_ATTR_EXTENDED 0x80000000u
/* file type bits inside permissions (POSIX values, as servers send them) */
#define RSL_SFTP_S_IFMT 0170000u
#define RSL_SFTP_S_IFDIR 0040000u
#define RSL_SFTP_S_IFREG 0100000u
#define RSL_SFTP_S_IFLNK 0120000u

/* OPEN pflags */
#define RSL_SFTP_PF_READ 0x01u
#define RSL_SFTP_PF_WRITE 0x02u
#define RSL_SFTP_PF_APPEND 0x04u
#define RSL_SFTP_PF_CREAT 0x08u
#define RSL_SFTP_PF_TRUNC 0x10u
#define RSL_SFTP_PF_EXCL 0x20u

/* A byte string inside a packet (not NUL-terminated). */
typedef struct rsl_sftp_str {
    const unsigned char *p;
    uint32_t len;
} rsl_sftp_str;
/* A NUL-terminated copy of v (malloc'ed; NULL when out of memory). */
char *rsl_sftp_str_dup(rsl_sftp_str v);

/* ATTRS. A field is meaningful only when its flag is set. ext holds the
 * extended pairs as they are on the wire (ext_count of them): decoding
 * points it into the packet, encoding copies it as is. */
typedef struct rsl_sftp_attrs {
    uint32_t flags;
    uint64_t size;
    uint32_t uid, gid;
    uint32_t perm;
    uint32_t atime, mtime;
    uint32_t ext_count;
    rsl_sftp_str ext;
} rsl_sftp_attrs;

/* A handle as the server gave it (at most RSL_SFTP_MAX_HANDLE bytes). */
typedef struct rsl_sftp_handle {
    unsigned char b[RSL_SFTP_MAX_HANDLE];
    uint32_t len;
} rsl_sftp_handle;

/* limits@openssh.com reply; 0 means "no limit stated". */
typedef struct rsl_sftp_limits {
    uint64_t max_packet, max_read, max_write, max_handles;
} rsl_sftp_limits;

/* statvfs@openssh.com reply (struct statvfs, every field uint64). */
typedef struct rsl_sftp_statvfs {
    uint64_t bsize, frsize, blocks, bfree, bavail, files, ffree, favail, fsid, flag, namemax;
} rsl_sftp_statvfs;

/* ------------------------------------------------------------------ */
/* encoding */

/* A growable output buffer. `bad` is set once an append failed (out of
 * memory, or a string longer than a packet can hold); the buffer's content
 * is then unusable and the caller ends the session. */
typedef struct rsl_sftp_buf {
    unsigned char *p;
    size_t len, cap;
    size_t start; /* offset of the packet being built (its length field) */
    int bad;
} rsl_sftp_buf;

void rsl_sftp_buf_free(rsl_sftp_buf *b);

/* Low-level builders, for requests this header has no function for:
 * begin(type, id) ... put fields ... end(). begin_noid is for INIT. */
void rsl_sftp_wire_begin(rsl_sftp_buf *b, uint8_t type, uint32_t id);
void rsl_sftp_wire_put_u8(rsl_sftp_buf *b, uint8_t v);
void rsl_sftp_wire_put_u32(rsl_sftp_buf *b, uint32_t v);
void rsl_sftp_wire_put_u64(rsl_sftp_buf *b, uint64_t v);
void rsl_sftp_wire_put_str(rsl_sftp_buf *b, const void *s, size_t n);
void rsl_sftp_wire_put_cstr(rsl_sftp_buf *b, const char *s);
void rsl_sftp_wire_put_attrs(rsl_sftp_buf *b, const rsl_sftp_attrs *a); /* NULL: no attributes */
/* Room for n raw bytes at the end; NULL (and bad set) when out of memory.
 * The pointer is valid until the next append. */
unsigned char *rsl_sftp_wire_put_space(rsl_sftp_buf *b, size_t n);
void rsl_sftp_wire_end(rsl_sftp_buf *b);

/* Whole requests. Paths are NUL-terminated byte strings. */
void rsl_sftp_wire_init(rsl_sftp_buf *b, uint32_t version);
void rsl_sftp_wire_open(rsl_sftp_buf *b, uint32_t id, const char *path, uint32_t pflags,
                        const rsl_sftp_attrs *a);
void rsl_sftp_wire_close(rsl_sftp_buf *b, uint32_t id, const rsl_sftp_handle *h);
void rsl_sftp_wire_read(rsl_sftp_buf *b, uint32_t id, const rsl_sftp_handle *h, uint64_t off,
                        uint32_t len);
void rsl_sftp_wire_write(rsl_sftp_buf *b, uint32_t id, const rsl_sftp_handle *h, uint64_t off,
                         const void *data, uint32_t n);
/* A WRITE whose n data bytes the caller fills in place (no copy): returns
 * where they go (valid until the next append), or NULL when out of memory. */
unsigned char *rsl_sftp_wire_write_begin(rsl_sftp_buf *b, uint32_t id, const rsl_sftp_handle *h,
                                         uint64_t off, uint32_t n);
void rsl_sftp_wire_lstat(rsl_sftp_buf *b, uint32_t id, const char *path);
void rsl_sftp_wire_stat(rsl_sftp_buf *b, uint32_t id, const char *path);
void rsl_sftp_wire_fstat(rsl_sftp_buf *b, uint32_t id, const rsl_sftp_handle *h);
void rsl_sftp_wire_setstat(rsl_sftp_buf *b, uint32_t id, const char *path, const rsl_sftp_attrs *a);
void rsl_sftp_wire_fsetstat(rsl_sftp_buf *b, uint32_t id, const rsl_sftp_handle *h,
                            const rsl_sftp_attrs *a);
void rsl_sftp_wire_opendir(rsl_sftp_buf *b, uint32_t id, const char *path);
void rsl_sftp_wire_readdir(rsl_sftp_buf *b, uint32_t id, const rsl_sftp_handle *h);
void rsl_sftp_wire_remove(rsl_sftp_buf *b, uint32_t id, const char *path);
void rsl_sftp_wire_mkdir(rsl_sftp_buf *b, uint32_t id, const char *path, const rsl_sftp_attrs *a);
void rsl_sftp_wire_rmdir(rsl_sftp_buf *b, uint32_t id, const char *path);
void rsl_sftp_wire_realpath(rsl_sftp_buf *b, uint32_t id, const char *path);
/* Version 3 RENAME: fails on OpenSSH when newpath exists. */
void rsl_sftp_wire_rename(rsl_sftp_buf *b, uint32_t id, const char *oldpath, const char *newpath);
/* SYMLINK in the order OpenSSH's server reads it (target first, then the
 * link's path: the reverse of the draft's text; every server follows
 * OpenSSH here). */
void rsl_sftp_wire_symlink(rsl_sftp_buf *b, uint32_t id, const char *target, const char *linkpath);

/* EXTENDED requests */
void rsl_sftp_wire_posix_rename(rsl_sftp_buf *b, uint32_t id, const char *oldpath,
                                const char *newpath);
void rsl_sftp_wire_fsync(rsl_sftp_buf *b, uint32_t id, const rsl_sftp_handle *h);
void rsl_sftp_wire_limits(rsl_sftp_buf *b, uint32_t id);
void rsl_sftp_wire_hardlink(rsl_sftp_buf *b, uint32_t id, const char *oldpath, const char *newpath);
void rsl_sftp_wire_statvfs(rsl_sftp_buf *b, uint32_t id, const char *path);
/* check-file-handle / check-file-name (filexfer-extensions-00): algs is a
 * comma list ("sha256,sha1,md5"); len 0 means to the end; block_size 0
 * means one hash over the range. */
void rsl_sftp_wire_check_file_handle(rsl_sftp_buf *b, uint32_t id, const rsl_sftp_handle *h,
                                     const char *algs, uint64_t off, uint64_t len,
                                     uint32_t block_size);
void rsl_sftp_wire_check_file_name(rsl_sftp_buf *b, uint32_t id, const char *path, const char *algs,
                                   uint64_t off, uint64_t len, uint32_t block_size);
/* md5-hash / md5-hash-handle (filexfer-05); quick may be empty. */
void rsl_sftp_wire_md5_hash(rsl_sftp_buf *b, uint32_t id, const char *path, uint64_t off,
                            uint64_t len, const void *quick, size_t quick_len);
void rsl_sftp_wire_md5_hash_handle(rsl_sftp_buf *b, uint32_t id, const rsl_sftp_handle *h,
                                   uint64_t off, uint64_t len, const void *quick, size_t quick_len);

/* ------------------------------------------------------------------ */
/* decoding */

/* Framing: p holds n bytes of the stream. Returns 1 when a whole packet
 * starts at p (*body = its length after the 4-byte length field), 0 when
 * more bytes are needed, -1 when the length is 0 or over cap (why says
 * which). */
int rsl_sftp_wire_frame(const unsigned char *p, size_t n, size_t cap, uint32_t *body, char *why,
                        size_t whysz);

/* A decoded reply (a field is set only for the types that carry it). */
typedef struct rsl_sftp_reply {
    uint8_t type;
    uint32_t id;
    uint32_t status;        /* STATUS */
    rsl_sftp_str msg, lang; /* STATUS: empty when the server sent none */
    rsl_sftp_str handle;    /* HANDLE: 1..RSL_SFTP_MAX_HANDLE bytes */
    rsl_sftp_str data;      /* DATA */
    rsl_sftp_attrs attrs;   /* ATTRS */
    uint32_t count;         /* NAME: entries in names */
    rsl_sftp_str names;     /* NAME: the entries, checked; read with name_next */
    rsl_sftp_str ext;       /* EXTENDED_REPLY: the bytes after the id */
} rsl_sftp_reply;

/* Decodes a reply (STATUS, HANDLE, DATA, NAME, ATTRS, EXTENDED_REPLY).
 * p is the packet after its length field. Returns 0, or -1 with why set
 * (truncated field, impossible count, unknown type, ...). Bytes after the
 * last field are ignored (later protocol versions append fields). */
int rsl_sftp_wire_reply(rsl_sftp_reply *r, const unsigned char *p, size_t n, char *why,
                        size_t whysz);

/* The VERSION reply: the server's version and its extension pairs. */
typedef struct rsl_sftp_hello {
    uint32_t version;
    uint32_t count;   /* extension pairs */
    rsl_sftp_str ext; /* the pairs, checked; read with pair_next */
} rsl_sftp_hello;
int rsl_sftp_wire_version(rsl_sftp_hello *v, const unsigned char *p, size_t n, char *why,
                          size_t whysz);

/* Iterators over checked lists: each call consumes one entry from *rest.
 * Return 1 with the entry, 0 at the end, -1 if the bytes are malformed
 * (cannot happen on lists the decoders above returned). */
int rsl_sftp_wire_pair_next(rsl_sftp_str *rest, rsl_sftp_str *name, rsl_sftp_str *value);
typedef struct rsl_sftp_name {
    rsl_sftp_str name, longname;
    rsl_sftp_attrs attrs;
} rsl_sftp_name;
int rsl_sftp_wire_name_next(rsl_sftp_str *rest, rsl_sftp_name *out);

/* Decodes an ATTRS structure at the start of s; *used gets its length.
 * Returns 0, or -1 with why set. */
int rsl_sftp_wire_attrs(rsl_sftp_attrs *a, rsl_sftp_str s, size_t *used, char *why, size_t whysz);

/* EXTENDED_REPLY payloads (the reply's ext). Return 0 or -1 with why. */
int rsl_sftp_wire_limits_reply(rsl_sftp_limits *l, rsl_sftp_str ext, char *why, size_t whysz);
int rsl_sftp_wire_statvfs_reply(rsl_sftp_statvfs *v, rsl_sftp_str ext, char *why, size_t whysz);
/* check-file: the algorithm the server used and the hash bytes (one hash
 * per block, concatenated). */
int rsl_sftp_wire_check_file_reply(rsl_sftp_str *alg, rsl_sftp_str *hash, rsl_sftp_str ext,
                                   char *why, size_t whysz);
/* md5-hash: the hash (16 bytes, or empty when the quick check did not
 * match). */
int rsl_sftp_wire_md5_hash_reply(rsl_sftp_str *hash, rsl_sftp_str ext, char *why, size_t whysz);

/* 1 if s equals the NUL-terminated c. */
int rsl_sftp_str_eq(rsl_sftp_str s, const char *c);

/* Names for messages: "OPEN", "STATUS", ...; "NO_SUCH_FILE", ... */
const char *rsl_sftp_wire_type_name(unsigned type);
const char *rsl_sftp_wire_status_name(uint32_t status);

#endif
