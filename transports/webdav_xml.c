/*
 * webdav_xml.c - see webdav_xml.h.
 *
 * A single pass over the buffer: tags, text, comments, processing
 * instructions, CDATA. A stack of open elements records each element's
 * namespace URI (resolved from xmlns / xmlns:p declarations in scope) and
 * local name. Text is captured only inside the few DAV: leaf elements we
 * read, and only in the right place (an <href> directly under <response>,
 * properties directly under <prop> inside <propstat>).
 */
#include "webdav_xml.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 64
#define MAX_DECLS 256
#define MAX_TEXT 8192

typedef struct {
    const char *s;
    size_t n;
} span;

typedef struct {
    span prefix; /* n == 0: default namespace */
    span uri;
    int depth; /* element depth that declared it */
} ns_decl;

enum elem {
    E_OTHER = 0,
    E_MULTISTATUS,
    E_RESPONSE,
    E_HREF,
    E_PROPSTAT,
    E_PROP,
    E_STATUS,
    E_RESOURCETYPE,
    E_COLLECTION,
    E_GETCONTENTLENGTH,
    E_GETLASTMODIFIED,
    E_GETETAG
};

typedef struct {
    enum elem kind;
    span qname; /* for matching the end tag */
} frame;

typedef struct {
    frame st[MAX_DEPTH];
    int depth;
    ns_decl decls[MAX_DECLS];
    int ndecls;
    int seen_multistatus;
    /* the response being read */
    int in_response;
    char href[MAX_TEXT];
    int has_href;
    int resp_status_bad;
    int is_coll, has_len, has_etag;
    uint64_t len;
    int64_t mtime;
    char etag[256];
    /* the propstat being read (merged at </propstat> when its status is 2xx) */
    int p_coll, p_has_len, p_has_mtime, p_has_etag, p_status_bad;
    uint64_t p_len;
    int64_t p_mtime;
    char p_etag[256];
    /* text capture */
    enum elem capturing; /* E_OTHER: none */
    char text[MAX_TEXT];
    size_t ntext;
} parser;

static int span_eq(span a, const char *lit)
{
    size_t n = strlen(lit);
    return a.n == n && memcmp(a.s, lit, n) == 0;
}

static int is_name_char(int c)
{
    return c != 0 && !isspace(c) && c != '>' && c != '/' && c != '=' && c != '<';
}

static void text_add(parser *p, const char *s, size_t n)
{
    if (p->capturing == E_OTHER)
        return;
    size_t room = sizeof(p->text) - 1 - p->ntext;
    if (n > room)
        n = room;
    memcpy(p->text + p->ntext, s, n);
    p->ntext += n;
}

static void utf8_put(parser *p, unsigned long cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    text_add(p, b, n);
}

/* Adds character data [s, s+n) with entity references decoded. -1 if bad. */
static int text_decode(parser *p, const char *s, size_t n)
{
    if (p->capturing == E_OTHER)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '&') {
            text_add(p, s + i, 1);
            continue;
        }
        const char *semi = memchr(s + i, ';', n - i);
        if (semi == NULL)
            return -1;
        span e = {s + i + 1, (size_t)(semi - (s + i + 1))};
        if (span_eq(e, "amp"))
            text_add(p, "&", 1);
        else if (span_eq(e, "lt"))
            text_add(p, "<", 1);
        else if (span_eq(e, "gt"))
            text_add(p, ">", 1);
        else if (span_eq(e, "quot"))
            text_add(p, "\"", 1);
        else if (span_eq(e, "apos"))
            text_add(p, "'", 1);
        else if (e.n >= 2 && e.s[0] == '#') {
            char num[16];
            int hex = e.s[1] == 'x' || e.s[1] == 'X';
            size_t off = hex ? 2 : 1;
            if (e.n - off == 0 || e.n - off >= sizeof(num))
                return -1;
            memcpy(num, e.s + off, e.n - off);
            num[e.n - off] = '\0';
            char *end = NULL;
            unsigned long cp = strtoul(num, &end, hex ? 16 : 10);
            if (*end != '\0' || cp == 0 || cp > 0x10FFFF)
                return -1;
            utf8_put(p, cp);
        } else {
            return -1;
        }
        i = (size_t)(semi - s);
    }
    return 0;
}

