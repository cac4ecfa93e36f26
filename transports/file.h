/*
 * file.h - the file:// transport: a local or mounted directory as the remote.
 * The reference transport: every engine behaviour (temp name, resume at the
 * temp file's size, size check, atomic rename, mtime) is exercised through it.
 * read and hash (verify) open the file beneath the root without following a
 * symlink (openat2 where the kernel has it) and hash it with OpenSSL: the
 * remote directory is local, so its "server-side" digest is computed here.
 * Owns: only the directory it is pointed at. Knows nothing of SQLite.
 */
#ifndef RSL_TRANSPORT_FILE_H
#define RSL_TRANSPORT_FILE_H

#include "transport.h"

extern const rsl_transport_ops rsl_transport_file;

#endif
