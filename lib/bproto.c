/* bproto.c - the backend protocol's wire format */
#include "bproto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "proto.h"

static json_t *load(const char *line, size_t len, const char *want, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		snprintf(err, errlen, "malformed JSON at column %d: %s", je.column, je.text);
		return NULL;
	}
	const char *type = json_string_value(json_object_get(root, "type"));
	if (!json_is_object(root) || !type || strcmp(type, want) != 0) {
		snprintf(err, errlen, "expected a message of type \"%s\"", want);
		json_decref(root);
		return NULL;
	}
	return root;
}

/* A member that must be a clean, non-empty string. */
static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v) || !json_string_length(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

static unsigned action_bit(const char *a)
{
	if (!a)
		return 0;
	if (strcmp(a, "delete") == 0)
		return RTN_BACT_DELETE;
	if (strcmp(a, "anonymize") == 0)
		return RTN_BACT_ANONYMIZE;
	if (strcmp(a, "notice") == 0)
		return RTN_BACT_NOTICE;
	return 0;
}

char *rtn_bproto_hello(const char *name, unsigned actions, int protocol, bool scan, size_t *len)
{
	json_t *o = json_pack("{s:s, s:i}", "type", "hello", "protocol",
	                      name ? protocol : RTN_BACKEND_PROTOCOL_MIN);
	if (name) {
		json_t *a = json_array();
		if (actions & RTN_BACT_DELETE)
			json_array_append_new(a, json_string("delete"));
		if (actions & RTN_BACT_ANONYMIZE)
			json_array_append_new(a, json_string("anonymize"));
		if (actions & RTN_BACT_NOTICE)
			json_array_append_new(a, json_string("notice"));
		json_object_set_new(o, "name", json_string(name));
		json_object_set_new(o, "actions", a);
		if (protocol >= 2)
			json_object_set_new(o, "scan", json_boolean(scan));
	} else {
		json_t *a = json_array();
		for (int v = RTN_BACKEND_PROTOCOL_MIN; v <= RTN_BACKEND_PROTOCOL; v++)
			json_array_append_new(a, json_integer(v));
		json_object_set_new(o, "protocols", a);
	}
	char *s = rtn_json_line(o, len);
	json_decref(o);
	return s;
}

/* The highest version of the daemon's "protocols" this side speaks too; the hello's
 * "protocol" when there is no list (a daemon of protocol 1), 0 when none is shared. */
static int highest_shared(json_t *root, int protocol)
{
	json_t *list = json_object_get(root, "protocols");
	if (!json_is_array(list))
		return protocol >= RTN_BACKEND_PROTOCOL_MIN && protocol <= RTN_BACKEND_PROTOCOL
		           ? protocol
		           : 0;
	int best = 0;
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;
		if (n >= RTN_BACKEND_PROTOCOL_MIN && n <= RTN_BACKEND_PROTOCOL && n > best)
			best = (int)n;
	}
	return best;
}

int rtn_bproto_decode_hello(const char *line, size_t len, bool from_backend, struct rtn_bhello *out,
                            char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	json_t *root = load(line, len, "hello", err, errlen);
	if (!root)
		return -EINVAL;
	out->root = root;
	json_t *p = json_object_get(root, "protocol");
	if (!json_is_integer(p) || json_integer_value(p) < 1 || json_integer_value(p) > 1000) {
		snprintf(err, errlen, "hello without a protocol version");
		return -EINVAL;
	}
	out->protocol = (int)json_integer_value(p);
	out->highest = out->protocol;
	if (!from_backend) {
		out->highest = highest_shared(root, out->protocol);
		return 0;
	}
	out->name = str(root, "name");
	json_t *acts = json_object_get(root, "actions");
	size_t i;
	json_t *a;
	json_array_foreach(acts, i, a)
	{
		unsigned bit = action_bit(json_string_value(a));
		if (!bit) {
			snprintf(err, errlen, "hello names an unknown action");
			return -EINVAL;
		}
		out->actions |= bit;
	}
	if (!out->name || !out->actions) {
		snprintf(err, errlen, "a backend's hello needs \"name\" and \"actions\"");
		return -EINVAL;
	}
	json_t *scan = json_object_get(root, "scan");
	if (scan && !json_is_boolean(scan)) {
		snprintf(err, errlen, "\"scan\" must be true or false");
		return -EINVAL;
	}
	out->scan = out->protocol >= 2 && json_is_true(scan);
	return 0;
}

