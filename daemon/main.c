/* main.c - retentiond: the life of the daemon, top to bottom */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "auditlog.h"
#include "check.h"
#include "commands.h"
#include "control.h"
#include "daemon.h"
#include "dispatch.h"
#include "erasures.h"
#include "exits.h"
#include "guard.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"
#include "residue.h"
#include "scheduler.h"
#include "util.h"
#include "verify.h"
#include "watchdog.h"

#define DEFAULT_CONFIG  "/etc/retentiond/retentiond.conf"
#define EX_USAGE_       RTN_EXIT_USAGE
#define EX_DATAERR_     RTN_EXIT_DATAERR
#define EX_SOFTWARE_    RTN_EXIT_SOFTWARE
#define EX_CANTCREAT_   RTN_EXIT_CANTCREAT
#define EX_CONFIG_      RTN_EXIT_CONFIG
#define RECOMPUTE_BATCH 10000
#define DRAIN_MS        5000 /* SIGTERM: how long results in flight are waited for */

static struct daemon D;
static uv_timer_t reschedule_timer;
static uv_signal_t sig_term, sig_int, sig_hup, sig_usr1;

#define RESCHEDULE_RETRY_MS 5000

static int apply_rules(struct daemon *d, const char *actor, size_t *changed, size_t *paused);

/* Something may have become due: the deadline timer and the dispatcher look again. */
static void kick(void)
{
	scheduler_kick();
	dispatch_kick();
}

/* A reload whose rescheduling failed: try again until every record is scheduled. */
static void on_reschedule(uv_timer_t *t)
{
	size_t n, paused;
	if (apply_rules(&D, "daemon", &n, &paused) < 0) {
		uv_timer_start(t, on_reschedule, RESCHEDULE_RETRY_MS, 0);
		return;
	}
	rtn_notice("rules: rescheduling done after all: %zu record%s rescheduled", n,
	           n == 1 ? "" : "s");
	kick();
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: retentiond [--config FILE] [--check-config]\n"
	        "       retentiond [--config FILE] --accept-audit-truncation HEX\n"
	        "       retentiond --verify-audit FILE... [--head HEX]\n"
	        "       retentiond --check-audit FILE...\n"
	        "       retentiond --pseudonym --subject-key FILE SUBJECT...\n"
	        "       retentiond --help | --version\n"
	        "\n"
	        "Keeps the retention promises of a privacy notice: evaluates rules against a\n"
	        "record inventory and sends deletions to backends when they fall due.\n"
	        "Runs in the foreground; logs go to stderr.\n"
	        "\n"
	        "  -c, --config FILE   configuration file (default " DEFAULT_CONFIG ")\n"
	        "  -n, --check-config  check the configuration and every rule file, print each\n"
	        "                      problem as FILE:LINE:COL: message, exit 0 or 78\n"
	        "      --accept-audit-truncation HEX\n"
	        "                      start although the audit log lost the head recorded at\n"
	        "                      the last stop, whose hash HEX is (the refusal, exit 65,\n"
	        "                      names it); the acceptance is the log's next entry\n"
	        "      --verify-audit  check the hash chain of audit log FILEs (oldest first) and\n"
	        "                      name the first entry altered, removed, inserted or\n"
	        "                      reordered; exit 0 if valid, 1 if not, 2 on errors\n"
	        "      --head HEX      with --verify-audit: the head the daemon last wrote to the\n"
	        "                      journal; a log that lacks it was truncated or rewritten\n"
	        "      --check-audit   replay audit log FILEs (oldest first): every job sent at\n"
	        "                      or after its due time, done, dead or cancelled (or still\n"
	        "                      out), every due action sent; exit 0 if so, 1 if not, 2\n"
	        "                      on errors\n"
	        "      --pseudonym     print each SUBJECT as the audit log names it: its keyed\n"
	        "                      pseudonym under the key of --subject-key FILE (the\n"
	        "                      state directory's subject.key)\n"
	        "  -h, --help          show this help\n"
	        "  -V, --version       show the version\n");
}

