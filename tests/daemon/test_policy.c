/* Tests for engine/daemon_policy: the scheduler daemon's decisions, with the
 * time passed in: the first start after a (re)load (missed cron runs made up),
 * the next start after a run, backoff after transient failures, which due
 * jobs start (never a job over itself, max_parallel, oldest first), and what
 * a reload does to running, removed and broken jobs. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <time.h>

#include "base/catalog.h"
#include "engine/daemon_policy.h"

static const rsl_daemon_policy pol = {.retry_min = 30, .retry_max = 3600, .max_parallel = 2};

/* 2026-03-10 12:00:00 UTC (a Tuesday) */
static const time_t T0 = 1773144000;

static void utc(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
}

static rsl_schedule sched(const char *expr)
{
    rsl_schedule s;
    char why[256];
    cr_assert_eq(rsl_schedule_parse(&s, expr, why, sizeof(why)), 0, "%s: %s", expr, why);
    return s;
}

static rsl_daemon_sched loaded(const char *expr, time_t last_start, time_t now)
{
    rsl_daemon_sched j = {0};
    rsl_schedule s = sched(expr);
    time_t missed;
    cr_assert_eq(rsl_daemon_policy_load(&j, &s, last_start, now, &missed), 0);
    return j;
}

Test(daemon_policy, every_first_start_follows_the_last_run)
{
    rsl_daemon_sched j = {0};
    rsl_schedule s = sched("every 1h");
    time_t missed = -5;
    /* never ran: at once */
    cr_assert_eq(rsl_daemon_policy_load(&j, &s, 0, T0, &missed), 0);
    cr_assert(j.scheduled);
    cr_assert_eq(j.next, T0);
    cr_assert_eq(missed, 0);
    /* ran 10 minutes ago: 50 minutes from now */
    cr_assert_eq(rsl_daemon_policy_load(&j, &s, T0 - 600, T0, &missed), 0);
    cr_assert_eq(j.next, T0 + 3000);
    /* ran 3 hours ago: at once, not in the past */
    cr_assert_eq(rsl_daemon_policy_load(&j, &s, T0 - 3 * 3600, T0, &missed), 0);
    cr_assert_eq(j.next, T0);
}

Test(daemon_policy, cron_makes_up_a_missed_run_once)
{
    utc();
    rsl_daemon_sched j = {0};
    rsl_schedule s = sched("0 0 1 1 *");
    time_t missed = 0;
    /* the last run was 400 days ago: a 1st of January passed meanwhile */
    cr_assert_eq(rsl_daemon_policy_load(&j, &s, T0 - 400L * 86400, T0, &missed), 0);
    cr_assert_eq(j.next, T0, "the missed run starts at once");
    cr_assert_eq(missed, 1767225600, "2026-01-01 00:00 UTC, got %ld", (long)missed);
    /* after it, the next is the next 1st of January */
    rsl_daemon_policy_started(&j, T0);
    cr_assert_eq(rsl_daemon_policy_finished(&pol, &j, 0, 0, T0 + 5), RSL_DAEMON_NEXT);
    cr_assert_eq(j.next, 1798761600, "2027-01-01 00:00 UTC, got %ld", (long)j.next);
    /* never ran: no make-up, the first match */
    cr_assert_eq(rsl_daemon_policy_load(&j, &s, 0, T0, &missed), 0);
    cr_assert_eq(missed, 0);
    cr_assert_eq(j.next, 1798761600);
    /* ran after the last match: nothing missed */
    s = sched("*/15 * * * *");
    cr_assert_eq(rsl_daemon_policy_load(&j, &s, T0 + 30, T0 + 60, &missed), 0);
    cr_assert_eq(missed, 0);
    cr_assert_eq(j.next, T0 + 900);
    /* a match fell between the last start and now: made up */
    cr_assert_eq(rsl_daemon_policy_load(&j, &s, T0 - 60, T0 + 60, &missed), 0);
    cr_assert_eq(missed, T0);
    cr_assert_eq(j.next, T0 + 60);
}

Test(daemon_policy, a_schedule_that_never_fires_is_not_scheduled)
{
    utc();
    rsl_daemon_sched j = {0};
    rsl_schedule s = sched("0 0 30 2 *");
    time_t missed;
    cr_assert_eq(rsl_daemon_policy_load(&j, &s, 0, T0, &missed), -1);
    cr_assert(!j.scheduled);
    size_t out[1];
    long wait;
    rsl_daemon_sched *v[1] = {&j};
    cr_assert_eq(rsl_daemon_policy_due(&pol, v, 1, 0, T0 + 86400L * 365, out, &wait), 0);
}

