/*
 * keys.c - see keys.h.
 */
#include "keys.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

const rsl_key *rsl_keys_find(const rsl_key *keys, size_t n, const char *name, size_t *off)
{
    for (size_t i = 0; i < n; i++) {
        if (keys[i].type == RSL_KEY_GROUP) {
            size_t sub = 0;
            const rsl_key *k = rsl_keys_find(keys[i].group, keys[i].n_group, name, &sub);
            if (k != NULL) {
                if (off)
                    *off = keys[i].off + sub;
                return k;
            }
        } else if (strcmp(keys[i].name, name) == 0) {
            if (off)
                *off = keys[i].off;
            return &keys[i];
        }
    }
    return NULL;
}

int rsl_keys_parse_bool(const char *s)
{
    static const char *yes[] = {"yes", "true", "on", "1"}, *no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; s != NULL && i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return 1;
        if (strcasecmp(s, no[i]) == 0)
            return 0;
    }
    return -1;
}

int rsl_keys_parse_size(const char *s, uint64_t *out)
{
    if (s == NULL || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0)
        return -1;
    static const char units[] = "KMGT";
    unsigned shift = 0;
    const char *u = *end ? strchr(units, toupper((unsigned char)*end)) : NULL;
    if (u != NULL) {
        shift = 10u * (unsigned)(u - units + 1);
        end++;
    }
    if (strcasecmp(end, "") != 0 && strcasecmp(end, "B") != 0 && strcasecmp(end, "iB") != 0)
        return -1;
    if (shift && v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

char *rsl_keys_abspath(const char *base_dir, const char *p)
{
    char buf[PATH_MAX], cwd[PATH_MAX];
    int w;
    if (p[0] == '/') {
        w = snprintf(buf, sizeof(buf), "%s", p);
    } else if (p[0] == '~' && p[1] == '/') {
        const char *home = getenv("HOME");
        w = snprintf(buf, sizeof(buf), "%s%s", home ? home : "", p + 1);
    } else {
        const char *b = base_dir;
        if (b == NULL || b[0] != '/') {
            if (getcwd(cwd, sizeof(cwd)) == NULL)
                return NULL;
            if (b && strcmp(b, ".") != 0) {
                size_t l = strlen(cwd);
                if (snprintf(cwd + l, sizeof(cwd) - l, "/%s", b) >= (int)(sizeof(cwd) - l))
                    return NULL;
            }
            b = cwd;
        }
        w = snprintf(buf, sizeof(buf), "%s/%s", b, p);
    }
    if (w < 0 || (size_t)w >= sizeof(buf))
        return NULL;
    size_t n = (size_t)w;
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = '\0';
    return strdup(buf);
}

/* "a or b", "a, b or c" */
static void choices_text(const char *const *c, char *buf, size_t n)
{
    size_t used = 0, count = 0;
    while (c[count] != NULL)
        count++;
    buf[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        const char *sep = i == 0 ? "" : i + 1 == count ? " or " : ", ";
        int w = snprintf(buf + used, n - used, "%s%s", sep, c[i]);
        if (w < 0 || (size_t)w >= n - used)
            return;
        used += (size_t)w;
    }
}

/* Writes "NK"/"NM"/... or "N" for a size limit in a message. */
static void size_text(uint64_t v, char *buf, size_t n)
{
    static const char units[] = " KMGT";
    int u = 0;
    while (u < 4 && v >= 1024 && v % 1024 == 0) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, n, "%llu", (unsigned long long)v);
    else
        snprintf(buf, n, "%llu%c", (unsigned long long)v, units[u]);
}

static rsl_code set_string(const rsl_key *k, char **slot, const char *value, const char *base_dir,
                           rsl_err *err)
{
    if (value[0] == '\0' && k->type == RSL_KEY_PATH)
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "value is empty");
    char *v = k->type == RSL_KEY_PATH ? rsl_keys_abspath(base_dir, value) : strdup(value);
    if (v == NULL)
        return k->type == RSL_KEY_PATH
                   ? rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "path too long")
                   : rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    free(*slot);
    *slot = v;
    return RSL_OK;
}

static rsl_code set_size(const rsl_key *k, uint64_t *slot, const char *value, rsl_err *err)
{
    uint64_t v;
    char lo[32], hi[32];
    if (rsl_keys_parse_size(value, &v) != 0)
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                           "'%s' is not a size (e.g. 0, 512K, 100M, 2G)", value);
    size_text(k->min, lo, sizeof(lo));
    size_text(k->max, hi, sizeof(hi));
    if (v < k->min && k->max == 0)
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "must be at least %s", lo);
    if (v < k->min || (k->max != 0 && v > k->max))
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "'%s' is out of range (%s..%s)", value,
                           lo, hi);
    *slot = v;
    return RSL_OK;
}

rsl_code rsl_keys_set(const rsl_key *keys, size_t n, void *cfg, const char *name, const char *value,
                      const char *base_dir, rsl_err *err)
{
    size_t off = 0;
    const rsl_key *k = rsl_keys_find(keys, n, name, &off);
    if (k == NULL)
        return rsl_err_set(err, RSL_E_CONFIG_UNKNOWN_KEY, 0, "unknown key");
    void *field = (char *)cfg + off;
    switch (k->type) {
    case RSL_KEY_STR:
    case RSL_KEY_PATH:
        return set_string(k, (char **)field, value, base_dir, err);
    case RSL_KEY_BOOL: {
        int b = rsl_keys_parse_bool(value);
        if (b < 0)
            return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "'%s' is not yes or no", value);
        *(int *)field = b;
        return RSL_OK;
    }
    case RSL_KEY_SIZE:
        return set_size(k, (uint64_t *)field, value, err);
    case RSL_KEY_CHOICE:
        for (int i = 0; k->choices[i] != NULL; i++)
            if (strcasecmp(value, k->choices[i]) == 0) {
                *(int *)field = i;
                return RSL_OK;
            }
        char list[256];
        choices_text(k->choices, list, sizeof(list));
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "'%s' is not %s", value, list);
    case RSL_KEY_GROUP:
        break;
    }
    return rsl_err_set(err, RSL_E_INTERNAL, 0, "key table row of an unknown type");
}

void rsl_keys_secret_paths(const rsl_key *keys, size_t n, const void *cfg,
                           void (*cb)(void *ud, const char *key, const char *path), void *ud)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        const void *field = (const char *)cfg + keys[i].off;
        if (keys[i].type == RSL_KEY_GROUP)
            rsl_keys_secret_paths(keys[i].group, keys[i].n_group, field, cb, ud);
        else if (keys[i].type == RSL_KEY_PATH && keys[i].secret && *(char *const *)field != NULL)
            cb(ud, keys[i].name, *(char *const *)field);
    }
}

void rsl_keys_free(const rsl_key *keys, size_t n, void *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        void *field = (char *)cfg + keys[i].off;
        if (keys[i].type == RSL_KEY_GROUP) {
            rsl_keys_free(keys[i].group, keys[i].n_group, field);
        } else if (keys[i].type == RSL_KEY_STR || keys[i].type == RSL_KEY_PATH) {
            free(*(char **)field);
            *(char **)field = NULL;
        }
    }
}
