/* config.c - retentiond.conf */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "syntax.h"
#include "util.h"
#include "values.h"

/* Zone z of the tz database into name, its other names of UTC as UTC: the daemon's zone
 * by that name is the one without offsets to look up, and what an earlier default
 * recorded. False when the database lacks z or name is too short. */
static bool zone_name(const char *z, char *name, size_t len)
{
	static const char *const utc[] = {"Etc/UTC", "Etc/UCT",   "Etc/Universal", "Etc/Zulu",
	                                  "UCT",     "Universal", "Zulu"};
	if (!z || !*z || strlen(z) >= len || !rtn_time_zone_exists(z))
		return false;
	for (size_t i = 0; i < sizeof(utc) / sizeof(utc[0]); i++)
		if (strcmp(z, utc[i]) == 0)
			z = "UTC";
	snprintf(name, len, "%s", z);
	return true;
}

/* The zone name of a path to a zone file: what follows its last "zoneinfo/" component
 * ("/usr/share/zoneinfo/Europe/Oslo", "../usr/share/zoneinfo/Europe/Oslo"). */
static bool zone_of_path(const char *path, char *name, size_t len)
{
	const char *z = NULL;
	for (const char *p = strstr(path, "zoneinfo/"); p; p = strstr(p + 1, "zoneinfo/"))
		if (p == path || p[-1] == '/')
			z = p + strlen("zoneinfo/");
	return zone_name(z, name, len);
}

const char *rtn_config_host_zone(const char *root, char *name, size_t len)
{
	/* TZ first, as for every program that reads local time: ":NAME", "NAME" or a path
	 * to a zone file below a zoneinfo directory (as the daemon sets it for itself). */
	const char *tz = getenv("TZ");
	if (tz && *tz == ':')
		tz++;
	if (tz && (tz[0] == '/' ? zone_of_path(tz, name, len) : zone_name(tz, name, len)))
		return "TZ";
	/* The host's zone: the zone file ROOT/etc/localtime links to. */
	char path[PATH_MAX], target[PATH_MAX];
	snprintf(path, sizeof(path), "%s/etc/localtime", root ? root : "");
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return NULL; /* missing, or a copy of a zone file: its name is not known */
	target[n] = '\0';
	return zone_of_path(target, name, len) ? "/etc/localtime" : NULL;
}

void rtn_config_defaults_at(struct rtn_config *c, const char *root)
{
	memset(c, 0, sizeof(*c));
	c->state_directory = rtn_xstrdup("/var/lib/retentiond");
	c->rules_directory = rtn_xstrdup("/etc/retentiond/rules.d");
	c->audit_log = rtn_xstrdup("/var/log/retentiond/audit.log");
	c->control_socket = rtn_xstrdup("/run/retentiond/control.sock");
	c->control_socket_mode = 0666;
	c->control_stranger_clients = 4;
	c->control_idle_timeout_ms = 30000;
	c->control_refusal_interval_ms = 60000;
	/* TZ or the host's zone (rtn_config_host_zone), else the format zone (UTC at first). */
	char zone[256];
	c->timezone_from = rtn_config_host_zone(root, zone, sizeof(zone));
	c->timezone = rtn_xstrdup(c->timezone_from ? zone : rtn_zone_name(rtn_time_format_zone()));
	c->erasure_deadline.days = 30;
	c->fiscal_year_start = 1;
	c->guard = 1000;
	c->log_level = rtn_xstrdup("info");
}

void rtn_config_defaults(struct rtn_config *c)
{
	rtn_config_defaults_at(c, "");
}

void rtn_config_free(struct rtn_config *c)
{
	free(c->path);
	free(c->state_directory);
	free(c->rules_directory);
	free(c->audit_log);
	free(c->control_socket);
	free(c->timezone);
	free(c->admin_group);
	free(c->audit_group);
	free(c->log_level);
	free(c->metrics_file);
	free(c->metrics_listen_host);
	for (size_t i = 0; i < c->nbackends; i++) {
		free(c->backends[i].name);
		free(c->backends[i].socket);
	}
	free(c->backends);
	memset(c, 0, sizeof(*c));
}

const char **rtn_config_backend_names(const struct rtn_config *c)
{
	const char **names = rtn_xcalloc(c->nbackends + 1, sizeof(*names));
	for (size_t i = 0; i < c->nbackends; i++)
		names[i] = c->backends[i].name;
	return names;
}

const struct rtn_backend_conf *rtn_config_backend(const struct rtn_config *c, const char *name)
{
	for (size_t i = 0; i < c->nbackends; i++)
		if (strcmp(c->backends[i].name, name) == 0)
			return &c->backends[i];
	return NULL;
}

