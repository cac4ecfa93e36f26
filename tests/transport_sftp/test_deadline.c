/* Every network step of connect has a deadline derived from `timeout`: a
 * server that accepts TCP and never speaks SSH, and one that stops in the
 * middle of authentication (the fixture's "slowauth" sshd, whose public-key
 * check never answers), give TIMEOUT within about `timeout` seconds, on the
 * libssh2 carrier. */
#include "sftp_test.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static rsl_code timed_connect(int port, int timeout, double *took, rsl_err *err)
{
    char *root = mkroot("deadline");
    rsl_remote_opts o;
    opts_init(&o, NULL);
    o.timeout_sec = timeout;
    rsl_conn *c = NULL;
    double t0 = now_s();
    rsl_code rc = sconnect(&c, port, NULL, root, &o, err);
    *took = now_s() - t0;
    if (c != NULL)
        sftp_ops()->disconnect(c);
    return rc;
}

Test(sftp_deadline, a_server_that_never_speaks_ssh)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(s, 4), 0);
    getsockname(s, (struct sockaddr *)&a, &l);
    double took = 0;
    rsl_err err;
    rsl_code rc = timed_connect(ntohs(a.sin_port), 2, &took, &err);
    close(s);
    cr_assert_eq(rc, RSL_E_TIMEOUT, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(took >= 1.5 && took < 4.0, "gave up after %.2f s with timeout 2 s", took);
    cr_assert(strstr(err.msg, "within 2 s"), "%s", err.msg);
}

Test(sftp_deadline, a_server_that_stops_mid_auth)
{
    char *port = rslt_fixture_get("SSH_PORT_SLOWAUTH");
    if (port == NULL || port[0] == '\0')
        cr_skip_test("no slowauth sshd (AuthorizedKeysCommand needs root)");
    double took = 0;
    rsl_err err;
    rsl_code rc = timed_connect((int)strtol(port, NULL, 10), 2, &took, &err);
    cr_assert_eq(rc, RSL_E_TIMEOUT, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(took >= 1.5 && took < 4.0, "gave up after %.2f s with timeout 2 s", took);
    cr_assert(strstr(err.msg, "authentication"), "says where it stopped: %s", err.msg);
}
