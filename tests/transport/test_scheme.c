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
