/*
 * https_put.h - the PUT operation of the https transport as non-blocking
 * steps (see https_ops.h for the requests it makes): resume check, the
 * bytes (whole, or Content-Range chunks), size check, MOVE into place; a
 * 413 lowers the chunk size (kept as a server fact, https_probe.h), a
 * contradicted partial-PUT fact is probed again and the upload restarts as
 * a whole-file PUT. Internal to the https transport.
 *
 * Owns: the PUT's position in the source (bytes below it come back through
 * pread when a request is sent again). Must not touch: the feed, the engine.
 */
#ifndef RSL_HTTPS_PUT_H
#define RSL_HTTPS_PUT_H

#include "https_ops.h"

/* Starts h (a PUT) at its first step. */
void rsl_https_put_begin(rsl_https_op *h);
/* Starts h (an APPEND: the tail written in place with partial PUT). */
void rsl_https_append_begin(rsl_https_op *h);
/* Runs h's next step (h->step >= RSL_HTTPS_PUT_STEPS; h->io is the request
 * that answered, or NULL after a stat). */
void rsl_https_put_step(rsl_https_op *h);

#endif