static span resolve_ns(const parser *p, span prefix)
{
    for (int i = p->ndecls - 1; i >= 0; i--) {
        const ns_decl *d = &p->decls[i];
        if (d->prefix.n == prefix.n && memcmp(d->prefix.s, prefix.s, prefix.n) == 0)
            return d->uri;
    }
    span none = {NULL, 0};
    if (prefix.n == 3 && memcmp(prefix.s, "xml", 3) == 0)
        none.s = "xml";
    return none;
}

static enum elem classify(span local)
{
    static const struct {
        const char *name;
        enum elem kind;
    } names[] = {
        {"multistatus", E_MULTISTATUS},
        {"response", E_RESPONSE},
        {"href", E_HREF},
        {"propstat", E_PROPSTAT},
        {"prop", E_PROP},
        {"status", E_STATUS},
        {"resourcetype", E_RESOURCETYPE},
        {"collection", E_COLLECTION},
        {"getcontentlength", E_GETCONTENTLENGTH},
        {"getlastmodified", E_GETLASTMODIFIED},
        {"getetag", E_GETETAG},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (span_eq(local, names[i].name))
            return names[i].kind;
    return E_OTHER;
}

static enum elem parent_kind(const parser *p, int up)
{
    int i = p->depth - 1 - up;
    return i >= 0 ? p->st[i].kind : E_OTHER;
}

/* "HTTP/1.1 200 OK" -> 1 when the code is not 2xx */
static int status_bad(const char *t)
{
    const char *sp = strchr(t, ' ');
    if (sp == NULL)
        return 1;
    while (*sp == ' ')
        sp++;
    return sp[0] != '2';
}

static void trim(char *t)
{
    size_t n = strlen(t), i = 0;
    while (n > 0 && isspace((unsigned char)t[n - 1]))
        t[--n] = '\0';
    while (isspace((unsigned char)t[i]))
        i++;
    if (i > 0)
        memmove(t, t + i, n - i + 1);
}

static void start_response(parser *p)
{
    p->in_response = 1;
    p->has_href = 0;
    p->href[0] = '\0';
    p->resp_status_bad = 0;
    p->is_coll = p->has_len = p->has_etag = 0;
    p->len = 0;
    p->mtime = -1;
}

static void start_propstat(parser *p)
{
    p->p_coll = p->p_has_len = p->p_has_mtime = p->p_has_etag = p->p_status_bad = 0;
    p->p_len = 0;
    p->p_mtime = -1;
}

/* Handles a start tag: kind is already classified (E_OTHER for non-DAV:). */
static void on_start(parser *p, enum elem kind)
{
    enum elem parent = parent_kind(p, 1); /* the element is already pushed */
    switch (kind) {
    case E_MULTISTATUS:
        p->seen_multistatus = 1;
        break;
    case E_RESPONSE:
        if (parent == E_MULTISTATUS)
            start_response(p);
        break;
    case E_PROPSTAT:
        if (parent == E_RESPONSE && p->in_response)
            start_propstat(p);
        break;
    case E_COLLECTION:
        if (parent == E_RESOURCETYPE && parent_kind(p, 2) == E_PROP)
            p->p_coll = 1;
        break;
    case E_HREF:
    case E_STATUS:
        if (parent == E_RESPONSE || parent == E_PROPSTAT)
            p->capturing = kind;
        break;
    case E_GETCONTENTLENGTH:
    case E_GETLASTMODIFIED:
    case E_GETETAG:
        if (parent == E_PROP && parent_kind(p, 2) == E_PROPSTAT)
            p->capturing = kind;
        break;
    default:
        break;
    }
    if (p->capturing != E_OTHER && p->capturing == kind)
        p->ntext = 0;
}

/* Handles an end tag for the top frame (before it is popped). */
static int on_end(parser *p, rsl_dav_entry_cb cb, void *ud, int *stop)
{
    enum elem kind = p->st[p->depth - 1].kind;
    enum elem parent = parent_kind(p, 1);
    if (p->capturing != E_OTHER && p->capturing == kind) {
        p->text[p->ntext] = '\0';
        p->capturing = E_OTHER;
        char *t = p->text;
        trim(t);
        if (kind == E_HREF && parent == E_RESPONSE) {
            snprintf(p->href, sizeof(p->href), "%s", t);
            p->has_href = 1;
        } else if (kind == E_STATUS && parent == E_RESPONSE) {
            p->resp_status_bad = status_bad(t);
        } else if (kind == E_STATUS && parent == E_PROPSTAT) {
            p->p_status_bad = status_bad(t);
        } else if (kind == E_GETCONTENTLENGTH) {
            char *end = NULL;
            unsigned long long v = strtoull(t, &end, 10);
            if (end != t && *end == '\0' && t[0] != '-') {
                p->p_len = v;
                p->p_has_len = 1;
            }
        } else if (kind == E_GETLASTMODIFIED) {
            p->p_mtime = rsl_webdav_parse_httpdate(t);
            p->p_has_mtime = p->p_mtime >= 0;
        } else if (kind == E_GETETAG) {
            size_t n = strlen(t);
            if (n < sizeof(p->p_etag)) {
                memcpy(p->p_etag, t, n + 1);
                p->p_has_etag = 1;
            }
        }
    }
    if (kind == E_PROPSTAT && parent == E_RESPONSE && p->in_response && !p->p_status_bad) {
        p->is_coll |= p->p_coll;
        if (p->p_has_len) {
            p->has_len = 1;
            p->len = p->p_len;
        }
        if (p->p_has_mtime)
            p->mtime = p->p_mtime;
        if (p->p_has_etag) {
            memcpy(p->etag, p->p_etag, sizeof(p->etag));
            p->has_etag = 1;
        }
    }
    if (kind == E_RESPONSE && parent == E_MULTISTATUS && p->in_response) {
        p->in_response = 0;
        if (p->has_href && !p->resp_status_bad) {
            rsl_dav_entry e = {.href = p->href,
                               .is_collection = p->is_coll,
                               .has_length = p->has_len,
                               .length = p->len,
                               .mtime = p->mtime,
                               .etag = p->has_etag ? p->etag : NULL};
            if (cb(ud, &e) != 0)
                *stop = 1;
        }
    }
    return 0;
}

/* Parses the tag starting after '<' at s (end = buffer end). *next gets the
 * position after '>'. Returns 0, or -1 when malformed. */
static int parse_tag(parser *p, const char *s, const char *end, const char **next,
                     rsl_dav_entry_cb cb, void *ud, int *stop)
{
    int closing = 0;
    if (s < end && *s == '/') {
        closing = 1;
        s++;
    }
    const char *q = s;
    while (q < end && is_name_char((unsigned char)*q))
        q++;
    span qname = {s, (size_t)(q - s)};
    if (qname.n == 0)
        return -1;
    if (closing) {
        while (q < end && isspace((unsigned char)*q))
            q++;
        if (q >= end || *q != '>')
            return -1;
        *next = q + 1;
        if (p->depth == 0)
            return -1;
        frame *f = &p->st[p->depth - 1];
        if (f->qname.n != qname.n || memcmp(f->qname.s, qname.s, qname.n) != 0)
            return -1;
        int rc = on_end(p, cb, ud, stop);
        while (p->ndecls > 0 && p->decls[p->ndecls - 1].depth == p->depth)
            p->ndecls--;
        p->depth--;
        return rc;
    }
    if (p->depth >= MAX_DEPTH)
        return -1;
    int depth = p->depth + 1;
    /* attributes: only namespace declarations matter */
    int self_close = 0;
    for (;;) {
        while (q < end && isspace((unsigned char)*q))
            q++;
        if (q >= end)
            return -1;
        if (*q == '>') {
            q++;
            break;
        }
        if (*q == '/' && q + 1 < end && q[1] == '>') {
            self_close = 1;
            q += 2;
            break;
        }
        const char *an = q;
        while (q < end && is_name_char((unsigned char)*q))
            q++;
        span aname = {an, (size_t)(q - an)};
        while (q < end && isspace((unsigned char)*q))
            q++;
        if (aname.n == 0 || q >= end || *q != '=')
            return -1;
        q++;
        while (q < end && isspace((unsigned char)*q))
            q++;
        if (q >= end || (*q != '"' && *q != '\''))
            return -1;
        char quote = *q++;
        const char *vs = q;
        while (q < end && *q != quote)
            q++;
        if (q >= end)
            return -1;
        span val = {vs, (size_t)(q - vs)};
        q++;
        if (aname.n >= 5 && memcmp(aname.s, "xmlns", 5) == 0 &&
            (aname.n == 5 || aname.s[5] == ':')) {
            if (p->ndecls >= MAX_DECLS)
                return -1;
            ns_decl *d = &p->decls[p->ndecls++];
            d->prefix.s = aname.n == 5 ? "" : aname.s + 6;
            d->prefix.n = aname.n == 5 ? 0 : aname.n - 6;
            d->uri = val;
            d->depth = depth;
        }
    }
    *next = q;
    const char *colon = memchr(qname.s, ':', qname.n);
    span prefix = {qname.s, colon ? (size_t)(colon - qname.s) : 0};
    span local = colon ? (span){colon + 1, qname.n - prefix.n - 1} : qname;
    span uri = resolve_ns(p, prefix);
    if (colon && uri.s == NULL)
        return -1; /* undeclared prefix */
    enum elem kind = E_OTHER;
    if (uri.s != NULL && span_eq(uri, "DAV:"))
        kind = classify(local);
    p->depth = depth;
    p->st[depth - 1].kind = kind;
    p->st[depth - 1].qname = qname;
    on_start(p, kind);
    if (self_close) {
        int rc = on_end(p, cb, ud, stop);
        while (p->ndecls > 0 && p->decls[p->ndecls - 1].depth == p->depth)
            p->ndecls--;
        p->depth--;
        return rc;
    }
    return 0;
}

static const char *find(const char *s, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    for (; s + n <= end; s++)
        if (memcmp(s, lit, n) == 0)
            return s;
    return NULL;
}

int rsl_webdav_parse_multistatus(const char *xml, size_t len, rsl_dav_entry_cb cb, void *ud)
{
    parser *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return -2;
    int rc = 0, stop = 0;
    const char *s = xml, *end = xml + len;
    while (s < end && !stop) {
        if (*s != '<') {
            const char *lt = memchr(s, '<', (size_t)(end - s));
            const char *e = lt ? lt : end;
            if (text_decode(p, s, (size_t)(e - s)) != 0) {
                rc = -1;
                goto done;
            }
            s = e;
            continue;
        }
        s++;
        if (s < end && *s == '?') {
            const char *e = find(s, end, "?>");
            if (e == NULL) {
                rc = -1;
                goto done;
            }
            s = e + 2;
        } else if (end - s >= 3 && memcmp(s, "!--", 3) == 0) {
            const char *e = find(s + 3, end, "-->");
            if (e == NULL) {
                rc = -1;
                goto done;
            }
            s = e + 3;
        } else if (end - s >= 8 && memcmp(s, "![CDATA[", 8) == 0) {
            const char *e = find(s + 8, end, "]]>");
            if (e == NULL) {
                rc = -1;
                goto done;
            }
            text_add(p, s + 8, (size_t)(e - (s + 8)));
            s = e + 3;
        } else if (s < end && *s == '!') {
            const char *e = memchr(s, '>', (size_t)(end - s));
            if (e == NULL || memchr(s, '[', (size_t)(e - s)) != NULL) {
                rc = -1; /* DOCTYPE with an internal subset: refused */
                goto done;
            }
            s = e + 1;
        } else {
            const char *next = NULL;
            if (parse_tag(p, s, end, &next, cb, ud, &stop) != 0) {
                rc = -1;
                goto done;
            }
            s = next;
        }
    }
    if (!stop && (p->depth != 0 || !p->seen_multistatus))
        rc = -1;
done:
    free(p);
    return rc;
}

static int month_index(const char *m)
{
    static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; i++)
        if (strncasecmp(m, months[i], 3) == 0)
            return i;
    return -1;
}

