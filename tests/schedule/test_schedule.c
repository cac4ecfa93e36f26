/* Tests for engine/schedule: cron and "every" parsing, next-run computation,
 * intervals, and the health rules. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/schedule.h"

static void tz(const char *zone)
{
    setenv("TZ", zone, 1);
    tzset();
}

/* "2026-11-22 14:05" in the current TZ -> time_t */
static time_t at(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_isdst = -1};
    return mktime(&tm);
}

static rsl_schedule parse_ok(const char *e)
{
    rsl_schedule s;
    char err[256] = "";
    cr_assert_eq(rsl_schedule_parse(&s, e, err, sizeof(err)), 0, "'%s': %s", e, err);
    return s;
}

static void parse_bad(const char *e, const char *want)
{
    rsl_schedule s;
    char err[256] = "";
    cr_assert_eq(rsl_schedule_parse(&s, e, err, sizeof(err)), -1, "'%s' accepted", e);
    cr_assert(strstr(err, want) != NULL, "'%s': error '%s' lacks '%s'", e, err, want);
}

Test(schedule, star_fields_match_everything)
{
    rsl_schedule s = parse_ok("* * * * *");
    cr_assert_eq(s.kind, RSL_SCHED_CRON);
    cr_assert_eq(s.minute, (1ull << 60) - 1);
    cr_assert_eq(s.hour, (1u << 24) - 1);
    cr_assert_eq(s.dom, ((1u << 31) - 1) << 1);
    cr_assert_eq(s.month, ((1u << 12) - 1) << 1);
    cr_assert_eq(s.dow, 0x7f);
    cr_assert(s.dom_star && s.dow_star);
}

Test(schedule, ranges_steps_lists)
{
    rsl_schedule s = parse_ok("*/15 9-17 1,15 */3 1-5");
    cr_assert_eq(s.minute, (1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45));
    cr_assert_eq(s.hour, 0x3fe00u); /* 9..17 */
    cr_assert_eq(s.dom, (1u << 1) | (1u << 15));
    cr_assert_eq(s.month, (1u << 1) | (1u << 4) | (1u << 7) | (1u << 10));
    cr_assert_eq(s.dow, 0x3eu);
    cr_assert(!s.dom_star && !s.dow_star);
    s = parse_ok("10-30/10 0 * * *");
    cr_assert_eq(s.minute, (1ull << 10) | (1ull << 20) | (1ull << 30));
    s = parse_ok("5/20 0 * * *"); /* cron: 5-59/20 */
    cr_assert_eq(s.minute, (1ull << 5) | (1ull << 25) | (1ull << 45));
    s = parse_ok("0,30 1,2-4,22 * * *");
    cr_assert_eq(s.minute, 1ull | (1ull << 30));
    cr_assert_eq(s.hour, (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 22));
}

Test(schedule, names_and_sunday_seven)
{
    rsl_schedule s = parse_ok("0 0 * JAN,jul-Sep mon-fri");
    cr_assert_eq(s.month, (1u << 1) | (1u << 7) | (1u << 8) | (1u << 9));
    cr_assert_eq(s.dow, 0x3eu);
    s = parse_ok("0 0 * * 7");
    cr_assert_eq(s.dow, 1u);
    s = parse_ok("0 0 * * sun");
    cr_assert_eq(s.dow, 1u);
    s = parse_ok("@daily");
    cr_assert_eq(s.minute, 1ull);
    cr_assert_eq(s.hour, 1u);
}

Test(schedule, every_intervals)
{
    cr_assert_eq(parse_ok("every 30s").every_sec, 30);
    cr_assert_eq(parse_ok("every 15m").every_sec, 900);
    cr_assert_eq(parse_ok("every 2h").every_sec, 7200);
    cr_assert_eq(parse_ok("every 1d").every_sec, 86400);
    cr_assert_eq(parse_ok("  every  1s ").kind, RSL_SCHED_EVERY);
    cr_assert_eq(
        rsl_schedule_next(&(rsl_schedule){.kind = RSL_SCHED_EVERY, .every_sec = 900}, 1000), 1900);
}

