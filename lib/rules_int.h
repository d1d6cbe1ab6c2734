/* rules_int.h - what rules.c, rules_stmt.c (a rule's statements) and rules_ns.c (the
 * namespace blocks) share */
#ifndef RTN_RULES_INT_H
#define RTN_RULES_INT_H

#include <openssl/evp.h>

#include "rules.h"
#include "syntax.h"

/* The action statement of a rule (delete, anonymize, keep: SPAN after ANCHOR, or
 * forever): r's action, span and anchor, or -EINVAL with the problem in d. */
int rtn_rules_parse_action(const char *file, const struct rtn_stmt *s, enum rtn_action act,
                           struct rtn_rule *r, struct rtn_diags *d);
/* A when/unless condition appended to r, or -EINVAL with the problem in d. */
int rtn_rules_parse_cond(const char *file, const struct rtn_stmt *s, struct rtn_rule *r,
                         struct rtn_diags *d);

/* "notify SPAN before" and "notify-backend NAME" (rules_notify.c): true when s is one of
 * them (then *ret is 0, or -EINVAL with the problem in d), false for any other statement. */
bool rtn_rules_notify_clause(const char *file, const struct rtn_stmt *s, struct rtn_rule *r,
                             struct rtn_diags *d, int *ret);
/* What the notify clauses need of the rule as a whole: a deleting or anonymising action
 * for notify, notify for notify-backend. 0 or -EINVAL. */
int rtn_rules_notify_check(const char *file, const struct rtn_rule *r, bool has_action,
                           struct rtn_diags *d);
/* The canonical lines of the notify clauses ("" when none): caller frees. */
char *rtn_rules_notify_canonical(const struct rtn_rule *r);

/* namespace NAME { erasure-deadline SPAN  fiscal-year-start MONTH }: appended to rs,
 * or -EINVAL with the problems in d (nothing appended). */
int rtn_ns_parse(const char *file, const struct rtn_stmt *s, struct rtn_ruleset *rs,
                 struct rtn_diags *d);
/* Sort the namespaces by name, report one declared twice, and give each rule anchored on
 * end-of-fiscal-year its categories' start month. Before the rules are hashed. 0 or
 * -EINVAL. */
int rtn_ns_finish(struct rtn_ruleset *rs, struct rtn_diags *d);
/* Feed the canonical text of every namespace, in name order, to ctx. */
void rtn_ns_hash(const struct rtn_ruleset *rs, EVP_MD_CTX *ctx);
/* Free the namespaces of rs. */
void rtn_ns_free(struct rtn_ruleset *rs);

#endif
