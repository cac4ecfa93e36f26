/* SFTP connect, host-key trust and authentication against the fixture's real
 * sshd: every good and bad case we can provoke, with the catalog code and the
 * message checked (fingerprint and line to add present, secrets absent). */
#include "sftp_test.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

static char *root_dir;

static void setup(void)
{
    root_dir = mkroot("trust");
}

static rsl_code try_connect(rsl_remote_opts *o, rsl_err *err)
{
    rsl_conn *c = NULL;
    rsl_code rc = sconnect(&c, fx_int("SSH_PORT"), NULL, root_dir, o, err);
    if (rc == RSL_OK) {
        cr_assert(c != NULL);
        sftp_ops()->disconnect(c);
    } else {
        cr_assert(c == NULL, "no connection handed out on failure");
    }
    return rc;
}

/* The fixture's known_hosts line for the main instance, e.g. "[127.0.0.1]:PORT ssh-ed25519 AAAA" */
static char *expected_line(void)
{
    char *pub = fx("SSH_HOST_PUB");
    char *out = NULL;
    rslt_sh(&out, NULL, "printf '[127.0.0.1]:%d %%s' \"$(cut -d' ' -f1,2 '%s')\"",
            fx_int("SSH_PORT"), pub);
    return out;
}

static char *tmpfile_with(const char *tag, const char *content)
{
    char *d = rslt_tmpdir(tag);
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/file", d) > 0);
    rslt_write(p, content);
    return p;
}

TestSuite(sftp_trust, .init = setup);

