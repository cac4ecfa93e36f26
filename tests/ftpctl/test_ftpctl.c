/* Tests for transports/ftpctl: FTP control-connection text. Names and URLs
 * (control characters never reach a command), the reply transcript (and its
 * cap, which is reported, not silent), reply codes -> catalog, FEAT and SIZE.
 * No server. (The URL, control-character, FEAT and reply-code assertions
 * moved here from transport_ftps's test_parse.c.) */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transports/ftpctl.h"

static void sent(rsl_ftpctl_log *l, const char *s)
{
    rsl_ftpctl_sent(l, s, strlen(s));
}

static void recv_line(rsl_ftpctl_log *l, const char *s)
{
    rsl_ftpctl_recv(l, s, strlen(s));
}

Test(ftpctl, feat)
{
    unsigned f =
        rsl_ftpctl_feat("211-Features:\n MDTM\n MFMT\n MLST type*;size*;modify*;\n UTF8\n211 End");
    cr_assert(f & RSL_FTP_FEAT_MFMT);
    cr_assert(f & RSL_FTP_FEAT_MLST);
    cr_assert(f & RSL_FTP_FEAT_MLSD, "MLSD comes with MLST");
    cr_assert(f & RSL_FTP_FEAT_UTF8);
    f = rsl_ftpctl_feat("211-Features:\n EPSV\n SIZE\n211 End");
    cr_assert(!(f & RSL_FTP_FEAT_MFMT) && !(f & RSL_FTP_FEAT_MLSD) && !(f & RSL_FTP_FEAT_UTF8));
    cr_assert_eq(rsl_ftpctl_feat(NULL), 0);
}

Test(ftpctl, url_encoding_and_control_chars)
{
    char *u = rsl_ftpctl_url("ftp://127.0.0.1:21", "/data/a b/\xc3\xa9%;#?.txt", 0);
    cr_assert_str_eq(u, "ftp://127.0.0.1:21/%2Fdata/a%20b/%C3%A9%25%3B%23%3F.txt");
    free(u);
    u = rsl_ftpctl_url("ftp://127.0.0.1:21", "/data/dir", 1);
    cr_assert_str_eq(u, "ftp://127.0.0.1:21/%2Fdata/dir/");
    free(u);
    u = rsl_ftpctl_url("ftp://h:21", "/", 1);
    cr_assert_str_eq(u, "ftp://h:21/%2F/");
    free(u);
    cr_assert(rsl_ftpctl_has_ctl("a\r\nDELE x"));
    cr_assert(rsl_ftpctl_has_ctl("a\n"));
    cr_assert(rsl_ftpctl_has_ctl("\x1b[0m"));
    cr_assert_not(rsl_ftpctl_has_ctl("\xc3\xa9t\xc3\xa9 ok.txt"));
    rsl_err err;
    cr_assert_eq(rsl_ftpctl_check_name("x\ry", &err), RSL_E_NAME_CONTROL_CHAR);
    cr_assert_eq(rsl_ftpctl_check_name("ok/name", &err), RSL_OK);
}

