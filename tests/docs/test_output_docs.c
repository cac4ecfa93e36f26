/* The documentation of issues 11.6, 11.7, 11.13, 10.11 and 10.16 stays in
 * place: rsyncd-lite(1) lists status's exit codes, the cron output, the
 * escapes, the JSON schema's home and the password variables; the README has
 * the status exit table and links docs/json.md; job.conf(5) renders the
 * pinned_pubkey entry as words, not "(sha256//base64,ascurl's". */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"

static char *src_file(const char *rel)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s/%s", rslt_srcdir(), rel);
    char *t = rslt_read(p, NULL);
    cr_assert_not_null(t, "cannot read %s", p);
    return t;
}

Test(docs, rsyncd_lite_1_documents_status_codes_output_json_and_secrets)
{
    char *man = src_file("docs/rsyncd-lite.1");
    const char *ss = strstr(man, "\n.SS status\n");
    cr_assert_not_null(ss, "EXIT STATUS has no status subsection");
    const char *want[] = {"\n.TP\n.B 0\nOK", "\n.TP\n.B 1\nWARNING", "\n.TP\n.B 2\nCRITICAL",
                          "\n.TP\n.B 3\nUNKNOWN"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_assert(strstr(ss, want[i]) != NULL, "status exit %zu undocumented", i);
    const char *sections[] = {"\n.SH OUTPUT\n",
                              "\n.SH JSON OUTPUT\n",
                              "\n.SH SECRETS\n",
                              "docs/json.md",
                              "\n.B RSYNCD_LITE_PASSWORD_FD\n",
                              "still deferred from earlier runs",
                              "\\ex1b"};
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
        cr_assert(strstr(man, sections[i]) != NULL, "rsyncd-lite.1 lacks %s", sections[i]);
    free(man);
    char *readme = src_file("README.md");
    cr_assert(strstr(readme, "| `status` exit | meaning |") != NULL);
    cr_assert(strstr(readme, "| 3 | UNKNOWN:") != NULL);
    cr_assert(strstr(readme, "[docs/json.md](docs/json.md)") != NULL);
    cr_assert(strstr(readme, "## Output for cron") != NULL);
    free(readme);
    char *json = src_file("docs/json.md");
    const char *types[] = {"## `item`",
                           "## `run`",
                           "## `status`",
                           "## `check_step` and `check`",
                           "## `verify_entry` and `verify`",
                           "`path_bytes`",
                           "RFC 3339"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        cr_assert(strstr(json, types[i]) != NULL, "docs/json.md lacks %s", types[i]);
    free(json);
}

Test(docs, job_conf_5_renders_pinned_pubkey_and_temp_suffix_as_words)
{
    if (rslt_sh(NULL, NULL, "command -v groff") != 0)
        cr_skip_test("groff not installed");
    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "groff -man -Tutf8 -rLL=300n -P-cbou '%s/docs/job.conf.5'",
                     rslt_srcdir());
    cr_assert_eq(rc, 0);
    cr_assert(strstr(out, "base64,ascurl") == NULL, "glued words in pinned_pubkey");
    cr_assert(strstr(out, "pin the server's public key: sha256//base64 of its SHA-256 digest, as "
                          "curl's --pinnedpubkey takes it.") != NULL,
              "%s", out);
    cr_assert(strstr(out, "nametemp_suffix") == NULL, "glued words in temp_suffix");
    free(out);
}
