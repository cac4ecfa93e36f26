/*
 * links.h - symbolic links kept as links (symlinks = as-links), in the
 * files phase: a new link is one SYMLINK (when the remote already has an
 * item there: REMOVE, then SYMLINK again); a link whose target changed is
 * REMOVE, then SYMLINK. A link replacing an item of another type follows
 * the replacement of the directories phase. The manifest keeps the link
 * with its target (type 'l').
 *
 * Owns: LINK tasks. Must not touch: the workers, the transport.
 */
#ifndef RSL_LINKS_H
#define RSL_LINKS_H

#include "dispatch.h"

/* Files phase: a link item (spool index idx). */
void rsl_links_start(rsl_disp *d, const rsl_item *it, uint64_t idx);
/* A REMOVE or SYMLINK of a LINK task completed. */
void rsl_links_done(rsl_disp *d, rsl_task *t, int conn_err);

#endif
