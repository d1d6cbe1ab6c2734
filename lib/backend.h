/* backend.h - the library every backend is built on (protocol: bproto.h, SPEC §6)
 *
 * A backend fills one struct rtn_backend_def (its name, its actions, a handler for one
 * job and, if it has settings of its own, a callback for its config statements) and
 * returns rtn_backend_main() from main(). The library does the rest: the command line,
 * the config file (syntax.h, with the statements every backend shares), the unix socket
 * or systemd socket activation, the hello, decoding jobs, a pool of worker threads,
 * results, sd_notify, and a clean stop on SIGTERM or SIGINT.
 *
 * What a handler can rely on:
 *  - it runs on one of `workers` threads; different jobs run at once, so anything it
 *    shares must be read-only or locked (per-thread state comes from worker_init);
 *  - the job decoded cleanly and job->act is one of the actions of the hello;
 *  - a job id is never run twice at once: a job id that arrives again (on any
 *    connection) while it is queued or running joins it, and every connection that
 *    asked gets the one result;
 *  - a job id that arrives again after its result was sent (the daemon lost the result)
 *    is run again, so a handler must be idempotent: "already gone" is RTN_BST_GONE.
 * On SIGTERM the listener closes, no new job starts, running jobs finish and their
 * results are sent; jobs still queued get no result (the daemon sends them again).
 */
#ifndef RTN_BACKEND_H
#define RTN_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bproto.h"
#include "diag.h"
#include "exits.h"
#include "log.h"
#include "syntax.h"

/* A handler's failures; its successes are RTN_BST_DONE and RTN_BST_GONE. */
#define RTN_BACKEND_FAIL_RETRY (-1) /* failed now; the daemon should try again later */
#define RTN_BACKEND_FAIL_FINAL (-2) /* can never work (retry: false); the job is dead */
#define RTN_BACKEND_NOT_RUN    (-3) /* handle_batch did not get to it: it is queued again */

#define RTN_BACKEND_MAX_WORKERS 256
#define RTN_BACKEND_ERR_MAX     512  /* size of the err buffer a handler writes */
#define RTN_BACKEND_IDLE_MS     1000 /* quiet time before a worker's idle call */

/* Exit statuses of rtn_backend_main (exits.h: the table every program shares). */
#define RTN_BACKEND_EX_USAGE     RTN_EXIT_USAGE
#define RTN_BACKEND_EX_SOFTWARE  RTN_EXIT_SOFTWARE
#define RTN_BACKEND_EX_CANTCREAT RTN_EXIT_CANTCREAT
#define RTN_BACKEND_EX_CONFIG    RTN_EXIT_CONFIG

/* The settings every backend shares: the command line and the common config statements. */
struct rtn_backend_opts {
	char *config;         /* the config file, as given */
	char *socket;         /* absolute; NULL if none was configured (socket activation) */
	unsigned socket_mode; /* "socket-mode", default 0660 */
	unsigned workers;     /* "workers", default def->workers */
	unsigned actions;     /* RTN_BACT_*: def->actions; configured() may narrow them */
	enum rtn_log_level log_level;  /* "log-level", default info */
	int socket_line, socket_col;   /* where "socket" was set; 0 if not */
	int workers_line, workers_col; /* where "workers" was set; 0 if not */
	unsigned batch; /* most jobs one handle_batch call gets; 1, configured() may raise it */
	bool scan;      /* def->scan is offered: def->scan != NULL; configured() may clear it */
	bool check;     /* -n: only the configuration is checked, nothing is served */
};

/* A scan in progress, as a def->scan callback sees it. */
struct rtn_scan_out;

/* One job of a batch (handle_batch): the job, and what the handler made of it. */
struct rtn_backend_item {
	const struct rtn_bjob *job;
	int rc; /* RTN_BACKEND_NOT_RUN on the way in; out: as handle's return */
	char err[RTN_BACKEND_ERR_MAX];
};

