/*
 * validate.c - remote name/length/size rules. See validate.h.
 */
#include "validate.h"

#include <stdio.h>
#include <string.h>

int rsl_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

void rsl_fmt_bytes(char *buf, size_t n, uint64_t v)
{
    static const char *units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (v < 1024) {
        snprintf(buf, n, "%llu bytes", (unsigned long long)v);
        return;
    }
    double d = (double)v;
    int u = -1;
    while (d >= 1024 && u < 3) {
        d /= 1024;
        u++;
    }
    snprintf(buf, n, "%.1f %s (%llu bytes)", d, units[u], (unsigned long long)v);
}

/* Escapes a byte for a message: printable ASCII as is, else \xNN. */
static void show_byte(char *buf, size_t n, unsigned char c)
{
    if (c == '\r')
        snprintf(buf, n, "CR (\\r)");
    else if (c == '\n')
        snprintf(buf, n, "LF (\\n)");
    else if (c == '\t')
        snprintf(buf, n, "TAB (\\t)");
    else if (c < 0x20 || c == 0x7F)
        snprintf(buf, n, "control byte \\x%02X", c);
    else
        snprintf(buf, n, "'%c'", c);
}

/* max_path_length counts the absolute remote path, as the servers do: the
 * remote root, '/', the item's path and, for a file, the temp suffix it is
 * uploaded under first. The message names each part and its length. */
static rsl_code check_path_length(const rsl_limits *l, const char *path, int is_dir, size_t sl,
                                  rsl_err *err)
{
    const char *root = l->remote_root ? l->remote_root : "";
    size_t rl = l->remote_root_len, il = strlen(path);
    size_t sep = rl == 1 && root[0] == '/' ? 0 : 1; /* the root "/" needs no second '/' */
    size_t pl = rl + sep + il + (is_dir ? 0 : sl);
    if ((long)pl <= l->max_path_length)
        return RSL_OK;
    char suffix[128] = "";
    if (!is_dir)
        snprintf(suffix, sizeof(suffix), " + temp suffix '%s' (%zu)", l->temp_suffix, sl);
    return rsl_err_set(err, RSL_E_PATH_TOO_LONG, (long)pl,
                       "the absolute remote path is %zu bytes: remote root '%s' (%zu)%s + "
                       "item path (%zu)%s (rule: max_path_length = %ld, counted on the absolute "
                       "remote path%s)",
                       pl, root, rl, sep ? " + '/' (1)" : "", il, suffix, l->max_path_length,
                       is_dir ? "" : " with the temp suffix");
}

rsl_code rsl_validate(const rsl_limits *l, const char *path, int is_dir, uint64_t size,
                      rsl_err *err)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    size_t nl = strlen(name);
    if (!rsl_utf8_valid((const unsigned char *)name, nl))
        return rsl_err_set(err, RSL_E_NAME_INVALID_UTF8, 0,
                           "'%s': name is not valid UTF-8 (rule: names must be UTF-8)", path);
    for (size_t i = 0; i < nl; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7F) {
            char b[32];
            show_byte(b, sizeof(b), c);
            return rsl_err_set(err, RSL_E_NAME_CONTROL_CHAR, c,
                               "name contains %s at byte %zu (rule: no control characters)", b,
                               i + 1);
        }
    }
    if (l->forbidden_chars && l->forbidden_chars[0]) {
        for (size_t i = 0; i < nl; i++) {
            if (strchr(l->forbidden_chars, name[i]) != NULL) {
                char b[32];
                show_byte(b, sizeof(b), (unsigned char)name[i]);
                return rsl_err_set(err, RSL_E_NAME_FORBIDDEN_CHAR, (unsigned char)name[i],
                                   "name contains %s at byte %zu (rule: forbidden_chars = %s)", b,
                                   i + 1, l->forbidden_chars);
            }
        }
    }
    if (l->max_name_length > 0 && (long)nl > l->max_name_length)
        return rsl_err_set(err, RSL_E_NAME_TOO_LONG, (long)nl,
                           "name is %zu bytes (rule: max_name_length = %ld)", nl,
                           l->max_name_length);
    size_t sl = l->temp_suffix ? strlen(l->temp_suffix) : 0;
    if (!is_dir && sl > 0 && nl >= sl && strcmp(name + nl - sl, l->temp_suffix) == 0)
        return rsl_err_set(err, RSL_E_NAME_RESERVED, 0,
                           "name ends with the temp suffix '%s' (rule: temp_suffix is reserved)",
                           l->temp_suffix);
    if (l->max_path_length > 0) {
        rsl_code rc = check_path_length(l, path, is_dir, sl, err);
        if (rc != RSL_OK)
            return rc;
    }
    if (!is_dir) {
        if (l->max_file_size > 0 && size > l->max_file_size) {
            char a[64], b[64];
            rsl_fmt_bytes(a, sizeof(a), size);
            rsl_fmt_bytes(b, sizeof(b), l->max_file_size);
            return rsl_err_set(err, RSL_E_FILE_TOO_LARGE, 0,
                               "file is %s (rule: max_file_size = %s)", a, b);
        }
        if (size == 0 && !l->allow_empty_files)
            return rsl_err_set(err, RSL_E_FILE_EMPTY, 0,
                               "file is empty (rule: allow_empty_files = no)");
    }
    return RSL_OK;
}
