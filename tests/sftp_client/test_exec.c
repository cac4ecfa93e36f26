/* Tests for transports/sftp_carrier_exec.c: OpenSSH's ssh as the carrier.
 * Against the fixture's sshd: unknown and changed host keys, rejected
 * credentials, a refused port and an unknown host name each become their
 * catalog code; the child never inherits RSYNCD_LITE_PASSWORD; our options
 * come before the operator's; no ssh process is left behind after close or
 * after a failure, even one that ignores SIGTERM. Without a server: the
 * splitting of ssh_command, the config-time refusals, the stderr rules. */
#include "client_test.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/wait.h>

/* Opens the client over ssh with x; returns the code (the client is closed
 * again on success) and checks nothing is left running. */
static rsl_code try_exec(rsl_sftp_exec_cfg *x, rsl_err *err)
{
    rsl_sftp_carrier *car = NULL;
    rsl_code rc = rsl_sftp_carrier_exec(&car, x, err);
    if (rc != RSL_OK)
        return rc;
    pid_t pid = rsl_sftp_carrier_exec_pid(car);
    cr_assert_gt(pid, 0);
    rsl_sftp_client *s = NULL;
    rsl_sftp_client_cfg cfg = {.root = "/", .host = x->host, .timeout_sec = x->timeout_sec};
    rc = rsl_sftp_client_open(&s, car, &cfg, err);
    rsl_sftp_client_close(s);
    cr_assert_not(alive(pid), "ssh (pid %d) still runs after %s", (int)pid,
                  rc == RSL_OK ? "close" : "a failure");
    cr_assert_eq(children(), 0, "a child process is left behind");
    return rc;
}

static char *write_file(const char *name, const char *content)
{
    char *d = rslt_tmpdir("exec"), *p = NULL;
    cr_assert(asprintf(&p, "%s/%s", d, name) > 0);
    rslt_write(p, content);
    free(d);
    return p;
}

Test(sftp_exec, connects_and_closes_cleanly, .timeout = 60)
{
    rsl_sftp_exec_cfg x;
    char *kh = fx("SSH_KNOWN_HOSTS");
    exec_cfg(&x, fx_int("SSH_PORT"), kh, 20);
    rsl_err err = {0};
    cr_assert_eq(try_exec(&x, &err), RSL_OK, "%s", err.msg);
    free(kh);
}

Test(sftp_exec, unknown_host_key, .timeout = 60)
{
    char *kh = write_file("known_hosts", "");
    rsl_sftp_exec_cfg x;
    int port = fx_int("SSH_PORT");
    exec_cfg(&x, port, kh, 20);
    rsl_err err = {0};
    rsl_code rc = try_exec(&x, &err);
    cr_assert_eq(rc, RSL_E_HOSTKEY_UNKNOWN, "%s: %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, "is unknown") && strstr(err.msg, "ssh-keyscan -p"), "%s", err.msg);
    free(kh);
}

Test(sftp_exec, changed_host_key, .timeout = 60)
{
    /* another ed25519 key (the client's own) stands for the host's */
    char *pub = fx("SSH_KEY"), *line = NULL, *got = NULL;
    int port = fx_int("SSH_PORT");
    char pubfile[4200];
    snprintf(pubfile, sizeof(pubfile), "%s.pub", pub);
    got = rslt_read(pubfile, NULL);
    cr_assert_not_null(got);
    got[strcspn(got, "\n")] = '\0';
    *strrchr(got, ' ') = '\0'; /* drop the comment */
    cr_assert(asprintf(&line, "[127.0.0.1]:%d %s\n", port, got) > 0);
    char *kh = write_file("known_hosts", line);
    rsl_sftp_exec_cfg x;
    exec_cfg(&x, port, kh, 20);
    rsl_err err = {0};
    rsl_code rc = try_exec(&x, &err);
    cr_assert_eq(rc, RSL_E_HOSTKEY_CHANGED, "%s: %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, "has CHANGED") && strstr(err.msg, "SHA256:"), "%s", err.msg);
    free(kh);
    free(line);
    free(got);
    free(pub);
}

Test(sftp_exec, rejected_user_is_auth_failed, .timeout = 60)
{
    rsl_sftp_exec_cfg x;
    char *kh = fx("SSH_KNOWN_HOSTS");
    exec_cfg(&x, fx_int("SSH_PORT"), kh, 20);
    x.user = "nobody"; /* not in AllowUsers */
    rsl_err err = {0};
    rsl_code rc = try_exec(&x, &err);
    cr_assert_eq(rc, RSL_E_AUTH_FAILED, "%s: %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, "Permission denied") != NULL, "%s", err.msg);
    free(kh);
}

Test(sftp_exec, refused_port_and_unknown_name, .timeout = 60)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &al), 0);
    close(s); /* nothing listens there now */
    rsl_sftp_exec_cfg x;
    char *kh = fx("SSH_KNOWN_HOSTS");
    exec_cfg(&x, ntohs(a.sin_port), kh, 20);
    rsl_err err = {0};
    rsl_code rc = try_exec(&x, &err);
    cr_assert_eq(rc, RSL_E_CONNECT_REFUSED, "%s: %s", rsl_code_name(rc), err.msg);
    exec_cfg(&x, 22, kh, 20);
    x.host = "no-such-host.invalid";
    rc = try_exec(&x, &err);
    cr_assert_eq(rc, RSL_E_DNS_FAILED, "%s: %s", rsl_code_name(rc), err.msg);
    free(kh);
}

