/* Tests for cli/config: the job file parser. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cli/config.h"
#include "transports/https.h"
#include "transports/sftp.h"

static const char *good =
    "[job]\n"
    "name        = site\n"
    "source      = /var/www/site\n"
    "destination = file:///mnt/backup/site      ; sftp:// ftps:// https:// later\n"
    "state       = /var/lib/rsyncd-lite/site.db ; default $XDG_STATE_HOME/rsyncd-lite/<name>.db\n"
    "delete      = no\n"
    "max_delete  = 100\n"
    "exclude     = *.tmp\n"
    "exclude     = cache/\n"
    "bwlimit     = 0                            ; bytes/s, K/M/G suffixes\n"
    "[remote]\n"
    "forbidden_chars   = \\:*?\"<>|\n"
    "max_name_length   = 255\n"
    "max_path_length   = 550                    ; counted WITH temp_suffix\n"
    "temp_suffix       = .rsl-part\n"
    "max_file_size     = 2G\n"
    "allow_empty_files = yes\n";

Test(config, parses_the_issue_example)
{
    rsl_job j;
    rsl_err e;
    cr_assert_eq(rsl_config_parse(&j, "/etc/job.conf", good, &e), RSL_OK, "%s", e.msg);
    cr_assert_str_eq(j.name, "site");
    cr_assert_str_eq(j.source, "/var/www/site");
    cr_assert_str_eq(j.destination, "file:///mnt/backup/site");
    cr_assert_str_eq(j.state_path, "/var/lib/rsyncd-lite/site.db");
    cr_assert_eq(j.delete_, 0);
    cr_assert_eq(j.max_delete, 100);
    cr_assert_eq(j.n_excludes, 2);
    cr_assert_str_eq(j.excludes[1], "cache/");
    cr_assert_str_eq(j.forbidden_chars, "\\:*?\"<>|");
    cr_assert_eq(j.max_path_length, 550);
    cr_assert_eq(j.max_file_size, 2ull << 30);
    cr_assert_eq(j.allow_empty_files, 1);
    rsl_job_free(&j);
}

static void expect_error(const char *text, rsl_code code, const char *needle)
{
    rsl_job j;
    rsl_err e;
    rsl_code rc = rsl_config_parse(&j, "/etc/j.conf", text, &e);
    cr_assert_eq(rc, code, "got %d (%s), want %d", rc, e.msg, code);
    cr_assert(strstr(e.msg, needle) != NULL, "message '%s' lacks '%s'", e.msg, needle);
    rsl_job_free(&j);
}

Test(config, errors_name_file_line_and_key)
{
    expect_error("[job]\nname = a\nsource = /s\ndestination = file:///d\nbogus = 1\n",
                 RSL_E_CONFIG_UNKNOWN_KEY, "/etc/j.conf:5: bogus: unknown key");
    expect_error("[job]\nname = a\nsource = /s\ndestination = file:///d\ndelete = maybe\n",
                 RSL_E_CONFIG_BAD_VALUE, "/etc/j.conf:5: delete: 'maybe' is not yes or no");
    expect_error("[job]\nname = a\nsource = /s\ndestination = file:///d\n[remote]\n"
                 "max_file_size = 2X\n",
                 RSL_E_CONFIG_BAD_VALUE, "/etc/j.conf:6: max_file_size:");
    expect_error("[job]\nname = a\nsource = /s\n", RSL_E_CONFIG_MISSING_KEY,
                 "/etc/j.conf:1: destination: required key is missing");
    expect_error("[job]\nname = a\nsource = /s\ndestination = gopher://x/y\n",
                 RSL_E_SCHEME_UNSUPPORTED, "/etc/j.conf:4: destination:");
    expect_error("[job]\nname = a\nname = b\n", RSL_E_CONFIG_BAD_VALUE,
                 "set twice (first at line 2)");
    expect_error("[job]\njust words\n", RSL_E_CONFIG_SYNTAX, "/etc/j.conf:2:");
    expect_error("[jobs]\n", RSL_E_CONFIG_UNKNOWN_KEY, "unknown section");
    expect_error("[job]\nname = a\nsource = /s\ndestination = file:///d\ntransfers = 0\n",
                 RSL_E_CONFIG_BAD_VALUE, "transfers: 0 is out of range (1..64)");
    expect_error("[job]\nname = a\nsource = /s\ndestination = file:///d\nmax_name_length = 9\n",
                 RSL_E_CONFIG_UNKNOWN_KEY, "it belongs in [remote]");
    expect_error("[job]\nname = ../x\nsource = /s\ndestination = file:///d\n",
                 RSL_E_CONFIG_BAD_VALUE, "name:");
    expect_error("[job]\nname = a\nsource = /s\ndestination = sftp://u:pw@h/x\n",
                 RSL_E_CONFIG_BAD_VALUE, "password in the URL");
}

Test(config, quoted_values_relative_paths_and_defaults)
{
    rsl_job j;
    rsl_err e;
    const char *t = "# comment\n[job]\nname=a\nsource = src\ndestination = /abs/dst/\n"
                    "timeout = 5m\n[remote]\ntemp_suffix = \" ;x#\"\n";
    cr_assert_eq(rsl_config_parse(&j, "/etc/jobs/a.conf", t, &e), RSL_OK, "%s", e.msg);
    cr_assert_str_eq(j.source, "/etc/jobs/src");
    cr_assert_str_eq(j.temp_suffix, " ;x#");
    cr_assert_eq(j.timeout_sec, 300);
    cr_assert_eq(j.transfers, 4);
    cr_assert_eq(j.max_delete, RSL_DEFAULT_MAX_DELETE);
    cr_assert(strstr(j.state_path, "rsyncd-lite/a.db") != NULL);
    rsl_job_free(&j);
}

Test(config, sizes_bools_durations)
{
    uint64_t v;
    cr_assert_eq(rsl_config_parse_size("512K", &v), 0);
    cr_assert_eq(v, 512 * 1024);
    cr_assert_eq(rsl_config_parse_size("2G", &v), 0);
    cr_assert_eq(v, 2ull << 30);
    cr_assert_eq(rsl_config_parse_size("10MiB", &v), 0);
    cr_assert_eq(v, 10ull << 20);
    cr_assert_eq(rsl_config_parse_size("-1", &v), -1);
    cr_assert_eq(rsl_config_parse_size("1.5G", &v), -1);
    cr_assert_eq(rsl_config_parse_size("99999999999999T", &v), -1);
    cr_assert_eq(rsl_config_parse_bool("Yes"), 1);
    cr_assert_eq(rsl_config_parse_bool("off"), 0);
    cr_assert_eq(rsl_config_parse_bool("y"), -1);
    cr_assert_eq(rsl_config_parse_duration("90s"), 90);
    cr_assert_eq(rsl_config_parse_duration("2h"), 7200);
    cr_assert_eq(rsl_config_parse_duration("2d"), -1);
}

/* Issue 11.9: a check made after reading names the line the key was set on,
 * not the [job] header's. */
