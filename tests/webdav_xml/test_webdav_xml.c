/*
 * test_webdav_xml.c - unit tests of the multistatus reader and HTTP dates
 * (webdav_xml.c, on expat), on answers shaped like Apache's and nginx's, plus
 * the namespace and error cases a prefix-matching parser would get wrong,
 * streaming (fed byte by byte) and each of the parser's bounds. No server:
 * moved out of transport_https so it needs no fixture.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transports/webdav_xml.h"

typedef struct got {
    char href[8][256];
    int coll[8], has_len[8];
    unsigned long long len[8];
    long long mtime[8];
    char etag[8][64];
    int n;
} got;

static int cb(void *ud, const rsl_dav_entry *e)
{
    got *g = ud;
    if (g->n < 8) {
        snprintf(g->href[g->n], sizeof(g->href[0]), "%s", e->href);
        g->coll[g->n] = e->is_collection;
        g->has_len[g->n] = e->has_length;
        g->len[g->n] = e->length;
        g->mtime[g->n] = e->mtime;
        snprintf(g->etag[g->n], sizeof(g->etag[0]), "%s", e->etag ? e->etag : "");
        g->n++;
    }
    return 0;
}

static int parse(const char *xml, got *g)
{
    memset(g, 0, sizeof(*g));
    return rsl_webdav_parse_multistatus(xml, strlen(xml), cb, g);
}

Test(webdav_xml, apache_shape)
{
    const char *x = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                    "<D:multistatus xmlns:D=\"DAV:\" xmlns:ns0=\"DAV:\">\n"
                    "<D:response xmlns:lp1=\"DAV:\" xmlns:lp2=\"http://apache.org/dav/props/\">\n"
                    "<D:href>/dav/d%20x/</D:href>\n<D:propstat><D:prop>\n"
                    "<lp1:resourcetype><D:collection/></lp1:resourcetype>\n"
                    "<lp1:getlastmodified>Sun, 22 Nov 2026 02:33:19 GMT</lp1:getlastmodified>\n"
                    "</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>\n"
                    "<D:propstat><D:prop><ns0:getcontentlength/></D:prop>"
                    "<D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>\n"
                    "</D:response>\n"
                    "<D:response xmlns:lp1=\"DAV:\">\n<D:href>/dav/a%26b</D:href>\n"
                    "<D:propstat><D:prop><lp1:resourcetype/>"
                    "<lp1:getcontentlength>12345678901</lp1:getcontentlength>"
                    "<lp1:getetag>\"3-660d\"</lp1:getetag>"
                    "<D:lockdiscovery><D:activelock><D:locktoken><D:href>opaquelocktoken:x</D:href>"
                    "</D:locktoken></D:activelock></D:lockdiscovery>"
                    "</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>\n"
                    "</D:multistatus>\n";
    got g;
    cr_assert_eq(parse(x, &g), 0);
    cr_assert_eq(g.n, 2);
    cr_assert_str_eq(g.href[0], "/dav/d%20x/");
    cr_assert_eq(g.coll[0], 1);
    cr_assert_eq(g.has_len[0], 0, "a 404 propstat must be ignored");
    cr_assert_eq(g.mtime[0], 1795314799LL);
    cr_assert_str_eq(g.href[1], "/dav/a%26b", "lock hrefs must not replace the response href");
    cr_assert_eq(g.coll[1], 0);
    cr_assert_eq(g.len[1], 12345678901ull);
    cr_assert_str_eq(g.etag[1], "\"3-660d\"");
}

Test(webdav_xml, nginx_shape_and_entities)
{
    const char *x = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n"
                    "<D:multistatus xmlns:D=\"DAV:\">\n<D:response>\n"
                    "<D:href>/dav/a%20b%23c%25d%3Fe%C3%A9&amp;x</D:href>\n"
                    "<D:propstat>\n<D:prop>\n<D:displayname>a b#c%d?e\xc3\xa9</D:displayname>\n"
                    "<D:getcontentlength>4</D:getcontentlength>\n"
                    "<D:getlastmodified>Sun, 22 Nov 2026 02:33:45 GMT</D:getlastmodified>\n"
                    "<D:resourcetype></D:resourcetype>\n<D:lockdiscovery/>\n"
                    "</D:prop>\n<D:status>HTTP/1.1 200 OK</D:status>\n</D:propstat>\n"
                    "</D:response>\n</D:multistatus>\n";
    got g;
    cr_assert_eq(parse(x, &g), 0);
    cr_assert_eq(g.n, 1);
    cr_assert_str_eq(g.href[0], "/dav/a%20b%23c%25d%3Fe%C3%A9&x");
    cr_assert_eq(g.len[0], 4);
    cr_assert_eq(g.coll[0], 0);
}

Test(webdav_xml, namespaces_not_prefixes)
{
    /* default namespace, other prefixes, and a same-named element in another
     * namespace that must not count */
    const char *x = "<multistatus xmlns=\"DAV:\" xmlns:x=\"urn:other\">"
                    "<response><href>http://h:1/r/f</href><propstat><prop>"
                    "<x:getcontentlength>999</x:getcontentlength>"
                    "<getcontentlength>7</getcontentlength>"
                    "<resourcetype><x:collection/></resourcetype>"
                    "</prop><status>HTTP/1.1 200 OK</status></propstat></response>"
                    "<Z:response xmlns:Z=\"DAV:\"><Z:href><![CDATA[/r/g/]]></Z:href>"
                    "<Z:propstat><Z:prop><Z:resourcetype><Z:collection/></Z:resourcetype>"
                    "</Z:prop><Z:status>HTTP/1.1 200 OK</Z:status></Z:propstat></Z:response>"
                    "<!-- a comment <response> -->"
                    "</multistatus>";
    got g;
    cr_assert_eq(parse(x, &g), 0);
    cr_assert_eq(g.n, 2);
    cr_assert_str_eq(g.href[0], "http://h:1/r/f");
    cr_assert_eq(g.len[0], 7);
    cr_assert_eq(g.coll[0], 0, "x:collection is not DAV:collection");
    cr_assert_str_eq(g.href[1], "/r/g/");
    cr_assert_eq(g.coll[1], 1);
}

