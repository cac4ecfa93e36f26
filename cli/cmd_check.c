/*
 * cmd_check.c - `check JOB.conf`: walks an operator through every step a run
 * depends on, each reported PASS / FAIL (with the catalog's remediation) /
 * WARN / SKIP: config valid, source readable, DNS, TCP connect, trust (TLS
 * certificate or SSH host key) and authentication (the transport's connect),
 * remote root exists, then the capability steps, each proven with probe files
 * (cli/check_probe.h: writable, rename over an existing file, mtime, resume
 * at an offset, permission bits, server checksum, read back; all removed).
 *
 * Owns: the step list and its output. Must not touch: the state db (a check
 * changes nothing but the probe file, which it removes).
 * Exit: 0 when no step failed (WARN does not fail unless --strict), 1 when
 * the job file is invalid, 5 when another step failed.
 */
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "cli/check_probe.h"
#include "cli/commands.h"
#include "cli/config.h"
#include "cli/netcheck.h"
#include "cli/output.h"
#include "engine/remote.h"
#include "transports/transport.h"

typedef struct check_ui {
    int json;
    int pass, fail, warn, skip;
} check_ui;

enum { ST_PASS, ST_FAIL, ST_WARN, ST_SKIP };

/* One step's verdict; fix may be NULL. */
static void step(check_ui *u, int status, const char *name, const char *detail, const char *fix)
{
    static const char *const tags[] = {"PASS", "FAIL", "WARN", "SKIP"};
    static const char *const lower[] = {"pass", "fail", "warn", "skip"};
    int *counters[] = {&u->pass, &u->fail, &u->warn, &u->skip};
    (*counters[status])++;
    if (u->json) {
        rsl_json j;
        rsl_json_begin(&j, stdout, "check_step");
        rsl_json_str(&j, "step", name);
        rsl_json_str(&j, "status", lower[status]);
        rsl_json_str(&j, "detail", detail && *detail ? detail : NULL);
        rsl_json_str(&j, "fix", fix);
        rsl_json_end(&j);
        return;
    }
    if (detail && *detail)
        rsl_out_line(stdout, "[%s] %s: %s", tags[status], name, detail);
    else
        printf("[%s] %s\n", tags[status], name);
    if (fix)
        rsl_out_line(stdout, "       fix: %s", fix);
}

static void step_err(check_ui *u, const char *name, const rsl_err *e)
{
    const rsl_catalog_entry *ce = rsl_catalog_get(e->code);
    char detail[700];
    snprintf(detail, sizeof(detail), "%s (%s %d)", e->msg, rsl_code_name(e->code), e->code);
    step(u, ST_FAIL, name, detail, ce ? ce->remediation : NULL);
}

static const char *fix_of(rsl_code c)
{
    const rsl_catalog_entry *ce = rsl_catalog_get(c);
    return ce ? ce->remediation : NULL;
}

static void log_note(void *ud, int level, const char *msg)
{
    (void)ud;
    if (level >= RSL_LOG_WARN)
        rsl_out_line(stderr, "rsyncd-lite check: warning: %s", msg);
}

static const char check_usage[] =
    "usage: rsyncd-lite check JOB.conf [--json] [--strict]\n"
    "  Checks, step by step, everything a run needs: config valid, source readable, DNS,\n"
    "  TCP connect, TLS certificate / SSH host key, authentication, remote root exists;\n"
    "  then, with probe files it removes again, what the server really does: remote root\n"
    "  writable, rename supported (over an existing file), mtime set, resume supported\n"
    "  (continued at an offset), permission bits, server checksum, read back.\n"
    "  Each step: PASS, FAIL (with the fix), WARN or SKIP.\n"
    "  --json    one JSON object per step, then a summary (docs/json.md: \"check_step\")\n"
    "  --strict  a WARN (e.g. no resume support) fails the check too\n"
    "exit: 0 every step passed, 1 the job file is invalid, 5 a step failed\n";