/* A path argument, made absolute against the config file's directory. */
static int set_path(const char *file, const char *base, const struct rtn_stmt *s, char **dst,
                    struct rtn_diags *d)
{
	if (rtn_val_nargs(file, s, 1, 1, d) < 0)
		return -EINVAL;
	const char *p = s->args[0].text;
	if (!*p) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, s->args[0].line, s->args[0].col,
		             "\"%s\" needs a path", s->keyword);
		return -EINVAL;
	}
	free(*dst);
	*dst = p[0] == '/' ? rtn_xstrdup(p) : rtn_xasprintf("%s/%s", base, p);
	if ((*dst)[0] == '/')
		rtn_path_normalise(*dst);
	return 0;
}

static int set_word(const char *file, const struct rtn_stmt *s, char **dst, struct rtn_diags *d)
{
	if (rtn_val_nargs(file, s, 1, 1, d) < 0)
		return -EINVAL;
	free(*dst);
	*dst = rtn_xstrdup(s->args[0].text);
	return 0;
}

static int parse_backend(const char *file, const char *base, const struct rtn_stmt *blk,
                         struct rtn_config *c, struct rtn_diags *d)
{
	if (!blk->block) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, blk->line, blk->col,
		             "\"backend\" needs a block: backend NAME { socket PATH ... }");
		return -EINVAL;
	}
	if (rtn_val_nargs(file, blk, 1, 1, d) < 0 ||
	    rtn_val_name(file, &blk->args[0], "backend name", d) < 0)
		return -EINVAL;
	const struct rtn_backend_conf *prev = rtn_config_backend(c, blk->args[0].text);
	if (prev) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, blk->line, blk->col,
		             "duplicate backend \"%s\"; first defined at %d:%d", prev->name,
		             prev->line, prev->col);
		return -EINVAL;
	}
	struct rtn_backend_conf b = {
	    .max_inflight = 64,
	    .timeout_ms = 30000,
	    .retry_min_ms = 60000,
	    .retry_max_ms = 6 * 3600000LL,
	    .max_attempts = 20,
	    .line = blk->line,
	    .col = blk->col,
	};
	int bad = 0;
	for (size_t i = 0; i < blk->nchildren; i++) {
		const struct rtn_stmt *s = &blk->children[i];
		const char *k = s->keyword;
		long v;
		if (rtn_val_noblock(file, s, d) < 0) {
			bad = 1;
		} else if (strcmp(k, "socket") == 0) {
			bad |= set_path(file, base, s, &b.socket, d) < 0;
		} else if (strcmp(k, "max-inflight") == 0) {
			if (rtn_val_nargs(file, s, 1, 1, d) < 0 ||
			    rtn_val_int(file, &s->args[0], 1, 100000, &v, d) < 0)
				bad = 1;
			else
				b.max_inflight = (unsigned)v;
		} else if (strcmp(k, "max-attempts") == 0) {
			if (rtn_val_nargs(file, s, 1, 1, d) < 0 ||
			    rtn_val_int(file, &s->args[0], 1, 1000000, &v, d) < 0)
				bad = 1;
			else
				b.max_attempts = (unsigned)v;
		} else if (strcmp(k, "timeout") == 0) {
			if (rtn_val_duration(file, s, s->args, s->nargs, &b.timeout_ms, d) < 0)
				bad = 1;
			else if (b.timeout_ms < 1000) {
				rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
				             "\"timeout\" must be at least 1 second");
				bad = 1;
			}
		} else if (strcmp(k, "scan") == 0) {
			if (s->nargs == 1 && !strcmp(s->args[0].text, "off")) {
				b.scan_every_ms = 0;
			} else if (s->nargs < 2 || strcmp(s->args[0].text, "every") != 0) {
				rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
				             "expected \"scan every SPAN\" (such as \"scan every 1 "
				             "hour\") or \"scan off\"");
				bad = 1;
			} else if (rtn_val_duration(file, s, s->args + 1, s->nargs - 1,
			                            &b.scan_every_ms, d) < 0) {
				bad = 1;
			} else if (b.scan_every_ms < 60000) {
				rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
				             "\"scan every\" must be at least 1 minute");
				bad = 1;
			}
		} else if (strcmp(k, "retry") == 0) {
			size_t dots = s->nargs;
			for (size_t j = 0; j < s->nargs; j++)
				if (strcmp(s->args[j].text, "..") == 0 && !s->args[j].quoted)
					dots = j;
			if (dots == s->nargs) {
				rtn_diag_add(
				    d, RTN_SEV_ERROR, file, s->line, s->col,
				    "expected \"retry MIN .. MAX\", such as \"retry 1 minute "
				    ".. 6 hours\"");
				bad = 1;
			} else if (rtn_val_duration(file, s, s->args, dots, &b.retry_min_ms, d) <
			               0 ||
			           rtn_val_duration(file, s, s->args + dots + 1,
			                            s->nargs - dots - 1, &b.retry_max_ms, d) < 0) {
				bad = 1;
			} else if (b.retry_min_ms < 1000 || b.retry_max_ms < b.retry_min_ms) {
				rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
				             "\"retry MIN .. MAX\" needs 1 second <= MIN <= MAX");
				bad = 1;
			}
		} else {
			rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
			             "unknown statement \"%s\" in backend \"%s\"; expected socket, "
			             "max-inflight, timeout, retry, max-attempts or scan",
			             k, blk->args[0].text);
			bad = 1;
		}
	}
	if (!b.socket && !bad) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, blk->line, blk->col,
		             "backend \"%s\" needs \"socket PATH\"", blk->args[0].text);
		bad = 1;
	}
	if (bad) {
		free(b.socket);
		return -EINVAL;
	}
	b.name = rtn_xstrdup(blk->args[0].text);
	c->backends = rtn_xreallocarray(c->backends, c->nbackends + 1, sizeof(*c->backends));
	c->backends[c->nbackends++] = b;
	return 0;
}

