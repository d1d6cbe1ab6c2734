/* backend_main.c - a backend's command line and config file (the statements all share) */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "util.h"
#include "values.h"

#define COMMON_KEYWORDS "socket, socket-mode, workers, log-level"

char *rtn_backend_path(const char *config_file, const char *p)
{
	char *abs;
	if (p[0] == '/') {
		abs = rtn_xstrdup(p);
	} else {
		char *dir = rtn_xstrdup(config_file);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		else
			strcpy(dir, ".");
		if (dir[0] == '/' || (slash == dir)) {
			abs = rtn_xasprintf("%s/%s", slash == dir ? "" : dir, p);
		} else {
			char *cwd = getcwd(NULL, 0);
			abs = rtn_xasprintf("%s/%s/%s", cwd ? cwd : "", dir, p);
			free(cwd);
		}
		free(dir);
	}
	rtn_path_normalise(abs);
	return abs;
}

int rtn_backend_categories(const char *file, const struct rtn_stmt *s, const char *table,
                           char ***cats, size_t *n,
                           const char *(*owner)(void *ctx, const char *category), void *ctx,
                           struct rtn_diags *d)
{
	int bad = 0;
	for (size_t j = 0; j < s->nargs; j++) {
		const struct rtn_arg *a = &s->args[j];
		const char *other = NULL;
		bool mine = false;
		for (size_t x = 0; x < *n; x++)
			mine |= strcmp((*cats)[x], a->text) == 0;
		if (rtn_val_name(file, a, "category", d) < 0) {
			bad = 1;
		} else if (mine || (other = owner(ctx, a->text))) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
			             "category \"%s\" already maps to table %s", a->text,
			             other ? other : table);
			bad = 1;
		} else {
			*cats = rtn_xreallocarray(*cats, *n + 1, sizeof(char *));
			(*cats)[(*n)++] = rtn_xstrdup(a->text);
		}
	}
	return bad ? -EINVAL : 0;
}

const char *rtn_backend_locator_string(const struct rtn_bjob *job, const char *key)
{
	json_t *v = json_object_get(job->locator, key);
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

void rtn_backend_opts_fini(struct rtn_backend_opts *o)
{
	free(o->config);
	free(o->socket);
	memset(o, 0, sizeof(*o));
}

/* One of the common statements: 1 if it was one (0 if not), -EINVAL on a problem. */
static int common_stmt(const char *file, const struct rtn_stmt *s, struct rtn_backend_opts *o,
                       struct rtn_diags *d)
{
	const char *k = s->keyword;
	long v;
	if (strcmp(k, "socket") && strcmp(k, "socket-mode") && strcmp(k, "workers") &&
	    strcmp(k, "log-level"))
		return 0;
	if (rtn_val_noblock(file, s, d) < 0 || rtn_val_nargs(file, s, 1, 1, d) < 0)
		return -EINVAL;
	const struct rtn_arg *a = &s->args[0];
	if (strcmp(k, "socket") == 0) {
		if (o->socket_line) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
			             "\"socket\" is given twice; first at %d:%d", o->socket_line,
			             o->socket_col);
			return -EINVAL;
		}
		if (!a->text[0]) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
			             "\"socket\" needs a path");
			return -EINVAL;
		}
		o->socket = rtn_backend_path(file, a->text);
		o->socket_line = s->line;
		o->socket_col = s->col;
	} else if (strcmp(k, "socket-mode") == 0) {
		if (rtn_val_mode(file, a, &o->socket_mode, d) < 0)
			return -EINVAL;
	} else if (strcmp(k, "workers") == 0) {
		if (rtn_val_int(file, a, 1, RTN_BACKEND_MAX_WORKERS, &v, d) < 0)
			return -EINVAL;
		o->workers = (unsigned)v;
		o->workers_line = s->line;
		o->workers_col = s->col;
	} else if (rtn_log_parse_level(a->text, &o->log_level) < 0) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
		             "unknown log level \"%s\"; expected error, warning, notice, info or "
		             "debug",
		             a->text);
		return -EINVAL;
	}
	return 1;
}

