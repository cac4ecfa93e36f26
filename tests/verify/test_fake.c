/* `verify` in-process against the fake transport (tests/support), whose
 * server checksum can be switched off, given in another algorithm, or made
 * to lie: --checksum never calls content identical that it did not compare;
 * an md5-only server is compared through the unchanged local file (and not
 * at all once the local file changed); --read-back reads the true bytes
 * where the server's checksum lies; a dropped connection is reconnected;
 * --delete-extra removes files before directories, deepest first, and never
 * a name that is not a path beneath the remote root. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "state/state.h"
#include "tests/support/fake_transport.h"
#include "tests/support/harness.h"
#include "tests/verify/verify_test.h"
#include "transports/transport.h"

typedef struct fk {
    char *d;
    char conf[4096], state[4096], src[4096];
} fk;

/* Records a file the last run "sent": local src/rel and remote rel with
 * content, and its manifest row with the SHA-256 of content. */
static void sent(fk *f, const char *rel, const char *content)
{
    char p[8300];
    snprintf(p, sizeof(p), "%s/%s", f->src, rel);
    rslt_write(p, content);
    rslt_fake_put(rel, content, strlen(content));
    struct stat sb;
    cr_assert_eq(stat(p, &sb), 0);
    unsigned char md[EVP_MAX_MD_SIZE];
    sha256_file(p, md);
    rsl_state *st = NULL;
    rsl_err e;
    cr_assert_eq(rsl_state_open(&st, f->state, RSL_STATE_RDWR, &e), RSL_OK, "%s", e.msg);
    rsl_manifest_row row = {.path = rel,
                            .type = RSL_TYPE_FILE,
                            .size = (uint64_t)sb.st_size,
                            .mtime_ns =
                                (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec,
                            .digest = md,
                            .digest_len = RSL_DIGEST_LEN};
    cr_assert_eq(rsl_state_manifest_put_row(st, &row, 1, &e), RSL_OK, "%s", e.msg);
    rsl_state_close(st);
}

static fk fk_new(const char *tag)
{
    rslt_fake_setup();
    /* no RSL_CAP_SET_MTIME: the fake's mtimes (the time of the put) are not compared */
    rslt_fake_set_caps(RSL_CAP_RESUME | RSL_CAP_ATOMIC_RENAME);
    fk f;
    f.d = rslt_tmpdir(tag);
    snprintf(f.src, sizeof(f.src), "%s/src", f.d);
    snprintf(f.conf, sizeof(f.conf), "%s/job.conf", f.d);
    snprintf(f.state, sizeof(f.state), "%s/s.db", f.d);
    FILE *c = fopen(f.conf, "w");
    fprintf(c, "[job]\nname = fk\nsource = %s\ndestination = %s\nstate = %s\n", f.src,
            RSLT_FAKE_URL, f.state);
    fclose(c);
    sent(&f, "a.txt", "alpha\n");
    sent(&f, "b.txt", "bravo\n");
    sent(&f, "c.txt", "charlie\n");
    return f;
}

static void fk_free(fk *f)
{
    rslt_rmrf(f->d);
    free(f->d);
    rslt_fake_teardown();
}

/* verify f.conf with up to 4 more arguments (NULL-terminated). */
static int verify(fk *f, char **out, const char *a1, const char *a2, const char *a3)
{
    char *argv[] = {"verify", f->conf, (char *)a1, (char *)a2, (char *)a3, NULL};
    return capture(rsl_cmd_verify, argv, out);
}

Test(verify_fake, without_a_server_checksum_content_is_not_called_identical)
{
    fk f = fk_new("vf-nosum");
    char *out = NULL;
    cr_assert_eq(verify(&f, &out, "--checksum", NULL, NULL), 0, "%s", out);
    cr_assert(strstr(out, "unchecked a.txt  (not compared: no server checksum; use --read-back)") !=
                  NULL,
              "%s", out);
    cr_assert(strstr(out, "sizes and mtimes match: 0 missing, 0 different, 0 extra, 0 leftover "
                          "temp(s); content not compared for 3 of 3 file(s)") != NULL,
              "%s", out);
    cr_assert(strstr(out, "not compared: 3 file(s): no server checksum (use --read-back)") != NULL,
              "%s", out);
    cr_assert(strstr(out, "identical") == NULL, "%s", out);
    free(out);
    cr_assert_eq(verify(&f, &out, "--checksum", "--json", NULL), 0, "%s", out);
    json_valid(out);
    cr_assert_eq(rslt_count(out, "\"kind\":\"unchecked\""), 3, "%s", out);
    cr_assert(strstr(out, "\"identical\":true") != NULL, "%s", out);
    cr_assert(strstr(out, "\"checksum\":false,\"read_back\":false,\"content_compared\":0,"
                          "\"content_different\":0,\"content_unchecked\":3") != NULL,
              "%s", out);
    free(out);
    /* --read-back compares them, and finds the one changed behind our back */
    rslt_fake_put("b.txt", "BRAVO\n", 6);
    rslt_fake_clear_counts();
    cr_assert_eq(verify(&f, &out, "--read-back", NULL, NULL), 23, "%s", out);
    cr_assert(strstr(out, "content  b.txt  (content differs: read-back sha256 ") != NULL, "%s",
              out);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_READ), 3);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_HASH), 0, "--read-back does not ask the server");
    free(out);
    fk_free(&f);
}