Test(webdav_xml, response_level_error_status_skipped)
{
    const char *x = "<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>/a</D:href>"
                    "<D:status>HTTP/1.1 404 Not Found</D:status></D:response>"
                    "<D:response><D:href>/b</D:href><D:propstat><D:prop/>"
                    "<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
                    "</D:multistatus>";
    got g;
    cr_assert_eq(parse(x, &g), 0);
    cr_assert_eq(g.n, 1);
    cr_assert_str_eq(g.href[0], "/b");
}

Test(webdav_xml, malformed)
{
    got g;
    cr_assert_eq(parse("<D:multistatus xmlns:D=\"DAV:\"><D:response>", &g), -1, "unclosed");
    cr_assert_eq(parse("<D:multistatus xmlns:D=\"DAV:\"></D:response></D:multistatus>", &g), -1);
    cr_assert_eq(parse("<Q:multistatus></Q:multistatus>", &g), -1, "undeclared prefix");
    cr_assert_eq(parse("<html><body>not dav</body></html>", &g), -1, "no multistatus");
    cr_assert_eq(parse("", &g), -1);
    cr_assert_eq(parse("<!DOCTYPE x [<!ENTITY a \"b\">]><multistatus xmlns=\"DAV:\"/>", &g), -1,
                 "internal DTD subset refused");
    cr_assert_eq(parse("<multistatus xmlns=\"DAV:\"><response><href>&bogus;</href></response>"
                       "</multistatus>",
                       &g),
                 -1);
    char deep[4096] = "<multistatus xmlns=\"DAV:\">";
    for (int i = 0; i < 70; i++)
        strncat(deep, "<a>", sizeof(deep) - strlen(deep) - 1);
    cr_assert_eq(parse(deep, &g), -1, "too deep");
}

static int stop_after_first(void *ud, const rsl_dav_entry *e)
{
    (void)e;
    ++*(int *)ud;
    return 1;
}

Test(webdav_xml, stop_early)
{
    const char *x = "<multistatus xmlns=\"DAV:\"><response><href>/a</href></response>"
                    "<response><href>/b</href></response></multistatus>";
    int n = 0;
    cr_assert_eq(rsl_webdav_parse_multistatus(x, strlen(x), stop_after_first, &n), 0);
    cr_assert_eq(n, 1);
}