Test(config, late_checks_name_the_line_of_their_key)
{
    expect_error("# a job\n[job]\nsource = /s\nname=my job\ndestination = file:///d\n",
                 RSL_E_CONFIG_BAD_VALUE, "/etc/j.conf:4: name: 'my job' must be");
    expect_error("[job]\nname = a\nsource = /s\ndestination = file:///d\n\n[remote]\n"
                 "temp_suffix=a/b\n",
                 RSL_E_CONFIG_BAD_VALUE, "/etc/j.conf:7: temp_suffix: must be non-empty");
    expect_error("[job]\nname = a\nsource = /s\ndestination = file:///d\n[remote]\n"
                 "max_name_length = 200\ntemp_suffix = \"\"\n",
                 RSL_E_CONFIG_BAD_VALUE, "/etc/j.conf:7: temp_suffix:");
    /* a missing key has no line of its own: the [job] header's */
    expect_error("\n\n[job]\nname = a\nsource = /s\n", RSL_E_CONFIG_MISSING_KEY,
                 "/etc/j.conf:3: destination: required key is missing");
}

/* Issue 11.10: a schedule is checked when the job is loaded, so run and
 * check refuse what the daemon could not follow. */
Test(config, bad_schedules_are_config_errors_with_their_line)
{
    static const struct {
        const char *sched, *want;
    } bad[] = {
        {"*/0 * * * *", "/etc/j.conf:6: schedule: minute field '*/0': step 0 is out of range"},
        {"every 0m", "/etc/j.conf:6: schedule: 'every 0m': interval must be between"},
        {"every banana", "/etc/j.conf:6: schedule: 'every banana': expected a number"},
        {"*/5 25 * * *", "/etc/j.conf:6: schedule: hour field '25'"},
        {"* * * *", "/etc/j.conf:6: schedule: '* * * *': expected 5 fields"},
        {"@sometimes", "/etc/j.conf:6: schedule: '@sometimes': unknown macro"},
        {"0 0 30 2 *", "/etc/j.conf:6: schedule: '0 0 30 2 *' never fires"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text),
                 "[job]\nname = a\nsource = /s\ndestination = file:///d\n\nschedule = %s\n",
                 bad[i].sched);
        expect_error(text, RSL_E_CONFIG_BAD_VALUE, bad[i].want);
    }
}

