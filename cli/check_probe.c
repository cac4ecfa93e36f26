/*
 * check_probe.c - the probes behind `check`'s capability steps. See
 * check_probe.h.
 */
#include "cli/check_probe.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/beneath.h"
#include "cli/digest.h"

/* The mtime finish sets on the probe (2009-02-13 23:31:30 UTC: in the past,
 * and not a time a server could give a new file by itself). */
#define PROBE_MTIME 1234567890
/* The mode the probe is sent with (RSL_CAP_SET_MODE). */
#define PROBE_MODE 0600
/* The resume probe: RESUME_SIZE bytes, of which RESUME_KEPT are sent first. */
#define RESUME_SIZE 200000
#define RESUME_KEPT 100000

static const char probe_a[] = "rsyncd-lite check probe: safe to delete\n";
static const char probe_b[] = "rsyncd-lite check probe, second version: safe to delete\n";

static const char resume_broken_fix[] =
    "Report this server (software and version) to its administrator: it loses or changes the "
    "kept part of a continued upload. Until it is fixed, find damaged files with `rsyncd-lite "
    "verify JOB.conf --read-back` and send them again with --repair.";
static const char resume_none_fix[] =
    "Nothing to set in the job: large files restart after every interruption here. If they get "
    "cut often, use a server that keeps partial uploads (SFTP; FTPS with REST/APPE; WebDAV with "
    "partial PUT).";

/* ---- a memory source ---- */
typedef struct mem_src {
    const unsigned char *buf;
    size_t len, pos;
} mem_src;

