/* Tests for transports/ftplist: the FTP listing parsers (MLSD facts, Unix
 * LIST lines, MDTM/MLSD times), including the MLSD paths vsftpd cannot
 * exercise. Pure functions: no server. (Moved from transport_ftps's
 * test_parse.c, assertions kept.) */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "transports/ftplist.h"

Test(ftplist, mlsd_lines)
{
    char l1[] = "type=file;size=1234;modify=20200913122640;perm=adfrw; report 1.pdf";
    char l2[] = "type=dir;modify=20200101000000; sub dir";
    char l3[] = "type=cdir;modify=20200101000000; .";
    char l4[] = "garbage without separator";
    const char *name = NULL;
    rsl_rstat st = {.mtime = -1};
    cr_assert(rsl_ftplist_mlsd(l1, &name, &st));
    cr_assert_str_eq(name, "report 1.pdf");
    cr_assert(!st.is_dir);
    cr_assert_eq(st.size, 1234);
    cr_assert_eq(st.mtime, 1600000000);
    rsl_rstat d = {.mtime = -1};
    cr_assert(rsl_ftplist_mlsd(l2, &name, &d));
    cr_assert_str_eq(name, "sub dir");
    cr_assert(d.is_dir);
    rsl_rstat x = {.mtime = -1};
    cr_assert_not(rsl_ftplist_mlsd(l3, &name, &x), "cdir skipped");
    cr_assert_not(rsl_ftplist_mlsd(l4, &name, &x));
}

Test(ftplist, unix_list_lines)
{
    char l1[] = "-rw-r--r--    1 1001     1001       100000 Jan 02  2020 two  spaces";
    char l2[] = "drwxr-xr-x    2 0        0            4096 Nov 22 02:33 dir";
    char l3[] = "total 12";
    char l4[] = "lrwxrwxrwx    1 0        0               3 Nov 22 02:33 ln -> x";
    const char *name = NULL;
    time_t now = time(NULL);
    rsl_rstat st = {.mtime = -1};
    cr_assert(rsl_ftplist_unix(l1, &name, &st, now));
    cr_assert_str_eq(name, "two  spaces", "inner spaces kept");
    cr_assert_eq(st.size, 100000);
    cr_assert_eq(st.mtime, 1577923200); /* 2020-01-02 00:00:00 UTC */
    rsl_rstat d = {.mtime = -1};
    cr_assert(rsl_ftplist_unix(l2, &name, &d, now));
    cr_assert(d.is_dir);
    cr_assert_str_eq(name, "dir");
    cr_assert_gt(d.mtime, 0);
    cr_assert_not(rsl_ftplist_unix(l3, &name, &st, now));
    cr_assert_not(rsl_ftplist_unix(l4, &name, &st, now), "links are not files");
}

Test(ftplist, recent_dates_fall_in_the_right_year)
{
    /* "Dec 31 10:00" seen on 2021-01-05: last year's, not this year's */
    char l[] = "-rw-r--r-- 1 u g 5 Dec 31 10:00 f";
    const char *name = NULL;
    rsl_rstat st = {.mtime = -1};
    cr_assert(rsl_ftplist_unix(l, &name, &st, (time_t)1609804800)); /* 2021-01-05 00:00 UTC */
    cr_assert_eq(st.mtime, 1609408800);                             /* 2020-12-31 10:00 UTC */
    char m[] = "-rw-r--r-- 1 u g 5 Jan 02 10:00 f";
    cr_assert(rsl_ftplist_unix(m, &name, &st, (time_t)1609804800));
    cr_assert_eq(st.mtime, 1609581600); /* 2021-01-02 10:00 UTC */
}

Test(ftplist, times)
{
    cr_assert_eq(rsl_ftplist_time("20200913122640"), 1600000000);
    cr_assert_eq(rsl_ftplist_time("20200913122640.123"), 1600000000);
    cr_assert_eq(rsl_ftplist_time("2020091312264"), -1);
    cr_assert_eq(rsl_ftplist_time("2020091312264x"), -1);
    cr_assert_eq(rsl_ftplist_time(""), -1);
}

/* Issue 10.14: the fuzzer's input (a year of 2147483648) overflowed an int;
 * every numeric field out of range now rejects the line. */
