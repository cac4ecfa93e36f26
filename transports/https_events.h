/*
 * https_events.h - the sockets and the timer libcurl asks an https
 * connection to watch, and the loop that hands it what happened
 * (curl_multi_socket_action), instead of curl_multi_perform.
 *
 * curl_multi_perform looks at every transfer of the multi handle, and for
 * each one in progress libcurl polls its socket: with 64 streams in flight
 * on one HTTP/2 connection that is 64 poll() calls per step, about a dozen
 * per request in a run of small files. Told which socket is ready (and how),
 * libcurl reads that connection once and moves only what it carries.
 *
 * Owns: the watch list (one entry per socket libcurl named, with the events
 * it wants) and the timer's deadline.
 * Must not touch: requests, their deadlines and results (https_req.c).
 */
#ifndef RSL_HTTPS_EVENTS_H
#define RSL_HTTPS_EVENTS_H

#include <curl/curl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rsl_https_events {
    struct pollfd *pfd; /* the sockets, with the events libcurl wants */
    size_t n, cap;
    int64_t timer_at; /* CLOCK_MONOTONIC ms when libcurl wants its timeout action; -1: none */
    int oom;          /* the watch list could not grow: the next drive fails */
} rsl_https_events;

/* Installs the socket and timer callbacks on m; ev lives as long as m. */
void rsl_https_events_attach(rsl_https_events *ev, CURLM *m);
void rsl_https_events_free(rsl_https_events *ev);
/* Waits at most wait_ms (0: only what is ready now; never past libcurl's
 * timer) for a watched socket, then tells libcurl which sockets are ready
 * and, when due, that its timer expired. CURLM_OK, CURLM_OUT_OF_MEMORY
 * when the watch list could not grow, or libcurl's error. */
CURLMcode rsl_https_events_drive(rsl_https_events *ev, CURLM *m, int wait_ms);

#endif
