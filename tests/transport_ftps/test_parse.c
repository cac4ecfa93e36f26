/* FTPS transport: the pure functions (reply parsing, listing parsers, URL
 * encoding, reply-code mapping), including the paths vsftpd cannot exercise
 * (MLSD, MFMT in FEAT). The module's source is included so its static functions
 * can be called; this executable does not link the library's copy of it. */
#define _GNU_SOURCE /* before any system header: ftps.c needs memmem, strcasestr */
#include "transports/ftps.c"

#include <criterion/criterion.h>

Test(ftps_parse, mlsd_lines)
{
    char l1[] = "type=file;size=1234;modify=20200913122640;perm=adfrw; report 1.pdf";
    char l2[] = "type=dir;modify=20200101000000; sub dir";
    char l3[] = "type=cdir;modify=20200101000000; .";
    char l4[] = "garbage without separator";
    const char *name = NULL;
    rsl_rstat st = {.mtime = -1};
    cr_assert(parse_mlsd(l1, &name, &st));
    cr_assert_str_eq(name, "report 1.pdf");
    cr_assert(!st.is_dir);
    cr_assert_eq(st.size, 1234);
    cr_assert_eq(st.mtime, 1600000000);
    rsl_rstat d = {.mtime = -1};
    cr_assert(parse_mlsd(l2, &name, &d));
    cr_assert_str_eq(name, "sub dir");
    cr_assert(d.is_dir);
    rsl_rstat x = {.mtime = -1};
    cr_assert_not(parse_mlsd(l3, &name, &x), "cdir skipped");
    cr_assert_not(parse_mlsd(l4, &name, &x));
}

Test(ftps_parse, unix_list_lines)
{
    char l1[] = "-rw-r--r--    1 1001     1001       100000 Jan 02  2020 two  spaces";
    char l2[] = "drwxr-xr-x    2 0        0            4096 Nov 22 02:33 dir";
    char l3[] = "total 12";
    char l4[] = "lrwxrwxrwx    1 0        0               3 Nov 22 02:33 ln -> x";
    const char *name = NULL;
    rsl_rstat st = {.mtime = -1};
    cr_assert(parse_list(l1, &name, &st));
    cr_assert_str_eq(name, "two  spaces", "inner spaces kept");
    cr_assert_eq(st.size, 100000);
    cr_assert_eq(st.mtime, 1577923200); /* 2020-01-02 00:00:00 UTC */
    rsl_rstat d = {.mtime = -1};
    cr_assert(parse_list(l2, &name, &d));
    cr_assert(d.is_dir);
    cr_assert_str_eq(name, "dir");
    cr_assert_gt(d.mtime, 0);
    cr_assert_not(parse_list(l3, &name, &st));
    cr_assert_not(parse_list(l4, &name, &st), "links are not files");
}

Test(ftps_parse, feat_and_times)
{
    rsl_conn c;
    memset(&c, 0, sizeof(c));
    parse_feat(&c, "211-Features:\n MDTM\n MFMT\n MLST type*;size*;modify*;\n UTF8\n211 End");
    cr_assert(c.has_mfmt && c.has_mlst && c.has_mlsd && c.has_utf8);
    memset(&c, 0, sizeof(c));
    parse_feat(&c, "211-Features:\n EPSV\n SIZE\n211 End");
    cr_assert(!c.has_mfmt && !c.has_mlsd && !c.has_utf8);
    cr_assert_eq(parse_ftp_time("20200913122640"), 1600000000);
    cr_assert_eq(parse_ftp_time("20200913122640.123"), 1600000000);
    cr_assert_eq(parse_ftp_time("2020091312264"), -1);
    cr_assert_eq(parse_ftp_time("2020091312264x"), -1);
}

