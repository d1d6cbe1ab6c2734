/* verify.c - retentiond --verify-audit FILE... [--head HEX] and --check-audit FILE...: the
 * verdicts for a person */
#include "verify.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "audit_check.h"
#include "exits.h"
#include "util.h"

/* The seq of a file's first entry; a file that cannot be read or begins with no entry
 * sorts last (and the verifier names its problem). */
static long long first_seq(const char *path)
{
	uint64_t seq;
	return rtn_audit_first_seq(path, &seq) == 0 ? (long long)seq : -1;
}

struct file_seq {
	const char *path;
	long long seq;
	size_t given;
};

static int by_seq(const void *a, const void *b)
{
	const struct file_seq *x = a, *y = b;
	if ((x->seq < 0) != (y->seq < 0))
		return x->seq < 0 ? 1 : -1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->given < y->given ? -1 : x->given > y->given;
}

/* The files in the order of the chain, whatever order the shell's glob gave them in
 * (audit.log sorts before audit.log.20260101T000000): by the seq of their first entry.
 * A new array of the same strings; the order is said on stderr when it changed. */
static const char **chain_order(const char *const *files, size_t n)
{
	struct file_seq *fs = rtn_xcalloc(n, sizeof(*fs));
	for (size_t i = 0; i < n; i++)
		fs[i] = (struct file_seq){files[i], first_seq(files[i]), i};
	qsort(fs, n, sizeof(*fs), by_seq);
	const char **out = rtn_xcalloc(n, sizeof(*out));
	bool moved = false;
	for (size_t i = 0; i < n; i++) {
		out[i] = fs[i].path;
		moved |= fs[i].given != i;
	}
	if (moved) {
		fprintf(stderr, "retentiond: reading the files in the order of the chain:");
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %s", out[i]);
		fprintf(stderr, "\n");
	}
	free(fs);
	return out;
}

static long long num(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "?";
}

int verify_audit_main(const char *const *files, size_t n, const char *expect_head)
{
	char err[512] = "";
	json_t *res = NULL;
	if (n == 0) {
		fprintf(stderr, "usage: retentiond --verify-audit FILE [FILE...] [--head HEX]\n");
		return RTN_EXIT_USAGE;
	}
	const char **ordered = chain_order(files, n);
	int r = rtn_audit_verify(ordered, n, expect_head, &res, err, sizeof(err));
	free(ordered);
	if (r < 0) {
		fprintf(stderr, "retentiond: --verify-audit: %s\n", err);
		/* -EINVAL: --head is not a hash, a usage error; else a file cannot be read */
		return r == -EINVAL ? RTN_EXIT_USAGE : RTN_EXIT_NOINPUT;
	}
	int valid = json_is_true(json_object_get(res, "valid"));
	if (valid) {
		printf("audit log valid: %lld entries (seq %lld..%lld) in %zu file%s\n",
		       num(res, "entries"), num(res, "first_seq"), num(res, "last_seq"), n,
		       n == 1 ? "" : "s");
		printf("head: %s\n", str(res, "head"));
		json_t *c = json_object_get(res, "continues_from");
		if (c)
			printf("note: the chain continues from %s (seq %lld, head %s); give that "
			       "file first to verify it too\n",
			       json_is_string(json_object_get(c, "file")) ? str(c, "file")
			                                                  : "an earlier file",
			       num(c, "seq"), str(c, "head"));
		json_t *j = json_object_get(res, "journal_head");
		if (j && num(j, "entries_after") == 0)
			printf("the head matches the journal's head\n");
		else if (j)
			printf("the journal's head is seq %lld; %lld entries follow it\n",
			       num(j, "seq"), num(j, "entries_after"));
		else
			printf("compare the head with the last \"audit head:\" line in the journal "
			       "(journalctl -u retentiond), or pass it with --head\n");
	} else {
		json_t *b = json_object_get(res, "first_bad");
		json_t *seq = json_object_get(b, "seq");
		printf("audit log NOT valid\n");
		if (json_is_integer(seq) && strncmp(str(b, "reason"), "seq ", 4) != 0)
			printf("%s:%lld: seq %lld: %s\n", str(b, "file"), num(b, "line"),
			       (long long)json_integer_value(seq), str(b, "reason"));
		else
			printf("%s:%lld: %s\n", str(b, "file"), num(b, "line"), str(b, "reason"));
		printf("%lld entries before it are intact; their head: %s\n", num(res, "entries"),
		       str(res, "head"));
	}
	json_decref(res);
	return valid ? 0 : 1;
}

int check_audit_main(const char *const *files, size_t n)
{
	char err[512] = "";
	json_t *res = NULL;
	if (n == 0) {
		fprintf(stderr, "usage: retentiond --check-audit FILE [FILE...]\n");
		return RTN_EXIT_USAGE;
	}
	struct rtn_audit_check_opts o = {
	    .since = RTN_TIME_NONE, .until = RTN_TIME_NONE, .now = (rtn_time_t)time(NULL)};
	const char **ordered = chain_order(files, n);
	int r = rtn_audit_check(ordered, n, &o, &res, err, sizeof(err));
	free(ordered);
	if (r < 0) {
		fprintf(stderr, "retentiond: --check-audit: %s\n", err);
		return RTN_EXIT_NOINPUT;
	}
	bool ok = json_is_true(json_object_get(res, "ok"));
	printf("audit check %s: %lld entries in %zu file%s\n", ok ? "ok" : "FAILED",
	       num(res, "entries"), n, n == 1 ? "" : "s");
	printf("actions %lld (undated %lld), early %lld, late max %lld s, p99 %lld s\n",
	       num(res, "actions"), num(res, "undated"), num(res, "early"), num(res, "late_max"),
	       num(res, "late_p99"));
	printf("open %lld, lost %lld, missed %lld, unverifiable %lld (no inventory offline: a "
	       "job still out counts as open)\n",
	       num(res, "open"), num(res, "lost"), num(res, "missed"), num(res, "unverifiable"));
	json_t *bad = json_object_get(res, "first_bad");
	if (bad)
		printf("the chain is broken at %s:%lld: %s\n", str(bad, "file"), num(bad, "line"),
		       str(bad, "reason"));
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(res, "problems"), i, p)
	{
		const char *job = json_string_value(json_object_get(p, "job"));
		const char *rec = json_string_value(json_object_get(p, "record"));
		printf("%s seq %lld%s%s%s%s: %s\n", str(p, "kind"), num(p, "seq"),
		       job ? " job " : "", job ? job : "", rec ? " record " : "", rec ? rec : "",
		       str(p, "message"));
	}
	if (num(res, "problems_left_off"))
		printf("(%lld more problems not listed)\n", num(res, "problems_left_off"));
	json_decref(res);
	return ok ? 0 : 1;
}