Test(ftpctl, reply_code_mapping)
{
    rsl_err err;
    cr_assert_eq(rsl_ftpctl_map(&err, 421,
                                "421 There are too many connected users, please try later.",
                                "connect", "h"),
                 RSL_E_REMOTE_BUSY);
    cr_assert_eq(rsl_ftpctl_map(&err, 421, "421 Timeout.", "stat", "x"), RSL_E_CONNECTION_LOST);
    cr_assert_eq(rsl_ftpctl_map(&err, 552, "552 Quota exceeded", "upload", "x"),
                 RSL_E_REMOTE_NO_SPACE);
    cr_assert_eq(rsl_ftpctl_map(&err, 452, "452 Disk full", "upload", "x"), RSL_E_REMOTE_NO_SPACE);
    cr_assert_eq(rsl_ftpctl_map(&err, 550, "550 No such file or directory", "x", "x"),
                 RSL_E_REMOTE_NOT_FOUND);
    cr_assert_eq(rsl_ftpctl_map(&err, 550, "550 Permission denied.", "x", "x"),
                 RSL_E_REMOTE_PERMISSION);
    cr_assert_eq(rsl_ftpctl_map(&err, 553, "553 Could not create file.", "x", "x"),
                 RSL_E_REMOTE_PERMISSION);
    cr_assert_eq(rsl_ftpctl_map(&err, 553, "553 File name not allowed", "x", "x"),
                 RSL_E_REMOTE_NAME_REFUSED);
    cr_assert_eq(rsl_ftpctl_map(&err, 530, "530 Login incorrect.", "x", "x"), RSL_E_AUTH_FAILED);
    cr_assert_eq(rsl_ftpctl_map(&err, 425, "425 Can't open data connection", "x", "x"),
                 RSL_E_PASSIVE_FAILED);
    cr_assert_eq(rsl_ftpctl_map(&err, 450, "450 File busy", "x", "x"), RSL_E_REMOTE_LOCKED);
    cr_assert_eq(
        rsl_ftpctl_map(&err, 522, "522 SSL connection failed: session reuse required", "up", "x"),
        RSL_E_TLS_FAILED);
    cr_assert(strstr(err.msg, "require_ssl_reuse") != NULL, "%s", err.msg);
    cr_assert_eq(rsl_ftpctl_map(&err, 502, "502 Command not implemented", "x", "x"),
                 RSL_E_PROTOCOL);
}

Test(ftpctl, transcript_pairs_replies_with_commands)
{
    rsl_ftpctl_log l = {0};
    recv_line(&l, "220 welcome");
    sent(&l, "USER u");
    recv_line(&l, "331 password please");
    sent(&l, "PASS s3cret-never-copied");
    recv_line(&l, "230 ok");
    sent(&l, "FEAT");
    recv_line(&l, "211-Features:");
    recv_line(&l, " MLST type*;");
    recv_line(&l, "211 End");
    sent(&l, "SIZE /a");
    recv_line(&l, "213 1234");
    sent(&l, "SIZE /b");
    recv_line(&l, "550 /b: No such file or directory");
    cr_assert_eq(rsl_ftpctl_check(&l, NULL), RSL_OK);
    const char *t = NULL;
    cr_assert_eq(rsl_ftpctl_code(&l, "FEAT", &t), 211);
    cr_assert_str_eq(t, "211 End", "the last line of a multi-line reply");
    cr_assert(rsl_ftpctl_feat(rsl_ftpctl_find(&l, "FEAT")->text.p) & RSL_FTP_FEAT_MLSD);
    uint64_t size = 0;
    cr_assert(rsl_ftpctl_size(rsl_ftpctl_find(&l, "SIZE /a"), &size));
    cr_assert_eq(size, 1234);
    cr_assert_not(rsl_ftpctl_size(rsl_ftpctl_find(&l, "SIZE /b"), &size));
    cr_assert_eq(rsl_ftpctl_code(&l, "SIZE /b", NULL), 550);
    cr_assert_eq(rsl_ftpctl_code(&l, "NOOP", NULL), 0, "unanswered");
    cr_assert_eq(rsl_ftpctl_last(&l)->code, 550);
    cr_assert_not_null(rsl_ftpctl_find(&l, "PASS ****"), "PASS recorded masked");
    for (size_t i = 0; i < l.n; i++)
        cr_assert(strstr(l.rep[i].cmd, "s3cret") == NULL, "the password is never copied");
    rsl_ftpctl_clear(&l);
    cr_assert_null(rsl_ftpctl_find(&l, "FEAT"));
    sent(&l, "NOOP");
    recv_line(&l, "200 ok");
    cr_assert_eq(rsl_ftpctl_code(&l, "NOOP", NULL), 200, "entries are reused after a clear");
    rsl_ftpctl_free(&l);
}

