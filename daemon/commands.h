/* commands.h - the control protocol's commands */
#ifndef RTN_COMMANDS_H
#define RTN_COMMANDS_H

#include <stddef.h>

#include "daemon.h"
#include "peer.h"
#include "proto.h"

/* What the commands need of the other modules, wired by main.c. */
struct cmd_calls {
	void (*kick)(void);             /* records changed: the timer and the dispatcher look */
	json_t *(*backends)(void);      /* status: the backend connections (new reference) */
	json_t *(*control)(void);       /* status: the control socket (new reference) */
	unsigned long (*wakeups)(void); /* status: the deadline timer's wake-ups */
	/* rules.reload (main.c's reload of the rule files; see there). */
	int (*reload)(const char *actor, json_t **problems, json_t **result);
	/* scan: ask a backend for a scan now (dispatch_scan). */
	int (*scan)(const char *backend, const char *by, char id[32], char *err, size_t errlen);
	/* metrics: the exposition text (metrics_text; caller frees), NULL when unreadable. */
	char *(*metrics)(size_t *len);
};

/* The engine's put_hook: the entries of a put (record.put, record.unchanged) by actor ctx
 * (a string), written to the audit log. */
struct rtn_record;
struct rtn_jw;
void commands_put_hook(void *ctx, const char *type, const struct rtn_record *r,
                       struct rtn_jw *detail, int err);

/* Take the calls (before the first request is answered). */
void commands_init(const struct cmd_calls *calls);
/* Diagnostics as the protocol's problem objects. New reference. */
json_t *commands_problems_json(const struct rtn_diags *diags);

/* Work a request allows before its turn, on any thread: it needs only the request (for
 * record.put, validating and encoding the records, which it takes out of the request's
 * tree). NULL when there is none. */
struct cmd_prep;
struct cmd_prep *commands_prepare(const struct rtn_request *req);
/* Free a preparation (any thread). */
void commands_prep_free(struct cmd_prep *p);
/* Answer one request, decoded by rtn_request_decode() (decode_err: the message of a
 * failed decode, answered bad_request), with what commands_prepare() returned for it.
 * Returns the reply line (caller frees); req and prep stay the caller's to free. */
char *commands_answer(struct daemon *d, const struct peer *peer, struct rtn_request *req,
                      const char *decode_err, struct cmd_prep *prep, size_t *rlen);

/* The command table's name for cmd (a static string), or NULL when there is no such
 * command. */
const char *commands_lookup(const char *cmd);
/* The forbidden reply to a request of peer (id echoed; cmd: the command's table name, or
 * NULL when unknown or malformed), the refusal audited (folded per uid and interval).
 * Caller frees. */
char *commands_refuse(const struct peer *peer, json_t *id, const char *cmd, size_t *rlen);

#endif
