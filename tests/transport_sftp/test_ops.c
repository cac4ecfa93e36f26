/* SFTP transport against the fixture's real OpenSSH sshd: every operation of
 * the ops table, with the remote checked on disk (the tests run on the same
 * machine as the server). */
#include "sftp_test.h"

#include <utime.h>

static rsl_conn *conn_main(const char *root, tlog *log)
{
    rsl_remote_opts *o = malloc(sizeof(*o)); /* must outlive the connection */
    opts_init(o, log);
    rsl_conn *c = NULL;
    rsl_err err;
    rsl_code rc = sconnect(&c, fx_int("SSH_PORT"), NULL, root, o, &err);
    cr_assert_eq(rc, RSL_OK, "connect: %s (%s)", rsl_code_name(rc), err.msg);
    return c;
}

static char *at(const char *root, const char *rel)
{
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/%s", root, rel) > 0);
    return p;
}

Test(sftp_ops, connect_describe_caps)
{
    char *root = mkroot("describe");
    rsl_conn *c = conn_main(root, NULL);
    const rsl_transport_ops *ops = sftp_ops();
    cr_assert_eq(rsl_scheme_find("sftp")->default_port, 22);
    unsigned caps = ops->caps_of(c);
    cr_assert(caps & RSL_CAP_RESUME);
    cr_assert(caps & RSL_CAP_SET_MTIME);
    cr_assert(caps & RSL_CAP_ATOMIC_RENAME, "OpenSSH offers posix-rename@openssh.com");
    char d[1024];
    ops->describe(c, d, sizeof(d));
    cr_assert(strstr(d, "posix-rename@openssh.com") != NULL, "%s", d);
    cr_assert(strstr(d, "publickey") != NULL, "%s", d);
    cr_assert(strstr(d, "SHA256:") != NULL, "%s", d);
    cr_assert(strstr(d, "known_hosts") != NULL, "%s", d);
    ops->disconnect(c);
    ops->disconnect(NULL);
}

Test(sftp_ops, username_option_overrides_url_user)
{
    char *root = mkroot("user");
    rsl_remote_opts o;
    opts_init(&o, NULL);
    o.username = fx("SSH_USER");
    rsl_conn *c = NULL;
    rsl_err err;
    rsl_code rc = sconnect(&c, fx_int("SSH_PORT"), "nosuchuserx", root, &o, &err);
    cr_assert_eq(rc, RSL_OK, "%s", err.msg);
    sftp_ops()->disconnect(c);
}

Test(sftp_ops, remote_root_missing_or_file)
{
    char *root = mkroot("rootmiss");
    rsl_remote_opts o;
    opts_init(&o, NULL);
    rsl_conn *c = NULL;
    rsl_err err;
    char *missing = at(root, "nope");
    rsl_code rc = sconnect(&c, fx_int("SSH_PORT"), NULL, missing, &o, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_ROOT_MISSING, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, missing) != NULL, "%s", err.msg);
    char *file = at(root, "afile");
    rslt_write(file, "x");
    rc = sconnect(&c, fx_int("SSH_PORT"), NULL, file, &o, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_ROOT_MISSING, "%s %s", rsl_code_name(rc), err.msg);
}

