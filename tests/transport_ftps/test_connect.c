/* FTPS transport: connect, authentication, certificate trust and the session
 * error mappings, against the real vsftpd instances of fixture-setup.sh. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ftps_test.h"

static rsl_code try_connect(fx *f, const char *scheme, const char *host, int port, const char *path,
                            rsl_err *err)
{
    rsl_conn *c = NULL;
    rsl_code rc = fx_connect_url(f, scheme, host, port, path, &c, err);
    if (rc == RSL_OK)
        rsl_transport_ftps.disconnect(c);
    else
        cr_assert_null(c);
    return rc;
}

Test(ftps_connect, ca_file_trusts_and_root_checked)
{
    fx f;
    fx_load(&f);
    rsl_err err = {0};
    rsl_conn *c = NULL;
    rsl_code rc = fx_connect_url(&f, "ftps", f.host, f.port, "/data", &c, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    char d[1024];
    rsl_transport_ftps.describe(c, d, sizeof(d));
    cr_assert(strstr(d, "explicit TLS") && strstr(d, "TLS 1.2"), "%s", d);
    unsigned caps = rsl_transport_ftps.caps_of(c);
    cr_assert(caps & RSL_CAP_RESUME);
    rsl_ftps_stats st;
    rsl_ftps_stats_get(c, &st);
    cr_assert_eq(st.control_connects, 1);
    cr_assert_eq(st.tls_full_handshakes, 1, "one full handshake for the control connection");
    rsl_transport_ftps.disconnect(c);
    cr_assert_eq(f.log.nwarn, 0, "no warning when verifying: %s", f.log.text);
    fx_free(&f);
}

Test(ftps_connect, untrusted_without_ca_file)
{
    fx f;
    fx_load(&f);
    f.cfg.tls.ca_file = NULL; /* system store: our private CA is unknown */
    rsl_err err = {0};
    rsl_code rc = try_connect(&f, "ftps", f.host, f.port, "/data", &err);
    cr_assert_eq(rc, RSL_E_TLS_UNTRUSTED, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, f.host) != NULL, "message names the host: %s", err.msg);
    fx_free(&f);
}

Test(ftps_connect, pinned_pubkey)
{
    fx f;
    fx_load(&f);
    rsl_err err = {0};
    f.cfg.tls.pinned_pubkey = f.pin;
    rsl_code rc = try_connect(&f, "ftps", f.host, f.port, "/data", &err);
    cr_assert_eq(rc, RSL_OK, "right pin: %s %s", rsl_code_name(rc), err.msg);
    f.cfg.tls.pinned_pubkey = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    rc = try_connect(&f, "ftps", f.host, f.port, "/data", &err);
    cr_assert_eq(rc, RSL_E_TLS_UNTRUSTED, "wrong pin: %s %s", rsl_code_name(rc), err.msg);
    /* the pin alone (no ca_file: the CA is unknown to the system store) trusts the key */
    f.cfg.tls.ca_file = NULL;
    f.cfg.tls.pinned_pubkey = f.pin;
    rc = try_connect(&f, "ftps", f.host, f.port, "/data", &err);
    cr_assert_eq(rc, RSL_OK, "pin only: %s %s", rsl_code_name(rc), err.msg);
    cr_assert_eq(f.log.nwarn, 0, "a pin is verification: no warning");
    f.cfg.tls.pinned_pubkey = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    rc = try_connect(&f, "ftps", f.host, f.port, "/data", &err);
    cr_assert_eq(rc, RSL_E_TLS_UNTRUSTED, "wrong pin only: %s %s", rsl_code_name(rc), err.msg);
    fx_free(&f);
}

Test(ftps_connect, tls_verify_off_works_and_warns_every_connect)
{
    fx f;
    fx_load(&f);
    f.cfg.tls.ca_file = NULL;
    f.cfg.tls.tls_verify = 0;
    rsl_err err = {0};
    for (int i = 0; i < 2; i++) {
        rsl_code rc = try_connect(&f, "ftps", f.host, f.port, "/data", &err);
        cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    }
    cr_assert_eq(f.log.nwarn, 2, "one warning per connect: %s", f.log.text);
    cr_assert(strstr(f.log.text, "NOT verified") != NULL, "%s", f.log.text);
    fx_free(&f);
}

Test(ftps_connect, name_mismatch)
{
    fx f;
    fx_load(&f);
    rsl_err err = {0};
    /* the certificate names IP 127.0.0.1 only */
    rsl_code rc = try_connect(&f, "ftps", "localhost", f.port, "/data", &err);
    cr_assert_eq(rc, RSL_E_TLS_NAME_MISMATCH, "%s %s", rsl_code_name(rc), err.msg);
    fx_free(&f);
}

Test(ftps_connect, expired_certificate)
{
    fx f;
    fx_load(&f);
    rsl_err err = {0};
    rsl_code rc = try_connect(&f, "ftps", f.host, f.expired_port, "/data", &err);
    cr_assert_eq(rc, RSL_E_TLS_EXPIRED, "%s %s", rsl_code_name(rc), err.msg);
    fx_free(&f);
}

