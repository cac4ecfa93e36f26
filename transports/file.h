/*
 * file.h - the file:// transport: a local or mounted directory as the remote.
 * The reference transport: every engine behaviour (temp name, resume at the
 * temp file's size, size check, atomic rename, mtime) is exercised through it.
 * Owns: only the directory it is pointed at. Knows nothing of SQLite.
 */
#ifndef RSL_TRANSPORT_FILE_H
#define RSL_TRANSPORT_FILE_H

#include "transport.h"

extern const rsl_transport_ops rsl_transport_file;

#endif
