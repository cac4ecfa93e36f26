/* Tests for transports/keys (a transport's [remote] keys as data: lookup
 * through shared fragments, value parsing, refusals, freeing) and for the
 * built-in transports' tables through transport.h (which scheme owns a key,
 * defaults, the identity warning). No server. */
#include <criterion/criterion.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "transports/ftps.h"
#include "transports/https.h"
#include "transports/keys.h"
#include "transports/sftp.h"
#include "transports/tls.h"
#include "transports/transport.h"

typedef struct demo {
    char *name;
    rsl_tls_cfg tls;
    uint64_t size;
    int mode;
    char *path;
} demo;

static const char *const modes[] = {"a", "bee", "cee", NULL};
static const rsl_key demo_keys[] = {
    {.name = "name", .type = RSL_KEY_STR, .off = offsetof(demo, name)},
    {.type = RSL_KEY_GROUP,
     .off = offsetof(demo, tls),
     .group = rsl_tls_keys,
     .n_group = RSL_TLS_NKEYS},
    {.name = "size",
     .type = RSL_KEY_SIZE,
     .off = offsetof(demo, size),
     .min = 4096,
     .max = 1ull << 30},
    {.name = "mode", .type = RSL_KEY_CHOICE, .off = offsetof(demo, mode), .choices = modes},
    {.name = "path", .type = RSL_KEY_PATH, .off = offsetof(demo, path)},
};
#define N (sizeof(demo_keys) / sizeof(demo_keys[0]))

static rsl_code set(demo *d, const char *k, const char *v, rsl_err *err)
{
    return rsl_keys_set(demo_keys, N, d, k, v, "/etc/jobs", err);
}

Test(keys, values_land_in_the_struct_through_fragments)
{
    demo d = {0};
    rsl_err err;
    size_t off = 0;
    cr_assert_not_null(rsl_keys_find(demo_keys, N, "tls_verify", &off));
    cr_assert_eq(off, offsetof(demo, tls) + offsetof(rsl_tls_cfg, tls_verify));
    cr_assert_null(rsl_keys_find(demo_keys, N, "nope", NULL));
    cr_assert_eq(set(&d, "name", "x", &err), RSL_OK);
    cr_assert_eq(set(&d, "name", "y", &err), RSL_OK, "a second set replaces (no leak)");
    cr_assert_str_eq(d.name, "y");
    cr_assert_eq(set(&d, "ca_file", "ca.pem", &err), RSL_OK);
    cr_assert_str_eq(d.tls.ca_file, "/etc/jobs/ca.pem", "relative to the job file");
    cr_assert_eq(set(&d, "tls_verify", "No", &err), RSL_OK);
    cr_assert_eq(d.tls.tls_verify, 0);
    cr_assert_eq(set(&d, "size", "1M", &err), RSL_OK);
    cr_assert_eq(d.size, 1u << 20);
    cr_assert_eq(set(&d, "mode", "BEE", &err), RSL_OK);
    cr_assert_eq(d.mode, 1);
    cr_assert_eq(set(&d, "path", "/abs/dir/", &err), RSL_OK);
    cr_assert_str_eq(d.path, "/abs/dir", "trailing '/' removed");
    rsl_keys_free(demo_keys, N, &d);
    cr_assert_null(d.name);
    cr_assert_null(d.tls.ca_file);
    cr_assert_null(d.path);
}

Test(keys, refusals_say_why)
{
    demo d = {0};
    rsl_err err;
    cr_assert_eq(set(&d, "tls_verify", "maybe", &err), RSL_E_CONFIG_BAD_VALUE);
    cr_assert_str_eq(err.msg, "'maybe' is not yes or no");
    cr_assert_eq(set(&d, "size", "2K", &err), RSL_E_CONFIG_BAD_VALUE);
    cr_assert(strstr(err.msg, "4K") != NULL, "%s", err.msg);
    cr_assert_eq(set(&d, "size", "2G", &err), RSL_E_CONFIG_BAD_VALUE);
    cr_assert(strstr(err.msg, "out of range (4K..1G)") != NULL, "%s", err.msg);
    cr_assert_eq(set(&d, "size", "lots", &err), RSL_E_CONFIG_BAD_VALUE);
    cr_assert_eq(set(&d, "mode", "d", &err), RSL_E_CONFIG_BAD_VALUE);
    cr_assert_str_eq(err.msg, "'d' is not a, bee or cee");
    cr_assert_eq(set(&d, "path", "", &err), RSL_E_CONFIG_BAD_VALUE);
    cr_assert_eq(set(&d, "bogus", "1", &err), RSL_E_CONFIG_UNKNOWN_KEY);
    rsl_keys_free(demo_keys, N, &d);
}