static ssize_t mem_read(rsl_source *s, void *buf, size_t n, rsl_err *err)
{
    (void)err;
    mem_src *m = s->ud;
    if (n > m->len - m->pos)
        n = m->len - m->pos;
    memcpy(buf, m->buf + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

static ssize_t mem_pread(rsl_source *s, void *buf, size_t n, uint64_t off, rsl_err *err)
{
    (void)err;
    mem_src *m = s->ud;
    if (off >= m->len)
        return 0;
    if (n > m->len - off)
        n = (size_t)(m->len - off);
    memcpy(buf, m->buf + off, n);
    return (ssize_t)n;
}

/* ---- one probe run ---- */
typedef struct probe {
    const rsl_probe_env *env;
    const rsl_transport_ops *ops;
    unsigned caps;
    char final[128], tmp[1024], rtmp[1024];
    int renamed;     /* final exists with probe_b */
    rsl_rstat fst;   /* final's stat after the replace */
    char d[4096];    /* the detail being written */
    char desc[1024]; /* the transport's description */
} probe;

static void say(probe *p, int status, const char *step, const char *fix)
{
    p->env->report(p->env->ud, status, step, p->d, fix);
}

static void say_err(probe *p, const char *step, const char *what, const rsl_err *e, const char *fix)
{
    const rsl_catalog_entry *ce = rsl_catalog_get(e->code);
    snprintf(p->d, sizeof(p->d), "%s: %s (%s %d)", what, e->msg, rsl_code_name(e->code),
             (int)e->code);
    say(p, RSL_PROBE_FAIL, step, fix ? fix : ce ? ce->remediation : NULL);
}

/* Uploads buf as tmp (from offset 0) with the probe's mode. */
static rsl_code put(probe *p, const char *tmp, const void *buf, size_t len, rsl_err *e)
{
    mem_src m = {.buf = buf, .len = len};
    rsl_source src = {.read = mem_read, .pread = mem_pread, .mode = PROBE_MODE, .ud = &m};
    return p->ops->upload(p->env->conn, tmp, 0, len, &src, e);
}

typedef struct collect {
    unsigned char *buf;
    size_t len, cap;
} collect;

static int collect_cb(void *ud, const void *buf, size_t n)
{
    collect *c = ud;
    if (c->len + n > c->cap)
        return 1; /* more than expected: stop, the length tells */
    memcpy(c->buf + c->len, buf, n);
    c->len += n;
    return 0;
}

/* Reads rel back and compares it with want[0..len). Returns RSL_OK with
 * *at = -1 when equal, else the first differing byte (or the length read
 * when shorter or longer); an error code with e set. */
static rsl_code read_cmp(probe *p, const char *rel, const void *want, size_t len, long *at,
                         rsl_err *e)
{
    collect c = {.buf = malloc(len + 1), .cap = len + 1};
    if (c.buf == NULL)
        return rsl_err_set(e, RSL_E_NO_MEMORY, 0, "out of memory");
    rsl_code rc = p->ops->read(p->env->conn, rel, collect_cb, &c, e);
    *at = -1;
    if (rc == RSL_OK) {
        size_t i = 0;
        while (i < len && i < c.len && c.buf[i] == ((const unsigned char *)want)[i])
            i++;
        if (i < len || c.len != len)
            *at = (long)i;
    }
    free(c.buf);
    return rc;
}

/* 1. remote root writable: the probe's first version under its temp name. */
static int probe_write(probe *p)
{
    rsl_err e = {0};
    if (put(p, p->tmp, probe_a, sizeof(probe_a) - 1, &e) != RSL_OK) {
        say_err(p, RSL_PROBE_STEP_WRITABLE, "upload of the probe", &e, NULL);
        return -1;
    }
    snprintf(p->d, sizeof(p->d), "wrote probe %s (%zu bytes)", p->tmp, sizeof(probe_a) - 1);
    say(p, RSL_PROBE_PASS, RSL_PROBE_STEP_WRITABLE, NULL);
    return 0;
}

/* finish tmp -> final (mtime PROBE_MTIME) and stat final: RSL_OK when it
 * has len bytes; a code with e set otherwise. */
static rsl_code finish_stat(probe *p, size_t len, rsl_rstat *st, rsl_err *e)
{
    rsl_code rc = p->ops->finish(p->env->conn, p->tmp, p->final, len, PROBE_MTIME, e);
    if (rc == RSL_OK)
        rc = p->ops->stat(p->env->conn, p->final, st, e);
    if (rc == RSL_OK && (!st->exists || st->size != len))
        rc = rsl_err_set(e, RSL_E_REMOTE_RENAME_FAILED, 0,
                         "after the rename the server reports %s for %s",
                         st->exists ? "a different size" : "no file", p->final);
    return rc;
}

/* 2. rename: tmp -> final, then a second version over the existing final. */
static void probe_rename(probe *p)
{
    rsl_err e = {0};
    rsl_rstat st;
    if (finish_stat(p, sizeof(probe_a) - 1, &st, &e) != RSL_OK) {
        say_err(p, RSL_PROBE_STEP_RENAME, "rename of the probe", &e, NULL);
        return;
    }
    if (put(p, p->tmp, probe_b, sizeof(probe_b) - 1, &e) != RSL_OK ||
        finish_stat(p, sizeof(probe_b) - 1, &p->fst, &e) != RSL_OK) {
        say_err(p, RSL_PROBE_STEP_RENAME, "replacing the existing probe file", &e,
                "Replacing an existing file fails on this server, so every changed file will "
                "fail to update: check the account may overwrite and delete files in the "
                "remote root.");
        return;
    }
    p->renamed = 1;
    int atomic = (p->caps & RSL_CAP_ATOMIC_RENAME) != 0;
    snprintf(p->d, sizeof(p->d), "%s -> %s, then again over the existing file%s", p->tmp, p->final,
             atomic ? " (atomic replace)"
                    : " (replace is NOT atomic on this server: a reader may briefly see no file)");
    say(p, atomic ? RSL_PROBE_PASS : RSL_PROBE_WARN, RSL_PROBE_STEP_RENAME, NULL);
}

/* 3. mtime: the replace set PROBE_MTIME; does the server report it? */
static void probe_mtime(probe *p)
{
    if (!(p->caps & RSL_CAP_SET_MTIME)) {
        snprintf(p->d, sizeof(p->d),
                 "this server cannot set modification times: remote files carry the time of "
                 "their upload, and verify compares sizes only");
        say(p, RSL_PROBE_SKIP, RSL_PROBE_STEP_MTIME, NULL);
        return;
    }
    if (!p->renamed) {
        snprintf(p->d, sizeof(p->d), "needs the rename step above");
        say(p, RSL_PROBE_SKIP, RSL_PROBE_STEP_MTIME, NULL);
        return;
    }
    if (p->fst.mtime < 0) {
        snprintf(p->d, sizeof(p->d),
                 "claimed, not verifiable: the server does not report modification times");
        say(p, RSL_PROBE_SKIP, RSL_PROBE_STEP_MTIME, NULL);
        return;
    }
    long long diff = (long long)p->fst.mtime - PROBE_MTIME;
    if (diff > 1 || diff < -1) {
        snprintf(p->d, sizeof(p->d),
                 "the server did not keep the modification time set on %s (set %d, it reports "
                 "%lld): remote files carry the time of their upload, and verify reports mtime "
                 "differences",
                 p->final, PROBE_MTIME, (long long)p->fst.mtime);
        say(p, RSL_PROBE_FAIL, RSL_PROBE_STEP_MTIME,
            "Ask the server administrator to allow setting modification times (vsftpd: "
            "mdtm_write=YES; ProFTPD: AllowStoreRestart and SITE UTIME/MFMT); nothing is lost "
            "meanwhile but the remote mtimes.");
        return;
    }
    snprintf(p->d, sizeof(p->d), "set 2009-02-13 23:31:30Z on %s and read it back", p->final);
    say(p, RSL_PROBE_PASS, RSL_PROBE_STEP_MTIME, NULL);
}

/* Deterministic bytes that are not zeros (a zero-filled range shows). */
static void fill(unsigned char *b, size_t n)
{
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (unsigned char)(x | 1);
    }
}

/* The resume probe's content check: read back where the transport can.
 * Returns 0 when it matches (or cannot be read: *how says so), -1 after a
 * FAIL was reported. */
static int resume_readback(probe *p, const unsigned char *c, uint64_t have, const char **how)
{
    *how = " (content not read back: this transport cannot read files)";
    if (p->ops->read == NULL)
        return 0;
    rsl_err e = {0};
    long at = -1;
    if (read_cmp(p, p->rtmp, c, RESUME_SIZE, &at, &e) != RSL_OK) {
        say_err(p, RSL_PROBE_STEP_RESUME, "reading the continued temp file back", &e, NULL);
        return -1;
    }
    if (at >= 0) {
        snprintf(p->d, sizeof(p->d),
                 "resume does not work on this server: after continuing at byte %llu, the "
                 "temp file's bytes differ from what was sent from byte %ld on (the kept part "
                 "was lost or changed); a resumed upload arrives damaged",
                 (unsigned long long)have, at);
        say(p, RSL_PROBE_FAIL, RSL_PROBE_STEP_RESUME, resume_broken_fix);
        return -1;
    }
    *how = ", read back identical";
    return 0;
}

/* The steps of the resume probe on content c; 0, or -1 after a FAIL. */
static int resume_steps(probe *p, const unsigned char *c, uint64_t *have, const char **how)
{
    rsl_err e = {0};
    mem_src m = {.buf = c, .len = RESUME_SIZE};
    rsl_source src = {.read = mem_read, .pread = mem_pread, .mode = PROBE_MODE, .ud = &m};
    rsl_rstat st;
    if (put(p, p->rtmp, c, RESUME_KEPT, &e) != RSL_OK ||
        p->ops->resume_offset(p->env->conn, p->rtmp, RESUME_SIZE, &src, have, &e) != RSL_OK) {
        say_err(p, RSL_PROBE_STEP_RESUME, "the first part of the resume probe", &e, NULL);
        return -1;
    }
    if (*have == 0 || *have > RESUME_KEPT) {
        snprintf(p->d, sizeof(p->d),
                 "resume does not work on this server: an interrupted upload will restart from "
                 "zero (of the %d bytes of %s, the server offers to keep %llu)",
                 RESUME_KEPT, p->rtmp, (unsigned long long)*have);
        say(p, RSL_PROBE_FAIL, RSL_PROBE_STEP_RESUME, resume_none_fix);
        return -1;
    }
    m.pos = (size_t)*have;
    if (p->ops->upload(p->env->conn, p->rtmp, *have, RESUME_SIZE, &src, &e) != RSL_OK ||
        p->ops->stat(p->env->conn, p->rtmp, &st, &e) != RSL_OK) {
        say_err(p, RSL_PROBE_STEP_RESUME, "continuing the resume probe", &e, resume_broken_fix);
        return -1;
    }
    if (!st.exists || st.size != RESUME_SIZE) {
        snprintf(p->d, sizeof(p->d),
                 "resume does not work on this server: after continuing at byte %llu the temp "
                 "file has %llu bytes, not %d; a resumed upload fails its size check",
                 (unsigned long long)*have, (unsigned long long)st.size, RESUME_SIZE);
        say(p, RSL_PROBE_FAIL, RSL_PROBE_STEP_RESUME, resume_broken_fix);
        return -1;
    }
    return resume_readback(p, c, *have, how);
}

/* 4. resume: half a file, resume_offset, the rest from there, size and bytes. */
static void probe_resume(probe *p)
{
    if (!(p->caps & RSL_CAP_RESUME)) {
        snprintf(p->d, sizeof(p->d),
                 "this server cannot resume: an interrupted upload restarts from zero; %s",
                 p->desc);
        say(p, RSL_PROBE_WARN, RSL_PROBE_STEP_RESUME,
            "Use a server or protocol that supports resume (SFTP, FTPS with REST, WebDAV "
            "with partial PUT) if large files get cut.");
        return;
    }
    unsigned char *c = malloc(RESUME_SIZE);
    if (c == NULL) {
        snprintf(p->d, sizeof(p->d), "out of memory");
        say(p, RSL_PROBE_FAIL, RSL_PROBE_STEP_RESUME, NULL);
        return;
    }
    fill(c, RESUME_SIZE);
    uint64_t have = 0;
    const char *how = "";
    if (resume_steps(p, c, &have, &how) == 0) {
        snprintf(p->d, sizeof(p->d),
                 "wrote %d of %d bytes to %s, the server kept %llu, continued from there: %d "
                 "bytes%s; %s",
                 RESUME_KEPT, RESUME_SIZE, p->rtmp, (unsigned long long)have, RESUME_SIZE, how,
                 p->desc);
        say(p, RSL_PROBE_PASS, RSL_PROBE_STEP_RESUME, NULL);
    }
    free(c);
}

/* The permission bits of the probe as the local directory local_root has
 * them, or -1. */
static int local_mode(const char *local_root, const char *rel)
{
    int dfd = open(local_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int fd = dfd < 0 ? -1 : rsl_beneath_open(dfd, rel, O_RDONLY | O_NONBLOCK, 0);
    struct stat sb;
    int mode = fd >= 0 && fstat(fd, &sb) == 0 ? (int)(sb.st_mode & 07777) : -1;
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    return mode;
}

/* 5. permission bits: the probe was sent with mode 0600. */
static void probe_mode(probe *p)
{
    const char *t = p->ops->name;
    if (!(p->caps & RSL_CAP_SET_MODE)) {
        int explicit_mode = p->env->perms >= 0;
        char why[120];
        snprintf(why, sizeof(why), "the %s transport has no way to set them%s", t,
                 explicit_mode ? "; perms names a mode: it is not applied" : "");
        snprintf(p->d, sizeof(p->d),
                 "this server cannot set permission bits: new files get the server's defaults "
                 "whatever perms says (%s)",
                 why);
        say(p, explicit_mode ? RSL_PROBE_WARN : RSL_PROBE_SKIP, RSL_PROBE_STEP_MODE,
            explicit_mode ? "Remove perms from the job, or ask the server administrator for the "
                            "default mode (FTP: the server's umask; WebDAV: the server's files)."
                          : NULL);
        return;
    }
    int mode = p->renamed && p->env->local_root ? local_mode(p->env->local_root, p->final) : -1;
    if (mode < 0) {
        snprintf(p->d, sizeof(p->d),
                 "claimed, not verifiable: the %s transport cannot show a remote file's "
                 "permission bits",
                 t);
        say(p, RSL_PROBE_SKIP, RSL_PROBE_STEP_MODE, NULL);
        return;
    }
    snprintf(p->d, sizeof(p->d), "sent %s with mode %04o, it has %04o", p->final, PROBE_MODE, mode);
    if (mode != PROBE_MODE) {
        say(p, RSL_PROBE_FAIL, RSL_PROBE_STEP_MODE,
            "The permission bits rsyncd-lite sets are not applied here: check the remote "
            "directory's default ACL and the server's umask.");
        return;
    }
    say(p, RSL_PROBE_PASS, RSL_PROBE_STEP_MODE, NULL);
}

/* The server's digest of the probe: sha256 asked first, then any. */
static rsl_code probe_hash(probe *p, rsl_rhash *rh, rsl_err *e)
{
    memset(rh, 0, sizeof(*rh));
    rsl_code rc = p->ops->hash(p->env->conn, p->final, "sha256", rh, e);
    if (rc == RSL_E_CHECKSUM_UNAVAILABLE)
        rc = p->ops->hash(p->env->conn, p->final, NULL, rh, e);
    return rc;
}

/* 6. server checksum: hash() of the probe against its digest computed here. */
static void probe_checksum(probe *p)
{
    int claimed = (p->caps & RSL_CAP_CHECKSUM) != 0;
    if (p->ops->hash == NULL || !p->renamed) {
        snprintf(p->d, sizeof(p->d), "%s",
                 !p->renamed ? "needs the rename step above"
                             : "this transport has no checksum command: verify --checksum "
                               "reports contents as not compared unless --read-back");
        say(p, RSL_PROBE_SKIP, RSL_PROBE_STEP_CHECKSUM, NULL);
        return;
    }
    rsl_rhash rh;
    rsl_err e = {0};
    rsl_code rc = probe_hash(p, &rh, &e);
    if (rc == RSL_E_CHECKSUM_UNAVAILABLE && !claimed) {
        snprintf(p->d, sizeof(p->d),
                 "this server offers no checksum: verify --checksum reports contents as not "
                 "compared unless --read-back");
        say(p, RSL_PROBE_SKIP, RSL_PROBE_STEP_CHECKSUM, NULL);
        return;
    }
    if (rc != RSL_OK) {
        say_err(p, RSL_PROBE_STEP_CHECKSUM,
                claimed ? "claimed, but asking for it failed" : "asking for it failed", &e,
                "verify --checksum cannot use this server's checksum; use verify --read-back.");
        return;
    }
    char want[RSL_DIGEST_HEX] = "";
    if (!rsl_digest_known(rh.alg) ||
        rsl_digest_buf(rh.alg, probe_b, sizeof(probe_b) - 1, want, sizeof(want)) != 0) {
        snprintf(p->d, sizeof(p->d),
                 "the server's checksum is %s, which rsyncd-lite does not compute: verify "
                 "--checksum needs --read-back",
                 rh.alg);
        say(p, RSL_PROBE_WARN, RSL_PROBE_STEP_CHECKSUM, NULL);
        return;
    }
    if (strcmp(want, rh.hex) != 0) {
        snprintf(p->d, sizeof(p->d),
                 "the server's %s of %s is %.16s..., the probe's is %.16s...: its checksums are "
                 "wrong",
                 rh.alg, p->final, rh.hex, want);
        say(p, RSL_PROBE_FAIL, RSL_PROBE_STEP_CHECKSUM,
            "Do not trust this server's checksums: verify --checksum would report false "
            "differences; use verify --read-back.");
        return;
    }
    snprintf(p->d, sizeof(p->d),
             "the server's %s of %s matches: verify --checksum compares contents without "
             "reading them back",
             rh.alg, p->final);
    say(p, RSL_PROBE_PASS, RSL_PROBE_STEP_CHECKSUM, NULL);
}

/* 7. read back: read() of the probe returns its bytes. */
static void probe_read(probe *p)
{
    if (p->ops->read == NULL || !p->renamed) {
        snprintf(p->d, sizeof(p->d), "%s",
                 !p->renamed ? "needs the rename step above"
                             : "this transport cannot read files back: verify --read-back is "
                               "not available");
        say(p, RSL_PROBE_SKIP, RSL_PROBE_STEP_READ, NULL);
        return;
    }
    rsl_err e = {0};
    long at = -1;
    if (read_cmp(p, p->final, probe_b, sizeof(probe_b) - 1, &at, &e) != RSL_OK) {
        say_err(p, RSL_PROBE_STEP_READ, "reading the probe back", &e,
                "verify --read-back will not work on this server; check the account may "
                "download what it uploads.");
        return;
    }
    if (at >= 0) {
        snprintf(p->d, sizeof(p->d), "%s read back differs from what was sent from byte %ld on",
                 p->final, at);
        say(p, RSL_PROBE_FAIL, RSL_PROBE_STEP_READ,
            "The server does not return what it was sent: check it (disk, cache, a proxy that "
            "rewrites content) before trusting any upload.");
        return;
    }
    snprintf(p->d, sizeof(p->d), "%s read back identical (%zu bytes): verify --read-back works",
             p->final, sizeof(probe_b) - 1);
    say(p, RSL_PROBE_PASS, RSL_PROBE_STEP_READ, NULL);
}

/* Removes every probe file; "probe removed" fails for those that stay. */
static void cleanup(probe *p)
{
    const char *names[] = {p->tmp, p->rtmp, p->final};
    char left[1200] = "";
    rsl_err e = {0}, first = {0};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (p->ops->remove(p->env->conn, names[i], 0, &e) == RSL_OK)
            continue;
        if (first.code == RSL_OK)
            first = e;
        size_t n = strlen(left);
        snprintf(left + n, sizeof(left) - n, "%s%s", n ? ", " : "", names[i]);
    }
    if (left[0] == '\0')
        return;
    snprintf(p->d, sizeof(p->d), "could not remove the probe file(s) %s: %s; remove them by hand",
             left, first.msg);
    const rsl_catalog_entry *ce = rsl_catalog_get(first.code);
    say(p, RSL_PROBE_FAIL, "probe removed", ce ? ce->remediation : NULL);
}

int rsl_probe_run(const rsl_probe_env *env)
{
    static probe p; /* large: not on the stack */
    memset(&p, 0, sizeof(p));
    p.env = env;
    p.ops = env->ops;
    p.caps = p.ops->caps_of(env->conn);
    p.ops->describe(env->conn, p.desc, sizeof(p.desc));
    snprintf(p.final, sizeof(p.final), ".rsyncd-lite-check-%ld", (long)getpid());
    snprintf(p.tmp, sizeof(p.tmp), "%s%s", p.final, env->temp_suffix);
    snprintf(p.rtmp, sizeof(p.rtmp), "%s-resume%s", p.final, env->temp_suffix);
    int done = 0;
    if (probe_write(&p) != 0) {
        done = 1;
    } else {
        probe_rename(&p);
        probe_mtime(&p);
        probe_resume(&p);
        probe_mode(&p);
        probe_checksum(&p);
        probe_read(&p);
    }
    cleanup(&p);
    return done;
}
