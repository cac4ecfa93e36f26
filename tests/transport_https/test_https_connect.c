/*
 * test_https_connect.c - connect, authentication, TLS trust and the
 * connect-time error mappings of the https transport, against the real
 * Apache and nginx started by fixture-setup.sh.
 */
#define _GNU_SOURCE /* asprintf */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "https_test_util.h"

BOTH_SERVERS(connect_ok_describe_caps, .timeout = 60)
{
    topts *t = topts_new(srv);
    char *url = url_of(srv, "https", "/dav");
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    char d[1024];
    rsl_transport_https.describe(c, d, sizeof(d));
    cr_assert(strstr(d, "HTTP/2") != NULL, "not HTTP/2: %s", d);
    cr_assert(strstr(d, "TLS verified") != NULL, "%s", d);
    cr_assert(strstr(d, "basic auth as user 'rsl'") != NULL, "%s", d);
    unsigned caps = rsl_transport_https.caps_of(c);
    cr_assert(caps & RSL_CAP_ATOMIC_RENAME);
    cr_assert_eq(caps & RSL_CAP_SET_MTIME, 0u);
    if (is_apache(srv)) {
        cr_assert(strstr(d, "partial PUT supported (probed)") != NULL, "%s", d);
        cr_assert(caps & RSL_CAP_RESUME);
    } else {
        cr_assert(strstr(d, "partial PUT unsupported (probed)") != NULL, "%s", d);
        cr_assert(strstr(d, "whole-file PUT to the temp name") != NULL, "%s", d);
        cr_assert_eq(caps & RSL_CAP_RESUME, 0u);
        /* said once in the run log too */
        cr_assert_eq(rslt_count(t->log, "whole-file PUT to the temp name"), 1, "%s", t->log);
    }
    rsl_transport_https.disconnect(c);
    free(url);
    topts_free(t);
}

/* verify connects read-only: no probe file is written to the remote root
 * (the partial-PUT probe is a PUT, and its answer would be cached). */
BOTH_SERVERS(readonly_connect_writes_nothing, .timeout = 60)
{
    topts *t = topts_new(srv);
    t->o.readonly = 1;
    char *url = url_of(srv, "https", "/dav");
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    char d[1024];
    rsl_transport_https.describe(c, d, sizeof(d));
    cr_assert(strstr(d, "not probed: read-only") != NULL, "%s", d);
    cr_assert_eq(t->sets, 0, "a probe ran: %s", t->log);
    cr_assert_eq(rsl_transport_https.caps_of(c) & RSL_CAP_RESUME, 0u);
    rsl_transport_https.disconnect(c);
    free(url);
    topts_free(t);
}

BOTH_SERVERS(probe_answer_is_cached, .timeout = 60)
{
    topts *t = topts_new(srv);
    char *url = url_of(srv, "https", "/dav");
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    rsl_transport_https.disconnect(c);
    cr_assert_eq(t->sets, 1);
    cr_assert_eq(t->nkeys, 1);
    char *port = fx(srv, "PORT"), want[128];
    snprintf(want, sizeof(want), "https:127.0.0.1:%s/dav:partial-put", port);
    cr_assert_str_eq(t->keys[0], want);
    cr_assert_str_eq(t->vals[0], is_apache(srv) ? "yes" : "no");
    /* second connection: answered from the cache, no new probe */
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(t->sets, 1, "probed again");
    cr_assert_eq(t->hits, 1);
    char d[1024];
    rsl_transport_https.describe(c, d, sizeof(d));
    cr_assert(strstr(d, "(cached)") != NULL, "%s", d);
    rsl_transport_https.disconnect(c);
    /* and no probe file is left behind: none of this process's (the other
     * test processes share the server and may be probing right now) */
    char *www = fx(srv, "WWW");
    cr_assert_eq(rslt_sh(NULL, NULL, "ls '%s' | grep -q 'rsl-probe-%ld-'", www, (long)getpid()), 1);
    free(www);
    free(port);
    free(url);
    topts_free(t);
}