Test(ftpctl, an_overlong_reply_is_reported_not_cut_silently)
{
    rsl_ftpctl_log l = {0};
    sent(&l, "STAT");
    char line[1000];
    memset(line, 'x', sizeof(line) - 1);
    line[0] = '2', line[1] = '1', line[2] = '1', line[3] = '-';
    line[sizeof(line) - 1] = '\0';
    for (int i = 0; i < 70; i++) /* 70 lines of ~1 KB: past the 64 KiB cap */
        recv_line(&l, line);
    recv_line(&l, "211 End");
    cr_assert_eq(rsl_ftpctl_code(&l, "STAT", NULL), 211, "the code still counts");
    rsl_err err;
    cr_assert_eq(rsl_ftpctl_check(&l, &err), RSL_E_PROTOCOL);
    cr_assert(strstr(err.msg, "STAT") != NULL, "names the command: %s", err.msg);
    cr_assert(strstr(err.msg, "64 KiB") != NULL, "names the cap: %s", err.msg);
    cr_assert_leq(rsl_ftpctl_find(&l, "STAT")->text.n, (size_t)RSL_FTPCTL_REPLY_CAP);
    rsl_ftpctl_clear(&l);
    cr_assert_eq(rsl_ftpctl_check(&l, &err), RSL_OK, "a clear forgets it");
    rsl_ftpctl_free(&l);
}

/* Issue 10.7: a long command is stored whole and its reply found; one that
 * curl only partly showed (it sent the rest unseen) is matched as a prefix. */
Test(ftpctl, long_commands_are_matched_whole)
{
    rsl_ftpctl_log l = {0};
    size_t n = 9000;
    char *cmd = malloc(n + 1);
    memcpy(cmd, "RNTO /", 6);
    memset(cmd + 6, 'a', n - 6);
    cmd[n] = '\0';
    char *other = strdup(cmd);
    other[n - 1] = 'b'; /* differs only in the last byte */
    char *wire = malloc(n + 3);
    memcpy(wire, other, n);
    memcpy(wire + n, "\r\n", 2);
    cr_assert_eq(rsl_ftpctl_sent_data(&l, wire, n + 2), 0);
    recv_line(&l, "553 refused");
    memcpy(wire, cmd, n);
    rsl_ftpctl_sent_data(&l, wire, n + 2);
    recv_line(&l, "250 Rename successful.");
    cr_assert_eq(rsl_ftpctl_code(&l, cmd, NULL), 250, "the full command matches its own reply");
    cr_assert_eq(rsl_ftpctl_code(&l, other, NULL), 553, "not a cut copy's");
    /* shown only up to byte 4000 (a partial send): prefix match */
    rsl_ftpctl_clear(&l);
    rsl_ftpctl_sent_data(&l, cmd, 4000);
    cr_assert(l.rep[0].partial);
    recv_line(&l, "250 ok");
    cr_assert_eq(rsl_ftpctl_code(&l, cmd, NULL), 250);
    cr_assert_eq(rsl_ftpctl_code(&l, "RNTO /b", NULL), 0, "a partial entry is not anyone's");
    /* logins are counted */
    rsl_ftpctl_clear(&l);
    cr_assert_eq(rsl_ftpctl_sent_data(&l, "USER u\r\n", 8), 1);
    cr_assert_str_eq(l.rep[0].cmd, "USER u");
    cr_assert_not(l.rep[0].partial);
    rsl_ftpctl_free(&l);
    free(cmd);
    free(other);
    free(wire);
}

Test(ftpctl, command_line_bound_is_named)
{
    rsl_err err;
    char *line = malloc(5000);
    memcpy(line, "STOR /", 6);
    memset(line + 6, 'p', 4088);
    line[4094] = '\0'; /* 4094 + CR LF = 4096: fits */
    cr_assert_eq(rsl_ftpctl_fits(line, "p", &err), RSL_OK);
    line[4094] = 'p';
    line[4095] = '\0';
    cr_assert_eq(rsl_ftpctl_fits(line, "rel/p", &err), RSL_E_PATH_TOO_LONG);
    cr_assert(strstr(err.msg, "4096") != NULL, "names the limit: %s", err.msg);
    cr_assert(strstr(err.msg, "rel/p") != NULL, "names the item: %s", err.msg);
    cr_assert(strstr(err.msg, "STOR") != NULL, "names the command: %s", err.msg);
    cr_assert_eq(rsl_code_class(RSL_E_PATH_TOO_LONG), RSL_CLASS_PERSISTENT, "per item");
    free(line);
    /* the server's own refusal of a long line is per item too */
    cr_assert_eq(rsl_ftpctl_map(&err, 500, "500 Input line too long.", "upload", "x"),
                 RSL_E_REMOTE_NAME_REFUSED);
    cr_assert_eq(rsl_ftpctl_map(&err, 500, "500 Unknown command.", "x", "x"), RSL_E_PROTOCOL);
    cr_assert_eq(rsl_ftpctl_map(&err, 550, "550 x.php: Forbidden filename", "upload", "x"),
                 RSL_E_REMOTE_NAME_REFUSED);
    cr_assert_eq(rsl_ftpctl_map(&err, 550, "550 Rename failed.", "rename", "x"),
                 RSL_E_REMOTE_PERMISSION, "'Rename' is not about a name");
}