Test(ftplist, out_of_range_fields_reject_the_line)
{
    const char *bad[] = {
        "-rw-r--r-- 1 u g 5 Jan 02 2147483648 f",           /* the fuzzer's year */
        "-rw-r--r-- 1 u g 5 Jan 02 4294967296 f",           /* 2^32 */
        "-rw-r--r-- 1 u g 5 Jan 02 99999999999999999999 f", /* past a long */
        "-rw-r--r-- 1 u g 5 Jan 02 -2020 f",                /* sign */
        "-rw-r--r-- 1 u g 5 Jan 02 10000 f",                /* 5-digit year */
        "-rw-r--r-- 1 u g 5 Jan 02 1899 f",
        "-rw-r--r-- 1 u g 5 Jan 00 2020 f", /* day 0 */
        "-rw-r--r-- 1 u g 5 Jan 32 2020 f",
        "-rw-r--r-- 1 u g 5 Jan 2147483648 2020 f", /* day overflow */
        "-rw-r--r-- 1 u g 5 Jan 02 24:00 f",        /* hour 24 */
        "-rw-r--r-- 1 u g 5 Jan 02 2147483648:00 f",
        "-rw-r--r-- 1 u g 5 Jan 02 10:60 f",
        "-rw-r--r-- 1 u g 5 Jan 02 10:2147483648 f",
        "-rw-r--r-- 1 u g 5 Jan 02 10: f",
        "-rw-r--r-- 1 u g 5 Jan 02 :10 f",
        "-rw-r--r-- 1 u g 18446744073709551616 Jan 02 2020 f", /* 2^64 */
        "-rw-r--r-- 1 u g -5 Jan 02 2020 f",
        "-rw-r--r-- 1 u g 5x Jan 02 2020 f",
        "-rw-r--r-- 1 u g 5 Janx 02 2020 f",
        "-rw-r--r-- 1 u g 5 Foo 02 2020 f",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char line[256];
        snprintf(line, sizeof(line), "%s", bad[i]);
        const char *name = NULL;
        rsl_rstat st = {.mtime = -1};
        cr_assert_not(rsl_ftplist_unix(line, &name, &st, (time_t)1609804800), "accepted: %s",
                      bad[i]);
    }
    /* the neighbours that are in range still parse */
    const char *good[] = {"-rw-r--r-- 1 u g 18446744073709551615 Jan 02 9999 f",
                          "-rw-r--r-- 1 u g 0 Dec 31 1900 f", "-rw-r--r-- 1 u g 5 Jan 31 23:59 f",
                          "-rw-r--r-- 1 u g 5 Feb 01 00:00 f"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char line[256];
        snprintf(line, sizeof(line), "%s", good[i]);
        const char *name = NULL;
        rsl_rstat st = {.mtime = -1};
        cr_assert(rsl_ftplist_unix(line, &name, &st, (time_t)1609804800), "refused: %s", good[i]);
        cr_assert_str_eq(name, "f");
    }
    char maxsz[] = "-rw-r--r-- 1 u g 18446744073709551615 Jan 02 2020 f";
    const char *name = NULL;
    rsl_rstat st = {.mtime = -1};
    cr_assert(rsl_ftplist_unix(maxsz, &name, &st, (time_t)1609804800));
    cr_assert_eq(st.size, UINT64_MAX);
}

Test(ftplist, mlsd_and_times_out_of_range)
{
    const char *bad[] = {"type=file;size=18446744073709551616; f",
                         "type=file;size=-1; f",
                         "type=file;size=12a; f",
                         "type=file;modify=21474836480101000000; f",
                         "type=file;modify=20201301000000; f",
                         "type=file;modify=20200100000000; f",
                         "type=file;modify=20200101240000; f"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char line[256];
        snprintf(line, sizeof(line), "%s", bad[i]);
        const char *name = NULL;
        rsl_rstat st = {.mtime = -1};
        cr_assert_not(rsl_ftplist_mlsd(line, &name, &st), "accepted: %s", bad[i]);
    }
    cr_assert_eq(rsl_ftplist_time("20201301000000"), -1, "month 13");
    cr_assert_eq(rsl_ftplist_time("20200132000000"), -1, "day 32");
    cr_assert_eq(rsl_ftplist_time("20200101246000"), -1);
    cr_assert_eq(rsl_ftplist_time("18991231235959"), -1);
    cr_assert_eq(rsl_ftplist_time("99991231235960"), 253402300800, "leap second accepted");
    /* an MLST reply's fact line, as stat reads it */
    char mlst[] = "type=file;size=5;modify=20200913122640; /data/x y";
    const char *name = NULL;
    rsl_rstat st = {.mtime = -1};
    cr_assert(rsl_ftplist_mlsd(mlst, &name, &st));
    cr_assert_str_eq(name, "/data/x y");
    cr_assert_eq(st.size, 5);
    cr_assert_eq(st.mtime, 1600000000);
}
