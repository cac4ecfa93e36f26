/* cli/output.c and cli/json.c without the binary: the one text escape
 * (control characters, C1, bidi overrides and bytes that are not UTF-8 made
 * visible, issue 10.11) and the JSON encoding (RFC 3339 times, null, U+FFFD
 * plus "path_bytes" for names that are not UTF-8, control characters as
 * \uXXXX, issue 11.13). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/json.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "tests/support/harness.h"

static char *esc(const char *s)
{
    static char buf[512];
    rsl_out_escape(buf, sizeof(buf), s, 0);
    return buf;
}

/* No byte below 0x20, no DEL, no C1 in UTF-8 (C2 80..C2 9F), no ESC. */
static int clean(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    for (; *p; p++) {
        if (*p < 0x20 || *p == 0x7F)
            return 0;
        if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
            return 0;
    }
    return 1;
}

Test(output, escape_makes_terminal_controls_visible)
{
    cr_assert_str_eq(esc("\x1b[2Jgone\rfake"), "\\x1b[2Jgone\\rfake");
    cr_assert_str_eq(esc("a\nb\tc"), "a\\nb\\tc");
    cr_assert_str_eq(esc("bell\a del\x7f"), "bell\\x07 del\\x7f");
    /* C1 as UTF-8: U+009B is the one-byte CSI of 8-bit terminals */
    cr_assert_str_eq(esc("x\xc2\x9b"
                         "2Jy"),
                     "x\\u009b2Jy");
    /* bytes that are not UTF-8 are shown as bytes, valid UTF-8 stays */
    cr_assert_str_eq(esc("n\xff\xfe.txt"), "n\\xff\\xfe.txt");
    cr_assert_str_eq(esc("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");
    /* an overlong '/' and a cut sequence are not UTF-8 */
    cr_assert_str_eq(esc("\xc0\xaf"), "\\xc0\\xaf");
    cr_assert_str_eq(esc("ab\xe2\x82"), "ab\\xe2\\x82");
    /* a right-to-left override would reorder the rest of the line */
    cr_assert_str_eq(esc("a\xe2\x80\xae"
                         "cba"),
                     "a\\u202ecba");
    for (int c = 1; c < 0x20; c++) {
        char in[4] = {'a', (char)c, 'b', 0};
        cr_assert(clean(esc(in)), "byte 0x%02x kept: %s", c, esc(in));
    }
}

Test(output, escape_backslash_only_where_it_would_read_as_an_escape)
{
    /* forbidden_chars = \:*?"<>| stays readable ... */
    cr_assert_str_eq(esc("forbidden_chars = \\:*?\"<>|"), "forbidden_chars = \\:*?\"<>|");
    /* ... while a name that spells an escape cannot pass for one */
    cr_assert_str_eq(esc("lit\\x1b"), "lit\\\\x1b");
    cr_assert_str_eq(esc("a\\\\b"), "a\\\\\\b");
    cr_assert_str_eq(esc("end\\"), "end\\");
    char keep[64];
    rsl_out_escape(keep, sizeof(keep), "relayed \\x1b and \x1b", RSL_ESC_KEEP_BACKSLASH);
    cr_assert_str_eq(keep, "relayed \\x1b and \\x1b");
}

Test(output, escape_never_cuts_an_escape_in_half)
{
    char small[8];
    size_t n = rsl_out_escape(small, sizeof(small), "abcd\x1b[2J", 0);
    cr_assert_str_eq(small, "abcd", "%s", small);
    cr_assert_eq(n, 4);
}

Test(output, text_line_escapes_the_whole_line)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    rsl_out_line(f, "# session error %s: %s", "X", "reply \x1b]0;owned\a\r\n530 bye");
    fclose(f);
    cr_assert_str_eq(buf, "# session error X: reply \\x1b]0;owned\\x07\\r\\n530 bye\n");
    free(buf);
}

static char *json_of(void (*fn)(FILE *, const void *), const void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fn(f, arg);
    fclose(f);
    return buf;
}

static void write_str(FILE *f, const void *s)
{
    rsl_json_write_string(f, s);
}

Test(output, json_strings_are_valid_utf8_with_controls_escaped)
{
    char *s = json_of(write_str, "\x1b[2J\r\n\t\"\\\x7f\xc2\x85 \xc3\xa9");
    cr_assert_str_eq(s, "\"\\u001b[2J\\r\\n\\t\\\"\\\\\\u007f\\u0085 \xc3\xa9\"");
    free(s);
    /* bytes that are not UTF-8: U+FFFD each, never \u00ff (which is a real ÿ) */
    s = json_of(write_str, "n\xff\xfe");
    cr_assert_str_eq(s, "\"n\xef\xbf\xbd\xef\xbf\xbd\"");
    free(s);
    s = json_of(write_str, "\xc3\xbf\xc3\xbe"); /* a real "ÿþ" stays itself */
    cr_assert_str_eq(s, "\"\xc3\xbf\xc3\xbe\"");
    free(s);
}