Test(config, good_schedules_load_and_an_empty_one_means_none)
{
    static const char *const good_sched[] = {"*/15 * * * *", "every 15m",       "@daily",
                                             "0 0 29 2 *",   "0 9 * * mon-fri", "every 1d"};
    for (size_t i = 0; i < sizeof(good_sched) / sizeof(good_sched[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text),
                 "[job]\nname = a\nsource = /s\ndestination = file:///d\nschedule = %s\n",
                 good_sched[i]);
        rsl_job j;
        rsl_err e;
        cr_assert_eq(rsl_config_parse(&j, "/etc/j.conf", text, &e), RSL_OK, "%s: %s", good_sched[i],
                     e.msg);
        cr_assert_str_eq(j.schedule, good_sched[i]);
        rsl_job_free(&j);
    }
    rsl_job j;
    rsl_err e;
    cr_assert_eq(rsl_config_parse(&j, "/etc/j.conf",
                                  "[job]\nname = a\nsource = /s\ndestination = file:///d\n"
                                  "schedule =   ; none\n",
                                  &e),
                 RSL_OK, "%s", e.msg);
    cr_assert_null(j.schedule);
    rsl_job_free(&j);
}

/* The job file and daemon.conf share one comment rule (cli/ini.h). */
Test(config, one_comment_rule)
{
    rsl_job j;
    rsl_err e;
    const char *t = "[job] ; the job\nname = a\nsource = /s#1 ; a comment\n"
                    "destination = file:///d\t# a comment after a tab\n"
                    "[remote]\nforbidden_chars = \";#\"\n";
    cr_assert_eq(rsl_config_parse(&j, "/etc/j.conf", t, &e), RSL_OK, "%s", e.msg);
    cr_assert_str_eq(j.source, "/s#1");
    cr_assert_str_eq(j.destination, "file:///d");
    cr_assert_str_eq(j.forbidden_chars, ";#");
    rsl_job_free(&j);
}

Test(config, load_reports_unreadable_and_nul_files)
{
    rsl_job j;
    rsl_err e;
    cr_assert_eq(rsl_config_load(&j, "/nonexistent/j.conf", &e), RSL_E_CONFIG_UNREADABLE);
    cr_assert(strstr(e.msg, "/nonexistent/j.conf: cannot read job file:") != NULL, "%s", e.msg);
    rsl_job_free(&j);
}

/* [remote] keys of a transport go to the destination's transport settings,
 * through its key table, wherever `destination` stands in the file. */