/* The child's environment and arguments, seen by a wrapper around ssh. */
Test(sftp_exec, clean_environment_and_options_first, .timeout = 60)
{
    char *d = rslt_tmpdir("wrap"), *wrap = NULL, *envf = NULL, *argf = NULL, *cmd = NULL;
    cr_assert(asprintf(&envf, "%s/env", d) > 0 && asprintf(&argf, "%s/args", d) > 0);
    cr_assert(asprintf(&wrap, "%s/my ssh", d) > 0); /* a space in the path */
    char script[8192];
    snprintf(script, sizeof(script),
             "#!/bin/sh\nenv > '%s'\nfor a in \"$@\"; do printf '%%s\\n' \"$a\"; done > '%s'\n"
             "exec ssh \"$@\"\n",
             envf, argf);
    rslt_write(wrap, script);
    chmod(wrap, 0755);
    cr_assert(asprintf(&cmd, "'%s' -F /dev/null -oCompression=no", wrap) > 0);
    setenv("RSYNCD_LITE_PASSWORD", "s3cret-must-not-leak", 1);
    setenv("SOME_OTHER_VAR", "x", 1);
    rsl_sftp_exec_cfg x;
    char *kh = fx("SSH_KNOWN_HOSTS");
    exec_cfg(&x, fx_int("SSH_PORT"), kh, 20);
    x.ssh_command = cmd;
    rsl_err err = {0};
    cr_assert_eq(try_exec(&x, &err), RSL_OK, "%s", err.msg);
    char *env = rslt_read(envf, NULL), *args = rslt_read(argf, NULL);
    cr_assert_not_null(env);
    cr_assert_null(strstr(env, "s3cret"), "the password reached the child:\n%s", env);
    cr_assert_null(strstr(env, "SOME_OTHER_VAR"), "%s", env);
    cr_assert(strstr(env, "PATH=") != NULL, "%s", env);
    if (getenv("HOME") != NULL)
        cr_assert(strstr(env, "HOME=") != NULL, "%s", env);
    /* ours first (ssh keeps the first value of an option), then the operator's */
    const char *batch = strstr(args, "-oBatchMode=yes\n");
    const char *strict = strstr(args, "-oStrictHostKeyChecking=yes\n");
    const char *op = strstr(args, "-F\n/dev/null\n-oCompression=no\n");
    const char *tail = strstr(args, "-s\n--\n127.0.0.1\nsftp\n");
    cr_assert(batch && strict && op && tail, "%s", args);
    cr_assert(batch < op && strict < op && op < tail, "%s", args);
    cr_assert(strstr(args, "-oUserKnownHostsFile=\"") &&
                  strstr(args, "-oGlobalKnownHostsFile=/dev/null"),
              "%s", args);
    unsetenv("RSYNCD_LITE_PASSWORD");
    free(env);
    free(args);
    free(kh);
    free(cmd);
    free(wrap);
    free(envf);
    free(argf);
    rslt_rmrf(d);
    free(d);
}

