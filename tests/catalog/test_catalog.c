/* Tests for base/catalog: table integrity, lookups, docs/errors.md drift. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "base/catalog.h"
#include "tests/support/harness.h"

Test(catalog, numbers_and_names_are_unique)
{
    size_t n = rsl_catalog_count();
    cr_assert_gt(n, 40);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            cr_assert_neq(rsl_catalog_at(i)->number, rsl_catalog_at(j)->number, "dup number %d",
                          rsl_catalog_at(i)->number);
            cr_assert_str_neq(rsl_catalog_at(i)->name, rsl_catalog_at(j)->name);
        }
}

Test(catalog, every_entry_has_meaning_and_remediation)
{
    for (size_t i = 0; i < rsl_catalog_count(); i++) {
        const rsl_catalog_entry *e = rsl_catalog_at(i);
        cr_assert_gt(strlen(e->meaning), 5, "%s", e->name);
        cr_assert_gt(strlen(e->remediation), 3, "%s", e->name);
    }
}

Test(catalog, find_by_name_and_number)
{
    const rsl_catalog_entry *a = rsl_catalog_find("NAME_TOO_LONG");
    const rsl_catalog_entry *b = rsl_catalog_find("204");
    const rsl_catalog_entry *c = rsl_catalog_find("rsl_e_name_too_long");
    cr_assert_not_null(a);
    cr_assert_eq(a, b);
    cr_assert_eq(a, c);
    cr_assert_eq(a->cls, RSL_CLASS_PERSISTENT);
    cr_assert_null(rsl_catalog_find("NO_SUCH_CODE"));
    cr_assert_null(rsl_catalog_find("99999"));
    cr_assert_null(rsl_catalog_find("12x"));
    cr_assert_eq(rsl_code_class(RSL_E_LOCAL_CHANGED), RSL_CLASS_TRANSIENT);
    cr_assert_eq(rsl_code_class(RSL_E_AUTH_FAILED), RSL_CLASS_SESSION);
    cr_assert_str_eq(rsl_code_name(RSL_E_LOCAL_VANISHED), "LOCAL_VANISHED");
}

Test(catalog, err_set_formats_and_returns_code)
{
    rsl_err e;
    rsl_code c = rsl_err_set(&e, RSL_E_FILE_TOO_LARGE, 7, "'%s' is %d bytes", "x", 42);
    cr_assert_eq(c, RSL_E_FILE_TOO_LARGE);
    cr_assert_eq(e.code, RSL_E_FILE_TOO_LARGE);
    cr_assert_eq(e.native, 7);
    cr_assert_str_eq(e.msg, "'x' is 42 bytes");
}

/* docs/errors.md is generated from the table; this fails when they drift. */
Test(catalog, docs_errors_md_matches_table)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/docs/errors.md", rslt_srcdir());
    char *doc = rslt_read(path, NULL);
    cr_assert_not_null(doc, "docs/errors.md missing: run scripts/gen-docs.sh");
    char *gen = NULL;
    int rc = rslt_sh(&gen, NULL, "'%s' explain --markdown", rslt_bin());
    cr_assert_eq(rc, 0);
    cr_assert_str_eq(doc, gen, "docs/errors.md is stale: run scripts/gen-docs.sh");
    free(doc);
    free(gen);
}

Test(catalog, explain_command_prints_entry_or_fails)
{
    char *out = NULL;
    cr_assert_eq(rslt_sh(&out, NULL, "'%s' explain 206", rslt_bin()), 0);
    cr_assert(strstr(out, "FILE_TOO_LARGE") != NULL);
    cr_assert(strstr(out, "persistent") != NULL);
    cr_assert(strstr(out, "max_file_size") != NULL);
    free(out);
    cr_assert_eq(rslt_sh(NULL, NULL, "'%s' explain BOGUS", rslt_bin()), 1);
}

/* The policy columns: only session codes touch the connection, and the
 * decisions the engine used to make in scattered lists come from here. */
Test(catalog, handling_column_is_consistent_with_class)
{
    for (size_t i = 0; i < rsl_catalog_count(); i++) {
        const rsl_catalog_entry *e = rsl_catalog_at(i);
        if (e->cls != RSL_CLASS_SESSION)
            cr_assert_eq(e->handling, RSL_HANDLE_KEEP, "%s: a per-item code keeps the connection",
                         e->name);
        else
            cr_assert_neq(e->handling, RSL_HANDLE_KEEP, "%s: a session code reconnects or stops",
                          e->name);
    }
    cr_assert(rsl_code_reconnects(RSL_E_CONNECTION_LOST));
    cr_assert(rsl_code_reconnects(RSL_E_TIMEOUT));
    cr_assert(rsl_code_reconnects(RSL_E_TLS_FAILED));
    cr_assert_not(rsl_code_reconnects(RSL_E_NO_MEMORY), "a reconnect cannot find memory");
    cr_assert_not(rsl_code_reconnects(RSL_E_INTERRUPTED));
    cr_assert_not(rsl_code_reconnects(RSL_E_AUTH_FAILED));
    cr_assert_not(rsl_code_reconnects(RSL_E_REMOTE_PERMISSION));
    cr_assert_eq(rsl_code_handling((rsl_code)9999), RSL_HANDLE_STOP, "unknown codes stop");
}

Test(catalog, exit_and_stage_columns)
{
    cr_assert_eq(rsl_code_exit(RSL_OK), RSL_EXIT_OK);
    cr_assert_eq(rsl_code_exit(RSL_E_CONFIG_BAD_VALUE), RSL_EXIT_USAGE);
    cr_assert_eq(rsl_code_exit(RSL_E_AUTH_FAILED), RSL_EXIT_SESSION);
    cr_assert_eq(rsl_code_exit(RSL_E_TIMEOUT), RSL_EXIT_TIMEOUT);
    cr_assert_eq(rsl_code_exit(RSL_E_INTERRUPTED), RSL_EXIT_INTERRUPTED);
    cr_assert_eq(rsl_code_exit(RSL_E_JOB_LOCKED), RSL_EXIT_LOCKED);
    cr_assert_eq(rsl_code_exit(RSL_E_LOCAL_VANISHED), RSL_EXIT_VANISHED);
    cr_assert_eq(rsl_code_exit(RSL_E_REMOTE_PERMISSION), RSL_EXIT_PARTIAL);
    cr_assert_eq(rsl_code_exit((rsl_code)9999), RSL_EXIT_SESSION);
    /* every TLS and host-key code is a trust failure for `check` */
    const rsl_code trust[] = {RSL_E_HOSTKEY_UNKNOWN, RSL_E_HOSTKEY_CHANGED,   RSL_E_TLS_UNTRUSTED,
                              RSL_E_TLS_EXPIRED,     RSL_E_TLS_NAME_MISMATCH, RSL_E_TLS_FAILED,
                              RSL_E_INSECURE_REFUSED};
    for (size_t i = 0; i < sizeof(trust) / sizeof(trust[0]); i++)
        cr_assert_eq(rsl_code_stage(trust[i]), RSL_STAGE_TRUST, "%s", rsl_code_name(trust[i]));
    cr_assert_eq(rsl_code_stage(RSL_E_AUTH_FAILED), RSL_STAGE_AUTH);
    cr_assert_eq(rsl_code_stage(RSL_E_SECRET_UNREADABLE), RSL_STAGE_AUTH);
    cr_assert_eq(rsl_code_stage(RSL_E_REMOTE_ROOT_MISSING), RSL_STAGE_ROOT);
}
