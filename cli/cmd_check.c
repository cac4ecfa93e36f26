/*
 * cmd_check.c - `check JOB.conf`: walks an operator through every step a run
 * depends on, each reported PASS / FAIL (with the catalog's remediation) /
 * WARN / SKIP: config valid, source readable, DNS, TCP connect, trust (TLS
 * certificate or SSH host key) and authentication (the transport's connect),
 * remote root exists, remote root writable (a probe file uploaded under its
 * temp name, renamed, checked and removed), rename and resume supported.
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
        fputs("{\"step\":", stdout);
        rsl_out_json_str(stdout, name);
        fputs(",\"status\":", stdout);
        rsl_out_json_str(stdout, lower[status]);
        fputs(",\"detail\":", stdout);
        rsl_out_json_str(stdout, detail ? detail : "");
        if (fix) {
            fputs(",\"fix\":", stdout);
            rsl_out_json_str(stdout, fix);
        }
        fputs("}\n", stdout);
        return;
    }
    printf("[%s] %s", tags[status], name);
    if (detail && *detail) {
        fputs(": ", stdout);
        rsl_out_path(stdout, detail);
    }
    fputc('\n', stdout);
    if (fix)
        printf("       fix: %s\n", fix);
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

/* ---- a memory source for the probe upload ---- */
typedef struct mem_src {
    const char *buf;
    size_t len, pos;
} mem_src;

