/*
 * fuzz_webdav_xml.c - libFuzzer harness for the PROPFIND reader
 * (transports/webdav_xml.c on expat): the input is a multistatus body from a
 * hostile server, fed in pieces whose sizes come from the first byte, and
 * once whole. Bounds (entries, depth, text) hold; entities are refused.
 * Run: scripts/fuzz.sh webdav_xml SECONDS (tests/fuzz/README.md).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "transports/webdav_xml.h"

static int on_entry(void *ud, const rsl_dav_entry *e)
{
    size_t *n = ud;
    if (e->href == NULL || strlen(e->href) > RSL_DAV_MAX_TEXT)
        abort();
    (*n)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t piece = (size_t)data[0] % 64 + 1, n = 0;
    const char *xml = (const char *)data + 1;
    size_t len = size - 1;
    rsl_dav_limits lim = {.max_entries = 50, .max_depth = 16, .max_text = 256};
    rsl_dav_parser *p = rsl_webdav_parser_new(&lim, on_entry, &n);
    if (p == NULL)
        return 0;
    int r = 0;
    for (size_t i = 0; i < len && r == 0; i += piece)
        r = rsl_webdav_parser_feed(p, xml + i, len - i < piece ? len - i : piece);
    if (r == 0)
        r = rsl_webdav_parser_finish(p);
    if (r < 0 && rsl_webdav_parser_error(p)[0] == '\0' && r != -2)
        abort(); /* a refusal says why */
    rsl_webdav_parser_free(p);
    if (n > lim.max_entries)
        abort();
    n = 0;
    (void)rsl_webdav_parse_multistatus(xml, len, on_entry, &n);
    return 0;
}
