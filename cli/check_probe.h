/*
 * check_probe.h - the probes behind `check`'s capability steps. A step
 * reports what a probe did, never what the transport's capability bits
 * claim: with a probe file and a second temp file beside it, each step does
 * what a run (or verify) would do and looks at the result:
 *
 *   remote root writable  upload N bytes to <probe><temp_suffix>
 *   rename supported      finish it to <probe>, then upload and finish again
 *                         over the existing <probe>; stat the size
 *   mtime set             (RSL_CAP_SET_MTIME) that finish set an mtime: stat it back
 *   resume supported      (RSL_CAP_RESUME) write half of a second temp file,
 *                         resume_offset, continue from that offset, stat the
 *                         size, read the bytes back where the transport can
 *   permission bits       (RSL_CAP_SET_MODE) the probe was sent with mode 0600:
 *                         read back where the remote is a local directory
 *                         (file://), "claimed, not verifiable" elsewhere; a
 *                         transport without it (FTPS, WebDAV) is named
 *   server checksum       hash() of the probe equals its digest computed here
 *   read back             read() of the probe returns its bytes
 *
 * A claimed capability whose probe fails is FAIL with the fix. Everything
 * the probes wrote is removed at the end, after a failure too ("probe
 * removed" fails when something could not be).
 *
 * Owns: the probe files and the verdicts. Must not touch: the state db,
 * anything on the remote but its own probe files, the terminal (verdicts go
 * to the caller's report callback).
 */
#ifndef RSL_CLI_CHECK_PROBE_H
#define RSL_CLI_CHECK_PROBE_H

#include "transports/transport.h"

/* The step names, in the order they are reported. */
#define RSL_PROBE_STEP_WRITABLE "remote root writable"
#define RSL_PROBE_STEP_RENAME "rename supported"
#define RSL_PROBE_STEP_MTIME "mtime set"
#define RSL_PROBE_STEP_RESUME "resume supported"
#define RSL_PROBE_STEP_MODE "permission bits"
#define RSL_PROBE_STEP_CHECKSUM "server checksum"
#define RSL_PROBE_STEP_READ "read back"
#define RSL_PROBE_NSTEPS 7

/* Verdicts, in the order of cmd_check.c's statuses. */
enum { RSL_PROBE_PASS, RSL_PROBE_FAIL, RSL_PROBE_WARN, RSL_PROBE_SKIP };

/* One verdict: status, the step's name, what was found, the fix (may be NULL). */
typedef void (*rsl_probe_report)(void *ud, int status, const char *step, const char *detail,
                                 const char *fix);

typedef struct rsl_probe_env {
    const rsl_transport_ops *ops;
    rsl_conn *conn; /* connected for writing */
    const char *temp_suffix;
    /* file:// only: the remote root as a local directory, to read the
     * permission bits back; NULL elsewhere */
    const char *local_root;
    int perms; /* the job's perms: a mode, RSL_PERMS_SOURCE or RSL_PERMS_SERVER */
    rsl_probe_report report;
    void *ud;
} rsl_probe_env;

/* Runs the probes, reporting every step in order. Returns 0 when every step
 * was reported, or k > 0 when only the first k were (the probe could not be
 * written: the caller reports the remaining steps as skipped). The probe
 * files are removed either way. */
int rsl_probe_run(const rsl_probe_env *env);

#endif
