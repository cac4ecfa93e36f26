/* Tests for base/beneath: no symlink followed in any component, no escape,
 * with openat2 and with the component walk the fallback uses. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/beneath.h"
#include "tests/support/harness.h"

static char *tree(int *rootfd)
{
    char *d = rslt_tmpdir("beneath");
    char p[8300];
    snprintf(p, sizeof(p), "%s/root/a/b/f", d);
    rslt_write(p, "inside");
    snprintf(p, sizeof(p), "%s/outside/secret", d);
    rslt_write(p, "root-only secret");
    cr_assert_eq(rslt_sh(NULL, NULL,
                         "cd '%s/root' && ln -s ../outside link && ln -s b a/ln && "
                         "ln -s f a/b/fl && mkfifo a/fifo",
                         d),
                 0);
    snprintf(p, sizeof(p), "%s/root", d);
    *rootfd = open(p, O_RDONLY | O_DIRECTORY);
    cr_assert_geq(*rootfd, 0);
    return d;
}

static void check_rules(int walk)
{
    rsl_beneath_force_walk(walk);
    int root;
    char *d = tree(&root);
    char buf[64] = "";
    int fd = rsl_beneath_open(root, "a/b/f", O_RDONLY, 0);
    cr_assert_geq(fd, 0, "a plain path opens: %s", strerror(errno));
    cr_assert_eq(read(fd, buf, sizeof(buf)), 6);
    close(fd);
    static const char *const refused[] = {"link/secret", "a/ln/f", "a/b/fl", "link"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        errno = 0;
        fd = rsl_beneath_open(root, refused[i], O_RDONLY, 0);
        cr_assert_lt(fd, 0, "%s was opened through a symlink (walk=%d)", refused[i], walk);
        cr_assert(errno == ELOOP || errno == ENOTDIR || errno == EXDEV, "%s: %s", refused[i],
                  strerror(errno));
    }
    static const char *const bad[] = {"../outside/secret", "/etc/passwd", "a/../../outside",
                                      "a//b/f", "./a/b/f"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errno = 0;
        cr_assert_lt(rsl_beneath_open(root, bad[i], O_RDONLY, 0), 0, "%s", bad[i]);
        cr_assert_eq(errno, EXDEV, "%s: %s", bad[i], strerror(errno));
    }
    /* a FIFO opened non-blocking does not hang */
    fd = rsl_beneath_open(root, "a/fifo", O_RDONLY | O_NONBLOCK, 0);
    cr_assert_geq(fd, 0, "%s", strerror(errno));
    close(fd);
    /* create beneath the root, not through the symlinked directory */
    fd = rsl_beneath_open(root, "a/b/new", O_WRONLY | O_CREAT | O_EXCL, 0600);
    cr_assert_geq(fd, 0, "%s", strerror(errno));
    close(fd);
    cr_assert_lt(rsl_beneath_open(root, "link/planted", O_WRONLY | O_CREAT, 0600), 0);
    char p[8300];
    snprintf(p, sizeof(p), "%s/outside/planted", d);
    cr_assert_not(rslt_exists(p), "a file was created outside the root");
    /* the parent of a path, for the *at() calls */
    const char *leaf = NULL;
    int pfd = rsl_beneath_parent(root, "a/b/f", &leaf);
    cr_assert_geq(pfd, 0, "%s", strerror(errno));
    cr_assert_str_eq(leaf, "f");
    struct stat sb;
    cr_assert_eq(fstatat(pfd, leaf, &sb, AT_SYMLINK_NOFOLLOW), 0);
    cr_assert_eq(sb.st_size, 6);
    close(pfd);
    cr_assert_lt(rsl_beneath_parent(root, "link/secret", &leaf), 0);
    pfd = rsl_beneath_parent(root, "top", &leaf);
    cr_assert_geq(pfd, 0);
    cr_assert_str_eq(leaf, "top");
    close(pfd);
    close(root);
    rsl_beneath_force_walk(0);
    rslt_rmrf(d);
    free(d);
}

Test(beneath, rules_hold_with_openat2)
{
    check_rules(0);
}

Test(beneath, rules_hold_with_the_component_walk)
{
    check_rules(1);
}
