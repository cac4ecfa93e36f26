/*
 * End-to-end: the permission bits of what a run creates over file://
 * (issue 10.4). perms = source (the default) keeps the source's bits, never
 * widened to 0644; perms = server leaves the server's defaults (here: the
 * umask); an octal mode is given to every new item (directories searchable
 * where readable).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "tests/support/harness.h"

static unsigned mode_of(const char *dir, const char *rel)
{
    char p[8300];
    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    struct stat sb;
    cr_assert_eq(stat(p, &sb), 0, "%s", p);
    return (unsigned)(sb.st_mode & 07777);
}

/* Pushes a tree with a 0600 file, a 0640 file and a 0700 directory under
 * `perms` (NULL: not set) and returns the test directory. */
static char *push(const char *perms)
{
    char *d = rslt_tmpdir("perms");
    char p[8300];
    snprintf(p, sizeof(p), "%s/src/private/key.txt", d);
    rslt_write(p, "secret");
    snprintf(p, sizeof(p), "%s/src/report.txt", d);
    rslt_write(p, "shared");
    cr_assert_eq(rslt_sh(NULL, NULL,
                         "cd '%s' && mkdir -p dst && chmod 0600 src/private/key.txt && "
                         "chmod 0640 src/report.txt && chmod 0700 src/private",
                         d),
                 0);
    snprintf(p, sizeof(p), "%s/job.conf", d);
    FILE *f = fopen(p, "w");
    fprintf(f,
            "[job]\nname = p\nsource = %s/src\ndestination = file://%s/dst\nstate = %s/s.db\n"
            "[remote]\n%s%s\n",
            d, d, d, perms ? "perms = " : "", perms ? perms : "");
    fclose(f);
    char *err = NULL;
    int rc = rslt_sh(NULL, &err, "umask 022 && %s run '%s'", rslt_bin(), p);
    cr_assert_eq(rc, 0, "%s", err);
    free(err);
    return d;
}

Test(e2e_perms, source_bits_are_kept_not_widened)
{
    char *d = push(NULL);
    char dst[4200];
    snprintf(dst, sizeof(dst), "%s/dst", d);
    cr_assert_eq(mode_of(dst, "private/key.txt"), 0600, "a 0600 file arrived %o",
                 mode_of(dst, "private/key.txt"));
    cr_assert_eq(mode_of(dst, "report.txt"), 0640);
    cr_assert_eq(mode_of(dst, "private"), 0700, "a 0700 directory arrived %o",
                 mode_of(dst, "private"));
    rslt_rmrf(d);
    free(d);
}

Test(e2e_perms, server_leaves_the_defaults)
{
    char *d = push("server");
    char dst[4200];
    snprintf(dst, sizeof(dst), "%s/dst", d);
    cr_assert_eq(mode_of(dst, "private/key.txt"), 0644, "umask 022 default");
    cr_assert_eq(mode_of(dst, "private"), 0755);
    rslt_rmrf(d);
    free(d);
}

Test(e2e_perms, an_octal_mode_for_every_new_item)
{
    char *d = push("0640");
    char dst[4200];
    snprintf(dst, sizeof(dst), "%s/dst", d);
    cr_assert_eq(mode_of(dst, "private/key.txt"), 0640);
    cr_assert_eq(mode_of(dst, "report.txt"), 0640);
    cr_assert_eq(mode_of(dst, "private"), 0750, "readable means searchable: %o",
                 mode_of(dst, "private"));
    rslt_rmrf(d);
    free(d);
}