Test(keys, value_syntax)
{
    uint64_t v;
    cr_assert_eq(rsl_keys_parse_size("512K", &v), 0);
    cr_assert_eq(v, 512 * 1024);
    cr_assert_eq(rsl_keys_parse_size("10MiB", &v), 0);
    cr_assert_eq(v, 10ull << 20);
    cr_assert_eq(rsl_keys_parse_size("7B", &v), 0);
    cr_assert_eq(v, 7);
    cr_assert_eq(rsl_keys_parse_size("1.5G", &v), -1);
    cr_assert_eq(rsl_keys_parse_size("99999999999999T", &v), -1);
    cr_assert_eq(rsl_keys_parse_bool("ON"), 1);
    cr_assert_eq(rsl_keys_parse_bool("0"), 0);
    cr_assert_eq(rsl_keys_parse_bool("y"), -1);
    char *p = rsl_keys_abspath("/a/b", "c/");
    cr_assert_str_eq(p, "/a/b/c");
    free(p);
    setenv("HOME", "/home/u", 1);
    p = rsl_keys_abspath("/a", "~/k");
    cr_assert_str_eq(p, "/home/u/k");
    free(p);
}

Test(keys, each_key_belongs_to_its_schemes)
{
    char owners[128];
    cr_assert_eq(rsl_scheme_key_owners("identity_file", owners, sizeof(owners)), 1);
    cr_assert_str_eq(owners, "sftp");
    cr_assert_eq(rsl_scheme_key_owners("tls_verify", owners, sizeof(owners)), 4,
                 "declared once, shared by ftps and https");
    cr_assert_str_eq(owners, "ftps, ftp, https, http");
    cr_assert_eq(rsl_scheme_key_owners("ftps_mode", owners, sizeof(owners)), 2);
    cr_assert_eq(rsl_scheme_key_owners("chunk_size", owners, sizeof(owners)), 2);
    cr_assert_str_eq(owners, "https, http");
    cr_assert_eq(rsl_scheme_key_owners("max_name_length", owners, sizeof(owners)), 0,
                 "the job's keys are no transport's");
}

Test(keys, transport_settings_have_their_defaults_and_warnings)
{
    rsl_err err;
    void *cfg = NULL;
    const rsl_scheme *s = rsl_scheme_find("sftp");
    cr_assert_eq(rsl_transport_cfg_new(s->ops, &cfg, &err), RSL_OK);
    rsl_sftp_cfg *sc = cfg;
    cr_assert_eq(sc->strict_host_key_checking, 1);
    cr_assert_eq(sc->use_agent, 1);
    cr_assert_null(rsl_scheme_unverified(s, cfg));
    cr_assert_eq(rsl_transport_cfg_set(s->ops, cfg, "strict_host_key_checking", "no", NULL, &err),
                 RSL_OK);
    cr_assert(strstr(rsl_scheme_unverified(s, cfg), "NOT verified") != NULL);
    cr_assert_eq(rsl_transport_cfg_set(s->ops, cfg, "known_hosts", "kh", "/etc", &err), RSL_OK);
    cr_assert_str_eq(sc->known_hosts, "/etc/kh");
    cr_assert_eq(rsl_transport_cfg_set(s->ops, cfg, "tls_verify", "no", NULL, &err),
                 RSL_E_CONFIG_UNKNOWN_KEY, "not an sftp key");
    rsl_transport_cfg_free(s->ops, cfg);

    s = rsl_scheme_find("https");
    cr_assert_eq(rsl_transport_cfg_new(s->ops, &cfg, &err), RSL_OK);
    rsl_https_cfg *hc = cfg;
    cr_assert_eq(hc->chunk_size, RSL_HTTPS_DEFAULT_CHUNK);
    cr_assert_eq(hc->tls.tls_verify, 1);
    cr_assert_eq(rsl_transport_cfg_set(s->ops, cfg, "chunk_size", "1K", NULL, &err),
                 RSL_E_CONFIG_BAD_VALUE);
    cr_assert_eq(rsl_transport_cfg_set(s->ops, cfg, "tls_verify", "no", NULL, &err), RSL_OK);
    cr_assert(strstr(rsl_scheme_unverified(s, cfg), "tls_verify = no") != NULL);
    rsl_transport_cfg_free(s->ops, cfg);

    s = rsl_scheme_find("ftps");
    cr_assert_eq(rsl_transport_cfg_new(s->ops, &cfg, &err), RSL_OK);
    cr_assert_eq(rsl_transport_cfg_set(s->ops, cfg, "ftps_mode", "implicit", NULL, &err), RSL_OK);
    cr_assert_eq(((rsl_ftps_cfg *)cfg)->implicit, 1);
    rsl_transport_cfg_free(s->ops, cfg);

    s = rsl_scheme_find("file");
    cr_assert_eq(rsl_transport_cfg_new(s->ops, &cfg, &err), RSL_OK);
    cr_assert_null(cfg, "file:// has no settings");
    cr_assert_null(rsl_scheme_unverified(s, NULL));
}
