/*
 * fake_transport.h - an in-memory remote for engine tests, registered in the
 * scheme table as "fake" (as libgit2's tests register a dummy transport), so
 * rsl_sync_run() can run in-process and tests can assert on what the engine
 * asked the remote to do: call counts, upload offsets, reconnects.
 *
 * It implements every rsl_transport_ops call faithfully (directories, temp
 * files with their sizes, rename replacing the final name, mtime, list, read,
 * and hash in an algorithm the test picks) and
 * injects faults on cue: the Nth call of an op fails, every call for a path
 * fails, connect fails K times, a connection is cut after N upload bytes
 * (the bytes up to the cut stay in the temp file, as on a real server; the
 * call in flight and every later call on that connection return
 * CONNECTION_LOST); and it can claim a capability it does not honour (a
 * resume that forgets, restarts or zero-fills the kept part, an mtime it
 * ignores, a checksum that lies), for check's probes and verify --checksum.
 *
 * Ranges: with RSL_CAP_WRITE_AT set (rslt_fake_set_caps) the engine sends
 * big files as PUT_RANGE ops and one FINISH; the fake writes each byte at
 * its offset (serial write_range, or run()), cuts connections the same
 * way, and compares the whole range for a check.
 *
 * Pipelined: rslt_fake_pipeline(N) registers a table with a run()
 * (transports/xfer.h) that takes up to N ops, moves them on a step at a time
 * in a pseudo-random order (a PUT's bytes go a chunk per step), so they
 * complete out of order, with the same faults. A connection that fails
 * completes every op it had taken with the session code, as xfer.h asks.
 * Without it the engine goes through rsl_xfer_run_serial().
 *
 * Owns: one process-wide fake remote (Criterion runs each test in its own
 * process). Thread-safe: the engine's workers call it concurrently.
 * Must not touch: the real file system or network.
 *
 * Paths: the destination is RSLT_FAKE_URL, whose root is RSLT_FAKE_ROOT.
 * Test-side helpers take paths relative to that root ("a/b.txt"), as the
 * engine passes them to the transport.
 */
#ifndef RSL_TEST_FAKE_TRANSPORT_H
#define RSL_TEST_FAKE_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "base/catalog.h"

#define RSLT_FAKE_URL "fake://mem/root"
#define RSLT_FAKE_ROOT "/root"

typedef enum rslt_fake_op {
    RSLT_FAKE_CONNECT,
    RSLT_FAKE_DISCONNECT, /* counted for real connections only (not NULL) */
    RSLT_FAKE_CAPS_OF,
    RSLT_FAKE_DESCRIBE,
    RSLT_FAKE_STAT,
    RSLT_FAKE_MKDIR,
    RSLT_FAKE_RESUME_OFFSET,
    RSLT_FAKE_UPLOAD,
    RSLT_FAKE_FINISH,
    RSLT_FAKE_REMOVE,
    RSLT_FAKE_LIST,
    RSLT_FAKE_READ,
    RSLT_FAKE_HASH,
    RSLT_FAKE_WRITE_RANGE, /* a PUT_RANGE that writes (write_range, or run()) */
    RSLT_FAKE_CHECK_RANGE, /* a PUT_RANGE that checks a range written before */
    RSLT_FAKE_NOPS
} rslt_fake_op;

/* Registers the "fake" scheme and starts an empty remote holding only the
 * root directory; counters, log and faults cleared; caps RESUME,
 * ATOMIC_RENAME and SET_MTIME. Aborts if the scheme cannot be registered. */
void rslt_fake_setup(void);
/* Unregisters the scheme and frees the remote. */
void rslt_fake_teardown(void);
/* Clears every fault rule (the tree and counters stay). */
void rslt_fake_clear_faults(void);
/* Clears the counters and the call log (the tree and faults stay). */
void rslt_fake_clear_counts(void);

/* ---- the remote tree (test side; rel to the root) ---- */
void rslt_fake_mkdir(const char *rel);
void rslt_fake_put(const char *rel, const void *data, size_t len);
/* The content of file rel (caller frees), or NULL when absent or a directory. */
char *rslt_fake_get(const char *rel, size_t *len);
/* 'f' for a file, 'd' for a directory, 0 when absent. */
int rslt_fake_type(const char *rel);
/* Size of file rel, or -1. */
long long rslt_fake_size(const char *rel);
/* mtime of rel (seconds), or -1. */
int64_t rslt_fake_mtime(const char *rel);

/* ---- counters and the call log ---- */
/* Calls of op since setup or rslt_fake_clear_counts. */
int rslt_fake_calls(rslt_fake_op op);
/* ... whose path argument is exactly rel (finish: its temp or final name). */
int rslt_fake_calls_for(rslt_fake_op op, const char *rel);
/* Connections open now (connected and not yet disconnected). */
int rslt_fake_open_connections(void);
/* Times a connect found no "fake:probed" fact in the engine's server-facts
 * cache (rsl_remote_opts.cache_get) and stored one, as https stores what it
 * learnt about partial PUT. */
int rslt_fake_probes(void);
/* The paths the last connection got when it asked to stat early
 * (rsl_remote_opts.early_stat, asked at its first op), one per line (the
 * root is an empty line); "" when none asked since rslt_fake_clear_counts.
 * A copy the caller frees. */
