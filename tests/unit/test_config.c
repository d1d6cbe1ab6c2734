/* test_config.c - retentiond.conf (lib/config.c, with lib/values.c) */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"
#include "rtime.h"
#include "util.h"

#include "testutil.h"

/* Diagnostics name this path; relative paths resolve against /etc/retentiond (which
 * need not exist: then the directory is taken as written). */
#define C         "/etc/retentiond/retentiond.conf"
#define NAME_RULE "names are lower-case letters, digits, '_', '.' and '-', starting with a letter"
#define STMTS                                                                                      \
	"expected state-directory, rules-directory, audit-log, control-socket, "                   \
	"control-socket-mode, control-max-clients, control-stranger-clients, "                     \
	"control-idle-timeout, control-refusal-interval, timezone, admin-group, audit-group, "     \
	"erasure-deadline, fiscal-year-start, guard, log-level, metrics-file, metrics-listen, "    \
	"metrics-listen-public or backend"
#define NO_GROUP "no-such-group-rtn-test"

static struct rtn_config cf;
static struct rtn_diags dg;
static char *joined_buf;

static void setup(void)
{
	rtn_config_defaults(&cf);
	rtn_diags_init(&dg);
	joined_buf = NULL;
}

static void teardown(void)
{
	rtn_config_free(&cf);
	rtn_diags_fini(&dg);
	free(joined_buf);
	joined_buf = NULL;
}

static const char *joined(void)
{
	free(joined_buf);
	joined_buf = rtn_test_diags_joined(&dg);
	return joined_buf;
}

/* Parse text as path on top of fresh defaults. */
static int parse_as(const char *path, const char *text)
{
	teardown();
	setup();
	return rtn_config_parse(path, text, strlen(text), &cf, &dg);
}

static int parse(const char *text)
{
	return parse_as(C, text);
}

#define OK(text)                                                                                   \
	do {                                                                                       \
		int r_ = parse(text);                                                              \
		ck_assert_msg(r_ == 0 && dg.n == 0, "%s\n-> %s", (text), joined());                \
	} while (0)

#define ERR(text, want)                                                                            \
	do {                                                                                       \
		ck_assert_int_eq(parse(text), -EINVAL);                                            \
		ck_assert_str_eq(joined(), (want));                                                \
	} while (0)

/* --- defaults ------------------------------------------------------------------- */

static void check_defaults(const struct rtn_config *c)
{
	ck_assert_ptr_null(c->path);
	ck_assert_str_eq(c->state_directory, "/var/lib/retentiond");
	ck_assert_str_eq(c->rules_directory, "/etc/retentiond/rules.d");
	ck_assert_str_eq(c->audit_log, "/var/log/retentiond/audit.log");
	ck_assert_str_eq(c->control_socket, "/run/retentiond/control.sock");
	ck_assert_uint_eq(c->control_socket_mode, 0666);
	ck_assert_uint_eq(c->control_max_clients, 0);
	ck_assert_uint_eq(c->control_stranger_clients, 4);
	ck_assert_int_eq(c->control_idle_timeout_ms, 30000);
	ck_assert_int_eq(c->control_refusal_interval_ms, 60000);
	ck_assert_ptr_null(c->admin_group);
	ck_assert_ptr_null(c->audit_group);
	struct rtn_span thirty = {.days = 30};
	ck_assert_mem_eq(&c->erasure_deadline, &thirty, sizeof(thirty));
	ck_assert_int_eq(c->fiscal_year_start, 1);
	ck_assert_int_eq(c->guard, 1000);
	ck_assert_str_eq(c->log_level, "info");
	ck_assert_uint_eq(c->nbackends, 0);
	ck_assert_ptr_null(c->backends);
}

static char *saved_tz;

static void save_tz(void)
{
	const char *tz = getenv("TZ");
	saved_tz = tz ? rtn_xstrdup(tz) : NULL;
}

static void restore_tz(void)
{
	rtn_time_set_format_zone(rtn_zone_utc());
	if (saved_tz)
		setenv("TZ", saved_tz, 1);
	else
		unsetenv("TZ");
	free(saved_tz);
	saved_tz = NULL;
}

/* A root without etc/localtime. */
#define NO_HOST_ZONE "/nonexistent-rtn-test-root"

/* The default zone after setting TZ to tz (NULL: unset), on a host without a zone. */
static void default_zone_is(const char *tz, const char *want)
{
	struct rtn_config c;
	if (tz)
		setenv("TZ", tz, 1);
	else
		unsetenv("TZ");
	rtn_config_defaults_at(&c, NO_HOST_ZONE);
	ck_assert_msg(strcmp(c.timezone, want) == 0, "TZ=%s: %s, expected %s", tz ? tz : "(unset)",
	              c.timezone, want);
	check_defaults(&c);
	rtn_config_free(&c);
}

