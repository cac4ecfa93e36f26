/* Tests for transports/dircache: the created-directory cache and its one
 * invalidation rule. (The first test moved from transport_ftps's
 * test_parse.c, assertions kept.) */
#include <criterion/criterion.h>
#include <stdio.h>

#include "transports/dircache.h"

Test(dircache, forget_removes_a_directory_and_everything_under_it)
{
    rsl_dircache d = {0};
    char name[32];
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof(name), "a/%d", i);
        rsl_dircache_add(&d, name);
    }
    rsl_dircache_add(&d, "a");
    rsl_dircache_add(&d, "ab");
    cr_assert(rsl_dircache_has(&d, "a/499") && rsl_dircache_has(&d, "a") &&
              rsl_dircache_has(&d, "ab"));
    cr_assert_eq(d.n, 502);
    rsl_dircache_add(&d, "ab");
    cr_assert_eq(d.n, 502, "adding twice keeps one");
    rsl_dircache_forget(&d, "a"); /* a and everything under it, not "ab" */
    cr_assert_eq(d.n, 1);
    cr_assert(rsl_dircache_has(&d, "ab"));
    cr_assert_not(rsl_dircache_has(&d, "a/7"));
    cr_assert_not(rsl_dircache_has(&d, "a"));
    rsl_dircache_clear(&d);
}

Test(dircache, not_found_inside_forgets_the_parent)
{
    rsl_dircache d = {0};
    rsl_dircache_add(&d, "x");
    rsl_dircache_add(&d, "x/y");
    rsl_dircache_add(&d, "x/y/z");
    rsl_dircache_add(&d, "x/w");
    /* an upload of x/y/f.part answered "not found": x/y was removed behind our back */
    rsl_dircache_missing(&d, "x/y/f.part");
    cr_assert_not(rsl_dircache_has(&d, "x/y"));
    cr_assert_not(rsl_dircache_has(&d, "x/y/z"));
    cr_assert(rsl_dircache_has(&d, "x"), "the grandparent is not assumed gone");
    cr_assert(rsl_dircache_has(&d, "x/w"));
    rsl_dircache_missing(&d, "top.part"); /* the root itself never goes */
    cr_assert(rsl_dircache_has(&d, "x"));
    rsl_dircache_clear(&d);
    cr_assert_not(rsl_dircache_has(&d, "x"), "a new connection starts empty");
    cr_assert_eq(d.n, 0);
    rsl_dircache_add(&d, "");
    cr_assert_eq(d.n, 0, "the root is never stored");
    rsl_dircache_clear(&d);
}
