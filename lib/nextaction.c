/* nextaction.c - which action of a record's stored schedule is the next one */
#include "nextaction.h"

bool rtn_next_action(const struct rtn_inv_sched *s, rtn_time_t at, struct rtn_next *n)
{
	bool anon = s->anon_at == at;
	n->action = anon ? "anonymize" : "delete";
	n->rule = anon ? s->anon_rule : s->del_rule;
	n->backend = s->next_backend;
	n->at = at;
	return n->rule && (anon || (s->del_at != RTN_TIME_NONE && s->del_at == at));
}