Test(sftp_ops, mkdir_nested_exists_conflict_cached)
{
    char *root = mkroot("mkdir");
    rsl_conn *c = conn_main(root, NULL);
    const rsl_transport_ops *ops = sftp_ops();
    rsl_err err;
    cr_assert_eq(ops->mkdir(c, "a", &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(ops->mkdir(c, "a/b", &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(ops->mkdir(c, "a/b/c", &err), RSL_OK, "%s", err.msg);
    struct stat sb;
    char *abc = at(root, "a/b/c");
    cr_assert(stat(abc, &sb) == 0 && S_ISDIR(sb.st_mode));
    /* exists already (made behind the transport's back) */
    char *pre = at(root, "pre");
    cr_assert_eq(mkdir(pre, 0777), 0);
    cr_assert_eq(ops->mkdir(c, "pre", &err), RSL_OK, "%s", err.msg);
    /* a file in the way */
    char *f = at(root, "file");
    rslt_write(f, "data");
    rsl_code rc = ops->mkdir(c, "file", &err);
    cr_assert_eq(rc, RSL_E_REMOTE_TYPE_CONFLICT, "%s %s", rsl_code_name(rc), err.msg);
    /* cached: after removing a/b/c behind its back, mkdir does not ask again */
    cr_assert_eq(rmdir(abc), 0);
    cr_assert_eq(ops->mkdir(c, "a/b/c", &err), RSL_OK);
    cr_assert_eq(stat(abc, &sb), -1, "mkdir went to the server: not cached");
    /* parent missing */
    rc = ops->mkdir(c, "x/y", &err);
    cr_assert_eq(rc, RSL_E_REMOTE_NOT_FOUND, "%s %s", rsl_code_name(rc), err.msg);
    ops->disconnect(c);
}

Test(sftp_ops, upload_finish_mtime_and_stat)
{
    char *root = mkroot("upload");
    rsl_conn *c = conn_main(root, NULL);
    const rsl_transport_ops *ops = sftp_ops();
    rsl_err err;
    unsigned char *data = random_bytes(300000, 1);
    rsl_code rc = put_file(c, "f.bin", data, 300000, 1500000000, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    char *p = at(root, "f.bin");
    cr_assert(same_content(p, data, 300000));
    struct stat sb;
    cr_assert_eq(stat(p, &sb), 0);
    cr_assert_eq(sb.st_mtime, 1500000000);
    cr_assert_eq(rslt_exists(at(root, "f.bin.rsl-part")), 0, "temp file left behind");
    rsl_rstat st;
    cr_assert_eq(ops->stat(c, "f.bin", &st, &err), RSL_OK);
    cr_assert(st.exists && !st.is_dir && st.size == 300000 && st.mtime == 1500000000);
    cr_assert_eq(ops->stat(c, "nope", &st, &err), RSL_OK);
    cr_assert_eq(st.exists, 0);
    cr_assert_eq(ops->stat(c, "", &st, &err), RSL_OK);
    cr_assert(st.exists && st.is_dir);
    /* empty file, and mtime < 0 leaves the time alone */
    rc = put_file(c, "empty", "", 0, -1, &err);
    cr_assert_eq(rc, RSL_OK, "%s", err.msg);
    cr_assert_eq(rslt_size(at(root, "empty")), 0);
    ops->disconnect(c);
}

Test(sftp_ops, finish_size_mismatch)
{
    char *root = mkroot("mismatch");
    rsl_conn *c = conn_main(root, NULL);
    const rsl_transport_ops *ops = sftp_ops();
    rsl_err err;
    msrc m;
    msrc_init(&m, "hello", 5);
    cr_assert_eq(ops->upload(c, "h.rsl-part", 0, 5, &m.s, &err), RSL_OK, "%s", err.msg);
    rsl_code rc = ops->finish(c, "h.rsl-part", "h", 6, -1, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_SIZE_MISMATCH, "%s", rsl_code_name(rc));
    cr_assert(strstr(err.msg, "5 bytes") != NULL, "%s", err.msg);
    cr_assert_eq(rslt_exists(at(root, "h")), 0, "renamed despite mismatch");
    rc = ops->finish(c, "absent.rsl-part", "absent", 1, -1, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_NOT_FOUND, "%s", rsl_code_name(rc));
    ops->disconnect(c);
}

Test(sftp_ops, atomic_replace_of_existing_file)
{
    char *root = mkroot("replace");
    char *p = at(root, "doc.txt");
    rslt_write(p, "old old old old");
    struct stat before;
    cr_assert_eq(stat(p, &before), 0);
    /* a reader holding the old file keeps seeing the old bytes: rename(2) */
    FILE *reader = fopen(p, "r");
    cr_assert(reader != NULL);
    rsl_conn *c = conn_main(root, NULL);
    rsl_err err;
    rsl_code rc = put_file(c, "doc.txt", "new content", 11, -1, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(same_content(p, "new content", 11));
    struct stat after;
    cr_assert_eq(stat(p, &after), 0);
    cr_assert_neq(after.st_ino, before.st_ino, "replaced by rename, not rewritten in place");
    char buf[32] = {0};
    cr_assert_eq(fread(buf, 1, sizeof(buf) - 1, reader), 15);
    cr_assert_str_eq(buf, "old old old old");
    fclose(reader);
    /* nothing left aside */
    char *out = NULL;
    rslt_sh(&out, NULL, "ls -A '%s'", root);
    cr_assert_str_eq(out, "doc.txt\n");
    sftp_ops()->disconnect(c);
}

Test(sftp_ops, finish_onto_directory_is_type_conflict)
{
    char *root = mkroot("ontodir");
    cr_assert_eq(mkdir(at(root, "d"), 0777), 0);
    rslt_write(at(root, "d/inside"), "x");
    rsl_conn *c = conn_main(root, NULL);
    rsl_err err;
    rsl_code rc = put_file(c, "d", "abc", 3, -1, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_TYPE_CONFLICT, "%s %s", rsl_code_name(rc), err.msg);
    sftp_ops()->disconnect(c);
}

Test(sftp_ops, resume_offset_and_continue)
{
    char *root = mkroot("resume");
    rsl_conn *c = conn_main(root, NULL);
    const rsl_transport_ops *ops = sftp_ops();
    rsl_err err;
    const uint64_t total = 10u << 20;
    unsigned char *data = random_bytes(total, 7);
    uint64_t have = 99;
    msrc m;
    msrc_init(&m, data, total);
    cr_assert_eq(ops->resume_offset(c, "big.rsl-part", total, &m.s, &have, &err), RSL_OK);
    cr_assert_eq(have, 0, "absent temp file");
    /* the local side fails after 6 MiB + 1234 bytes: the upload stops */
    m.fail_at = (6u << 20) + 1234;
    rsl_code rc = ops->upload(c, "big.rsl-part", 0, total, &m.s, &err);
    cr_assert_eq(rc, RSL_E_LOCAL_CHANGED, "%s", rsl_code_name(rc));
    cr_assert_eq(ops->resume_offset(c, "big.rsl-part", total, &m.s, &have, &err), RSL_OK);
    cr_assert(have > 0 && have <= m.fail_at, "have %llu", (unsigned long long)have);
    char *tmp = at(root, "big.rsl-part");
    cr_assert_eq((uint64_t)rslt_size(tmp), have);
    /* garbage beyond the offset is cut: append junk behind its back */
    FILE *f = fopen(tmp, "a");
    fputs("JUNKJUNK", f);
    fclose(f);
    msrc_init(&m, data, total);
    msrc_seek(&m, have);
    rc = ops->upload(c, "big.rsl-part", have, total, &m.s, &err);
    cr_assert_eq(rc, RSL_OK, "%s", err.msg);
    cr_assert_eq(m.pulled, total - have, "pulled only the rest");
    cr_assert_eq(ops->finish(c, "big.rsl-part", "big", total, -1, &err), RSL_OK, "%s", err.msg);
    cr_assert(same_content(at(root, "big"), data, total));
    /* a temp file larger than the file is not resumed */
    char *small = at(root, "small.rsl-part");
    FILE *sf = fopen(small, "w");
    fwrite(data, 1, 10, sf);
    fclose(sf);
    cr_assert_eq(ops->resume_offset(c, "small.rsl-part", 4, &m.s, &have, &err), RSL_OK);
    cr_assert_eq(have, 0);
    cr_assert_eq(ops->resume_offset(c, "small.rsl-part", 10, &m.s, &have, &err), RSL_OK);
    cr_assert_eq(have, 10);
    /* nor one whose tail differs from the source (another version of the file) */
    sf = fopen(small, "r+");
    fseek(sf, 9, SEEK_SET);
    fputc(data[9] ^ 0x55, sf);
    fclose(sf);
    cr_assert_eq(ops->resume_offset(c, "small.rsl-part", 10, &m.s, &have, &err), RSL_OK);
    cr_assert_eq(have, 0, "tail mismatch must not resume");
    ops->disconnect(c);
}

Test(sftp_ops, upload_offset_zero_truncates)
{
    char *root = mkroot("trunc");
    char *t = at(root, "t.rsl-part");
    rslt_write(t, "a much longer stale temp file content");
    char *user = fx("SSH_USER");
    cr_assert_eq(rslt_sh(NULL, NULL, "chown %s '%s'", user, t), 0);
    rsl_conn *c = conn_main(root, NULL);
    rsl_err err;
    msrc m;
    msrc_init(&m, "short", 5);
    cr_assert_eq(sftp_ops()->upload(c, "t.rsl-part", 0, 5, &m.s, &err), RSL_OK);
    cr_assert(same_content(at(root, "t.rsl-part"), "short", 5));
    sftp_ops()->disconnect(c);
}

Test(sftp_ops, remove_files_and_dirs)
{
    char *root = mkroot("remove");
    rsl_conn *c = conn_main(root, NULL);
    const rsl_transport_ops *ops = sftp_ops();
    rsl_err err;
    cr_assert_eq(ops->mkdir(c, "d", &err), RSL_OK);
    cr_assert_eq(put_file(c, "d/f", "x", 1, -1, &err), RSL_OK, "%s", err.msg);
    rsl_code rc = ops->remove(c, "d", 1, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_DELETE_FAILED, "non-empty dir: %s", rsl_code_name(rc));
    cr_assert_eq(ops->remove(c, "d/f", 0, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(rslt_exists(at(root, "d/f")), 0);
    cr_assert_eq(ops->remove(c, "d", 1, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(rslt_exists(at(root, "d")), 0);
    cr_assert_eq(ops->remove(c, "d", 1, &err), RSL_OK, "absent dir is OK");
    cr_assert_eq(ops->remove(c, "gone", 0, &err), RSL_OK, "absent file is OK");
    /* after removing a directory the cache does not claim it exists */
    cr_assert_eq(ops->mkdir(c, "d", &err), RSL_OK);
    cr_assert_eq(rslt_exists(at(root, "d")), 1);
    ops->disconnect(c);
}

struct listing {
    int n, files, dirs;
    uint64_t bytes;
    int saw_big;
};

static int list_cb(void *ud, const char *name, const rsl_rstat *st)
{
    struct listing *l = ud;
    l->n++;
    if (st->is_dir)
        l->dirs++;
    else
        l->files++;
    l->bytes += st->is_dir ? 0 : st->size;
    if (strcmp(name, "big") == 0 && st->size == 4000 && st->mtime == 1234567890)
        l->saw_big = 1;
    return 0;
}

static int stop_cb(void *ud, const char *name, const rsl_rstat *st)
{
    (void)name;
    (void)st;
    ++*(int *)ud;
    return 1;
}

Test(sftp_ops, list_directory)
{
    char *root = mkroot("list");
    rsl_conn *c = conn_main(root, NULL);
    const rsl_transport_ops *ops = sftp_ops();
    rsl_err err;
    unsigned char *d = random_bytes(4000, 3);
    cr_assert_eq(put_file(c, "big", d, 4000, 1234567890, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(put_file(c, "small", "ab", 2, -1, &err), RSL_OK);
    cr_assert_eq(ops->mkdir(c, "sub", &err), RSL_OK);
    cr_assert_eq(put_file(c, "sub/inner", "abc", 3, -1, &err), RSL_OK);
    struct listing l = {0};
    cr_assert_eq(ops->list(c, "", list_cb, &l, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(l.n, 3);
    cr_assert_eq(l.files, 2);
    cr_assert_eq(l.dirs, 1);
    cr_assert_eq(l.bytes, 4002);
    cr_assert(l.saw_big);
    memset(&l, 0, sizeof(l));
    cr_assert_eq(ops->list(c, "sub", list_cb, &l, &err), RSL_OK);
    cr_assert_eq(l.n, 1);
    int calls = 0;
    cr_assert_eq(ops->list(c, "", stop_cb, &calls, &err), RSL_OK);
    cr_assert_eq(calls, 1, "callback's stop honoured");
    rsl_code rc = ops->list(c, "nope", list_cb, &l, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_NOT_FOUND, "%s", rsl_code_name(rc));
    ops->disconnect(c);
}

Test(sftp_ops, permission_denied_on_read_only_dir)
{
    if (fx_int("SSH_CAN_CHMOD") == 0)
        cr_skip_test("server user is root: permissions are not enforced");
    char *root = mkroot("perm");
    char *ro = at(root, "ro");
    char *user = fx("SSH_USER");
    cr_assert_eq(
        rslt_sh(NULL, NULL, "mkdir '%s' && chown %s '%s' && chmod 0555 '%s'", ro, user, ro, ro), 0);
    rsl_conn *c = conn_main(root, NULL);
    const rsl_transport_ops *ops = sftp_ops();
    rsl_err err;
    rsl_code rc = put_file(c, "ro/f", "data", 4, -1, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_PERMISSION, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, "ro/f") != NULL, "message names the item: %s", err.msg);
    rc = ops->mkdir(c, "ro/sub", &err);
    cr_assert_eq(rc, RSL_E_REMOTE_PERMISSION, "%s %s", rsl_code_name(rc), err.msg);
    /* the session is still fine for other items */
    cr_assert_eq(put_file(c, "ok", "data", 4, -1, &err), RSL_OK, "%s", err.msg);
    ops->disconnect(c);
}

Test(sftp_ops, name_refused_by_server)
{
    char *root = mkroot("name");
    rsl_conn *c = conn_main(root, NULL);
    char name[300];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0'; /* 299 bytes > NAME_MAX: ENAMETOOLONG */
    rsl_err err;
    rsl_code rc = sftp_ops()->mkdir(c, name, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_NAME_REFUSED, "%s %s", rsl_code_name(rc), err.msg);
    rc = put_file(c, name, "x", 1, -1, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_NAME_REFUSED, "%s %s", rsl_code_name(rc), err.msg);
    sftp_ops()->disconnect(c);
}

Test(sftp_ops, large_file_pipelined_upload, .timeout = 120)
{
    char *root = mkroot("large");
    rsl_conn *c = conn_main(root, NULL);
    const uint64_t total = 40u << 20;
    unsigned char *data = random_bytes(total, 11);
    rsl_err err;
    rsl_code rc = put_file(c, "large.bin", data, total, 1600000000, &err);
    cr_assert_eq(rc, RSL_OK, "%s", err.msg);
    cr_assert(same_content(at(root, "large.bin"), data, total));
    sftp_ops()->disconnect(c);
    free(data);
}

struct worker {
    char *root;
    int id;
    rsl_code rc;
    char msg[512];
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    rsl_remote_opts o;
    opts_init(&o, NULL);
    rsl_conn *c = NULL;
    rsl_err err;
    w->rc = sconnect(&c, fx_int("SSH_PORT"), NULL, w->root, &o, &err);
    if (w->rc != RSL_OK)
        goto done;
    char dir[32];
    snprintf(dir, sizeof(dir), "w%d", w->id);
    if ((w->rc = sftp_ops()->mkdir(c, dir, &err)) != RSL_OK)
        goto done;
    for (int i = 0; i < 25 && w->rc == RSL_OK; i++) {
        char rel[64], body[64];
        snprintf(rel, sizeof(rel), "w%d/f%02d", w->id, i);
        int n = snprintf(body, sizeof(body), "worker %d file %d", w->id, i);
        w->rc = put_file(c, rel, body, (uint64_t)n, -1, &err);
    }
done:
    if (w->rc != RSL_OK)
        snprintf(w->msg, sizeof(w->msg), "%s", err.msg);
    sftp_ops()->disconnect(c);
    return NULL;
}

Test(sftp_ops, four_connections_in_four_threads)
{
    char *root = mkroot("threads");
    struct worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.root = root, .id = i};
        cr_assert_eq(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(w[i].rc, RSL_OK, "worker %d: %s %s", i, rsl_code_name(w[i].rc), w[i].msg);
    }
    char *out = NULL;
    rslt_sh(&out, NULL, "find '%s' -type f | wc -l", root);
    cr_assert_eq(strtol(out, NULL, 10), 100);
    rslt_sh(&out, NULL, "cat '%s/w3/f24'", root);
    cr_assert_str_eq(out, "worker 3 file 24");
}

Test(sftp_ops, one_channel_server_uses_two_step_rename)
{
    /* a server without posix-rename@openssh.com (the "single" instance runs
     * sftp-server -P posix-rename): the fallback moves the old file aside,
     * renames the new one in, removes the old */
    char *root = mkroot("single");
    char *p = at(root, "doc.txt");
    rslt_write(p, "old content");
    rsl_remote_opts o;
    opts_init(&o, NULL);
    rsl_conn *c = NULL;
    rsl_err err;
    rsl_code rc = sconnect(&c, fx_int("SSH_PORT_SINGLE"), NULL, root, &o, &err);
    cr_assert_eq(rc, RSL_OK, "%s", err.msg);
    const rsl_transport_ops *ops = sftp_ops();
    cr_assert_eq(ops->caps_of(c) & RSL_CAP_ATOMIC_RENAME, 0);
    char d[1024];
    ops->describe(c, d, sizeof(d));
    cr_assert(strstr(d, "NO atomic replace") != NULL, "%s", d);
    rc = put_file(c, "doc.txt", "new content!", 12, 1400000000, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(same_content(p, "new content!", 12));
    struct stat sb;
    cr_assert_eq(stat(p, &sb), 0);
    cr_assert_eq(sb.st_mtime, 1400000000);
    unsigned char *big = random_bytes(3u << 20, 4);
    cr_assert_eq(put_file(c, "big", big, 3u << 20, -1, &err), RSL_OK, "%s", err.msg);
    cr_assert(same_content(at(root, "big"), big, 3u << 20));
    char *out = NULL;
    rslt_sh(&out, NULL, "ls -A '%s'", root);
    cr_assert_str_eq(out, "big\ndoc.txt\n", "nothing left aside: %s", out);
    ops->disconnect(c);
}

Test(sftp_ops, remote_disk_full_is_no_space)
{
    char *full = rslt_fixture_get("SSH_FULL_DIR");
    if (full == NULL || full[0] == '\0')
        cr_skip_test("no small file system (needs root to mount a tmpfs)");
    rslt_sh(NULL, NULL, "rm -rf '%s'/*", full);
    rsl_conn *c = conn_main(full, NULL);
    rsl_err err;
    /* large path (libssh2 pipelined writes): 3 MiB into a 2 MiB file system */
    unsigned char *big = random_bytes(3u << 20, 8);
    rsl_code rc = put_file(c, "big", big, 3u << 20, -1, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_NO_SPACE, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, "big") != NULL, "%s", err.msg);
    /* small path (batched writes) while the disk is still full */
    rc = put_file(c, "small", big, 100000, -1, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_NO_SPACE, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert_eq(rsl_code_class(rc), RSL_CLASS_TRANSIENT, "per item, not session");
    /* the session still works once space is freed */
    rslt_sh(NULL, NULL, "rm -rf '%s'/*", full);
    cr_assert_eq(put_file(c, "ok", "fine", 4, -1, &err), RSL_OK, "%s", err.msg);
    sftp_ops()->disconnect(c);
    rslt_sh(NULL, NULL, "rm -rf '%s'/*", full);
}
