/* Real faults in the middle of a large SFTP upload: the TCP connection cut by
 * scripts/cutproxy.py, the server's session processes killed (SIGKILL) or
 * frozen (SIGSTOP -> timeout), and our own process killed. Each time the
 * next connection resumes from the remote temp file's size, pulls only the
 * remaining bytes from the source, and the final file is byte-identical.
 *
 * The kill and stall tests use their own sshd instances (SSH_PORT_KILL,
 * SSH_PORT_STALL) so killing "the session processes" (children of that
 * instance's listener) cannot hit another test's connection. */
#include "sftp_test.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define TOTAL (48u << 20)
#define CHUNK (4u << 20) /* the transport's upload buffer: what it may read ahead */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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
    return pid;
}

static void stop_pid(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* Signals every descendant of the sshd listener in pidfile_key (the
 * per-connection processes; never the listener itself). The whole tree is
 * collected first: a killed parent's children are re-parented at once. */
static int signal_sessions(const char *pidfile_key, int sig)
{
    char *pf = fx(pidfile_key);
    char *s = rslt_read(pf, NULL);
    cr_assert(s != NULL);
    pid_t tree[256];
    int n = 0, hit = 0;
    tree[n++] = (pid_t)strtol(s, NULL, 10);
    free(s);
    for (int grew = 1; grew;) {
        grew = 0;
        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            char path[300], buf[512];
            snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
            FILE *f = fopen(path, "r");
            if (f == NULL)
                continue;
            size_t len = fread(buf, 1, sizeof(buf) - 1, f);
            fclose(f);
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
    for (int i = 1; i < n; i++) /* tree[0] is the listener */
        if (kill(tree[i], sig) == 0)
            hit++;
    return hit;
}

static void kill_sessions(void *arg)
{
    (void)arg;
    cr_assert_gt(signal_sessions("SSH_PID_FILE_KILL", SIGKILL), 0, "no session to kill");
}

static void stop_sessions(void *arg)
{
    (void)arg;
    cr_assert_gt(signal_sessions("SSH_PID_FILE_STALL", SIGSTOP), 0, "no session to stop");
}

struct attempt {
    rsl_code rc;
    char msg[512];
    uint64_t have, pulled;
};

/* One engine-like attempt: connect, resume_offset, upload from there, finish. */
static struct attempt attempt(int port, const char *root, rsl_remote_opts *o, msrc *m,
                              const char *rel)
{
    struct attempt a = {0};
    const rsl_transport_ops *ops = sftp_ops();
    rsl_conn *c = NULL;
    rsl_err err = {0};
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s.rsl-part", rel);
    if ((a.rc = sconnect(&c, port, NULL, root, o, &err)) != RSL_OK)
        goto done;
    if ((a.rc = ops->resume_offset(c, tmp, m->size, &m->s, &a.have, &err)) != RSL_OK)
        goto done;
    msrc_seek(m, a.have);
    a.rc = ops->upload(c, tmp, a.have, m->size, &m->s, &err);
    a.pulled = m->pulled;
    if (a.rc != RSL_OK)
        goto done;
    a.rc = ops->finish(c, tmp, rel, m->size, -1, &err);
done:
    if (a.rc != RSL_OK)
        snprintf(a.msg, sizeof(a.msg), "%s", err.msg);
    ops->disconnect(c);
    return a;
}

static void check_resumed(const char *root, const char *rel, const unsigned char *data,
                          struct attempt *second)
{
    cr_log_info("%s: resumed at %llu of %llu, pulled %llu on the second attempt", rel,
                (unsigned long long)second->have, (unsigned long long)TOTAL,
                (unsigned long long)second->pulled);
    cr_assert_eq(second->rc, RSL_OK, "resume: %s %s", rsl_code_name(second->rc), second->msg);
    cr_assert_gt(second->have, 0, "nothing kept to resume from");
    cr_assert_leq(second->pulled, (uint64_t)TOTAL - second->have + CHUNK,
                  "second attempt pulled %llu bytes for %llu remaining",
                  (unsigned long long)second->pulled, (unsigned long long)(TOTAL - second->have));
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    cr_assert(same_content(path, data, TOTAL), "final file differs");
    snprintf(path, sizeof(path), "%s/%s.rsl-part", root, rel);
    cr_assert_eq(rslt_exists(path), 0);
}

Test(sftp_faults, connection_cut_by_proxy_then_resume, .timeout = 180)
{
    char *root = mkroot("cut");
    unsigned char *data = random_bytes(TOTAL, 21);
    int pport = 0;
    const long cut_after = 20l << 20;
    pid_t proxy = start_proxy(fx_int("SSH_PORT"), cut_after, &pport);
    rsl_remote_opts o;
    opts_init(&o, NULL);
    scfg(&o)->host_key_fingerprint =
        fx("SSH_HOSTKEY_FP"); /* the proxy's port is not in known_hosts */
    msrc m;
    msrc_init(&m, data, TOTAL);
    struct attempt a1 = attempt(pport, root, &o, &m, "cut.bin");
    cr_assert(a1.rc == RSL_E_CONNECTION_LOST, "cut: %s %s", rsl_code_name(a1.rc), a1.msg);
    cr_assert_eq(rsl_code_class(a1.rc), RSL_CLASS_SESSION);
    struct attempt a2 = attempt(pport, root, &o, &m, "cut.bin");
    stop_pid(proxy);
    /* the cut came after 20 MiB on the wire: most of it must be kept */
    cr_assert_geq(a2.have, (uint64_t)8 << 20, "kept only %llu bytes", (unsigned long long)a2.have);
    cr_assert_leq(a2.have, (uint64_t)cut_after);
    check_resumed(root, "cut.bin", data, &a2);
    free(data);
}

Test(sftp_faults, server_session_killed_then_resume, .timeout = 180)
{
    char *root = mkroot("kill");
    unsigned char *data = random_bytes(TOTAL, 22);
    rsl_remote_opts o;
    opts_init(&o, NULL);
    msrc m;
    msrc_init(&m, data, TOTAL);
    m.hook_at = 24u << 20;
    m.hook = kill_sessions;
    int port = fx_int("SSH_PORT_KILL");
    struct attempt a1 = attempt(port, root, &o, &m, "k.bin");
    cr_assert(m.hooked, "hook ran");
    cr_assert(a1.rc == RSL_E_CONNECTION_LOST, "%s %s", rsl_code_name(a1.rc), a1.msg);
    m.hook = NULL;
    struct attempt a2 = attempt(port, root, &o, &m, "k.bin");
    cr_assert_geq(a2.have, (uint64_t)8 << 20, "kept %llu", (unsigned long long)a2.have);
    check_resumed(root, "k.bin", data, &a2);
    free(data);
}

Test(sftp_faults, frozen_server_times_out_then_resume, .timeout = 180)
{
    char *root = mkroot("stall");
    unsigned char *data = random_bytes(TOTAL, 23);
    rsl_remote_opts o;
    opts_init(&o, NULL);
    o.timeout_sec = 2;
    msrc m;
    msrc_init(&m, data, TOTAL);
    m.hook_at = 16u << 20;
    m.hook = stop_sessions;
    int port = fx_int("SSH_PORT_STALL");
    double t0 = now_s();
    struct attempt a1 = attempt(port, root, &o, &m, "s.bin");
    double took = now_s() - t0;
    signal_sessions("SSH_PID_FILE_STALL", SIGKILL); /* the frozen ones */
    cr_assert(a1.rc == RSL_E_TIMEOUT, "%s %s", rsl_code_name(a1.rc), a1.msg);
    cr_assert_lt(took, 30, "timed out after %.1f s with timeout 2 s", took);
    m.hook = NULL;
    o.timeout_sec = 20;
    struct attempt a2 = attempt(port, root, &o, &m, "s.bin");
    check_resumed(root, "s.bin", data, &a2);
    free(data);
}

static void die_now(void *arg)
{
    (void)arg;
    raise(SIGKILL);
}

Test(sftp_faults, our_process_killed_then_resume, .timeout = 180)
{
    char *root = mkroot("sigkill");
    unsigned char *data = random_bytes(TOTAL, 24);
    int port = fx_int("SSH_PORT");
    pid_t kid = fork();
    cr_assert(kid >= 0);
    if (kid == 0) {
        rsl_remote_opts o;
        opts_init(&o, NULL);
        msrc m;
        msrc_init(&m, data, TOTAL);
        m.hook_at = 20u << 20;
        m.hook = die_now;
        attempt(port, root, &o, &m, "p.bin");
        _exit(3); /* not reached: the hook kills us */
    }
    int st = 0;
    waitpid(kid, &st, 0);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child status %d", st);
    rsl_remote_opts o;
    opts_init(&o, NULL);
    msrc m;
    msrc_init(&m, data, TOTAL);
    struct attempt a2 = attempt(port, root, &o, &m, "p.bin");
    cr_assert_geq(a2.have, (uint64_t)4 << 20, "kept %llu", (unsigned long long)a2.have);
    check_resumed(root, "p.bin", data, &a2);
    free(data);
}
