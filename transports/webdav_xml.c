/*
 * webdav_xml.c - see webdav_xml.h.
 *
 * expat does the XML (well-formedness, entities, CDATA, comments, namespace
 * resolution: element names arrive as "URI\x01local"). This file keeps a
 * stack of the open elements' kinds and captures text only inside the few
 * DAV: leaf elements we read, in the right place (an <href> directly under
 * <response>, properties directly under <prop> inside <propstat>). Limits are
 * checked as the events arrive; passing one stops expat at once.
 */
#include "webdav_xml.h"

#include <ctype.h>
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NS_SEP '\x01' /* cannot occur in an XML document (XML 1.0 Char) */
#define DAV_NS "DAV:\x01"

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

/* What a <propstat> says (merged into the response when its status is 2xx). */
typedef struct props {
    int coll, has_len, has_mtime, has_etag, status_bad;
    uint64_t len;
    int64_t mtime;
    char etag[256];
} props;

struct rsl_dav_parser {
    XML_Parser x;
    rsl_dav_limits lim;
    rsl_dav_entry_cb cb;
    void *ud;
    int rc;          /* 0, 1 (stopped), -1, -2 */
    char why[160];   /* for rc < 0 */
    uint64_t fed;    /* bytes fed so far */
    size_t nentries; /* <response> elements seen */
    enum elem *st;   /* open elements, lim.max_depth of them */
    size_t depth;
    int seen_multistatus;
    /* the response being read */
    int in_response, has_href, resp_status_bad;
    char *href; /* lim.max_text + 1 */
    props resp; /* merged from the 2xx propstats */
    props ps;   /* the propstat being read */
    /* text capture */
    enum elem capturing; /* E_OTHER: none */
    char *text;          /* lim.max_text + 1 */
    size_t ntext;
};

/* Stops expat with an error; the first reason wins. */
static void fail(rsl_dav_parser *p, int rc, const char *why)
{
    if (p->rc >= 0) {
        p->rc = rc;
        snprintf(p->why, sizeof(p->why), "%s", why);
    }
    XML_StopParser(p->x, XML_FALSE);
}

static enum elem classify(const char *name)
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
    if (strncmp(name, DAV_NS, sizeof(DAV_NS) - 1) != 0)
        return E_OTHER; /* another namespace, or none */
    const char *local = name + sizeof(DAV_NS) - 1;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(local, names[i].name) == 0)
            return names[i].kind;
    return E_OTHER;
}