Test(daemon_policy, backoff_doubles_up_to_retry_max)
{
    const long want[] = {30, 60, 120, 240, 480, 960, 1920, 3600, 3600};
    for (int f = 1; f <= 9; f++)
        cr_assert_eq(rsl_daemon_policy_backoff(&pol, f), want[f - 1], "failure %d", f);
    rsl_daemon_policy small = {.retry_min = 2, .retry_max = 4, .max_parallel = 1};
    cr_assert_eq(rsl_daemon_policy_backoff(&small, 1), 2);
    cr_assert_eq(rsl_daemon_policy_backoff(&small, 2), 4);
    cr_assert_eq(rsl_daemon_policy_backoff(&small, 50), 4);
    rsl_daemon_policy odd = {.retry_min = 30, .retry_max = 100, .max_parallel = 1};
    cr_assert_eq(rsl_daemon_policy_backoff(&odd, 3), 100, "capped, not 120");
}

Test(daemon_policy, which_ends_are_transient)
{
    cr_assert(rsl_daemon_policy_transient(1, RSL_EXIT_SESSION));
    cr_assert(rsl_daemon_policy_transient(1, RSL_EXIT_TIMEOUT));
    cr_assert(rsl_daemon_policy_transient(1, RSL_EXIT_INTERRUPTED));
    cr_assert(rsl_daemon_policy_transient(1, 127));
    cr_assert(rsl_daemon_policy_transient(0, 9), "killed by a signal");
    cr_assert(!rsl_daemon_policy_transient(1, RSL_EXIT_OK));
    cr_assert(!rsl_daemon_policy_transient(1, RSL_EXIT_PARTIAL));
    cr_assert(!rsl_daemon_policy_transient(1, RSL_EXIT_VANISHED));
    cr_assert(!rsl_daemon_policy_transient(1, RSL_EXIT_USAGE));
    cr_assert(!rsl_daemon_policy_transient(1, RSL_EXIT_LOCKED));
}

Test(daemon_policy, failures_back_off_and_a_success_resets)
{
    rsl_daemon_sched j = loaded("every 1m", 0, T0);
    time_t now = T0;
    const long want[] = {30, 60, 120};
    for (int i = 0; i < 3; i++) {
        rsl_daemon_policy_started(&j, now);
        cr_assert(j.running);
        now += 5;
        cr_assert_eq(rsl_daemon_policy_finished(&pol, &j, 1, 0, now), RSL_DAEMON_RETRY);
        cr_assert(!j.running);
        cr_assert_eq(j.fails, i + 1);
        cr_assert_eq(j.next, now + want[i], "failure %d: next in %ld", i + 1, (long)(j.next - now));
        now = j.next;
    }
    rsl_daemon_policy_started(&j, now);
    cr_assert_eq(rsl_daemon_policy_finished(&pol, &j, 0, 0, now + 5), RSL_DAEMON_NEXT);
    cr_assert_eq(j.fails, 0);
    cr_assert_eq(j.next, now + 60, "every: from the run's start");
    /* a run longer than the interval: the next starts at once */
    now = j.next;
    rsl_daemon_policy_started(&j, now);
    cr_assert_eq(rsl_daemon_policy_finished(&pol, &j, 0, 0, now + 500), RSL_DAEMON_NEXT);
    cr_assert_eq(j.next, now + 500);
}

Test(daemon_policy, cron_next_is_the_next_match_after_the_end)
{
    utc();
    rsl_daemon_sched j = loaded("*/15 * * * *", 0, T0);
    cr_assert_eq(j.next, T0 + 900);
    rsl_daemon_policy_started(&j, T0 + 900);
    /* a run of 20 minutes skips the match it overlapped */
    cr_assert_eq(rsl_daemon_policy_finished(&pol, &j, 0, 0, T0 + 900 + 1200), RSL_DAEMON_NEXT);
    cr_assert_eq(j.next, T0 + 2700);
}

Test(daemon_policy, due_never_runs_a_job_over_itself)
{
    rsl_daemon_sched a = loaded("every 1s", 0, T0);
    rsl_daemon_sched *v[1] = {&a};
    size_t out[1];
    long wait;
    cr_assert_eq(rsl_daemon_policy_due(&pol, v, 1, 0, T0, out, &wait), 1);
    rsl_daemon_policy_started(&a, T0);
    /* long overdue while its run goes on: still not started again */
    cr_assert_eq(rsl_daemon_policy_due(&pol, v, 1, 1, T0 + 3600, out, &wait), 0);
    cr_assert_eq(wait, -1);
}

