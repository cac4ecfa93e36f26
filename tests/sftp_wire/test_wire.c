/* Tests for transports/sftp_wire.c: the bytes of each request, the
 * decoding of each reply, and what happens with truncated and hostile
 * packets (every length is checked; nothing is read past the packet). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "transports/sftp_wire.h"

static uint32_t ld32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* The body (after the length field) of the only packet in b; checks the
 * length field. */
static const unsigned char *body_of(const rsl_sftp_buf *b, size_t *n)
{
    cr_assert_not(b->bad);
    cr_assert_geq(b->len, 5);
    cr_assert_eq(ld32(b->p), b->len - 4, "length field %u for %zu bytes", ld32(b->p), b->len - 4);
    *n = b->len - 4;
    return b->p + 4;
}

/* Decodes a copy of exactly n bytes on the heap, so that ASan catches any
 * read past the end. */
static int decode(rsl_sftp_reply *r, const unsigned char *p, size_t n, char *why)
{
    unsigned char *c = malloc(n ? n : 1);
    memcpy(c, p, n);
    int rc = rsl_sftp_wire_reply(r, c, n, why, 200);
    free(c);
    return rc;
}

Test(sftp_wire, open_request_bytes)
{
    rsl_sftp_buf b = {0};
    rsl_sftp_attrs a = {.flags = RSL_SFTP_ATTR_PERMISSIONS, .perm = 0644};
    rsl_sftp_wire_open(&b, 7, "/r/a.txt", RSL_SFTP_PF_WRITE | RSL_SFTP_PF_CREAT, &a);
    static const unsigned char want[] = {0, 0, 0,    29,  3,   0,   0,   0,   7,   0,    0,
                                         0, 8, '/',  'r', '/', 'a', '.', 't', 'x', 't',  0,
                                         0, 0, 0x0a, 0,   0,   0,   4,   0,   0,   0x01, 0xa4};
    cr_assert_eq(b.len, sizeof(want));
    cr_assert_arr_eq(b.p, want, sizeof(want));
    rsl_sftp_buf_free(&b);
}

Test(sftp_wire, init_has_no_id)
{
    rsl_sftp_buf b = {0};
    rsl_sftp_wire_init(&b, 3);
    static const unsigned char want[] = {0, 0, 0, 5, 1, 0, 0, 0, 3};
    cr_assert_eq(b.len, sizeof(want));
    cr_assert_arr_eq(b.p, want, sizeof(want));
    rsl_sftp_buf_free(&b);
}

Test(sftp_wire, write_in_place_and_packets_back_to_back)
{
    rsl_sftp_buf b = {0};
    rsl_sftp_handle h = {.b = {'h', '1'}, .len = 2};
    rsl_sftp_wire_fstat(&b, 1, &h);
    size_t first = b.len;
    unsigned char *d = rsl_sftp_wire_write_begin(&b, 2, &h, 1ull << 33, 100000);
    cr_assert_not_null(d);
    memset(d, 'x', 100000);
    size_t n;
    cr_assert_eq(ld32(b.p), first - 4);
    const unsigned char *w = b.p + first;
    cr_assert_eq(ld32(w), b.len - first - 4);
    cr_assert_eq(w[4], RSL_FXP_WRITE);
    cr_assert_eq(ld32(w + 5), 2);
    cr_assert_eq(ld32(w + 9), 2);  /* handle length */
    cr_assert_eq(ld32(w + 15), 2); /* offset high word */
    cr_assert_eq(ld32(w + 19), 0);
    cr_assert_eq(ld32(w + 23), 100000);
    cr_assert_eq(w[27], 'x');
    cr_assert_eq(b.p[b.len - 1], 'x');
    (void)n;
    rsl_sftp_buf_free(&b);
}