Test(ftps_connect, wrong_password_is_auth_failed_without_secret)
{
    fx f;
    fx_load(&f);
    char *dir = rslt_tmpdir("ftps-pw");
    char pw[4096];
    snprintf(pw, sizeof(pw), "%s/pw", dir);
    rslt_write(pw, "Wr0ngSecretXYZ\n");
    f.o.password_file = pw;
    rsl_err err = {0};
    rsl_code rc = try_connect(&f, "ftps", f.host, f.port, "/data", &err);
    cr_assert_eq(rc, RSL_E_AUTH_FAILED, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert_eq(err.native, 530);
    cr_assert(strstr(err.msg, "Wr0ngSecretXYZ") == NULL, "password leaked: %s", err.msg);
    cr_assert(strstr(err.msg, f.user) != NULL, "names the user: %s", err.msg);
    cr_assert(strstr(f.log.text, "Wr0ngSecretXYZ") == NULL);
    /* the right password through RSYNCD_LITE_PASSWORD (password_env) */
    f.o.password_file = NULL;
    char *real = rslt_read(f.pwfile, NULL);
    real[strcspn(real, "\r\n")] = '\0';
    f.o.password_env = real;
    rc = try_connect(&f, "ftps", f.host, f.port, "/data", &err);
    cr_assert_eq(rc, RSL_OK, "password_env: %s %s", rsl_code_name(rc), err.msg);
    f.o.password_env = "pw\r\nDELE /data/x";
    rc = try_connect(&f, "ftps", f.host, f.port, "/data", &err);
    cr_assert_eq(rc, RSL_E_SECRET_UNREADABLE, "CR/LF in a password: %s", rsl_code_name(rc));
    cr_assert(strstr(err.msg, "DELE") == NULL);
    f.o.password_env = NULL;
    rc = try_connect(&f, "ftps", f.host, f.port, "/data", &err);
    cr_assert_eq(rc, RSL_E_SECRET_MISSING, "%s", rsl_code_name(rc));
    free(real);
    rslt_rmrf(dir);
    free(dir);
    fx_free(&f);
}

Test(ftps_connect, plain_ftp_refused_unless_allowed)
{
    fx f;
    fx_load(&f);
    rsl_err err = {0};
    rsl_code rc = try_connect(&f, "ftp", f.host, f.port, "/data", &err);
    cr_assert_eq(rc, RSL_E_INSECURE_REFUSED, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert_eq(f.log.nwarn, 0);
    /* allowed: warns on every connect; this server demands TLS for logins (530) */
    f.cfg.tls.allow_insecure = 1;
    for (int i = 0; i < 2; i++) {
        rc = try_connect(&f, "ftp", f.host, f.port, "/data", &err);
        cr_assert_eq(rc, RSL_E_AUTH_FAILED, "%s %s", rsl_code_name(rc), err.msg);
        cr_assert(strstr(err.msg, "encryption") != NULL, "server's reason kept: %s", err.msg);
    }
    cr_assert_eq(f.log.nwarn, 2, "%s", f.log.text);
    cr_assert(strstr(f.log.text, "unencrypted") != NULL, "%s", f.log.text);
    /* a server without TLS: works, and warns again */
    rsl_conn *c = NULL;
    rc = fx_connect_url(&f, "ftp", f.host, f.plain_port, "/data", &c, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert_eq(f.log.nwarn, 3);
    char d[512];
    rsl_transport_ftps.describe(c, d, sizeof(d));
    cr_assert(strstr(d, "PLAIN FTP") != NULL, "%s", d);
    char local[4200];
    snprintf(local, sizeof(local), "%s/plain.txt", f.datadir);
    unlink(local);
    cr_assert_eq(fx_put(c, "plain.txt", "in clear", -1, &err), RSL_OK, "%s", err.msg);
    char *got = rslt_read(local, NULL);
    cr_assert_str_eq(got, "in clear");
    free(got);
    rsl_ftps_stats st;
    rsl_ftps_stats_get(c, &st);
    cr_assert_eq(st.tls_handshakes, 0, "no TLS on ftp://");
    rsl_transport_ftps.disconnect(c);
    fx_free(&f);
}

Test(ftps_connect, remote_root_missing)
{
    fx f;
    fx_load(&f);
    rsl_err err = {0};
    rsl_code rc = try_connect(&f, "ftps", f.host, f.port, "/no/such/dir", &err);
    cr_assert_eq(rc, RSL_E_REMOTE_ROOT_MISSING, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, "/no/such/dir") != NULL, "%s", err.msg);
    fx_free(&f);
}

Test(ftps_connect, connection_refused)
{
    fx f;
    fx_load(&f);
    /* a port nothing listens on: bind, read the port, close */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t l = sizeof(a);
    getsockname(s, (struct sockaddr *)&a, &l);
    close(s);
    rsl_err err = {0};
    rsl_code rc = try_connect(&f, "ftps", f.host, ntohs(a.sin_port), "/data", &err);
    cr_assert_eq(rc, RSL_E_CONNECT_REFUSED, "%s %s", rsl_code_name(rc), err.msg);
    fx_free(&f);
}

Test(ftps_connect, silent_server_times_out)
{
    fx f;
    fx_load(&f);
    /* listens but never answers: the TCP handshake completes, no 220 comes */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(s, 4), 0);
    socklen_t l = sizeof(a);
    getsockname(s, (struct sockaddr *)&a, &l);
    f.o.timeout_sec = 2;
    rsl_err err = {0};
    rsl_code rc = try_connect(&f, "ftps", f.host, ntohs(a.sin_port), "/data", &err);
    close(s);
    cr_assert_eq(rc, RSL_E_TIMEOUT, "%s %s", rsl_code_name(rc), err.msg);
    fx_free(&f);
}

Test(ftps_connect, too_many_connections_is_busy)
{
    fx f;
    fx_load(&f);
    rsl_err err = {0};
    rsl_conn *first = NULL;
    /* the busy instance takes one client (max_clients=1); poll until the fixture's
     * readiness probe has left it */
    rsl_code rc = RSL_E_REMOTE_BUSY;
    for (int i = 0; i < 100 && rc == RSL_E_REMOTE_BUSY; i++) {
        rc = fx_connect_url(&f, "ftps", f.host, f.busy_port, "/data", &first, &err);
        if (rc == RSL_E_REMOTE_BUSY)
            usleep(50000);
    }
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    rc = try_connect(&f, "ftps", f.host, f.busy_port, "/data", &err);
    cr_assert_eq(rc, RSL_E_REMOTE_BUSY, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert_eq(err.native, 421);
    cr_assert_eq(rsl_code_class(rc), RSL_CLASS_TRANSIENT);
    rsl_transport_ftps.disconnect(first);
    fx_free(&f);
}

Test(ftps_connect, passive_mode_refused_is_passive_failed)
{
    fx f;
    fx_load(&f);
    rsl_err err = {0};
    rsl_conn *c = NULL;
    /* this server refuses EPSV and PASV: the control connection works, data cannot */
    rsl_code rc = fx_connect_url(&f, "ftps", f.host, f.nopasv_port, "/data", &c, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    tsrc t;
    tsrc_mem(&t, "x", 1);
    rc = rsl_transport_ftps.upload(c, "p.rsl-part", 0, 1, &t.s, &err);
    cr_assert_eq(rc, RSL_E_PASSIVE_FAILED, "%s %s", rsl_code_name(rc), err.msg);
    /* the server said why (issue 10.8): its answer, not a firewall guess; the
     * firewall hint is for a data connection that could not be opened
     * (test_hostile.c, passive_port_closed_gives_the_firewall_hint) */
    cr_assert(strstr(err.msg, "550 Permission denied.") != NULL, "server's answer: %s", err.msg);
    cr_assert(strstr(err.msg, "passive mode") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "firewall") == NULL, "no firewall guess: %s", err.msg);
    rsl_transport_ftps.disconnect(c);
    fx_free(&f);
}

Test(ftps_connect, implicit_tls)
{
    fx f;
    fx_load(&f);
    rsl_err err = {0};
    f.cfg.implicit = 1;
    rsl_conn *c = NULL;
    rsl_code rc = fx_connect_url(&f, "ftps", f.host, f.implicit_port, "/data", &c, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    char d[1024];
    rsl_transport_ftps.describe(c, d, sizeof(d));
    cr_assert(strstr(d, "implicit TLS") != NULL, "%s", d);
    /* a data connection works too (require_ssl_reuse applies) */
    rsl_rstat st;
    cr_assert_eq(rsl_transport_ftps.stat(c, "", &st, &err), RSL_OK, "%s", err.msg);
    cr_assert(st.exists && st.is_dir);
    rsl_transport_ftps.disconnect(c);
    /* implicit against an explicit server (and the reverse) fail as TLS errors */
    rc = try_connect(&f, "ftps", f.host, f.port, "/data", &err);
    cr_assert(rc == RSL_E_TLS_FAILED || rc == RSL_E_TIMEOUT, "%s %s", rsl_code_name(rc), err.msg);
    f.cfg.implicit = 0;
    f.o.timeout_sec = 3;
    rc = try_connect(&f, "ftps", f.host, f.implicit_port, "/data", &err);
    cr_assert(rc == RSL_E_TLS_FAILED || rc == RSL_E_TIMEOUT || rc == RSL_E_PROTOCOL ||
                  rc == RSL_E_CONNECTION_LOST,
              "%s %s", rsl_code_name(rc), err.msg);
    fx_free(&f);
}

Test(ftps_connect, control_chars_in_destination_refused)
{
    fx f;
    fx_load(&f);
    rsl_endpoint ep = {.scheme = "ftps",
                       .user = f.user,
                       .host = f.host,
                       .port = f.port,
                       .path = "/data\r\nDELE /data/x"};
    rsl_conn *c = NULL;
    rsl_err err = {0};
    rsl_code rc = rsl_transport_ftps.connect(&c, &ep, &f.o, &err);
    cr_assert_eq(rc, RSL_E_CONFIG_BAD_VALUE, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert_null(c);
    fx_free(&f);
}
