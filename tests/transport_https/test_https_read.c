/*
 * test_https_read.c - read() and hash() of the https transport against the
 * real Apache and nginx (neither sends a checksum: hash() says so, read()
 * streams the file back), on a read-only connection as verify makes it; and
 * the pure digest picking of OC-Checksum / Repr-Digest / Digest headers.
 */
#define _GNU_SOURCE /* asprintf */
#include "base/buf.h"
#include "https_test_util.h"
#include "transports/https_read.h"

static const rsl_transport_ops *ops = &rsl_transport_https;

static int collect_cb(void *ud, const void *buf, size_t n)
{
    rsl_buf *b = ud;
    return rsl_buf_append(b, buf, n) == RSL_BUF_OK ? 0 : 1;
}

static int stop_cb(void *ud, const void *buf, size_t n)
{
    (void)buf;
    *(size_t *)ud += n;
    return 1; /* enough */
}

BOTH_SERVERS(read_streams_the_file_and_hash_says_unavailable, .timeout = 60)
{
    topts *t = topts_new(srv);
    t->o.readonly = 1; /* as verify connects */
    char *up = NULL, *disk = make_remote_root(srv, "read", &up), *url = url_of(srv, "https", up);
    char *f = NULL, *sub = NULL;
    cr_assert(asprintf(&f, "%s/data.bin", disk) > 0);
    cr_assert(asprintf(&sub, "%s/sub/x", disk) > 0);
    rslt_write_random(f, 700 * 1024 + 3, 77);
    rslt_write(sub, "x");
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(t->sets, 0, "a read-only connection wrote a probe");
    rsl_buf b = {0};
    rsl_buf_reset(&b, 2u << 20);
    cr_assert_eq(ops->read(c, "data.bin", collect_cb, &b, &err), RSL_OK, "%s", err.msg);
    size_t len = 0;
    char *want = rslt_read(f, &len);
    cr_assert(b.n == len && memcmp(b.p, want, len) == 0, "read %zu of %zu bytes", b.n, len);
    /* the callback may stop early */
    size_t got = 0;
    cr_assert_eq(ops->read(c, "data.bin", stop_cb, &got, &err), RSL_OK, "%s", err.msg);
    cr_assert(got > 0 && got < len, "%zu", got);
    /* absent, a directory */
    cr_assert_eq(ops->read(c, "nope.bin", collect_cb, &b, &err), RSL_E_REMOTE_NOT_FOUND, "%d %s",
                 err.code, err.msg);
    cr_assert_eq(ops->read(c, "sub", collect_cb, &b, &err), RSL_E_REMOTE_TYPE_CONFLICT, "%d %s",
                 err.code, err.msg);
    /* neither server offers a checksum: said so, never a made-up digest */
    rsl_rhash h;
    cr_assert_eq(ops->hash(c, "data.bin", "sha256", &h, &err), RSL_E_CHECKSUM_UNAVAILABLE, "%d %s",
                 err.code, err.msg);
    cr_assert_eq(rsl_code_class(err.code), RSL_CLASS_INFO);
    cr_assert_eq(h.hex[0], '\0');
    cr_assert_eq(ops->hash(c, "nope.bin", NULL, &h, &err), RSL_E_REMOTE_NOT_FOUND);
    cr_assert_eq(ops->caps_of(c) & RSL_CAP_CHECKSUM, 0u);
    ops->disconnect(c);
    rsl_buf_free(&b);
    free(want);
    free(f);
    free(sub);
    rslt_rmrf(disk);
    free(disk);
    free(up);
    free(url);
    topts_free(t);
}

Test(https_digest, picks_the_asked_or_strongest_digest)
{
    rsl_rhash h;
    const char *sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    const char *md5 = "d41d8cd98f00b204e9800998ecf8427e";
    char oc[256];
    snprintf(oc, sizeof(oc), "MD5:%s SHA1:%s ADLER32:00000001", md5, sha1);
    /* the strongest when nothing is asked, the one asked otherwise */
    cr_assert(rsl_https_pick_digest(oc, NULL, NULL, NULL, &h));
    cr_assert_str_eq(h.alg, "sha1");
    cr_assert_str_eq(h.hex, sha1);
    cr_assert(rsl_https_pick_digest(oc, NULL, NULL, "md5", &h));
    cr_assert_str_eq(h.hex, md5);
    cr_assert(rsl_https_pick_digest(oc, NULL, NULL, "adler32", &h));
    cr_assert_str_eq(h.hex, "00000001");
    cr_assert(!rsl_https_pick_digest(oc, NULL, NULL, "sha256", &h));
    cr_assert(!rsl_https_pick_digest(oc, NULL, NULL, "crc32c", &h));
    /* upper-case hex is normalised; a wrong length is not a digest */
    cr_assert(rsl_https_pick_digest("SHA1:DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", NULL, NULL,
                                    NULL, &h));
    cr_assert_str_eq(h.hex, sha1);
    cr_assert(!rsl_https_pick_digest("SHA1:da39a3ee", NULL, NULL, NULL, &h));
    cr_assert(!rsl_https_pick_digest("SHA1:zz39a3ee5e6b4b0d3255bfef95601890afd80709", NULL, NULL,
                                     NULL, &h));
    /* RFC 9530 Repr-Digest (base64 between colons), RFC 3230 Digest */
    const char *e256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    cr_assert(rsl_https_pick_digest(
        NULL, "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:, unknown=:AAAA:", NULL,
        "sha256", &h));
    cr_assert_str_eq(h.alg, "sha256");
    cr_assert_str_eq(h.hex, e256);
    cr_assert(rsl_https_pick_digest(
        NULL, NULL,
        "MD5=1B2M2Y8AsgTpgAmY7PhCfg==,SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", NULL,
        &h));
    cr_assert_str_eq(h.alg, "sha256");
    cr_assert(rsl_https_pick_digest(NULL, NULL, "MD5=1B2M2Y8AsgTpgAmY7PhCfg==", "md5", &h));
    cr_assert_str_eq(h.hex, md5);
    /* nothing readable */
    cr_assert(!rsl_https_pick_digest("", "", "", NULL, &h));
    cr_assert(!rsl_https_pick_digest(NULL, "sha-256=:not base64!:", "SHA-256=???", NULL, &h));
}
