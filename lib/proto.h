/* proto.h - the control protocol's wire format, shared by retentiond and retentionctl
 *
 * Unix stream socket, one JSON object per line each way.
 *   request: {"id": ANY, "cmd": "record.get", "args": {...}}   ("args" may be left out)
 *   reply:   {"id": ANY, "ok": true, "protocol": N, "result": ...}
 *          | {"id": ANY, "ok": false, "protocol": N,
 *             "error": {"code": C, "message": M[, "details": ...]}}
 * Every reply says the version N of the protocol the daemon speaks, so a client can tell
 * a daemon of another version from any reply; a reply without it is of version 1.
 * A request line is at most RTN_LINE_MAX bytes; a longer one is answered too_large and
 * the connection is closed. Requests are answered in order.
 *
 * History (bump RTN_CONTROL_VERSION on any incompatible change and say what changed):
 *   1  first version; every reply carries "protocol" (an added member, compatible: a
 *      client that does not know it ignores it).
 */
#ifndef RTN_PROTO_H
#define RTN_PROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define RTN_CONTROL_VERSION 1
#define RTN_LINE_MAX        (1u << 20) /* bytes of one request line, newline excluded */

/* Error codes of SPEC §5. */
#define RTN_E_BAD_REQUEST   "bad_request"
#define RTN_E_NOT_FOUND     "not_found"
#define RTN_E_FORBIDDEN     "forbidden"
#define RTN_E_INVALID_RULES "invalid_rules"
#define RTN_E_CONFLICT      "conflict"
#define RTN_E_TOO_LARGE     "too_large"
#define RTN_E_INTERNAL      "internal"

/* Splits a byte stream into lines of at most max bytes. */
struct rtn_linebuf {
	char *buf;
	size_t start, len, cap, max;
	size_t scanned; /* bytes after start already known to hold no '\n' */
};

/* Start an empty buffer for lines of at most max bytes. */
void rtn_linebuf_init(struct rtn_linebuf *lb, size_t max);
/* Free the buffer. */
void rtn_linebuf_fini(struct rtn_linebuf *lb);
/* Append n bytes. 0, or -EMSGSIZE if the pending line is longer than max. */
int rtn_linebuf_feed(struct rtn_linebuf *lb, const char *data, size_t n);
/* The next complete line without its "\n" (and without a "\r" before it), NUL-terminated,
 * or NULL. Valid until the next feed or next call. A line that arrived whole in one feed
 * may be longer than max: callers compare *len with max. */
char *rtn_linebuf_next(struct rtn_linebuf *lb, size_t *len);
/* Bytes buffered but not yet returned as a line. */
size_t rtn_linebuf_pending(const struct rtn_linebuf *lb);

struct rtn_request {
	json_t *root;    /* owned */
	json_t *id;      /* borrowed from root; JSON null when absent */
	const char *cmd; /* borrowed from root */
	json_t *args;    /* borrowed from root; an empty object when absent */
};

/* Decode one request line. 0, or -EINVAL with a message for bad_request in err (UTF-8). */
int rtn_request_decode(const char *line, size_t len, struct rtn_request *req, char *err,
                       size_t errlen);
/* Release what rtn_request_decode allocated. */
void rtn_request_fini(struct rtn_request *req);
/* Encode a request line ending in "\n"; args may be NULL. Caller frees. */
char *rtn_request_encode(json_t *id, const char *cmd, json_t *args, size_t *len);

/* Encode a success reply line ending in "\n"; takes the reference to result. Caller frees. */
char *rtn_reply_ok(json_t *id, json_t *result, size_t *len);
/* Encode an error reply line ending in "\n"; takes the reference to details (may be NULL).
 * Caller frees. */
char *rtn_reply_error(json_t *id, const char *code, const char *message, json_t *details,
                      size_t *len);

struct rtn_reply {
	json_t *root; /* owned */
	json_t *id;   /* borrowed */
	bool ok;
	int protocol;        /* the replier's version: 1 when not said, 0 when not a version */
	json_t *result;      /* borrowed; ok replies */
	const char *code;    /* borrowed; error replies */
	const char *message; /* borrowed; error replies */
	json_t *details;     /* borrowed; may be NULL */
};

/* Decode a reply line. 0, or -EINVAL with a message in err. */
int rtn_reply_decode(const char *line, size_t len, struct rtn_reply *rep, char *err, size_t errlen);
/* Release what rtn_reply_decode allocated. */
void rtn_reply_fini(struct rtn_reply *rep);

/* json_dumps() with the protocol's flags plus "\n", or NULL if j cannot be encoded.
 * Caller frees. */
char *rtn_json_line(const json_t *j, size_t *len);

#endif
