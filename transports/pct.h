/*
 * pct.h - percent-encoding (RFC 3986) of paths for URLs, and decoding of
 * URL parts (the destination's user and path, WebDAV hrefs).
 *
 * The rules, one for every transport:
 *   encode: every byte but the unreserved ones (A-Z a-z 0-9 - . _ ~) and '/'
 *           becomes %XX (upper-case hex); so space, '#', '%', '?', ';', and
 *           every UTF-8 byte are encoded.
 *   decode: %XX (either case) becomes the byte; a '%' not followed by two hex
 *           digits, and %00, are errors (a NUL would cut the name short).
 *
 * Owns: the returned strings (the caller frees them). Must not touch:
 * anything else.
 */
#ifndef RSL_TRANSPORT_PCT_H
#define RSL_TRANSPORT_PCT_H

#include <stddef.h>

/* The encoded copy of s (malloc'd), or NULL when out of memory. */
char *rsl_pct_encode_path(const char *s);
/* The decoded copy of s[0..n) (malloc'd), or NULL on a bad escape, %00 or
 * out of memory. */
char *rsl_pct_decode(const char *s, size_t n);

#endif
