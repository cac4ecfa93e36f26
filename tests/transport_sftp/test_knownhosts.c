/* Unit tests of transports/knownhosts.c on generated keys and files (no
 * server): fingerprints as ssh-keygen prints them, host matching rules, the
 * line to add, and the key types known for a host. */
#include "sftp_test.h"

#include <openssl/evp.h>

#include "transports/knownhosts.h"

struct key {
    unsigned char blob[2048];
    size_t len;
    char publine[1024]; /* "type base64" */
    char fp[128];       /* from ssh-keygen -l */
};

static struct key genkey(const char *dir, const char *name, const char *type)
{
    struct key k = {0};
    char *out = NULL;
    cr_assert_eq(rslt_sh(NULL, NULL, "ssh-keygen -q -t %s -N '' -f '%s/%s'", type, dir, name), 0);
    cr_assert_eq(rslt_sh(&out, NULL, "cut -d' ' -f1,2 '%s/%s.pub' | tr -d '\\n'", dir, name), 0);
    snprintf(k.publine, sizeof(k.publine), "%s", out);
    free(out);
    cr_assert_eq(rslt_sh(&out, NULL,
                         "ssh-keygen -l -E sha256 -f '%s/%s.pub' | cut -d' ' -f2 | "
                         "tr -d '\\n'",
                         dir, name),
                 0);
    snprintf(k.fp, sizeof(k.fp), "%s", out);
    free(out);
    const char *b64 = strchr(k.publine, ' ') + 1;
    int n = EVP_DecodeBlock(k.blob, (const unsigned char *)b64, (int)strlen(b64));
    cr_assert_gt(n, 0);
    size_t l = strlen(b64);
    k.len = (size_t)n - (b64[l - 1] == '=') - (b64[l - 2] == '=');
    return k;
}

static char *write_file(const char *dir, const char *name, const char *text)
{
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/%s", dir, name) > 0);
    rslt_write(p, text);
    return p;
}

Test(knownhosts, fingerprint_type_and_line_match_openssh)
{
    char *d = rslt_tmpdir("kh-unit");
    struct key k = genkey(d, "ed", "ed25519");
    char fp[128], type[64], line[2200];
    rsl_knownhosts_fingerprint(k.blob, k.len, fp, sizeof(fp));
    cr_assert_str_eq(fp, k.fp);
    rsl_knownhosts_keytype(k.blob, k.len, type, sizeof(type));
    cr_assert_str_eq(type, "ssh-ed25519");
    cr_assert_eq(rsl_knownhosts_line("h.example", 22, k.blob, k.len, line, sizeof(line)), 0);
    char want[2200];
    snprintf(want, sizeof(want), "h.example %s", k.publine);
    cr_assert_str_eq(line, want);
    cr_assert_eq(rsl_knownhosts_line("10.0.0.1", 2222, k.blob, k.len, line, sizeof(line)), 0);
    snprintf(want, sizeof(want), "[10.0.0.1]:2222 %s", k.publine);
    cr_assert_str_eq(line, want);
    cr_assert_eq(rsl_knownhosts_line("h", 22, k.blob, k.len, line, 20), -1, "too small");
    struct key r = genkey(d, "rsa", "rsa");
    rsl_knownhosts_fingerprint(r.blob, r.len, fp, sizeof(fp));
    cr_assert_str_eq(fp, r.fp);
}

Test(knownhosts, matching_rules)
{
    char *d = rslt_tmpdir("kh-unit");
    struct key a = genkey(d, "a", "ed25519"), b = genkey(d, "b", "ed25519");
    struct key e = genkey(d, "e", "ecdsa");
    char text[8192];
    int line = 0, missing = 0;
    /* port 22: bare name; other ports only in [host]:port form */
    snprintf(text, sizeof(text), "srv.example,alias %s\n[srv.example]:2222 %s\n", a.publine,
             b.publine);
    char *f = write_file(d, "kh1", text);
    cr_assert_eq(rsl_knownhosts_check(f, "srv.example", 22, a.blob, a.len, &line, &missing),
                 RSL_KH_MATCH);
    cr_assert_eq(line, 1);
    cr_assert_eq(rsl_knownhosts_check(f, "alias", 22, a.blob, a.len, NULL, NULL), RSL_KH_MATCH);
    cr_assert_eq(rsl_knownhosts_check(f, "SRV.example", 22, a.blob, a.len, NULL, NULL),
                 RSL_KH_MATCH, "case-insensitive");
    cr_assert_eq(rsl_knownhosts_check(f, "srv.example", 2222, b.blob, b.len, &line, NULL),
                 RSL_KH_MATCH);
    cr_assert_eq(line, 2);
    cr_assert_eq(rsl_knownhosts_check(f, "srv.example", 2222, a.blob, a.len, &line, NULL),
                 RSL_KH_CHANGED);
    cr_assert_eq(line, 2);
    cr_assert_eq(rsl_knownhosts_check(f, "srv.example", 22, e.blob, e.len, NULL, NULL),
                 RSL_KH_OTHER_TYPE, "only an ed25519 key is known");
    cr_assert_eq(rsl_knownhosts_check(f, "other", 22, a.blob, a.len, NULL, NULL), RSL_KH_UNKNOWN);
    cr_assert_eq(rsl_knownhosts_check(f, "srv.example", 2223, b.blob, b.len, NULL, NULL),
                 RSL_KH_UNKNOWN);
    /* a matching line wins over a stale one of the same type */
    snprintf(text, sizeof(text), "h %s\nh %s\n", b.publine, a.publine);
    f = write_file(d, "kh2", text);
    cr_assert_eq(rsl_knownhosts_check(f, "h", 22, a.blob, a.len, &line, NULL), RSL_KH_MATCH);
    cr_assert_eq(line, 2);
    /* wildcards and negation */
    snprintf(text, sizeof(text), "*.corp,!bad.corp %s\n", a.publine);
    f = write_file(d, "kh3", text);
    cr_assert_eq(rsl_knownhosts_check(f, "x.corp", 22, a.blob, a.len, NULL, NULL), RSL_KH_MATCH);
    cr_assert_eq(rsl_knownhosts_check(f, "bad.corp", 22, a.blob, a.len, NULL, NULL),
                 RSL_KH_UNKNOWN);
    cr_assert_eq(rsl_knownhosts_check(f, "corp", 22, a.blob, a.len, NULL, NULL), RSL_KH_UNKNOWN);
    /* revoked */
    snprintf(text, sizeof(text), "@revoked * %s\nh %s\n", a.publine, a.publine);
    f = write_file(d, "kh4", text);
    cr_assert_eq(rsl_knownhosts_check(f, "h", 22, a.blob, a.len, &line, NULL), RSL_KH_REVOKED);
    cr_assert_eq(line, 1);
    /* missing file */
    cr_assert_eq(rsl_knownhosts_check("/nonexistent/kh", "h", 22, a.blob, a.len, NULL, &missing),
                 RSL_KH_UNKNOWN);
    cr_assert_eq(missing, 1);
}

