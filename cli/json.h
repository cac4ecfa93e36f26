/*
 * json.h - the one JSON writer of the CLI. Every record a sub-command prints
 * with --json goes through it, so all of them follow one schema
 * (docs/json.md):
 *   - one object per line; "type" names the record ("item", "run",
 *     "status", "check_step", "check", "verify_entry", "verify"); the record
 *     that closes a command's output starts with "summary":true;
 *   - times are RFC 3339 UTC with milliseconds, "2026-12-02T00:56:22.000Z";
 *   - a value that does not exist is null (never "-" or "");
 *   - strings are valid UTF-8: a byte that is not becomes U+FFFD, and a file
 *     name written with rsl_json_name gets a second member "<key>_bytes"
 *     holding its exact bytes in base64, present only when the name is not
 *     valid UTF-8; control characters (C0, DEL, C1) are \uXXXX escapes.
 *
 * Owns: the encoding. Must not touch: what the records mean (their members
 * are chosen by cli/output.c and the cmd_*.c files).
 */
#ifndef RSL_CLI_JSON_H
#define RSL_CLI_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RSL_JSON_MAX_DEPTH 8

typedef struct rsl_json {
    FILE *f;
    int depth;
    int count[RSL_JSON_MAX_DEPTH];  /* members written so far at each level */
    char close[RSL_JSON_MAX_DEPTH]; /* '}' or ']' for each open level */
} rsl_json;

/* Starts a record: '{' and "type":type. */
void rsl_json_begin(rsl_json *j, FILE *f, const char *type);
/* Starts a closing record: '{', "summary":true and "type":type. */
void rsl_json_begin_summary(rsl_json *j, FILE *f, const char *type);
/* Closes what is open and ends the line. */
void rsl_json_end(rsl_json *j);

/* Members of the object being written (key NULL: an element of an array). */
void rsl_json_str(rsl_json *j, const char *key, const char *s); /* s NULL: null */
/* A file name: "key":"name" with U+FFFD for invalid bytes, then
 * "key_bytes":"base64 of the raw bytes" when the name is not valid UTF-8. */
void rsl_json_name(rsl_json *j, const char *key, const char *s);
void rsl_json_int(rsl_json *j, const char *key, long long v);
void rsl_json_bool(rsl_json *j, const char *key, int v);
void rsl_json_null(rsl_json *j, const char *key);
/* A time in milliseconds since the epoch; <= 0 is null. */
void rsl_json_time(rsl_json *j, const char *key, int64_t ms);
/* Opens a nested object or array as member key; close with rsl_json_close. */
void rsl_json_object(rsl_json *j, const char *key);
void rsl_json_array(rsl_json *j, const char *key);
void rsl_json_close(rsl_json *j);

/* Pure parts, unit-tested: */
/* Writes s as a JSON string literal with its quotes (see above). */
void rsl_json_write_string(FILE *f, const char *s);
/* 1 when s is entirely well-formed UTF-8. */
int rsl_json_utf8_ok(const char *s);
/* "2026-12-02T00:56:22.000Z" into buf (n >= 25). Returns the length. */
size_t rsl_json_format_time(char *buf, size_t n, int64_t ms);
/* Standard base64 (RFC 4648, with padding) of in[0..len) into out (n >=
 * 4*ceil(len/3)+1). Returns the length. */
size_t rsl_json_base64(char *out, size_t n, const unsigned char *in, size_t len);

#endif