Test(sftp_trust, known_host_ok)
{
    rsl_remote_opts o;
    opts_init(&o, NULL);
    rsl_err err;
    rsl_code rc = try_connect(&o, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
}

Test(sftp_trust, unknown_host_prints_fingerprint_and_line)
{
    rsl_remote_opts o;
    tlog log;
    opts_init(&o, &log);
    scfg(&o)->known_hosts = tmpfile_with("kh-empty", "");
    rsl_err err;
    rsl_code rc = try_connect(&o, &err);
    cr_assert_eq(rc, RSL_E_HOSTKEY_UNKNOWN, "%s %s", rsl_code_name(rc), err.msg);
    char *fp = fx("SSH_HOSTKEY_FP");
    cr_assert(strstr(err.msg, fp) != NULL, "fingerprint %s missing: %s", fp, err.msg);
    char *line = expected_line();
    cr_assert(strstr(err.msg, line) != NULL, "line '%s' missing: %s", line, err.msg);
    cr_assert(strstr(err.msg, scfg(&o)->known_hosts) != NULL, "file named: %s", err.msg);
    cr_assert(strstr(log.text, line) != NULL, "line also logged: %s", log.text);
}

Test(sftp_trust, missing_known_hosts_file_is_unknown)
{
    rsl_remote_opts o;
    opts_init(&o, NULL);
    scfg(&o)->known_hosts = "/nonexistent/known_hosts";
    rsl_err err;
    rsl_code rc = try_connect(&o, &err);
    cr_assert_eq(rc, RSL_E_HOSTKEY_UNKNOWN, "%s", rsl_code_name(rc));
    cr_assert(strstr(err.msg, "does not exist") != NULL, "%s", err.msg);
}

Test(sftp_trust, default_known_hosts_is_home_ssh)
{
    char *home = rslt_tmpdir("home");
    char *khdir = NULL, *kh = fx("SSH_KNOWN_HOSTS");
    cr_assert(asprintf(&khdir, "%s/.ssh", home) > 0);
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p '%s' && cp '%s' '%s/known_hosts'", khdir, kh, khdir),
                 0);
    setenv("HOME", home, 1);
    rsl_remote_opts o;
    opts_init(&o, NULL);
    scfg(&o)->known_hosts = NULL;
    rsl_err err;
    rsl_code rc = try_connect(&o, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    scfg(&o)->known_hosts = "~/.ssh/known_hosts";
    rc = try_connect(&o, &err);
    cr_assert_eq(rc, RSL_OK, "~ expanded: %s %s", rsl_code_name(rc), err.msg);
}

Test(sftp_trust, hashed_known_hosts_entry)
{
    char *kh = fx("SSH_KNOWN_HOSTS");
    char *d = rslt_tmpdir("kh-hashed");
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/known_hosts", d) > 0);
    cr_assert_eq(rslt_sh(NULL, NULL,
                         "cp '%s' '%s.in' && ssh-keygen -q -H -f '%s.in' && "
                         "{ printf '# comment\\n@cert-authority *.example ssh-ed25519 AAAAC3Nz\\n"
                         "weird.example unknown-type AAAA\\n'; cat '%s.in'; } > '%s'",
                         kh, p, p, p, p),
                 0);
    char *content = rslt_read(p, NULL);
    cr_assert(strstr(content, "|1|") != NULL && strstr(content, "[127.0.0.1]") == NULL,
              "hashed: %s", content);
    rsl_remote_opts o;
    opts_init(&o, NULL);
    scfg(&o)->known_hosts = p;
    rsl_err err;
    rsl_code rc = try_connect(&o, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
}

Test(sftp_trust, wildcard_and_negated_patterns)
{
    char *pub = fx("SSH_HOST_PUB");
    rsl_remote_opts o;
    opts_init(&o, NULL);
    char *kh = NULL;
    rslt_sh(&kh, NULL, "printf '[127.0.0.*]:* %%s\\n' \"$(cut -d' ' -f1,2 '%s')\"", pub);
    scfg(&o)->known_hosts = tmpfile_with("kh-wild", kh);
    rsl_err err;
    rsl_code rc = try_connect(&o, &err);
    cr_assert_eq(rc, RSL_OK, "wildcard: %s %s", rsl_code_name(rc), err.msg);
    rslt_sh(&kh, NULL, "printf '[127.0.0.*]:*,![127.0.0.1]:%d %%s\\n' \"$(cut -d' ' -f1,2 '%s')\"",
            fx_int("SSH_PORT"), pub);
    scfg(&o)->known_hosts = tmpfile_with("kh-neg", kh);
    rc = try_connect(&o, &err);
    cr_assert_eq(rc, RSL_E_HOSTKEY_UNKNOWN, "negated: %s", rsl_code_name(rc));
}

Test(sftp_trust, changed_key_never_proceeds)
{
    char *d = rslt_tmpdir("kh-changed");
    char *kh = NULL;
    cr_assert(asprintf(&kh, "%s/known_hosts", d) > 0);
    /* another ed25519 key for [127.0.0.1]:PORT */
    cr_assert_eq(rslt_sh(NULL, NULL,
                         "ssh-keygen -q -t ed25519 -N '' -f '%s/other' && "
                         "printf '[127.0.0.1]:%d %%s\\n' \"$(cut -d' ' -f1,2 '%s/other.pub')\" > "
                         "'%s'",
                         d, fx_int("SSH_PORT"), d, kh),
                 0);
    rsl_remote_opts o;
    tlog log;
    opts_init(&o, &log);
    scfg(&o)->known_hosts = kh;
    rsl_err err;
    rsl_code rc = try_connect(&o, &err);
    cr_assert_eq(rc, RSL_E_HOSTKEY_CHANGED, "%s %s", rsl_code_name(rc), err.msg);
    char *fp = fx("SSH_HOSTKEY_FP");
    cr_assert(strstr(err.msg, fp) != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, ":1") != NULL || strstr(err.msg, "line 1") != NULL, "%s", err.msg);
    /* not even with a password at hand: trust is checked before auth */
    o.password_file = fx("SSH_PASSWORD_FILE");
    cr_assert_eq(try_connect(&o, &err), RSL_E_HOSTKEY_CHANGED);
}

Test(sftp_trust, revoked_key_refused)
{
    char *pub = fx("SSH_HOST_PUB");
    char *kh = NULL;
    rslt_sh(&kh, NULL, "printf '@revoked * %%s\\n' \"$(cut -d' ' -f1,2 '%s')\"; cat '%s'", pub,
            fx("SSH_KNOWN_HOSTS"));
    rsl_remote_opts o;
    opts_init(&o, NULL);
    scfg(&o)->known_hosts = tmpfile_with("kh-revoked", kh);
    rsl_err err;
    rsl_code rc = try_connect(&o, &err);
    cr_assert_eq(rc, RSL_E_HOSTKEY_CHANGED, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, "REVOKED") != NULL, "%s", err.msg);
}

Test(sftp_trust, pinned_fingerprint_good_and_bad)
{
    rsl_remote_opts o;
    opts_init(&o, NULL);
    scfg(&o)->known_hosts = "/nonexistent/known_hosts"; /* the pin replaces known_hosts */
    scfg(&o)->host_key_fingerprint = fx("SSH_HOSTKEY_FP");
    rsl_err err;
    rsl_code rc = try_connect(&o, &err);
    cr_assert_eq(rc, RSL_OK, "good pin: %s %s", rsl_code_name(rc), err.msg);
    scfg(&o)->host_key_fingerprint = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    rc = try_connect(&o, &err);
    cr_assert_eq(rc, RSL_E_HOSTKEY_CHANGED, "bad pin: %s", rsl_code_name(rc));
    cr_assert(strstr(err.msg, fx("SSH_HOSTKEY_FP")) != NULL, "%s", err.msg);
}

