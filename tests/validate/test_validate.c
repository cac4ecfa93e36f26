/* Tests for engine/validate: every rule, with the limit and the value named. */
#include <criterion/criterion.h>
#include <string.h>

#include "engine/validate.h"

static rsl_limits lim(void)
{
    return (rsl_limits){.forbidden_chars = "\\:*?\"<>|",
                        .max_name_length = 20,
                        .max_path_length = 40,
                        .temp_suffix = ".rsl-part",
                        .remote_root_len = 4, /* "/dst" */
                        .max_file_size = 1000,
                        .allow_empty_files = 0};
}

static void bad(const char *path, int is_dir, uint64_t size, rsl_code code, const char *needle)
{
    rsl_limits l = lim();
    rsl_err e;
    cr_assert_eq(rsl_validate(&l, path, is_dir, size, &e), code, "%s: %s", path, e.msg);
    cr_assert(strstr(e.msg, needle) != NULL, "'%s' lacks '%s'", e.msg, needle);
}

Test(validate, accepts_good_names)
{
    rsl_limits l = lim();
    rsl_err e;
    cr_assert_eq(rsl_validate(&l, "a/b/ok.txt", 0, 10, &e), RSL_OK);
    cr_assert_eq(rsl_validate(&l, "caf\xc3\xa9", 1, 0, &e), RSL_OK); /* dirs may be "empty" */
}

Test(validate, each_rule_names_limit_and_value)
{
    bad("a:b", 0, 1, RSL_E_NAME_FORBIDDEN_CHAR, "':' at byte 2 (rule: forbidden_chars");
    bad("a\rb", 0, 1, RSL_E_NAME_CONTROL_CHAR, "CR (\\r) at byte 2");
    bad("a\nb", 0, 1, RSL_E_NAME_CONTROL_CHAR, "LF (\\n)");
    bad("bad\xff", 0, 1, RSL_E_NAME_INVALID_UTF8, "not valid UTF-8");
    bad("\xc0\xaf", 0, 1, RSL_E_NAME_INVALID_UTF8, "UTF-8");     /* overlong '/' */
    bad("\xed\xa0\x80", 0, 1, RSL_E_NAME_INVALID_UTF8, "UTF-8"); /* surrogate */
    bad("abcdefghijklmnopqrstu", 0, 1, RSL_E_NAME_TOO_LONG,
        "21 bytes (rule: max_name_length = 20)");
    /* 4 (root) + 1 + 28 + 9 (suffix) = 42 > 40, though the path alone fits */
    bad("aaaaaaaaaa/bbbbbbbbbb/cc.txt", 0, 1, RSL_E_PATH_TOO_LONG, "42 bytes");
    bad("big", 0, 1001, RSL_E_FILE_TOO_LARGE, "max_file_size");
    bad("empty", 0, 0, RSL_E_FILE_EMPTY, "allow_empty_files = no");
    bad("x.rsl-part", 0, 1, RSL_E_NAME_RESERVED, "temp suffix");
}

Test(validate, path_length_counts_suffix_only_for_files)
{
    rsl_limits l = lim();
    rsl_err e;
    /* 4 + 1 + 28 = 33 for a dir: fits; as a file +9 = 42: too long */
    cr_assert_eq(rsl_validate(&l, "aaaaaaaaaa/bbbbbbbbbb/ccccccc", 1, 0, &e), RSL_OK);
    cr_assert_eq(rsl_validate(&l, "aaaaaaaaaa/bbbbbbbbbb/ccccccc", 0, 1, &e), RSL_E_PATH_TOO_LONG);
}

Test(validate, utf8)
{
    cr_assert(rsl_utf8_valid((const unsigned char *)"\xf0\x9f\x98\x80", 4));
    cr_assert_not(rsl_utf8_valid((const unsigned char *)"\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    cr_assert_not(rsl_utf8_valid((const unsigned char *)"\xe2\x82", 2));
}

/* max_path_length counts the absolute remote path, as the servers do, and
 * the message says what was counted: each part and its length. */
Test(validate, path_length_message_names_what_was_counted)
{
    rsl_limits l = lim();
    l.remote_root = "/dst";
    rsl_err e;
    cr_assert_eq(rsl_validate(&l, "aaaaaaaaaa/bbbbbbbbbb/cc.txt", 0, 1, &e), RSL_E_PATH_TOO_LONG);
    cr_assert_eq(e.native, 42);
    cr_assert_str_eq(e.msg, "the absolute remote path is 42 bytes: remote root '/dst' (4) + '/' "
                            "(1) + item path (28) + temp suffix '.rsl-part' (9) (rule: "
                            "max_path_length = 40, counted on the absolute remote path with the "
                            "temp suffix)");
    /* a directory: no temp suffix */
    l.max_path_length = 30;
    cr_assert_eq(rsl_validate(&l, "aaaaaaaaaa/bbbbbbbbbb/ccccccc", 1, 0, &e), RSL_E_PATH_TOO_LONG);
    cr_assert_str_eq(e.msg, "the absolute remote path is 34 bytes: remote root '/dst' (4) + '/' "
                            "(1) + item path (29) (rule: max_path_length = 30, counted on the "
                            "absolute remote path)");
    /* the root "/": the path is "/" + the item's path, no second separator */
    l.remote_root = "/";
    l.remote_root_len = 1;
    l.max_path_length = 10;
    cr_assert_eq(rsl_validate(&l, "abcdefghi", 1, 0, &e), RSL_OK, "'/abcdefghi' is 10 bytes");
    cr_assert_eq(rsl_validate(&l, "abcdefghij", 1, 0, &e), RSL_E_PATH_TOO_LONG);
    cr_assert(strstr(e.msg, "is 11 bytes: remote root '/' (1) + item path (10)") != NULL, "%s",
              e.msg);
}