static void write_item(FILE *f, const void *path)
{
    rsl_item_result r = {.path = path,
                         .action = "create",
                         .outcome = "failed",
                         .code = RSL_E_NAME_INVALID_UTF8,
                         .message = "bad",
                         .attempts = 1,
                         .bytes = 0,
                         .ts_ms = 1795999782123LL};
    rsl_out_result_json(f, &r, 0);
}

Test(output, json_names_that_are_not_utf8_carry_their_bytes)
{
    char *s = json_of(write_item, "n\xff\xfe");
    cr_assert(strstr(s, "\"path\":\"n\xef\xbf\xbd\xef\xbf\xbd\",\"path_bytes\":\"bv/+\",") != NULL,
              "%s", s);
    cr_assert(strstr(s, "\"time\":\"2026-11-30T00:49:42.123Z\"") != NULL, "%s", s);
    free(s);
    s = json_of(write_item, "\xc3\xbf\xc3\xbe");
    cr_assert(strstr(s, "\"path\":\"\xc3\xbf\xc3\xbe\",\"action\"") != NULL, "%s", s);
    cr_assert(strstr(s, "path_bytes") == NULL, "only when the name is not UTF-8: %s", s);
    free(s);
}

Test(output, json_times_and_base64)
{
    char t[40];
    rsl_json_format_time(t, sizeof(t), 1796000182000LL);
    cr_assert_str_eq(t, "2026-11-30T00:56:22.000Z");
    rsl_json_format_time(t, sizeof(t), 5);
    cr_assert_str_eq(t, "1970-01-01T00:00:00.005Z");
    char b[32];
    const struct {
        const char *in, *out;
    } v[] = {{"", ""},        {"f", "Zg=="},        {"fo", "Zm8="},
             {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"\xff\xfe", "//4="}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        rsl_json_base64(b, sizeof(b), (const unsigned char *)v[i].in, strlen(v[i].in));
        cr_assert_str_eq(b, v[i].out);
    }
}

static void write_nested(FILE *f, const void *unused)
{
    (void)unused;
    rsl_json j;
    rsl_json_begin(&j, f, "status");
    rsl_json_time(&j, "never", 0);
    rsl_json_object(&j, "o");
    rsl_json_int(&j, "a", 1);
    rsl_json_str(&j, "b", NULL);
    rsl_json_close(&j);
    rsl_json_array(&j, "l");
    for (int i = 0; i < 2; i++) {
        rsl_json_object(&j, NULL);
        rsl_json_bool(&j, "x", i);
        rsl_json_close(&j);
    }
    rsl_json_close(&j);
    rsl_json_array(&j, "e");
    rsl_json_end(&j); /* closes what is open */
}

Test(output, json_records_nest_and_close)
{
    char *s = json_of(write_nested, NULL);
    cr_assert_str_eq(s, "{\"type\":\"status\",\"never\":null,\"o\":{\"a\":1,\"b\":null},"
                        "\"l\":[{\"x\":false},{\"x\":true}],\"e\":[]}\n");
    free(s);
}

/* docs/json.md's examples are records of the schema json_check.py checks. */
Test(output, json_md_examples_follow_the_schema)
{
    char *out = NULL;
    int rc = rslt_sh(&out, NULL,
                     "sed -n '/^```json$/,/^```$/p' '%s/docs/json.md' | grep '^{' | "
                     "python3 '%s/tests/output/json_check.py'",
                     rslt_srcdir(), rslt_srcdir());
    cr_assert_eq(rc, 0, "%s", out);
    const char *types[] = {"check",  "check_step", "item",        "run",
                           "status", "verify",     "verify_entry"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        char want[64];
        snprintf(want, sizeof(want), " %s=", types[i]);
        cr_assert(strstr(out, want) != NULL, "docs/json.md has no %s example: %s", types[i], out);
    }
    free(out);
}

/* The progress line shows the current file through the same escape. */
Test(output, progress_line_escapes_the_current_name)
{
    rsl_progress p = {
        .files_done = 1, .files_total = 2, .bytes_done = 10, .bytes_total = 20, .totals_final = 1};
    char buf[256];
    rsl_progress_format(buf, sizeof(buf), &p, 5,
                        "evil\x1b[2J\xc2\x9b"
                        "31m\rname",
                        0);
    cr_assert(strstr(buf, "  evil\\x1b[2J\\u009b31m\\rname") != NULL, "%s", buf);
    cr_assert(clean(buf), "%s", buf);
}
