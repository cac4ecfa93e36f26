/* Tests for transports/secret: the one rule for secret files (first line,
 * trailing LF / CR LF stripped; empty, several non-empty lines, too large or
 * unreadable refused) and the password source order. No server. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/harness.h"
#include "transports/secret.h"

static char *dir;

static void setup(void)
{
    dir = rslt_tmpdir("secret");
}

static void teardown(void)
{
    rslt_rmrf(dir);
    free(dir);
}

/* Writes content (n bytes) to dir/name; returns the path (static buffer). */
static const char *file_with(const char *name, const char *content, size_t n)
{
    static char p[4096];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(content, 1, n, f), n);
    fclose(f);
    return p;
}

static rsl_code read_str(const char *content, char **out, rsl_err *err)
{
    return rsl_secret_read(file_with("s", content, strlen(content)), "password_file", out, err);
}

TestSuite(secret, .init = setup, .fini = teardown);

Test(secret, first_line_without_its_line_end)
{
    const char *ok[][2] = {{"pw", "pw"},         {"pw\n", "pw"},       {"pw\r\n", "pw"},
                           {"p w \n\n", "p w "}, {"pw\r\n\r\n", "pw"}, {"x\ty\n", "x\ty"}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char *s = NULL;
        rsl_err err;
        cr_assert_eq(read_str(ok[i][0], &s, &err), RSL_OK, "case %zu: %s", i, err.msg);
        cr_assert_str_eq(s, ok[i][1], "case %zu", i);
        rsl_secret_free(s);
    }
}

Test(secret, refused_files_name_the_file_never_the_secret)
{
    const char *bad[] = {"", "\n", "\r\n", "pw\nsecond-line-XYZ\n", "\npw\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *s = (char *)1;
        rsl_err err;
        cr_assert_eq(read_str(bad[i], &s, &err), RSL_E_SECRET_UNREADABLE, "case %zu", i);
        cr_assert_null(s);
        cr_assert(strstr(err.msg, dir) != NULL, "names the file: %s", err.msg);
        cr_assert(strstr(err.msg, "XYZ") == NULL, "never the content: %s", err.msg);
    }
    char *s = NULL;
    rsl_err err;
    cr_assert_eq(read_str("pw\nsecond-line-XYZ\n", &s, &err), RSL_E_SECRET_UNREADABLE);
    cr_assert(strstr(err.msg, "more than one line") != NULL, "%s", err.msg);
    cr_assert_eq(rsl_secret_read(file_with("nul", "a\0b\n", 4), "token_file", &s, &err),
                 RSL_E_SECRET_UNREADABLE, "a NUL would cut the secret short");
}

Test(secret, larger_than_the_cap_is_refused_not_cut)
{
    size_t n = RSL_SECRET_MAX + 1;
    char *big = malloc(n);
    memset(big, 'a', n);
    char *s = NULL;
    rsl_err err;
    cr_assert_eq(rsl_secret_read(file_with("big", big, n), "token_file", &s, &err),
                 RSL_E_SECRET_UNREADABLE);
    cr_assert(strstr(err.msg, "larger than") != NULL, "%s", err.msg);
    cr_assert_eq(rsl_secret_read(file_with("max", big, n - 1), "token_file", &s, &err), RSL_OK,
                 "exactly the cap is fine: %s", err.msg);
    cr_assert_eq(strlen(s), n - 1);
    rsl_secret_free(s);
    free(big);
}

Test(secret, unreadable_and_missing)
{
    char *s = NULL;
    rsl_err err;
    char p[4096];
    snprintf(p, sizeof(p), "%s/none", dir);
    cr_assert_eq(rsl_secret_read(p, "passphrase_file", &s, &err), RSL_E_SECRET_UNREADABLE);
    cr_assert(strstr(err.msg, "passphrase_file") != NULL, "%s", err.msg);
    if (geteuid() != 0) { /* root reads anything */
        const char *q = file_with("noread", "pw\n", 3);
        chmod(q, 0);
        cr_assert_eq(rsl_secret_read(q, "password_file", &s, &err), RSL_E_SECRET_UNREADABLE);
    }
    cr_assert_eq(rsl_secret_password(NULL, NULL, &s, &err), RSL_E_SECRET_MISSING);
    cr_assert_eq(rsl_secret_password(NULL, "", &s, &err), RSL_E_SECRET_MISSING,
                 "an empty RSYNCD_LITE_PASSWORD is not a password");
}

Test(secret, the_file_wins_over_the_environment)
{
    char *s = NULL;
    rsl_err err;
    const char *p = file_with("pw", "from-file\n", 10);
    cr_assert_eq(rsl_secret_password(p, "from-env", &s, &err), RSL_OK);
    cr_assert_str_eq(s, "from-file");
    rsl_secret_free(s);
    cr_assert_eq(rsl_secret_password(NULL, "from-env", &s, &err), RSL_OK);
    cr_assert_str_eq(s, "from-env");
    rsl_secret_free(s);
    rsl_secret_free(NULL);
}
