/* rules.h - retention rules: reading rule files, the loaded rule set, lint */
#ifndef RTN_RULES_H
#define RTN_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "diag.h"
#include "rtime.h"

enum rtn_action { RTN_ACT_DELETE, RTN_ACT_ANONYMIZE, RTN_ACT_KEEP };

enum rtn_anchor_kind {
	RTN_ANCHOR_EVENT,  /* the event's own time */
	RTN_ANCHOR_END_OF, /* first instant of the next period after the event */
	/* "latest(EVENT) of subject", "earliest(EVENT) of subject": the latest (earliest)
	 * time of the event over every live record of the record's subject */
	RTN_ANCHOR_SUBJECT_LATEST,
	RTN_ANCHOR_SUBJECT_EARLIEST,
};

/* Is the anchor one of the subject's records together (latest/earliest of subject)? */
#define RTN_ANCHOR_IS_SUBJECT(a)                                                                   \
	((a)->kind == RTN_ANCHOR_SUBJECT_LATEST || (a)->kind == RTN_ANCHOR_SUBJECT_EARLIEST)

struct rtn_anchor {
	enum rtn_anchor_kind kind;
	enum rtn_period period; /* for RTN_ANCHOR_END_OF */
	char *event;            /* owned */
	int fiscal_start;       /* RTN_PERIOD_FISCAL_YEAR: the year's first month (1-12), from the
	                         * namespace of the rule's categories, set by rtn_ruleset_finish() */
};

enum rtn_cond_kind {
	RTN_COND_TRUE,  /* NAME: the attribute is truthy */
	RTN_COND_EQ,    /* NAME = VALUE */
	RTN_COND_NE,    /* NAME != VALUE */
	RTN_COND_EVENT, /* event NAME: the record has that event */
};

struct rtn_cond {
	enum rtn_cond_kind kind;
	bool unless; /* from 'unless': the rule applies only if the condition fails */
	char *name;  /* owned */
	char *value; /* owned; EQ and NE only */
	int line, col;
};

struct rtn_rule {
	char *name;
	char *file;
	int line, col;
	char **categories;
	size_t ncategories;
	enum rtn_action action;
	bool forever; /* keep forever */
	struct rtn_span span;
	struct rtn_anchor anchor; /* unset when forever */
	struct rtn_cond *conds;
	size_t nconds;
	char *backend; /* NULL: the record's own backend */
	bool review;
	struct rtn_span review_every; /* "review every SPAN": zero when a rejection stands */
	/* "review by GROUP...": the stages of the review in order, each approved by a member
	 * of its unix group (a name may repeat: two people of that group); none (0) for a
	 * plain "review". Each group's id is resolved when the rules are read. */
	char **review_groups;
	gid_t *review_gids;
	size_t nreview_groups; /* at most RTN_REVIEW_STAGES_MAX */
	char *basis;           /* NULL when not given */
	/* "notify SPAN before": a notice job SPAN before each deadline of the rule's action */
	bool notify;
	struct rtn_span notify_span;
	char *notify_backend; /* "notify-backend NAME"; NULL: the action's backend */
	int notify_line, notify_col, notify_backend_line, notify_backend_col; /* where given */
	char hash[65]; /* SHA-256 of the rule's canonical form, hex */
};

/* The most stages one "review by" may name. */
#define RTN_REVIEW_STAGES_MAX 8

struct rtn_category_index; /* category -> rules, private to rules.c */

/* A "namespace NAME { ... }" block: the settings of the categories "NAME.*". */
struct rtn_namespace {
	char *name;
	char *file;
	int line, col;
	bool has_erasure_deadline;
	struct rtn_span erasure_deadline; /* when has_erasure_deadline */
	int fiscal_year_start;            /* 1-12; 0: not set (the rule set's default) */
};

struct rtn_ruleset {
	struct rtn_rule *rules;
	size_t n, cap;
	char hash[65]; /* SHA-256 over every rule's hash in name order, then every namespace
	                * in name order, hex */
	struct rtn_category_index *index;
	size_t nindex;
	struct rtn_namespace *namespaces; /* by name after rtn_ruleset_finish() */
	size_t nnamespaces, nscap;
	int fiscal_year_start; /* where no namespace sets one (retentiond.conf's): 1 after
	                        * rtn_ruleset_init(); set it before rtn_ruleset_finish() */
};

