/* fuzz_record.c - libFuzzer target for record validation (lib/record.c, and record.put's
 * preparation, rtn_put_prepare in lib/engine.c)
 *
 * The input is JSON text, read as the daemon reads a request's arguments. It is validated
 * as one record, then handed to rtn_put_prepare as the arguments of record.put: alone,
 * in a batch of two, and as it is when it has "records". Checked:
 *   - a valid record keeps SPEC §4's limits: id and subject 1 to 512 bytes of UTF-8
 *     without NUL, category and backend names, a locator of at most 64 KiB, events
 *     that are in-range Unix seconds equal to what was given ("created" defaulting to
 *     now), attributes as given;
 *   - it validates again to the same record from its own JSON, with times as integers
 *     and as RFC 3339 strings in the zone; the view for decide shows the same events;
 *   - record.put prepares exactly when every record is valid, and names each invalid
 *     one in its details with the same message;
 *   - every error message is valid UTF-8 (it goes into a JSON reply).
 * Everything is freed, so a leak shows under ASan.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "record.h"
#include "rtime.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW ((rtn_time_t)1740817800) /* 2025-03-01T09:30:00+01:00 */

static void check_msg(const char *err, size_t errlen)
{
	if (!memchr(err, '\0', errlen) || !err[0] || !rtn_valid_utf8(err, strlen(err)))
		abort();
}

static void check_text(const char *s, size_t max)
{
	if (!s || !*s || strlen(s) > max || !rtn_valid_utf8(s, strlen(s)))
		abort();
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_json(const json_t *a, const json_t *b)
{
	return (!a && !b) || (a && b && json_equal((json_t *)a, (json_t *)b));
}

/* The member key of j, or NULL when it is absent or JSON null. */
static json_t *member(const json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);
	return v && !json_is_null(v) ? v : NULL;
}

/* What §4 promises of a record that validated from j. */
static void check_record(const struct rtn_record *r, const json_t *j)
{
	check_text(r->id, RTN_ID_MAX);
	if (strcmp(r->id, json_string_value(json_object_get(j, "id"))) != 0)
		abort();
	if (!rtn_valid_name(r->category) || (r->backend && !rtn_valid_name(r->backend)))
		abort();
	if (r->subject)
		check_text(r->subject, RTN_ID_MAX);
	if (!same_str(r->subject, json_string_value(member(j, "subject"))) ||
	    !same_str(r->backend, json_string_value(member(j, "backend"))))
		abort();
	if (!same_json(r->locator, member(j, "locator")))
		abort();
	if (r->locator) {
		char *s = json_dumps(r->locator, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!s || strlen(s) > RTN_LOCATOR_MAX)
			abort();
		free(s);
	}

	if (!json_is_object(r->events) || !json_is_object(r->attributes))
		abort();
	const char *key;
	json_t *v;
	json_object_foreach(r->events, key, v)
	{
		if (!rtn_valid_name(key) || !json_is_integer(v) ||
		    json_integer_value(v) < RTN_TIME_MIN || json_integer_value(v) > RTN_TIME_MAX)
			abort();
	}
	json_t *given = member(j, "events");
	size_t want = json_object_size(given) + !json_object_get(given, "created");
	if (json_object_size(r->events) != want)
		abort();
	json_object_foreach(given, key, v)
	{
		rtn_time_t t;
		if (rtn_time_from_json(v, &t) < 0 ||
		    json_integer_value(json_object_get(r->events, key)) != t)
			abort();
	}
	if (!json_object_get(given, "created") &&
	    json_integer_value(json_object_get(r->events, "created")) != NOW)
		abort();

	json_object_foreach(r->attributes, key, v)
	{
		if (!rtn_valid_name(key) || !rtn_attr_value_ok(v))
			abort();
	}
	json_t *attrs = member(j, "attributes");
	if (attrs ? !json_equal(attrs, r->attributes) : json_object_size(r->attributes) != 0)
		abort();
}

/* r's JSON form, its events as integers or as RFC 3339 strings. */
static json_t *record_json(const struct rtn_record *r, bool strings)
{
	json_t *ev = json_object();
	const char *key;
	json_t *v;
	json_object_foreach(r->events, key, v)
	{
		rtn_time_t t = (rtn_time_t)json_integer_value(v);
		json_object_set_new(ev, key, strings ? rtn_time_to_json(t) : json_integer(t));
	}
	return json_pack("{s:s, s:s, s:s?, s:s?, s:O?, s:o, s:O}", "id", r->id, "category",
	                 r->category, "subject", r->subject, "backend", r->backend, "locator",
	                 r->locator, "events", ev, "attributes", r->attributes);
}

static bool same_record(const struct rtn_record *a, const struct rtn_record *b)
{
	return strcmp(a->id, b->id) == 0 && strcmp(a->category, b->category) == 0 &&
	       same_str(a->subject, b->subject) && same_str(a->backend, b->backend) &&
	       same_json(a->locator, b->locator) && json_equal(a->events, b->events) &&
	       json_equal(a->attributes, b->attributes);
}