/* The kind of the element `up` levels above the top one (0: the top). */
static enum elem up_kind(const rsl_dav_parser *p, size_t up)
{
    return p->depth > up ? p->st[p->depth - 1 - up] : E_OTHER;
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

static void clear_props(props *x)
{
    memset(x, 0, sizeof(*x));
    x->mtime = -1;
}

/* Which text (if any) an element just opened makes us capture. */
static void on_open(rsl_dav_parser *p, enum elem kind)
{
    enum elem parent = up_kind(p, 1); /* the element is already pushed */
    switch (kind) {
    case E_MULTISTATUS:
        p->seen_multistatus = 1;
        break;
    case E_RESPONSE:
        if (parent != E_MULTISTATUS)
            break;
        if (++p->nentries > p->lim.max_entries) {
            char why[96];
            snprintf(why, sizeof(why), "more than %zu responses in one answer", p->lim.max_entries);
            fail(p, -1, why);
            return;
        }
        p->in_response = 1;
        p->has_href = p->resp_status_bad = 0;
        p->href[0] = '\0';
        clear_props(&p->resp);
        break;
    case E_PROPSTAT:
        if (parent == E_RESPONSE && p->in_response)
            clear_props(&p->ps);
        break;
    case E_COLLECTION:
        if (parent == E_RESOURCETYPE && up_kind(p, 2) == E_PROP)
            p->ps.coll = 1;
        break;
    case E_HREF:
    case E_STATUS:
        if (parent == E_RESPONSE || parent == E_PROPSTAT)
            p->capturing = kind;
        break;
    case E_GETCONTENTLENGTH:
    case E_GETLASTMODIFIED:
    case E_GETETAG:
        if (parent == E_PROP && up_kind(p, 2) == E_PROPSTAT)
            p->capturing = kind;
        break;
    default:
        break;
    }
    if (p->capturing == kind && kind != E_OTHER)
        p->ntext = 0;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    (void)attrs;
    rsl_dav_parser *p = ud;
    if (p->rc != 0) /* stopped: expat may still deliver a few events */
        return;
    if (p->depth >= p->lim.max_depth) {
        char why[96];
        snprintf(why, sizeof(why), "more than %zu nested elements", p->lim.max_depth);
        fail(p, -1, why);
        return;
    }
    enum elem kind = classify(name);
    p->st[p->depth++] = kind;
    on_open(p, kind);
}

static void XMLCALL on_chars(void *ud, const XML_Char *s, int len)
{
    rsl_dav_parser *p = ud;
    if (p->rc != 0 || p->capturing == E_OTHER || len <= 0)
        return;
    if ((size_t)len > p->lim.max_text - p->ntext) {
        char why[96];
        snprintf(why, sizeof(why), "a text value longer than %zu bytes", p->lim.max_text);
        fail(p, -1, why);
        return;
    }
    memcpy(p->text + p->ntext, s, (size_t)len);
    p->ntext += (size_t)len;
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

/* A captured text is complete: store what it says. */
static void on_text(rsl_dav_parser *p, enum elem kind, enum elem parent)
{
    p->text[p->ntext] = '\0';
    p->capturing = E_OTHER;
    char *t = p->text;
    trim(t);
    if (kind == E_HREF && parent == E_RESPONSE) {
        memcpy(p->href, t, strlen(t) + 1);
        p->has_href = 1;
    } else if (kind == E_STATUS && parent == E_RESPONSE) {
        p->resp_status_bad = status_bad(t);
    } else if (kind == E_STATUS && parent == E_PROPSTAT) {
        p->ps.status_bad = status_bad(t);
    } else if (kind == E_GETCONTENTLENGTH) {
        char *end = NULL;
        unsigned long long v = strtoull(t, &end, 10);
        if (end != t && *end == '\0' && t[0] != '-') {
            p->ps.len = v;
            p->ps.has_len = 1;
        }
    } else if (kind == E_GETLASTMODIFIED) {
        p->ps.mtime = rsl_webdav_parse_httpdate(t);
        p->ps.has_mtime = p->ps.mtime >= 0;
    } else if (kind == E_GETETAG && strlen(t) < sizeof(p->ps.etag)) {
        memcpy(p->ps.etag, t, strlen(t) + 1);
        p->ps.has_etag = 1;
    }
}

/* A 2xx propstat's properties become the response's. */
static void merge_propstat(rsl_dav_parser *p)
{
    p->resp.coll |= p->ps.coll;
    if (p->ps.has_len) {
        p->resp.has_len = 1;
        p->resp.len = p->ps.len;
    }
    if (p->ps.has_mtime)
        p->resp.mtime = p->ps.mtime;
    if (p->ps.has_etag) {
        memcpy(p->resp.etag, p->ps.etag, sizeof(p->resp.etag));
        p->resp.has_etag = 1;
    }
}

static void end_response(rsl_dav_parser *p)
{
    p->in_response = 0;
    if (!p->has_href || p->resp_status_bad)
        return;
    rsl_dav_entry e = {.href = p->href,
                       .is_collection = p->resp.coll,
                       .has_length = p->resp.has_len,
                       .length = p->resp.len,
                       .mtime = p->resp.mtime,
                       .etag = p->resp.has_etag ? p->resp.etag : NULL};
    if (p->cb(p->ud, &e) != 0) {
        p->rc = 1;
        XML_StopParser(p->x, XML_FALSE);
    }
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    (void)name;
    rsl_dav_parser *p = ud;
    if (p->rc != 0 || p->depth == 0)
        return;
    enum elem kind = up_kind(p, 0), parent = up_kind(p, 1);
    if (p->capturing != E_OTHER && p->capturing == kind)
        on_text(p, kind, parent);
    if (kind == E_PROPSTAT && parent == E_RESPONSE && p->in_response && !p->ps.status_bad)
        merge_propstat(p);
    p->depth--;
    if (kind == E_RESPONSE && parent == E_MULTISTATUS && p->in_response)
        end_response(p);
}

/* Any DOCTYPE (and with it any entity declaration) is refused: the
 * "billion laughs" defence, and WebDAV servers never send one. */
static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    fail(ud, -1, "a DOCTYPE (refused: no entity declarations in a server's answer)");
}

static void XMLCALL on_entity_decl(void *ud, const XML_Char *name, int is_param,
                                   const XML_Char *value, int value_len, const XML_Char *base,
                                   const XML_Char *sysid, const XML_Char *pubid,
                                   const XML_Char *notation)
{
    (void)name, (void)is_param, (void)value, (void)value_len, (void)base, (void)sysid, (void)pubid,
        (void)notation;
    fail(ud, -1, "an entity declaration (refused)");
}

rsl_dav_parser *rsl_webdav_parser_new(const rsl_dav_limits *lim, rsl_dav_entry_cb cb, void *ud)
{
    rsl_dav_parser *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    if (lim != NULL)
        p->lim = *lim;
    if (p->lim.max_entries == 0)
        p->lim.max_entries = RSL_DAV_MAX_ENTRIES;
    if (p->lim.max_depth == 0)
        p->lim.max_depth = RSL_DAV_MAX_DEPTH;
    if (p->lim.max_text == 0)
        p->lim.max_text = RSL_DAV_MAX_TEXT;
    if (p->lim.max_bytes == 0)
        p->lim.max_bytes = RSL_DAV_MAX_BYTES;
    p->cb = cb;
    p->ud = ud;
    p->st = calloc(p->lim.max_depth, sizeof(*p->st));
    p->href = malloc(p->lim.max_text + 1);
    p->text = malloc(p->lim.max_text + 1);
    p->x = XML_ParserCreateNS(NULL, NS_SEP);
    if (p->st == NULL || p->href == NULL || p->text == NULL || p->x == NULL) {
        rsl_webdav_parser_free(p);
        return NULL;
    }
    XML_SetUserData(p->x, p);
    XML_SetElementHandler(p->x, on_start, on_end);
    XML_SetCharacterDataHandler(p->x, on_chars);
    XML_SetStartDoctypeDeclHandler(p->x, on_doctype);
    XML_SetEntityDeclHandler(p->x, on_entity_decl);
    XML_SetParamEntityParsing(p->x, XML_PARAM_ENTITY_PARSING_NEVER);
    return p;
}

/* After XML_Parse failed: the reason, unless a handler already gave one. */
static int parse_failed(rsl_dav_parser *p)
{
    if (p->rc != 0)
        return p->rc;
    enum XML_Error e = XML_GetErrorCode(p->x);
    p->rc = e == XML_ERROR_NO_MEMORY ? -2 : -1;
    snprintf(p->why, sizeof(p->why), "XML error at line %lu: %s",
             (unsigned long)XML_GetCurrentLineNumber(p->x), XML_ErrorString(e));
    return p->rc;
}

int rsl_webdav_parser_feed(rsl_dav_parser *p, const char *data, size_t n)
{
    if (p->rc != 0)
        return p->rc;
    if (n > p->lim.max_bytes - p->fed) {
        unsigned long long cap = p->lim.max_bytes;
        int mib = cap >= (1u << 20) && cap % (1u << 20) == 0;
        snprintf(p->why, sizeof(p->why), "an answer larger than %llu %s", mib ? cap >> 20 : cap,
                 mib ? "MiB" : "bytes");
        return p->rc = -1;
    }
    p->fed += n;
    while (n > 0 && p->rc == 0) {
        int part = n > (1u << 30) ? (1 << 30) : (int)n;
        if (XML_Parse(p->x, data, part, XML_FALSE) == XML_STATUS_ERROR)
            return parse_failed(p);
        data += part;
        n -= (size_t)part;
    }
    return p->rc;
}

int rsl_webdav_parser_finish(rsl_dav_parser *p)
{
    if (p->rc != 0)
        return p->rc;
    if (XML_Parse(p->x, "", 0, XML_TRUE) == XML_STATUS_ERROR)
        return parse_failed(p);
    if (p->rc == 0 && !p->seen_multistatus) {
        snprintf(p->why, sizeof(p->why), "no DAV:multistatus element");
        p->rc = -1;
    }
    return p->rc;
}

const char *rsl_webdav_parser_error(const rsl_dav_parser *p)
{
    return p->rc < 0 ? p->why : "";
}

void rsl_webdav_parser_free(rsl_dav_parser *p)
{
    if (p == NULL)
        return;
    if (p->x != NULL)
        XML_ParserFree(p->x);
    free(p->st);
    free(p->href);
    free(p->text);
    free(p);
}

int rsl_webdav_parse_multistatus(const char *xml, size_t len, rsl_dav_entry_cb cb, void *ud)
{
    rsl_dav_parser *p = rsl_webdav_parser_new(NULL, cb, ud);
    if (p == NULL)
        return -2;
    int rc = rsl_webdav_parser_feed(p, xml, len);
    if (rc == 0)
        rc = rsl_webdav_parser_finish(p);
    rsl_webdav_parser_free(p);
    return rc == 1 ? 0 : rc;
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