Test(https_apache, probe_catches_server_ignoring_content_range, .timeout = 60)
{
    /* /ignorant/ is mod_dav_fs with the Content-Range header stripped: it
     * answers 2xx to a ranged PUT and replaces the file with the chunk */
    topts *t = topts_new("APACHE");
    char *url = url_of("APACHE", "https", "/ignorant");
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    cr_assert_str_eq(t->vals[0], "no");
    cr_assert(strstr(t->log, "instead of the 20 expected") != NULL, "%s", t->log);
    cr_assert_eq(rsl_transport_https.caps_of(c) & RSL_CAP_RESUME, 0u);
    /* a multi-chunk file still arrives intact (whole-file PUT) */
    char *dir = rslt_tmpdir("ign"), *f = NULL;
    cr_assert(asprintf(&f, "%s/f.bin", dir) > 0);
    rslt_write_random(f, 300 * 1024 + 7, 3);
    t->cfg.chunk_size = 64 * 1024;
    char name[64];
    snprintf(name, sizeof(name), "ign-%ld.bin", (long)getpid());
    cr_assert_eq(push_file(&rsl_transport_https, c, f, name, &err), RSL_OK, "%s", err.msg);
    char *ign = fx("APACHE", "IGNORANT"), *disk = NULL;
    cr_assert(asprintf(&disk, "%s/%s", ign, name) > 0);
    cr_assert(files_equal(f, disk));
    unlink(disk);
    rsl_transport_https.disconnect(c);
    rslt_rmrf(dir);
    free(dir);
    free(f);
    free(ign);
    free(disk);
    free(url);
    topts_free(t);
}

BOTH_SERVERS(untrusted_cert, .timeout = 60)
{
    topts *t = topts_new(srv);
    char *url = url_of(srv, "https", "/dav");
    rsl_conn *c = NULL;
    rsl_err err;
    t->cfg.tls.ca_file = NULL; /* the system store does not know our private CA */
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_E_TLS_UNTRUSTED, "%d %s", err.code, err.msg);
    cr_assert(strstr(err.msg, "127.0.0.1") != NULL, "%s", err.msg);
    /* the other server's CA does not vouch for this one either */
    char *other = fx(is_apache(srv) ? "NGINX" : "APACHE", "CA_FILE");
    t->cfg.tls.ca_file = other;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_E_TLS_UNTRUSTED, "%d %s", err.code, err.msg);
    free(other);
    free(url);
    topts_free(t);
}

BOTH_SERVERS(pinned_pubkey, .timeout = 60)
{
    topts *t = topts_new(srv);
    char *url = url_of(srv, "https", "/dav");
    rsl_conn *c = NULL;
    rsl_err err;
    char *pin = fx(srv, "PIN"), *bad = fx(is_apache(srv) ? "NGINX" : "APACHE", "PIN");
    t->cfg.tls.pinned_pubkey = pin;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    char d[1024];
    rsl_transport_https.describe(c, d, sizeof(d));
    cr_assert(strstr(d, "pinned public key") != NULL, "%s", d);
    rsl_transport_https.disconnect(c);
    t->cfg.tls.pinned_pubkey = bad;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_E_TLS_UNTRUSTED, "%d %s", err.code, err.msg);
    free(pin);
    free(bad);
    free(url);
    topts_free(t);
}

BOTH_SERVERS(tls_verify_off_works_and_warns_every_connect, .timeout = 60)
{
    topts *t = topts_new(srv);
    char *url = url_of(srv, "https", "/dav");
    rsl_conn *c = NULL;
    rsl_err err;
    t->cfg.tls.ca_file = NULL;
    t->cfg.tls.tls_verify = 0;
    for (int i = 1; i <= 2; i++) {
        cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
        cr_assert_eq(rslt_count(t->log, "tls_verify = no"), i, "%s", t->log);
        char d[1024];
        rsl_transport_https.describe(c, d, sizeof(d));
        cr_assert(strstr(d, "NOT verified") != NULL, "%s", d);
        rsl_transport_https.disconnect(c);
    }
    free(url);
    topts_free(t);
}

BOTH_SERVERS(wrong_password_is_auth_failed_without_secret, .timeout = 60)
{
    topts *t = topts_new(srv);
    char *url = url_of(srv, "https", "/dav");
    char *dir = rslt_tmpdir("pw"), *pf = NULL;
    cr_assert(asprintf(&pf, "%s/pw", dir) > 0);
    rslt_write(pf, "Wr0ngSecretValue-77\n");
    t->o.password_file = pf;
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_E_AUTH_FAILED, "%d %s", err.code, err.msg);
    cr_assert(strstr(err.msg, "Wr0ngSecretValue") == NULL, "%s", err.msg);
    cr_assert(strstr(t->log, "Wr0ngSecretValue") == NULL, "%s", t->log);
    cr_assert(strstr(err.msg, "401") != NULL, "%s", err.msg);
    /* password from RSYNCD_LITE_PASSWORD (opts->password_env) works */
    char *good = fx(srv, "PASSWORD_FILE");
    char *pw = rslt_read(good, NULL);
    pw[strcspn(pw, "\n")] = '\0';
    t->o.password_file = NULL;
    t->o.password_env = pw;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    rsl_transport_https.disconnect(c);
    /* no password at all */
    t->o.password_env = NULL;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_E_SECRET_MISSING, "%d %s", err.code, err.msg);
    /* unreadable password file */
    t->o.password_file = "/nonexistent/pw";
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_E_SECRET_UNREADABLE, "%d %s", err.code, err.msg);
    free(pw);
    free(good);
    rslt_rmrf(dir);
    free(dir);
    free(pf);
    free(url);
    topts_free(t);
}

