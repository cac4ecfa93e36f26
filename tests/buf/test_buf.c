/* Tests for base/buf: the capped buffer and the bounded file read. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "tests/support/harness.h"

Test(buf, append_grows_and_stops_at_the_cap)
{
    rsl_buf b = {0};
    rsl_buf_reset(&b, 10);
    cr_assert_eq(rsl_buf_append(&b, "hello", 5), 0);
    cr_assert_str_eq(b.p, "hello");
    /* the cut is reported, not silent */
    cr_assert_eq(rsl_buf_append(&b, " world!", 7), RSL_BUF_TRUNCATED);
    cr_assert_eq(b.n, 10);
    cr_assert_str_eq(b.p, "hello worl");
    cr_assert(b.truncated);
    cr_assert_eq(rsl_buf_append(&b, "", 0), RSL_BUF_OK, "nothing dropped: not a cut");
    cr_assert(b.truncated, "the flag stays until reset");
    rsl_buf_reset(&b, 0); /* 0 keeps nothing */
    cr_assert_not(b.truncated, "reset clears the flag");
    cr_assert_eq(rsl_buf_append(&b, "x", 1), RSL_BUF_TRUNCATED);
    cr_assert_eq(b.n, 0);
    cr_assert(b.truncated);
    rsl_buf_reset(&b, 1 << 20);
    char big[70000];
    memset(big, 'a', sizeof(big));
    cr_assert_eq(rsl_buf_append(&b, big, sizeof(big)), RSL_BUF_OK);
    cr_assert_eq(b.n, sizeof(big));
    cr_assert_not(b.truncated);
    cr_assert_eq(b.p[b.n], '\0');
    rsl_buf_free(&b);
    cr_assert_null(b.p);
}

Test(buf, read_file_bounded)
{
    char *d = rslt_tmpdir("buf");
    char p[4096];
    snprintf(p, sizeof(p), "%s/f", d);
    rslt_write(p, "0123456789");
    size_t n = 0;
    char *s = rsl_read_file(p, 10, &n);
    cr_assert_not_null(s);
    cr_assert_eq(n, 10);
    cr_assert_str_eq(s, "0123456789");
    free(s);
    errno = 0;
    cr_assert_null(rsl_read_file(p, 9, &n));
    cr_assert_eq(errno, EFBIG);
    snprintf(p, sizeof(p), "%s/empty", d);
    rslt_write(p, "");
    s = rsl_read_file(p, 10, &n);
    cr_assert_not_null(s);
    cr_assert_eq(n, 0);
    free(s);
    snprintf(p, sizeof(p), "%s/missing", d);
    cr_assert_null(rsl_read_file(p, 10, &n));
    cr_assert_eq(errno, ENOENT);
    rslt_rmrf(d);
    free(d);
}