START_TEST(test_defaults)
{
	save_tz();
	default_zone_is(NULL, "UTC");
	default_zone_is("", "UTC");
	default_zone_is("UTC", "UTC");
	default_zone_is("Europe/Oslo", "Europe/Oslo");
	default_zone_is(":Europe/Oslo", "Europe/Oslo");
	default_zone_is("America/New_York", "America/New_York");
	default_zone_is("Nowhere/Atlantis", "UTC");
	default_zone_is("CET-1CEST,M3.5.0,M10.5.0/3", "UTC");
	default_zone_is("../../etc/passwd", "UTC");
	/* a path to a zone file (as the daemon sets TZ for itself) */
	default_zone_is(":/usr/share/zoneinfo/Europe/Oslo", "Europe/Oslo");
	default_zone_is("/usr/share/zoneinfo/Asia/Kolkata", "Asia/Kolkata");
	default_zone_is(":/usr/share/zoneinfo/../../../etc/passwd", "UTC");
	default_zone_is(":/etc/passwd", "UTC");
	default_zone_is("Etc/UTC", "UTC"); /* another name of UTC */
	default_zone_is(":/usr/share/zoneinfo/Zulu", "UTC");
	restore_tz();
	/* rtn_config_free leaves a zeroed struct; freeing twice is safe */
	struct rtn_config c;
	rtn_config_defaults(&c);
	rtn_config_free(&c);
	ck_assert_ptr_null(c.state_directory);
	rtn_config_free(&c);
}
END_TEST

/* The default zone with TZ unset on a host whose etc/localtime (below a test root) is
 * link (NULL: no such file; "" a regular file); from: where the zone came from. */
static void host_zone_is(const char *link, const char *want, const char *from)
{
	char tmpl[] = "/tmp/test_config_root.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	char *etc = rtn_xasprintf("%s/etc", tmpl), *lt = rtn_xasprintf("%s/etc/localtime", tmpl);
	ck_assert_int_eq(mkdir(etc, 0755), 0);
	if (link && !*link) {
		FILE *f = fopen(lt, "w");
		ck_assert_ptr_nonnull(f);
		fputs("TZif2", f);
		fclose(f);
	} else if (link) {
		ck_assert_int_eq(symlink(link, lt), 0);
	}
	unsetenv("TZ");
	struct rtn_config c;
	rtn_config_defaults_at(&c, tmpl);
	char got[128];
	snprintf(got, sizeof(got), "%s", c.timezone);
	const char *got_from = c.timezone_from;
	check_defaults(&c);
	rtn_config_free(&c);
	/* TZ still comes first */
	setenv("TZ", "America/New_York", 1);
	rtn_config_defaults_at(&c, tmpl);
	ck_assert_str_eq(c.timezone, "America/New_York");
	ck_assert_str_eq(c.timezone_from, "TZ");
	rtn_config_free(&c);
	/* and a configuration's timezone before both */
	const char *text = "timezone Asia/Tokyo\n";
	struct rtn_diags d;
	rtn_diags_init(&d);
	rtn_config_defaults_at(&c, tmpl);
	ck_assert_int_eq(rtn_config_parse(C, text, strlen(text), &c, &d), 0);
	ck_assert_str_eq(c.timezone, "Asia/Tokyo");
	ck_assert_str_eq(c.timezone_from, "configuration");
	rtn_config_free(&c);
	rtn_diags_fini(&d);
	unlink(lt);
	rmdir(etc);
	rmdir(tmpl);
	free(etc);
	free(lt);
	ck_assert_msg(strcmp(got, want) == 0, "etc/localtime -> %s: %s, expected %s",
	              link ? link : "(none)", got, want);
	if (from)
		ck_assert_str_eq(got_from, from);
	else
		ck_assert_ptr_null(got_from);
}