void rtn_bproto_hello_fini(struct rtn_bhello *h)
{
	json_decref(h->root);
	memset(h, 0, sizeof(*h));
}

/* Written directly, not through a jansson tree: one line per job sent. */
char *rtn_bproto_job(const char *job, const char *action, int attempt, const char *id,
                     const char *category, const char *subject, const char *locator,
                     const char *rule, const char *due, size_t *len)
{
	struct rtn_jw w = {0};
	JW_LIT(&w, "{\"type\":\"job\"");
	int r = rtn_jw_member(&w, "job", job);
	if (r == 0)
		r = rtn_jw_member(&w, "action", action);
	JW_LIT(&w, ",\"attempt\":");
	rtn_jw_int(&w, attempt);
	JW_LIT(&w, ",\"record\":{\"id\":");
	if (r == 0)
		r = rtn_jw_string(&w, id, strlen(id));
	if (r == 0)
		r = rtn_jw_member(&w, "category", category);
	if (r == 0 && subject)
		r = rtn_jw_member(&w, "subject", subject);
	if (locator) {
		JW_LIT(&w, ",\"locator\":");
		rtn_jw_put(&w, locator, strlen(locator));
	}
	JW_LIT(&w, "}");
	if (r == 0)
		r = rtn_jw_member(&w, "rule", rule);
	if (r == 0)
		r = rtn_jw_member(&w, "due", due);
	JW_LIT(&w, "}\n");
	if (r < 0) {
		free(w.p);
		return NULL;
	}
	*len = w.len;
	return w.p;
}

char *rtn_bproto_notice(const char *job, int attempt, const char *id, const char *category,
                        const char *subject, const char *locator, const char *rule, const char *due,
                        const char *announces, const char *deadline, size_t *len)
{
	size_t n;
	char *line =
	    rtn_bproto_job(job, "notice", attempt, id, category, subject, locator, rule, due, &n);
	if (!line)
		return NULL;
	/* The job's object without its closing "}\n", then the notice's members. */
	struct rtn_jw w = {.p = line, .len = n - 2, .cap = n};
	int r = rtn_jw_member(&w, "announces", announces);
	if (r == 0)
		r = rtn_jw_member(&w, "deadline", deadline);
	JW_LIT(&w, "}\n");
	if (r < 0) {
		free(w.p);
		return NULL;
	}
	*len = w.len;
	return w.p;
}

int rtn_bproto_decode_job(const char *line, size_t len, struct rtn_bjob *out, char *err,
                          size_t errlen)
{
	memset(out, 0, sizeof(*out));
	json_t *root = load(line, len, "job", err, errlen);
	if (!root)
		return -EINVAL;
	out->root = root;
	out->job = str(root, "job");
	out->action = str(root, "action");
	out->rule = str(root, "rule");
	out->due = str(root, "due");
	out->act = action_bit(out->action);
	json_t *at = json_object_get(root, "attempt");
	out->attempt = json_is_integer(at) ? (int)json_integer_value(at) : 0;
	json_t *rec = json_object_get(root, "record");
	out->id = str(rec, "id");
	out->category = str(rec, "category");
	out->subject = str(rec, "subject");
	out->locator = json_object_get(rec, "locator");
	if (!out->job) {
		snprintf(err, errlen, "job without a \"job\" id");
		return -EINVAL;
	}
	if (!out->act || !out->id || !out->category || out->attempt < 1) {
		snprintf(err, errlen,
		         "job %s is malformed: it needs action delete, anonymize or notice, "
		         "attempt >= 1 "
		         "and a record with id and category",
		         out->job);
		return -EINVAL;
	}
	return 0;
}

void rtn_bproto_job_fini(struct rtn_bjob *j)
{
	json_decref(j->root);
	memset(j, 0, sizeof(*j));
}

const char *rtn_bstatus_name(enum rtn_bstatus s)
{
	static const char *const names[] = {"done", "gone", "failed"};
	return names[s];
}

