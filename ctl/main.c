/* main.c - retentionctl: options, the table of commands, one request and its reply */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "exits.h"
#include "import.h"
#include "print.h"
#include "report.h"
#include "show.h"
#include "util.h"
#include "values.h"

#define DEFAULT_SOCKET   "/run/retentiond/control.sock"
#define EXIT_ERROR       RTN_EXIT_ERROR
#define EXIT_USAGE       RTN_EXIT_USAGE
#define EXIT_UNAVAILABLE RTN_EXIT_UNAVAILABLE
#define EXIT_NOPERM      RTN_EXIT_NOPERM /* the daemon refused the peer */
#define DONE             (-1)            /* parse: help was printed, exit 0 */
#define MAX_POS          8

enum arg_type {
	A_STR,    /* a string */
	A_INT,    /* a non-negative integer */
	A_TIME,   /* a time string for the daemon, or integer Unix seconds */
	A_FORMAT, /* report --format: table, csv, json or html; kept here */
	A_OUTPUT, /* report --output FILE; kept here */
	A_FLAG,   /* an option without a value: true */
	A_LOCAL,  /* a positional kept here (a file name) */
};

struct arg {
	const char *name; /* option name without "--", or a positional's placeholder */
	const char *key;  /* member of args */
	enum arg_type type;
	int how; /* 0, ARG_OPTIONAL (a positional that may be left out), ARG_REQUIRED (an option) */
};

enum { ARG_OPTIONAL = 1, ARG_REQUIRED = 2 };

struct ctx {
	json_t *args;      /* owned; sent as the request's args */
	const char *proto; /* the command sent */
	bool json;
	const char *socket;
	struct ctl_show_opts show;
	const char *pos[MAX_POS]; /* positionals in order, after the known ones: rest */
	int npos, nrest;
	char **rest;
	FILE *input; /* import */
	const char *input_name;
};

struct cmd;
typedef int (*parse_fn)(const struct cmd *c, struct ctx *cx);

enum {
	F_RAW = 1,        /* print the result as JSON always */
	F_REST = 2,       /* takes any number of positionals after the known ones */
	F_LOCAL = 4,      /* not one request: parse does the work (import) */
	F_VALID = 8,      /* a result with "valid": false exits 1, with --json too */
	F_RESULT_OK = 16, /* likewise a result with "ok": false */
};

struct cmd {
	const char *name, *proto, *synopsis, *help;
	struct arg pos[3], opts[8];
	parse_fn parse; /* checks after the common parse; may be NULL */
	ctl_show_fn show;
	int flags;
};

static int parse_put(const struct cmd *c, struct ctx *cx);
static int parse_set(const struct cmd *c, struct ctx *cx);
static int parse_hold(const struct cmd *c, struct ctx *cx);
static int parse_check(const struct cmd *c, struct ctx *cx);
static int parse_report(const struct cmd *c, struct ctx *cx);
static int parse_import(const struct cmd *c, struct ctx *cx);
static int parse_call(const struct cmd *c, struct ctx *cx);
static int parse_hold_list(const struct cmd *c, struct ctx *cx);
static int parse_format(const struct cmd *c, struct ctx *cx);

/* --json anywhere on the command line (before "--"): errors are JSON on stdout too. */
static bool json_errors;

#define SELECTORS                                                                                  \
	{"id", "id", A_STR, 0}, {"subject", "subject", A_STR, 0},                                  \
	{                                                                                          \
		"category", "category", A_STR, 0                                                   \
	}

/* metrics: the exposition text as it is. */
static int show_metrics(const json_t *r, const struct ctl_show_opts *o)
{
	(void)o;
	const char *text = json_string_value(json_object_get(r, "text"));
	if (!text)
		return EXIT_ERROR;
	fwrite(text, 1, json_string_length(json_object_get(r, "text")), stdout);
	return fflush(stdout) == 0 ? 0 : EXIT_ERROR;
}

