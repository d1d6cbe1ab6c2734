/* rules_notify.c - a rule's notice before its action: "notify SPAN before" and
 * "notify-backend NAME" */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"
#include "util.h"
#include "values.h"

/* notify SPAN before */
static int parse_notify(const char *file, const struct rtn_stmt *s, struct rtn_rule *r,
                        struct rtn_diags *d)
{
	if (r->notify) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
		             "\"notify\" is given twice (first at %d:%d)", r->notify_line,
		             r->notify_col);
		return -EINVAL;
	}
	r->notify = true; /* given, even when wrong: reported once, not also as missing */
	r->notify_line = s->line;
	r->notify_col = s->col;
	const struct rtn_arg *last = s->nargs ? &s->args[s->nargs - 1] : NULL;
	if (!last || last->quoted || strcmp(last->text, "before") != 0) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, last ? last->line : s->line,
		             last ? last->col : s->col,
		             "expected \"notify SPAN before\" (such as \"notify 30 days before\")");
		return -EINVAL;
	}
	if (s->nargs < 2) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, last->line, last->col,
		             "\"notify\" needs a span before \"before\", such as \"notify 30 days "
		             "before\"");
		return -EINVAL;
	}
	if (rtn_val_span(file, s, s->args, s->nargs - 1, &r->notify_span, d) < 0)
		return -EINVAL;
	if (rtn_span_is_zero(&r->notify_span)) {
		rtn_diag_add(
		    d, RTN_SEV_ERROR, file, s->args[0].line, s->args[0].col,
		    "\"notify\" needs a span longer than nothing, such as \"notify 30 days "
		    "before\"");
		return -EINVAL;
	}
	return 0;
}

/* notify-backend NAME */
static int parse_notify_backend(const char *file, const struct rtn_stmt *s, struct rtn_rule *r,
                                struct rtn_diags *d)
{
	if (r->notify_backend_line) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
		             "\"notify-backend\" is given twice (first at %d:%d)",
		             r->notify_backend_line, r->notify_backend_col);
		return -EINVAL;
	}
	r->notify_backend_line = s->line;
	r->notify_backend_col = s->col;
	if (rtn_val_nargs(file, s, 1, 1, d) < 0 ||
	    rtn_val_name(file, &s->args[0], "backend name", d) < 0)
		return -EINVAL;
	r->notify_backend = rtn_xstrdup(s->args[0].text);
	return 0;
}

bool rtn_rules_notify_clause(const char *file, const struct rtn_stmt *s, struct rtn_rule *r,
                             struct rtn_diags *d, int *ret)
{
	bool notify = !strcmp(s->keyword, "notify");
	if (!notify && strcmp(s->keyword, "notify-backend") != 0)
		return false;
	if (rtn_val_noblock(file, s, d) < 0)
		*ret = -EINVAL;
	else
		*ret = notify ? parse_notify(file, s, r, d) : parse_notify_backend(file, s, r, d);
	return true;
}

int rtn_rules_notify_check(const char *file, const struct rtn_rule *r, bool has_action,
                           struct rtn_diags *d)
{
	int bad = 0;
	if (r->notify && has_action && (r->action == RTN_ACT_KEEP || r->forever)) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, r->notify_line, r->notify_col,
		             "\"notify\" only goes with delete or anonymize; rule \"%s\" keeps",
		             r->name);
		bad = 1;
	}
	if (r->notify_backend_line && !r->notify) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, r->notify_backend_line, r->notify_backend_col,
		             "\"notify-backend\" needs \"notify SPAN before\" in rule \"%s\"",
		             r->name);
		bad = 1;
	}
	return bad ? -EINVAL : 0;
}

char *rtn_rules_notify_canonical(const struct rtn_rule *r)
{
	if (!r->notify)
		return rtn_xstrdup("");
	char *span = rtn_span_format(&r->notify_span);
	char *t = rtn_xasprintf("notify %s before\nnotify-backend %s\n", span,
	                        r->notify_backend ? r->notify_backend : "-");
	free(span);
	return t;
}
