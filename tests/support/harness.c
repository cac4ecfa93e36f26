/*
 * harness.c - see harness.h.
 */
#define _GNU_SOURCE /* asprintf */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void mkparents(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0755);
            *p = '/';
        }
    }
}

/* The paths rslt_rm_at_exit registered, and the process they belong to. */
static char *rm_paths[256];
static int rm_count;
static pid_t rm_owner;

static void rm_registered(void)
{
    const char *keep = getenv("RSL_TEST_KEEP");
    if (getpid() != rm_owner || (keep != NULL && strcmp(keep, "1") == 0))
        return;
    for (int i = rm_count - 1; i >= 0; i--)
        rslt_rmrf(rm_paths[i]);
}

void rslt_rm_at_exit(const char *path)
{
    if (rm_owner != getpid()) { /* first call in this process (a fork starts afresh) */
        if (rm_owner == 0)
            atexit(rm_registered);
        rm_owner = getpid();
        rm_count = 0;
    }
    if (rm_count < (int)(sizeof(rm_paths) / sizeof(rm_paths[0])))
        rm_paths[rm_count++] = strdup(path);
}

char *rslt_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof(tmpl), "%s/rsl-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    char *d = mkdtemp(tmpl);
    if (d == NULL) {
        perror("mkdtemp");
        abort();
    }
    rslt_rm_at_exit(d);
    return strdup(d);
}

void rslt_write(const char *path, const char *content)
{
    mkparents(path);
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "rslt_write %s: %s\n", path, strerror(errno));
        abort();
    }
    fwrite(content, 1, strlen(content), f);
    fclose(f);
}

void rslt_write_random(const char *path, uint64_t size, unsigned seed)
{
    mkparents(path);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        abort();
    uint64_t x = 0x9E3779B97F4A7C15ull ^ seed;
    unsigned char buf[65536];
    while (size > 0) {
        size_t n = size < sizeof(buf) ? (size_t)size : sizeof(buf);
        for (size_t i = 0; i < n; i += 8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            memcpy(buf + i, &x, n - i < 8 ? n - i : 8);
        }
        fwrite(buf, 1, n, f);
        size -= n;
    }
    fclose(f);
}

char *rslt_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

long long rslt_size(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

int rslt_exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

static char *slurp_fd(int fd)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (cap - n < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return buf;
}

int rslt_sh(char **out, char **err, const char *fmt, ...)
{
    char cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    char outp[] = "/tmp/rslt-out-XXXXXX", errp[] = "/tmp/rslt-err-XXXXXX";
    int ofd = mkstemp(outp), efd = mkstemp(errp);
    if (ofd < 0 || efd < 0)
        abort();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(ofd, 1);
        dup2(efd, 2);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    lseek(ofd, 0, SEEK_SET);
    lseek(efd, 0, SEEK_SET);
    char *o = slurp_fd(ofd), *e = slurp_fd(efd);
    close(ofd);
    close(efd);
    unlink(outp);
    unlink(errp);
    if (getenv("RSLT_VERBOSE"))
        fprintf(stderr, "$ %s\n%s%s", cmd, o, e);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

static const char *env_or(const char *k, const char *dflt)
{
    const char *v = getenv(k);
    return v && *v ? v : dflt;
}

const char *rslt_bin(void)
{
    return env_or("RSL_BIN", "./rsyncd-lite");
}

const char *rslt_srcdir(void)
{
    return env_or("RSL_SOURCE_DIR", ".");
}

const char *rslt_fixture_dir(void)
{
    return env_or("RSL_FIXTURE_DIR", "/tmp/rsl-fixture");
}

char *rslt_fixture_get(const char *key)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/env", rslt_fixture_dir());
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char line[4096];
    size_t kl = strlen(key);
    char *val = NULL;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
            line[strcspn(line, "\n")] = '\0';
            val = strdup(line + kl + 1);
            break;
        }
    }
    fclose(f);
    return val;
}

void rslt_rmrf(const char *path)
{
    if (path && strlen(path) > 5)
        rslt_sh(NULL, NULL, "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", path, path);
}

int rslt_count(const char *hay, const char *needle)
{
    int n = 0;
    size_t l = strlen(needle);
    if (l == 0 || hay == NULL)
        return 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + l, needle))
        n++;
    return n;
}

pid_t rslt_delayproxy(int target, int delay_ms, int *port)
{
    const char *bin = getenv("RSL_DELAYPROXY");
    if (bin == NULL || *bin == '\0')
        abort(); /* run the test through ctest */
    char t[16], d[16];
    snprintf(t, sizeof(t), "%d", target);
    snprintf(d, sizeof(d), "%d", delay_ms);
    int out[2];
    if (pipe(out) != 0)
        abort();
    pid_t pid = fork();
    if (pid < 0)
        abort();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* a failed test must not leave it behind */
        dup2(out[1], 1);
        close(out[0]);
        execl(bin, bin, "--target", t, "--delay", d, "--lifetime", "300", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char line[32] = {0};
    ssize_t n = read(out[0], line, sizeof(line) - 1);
    close(out[0]);
    *port = n > 0 ? (int)strtol(line, NULL, 10) : -1;
    return pid;
}

char *rslt_known_hosts_for(const char *pubfile, int port)
{
    char *d = rslt_tmpdir("kh"), *p = NULL;
    if (asprintf(&p, "%s/known_hosts", d) < 0 ||
        rslt_sh(NULL, NULL, "printf '[127.0.0.1]:%d %%s\\n' \"$(cut -d' ' -f1,2 '%s')\" > '%s'",
                port, pubfile, p) != 0)
        abort();
    free(d);
    return p;
}
