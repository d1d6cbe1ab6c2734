/* record.c - a record of the inventory: validation of its JSON form, views for decide */
#include "record.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int rtn_time_from_json(const json_t *j, rtn_time_t *out)
{
	if (json_is_integer(j)) {
		json_int_t v = json_integer_value(j);
		if (v < RTN_TIME_MIN || v > RTN_TIME_MAX)
			return -EINVAL;
		*out = (rtn_time_t)v;
		return 0;
	}
	if (json_is_string(j))
		return rtn_time_parse(json_string_value(j), out);
	return -EINVAL;
}

json_t *rtn_time_to_json(rtn_time_t t)
{
	char buf[RTN_TIME_FMT_LEN];
	if (t == RTN_TIME_NONE || rtn_time_format(t, buf, sizeof(buf)) < 0)
		return json_null();
	return json_string(buf);
}

bool rtn_attr_value_ok(const json_t *v)
{
	return json_is_boolean(v) || json_is_number(v) || json_is_null(v) ||
	       (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v));
}

int rtn_event_check(const char *name, const json_t *at, rtn_time_t *out, char *err, size_t errlen)
{
	if (!rtn_valid_name(name)) {
		snprintf(err, errlen,
		         "invalid event name \"%.*s\"; names are lower-case letters, digits, '_', "
		         "'.' and '-', starting with a letter",
		         rtn_utf8_clip(name, 64), name);
		return -EINVAL;
	}
	if (rtn_time_from_json(at, out) < 0) {
		snprintf(err, errlen,
		         "event \"%s\": expected an RFC 3339 time with its offset "
		         "(2025-03-01T09:30:00+01:00) or integer Unix seconds",
		         name);
		return -EINVAL;
	}
	return 0;
}

/* A string member: NULL if absent or null; -EINVAL if present and not a clean string. */
static int get_string(const json_t *j, const char *key, size_t max, const char **out)
{
	json_t *v = json_object_get(j, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return -EINVAL;
	*out = json_string_value(v);
	return 0;
}

static int record_from_json(const json_t *j, rtn_time_t now, struct rtn_record *out, char *err,
                            size_t errlen)
{
	static const char *const known[] = {"id",       "category", "subject",    "backend",
	                                    "locator",  "events",   "attributes", "state",
	                                    "schedule", "holds",    NULL};
	memset(out, 0, sizeof(*out));
	if (!json_is_object(j)) {
		snprintf(err, errlen, "a record is a JSON object");
		return -EINVAL;
	}
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)j, key, v)
	{
		size_t i;
		for (i = 0; known[i] && strcmp(known[i], key); i++)
			;
		if (!known[i]) {
			snprintf(err, errlen,
			         "unknown member \"%.*s\"; a record has id, category, subject, "
			         "backend, locator, events and attributes",
			         rtn_utf8_clip(key, 64), key);
			return -EINVAL;
		}
	}
	const char *id, *category, *subject, *backend;
	if (get_string(j, "id", RTN_ID_MAX, &id) < 0 || !id) {
		snprintf(err, errlen, "\"id\" is required: a string of 1 to %d bytes", RTN_ID_MAX);
		return -EINVAL;
	}
	if (get_string(j, "category", 256, &category) < 0 || !category ||
	    !rtn_valid_name(category)) {
		snprintf(err, errlen,
		         "\"category\" is required: a name such as job_application (lower-case "
		         "letters, digits, '_', '.' and '-', starting with a letter)");
		return -EINVAL;
	}
	if (get_string(j, "subject", RTN_ID_MAX, &subject) < 0) {
		snprintf(err, errlen, "\"subject\" must be a string of 1 to %d bytes", RTN_ID_MAX);
		return -EINVAL;
	}
	if (get_string(j, "backend", 256, &backend) < 0 || (backend && !rtn_valid_name(backend))) {
		snprintf(err, errlen, "\"backend\" must be a backend name");
		return -EINVAL;
	}
	json_t *loc = json_object_get(j, "locator");
	if (loc && !json_is_null(loc)) {
		char *s = json_dumps(loc, JSON_COMPACT | JSON_ENCODE_ANY);
		size_t n = s ? strlen(s) : 0;
		free(s);
		if (n > RTN_LOCATOR_MAX) {
			snprintf(err, errlen, "\"locator\" is larger than %d bytes",
			         RTN_LOCATOR_MAX);
			return -EINVAL;
		}
	} else {
		loc = NULL;
	}
	json_t *events = json_object(), *attrs = json_object();
	json_t *ev = json_object_get(j, "events");
	if (ev && !json_is_null(ev)) {
		if (!json_is_object(ev)) {
			snprintf(err, errlen, "\"events\" must be an object of NAME: TIME");
			goto bad;
		}
		json_object_foreach(ev, key, v)
		{
			rtn_time_t t;
			if (rtn_event_check(key, v, &t, err, errlen) < 0)
				goto bad;
			json_object_set_new(events, key, json_integer(t));
		}
	}
	if (!json_object_get(events, "created"))
		json_object_set_new(events, "created", json_integer(now));
	json_t *at = json_object_get(j, "attributes");
	if (at && !json_is_null(at)) {
		if (!json_is_object(at)) {
			snprintf(err, errlen, "\"attributes\" must be an object of NAME: VALUE");
			goto bad;
		}
		json_object_foreach(at, key, v)
		{
			if (!rtn_valid_name(key)) {
				snprintf(
				    err, errlen,
				    "invalid attribute name \"%.*s\"; names are lower-case "
				    "letters, digits, '_', '.' and '-', starting with a letter",
				    rtn_utf8_clip(key, 64), key);
				goto bad;
			}
			if (!rtn_attr_value_ok(v)) {
				snprintf(
				    err, errlen,
				    "attribute \"%s\": values are true, false, numbers, strings "
				    "or null",
				    key);
				goto bad;
			}
			json_object_set(attrs, key, v);
		}
	}
	out->id = rtn_xstrdup(id);
	out->category = rtn_xstrdup(category);
	out->subject = rtn_xstrdup(subject);
	out->backend = rtn_xstrdup(backend);
	out->locator = loc ? json_deep_copy(loc) : NULL;
	out->events = events;
	out->attributes = attrs;
	return 0;
