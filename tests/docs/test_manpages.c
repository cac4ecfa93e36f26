/* The man pages stay complete: docs/job.conf.5 documents every key of
 * cli/config.c's key table (with a default and an example), docs/rsyncd-lite.1
 * every sub-command and exit code; both render without groff warnings and
 * `cmake --install` installs them; every sub-command answers --help. */
#include <criterion/criterion.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "engine/sync.h"
#include "tests/support/harness.h"
#include "transports/keys.h"
#include "transports/transport.h"

static char *src_file(const char *rel)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s/%s", rslt_srcdir(), rel);
    char *t = rslt_read(p, NULL);
    cr_assert_not_null(t, "cannot read %s", p);
    return t;
}

/* The entry of `key` in job.conf.5 (up to the next .TP or .SH): it exists,
 * names a default (or says required) and an example, and sits in its
 * section. Returns the entry (caller frees). */
static char *man_entry(const char *man, const char *key, const char *section)
{
    char want[128];
    snprintf(want, sizeof(want), "\n.TP\n.B %s\n", key);
    const char *at = strstr(man, want);
    cr_assert_not_null(at, "job.conf.5 lacks key '%s' (as .TP/.B %s)", key, key);
    const char *body = at + strlen(want);
    const char *end = strstr(body, "\n.TP\n");
    const char *sh = strstr(body, "\n.SH ");
    if (end == NULL || (sh && sh < end))
        end = sh ? sh : body + strlen(body);
    char *entry = strndup(body, (size_t)(end - body));
    int required = strstr(entry, "required") != NULL;
    cr_assert(required || strstr(entry, "Default") != NULL, "key %s: no default", key);
    cr_assert(strstr(entry, "Example") != NULL, "key %s: no example", key);
    const char *sec =
        strstr(man, strcmp(section, "job") == 0 ? ".SH [job] KEYS" : ".SH [remote] KEYS");
    cr_assert(sec && sec < at, "key %s documented outside its [%s] section", key, section);
    return entry;
}

/* Every key of a transport's table (groups flattened) is documented in
 * [remote] and its entry names the schemes it is for. */
static int check_transport_keys(const char *man, const rsl_key *keys, size_t n)
{
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        if (keys[i].type == RSL_KEY_GROUP) {
            count += check_transport_keys(man, keys[i].group, keys[i].n_group);
            continue;
        }
        char *entry = man_entry(man, keys[i].name, "remote");
        char owners[128];
        cr_assert_gt(rsl_scheme_key_owners(keys[i].name, owners, sizeof(owners)), 0);
        char first[64]; /* the first scheme that owns it, as "sftp://" */
        snprintf(first, sizeof(first), "%.*s://", (int)strcspn(owners, ","), owners);
        cr_assert(strstr(entry, first) != NULL, "key %s: the entry does not say it is for %s",
                  keys[i].name, first);
        free(entry);
        count++;
    }
    return count;
}

Test(docs, job_conf_5_documents_every_config_key)
{
    char *cfg = src_file("cli/config.c");
    char *man = src_file("docs/job.conf.5");
    int n = 0;
    for (const char *p = cfg; (p = strstr(p, "{\"")) != NULL; p++) {
        char section[16], key[64];
        if (sscanf(p, "{\"%15[a-z]\", \"%63[a-z_]\", K_", section, key) != 2)
            continue;
        if (strcmp(section, "job") != 0 && strcmp(section, "remote") != 0)
            continue;
        n++;
        free(man_entry(man, key, section));
    }
    /* and every transport's own [remote] keys (their key tables) */
    const char *schemes[] = {"file", "sftp", "ftps", "https"};
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        const rsl_transport_ops *ops = rsl_transport_find(schemes[i]);
        cr_assert_not_null(ops);
        n += check_transport_keys(man, ops->keys, ops->n_keys);
    }
    cr_assert_gt(n, 30, "parsed only %d keys from cli/config.c and the transports", n);
    free(cfg);
    free(man);
}