static gid_t group_id(const char *name, const char *what)
{
	if (!name)
		return (gid_t)-1;
	struct group *g = getgrnam(name);
	if (!g) {
		rtn_warn("%s \"%s\" does not exist; nobody is admitted through it", what, name);
		return (gid_t)-1;
	}
	return g->gr_gid;
}

/* Recompute every record after the rules changed, under the mass-deletion guard; the
 * outcome commits with its entries (rtn_guard_apply). While it has not succeeded,
 * rules_stale is set and nothing new is sent. 0 or -EIO. */
static int apply_rules(struct daemon *d, const char *actor, size_t *changed, size_t *paused)
{
	struct rtn_guard_result g;
	d->rules_stale = true; /* nothing new is sent until every record is scheduled again */
	int r = rtn_guard_apply(&d->engine, d->cfg.guard, d->cfg.timezone, actor, RECOMPUTE_BATCH,
	                        daemon_now(), &g);
	*changed = g.changed;
	*paused = g.paused;
	if (r < 0)
		return -EIO;
	d->rules_stale = false;
	if (g.paused) {
		rtn_warn("mass-deletion guard: the new rules make %zu more records due at once "
		         "(limit %lld); they are paused until `retentionctl rules confirm` or the "
		         "old rules are restored",
		         g.paused, (long long)g.limit);
		size_t i;
		json_t *v;
		json_array_foreach(g.by_rule, i, v)
		    rtn_warn("  paused by rule %s: %lld record%s",
		             json_string_value(json_object_get(v, "rule")),
		             (long long)json_integer_value(json_object_get(v, "records")),
		             json_integer_value(json_object_get(v, "records")) == 1 ? "" : "s");
	}
	json_decref(g.by_rule);
	return 0;
}

/* Schedule every record again if the rules or the zone differ from the last run. */
static int reschedule_if_changed(struct daemon *d)
{
	size_t changed = 0, paused = 0;
	if (!rtn_guard_stale(&d->engine, d->rules.hash, d->cfg.timezone))
		return 0;
	if (apply_rules(d, "daemon", &changed, &paused) < 0) {
		rtn_err("inventory: cannot reschedule: %s", rtn_engine_errmsg(&d->engine));
		return -EIO;
	}
	rtn_info("rules or time zone changed since the last run: %zu record%s rescheduled", changed,
	         changed == 1 ? "" : "s");
	return 0;
}

/* Reload the rule files: on success swap them in and reschedule every record; on errors
 * in them keep the old rules and fill *problems (-EINVAL). -EIO: the rules are in force
 * but rescheduling failed (logged; retried until it works, nothing new sent meanwhile);
 * -EAGAIN: the audit log cannot take the "rules.loaded" entry, and the old rules stay. */
