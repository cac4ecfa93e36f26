/*
 * tls.c - see tls.h.
 */
#include "tls.h"

#include <stddef.h>
#include <string.h>

const rsl_key rsl_tls_keys[RSL_TLS_NKEYS] = {
    {.name = "ca_file", .type = RSL_KEY_PATH, .off = offsetof(rsl_tls_cfg, ca_file)},
    {.name = "pinned_pubkey", .type = RSL_KEY_STR, .off = offsetof(rsl_tls_cfg, pinned_pubkey)},
    {.name = "tls_verify", .type = RSL_KEY_BOOL, .off = offsetof(rsl_tls_cfg, tls_verify)},
    {.name = "allow_insecure", .type = RSL_KEY_BOOL, .off = offsetof(rsl_tls_cfg, allow_insecure)},
};

void rsl_tls_cfg_init(rsl_tls_cfg *t)
{
    static const rsl_tls_cfg defaults = RSL_TLS_CFG_DEFAULTS;
    *t = defaults;
}

const char *rsl_tls_unverified(const rsl_tls_cfg *t)
{
    return t->tls_verify ? NULL : "tls_verify = no: the server's certificate is NOT verified";
}
