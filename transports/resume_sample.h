/*
 * resume_sample.h - the blocks a resumed upload reads back before it keeps
 * a prefix of a temp file left by an earlier attempt (file:// and ftps://;
 * the pipelined runs of sftp and https sample in their own state machines):
 * the whole prefix when it is small, otherwise blocks spread evenly over it,
 * the first at byte 0 and the last ending at its end. A prefix is kept only
 * up to the end of the last block that matched before the first one that
 * differs, so what is kept was checked over its whole length, never only at
 * its tail.
 *
 * Owns: the layout and the rule. Must not touch: connections, files (the
 * caller reads the remote bytes; the local ones come from src->pread).
 */
#ifndef RSL_RESUME_SAMPLE_H
#define RSL_RESUME_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "transport.h"

/* Bytes per sampled block. */
#define RSL_RESUME_BLOCK (64u << 10)

typedef struct rsl_resume_block {
    uint64_t off;
    size_t len;
} rsl_resume_block;

/* The blocks to read in a prefix of `have` bytes (> 0): contiguous blocks
 * covering all of it when have <= n * RSL_RESUME_BLOCK, else n blocks (n >=
 * 2) spread from 0 to the end. out has room for n; returns how many. */
size_t rsl_resume_blocks(uint64_t have, size_t n, rsl_resume_block *out);
/* Compares remote bytes `got` (len bytes read at b->off) with the source's
 * (src->pread). Returns 1 same, 0 different (or short), -1 when the source
 * failed (err set by src). scratch has room for b->len bytes. */
int rsl_resume_compare(rsl_source *src, const rsl_resume_block *b, const void *got, size_t len,
                       unsigned char *scratch, rsl_err *err);
/* What is kept when block i (of blocks[], in order) is the first that
 * differs: the end of block i-1, or 0. */
uint64_t rsl_resume_kept(const rsl_resume_block *blocks, size_t i);

#endif
