/* Tests for engine/plan's pure rules: what to do with each item. (Deferral and
 * backoff are the retry policy's: tests/retry.) */
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

Test(plan, pending_rows_are_never_in_sync)
{
    rsl_manifest_row p = {.type = RSL_TYPE_FILE, .size = 0, .mtime_ns = -1, .pending = 1};
    rsl_manifest_row pd = {.type = RSL_TYPE_DIR, .pending = 1};
    cr_assert_eq(rsl_plan_decide(RSL_TYPE_FILE, 0, -1, &p), RSL_ACT_CREATE);
    cr_assert_eq(rsl_plan_decide(RSL_TYPE_DIR, 0, 0, &pd), RSL_ACT_MKDIR);
    cr_assert_eq(rsl_plan_decide(RSL_TYPE_DIR, 0, 0, &p), RSL_ACT_REPLACE);
}
