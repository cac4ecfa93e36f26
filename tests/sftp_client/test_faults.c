/* Real faults under the pipelined run, over both carriers: the connection
 * cut by scripts/cutproxy.py in the middle of a big file (the next run
 * resumes from the verified prefix and re-sends at most what was not
 * contiguously acknowledged) and with many files in flight (the next run
 * converges; no final name ever holds a partial file; nothing reported done
 * is missing), and a server that stops answering (SIGSTOP) -> TIMEOUT
 * within the configured seconds, with no ssh child left behind.
 *
 * The stall tests stop every session process of one sshd instance, so each
 * carrier uses its own instance ("stall", "kill"): tests run in parallel. */
#include "put_test.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define BOTH(name)                                                                                 \
    static void name##_body(int kind);                                                             \
    Test(sftp_faults_ssh2, name, .timeout = 300)                                                   \
    {                                                                                              \
        name##_body(CAR_SSH2);                                                                     \
    }                                                                                              \
    Test(sftp_faults_exec, name, .timeout = 300)                                                   \
    {                                                                                              \
        name##_body(CAR_EXEC);                                                                     \
    }                                                                                              \
    static void name##_body(int kind)

/* Starts cutproxy.py towards port; returns its pid and the proxy port. */
static pid_t start_proxy(int target, long cut_after, int *port)
{
    char *d = rslt_tmpdir("cutproxy");
    char pf[4096], tgt[64], cut[32], script[4096];
    snprintf(pf, sizeof(pf), "%s/port", d);
    snprintf(tgt, sizeof(tgt), "127.0.0.1:%d", target);
    snprintf(cut, sizeof(cut), "%ld", cut_after);
    snprintf(script, sizeof(script), "%s/scripts/cutproxy.py", rslt_srcdir());
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a failed test */
        int dn = open("/dev/null", O_RDWR);
        dup2(dn, 1);
        dup2(dn, 2);
        execlp("python3", "python3", script, "--target", tgt, "--cut-after", cut, "--port-file", pf,
               "--lifetime", "300", (char *)NULL);
        _exit(127);
    }
    double end = now_s() + 15;
    while (!rslt_exists(pf)) {
        cr_assert(now_s() < end, "cutproxy did not start");
        int st;
        cr_assert_eq(waitpid(pid, &st, WNOHANG), 0, "cutproxy exited");
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL); /* polling for the port file */
    }
    char *p = rslt_read(pf, NULL);
    *port = (int)strtol(p, NULL, 10);
    free(p);
    free(d);
    return pid;
}