Test(daemon_policy, due_starts_the_oldest_first_within_max_parallel)
{
    rsl_daemon_sched j[5];
    rsl_daemon_sched *v[5];
    const time_t next[5] = {T0 - 10, T0 - 30, T0 + 50, T0 - 30, T0 - 20};
    for (int i = 0; i < 5; i++) {
        j[i] = loaded("every 1h", 0, T0);
        j[i].next = next[i];
        v[i] = &j[i];
    }
    size_t out[5];
    long wait;
    /* two slots: the two 30 s overdue, in table order */
    cr_assert_eq(rsl_daemon_policy_due(&pol, v, 5, 0, T0, out, &wait), 2);
    cr_assert_eq(out[0], 1);
    cr_assert_eq(out[1], 3);
    cr_assert_eq(wait, 50);
    /* one run going on: one slot */
    cr_assert_eq(rsl_daemon_policy_due(&pol, v, 5, 1, T0, out, &wait), 1);
    cr_assert_eq(out[0], 1);
    /* all slots taken: nothing, and the due ones wait for a run to end */
    cr_assert_eq(rsl_daemon_policy_due(&pol, v, 5, 2, T0, out, &wait), 0);
    /* more slots than due jobs: every due job, oldest first */
    rsl_daemon_policy wide = pol;
    wide.max_parallel = 10;
    cr_assert_eq(rsl_daemon_policy_due(&wide, v, 5, 0, T0, out, &wait), 4);
    cr_assert_eq(out[0], 1);
    cr_assert_eq(out[1], 3);
    cr_assert_eq(out[2], 4);
    cr_assert_eq(out[3], 0);
    /* removed and unscheduled jobs never start */
    rsl_daemon_policy_remove(&j[1]);
    rsl_daemon_policy_unschedule(&j[3]);
    cr_assert_eq(rsl_daemon_policy_due(&wide, v, 5, 0, T0, out, &wait), 2);
    cr_assert_eq(out[0], 4);
    cr_assert_eq(out[1], 0);
    /* nothing scheduled at all */
    cr_assert_eq(rsl_daemon_policy_due(&wide, v, 0, 0, T0, out, &wait), 0);
    cr_assert_eq(wait, -1);
}

Test(daemon_policy, reload_of_a_running_job_applies_when_its_run_ends)
{
    rsl_daemon_sched j = loaded("every 1h", 0, T0);
    rsl_daemon_policy_started(&j, T0);
    j.fails = 3;
    /* the file changed to "every 10m" while the run goes on */
    rsl_schedule s = sched("every 10m");
    time_t missed;
    cr_assert_eq(rsl_daemon_policy_load(&j, &s, T0, T0 + 60, &missed), 0);
    cr_assert(j.running, "a reload does not touch the running run");
    cr_assert_eq(j.fails, 0, "a reload forgets the failures");
    rsl_daemon_sched *v[1] = {&j};
    size_t out[1];
    long wait;
    cr_assert_eq(rsl_daemon_policy_due(&pol, v, 1, 1, T0 + 700, out, &wait), 0);
    cr_assert_eq(rsl_daemon_policy_finished(&pol, &j, 0, 0, T0 + 120), RSL_DAEMON_NEXT);
    cr_assert_eq(j.next, T0 + 600, "the new interval, from the run's start");
}

Test(daemon_policy, reload_removing_a_job)
{
    /* idle: dropped at once */
    rsl_daemon_sched idle = loaded("every 1m", 0, T0);
    cr_assert_eq(rsl_daemon_policy_remove(&idle), 1);
    /* running: dropped when its run ends, whatever the run's end */
    rsl_daemon_sched busy = loaded("every 1m", 0, T0);
    rsl_daemon_policy_started(&busy, T0);
    cr_assert_eq(rsl_daemon_policy_remove(&busy), 0);
    rsl_daemon_sched *v[1] = {&busy};
    size_t out[1];
    long wait;
    cr_assert_eq(rsl_daemon_policy_finished(&pol, &busy, 1, 0, T0 + 5), RSL_DAEMON_DROP);
    cr_assert_eq(busy.fails, 0, "no retry is planned for a removed job");
    cr_assert_eq(rsl_daemon_policy_due(&pol, v, 1, 0, T0 + 3600, out, &wait), 0);
}