char *rtn_bproto_result(const char *job, enum rtn_bstatus st, const char *error, bool retry,
                        size_t *len)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "type", "result", "job", job, "status",
	                      rtn_bstatus_name(st));
	if (st == RTN_BST_FAILED) {
		json_t *e = json_string(error ? error : "failed");
		json_object_set_new(o, "error", e ? e : json_string("(error not valid UTF-8)"));
		json_object_set_new(o, "retry", json_boolean(retry));
	}
	char *s = rtn_json_line(o, len);
	json_decref(o);
	return s;
}

/* A result's members, from its decoded message (root owned by out). */
static int result_members(json_t *root, struct rtn_bresult *out, char *err, size_t errlen)
{
	out->root = root;
	out->job = str(root, "job");
	const char *st = str(root, "status");
	if (!out->job || !st) {
		snprintf(err, errlen, "result needs \"job\" and \"status\"");
		return -EINVAL;
	}
	if (strcmp(st, "done") == 0)
		out->status = RTN_BST_DONE;
	else if (strcmp(st, "gone") == 0)
		out->status = RTN_BST_GONE;
	else if (strcmp(st, "failed") == 0)
		out->status = RTN_BST_FAILED;
	else {
		snprintf(err, errlen, "unknown status \"%.32s\"; expected done, gone or failed",
		         st);
		return -EINVAL;
	}
	json_t *retry = json_object_get(root, "retry");
	if (retry && !json_is_boolean(retry)) {
		snprintf(err, errlen, "\"retry\" must be true or false");
		return -EINVAL;
	}
	out->retry = retry ? json_is_true(retry) : true;
	json_t *e = json_object_get(root, "error");
	out->error = json_string_value(e);
	return 0;
}

int rtn_bproto_decode_result(const char *line, size_t len, struct rtn_bresult *out, char *err,
                             size_t errlen)
{
	memset(out, 0, sizeof(*out));
	json_t *root = load(line, len, "result", err, errlen);
	if (!root)
		return -EINVAL;
	return result_members(root, out, err, errlen);
}

void rtn_bproto_result_fini(struct rtn_bresult *r)
{
	json_decref(r->root);
	memset(r, 0, sizeof(*r));
}

/* --- scans (protocol 2) --- */

static char *line_of(json_t *o, size_t *len)
{
	char *s = o ? rtn_json_line(o, len) : NULL;
	json_decref(o);
	return s;
}

char *rtn_bproto_scan(const char *scan, int window, size_t *len)
{
	return line_of(json_pack("{s:s, s:s, s:i}", "type", "scan", "scan", scan, "window", window),
	               len);
}

char *rtn_bproto_scan_ack(const char *scan, long long seq, size_t *len)
{
	return line_of(
	    json_pack("{s:s, s:s, s:I}", "type", "scan_ack", "scan", scan, "seq", (json_int_t)seq),
	    len);
}

char *rtn_bproto_scan_cancel(const char *scan, size_t *len)
{
	return line_of(json_pack("{s:s, s:s}", "type", "scan_cancel", "scan", scan), len);
}

/* The message's root and type, for the decoders that accept several types. */
static json_t *load_any(const char *line, size_t len, const char **type, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		snprintf(err, errlen, "malformed JSON at column %d: %s", je.column, je.text);
		return NULL;
	}
	*type = json_is_object(root) ? json_string_value(json_object_get(root, "type")) : NULL;
	if (!*type) {
		snprintf(err, errlen, "a message needs a \"type\"");
		json_decref(root);
		return NULL;
	}
	return root;
}

/* A member that must be an integer >= lo; -1 when it is not. */
static long long count_of(json_t *o, const char *key, long long lo)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < lo)
		return -1;
	return (long long)json_integer_value(v);
}