Test(config, transport_keys_go_to_the_destinations_transport)
{
    rsl_job j;
    rsl_err e;
    const char *t = "[remote]\nidentity_file = keys/id\nstrict_host_key_checking = no\n"
                    "username = deploy\n[job]\nname = a\nsource = /s\n"
                    "destination = sftp://h/x\n";
    cr_assert_eq(rsl_config_parse(&j, "/etc/jobs/a.conf", t, &e), RSL_OK, "%s", e.msg);
    cr_assert_eq(j.transport, &rsl_transport_sftp);
    const rsl_sftp_cfg *c = j.transport_cfg;
    cr_assert_not_null(c);
    cr_assert_str_eq(c->identity_file, "/etc/jobs/keys/id", "relative to the job file");
    cr_assert_eq(c->strict_host_key_checking, 0);
    cr_assert_eq(c->use_agent, 1, "defaults for the keys not set");
    cr_assert_str_eq(j.username, "deploy", "a shared key stays in the job");
    const char *w = rsl_job_unverified(&j);
    cr_assert(w && strstr(w, "strict_host_key_checking = no") != NULL, "the transport words it");
    rsl_remote_opts o;
    rsl_job_remote_opts(&j, &o);
    cr_assert_eq(o.cfg, j.transport_cfg);
    rsl_job_free(&j);
    cr_assert_null(j.transport_cfg);

    cr_assert_eq(rsl_config_parse(&j, "/j.conf", good, &e), RSL_OK, "%s", e.msg);
    cr_assert_null(j.transport_cfg, "file:// has no settings");
    cr_assert_null(rsl_job_unverified(&j));
    rsl_job_free(&j);

    t = "[job]\nname = a\nsource = /s\ndestination = https://h/x\n[remote]\n"
        "tls_verify = no\nchunk_size = 1M\n";
    cr_assert_eq(rsl_config_parse(&j, "/j.conf", t, &e), RSL_OK, "%s", e.msg);
    const rsl_https_cfg *h = j.transport_cfg;
    cr_assert_eq(h->chunk_size, 1u << 20);
    cr_assert_eq(h->tls.tls_verify, 0);
    cr_assert(strstr(rsl_job_unverified(&j), "tls_verify = no") != NULL);
    rsl_job_free(&j);
}

Test(config, transport_key_errors_name_file_line_and_key)
{
    expect_error("[job]\nname = a\nsource = /s\ndestination = sftp://h/x\n[remote]\n"
                 "tls_verify = no\n",
                 RSL_E_CONFIG_UNKNOWN_KEY,
                 "/etc/j.conf:6: tls_verify: a key for ftps, ftp, https, http destinations, not "
                 "sftp://");
    expect_error("[job]\nname = a\nsource = /s\ndestination = file:///d\n[remote]\n"
                 "identity_file = /k\n",
                 RSL_E_CONFIG_UNKNOWN_KEY,
                 "/etc/j.conf:6: identity_file: a key for sftp destinations, not file://");
    expect_error("[remote]\nftps_mode = sideways\n[job]\nname = a\nsource = /s\n"
                 "destination = ftps://h/x\n",
                 RSL_E_CONFIG_BAD_VALUE,
                 "/etc/j.conf:2: ftps_mode: 'sideways' is not explicit or implicit");
    expect_error("[job]\nname = a\nsource = /s\ndestination = https://h/x\n[remote]\n"
                 "chunk_size = 1K\n",
                 RSL_E_CONFIG_BAD_VALUE, "/etc/j.conf:6: chunk_size: must be at least 4K");
    expect_error("[job]\nname = a\nsource = /s\ndestination = sftp://h/x\n[remote]\n"
                 "use_agent = no\nuse_agent = yes\n",
                 RSL_E_CONFIG_BAD_VALUE, "/etc/j.conf:7: use_agent: set twice (first at line 6)");
    expect_error("[job]\nname = a\nsource = /s\ndestination = sftp://h/x\n[remote]\n"
                 "no_such_key = 1\n",
                 RSL_E_CONFIG_UNKNOWN_KEY, "/etc/j.conf:6: no_such_key: unknown key in [remote]");
    expect_error("[job]\nname = a\nsource = /s\ndestination = sftp://h/x\nknown_hosts = /k\n",
                 RSL_E_CONFIG_UNKNOWN_KEY,
                 "known_hosts: unknown key in [job] (it belongs in "
                 "[remote])");
    expect_error("[job]\nname = a\nsource = /s\ndestination = sftp://h/x\n[remote]\n"
                 "transfers = 2\n",
                 RSL_E_CONFIG_UNKNOWN_KEY, "(it belongs in [job])");
}

