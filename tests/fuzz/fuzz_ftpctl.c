/*
 * fuzz_ftpctl.c - libFuzzer harness for transports/ftpctl.c: the input is a
 * control-connection conversation as libcurl shows it. Lines starting with
 * '>' are what we sent (fed as one buffer, so a last piece without a line
 * end is a partial command), every other line is what the server answered.
 * Then every reply is read the way the transport reads it: its code through
 * the catalog mapping, FEAT's facts, SIZE's number, HASH/XSHA256/XMD5
 * digests, and each command is looked up again (the lookup the transport
 * does after every batch). Seeds: tests/fuzz/corpus/ftpctl/ (vsftpd,
 * ProFTPD, IIS, FileZilla Server and Pure-FTPd conversations).
 *
 * Run: scripts/fuzz.sh ftpctl SECONDS (tests/fuzz/README.md).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transports/ftpctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_back(rsl_ftpctl_log *l)
{
    rsl_err err;
    (void)rsl_ftpctl_check(l, &err);
    const rsl_ftpctl_reply *last = rsl_ftpctl_last(l);
    (void)rsl_ftpctl_text(last);
    for (size_t i = 0; i < l->n; i++) {
        const rsl_ftpctl_reply *r = &l->rep[i];
        uint64_t size = 0;
        unsigned char d[32];
        size_t n = 0;
        (void)rsl_ftpctl_feat(r->text.p);
        (void)rsl_ftpctl_size(r, &size);
        (void)rsl_ftpctl_digest(r, 1, "SHA-256", d, 32, &n);
        (void)rsl_ftpctl_digest(r, 0, NULL, d, 16, &n);
        (void)rsl_ftpctl_map(&err, r->code, rsl_ftpctl_text(r), "fuzz", r->cmd);
        (void)rsl_ftpctl_find(l, r->cmd);
        (void)rsl_ftpctl_fits(r->cmd, "fuzz", &err);
        (void)rsl_ftpctl_has_ctl(r->cmd);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    rsl_ftpctl_log l = {0};
    for (size_t i = 0; i < size;) {
        size_t e = i;
        while (e < size && p[e] != '\n')
            e++;
        if (e > i && p[i] == '>')
            (void)rsl_ftpctl_sent_data(&l, p + i + 1, e - i - 1 + (e < size));
        else
            rsl_ftpctl_recv(&l, p + i, e > i && p[e - 1] == '\r' ? e - i - 1 : e - i);
        i = e + 1;
    }
    read_back(&l);
    /* the input as a path: URL encoding */
    char *path = malloc(size + 2);
    if (path != NULL) {
        path[0] = '/';
        memcpy(path + 1, data, size);
        path[size + 1] = '\0';
        free(rsl_ftpctl_url("ftp://h:21", path, (int)(size & 1)));
        free(path);
    }
    rsl_ftpctl_free(&l);
    return 0;
}