static const struct cmd cmds[] = {
    {"status", "status", "", "the daemon's state: records, jobs, backends, rules, audit",
     .show = ctl_show_status},
    {"record get", "record.get", "ID", "a record, its state and schedule",
     .pos = {{"ID", "id", A_STR, 0}}, .show = ctl_show_record},
    {"record put", "record.put", "FILE|-", "insert or update a record or {\"records\": [...]}",
     .pos = {{"FILE", NULL, A_LOCAL, 0}}, .parse = parse_put, .show = ctl_show_put},
    {"record event", "record.event", "ID EVENT TIME", "set the time of one of a record's events",
     .pos = {{"ID", "id", A_STR, 0}, {"EVENT", "event", A_STR, 0}, {"TIME", "at", A_TIME, 0}},
     .show = ctl_show_record},
    {"record set", "record.set", "ID NAME=VALUE...",
     "set attributes (true/false, numbers, null removes, else text)",
     .pos = {{"ID", "id", A_STR, 0}}, .parse = parse_set, .show = ctl_show_record, .flags = F_REST},
    {"record forget", "record.forget", "ID", "remove a record that was never acted on",
     .pos = {{"ID", "id", A_STR, 0}}, .show = ctl_show_forget},
    {"explain", "explain", "ID", "why a record is scheduled as it is: the decision, every rule",
     .pos = {{"ID", "id", A_STR, 0}}, .show = ctl_show_explain},
    {"plan", "plan", "--until TIME [--category C] [--limit N] [--format table|csv|json]",
     "the actions that will be due by then, without doing anything; what is held or has no "
     "deadline is counted",
     .opts = {{"until", "until", A_TIME, ARG_REQUIRED},
              {"category", "category", A_STR, 0},
              {"limit", "limit", A_INT, 0},
              {"format", NULL, A_FORMAT, 0}},
     .parse = parse_format, .show = ctl_show_plan},
    {"subject show", "subject.show", "SUBJECT", "all records of a data subject",
     .pos = {{"SUBJECT", "subject", A_STR, 0}}, .show = ctl_show_subject},
    {"erase", "erase", "SUBJECT REASON", "an erasure request for every record of a subject",
     .pos = {{"SUBJECT", "subject", A_STR, 0}, {"REASON", "reason", A_STR, 0}},
     .show = ctl_show_erase},
    {"hold place", "hold.place", "{--id ID | --subject SUBJECT | --category CATEGORY} HOLD REASON",
     "stop records from being acted on: HOLD is a name (lower-case letters, digits, '_', '.', "
     "'-'), REASON one argument (quote it)",
     .pos = {{"HOLD", "hold", A_STR, 0}, {"REASON", "reason", A_STR, 0}}, .opts = {SELECTORS},
     .parse = parse_hold, .show = ctl_show_generic},
    {"hold release", "hold.release",
     "{--id ID | --subject SUBJECT | --category CATEGORY} HOLD [REASON]", "release a hold",
     .pos = {{"HOLD", "hold", A_STR, 0}, {"REASON", "reason", A_STR, ARG_OPTIONAL}},
     .opts = {SELECTORS}, .parse = parse_hold, .show = ctl_show_generic},
    {"hold list", "hold.list", "[--id ID | --subject SUBJECT | --category CATEGORY] [--hold HOLD]",
     "the holds in force: what each covers, its name, who placed it, why and since when",
     .opts = {SELECTORS, {"hold", "hold", A_STR, 0}}, .parse = parse_hold_list,
     .show = ctl_show_holds},
    {"rules list", "rules.list", "", "the loaded rules with file, line and hash",
     .show = ctl_show_rules},
    {"rules check", "rules.check", "[FILE|-]", "problems in the loaded rules, or in FILE",
     .pos = {{"FILE", NULL, A_LOCAL, ARG_OPTIONAL}}, .parse = parse_check, .show = ctl_show_check,
     .flags = F_VALID},
    {"rules reload", "rules.reload", "", "reload the rule files (the old rules stay on error)",
     .show = ctl_show_reload},
    {"rules confirm", "rules.confirm", "", "the same as guard confirm", .show = ctl_show_generic},
    {"guard confirm", "guard.confirm", "",
     "release the actions paused by the mass-deletion guard, whatever paused them",
     .show = ctl_show_generic},
    {"scan", "scan", "BACKEND [--wait]",
     "ask a backend to list what it holds now, and reconcile the inventory with it",
     .pos = {{"BACKEND", "backend", A_STR, 0}}, .opts = {{"wait", "wait", A_FLAG, 0}},
     .show = ctl_show_scan},
    {"jobs list", "jobs.list",
     "[--state sent|retry|done|dead|cancelled] [--limit N] [--format table|csv|json]",
     "jobs sent to backends",
     .opts = {{"state", "state", A_STR, 0},
              {"limit", "limit", A_INT, 0},
              {"format", NULL, A_FORMAT, 0}},
     .parse = parse_format, .show = ctl_show_jobs},
    {"jobs retry", "jobs.retry", "JOB|dead", "requeue a job, or every dead job",
     .pos = {{"JOB", "job", A_STR, 0}}, .show = ctl_show_generic},
    {"review list", "review.list", "[--limit N]", "actions awaiting a human decision",
     .opts = {{"limit", "limit", A_INT, 0}}, .show = ctl_show_review},
    {"review approve", "review.approve", "ID REASON", "let an action awaiting review go ahead",
     .pos = {{"ID", "id", A_STR, 0}, {"REASON", "reason", A_STR, 0}}, .show = ctl_show_generic},
    {"review reject", "review.reject", "ID REASON", "refuse an action awaiting review",
     .pos = {{"ID", "id", A_STR, 0}, {"REASON", "reason", A_STR, 0}}, .show = ctl_show_generic},
    {"audit query", "audit.query",
     "[--since T] [--until T] [--record ID] [--subject S] [--type T] [--limit N] "
     "[--format table|csv|json]",
     "audit log entries",
     .opts = {{"since", "since", A_TIME, 0},
              {"until", "until", A_TIME, 0},
              {"record", "record", A_STR, 0},
              {"subject", "subject", A_STR, 0},
              {"type", "type", A_STR, 0},
              {"limit", "limit", A_INT, 0},
              {"format", NULL, A_FORMAT, 0}},
     .parse = parse_format, .show = ctl_show_audit},
    {"audit verify", "audit.verify", "", "recompute the audit log's hash chain",
     .show = ctl_show_verify, .flags = F_VALID},
    {"audit check", "audit.check", "[--since T] [--until T]",
     "prove from the audit log: nothing early, nothing lost, nothing missed",
     .opts = {{"since", "since", A_TIME, 0}, {"until", "until", A_TIME, 0}},
     .show = ctl_show_audit_check, .flags = F_RESULT_OK},
    {"audit rotate", "audit.rotate", "",
     "start a new audit log file that continues the chain (as SIGUSR1 does)",
     .show = ctl_show_generic},
    {"report", "report",
     "--since T --until T [--category C] [--records] [--format table|csv|json|html] "
     "[--output FILE]",
     "proof of deletion: what was deleted, anonymised, not found, retained or failed",
     .opts = {{"since", "since", A_TIME, ARG_REQUIRED},
              {"until", "until", A_TIME, ARG_REQUIRED},
              {"category", "category", A_STR, 0},
              {"records", "records", A_FLAG, 0},
              {"format", NULL, A_FORMAT, 0},
              {"output", NULL, A_OUTPUT, 0}},
     .parse = parse_report, .show = ctl_show_report},
    {"import", "record.put", "[--dry-run [--until TIME]] FILE|-",
     "stream JSON lines or CSV records into the inventory; --dry-run stores nothing and "
     "shows what would be due by TIME",
     .pos = {{"FILE", NULL, A_LOCAL, 0}},
     .opts = {{"dry-run", "dry_run", A_FLAG, 0}, {"until", "until", A_TIME, 0}},
     .parse = parse_import, .flags = F_LOCAL},
    {"call", NULL, "CMD [JSON-ARGS|-]", "send any command, print the raw result",
     .pos = {{"CMD", NULL, A_LOCAL, 0}, {"JSON-ARGS", NULL, A_LOCAL, ARG_OPTIONAL}},
     .parse = parse_call, .flags = F_RAW},
    {"metrics", "metrics", "", "the daemon's figures in the Prometheus text format",
     .show = show_metrics},
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void short_usage(FILE *f)
{
	fprintf(f, "usage: retentionctl [-s SOCKET] [--json] COMMAND [ARG...]\n"
	           "       retentionctl --help | --version\n");
}

static void cmd_usage(FILE *f, const struct cmd *c)
{
	fprintf(f, "usage: retentionctl [-s SOCKET] [--json] %s%s%s\n", c->name,
	        *c->synopsis ? " " : "", c->synopsis);
}

static void help(void)
{
	short_usage(stdout);
	printf("\nSteers retentiond over its control socket.\n\n"
	       "options:\n"
	       "  -s, --socket PATH  the control socket (default: $RETENTIONCTL_SOCKET, else\n"
	       "                     " DEFAULT_SOCKET ")\n"
	       "  -j, --json         print the reply's result, and any error, as JSON\n"
	       "  -h, --help         show this help; COMMAND --help shows that command's usage\n"
	       "  -V, --version      show the version\n"
	       "      --commands     list the commands and their options (for shell completion)\n"
	       "\ncommands:\n");
	size_t w = 0;
	for (size_t i = 0; i < NCMDS; i++) {
		size_t n = strlen(cmds[i].name) + 1 + strlen(cmds[i].synopsis);
		if (n > w && n <= 40)
			w = n;
	}
	for (size_t i = 0; i < NCMDS; i++) {
		char *s = rtn_xasprintf("%s %s", cmds[i].name, cmds[i].synopsis);
		if (strlen(s) > w)
			printf("  %s\n  %-*s  %s\n", s, (int)w, "", cmds[i].help);
		else
			printf("  %-*s  %s\n", (int)w, s, cmds[i].help);
		free(s);
	}
	printf(
	    "\nTIME is RFC 3339, integer Unix seconds, a local date YYYY-MM-DD[THH:MM[:SS]], or\n"
	    "a span from now (30d, 12h, 1y6mo, \"2 weeks\"): ahead for --until, back for --since\n"
	    "and an event's TIME; +SPAN is always ahead, -SPAN always back.\n"
	    "Exit status: 0 success, 1 error reply, 2 usage error, 69 daemon unreachable,\n"
	    "77 refused by the daemon.\n");
}

/* An error of retentionctl's own (code: "usage", "unavailable", "input", ...):
 * "retentionctl: message" on stderr and, with --json, {"error": {"code", "message"}} on
 * stdout. Returns status. */
static int __attribute__((format(printf, 3, 0)))
vfail(int status, const char *code, const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "retentionctl: %s\n", msg);
	if (json_errors)
		ctl_print_error_json(stdout, code, msg, NULL);
	return status;
}