START_TEST(test_host_zone)
{
	save_tz();
	host_zone_is("/usr/share/zoneinfo/Europe/Oslo", "Europe/Oslo", "/etc/localtime");
	host_zone_is("../usr/share/zoneinfo/Asia/Kolkata", "Asia/Kolkata", "/etc/localtime");
	host_zone_is("/usr/share/zoneinfo/America/Argentina/Buenos_Aires",
	             "America/Argentina/Buenos_Aires", "/etc/localtime");
	/* a zoneinfo directory elsewhere (NixOS: /etc/zoneinfo/...) */
	host_zone_is("/etc/zoneinfo/Europe/Berlin", "Europe/Berlin", "/etc/localtime");
	/* the other names of UTC are UTC */
	host_zone_is("/usr/share/zoneinfo/Etc/UTC", "UTC", "/etc/localtime");
	host_zone_is("/usr/share/zoneinfo/Universal", "UTC", "/etc/localtime");
	host_zone_is("../usr/share/zoneinfo/Etc/Zulu", "UTC", "/etc/localtime");
	host_zone_is("/usr/share/zoneinfo/UTC", "UTC", "/etc/localtime");
	host_zone_is("/usr/share/zoneinfo/Etc/GMT+1", "Etc/GMT+1", "/etc/localtime");
	/* not resolvable: UTC */
	host_zone_is(NULL, "UTC", NULL);
	host_zone_is("", "UTC", NULL); /* a copy of a zone file: its name is unknown */
	host_zone_is("/usr/share/zoneinfo/Nowhere/Atlantis", "UTC", NULL);
	host_zone_is("/usr/share/zoneinfo/", "UTC", NULL);
	host_zone_is("/srv/Europe/Oslo", "UTC", NULL);
	host_zone_is("/usr/share/myzoneinfo/Europe/Oslo", "UTC", NULL);
	host_zone_is("/usr/share/zoneinfo/../../../etc/passwd", "UTC", NULL);
	restore_tz();
}
END_TEST

/* The daemon sets the zone after its first load; a reload (defaults again, config
 * without "timezone") must still see the zone of the environment, not fall to UTC. */
START_TEST(test_defaults_after_set_zone)
{
	save_tz();
	setenv("TZ", "Europe/Oslo", 1);
	struct rtn_config c;
	rtn_config_defaults(&c);
	ck_assert_str_eq(c.timezone, "Europe/Oslo");
	struct rtn_zone *z = rtn_zone_open(c.timezone);
	ck_assert_ptr_nonnull(z);
	rtn_time_set_format_zone(z);
	rtn_config_free(&c);
	rtn_config_defaults(&c);
	char got[64];
	snprintf(got, sizeof(got), "%s", c.timezone);
	rtn_config_free(&c);
	restore_tz();
	rtn_zone_free(z);
	ck_assert_str_eq(got, "Europe/Oslo");
}
END_TEST

/* --- directives ------------------------------------------------------------------ */

START_TEST(test_spec_example)
{
	OK("state-directory  /var/lib/retentiond\n"
	   "rules-directory  /etc/retentiond/rules.d\n"
	   "audit-log        /var/log/retentiond/audit.log\n"
	   "control-socket   /run/retentiond/control.sock\n"
	   "timezone         Europe/Oslo          # calendar arithmetic happens here\n"
	   "admin-group      root                 # may change things\n"
	   "audit-group      root                 # may read everything, change nothing\n"
	   "erasure-deadline 30 days\n"
	   "guard            1000                 # mass-deletion guard, see below\n"
	   "\n"
	   "backend hr-files {\n"
	   "    socket        /run/retentiond/backends/hr-files.sock\n"
	   "    max-inflight  64                  # jobs outstanding on this backend\n"
	   "    timeout       30 seconds          # no result in time: the job is retried\n"
	   "    retry         1 minute .. 6 hours # exponential backoff with jitter, bounds\n"
	   "    max-attempts  20                  # then the job is dead and shown as such\n"
	   "}\n");
	ck_assert_str_eq(cf.path, C);
	ck_assert_str_eq(cf.timezone, "Europe/Oslo");
	ck_assert_str_eq(cf.admin_group, "root");
	ck_assert_str_eq(cf.audit_group, "root");
	ck_assert_int_eq(cf.erasure_deadline.days, 30);
	ck_assert_int_eq(cf.guard, 1000);
	ck_assert_uint_eq(cf.nbackends, 1);
	const struct rtn_backend_conf *b = rtn_config_backend(&cf, "hr-files");
	ck_assert_ptr_eq(b, &cf.backends[0]);
	ck_assert_str_eq(b->name, "hr-files");
	ck_assert_str_eq(b->socket, "/run/retentiond/backends/hr-files.sock");
	ck_assert_uint_eq(b->max_inflight, 64);
	ck_assert_int_eq(b->timeout_ms, 30000);
	ck_assert_int_eq(b->retry_min_ms, 60000);
	ck_assert_int_eq(b->retry_max_ms, 6 * 3600 * 1000LL);
	ck_assert_uint_eq(b->max_attempts, 20);
	ck_assert_int_eq(b->line, 11);
	ck_assert_int_eq(b->col, 1);
	ck_assert_ptr_null(rtn_config_backend(&cf, "hr"));
}
END_TEST