BOTH_SERVERS(bearer_token, .timeout = 60)
{
    topts *t = topts_new(srv);
    char *url = url_of(srv, "https", "/token");
    rsl_conn *c = NULL;
    rsl_err err;
    t->o.username = NULL;
    t->o.password_file = NULL;
    char *tok = fx(srv, "TOKEN_FILE");
    t->cfg.token_file = tok;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    char d[1024];
    rsl_transport_https.describe(c, d, sizeof(d));
    cr_assert(strstr(d, "bearer") != NULL, "%s", d);
    rsl_transport_https.disconnect(c);
    char *dir = rslt_tmpdir("tok"), *bad = NULL;
    cr_assert(asprintf(&bad, "%s/tok", dir) > 0);
    rslt_write(bad, "not-the-token-xyz\n");
    t->cfg.token_file = bad;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_E_AUTH_FAILED, "%d %s", err.code, err.msg);
    cr_assert(strstr(err.msg, "not-the-token") == NULL, "%s", err.msg);
    /* no credentials at all on a protected root */
    t->cfg.token_file = NULL;
    cr_assert_eq(t_connect(&c, url, t, &err),
                 is_apache(srv) ? RSL_E_AUTH_FAILED : RSL_E_SECRET_MISSING, "%d %s", err.code,
                 err.msg);
    rslt_rmrf(dir);
    free(dir);
    free(bad);
    free(tok);
    free(url);
    topts_free(t);
}

BOTH_SERVERS(plain_http_refused_unless_allowed, .timeout = 60)
{
    topts *t = topts_new(srv);
    char *url = url_of(srv, "http", "/dav");
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_E_INSECURE_REFUSED, "%d %s", err.code, err.msg);
    cr_assert_eq(t->nwarn, 0);
    /* allowed: warned on every connect (the TLS port then answers 400 to
     * plain HTTP, so the connect itself fails, but not as refused) */
    t->cfg.tls.allow_insecure = 1;
    for (int i = 1; i <= 2; i++) {
        rsl_code rc = t_connect(&c, url, t, &err);
        if (rc == RSL_OK)
            rsl_transport_https.disconnect(c);
        cr_assert_neq(rc, RSL_E_INSECURE_REFUSED);
        cr_assert_eq(rslt_count(t->log, "plain http://"), i, "%s", t->log);
    }
    free(url);
    topts_free(t);
}

BOTH_SERVERS(root_missing_or_file, .timeout = 60)
{
    topts *t = topts_new(srv);
    char *url = url_of(srv, "https", "/dav/no-such-root-dir");
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_E_REMOTE_ROOT_MISSING, "%d %s", err.code,
                 err.msg);
    cr_assert(strstr(err.msg, "/dav/no-such-root-dir") != NULL, "%s", err.msg);
    char *up = NULL, *disk = make_remote_root(srv, "rootfile", &up), *f = NULL, *fu = NULL;
    cr_assert(asprintf(&f, "%s/afile", disk) > 0);
    rslt_write(f, "x");
    cr_assert(asprintf(&fu, "%s/afile", up) > 0);
    free(url);
    url = url_of(srv, "https", fu);
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_E_REMOTE_ROOT_MISSING, "%d %s", err.code,
                 err.msg);
    rslt_rmrf(disk);
    free(disk);
    free(up);
    free(f);
    free(fu);
    free(url);
    topts_free(t);
}

BOTH_SERVERS(webdav_off_is_method_not_allowed, .timeout = 60)
{
    topts *t = topts_new(srv);
    char *url = url_of(srv, "https", "/plain");
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_E_METHOD_NOT_ALLOWED, "%d %s", err.code, err.msg);
    cr_assert_eq(err.native, 405);
    free(url);
    topts_free(t);
}