Test(verify_fake, an_md5_server_is_compared_through_the_unchanged_local_file)
{
    fk f = fk_new("vf-md5");
    rslt_fake_set_hash("md5");
    char *out = NULL;
    cr_assert_eq(verify(&f, &out, "--checksum", NULL, NULL), 0, "%s", out);
    cr_assert(strstr(out, "identical: 0 missing, 0 different, 0 extra, 0 leftover temp(s); content "
                          "of 3 file(s) compared") != NULL,
              "%s", out);
    /* sha256 asked first, then any: after that answer, any at once */
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_HASH), 4);
    free(out);

    rslt_fake_put("b.txt", "BRAVO\n", 6);
    /* the local c.txt changes with the same size and mtime: what was sent
     * is no longer there to compare with */
    char p[8300];
    snprintf(p, sizeof(p), "%s/c.txt", f.src);
    struct stat sb;
    stat(p, &sb);
    rslt_write(p, "CHARLIE\n");
    struct timespec ts[2] = {sb.st_atim, sb.st_mtim};
    utimensat(AT_FDCWD, p, ts, 0);
    cr_assert_eq(verify(&f, &out, "--checksum", "--json", NULL), 23, "%s", out);
    json_valid(out);
    cr_assert(strstr(out, "\"kind\":\"content\",\"path\":\"b.txt\"") != NULL, "%s", out);
    cr_assert(strstr(out, "\"compared_by\":\"server_checksum\",\"digest_alg\":\"md5\"") != NULL,
              "%s", out);
    cr_assert(strstr(out, "\"kind\":\"unchecked\",\"path\":\"c.txt\"") != NULL, "%s", out);
    cr_assert(strstr(out, "not compared: local file changed since the upload (same size and "
                          "mtime, other content)") != NULL,
              "%s", out);
    free(out);
    fk_free(&f);
}

Test(verify_fake, read_back_reads_the_true_bytes_where_the_server_checksum_lies)
{
    fk f = fk_new("vf-lies");
    rslt_fake_set_hash("sha256");
    rslt_fake_hash_lies(1);
    char *out = NULL;
    cr_assert_eq(verify(&f, &out, "--checksum", NULL, NULL), 23, "%s", out);
    cr_assert_eq(rslt_count(out, "content  "), 3, "%s", out);
    free(out);
    cr_assert_eq(verify(&f, &out, "--read-back", NULL, NULL), 0, "%s", out);
    cr_assert(strstr(out, "identical: ") != NULL, "%s", out);
    free(out);
    fk_free(&f);
}