/* A child that ignores SIGTERM and never answers: TIMEOUT, then killed and
 * reaped on close. */
Test(sftp_exec, stubborn_child_is_killed, .timeout = 60)
{
    char *wrap = write_file("stubborn", "#!/bin/sh\ntrap '' TERM HUP INT\nexec sleep 120\n");
    chmod(wrap, 0755);
    rsl_sftp_exec_cfg x;
    exec_cfg(&x, fx_int("SSH_PORT"), NULL, 2);
    x.ssh_command = wrap;
    rsl_err err = {0};
    double t0 = now_s();
    rsl_code rc = try_exec(&x, &err);
    cr_assert_eq(rc, RSL_E_TIMEOUT, "%s: %s", rsl_code_name(rc), err.msg);
    cr_assert_lt(now_s() - t0, 10.0);
    free(wrap);
}

Test(sftp_exec, missing_program_is_a_config_error)
{
    rsl_sftp_exec_cfg x;
    exec_cfg(&x, 22, NULL, 5);
    x.ssh_command = "/nonexistent/ssh -v";
    rsl_sftp_carrier *car = NULL;
    rsl_err err = {0};
    cr_assert_eq(rsl_sftp_carrier_exec(&car, &x, &err), RSL_E_CONFIG_BAD_VALUE);
    cr_assert(strstr(err.msg, "cannot run '/nonexistent/ssh'") != NULL, "%s", err.msg);
    x.ssh_command = "ssh";
    x.host = "-oProxyCommand=evil";
    cr_assert_eq(rsl_sftp_carrier_exec(&car, &x, &err), RSL_E_CONFIG_BAD_VALUE,
                 "a host that looks like an option is refused");
    cr_assert_eq(children(), 0);
}

Test(sftp_exec, split_ssh_command)
{
    char **v = NULL;
    int n = 0;
    rsl_err err = {0};
    cr_assert_eq(rsl_sftp_exec_split("  /usr/bin/ssh -F '/etc/my ssh/config'  -o \"IdentityAgent "
                                     "\\\"x\\\"\" a\\ b ''",
                                     &v, &n, &err),
                 RSL_OK, "%s", err.msg);
    cr_assert_eq(n, 7);
    cr_assert_str_eq(v[0], "/usr/bin/ssh");
    cr_assert_str_eq(v[2], "/etc/my ssh/config");
    cr_assert_str_eq(v[4], "IdentityAgent \"x\"");
    cr_assert_str_eq(v[5], "a b");
    cr_assert_str_eq(v[6], "");
    cr_assert_null(v[7]);
    rsl_sftp_exec_argv_free(v);
    cr_assert_eq(rsl_sftp_exec_split("ssh 'open", &v, &n, &err), RSL_E_CONFIG_BAD_VALUE);
    cr_assert(strstr(err.msg, "not closed") != NULL, "%s", err.msg);
    cr_assert_eq(rsl_sftp_exec_split("ssh \\", &v, &n, &err), RSL_E_CONFIG_BAD_VALUE);
    cr_assert_eq(rsl_sftp_exec_split("   ", &v, &n, &err), RSL_E_CONFIG_BAD_VALUE);
    cr_assert_eq(rsl_sftp_exec_split("ssh\x01", &v, &n, &err), RSL_E_CONFIG_BAD_VALUE);
}

