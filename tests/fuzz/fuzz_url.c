/*
 * fuzz_url.c - libFuzzer harness for the destination URL parser
 * (transports/transport.c rsl_endpoint_parse, with transports/pct.c): the
 * input is a destination. A parse that succeeds gives an absolute path and a
 * port in range; a message never shows a destination that has an '@' (a
 * password may stand before it).
 * Run: scripts/fuzz.sh url SECONDS (tests/fuzz/README.md).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "transports/transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    if (url == NULL)
        return 0;
    memcpy(url, data, size);
    url[size] = '\0';
    rsl_endpoint ep;
    rsl_err err;
    rsl_err_clear(&err);
    if (rsl_endpoint_parse(&ep, url, &err) == RSL_OK) {
        if (ep.path == NULL || ep.path[0] != '/' || ep.port < 0 || ep.port > 65535)
            abort();
        rsl_remote_opts o;
        memset(&o, 0, sizeof(o));
        int port = rsl_endpoint_port(&ep, &o);
        if (port < 0 || port > 65535)
            abort();
        rsl_endpoint_free(&ep);
    } else if (strchr(url, '@') != NULL && strstr("(not shown: it has an '@')", url) == NULL) {
        /* messages quote a destination as '...': this one must not be there */
        char *quoted = malloc(size + 3);
        if (quoted != NULL) {
            quoted[0] = '\'';
            memcpy(quoted + 1, url, size);
            quoted[size + 1] = '\'';
            quoted[size + 2] = '\0';
            if (strlen(quoted) == size + 2 && strstr(err.msg, quoted) != NULL)
                abort(); /* echoed a destination that may hold a password */
            free(quoted);
        }
    }
    free(url);
    return 0;
}