Test(verify_fake, text_lists_twenty_unchecked_files_json_all)
{
    fk f = fk_new("vf-many");
    for (int i = 0; i < 30; i++) {
        char rel[32];
        snprintf(rel, sizeof(rel), "many/f%02d.txt", i);
        sent(&f, rel, "x\n");
    }
    rslt_fake_mkdir("many");
    rsl_state *st = NULL;
    rsl_err e;
    cr_assert_eq(rsl_state_open(&st, f.state, RSL_STATE_RDWR, &e), RSL_OK);
    cr_assert_eq(rsl_state_manifest_put(st, "many", RSL_TYPE_DIR, 0, 0, 1, &e), RSL_OK);
    rsl_state_close(st);
    char *out = NULL;
    cr_assert_eq(verify(&f, &out, "--checksum", NULL, NULL), 0, "%s", out);
    cr_assert_eq(rslt_count(out, "unchecked "), 20, "%s", out);
    cr_assert(strstr(out, "and 13 more file(s) not compared") != NULL, "%s", out);
    cr_assert(strstr(out, "content not compared for 33 of 33 file(s)") != NULL, "%s", out);
    free(out);
    cr_assert_eq(verify(&f, &out, "--checksum", "--json", NULL), 0, "%s", out);
    cr_assert_eq(rslt_count(out, "\"kind\":\"unchecked\""), 33, "%s", out);
    free(out);
    fk_free(&f);
}

Test(verify_fake, a_dropped_connection_is_reconnected_a_few_times)
{
    fk f = fk_new("vf-drop");
    rslt_fake_set_hash("sha256");
    rslt_fake_fail_nth(RSLT_FAKE_HASH, 2, RSL_E_CONNECTION_LOST);
    char *out = NULL;
    cr_assert_eq(verify(&f, &out, "--checksum", NULL, NULL), 0, "%s", out);
    cr_assert(strstr(out, "content of 3 file(s) compared") != NULL, "%s", out);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 2);
    free(out);
    rslt_fake_clear_counts();
    rslt_fake_fail_every(RSLT_FAKE_HASH, RSL_E_CONNECTION_LOST);
    cr_assert_eq(verify(&f, &out, "--checksum", NULL, NULL), 5, "%s", out);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 4, "one connect and 3 reconnects");
    free(out);
    fk_free(&f);
}

/* The order of remove calls. */
static char removed[16][64];
static int n_removed;

static void on_call(void *ud, rslt_fake_op op, const char *rel)
{
    (void)ud;
    if (op == RSLT_FAKE_REMOVE && n_removed < 16)
        snprintf(removed[n_removed++], sizeof(removed[0]), "%s", rel);
}

Test(verify_fake, delete_extra_goes_files_first_then_directories_deepest_first)
{
    fk f = fk_new("vf-extra");
    rslt_fake_mkdir("x");
    rslt_fake_mkdir("x/y");
    rslt_fake_put("x/y/f.txt", "f", 1);
    rslt_fake_put("z.txt", "z", 1);
    rslt_fake_put("a.txt.rsl-part", "al", 2);
    rslt_fake_mkdir("w");
    /* a name no server should give: never compared, never removed */
    rslt_fake_put("w/..", "dotdot", 6);
    rslt_fake_on_call(on_call, NULL);
    char *out = NULL;
    int rc = verify(&f, &out, "--repair", "--delete-extra", NULL);
    cr_assert_eq(rc, 23, "%s", out);
    const char *want[] = {"x/y/f.txt", "z.txt", "a.txt.rsl-part", "x/y", "x", "w"};
    cr_assert_eq(n_removed, 6, "%s", out);
    for (int i = 0; i < 6; i++)
        cr_assert_str_eq(removed[i], want[i], "remove #%d: %s", i, out);
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_REMOVE, "w/.."), 0);
    /* w still holds the odd entry: not empty, reported, counted */
    cr_assert(
        strstr(out, "remove_failed w  (extra directory (not in the manifest), not removed: ") !=
            NULL,
        "%s", out);
    cr_assert(strstr(out, "delete-extra: 5 item(s) removed from the remote, 1 could not be") !=
                  NULL,
              "%s", out);
    cr_assert_eq(rslt_fake_type("a.txt"), 'f', "a file the manifest knows stays");
    cr_assert_eq(rslt_fake_type("x"), 0);
    free(out);
    fk_free(&f);
}