/* A whole number in min..max for statement s. */
static int set_uint(const char *file, const struct rtn_stmt *s, long min, long max, unsigned *dst,
                    struct rtn_diags *d)
{
	long v;
	if (rtn_val_nargs(file, s, 1, 1, d) < 0 ||
	    rtn_val_int(file, &s->args[0], min, max, &v, d) < 0)
		return -EINVAL;
	*dst = (unsigned)v;
	return 0;
}

/* A duration from 1 second to 1 day for statement s. */
static int set_interval(const char *file, const struct rtn_stmt *s, int64_t *dst,
                        struct rtn_diags *d)
{
	int64_t ms;
	if (rtn_val_duration(file, s, s->args, s->nargs, &ms, d) < 0)
		return -EINVAL;
	if (ms < 1000 || ms > 86400000) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, s->args[0].line, s->args[0].col,
		             "\"%s\" must be from 1 second to 1 day", s->keyword);
		return -EINVAL;
	}
	*dst = ms;
	return 0;
}

static int check_group(const char *file, const struct rtn_stmt *s, struct rtn_diags *d)
{
	const char *g = s->args[0].text;
	if (!getgrnam(g))
		rtn_diag_add(d, RTN_SEV_WARNING, file, s->args[0].line, s->args[0].col,
		             "group \"%s\" does not exist; nobody is admitted through \"%s\"", g,
		             s->keyword);
	return 0;
}

/* "metrics-listen ADDR:PORT": an IPv4 address or a bracketed IPv6 one, and a port. */
static int set_listen(const char *file, const struct rtn_stmt *s, struct rtn_config *c,
                      struct rtn_diags *d)
{
	if (rtn_val_nargs(file, s, 1, 1, d) < 0)
		return -EINVAL;
	const struct rtn_arg *a = &s->args[0];
	const char *t = a->text, *colon = strrchr(t, ':');
	char host[INET6_ADDRSTRLEN + 2] = "";
	unsigned char bin[sizeof(struct in6_addr)];
	char *end = NULL;
	long port = colon && colon[1] >= '0' && colon[1] <= '9' ? strtol(colon + 1, &end, 10) : 0;
	size_t hl = colon ? (size_t)(colon - t) : 0;
	bool v6 = hl >= 2 && t[0] == '[' && t[hl - 1] == ']';
	if (v6) {
		t++;
		hl -= 2;
	}
	if (hl && hl < sizeof(host)) {
		memcpy(host, t, hl);
		host[hl] = 0;
	}
	if (!colon || !*host || !end || end == colon + 1 || *end || port < 1 || port > 65535 ||
	    inet_pton(v6 ? AF_INET6 : AF_INET, host, bin) != 1) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
		             "expected ADDRESS:PORT, such as 127.0.0.1:9464 or [::1]:9464 (a "
		             "numeric address and a port from 1 to 65535), found \"%s\"",
		             a->text);
		return -EINVAL;
	}
	free(c->metrics_listen_host);
	c->metrics_listen_host = rtn_xstrdup(host);
	c->metrics_listen_port = (unsigned)port;
	return 0;
}

/* Whether the address (numeric, as set_listen checked) is a loopback one. */
static bool loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return true;
		/* ::ffff:127.x.x.x */
		return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
	}
	return false;
}