char *rslt_fake_early(void);

typedef struct rslt_fake_upload {
    char path[512]; /* the temp name */
    uint64_t offset, total;
    int conn;                   /* connection number, 1 for the first connect */
    int64_t start_seq, end_seq; /* on the clock of rslt_fake_seq_start; end 0: it failed */
} rslt_fake_upload;

/* Copies the upload log (oldest first, at most max entries); returns how
 * many uploads were made. */
size_t rslt_fake_uploads(rslt_fake_upload *out, size_t max);
/* The same for ranges written (RSLT_FAKE_WRITE_RANGE: offset and total are
 * the range's start and end) or checked (check = 1: CHECK_RANGE). */
size_t rslt_fake_ranges(int check, rslt_fake_upload *out, size_t max);
/* Overwrites byte off of file rel with b (a temp damaged on the server). */
void rslt_fake_poke(const char *rel, uint64_t off, unsigned char b);

/* ---- behaviour ---- */
/* What caps_of returns (RSL_CAP_*). Without RSL_CAP_RESUME, resume_offset
 * always says 0, as a server that cannot append. */
void rslt_fake_set_caps(unsigned caps);
/* What the transport says it can ever do before a connection (ops->caps,
 * which the engine sizes its connections ahead with); reset by setup. */
void rslt_fake_set_static_caps(unsigned caps);
/* The round trip link_rtt_us() reports (-1, the default: unknown, as a
 * transport that cannot tell), and how often it was asked. */
void rslt_fake_set_rtt(long us);
int rslt_fake_rtt_calls(void);
/* The nth call of op (1-based, counted like rslt_fake_calls) fails with code. */
void rslt_fake_fail_nth(rslt_fake_op op, int nth, rsl_code code);
/* Every call of op for item rel fails with code: the call's path is rel or
 * rel followed by the temp suffix (finish: either name). */
void rslt_fake_fail_path(rslt_fake_op op, const char *rel, rsl_code code);
/* Every call of op fails with code. */
void rslt_fake_fail_every(rslt_fake_op op, rsl_code code);
/* The next `times` connects fail with code (times < 0: every one). */
void rslt_fake_fail_connect(int times, rsl_code code);
/* A connection is cut once it has carried `bytes` upload bytes; at most
 * `times` connections are cut (times < 0: every one). */
void rslt_fake_cut_after(uint64_t bytes, int times);
/* Called at the start of every op, outside the fake's lock, from the
 * engine's thread making the call (rel: the path argument, "" if none). */
void rslt_fake_on_call(void (*fn)(void *ud, rslt_fake_op op, const char *rel), void *ud);

/* ---- the pipelined path ---- */
/* window > 0: the transport has a run() carrying up to window ops per
 * connection; 0: no run() (the default after rslt_fake_setup). Call after
 * rslt_fake_setup, before the run. */
void rslt_fake_pipeline(int window);
/* The most ops one connection had taken and not done (since setup or
 * rslt_fake_clear_counts). */
int rslt_fake_max_in_flight(void);
/* Ops that completed while one taken earlier on their connection was still
 * in flight. */
int rslt_fake_out_of_order(void);
/* On one clock for every call: when the first call of op for rel started,
 * and when the last successful one ended (a PUT's UPLOAD: its last byte
 * stored); -1 when there is none. */
int64_t rslt_fake_seq_start(rslt_fake_op op, const char *rel);
int64_t rslt_fake_seq_end(rslt_fake_op op, const char *rel);
/* The next run() completes nothing until it has taken n ops (it polls the
 * feed without blocking, for at most 30 s): proof that the engine fed n ops
 * without waiting for any to complete. rslt_fake_hold_reached says whether
 * it got them. */
void rslt_fake_hold(int n);
int rslt_fake_hold_reached(void);
/* Every item of the remote tree (the root excluded), type 'f' or 'd'. */
void rslt_fake_foreach(void (*cb)(void *ud, const char *rel, int type), void *ud);
/* ---- read, hash, and capabilities that lie (verify and check) ---- */
/* read() streams a file's bytes. hash() gives the digest in algorithm alg
 * ("sha256", "sha512", "sha1", "md5"; NULL, the default: the server offers
 * none, RSL_E_CHECKSUM_UNAVAILABLE), or none when the caller wants another. */
void rslt_fake_set_hash(const char *alg);
/* 1: hash() answers the digest of other bytes (a checksum that lies). */
void rslt_fake_hash_lies(int on);

/* A server that claims RSL_CAP_RESUME while its resume fails. */
typedef enum rslt_fake_resume {
    RSLT_FAKE_RESUME_WORKS = 0,
    RSLT_FAKE_RESUME_FORGETS,  /* resume_offset always says 0 (the temp is never kept) */
    RSLT_FAKE_RESUME_RESTARTS, /* an upload at an offset drops the kept bytes first */
    RSLT_FAKE_RESUME_ZEROFILLS /* an upload at an offset zero-fills the kept bytes
                                  (a write cache that lost them, as rclone's did) */
} rslt_fake_resume;
void rslt_fake_resume_fault(rslt_fake_resume f);
/* 1: finish() ignores the mtime even when RSL_CAP_SET_MTIME is claimed. */
void rslt_fake_ignore_mtime(int on);

#endif
