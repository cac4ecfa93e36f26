/*
 * daemon_policy.c - the scheduler daemon's decisions. See daemon_policy.h.
 */
#include "daemon_policy.h"

#include "base/catalog.h"

int rsl_daemon_policy_load(rsl_daemon_sched *j, const rsl_schedule *s, time_t last_start,
                           time_t now, time_t *missed)
{
    *missed = 0;
    j->sched = *s;
    j->fails = 0;
    j->scheduled = 0;
    if (s->kind == RSL_SCHED_EVERY) {
        j->next = last_start > 0 ? last_start + s->every_sec : now;
        if (j->next < now)
            j->next = now;
    } else {
        time_t m = last_start > 0 ? rsl_schedule_next(s, last_start) : -1;
        if (m > 0 && m <= now) {
            *missed = m;
            j->next = now;
        } else {
            j->next = rsl_schedule_next(s, now);
        }
        if (j->next < 0)
            return -1;
    }
    j->scheduled = 1;
    return 0;
}

void rsl_daemon_policy_unschedule(rsl_daemon_sched *j)
{
    j->scheduled = 0;
}

int rsl_daemon_policy_remove(rsl_daemon_sched *j)
{
    j->removed = 1;
    return !j->running;
}

/* Job i is startable now. */
static int is_due(const rsl_daemon_sched *j, time_t now)
{
    return j->scheduled && !j->removed && !j->running && j->next <= now;
}

/* (next, index) of a comes before that of b. */
static int before(const rsl_daemon_sched *a, size_t ia, const rsl_daemon_sched *b, size_t ib)
{
    return a->next < b->next || (a->next == b->next && ia < ib);
}

size_t rsl_daemon_policy_due(const rsl_daemon_policy *p, rsl_daemon_sched *const *jobs, size_t n,
                             int running, time_t now, size_t *out, long *wait_s)
{
    *wait_s = -1;
    for (size_t i = 0; i < n; i++) {
        const rsl_daemon_sched *j = jobs[i];
        if (j->scheduled && !j->removed && !j->running && j->next > now &&
            (*wait_s < 0 || j->next - now < *wait_s))
            *wait_s = (long)(j->next - now);
    }
    /* a selection, not a sort: the slots are few, and nothing is allocated */
    size_t k = 0;
    for (; running + (int)k < p->max_parallel; k++) {
        size_t best = n;
        for (size_t i = 0; i < n; i++) {
            if (!is_due(jobs[i], now))
                continue;
            if (k > 0 && !before(jobs[out[k - 1]], out[k - 1], jobs[i], i))
                continue; /* already picked */
            if (best == n || before(jobs[i], i, jobs[best], best))
                best = i;
        }
        if (best == n)
            break;
        out[k] = best;
    }
    return k;
}

void rsl_daemon_policy_started(rsl_daemon_sched *j, time_t now)
{
    j->running = 1;
    j->started = now;
    j->run_bound = j->max_run_time;
    j->overstay = 0;
}

rsl_daemon_overstay rsl_daemon_policy_overstay(rsl_daemon_sched *j, double secs, long grace,
                                               double *wait_s)
{
    *wait_s = -1;
    if (!j->running || j->run_bound <= 0 || j->overstay >= 2)
        return RSL_OVERSTAY_NONE;
    double at = (double)j->run_bound + (double)grace * (j->overstay + 1);
    if (secs < at) {
        *wait_s = at - secs;
        return RSL_OVERSTAY_NONE;
    }
    j->overstay++;
    if (j->overstay < 2)
        *wait_s = (double)grace;
    return j->overstay == 1 ? RSL_OVERSTAY_TERM : RSL_OVERSTAY_KILL;
}

int rsl_daemon_policy_hit_bound(const rsl_daemon_sched *j, int exited, int code, double secs)
{
    if (j->overstay > 0)
        return 1;
    return j->run_bound > 0 && exited && code == RSL_EXIT_TIMEOUT &&
           secs + 1.0 >= (double)j->run_bound;
}

void rsl_daemon_policy_start_failed(const rsl_daemon_policy *p, rsl_daemon_sched *j, time_t now)
{
    j->next = now + p->retry_min;
}

int rsl_daemon_policy_transient(int exited, int code)
{
    if (!exited)
        return 1; /* killed by a signal */
    return code == RSL_EXIT_SESSION || code == RSL_EXIT_TIMEOUT || code == RSL_EXIT_INTERRUPTED ||
           code == 127;
}

long rsl_daemon_policy_backoff(const rsl_daemon_policy *p, int fails)
{
    long b = p->retry_min;
    for (int i = 1; i < fails && b < p->retry_max; i++)
        b *= 2;
    return b < p->retry_max ? b : p->retry_max;
}

rsl_daemon_after rsl_daemon_policy_finished(const rsl_daemon_policy *p, rsl_daemon_sched *j,
                                            int transient, int stopping, time_t now)
{
    j->running = 0;
    if (j->removed)
        return RSL_DAEMON_DROP;
    if (stopping)
        return RSL_DAEMON_STOPPING;
    if (!j->scheduled)
        return RSL_DAEMON_UNSCHEDULED;
    if (transient) {
        j->fails++;
        j->next = now + rsl_daemon_policy_backoff(p, j->fails);
        return RSL_DAEMON_RETRY;
    }
    j->fails = 0;
    if (j->sched.kind == RSL_SCHED_EVERY) {
        j->next = j->started + j->sched.every_sec;
        if (j->next < now)
            j->next = now;
    } else if ((j->next = rsl_schedule_next(&j->sched, now)) < 0) {
        j->scheduled = 0;
        return RSL_DAEMON_UNSCHEDULED;
    }
    return RSL_DAEMON_NEXT;
}