static int reload_rules(struct daemon *d, const char *actor, json_t **problems, json_t **result)
{
	struct rtn_ruleset rs;
	struct rtn_diags diags;
	rtn_ruleset_init(&rs);
	rs.fiscal_year_start = d->cfg.fiscal_year_start;
	rtn_diags_init(&diags);
	int r = rtn_rules_load_dir(d->cfg.rules_directory, &rs, &diags);
	const char **names = rtn_config_backend_names(&d->cfg);
	rtn_ruleset_lint(&rs, names, d->cfg.nbackends, &diags);
	free(names);
	if (r < 0 || diags.nerrors) {
		*problems = commands_problems_json(&diags);
		rtn_warn("rules: reload refused, %zu error%s; the old rules stay", diags.nerrors,
		         diags.nerrors == 1 ? "" : "s");
		for (size_t i = 0; i < diags.n; i++) {
			char *t = rtn_diag_format(&diags.v[i]);
			rtn_warn("%s", t);
			free(t);
		}
		audit_event("rules.rejected", actor, NULL, NULL, NULL, NULL, NULL,
		            json_pack("{s:I, s:O}", "errors", (json_int_t)diags.nerrors, "problems",
		                      *problems));
		rtn_diags_fini(&diags);
		rtn_ruleset_free(&rs);
		return -EINVAL;
	}
	/* Changed against what runs, or against what the inventory was last scheduled by (a
	 * reload whose rescheduling failed is done again). */
	bool changed =
	    strcmp(rs.hash, d->rules.hash) != 0 || rtn_guard_stale(&d->engine, rs.hash, NULL);
	/* The entry naming the rules is on disk before they are in force. */
	struct rtn_ruleset old;
	rtn_ruleset_init(&old);
	rtn_ruleset_move(&old, &d->rules);
	rtn_ruleset_move(&d->rules, &rs);
	rtn_engine_set_rules(&d->engine, &d->rules);
	if (rtn_guard_rules_loaded(&d->engine, &d->rules, d->cfg.timezone, actor) < 0) {
		rtn_ruleset_move(&d->rules, &old);
		rtn_engine_set_rules(&d->engine, &d->rules);
		rtn_ruleset_free(&rs);
		rtn_diags_fini(&diags);
		rtn_err("rules: reload refused: the audit log cannot take entries; the old rules "
		        "stay");
		*problems = NULL;
		return -EAGAIN;
	}
	rtn_ruleset_free(&old);
	d->rules_loaded = daemon_now();
	size_t n = 0, paused = 0;
	int applied = changed ? apply_rules(d, actor, &n, &paused) : 0;
	if (applied < 0) {
		/* The new rules are in force, but some records still carry schedules of the old
		 * ones: nothing new is sent (rules_stale) until a retry, the next reload or the
		 * next start (the stored rules hash is still the old one) schedules them all. */
		rtn_err("rules: loaded, but rescheduling failed after %zu records: %s; nothing new "
		        "is sent until it is done (tried again in %d s)",
		        n, rtn_engine_errmsg(&d->engine), RESCHEDULE_RETRY_MS / 1000);
		uv_timer_start(&reschedule_timer, on_reschedule, RESCHEDULE_RETRY_MS, 0);
		rtn_diags_fini(&diags);
		*problems = NULL;
		scheduler_kick();
		return -EIO;
	}
	rtn_info("rules: loaded %zu rule%s (%.12s), %s, %zu record%s rescheduled", d->rules.n,
	         d->rules.n == 1 ? "" : "s", d->rules.hash, changed ? "changed" : "unchanged", n,
	         n == 1 ? "" : "s");
	*result =
	    json_pack("{s:I, s:s, s:b, s:I, s:I, s:o}", "count", (json_int_t)d->rules.n, "hash",
	              d->rules.hash, "changed", changed, "rescheduled", (json_int_t)n, "paused",
	              (json_int_t)paused, "problems", commands_problems_json(&diags));
	rtn_diags_fini(&diags);
	erasures_settle(&d->engine, daemon_now());
	kick();
	return 0;
}

static int reload(const char *actor, json_t **problems, json_t **result)
{
	return reload_rules(&D, actor, problems, result);
}

static void stop_loop(void)
{
	uv_stop(D.loop);
}

static void on_signal(uv_signal_t *s, int signum)
{
	(void)s;
	if (signum == SIGUSR1) {
		rtn_info("SIGUSR1: rotating the audit log");
		audit_rotate("SIGUSR1", NULL);
		return;
	}
	if (signum == SIGHUP) {
		json_t *problems = NULL, *result = NULL;
		sd_notify(0, "RELOADING=1");
		rtn_info("SIGHUP: reloading rules");
		reload_rules(&D, "daemon", &problems, &result);
		json_decref(problems);
		json_decref(result);
		sd_notify(0, "READY=1");
		return;
	}
	if (D.stopping)
		return;
	rtn_info("%s: stopping; waiting up to %u s for %u job%s in flight",
	         signum == SIGTERM ? "SIGTERM" : "SIGINT", DRAIN_MS / 1000, dispatch_inflight(),
	         dispatch_inflight() == 1 ? "" : "s");
	sd_notify(0, "STOPPING=1");
	D.stopping = true;
	dispatch_drain(DRAIN_MS, stop_loop);
}