/* days since 1970-01-01 for a proleptic Gregorian date (month 1..12) */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int64_t rsl_webdav_parse_httpdate(const char *s)
{
    if (s == NULL)
        return -1;
    char wk[16], mon[4];
    int day = 0, year = 0, hh = 0, mm = 0, ss = 0;
    /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
    if (sscanf(s, "%15[A-Za-z], %d %3s %d %d:%d:%d", wk, &day, mon, &year, &hh, &mm, &ss) != 7) {
        /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
        if (sscanf(s, "%15[A-Za-z], %d-%3s-%d %d:%d:%d", wk, &day, mon, &year, &hh, &mm, &ss) ==
            7) {
            if (year < 100)
                year += year < 70 ? 2000 : 1900;
        } else if (sscanf(s, "%15s %3s %d %d:%d:%d %d", wk, mon, &day, &hh, &mm, &ss, &year) != 7) {
            return -1; /* asctime: Sun Nov  6 08:49:37 1994 */
        }
    }
    int mi = month_index(mon);
    if (mi < 0 || day < 1 || day > 31 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 ||
        ss > 60 || year < 1970)
        return -1;
    return days_from_civil(year, (unsigned)(mi + 1), (unsigned)day) * 86400 + hh * 3600 + mm * 60 +
           ss;
}