bad:
	json_decref(events);
	json_decref(attrs);
	return -EINVAL;
}

int rtn_record_from_json(const json_t *j, rtn_time_t now, struct rtn_record *out, char *err,
                         size_t errlen)
{
	int r = record_from_json(j, now, out, err, errlen);
	if (r < 0 && errlen)
		rtn_utf8_scrub(err); /* a message goes into JSON: never a character cut in two */
	return r;
}

void rtn_record_fini(struct rtn_record *r)
{
	free(r->id);
	free(r->category);
	free(r->subject);
	free(r->backend);
	json_decref(r->locator);
	json_decref(r->attributes);
	json_decref(r->events);
	memset(r, 0, sizeof(*r));
}

void rtn_record_view(const struct rtn_record *r, struct rtn_view_buf *b, struct rtn_record_view *v)
{
	memset(v, 0, sizeof(*v));
	v->id = r->id;
	v->category = r->category;
	v->backend = r->backend;
	v->anonymized_at = RTN_TIME_NONE;
	v->erasure_at = RTN_TIME_NONE;

	size_t n = json_object_size(r->events), i = 0;
	RTN_GROW(b->ev, n, b->evcap);
	const char *key;
	json_t *val;
	json_object_foreach(r->events, key, val)
	{
		b->ev[i].name = key;
		b->ev[i].at = (rtn_time_t)json_integer_value(val);
		i++;
	}
	v->events = b->ev;
	v->nevents = i;

	n = json_object_size(r->attributes);
	i = 0;
	RTN_GROW(b->at, n, b->atcap);
	json_object_foreach(r->attributes, key, val)
	{
		struct rtn_attr *a = &b->at[i++];
		memset(a, 0, sizeof(*a));
		a->name = key;
		if (json_is_boolean(val)) {
			a->type = RTN_ATTR_BOOL;
			a->b = json_is_true(val);
		} else if (json_is_number(val)) {
			a->type = RTN_ATTR_NUMBER;
			a->n = json_number_value(val);
		} else if (json_is_string(val)) {
			a->type = RTN_ATTR_STRING;
			a->s = json_string_value(val);
		} else {
			a->type = RTN_ATTR_NULL;
		}
	}
	v->attrs = b->at;
	v->nattrs = i;
}

void rtn_view_buf_fini(struct rtn_view_buf *b)
{
	free(b->ev);
	free(b->at);
	memset(b, 0, sizeof(*b));
}
