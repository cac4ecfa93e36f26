/* Tests for engine/plan's pure rules: decisions, deferral, backoff. */
#include <criterion/criterion.h>

#include "engine/plan.h"

Test(plan, decide)
{
    rsl_manifest_row f = {.type = RSL_TYPE_FILE, .size = 10, .mtime_ns = 5};
    rsl_manifest_row d = {.type = RSL_TYPE_DIR};
    cr_assert_eq(rsl_plan_decide(RSL_TYPE_FILE, 10, 5, NULL), RSL_ACT_CREATE);
    cr_assert_eq(rsl_plan_decide(RSL_TYPE_DIR, 0, 5, NULL), RSL_ACT_MKDIR);
    cr_assert_eq(rsl_plan_decide(RSL_TYPE_FILE, 10, 5, &f), RSL_ACT_NONE);
    cr_assert_eq(rsl_plan_decide(RSL_TYPE_FILE, 11, 5, &f), RSL_ACT_UPDATE);
    cr_assert_eq(rsl_plan_decide(RSL_TYPE_FILE, 10, 6, &f), RSL_ACT_UPDATE);
    cr_assert_eq(rsl_plan_decide(RSL_TYPE_DIR, 0, 9, &d), RSL_ACT_NONE);
    cr_assert_eq(rsl_plan_decide(RSL_TYPE_DIR, 0, 9, &f), RSL_ACT_REPLACE);
    cr_assert_eq(rsl_plan_decide(RSL_TYPE_FILE, 1, 9, &d), RSL_ACT_REPLACE);
}

Test(plan, backoff_grows_to_24h_and_transient_is_immediate)
{
    int64_t now = 1000000;
    cr_assert_eq(rsl_plan_next_retry(RSL_CLASS_TRANSIENT, 5, now), now);
    cr_assert_eq(rsl_plan_next_retry(RSL_CLASS_PERSISTENT, 1, now), now + 30LL * 60 * 1000);
    cr_assert_eq(rsl_plan_next_retry(RSL_CLASS_PERSISTENT, 2, now), now + 60LL * 60 * 1000);
    cr_assert_eq(rsl_plan_next_retry(RSL_CLASS_PERSISTENT, 30, now), now + 24LL * 3600 * 1000);
}

Test(plan, deferral_only_for_unchanged_persistent_before_retry_time)
{
    rsl_failure f = {.code = RSL_E_LOCAL_UNREADABLE,
                     .local_size = 7,
                     .local_mtime_ns = 3,
                     .next_retry_ms = 5000};
    cr_assert(rsl_plan_is_deferred(&f, 7, 3, 4000));
    cr_assert_not(rsl_plan_is_deferred(&f, 7, 3, 5000)); /* interval passed */
    cr_assert_not(rsl_plan_is_deferred(&f, 8, 3, 4000)); /* file changed */
    cr_assert_not(rsl_plan_is_deferred(&f, 7, 4, 4000));
    f.code = RSL_E_LOCAL_CHANGED; /* transient: never deferred */
    cr_assert_not(rsl_plan_is_deferred(&f, 7, 3, 4000));
    cr_assert_not(rsl_plan_is_deferred(NULL, 7, 3, 4000));
}

Test(plan, pending_rows_are_never_in_sync)
{
    rsl_manifest_row p = {.type = RSL_TYPE_FILE, .size = 0, .mtime_ns = -1, .pending = 1};
    rsl_manifest_row pd = {.type = RSL_TYPE_DIR, .pending = 1};
    cr_assert_eq(rsl_plan_decide(RSL_TYPE_FILE, 0, -1, &p), RSL_ACT_CREATE);
    cr_assert_eq(rsl_plan_decide(RSL_TYPE_DIR, 0, 0, &pd), RSL_ACT_MKDIR);
    cr_assert_eq(rsl_plan_decide(RSL_TYPE_DIR, 0, 0, &p), RSL_ACT_REPLACE);
}