static ssize_t mem_read(rsl_source *s, void *buf, size_t n, rsl_err *err)
{
    (void)err;
    mem_src *m = s->ud;
    if (n > m->len - m->pos)
        n = m->len - m->pos;
    memcpy(buf, m->buf + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

static ssize_t mem_pread(rsl_source *s, void *buf, size_t n, uint64_t off, rsl_err *err)
{
    (void)err;
    mem_src *m = s->ud;
    if (off >= m->len)
        return 0;
    if (n > m->len - off)
        n = (size_t)(m->len - off);
    memcpy(buf, m->buf + off, n);
    return (ssize_t)n;
}

static void log_note(void *ud, int level, const char *msg)
{
    (void)ud;
    if (level >= RSL_LOG_WARN)
        fprintf(stderr, "rsyncd-lite check: warning: %s\n", msg);
}

static const char check_usage[] =
    "usage: rsyncd-lite check JOB.conf [--json] [--strict]\n"
    "  Checks, step by step, everything a run needs: config valid, source readable, DNS,\n"
    "  TCP connect, TLS certificate / SSH host key, authentication, remote root exists,\n"
    "  remote root writable (creates and removes a probe file), rename and resume\n"
    "  supported. Each step: PASS, FAIL (with the fix), WARN or SKIP.\n"
    "  --json    one JSON object per step ({\"step\",\"status\",\"detail\",\"fix\"})\n"
    "  --strict  a WARN (e.g. no resume support) fails the check too\n"
    "exit: 0 every step passed, 1 the job file is invalid, 5 a step failed\n";

int rsl_cmd_check(int argc, char **argv)
{
    const char *conf = NULL;
    int strict = 0;
    check_ui u = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(check_usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            u.json = 1;
        } else if (strcmp(argv[i], "--strict") == 0) {
            strict = 1;
        } else if (argv[i][0] != '-' && conf == NULL) {
            conf = argv[i];
        } else {
            fputs(check_usage, stderr);
            return RSL_EXIT_USAGE;
        }
    }
    if (conf == NULL) {
        fputs(check_usage, stderr);
        return RSL_EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    rsl_job job;
    rsl_err err;
    memset(&err, 0, sizeof(err));
    rsl_remote rm;
    memset(&rm, 0, sizeof(rm));
    rsl_conn *conn = NULL;
    const rsl_transport_ops *ops = NULL;
    const rsl_endpoint *ep = &rm.ep;
    struct addrinfo *ai = NULL;
    int code = 0;
    char d[9000];
    static const char *const later[] = {"DNS",
                                        "TCP connect",
                                        "trust (TLS certificate / SSH host key)",
                                        "authentication",
                                        "remote root exists",
                                        "remote root writable",
                                        "rename supported",
                                        "resume supported"};
    int next_skip = 0; /* index in later[] from which the rest is skipped */

    /* 1. config */
    if (rsl_config_load(&job, conf, &err) != RSL_OK) {
        step_err(&u, "config valid", &err);
        step(&u, ST_SKIP, "source readable", "needs a valid job file", NULL);
        for (size_t i = 0; i < sizeof(later) / sizeof(later[0]); i++)
            step(&u, ST_SKIP, later[i], "needs a valid job file", NULL);
        code = RSL_EXIT_USAGE;
        goto done;
    }
    if (rsl_remote_init(&rm, &job, 0, &err) != RSL_OK) {
        step_err(&u, "config valid", &err);
        code = RSL_EXIT_USAGE;
        goto done;
    }
    ops = rm.ops;
    rm.opts.log = log_note;
    snprintf(d, sizeof(d), "%s (job %s, destination %s, transport %s)", conf, job.name,
             job.destination, ops->name);
    step(&u, ST_PASS, "config valid", d, NULL);

    /* 2. source */
    {
        struct stat sb;
        DIR *dir = NULL;
        errno = 0;
        if (stat(job.source, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
            (dir = opendir(job.source)) == NULL) {
            snprintf(d, sizeof(d), "%s: %s", job.source,
                     errno ? strerror(errno) : "not a directory");
            step(&u, ST_FAIL, "source readable", d, fix_of(RSL_E_SOURCE_MISSING));
        } else {
            errno = 0;
            long n = 0;
            while (readdir(dir) != NULL)
                n++;
            if (errno != 0) {
                snprintf(d, sizeof(d), "%s: listing failed: %s", job.source, strerror(errno));
                step(&u, ST_FAIL, "source readable", d, fix_of(RSL_E_SOURCE_MISSING));
            } else {
                snprintf(d, sizeof(d), "%s (%ld entries at the top level)", job.source,
                         n > 2 ? n - 2 : 0);
                step(&u, ST_PASS, "source readable", d, NULL);
            }
            closedir(dir);
        }
    }

    /* 3-4. DNS and TCP (network transports only) */
    int port = rsl_remote_port(&rm);
    if (ep->host == NULL || ep->host[0] == '\0' || port == 0) {
        step(&u, ST_SKIP, "DNS", "file:// destination: no host", NULL);
        step(&u, ST_SKIP, "TCP connect", "file:// destination: no network", NULL);
    } else {
        if (rsl_netcheck_resolve(ep->host, port, &ai, d, sizeof(d)) != 0) {
            step(&u, ST_FAIL, "DNS", d, fix_of(RSL_E_DNS_FAILED));
            next_skip = 1;
            goto rest;
        }
        step(&u, ST_PASS, "DNS", d, NULL);
        int t = job.timeout_sec > 0 && job.timeout_sec < 15 ? job.timeout_sec : 15;
        int e = rsl_netcheck_tcp(ai, t, d, sizeof(d));
        if (e != 0) {
            step(&u, ST_FAIL, "TCP connect", d,
                 fix_of(e == ETIMEDOUT ? RSL_E_TIMEOUT : RSL_E_CONNECT_REFUSED));
            next_skip = 2;
            goto rest;
        }
        step(&u, ST_PASS, "TCP connect", d, NULL);
    }

    /* 5-6. trust + auth (+ the root, which connect checks too) */
    {
        /* rm lives in the function's scope: a transport keeps a pointer to
         * its options for the connection's life */
        rsl_code rc = rsl_remote_connect(&rm, &conn, &err);
        int is_file = strcmp(ops->name, "file") == 0;
        rsl_stage stage = rc == RSL_OK ? RSL_STAGE_NONE : rsl_code_stage(rc);
        if (stage == RSL_STAGE_TRUST) {
            step_err(&u, later[2], &err);
            next_skip = 3;
            goto rest;
        }
        if (rc != RSL_OK && stage != RSL_STAGE_ROOT && stage != RSL_STAGE_AUTH) {
            /* the protocol handshake itself failed (timeout, refused, protocol) */
            step_err(&u, "connect (protocol handshake)", &err);
            next_skip = 2;
            goto rest;
        }
        if (stage == RSL_STAGE_AUTH) {
            step(&u, is_file ? ST_SKIP : ST_PASS, later[2],
                 is_file ? "file:// destination" : "no trust error before authentication", NULL);
            step_err(&u, later[3], &err);
            next_skip = 4;
            goto rest;
        }
        if (is_file) {
            step(&u, ST_SKIP, later[2], "file:// destination", NULL);
            step(&u, ST_SKIP, later[3], "file:// destination: local permissions apply", NULL);
        } else {
            /* the transport says whether its settings turned the check off */
            const char *unverified = rsl_job_unverified(&job);
            step(&u, ST_PASS, later[2], unverified ? unverified : "server identity verified", NULL);
            snprintf(d, sizeof(d), "logged in to %s", ep->host);
            step(&u, ST_PASS, later[3], d, NULL);
        }
        if (stage == RSL_STAGE_ROOT) {
            step_err(&u, later[4], &err);
            next_skip = 5;
            goto rest;
        }
    }

    /* 7. root exists (stat) */
    {
        rsl_rstat st;
        if (ops->stat(conn, "", &st, &err) != RSL_OK) {
            step_err(&u, later[4], &err);
            next_skip = 5;
            goto rest;
        }
        if (!st.exists || !st.is_dir) {
            snprintf(d, sizeof(d), "%s: %s", ep->path, st.exists ? "not a directory" : "missing");
            step(&u, ST_FAIL, later[4], d, fix_of(RSL_E_REMOTE_ROOT_MISSING));
            next_skip = 5;
            goto rest;
        }
        snprintf(d, sizeof(d), "%s is a directory", ep->path);
        step(&u, ST_PASS, later[4], d, NULL);
    }

    /* 8-9. writable + rename: a probe file through upload + finish, then removed */
    {
        char final[128], tmp[4096];
        snprintf(final, sizeof(final), ".rsyncd-lite-check-%ld", (long)getpid());
        snprintf(tmp, sizeof(tmp), "%s%s", final, job.temp_suffix);
        static const char probe[] = "rsyncd-lite check probe: safe to delete\n";
        mem_src m = {.buf = probe, .len = sizeof(probe) - 1};
        rsl_source src = {.read = mem_read, .pread = mem_pread, .ud = &m};
        if (ops->upload(conn, tmp, 0, m.len, &src, &err) != RSL_OK) {
            step_err(&u, later[5], &err);
            ops->remove(conn, tmp, 0, &err);
            next_skip = 6;
            goto rest;
        }
        snprintf(d, sizeof(d), "wrote probe %s (%zu bytes)", tmp, m.len);
        step(&u, ST_PASS, later[5], d, NULL);
        rsl_rstat st;
        if (ops->finish(conn, tmp, final, m.len, (int64_t)time(NULL), &err) != RSL_OK) {
            step_err(&u, later[6], &err);
            rsl_err e2;
            ops->remove(conn, tmp, 0, &e2);
        } else if (ops->stat(conn, final, &st, &err) != RSL_OK || !st.exists || st.size != m.len) {
            snprintf(d, sizeof(d), "probe %s: after the rename the server reports %s", final,
                     st.exists ? "a different size" : "no file");
            step(&u, ST_FAIL, later[6], d, fix_of(RSL_E_REMOTE_RENAME_FAILED));
        } else {
            unsigned caps = ops->caps_of(conn);
            snprintf(d, sizeof(d), "%s -> %s%s", tmp, final,
                     caps & RSL_CAP_ATOMIC_RENAME ? " (atomic replace)"
                                                  : " (replace is NOT atomic on this server: a "
                                                    "reader may briefly see no file)");
            step(&u, caps & RSL_CAP_ATOMIC_RENAME ? ST_PASS : ST_WARN, later[6], d, NULL);
        }
        rsl_err e3;
        if (ops->remove(conn, final, 0, &e3) != RSL_OK) {
            snprintf(d, sizeof(d), "could not remove the probe file %s: %s; remove it by hand",
                     final, e3.msg);
            step(&u, ST_FAIL, "probe removed", d, fix_of(e3.code));
        }
    }

    /* 10. resume */
    {
        unsigned caps = ops->caps_of(conn);
        char desc[512] = "";
        ops->describe(conn, desc, sizeof(desc));
        if (caps & RSL_CAP_RESUME) {
            snprintf(d, sizeof(d), "interrupted uploads continue where they stopped; %s", desc);
            step(&u, ST_PASS, later[7], d, NULL);
        } else {
            snprintf(d, sizeof(d),
                     "this server cannot resume: an interrupted upload restarts "
                     "from zero; %s",
                     desc);
            step(&u, ST_WARN, later[7], d,
                 "Use a server or protocol that supports resume (SFTP, FTPS with REST, WebDAV "
                 "with partial PUT) if large files get cut.");
        }
    }
    next_skip = (int)(sizeof(later) / sizeof(later[0]));
rest:
    for (size_t i = (size_t)next_skip; i < sizeof(later) / sizeof(later[0]); i++)
        step(&u, ST_SKIP, later[i], "needs the failed step above", NULL);
    if (u.fail > 0 || (strict && u.warn > 0))
        code = RSL_EXIT_SESSION;
done:
    if (!u.json)
        printf("check: %d passed, %d failed, %d warning(s), %d skipped\n", u.pass, u.fail, u.warn,
               u.skip);
    else
        printf("{\"summary\":true,\"passed\":%d,\"failed\":%d,\"warnings\":%d,\"skipped\":%d,"
               "\"ok\":%s}\n",
               u.pass, u.fail, u.warn, u.skip, code == 0 ? "true" : "false");
    rsl_remote_disconnect(&rm, conn);
    if (ai)
        freeaddrinfo(ai);
    rsl_remote_free(&rm);
    rsl_job_free(&job);
    return code;
}
