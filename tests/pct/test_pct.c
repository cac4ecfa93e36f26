/* Tests for transports/pct: the one percent-encoder/decoder (URL paths for
 * ftps and https, the destination URL, WebDAV hrefs). No server. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "transports/pct.h"

Test(pct, encode_keeps_only_unreserved_and_slash)
{
    char *e = rsl_pct_encode_path("/data/a b/\xc3\xa9%;#?.txt");
    cr_assert_str_eq(e, "/data/a%20b/%C3%A9%25%3B%23%3F.txt");
    free(e);
    e = rsl_pct_encode_path("AZaz09-._~/");
    cr_assert_str_eq(e, "AZaz09-._~/");
    free(e);
    e = rsl_pct_encode_path("");
    cr_assert_str_eq(e, "");
    free(e);
}

Test(pct, decode_and_its_errors)
{
    const char *s = "/dav/a%20b%23c%25d%3fe%C3%A9";
    char *d = rsl_pct_decode(s, strlen(s));
    cr_assert_str_eq(d, "/dav/a b#c%d?e\xc3\xa9", "either hex case");
    free(d);
    d = rsl_pct_decode("ab%41cd", 5); /* only the first n bytes */
    cr_assert_str_eq(d, "abA");
    free(d);
    cr_assert_null(rsl_pct_decode("a%00b", 5), "%%00 would cut the name");
    cr_assert_null(rsl_pct_decode("a%2", 3), "truncated escape");
    cr_assert_null(rsl_pct_decode("a%zz", 4), "not hex");
    cr_assert_null(rsl_pct_decode("%4", 2));
}

Test(pct, round_trip)
{
    char all[256];
    for (int i = 1; i < 256; i++)
        all[i - 1] = (char)i;
    all[255] = '\0';
    char *e = rsl_pct_encode_path(all);
    char *d = rsl_pct_decode(e, strlen(e));
    cr_assert_str_eq(d, all);
    free(e);
    free(d);
}
