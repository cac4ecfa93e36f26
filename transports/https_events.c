/*
 * https_events.c - libcurl's sockets and timer for one multi handle. See
 * https_events.h.
 */
#include "https_events.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct pollfd *find(rsl_https_events *ev, curl_socket_t s)
{
    for (size_t i = 0; i < ev->n; i++)
        if (ev->pfd[i].fd == s)
            return &ev->pfd[i];
    return NULL;
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what libcurl wants, or forget it. */
static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    (void)socketp;
    rsl_https_events *ev = userp;
    struct pollfd *p = find(ev, s);
    if (what == CURL_POLL_REMOVE) {
        if (p != NULL)
            *p = ev->pfd[--ev->n];
        return 0;
    }
    short want =
        (short)(((what & CURL_POLL_IN) ? POLLIN : 0) | ((what & CURL_POLL_OUT) ? POLLOUT : 0));
    if (p == NULL) {
        if (ev->n == ev->cap) {
            size_t cap = ev->cap ? ev->cap * 2 : 4;
            struct pollfd *v = realloc(ev->pfd, cap * sizeof(*v));
            if (v == NULL) {
                ev->oom = 1;
                return -1;
            }
            ev->pfd = v;
            ev->cap = cap;
        }
        p = &ev->pfd[ev->n++];
        p->fd = s;
    }
    p->events = want;
    p->revents = 0;
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: when libcurl wants its timeout action. */
static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    rsl_https_events *ev = userp;
    ev->timer_at = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    return 0;
}

void rsl_https_events_attach(rsl_https_events *ev, CURLM *m)
{
    ev->pfd = NULL;
    ev->n = ev->cap = 0;
    ev->timer_at = -1;
    ev->oom = 0;
    curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(m, CURLMOPT_SOCKETDATA, ev);
    curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(m, CURLMOPT_TIMERDATA, ev);
}

void rsl_https_events_free(rsl_https_events *ev)
{
    free(ev->pfd);
    ev->pfd = NULL;
    ev->n = ev->cap = 0;
}

/* poll()'s answer for one socket as libcurl's CURL_CSELECT_* bits. */
static int bits_of(short re)
{
    int b = 0;
    if (re & (POLLIN | POLLHUP))
        b |= CURL_CSELECT_IN;
    if (re & POLLOUT)
        b |= CURL_CSELECT_OUT;
    if (re & (POLLERR | POLLNVAL))
        b |= CURL_CSELECT_ERR;
    return b;
}

/* The ready sockets, copied first: libcurl changes the watch list while it
 * acts on each. */
enum { MAX_READY = 64 };

CURLMcode rsl_https_events_drive(rsl_https_events *ev, CURLM *m, int wait_ms)
{
    if (ev->oom)
        return CURLM_OUT_OF_MEMORY;
    int t = wait_ms < 0 ? 0 : wait_ms;
    if (ev->timer_at >= 0) {
        int64_t left = ev->timer_at - now_ms();
        if (left < t)
            t = left < 0 ? 0 : (int)left;
    }
    int n = poll(ev->pfd, (nfds_t)ev->n, t);
    if (n < 0 && errno != EINTR)
        return CURLM_INTERNAL_ERROR;
    curl_socket_t fds[MAX_READY];
    int bits[MAX_READY];
    int k = 0;
    for (size_t i = 0; n > 0 && i < ev->n && k < MAX_READY; i++)
        if (ev->pfd[i].revents != 0) {
            fds[k] = ev->pfd[i].fd;
            bits[k++] = bits_of(ev->pfd[i].revents);
        }
    int running = 0;
    CURLMcode mc = CURLM_OK;
    for (int i = 0; i < k && mc == CURLM_OK; i++)
        mc = curl_multi_socket_action(m, fds[i], bits[i], &running);
    if (mc == CURLM_OK && ev->timer_at >= 0 && now_ms() >= ev->timer_at) {
        ev->timer_at = -1; /* libcurl sets the next one while it acts */
        mc = curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    if (mc == CURLM_OK && ev->oom)
        mc = CURLM_OUT_OF_MEMORY;
    return mc;
}
