/* commands_int.h - shared by the files of the command table; nothing else includes it */
#ifndef RTN_COMMANDS_INT_H
#define RTN_COMMANDS_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "daemon.h"
#include "peer.h"
#include "proto.h"

struct cmd_error {
	const char *code;
	char message[512];
	json_t *details;
};

struct cmd_ctx {
	struct daemon *d;
	const struct peer *peer;
	json_t *args;
	struct cmd_prep *prep; /* what commands_prepare() did ahead, or NULL */
	json_t *result;
	struct cmd_error err;
	bool refused; /* the peer's credentials refused it: audited as a refused request once
	               * its transaction is rolled back */
};

typedef int (*cmd_fn)(struct cmd_ctx *c);

struct cmd_entry {
	const char *name;
	bool read_only;
	cmd_fn fn;
};

/* Records changed: ended erasure requests close before the commit, the timer and the
 * dispatcher look again after it. */
void cmd_changed(void);
/* Set the reply's error; returns -1 for "return cmd_fail(...)". */
int cmd_fail(struct cmd_ctx *c, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A string argument (required or not); NULL with the error set when it is bad. */
const char *cmd_arg_string(struct cmd_ctx *c, const char *name, bool required);
/* Refuse arguments the command does not know. */
int cmd_check_args(struct cmd_ctx *c, const char *const *allowed);
/* A protocol error for an engine's return code. */
int cmd_engine_fail(struct cmd_ctx *c, int r, const char *msg);
/* A time argument (RFC 3339, a local date or time, or Unix seconds). */
int cmd_arg_time(struct cmd_ctx *c, const char *name, bool required, rtn_time_t *out);
/* The "limit" argument: def when absent, 1..max. */
int cmd_arg_limit(struct cmd_ctx *c, size_t def, size_t max, size_t *out);
/* The peer as an audit actor: "uid:N". */
const char *cmd_peer_actor(const struct cmd_ctx *c, char buf[32]);

#define ARGS(...)                                                                                  \
	do {                                                                                       \
		static const char *const allowed_[] = {__VA_ARGS__, NULL};                         \
		if (cmd_check_args(c, allowed_) < 0)                                               \
			return -1;                                                                 \
	} while (0)
#define NOARGS()                                                                                   \
	do {                                                                                       \
		static const char *const allowed_[] = {NULL};                                      \
		if (cmd_check_args(c, allowed_) < 0)                                               \
			return -1;                                                                 \
	} while (0)

/* The handlers of commands_ops.c. */
int cmd_hold_place(struct cmd_ctx *c);
int cmd_hold_release(struct cmd_ctx *c);
int cmd_hold_list(struct cmd_ctx *c);
int cmd_review_list(struct cmd_ctx *c);
int cmd_review_approve(struct cmd_ctx *c);
int cmd_review_reject(struct cmd_ctx *c);
int cmd_erase(struct cmd_ctx *c);
int cmd_jobs_list(struct cmd_ctx *c);
int cmd_jobs_retry(struct cmd_ctx *c);
int cmd_rules_confirm(struct cmd_ctx *c);
int cmd_guard_confirm(struct cmd_ctx *c);
/* The handlers of commands_audit.c. */
/* The files an audit command read, as the reply's "files": an array of their paths. */
json_t *cmd_paths_json(char **paths, size_t n);
int cmd_audit_query(struct cmd_ctx *c);
int cmd_audit_verify(struct cmd_ctx *c);
int cmd_audit_check(struct cmd_ctx *c);
int cmd_audit_rotate(struct cmd_ctx *c);
int cmd_report(struct cmd_ctx *c);

#endif