START_TEST(test_paths)
{
	OK("state-directory /srv/state\nrules-directory rules.d\naudit-log log/audit.log\n"
	   "control-socket \"with space.sock\"");
	ck_assert_str_eq(cf.state_directory, "/srv/state");
	ck_assert_str_eq(cf.rules_directory, "/etc/retentiond/rules.d");
	ck_assert_str_eq(cf.audit_log, "/etc/retentiond/log/audit.log");
	ck_assert_str_eq(cf.control_socket, "/etc/retentiond/with space.sock");
	OK("state-directory /srv//a/./b/../c/\nrules-directory /../..\naudit-log ../../../../x");
	ck_assert_str_eq(cf.state_directory, "/srv/a/c");
	ck_assert_str_eq(cf.rules_directory, "/");
	ck_assert_str_eq(cf.audit_log, "/x");
	/* the last of a repeated directive wins */
	OK("audit-log /a\naudit-log /b");
	ck_assert_str_eq(cf.audit_log, "/b");
	ERR("state-directory", C ":1:1: \"state-directory\" needs 1 argument");
	ERR("rules-directory \"\"", C ":1:17: \"rules-directory\" needs a path");
	ERR("audit-log a b", C ":1:13: too many arguments to \"audit-log\" (at most 1)");
	ERR("control-socket /x { }", C ":1:1: \"control-socket\" does not take a block");
}
END_TEST

static char dir[PATH_MAX];

