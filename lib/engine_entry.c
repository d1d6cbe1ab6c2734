/* engine_entry.c - the detail of a record.put entry, written in canonical form without a
 * tree (an import writes them by the hundred thousand) */
#include "engine_int.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of o, sorted, in a new array of *n (caller frees; borrowed strings). */
static const char **sorted_keys(const json_t *o, size_t *n)
{
	*n = 0;
	const char **v = rtn_xcalloc(json_object_size(o) + 1, sizeof(*v));
	const char *k;
	json_t *x;
	json_object_foreach((json_t *)o, k, x) v[(*n)++] = k;
	if (*n > 1)
		qsort(v, *n, sizeof(*v), name_cmp);
	return v;
}

/* A time as a JSON string in the entries' format (the seconds when out of range). */
static int put_time(struct rtn_jw *d, rtn_time_t t)
{
	char buf[RTN_TIME_FMT_LEN];
	if (rtn_time_format(t, buf, sizeof(buf)) < 0) {
		rtn_jw_int(d, t);
		return 0;
	}
	return rtn_jw_string(d, buf, strlen(buf));
}

/* "changed": the attribute names added, removed or changed from old (NULL: a new record,
 * so all of them), in byte order. */
static int put_changed(struct rtn_jw *d, const json_t *attrs, const json_t *old)
{
	JW_LIT(d, "\"changed\":[");
	size_t n, m = 0;
	const char **v = sorted_keys(attrs, &n);
	const char **w = old ? sorted_keys(old, &m) : NULL;
	int r = 0;
	bool first = true;
	/* A merge of the two sorted lists: a name in one only, or with another value. */
	for (size_t i = 0, j = 0; r == 0 && (i < n || (old && j < m));) {
		int c = i >= n ? 1 : !old || j >= m ? -1 : strcmp(v[i], w[j]);
		const char *name = c <= 0 ? v[i] : w[j];
		bool differs =
		    !old || c != 0 ||
		    !json_equal(json_object_get(attrs, v[i]), json_object_get(old, w[j]));
		if (differs) {
			if (!first)
				JW_LIT(d, ",");
			first = false;
			r = rtn_jw_string(d, name, strlen(name));
		}
		i += c <= 0;
		j += c >= 0 && old;
	}
	JW_LIT(d, "]");
	free(v);
	free(w);
	return r;
}

static int put_events(struct rtn_jw *d, const json_t *events)
{
	JW_LIT(d, ",\"events\":{");
	size_t n;
	const char **v = sorted_keys(events, &n);
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (i)
			JW_LIT(d, ",");
		r = rtn_jw_string(d, v[i], strlen(v[i]));
		JW_LIT(d, ":");
		if (r == 0)
			r = put_time(d,
			             (rtn_time_t)json_integer_value(json_object_get(events, v[i])));
	}
	JW_LIT(d, "}");
	free(v);
	return r;
}

int rtn_entry_schedule(struct rtn_jw *d, const struct rtn_eval *ev)
{
	const struct rtn_decision *dc = &ev->d;
	if (dc->state != RTN_DS_ACTIVE || !dc->nsched)
		return 0;
	JW_LIT(d, ",\"schedule\":[");
	int r = 0;
	for (size_t i = 0; i < dc->nsched && r == 0; i++) {
		const struct rtn_sched *s = &dc->sched[i];
		const char *rule = rtn_eval_rule(ev, s);
		if (i)
			JW_LIT(d, ",");
		JW_LIT(d, "{\"action\":");
		const char *a = rtn_action_name(s->action);
		r = rtn_jw_string(d, a, strlen(a));
		JW_LIT(d, ",\"due\":");
		if (r == 0)
			r = put_time(d, s->at);
		if (r == 0)
			r = rtn_jw_member(d, "rule", rule ? rule : "");
		JW_LIT(d, "}");
	}
	JW_LIT(d, "]");
	return r;
}

int rtn_entry_put(struct rtn_jw *d, const struct rtn_record *rec, const char *subject,
                  bool inserted, const char *state, const json_t *old_attrs,
                  const struct rtn_eval *ev)
{
	/* Keys in canonical order: changed, events, inserted, schedule, state, subject. */
	JW_LIT(d, "{");
	int r = put_changed(d, rec->attributes, inserted ? NULL : old_attrs);
	if (r == 0)
		r = put_events(d, rec->events);
	if (inserted)
		JW_LIT(d, ",\"inserted\":true");
	else
		JW_LIT(d, ",\"inserted\":false");
	if (r == 0)
		r = rtn_entry_schedule(d, ev);
	if (r == 0)
		r = rtn_jw_member(d, "state", state);
	if (r == 0)
		r = rtn_jw_member(d, "subject", subject);
	JW_LIT(d, "}");
	return r;
}