static void stop_pid(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* Opens through the proxy: libssh2 checks the key of the real port; ssh
 * reads a known_hosts naming the proxy's port. */
static void open_via(tconn *c, int kind, int pport, const char *root, int timeout)
{
    rsl_err err = {0};
    char *kh = kh_for_port(pport);
    rsl_code rc = topen_kh(c, kind, pport, fx_int("SSH_PORT"), kh, root, timeout, &err);
    cr_assert_eq(rc, RSL_OK, "%s: %s", rsl_code_name(rc), err.msg);
    free(kh);
}

static rsl_code run_feed(tconn *c, tfeed *f, rsl_err *err)
{
    rsl_feed feed = tfeed_feed(f);
    return rsl_sftp_put_run(c->s, NULL, &feed, err);
}

BOTH(cut_mid_file_then_resume)
{
    const uint64_t N = 40ull << 20;
    const long cut_after = 16l << 20;
    char *root = mkroot("cut");
    unsigned char *data = random_bytes(N, 40);
    int pport = 0;
    pid_t proxy = start_proxy(fx_int("SSH_PORT"), cut_after, &pport);
    rsl_op op;
    msrc m;
    put_op(&op, &m, "cut.bin", data, N, 1700000000, 0);
    tconn c;
    tfeed f;
    rsl_err err = {0};
    open_via(&c, kind, pport, root, 30);
    tfeed_init(&f, &op, 1);
    rsl_code rc = run_feed(&c, &f, &err);
    cr_assert_eq(rc, RSL_E_CONNECTION_LOST, "%s: %s", rsl_code_name(rc), err.msg);
    cr_assert_eq(f.done_n, 1, "the op taken is completed with the session code");
    cr_assert_eq(op.err.code, RSL_E_CONNECTION_LOST);
    uint64_t acked1 = op.offset + op.sent;
    cr_assert_gt(acked1, 0);
    cr_assert_lt(acked1, (uint64_t)cut_after);
    tclose(&c);
    tfeed_free(&f);
    /* the next run: the proxy lets the second connection through */
    op.resume = 1;
    open_via(&c, kind, pport, root, 30);
    tfeed_init(&f, &op, 1);
    rc = run_feed(&c, &f, &err);
    stop_pid(proxy);
    cr_assert_eq(rc, RSL_OK, "%s", err.msg);
    cr_assert_eq(op.err.code, RSL_OK, "%s", op.err.msg);
    cr_log_info("cut after %ld bytes: %llu acknowledged, %llu kept on resume, %llu pulled again",
                cut_after, (unsigned long long)acked1, (unsigned long long)op.offset,
                (unsigned long long)m.pulled);
    cr_assert_geq(op.offset, acked1, "everything acknowledged is kept");
    cr_assert_leq(op.offset, (uint64_t)cut_after);
    cr_assert_eq(m.pulled, N - op.offset, "only the missing bytes are sent again");
    cr_assert_leq(m.pulled, N - acked1);
    char p[4200];
    snprintf(p, sizeof(p), "%s/cut.bin", root);
    cr_assert(same_content(p, data, N));
    op_free(&op);
    tfeed_free(&f);
    tclose(&c);
    free(data);
    rslt_rmrf(root);
    free(root);
}

/* Many files in flight when the connection is cut. */
BOTH(cut_with_many_files_in_flight_converges)
{
    enum { F = 200 };
    const uint64_t SZ = 96u << 10;
    char *root = mkroot("cutmany");
    int pport = 0;
    pid_t proxy = start_proxy(fx_int("SSH_PORT"), 6l << 20, &pport);
    rsl_op ops[F];
    msrc src[F];
    unsigned char *data[F];
    for (int i = 0; i < F; i++) {
        data[i] = random_bytes(SZ, 1000u + (unsigned)i);
        char rel[64];
        snprintf(rel, sizeof(rel), "f%03d.bin", i);
        put_op(&ops[i], &src[i], rel, data[i], SZ, 1600000000, 0);
    }
    tconn c;
    tfeed f;
    rsl_err err = {0};
    open_via(&c, kind, pport, root, 30);
    tfeed_init(&f, ops, F);
    rsl_code rc = run_feed(&c, &f, &err);
    cr_assert_eq(rc, RSL_E_CONNECTION_LOST, "%s: %s", rsl_code_name(rc), err.msg);
    cr_assert_eq(f.done_n, f.taken_n, "every op taken is completed once");
    int ok = 0, lost = 0;
    for (int i = 0; i < F; i++) {
        if (!f.taken[i])
            continue;
        if (ops[i].err.code == RSL_OK)
            ok++;
        else if (ops[i].err.code == RSL_E_CONNECTION_LOST)
            lost++;
        else
            cr_assert_fail("op %d: %s %s", i, rsl_code_name(ops[i].err.code), ops[i].err.msg);
    }
    cr_log_info("at the cut: %d done, %d in flight (completed with the session code), %d not taken",
                ok, lost, F - f.taken_n);
    cr_assert_geq(lost, 64, "the cut came with at least 64 files in flight");
    char p[4200];
    for (int i = 0; i < F; i++) {
        snprintf(p, sizeof(p), "%s/%s", root, ops[i].path);
        if (ops[i].err.code == RSL_OK && f.taken[i])
            cr_assert(same_content(p, data[i], SZ), "%s reported done but is not there", p);
        if (rslt_exists(p))
            cr_assert(same_content(p, data[i], SZ), "%s: a final name holds a partial file", p);
    }
    tclose(&c);
    /* the next run: everything not reported done, resuming */
    rsl_op again[F];
    int n = 0;
    for (int i = 0; i < F; i++)
        if (!f.taken[i] || ops[i].err.code != RSL_OK) {
            again[n] = ops[i];
            again[n].resume = 1;
            n++;
        }
    tfeed_free(&f);
    open_via(&c, kind, pport, root, 30);
    tfeed_init(&f, again, n);
    rc = run_feed(&c, &f, &err);
    stop_pid(proxy);
    cr_assert_eq(rc, RSL_OK, "%s", err.msg);
    for (int i = 0; i < n; i++)
        cr_assert_eq(again[i].err.code, RSL_OK, "%s: %s", again[i].path, again[i].err.msg);
    for (int i = 0; i < F; i++) {
        snprintf(p, sizeof(p), "%s/%s", root, ops[i].path);
        cr_assert(same_content(p, data[i], SZ), "%s after the second run", p);
        snprintf(p, sizeof(p), "%s/%s.rsl-part", root, ops[i].path);
        cr_assert_not(rslt_exists(p), "%s left", p);
        free(data[i]);
        op_free(&ops[i]);
    }
    tfeed_free(&f);
    tclose(&c);
    rslt_rmrf(root);
    free(root);
}

/* Signals every descendant of the sshd listener in pidfile_key (the
 * per-connection processes, never the listener itself). */
static int signal_sessions(const char *pidfile_key, int sig)
{
    char *pf = fx(pidfile_key);
    char *s = rslt_read(pf, NULL);
    cr_assert(s != NULL);
    pid_t tree[256];
    int n = 0, hit = 0;
    tree[n++] = (pid_t)strtol(s, NULL, 10);
    free(s);
    free(pf);
    for (int grew = 1; grew;) {
        grew = 0;
        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            char path[300], buf[512];
            snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
            FILE *fp = fopen(path, "r");
            if (fp == NULL)
                continue;
            size_t len = fread(buf, 1, sizeof(buf) - 1, fp);
            fclose(fp);
            buf[len] = '\0';
            char *rp = strrchr(buf, ')');
            char state = 0;
            int ppid = 0;
            if (rp == NULL || sscanf(rp + 1, " %c %d", &state, &ppid) != 2 || state == 'Z')
                continue;
            pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
            int parent_in = 0, self_in = 0;
            for (int i = 0; i < n; i++) {
                parent_in |= tree[i] == ppid;
                self_in |= tree[i] == pid;
            }
            if (parent_in && !self_in && n < 256) {
                tree[n++] = pid;
                grew = 1;
            }
        }
        if (d)
            closedir(d);
    }
    for (int i = 1; i < n; i++)
        if (kill(tree[i], sig) == 0)
            hit++;
    return hit;
}