int rtn_config_parse(const char *path, const char *text, size_t len, struct rtn_config *c,
                     struct rtn_diags *d)
{
	const struct rtn_stmt *listen = NULL; /* metrics-listen, checked once all is read */
	struct rtn_syntax syn;
	int bad = rtn_syntax_parse(path, text, len, &syn, d) < 0;
	char *tmp = rtn_xstrdup(path);
	char *base = realpath(dirname(tmp), NULL); /* relative paths are the config's */
	if (!base) {
		free(tmp);
		tmp = rtn_xstrdup(path);
		base = rtn_xstrdup(dirname(tmp));
	}
	free(tmp);
	free(c->path);
	c->path = rtn_xstrdup(path);

	for (size_t i = 0; i < syn.nstmts; i++) {
		const struct rtn_stmt *s = &syn.stmts[i];
		const char *k = s->keyword;
		int r = 0;
		static const char *const known[] = {"state-directory",
		                                    "rules-directory",
		                                    "audit-log",
		                                    "control-socket",
		                                    "control-socket-mode",
		                                    "timezone",
		                                    "admin-group",
		                                    "audit-group",
		                                    "erasure-deadline",
		                                    "fiscal-year-start",
		                                    "guard",
		                                    "log-level",
		                                    "control-max-clients",
		                                    "control-stranger-clients",
		                                    "control-idle-timeout",
		                                    "control-refusal-interval",
		                                    "metrics-file",
		                                    "metrics-listen",
		                                    "metrics-listen-public",
		                                    NULL};
		size_t ki;
		for (ki = 0; known[ki] && strcmp(known[ki], k); ki++)
			;
		if (strcmp(k, "backend") == 0) {
			r = parse_backend(path, base, s, c, d);
		} else if (!known[ki]) {
			r = -EINVAL; /* reported below as an unknown statement */
		} else if (rtn_val_noblock(path, s, d) < 0) {
			r = -EINVAL;
		} else if (strcmp(k, "state-directory") == 0) {
			r = set_path(path, base, s, &c->state_directory, d);
		} else if (strcmp(k, "rules-directory") == 0) {
			r = set_path(path, base, s, &c->rules_directory, d);
		} else if (strcmp(k, "audit-log") == 0) {
			r = set_path(path, base, s, &c->audit_log, d);
		} else if (strcmp(k, "control-socket") == 0) {
			r = set_path(path, base, s, &c->control_socket, d);
		} else if (strcmp(k, "control-socket-mode") == 0) {
			r = rtn_val_nargs(path, s, 1, 1, d);
			if (r == 0)
				r = rtn_val_mode(path, &s->args[0], &c->control_socket_mode, d);
		} else if (strcmp(k, "control-max-clients") == 0) {
			r = set_uint(path, s, 1, 1000000, &c->control_max_clients, d);
		} else if (strcmp(k, "control-stranger-clients") == 0) {
			r = set_uint(path, s, 1, 1000000, &c->control_stranger_clients, d);
		} else if (strcmp(k, "control-idle-timeout") == 0) {
			r = set_interval(path, s, &c->control_idle_timeout_ms, d);
		} else if (strcmp(k, "control-refusal-interval") == 0) {
			r = set_interval(path, s, &c->control_refusal_interval_ms, d);
		} else if (strcmp(k, "timezone") == 0) {
			r = rtn_val_nargs(path, s, 1, 1, d);
			if (r == 0 && !rtn_time_zone_exists(s->args[0].text)) {
				rtn_diag_add(
				    d, RTN_SEV_ERROR, path, s->args[0].line, s->args[0].col,
				    "unknown time zone \"%s\"; expected a name from the tz "
				    "database, such as Europe/Oslo or UTC",
				    s->args[0].text);
				r = -EINVAL;
			} else if (r == 0) {
				r = set_word(path, s, &c->timezone, d);
				if (r == 0)
					c->timezone_from = "configuration";
			}
		} else if (strcmp(k, "admin-group") == 0 || strcmp(k, "audit-group") == 0) {
			r = set_word(path, s, k[1] == 'd' ? &c->admin_group : &c->audit_group, d);
			if (r == 0)
				r = rtn_val_name(path, &s->args[0], "group name", d);
			if (r == 0)
				check_group(path, s, d);
		} else if (strcmp(k, "erasure-deadline") == 0) {
			r = rtn_val_span(path, s, s->args, s->nargs, &c->erasure_deadline, d);
		} else if (strcmp(k, "fiscal-year-start") == 0) {
			r = rtn_val_nargs(path, s, 1, 1, d);
			int m = r == 0 ? rtn_month_parse(s->args[0].text) : 0;
			if (r == 0 && m < 0) {
				rtn_diag_add(d, RTN_SEV_ERROR, path, s->args[0].line,
				             s->args[0].col,
				             "expected a month: january to december, or 1 to 12, "
				             "found \"%s\"",
				             s->args[0].text);
				r = -EINVAL;
			} else if (r == 0) {
				c->fiscal_year_start = m;
			}
		} else if (strcmp(k, "guard") == 0) {
			r = rtn_val_nargs(path, s, 1, 1, d);
			if (r == 0 && strcmp(s->args[0].text, "off") == 0)
				c->guard = 0;
			else if (r == 0 &&
			         (s->args[0].quoted || rtn_val_int(path, &s->args[0], 1, 1000000000,
			                                           &c->guard, NULL) < 0)) {
				rtn_diag_add(
				    d, RTN_SEV_ERROR, path, s->args[0].line, s->args[0].col,
				    "expected \"off\" or a whole number of records from 1 to "
				    "1000000000, found \"%s\"",
				    s->args[0].text);
				r = -EINVAL;
			}
		} else if (strcmp(k, "log-level") == 0) {
			r = rtn_val_nargs(path, s, 1, 1, d);
			const char *lv = r == 0 ? s->args[0].text : "";
			if (r == 0 && strcmp(lv, "error") && strcmp(lv, "warning") &&
			    strcmp(lv, "notice") && strcmp(lv, "info") && strcmp(lv, "debug")) {
				rtn_diag_add(d, RTN_SEV_ERROR, path, s->args[0].line,
				             s->args[0].col,
				             "unknown log level \"%s\"; expected error, warning, "
				             "notice, info or debug",
				             lv);
				r = -EINVAL;
			} else if (r == 0) {
				r = set_word(path, s, &c->log_level, d);
			}
		} else if (strcmp(k, "metrics-file") == 0) {
			r = set_path(path, base, s, &c->metrics_file, d);
		} else if (strcmp(k, "metrics-listen") == 0) {
			r = set_listen(path, s, c, d);
			if (r == 0)
				listen = s;
		} else if (strcmp(k, "metrics-listen-public") == 0) {
			r = rtn_val_nargs(path, s, 1, 1, d);
			const char *v = r == 0 ? s->args[0].text : "";
			if (r == 0 && strcmp(v, "yes") && strcmp(v, "no")) {
				rtn_diag_add(d, RTN_SEV_ERROR, path, s->args[0].line,
				             s->args[0].col, "expected yes or no, found \"%s\"", v);
				r = -EINVAL;
			} else if (r == 0) {
				c->metrics_listen_public = strcmp(v, "yes") == 0;
			}
		}
		if (!known[ki] && strcmp(k, "backend") != 0) {
			rtn_diag_add(
			    d, RTN_SEV_ERROR, path, s->line, s->col,
			    "unknown statement \"%s\"; expected state-directory, "
			    "rules-directory, audit-log, control-socket, "
			    "control-socket-mode, control-max-clients, "
			    "control-stranger-clients, control-idle-timeout, "
			    "control-refusal-interval, timezone, admin-group, audit-group, "
			    "erasure-deadline, fiscal-year-start, guard, log-level, "
			    "metrics-file, metrics-listen, metrics-listen-public or backend",
			    k);
			r = -EINVAL;
		}
		if (r < 0)
			bad = 1;
	}
	/* Metrics tell how many records are due, held and failed: beyond this host only when
	 * the config says so. */
	if (listen && !c->metrics_listen_public && !loopback(c->metrics_listen_host)) {
		rtn_diag_add(d, RTN_SEV_ERROR, path, listen->args[0].line, listen->args[0].col,
		             "metrics-listen %s is not a loopback address; metrics are served to "
		             "this host only unless \"metrics-listen-public yes\" is set",
		             listen->args[0].text);
		bad = 1;
	}
	free(base);
	rtn_syntax_free(&syn);
	return bad ? -EINVAL : 0;
}

int rtn_config_load(const char *path, struct rtn_config *c, struct rtn_diags *d)
{
	char *buf;
	size_t len;
	int r = rtn_read_file(path, RTN_SYNTAX_MAX_FILE, &buf, &len);
	if (r < 0) {
		rtn_diag_add(d, RTN_SEV_ERROR, path, 0, 0, "cannot read configuration: %s",
		             r == -EINVAL ? "not a regular file" : strerror(-r));
		return -EINVAL;
	}
	r = rtn_config_parse(path, buf, len, c, d);
	free(buf);
	return r;
}
