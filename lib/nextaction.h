/* nextaction.h - which action of a record's stored schedule is the next one: its time,
 * rule and backend. Pure: it reads the schedule it is given and nothing else. */
#ifndef RTN_NEXTACTION_H
#define RTN_NEXTACTION_H

#include <stdbool.h>

#include "inventory.h"

struct rtn_next {
	const char *action;  /* "anonymize" or "delete" */
	const char *rule;    /* the rule of that entry; NULL when the schedule names none */
	const char *backend; /* the backend of the next action; NULL when none */
	rtn_time_t at;
};

/* The entry of schedule s at time at (usually s->next_at): anonymize when the
 * anonymisation falls at it, else delete. True when that entry is really at at and has
 * its rule (a due action can become a job); n is filled either way, borrowing s's
 * strings. */
bool rtn_next_action(const struct rtn_inv_sched *s, rtn_time_t at, struct rtn_next *n);

#endif
