/* engine_tx.c - the engine's transactions and their journal: the bottom layer of the
 * engine, which calls nothing above it */
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void rtn_engine_refresh(struct rtn_engine *e)
{
	e->holds_exist = rtn_inv_any_holds(e->inv);
	e->erasures_exist = rtn_inv_any_erasures(e->inv);
}

static const char AUDIT_FULL[] = "the audit log cannot take entries: nothing was changed";

int rtn_engine_begin(struct rtn_engine *e)
{
	if (e->depth++ > 0)
		return 0;
	e->doomed = false;
	e->why[0] = '\0';
	if (rtn_inv_begin(e->inv) < 0) {
		e->depth = 0;
		return -EIO;
	}
	if (e->journal)
		e->journal->mark(e->journal->ctx);
	return 0;
}

int rtn_engine_commit(struct rtn_engine *e)
{
	if (e->depth <= 0 || e->doomed)
		return -EIO;
	if (e->depth > 1) {
		e->depth--;
		return 0;
	}
	if (e->journal && e->journal->sync(e->journal->ctx) < 0) {
		snprintf(e->why, sizeof(e->why), "%s", AUDIT_FULL);
		return -EIO;
	}
	if (rtn_inv_commit(e->inv) < 0)
		return -EIO;
	e->depth = 0;
	return 0;
}

int rtn_engine_end(struct rtn_engine *e, int r)
{
	if (r == 0)
		r = rtn_engine_commit(e);
	if (r < 0)
		rtn_engine_rollback(e);
	return r;
}

void rtn_engine_rollback(struct rtn_engine *e)
{
	if (e->depth == 0) {
		rtn_inv_rollback(e->inv); /* nothing of ours is open */
		return;
	}
	if (e->depth > 1) {
		e->depth--;
		e->doomed = true;
		return;
	}
	e->depth = 0;
	e->doomed = false;
	rtn_inv_rollback(e->inv);
	if (e->journal)
		e->journal->undo(e->journal->ctx);
	rtn_engine_refresh(e); /* holds or requests of the change are gone again */
}

const char *rtn_engine_errmsg(struct rtn_engine *e)
{
	if (e->why[0])
		return e->why;
	const char *m = rtn_inv_errmsg(e->inv);
	return m && strcmp(m, "not an error") != 0 ? m : "the inventory cannot be written";
}

const char *rtn_engine_pseudonym(const struct rtn_engine *e, const char *subject,
                                 char buf[RTN_PSEUDONYM_LEN + 1])
{
	if (!subject || !e->pseudo)
		return subject;
	rtn_pseudo_of(e->pseudo, subject, buf);
	return buf;
}

static void pseudonym_of(const char *subject, char *out, void *ctx)
{
	rtn_pseudo_of(ctx, subject, out);
}

int rtn_engine_pseudonymize_kept(struct rtn_engine *e, int64_t *n, char **other)
{
	*n = 0;
	*other = NULL;
	if (!e->pseudo)
		return 0;
	/* Once per key: the inventory remembers the key it was last made to use. */
	const char *id = rtn_pseudo_key_id(e->pseudo);
	char *was = rtn_inv_meta_get(e->inv, "pseudonyms");
	bool same = was && strcmp(was, id) == 0;
	if (was && !same)
		*other = was;
	else
		free(was);
	if (same)
		return 0;
	if (rtn_inv_pseudonymize_kept(e->inv, id, pseudonym_of, (void *)e->pseudo, n) < 0) {
		free(*other);
		*other = NULL;
		return -EIO;
	}
	return 0;
}

int rtn_engine_checkpoint(struct rtn_engine *e)
{
	return e->depth ? -EBUSY : rtn_inv_checkpoint(e->inv);
}

int rtn_engine_audit(struct rtn_engine *e, const struct rtn_audit_entry *entry)
{
	if (!e->journal)
		return 0;
	if (e->journal->append(e->journal->ctx, entry) < 0) {
		snprintf(e->why, sizeof(e->why), "%s", AUDIT_FULL);
		return -EIO;
	}
	return 0;
}