static int make_state_directory(const char *dir)
{
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		rtn_err("cannot create state directory %s: %s", dir, strerror(errno));
		return -errno;
	}
	return 0;
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

struct options {
	bool check, verify, check_audit, pseudonym;
	const char *head, *accept, *key;
};

/* --pseudonym: each SUBJECT's pseudonym under the key FILE, one a line, as the audit log
 * names it (for a search of the log without the daemon). 0, or RTN_EXIT_NOINPUT when the
 * key is bad. */
static int pseudonym_main(const char *key, const char *const *subjects, size_t n)
{
	struct rtn_pseudo *p;
	char err[512], out[RTN_PSEUDONYM_LEN + 1];
	if (rtn_pseudo_open(key, false, &p, err, sizeof(err)) < 0) {
		fprintf(stderr, "retentiond: %s\n", err);
		return RTN_EXIT_NOINPUT;
	}
	for (size_t i = 0; i < n; i++) {
		rtn_pseudo_of(p, subjects[i], out);
		printf("%s\n", out);
	}
	rtn_pseudo_free(p);
	return fflush(stdout) == 0 ? 0 : RTN_EXIT_ERROR;
}

/* The command line into o. -1 to go on, else the exit status. */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"verify-audit", no_argument, NULL, 'A'},
	    {"check-audit", no_argument, NULL, 'K'},
	    {"head", required_argument, NULL, 'H'},
	    {"accept-audit-truncation", required_argument, NULL, 'T'},
	    {"pseudonym", no_argument, NULL, 'P'},
	    {"subject-key", required_argument, NULL, 'k'},
	    {NULL, 0, NULL, 0},
	};
	static char accept_hash[65];
	int c;
	while ((c = getopt_long(argc, argv, "c:nhV", opts, NULL)) != -1) {
		switch (c) {
		case 'A':
			o->verify = true;
			break;
		case 'K':
			o->check_audit = true;
			break;
		case 'P':
			o->pseudonym = true;
			break;
		case 'k':
			o->key = optarg;
			break;
		case 'H':
			o->head = optarg;
			break;
		case 'T':
			/* The hash of the head that was lost: so that the option accepts that one
			 * loss, and nothing if it is left in place. */
			if (strlen(optarg) != 64 ||
			    strspn(optarg, "0123456789abcdefABCDEF") != 64) {
				fprintf(stderr,
				        "retentiond: --accept-audit-truncation needs the recorded "
				        "head's hash (64 hex digits), not \"%s\"\n",
				        optarg);
				return EX_USAGE_;
			}
			for (int i = 0; i < 64; i++)
				accept_hash[i] = (char)(optarg[i] | (optarg[i] >= 'A' ? 0x20 : 0));
			o->accept = accept_hash;
			break;
		case 'c':
			D.config_path = optarg;
			break;
		case 'n':
			o->check = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("retentiond %s\n", RTN_VERSION);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE_;
		}
	}
	if (o->pseudonym || o->key) {
		if (!o->pseudonym || !o->key || o->verify || o->check || o->check_audit ||
		    o->accept || o->head || optind >= argc) {
			fprintf(stderr, "retentiond: --pseudonym goes with --subject-key FILE and "
			                "at least one SUBJECT, alone\n");
			return EX_USAGE_;
		}
		return pseudonym_main(o->key, (const char *const *)argv + optind,
		                      (size_t)(argc - optind));
	}
	if (o->check_audit && (o->verify || o->check || o->accept || o->head)) {
		fprintf(stderr, "retentiond: --check-audit goes alone with its FILEs\n");
		return EX_USAGE_;
	}
	if (o->check_audit) {
		if (optind >= argc) {
			fprintf(stderr, "retentiond: --check-audit needs at least one FILE\n");
			usage(stderr);
			return EX_USAGE_;
		}
		return check_audit_main((const char *const *)argv + optind,
		                        (size_t)(argc - optind));
	}
	if (o->accept && (o->verify || o->check)) {
		fprintf(stderr, "retentiond: --accept-audit-truncation goes with starting the "
		                "daemon, not with --verify-audit or --check-config\n");
		return EX_USAGE_;
	}
	if (o->verify) {
		if (optind >= argc) {
			fprintf(stderr, "retentiond: --verify-audit needs at least one FILE\n");
			usage(stderr);
			return EX_USAGE_;
		}
		return verify_audit_main((const char *const *)argv + optind,
		                         (size_t)(argc - optind), o->head);
	}
	if (o->head) {
		fprintf(stderr, "retentiond: --head goes with --verify-audit\n");
		return EX_USAGE_;
	}
	if (optind < argc) {
		fprintf(stderr, "retentiond: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return EX_USAGE_;
	}
	if (o->check)
		return check_config_main(D.config_path);
	return -1;
}