Test(ftpctl, feat_hash_and_digests)
{
    unsigned f = rsl_ftpctl_feat("211-Features:\n HASH SHA-1;SHA-256*;MD5\n MDTM\n XMD5\n211 End");
    cr_assert(f & RSL_FTP_FEAT_HASH);
    cr_assert(f & RSL_FTP_FEAT_HASH_SHA256);
    cr_assert(f & RSL_FTP_FEAT_HASH_SHA1);
    cr_assert(f & RSL_FTP_FEAT_HASH_MD5);
    cr_assert(f & RSL_FTP_FEAT_MDTM);
    cr_assert(f & RSL_FTP_FEAT_XMD5);
    cr_assert_not(f & RSL_FTP_FEAT_XSHA256);
    f = rsl_ftpctl_feat("211-Features:\n XSHA256\n XSHA1\n HASHX\n MDTMX\n211 End");
    cr_assert(f & RSL_FTP_FEAT_XSHA256);
    cr_assert(f & RSL_FTP_FEAT_XSHA1);
    cr_assert_not(f & (RSL_FTP_FEAT_HASH | RSL_FTP_FEAT_MDTM), "whole words only");

    rsl_ftpctl_log l = {0};
    const char *hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    char line[200];
    sent(&l, "HASH /a");
    snprintf(line, sizeof(line), "213 SHA-256 0-0 %s /a", hex);
    recv_line(&l, line);
    sent(&l, "XSHA256 /a");
    snprintf(line, sizeof(line), "213 %s", hex);
    recv_line(&l, line);
    sent(&l, "XMD5 /a");
    recv_line(&l, "250 D41D8CD98F00B204E9800998ECF8427E /a");
    sent(&l, "HASH /b");
    recv_line(&l, "550 /b: No such file");
    unsigned char d[32];
    size_t n = 0;
    cr_assert(rsl_ftpctl_digest(rsl_ftpctl_find(&l, "HASH /a"), 1, "SHA-256", d, 32, &n));
    cr_assert_eq(n, 32);
    cr_assert_eq(d[0], 0xe3);
    cr_assert_eq(d[31], 0x55);
    cr_assert_not(rsl_ftpctl_digest(rsl_ftpctl_find(&l, "HASH /a"), 1, "MD5", d, 16, &n),
                  "another algorithm than asked");
    cr_assert(rsl_ftpctl_digest(rsl_ftpctl_find(&l, "XSHA256 /a"), 0, NULL, d, 32, &n));
    cr_assert_eq(d[1], 0xb0);
    cr_assert(rsl_ftpctl_digest(rsl_ftpctl_find(&l, "XMD5 /a"), 0, NULL, d, 16, &n));
    cr_assert_eq(n, 16);
    cr_assert_eq(d[0], 0xd4);
    cr_assert_not(rsl_ftpctl_digest(rsl_ftpctl_find(&l, "XSHA256 /a"), 0, NULL, d, 16, &n),
                  "wrong length");
    cr_assert_not(rsl_ftpctl_digest(rsl_ftpctl_find(&l, "HASH /b"), 1, "SHA-256", d, 32, &n));
    cr_assert_not(rsl_ftpctl_digest(NULL, 0, NULL, d, 32, &n));
    rsl_ftpctl_free(&l);
}
