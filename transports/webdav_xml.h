/*
 * webdav_xml.h - the reader of WebDAV PROPFIND responses (RFC 4918
 * multistatus) and of HTTP dates. The XML itself is parsed by expat
 * (streaming, namespace-aware); this module picks the few DAV: properties we
 * use out of it.
 *
 * Owns: turning a multistatus body into one entry per <DAV:response> (href,
 * resourcetype collection, getcontentlength, getlastmodified, getetag), and
 * IMF-fixdate parsing. Elements are matched by namespace URI ("DAV:"), never
 * by prefix (Apache says <lp1:getcontentlength>, nginx <D:getcontentlength>).
 * Properties from a <propstat> whose <status> is not 2xx are ignored.
 *
 * The body comes from a server we do not control, so the parser is bounded
 * (rsl_dav_limits): responses per document, element depth, length of a text
 * we read, document bytes. A document past a limit is refused (-1, with the
 * limit named by rsl_webdav_parser_error), never cut. A DOCTYPE (and so any
 * entity declaration: "billion laughs") is refused; no external entity is
 * ever loaded.
 *
 * Must not touch: the network, libcurl, percent-decoding of hrefs (the
 * caller's job), anything outside the bytes it is given.
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

#define RSL_DAV_MAX_ENTRIES 1000000       /* <response> elements per document */
#define RSL_DAV_MAX_DEPTH 64              /* element nesting */
#define RSL_DAV_MAX_TEXT 8192             /* bytes of one text we read (href, status, ...) */
#define RSL_DAV_MAX_BYTES (1024ull << 20) /* document bytes */

/* The bounds of one document; a 0 field means its RSL_DAV_MAX_* default. */
typedef struct rsl_dav_limits {
    size_t max_entries;
    size_t max_depth;
    size_t max_text;
    uint64_t max_bytes;
} rsl_dav_limits;

/* Parses xml[0..len) with the default limits. Returns 0 on success, -1 when
 * the document is malformed (unbalanced tags, unknown prefix, no
 * multistatus, a DOCTYPE) or passes a limit, -2 when out of memory. */
int rsl_webdav_parse_multistatus(const char *xml, size_t len, rsl_dav_entry_cb cb, void *ud);

/* The same, fed piece by piece as the body arrives (nothing of it is kept
 * but the text of the entry being read). new returns NULL when out of
 * memory; lim may be NULL (defaults). */
typedef struct rsl_dav_parser rsl_dav_parser;
rsl_dav_parser *rsl_webdav_parser_new(const rsl_dav_limits *lim, rsl_dav_entry_cb cb, void *ud);
/* Feeds the next n bytes. Returns 0 to go on, 1 once the callback asked to
 * stop (later feeds are ignored), -1 / -2 as above (later feeds return it
 * again). Feeding 0 bytes only returns the state so far. */
int rsl_webdav_parser_feed(rsl_dav_parser *p, const char *data, size_t n);
/* Ends the document: 0 (or 1 if stopped) when it was complete and valid,
 * else -1 / -2. */
int rsl_webdav_parser_finish(rsl_dav_parser *p);
/* Why the last -1 / -2 (e.g. "more than 64 nested elements"), "" before. */
const char *rsl_webdav_parser_error(const rsl_dav_parser *p);
void rsl_webdav_parser_free(rsl_dav_parser *p);

/* Parses an HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT"; also accepts the
 * obsolete RFC 850 and asctime forms loosely). Returns seconds since the
 * epoch, or -1. */
int64_t rsl_webdav_parse_httpdate(const char *s);

#endif
