/* proto.c - JSON lines: framing, requests and replies */
#include "proto.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void rtn_linebuf_init(struct rtn_linebuf *lb, size_t max)
{
	memset(lb, 0, sizeof(*lb));
	lb->max = max;
}

void rtn_linebuf_fini(struct rtn_linebuf *lb)
{
	free(lb->buf);
	memset(lb, 0, sizeof(*lb));
}

size_t rtn_linebuf_pending(const struct rtn_linebuf *lb)
{
	return lb->len;
}

int rtn_linebuf_feed(struct rtn_linebuf *lb, const char *data, size_t n)
{
	if (lb->start && lb->start + lb->len + n + 1 > lb->cap) {
		memmove(lb->buf, lb->buf + lb->start, lb->len);
		lb->start = 0;
	}
	size_t need = lb->start + lb->len + n + 1;
	if (need > lb->cap) {
		size_t c = lb->cap ? lb->cap : 4096;
		while (c < need)
			c *= 2;
		lb->buf = rtn_xreallocarray(lb->buf, c, 1);
		lb->cap = c;
	}
	memcpy(lb->buf + lb->start + lb->len, data, n);
	lb->len += n;
	/* A pending line longer than max, with no newline in sight, is an error. */
	char *p = lb->buf + lb->start;
	size_t from = lb->scanned;
	char *nl = memchr(p + from, '\n', lb->len - from);
	size_t line = nl ? (size_t)(nl - p) : lb->len;
	if (line > lb->max)
		return -EMSGSIZE;
	lb->scanned = nl ? from : lb->len;
	return 0;
}

char *rtn_linebuf_next(struct rtn_linebuf *lb, size_t *len)
{
	if (!lb->len)
		return NULL;
	char *p = lb->buf + lb->start;
	/* Bytes before "scanned" hold no newline: never search them twice. */
	char *nl = memchr(p + lb->scanned, '\n', lb->len - lb->scanned);
	if (!nl) {
		lb->scanned = lb->len;
		return NULL;
	}
	size_t n = (size_t)(nl - p);
	*nl = '\0';
	lb->start += n + 1;
	lb->len -= n + 1;
	lb->scanned = 0;
	if (lb->len == 0)
		lb->start = 0;
	if (n && p[n - 1] == '\r')
		p[--n] = '\0';
	*len = n;
	return p;
}

char *rtn_json_line(const json_t *j, size_t *len)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *out = rtn_xmalloc(n + 2);
	memcpy(out, s, n);
	out[n] = '\n';
	out[n + 1] = '\0';
	free(s);
	if (len)
		*len = n + 1;
	return out;
}

static int request_decode(const char *line, size_t len, struct rtn_request *req, char *err,
                          size_t errlen)
{
	json_error_t je;
	memset(req, 0, sizeof(*req));
	json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		snprintf(err, errlen, "malformed JSON at column %d: %s", je.column, je.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "a request is a JSON object");
		json_decref(root);
		return -EINVAL;
	}
	req->root = root;
	req->id = json_object_get(root, "id");
	if (!req->id) {
		req->id = json_null();
		json_object_set_new(root, "id", req->id);
	}
	json_t *cmd = json_object_get(root, "cmd");
	if (!json_is_string(cmd)) {
		snprintf(err, errlen, "\"cmd\" must be a string naming a command");
		return -EINVAL;
	}
	req->cmd = json_string_value(cmd);
	req->args = json_object_get(root, "args");
	if (!req->args || json_is_null(req->args)) {
		req->args = json_object();
		json_object_set_new(root, "args", req->args);
	} else if (!json_is_object(req->args)) {
		snprintf(err, errlen, "\"args\" must be an object");
		return -EINVAL;
	}
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "id") && strcmp(key, "cmd") && strcmp(key, "args")) {
			snprintf(err, errlen, "unknown member \"%.*s\" in request",
			         rtn_utf8_clip(key, 64), key);
			return -EINVAL;
		}
	}
	return 0;
}