Test(schedule, invalid_expressions_have_clear_errors)
{
    parse_bad("", "expected 5 fields");
    parse_bad("* * * *", "got 4 fields");
    parse_bad("* * * * * *", "expected 5 fields");
    parse_bad("60 * * * *", "minute field '60': 60 is out of range 0-59");
    parse_bad("0 24 * * *", "hour field '24': 24 is out of range 0-23");
    parse_bad("0 0 0 * *", "day-of-month field '0': 0 is out of range 1-31");
    parse_bad("0 0 * 13 *", "month field '13'");
    parse_bad("0 0 * * 8", "day-of-week field '8'");
    parse_bad("5-1 * * * *", "range 5-1 is reversed");
    parse_bad("*/0 * * * *", "step 0 is out of range");
    parse_bad("*/ * * * *", "step must be a number");
    parse_bad("1-* * * * *", "incomplete range");
    parse_bad("x * * * *", "minute field 'x': expected a number");
    parse_bad("1;2 * * * *", "unexpected ';'");
    parse_bad("0 0 * foo *", "month field 'foo'");
    parse_bad("every", "expected 5 fields");
    parse_bad("every 15", "unit must be s, m, h or d");
    parse_bad("every 0s", "between 1s and 366d");
    parse_bad("every m", "expected a number and a unit");
    parse_bad("every 5m please", "unexpected text");
    parse_bad("@often", "unknown macro");
}

Test(schedule, next_run_simple_fields)
{
    tz("UTC");
    rsl_schedule s = parse_ok("*/15 * * * *");
    cr_assert_eq(rsl_schedule_next(&s, at(2026, 11, 22, 14, 5)), at(2026, 11, 22, 14, 15));
    /* strictly after: exactly on a match moves to the next one */
    cr_assert_eq(rsl_schedule_next(&s, at(2026, 11, 22, 14, 15)), at(2026, 11, 22, 14, 30));
    /* seconds past a match */
    cr_assert_eq(rsl_schedule_next(&s, at(2026, 11, 22, 14, 15) + 59), at(2026, 11, 22, 14, 30));
    cr_assert_eq(rsl_schedule_next(&s, at(2026, 11, 22, 23, 50)), at(2026, 11, 23, 0, 0));
    s = parse_ok("30 2 * * *");
    cr_assert_eq(rsl_schedule_next(&s, at(2026, 11, 22, 14, 5)), at(2026, 11, 23, 2, 30));
    /* month and year roll-over */
    s = parse_ok("0 0 1 * *");
    cr_assert_eq(rsl_schedule_next(&s, at(2026, 12, 15, 0, 0)), at(2027, 1, 1, 0, 0));
    s = parse_ok("0 12 29 2 *"); /* leap day */
    cr_assert_eq(rsl_schedule_next(&s, at(2026, 3, 1, 0, 0)), at(2028, 2, 29, 12, 0));
    s = parse_ok("0 9 * jun *");
    cr_assert_eq(rsl_schedule_next(&s, at(2026, 11, 22, 0, 0)), at(2027, 6, 1, 9, 0));
}

Test(schedule, next_run_dom_dow_or_rule)
{
    tz("UTC");
    /* 2026-11-22 is a Sunday. Both restricted: the 1st of the month OR a Friday. */
    rsl_schedule s = parse_ok("0 8 1 * fri");
    cr_assert_eq(rsl_schedule_next(&s, at(2026, 11, 22, 9, 0)), at(2026, 11, 27, 8, 0));
    cr_assert_eq(rsl_schedule_next(&s, at(2026, 11, 27, 9, 0)), at(2026, 12, 1, 8, 0));
    /* only day-of-week restricted: AND with '*' -> every Friday only */
    s = parse_ok("0 8 * * 5");
    cr_assert_eq(rsl_schedule_next(&s, at(2026, 11, 27, 9, 0)), at(2026, 12, 4, 8, 0));
    /* weekdays: Saturday evening -> Monday */
    s = parse_ok("0 3 * * mon-fri");
    cr_assert_eq(rsl_schedule_next(&s, at(2026, 11, 21, 20, 0)), at(2026, 11, 23, 3, 0));
}

Test(schedule, next_run_never)
{
    tz("UTC");
    rsl_schedule s = parse_ok("0 0 30 2 *");
    cr_assert_eq(rsl_schedule_next(&s, at(2026, 1, 1, 0, 0)), (time_t)-1);
    cr_assert_eq(rsl_schedule_interval(&s, at(2026, 1, 1, 0, 0)), -1);
}