static int __attribute__((format(printf, 3, 4)))
fail(int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(status, code, fmt, ap);
	va_end(ap);
	return status;
}

/* --commands: each command on a line, its words, a tab, and its options (for the shell's
 * completion, which asks this rather than keeping a list of its own). */
static void list_commands(void)
{
	for (size_t i = 0; i < NCMDS; i++) {
		printf("%s\t--help --json --socket", cmds[i].name);
		for (size_t k = 0;
		     k < sizeof(cmds[i].opts) / sizeof(cmds[i].opts[0]) && cmds[i].opts[k].name;
		     k++)
			printf(" --%s", cmds[i].opts[k].name);
		putchar('\n');
	}
}

/* Print "retentionctl: message" and the command's usage; returns EXIT_USAGE. */
static int __attribute__((format(printf, 2, 3)))
usage_error(const struct cmd *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(EXIT_USAGE, "usage", fmt, ap);
	va_end(ap);
	if (c)
		cmd_usage(stderr, c);
	else
		short_usage(stderr);
	return EXIT_USAGE;
}

/* A span at s (after any sign) resolved against now: ahead when future, else back. 1 if
 * s is a span (*out set), 0 if it is not one (a time for the daemon), or -1 with a usage
 * error printed. */
static int span_time(const struct cmd *c, const char *what, const char *s, bool future,
                     rtn_time_t *out)
{
	if (*s == '+' || *s == '-') {
		future = *s == '+';
		s++;
	} else {
		/* "2026-01-01" and 1700000000 are times; "30d" and "2 weeks" spans */
		size_t n = strspn(s, "0123456789");
		if (!n || !s[n] || !strchr(" abcdefghijklmnopqrstuvwxyz", s[n]))
			return 0;
	}
	struct rtn_span sp;
	char err[256];
	if (rtn_span_parse(s, &sp, err, sizeof(err)) < 0) {
		usage_error(c, "%s: %s", what, err);
		return -1;
	}
	if (!future) {
		sp.years = -sp.years, sp.months = -sp.months, sp.weeks = -sp.weeks;
		sp.days = -sp.days, sp.hours = -sp.hours, sp.minutes = -sp.minutes;
		sp.seconds = -sp.seconds;
	}
	if (rtn_time_add(rtn_zone_utc(), (rtn_time_t)time(NULL), &sp, out) < 0) {
		usage_error(c, "%s: \"%s\" is too far from now", what, s);
		return -1;
	}
	return 1;
}

