/* Tests for engine/throttle: the token bucket's arithmetic with made-up
 * times (no clock, no sleep): slices and burst bounds, FIFO deadlines, and
 * the long-run rate exact to 0.1 % from 100 KB/s to 500 MB/s, also for
 * takers that wake up late and for several takers sharing the bucket. */
#include <criterion/criterion.h>

#include "engine/source.h"
#include "engine/throttle.h"

Test(engine_throttle, unlimited_never_waits_nor_slices)
{
    rsl_throttle t;
    rsl_throttle_init(&t, 0, RSL_SOURCE_READ_MAX);
    cr_assert_eq(rsl_throttle_slice(&t, 5u << 20), 5u << 20);
    cr_assert_eq(rsl_throttle_reserve(&t, 1u << 30, 12.5), 12.5);
    rsl_throttle_destroy(&t);
}

Test(engine_throttle, slices_and_burst_are_10_ms_but_at_least_a_page_and_at_most_a_read)
{
    rsl_throttle t;
    rsl_throttle_init(&t, 100 * 1000, RSL_SOURCE_READ_MAX); /* 10 ms = 1000 bytes */
    cr_assert_eq(t.slice, RSL_THROTTLE_MIN_SLICE);
    cr_assert_eq(t.burst, RSL_THROTTLE_MIN_SLICE, "the bucket holds at least one read");
    rsl_throttle_destroy(&t);
    rsl_throttle_init(&t, 50 * 1000 * 1000, RSL_SOURCE_READ_MAX); /* 10 ms = 500,000 bytes */
    cr_assert_eq(t.slice, 500000);
    cr_assert_eq(t.burst, 500000.0);
    cr_assert_eq(rsl_throttle_slice(&t, 1u << 20), 500000);
    cr_assert_eq(rsl_throttle_slice(&t, 1000), 1000);
    rsl_throttle_destroy(&t);
    rsl_throttle_init(&t, 500ull << 20, RSL_SOURCE_READ_MAX); /* 10 ms = 5.2 MB > one read */
    cr_assert_eq(t.slice, RSL_SOURCE_READ_MAX, "never more than the largest read");
    cr_assert_float_eq(t.burst, (double)(500ull << 20) * 0.010, 1.0);
    rsl_throttle_destroy(&t);
}

/* reserve, once (Criterion's float asserts evaluate their arguments twice) */
static double at(rsl_throttle *t, size_t n, double now)
{
    return rsl_throttle_reserve(t, n, now);
}

Test(engine_throttle, a_full_bucket_then_debt_in_arrival_order)
{
    rsl_throttle t;
    rsl_throttle_init(&t, 1000, RSL_SOURCE_READ_MAX); /* slice and burst: 4096 */
    double a;
    a = at(&t, 4096, 0.0);
    cr_assert_float_eq(a, 0.0, 1e-9, "a full bucket: %f", a);
    a = at(&t, 4096, 0.0);
    cr_assert_float_eq(a, 4.096, 1e-9, "%f", a);
    a = at(&t, 1000, 0.0);
    cr_assert_float_eq(a, 5.096, 1e-9, "after the one before: %f", a);
    a = at(&t, 1000, 1.0);
    cr_assert_float_eq(a, 6.096, 1e-9, "%f", a);
    /* idle long enough: the bucket refills to its size, not more */
    a = at(&t, 4096, 100.0);
    cr_assert_float_eq(a, 100.0, 1e-9, "%f", a);
    a = at(&t, 1, 100.0);
    cr_assert_float_eq(a, 100.001, 1e-9, "%f", a);
    rsl_throttle_destroy(&t);
}

/* n takers, each taking a slice, sleeping to its deadline (+ late seconds),
 * taking again; the achieved rate over `secs`. */
static double simulate(uint64_t rate, int n, double late, double secs)
{
    rsl_throttle t;
    rsl_throttle_init(&t, rate, RSL_SOURCE_READ_MAX);
    double now[8] = {0};
    double bytes = 0, end = 0;
    for (;;) {
        int k = 0; /* the taker whose turn comes first */
        for (int i = 1; i < n; i++)
            if (now[i] < now[k])
                k = i;
        if (now[k] >= secs)
            break;
        size_t got = rsl_throttle_slice(&t, RSL_SOURCE_READ_MAX);
        double at = rsl_throttle_reserve(&t, got, now[k]);
        double sent_at = at > now[k] ? at : now[k];
        bytes += (double)got;
        end = sent_at > end ? sent_at : end;
        now[k] = sent_at + late;
    }
    rsl_throttle_destroy(&t);
    /* the bytes of the last slices are paid for at their deadlines */
    return bytes / (end + (double)t.slice / (double)rate);
}

Test(engine_throttle, the_long_run_rate_is_exact_from_100k_to_500m)
{
    const uint64_t rates[] = {100 * 1024, 1 << 20, 10 << 20, 100 << 20, 500ull << 20};
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        double r = simulate(rates[i], 1, 0, 30) / (double)rates[i];
        cr_assert_float_eq(r, 1.0, 0.001, "%llu B/s: %.4f", (unsigned long long)rates[i], r);
        r = simulate(rates[i], 4, 0, 30) / (double)rates[i];
        cr_assert_float_eq(r, 1.0, 0.001, "4 takers at %llu B/s: %.4f",
                           (unsigned long long)rates[i], r);
    }
}

Test(engine_throttle, waking_up_late_within_the_bucket_loses_no_budget)
{
    /* 10 MB/s: the bucket holds 10 ms; every wake-up is 2 ms late */
    double r = simulate(10 << 20, 1, 0.002, 30) / (double)(10 << 20);
    cr_assert_float_eq(r, 1.0, 0.001, "%.4f", r);
}

Test(engine_throttle, takers_are_served_in_arrival_order)
{
    rsl_throttle t;
    rsl_throttle_init(&t, 1 << 20, RSL_SOURCE_READ_MAX);
    double last = -1;
    for (int i = 0; i < 100; i++) {
        double at = rsl_throttle_reserve(&t, t.slice, 0.5);
        cr_assert_geq(at, last, "taker %d before an earlier one", i);
        last = at;
    }
    rsl_throttle_destroy(&t);
}