Test(schedule, next_run_is_local_time)
{
    tz("Europe/Paris");
    rsl_schedule s = parse_ok("0 3 * * *");
    time_t n = rsl_schedule_next(&s, at(2026, 11, 22, 12, 0));
    struct tm tm;
    localtime_r(&n, &tm);
    cr_assert_eq(tm.tm_hour, 3);
    cr_assert_eq(tm.tm_mday, 23);
    struct tm u;
    gmtime_r(&n, &u);
    cr_assert_eq(u.tm_hour, 2); /* CET = UTC+1 in November */
    /* spring forward: 2:30 does not exist on 2027-03-28; the run happens at 3:00 */
    s = parse_ok("30 2 * * *");
    n = rsl_schedule_next(&s, at(2027, 3, 28, 0, 0));
    localtime_r(&n, &tm);
    cr_assert_eq(tm.tm_mday, 28);
    cr_assert(n > at(2027, 3, 28, 1, 0) && n <= at(2027, 3, 28, 4, 0));
    /* the next one is the normal 2:30 the day after */
    cr_assert_eq(rsl_schedule_next(&s, n), at(2027, 3, 29, 2, 30));
}

Test(schedule, interval)
{
    tz("UTC");
    cr_assert_eq(
        rsl_schedule_interval(&(rsl_schedule){.kind = RSL_SCHED_EVERY, .every_sec = 30}, 0), 30);
    rsl_schedule s = parse_ok("*/15 * * * *");
    cr_assert_eq(rsl_schedule_interval(&s, at(2026, 11, 22, 0, 0)), 900);
    s = parse_ok("0 2 * * *");
    cr_assert_eq(rsl_schedule_interval(&s, at(2026, 11, 22, 0, 0)), 86400);
    s = parse_ok("0 2 * * 1-5"); /* the weekend gap counts */
    cr_assert_eq(rsl_schedule_interval(&s, at(2026, 11, 22, 0, 0)), 3 * 86400);
}

static rsl_health h(int has_run, const char *outcome, int code, int64_t failing, int64_t age_s,
                    long interval)
{
    int64_t now = 1800000000000LL;
    rsl_health_in in = {.has_run = has_run,
                        .outcome = outcome,
                        .session_code = code,
                        .failing = failing,
                        .last_start_ms = now - age_s * 1000,
                        .interval_sec = interval,
                        .now_ms = now};
    return rsl_health_eval(&in);
}

Test(health, rules)
{
    cr_assert_eq(h(0, NULL, 0, 0, 0, 900), RSL_HEALTH_PENDING);
    cr_assert_eq(h(1, "success", 0, 0, 60, 900), RSL_HEALTH_HEALTHY);
    cr_assert_eq(h(1, "success", 0, 0, 60, 0), RSL_HEALTH_HEALTHY);
    cr_assert_eq(h(1, "failure", 104, 0, 60, 900), RSL_HEALTH_ERROR);
    cr_assert_eq(h(1, "interrupted", 0, 0, 60, 900), RSL_HEALTH_ERROR);
    cr_assert_eq(h(1, "partial_failure", 0, 3, 60, 900), RSL_HEALTH_PARTIAL);
    cr_assert_eq(h(1, "success", 0, 2, 60, 900), RSL_HEALTH_PARTIAL);
    /* a session error during a run that still applied items is an Error */
    cr_assert_eq(h(1, "partial_failure", 30, 3, 60, 900), RSL_HEALTH_ERROR);
    /* No Activity: older than twice the interval; exactly twice is still fine */
    cr_assert_eq(h(1, "success", 0, 0, 1800, 900), RSL_HEALTH_HEALTHY);
    cr_assert_eq(h(1, "success", 0, 0, 1801, 900), RSL_HEALTH_NO_ACTIVITY);
    cr_assert_eq(h(1, "failure", 5, 0, 5000, 900), RSL_HEALTH_NO_ACTIVITY);
    /* without a schedule, age never matters */
    cr_assert_eq(h(1, "success", 0, 0, 10000000, 0), RSL_HEALTH_HEALTHY);
    cr_assert_str_eq(rsl_health_name(RSL_HEALTH_NO_ACTIVITY), "No Activity");
    cr_assert_str_eq(rsl_health_name(RSL_HEALTH_PENDING), "Pending");
    cr_assert_str_eq(rsl_health_name(RSL_HEALTH_PARTIAL), "Partial");
    cr_assert_str_eq(rsl_health_name(RSL_HEALTH_ERROR), "Error");
    cr_assert_str_eq(rsl_health_name(RSL_HEALTH_HEALTHY), "Healthy");
}