/* 1. Configuration and rules: any error stops us. 0 or -EINVAL (nothing is left). */
static int load_config(void)
{
	struct rtn_diags diags;
	rtn_diags_init(&diags);
	int r = check_load(D.config_path, &D.cfg, &D.rules, &diags);
	rtn_diags_print(&diags, stderr);
	rtn_diags_fini(&diags);
	/* The zone of the calendar arithmetic (the engine's) and of the times written. */
	struct rtn_zone *zone = r < 0 ? NULL : rtn_zone_open(D.cfg.timezone);
	if (r == 0 && !zone) {
		rtn_err("time zone %s: not in the tz database", D.cfg.timezone);
		r = -1;
	}
	if (r < 0) {
		rtn_err("invalid configuration; not starting");
		rtn_ruleset_free(&D.rules);
		rtn_config_free(&D.cfg);
		return -EINVAL;
	}
	rtn_time_set_format_zone(zone);
	D.zone = zone;
	if (!D.cfg.timezone_from)
		rtn_notice("%s names no timezone, and neither TZ nor /etc/localtime names a zone "
		           "of the tz database: the zone is UTC",
		           D.config_path);
	else if (strcmp(D.cfg.timezone_from, "configuration") != 0)
		rtn_info("%s names no timezone: the zone is %s, from %s", D.config_path,
		         D.cfg.timezone, D.cfg.timezone_from);
	enum rtn_log_level lvl;
	if (rtn_log_parse_level(D.cfg.log_level, &lvl) == 0)
		rtn_log_set_level(lvl);
	D.admin_gid = group_id(D.cfg.admin_group, "admin-group");
	D.audit_gid = group_id(D.cfg.audit_group, "audit-group");
	D.started = daemon_now();
	D.rules_loaded = D.started;
	return 0;
}

static char key_before[RTN_PSEUDONYM_KEYID + 1]; /* the id of the key used before, if another */

/* 3. The subject key (made at the first start) and the inventory: opened, checked,
 * migrated, subjects an older version kept in clear replaced by their pseudonyms; jobs
 * sent before a stop or crash without a result go out again, same ids. 0 or -errno
 * (logged; D.inv set if it was opened). */
