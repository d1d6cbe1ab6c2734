/* bproto.h - the backend protocol's wire format, shared by retentiond and every backend
 *
 * Unix stream socket; the daemon connects to the backend. One JSON object per line.
 *   daemon  -> {"type":"hello","protocol":1,"protocols":[1,2]}
 *   backend -> {"type":"hello","protocol":2,"name":"retention-fs","actions":["delete"],
 *               "scan":true}
 * The daemon's "protocol" stays 1 so that a protocol-1 backend (which reads only that)
 * keeps working; "protocols" lists every version it speaks and a backend answers with the
 * highest it shares (a protocol-1 daemon sends no "protocols": the answer is then 1).
 *   daemon  -> {"type":"job","job":"J-...","action":"delete","attempt":1,
 *               "record":{"id":..,"category":..,"subject":..,"locator":{..}},
 *               "rule":"..","due":"2026-03-01T09:30:00+01:00"}
 *   backend -> {"type":"result","job":"J-...","status":"done"|"gone"|"failed",
 *               "error":"...","retry":true|false}
 * Results may come in any order; a job id seen again is the same job (idempotent).
 *
 * Protocol 2 adds scans, only to a backend whose hello said "scan":true:
 *   daemon  -> {"type":"scan","scan":"S-7","window":4}
 *   backend -> {"type":"scan_page","scan":"S-7","seq":1,"records":[RECORD...]}
 *   daemon  -> {"type":"scan_ack","scan":"S-7","seq":1}
 *   backend -> {"type":"scan_end","scan":"S-7","complete":true,"count":1234,
 *               "skipped":0,"future":0,"error":"..."}
 *   daemon  -> {"type":"scan_cancel","scan":"S-7"}
 * A RECORD is an object as in an import (id, category, subject, locator, events,
 * attributes). Pages are numbered from 1, at most RTN_SCAN_PAGE_RECORDS records and
 * RTN_SCAN_PAGE_BYTES bytes; the backend sends page seq only once page seq - window was
 * acknowledged. count is the number of records sent in all pages; complete is false when
 * the backend could not list everything it holds (then error says why); skipped counts
 * what it could not read, future the records with an event time in the future. Jobs and
 * results go on meanwhile on the same connection. One scan at a time per connection; a
 * scan_cancel (or the connection's end) ends it, with no scan_end.
 * Lines are at most RTN_BPROTO_LINE_MAX bytes.
 *
 * History (bump RTN_BACKEND_PROTOCOL on any incompatible change and say what changed):
 *   1  first version.
 *   2  scans (scan, scan_page, scan_ack, scan_end, scan_cancel; "scan" and "protocols" in
 *      the hellos).
 */
#ifndef RTN_BPROTO_H
#define RTN_BPROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define RTN_BACKEND_PROTOCOL     2 /* the highest version spoken */
#define RTN_BACKEND_PROTOCOL_MIN 1
#define RTN_SCAN_PAGE_RECORDS    1000
#define RTN_SCAN_PAGE_BYTES      (192u << 10)
#define RTN_SCAN_WINDOW          4 /* pages a backend may send ahead of the acknowledgements */
#define RTN_BPROTO_LINE_MAX      (256u << 10) /* a job carries one record: 256 KiB is plenty */

/* What a backend's hello says it does; notice: it delivers notices before actions (a job
 * of action "notice" announcing an action and its deadline) */
enum rtn_bact { RTN_BACT_DELETE = 1, RTN_BACT_ANONYMIZE = 2, RTN_BACT_NOTICE = 4 };
enum rtn_bstatus { RTN_BST_DONE, RTN_BST_GONE, RTN_BST_FAILED };

struct rtn_bhello {
	json_t *root;     /* owned */
	int protocol;     /* the hello's "protocol" */
	int highest;      /* daemon's hello: the highest of "protocols" this side speaks too
	                   * (protocol when there is no list), 0 when none; backend's: protocol */
	const char *name; /* NULL in the daemon's hello */
	unsigned actions; /* RTN_BACT_* bits; 0 in the daemon's hello */
	bool scan;        /* a backend's hello of protocol 2 or later said "scan":true */
};

/* The daemon's messages of a scan, as a backend decodes them. */
enum rtn_bscan_kind { RTN_BSCAN_START, RTN_BSCAN_ACK, RTN_BSCAN_CANCEL };
struct rtn_bscan_ctl {
	json_t *root; /* owned */
	enum rtn_bscan_kind kind;
	const char *scan;
	long long seq; /* ack */
	int window;    /* start; 1..64 */
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

/* The backend's messages after the hello, as the daemon decodes them. */
enum rtn_bmsg_kind { RTN_BMSG_RESULT, RTN_BMSG_SCAN_PAGE, RTN_BMSG_SCAN_END };
struct rtn_bmsg {
	enum rtn_bmsg_kind kind;
	struct rtn_bresult result; /* RTN_BMSG_RESULT (result.root owns the message) */
	json_t *root;              /* the scan messages' (owned) */
	const char *scan;
	long long seq;                    /* page */
	json_t *records;                  /* page: an array, borrowed from root */
	bool complete;                    /* end */
	long long count, skipped, future; /* end; >= 0 */
	const char *error;                /* end; NULL when none */
};

/* Encode the daemon's hello (name NULL, actions 0: protocol 1 and the list of every version
 * spoken) or a backend's of version protocol (scan: it can list what it holds; said only
 * from version 2). Caller frees. */
char *rtn_bproto_hello(const char *name, unsigned actions, int protocol, bool scan, size_t *len);
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
/* A notice job: rtn_bproto_job with action "notice" and the members "announces" (the
 * action it announces) and "deadline" (that action's deadline, RFC 3339); due is the
 * notice's own time. Caller frees. */
char *rtn_bproto_notice(const char *job, int attempt, const char *id, const char *category,
                        const char *subject, const char *locator, const char *rule, const char *due,
                        const char *announces, const char *deadline, size_t *len);
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
/* Encode the daemon's scan messages: start (window pages ahead), ack (seq), cancel. */
char *rtn_bproto_scan(const char *scan, int window, size_t *len);
char *rtn_bproto_scan_ack(const char *scan, long long seq, size_t *len);
char *rtn_bproto_scan_cancel(const char *scan, size_t *len);
/* Decode one of them. 0, -ENOENT when the line is not a scan message at all (err says
 * what type it is), or -EINVAL with err. Free with rtn_bproto_scan_ctl_fini. */
int rtn_bproto_decode_scan_ctl(const char *line, size_t len, struct rtn_bscan_ctl *out, char *err,
                               size_t errlen);
void rtn_bproto_scan_ctl_fini(struct rtn_bscan_ctl *c);

/* Encode a page of records (an array, borrowed) or the end marker (error may be NULL).
 * Caller frees; NULL when a string is not UTF-8 or out of memory. */
char *rtn_bproto_scan_page(const char *scan, long long seq, json_t *records, size_t *len);
char *rtn_bproto_scan_end(const char *scan, bool complete, long long count, long long skipped,
                          long long future, const char *error, size_t *len);
/* Decode what a backend sends after its hello: a result, a page or an end marker. 0 or
 * -EINVAL with err. Free with rtn_bproto_bmsg_fini. */
int rtn_bproto_decode_bmsg(const char *line, size_t len, struct rtn_bmsg *out, char *err,
                           size_t errlen);
void rtn_bproto_bmsg_fini(struct rtn_bmsg *m);

/* "done", "gone" or "failed". */
const char *rtn_bstatus_name(enum rtn_bstatus s);

#endif
