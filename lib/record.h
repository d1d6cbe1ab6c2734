/* record.h - a record of the inventory: validation of its JSON form, views for decide */
#ifndef RTN_RECORD_H
#define RTN_RECORD_H

#include <jansson.h>

#include "decide.h"
#include "rtime.h"

#define RTN_ID_MAX      512   /* bytes of a record id or subject */
#define RTN_LOCATOR_MAX 65536 /* bytes of a locator's JSON */

struct rtn_record {
	char *id, *category, *subject, *backend; /* subject and backend may be NULL */
	json_t *locator;                         /* any JSON value, or NULL */
	json_t *attributes; /* object: NAME -> true/false/number/string/null; never NULL */
	json_t *events;     /* object: NAME -> integer Unix seconds; never NULL */
};

/* Validate and copy a record from its JSON form (SPEC §4); "created" defaults to now.
 * Read-only members of record.get replies (state, schedule, holds) are ignored.
 * 0, or -EINVAL with a message in err (UTF-8). out must be freed with rtn_record_fini(). */
int rtn_record_from_json(const json_t *j, rtn_time_t now, struct rtn_record *out, char *err,
                         size_t errlen);
/* Free what a record owns. */
void rtn_record_fini(struct rtn_record *r);
/* A time argument: an RFC 3339 string or integer Unix seconds. 0 or -EINVAL. */
int rtn_time_from_json(const json_t *j, rtn_time_t *out);
/* A time for the user: RFC 3339 in the zone, or JSON null for RTN_TIME_NONE. New reference. */
json_t *rtn_time_to_json(rtn_time_t t);
/* Check one attribute value: true, false, number, string or null. */
bool rtn_attr_value_ok(const json_t *v);
/* Check an event or attribute name and its value; 0 or -EINVAL with err. */
int rtn_event_check(const char *name, const json_t *at, rtn_time_t *out, char *err, size_t errlen);

/* Storage for the arrays of a view. */
struct rtn_view_buf {
	struct rtn_event *ev;
	size_t evcap;
	struct rtn_attr *at;
	size_t atcap;
};

/* Fill v to look at r (borrowing r's strings; holds and erasure left empty). */
void rtn_record_view(const struct rtn_record *r, struct rtn_view_buf *b, struct rtn_record_view *v);
/* Free a view buffer. */
void rtn_view_buf_fini(struct rtn_view_buf *b);

#endif