Test(sftp_trust, strict_off_proceeds_and_warns_every_connect)
{
    rsl_remote_opts o;
    tlog log;
    opts_init(&o, &log);
    scfg(&o)->strict_host_key_checking = 0;
    scfg(&o)->known_hosts = tmpfile_with("kh-nostrict", "");
    rsl_err err;
    cr_assert_eq(try_connect(&o, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(try_connect(&o, &err), RSL_OK, "%s", err.msg);
    scfg(&o)->known_hosts = fx("SSH_KNOWN_HOSTS"); /* even when the key is known */
    cr_assert_eq(try_connect(&o, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(rslt_count(log.text, "strict_host_key_checking = no"), 3, "%s", log.text);
    cr_assert_geq(log.warns, 3);
}

static void need_password_auth(void)
{
    if (fx_int("SSH_PASSWORD_AUTH") == 0)
        cr_skip_test("sshd runs as a normal user: it cannot check passwords");
}

Test(sftp_trust, password_file_and_env)
{
    need_password_auth();
    rsl_remote_opts o;
    opts_init(&o, NULL);
    scfg(&o)->identity_file = NULL;
    o.password_file = fx("SSH_PASSWORD_FILE");
    rsl_err err;
    rsl_code rc = try_connect(&o, &err);
    cr_assert_eq(rc, RSL_OK, "password_file: %s %s", rsl_code_name(rc), err.msg);
    char *pw = rslt_read(o.password_file, NULL);
    pw[strcspn(pw, "\n")] = '\0';
    o.password_file = NULL;
    o.password_env = pw;
    rc = try_connect(&o, &err);
    cr_assert_eq(rc, RSL_OK, "password_env: %s %s", rsl_code_name(rc), err.msg);
}

Test(sftp_trust, password_by_keyboard_interactive)
{
    need_password_auth();
    char *port = rslt_fixture_get("SSH_PORT_KBD");
    if (port == NULL || port[0] == '\0')
        cr_skip_test("no PAM keyboard-interactive sshd (needs root)");
    rsl_remote_opts o;
    opts_init(&o, NULL);
    scfg(&o)->identity_file = NULL;
    o.password_file = fx("SSH_PASSWORD_FILE");
    rsl_conn *c = NULL;
    rsl_err err;
    rsl_code rc = sconnect(&c, (int)strtol(port, NULL, 10), NULL, root_dir, &o, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    char d[1024];
    sftp_ops()->describe(c, d, sizeof(d));
    cr_assert(strstr(d, "auth keyboard-interactive") != NULL, "%s", d);
    sftp_ops()->disconnect(c);
    o.password_file = NULL;
    o.password_env = "Wrong-Kbd-Secret-44";
    rc = sconnect(&c, (int)strtol(port, NULL, 10), NULL, root_dir, &o, &err);
    cr_assert_eq(rc, RSL_E_AUTH_FAILED, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, "keyboard-interactive") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "Wrong-Kbd-Secret-44") == NULL, "%s", err.msg);
}

Test(sftp_trust, wrong_password_is_auth_failed_without_the_secret)
{
    need_password_auth();
    rsl_remote_opts o;
    tlog log;
    opts_init(&o, &log);
    scfg(&o)->identity_file = NULL;
    o.password_file = tmpfile_with("badpw", "Wrong-Secret-Value-42\n");
    rsl_err err;
    rsl_code rc = try_connect(&o, &err);
    cr_assert_eq(rc, RSL_E_AUTH_FAILED, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, "Wrong-Secret-Value-42") == NULL, "secret leaked: %s", err.msg);
    cr_assert(strstr(log.text, "Wrong-Secret-Value-42") == NULL, "secret logged");
    cr_assert(strstr(err.msg, "password") != NULL, "says what was tried: %s", err.msg);
    o.password_file = NULL;
    o.password_env = "Wrong-Env-Secret-43";
    rc = try_connect(&o, &err);
    cr_assert_eq(rc, RSL_E_AUTH_FAILED, "%s", rsl_code_name(rc));
    cr_assert(strstr(err.msg, "Wrong-Env-Secret-43") == NULL, "secret leaked: %s", err.msg);
}

Test(sftp_trust, encrypted_key_with_passphrase_file)
{
    rsl_remote_opts o;
    opts_init(&o, NULL);
    scfg(&o)->identity_file = fx("SSH_KEY_ENC");
    scfg(&o)->passphrase_file = fx("SSH_PASSPHRASE_FILE");
    rsl_err err;
    rsl_code rc = try_connect(&o, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    /* wrong passphrase: auth fails, names the key, not the passphrase */
    scfg(&o)->passphrase_file = tmpfile_with("badpp", "not-the-passphrase-77\n");
    rc = try_connect(&o, &err);
    cr_assert_eq(rc, RSL_E_AUTH_FAILED, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, scfg(&o)->identity_file) != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "not-the-passphrase-77") == NULL, "%s", err.msg);
}

Test(sftp_trust, secret_files_unreadable_or_empty)
{
    rsl_remote_opts o;
    opts_init(&o, NULL);
    scfg(&o)->identity_file = NULL;
    o.password_file = "/nonexistent/password";
    rsl_err err;
    cr_assert_eq(try_connect(&o, &err), RSL_E_SECRET_UNREADABLE);
    cr_assert(strstr(err.msg, "/nonexistent/password") != NULL, "%s", err.msg);
    o.password_file = tmpfile_with("emptypw", "\n");
    cr_assert_eq(try_connect(&o, &err), RSL_E_SECRET_UNREADABLE, "%s", err.msg);
    o.password_file = NULL;
    scfg(&o)->identity_file = "/nonexistent/id";
    cr_assert_eq(try_connect(&o, &err), RSL_E_SECRET_UNREADABLE, "%s", err.msg);
}

Test(sftp_trust, no_credentials_is_secret_missing)
{
    unsetenv("SSH_AUTH_SOCK");
    rsl_remote_opts o;
    opts_init(&o, NULL);
    scfg(&o)->identity_file = NULL;
    scfg(&o)->use_agent = 1;
    rsl_err err;
    rsl_code rc = try_connect(&o, &err);
    cr_assert_eq(rc, RSL_E_SECRET_MISSING, "%s %s", rsl_code_name(rc), err.msg);
}

Test(sftp_trust, ssh_agent)
{
    char *out = NULL;
    cr_assert_eq(rslt_sh(&out, NULL, "ssh-agent -s"), 0);
    char *sock = strstr(out, "SSH_AUTH_SOCK="), *pid = strstr(out, "SSH_AGENT_PID=");
    cr_assert(sock && pid);
    sock += strlen("SSH_AUTH_SOCK=");
    sock[strcspn(sock, ";")] = '\0';
    long agent = strtol(pid + strlen("SSH_AGENT_PID="), NULL, 10);
    setenv("SSH_AUTH_SOCK", sock, 1);
    int added = rslt_sh(NULL, NULL, "ssh-add '%s'", fx("SSH_KEY"));
    rsl_remote_opts o;
    opts_init(&o, NULL);
    scfg(&o)->identity_file = NULL;
    scfg(&o)->use_agent = 1;
    rsl_err err;
    rsl_code rc = added == 0 ? try_connect(&o, &err) : RSL_E_INTERNAL;
    rsl_code rc_off = RSL_OK;
    scfg(&o)->use_agent = 0;
    rc_off = try_connect(&o, &err);
    kill((pid_t)agent, SIGTERM);
    cr_assert_eq(added, 0, "ssh-add failed");
    cr_assert_eq(rc, RSL_OK, "agent auth: %s", rsl_code_name(rc));
    cr_assert_eq(rc_off, RSL_E_SECRET_MISSING, "use_agent = 0 ignores the agent");
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    getsockname(s, (struct sockaddr *)&a, &l);
    close(s);
    return ntohs(a.sin_port);
}

Test(sftp_trust, connection_refused)
{
    rsl_remote_opts o;
    opts_init(&o, NULL);
    rsl_conn *c = NULL;
    rsl_err err;
    rsl_code rc = sconnect(&c, free_port(), NULL, root_dir, &o, &err);
    cr_assert_eq(rc, RSL_E_CONNECT_REFUSED, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, "127.0.0.1") != NULL, "%s", err.msg);
}