Test(sftp_wire, extended_requests_name_their_extension)
{
    static const struct {
        const char *name;
        int which;
    } cases[] = {{"posix-rename@openssh.com", 0}, {"hardlink@openssh.com", 1},
                 {"fsync@openssh.com", 2},        {"limits@openssh.com", 3},
                 {"statvfs@openssh.com", 4},      {"check-file-handle", 5},
                 {"check-file-name", 6},          {"md5-hash", 7},
                 {"md5-hash-handle", 8}};
    rsl_sftp_handle h = {.b = {9}, .len = 1};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rsl_sftp_buf b = {0};
        switch (cases[i].which) {
        case 0:
            rsl_sftp_wire_posix_rename(&b, 5, "/a", "/b");
            break;
        case 1:
            rsl_sftp_wire_hardlink(&b, 5, "/a", "/b");
            break;
        case 2:
            rsl_sftp_wire_fsync(&b, 5, &h);
            break;
        case 3:
            rsl_sftp_wire_limits(&b, 5);
            break;
        case 4:
            rsl_sftp_wire_statvfs(&b, 5, "/");
            break;
        case 5:
            rsl_sftp_wire_check_file_handle(&b, 5, &h, "sha256,md5", 0, 0, 0);
            break;
        case 6:
            rsl_sftp_wire_check_file_name(&b, 5, "/a", "sha256", 10, 20, 4096);
            break;
        case 7:
            rsl_sftp_wire_md5_hash(&b, 5, "/a", 0, 0, "", 0);
            break;
        default:
            rsl_sftp_wire_md5_hash_handle(&b, 5, &h, 0, 0, "", 0);
            break;
        }
        size_t n;
        const unsigned char *p = body_of(&b, &n);
        cr_assert_eq(p[0], RSL_FXP_EXTENDED);
        cr_assert_eq(ld32(p + 1), 5);
        size_t l = strlen(cases[i].name);
        cr_assert_eq(ld32(p + 5), l, "%s", cases[i].name);
        cr_assert_eq(memcmp(p + 9, cases[i].name, l), 0);
        rsl_sftp_buf_free(&b);
    }
}

Test(sftp_wire, check_file_name_fields)
{
    rsl_sftp_buf b = {0};
    rsl_sftp_wire_check_file_name(&b, 5, "/a", "sha256", 10, 20, 4096);
    size_t n;
    const unsigned char *p = body_of(&b, &n);
    size_t o = 9 + strlen("check-file-name");
    cr_assert_eq(ld32(p + o), 2);
    o += 4 + 2;
    cr_assert_eq(ld32(p + o), 6);
    cr_assert_eq(memcmp(p + o + 4, "sha256", 6), 0);
    o += 10;
    cr_assert_eq(ld32(p + o + 4), 10);
    cr_assert_eq(ld32(p + o + 12), 20);
    cr_assert_eq(ld32(p + o + 16), 4096);
    cr_assert_eq(o + 20, n);
    rsl_sftp_buf_free(&b);
}

