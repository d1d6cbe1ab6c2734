/* inventory.c - the inventory's data types (rows, jobs, encoded members), the same for
 * every implementation */
#include "inventory.h"

#include <stdlib.h>
#include <string.h>

void rtn_inv_row_fini(struct rtn_inv_row *row)
{
	rtn_record_fini(&row->rec);
	free(row->deleted_rule);
	free(row->deleted_job);
	free(row->deleted_outcome);
	free(row->anon_rule_buf);
	free(row->del_rule_buf);
	free(row->next_backend_buf);
	free(row->review_mark);
	free(row->locator_text);
	free(row->notice_rule_buf);
	free(row->notice_backend_buf);
	memset(row, 0, sizeof(*row));
}

void rtn_inv_job_fini(struct rtn_inv_job *j)
{
	free(j->job);
	free(j->record);
	free(j->category);
	free(j->action);
	free(j->rule);
	free(j->backend);
	free(j->state);
	free(j->last_error);
	free(j->subject);
	free(j->anchor);
	free(j->outcome);
	free(j->notice_of);
	memset(j, 0, sizeof(*j));
}

void rtn_inv_text_of(const struct rtn_record *r, struct rtn_inv_text *t)
{
	t->locator = r->locator ? json_dumps(r->locator, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	t->events = json_dumps(r->events, JSON_COMPACT);
	t->attributes = json_dumps(r->attributes, JSON_COMPACT);
	t->scan_hash = NULL;
}

void rtn_inv_text_fini(struct rtn_inv_text *t)
{
	free(t->locator);
	free(t->events);
	free(t->attributes);
	free(t->scan_hash);
	memset(t, 0, sizeof(*t));
}