Test(ftps_parse, url_encoding_and_control_chars)
{
    rsl_conn c;
    memset(&c, 0, sizeof(c));
    c.base = "ftp://127.0.0.1:21";
    char *u = url_of(&c, "/data/a b/\xc3\xa9%;#?.txt", 0);
    cr_assert_str_eq(u, "ftp://127.0.0.1:21/%2Fdata/a%20b/%C3%A9%25%3B%23%3F.txt");
    free(u);
    u = url_of(&c, "/data/dir", 1);
    cr_assert_str_eq(u, "ftp://127.0.0.1:21/%2Fdata/dir/");
    free(u);
    cr_assert(has_ctl("a\r\nDELE x"));
    cr_assert(has_ctl("a\n"));
    cr_assert(has_ctl("\x1b[0m"));
    cr_assert_not(has_ctl("\xc3\xa9t\xc3\xa9 ok.txt"));
    rsl_err err;
    cr_assert_eq(check_name("x\ry", &err), RSL_E_NAME_CONTROL_CHAR);
    cr_assert_eq(check_name("ok/name", &err), RSL_OK);
}

Test(ftps_parse, reply_code_mapping)
{
    rsl_err err;
    cr_assert_eq(map_reply(&err, 421, "421 There are too many connected users, please try later.",
                           "connect", "h"),
                 RSL_E_REMOTE_BUSY);
    cr_assert_eq(map_reply(&err, 421, "421 Timeout.", "stat", "x"), RSL_E_CONNECTION_LOST);
    cr_assert_eq(map_reply(&err, 552, "552 Quota exceeded", "upload", "x"), RSL_E_REMOTE_NO_SPACE);
    cr_assert_eq(map_reply(&err, 452, "452 Disk full", "upload", "x"), RSL_E_REMOTE_NO_SPACE);
    cr_assert_eq(map_reply(&err, 550, "550 No such file or directory", "x", "x"),
                 RSL_E_REMOTE_NOT_FOUND);
    cr_assert_eq(map_reply(&err, 550, "550 Permission denied.", "x", "x"), RSL_E_REMOTE_PERMISSION);
    cr_assert_eq(map_reply(&err, 553, "553 Could not create file.", "x", "x"),
                 RSL_E_REMOTE_PERMISSION);
    cr_assert_eq(map_reply(&err, 553, "553 File name not allowed", "x", "x"),
                 RSL_E_REMOTE_NAME_REFUSED);
    cr_assert_eq(map_reply(&err, 530, "530 Login incorrect.", "x", "x"), RSL_E_AUTH_FAILED);
    cr_assert_eq(map_reply(&err, 425, "425 Can't open data connection", "x", "x"),
                 RSL_E_PASSIVE_FAILED);
    cr_assert_eq(map_reply(&err, 450, "450 File busy", "x", "x"), RSL_E_REMOTE_LOCKED);
    cr_assert_eq(
        map_reply(&err, 522, "522 SSL connection failed: session reuse required", "up", "x"),
        RSL_E_TLS_FAILED);
    cr_assert(strstr(err.msg, "require_ssl_reuse") != NULL, "%s", err.msg);
    cr_assert_eq(map_reply(&err, 502, "502 Command not implemented", "x", "x"), RSL_E_PROTOCOL);
}

Test(ftps_parse, directory_cache)
{
    dirset d = {0};
    char name[32];
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof(name), "a/%d", i);
        cr_assert_eq(dirset_add(&d, name), 0);
    }
    cr_assert_eq(dirset_add(&d, "a"), 0);
    cr_assert_eq(dirset_add(&d, "ab"), 0);
    cr_assert(dirset_has(&d, "a/499") && dirset_has(&d, "a") && dirset_has(&d, "ab"));
    cr_assert_eq(d.n, 502);
    dirset_forget(&d, "a"); /* a and everything under it, not "ab" */
    cr_assert_eq(d.n, 1);
    cr_assert(dirset_has(&d, "ab"));
    cr_assert_not(dirset_has(&d, "a/7"));
    cr_assert_not(dirset_has(&d, "a"));
    dirset_free(&d);
}