static void round_trip(const struct rtn_record *r, bool strings)
{
	json_t *j = record_json(r, strings);
	struct rtn_record again;
	char err[256];
	if (!j || rtn_record_from_json(j, NOW + 1, &again, err, sizeof(err)) != 0 ||
	    !same_record(r, &again))
		abort();
	rtn_record_fini(&again);
	json_decref(j);
}

static void check_view(const struct rtn_record *r)
{
	struct rtn_view_buf b = {0};
	struct rtn_record_view v;
	rtn_record_view(r, &b, &v);
	if (v.id != r->id || v.category != r->category ||
	    v.nevents != json_object_size(r->events) || v.nattrs != json_object_size(r->attributes))
		abort();
	for (size_t i = 0; i < v.nevents; i++)
		if (json_integer_value(json_object_get(r->events, v.events[i].name)) !=
		    v.events[i].at)
			abort();
	rtn_view_buf_fini(&b);
}

/* Validate one record; returns whether it is valid and leaves the message in err. */
static bool validate(const json_t *j, char *err, size_t errlen)
{
	struct rtn_record r;
	memset(err, 0x55, errlen);
	int rc = rtn_record_from_json(j, NOW, &r, err, errlen);
	if (rc != 0 && rc != -EINVAL)
		abort();
	if (rc < 0) {
		check_msg(err, errlen);
		if (r.id || r.category || r.events || r.attributes)
			abort();
		return false;
	}
	check_record(&r, j);
	round_trip(&r, false);
	round_trip(&r, true);
	check_view(&r);
	rtn_record_fini(&r);
	return true;
}

/* record.put with args (consumed); bad[i] says which records are invalid, n of them. */
static void put(json_t *args, const bool *bad, size_t n, bool refused)
{
	struct rtn_put *p;
	json_t *details;
	char err[512];
	memset(err, 0x55, sizeof(err));
	int rc = rtn_put_prepare(args, NOW, &p, &details, err, sizeof(err));
	if (rc != 0 && rc != -EINVAL)
		abort();
	bool any = refused;
	for (size_t i = 0; i < n; i++)
		any |= bad[i];
	if ((rc == 0) == any)
		abort();
	if (rc == 0) {
		if (!p || details)
			abort();
		rtn_put_free(p);
	} else {
		check_msg(err, sizeof(err)); /* every message is UTF-8 */
		if (p)
			abort();
		size_t nbad = 0;
		for (size_t i = 0; i < n; i++)
			nbad += bad[i];
		if (!refused && json_array_size(details) != nbad)
			abort();
		size_t k;
		json_t *d;
		json_array_foreach(details, k, d)
		{
			json_int_t at = json_integer_value(json_object_get(d, "index"));
			const char *m = json_string_value(json_object_get(d, "message"));
			if (at < 0 || (size_t)at >= n || !bad[at] || !m ||
			    !rtn_valid_utf8(m, strlen(m)))
				abort();
		}
		json_decref(details);
	}
	json_decref(args);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rtn_zone *zone; /* the format zone: JSON times carry its offsets */
	if (!zone) {
		if (!(zone = rtn_zone_open("Europe/Oslo")))
			abort();
		rtn_time_set_format_zone(zone);
	}
	json_error_t je;
	json_t *j =
	    json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return 0;

	/* a time argument (record.event's "at", plan's "until") */
	rtn_time_t t;
	if (rtn_time_from_json(j, &t) == 0) {
		if (t < RTN_TIME_MIN || t > RTN_TIME_MAX)
			abort();
		json_t *s = rtn_time_to_json(t);
		rtn_time_t u;
		if (!json_is_string(s) || rtn_time_from_json(s, &u) != 0 || u != t)
			abort();
		json_decref(s);
	}

	char err[256];
	validate(j, err, sizeof(err));

	if (json_is_object(j) && !json_object_get(j, "records")) {
		/* alone: "quiet" is an argument of record.put, not a member of the record */
		json_t *rec = json_copy(j);
		json_object_del(rec, "quiet");
		bool bad = !validate(rec, err, sizeof(err));
		put(json_deep_copy(j), &bad, 1, false);
		/* in a batch of two */
		bool both[2] = {bad, bad};
		put(json_pack("{s:[O, O]}", "records", rec, rec), both, 2, false);
		json_decref(rec);
	} else if (json_is_object(j)) {
		/* a batch as given: refused as a whole, or record by record */
		json_t *list = json_object_get(j, "records");
		size_t n = json_array_size(list);
		bool refused = !json_is_array(list) || n == 0 || n > RTN_PUT_MAX;
		const char *key;
		json_t *v;
		json_object_foreach(j, key, v) refused |=
		    strcmp(key, "records") && strcmp(key, "quiet");
		bool *bad = rtn_xcalloc(n ? n : 1, sizeof(*bad));
		for (size_t i = 0; i < n && !refused; i++)
			bad[i] = !validate(json_array_get(list, i), err, sizeof(err));
		put(json_deep_copy(j), bad, refused ? 0 : n, refused);
		free(bad);
	}
	json_decref(j);
	return 0;
}