static const char *stall_key(int kind)
{
    return kind == CAR_SSH2 ? "SSH_PID_FILE_STALL" : "SSH_PID_FILE_KILL";
}

static double stopped_at;

static void stop_sessions(void *arg)
{
    const char *key = arg;
    cr_assert_gt(signal_sessions(key, SIGSTOP), 0, "no session to stop");
    stopped_at = now_s();
}

BOTH(server_stops_answering_gives_timeout)
{
    const int T = 3;
    const uint64_t N = 48ull << 20;
    int port = fx_int(kind == CAR_SSH2 ? "SSH_PORT_STALL" : "SSH_PORT_KILL");
    char *root = mkroot("stall");
    unsigned char *data = random_bytes(N, 99);
    rsl_op op;
    msrc m;
    put_op(&op, &m, "stall.bin", data, N, -1, 0);
    m.hook_at = 4u << 20;
    m.hook = stop_sessions;
    m.hook_arg = (void *)stall_key(kind);
    tconn c;
    rsl_err err = {0};
    rsl_code rc = topen(&c, kind, port, port, root, T, &err);
    cr_assert_eq(rc, RSL_OK, "%s", err.msg);
    tfeed f;
    tfeed_init(&f, &op, 1);
    rc = run_feed(&c, &f, &err);
    double waited = now_s() - stopped_at;
    cr_assert(m.hooked, "the server was stopped");
    cr_assert_eq(rc, RSL_E_TIMEOUT, "%s: %s", rsl_code_name(rc), err.msg);
    cr_assert_eq(op.err.code, RSL_E_TIMEOUT, "%s", op.err.msg);
    cr_log_info("TIMEOUT %.1f s after the server stopped (timeout = %d s): %s", waited, T, err.msg);
    cr_assert_geq(waited, T - 0.5, "gave up before the timeout");
    cr_assert_leq(waited, T + 6.0, "waited far longer than the timeout");
    pid_t pid = c.pid;
    double t0 = now_s();
    tclose(&c);
    cr_assert_leq(now_s() - t0, T + 5.0, "closing a dead session does not hang");
    if (kind == CAR_EXEC) {
        cr_assert_not(alive(pid), "the ssh child is gone after close");
        cr_assert_eq(children(), 0, "no child process left");
    }
    signal_sessions(stall_key(kind), SIGCONT);
    signal_sessions(stall_key(kind), SIGKILL);
    op_free(&op);
    tfeed_free(&f);
    free(data);
    rslt_rmrf(root);
    free(root);
}
