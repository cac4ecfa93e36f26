/* `verify --checksum`, `--read-back` and `--repair --delete-extra` with the
 * built binary against the real servers the fixture starts (vsftpd over
 * TLS, Apache and nginx WebDAV): none of them offers a checksum, so
 * --checksum says "not compared" and never "identical"; a file whose bytes
 * are changed on the server's disk (same size, same mtime) is caught by
 * --read-back, repaired and sent again. The scripted FTP server in HASH
 * mode gives server digests: --checksum compares without reading back and
 * catches a file overwritten behind the job's back. nginx: --delete-extra
 * converges a remote written to by hand. */
#define _GNU_SOURCE /* asprintf */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/harness.h"
#include "tests/verify/verify_test.h"

static char *fx(const char *k)
{
    char *v = rslt_fixture_get(k);
    cr_assert_not_null(v, "fixture key %s missing (did fixture-setup.sh run?)", k);
    return v;
}

typedef struct sv {
    char *d;
    char conf[4096], state[4096], src[4096], disk[4096];
} sv;

/* A job whose source holds a.txt, sub/b.txt and big.bin (2 MiB) and whose
 * remote is `disk` on the server, reached as `dest`; `remote` holds the
 * [remote] lines. */
static void sv_init(sv *s, const char *tag, const char *dest, const char *remote)
{
    s->d = rslt_tmpdir(tag);
    snprintf(s->src, sizeof(s->src), "%s/src", s->d);
    snprintf(s->conf, sizeof(s->conf), "%s/job.conf", s->d);
    snprintf(s->state, sizeof(s->state), "%s/s.db", s->d);
    char p[8300];
    snprintf(p, sizeof(p), "%s/a.txt", s->src);
    rslt_write(p, "alpha\n");
    snprintf(p, sizeof(p), "%s/sub/b.txt", s->src);
    rslt_write(p, "bravo\n");
    snprintf(p, sizeof(p), "%s/big.bin", s->src);
    rslt_write_random(p, 2u << 20, 7);
    FILE *f = fopen(s->conf, "w");
    fprintf(f, "[job]\nname = %s\nsource = %s\ndestination = %s\nstate = %s\n[remote]\n%s\n", tag,
            s->src, dest, s->state, remote);
    fclose(f);
}

static void sv_free(sv *s)
{
    if (s->disk[0])
        rslt_rmrf(s->disk);
    rslt_rmrf(s->d);
    free(s->d);
}

static int bin(sv *s, char **out, const char *args)
{
    char *err = NULL;
    int rc = rslt_sh(out, &err, "%s %s %s", rslt_bin(), args, s->conf);
    if (rc != 0 && rc != 23)
        fprintf(stderr, "rsyncd-lite %s -> %d\n%s", args, rc, err);
    free(err);
    return rc;
}

/* A fresh directory on the server's disk, owned like its parent. */
static void fresh_disk(sv *s, const char *parent, const char *name)
{
    snprintf(s->disk, sizeof(s->disk), "%s/%s-%ld", parent, name, (long)getpid());
    rslt_rmrf(s->disk);
    cr_assert_eq(mkdir(s->disk, 0755), 0, "%s", s->disk);
    struct stat sb;
    cr_assert_eq(stat(parent, &sb), 0);
    cr_assert_eq(chown(s->disk, sb.st_uid, sb.st_gid), 0);
}

static void ftps_job(sv *s, const char *tag)
{
    char *user = fx("FTP_USER"), *port = fx("FTP_MAIN_PORT"), *pw = fx("FTP_PASSWORD_FILE"),
         *ca = fx("FTP_CA_FILE"), *data = fx("FTP_DATA_DIR"), *dest = NULL, *remote = NULL;
    fresh_disk(s, data, tag);
    cr_assert(
        asprintf(&dest, "ftps://%s@127.0.0.1:%s/data/%s-%ld", user, port, tag, (long)getpid()) > 0);
    cr_assert(asprintf(&remote, "password_file = %s\nca_file = %s", pw, ca) > 0);
    sv_init(s, tag, dest, remote);
    free(dest);
    free(remote);
    free(user);
    free(port);
    free(pw);
    free(ca);
    free(data);
}

/* srv: "APACHE" or "NGINX" */
static void dav_job(sv *s, const char *srv, const char *tag)
{
    char k[64], *port, *pw, *ca, *www, *dest = NULL, *remote = NULL;
    snprintf(k, sizeof(k), "%s_PORT", srv);
    port = fx(k);
    snprintf(k, sizeof(k), "%s_PASSWORD_FILE", srv);
    pw = fx(k);
    snprintf(k, sizeof(k), "%s_CA_FILE", srv);
    ca = fx(k);
    snprintf(k, sizeof(k), "%s_WWW", srv);
    www = fx(k);
    fresh_disk(s, www, tag);
    cr_assert(asprintf(&dest, "https://127.0.0.1:%s/dav/%s-%ld", port, tag, (long)getpid()) > 0);
    cr_assert(asprintf(&remote, "username = rsl\npassword_file = %s\nca_file = %s", pw, ca) > 0);
    sv_init(s, tag, dest, remote);
    free(dest);
    free(remote);
    free(port);
    free(pw);
    free(ca);
    free(www);
}