int rtn_request_decode(const char *line, size_t len, struct rtn_request *req, char *err,
                       size_t errlen)
{
	int r = request_decode(line, len, req, err, errlen);
	if (r < 0 && errlen)
		rtn_utf8_scrub(err); /* it quotes the input, perhaps cut short: keep it UTF-8 */
	return r;
}

void rtn_request_fini(struct rtn_request *req)
{
	json_decref(req->root);
	memset(req, 0, sizeof(*req));
}

char *rtn_request_encode(json_t *id, const char *cmd, json_t *args, size_t *len)
{
	json_t *o = json_object();
	json_object_set(o, "id", id ? id : json_null());
	json_object_set_new(o, "cmd", json_string(cmd));
	if (args)
		json_object_set(o, "args", args);
	char *s = rtn_json_line(o, len);
	json_decref(o);
	return s;
}

char *rtn_reply_ok(json_t *id, json_t *result, size_t *len)
{
	json_t *o = json_object();
	json_object_set(o, "id", id ? id : json_null());
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "protocol", json_integer(RTN_CONTROL_VERSION));
	json_object_set_new(o, "result", result ? result : json_null());
	char *s = rtn_json_line(o, len);
	json_decref(o);
	return s;
}

char *rtn_reply_error(json_t *id, const char *code, const char *message, json_t *details,
                      size_t *len)
{
	json_t *o = json_object(), *e = json_object();
	json_object_set(o, "id", id ? id : json_null());
	json_object_set_new(o, "ok", json_false());
	json_object_set_new(o, "protocol", json_integer(RTN_CONTROL_VERSION));
	json_object_set_new(e, "code", json_string(code));
	/* Messages may quote input that is not valid UTF-8: keep them encodable. */
	json_t *m = json_string(message);
	json_object_set_new(e, "message", m ? m : json_string("(message not valid UTF-8)"));
	if (details)
		json_object_set_new(e, "details", details);
	json_object_set_new(o, "error", e);
	char *s = rtn_json_line(o, len);
	json_decref(o);
	return s;
}

/* The version a reply's "protocol" member says: 1 when absent (daemons before the member
 * spoke version 1), 0 when it is not a version (not an integer from 1 to INT_MAX). */
static int reply_protocol(const json_t *p)
{
	if (!p)
		return 1;
	if (!json_is_integer(p) || json_integer_value(p) < 1 || json_integer_value(p) > INT_MAX)
		return 0;
	return (int)json_integer_value(p);
}

int rtn_reply_decode(const char *line, size_t len, struct rtn_reply *rep, char *err, size_t errlen)
{
	json_error_t je;
	memset(rep, 0, sizeof(*rep));
	json_t *root = json_loadb(line, len, 0, &je);
	if (!root) {
		snprintf(err, errlen, "malformed reply: %s", je.text);
		return -EINVAL;
	}
	rep->root = root;
	json_t *ok = json_object_get(root, "ok");
	if (!json_is_object(root) || !json_is_boolean(ok)) {
		snprintf(err, errlen, "malformed reply: no \"ok\" member");
		return -EINVAL;
	}
	rep->id = json_object_get(root, "id");
	rep->ok = json_is_true(ok);
	rep->protocol = reply_protocol(json_object_get(root, "protocol"));
	if (rep->ok) {
		rep->result = json_object_get(root, "result");
		return 0;
	}
	json_t *e = json_object_get(root, "error");
	rep->code = json_string_value(json_object_get(e, "code"));
	rep->message = json_string_value(json_object_get(e, "message"));
	rep->details = json_object_get(e, "details");
	if (!rep->code || !rep->message) {
		snprintf(err, errlen, "malformed reply: error without code or message");
		return -EINVAL;
	}
	return 0;
}

void rtn_reply_fini(struct rtn_reply *rep)
{
	json_decref(rep->root);
	memset(rep, 0, sizeof(*rep));
}