BOTH_SERVERS(redirect_not_followed_names_target, .timeout = 60)
{
    topts *t = topts_new(srv);
    char *url = url_of(srv, "https", "/redir");
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_E_REDIRECT, "%d %s", err.code, err.msg);
    char *port = fx(srv, "PORT"), want[128];
    snprintf(want, sizeof(want), "https://127.0.0.1:%s/dav/", port);
    cr_assert(strstr(err.msg, want) != NULL, "%s", err.msg);
    free(port);
    free(url);
    topts_free(t);
}

Test(https_net, connection_refused, .timeout = 60)
{
    /* a port that nothing listens on */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0);
    socklen_t al = sizeof(a);
    getsockname(s, (struct sockaddr *)&a, &al);
    close(s);
    char url[128];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/dav", ntohs(a.sin_port));
    topts *t = topts_new("APACHE");
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_E_CONNECT_REFUSED, "%d %s", err.code, err.msg);
    topts_free(t);
}

Test(https_net, silent_server_times_out, .timeout = 60)
{
    /* accepts TCP (kernel backlog) but never speaks TLS */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0);
    cr_assert(listen(s, 4) == 0);
    socklen_t al = sizeof(a);
    getsockname(s, (struct sockaddr *)&a, &al);
    char url[128];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/dav", ntohs(a.sin_port));
    topts *t = topts_new("APACHE");
    t->o.timeout_sec = 2;
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_E_TIMEOUT, "%d %s", err.code, err.msg);
    close(s);
    topts_free(t);
}

Test(https_nginx, http11_when_no_http2_offered, .timeout = 60)
{
    /* H1_PORT serves the same root without http2 in its ALPN list */
    topts *t = topts_new("NGINX");
    char *port = fx("NGINX", "H1_PORT"), url[128];
    snprintf(url, sizeof(url), "https://127.0.0.1:%s/dav", port);
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    char d[1024];
    rsl_transport_https.describe(c, d, sizeof(d));
    cr_assert(strstr(d, "over HTTP/1.1") != NULL, "%s", d);
    /* several requests over the kept-alive connection */
    char name[64];
    snprintf(name, sizeof(name), "h1-%ld", (long)getpid());
    cr_assert_eq(rsl_transport_https.mkdir(c, name, &err), RSL_OK, "%s", err.msg);
    rsl_rstat st;
    cr_assert_eq(rsl_transport_https.stat(c, name, &st, &err), RSL_OK, "%s", err.msg);
    cr_assert(st.exists && st.is_dir);
    cr_assert_eq(rsl_transport_https.remove(c, name, 1, &err), RSL_OK, "%s", err.msg);
    rsl_transport_https.disconnect(c);
    free(port);
    topts_free(t);
}

static rsl_code connect_port(const char *key, topts *t, rsl_err *err)
{
    char *port = fx("NGINX", key), url[128];
    snprintf(url, sizeof(url), "https://127.0.0.1:%s/dav", port);
    free(port);
    rsl_conn *c = NULL;
    rsl_code rc = t_connect(&c, url, t, err);
    if (rc == RSL_OK)
        rsl_transport_https.disconnect(c);
    return rc;
}

Test(https_nginx, expired_certificate, .timeout = 60)
{
    topts *t = topts_new("NGINX"); /* the same CA signed it */
    rsl_err err;
    cr_assert_eq(connect_port("EXPIRED_PORT", t, &err), RSL_E_TLS_EXPIRED, "%d %s", err.code,
                 err.msg);
    cr_assert(strstr(err.msg, "expired") != NULL, "%s", err.msg);
    topts_free(t);
}

Test(https_nginx, certificate_for_another_name, .timeout = 60)
{
    topts *t = topts_new("NGINX");
    rsl_err err;
    cr_assert_eq(connect_port("WRONGNAME_PORT", t, &err), RSL_E_TLS_NAME_MISMATCH, "%d %s",
                 err.code, err.msg);
    topts_free(t);
}

Test(https_net, unknown_host_is_dns_failed, .timeout = 60)
{
    /* .invalid never resolves (RFC 6761) */
    topts *t = topts_new("APACHE");
    t->o.timeout_sec = 10;
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, "https://no-such-host.invalid/dav", t, &err), RSL_E_DNS_FAILED,
                 "%d %s", err.code, err.msg);
    cr_assert(strstr(err.msg, "no-such-host.invalid") != NULL, "%s", err.msg);
    topts_free(t);
}