/* The steps after "source readable"; a failed step skips the ones after it. */
static const char *const later[] = {"DNS",
                                    "TCP connect",
                                    "trust (TLS certificate / SSH host key)",
                                    "authentication",
                                    "remote root exists",
                                    RSL_PROBE_STEP_WRITABLE,
                                    RSL_PROBE_STEP_RENAME,
                                    RSL_PROBE_STEP_MTIME,
                                    RSL_PROBE_STEP_RESUME,
                                    RSL_PROBE_STEP_MODE,
                                    RSL_PROBE_STEP_CHECKSUM,
                                    RSL_PROBE_STEP_READ};
enum {
    L_DNS,
    L_TCP,
    L_TRUST,
    L_AUTH,
    L_ROOT,
    L_WRITABLE, /* the first of the RSL_PROBE_NSTEPS probe steps */
    L_COUNT = sizeof(later) / sizeof(later[0])
};

/* One check's state. A step function returns 0 to go on, or the index in
 * later[] from which the remaining steps are skipped. */
typedef struct check_ctx {
    check_ui u;
    rsl_job job;
    rsl_err err;
    rsl_remote rm; /* a transport keeps a pointer to its options for the connection's life */
    rsl_conn *conn;
    const rsl_transport_ops *ops;
    struct addrinfo *ai;
    char d[9000]; /* the detail being written */
} check_ctx;

/* 1. config; 0, or -1 when the job cannot be checked (every step reported). */
/* A secret file group or others may read: one WARN step each. */
static void secret_warn(void *ud, const char *msg)
{
    check_ctx *c = ud;
    step(&c->u, ST_WARN, "secret files private", msg, "chmod 600 the file named here.");
}

static int step_config(check_ctx *c, const char *conf)
{
    if (rsl_config_load(&c->job, conf, &c->err) != RSL_OK) {
        step_err(&c->u, "config valid", &c->err);
        step(&c->u, ST_SKIP, "source readable", "needs a valid job file", NULL);
        for (size_t i = 0; i < L_COUNT; i++)
            step(&c->u, ST_SKIP, later[i], "needs a valid job file", NULL);
        return -1;
    }
    if (rsl_remote_init(&c->rm, &c->job, 0, &c->err) != RSL_OK) {
        step_err(&c->u, "config valid", &c->err);
        return -1;
    }
    c->ops = c->rm.ops;
    c->rm.opts.log = log_note;
    snprintf(c->d, sizeof(c->d), "%s (job %s, destination %s, transport %s)", conf, c->job.name,
             c->job.destination, c->ops->name);
    step(&c->u, ST_PASS, "config valid", c->d, NULL);
    int before = c->u.warn;
    rsl_job_secret_warnings(&c->job, secret_warn, c);
    if (c->u.warn == before)
        step(&c->u, ST_PASS, "secret files private", "no secret file readable by others", NULL);
    return 0;
}

/* 2. the source is a directory we can list. */
static void step_source(check_ctx *c)
{
    const char *src = c->job.source;
    struct stat sb;
    DIR *dir = NULL;
    errno = 0;
    if (stat(src, &sb) != 0 || !S_ISDIR(sb.st_mode) || (dir = opendir(src)) == NULL) {
        snprintf(c->d, sizeof(c->d), "%s: %s", src, errno ? strerror(errno) : "not a directory");
        step(&c->u, ST_FAIL, "source readable", c->d, fix_of(RSL_E_SOURCE_MISSING));
        return;
    }
    errno = 0;
    long n = 0;
    while (readdir(dir) != NULL)
        n++;
    if (errno != 0) {
        snprintf(c->d, sizeof(c->d), "%s: listing failed: %s", src, strerror(errno));
        step(&c->u, ST_FAIL, "source readable", c->d, fix_of(RSL_E_SOURCE_MISSING));
    } else {
        snprintf(c->d, sizeof(c->d), "%s (%ld entries at the top level)", src, n > 2 ? n - 2 : 0);
        step(&c->u, ST_PASS, "source readable", c->d, NULL);
    }
    closedir(dir);
}