Test(sftp_exec, config_refuses_what_ssh_cannot_use)
{
    rsl_err err = {0};
    cr_assert_eq(rsl_sftp_exec_check_opts("ssh", NULL, NULL, NULL, &err), RSL_OK);
    cr_assert_eq(rsl_sftp_exec_check_opts("ssh", "", "", "", &err), RSL_OK, "empty is unset");
    cr_assert_eq(rsl_sftp_exec_check_opts("ssh", "/etc/rsl/pw", NULL, NULL, &err),
                 RSL_E_CONFIG_BAD_VALUE);
    cr_assert(strstr(err.msg, "password_file cannot be used with ssh_command") &&
                  strstr(err.msg, "password authentication is impossible"),
              "%s", err.msg);
    cr_assert_eq(rsl_sftp_exec_check_opts("ssh", NULL, "/etc/rsl/pp", NULL, &err),
                 RSL_E_CONFIG_BAD_VALUE);
    cr_assert(strstr(err.msg, "ssh-agent") != NULL, "%s", err.msg);
    cr_assert_eq(rsl_sftp_exec_check_opts("ssh", NULL, NULL, "SHA256:abc", &err),
                 RSL_E_CONFIG_BAD_VALUE);
    cr_assert(strstr(err.msg, "known_hosts") != NULL, "%s", err.msg);
    cr_assert_eq(rsl_sftp_exec_check_opts("ssh 'x", NULL, NULL, NULL, &err),
                 RSL_E_CONFIG_BAD_VALUE);
    /* RSYNCD_LITE_PASSWORD is not refused: it is simply never used, nor passed on */
    cr_assert_eq(rsl_sftp_exec_check_opts(NULL, NULL, NULL, NULL, &err), RSL_OK);
}

Test(sftp_exec, stderr_rules)
{
    static const struct {
        const char *text;
        rsl_code code;
    } cases[] = {
        {"@@@@@\r\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n@@@@@\r\nThe "
         "fingerprint for the ED25519 key sent by the remote host is\nSHA256:abcDEF.\r\nHost key "
         "verification failed.\r\n",
         RSL_E_HOSTKEY_CHANGED},
        {"No ED25519 host key is known for [h]:2 and you have requested strict checking.\r\nHost "
         "key verification failed.\r\n",
         RSL_E_HOSTKEY_UNKNOWN},
        {"u@h: Permission denied (publickey,password).\r\n", RSL_E_AUTH_FAILED},
        {"ssh: Could not resolve hostname x: Name or service not known\r\n", RSL_E_DNS_FAILED},
        {"ssh: connect to host h port 2: Connection refused\r\n", RSL_E_CONNECT_REFUSED},
        {"ssh: connect to host h port 2: Connection timed out\r\n", RSL_E_TIMEOUT},
        {"Timeout, server h not responding.\r\n", RSL_E_TIMEOUT},
        {"kex_exchange_identification: Connection closed by remote host\r\n",
         RSL_E_CONNECT_REFUSED},
        {"subsystem request failed on channel 0\r\n", RSL_E_PROTOCOL},
        {"command-line line 0: Bad configuration option: frobnicate\r\n", RSL_E_CONFIG_BAD_VALUE},
        {"client_loop: send disconnect: Broken pipe\r\n", RSL_E_CONNECTION_LOST},
        {"", RSL_E_CONNECTION_LOST},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rsl_err err = {0};
        rsl_code rc = rsl_sftp_exec_classify(cases[i].text, 255, "h", 2, &err);
        cr_assert_eq(rc, cases[i].code, "case %zu: %s (%s)", i, rsl_code_name(rc), err.msg);
        cr_assert(strstr(err.msg, "h:2") != NULL, "case %zu names the host: %s", i, err.msg);
        for (const char *p = err.msg; *p; p++)
            cr_assert((unsigned char)*p >= 0x20, "case %zu: control character in %s", i, err.msg);
    }
}
