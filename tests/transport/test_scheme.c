/* Tests for transports/transport.c: the scheme table, the run-time registry
 * and the one place that decides a connection's port. No server needed. */
#include <criterion/criterion.h>
#include <string.h>

#include "transports/ftps.h"
#include "transports/transport.h"

static int port_of(const char *url, int implicit)
{
    rsl_endpoint ep;
    rsl_err err;
    cr_assert_eq(rsl_endpoint_parse(&ep, url, &err), RSL_OK, "%s: %s", url, err.msg);
    rsl_remote_opts o;
    memset(&o, 0, sizeof(o));
    rsl_ftps_cfg cfg; /* ftps_mode = implicit moves the default port */
    rsl_ftps_cfg_init(&cfg);
    cfg.implicit = implicit;
    o.cfg = &cfg;
    int p = rsl_endpoint_port(&ep, &o);
    rsl_endpoint_free(&ep);
    return p;
}

Test(transport_scheme, default_ports_come_from_the_table)
{
    cr_assert_eq(port_of("http://h/x", 0), 80, "http:// is port 80, not https's 443");
    cr_assert_eq(port_of("https://h/x", 0), 443);
    cr_assert_eq(port_of("sftp://h/x", 0), 22);
    cr_assert_eq(port_of("ftps://h/x", 0), 21, "explicit FTPS starts plain on 21");
    cr_assert_eq(port_of("ftps://h/x", 1), 990, "implicit FTPS listens on 990");
    cr_assert_eq(port_of("ftp://h/x", 1), 21, "plain ftp:// never uses the implicit port");
    cr_assert_eq(port_of("file:///x", 0), 0);
    cr_assert_eq(port_of("https://h:8443/x", 0), 8443, "the URL's port wins");
    cr_assert_eq(port_of("ftps://h:2121/x", 1), 2121);
}

Test(transport_scheme, flags_say_which_schemes_are_plain_text)
{
    cr_assert(rsl_scheme_find("ftp")->flags & RSL_SCHEME_INSECURE);
    cr_assert(rsl_scheme_find("http")->flags & RSL_SCHEME_INSECURE);
    cr_assert(rsl_scheme_find("HTTPS")->flags & RSL_SCHEME_SECURE);
    cr_assert(rsl_scheme_find("file")->flags & RSL_SCHEME_LOCAL);
    cr_assert_eq(rsl_scheme_find("ftp")->ops, rsl_scheme_find("ftps")->ops);
    cr_assert_null(rsl_scheme_find("gopher"));
}

static rsl_code no_connect(rsl_conn **out, const rsl_endpoint *ep, const rsl_remote_opts *opts,
                           rsl_err *err)
{
    (void)out, (void)ep, (void)opts;
    return rsl_err_set(err, RSL_E_INTERNAL, 0, "not a real transport");
}

Test(transport_scheme, registry_accepts_only_its_version)
{
    static const rsl_transport_ops ok_ops = {
        .version = RSL_TRANSPORT_VERSION, .name = "dummy", .connect = no_connect};
    static const rsl_transport_ops old_ops = {
        .version = RSL_TRANSPORT_VERSION - 1, .name = "old", .connect = no_connect};
    static const rsl_scheme ok = {"dummy", &ok_ops, 9, RSL_SCHEME_SECURE};
    static const rsl_scheme old = {"old", &old_ops, 9, 0};
    static const rsl_scheme taken = {"sftp", &ok_ops, 9, 0};
    cr_assert_eq(rsl_scheme_register(&old), -1, "another interface version is refused");
    cr_assert_eq(rsl_scheme_register(&taken), -1, "a built-in scheme cannot be replaced");
    cr_assert_eq(rsl_scheme_register(&ok), 0);
    cr_assert_eq(rsl_transport_find("dummy"), &ok_ops);
    rsl_endpoint ep;
    rsl_err err;
    cr_assert_eq(rsl_endpoint_parse(&ep, "dummy://h/p", &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(rsl_endpoint_port(&ep, NULL), 9);
    rsl_endpoint_free(&ep);
    rsl_scheme_unregister("dummy");
    cr_assert_null(rsl_transport_find("dummy"));
}

/* A password never gets through, even with a '/' in it that RFC 3986 would
 * read as the end of the authority ("alice:12/34pw@host" is not host alice,
 * port 12), and it is never echoed in the message. */
Test(transport_scheme, a_password_in_the_url_is_refused_without_echo)
{
    static const char *const refused[] = {
        "sftp://alice:12/34pw@host/path", "sftp://alice:secret@host/path", "ftps://u:p%40ss@h/x",
        "https://a:b:c@h:443/x",          "sftp://host:2222/home/a@b/x", /* ambiguous: written %40
                                                                            it passes */
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        rsl_endpoint ep;
        rsl_err err;
        cr_assert_eq(rsl_endpoint_parse(&ep, refused[i], &err), RSL_E_CONFIG_BAD_VALUE, "%s",
                     refused[i]);
        cr_assert(strstr(err.msg, "password") != NULL, "%s", err.msg);
        cr_assert(strstr(err.msg, "34pw") == NULL && strstr(err.msg, "secret") == NULL &&
                      strstr(err.msg, "p%40ss") == NULL,
                  "the message echoes the secret: %s", err.msg);
    }
    static const struct {
        const char *url, *host, *user, *path;
        int port;
    } ok[] = {
        {"sftp://host:2222/home/a%40b/x", "host", NULL, "/home/a@b/x", 2222},
        {"sftp://deploy@host/home/alice@example.com/x", "host", "deploy",
         "/home/alice@example.com/x", 0},
        {"sftp://u@[::1]:22/x", "::1", "u", "/x", 22},
        {"https://h/a:b/c", "h", NULL, "/a:b/c", 0},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        rsl_endpoint ep;
        rsl_err err;
        cr_assert_eq(rsl_endpoint_parse(&ep, ok[i].url, &err), RSL_OK, "%s: %s", ok[i].url,
                     err.msg);
        cr_assert_str_eq(ep.host, ok[i].host, "%s", ok[i].url);
        if (ok[i].user)
            cr_assert_str_eq(ep.user, ok[i].user, "%s", ok[i].url);
        else
            cr_assert_null(ep.user, "%s", ok[i].url);
        cr_assert_str_eq(ep.path, ok[i].path, "%s", ok[i].url);
        cr_assert_eq(ep.port, ok[i].port, "%s", ok[i].url);
        rsl_endpoint_free(&ep);
    }
}

/* No message shows a destination with an '@', even one that fails for
 * another reason (a forgotten scheme, a bad port). */
Test(transport_scheme, a_destination_with_an_at_is_never_echoed)
{
    static const char *const bad[] = {"alice:pw@host/path", "sftp://bob@h:99999/x",
                                      "file://me@otherhost/x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rsl_endpoint ep;
        rsl_err err;
        cr_assert_neq(rsl_endpoint_parse(&ep, bad[i], &err), RSL_OK, "%s", bad[i]);
        cr_assert(strstr(err.msg, bad[i]) == NULL, "echoed: %s", err.msg);
        cr_assert(strstr(err.msg, "pw@") == NULL, "%s", err.msg);
    }
}
