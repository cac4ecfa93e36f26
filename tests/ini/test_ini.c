/* Tests for cli/ini: the one INI reader of job files and daemon.conf:
 * sections, "key = value", the comment rule, quotes and escapes, line
 * numbers, syntax errors as FILE:LINE, and the callback stopping the parse. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/ini.h"
#include "tests/support/harness.h"

/* Every callback as "LINE [section] key=<value>" lines. */
typedef struct rec {
    char out[8192];
    int stop_at; /* return an error at this line (0: never) */
} rec;

static rsl_code collect(void *ud, const char *section, const char *key, const char *value, int line,
                        rsl_err *err)
{
    rec *r = ud;
    size_t n = strlen(r->out);
    if (key == NULL)
        snprintf(r->out + n, sizeof(r->out) - n, "%d [%s]\n", line, section);
    else
        snprintf(r->out + n, sizeof(r->out) - n, "%d [%s] %s=<%s>\n", line, section ? section : "-",
                 key, value);
    if (line == r->stop_at)
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "stopped at %d", line);
    return RSL_OK;
}

static void parses_to(const char *text, const char *want)
{
    rec r = {.out = "", .stop_at = 0};
    rsl_err e = {0};
    rsl_code rc = rsl_ini_parse("/x/f.ini", text, collect, &r, &e);
    cr_assert_eq(rc, RSL_OK, "'%s': %s", text, e.msg);
    cr_assert_str_eq(r.out, want, "for:\n%s", text);
}

static void fails_with(const char *text, const char *want)
{
    rec r = {.out = "", .stop_at = 0};
    rsl_err e = {0};
    rsl_code rc = rsl_ini_parse("/x/f.ini", text, collect, &r, &e);
    cr_assert_eq(rc, RSL_E_CONFIG_SYNTAX, "'%s' accepted:\n%s", text, r.out);
    cr_assert(strstr(e.msg, want) != NULL, "'%s': message '%s' lacks '%s'", text, e.msg, want);
}

Test(ini, sections_keys_and_line_numbers)
{
    parses_to("top = 1\n"
              "\n"
              "[ job ]\n"
              "  name   =   a b  \n"
              "\r\n"
              "empty =\n"
              "[remote]\r\n"
              "k=v\r\n"
              "last = no newline",
              "1 [-] top=<1>\n"
              "3 [job]\n"
              "4 [job] name=<a b>\n"
              "6 [job] empty=<>\n"
              "7 [remote]\n"
              "8 [remote] k=<v>\n"
              "9 [remote] last=<no newline>\n");
}

Test(ini, comments_start_a_line_or_follow_whitespace)
{
    parses_to("; a comment\n"
              "# another\n"
              "   ; indented\n"
              "[job] ; the job section\n"
              "a = x ; comment\n"
              "b = x # comment\n"
              "c = x;y#z\n"
              "d = x\t# after a tab\n"
              "e = ; only a comment\n"
              "f =#at the value's start\n"
              "g = http://h/p#frag\n",
              "4 [job]\n"
              "5 [job] a=<x>\n"
              "6 [job] b=<x>\n"
              "7 [job] c=<x;y#z>\n"
              "8 [job] d=<x>\n"
              "9 [job] e=<>\n"
              "10 [job] f=<>\n"
              "11 [job] g=<http://h/p#frag>\n");
}

Test(ini, quoted_values_keep_comment_characters_and_spaces)
{
    parses_to("[s]\n"
              "a = \" ;x# \"\n"
              "b = \"say \\\"hi\\\"\"   ; then a comment\n"
              "c = \"back\\\\slash\"\n"
              "d = \"\\n stays\"\n"
              "e = \"\"\n"
              "f = \"x\";c\n"
              "g = a \"b\" c\n",
              "1 [s]\n"
              "2 [s] a=< ;x# >\n"
              "3 [s] b=<say \"hi\">\n"
              "4 [s] c=<back\\slash>\n"
              "5 [s] d=<\\n stays>\n"
              "6 [s] e=<>\n"
              "7 [s] f=<x>\n"
              "8 [s] g=<a \"b\" c>\n");
}

Test(ini, syntax_errors_name_file_and_line)
{
    fails_with("[job]\nname = a\njust words\n", "/x/f.ini:3: just words: expected 'key = value'");
    fails_with("[job]\n\n\nname ; = a\n", "/x/f.ini:4: name: expected 'key = value'");
    fails_with("[job]\n= value\n", "/x/f.ini:2:");
    fails_with("a = 1\n[job\n", "/x/f.ini:2: [section]: missing ']'");
    fails_with("[job] x\n", "/x/f.ini:1: [section]: missing ']' or text after it");
    fails_with("[job]#x\n", "/x/f.ini:1: [section]");
    fails_with("[job]\n\nv = \"open\n", "/x/f.ini:3: v: unterminated or malformed quoted value");
    fails_with("[job]\nv = \"a\" b\n", "/x/f.ini:2: v: unterminated or malformed quoted value");
}

Test(ini, the_callback_stops_the_parse)
{
    rec r = {.out = "", .stop_at = 3};
    rsl_err e = {0};
    rsl_code rc = rsl_ini_parse("f", "[a]\nx = 1\ny = 2\nz = 3\n", collect, &r, &e);
    cr_assert_eq(rc, RSL_E_CONFIG_BAD_VALUE);
    cr_assert_str_eq(e.msg, "stopped at 3");
    cr_assert_str_eq(r.out, "1 [a]\n2 [a] x=<1>\n3 [a] y=<2>\n", "z was read: %s", r.out);
}

Test(ini, read_refuses_missing_large_and_nul_files)
{
    char *d = rslt_tmpdir("ini");
    char p[4200];
    rsl_err e = {0};
    snprintf(p, sizeof(p), "%s/missing.conf", d);
    cr_assert_null(rsl_ini_read(p, 1024, "job file", &e));
    cr_assert_eq(e.code, RSL_E_CONFIG_UNREADABLE);
    cr_assert_eq(e.native, 2 /* ENOENT */);
    cr_assert(strstr(e.msg, "cannot read job file") != NULL, "%s", e.msg);

    snprintf(p, sizeof(p), "%s/big.conf", d);
    char big[2100];
    memset(big, '#', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    rslt_write(p, big);
    cr_assert_null(rsl_ini_read(p, 2048, "daemon.conf", &e));
    cr_assert_eq(e.code, RSL_E_CONFIG_SYNTAX);
    cr_assert(strstr(e.msg, "daemon.conf larger than 2 KiB") != NULL, "%s", e.msg);

    snprintf(p, sizeof(p), "%s/nul.conf", d);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fwrite("a = 1\n\0b = 2\n", 1, 13, f);
    fclose(f);
    cr_assert_null(rsl_ini_read(p, 1024, "job file", &e));
    cr_assert_eq(e.code, RSL_E_CONFIG_SYNTAX);
    cr_assert(strstr(e.msg, "NUL bytes") != NULL, "%s", e.msg);

    snprintf(p, sizeof(p), "%s/ok.conf", d);
    rslt_write(p, "[a]\nk = v\n");
    char *t = rsl_ini_read(p, 1024, "job file", &e);
    cr_assert_not_null(t, "%s", e.msg);
    cr_assert_str_eq(t, "[a]\nk = v\n");
    free(t);
    rslt_rmrf(d);
    free(d);
}
