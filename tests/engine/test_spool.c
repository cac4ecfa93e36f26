/* Tests for engine/spool (the plan on disk, read forward and backward) and
 * engine/pathset (the dispatcher's path sets). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pathset.h"
#include "engine/spool.h"
#include "tests/support/harness.h"

static void item_at(int i, rsl_item *it, char *path, size_t n, char *src, size_t sn)
{
    /* long paths now and then, so records straddle the read buffer */
    snprintf(path, n, "d%03d/%s/f%06d.txt", i % 997,
             i % 50 == 0 ? "a-much-longer-directory-name-x" : "s", i);
    snprintf(src, sn, "real/f%06d", i);
    memset(it, 0, sizeof(*it));
    it->path = path;
    it->src_rel = i % 3 == 0 ? src : NULL;
    it->action = (rsl_action)(1 + i % 5);
    it->type = i % 7 == 0 ? RSL_TYPE_DIR : RSL_TYPE_FILE;
    it->old_type = i % 11 == 0 ? RSL_TYPE_DIR : 0;
    it->size = (uint64_t)i * 4099;
    it->mtime_ns = -(int64_t)i * 1000003;
    it->followed = i % 3 == 0;
    it->prev_attempts = i % 4;
    it->first_failed_ms = (int64_t)i * 17;
    it->has_upload_rec = i % 5 == 0;
    it->upload_rec_matches = i % 10 == 0;
    it->dev = 42;
    it->ino = (uint64_t)i + 1000000;
}

static void same_item(const rsl_item *a, const rsl_item *b, int i)
{
    cr_assert_str_eq(a->path, b->path, "record %d", i);
    cr_assert_eq(a->src_rel == NULL, b->src_rel == NULL, "record %d", i);
    if (a->src_rel)
        cr_assert_str_eq(a->src_rel, b->src_rel);
    cr_assert_eq(a->action, b->action);
    cr_assert_eq(a->type, b->type);
    cr_assert_eq(a->old_type, b->old_type);
    cr_assert_eq(a->size, b->size);
    cr_assert_eq(a->mtime_ns, b->mtime_ns);
    cr_assert_eq(a->followed, b->followed);
    cr_assert_eq(a->prev_attempts, b->prev_attempts);
    cr_assert_eq(a->first_failed_ms, b->first_failed_ms);
    cr_assert_eq(a->has_upload_rec, b->has_upload_rec);
    cr_assert_eq(a->upload_rec_matches, b->upload_rec_matches);
    cr_assert_eq(a->dev, b->dev);
    cr_assert_eq(a->ino, b->ino);
}

Test(engine_spool, records_read_back_forward_and_backward_in_order)
{
    char *dir = rslt_tmpdir("spool");
    rsl_spool *s = NULL;
    rsl_err err;
    cr_assert_eq(rsl_spool_open(&s, dir, &err), RSL_OK, "%s", err.msg);
    const int n = 50000;
    char path[256], src[256];
    rsl_item it, got;
    for (int i = 0; i < n; i++) {
        item_at(i, &it, path, sizeof(path), src, sizeof(src));
        cr_assert_eq(rsl_spool_put(s, &it, &err), RSL_OK, "%s", err.msg);
    }
    cr_assert_eq(rsl_spool_seal(s, &err), RSL_OK);
    cr_assert_eq(rsl_spool_count(s), (uint64_t)n);
    char *out = NULL;
    rslt_sh(&out, NULL, "ls -A '%s'", dir);
    cr_assert_str_eq(out, "", "the spool file has no name");
    free(out);

    for (int backward = 0; backward <= 1; backward++) {
        rsl_spool_cursor c;
        cr_assert_eq(rsl_spool_cursor_init(&c, s, backward, &err), RSL_OK);
        uint64_t idx;
        for (int k = 0; k < n; k++) {
            int i = backward ? n - 1 - k : k;
            cr_assert_eq(rsl_spool_next(&c, &got, &idx, &err), 1, "%s", err.msg);
            cr_assert_eq(idx, (uint64_t)i);
            item_at(i, &it, path, sizeof(path), src, sizeof(src));
            same_item(&it, &got, i);
        }
        cr_assert_eq(rsl_spool_next(&c, &got, &idx, &err), 0, "the end");
        rsl_spool_cursor_free(&c);
    }
    rsl_spool_free(s);
    rslt_rmrf(dir);
    free(dir);
}