Test(sftp_wire, attrs_round_trip)
{
    rsl_sftp_buf e = {0};
    rsl_sftp_wire_put_str(&e, "k1", 2);
    rsl_sftp_wire_put_str(&e, "v1", 2);
    rsl_sftp_wire_put_str(&e, "k2", 2);
    rsl_sftp_wire_put_str(&e, "", 0);
    rsl_sftp_attrs a = {.flags = RSL_SFTP_ATTR_SIZE | RSL_SFTP_ATTR_UIDGID |
                                 RSL_SFTP_ATTR_PERMISSIONS | RSL_SFTP_ATTR_ACMODTIME |
                                 RSL_SFTP_ATTR_EXTENDED,
                        .size = 0x123456789ull,
                        .uid = 1000,
                        .gid = 100,
                        .perm = 0100640,
                        .atime = 1,
                        .mtime = 1700000000,
                        .ext_count = 2,
                        .ext = {e.p, (uint32_t)e.len}};
    rsl_sftp_buf b = {0};
    rsl_sftp_wire_begin(&b, RSL_FXP_ATTRS, 42);
    rsl_sftp_wire_put_attrs(&b, &a);
    rsl_sftp_wire_end(&b);
    size_t n;
    const unsigned char *p = body_of(&b, &n);
    rsl_sftp_reply r;
    char why[200];
    cr_assert_eq(decode(&r, p, n, why), 0, "%s", why);
    cr_assert_eq(r.type, RSL_FXP_ATTRS);
    cr_assert_eq(r.id, 42);
    cr_assert_eq(r.attrs.flags, a.flags);
    cr_assert_eq(r.attrs.size, a.size);
    cr_assert_eq(r.attrs.uid, 1000);
    cr_assert_eq(r.attrs.gid, 100);
    cr_assert_eq(r.attrs.perm, 0100640);
    cr_assert_eq(r.attrs.mtime, 1700000000);
    cr_assert_eq(r.attrs.ext_count, 2);
    /* the pairs, read back through the iterator (from the packet itself) */
    cr_assert_eq(rsl_sftp_wire_reply(&r, p, n, why, sizeof(why)), 0);
    rsl_sftp_str rest = r.attrs.ext, k, v;
    cr_assert_eq(rsl_sftp_wire_pair_next(&rest, &k, &v), 1);
    cr_assert(rsl_sftp_str_eq(k, "k1") && rsl_sftp_str_eq(v, "v1"));
    cr_assert_eq(rsl_sftp_wire_pair_next(&rest, &k, &v), 1);
    cr_assert(rsl_sftp_str_eq(k, "k2") && v.len == 0);
    cr_assert_eq(rsl_sftp_wire_pair_next(&rest, &k, &v), 0);
    rsl_sftp_buf_free(&b);
    rsl_sftp_buf_free(&e);
}

/* Builds a STATUS reply; msg/lang NULL leaves them out. */
static void status_pkt(rsl_sftp_buf *b, uint32_t id, uint32_t code, const char *msg,
                       const char *lang)
{
    rsl_sftp_wire_begin(b, RSL_FXP_STATUS, id);
    rsl_sftp_wire_put_u32(b, code);
    if (msg)
        rsl_sftp_wire_put_cstr(b, msg);
    if (lang)
        rsl_sftp_wire_put_cstr(b, lang);
    rsl_sftp_wire_end(b);
}

Test(sftp_wire, status_with_and_without_message)
{
    rsl_sftp_buf b = {0};
    status_pkt(&b, 9, RSL_FX_PERMISSION_DENIED, "Permission denied", "en");
    size_t n;
    const unsigned char *p = body_of(&b, &n);
    rsl_sftp_reply r;
    char why[200];
    cr_assert_eq(decode(&r, p, n, why), 0, "%s", why);
    cr_assert_eq(r.id, 9);
    cr_assert_eq(r.status, RSL_FX_PERMISSION_DENIED);
    cr_assert_eq(rsl_sftp_wire_reply(&r, p, n, why, sizeof(why)), 0);
    cr_assert(rsl_sftp_str_eq(r.msg, "Permission denied"));
    cr_assert(rsl_sftp_str_eq(r.lang, "en"));
    rsl_sftp_buf_free(&b);
    status_pkt(&b, 10, RSL_FX_OK, NULL, NULL); /* old servers */
    p = body_of(&b, &n);
    cr_assert_eq(decode(&r, p, n, why), 0, "%s", why);
    cr_assert_eq(r.status, 0);
    cr_assert_eq(r.msg.len, 0);
    rsl_sftp_buf_free(&b);
}