Test(daemon_policy, reload_breaking_a_running_job_plans_no_retry)
{
    rsl_daemon_sched j = loaded("every 1m", 0, T0);
    rsl_daemon_policy_started(&j, T0);
    rsl_daemon_policy_unschedule(&j);
    cr_assert_eq(rsl_daemon_policy_finished(&pol, &j, 1, 0, T0 + 5), RSL_DAEMON_UNSCHEDULED);
    cr_assert_eq(j.fails, 0);
    rsl_daemon_sched *v[1] = {&j};
    size_t out[1];
    long wait;
    cr_assert_eq(rsl_daemon_policy_due(&pol, v, 1, 0, T0 + 3600, out, &wait), 0);
}

Test(daemon_policy, stopping_plans_nothing)
{
    rsl_daemon_sched j = loaded("every 1m", 0, T0);
    rsl_daemon_policy_started(&j, T0);
    time_t before = j.next;
    cr_assert_eq(rsl_daemon_policy_finished(&pol, &j, 1, 1, T0 + 5), RSL_DAEMON_STOPPING);
    cr_assert(!j.running);
    cr_assert_eq(j.fails, 0);
    cr_assert_eq(j.next, before);
}

Test(daemon_policy, a_failed_start_waits_retry_min)
{
    rsl_daemon_sched j = loaded("every 1m", 0, T0);
    rsl_daemon_policy_start_failed(&pol, &j, T0);
    cr_assert(!j.running);
    cr_assert_eq(j.next, T0 + 30);
    cr_assert_eq(j.fails, 0);
}

/* max_run_time: a run still going `grace` after it gets SIGTERM, `grace`
 * later SIGKILL, each once; the bound is the one the run started with. */
Test(daemon_policy, a_run_that_overstays_is_stopped_in_two_steps)
{
    rsl_daemon_sched j = loaded("every 1h", 0, T0);
    j.max_run_time = 60;
    rsl_daemon_policy_started(&j, T0);
    j.max_run_time = 10; /* a reload while it runs: applies to the next run */
    double w = 0;
    cr_assert_eq(rsl_daemon_policy_overstay(&j, 59, 30, &w), RSL_OVERSTAY_NONE);
    cr_assert_float_eq(w, 31, 1e-9, "%f", w);
    cr_assert_eq(rsl_daemon_policy_overstay(&j, 89.9, 30, &w), RSL_OVERSTAY_NONE);
    cr_assert_eq(rsl_daemon_policy_overstay(&j, 90, 30, &w), RSL_OVERSTAY_TERM);
    cr_assert_float_eq(w, 30, 1e-9);
    cr_assert_eq(rsl_daemon_policy_overstay(&j, 91, 30, &w), RSL_OVERSTAY_NONE, "once");
    cr_assert_eq(rsl_daemon_policy_overstay(&j, 120, 30, &w), RSL_OVERSTAY_KILL);
    cr_assert_eq(w, -1);
    cr_assert_eq(rsl_daemon_policy_overstay(&j, 500, 30, &w), RSL_OVERSTAY_NONE);
    /* stopped by its bound: not a failure to back off from */
    cr_assert(rsl_daemon_policy_hit_bound(&j, 0, 9, 150));
    cr_assert_eq(rsl_daemon_policy_finished(&pol, &j, 0, 0, T0 + 150), RSL_DAEMON_NEXT);
    cr_assert_eq(j.fails, 0);
    /* the next run has the new bound */
    rsl_daemon_policy_started(&j, T0 + 3600);
    cr_assert_eq(j.overstay, 0);
    cr_assert_eq(rsl_daemon_policy_overstay(&j, 40, 30, &w), RSL_OVERSTAY_TERM);
}

Test(daemon_policy, exit_30_at_max_run_time_is_the_bound_not_a_timeout)
{
    rsl_daemon_sched j = loaded("every 1h", 0, T0);
    j.max_run_time = 600;
    rsl_daemon_policy_started(&j, T0);
    cr_assert(rsl_daemon_policy_hit_bound(&j, 1, RSL_EXIT_TIMEOUT, 600.2));
    cr_assert_not(rsl_daemon_policy_hit_bound(&j, 1, RSL_EXIT_TIMEOUT, 20),
                  "a network timeout early in the run backs off as before");
    cr_assert_not(rsl_daemon_policy_hit_bound(&j, 1, RSL_EXIT_SESSION, 601));
    j.max_run_time = 0;
    rsl_daemon_policy_started(&j, T0);
    double w;
    cr_assert_eq(rsl_daemon_policy_overstay(&j, 1e6, 30, &w), RSL_OVERSTAY_NONE, "no bound");
    cr_assert_eq(w, -1);
    cr_assert_not(rsl_daemon_policy_hit_bound(&j, 1, RSL_EXIT_TIMEOUT, 1e6));
}
