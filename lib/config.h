/* config.h - retentiond.conf */
#ifndef RTN_CONFIG_H
#define RTN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "rtime.h"

struct rtn_backend_conf {
	char *name;
	char *socket;          /* absolute (resolved against the config's directory) */
	unsigned max_inflight; /* default 64 */
	int64_t timeout_ms;    /* default 30 s */
	int64_t retry_min_ms;  /* default 1 minute */
	int64_t retry_max_ms;  /* default 6 hours */
	unsigned max_attempts; /* default 20 */
	int64_t scan_every_ms; /* "scan every SPAN"; 0: "scan off", the default */
	int line, col;
};

struct rtn_config {
	char *path; /* the config file */
	char *state_directory;
	char *rules_directory;
	char *audit_log;
	char *control_socket;
	unsigned control_socket_mode;     /* default 0666 */
	char *timezone;                   /* default: TZ, the host's zone, else "UTC" */
	const char *timezone_from;        /* "configuration", "TZ", "/etc/localtime"; NULL: UTC */
	char *admin_group;                /* NULL: none */
	char *audit_group;                /* NULL: none */
	struct rtn_span erasure_deadline; /* default 30 days */
	int fiscal_year_start;            /* first month of the accounting year, 1-12; default 1 */
	long guard;                       /* default 1000 */
	char *log_level;                  /* default "info" */

	/* The control socket's limits */
	unsigned control_max_clients;        /* in all; 0 (default): from RLIMIT_NOFILE */
	unsigned control_stranger_clients;   /* per uid of a peer in no group; default 4 */
	int64_t control_idle_timeout_ms;     /* default 30 s */
	int64_t control_refusal_interval_ms; /* default 1 minute */

	struct rtn_backend_conf *backends;
	size_t nbackends;

	/* Metrics (daemon/metrics.c) */
	char *metrics_file;           /* "metrics-file PATH": written every 15 s; NULL: none */
	char *metrics_listen_host;    /* "metrics-listen ADDR:PORT": the address (no brackets) */
	unsigned metrics_listen_port; /* 0: no metrics-listen */
	int metrics_listen_public;    /* "metrics-listen-public yes": any address; default no */
};

/* Fill c with the built-in defaults (SPEC paths under /var, /etc, /run). */
void rtn_config_defaults(struct rtn_config *c);
/* The same with the host's files below root ("" is the host itself; for tests). */
void rtn_config_defaults_at(struct rtn_config *c, const char *root);
/* The zone when the configuration names none, into name (len bytes): TZ from the
 * environment when it names a zone of the tz database (":NAME", "NAME", or a path to a
 * zone file below a zoneinfo directory), else the zone root/etc/localtime is a symbolic
 * link to (its target's part after "zoneinfo/"). Returns where it came from, "TZ" or
 * "/etc/localtime", or NULL when neither names a zone (name untouched). */
const char *rtn_config_host_zone(const char *root, char *name, size_t len);
/* Read path into c (which starts from the defaults); relative paths are resolved
 * against the config file's directory. 0, or -EINVAL with problems in d. */
int rtn_config_load(const char *path, struct rtn_config *c, struct rtn_diags *d);
/* Parse text as if read from path; same contract as rtn_config_load. */
int rtn_config_parse(const char *path, const char *text, size_t len, struct rtn_config *c,
                     struct rtn_diags *d);
/* The backend called name, or NULL. */
const struct rtn_backend_conf *rtn_config_backend(const struct rtn_config *c, const char *name);
/* The names of the configured backends, in config order, NULL-terminated (nbackends of
 * them). The array is the caller's to free (the names stay c's). */
const char **rtn_config_backend_names(const struct rtn_config *c);
/* Free everything c owns. */
void rtn_config_free(struct rtn_config *c);

#endif