int rtn_bproto_decode_scan_ctl(const char *line, size_t len, struct rtn_bscan_ctl *out, char *err,
                               size_t errlen)
{
	memset(out, 0, sizeof(*out));
	const char *type;
	json_t *root = load_any(line, len, &type, err, errlen);
	if (!root)
		return -EINVAL;
	out->root = root;
	if (strcmp(type, "scan") == 0)
		out->kind = RTN_BSCAN_START;
	else if (strcmp(type, "scan_ack") == 0)
		out->kind = RTN_BSCAN_ACK;
	else if (strcmp(type, "scan_cancel") == 0)
		out->kind = RTN_BSCAN_CANCEL;
	else {
		snprintf(err, errlen, "a message of type \"%.32s\" is not part of a scan", type);
		return -ENOENT;
	}
	out->scan = str(root, "scan");
	if (!out->scan || strlen(out->scan) > 64) {
		snprintf(err, errlen, "%s without a \"scan\" id", type);
		return -EINVAL;
	}
	if (out->kind == RTN_BSCAN_START) {
		long long w = count_of(root, "window", 1);
		if (w < 1 || w > 64) {
			snprintf(err, errlen, "scan needs a \"window\" of 1 to 64 pages");
			return -EINVAL;
		}
		out->window = (int)w;
	} else if (out->kind == RTN_BSCAN_ACK && (out->seq = count_of(root, "seq", 1)) < 1) {
		snprintf(err, errlen, "scan_ack needs a \"seq\" >= 1");
		return -EINVAL;
	}
	return 0;
}

void rtn_bproto_scan_ctl_fini(struct rtn_bscan_ctl *c)
{
	json_decref(c->root);
	memset(c, 0, sizeof(*c));
}

char *rtn_bproto_scan_page(const char *scan, long long seq, json_t *records, size_t *len)
{
	return line_of(json_pack("{s:s, s:s, s:I, s:O}", "type", "scan_page", "scan", scan, "seq",
	                         (json_int_t)seq, "records", records),
	               len);
}

char *rtn_bproto_scan_end(const char *scan, bool complete, long long count, long long skipped,
                          long long future, const char *error, size_t *len)
{
	json_t *o = json_pack("{s:s, s:s, s:b, s:I, s:I, s:I}", "type", "scan_end", "scan", scan,
	                      "complete", complete, "count", (json_int_t)count, "skipped",
	                      (json_int_t)skipped, "future", (json_int_t)future);
	if (o && error) {
		json_t *e = json_string(error);
		json_object_set_new(o, "error", e ? e : json_string("(error not valid UTF-8)"));
	}
	return line_of(o, len);
}

int rtn_bproto_decode_bmsg(const char *line, size_t len, struct rtn_bmsg *out, char *err,
                           size_t errlen)
{
	memset(out, 0, sizeof(*out));
	const char *type;
	json_t *root = load_any(line, len, &type, err, errlen);
	if (!root)
		return -EINVAL;
	if (strcmp(type, "result") == 0) {
		out->kind = RTN_BMSG_RESULT;
		return result_members(root, &out->result, err, errlen);
	}
	out->root = root;
	out->scan = str(root, "scan");
	if (strcmp(type, "scan_page") == 0) {
		out->kind = RTN_BMSG_SCAN_PAGE;
		out->seq = count_of(root, "seq", 1);
		out->records = json_object_get(root, "records");
		if (!out->scan || out->seq < 1 || !json_is_array(out->records) ||
		    json_array_size(out->records) > RTN_SCAN_PAGE_RECORDS) {
			snprintf(err, errlen,
			         "scan_page needs \"scan\", \"seq\" >= 1 and \"records\", an array "
			         "of at most %u",
			         RTN_SCAN_PAGE_RECORDS);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(type, "scan_end") == 0) {
		out->kind = RTN_BMSG_SCAN_END;
		json_t *c = json_object_get(root, "complete");
		out->count = count_of(root, "count", 0);
		out->skipped = json_object_get(root, "skipped") ? count_of(root, "skipped", 0) : 0;
		out->future = json_object_get(root, "future") ? count_of(root, "future", 0) : 0;
		json_t *e = json_object_get(root, "error");
		out->error = json_string_value(e);
		if (!out->scan || !json_is_boolean(c) || out->count < 0 || out->skipped < 0 ||
		    out->future < 0 || (e && !json_is_string(e))) {
			snprintf(
			    err, errlen,
			    "scan_end needs \"scan\", \"complete\" (true or false), \"count\" "
			    "and, if given, \"skipped\", \"future\" >= 0 and an \"error\" string");
			return -EINVAL;
		}
		out->complete = json_is_true(c);
		return 0;
	}
	snprintf(err, errlen, "unexpected message of type \"%.32s\"", type);
	return -EINVAL;
}

void rtn_bproto_bmsg_fini(struct rtn_bmsg *m)
{
	if (m->kind == RTN_BMSG_RESULT)
		rtn_bproto_result_fini(&m->result);
	json_decref(m->root);
	memset(m, 0, sizeof(*m));
}