/* Read every "*.rules" file of dir in name order into rs (initialised empty by the
 * caller with rtn_ruleset_init), then rtn_ruleset_finish(). 0, or -EINVAL with
 * the problems in d. A missing directory is an error. */
int rtn_rules_load_dir(const char *dir, struct rtn_ruleset *rs, struct rtn_diags *d);
/* Parse the rules in text (named file in diagnostics) and append them to rs.
 * 0, or -EINVAL if anything was wrong (rules with errors are not appended). */
int rtn_rules_parse(const char *file, const char *text, size_t len, struct rtn_ruleset *rs,
                    struct rtn_diags *d);
/* Cross-rule checks (duplicate names), hashes and the category index. Call once all
 * files are parsed. 0, or -EINVAL. */
int rtn_ruleset_finish(struct rtn_ruleset *rs, struct rtn_diags *d);
/* Checks across rules: warnings for rules that can never apply or never act, a delete
 * shorter than a keep on the same category and anchor (the keep wins), an anonymize
 * never before its delete; errors for backends the config does not name (when
 * backends is not NULL). */
void rtn_ruleset_lint(const struct rtn_ruleset *rs, const char *const *backends, size_t nbackends,
                      struct rtn_diags *d);

/* Start an empty rule set. */
void rtn_ruleset_init(struct rtn_ruleset *rs);
/* Free a rule set and everything it owns. */
void rtn_ruleset_free(struct rtn_ruleset *rs);
/* Move src into dst (freeing dst's old content); src is left empty. */
void rtn_ruleset_move(struct rtn_ruleset *dst, struct rtn_ruleset *src);

/* The rules naming category, in load order; NULL and *n = 0 if none (unmanaged).
 * The array belongs to rs. Valid after rtn_ruleset_finish(). */
const struct rtn_rule *const *rtn_ruleset_for_category(const struct rtn_ruleset *rs,
                                                       const char *category, size_t *n);
/* Does any rule of category anchor on the subject's records (latest/earliest of subject)? */
bool rtn_ruleset_category_subject(const struct rtn_ruleset *rs, const char *category);
/* Does any rule of the set anchor on the subject's records? */
bool rtn_ruleset_any_subject(const struct rtn_ruleset *rs);
/* Does any rule of the set send notices ("notify SPAN before")? */
bool rtn_ruleset_any_notify(const struct rtn_ruleset *rs);
/* The i-th category named by any rule (0 <= i < rs->nindex), in byte order. */
const char *rtn_ruleset_category(const struct rtn_ruleset *rs, size_t i);
/* The rule called name, or NULL. */
const struct rtn_rule *rtn_ruleset_find(const struct rtn_ruleset *rs, const char *name);

/* The namespace block of category's namespace (the part before its first '.'), or NULL
 * (none declared, or a category without '.'). Valid after rtn_ruleset_finish(). */
const struct rtn_namespace *rtn_ruleset_namespace(const struct rtn_ruleset *rs,
                                                  const char *category);

/* "delete", "anonymize" or "keep". */
const char *rtn_action_name(enum rtn_action a);
/* An anchor as written: "received", "end-of-year(created)", "latest(last_activity) of
 * subject"; caller frees. */
char *rtn_anchor_describe(const struct rtn_anchor *a);
/* A condition as written: "unless hired", "when status = closed"; caller frees. */
char *rtn_cond_describe(const struct rtn_cond *c);
/* The rule's statement as written: "delete 1 year after received", "keep forever";
 * caller frees. */
char *rtn_rule_describe(const struct rtn_rule *r);
/* The canonical text of a rule: what it means, not how it was written (its name, each
 * category, its statement, conditions, backend, review and basis, one a line); the rule's
 * hash is the SHA-256 of it. Caller frees. */
char *rtn_rule_canonical(const struct rtn_rule *r);

#endif