/* 3-4. DNS and TCP (network transports only). */
static int step_network(check_ctx *c)
{
    const rsl_endpoint *ep = &c->rm.ep;
    int port = rsl_remote_port(&c->rm);
    if (ep->host == NULL || ep->host[0] == '\0' || port == 0) {
        step(&c->u, ST_SKIP, later[L_DNS], "file:// destination: no host", NULL);
        step(&c->u, ST_SKIP, later[L_TCP], "file:// destination: no network", NULL);
        return 0;
    }
    if (rsl_netcheck_resolve(ep->host, port, &c->ai, c->d, sizeof(c->d)) != 0) {
        step(&c->u, ST_FAIL, later[L_DNS], c->d, fix_of(RSL_E_DNS_FAILED));
        return L_TCP;
    }
    step(&c->u, ST_PASS, later[L_DNS], c->d, NULL);
    int t = c->job.timeout_sec > 0 && c->job.timeout_sec < 15 ? c->job.timeout_sec : 15;
    int e = rsl_netcheck_tcp(c->ai, t, c->d, sizeof(c->d));
    if (e != 0) {
        step(&c->u, ST_FAIL, later[L_TCP], c->d,
             fix_of(e == ETIMEDOUT ? RSL_E_TIMEOUT : RSL_E_CONNECT_REFUSED));
        return L_TRUST;
    }
    step(&c->u, ST_PASS, later[L_TCP], c->d, NULL);
    return 0;
}

/* 5-6. trust + auth (+ the root, which connect checks too). */
static int step_connect(check_ctx *c)
{
    check_ui *u = &c->u;
    rsl_code rc = rsl_remote_connect(&c->rm, &c->conn, &c->err);
    int is_file = strcmp(c->ops->name, "file") == 0;
    rsl_stage stage = rc == RSL_OK ? RSL_STAGE_NONE : rsl_code_stage(rc);
    if (stage == RSL_STAGE_TRUST) {
        step_err(u, later[L_TRUST], &c->err);
        return L_AUTH;
    }
    if (rc != RSL_OK && stage != RSL_STAGE_ROOT && stage != RSL_STAGE_AUTH) {
        /* the protocol handshake itself failed (timeout, refused, protocol) */
        step_err(u, "connect (protocol handshake)", &c->err);
        return L_TRUST;
    }
    if (stage == RSL_STAGE_AUTH) {
        step(u, is_file ? ST_SKIP : ST_PASS, later[L_TRUST],
             is_file ? "file:// destination" : "no trust error before authentication", NULL);
        step_err(u, later[L_AUTH], &c->err);
        return L_ROOT;
    }
    if (is_file) {
        step(u, ST_SKIP, later[L_TRUST], "file:// destination", NULL);
        step(u, ST_SKIP, later[L_AUTH], "file:// destination: local permissions apply", NULL);
    } else {
        /* the transport says whether its settings turned the check off */
        const char *unverified = rsl_job_unverified(&c->job);
        step(u, ST_PASS, later[L_TRUST], unverified ? unverified : "server identity verified",
             NULL);
        snprintf(c->d, sizeof(c->d), "logged in to %s", c->rm.ep.host);
        step(u, ST_PASS, later[L_AUTH], c->d, NULL);
    }
    if (stage == RSL_STAGE_ROOT) {
        step_err(u, later[L_ROOT], &c->err);
        return L_WRITABLE;
    }
    return 0;
}

/* 7. the remote root exists and is a directory. */
static int step_root(check_ctx *c)
{
    rsl_rstat st;
    const char *root = c->rm.ep.path;
    if (c->ops->stat(c->conn, "", &st, &c->err) != RSL_OK) {
        step_err(&c->u, later[L_ROOT], &c->err);
        return L_WRITABLE;
    }
    if (!st.exists || !st.is_dir) {
        snprintf(c->d, sizeof(c->d), "%s: %s", root, st.exists ? "not a directory" : "missing");
        step(&c->u, ST_FAIL, later[L_ROOT], c->d, fix_of(RSL_E_REMOTE_ROOT_MISSING));
        return L_WRITABLE;
    }
    snprintf(c->d, sizeof(c->d), "%s is a directory", root);
    step(&c->u, ST_PASS, later[L_ROOT], c->d, NULL);
    return 0;
}

