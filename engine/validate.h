/*
 * validate.h - checks a local item against what the remote accepts
 * ([remote] limits), before any transfer. A breach is a per-item persistent
 * error whose message names the rule, the limit and the actual value.
 *
 * Owns: the rules. Must not touch: files, the state db, the network.
 */
#ifndef RSL_VALIDATE_H
#define RSL_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/catalog.h"

typedef struct rsl_limits {
    const char *forbidden_chars; /* bytes (ASCII) that may not appear in a name */
    long max_name_length;        /* bytes per path component */
    /* bytes of the absolute remote path: remote root + '/' + the item's path,
     * + temp_suffix for a file (what the servers count) */
    long max_path_length;
    const char *temp_suffix;
    const char *remote_root; /* the remote root (absolute), for messages; may be NULL */
    size_t remote_root_len;  /* its length, counted in the path length ("/": none) */
    uint64_t max_file_size;  /* 0: no limit */
    int allow_empty_files;
} rsl_limits;

/* Validates the last component of `path` (parents were checked when they were
 * visited) and, for files, the size. Returns RSL_OK or a 2xx code with err set. */
rsl_code rsl_validate(const rsl_limits *l, const char *path, int is_dir, uint64_t size,
                      rsl_err *err);

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int rsl_utf8_valid(const unsigned char *s, size_t n);

/* Formats a byte count as "1.5 GiB (1610612736 bytes)". */
void rsl_fmt_bytes(char *buf, size_t n, uint64_t v);

#endif
