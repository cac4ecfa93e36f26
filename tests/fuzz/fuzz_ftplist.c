/*
 * fuzz_ftplist.c - libFuzzer harness for transports/ftplist.c: every input
 * is split into lines and each line goes through the Unix LIST parser, the
 * MLSD parser and the time parser, as a listing from a hostile server
 * would. Seeds: tests/fuzz/corpus/ftplist/ (vsftpd, ProFTPD, IIS,
 * FileZilla Server and Pure-FTPd style listings, MLSD lines, MDTM times).
 * Issue 10.14: a year of 2147483648 overflowed an int here.
 *
 * Run: scripts/fuzz.sh ftplist SECONDS (tests/fuzz/README.md).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transports/ftplist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_line(const char *l, size_t n)
{
    char *a = malloc(n + 1), *b = malloc(n + 1);
    if (a == NULL || b == NULL) {
        free(a);
        free(b);
        return;
    }
    memcpy(a, l, n);
    a[n] = '\0';
    memcpy(b, a, n + 1);
    const char *name = NULL;
    rsl_rstat st = {.mtime = -1};
    if (rsl_ftplist_unix(a, &name, &st, (time_t)1609804800))
        (void)strlen(name); /* the name points into the line */
    rsl_rstat st2 = {.mtime = -1};
    if (rsl_ftplist_mlsd(b, &name, &st2))
        (void)strlen(name);
    memcpy(b, l, n);
    b[n] = '\0';
    (void)rsl_ftplist_time(b);
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    for (size_t i = 0; i < size;) {
        size_t e = i;
        while (e < size && p[e] != '\n' && p[e] != '\r' && p[e] != '\0')
            e++;
        one_line(p + i, e - i);
        i = e + 1;
    }
    return 0;
}
