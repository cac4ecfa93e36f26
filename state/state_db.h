/*
 * state_db.h - the inside of the state module, shared by its files
 * (state.c: the schema, migrations and the statements of every run;
 * state_moves.c: the manifest's subtrees and remote moves; state_create.c:
 * a new db file made whole before it takes its name). Nothing outside
 * state/ includes it.
 *
 * Owns: nothing; it exposes the connection and the error mapping.
 * Must not touch: what state.h's module must not.
 */
#ifndef RSL_STATE_DB_H
#define RSL_STATE_DB_H

#include <sqlite3.h>

#include "state.h"

/* The open connection. */
sqlite3 *rsl_state_db(rsl_state *st);
/* The SQLite error of the last call as a catalog code (STATE_WRITE when
 * the disk said no, STATE_CORRUPT, STATE_IO), err filled. */
rsl_code rsl_state_db_err(rsl_state *st, rsl_err *err, const char *what);
/* A manifest row from a statement that selected state.c's manifest columns
 * (path, skey, type, size, mtime_ns, pending, dev, ino, digest, target). */
void rsl_state_db_fill_row(sqlite3_stmt *s, rsl_manifest_row *row);

/* Makes the db file `path` if it does not exist, so that it appears whole or
 * not at all: build(side) makes the db under the side name PATH.creating
 * (under an exclusive lock; what an earlier, killed attempt left there is
 * discarded first), which is synced and renamed to path. RSL_OK at once when
 * path exists, also when another process made it meanwhile. */
typedef rsl_code (*rsl_state_build_fn)(const char *side, rsl_err *err);
rsl_code rsl_state_db_create(const char *path, rsl_state_build_fn build, rsl_err *err);

#define RSL_STATE_MAN_COLS "path, skey, type, size, mtime_ns, pending, dev, ino, digest, target"

#endif