static void probe_report(void *ud, int status, const char *name, const char *detail,
                         const char *fix)
{
    check_ctx *c = ud;
    step(&c->u, status, name, detail, fix);
}

/* 8-14. the capability steps, proven with probe files (check_probe.h).
 * Returns 0, or the index in later[] from which the steps are skipped. */
static int step_probe(check_ctx *c)
{
    rsl_probe_env env = {.ops = c->ops,
                         .conn = c->conn,
                         .temp_suffix = c->job.temp_suffix,
                         .local_root = strcmp(c->ops->name, "file") == 0 ? c->rm.ep.path : NULL,
                         .perms = c->job.perms,
                         .report = probe_report,
                         .ud = c};
    int done = rsl_probe_run(&env);
    return done > 0 ? L_WRITABLE + done : 0;
}

/* Steps 2-14 for a valid job; the ones after a failed step are skipped. */
static void run_steps(check_ctx *c)
{
    size_t skip;
    step_source(c);
    if ((skip = (size_t)step_network(c)) == 0 && (skip = (size_t)step_connect(c)) == 0 &&
        (skip = (size_t)step_root(c)) == 0 && (skip = (size_t)step_probe(c)) == 0)
        skip = L_COUNT;
    for (size_t i = skip; i < L_COUNT; i++)
        step(&c->u, ST_SKIP, later[i], "needs the failed step above", NULL);
}

static void print_summary(const check_ui *u, int code)
{
    if (!u->json) {
        printf("check: %d passed, %d failed, %d warning(s), %d skipped\n", u->pass, u->fail,
               u->warn, u->skip);
        return;
    }
    rsl_json j;
    rsl_json_begin_summary(&j, stdout, "check");
    rsl_json_int(&j, "passed", u->pass);
    rsl_json_int(&j, "failed", u->fail);
    rsl_json_int(&j, "warnings", u->warn);
    rsl_json_int(&j, "skipped", u->skip);
    rsl_json_bool(&j, "ok", code == 0);
    rsl_json_int(&j, "exit_code", code);
    rsl_json_end(&j);
}

/* Returns 0 to go on, 1 after --help, -1 on a usage error. */
static int parse_args(int argc, char **argv, const char **conf, int *strict, int *json)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(check_usage, stdout);
            return 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            *json = 1;
        } else if (strcmp(argv[i], "--strict") == 0) {
            *strict = 1;
        } else if (argv[i][0] != '-' && *conf == NULL) {
            *conf = argv[i];
        } else {
            return -1;
        }
    }
    return *conf == NULL ? -1 : 0;
}

int rsl_cmd_check(int argc, char **argv)
{
    const char *conf = NULL;
    int strict = 0, json = 0;
    int r = parse_args(argc, argv, &conf, &strict, &json);
    if (r != 0) {
        if (r < 0)
            fputs(check_usage, stderr);
        return r < 0 ? RSL_EXIT_USAGE : 0;
    }
    signal(SIGPIPE, SIG_IGN);
    static check_ctx c; /* large: not on the stack */
    memset(&c, 0, sizeof(c));
    c.u.json = json;
    int code = RSL_EXIT_USAGE;
    if (step_config(&c, conf) == 0) {
        run_steps(&c);
        code = c.u.fail > 0 || (strict && c.u.warn > 0) ? RSL_EXIT_SESSION : 0;
    }
    print_summary(&c.u, code);
    rsl_remote_disconnect(&c.rm, c.conn);
    if (c.ai)
        freeaddrinfo(c.ai);
    rsl_remote_free(&c.rm);
    rsl_job_free(&c.job);
    return code;
}
