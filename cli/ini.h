/*
 * ini.h - the one INI reader, for job files (cli/config.c) and the daemon's
 * JOBDIR/daemon.conf (cli/daemon_conf.c). It splits text into "[section]"
 * headers and "key = value" lines and hands each to a callback with its line
 * number; what a key means is the caller's business.
 *
 * The syntax, the same for every file:
 *   - "[name]" starts a section (spaces inside the brackets are trimmed);
 *   - "key = value": spaces around key and value are trimmed;
 *   - a comment starts with ';' or '#' at the start of a line or after
 *     whitespace (after "[name]" and after a value alike): "a#b" is a value,
 *     "a #b" is "a" and a comment;
 *   - a value in double quotes keeps ';', '#' and surrounding spaces; inside
 *     the quotes \" is a quote and \\ a backslash (any other backslash is
 *     kept as it is); only a comment may follow the closing quote;
 *   - blank lines, CR LF line ends.
 * Syntax errors are RSL_E_CONFIG_SYNTAX with the message
 * "FILE:LINE: what: reason".
 *
 * Owns: line splitting, comments, quoting, line numbers. Must not touch:
 * what keys exist or mean, the state db, the network.
 */
#ifndef RSL_CLI_INI_H
#define RSL_CLI_INI_H

#include <stddef.h>

#include "base/catalog.h"

/* Called once per "[section]" header (key and value NULL) and once per
 * "key = value" line (section NULL for a key before any header). Returns
 * RSL_OK to go on; any other code stops the parse and is returned by
 * rsl_ini_parse (the callback fills err). */
typedef rsl_code (*rsl_ini_fn)(void *ud, const char *section, const char *key, const char *value,
                               int line, rsl_err *err);

/* Parses text (NUL-terminated); path is used in messages only. Returns RSL_OK,
 * RSL_E_CONFIG_SYNTAX with err->msg "PATH:LINE: ...", RSL_E_NO_MEMORY, or
 * the callback's code. */
rsl_code rsl_ini_parse(const char *path, const char *text, rsl_ini_fn fn, void *ud, rsl_err *err);

/* Reads a whole INI file of at most max_bytes. Returns the text (the caller
 * frees it), or NULL with err set: RSL_E_CONFIG_UNREADABLE (err->native is
 * the errno, ENOENT for a missing file) or RSL_E_CONFIG_SYNTAX (too large,
 * NUL bytes). `what` names the file in messages ("job file"). */
char *rsl_ini_read(const char *path, size_t max_bytes, const char *what, rsl_err *err);

#endif
