/* Tests for engine/retry: the retry policy's pure rules (reconnect or not,
 * reconnect backoff, per-item backoff across runs, deferral). */
#include <criterion/criterion.h>

#include "engine/retry.h"

Test(retry, backoff_grows_to_24h_and_transient_is_immediate)
{
    int64_t now = 1000000;
    cr_assert_eq(rsl_retry_next_ms(RSL_CLASS_TRANSIENT, 5, now), now);
    cr_assert_eq(rsl_retry_next_ms(RSL_CLASS_PERSISTENT, 1, now), now + 30LL * 60 * 1000);
    cr_assert_eq(rsl_retry_next_ms(RSL_CLASS_PERSISTENT, 2, now), now + 60LL * 60 * 1000);
    cr_assert_eq(rsl_retry_next_ms(RSL_CLASS_PERSISTENT, 30, now), now + 24LL * 3600 * 1000);
    cr_assert_eq(rsl_retry_next_ms(RSL_CLASS_SESSION, 3, now), now,
                 "a connection lost during an item: next run");
}

Test(retry, deferral_only_for_unchanged_persistent_before_retry_time)
{
    rsl_failure f = {.code = RSL_E_LOCAL_UNREADABLE,
                     .local_size = 7,
                     .local_mtime_ns = 3,
                     .next_retry_ms = 5000};
    cr_assert(rsl_retry_is_deferred(&f, 7, 3, 4000));
    cr_assert_not(rsl_retry_is_deferred(&f, 7, 3, 5000)); /* interval passed */
    cr_assert_not(rsl_retry_is_deferred(&f, 8, 3, 4000)); /* file changed */
    cr_assert_not(rsl_retry_is_deferred(&f, 7, 4, 4000));
    f.code = RSL_E_LOCAL_CHANGED; /* transient: never deferred */
    cr_assert_not(rsl_retry_is_deferred(&f, 7, 3, 4000));
    cr_assert_not(rsl_retry_is_deferred(NULL, 7, 3, 4000));
}

Test(retry, reconnect_follows_the_catalogs_handling_column)
{
    for (size_t i = 0; i < rsl_catalog_count(); i++) {
        const rsl_catalog_entry *e = rsl_catalog_at(i);
        cr_assert_eq(rsl_retry_reconnects((rsl_code)e->number), e->handling == RSL_HANDLE_RECONNECT,
                     "%s", e->name);
    }
    cr_assert(rsl_retry_reconnects(RSL_E_CONNECTION_LOST));
    cr_assert(rsl_retry_reconnects(RSL_E_TIMEOUT));
    cr_assert_not(rsl_retry_reconnects(RSL_E_AUTH_FAILED), "a reconnect cannot fix credentials");
    cr_assert_not(rsl_retry_reconnects(RSL_E_NO_MEMORY));
    cr_assert_not(rsl_retry_reconnects(RSL_E_REMOTE_PERMISSION),
                  "an item error keeps the connection");
}

Test(retry, reconnect_waits_double_from_half_a_second)
{
    rsl_retry_policy p = rsl_retry_default();
    cr_assert_eq(p.max_attempts, 3);
    cr_assert_eq(rsl_retry_delay_ms(&p, 0), 500);
    cr_assert_eq(rsl_retry_delay_ms(&p, 1), 1000);
    cr_assert_eq(rsl_retry_delay_ms(&p, 2), 2000);
    p.first_delay_ms = 0;
    cr_assert_eq(rsl_retry_delay_ms(&p, 2), 0, "tests may turn the wait off");
}