Test(sftp_trust, dns_failure)
{
    rsl_remote_opts o;
    opts_init(&o, NULL);
    rsl_endpoint ep;
    rsl_err err;
    cr_assert_eq(rsl_endpoint_parse(&ep, "sftp://u@no-such-host.invalid/x", &err), RSL_OK);
    rsl_conn *c = NULL;
    rsl_code rc = sftp_ops()->connect(&c, &ep, &o, &err);
    cr_assert_eq(rc, RSL_E_DNS_FAILED, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, "no-such-host.invalid") != NULL, "%s", err.msg);
    rsl_endpoint_free(&ep);
}

Test(sftp_trust, silent_server_times_out)
{
    /* a listener that accepts (kernel backlog) but never sends a banner */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(s, 4), 0);
    getsockname(s, (struct sockaddr *)&a, &l);
    rsl_remote_opts o;
    opts_init(&o, NULL);
    o.timeout_sec = 1;
    rsl_conn *c = NULL;
    rsl_err err;
    rsl_code rc = sconnect(&c, ntohs(a.sin_port), NULL, root_dir, &o, &err);
    cr_assert_eq(rc, RSL_E_TIMEOUT, "%s %s", rsl_code_name(rc), err.msg);
    close(s);
}

Test(sftp_trust, server_closing_at_once_is_refused)
{
    /* accepts and closes immediately, like an IP allow-list or tcpwrappers */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(s, 4), 0);
    getsockname(s, (struct sockaddr *)&a, &l);
    pid_t kid = fork();
    if (kid == 0) {
        int x = accept(s, NULL, NULL);
        close(x);
        _exit(0);
    }
    rsl_remote_opts o;
    opts_init(&o, NULL);
    o.timeout_sec = 5;
    rsl_conn *c = NULL;
    rsl_err err;
    rsl_code rc = sconnect(&c, ntohs(a.sin_port), NULL, root_dir, &o, &err);
    waitpid(kid, NULL, 0);
    close(s);
    cr_assert_eq(rc, RSL_E_CONNECT_REFUSED, "%s %s", rsl_code_name(rc), err.msg);
}