Test(knownhosts, hashed_entries_via_ssh_keygen)
{
    char *d = rslt_tmpdir("kh-unit");
    struct key a = genkey(d, "a", "ed25519");
    char text[8192];
    snprintf(text, sizeof(text), "[db.example]:2200 %s\nweb.example %s\n", a.publine, a.publine);
    char *f = write_file(d, "kh", text);
    cr_assert_eq(rslt_sh(NULL, NULL, "ssh-keygen -q -H -f '%s'", f), 0);
    char *h = rslt_read(f, NULL);
    cr_assert(strstr(h, "db.example") == NULL && strstr(h, "|1|") != NULL, "%s", h);
    cr_assert_eq(rsl_knownhosts_check(f, "db.example", 2200, a.blob, a.len, NULL, NULL),
                 RSL_KH_MATCH);
    cr_assert_eq(rsl_knownhosts_check(f, "web.example", 22, a.blob, a.len, NULL, NULL),
                 RSL_KH_MATCH);
    cr_assert_eq(rsl_knownhosts_check(f, "db.example", 22, a.blob, a.len, NULL, NULL),
                 RSL_KH_UNKNOWN);
}

Test(knownhosts, key_types_known_for_a_host)
{
    char *d = rslt_tmpdir("kh-unit");
    struct key a = genkey(d, "a", "ed25519"), e = genkey(d, "e", "ecdsa");
    struct key b = genkey(d, "b", "ed25519");
    char text[16384], types[256];
    snprintf(text, sizeof(text),
             "# comment\n@cert-authority * %s\nh %s\nh %s\nh %s\nother %s\ngarbage\n", a.publine,
             e.publine, a.publine, b.publine, a.publine);
    char *f = write_file(d, "kh", text);
    rsl_knownhosts_types(f, "h", 22, types, sizeof(types));
    cr_assert_str_eq(types, "ecdsa-sha2-nistp256,ssh-ed25519");
    rsl_knownhosts_types(f, "nobody", 22, types, sizeof(types));
    cr_assert_str_eq(types, "");
    rsl_knownhosts_types("/nonexistent", "h", 22, types, sizeof(types));
    cr_assert_str_eq(types, "");
}

/* A known_hosts line with many '*' used to hang host-key checking
 * (exponential backtracking); the matcher is now linear in practice. The
 * old code needed hours for this pattern; the timeout catches a regression. */
Test(knownhosts, many_wildcards_match_in_linear_time, .timeout = 10)
{
    char *d = rslt_tmpdir("kh-star");
    struct key a = genkey(d, "a", "ed25519");
    char pat[256] = "", name[300];
    for (int i = 0; i < 60; i++)
        strncat(pat, "*a", sizeof(pat) - strlen(pat) - 1);
    strncat(pat, "*b", sizeof(pat) - strlen(pat) - 1);
    memset(name, 'a', 200);
    name[200] = '\0';
    char text[8192];
    snprintf(text, sizeof(text), "%s %s\n", pat, a.publine);
    char *f = write_file(d, "kh", text);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(rsl_knownhosts_check(f, name, 22, a.blob, a.len, NULL, NULL), RSL_KH_UNKNOWN);
    /* and the pattern still matches what it should */
    name[150] = 'b';
    name[151] = '\0';
    cr_assert_eq(rsl_knownhosts_check(f, name, 22, a.blob, a.len, NULL, NULL), RSL_KH_MATCH);
    snprintf(text, sizeof(text), "h?st*.ex*ample,*X %s\n", a.publine);
    f = write_file(d, "kh2", text);
    cr_assert_eq(rsl_knownhosts_check(f, "host1.exAMPLE", 22, a.blob, a.len, NULL, NULL),
                 RSL_KH_MATCH);
    cr_assert_eq(rsl_knownhosts_check(f, "hst.example", 22, a.blob, a.len, NULL, NULL),
                 RSL_KH_UNKNOWN);
    cr_assert_eq(rsl_knownhosts_check(f, "x", 22, a.blob, a.len, NULL, NULL), RSL_KH_MATCH);
    cr_assert_eq(rsl_knownhosts_check(f, "xy", 22, a.blob, a.len, NULL, NULL), RSL_KH_UNKNOWN);
}