static int open_inventory(void)
{
	char err[512];
	char *db = rtn_xasprintf("%s/inventory.db", D.cfg.state_directory);
	char *key = rtn_xasprintf("%s/subject.key", D.cfg.state_directory);
	int r = make_state_directory(D.cfg.state_directory);
	if (r == 0 && (r = rtn_pseudo_open(key, true, &D.pseudo, err, sizeof(err))) < 0)
		rtn_err("subject key: %s", err);
	if (r == 0 && (r = rtn_inv_open(db, &D.inv, err, sizeof(err))) < 0)
		rtn_err("inventory: %s", err);
	free(db);
	free(key);
	if (r < 0)
		return r;
	rtn_engine_init(&D.engine, D.inv, &D.rules);
	D.engine.zone = D.zone;
	D.engine.pseudo = D.pseudo;
	int64_t n = 0;
	char *other = NULL;
	if (rtn_engine_pseudonymize_kept(&D.engine, &n, &other) < 0) {
		rtn_err("inventory: cannot replace the subjects kept in clear: %s",
		        rtn_engine_errmsg(&D.engine));
		return -EIO;
	}
	if (other) {
		/* A key lost and made anew (or another one put in place): deletions go on, but
		 * what the log wrote before is no longer found by subject with this key. */
		rtn_warn(
		    "subject key: %s/subject.key (id %s) is not the key this inventory was "
		    "used with (id %s): audit entries written before name their subjects under "
		    "the other key; restore it from the backup to find them by subject",
		    D.cfg.state_directory, rtn_pseudo_key_id(D.pseudo), other);
		snprintf(key_before, sizeof(key_before), "%s", other);
		free(other);
	}
	if (n > 0)
		rtn_notice(
		    "inventory: %lld subject%s kept in clear by an older version replaced by "
		    "pseudonyms",
		    (long long)n, n == 1 ? "" : "s");
	int unanswered = rtn_jobs_resend(&D.engine, NULL, NULL, 0, daemon_now());
	if (unanswered > 0)
		rtn_notice("%d job%s sent before the last stop had no result; they will be sent "
		           "again under the same ids",
		           unanswered, unanswered == 1 ? "" : "s");
	return 0;
}

/* 4. The audit log is open: the start, the rules in force, the schedule brought up to
 * date, and the erasure requests that ended. 0 or the exit status. */
static int start_audit(void)
{
	D.engine.journal = audit_journal();
	json_t *start =
	    json_pack("{s:s, s:s, s:i, s:s, s:s}", "version", RTN_VERSION, "config", D.config_path,
	              "pid", (int)getpid(), "audit_head", auditlog_head_check(), "subject_key",
	              rtn_pseudo_key_id(D.pseudo));
	if (key_before[0])
		json_object_set_new(start, "subject_key_before", json_string(key_before));
	audit_event("daemon.start", "daemon", NULL, NULL, NULL, NULL, NULL, start);
	if (rtn_guard_rules_loaded(&D.engine, &D.rules, D.cfg.timezone, "daemon") < 0) {
		rtn_err("audit: the log cannot take entries; not starting");
		return EX_CANTCREAT_;
	}
	if (reschedule_if_changed(&D) < 0)
		return EX_SOFTWARE_;
	/* Requests that the rescheduling ended (a keep rule now retains their last record), or
	 * left open by an inventory of schema version 1, close now. */
	erasures_settle(&D.engine, daemon_now());
	return 0;
}