static int load_config(const struct rtn_backend_def *def, void *ctx, const char *path, bool check,
                       struct rtn_backend_opts *o, struct rtn_diags *d)
{
	memset(o, 0, sizeof(*o));
	o->check = check;
	o->batch = 1;
	o->config = rtn_xstrdup(path);
	o->socket_mode = 0660;
	o->workers = def->workers ? def->workers : 1;
	o->actions = def->actions;
	o->scan = def->scan != NULL;
	o->log_level = RTN_LOG_INFO;
	struct rtn_syntax syn;
	int bad = rtn_syntax_parse_file(path, &syn, d) < 0;
	for (size_t i = 0; i < syn.nstmts; i++) {
		const struct rtn_stmt *s = &syn.stmts[i];
		int r = common_stmt(path, s, o, d);
		if (r == 0)
			r = def->config ? def->config(ctx, path, s, d) : -ENOENT;
		if (r == -ENOENT)
			rtn_diag_add(d, RTN_SEV_ERROR, path, s->line, s->col,
			             "unknown statement \"%s\"; expected %s%s%s", s->keyword,
			             COMMON_KEYWORDS, def->keywords ? ", " : "",
			             def->keywords ? def->keywords : "");
		bad |= r < 0;
	}
	rtn_syntax_free(&syn);
	if (!bad && def->configured)
		bad = def->configured(ctx, path, o, d) < 0;
	if (!o->batch)
		o->batch = 1;
	return bad ? -EINVAL : 0;
}

int rtn_backend_load_config(const struct rtn_backend_def *def, void *ctx, const char *path,
                            struct rtn_backend_opts *o, struct rtn_diags *d)
{
	return load_config(def, ctx, path, false, o, d);
}

static void usage(const struct rtn_backend_def *def, const char *config, FILE *f)
{
	fprintf(f,
	        "usage: %s [--config FILE] [--socket PATH] [--check-config]\n"
	        "       %s --help | --version\n"
	        "\n"
	        "%s\n"
	        "Speaks the retentiond backend protocol (retention-backend(7)) on a unix socket.\n"
	        "Runs in the foreground; logs go to stderr; SIGTERM finishes running jobs and "
	        "exits.\n"
	        "\n"
	        "  -c, --config FILE   configuration file (default %s)\n"
	        "  -s, --socket PATH   listen on PATH instead of the configured socket\n"
	        "  -n, --check-config  check the configuration, print each problem as\n"
	        "                      FILE:LINE:COL: message, exit 0 or 78\n"
	        "  -h, --help          show this help\n"
	        "  -V, --version       show the version\n",
	        def->name, def->name, def->summary ? def->summary : "", config);
}

int rtn_backend_main(const struct rtn_backend_def *def, void *ctx, int argc, char **argv)
{
	static const struct option lopts[] = {
	    {"config", required_argument, NULL, 'c'}, {"socket", required_argument, NULL, 's'},
	    {"check-config", no_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
	};
	char *defconf = rtn_xasprintf("/etc/retentiond/%s.conf", def->name);
	const char *config = defconf, *sock = NULL;
	int check = 0, c, status = 0;
	rtn_log_set_ident(def->name);
	while ((c = getopt_long(argc, argv, "c:s:nhV", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'h':
			usage(def, defconf, stdout);
			goto out;
		case 'V':
			printf("%s %s\n", def->name, RTN_VERSION);
			goto out;
		default:
			usage(def, defconf, stderr);
			status = RTN_BACKEND_EX_USAGE;
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n", def->name, argv[optind]);
		usage(def, defconf, stderr);
		status = RTN_BACKEND_EX_USAGE;
		goto out;
	}

	struct rtn_backend_opts o;
	struct rtn_diags d;
	rtn_diags_init(&d);
	int r = load_config(def, ctx, config, check, &o, &d);
	if (sock) {
		free(o.socket);
		o.socket = rtn_backend_path("./", sock);
	}
	if (r == 0 && !check && !o.socket && !getenv("LISTEN_FDS")) {
		rtn_diag_add(&d, RTN_SEV_ERROR, config, 0, 0,
		             "no \"socket PATH\" (and neither --socket nor socket activation)");
		r = -EINVAL;
	}
	rtn_diags_print(&d, stderr);
	rtn_diags_fini(&d);
	if (r < 0) {
		if (!check)
			rtn_err("invalid configuration; not starting");
		status = RTN_BACKEND_EX_CONFIG;
	} else if (!check) {
		rtn_log_set_level(o.log_level);
		r = rtn_backend_serve(def, ctx, &o);
		status = r == 0      ? 0
		         : r == -EIO ? RTN_BACKEND_EX_SOFTWARE
		                     : RTN_BACKEND_EX_CANTCREAT;
	}
	rtn_backend_opts_fini(&o);
out:
	free(defconf);
	return status;
}