Test(engine_spool, an_unusable_directory_falls_back_to_tmp)
{
    rsl_spool *s = NULL;
    rsl_err err;
    cr_assert_eq(rsl_spool_open(&s, "/nonexistent/dir", &err), RSL_OK, "%s", err.msg);
    rsl_item it = {.path = "x", .type = RSL_TYPE_FILE};
    cr_assert_eq(rsl_spool_put(s, &it, &err), RSL_OK);
    cr_assert_eq(rsl_spool_seal(s, &err), RSL_OK);
    rsl_spool_cursor c;
    cr_assert_eq(rsl_spool_cursor_init(&c, s, 0, &err), RSL_OK);
    cr_assert_eq(rsl_spool_next(&c, &it, NULL, &err), 1);
    cr_assert_str_eq(it.path, "x");
    rsl_spool_cursor_free(&c);
    rsl_spool_free(s);
}

Test(engine_spool, a_full_disk_is_state_write)
{
    char *d = rslt_tmpdir("spool-full");
    if (rslt_sh(NULL, NULL, "mount -t tmpfs -o size=64k tmpfs '%s' 2>/dev/null", d) != 0)
        cr_skip_test("cannot mount a tmpfs (needs root)");
    rsl_spool *s = NULL;
    rsl_err err;
    rsl_code rc = rsl_spool_open(&s, d, &err);
    cr_assert_eq(rc, RSL_OK, "%s", err.msg);
    char path[200];
    memset(path, 'p', sizeof(path) - 1);
    path[sizeof(path) - 1] = '\0';
    rsl_item it = {.path = path, .type = RSL_TYPE_FILE};
    for (int i = 0; i < 10000 && rc == RSL_OK; i++)
        rc = rsl_spool_put(s, &it, &err);
    if (rc == RSL_OK)
        rc = rsl_spool_seal(s, &err);
    rsl_spool_free(s);
    rslt_sh(NULL, NULL, "umount '%s'", d);
    cr_assert_eq(rc, RSL_E_STATE_WRITE, "%s", rsl_code_name(rc));
    cr_assert(strstr(err.msg, "spool") != NULL, "%s", err.msg);
    rslt_rmrf(d);
    free(d);
}

Test(engine_pathset, add_has_del_ancestors_and_churn)
{
    rsl_pathset s;
    rsl_pathset_init(&s);
    cr_assert_not(rsl_pathset_has(&s, "a"));
    cr_assert_eq(rsl_pathset_add(&s, "a/b"), 0);
    cr_assert(rsl_pathset_has(&s, "a/b"));
    cr_assert_not(rsl_pathset_has(&s, "a"));
    cr_assert(rsl_pathset_has_ancestor(&s, "a/b/c/d.txt"));
    cr_assert(rsl_pathset_has_parent(&s, "a/b/x"));
    cr_assert_not(rsl_pathset_has_parent(&s, "a/b/c/d.txt"));
    cr_assert_not(rsl_pathset_has_ancestor(&s, "a/b"), "not its own ancestor");
    cr_assert_not(rsl_pathset_has_ancestor(&s, "a/bc/d"), "a prefix is not an ancestor");
    rsl_pathset_del(&s, "a/b");
    cr_assert_not(rsl_pathset_has(&s, "a/b"));
    /* many paths coming and going: found while there, table stays bounded */
    char p[64];
    for (int i = 0; i < 200000; i++) {
        snprintf(p, sizeof(p), "dir/%d", i);
        cr_assert_eq(rsl_pathset_add(&s, p), 0);
        if (i >= 10) {
            snprintf(p, sizeof(p), "dir/%d", i - 10);
            cr_assert(rsl_pathset_has(&s, p));
            rsl_pathset_del(&s, p);
        }
    }
    cr_assert_eq(s.n, 10);
    cr_assert_leq(s.cap, 1024, "tombstones are reclaimed: %zu slots", s.cap);
    rsl_pathset_free(&s);
}
