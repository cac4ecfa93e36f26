/*
 * ftplist.h - parsers of what an FTP server lists: MLSD lines (RFC 3659
 * facts), Unix `ls -l` style LIST lines, and the YYYYMMDDHHMMSS times of MDTM
 * and MLSD. Pure functions over untrusted text: bounded by the line they are
 * given, no allocation. Every numeric field is range-checked (year
 * 1900-9999, month, day 1-31, hour 0-23, minute 0-59, second 0-60, size up
 * to 2^64-1, digits only): a line with a field out of range is rejected
 * (skipped), never wrapped or overflowed.
 *
 * Owns: nothing (the names returned point into the caller's line). Must not
 * touch: the network, libcurl, the connection.
 */
#ifndef RSL_TRANSPORT_FTPLIST_H
#define RSL_TRANSPORT_FTPLIST_H

#include <stdint.h>
#include <time.h>

#include "transport.h"

/* One MLSD line "fact=v;fact=v; name" (modified in place; also the fact
 * line of an MLST reply, without its leading space). Returns 1 with *name
 * and *st set for a file or directory, 0 to skip the line (cdir, pdir,
 * links, malformed, a size or modify fact out of range). */
int rsl_ftplist_mlsd(char *line, const char **name, rsl_rstat *st);

/* One Unix LIST line "drwxr-xr-x 2 u g 4096 Nov 22 02:33 name" (modified in
 * place). Returns 1 with *name and *st set for a file or directory, 0 to skip
 * ("total N", links, devices, malformed). A "Mon DD HH:MM" date is placed in
 * the year before `now` when it would otherwise lie more than a day after
 * it; st->mtime has only minute (or day) precision. */
int rsl_ftplist_unix(char *line, const char **name, rsl_rstat *st, time_t now);

/* "YYYYMMDDHHMMSS[.sss]" (UTC) -> seconds since the epoch, -1 if malformed
 * or a field is out of range (month 13, hour 24...). */
int64_t rsl_ftplist_time(const char *s);

#endif