Test(sftp_wire, handle_data_extended)
{
    rsl_sftp_buf b = {0};
    rsl_sftp_wire_begin(&b, RSL_FXP_HANDLE, 3);
    rsl_sftp_wire_put_str(&b, "abc", 3);
    rsl_sftp_wire_end(&b);
    size_t n;
    const unsigned char *p = body_of(&b, &n);
    rsl_sftp_reply r;
    char why[200];
    cr_assert_eq(rsl_sftp_wire_reply(&r, p, n, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(r.handle.len, 3);
    cr_assert_eq(memcmp(r.handle.p, "abc", 3), 0);
    rsl_sftp_buf_free(&b);

    rsl_sftp_wire_begin(&b, RSL_FXP_DATA, 4);
    rsl_sftp_wire_put_str(&b, "0123456789", 10);
    rsl_sftp_wire_end(&b);
    p = body_of(&b, &n);
    cr_assert_eq(rsl_sftp_wire_reply(&r, p, n, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(r.data.len, 10);
    cr_assert_eq(r.data.p[9], '9');
    rsl_sftp_buf_free(&b);

    /* limits@openssh.com: four uint64 */
    rsl_sftp_wire_begin(&b, RSL_FXP_EXTENDED_REPLY, 5);
    rsl_sftp_wire_put_u64(&b, 262144);
    rsl_sftp_wire_put_u64(&b, 261120);
    rsl_sftp_wire_put_u64(&b, 261120);
    rsl_sftp_wire_put_u64(&b, 1019);
    rsl_sftp_wire_end(&b);
    p = body_of(&b, &n);
    cr_assert_eq(rsl_sftp_wire_reply(&r, p, n, why, sizeof(why)), 0, "%s", why);
    rsl_sftp_limits l;
    cr_assert_eq(rsl_sftp_wire_limits_reply(&l, r.ext, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(l.max_packet, 262144);
    cr_assert_eq(l.max_write, 261120);
    cr_assert_eq(l.max_handles, 1019);
    r.ext.len = 31; /* one byte short */
    cr_assert_eq(rsl_sftp_wire_limits_reply(&l, r.ext, why, sizeof(why)), -1);
    cr_assert(strstr(why, "max open handles") != NULL, "%s", why);
    rsl_sftp_buf_free(&b);
}

Test(sftp_wire, statvfs_check_file_md5_replies)
{
    rsl_sftp_buf b = {0};
    for (int i = 0; i < 11; i++)
        rsl_sftp_wire_put_u64(&b, 100 + (uint64_t)i);
    rsl_sftp_statvfs v;
    char why[200];
    rsl_sftp_str s = {b.p, (uint32_t)b.len};
    cr_assert_eq(rsl_sftp_wire_statvfs_reply(&v, s, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(v.bsize, 100);
    cr_assert_eq(v.bavail, 104);
    cr_assert_eq(v.namemax, 110);
    s.len -= 1;
    cr_assert_eq(rsl_sftp_wire_statvfs_reply(&v, s, why, sizeof(why)), -1);
    rsl_sftp_buf_free(&b);

    rsl_sftp_wire_put_cstr(&b, "check-file");
    rsl_sftp_wire_put_cstr(&b, "sha256");
    unsigned char *h = rsl_sftp_wire_put_space(&b, 32);
    memset(h, 0xab, 32);
    s.p = b.p;
    s.len = (uint32_t)b.len;
    rsl_sftp_str alg, hash;
    cr_assert_eq(rsl_sftp_wire_check_file_reply(&alg, &hash, s, why, sizeof(why)), 0, "%s", why);
    cr_assert(rsl_sftp_str_eq(alg, "sha256"));
    cr_assert_eq(hash.len, 32);
    cr_assert_eq(hash.p[31], 0xab);
    rsl_sftp_buf_free(&b);

    rsl_sftp_wire_put_cstr(&b, "md5-hash");
    rsl_sftp_wire_put_str(&b, "0123456789abcdef", 16);
    s.p = b.p;
    s.len = (uint32_t)b.len;
    cr_assert_eq(rsl_sftp_wire_md5_hash_reply(&hash, s, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(hash.len, 16);
    rsl_sftp_buf_free(&b);
    rsl_sftp_wire_put_cstr(&b, "md5-hash");
    rsl_sftp_wire_put_str(&b, "0123", 4);
    s.p = b.p;
    s.len = (uint32_t)b.len;
    cr_assert_eq(rsl_sftp_wire_md5_hash_reply(&hash, s, why, sizeof(why)), -1);
    rsl_sftp_buf_free(&b);
}

static void name_pkt(rsl_sftp_buf *b)
{
    rsl_sftp_wire_begin(b, RSL_FXP_NAME, 11);
    rsl_sftp_wire_put_u32(b, 2);
    rsl_sftp_wire_put_cstr(b, "a.txt");
    rsl_sftp_wire_put_cstr(b, "-rw-r--r-- 1 u g 5 a.txt");
    rsl_sftp_attrs a = {
        .flags = RSL_SFTP_ATTR_SIZE | RSL_SFTP_ATTR_PERMISSIONS, .size = 5, .perm = 0100644};
    rsl_sftp_wire_put_attrs(b, &a);
    rsl_sftp_wire_put_cstr(b, "sub");
    rsl_sftp_wire_put_cstr(b, "");
    a.perm = 040755;
    rsl_sftp_wire_put_attrs(b, &a);
    rsl_sftp_wire_end(b);
}

Test(sftp_wire, name_entries)
{
    rsl_sftp_buf b = {0};
    name_pkt(&b);
    size_t n;
    const unsigned char *p = body_of(&b, &n);
    rsl_sftp_reply r;
    char why[200];
    cr_assert_eq(rsl_sftp_wire_reply(&r, p, n, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(r.count, 2);
    rsl_sftp_str rest = r.names;
    rsl_sftp_name e;
    cr_assert_eq(rsl_sftp_wire_name_next(&rest, &e), 1);
    cr_assert(rsl_sftp_str_eq(e.name, "a.txt"));
    cr_assert_eq(e.attrs.size, 5);
    cr_assert_eq(rsl_sftp_wire_name_next(&rest, &e), 1);
    cr_assert(rsl_sftp_str_eq(e.name, "sub"));
    cr_assert_eq(e.attrs.perm & RSL_SFTP_S_IFMT, RSL_SFTP_S_IFDIR);
    cr_assert_eq(rsl_sftp_wire_name_next(&rest, &e), 0);
    rsl_sftp_buf_free(&b);
}

Test(sftp_wire, version_and_extension_pairs)
{
    rsl_sftp_buf b = {0};
    rsl_sftp_wire_begin(&b, RSL_FXP_VERSION, 3); /* the "id" slot is the version */
    rsl_sftp_wire_put_cstr(&b, "posix-rename@openssh.com");
    rsl_sftp_wire_put_cstr(&b, "1");
    rsl_sftp_wire_put_cstr(&b, "limits@openssh.com");
    rsl_sftp_wire_put_cstr(&b, "1");
    rsl_sftp_wire_end(&b);
    size_t n;
    const unsigned char *p = body_of(&b, &n);
    rsl_sftp_hello v;
    char why[200];
    cr_assert_eq(rsl_sftp_wire_version(&v, p, n, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(v.version, 3);
    cr_assert_eq(v.count, 2);
    rsl_sftp_str rest = v.ext, k, d;
    cr_assert_eq(rsl_sftp_wire_pair_next(&rest, &k, &d), 1);
    cr_assert(rsl_sftp_str_eq(k, "posix-rename@openssh.com"));
    cr_assert_eq(rsl_sftp_wire_pair_next(&rest, &k, &d), 1);
    cr_assert(rsl_sftp_str_eq(k, "limits@openssh.com"));
    cr_assert_eq(rsl_sftp_wire_pair_next(&rest, &k, &d), 0);
    /* a name without its data */
    cr_assert_eq(rsl_sftp_wire_version(&v, p, n - 5, why, sizeof(why)), -1);
    cr_assert(strstr(why, "extension data") != NULL, "%s", why);
    /* a STATUS where VERSION was expected */
    rsl_sftp_buf s = {0};
    status_pkt(&s, 1, 4, "x", "");
    p = body_of(&s, &n);
    cr_assert_eq(rsl_sftp_wire_version(&v, p, n, why, sizeof(why)), -1);
    cr_assert(strstr(why, "expected VERSION") != NULL, "%s", why);
    rsl_sftp_buf_free(&b);
    rsl_sftp_buf_free(&s);
}

/* Every strict prefix of a well-formed reply fails (except a STATUS cut
 * right after its code or message, which old servers send), and never
 * reads past the bytes given (ASan in the sanitizer build). */
Test(sftp_wire, every_truncation_is_refused)
{
    rsl_sftp_buf pk[5] = {{0}};
    name_pkt(&pk[0]);
    rsl_sftp_wire_begin(&pk[1], RSL_FXP_HANDLE, 3);
    rsl_sftp_wire_put_str(&pk[1], "abcdef", 6);
    rsl_sftp_wire_end(&pk[1]);
    rsl_sftp_wire_begin(&pk[2], RSL_FXP_DATA, 3);
    rsl_sftp_wire_put_str(&pk[2], "abcdef", 6);
    rsl_sftp_wire_end(&pk[2]);
    rsl_sftp_attrs a = {.flags = RSL_SFTP_ATTR_SIZE | RSL_SFTP_ATTR_UIDGID |
                                 RSL_SFTP_ATTR_PERMISSIONS | RSL_SFTP_ATTR_ACMODTIME};
    rsl_sftp_wire_begin(&pk[3], RSL_FXP_ATTRS, 3);
    rsl_sftp_wire_put_attrs(&pk[3], &a);
    rsl_sftp_wire_end(&pk[3]);
    status_pkt(&pk[4], 3, 4, "Failure", "en");
    for (int i = 0; i < 5; i++) {
        size_t n;
        const unsigned char *p = body_of(&pk[i], &n);
        rsl_sftp_reply r;
        char why[200];
        cr_assert_eq(decode(&r, p, n, why), 0, "packet %d: %s", i, why);
        for (size_t k = 0; k < n; k++) {
            int ok_cut = i == 4 && (k == 9 || k == 9 + 4 + 7);
            int rc = decode(&r, p, k, why);
            cr_assert_eq(rc, ok_cut ? 0 : -1, "packet %d cut at %zu of %zu: rc %d", i, k, n, rc);
        }
        rsl_sftp_buf_free(&pk[i]);
    }
}

Test(sftp_wire, hostile_lengths_and_counts)
{
    char why[200];
    rsl_sftp_reply r;
    /* a DATA string claiming 4 GiB */
    unsigned char d[] = {RSL_FXP_DATA, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 'x'};
    cr_assert_eq(decode(&r, d, sizeof(d), why), -1);
    cr_assert(strstr(why, "4294967295") != NULL, "%s", why);
    /* a NAME claiming 4 billion entries */
    unsigned char nm[] = {RSL_FXP_NAME, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    cr_assert_eq(decode(&r, nm, sizeof(nm), why), -1);
    cr_assert(strstr(why, "cannot fit") != NULL, "%s", why);
    /* ATTRS with a huge extended count */
    unsigned char at[] = {RSL_FXP_ATTRS, 0, 0, 0, 1, 0x80, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff};
    cr_assert_eq(decode(&r, at, sizeof(at), why), -1);
    cr_assert(strstr(why, "extended attributes cannot fit") != NULL, "%s", why);
    /* handles of 0 and 300 bytes */
    unsigned char h0[] = {RSL_FXP_HANDLE, 0, 0, 0, 1, 0, 0, 0, 0};
    cr_assert_eq(decode(&r, h0, sizeof(h0), why), -1);
    unsigned char *h300 = calloc(1, 9 + 300);
    h300[0] = RSL_FXP_HANDLE;
    h300[4] = 1;
    h300[7] = 300 >> 8;
    h300[8] = 300 & 0xff;
    cr_assert_eq(decode(&r, h300, 9 + 300, why), -1);
    cr_assert(strstr(why, "300 bytes") != NULL, "%s", why);
    free(h300);
    /* request types, VERSION and unknown types are not replies */
    unsigned char t[] = {RSL_FXP_OPEN, 0, 0, 0, 1};
    cr_assert_eq(decode(&r, t, sizeof(t), why), -1);
    cr_assert(strstr(why, "unexpected packet type 3") != NULL, "%s", why);
    t[0] = 250;
    cr_assert_eq(decode(&r, t, sizeof(t), why), -1);
    cr_assert_eq(decode(&r, t, 0, why), -1);
}

Test(sftp_wire, framing)
{
    char why[200];
    uint32_t body = 0;
    unsigned char p[8] = {0, 0, 0, 3, 101, 0, 0, 0};
    cr_assert_eq(rsl_sftp_wire_frame(p, 3, 1024, &body, why, sizeof(why)), 0);
    cr_assert_eq(rsl_sftp_wire_frame(p, 6, 1024, &body, why, sizeof(why)), 0);
    cr_assert_eq(rsl_sftp_wire_frame(p, 7, 1024, &body, why, sizeof(why)), 1);
    cr_assert_eq(body, 3);
    unsigned char big[4] = {0, 4, 0, 1};
    cr_assert_eq(rsl_sftp_wire_frame(big, 4, 262144, &body, why, sizeof(why)), -1);
    cr_assert(strstr(why, "262145 bytes is over") != NULL, "%s", why);
    unsigned char zero[4] = {0};
    cr_assert_eq(rsl_sftp_wire_frame(zero, 4, 1024, &body, why, sizeof(why)), -1);
}

Test(sftp_wire, iterators_refuse_garbage)
{
    unsigned char g[] = {0, 0, 0, 9, 'a'};
    rsl_sftp_str rest = {g, sizeof(g)}, k, v;
    cr_assert_eq(rsl_sftp_wire_pair_next(&rest, &k, &v), -1);
    rsl_sftp_name e;
    rest.p = g;
    rest.len = sizeof(g);
    cr_assert_eq(rsl_sftp_wire_name_next(&rest, &e), -1);
}

Test(sftp_wire, oversized_string_marks_the_buffer_bad)
{
    rsl_sftp_buf b = {0};
    rsl_sftp_wire_begin(&b, RSL_FXP_OPEN, 1);
    rsl_sftp_wire_put_str(&b, "", (size_t)1 << 33);
    rsl_sftp_wire_end(&b);
    cr_assert(b.bad);
    rsl_sftp_handle h = {.len = 300};
    rsl_sftp_buf c = {0};
    rsl_sftp_wire_close(&c, 1, &h);
    cr_assert(c.bad, "a handle over 256 bytes is never sent");
    rsl_sftp_buf_free(&b);
    rsl_sftp_buf_free(&c);
}

Test(sftp_wire, names_for_messages)
{
    cr_assert_str_eq(rsl_sftp_wire_type_name(RSL_FXP_FSETSTAT), "FSETSTAT");
    cr_assert_str_eq(rsl_sftp_wire_type_name(RSL_FXP_ATTRS), "ATTRS");
    cr_assert_str_eq(rsl_sftp_wire_type_name(RSL_FXP_EXTENDED_REPLY), "EXTENDED_REPLY");
    cr_assert_str_eq(rsl_sftp_wire_type_name(77), "unknown");
    cr_assert_str_eq(rsl_sftp_wire_status_name(RSL_FX_FAILURE), "FAILURE");
    cr_assert_str_eq(rsl_sftp_wire_status_name(RSL_FX_FILE_IS_A_DIRECTORY), "FILE_IS_A_DIRECTORY");
    cr_assert_str_eq(rsl_sftp_wire_status_name(999), "UNKNOWN");
}
