/*
 * webdav_xml.h - a minimal, namespace-aware reader for WebDAV PROPFIND
 * responses (RFC 4918 multistatus) and HTTP dates.
 *
 * Owns: parsing a multistatus body into one entry per <DAV:response> (href,
 * resourcetype collection, getcontentlength, getlastmodified, getetag), and
 * IMF-fixdate parsing. Elements are matched by namespace URI ("DAV:"), never
 * by prefix (Apache says <lp1:getcontentlength>, nginx <D:getcontentlength>).
 * Properties from a <propstat> whose <status> is not 2xx are ignored.
 * Must not touch: the network, libcurl, percent-decoding of hrefs (the
 * caller's job), anything outside the buffer it is given.
 */
#ifndef RSL_WEBDAV_XML_H
#define RSL_WEBDAV_XML_H

#include <stddef.h>
#include <stdint.h>

typedef struct rsl_dav_entry {
    const char *href; /* XML-entity-decoded, still percent-encoded; never NULL */
    int is_collection;
    int has_length;
    uint64_t length;
    int64_t mtime;    /* seconds since the epoch, -1 when absent or unparsable */
    const char *etag; /* "..." or W/"...", NULL when absent */
} rsl_dav_entry;

/* Called once per <response> that has an href and no non-2xx response-level
 * status. Strings are valid only during the call. Return 0 to go on, non-zero
 * to stop parsing (the parse then returns 0). */
typedef int (*rsl_dav_entry_cb)(void *ud, const rsl_dav_entry *e);

/* Parses xml[0..len). Returns 0 on success, -1 when the document is malformed
 * (unbalanced tags, unknown prefix, nesting deeper than 64, no multistatus),
 * -2 when out of memory. */
int rsl_webdav_parse_multistatus(const char *xml, size_t len, rsl_dav_entry_cb cb, void *ud);

/* Parses an HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT"; also accepts the
 * obsolete RFC 850 and asctime forms loosely). Returns seconds since the
 * epoch, or -1. */
int64_t rsl_webdav_parse_httpdate(const char *s);

#endif
