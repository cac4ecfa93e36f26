/*
 * End to end over https:// (WebDAV) on Apache and nginx (issue 12, "send
 * less"): renames and directory renames become one MOVE each (the remote
 * inode kept, nothing sent), a refused move falls back; a growing log is
 * appended in place with a partial PUT on Apache (only the tail sent) and
 * sent whole through the temp name on nginx (no partial PUT); links are a
 * per-item error. Scenarios: tests/support/sendless_cases.h.
 */
#define _GNU_SOURCE
#include "https_test_util.h"

#include "tests/support/sendless_cases.h"

static sl_env https_env(const char *srv, const char *tag)
{
    sl_env e = {0};
    char *up = NULL;
    char name[128];
    snprintf(name, sizeof(name), "%s-%s", tag, srv);
    e.dir = rslt_tmpdir(tag);
    e.src = sl_path(e.dir, "src");
    e.root = make_remote_root(srv, name, &up);
    e.conf = sl_path(e.dir, "job.conf");
    cr_assert_eq(mkdir(e.src, 0755), 0);
    e.dest = url_of(srv, "https", up);
    char *pw = fx(srv, "PASSWORD_FILE"), *ca = fx(srv, "CA_FILE");
    cr_assert(asprintf(&e.remote,
                       "username = rsl\npassword_file = %s\nca_file = %s\n"
                       "chunk_size = 1M",
                       pw, ca) > 0);
    free(pw);
    free(ca);
    free(up);
    return e;
}

#define DAV_CASE(name)                                                                             \
    BOTH_SERVERS(sendless_##name, .timeout = 90)                                                   \
    {                                                                                              \
        sl_env e = https_env(srv, "sl-" #name);                                                    \
        sl_case_##name(&e);                                                                        \
        sl_free(&e);                                                                               \
    }

DAV_CASE(file_rename)
DAV_CASE(dir_rename)
DAV_CASE(refused_move_falls_back)

/* A growing log: Apache takes the tail as a partial PUT on the file in
 * place; nginx has no partial PUT, so the file goes whole (and right). */
BOTH_SERVERS(sendless_append, .timeout = 90)
{
    sl_env e = https_env(srv, "sl-append");
    if (is_apache(srv)) {
        sl_case_append(&e);
        sl_free(&e);
        return;
    }
    sl_conf(&e, "append = *.log");
    rslt_write_random(sl_path(e.src, "app.log"), 1 << 20, 8);
    free(sl_json(&e));
    SL_SH("head -c 3000 /dev/urandom >> '%s/app.log'", e.src);
    char *out = sl_json(&e);
    cr_assert_eq(sl_num(out, "transferred_bytes"), (1 << 20) + 3000, "%s", out);
    free(out);
    sl_same_tree(&e);
    sl_free(&e);
}

/* symlinks = as-links over WebDAV: each link is a per-item error. */
BOTH_SERVERS(sendless_links_are_an_item_error, .timeout = 60)
{
    sl_env e = https_env(srv, "sl-links");
    sl_conf(&e, "symlinks = as-links");
    rslt_write(sl_path(e.src, "a.txt"), "a\n");
    SL_SH("cd '%s' && ln -s a.txt top", e.src);
    char *out = NULL;
    cr_assert_eq(sl_run(&e, "--json", &out), 23, "%s", out);
    cr_assert(strstr(out, "\"path\":\"top\",\"action\":\"create\",\"outcome\":\"failed\","
                          "\"code\":\"REMOTE_UNSUPPORTED\"") != NULL,
              "%s", out);
    free(out);
    cr_assert(sl_has(e.root, "a.txt"));
    sl_free(&e);
}