Test(docs, rsyncd_lite_1_documents_commands_and_exit_codes)
{
    char *man = src_file("docs/rsyncd-lite.1");
    for (const rsl_command *c = rsl_commands; c->name; c++) {
        char want[128];
        snprintf(want, sizeof(want), "\n.B rsyncd-lite %s\n", c->name);
        cr_assert(strstr(man, want) != NULL, "SYNOPSIS lacks %s", c->name);
        snprintf(want, sizeof(want), "\n.TP\n.BI %s ", c->name);
        char want2[128];
        snprintf(want2, sizeof(want2), "\n.TP\n.BR %s ", c->name);
        cr_assert(strstr(man, want) || strstr(man, want2), "COMMANDS lacks %s", c->name);
    }
    const int codes[] = {RSL_EXIT_OK,          RSL_EXIT_USAGE,   RSL_EXIT_SESSION,
                         RSL_EXIT_INTERRUPTED, RSL_EXIT_PARTIAL, RSL_EXIT_VANISHED,
                         RSL_EXIT_TIMEOUT,     RSL_EXIT_LOCKED};
    const char *ex = strstr(man, ".SH EXIT STATUS");
    cr_assert_not_null(ex);
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        char want[32];
        snprintf(want, sizeof(want), "\n.TP\n.B %d\n", codes[i]);
        cr_assert(strstr(ex, want) != NULL, "EXIT STATUS lacks %d", codes[i]);
    }
    free(man);
}

Test(docs, pages_render_without_warnings)
{
    if (rslt_sh(NULL, NULL, "command -v groff") != 0)
        cr_skip_test("groff not installed");
    const char *pages[] = {"docs/rsyncd-lite.1", "docs/job.conf.5"};
    for (int i = 0; i < 2; i++) {
        char *err = NULL, *out = NULL;
        int rc = rslt_sh(&out, &err, "groff -man -Tutf8 -ww -z %s/%s", rslt_srcdir(), pages[i]);
        cr_assert_eq(rc, 0);
        cr_assert_str_eq(err, "", "%s: %s", pages[i], err);
        free(err);
        free(out);
    }
}

Test(docs, cmake_install_installs_the_man_pages)
{
    char *bin = strdup(rslt_bin());
    char *builddir = dirname(bin);
    char *prefix = rslt_tmpdir("install");
    int rc = rslt_sh(NULL, NULL, "cmake --install %s --prefix %s", builddir, prefix);
    cr_assert_eq(rc, 0);
    char p[8300];
    snprintf(p, sizeof(p), "%s/share/man/man1/rsyncd-lite.1", prefix);
    cr_assert(rslt_exists(p), "%s missing", p);
    snprintf(p, sizeof(p), "%s/share/man/man5/job.conf.5", prefix);
    cr_assert(rslt_exists(p), "%s missing", p);
    snprintf(p, sizeof(p), "%s/bin/rsyncd-lite", prefix);
    cr_assert(rslt_exists(p));
    rslt_rmrf(prefix);
    free(prefix);
    free(bin);
}

Test(docs, every_subcommand_has_help_and_version_works)
{
    for (const rsl_command *c = rsl_commands; c->name; c++) {
        char *out = NULL;
        int rc = rslt_sh(&out, NULL, "%s %s --help", rslt_bin(), c->name);
        cr_assert_eq(rc, 0, "%s --help exit %d", c->name, rc);
        char want[64];
        snprintf(want, sizeof(want), "usage: rsyncd-lite %s", c->name);
        cr_assert(strstr(out, want) != NULL, "%s --help: %s", c->name, out);
        free(out);
    }
    char *out = NULL;
    cr_assert_eq(rslt_sh(&out, NULL, "%s --version", rslt_bin()), 0);
    cr_assert(strncmp(out, "rsyncd-lite ", 12) == 0, "%s", out);
    free(out);
    out = NULL;
    cr_assert_eq(rslt_sh(&out, NULL, "%s --help", rslt_bin()), 0);
    for (const rsl_command *c = rsl_commands; c->name; c++) {
        char want[64];
        snprintf(want, sizeof(want), "\n  %s ", c->name);
        cr_assert(strstr(out, want) != NULL, "usage text lacks %s", c->name);
    }
    free(out);
}
