/* bproto.h - the backend protocol's wire format, shared by retentiond and every backend
 *
 * Unix stream socket; the daemon connects to the backend. One JSON object per line.
 *   daemon  -> {"type":"hello","protocol":1}
 *   backend -> {"type":"hello","protocol":1,"name":"retention-fs","actions":["delete"]}
 *   daemon  -> {"type":"job","job":"J-...","action":"delete","attempt":1,
 *               "record":{"id":..,"category":..,"subject":..,"locator":{..}},
 *               "rule":"..","due":"2026-03-01T09:30:00+01:00"}
 *   backend -> {"type":"result","job":"J-...","status":"done"|"gone"|"failed",
 *               "error":"...","retry":true|false}
 * Results may come in any order; a job id seen again is the same job (idempotent).
 * Lines are at most RTN_BPROTO_LINE_MAX bytes.
 *
 * History (bump RTN_BACKEND_PROTOCOL on any incompatible change and say what changed):
 *   1  first version.
 */
#ifndef RTN_BPROTO_H
#define RTN_BPROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define RTN_BACKEND_PROTOCOL 1
#define RTN_BPROTO_LINE_MAX  (256u << 10) /* a job carries one record: 256 KiB is plenty */

enum rtn_bact { RTN_BACT_DELETE = 1, RTN_BACT_ANONYMIZE = 2 };
enum rtn_bstatus { RTN_BST_DONE, RTN_BST_GONE, RTN_BST_FAILED };

struct rtn_bhello {
	json_t *root; /* owned */
	int protocol;
	const char *name; /* NULL in the daemon's hello */
	unsigned actions; /* RTN_BACT_* bits; 0 in the daemon's hello */
};

struct rtn_bjob {
	json_t *root; /* owned */
	const char *job, *action, *rule, *due;
	enum rtn_bact act;
	int attempt;
	const char *id, *category, *subject; /* subject may be NULL */
	json_t *locator;                     /* borrowed; may be NULL */
};

struct rtn_bresult {
	json_t *root; /* owned */
	const char *job;
	enum rtn_bstatus status;
	const char *error; /* failed only; may be NULL */
	bool retry;        /* failed only; default true */
};

/* Encode the daemon's hello (name NULL, actions 0) or a backend's. Caller frees. */
char *rtn_bproto_hello(const char *name, unsigned actions, size_t *len);
/* Decode a hello from either side; a backend's must name itself and its actions.
 * 0 or -EINVAL with err. Free with rtn_bproto_hello_fini. */
int rtn_bproto_decode_hello(const char *line, size_t len, bool from_backend, struct rtn_bhello *out,
                            char *err, size_t errlen);
/* Free a decoded hello. */
void rtn_bproto_hello_fini(struct rtn_bhello *h);

/* Encode a job line. subject and locator may be NULL; locator is JSON text, written as it
 * is (the inventory stores what jansson wrote). Caller frees; NULL if a string is not
 * UTF-8. */
char *rtn_bproto_job(const char *job, const char *action, int attempt, const char *id,
                     const char *category, const char *subject, const char *locator,
                     const char *rule, const char *due, size_t *len);
/* Decode a job. 0 or -EINVAL with err (err names the job id when it could be read, so
 * the backend can answer "failed"). Free with rtn_bproto_job_fini. */
int rtn_bproto_decode_job(const char *line, size_t len, struct rtn_bjob *out, char *err,
                          size_t errlen);
/* Free a decoded job. */
void rtn_bproto_job_fini(struct rtn_bjob *j);

/* Encode a result; error is used (and retry) only for RTN_BST_FAILED. Caller frees. */
char *rtn_bproto_result(const char *job, enum rtn_bstatus st, const char *error, bool retry,
                        size_t *len);
/* Decode a result. 0 or -EINVAL with err. Free with rtn_bproto_result_fini. */
int rtn_bproto_decode_result(const char *line, size_t len, struct rtn_bresult *out, char *err,
                             size_t errlen);
/* Free a decoded result. */
void rtn_bproto_result_fini(struct rtn_bresult *r);
/* "done", "gone" or "failed". */
const char *rtn_bstatus_name(enum rtn_bstatus s);

#endif