/* The JSON value of a command-line argument of type t, or NULL with a usage error printed. */
static json_t *arg_value(const struct cmd *c, const char *what, enum arg_type t, const char *s)
{
	if (t == A_TIME) {
		/* a span: ahead for an --until, back for a --since or an event's time */
		size_t wl = strlen(what);
		rtn_time_t at;
		int k = span_time(c, what, s, wl >= 5 && !strcmp(what + wl - 5, "until"), &at);
		if (k < 0)
			return NULL;
		if (k > 0)
			return json_integer(at);
	}
	if (t == A_INT || (t == A_TIME && *s && strspn(s, "0123456789") == strlen(s))) {
		char *end;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (*s && *s != '-' && !*end && !errno)
			return json_integer(v);
		if (t == A_INT) {
			usage_error(c, "%s: \"%s\" is not a non-negative integer", what, s);
			return NULL;
		}
	}
	json_t *v = json_string(s);
	if (!v)
		usage_error(c, "%s: not valid UTF-8", what);
	return v;
}

/* Options, positionals into cx->args and cx->pos. 0, EXIT_USAGE or DONE. */
static int parse_common(const struct cmd *c, struct ctx *cx, int argc, char **argv)
{
	char **rest = argv; /* positionals are gathered in place: never ahead of i */
	int nrest = 0;
	bool dashdash = false;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (dashdash || a[0] != '-' || !a[1]) {
			rest[nrest++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			dashdash = true;
			continue;
		}
		if (!strcmp(a, "--json") || !strcmp(a, "-j")) {
			cx->json = true;
			continue;
		}
		if (!strcmp(a, "-s") || !strcmp(a, "--socket")) {
			if (++i == argc)
				return usage_error(c, "%s needs a socket path", a);
			cx->socket = argv[i];
			continue;
		}
		if (!strncmp(a, "--socket=", 9)) {
			cx->socket = a + 9;
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			cmd_usage(stdout, c);
			printf("%s\n", c->help);
			return DONE;
		}
		if (strncmp(a, "--", 2))
			return usage_error(c, "unknown option \"%s\"", a);
		const char *eq = strchr(a, '=');
		size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		const struct arg *o = NULL;
		for (size_t k = 0; k < sizeof(c->opts) / sizeof(c->opts[0]) && c->opts[k].name; k++)
			if (strlen(c->opts[k].name) == n && !strncmp(c->opts[k].name, a + 2, n))
				o = &c->opts[k];
		if (!o)
			return usage_error(c, "unknown option \"%.*s\"", (int)n + 2, a);
		if (o->type == A_FLAG) {
			if (eq)
				return usage_error(c, "option --%s takes no value", o->name);
			json_object_set_new(cx->args, o->key, json_true());
			continue;
		}
		const char *val = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
		if (!val)
			return usage_error(c, "option --%s needs a value", o->name);
		if (o->type == A_FORMAT) {
			cx->show.format = val;
			continue;
		}
		if (o->type == A_OUTPUT) {
			cx->show.output = val;
			continue;
		}
		if (json_object_get(cx->args, o->key))
			return usage_error(c, "option --%s given twice", o->name);
		char what[64];
		snprintf(what, sizeof(what), "--%s", o->name);
		json_t *v = arg_value(c, what, o->type, val);
		if (!v)
			return EXIT_USAGE;
		json_object_set_new(cx->args, o->key, v);
	}
	for (size_t k = 0; k < sizeof(c->opts) / sizeof(c->opts[0]) && c->opts[k].name; k++)
		if (c->opts[k].how == ARG_REQUIRED && !json_object_get(cx->args, c->opts[k].key))
			return usage_error(c, "missing --%s", c->opts[k].name);
	int k = 0, n = 0;
	for (; k < 3 && c->pos[k].name; k++) {
		const struct arg *p = &c->pos[k];
		if (n >= nrest) {
			if (p->how == ARG_OPTIONAL)
				break;
			return usage_error(c, "missing %s", p->name);
		}
		const char *s = rest[n++];
		cx->pos[cx->npos++] = s;
		if (p->type == A_LOCAL)
			continue;
		json_t *v = arg_value(c, p->name, p->type, s);
		if (!v)
			return EXIT_USAGE;
		json_object_set_new(cx->args, p->key, v);
	}
	if (n < nrest && !(c->flags & F_REST))
		return usage_error(c, "unexpected argument \"%s\"", rest[n]);
	cx->nrest = nrest - n;
	cx->rest = rest + n;
	return 0;
}

