/* values.c - typed arguments of statements, with diagnostics on bad input */
#include "values.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define SPAN_MAX_N 100000 /* no retention period is longer than this many units */

int rtn_val_nargs(const char *file, const struct rtn_stmt *s, size_t min, size_t max,
                  struct rtn_diags *d)
{
	if (s->nargs < min) {
		const struct rtn_arg *last = s->nargs ? &s->args[s->nargs - 1] : NULL;
		rtn_diag_add(d, RTN_SEV_ERROR, file, last ? last->line : s->line,
		             last ? last->col : s->col, "\"%s\" needs %s%zu argument%s", s->keyword,
		             max == min ? "" : "at least ", min, min == 1 ? "" : "s");
		return -EINVAL;
	}
	if (max && s->nargs > max) {
		const struct rtn_arg *a = &s->args[max];
		rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
		             "too many arguments to \"%s\" (at most %zu)", s->keyword, max);
		return -EINVAL;
	}
	return 0;
}

int rtn_val_noblock(const char *file, const struct rtn_stmt *s, struct rtn_diags *d)
{
	if (!s->block)
		return 0;
	rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col, "\"%s\" does not take a block",
	             s->keyword);
	return -EINVAL;
}

int rtn_val_name(const char *file, const struct rtn_arg *a, const char *what, struct rtn_diags *d)
{
	if (rtn_valid_name(a->text))
		return 0;
	rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
	             "invalid %s \"%s\"; names are lower-case letters, digits, '_', '.' and '-', "
	             "starting with a letter",
	             what, a->text);
	return -EINVAL;
}

static int parse_number(const char *s, long max, long *out)
{
	if (!*s)
		return -EINVAL;
	long v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (v > (LONG_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (*p - '0');
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static const char *const units[] = {"second", "minute", "hour", "day", "week", "month", "year"};

/* Index of unit u (singular or plural) in units[], or -1. */
static int unit_index(const char *u)
{
	for (int i = 0; i < 7; i++) {
		size_t n = strlen(units[i]);
		if (strncmp(u, units[i], n) == 0 && (u[n] == '\0' || (u[n] == 's' && !u[n + 1])))
			return i;
	}
	return -1;
}

static void span_set(struct rtn_span *sp, int unit, int32_t v)
{
	int32_t *fields[] = {&sp->seconds, &sp->minutes, &sp->hours, &sp->days,
	                     &sp->weeks,   &sp->months,  &sp->years};
	*fields[unit] = v;
}

int rtn_val_span(const char *file, const struct rtn_stmt *s, const struct rtn_arg *args, size_t n,
                 struct rtn_span *out, struct rtn_diags *d)
{
	memset(out, 0, sizeof(*out));
	if (n == 0) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
		             "\"%s\" needs a span: \"immediately\" or a number and a unit, such as "
		             "\"1 year\"",
		             s->keyword);
		return -EINVAL;
	}
	if (strcmp(args[0].text, "immediately") == 0 && !args[0].quoted) {
		if (n > 1) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, args[1].line, args[1].col,
			             "\"immediately\" stands alone; unexpected \"%s\"",
			             args[1].text);
			return -EINVAL;
		}
		return 0;
	}
	int bad = 0;
	int32_t seen[7] = {0};
	for (size_t i = 0; i < n; i += 2) {
		const struct rtn_arg *num = &args[i];
		long v;
		if (num->quoted && parse_number(num->text, SPAN_MAX_N, &v) == 0) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, num->line, num->col,
			             "numbers are not quoted: write %s, not \"%s\"", num->text,
			             num->text);
			return -EINVAL;
		}
		int r = num->quoted ? -EINVAL : parse_number(num->text, SPAN_MAX_N, &v);
		if (r == -ERANGE) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, num->line, num->col,
			             "number \"%s\" is too large (at most %d)", num->text,
			             SPAN_MAX_N);
			return -EINVAL;
		}
		if (r < 0) {
			if (unit_index(num->text) >= 0)
				rtn_diag_add(d, RTN_SEV_ERROR, file, num->line, num->col,
				             "expected a number before \"%s\"", num->text);
			else
				rtn_diag_add(d, RTN_SEV_ERROR, file, num->line, num->col,
				             "expected a number, found \"%s\"; a span is "
				             "\"immediately\" or numbers with units, such as "
				             "\"1 year 6 months\"",
				             num->text);
			return -EINVAL;
		}
		if (i + 1 >= n) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, num->line, num->col,
			             "expected a unit after \"%s\"; expected second, minute, hour, "
			             "day, week, month or year",
			             num->text);
			return -EINVAL;
		}
		const struct rtn_arg *u = &args[i + 1];
		int unit = u->quoted ? -1 : unit_index(u->text);
		if (unit < 0) {
			rtn_diag_add(
			    d, RTN_SEV_ERROR, file, u->line, u->col,
			    "unknown unit \"%s\"; expected second, minute, hour, day, week, "
			    "month or year",
			    u->text);
			return -EINVAL;
		}
		if (seen[unit]++) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, u->line, u->col,
			             "unit \"%s\" is given twice", units[unit]);
			bad = 1;
		}
		span_set(out, unit, (int32_t)v);
	}
	return bad ? -EINVAL : 0;
}

