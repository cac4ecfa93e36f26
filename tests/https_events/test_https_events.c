/* Tests for transports/https_events: libcurl's sockets and timer for a multi
 * handle, driven with curl_multi_socket_action. A plain-HTTP server on
 * 127.0.0.1 in a thread answers each request after a delay: the watch list
 * holds the socket while transfers run and lets it go when libcurl closes
 * it; the timer starts a transfer just added; a drive with nothing ready
 * waits (at most its wait_ms) and one with a reply on its way wakes for it;
 * many transfers multiplexed over one kept-alive connection all complete. */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "transports/https_events.h"

typedef struct server {
    int lfd, port, delay_ms, served;
    pthread_t th;
} server;

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* One connection: answers each request (headers up to the blank line) with
 * "ok" after delay_ms, keeping the connection open. */
static void serve_conn(server *s, int fd)
{
    char buf[4096];
    size_t have = 0;
    for (;;) {
        char *end = have ? memmem(buf, have, "\r\n\r\n", 4) : NULL;
        if (end == NULL) {
            ssize_t n = read(fd, buf + have, sizeof(buf) - have);
            if (n <= 0)
                return;
            have += (size_t)n;
            continue;
        }
        size_t used = (size_t)(end + 4 - buf);
        memmove(buf, buf + used, have - used);
        have -= used;
        msleep(s->delay_ms);
        /* counted before the answer goes out: the client may finish and
         * read the count before this thread runs again */
        __atomic_add_fetch(&s->served, 1, __ATOMIC_SEQ_CST);
        static const char ans[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        if (write(fd, ans, sizeof(ans) - 1) != (ssize_t)(sizeof(ans) - 1))
            return;
    }
}

static void *serve(void *arg)
{
    server *s = arg;
    for (;;) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        serve_conn(s, fd);
        close(fd);
    }
}

static void server_start(server *s, int delay_ms)
{
    memset(s, 0, sizeof(*s));
    s->delay_ms = delay_ms;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(s->lfd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(s->lfd, 8), 0);
    socklen_t l = sizeof(a);
    cr_assert_eq(getsockname(s->lfd, (struct sockaddr *)&a, &l), 0);
    s->port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&s->th, NULL, serve, s), 0);
}

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
    (void)p;
    *(size_t *)ud += sz * n;
    return sz * n;
}

static CURL *get(const server *s, size_t *got)
{
    CURL *h = curl_easy_init();
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", s->port);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, got);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    return h;
}

/* Drives until n transfers are done or 5 s passed; returns how many. */
static int run_until(rsl_https_events *ev, CURLM *m, int n)
{
    int done = 0, msgs;
    double end = now_ms() + 5000;
    while (done < n && now_ms() < end) {
        cr_assert_eq(rsl_https_events_drive(ev, m, 200), CURLM_OK);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &msgs)) != NULL)
            if (msg->msg == CURLMSG_DONE) {
                cr_assert_eq(msg->data.result, CURLE_OK);
                done++;
            }
    }
    return done;
}

Test(https_events, one_transfer_the_socket_is_watched_then_let_go)
{
    server s;
    server_start(&s, 50);
    CURLM *m = curl_multi_init();
    rsl_https_events ev;
    rsl_https_events_attach(&ev, m);
    size_t got = 0;
    CURL *h = get(&s, &got);
    cr_assert_eq(ev.timer_at, -1, "no timer before any transfer");
    curl_multi_add_handle(m, h);
    cr_assert_geq(ev.timer_at, 0, "adding a transfer sets the timer that starts it");
    /* the reply comes 50 ms after the request: a drive that may wait
     * 1000 ms returns when it arrives, not at the end of its wait */
    int done = 0, msgs, saw_socket = 0;
    double t0 = now_ms();
    while (!done && now_ms() - t0 < 3000) {
        cr_assert_eq(rsl_https_events_drive(&ev, m, 1000), CURLM_OK);
        saw_socket |= ev.n == 1;
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &msgs)) != NULL)
            done += msg->msg == CURLMSG_DONE && msg->data.result == CURLE_OK;
    }
    double took = now_ms() - t0;
    cr_assert(done, "the transfer completed");
    cr_assert(saw_socket, "the connection's socket was watched");
    cr_assert_eq(got, 2);
    cr_assert(took >= 45 && took < 900, "took %.0f ms for a 50 ms reply", took);
    curl_multi_remove_handle(m, h);
    curl_easy_cleanup(h);
    curl_multi_cleanup(m); /* closes the kept-alive connection: REMOVE */
    cr_assert_eq(ev.n, 0, "the socket was let go");
    rsl_https_events_free(&ev);
    shutdown(s.lfd, SHUT_RDWR);
    close(s.lfd);
}

Test(https_events, nothing_to_do_waits_its_time_only)
{
    CURLM *m = curl_multi_init();
    rsl_https_events ev;
    rsl_https_events_attach(&ev, m);
    double t0 = now_ms();
    cr_assert_eq(rsl_https_events_drive(&ev, m, 0), CURLM_OK);
    cr_assert_lt(now_ms() - t0, 50, "a drive of 0 ms does not wait");
    t0 = now_ms();
    cr_assert_eq(rsl_https_events_drive(&ev, m, 100), CURLM_OK);
    double took = now_ms() - t0;
    cr_assert(took >= 90 && took < 1000, "waited %.0f ms of 100", took);
    curl_multi_cleanup(m);
    rsl_https_events_free(&ev);
}

Test(https_events, many_transfers_on_kept_alive_connections_all_complete)
{
    server s;
    server_start(&s, 0);
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
    rsl_https_events ev;
    rsl_https_events_attach(&ev, m);
    size_t got = 0;
    enum { N = 40 };
    CURL *h[N];
    for (int i = 0; i < N; i++) {
        h[i] = get(&s, &got);
        curl_multi_add_handle(m, h[i]);
    }
    cr_assert_eq(run_until(&ev, m, N), N);
    cr_assert_eq(got, 2 * N);
    cr_assert_eq(__atomic_load_n(&s.served, __ATOMIC_SEQ_CST), N);
    cr_assert_leq(ev.n, 1, "one connection at a time: %zu sockets watched", ev.n);
    for (int i = 0; i < N; i++) {
        curl_multi_remove_handle(m, h[i]);
        curl_easy_cleanup(h[i]);
    }
    curl_multi_cleanup(m);
    rsl_https_events_free(&ev);
    shutdown(s.lfd, SHUT_RDWR);
    close(s.lfd);
}