/* Read all of path ("-": stdin), at most RTN_LINE_MAX bytes. 0 or -errno (-EFBIG). */
static int read_input(const char *path, char **buf, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f)
		return -errno;
	size_t cap = 65536, n = 0;
	char *b = rtn_xmalloc(cap + 1);
	for (;;) {
		if (n == cap) {
			if (cap > RTN_LINE_MAX)
				break;
			cap *= 2;
			b = rtn_xreallocarray(b, cap + 1, 1);
		}
		size_t r = fread(b + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	int e = ferror(f) ? -(errno ? errno : EIO) : n > RTN_LINE_MAX ? -EFBIG : 0;
	if (f != stdin)
		fclose(f);
	if (e) {
		free(b);
		return e;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

/* The text of a file argument or an error message (with hint if too large); EXIT_ERROR on
 * failure. */
static int read_arg_file(const char *path, const char *hint, char **buf, size_t *len)
{
	int r = read_input(path, buf, len);
	if (r == -EFBIG)
		fail(EXIT_ERROR, "too_large", "%s: larger than a request may be (%u bytes)%s", path,
		     RTN_LINE_MAX, hint);
	else if (r < 0)
		fail(EXIT_ERROR, "input", "%s: %s", path, strerror(-r));
	return r < 0 ? EXIT_ERROR : 0;
}

/* JSON text of path (named for messages) into *out. 0 or EXIT_ERROR. */
static int load_json(const char *path, const char *text, size_t len, json_t **out)
{
	json_error_t e;
	*out = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
	if (!*out) {
		fail(EXIT_ERROR, "input", "%s:%d:%d: invalid JSON: %s", path, e.line, e.column,
		     e.text);
		return EXIT_ERROR;
	}
	return 0;
}

static int parse_put(const struct cmd *c, struct ctx *cx)
{
	char *text = NULL;
	size_t len;
	json_t *rec;
	const char *name = strcmp(cx->pos[0], "-") ? cx->pos[0] : "<stdin>";
	(void)c;
	if (read_arg_file(cx->pos[0], "; 'retentionctl import' streams records in batches", &text,
	                  &len) ||
	    load_json(name, text, len, &rec)) {
		free(text);
		return EXIT_ERROR;
	}
	free(text);
	if (!json_is_object(rec)) {
		fail(EXIT_ERROR, "input", "%s: a record or {\"records\": [...]} is a JSON object",
		     name);
		json_decref(rec);
		return EXIT_ERROR;
	}
	json_decref(cx->args);
	cx->args = rec;
	return 0;
}

static int parse_set(const struct cmd *c, struct ctx *cx)
{
	if (!cx->nrest)
		return usage_error(c, "missing NAME=VALUE");
	json_t *attrs = json_object();
	json_object_set_new(cx->args, "attributes", attrs);
	for (int i = 0; i < cx->nrest; i++) {
		const char *a = cx->rest[i], *eq = strchr(a, '=');
		if (!eq || eq == a)
			return usage_error(c, "\"%s\" is not NAME=VALUE", a);
		char *name = rtn_xstrndup(a, (size_t)(eq - a));
		json_t *v = ctl_value_parse(eq + 1, strlen(eq + 1), true);
		if (!v || !rtn_valid_utf8(name, strlen(name))) {
			free(name);
			json_decref(v);
			return usage_error(c, "\"%s\": not valid UTF-8", a);
		}
		json_object_set_new(attrs, name, v);
		free(name);
	}
	return 0;
}

static int parse_hold(const struct cmd *c, struct ctx *cx)
{
	int n = !!json_object_get(cx->args, "id") + !!json_object_get(cx->args, "subject") +
	        !!json_object_get(cx->args, "category");
	if (n != 1)
		return usage_error(c, "name exactly one of --id, --subject, --category");
	return 0;
}

static int parse_hold_list(const struct cmd *c, struct ctx *cx)
{
	int n = !!json_object_get(cx->args, "id") + !!json_object_get(cx->args, "subject") +
	        !!json_object_get(cx->args, "category");
	if (n > 1)
		return usage_error(c, "name at most one of --id, --subject, --category");
	return 0;
}

/* --format of a list: table (the default), csv or json (the same as --json). */
static int parse_format(const struct cmd *c, struct ctx *cx)
{
	const char *fmt = cx->show.format;
	if (fmt && strcmp(fmt, "table") && strcmp(fmt, "csv") && strcmp(fmt, "json"))
		return usage_error(c, "--format: \"%s\" is not table, csv or json", fmt);
	if (fmt && !strcmp(fmt, "json"))
		cx->json = true;
	if (cx->json && fmt && !strcmp(fmt, "csv"))
		return usage_error(c, "--format csv and --json: choose one");
	return 0;
}

static int parse_check(const struct cmd *c, struct ctx *cx)
{
	char *text;
	size_t len;
	(void)c;
	if (!cx->npos)
		return 0;
	if (read_arg_file(cx->pos[0], "", &text, &len))
		return EXIT_ERROR;
	json_t *t = json_stringn(text, len);
	free(text);
	if (!t) {
		fail(EXIT_ERROR, "input", "%s: not valid UTF-8 text", cx->pos[0]);
		return EXIT_ERROR;
	}
	json_object_set_new(cx->args, "text", t);
	cx->show.file = strcmp(cx->pos[0], "-") ? cx->pos[0] : "<stdin>";
	return 0;
}

static int parse_report(const struct cmd *c, struct ctx *cx)
{
	const char *fmt = cx->show.format;
	if (fmt && strcmp(fmt, "table") && strcmp(fmt, "csv") && strcmp(fmt, "json") &&
	    strcmp(fmt, "html"))
		return usage_error(c, "--format: \"%s\" is not table, csv, json or html", fmt);
	if (cx->show.output && !*cx->show.output)
		return usage_error(c, "--output: the file name is empty");
	if (cx->json) {
		/* the report's printer writes JSON too, to --output if given */
		cx->show.format = "json";
		cx->json = false;
	}
	return 0;
}

static int parse_import(const struct cmd *c, struct ctx *cx)
{
	bool dry = json_is_true(json_object_get(cx->args, "dry_run"));
	if (!dry && json_object_get(cx->args, "until"))
		return usage_error(c, "--until is for --dry-run");
	if (dry && !json_object_get(cx->args, "until")) /* every action, however far */
		json_object_set_new(cx->args, "until", json_string("9999-12-31T23:59:59Z"));
	if (!strcmp(cx->pos[0], "-")) {
		cx->input = stdin;
		cx->input_name = "<stdin>";
		return 0;
	}
	cx->input = fopen(cx->pos[0], "r");
	cx->input_name = cx->pos[0];
	if (!cx->input) {
		fail(EXIT_ERROR, "input", "%s: %s", cx->pos[0], strerror(errno));
		return EXIT_ERROR;
	}
	return 0;
}

static int parse_call(const struct cmd *c, struct ctx *cx)
{
	cx->proto = cx->pos[0];
	if (!*cx->proto)
		return usage_error(c, "CMD is empty");
	if (cx->npos < 2)
		return 0;
	char *text = NULL;
	size_t len;
	json_t *a;
	const char *name = "JSON-ARGS";
	if (!strcmp(cx->pos[1], "-")) {
		name = "<stdin>";
		if (read_arg_file("-", "", &text, &len))
			return EXIT_ERROR;
	}
	int r = load_json(name, text ? text : cx->pos[1], text ? len : strlen(cx->pos[1]), &a);
	free(text);
	if (r)
		return r;
	if (!json_is_object(a) && !json_is_null(a)) {
		json_decref(a);
		return usage_error(c, "JSON-ARGS must be a JSON object");
	}
	json_decref(cx->args);
	cx->args = json_is_null(a) ? NULL : a;
	if (!cx->args)
		json_decref(a);
	return 0;
}

/* If name is a group of commands ("hold"), print the usage of each of them on f; whether
 * it is one. */
static bool group_usage(FILE *f, const char *name)
{
	bool any = false;
	size_t l0 = strlen(name);
	for (size_t i = 0; i < NCMDS; i++) {
		const char *sp = strchr(cmds[i].name, ' ');
		if (sp && (size_t)(sp - cmds[i].name) == l0 && !strncmp(cmds[i].name, name, l0)) {
			cmd_usage(f, &cmds[i]);
			any = true;
		}
	}
	return any;
}

/* The command named by argv[0..], its word count in *words; NULL with a usage error. */
static const struct cmd *find_cmd(int argc, char **argv, int *words)
{
	for (size_t i = 0; i < NCMDS; i++) {
		const char *name = cmds[i].name, *sp = strchr(name, ' ');
		size_t l0 = sp ? (size_t)(sp - name) : strlen(name);
		if (strlen(argv[0]) != l0 || strncmp(argv[0], name, l0))
			continue;
		if (!sp) {
			*words = 1;
			return &cmds[i];
		}
		if (argc > 1 && !strcmp(argv[1], sp + 1)) {
			*words = 2;
			return &cmds[i];
		}
	}
	/* a group such as "record": list what it has */
	char subs[256] = "";
	size_t l0 = strlen(argv[0]);
	for (size_t i = 0; i < NCMDS; i++) {
		const char *sp = strchr(cmds[i].name, ' ');
		if (sp && (size_t)(sp - cmds[i].name) == l0 && !strncmp(cmds[i].name, argv[0], l0))
			snprintf(subs + strlen(subs), sizeof(subs) - strlen(subs), "%s%s",
			         *subs ? ", " : "", sp + 1);
	}
	if (*subs && argc > 1)
		usage_error(NULL, "%s: unknown subcommand \"%s\" (try %s)", argv[0], argv[1], subs);
	else if (*subs)
		usage_error(NULL, "%s: missing subcommand (%s)", argv[0], subs);
	else
		usage_error(NULL, "unknown command \"%s\" (try retentionctl --help)", argv[0]);
	return NULL;
}

/* Send the request and print the reply; the exit status. */
static int run(const struct cmd *c, struct ctx *cx)
{
	struct ctl_client cl;
	if (ctl_client_open(&cl, cx->socket) < 0) {
		fail(EXIT_UNAVAILABLE, "unavailable", "%s", cl.err);
		ctl_client_close(&cl);
		return EXIT_UNAVAILABLE;
	}
	int status;
	if (c->flags & F_LOCAL) {
		status = ctl_import(&cl, cx->input, cx->input_name, cx->json,
		                    json_is_true(json_object_get(cx->args, "dry_run")),
		                    json_object_get(cx->args, "until"));
		ctl_client_close(&cl);
		return status;
	}
	struct rtn_reply rep;
	bool none = json_is_object(cx->args) && !json_object_size(cx->args);
	int r = ctl_client_call(&cl, cx->proto, none ? NULL : cx->args, &rep);
	if (r < 0) {
		status = r == -E2BIG ? fail(EXIT_ERROR, "too_large", "%s", cl.err)
		                     : fail(EXIT_UNAVAILABLE, "unavailable", "%s", cl.err);
	} else if (!rep.ok) {
		ctl_print_error(stderr, rep.code, rep.message, rep.details);
		if (json_errors)
			ctl_print_error_json(stdout, rep.code, rep.message, rep.details);
		status = !strcmp(rep.code, RTN_E_FORBIDDEN) ? EXIT_NOPERM : EXIT_ERROR;
	} else if (cx->json || (c->flags & F_RAW)) {
		ctl_print_json(stdout, rep.result ? rep.result : json_null());
		/* a result that reports a failure fails in scripts too */
		status =
		    ((c->flags & F_VALID) && json_is_false(json_object_get(rep.result, "valid"))) ||
		            ((c->flags & F_RESULT_OK) &&
		             json_is_false(json_object_get(rep.result, "ok")))
		        ? EXIT_ERROR
		        : 0;
	} else {
		cx->show.client = &cl;
		cx->show.args = cx->args;
		status = c->show(rep.result, &cx->show);
	}
	if (r == 0)
		rtn_reply_fini(&rep);
	ctl_client_close(&cl);
	return status;
}

int main(int argc, char **argv)
{
	struct ctx cx = {.args = json_object(), .socket = getenv("RETENTIONCTL_SOCKET")};
	int i = 1, status;

	signal(SIGPIPE, SIG_IGN);
	for (int k = 1; k < argc && strcmp(argv[k], "--"); k++)
		if (!strcmp(argv[k], "--json") || !strcmp(argv[k], "-j") ||
		    !strcmp(argv[k], "--format=json") ||
		    (!strcmp(argv[k], "--format") && k + 1 < argc && !strcmp(argv[k + 1], "json")))
			json_errors = true;
	if (!cx.socket || !*cx.socket)
		cx.socket = DEFAULT_SOCKET;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (!strcmp(a, "-s") || !strcmp(a, "--socket")) {
			if (++i == argc) {
				status = usage_error(NULL, "%s needs a socket path", a);
				goto out;
			}
			cx.socket = argv[i];
		} else if (!strncmp(a, "--socket=", 9)) {
			cx.socket = a + 9;
		} else if (!strncmp(a, "-s", 2)) {
			cx.socket = a + 2;
		} else if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			cx.json = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			help();
			status = 0;
			goto out;
		} else if (!strcmp(a, "--commands")) {
			list_commands();
			status = 0;
			goto out;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf("retentionctl %s\n", RTN_VERSION);
			status = 0;
			goto out;
		} else {
			status = usage_error(NULL, "unknown option \"%s\"", a);
			goto out;
		}
	}
	if (i == argc) {
		status = usage_error(NULL, "no command given");
		goto out;
	}
	if (!strcmp(argv[i], "help") && i + 2 == argc && group_usage(stdout, argv[i + 1])) {
		status = 0; /* help GROUP: the usage of each of its commands */
		goto out;
	}
	if (i + 1 < argc && (!strcmp(argv[i + 1], "--help") || !strcmp(argv[i + 1], "-h")) &&
	    group_usage(stdout, argv[i])) {
		status = 0; /* GROUP --help */
		goto out;
	}
	if (!strcmp(argv[i], "help")) {
		int words;
		const struct cmd *c =
		    i + 1 < argc ? find_cmd(argc - i - 1, argv + i + 1, &words) : NULL;
		if (c) {
			cmd_usage(stdout, c);
			printf("%s\n", c->help);
		} else if (i + 1 < argc) {
			status = EXIT_USAGE;
			goto out;
		} else {
			help();
		}
		status = 0;
		goto out;
	}
	int words;
	const struct cmd *c = find_cmd(argc - i, argv + i, &words);
	if (!c) {
		status = EXIT_USAGE;
		goto out;
	}
	i += words;
	cx.proto = c->proto;
	status = parse_common(c, &cx, argc - i, argv + i);
	if (!status && c->parse)
		status = c->parse(c, &cx);
	if (status == DONE) {
		status = 0;
		goto out;
	}
	if (status)
		goto out;
	ctl_color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	ctl_color_err = ctl_color && isatty(STDERR_FILENO);
	if (ctl_color) {
		const char *term = getenv("TERM");
		if (term && !strcmp(term, "dumb"))
			ctl_color = ctl_color_err = false;
	}
	status = run(c, &cx);
	if (cx.input && cx.input != stdin)
		fclose(cx.input);
out:
	json_decref(cx.args);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE)
			fprintf(stderr, "retentionctl: writing the output: %s\n", strerror(errno));
		if (!status)
			status = EXIT_ERROR;
	}
	return status;
}