/* perms = source (default) | server | octal (issue 10.4) */
Test(config, perms_key)
{
    static const struct {
        const char *v;
        int want;
    } ok[] = {{"source", RSL_PERMS_SOURCE},
              {"server", RSL_PERMS_SERVER},
              {"0640", 0640},
              {"600", 0600},
              {"07777", 07777}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text),
                 "[job]\nname = a\nsource = /s\ndestination = file:///d\n[remote]\nperms = %s\n",
                 ok[i].v);
        rsl_job j;
        rsl_err e;
        cr_assert_eq(rsl_config_parse(&j, "/etc/j.conf", text, &e), RSL_OK, "%s", e.msg);
        cr_assert_eq(j.perms, ok[i].want, "%s", ok[i].v);
        rsl_job_free(&j);
    }
    rsl_job j;
    rsl_err e;
    cr_assert_eq(rsl_config_parse(&j, "/etc/j.conf",
                                  "[job]\nname = a\nsource = /s\ndestination = file:///d\n", &e),
                 RSL_OK);
    cr_assert_eq(j.perms, RSL_PERMS_SOURCE, "the source's bits by default");
    rsl_job_free(&j);
    expect_error("[job]\nname = a\nsource = /s\ndestination = file:///d\n[remote]\nperms = 0999\n",
                 RSL_E_CONFIG_BAD_VALUE, "/etc/j.conf:6: perms: '0999' is not source, server");
    expect_error("[job]\nname = a\nsource = /s\ndestination = file:///d\n[remote]\nperms = 10000\n",
                 RSL_E_CONFIG_BAD_VALUE, "perms:");
}

/* Send less: append patterns (repeatable, kept apart from excludes),
 * symlinks = skip | follow | as-links with follow_symlinks as its old
 * spelling (both at once is an error naming the first line). */
Test(config, append_and_symlinks)
{
    static const char head[] = "[job]\nname = s\nsource = /src\ndestination = file:///dst\n";
    char text[1024];
    rsl_job j;
    rsl_err e;
    snprintf(text, sizeof(text),
             "%sappend = *.log\nexclude = *.tmp\nappend = logs/*.txt\n"
             "symlinks = as-links\n",
             head);
    cr_assert_eq(rsl_config_parse(&j, "/etc/j.conf", text, &e), RSL_OK, "%s", e.msg);
    cr_assert_eq(j.n_appends, 2);
    cr_assert_str_eq(j.appends[1], "logs/*.txt");
    cr_assert_eq(j.n_excludes, 1);
    cr_assert_eq(j.symlinks, RSL_SYMLINKS_AS_LINKS);
    cr_assert_eq(j.follow_symlinks, 0);
    rsl_job_free(&j);
    snprintf(text, sizeof(text), "%sfollow_symlinks = yes\n", head);
    cr_assert_eq(rsl_config_parse(&j, "/etc/j.conf", text, &e), RSL_OK, "%s", e.msg);
    cr_assert_eq(j.symlinks, RSL_SYMLINKS_FOLLOW);
    cr_assert_eq(j.follow_symlinks, 1);
    rsl_job_free(&j);
    snprintf(text, sizeof(text), "%s", head);
    cr_assert_eq(rsl_config_parse(&j, "/etc/j.conf", text, &e), RSL_OK, "%s", e.msg);
    cr_assert_eq(j.symlinks, RSL_SYMLINKS_SKIP, "skip by default");
    rsl_job_free(&j);
    snprintf(text, sizeof(text), "%ssymlinks = sometimes\n", head);
    expect_error(text, RSL_E_CONFIG_BAD_VALUE, "/etc/j.conf:5: symlinks:");
    snprintf(text, sizeof(text), "%ssymlinks = follow\nfollow_symlinks = no\n", head);
    expect_error(text, RSL_E_CONFIG_BAD_VALUE,
                 "/etc/j.conf:6: follow_symlinks: symlinks was set "
                 "at line 5");
    snprintf(text, sizeof(text), "%sappend =\n", head);
    expect_error(text, RSL_E_CONFIG_BAD_VALUE, "append: pattern is empty");
}
