/*
 * keys.h - a transport's own [remote] keys, declared as data: one row per key
 * (name, type, offset of its field in the transport's settings struct, range
 * or choices), and the one parser of their values.
 *
 * A transport lists its keys in a const table (rsl_transport_ops.keys); a
 * fragment shared by several transports (the TLS keys of tls.h) is one
 * RSL_KEY_GROUP row pointing at the fragment's table, placed at the offset
 * of the shared struct inside the transport's settings. The job file parser
 * hands every [remote] key it does not know itself to rsl_keys_set for the
 * destination's transport; nothing outside a transport names its keys.
 *
 * Field types: STR and PATH are `char *` (owned by the settings, freed by
 * rsl_keys_free), BOOL and CHOICE `int`, SIZE `uint64_t`.
 *
 * Owns: value syntax (yes/no, sizes with K/M/G/T, paths made absolute against
 * the job file's directory, "~/" expanded) and the reason a value is refused.
 * Must not touch: files (a PATH is not opened here), the network, the engine.
 */
#ifndef RSL_TRANSPORT_KEYS_H
#define RSL_TRANSPORT_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "base/catalog.h"

typedef enum rsl_key_type {
    RSL_KEY_STR,    /* any string */
    RSL_KEY_PATH,   /* a path; relative ones are made absolute against the job file */
    RSL_KEY_BOOL,   /* yes/no/true/false/on/off/1/0 */
    RSL_KEY_SIZE,   /* bytes with K/M/G/T suffixes, within [min, max] (max 0: no upper bound) */
    RSL_KEY_CHOICE, /* one of `choices`; the field gets its index */
    RSL_KEY_GROUP   /* not a key: the rows of `group` apply to the struct at `off` */
} rsl_key_type;

typedef struct rsl_key {
    const char *name; /* as written in the job file; NULL for a GROUP row */
    rsl_key_type type;
    size_t off;                  /* offsetof(settings struct, field) */
    uint64_t min, max;           /* SIZE: range */
    const char *const *choices;  /* CHOICE: NULL-terminated */
    const struct rsl_key *group; /* GROUP: the fragment's table */
    size_t n_group;              /* GROUP: its length */
    int secret;                  /* PATH: 1 when the file holds a secret (key, password,
                                    token): its permissions are checked */
} rsl_key;

/* The row for `name` in keys[0..n) (GROUP rows searched too), or NULL.
 * *off gets the field's offset from the start of the whole settings struct. */
const rsl_key *rsl_keys_find(const rsl_key *keys, size_t n, const char *name, size_t *off);

/* Parses `value` for key `name` and stores it in cfg. base_dir makes a
 * relative PATH absolute (NULL: the current directory). Returns RSL_OK,
 * RSL_E_CONFIG_UNKNOWN_KEY (not in the table) or RSL_E_CONFIG_BAD_VALUE; on
 * error err->msg is the reason alone ("'maybe' is not yes or no"): the caller
 * prefixes "FILE:LINE: key: ". */
rsl_code rsl_keys_set(const rsl_key *keys, size_t n, void *cfg, const char *name, const char *value,
                      const char *base_dir, rsl_err *err);

/* Calls cb(ud, key name, path) for every secret-file PATH set in cfg. */
void rsl_keys_secret_paths(const rsl_key *keys, size_t n, const void *cfg,
                           void (*cb)(void *ud, const char *key, const char *path), void *ud);

/* Frees every STR/PATH field of cfg named by the table and sets it to NULL. */
void rsl_keys_free(const rsl_key *keys, size_t n, void *cfg);

/* yes/no/true/false/on/off/1/0 (any case) -> 1/0; -1 if none of those. */
int rsl_keys_parse_bool(const char *s);
/* "0", "512", "64K", "100M", "2G", "1T" (binary multiples; optional "B"/"iB").
 * Returns 0, or -1 on a bad value or overflow. */
int rsl_keys_parse_size(const char *s, uint64_t *out);
/* p made absolute: kept when it starts with '/', "~/" expanded from $HOME,
 * else base_dir + "/" + p (base_dir relative or NULL: against the current
 * directory). Trailing '/' removed. Caller frees; NULL when too long. */
char *rsl_keys_abspath(const char *base_dir, const char *p);

#endif