static void signals_init(void)
{
	uv_signal_t *sigs[] = {&sig_term, &sig_int, &sig_hup, &sig_usr1};
	int nums[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
	for (size_t i = 0; i < 4; i++) {
		uv_signal_init(D.loop, sigs[i]);
		uv_signal_start(sigs[i], on_signal, nums[i]);
	}
}

static void signals_fini(void)
{
	uv_signal_t *sigs[] = {&sig_usr1, &sig_hup, &sig_int, &sig_term};
	for (size_t i = 0; i < 4; i++)
		uv_close((uv_handle_t *)sigs[i], NULL);
}

static const struct cmd_calls calls = {kick,   dispatch_status, control_status, scheduler_wakeups,
                                       reload, dispatch_scan,   metrics_text};

int main(int argc, char **argv)
{
	struct options o = {0};
	D.config_path = DEFAULT_CONFIG;
	rtn_log_set_ident("retentiond");
	/* One pool thread: it decodes large requests and frees their trees while the loop
	 * works, and one is all the loop can keep busy. Each pool thread would keep its own
	 * malloc arena of freed trees (four threads: RSS 100+ MiB during a large import
	 * instead of 60). An administrator's UV_THREADPOOL_SIZE is respected. */
	setenv("UV_THREADPOOL_SIZE", "1", 0);
	int status = parse_options(argc, argv, &o);
	if (status >= 0)
		return status;
	status = 0;

	/* 1. Configuration and rules: any error stops us with EX_CONFIG. */
	if (load_config() < 0)
		return EX_CONFIG_;
	signal(SIGPIPE, SIG_IGN);

	/* 2. The loop, and the timer of a reload whose rescheduling failed. */
	D.loop = uv_default_loop();
	uv_timer_init(D.loop, &reschedule_timer);

	/* 3. The inventory. */
	if (open_inventory() < 0) {
		status = EX_CANTCREAT_;
		goto out_inventory;
	}

	/* 4. The audit log: checked against the head recorded at the last stop (a log that
	 * lost entries is not written to: EX_DATAERR); every decision from here on is
	 * written. */
	int r = auditlog_init(&D, o.accept);
	if (r < 0) {
		status = r == -EILSEQ ? EX_DATAERR_ : EX_CANTCREAT_;
		goto out_audit;
	}
	if ((status = start_audit()) != 0)
		goto out_audit;

	/* 5. On the loop: signals, the control socket and its commands, the timers
	 * (deadlines, watchdog), the backends. */
	signals_init();
	commands_init(&calls);
	if (control_init(&D) < 0) {
		status = EX_CANTCREAT_;
		goto out_loop;
	}
	if (scheduler_init(&D, dispatch_kick) < 0 || residue_init(&D) < 0 ||
	    dispatch_init(&D) < 0 || watchdog_init(&D) < 0 ||
	    metrics_init(&D, dispatch_status) < 0) {
		status = EX_SOFTWARE_;
		goto out_loop;
	}
	rtn_info("retentiond %s started: %zu rule%s, zone %s, inventory %s/inventory.db",
	         RTN_VERSION, D.rules.n, D.rules.n == 1 ? "" : "s", D.cfg.timezone,
	         D.cfg.state_directory);
	sd_notify(0, "READY=1");

	uv_run(D.loop, UV_RUN_DEFAULT);
	audit_refusals_flush();
	audit_event("daemon.stop", "daemon", NULL, NULL, NULL, NULL, NULL,
	            json_pack("{s:I}", "inflight", (json_int_t)dispatch_inflight()));
	rtn_info("stopped");

	/* The mirror of start-up. */
out_loop:
	metrics_fini();
	watchdog_fini();
	dispatch_fini(); /* results that arrived are recorded and audited */
	residue_fini();
	scheduler_fini();
	control_fini();
	signals_fini();
	uv_timer_stop(&reschedule_timer); /* no rescheduling on the way out */
	uv_run(D.loop, UV_RUN_DEFAULT);   /* their close callbacks, with storage still open */
out_audit:
	auditlog_fini();
out_inventory:
	if (D.inv) {
		rtn_engine_fini(&D.engine);
		rtn_inv_close(D.inv);
	}
	rtn_pseudo_free(D.pseudo);
	uv_close((uv_handle_t *)&reschedule_timer, NULL);
	uv_walk(D.loop, close_walk, NULL);
	uv_run(D.loop, UV_RUN_DEFAULT);
	if (uv_loop_close(D.loop) != 0)
		rtn_warn("event loop closed with handles still open");
	rtn_time_set_format_zone(rtn_zone_utc());
	rtn_zone_free(D.zone);
	rtn_ruleset_free(&D.rules);
	rtn_config_free(&D.cfg);
	return status;
}