/* The scenario every real server goes through. */
static void read_back_catches_changed_bytes(sv *s)
{
    char *out = NULL;
    cr_assert_eq(bin(s, &out, "run"), 0, "%s", out);
    free(out);
    cr_assert_eq(fill_digests(s->state, s->src), 3);
    /* no checksum on these servers: not compared, and never "identical" */
    cr_assert_eq(bin(s, &out, "verify --checksum"), 0, "%s", out);
    cr_assert(strstr(out, "content not compared for 3 of 3 file(s)") != NULL, "%s", out);
    cr_assert(strstr(out, "not compared: 3 file(s): no server checksum (use --read-back)") != NULL,
              "%s", out);
    cr_assert(strstr(out, "identical") == NULL, "%s", out);
    free(out);
    cr_assert_eq(bin(s, &out, "verify --read-back"), 0, "%s", out);
    cr_assert(strstr(out, "identical: 0 missing, 0 different, 0 extra, 0 leftover temp(s); content "
                          "of 3 file(s) compared") != NULL,
              "%s", out);
    free(out);
    /* the first 64 KiB zero-filled on the server's disk, size and mtime kept */
    char p[8300];
    snprintf(p, sizeof(p), "%s/big.bin", s->disk);
    zero_range(p, 0, 65536);
    cr_assert_eq(bin(s, &out, "verify"), 0, "a listing cannot see it: %s", out);
    free(out);
    cr_assert_eq(bin(s, &out, "verify --read-back --json"), 23, "%s", out);
    json_valid(out);
    cr_assert(strstr(out, "\"kind\":\"content\",\"path\":\"big.bin\"") != NULL, "%s", out);
    cr_assert(strstr(out, "\"compared_by\":\"read_back\"") != NULL, "%s", out);
    free(out);
    cr_assert_eq(bin(s, &out, "verify --read-back --repair"), 23, "%s", out);
    cr_assert(strstr(out, "repair: 1 item(s) forgotten by the manifest") != NULL, "%s", out);
    free(out);
    cr_assert_eq(bin(s, &out, "run"), 0, "%s", out);
    free(out);
    cr_assert_eq(rslt_sh(NULL, NULL, "cmp '%s/big.bin' '%s/big.bin'", s->src, s->disk), 0);
    fill_digests(s->state, s->src);
    cr_assert_eq(bin(s, &out, "verify --read-back"), 0, "%s", out);
    free(out);
}

Test(verify_servers, vsftpd_read_back, .timeout = 180)
{
    sv s;
    ftps_job(&s, "vr-ftps");
    read_back_catches_changed_bytes(&s);
    sv_free(&s);
}

Test(verify_servers, nginx_read_back, .timeout = 180)
{
    sv s;
    dav_job(&s, "NGINX", "vr-nginx");
    read_back_catches_changed_bytes(&s);
    sv_free(&s);
}

Test(verify_servers, apache_read_back, .timeout = 180)
{
    sv s;
    dav_job(&s, "APACHE", "vr-apache");
    read_back_catches_changed_bytes(&s);
    sv_free(&s);
}

Test(verify_servers, nginx_delete_extra_converges_a_hand_written_remote, .timeout = 180)
{
    sv s;
    dav_job(&s, "NGINX", "vx-nginx");
    char *out = NULL;
    cr_assert_eq(bin(&s, &out, "run"), 0, "%s", out);
    free(out);
    char p[8300];
    snprintf(p, sizeof(p), "%s/by-hand.txt", s.disk);
    rslt_write(p, "uploaded by hand\n");
    snprintf(p, sizeof(p), "%s/old/site/index.html", s.disk);
    rslt_write(p, "<html></html>\n");
    cr_assert_eq(rslt_sh(NULL, NULL, "chown -R --reference='%s' '%s'", s.disk, s.disk), 0);
    cr_assert_eq(bin(&s, &out, "verify"), 23, "%s", out);
    cr_assert(strstr(out, "extra: 4 item(s) on the remote that the manifest does not know; a plain "
                          "--repair leaves them") != NULL,
              "%s", out);
    free(out);
    cr_assert_eq(bin(&s, &out, "verify --repair --delete-extra"), 23, "%s", out);
    cr_assert(strstr(out, "delete-extra: 4 item(s) removed from the remote, 0 could not be") !=
                  NULL,
              "%s", out);
    free(out);
    cr_assert(!rslt_exists(p));
    snprintf(p, sizeof(p), "%s/old", s.disk);
    cr_assert(!rslt_exists(p), "the extra directories are gone");
    cr_assert_eq(rslt_sh(NULL, NULL, "cmp '%s/sub/b.txt' '%s/sub/b.txt'", s.src, s.disk), 0);
    cr_assert_eq(bin(&s, &out, "verify"), 0, "%s", out);
    free(out);
    sv_free(&s);
}

