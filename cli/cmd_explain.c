/*
 * cmd_explain.c - `rsyncd-lite explain CODE|NAME`, `explain --all`, and
 * `explain --markdown` (which generates docs/errors.md).
 */
#include <stdio.h>
#include <string.h>

#include "base/catalog.h"
#include "cli/commands.h"
#include "cli/output.h"

int rsl_cmd_explain(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "--help") == 0) {
        fputs("usage: rsyncd-lite explain CODE|NAME|--all|--markdown\n"
              "  CODE is a catalog number (e.g. 204) or name (e.g. NAME_TOO_LONG)\n",
              argc == 2 ? stdout : stderr);
        return argc == 2 ? 0 : 1;
    }
    if (strcmp(argv[1], "--markdown") == 0) {
        rsl_catalog_markdown(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--all") == 0) {
        for (size_t i = 0; i < rsl_catalog_count(); i++)
            rsl_catalog_explain(stdout, rsl_catalog_at(i));
        return 0;
    }
    const rsl_catalog_entry *e = rsl_catalog_find(argv[1]);
    if (e == NULL) {
        rsl_out_line(stderr,
                     "rsyncd-lite explain: '%s' is not a catalog code or name; "
                     "`rsyncd-lite explain --all` lists them",
                     argv[1]);
        return 1;
    }
    rsl_catalog_explain(stdout, e);
    return 0;
}