Test(webdav_xml, http_dates)
{
    cr_assert_eq(rsl_webdav_parse_httpdate("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777LL);
    cr_assert_eq(rsl_webdav_parse_httpdate("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777LL);
    cr_assert_eq(rsl_webdav_parse_httpdate("Sun Nov  6 08:49:37 1994"), 784111777LL);
    cr_assert_eq(rsl_webdav_parse_httpdate("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
    cr_assert_eq(rsl_webdav_parse_httpdate("Tue, 29 Feb 2028 12:00:00 GMT"), 1835438400LL);
    cr_assert_eq(rsl_webdav_parse_httpdate("garbage"), -1);
    cr_assert_eq(rsl_webdav_parse_httpdate("Sun, 06 Foo 1994 08:49:37 GMT"), -1);
    cr_assert_eq(rsl_webdav_parse_httpdate(NULL), -1);
}

/* ---- streaming and bounds ---- */

static const char *apache_like =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
    "<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>/d/</D:href><D:propstat><D:prop>"
    "<D:resourcetype><D:collection/></D:resourcetype></D:prop>"
    "<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
    "<D:response><D:href>/d/f%20&amp;g</D:href><D:propstat><D:prop>"
    "<D:getcontentlength>42</D:getcontentlength><D:getetag>\"e\"</D:getetag>"
    "<D:getlastmodified>Sun, 06 Nov 1994 08:49:37 GMT</D:getlastmodified></D:prop>"
    "<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>";

Test(webdav_xml, fed_byte_by_byte_is_the_same_document)
{
    got whole, bytes;
    cr_assert_eq(parse(apache_like, &whole), 0);
    memset(&bytes, 0, sizeof(bytes));
    rsl_dav_parser *p = rsl_webdav_parser_new(NULL, cb, &bytes);
    cr_assert_not_null(p);
    for (size_t i = 0; apache_like[i]; i++)
        cr_assert_eq(rsl_webdav_parser_feed(p, apache_like + i, 1), 0, "byte %zu", i);
    cr_assert_eq(rsl_webdav_parser_finish(p), 0, "%s", rsl_webdav_parser_error(p));
    rsl_webdav_parser_free(p);
    cr_assert_eq(bytes.n, 2);
    cr_assert_eq(whole.n, 2);
    for (int i = 0; i < 2; i++) {
        cr_assert_str_eq(bytes.href[i], whole.href[i]);
        cr_assert_eq(bytes.coll[i], whole.coll[i]);
        cr_assert_eq(bytes.len[i], whole.len[i]);
        cr_assert_eq(bytes.mtime[i], whole.mtime[i]);
        cr_assert_str_eq(bytes.etag[i], whole.etag[i]);
    }
    cr_assert_str_eq(bytes.href[1], "/d/f%20&g");
    cr_assert_eq(bytes.len[1], 42);
    cr_assert_eq(bytes.mtime[1], 784111777LL);
}

/* Parses xml with limits lim; returns the result and copies the reason. */
static int parse_lim(const char *xml, const rsl_dav_limits *lim, got *g, char *why, size_t n)
{
    memset(g, 0, sizeof(*g));
    rsl_dav_parser *p = rsl_webdav_parser_new(lim, cb, g);
    cr_assert_not_null(p);
    int rc = rsl_webdav_parser_feed(p, xml, strlen(xml));
    if (rc == 0)
        rc = rsl_webdav_parser_finish(p);
    snprintf(why, n, "%s", rsl_webdav_parser_error(p));
    rsl_webdav_parser_free(p);
    return rc;
}

Test(webdav_xml, bound_on_entries)
{
    got g;
    char why[200];
    rsl_dav_limits lim = {.max_entries = 1};
    cr_assert_eq(parse_lim(apache_like, &lim, &g, why, sizeof(why)), -1);
    cr_assert(strstr(why, "more than 1 responses") != NULL, "%s", why);
    lim.max_entries = 2;
    cr_assert_eq(parse_lim(apache_like, &lim, &g, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(g.n, 2);
}

Test(webdav_xml, bound_on_depth)
{
    got g;
    char why[200];
    /* multistatus/response/propstat/prop/resourcetype/collection: 6 levels */
    rsl_dav_limits lim = {.max_depth = 6};
    cr_assert_eq(parse_lim(apache_like, &lim, &g, why, sizeof(why)), 0, "6 levels are enough");
    lim.max_depth = 5;
    cr_assert_eq(parse_lim(apache_like, &lim, &g, why, sizeof(why)), -1);
    cr_assert(strstr(why, "more than 5 nested") != NULL, "%s", why);
    /* the default: 64 */
    char deep[8192];
    size_t n = (size_t)snprintf(deep, sizeof(deep), "<multistatus xmlns=\"DAV:\">");
    for (int i = 0; i < 63; i++)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "<a>");
    for (int i = 0; i < 63; i++)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "</a>");
    snprintf(deep + n, sizeof(deep) - n, "</multistatus>");
    cr_assert_eq(parse(deep, &g), 0, "64 levels pass");
    char *deeper = malloc(strlen(deep) + 32);
    snprintf(deeper, strlen(deep) + 32, "<x xmlns=\"urn:x\">%s</x>", deep);
    cr_assert_eq(parse(deeper, &g), -1, "65 levels do not");
    free(deeper);
}

Test(webdav_xml, bound_on_text)
{
    got g;
    char why[200];
    const char *x = "<multistatus xmlns=\"DAV:\"><response><href>/d/f%20&amp;g</href></response>"
                    "</multistatus>";
    rsl_dav_limits lim = {.max_text = 9};
    cr_assert_eq(parse_lim(x, &lim, &g, why, sizeof(why)), 0, "'/d/f%%20&g' is 9 bytes: %s", why);
    cr_assert_str_eq(g.href[0], "/d/f%20&g");
    lim.max_text = 8;
    cr_assert_eq(parse_lim(x, &lim, &g, why, sizeof(why)), -1, "refused, not cut");
    cr_assert(strstr(why, "longer than 8 bytes") != NULL, "%s", why);
    /* text we do not read is not bounded (it is not kept) */
    char big[20000];
    snprintf(big, sizeof(big), "<multistatus xmlns=\"DAV:\"><x>%0*d</x></multistatus>", 15000, 0);
    cr_assert_eq(parse(big, &g), 0);
}

Test(webdav_xml, bound_on_bytes)
{
    got g;
    char why[200];
    rsl_dav_limits lim = {.max_bytes = 100};
    cr_assert_eq(parse_lim(apache_like, &lim, &g, why, sizeof(why)), -1);
    cr_assert(strstr(why, "larger than") != NULL, "%s", why);
    lim.max_bytes = strlen(apache_like);
    cr_assert_eq(parse_lim(apache_like, &lim, &g, why, sizeof(why)), 0, "exactly the cap: %s", why);
}

Test(webdav_xml, no_doctype_no_entities)
{
    got g;
    char why[200];
    const char *laughs =
        "<?xml version=\"1.0\"?><!DOCTYPE m [<!ENTITY a \"aaaaaaaaaa\">"
        "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;\">]>"
        "<multistatus xmlns=\"DAV:\"><response><href>&c;</href></response></multistatus>";
    cr_assert_eq(parse_lim(laughs, NULL, &g, why, sizeof(why)), -1);
    cr_assert(strstr(why, "DOCTYPE") != NULL, "%s", why);
    cr_assert_eq(g.n, 0, "nothing was expanded into an entry");
    const char *plain = "<!DOCTYPE multistatus><multistatus xmlns=\"DAV:\"/>";
    cr_assert_eq(parse_lim(plain, NULL, &g, why, sizeof(why)), -1, "any DOCTYPE is refused");
    const char *ext = "<!DOCTYPE m SYSTEM \"file:///etc/passwd\"><multistatus xmlns=\"DAV:\">"
                      "<response><href>/x</href></response></multistatus>";
    cr_assert_eq(parse_lim(ext, NULL, &g, why, sizeof(why)), -1, "no external DTD is read");
    cr_assert_eq(g.n, 0);
}

Test(webdav_xml, malformed_says_where)
{
    got g;
    char why[200];
    cr_assert_eq(parse_lim("<multistatus xmlns=\"DAV:\">\n<response>", NULL, &g, why, sizeof(why)),
                 -1);
    cr_assert(strstr(why, "line") != NULL, "%s", why);
    cr_assert_eq(parse_lim("<html/>", NULL, &g, why, sizeof(why)), -1);
    cr_assert(strstr(why, "multistatus") != NULL, "%s", why);
}