Test(sftp_trust, unknown_host_line_printed_once)
{
    /* the line to add is in the error; a run prints warnings and errors of
     * the log too, so the log has it only at debug level (for -v) */
    rsl_remote_opts o;
    tlog log;
    opts_init(&o, &log);
    scfg(&o)->known_hosts = tmpfile_with("kh-once", "");
    rsl_err err;
    cr_assert_eq(try_connect(&o, &err), RSL_E_HOSTKEY_UNKNOWN);
    char *line = expected_line();
    cr_assert_eq(rslt_count(err.msg, line), 1, "%s", err.msg);
    cr_assert_eq(log.warns, 0, "nothing a run prints besides the error: %s", log.text);
    char debug_line[4096];
    snprintf(debug_line, sizeof(debug_line), "%d sftp: to trust", RSL_LOG_DEBUG);
    cr_assert(strstr(log.text, debug_line) != NULL, "%s", log.text);
}

Test(sftp_trust, a_key_the_server_does_not_accept)
{
    char *d = rslt_tmpdir("notauth");
    cr_assert_eq(rslt_sh(NULL, NULL, "ssh-keygen -q -t ed25519 -N '' -f '%s/other'", d), 0);
    char *key = NULL;
    cr_assert(asprintf(&key, "%s/other", d) > 0);
    rsl_remote_opts o;
    opts_init(&o, NULL);
    scfg(&o)->identity_file = key;
    rsl_err err;
    rsl_code rc = try_connect(&o, &err);
    cr_assert_eq(rc, RSL_E_AUTH_FAILED, "%s %s", rsl_code_name(rc), err.msg);
    char *user = fx("SSH_USER");
    char want[4096];
    snprintf(want, sizeof(want), "the server did not accept key %s for user %s", key, user);
    cr_assert(strstr(err.msg, want) != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "authorized_keys") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "passphrase") == NULL, "not a passphrase problem: %s", err.msg);
}

Test(sftp_trust, a_key_that_cannot_be_loaded)
{
    rsl_remote_opts o;
    opts_init(&o, NULL);
    scfg(&o)->identity_file = fx("SSH_KEY_ENC");
    scfg(&o)->passphrase_file = tmpfile_with("badpp2", "not-the-passphrase-78\n");
    rsl_err err;
    rsl_code rc = try_connect(&o, &err);
    cr_assert_eq(rc, RSL_E_AUTH_FAILED, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, "could not be loaded") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "passphrase") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "did not accept") == NULL, "the server never saw it: %s", err.msg);
}
