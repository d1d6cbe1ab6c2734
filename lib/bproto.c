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
	return 0;
}

char *rtn_bproto_hello(const char *name, unsigned actions, size_t *len)
{
	json_t *o = json_pack("{s:s, s:i}", "type", "hello", "protocol", RTN_BACKEND_PROTOCOL);
	if (name) {
		json_t *a = json_array();
		if (actions & RTN_BACT_DELETE)
			json_array_append_new(a, json_string("delete"));
		if (actions & RTN_BACT_ANONYMIZE)
			json_array_append_new(a, json_string("anonymize"));
		json_object_set_new(o, "name", json_string(name));
		json_object_set_new(o, "actions", a);
	}
	char *s = rtn_json_line(o, len);
	json_decref(o);
	return s;
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
	if (!json_is_integer(p)) {
		snprintf(err, errlen, "hello without a protocol version");
		return -EINVAL;
	}
	out->protocol = (int)json_integer_value(p);
	if (!from_backend)
		return 0;
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
		         "job %s is malformed: it needs action delete or anonymize, attempt >= 1 "
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

int rtn_bproto_decode_result(const char *line, size_t len, struct rtn_bresult *out, char *err,
                             size_t errlen)
{
	memset(out, 0, sizeof(*out));
	json_t *root = load(line, len, "result", err, errlen);
	if (!root)
		return -EINVAL;
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

void rtn_bproto_result_fini(struct rtn_bresult *r)
{
	json_decref(r->root);
	memset(r, 0, sizeof(*r));
}