struct rtn_backend_def {
	const char *name;     /* "retention-fs": the hello's name and the log's ident */
	const char *summary;  /* one or more lines for --help */
	const char *keywords; /* its own statements for diagnostics, "root, overwrite" */
	unsigned actions;     /* RTN_BACT_* it can do */
	unsigned workers;     /* default size of the worker pool (0: 1) */
	/* A config statement that is not a common one: apply it and return 0, -EINVAL
	 * after adding a diagnostic, or -ENOENT if the keyword is unknown. May be NULL. */
	int (*config)(void *ctx, const char *file, const struct rtn_stmt *s, struct rtn_diags *d);
	/* After the whole file was read without errors: check what must be there, narrow
	 * o->actions, clear o->scan. 0 or -EINVAL after adding a diagnostic. May be NULL. */
	int (*configured)(void *ctx, const char *file, struct rtn_backend_opts *o,
	                  struct rtn_diags *d);
	/* Per-worker state, made on the main thread before serving (worker i of n); NULL
	 * with a message in err stops the backend. May be NULL: handlers then get ctx. */
	void *(*worker_init)(void *ctx, unsigned i, char *err, size_t errlen);
	/* Free what worker_init made. May be NULL. */
	void (*worker_fini)(void *wctx);
	/* Do one job on a worker thread: RTN_BST_DONE, RTN_BST_GONE, or
	 * RTN_BACKEND_FAIL_RETRY / RTN_BACKEND_FAIL_FINAL with a message in err. */
	int (*handle)(void *wctx, const struct rtn_bjob *job, char *err, size_t errlen);
	/* Or do up to o->batch jobs at once on a worker thread (used instead of handle when
	 * set): the worker takes the queue's first jobs (at most o->batch, and no more than
	 * its share of the queue among the workers), the handler sets each item's rc and err,
	 * and the results are sent when it returns. An item left RTN_BACKEND_NOT_RUN goes
	 * back to the front of the queue; at least one must get a result. */
	void (*handle_batch)(void *wctx, struct rtn_backend_item *items, size_t n);
	/* On a worker's thread, once no job has come for idle_ms after the jobs it ran:
	 * tidy up after a batch (retention-sqlite checkpoints its WAL). May be NULL. */
	void (*idle)(void *wctx);
	unsigned idle_ms; /* 0: RTN_BACKEND_IDLE_MS */
	/* List every record the backend holds (protocol 2; the hello says "scan":true when
	 * this is set and o->scan was left true), on a thread of its own while jobs go on: each
	 * record goes to rtn_scan_emit(). Return 0 when everything was listed (what could not be
	 * read was counted with rtn_scan_skip and the scan is still complete), or -1 with a message
	 * in err when it could not list everything (the scan is then incomplete, and the daemon
	 * marks nothing as having left). One scan at a time per connection. May be NULL. */
	int (*scan)(void *ctx, struct rtn_scan_out *out, char *err, size_t errlen);
};

/* Give one record (a JSON object as in an import: id, category, subject, locator, events
 * as integer Unix seconds or RFC 3339, attributes; the reference is taken) to the scan.
 * Pages are cut and sent by the library; this blocks while the daemon is `window` pages
 * behind. 0, or -ECANCELED once the scan was cancelled, the connection closed or the
 * backend is stopping: the callback should then return at once (what it returns is
 * ignored). */
int rtn_scan_emit(struct rtn_scan_out *out, json_t *record);
/* The same for a record already written as JSON text: one compact object, valid UTF-8
 * (the caller vouches for it; text is copied). For a scan that writes its records faster
 * than jansson builds and prints them. */
int rtn_scan_emit_text(struct rtn_scan_out *out, const char *text, size_t len);
/* Count something the scan could not read (what: a path or key for the log, why: the
 * reason; logged at warning for the first few, then only counted). */
void rtn_scan_skip(struct rtn_scan_out *out, const char *what, const char *why);
/* Count a record emitted with an event time in the future. */
void rtn_scan_future(struct rtn_scan_out *out);

/* The whole life of a backend, from argv to the exit status main() returns:
 * 0, or RTN_BACKEND_EX_USAGE / _CONFIG / _CANTCREAT / _SOFTWARE. */
int rtn_backend_main(const struct rtn_backend_def *def, void *ctx, int argc, char **argv);
/* Read config file path into o (set to the defaults first; o->config is set to path);
 * 0, or -EINVAL with every problem in d. Free o with rtn_backend_opts_fini. */
int rtn_backend_load_config(const struct rtn_backend_def *def, void *ctx, const char *path,
                            struct rtn_backend_opts *o, struct rtn_diags *d);
/* Free what o owns. */
void rtn_backend_opts_fini(struct rtn_backend_opts *o);
/* Serve on o->socket (or the socket systemd passed) until SIGTERM/SIGINT. 0, or -errno
 * (-EADDRINUSE, -EEXIST... when the socket cannot be made; logged). */
int rtn_backend_serve(const struct rtn_backend_def *def, void *ctx,
                      const struct rtn_backend_opts *o);

/* The listening socket: the one systemd passed (LISTEN_FDS), else a new one at path made
 * with mode, after removing a stale socket there (a symbolic link, anything not a socket,
 * or a socket that answers is refused). The fd, or -errno (logged); *ino is the new
 * socket's inode, 0 under socket activation. */
int rtn_backend_listen(const char *path, unsigned mode, ino_t *ino);
/* Remove the socket at path if it is still the one rtn_backend_listen made (inode ino). */
void rtn_backend_unlisten(const char *path, ino_t ino);

/* A path from a config statement made absolute against the config file's directory,
 * with "//", "/./" and "/x/../" collapsed. Caller frees. */
char *rtn_backend_path(const char *config_file, const char *p);
/* A "category NAME..." statement of the block of table: each name checked and added to
 * *cats (*n of them); a name already there, or that owner(ctx, name) says another table
 * has, is an error naming that table. 0 or -EINVAL. */
int rtn_backend_categories(const char *file, const struct rtn_stmt *s, const char *table,
                           char ***cats, size_t *n,
                           const char *(*owner)(void *ctx, const char *category), void *ctx,
                           struct rtn_diags *d);
/* The string member key of the job's locator object, or NULL (also when it holds a NUL
 * byte or the locator is not an object). Borrowed from job. */
const char *rtn_backend_locator_string(const struct rtn_bjob *job, const char *key);

#endif