static void rm_dir(void)
{
	char *cmd = rtn_xasprintf("rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

/* Relative paths are relative to the config file's real directory. */
START_TEST(test_relative_paths)
{
	char tmpl[] = "/tmp/test_config.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	ck_assert_ptr_nonnull(realpath(tmpl, dir));
	char *etc = rtn_xasprintf("%s/etc", dir), *link = rtn_xasprintf("%s/link", dir);
	ck_assert_int_eq(mkdir(etc, 0700), 0);
	ck_assert_int_eq(symlink(etc, link), 0);
	char *path = rtn_xasprintf("%s/retentiond.conf", link);
	const char *text = "state-directory state\nrules-directory ./rules.d\n"
	                   "audit-log ../log/audit.log\ncontrol-socket /abs/c.sock\n"
	                   "backend b { socket backends/b.sock }\n";
	int r = parse_as(path, text);
	ck_assert_msg(r == 0 && dg.n == 0, "%s", joined());
	char *want = rtn_xasprintf("%s/state", etc);
	ck_assert_str_eq(cf.state_directory, want);
	free(want);
	want = rtn_xasprintf("%s/rules.d", etc); /* "." and ".." collapsed */
	ck_assert_str_eq(cf.rules_directory, want);
	free(want);
	want = rtn_xasprintf("%s/log/audit.log", dir);
	ck_assert_str_eq(cf.audit_log, want);
	free(want);
	ck_assert_str_eq(cf.control_socket, "/abs/c.sock");
	want = rtn_xasprintf("%s/backends/b.sock", etc);
	ck_assert_str_eq(cf.backends[0].socket, want);
	free(want);
	ck_assert_str_eq(cf.path, path);

	/* rtn_config_load reads the same from the file */
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fputs("guard bad\n", f);
	fclose(f);
	teardown();
	setup();
	ck_assert_int_eq(rtn_config_load(path, &cf, &dg), -EINVAL);
	want = rtn_xasprintf("%s:6:7: expected \"off\" or a whole number of records from 1 to "
	                     "1000000000, found \"bad\"",
	                     path);
	ck_assert_str_eq(joined(), want);
	free(want);
	want = rtn_xasprintf("%s/state", etc);
	ck_assert_str_eq(cf.state_directory, want);
	free(want);
	rm_dir();
	free(path);
	free(etc);
	free(link);

	teardown();
	setup();
	ck_assert_int_eq(rtn_config_load("/nonexistent/retentiond.conf", &cf, &dg), -EINVAL);
	ck_assert_str_eq(joined(), "/nonexistent/retentiond.conf: cannot read configuration: No "
	                           "such file or directory");
}
END_TEST

START_TEST(test_timezone)
{
	OK("timezone Europe/Oslo");
	ck_assert_str_eq(cf.timezone, "Europe/Oslo");
	OK("timezone UTC");
	ck_assert_str_eq(cf.timezone, "UTC");
	OK("timezone \"America/Argentina/Buenos_Aires\"");
	ck_assert_str_eq(cf.timezone, "America/Argentina/Buenos_Aires");
	static const char *const bad[] = {"Mars/Olympus", "europe/oslo", "/etc/localtime",
	                                  "../zoneinfo/UTC", "CET-1CEST"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *text = rtn_xasprintf("timezone %s", bad[i]);
		char *want =
		    rtn_xasprintf(C ":1:10: unknown time zone \"%s\"; expected a name from "
		                    "the tz database, such as Europe/Oslo or UTC",
		                  bad[i]);
		ERR(text, want);
		ck_assert_str_ne(cf.timezone, bad[i]);
		free(text);
		free(want);
	}
	ERR("timezone", C ":1:1: \"timezone\" needs 1 argument");
	ERR("timezone UTC Europe/Oslo", C ":1:14: too many arguments to \"timezone\" (at most 1)");
}
END_TEST

START_TEST(test_mode_groups_levels)
{
	OK("control-socket-mode 0660");
	ck_assert_uint_eq(cf.control_socket_mode, 0660);
	OK("control-socket-mode 0600");
	ck_assert_uint_eq(cf.control_socket_mode, 0600);
	OK("control-socket-mode 0777");
	ck_assert_uint_eq(cf.control_socket_mode, 0777);
	OK("control-socket-mode 00");
	ck_assert_uint_eq(cf.control_socket_mode, 0);
	static const char *const bad[] = {"660", "0800", "07777", "rw-rw----", "0x1b6", "0"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *text = rtn_xasprintf("control-socket-mode %s", bad[i]);
		char *want = rtn_xasprintf(
		    C ":1:21: expected an octal mode such as 0660, found \"%s\"", bad[i]);
		ERR(text, want);
		free(text);
		free(want);
	}
	ERR("control-socket-mode \"0660\"",
	    C ":1:21: expected an octal mode such as 0660, found \"0660\"");
	ERR("control-socket-mode", C ":1:1: \"control-socket-mode\" needs 1 argument");

	OK("admin-group root\naudit-group root");
	ck_assert_str_eq(cf.admin_group, "root");
	ck_assert_str_eq(cf.audit_group, "root");
	ck_assert_int_eq(parse("admin-group " NO_GROUP "\naudit-group  " NO_GROUP), 0);
	ck_assert_str_eq(joined(),
	                 C ":1:13: warning: group \"" NO_GROUP "\" does not exist; nobody "
	                   "is admitted through \"admin-group\"\n" C
	                   ":2:14: warning: group \"" NO_GROUP
	                   "\" does not exist; nobody is admitted through \"audit-group\"");
	ck_assert_uint_eq(dg.nerrors, 0);
	ck_assert_uint_eq(dg.nwarnings, 2);
	ck_assert_str_eq(cf.admin_group, NO_GROUP);
	ERR("admin-group", C ":1:1: \"admin-group\" needs 1 argument");
	ERR("audit-group a b", C ":1:15: too many arguments to \"audit-group\" (at most 1)");

	static const char *const levels[] = {"error", "warning", "notice", "info", "debug"};
	for (size_t i = 0; i < 5; i++) {
		char *text = rtn_xasprintf("log-level %s", levels[i]);
		OK(text);
		ck_assert_str_eq(cf.log_level, levels[i]);
		free(text);
	}
	ERR("log-level verbose", C ":1:11: unknown log level \"verbose\"; expected error, warning, "
	                           "notice, info or debug");
	ERR("log-level INFO",
	    C ":1:11: unknown log level \"INFO\"; expected error, warning, notice, "
	      "info or debug");
	ERR("log-level", C ":1:1: \"log-level\" needs 1 argument");
}
END_TEST

START_TEST(test_guard_erasure)
{
	OK("guard off");
	ck_assert_int_eq(cf.guard, 0);
	OK("guard 1");
	ck_assert_int_eq(cf.guard, 1);
	OK("guard 5000");
	ck_assert_int_eq(cf.guard, 5000);
	OK("guard 1000000000");
	ck_assert_int_eq(cf.guard, 1000000000);
	static const char *const bad[] = {"0", "-1", "1000000001", "lots", "1e3", "on"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *text = rtn_xasprintf("guard %s", bad[i]);
		char *want = rtn_xasprintf(
		    C ":1:7: expected \"off\" or a whole number of records from 1 to 1000000000, "
		      "found \"%s\"",
		    bad[i]);
		ERR(text, want);
		free(text);
		free(want);
	}
	ERR("guard", C ":1:1: \"guard\" needs 1 argument");
	ERR("guard 5 { }", C ":1:1: \"guard\" does not take a block");

	OK("erasure-deadline 2 weeks");
	struct rtn_span two_weeks = {.weeks = 2};
	ck_assert_mem_eq(&cf.erasure_deadline, &two_weeks, sizeof(two_weeks));
	OK("erasure-deadline 1 month 3 days");
	ck_assert_int_eq(cf.erasure_deadline.months, 1);
	ck_assert_int_eq(cf.erasure_deadline.days, 3);
	OK("erasure-deadline immediately");
	ck_assert(rtn_span_is_zero(&cf.erasure_deadline));
	ERR("erasure-deadline 30 dayz", C ":1:21: unknown unit \"dayz\"; expected second, minute, "
	                                  "hour, day, week, month or year");
	ERR("erasure-deadline", C ":1:1: \"erasure-deadline\" needs a span: \"immediately\" or a "
	                          "number and a unit, such as \"1 year\"");
	ERR("erasure-deadline 30",
	    C ":1:18: expected a unit after \"30\"; expected second, minute, "
	      "hour, day, week, month or year");
}
END_TEST

START_TEST(test_fiscal_year_start)
{
	OK("fiscal-year-start july");
	ck_assert_int_eq(cf.fiscal_year_start, 7);
	OK("fiscal-year-start April");
	ck_assert_int_eq(cf.fiscal_year_start, 4);
	OK("fiscal-year-start 10");
	ck_assert_int_eq(cf.fiscal_year_start, 10);
	OK("erasure-deadline 2 weeks\nfiscal-year-start january");
	ck_assert_int_eq(cf.fiscal_year_start, 1);
	ck_assert_int_eq(cf.erasure_deadline.weeks, 2);
	ERR("fiscal-year-start jully", C ":1:19: expected a month: january to december, or 1 to "
	                                 "12, found \"jully\"");
	ERR("fiscal-year-start 13", C ":1:19: expected a month: january to december, or 1 to 12, "
	                              "found \"13\"");
	ERR("fiscal-year-start", C ":1:1: \"fiscal-year-start\" needs 1 argument");
	ERR("fiscal-year-start july august",
	    C ":1:24: too many arguments to \"fiscal-year-start\" (at most 1)");
	ERR("fiscal-year-start july { }", C ":1:1: \"fiscal-year-start\" does not take a block");
}
END_TEST

START_TEST(test_control_limits)
{
	OK("control-max-clients 500\ncontrol-stranger-clients 2\n"
	   "control-idle-timeout 5 seconds\ncontrol-refusal-interval 1 hour");
	ck_assert_uint_eq(cf.control_max_clients, 500);
	ck_assert_uint_eq(cf.control_stranger_clients, 2);
	ck_assert_int_eq(cf.control_idle_timeout_ms, 5000);
	ck_assert_int_eq(cf.control_refusal_interval_ms, 3600000);
	OK("control-idle-timeout 1 day; control-refusal-interval 1 second");
	ck_assert_int_eq(cf.control_idle_timeout_ms, 86400000);
	ck_assert_int_eq(cf.control_refusal_interval_ms, 1000);
	ERR("control-max-clients 0",
	    C ":1:21: expected a whole number from 1 to 1000000, found \"0\"");
	ERR("control-stranger-clients many",
	    C ":1:26: expected a whole number from 1 to 1000000, found \"many\"");
	ERR("control-max-clients", C ":1:1: \"control-max-clients\" needs 1 argument");
	ERR("control-idle-timeout 0 seconds",
	    C ":1:22: \"control-idle-timeout\" must be from 1 second to 1 day");
	ERR("control-refusal-interval 2 days",
	    C ":1:26: \"control-refusal-interval\" must be from 1 second to 1 day");
	ERR("control-idle-timeout 1 month", C ":1:22: \"control-idle-timeout\" needs a fixed "
	                                      "duration; months and years vary in length, use "
	                                      "days or weeks");
	/* nothing kept from a refused statement */
	ck_assert_int_eq(cf.control_idle_timeout_ms, 30000);
}
END_TEST

START_TEST(test_unknown_and_many)
{
	ERR("statedir /x", C ":1:1: unknown statement \"statedir\"; " STMTS);
	/* every problem at once, defaults kept where nothing valid was said */
	ERR("guard 0\nlog-level loud\nfoo\ntimezone Nowhere/X\nguard 7", C
	    ":1:7: expected \"off\" or a whole number of records from 1 to 1000000000, found "
	    "\"0\"\n" C
	    ":2:11: unknown log level \"loud\"; expected error, warning, notice, info or debug\n" C
	    ":3:1: unknown statement \"foo\"; " STMTS "\n" C
	    ":4:10: unknown time zone \"Nowhere/X\"; expected a name from the tz database, such "
	    "as Europe/Oslo or UTC");
	ck_assert_str_eq(cf.log_level, "info");
	ck_assert_int_eq(cf.guard, 7);
	/* syntax errors come through */
	ERR("guard 5 }", C ":1:9: unexpected \"}\"; no block is open");
	OK("");
	OK("# nothing\n\n;;\n");
}
END_TEST

/* A misspelt block keyword is an unknown statement, not a statement with a block. */
START_TEST(test_unknown_block)
{
	ERR("backnd hr { socket /x }", C ":1:1: unknown statement \"backnd\"; " STMTS);
	ERR("rule r { category c }", C ":1:1: unknown statement \"rule\"; " STMTS);
}
END_TEST

/* SPEC §3: names of groups match [a-z][a-z0-9_.-]*, like every other name. */
START_TEST(test_group_names)
{
	ERR("admin-group Retention_Admin",
	    C ":1:13: invalid group name \"Retention_Admin\"; " NAME_RULE);
	ERR("audit-group \"\"", C ":1:13: invalid group name \"\"; " NAME_RULE);
}
END_TEST

/* --- backends ----------------------------------------------------------------------- */

#define BERR(body, want) ERR("backend b {\n" body "\n}", want)

START_TEST(test_backend)
{
	OK("backend b {\nsocket /run/b.sock\nmax-inflight 1\ntimeout 1 second\nretry 1 second .. "
	   "1 second\nmax-attempts 1\n}\n"
	   "backend c { socket c.sock; max-inflight 100000; timeout 2 minutes 30 seconds; retry "
	   "10 seconds .. 2 weeks 1 day; max-attempts 1000000 }\n"
	   "backend d { socket /d }");
	ck_assert_uint_eq(cf.nbackends, 3);
	const struct rtn_backend_conf *b = rtn_config_backend(&cf, "b");
	ck_assert_str_eq(b->socket, "/run/b.sock");
	ck_assert_uint_eq(b->max_inflight, 1);
	ck_assert_int_eq(b->timeout_ms, 1000);
	ck_assert_int_eq(b->retry_min_ms, 1000);
	ck_assert_int_eq(b->retry_max_ms, 1000);
	ck_assert_uint_eq(b->max_attempts, 1);
	b = rtn_config_backend(&cf, "c");
	ck_assert_str_eq(b->socket, "/etc/retentiond/c.sock");
	ck_assert_uint_eq(b->max_inflight, 100000);
	ck_assert_int_eq(b->timeout_ms, 150000);
	ck_assert_int_eq(b->retry_min_ms, 10000);
	ck_assert_int_eq(b->retry_max_ms, 15 * 86400 * 1000LL);
	ck_assert_uint_eq(b->max_attempts, 1000000);
	ck_assert_int_eq(b->line, 8);
	b = rtn_config_backend(&cf, "d"); /* defaults */
	ck_assert_uint_eq(b->max_inflight, 64);
	ck_assert_int_eq(b->timeout_ms, 30000);
	ck_assert_int_eq(b->retry_min_ms, 60000);
	ck_assert_int_eq(b->retry_max_ms, 21600000);
	ck_assert_uint_eq(b->max_attempts, 20);
	ck_assert_int_eq(b->line, 9);
	ck_assert_int_eq(b->col, 1);
	ck_assert_ptr_null(rtn_config_backend(&cf, "e"));
	OK("backend x.y_z-1 { socket /s }");
	ck_assert_str_eq(cf.backends[0].name, "x.y_z-1");
}
END_TEST

START_TEST(test_backend_errors)
{
	ERR("backend b", C ":1:1: \"backend\" needs a block: backend NAME { socket PATH ... }");
	ERR("backend { socket /s }", C ":1:1: \"backend\" needs 1 argument");
	ERR("backend a b { socket /s }", C ":1:11: too many arguments to \"backend\" (at most 1)");
	ERR("backend HR { socket /s }", C ":1:9: invalid backend name \"HR\"; " NAME_RULE);
	ERR("backend b { socket /s }\n  backend b { socket /t }",
	    C ":2:3: duplicate backend \"b\"; first defined at 1:1");
	ck_assert_uint_eq(cf.nbackends, 1);
	ck_assert_str_eq(cf.backends[0].socket, "/s");
	ERR("backend b { max-inflight 3 }", C ":1:1: backend \"b\" needs \"socket PATH\"");
	ERR("backend b { }", C ":1:1: backend \"b\" needs \"socket PATH\"");
	BERR("socket", C ":2:1: \"socket\" needs 1 argument");
	BERR("socket \"\"", C ":2:8: \"socket\" needs a path");
	BERR("socket /s { }", C ":2:1: \"socket\" does not take a block");
	BERR("socket /s\nsockets /t",
	     C ":3:1: unknown statement \"sockets\" in backend \"b\"; "
	       "expected socket, max-inflight, timeout, retry, max-attempts or scan");
	BERR("socket /s\nmax-inflight 0",
	     C ":3:14: expected a whole number from 1 to 100000, found \"0\"");
	BERR("socket /s\nmax-inflight 100001",
	     C ":3:14: expected a whole number from 1 to 100000, found \"100001\"");
	BERR("socket /s\nmax-inflight", C ":3:1: \"max-inflight\" needs 1 argument");
	BERR("socket /s\nmax-attempts 0",
	     C ":3:14: expected a whole number from 1 to 1000000, found \"0\"");
	BERR("socket /s\nmax-attempts many",
	     C ":3:14: expected a whole number from 1 to 1000000, found \"many\"");
	BERR("socket /s\nmax-attempts 1 2", C ":3:16: too many arguments to \"max-attempts\" (at "
	                                      "most 1)");
	BERR("socket /s\ntimeout 0 seconds", C ":3:1: \"timeout\" must be at least 1 second");
	BERR("socket /s\ntimeout immediately", C ":3:1: \"timeout\" must be at least 1 second");
	BERR("socket /s\ntimeout 1 month", C
	     ":3:9: \"timeout\" needs a fixed duration; months and years vary in length, use days "
	     "or weeks");
	BERR("socket /s\ntimeout 1 year", C
	     ":3:9: \"timeout\" needs a fixed duration; months and years vary in length, use days "
	     "or weeks");
	BERR("socket /s\ntimeout",
	     C ":3:1: \"timeout\" needs a span: \"immediately\" or a number and "
	       "a unit, such as \"1 year\"");
	BERR("socket /s\ntimeout 30 secs",
	     C ":3:12: unknown unit \"secs\"; expected second, minute, "
	       "hour, day, week, month or year");
	BERR("socket /s\nretry 1 minute 6 hours",
	     C ":3:1: expected \"retry MIN .. MAX\", such as \"retry 1 minute .. 6 hours\"");
	BERR("socket /s\nretry 1 minute \"..\" 6 hours",
	     C ":3:1: expected \"retry MIN .. MAX\", such as \"retry 1 minute .. 6 hours\"");
	BERR("socket /s\nretry 2 hours .. 1 hour",
	     C ":3:1: \"retry MIN .. MAX\" needs 1 second <= MIN <= MAX");
	BERR("socket /s\nretry 0 seconds .. 1 hour",
	     C ":3:1: \"retry MIN .. MAX\" needs 1 second <= MIN <= MAX");
	BERR("socket /s\nretry 1 month .. 1 year", C
	     ":3:7: \"retry\" needs a fixed duration; months and years vary in length, use days or "
	     "weeks");
	BERR("socket /s\nretry 1 minute .. 1 year",
	     C ":3:19: \"retry\" needs a fixed duration; months and years vary in length, use days "
	       "or weeks");
	BERR("socket /s\nretry 1 minute ..",
	     C ":3:1: \"retry\" needs a span: \"immediately\" or a number and a unit, such as \"1 "
	       "year\"");
	BERR("socket /s\nretry .. 1 hour",
	     C ":3:1: \"retry\" needs a span: \"immediately\" or a number and a unit, such as \"1 "
	       "year\"");
	/* scan every SPAN (at least a minute) or scan off */
	BERR("socket /s\nscan every 10 seconds",
	     C ":3:1: \"scan every\" must be at least 1 minute");
	BERR("socket /s\nscan sometimes", C
	     ":3:1: expected \"scan every SPAN\" (such as \"scan every 1 hour\") or \"scan off\"");
	/* several problems in one block, all reported; the backend is not added */
	BERR("socket /s\nmax-inflight 0\nwhat 1\ntimeout 1 month", C
	     ":3:14: expected a whole number from 1 to 100000, found \"0\"\n" C
	     ":4:1: unknown statement \"what\" in backend \"b\"; expected socket, max-inflight, "
	     "timeout, retry, max-attempts or scan\n" C
	     ":5:9: \"timeout\" needs a fixed duration; months and years vary in length, use days "
	     "or weeks");
	ck_assert_uint_eq(cf.nbackends, 0);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_fiscal_year_start);
	tcase_add_test(tc, test_defaults_after_set_zone);
	tcase_add_test(tc, test_host_zone);
	tcase_add_test(tc, test_spec_example);
	tcase_add_test(tc, test_paths);
	tcase_add_test(tc, test_relative_paths);
	tcase_add_test(tc, test_timezone);
	tcase_add_test(tc, test_mode_groups_levels);
	tcase_add_test(tc, test_guard_erasure);
	tcase_add_test(tc, test_control_limits);
	tcase_add_test(tc, test_unknown_and_many);
	tcase_add_test(tc, test_unknown_block);
	tcase_add_test(tc, test_group_names);
	tcase_add_test(tc, test_backend);
	tcase_add_test(tc, test_backend_errors);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(config_suite)