/* Index of a short unit (s, min, h, d, w, mo, y) of n bytes at u, or -1. */
static int short_unit(const char *u, size_t n)
{
	static const char *const abbr[] = {"s", "min", "h", "d", "w", "mo", "y"};
	for (int i = 0; i < 7; i++)
		if (strlen(abbr[i]) == n && !strncmp(u, abbr[i], n))
			return i;
	return -1;
}

int rtn_span_parse(const char *s, struct rtn_span *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	int32_t seen[7] = {0};
	const char *p = s;
	int pairs = 0;
	for (;;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		char num[16], unit[16];
		size_t n = strspn(p, "0123456789");
		long v;
		if (!n || n >= sizeof(num)) {
			snprintf(err, errlen,
			         "\"%.64s\" is not a span: expected a number at \"%.16s\"", s, p);
			return -EINVAL;
		}
		memcpy(num, p, n);
		num[n] = '\0';
		p += n;
		if (parse_number(num, SPAN_MAX_N, &v) < 0) {
			snprintf(err, errlen, "%s is too large in a span (at most %d)", num,
			         SPAN_MAX_N);
			return -EINVAL;
		}
		while (*p == ' ')
			p++;
		size_t m = strspn(p, "abcdefghijklmnopqrstuvwxyz");
		if (!m || m >= sizeof(unit)) {
			snprintf(
			    err, errlen,
			    "\"%.64s\" is not a span: expected a unit after %s (s, min, h, d, w, "
			    "mo, y, or second ... year)",
			    s, num);
			return -EINVAL;
		}
		memcpy(unit, p, m);
		unit[m] = '\0';
		p += m;
		int u = short_unit(unit, m);
		if (u < 0)
			u = unit_index(unit);
		if (u < 0) {
			snprintf(
			    err, errlen,
			    "unknown unit \"%s\"%s; expected s, min, h, d, w, mo or y, or second, "
			    "minute, hour, day, week, month or year",
			    unit, strcmp(unit, "m") ? "" : " (minute or month? write min or mo)");
			return -EINVAL;
		}
		if (seen[u]++) {
			snprintf(err, errlen, "unit \"%s\" is given twice in \"%.64s\"", units[u],
			         s);
			return -EINVAL;
		}
		span_set(out, u, (int32_t)v);
		pairs++;
	}
	if (!pairs) {
		snprintf(err, errlen, "an empty span");
		return -EINVAL;
	}
	return 0;
}

int rtn_val_duration(const char *file, const struct rtn_stmt *s, const struct rtn_arg *args,
                     size_t n, int64_t *ms, struct rtn_diags *d)
{
	struct rtn_span sp;
	if (rtn_val_span(file, s, args, n, &sp, d) < 0)
		return -EINVAL;
	if (sp.months || sp.years) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, args[0].line, args[0].col,
		             "\"%s\" needs a fixed duration; months and years vary in length, use "
		             "days or weeks",
		             s->keyword);
		return -EINVAL;
	}
	*ms = ((((int64_t)sp.weeks * 7 + sp.days) * 24 + sp.hours) * 60 + sp.minutes) * 60000 +
	      (int64_t)sp.seconds * 1000;
	return 0;
}

int rtn_val_int(const char *file, const struct rtn_arg *a, long min, long max, long *out,
                struct rtn_diags *d)
{
	long v;
	if (a->quoted || parse_number(a->text, max, &v) < 0 || v < min) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
		             "expected a whole number from %ld to %ld, found \"%s\"", min, max,
		             a->text);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int rtn_val_mode(const char *file, const struct rtn_arg *a, unsigned *out, struct rtn_diags *d)
{
	const char *p = a->text;
	unsigned v = 0;
	int ok = *p == '0' && strlen(p) >= 2 && strlen(p) <= 4;
	for (; ok && *p; p++) {
		if (*p < '0' || *p > '7')
			ok = 0;
		else
			v = v * 8 + (unsigned)(*p - '0');
	}
	if (!ok || a->quoted) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
		             "expected an octal mode such as 0660, found \"%s\"", a->text);
		return -EINVAL;
	}
	*out = v;
	return 0;
}