/* ---- a server that gives digests: the scripted FTP server, HASH mode ---- */

typedef struct hostile {
    char *dir;
    int pid, port;
} hostile;

static void hostile_start(hostile *h)
{
    char portfile[4200], *out = NULL, *script = fx("HOSTILE_FTPD");
    h->dir = rslt_tmpdir("vr-hostile");
    snprintf(portfile, sizeof(portfile), "%s/port", h->dir);
    cr_assert_eq(rslt_sh(&out, NULL,
                         "python3 '%s' --mode hash --port-file '%s' --lifetime 120 >/dev/null "
                         "2>&1 & echo $!",
                         script, portfile),
                 0);
    h->pid = (int)strtol(out, NULL, 10);
    free(out);
    free(script);
    for (int i = 0; i < 500 && !rslt_exists(portfile); i++)
        usleep(20000); /* the server writes the file once it listens */
    char *port = rslt_read(portfile, NULL);
    cr_assert_not_null(port, "hostile_ftpd did not start");
    h->port = (int)strtol(port, NULL, 10);
    free(port);
}

static void hostile_stop(hostile *h)
{
    if (h->pid > 0)
        kill(h->pid, SIGKILL);
    rslt_rmrf(h->dir);
    free(h->dir);
}

/* A flat job on the scripted server (it keeps no directories): src holds
 * one file, with the mtime the server reports for every file (MDTM). */
static void hostile_job(sv *s, const hostile *h, const char *tag, const char *content)
{
    char dest[200], remote[300];
    snprintf(dest, sizeof(dest), "ftp://u@127.0.0.1:%d/data", h->port);
    s->d = rslt_tmpdir(tag);
    s->disk[0] = '\0';
    snprintf(s->src, sizeof(s->src), "%s/src", s->d);
    snprintf(s->conf, sizeof(s->conf), "%s/job.conf", s->d);
    snprintf(s->state, sizeof(s->state), "%s/s.db", s->d);
    char p[8300];
    snprintf(p, sizeof(p), "%s/a.txt", s->src);
    rslt_write(p, content);
    cr_assert_eq(rslt_sh(NULL, NULL, "touch -d @1600000000 '%s'", p), 0);
    snprintf(p, sizeof(p), "%s/pw", s->d);
    rslt_write(p, "x\n");
    snprintf(remote, sizeof(remote), "allow_insecure = yes\n");
    FILE *f = fopen(s->conf, "w");
    fprintf(f,
            "[job]\nname = %s\nsource = %s\ndestination = %s\nstate = %s\ntimeout = 10\n"
            "[remote]\n%spassword_file = %s\n",
            tag, s->src, dest, s->state, remote, p);
    fclose(f);
}

Test(verify_servers, ftp_hash_compares_without_reading_back, .timeout = 120)
{
    hostile h;
    hostile_start(&h);
    sv s, other;
    hostile_job(&s, &h, "vh-job", "alpha, version one\n");
    char *out = NULL;
    cr_assert_eq(bin(&s, &out, "run"), 0, "%s", out);
    free(out);
    cr_assert_eq(fill_digests(s.state, s.src), 1);
    cr_assert_eq(bin(&s, &out, "verify --checksum"), 0, "%s", out);
    cr_assert(strstr(out, "identical: 0 missing, 0 different, 0 extra, 0 leftover temp(s); content "
                          "of 1 file(s) compared") != NULL,
              "%s", out);
    cr_assert(strstr(out, "(1 by server checksum, 0 read back)") != NULL, "%s", out);
    free(out);
    /* another job overwrites it with the same size and the same mtime */
    hostile_job(&other, &h, "vh-other", "ALPHA, VERSION ONE\n");
    cr_assert_eq(bin(&other, &out, "run"), 0, "%s", out);
    free(out);
    cr_assert_eq(bin(&s, &out, "verify"), 0, "sizes and mtimes agree: %s", out);
    free(out);
    cr_assert_eq(bin(&s, &out, "verify --checksum --json"), 23, "%s", out);
    json_valid(out);
    cr_assert(strstr(out, "\"kind\":\"content\",\"path\":\"a.txt\"") != NULL, "%s", out);
    cr_assert(strstr(out, "\"compared_by\":\"server_checksum\",\"digest_alg\":\"sha256\"") != NULL,
              "%s", out);
    free(out);
    cr_assert_eq(bin(&s, &out, "verify --read-back"), 23, "RETR agrees: %s", out);
    cr_assert(strstr(out, "content  a.txt  (content differs: read-back sha256") != NULL, "%s", out);
    free(out);
    sv_free(&other);
    sv_free(&s);
    hostile_stop(&h);
}
