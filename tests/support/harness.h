/*
 * harness.h - helpers shared by the Criterion tests: temp trees, files, and
 * running the built binary (RSL_BIN) or a shell command with captured output.
 * Owns: nothing beyond what each call returns (the caller frees).
 */
#ifndef RSL_TEST_HARNESS_H
#define RSL_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A new empty directory under $TMPDIR (or /tmp); caller frees the string.
 * It is removed when the test's process exits (rslt_rm_at_exit). */
char *rslt_tmpdir(const char *tag);
/* Removes path (rm -rf) when the process that called this exits normally,
 * passed or failed: Criterion runs each test in its own process and ends it
 * with exit(), so what a test made is gone before the next one runs and a
 * whole suite never holds more than the tests running at once (the SFTP
 * tests' remote roots and big sources left 750 MB per suite run before).
 * A forked child that exits does not remove its parent's paths. Set
 * RSL_TEST_KEEP=1 to keep everything for a post-mortem. */
void rslt_rm_at_exit(const char *path);
/* Writes content to path (creating parent directories). */
void rslt_write(const char *path, const char *content);
/* Writes `size` pseudo-random incompressible bytes derived from seed. */
void rslt_write_random(const char *path, uint64_t size, unsigned seed);
/* Reads a whole file; NULL if absent. *len may be NULL. Caller frees. */
char *rslt_read(const char *path, size_t *len);
/* Size of a file, or -1 if absent. */
long long rslt_size(const char *path);
int rslt_exists(const char *path);
/* Runs `sh -c cmd` (printf-formatted), capturing stdout and stderr into
 * malloc'd strings (either pointer may be NULL to discard). Returns the exit
 * status, or 128+signal. */
int rslt_sh(char **out, char **err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Path of the built binary (RSL_BIN), of the source tree (RSL_SOURCE_DIR) and
 * of this module's fixture directory (RSL_FIXTURE_DIR). */
const char *rslt_bin(void);
const char *rslt_srcdir(void);
const char *rslt_fixture_dir(void);
/* Reads KEY=VALUE from $RSL_FIXTURE_DIR/env (written by fixture-setup.sh);
 * returns a malloc'd value or NULL. */
char *rslt_fixture_get(const char *key);
/* rm -rf */
void rslt_rmrf(const char *path);
/* Counts non-overlapping occurrences of needle in hay. */
int rslt_count(const char *hay, const char *needle);
/* Starts rsl-delayproxy (RSL_DELAYPROXY, which ctest sets) in front of
 * 127.0.0.1:target, adding delay_ms each way; *port: where it listens. It
 * dies with the test (and after 300 s). Returns its pid. */
pid_t rslt_delayproxy(int target, int delay_ms, int *port);
/* A new known_hosts file naming the host key in pubfile (an OpenSSH .pub)
 * for [127.0.0.1]:port, e.g. a proxy's port; the caller frees the path. */
char *rslt_known_hosts_for(const char *pubfile, int port);

#endif
