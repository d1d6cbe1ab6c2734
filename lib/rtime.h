/* rtime.h - instants, RFC 3339, and calendar arithmetic in a time zone
 *
 * Instants are Unix seconds. Calendar arithmetic happens in a zone given as an
 * argument: a handle (rtn_zone_open(), or rtn_zone_utc()) that carries the zone's
 * name and its own cache of each day's UTC offset (two handles never share cached
 * offsets). Offsets come from the C library's tz database (localtime_r()'s
 * tm_gmtoff); "UTC" never asks it. The C library has no per-zone call, so a handle
 * that needs an offset it has not cached makes its zone the process's TZ
 * (setenv() and tzset(), under a mutex; the cache is safe to share between
 * threads): handles of different zones used alternately switch TZ back and forth,
 * and the C library's own local time (localtime_r() elsewhere) follows the zone
 * switched to last. A program with one zone, made the format zone at start-up
 * (rtn_time_set_format_zone()), never switches.
 *
 * Output is the exception: rtn_time_format() (and what formats through it, such
 * as the JSON and audit times) writes offsets of the process's format zone, set
 * once at start-up; rtn_time_format_in() takes the zone as an argument.
 */
#ifndef RTN_RTIME_H
#define RTN_RTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int64_t rtn_time_t;

#define RTN_TIME_NONE    INT64_MIN                    /* no instant (an event the record lacks) */
#define RTN_TIME_MIN     ((rtn_time_t)-62135596800LL) /* 0001-01-01T00:00:00Z */
#define RTN_TIME_MAX     ((rtn_time_t)253402300799LL) /* 9999-12-31T23:59:59Z */
#define RTN_TIME_FMT_LEN 32 /* enough for any RFC 3339 string rtn_time_format writes */

/* A span of time: "1 year 6 months". Calendar units (years, months, weeks, days)
 * move the local date; hours, minutes and seconds are elapsed time. */
struct rtn_span {
	int32_t years, months, weeks, days, hours, minutes, seconds;
};

enum rtn_period {
	RTN_PERIOD_DAY,
	RTN_PERIOD_WEEK, /* ISO week: Monday to Sunday */
	RTN_PERIOD_MONTH,
	RTN_PERIOD_QUARTER,
	RTN_PERIOD_YEAR,
	RTN_PERIOD_FISCAL_YEAR, /* a year starting on the first of a given month */
};

/* A time zone of the tz database; opaque. */
struct rtn_zone;

/* Open zone (an IANA name such as "Europe/Oslo", or "UTC", which always works):
 * a handle to free with rtn_zone_free(), or NULL with errno ENOENT if the tz
 * database lacks it. */
struct rtn_zone *rtn_zone_open(const char *name);
/* Free a handle from rtn_zone_open(); NULL and rtn_zone_utc() are ignored. */
void rtn_zone_free(struct rtn_zone *z);
/* The name the zone was opened by ("UTC" for rtn_zone_utc()). */
const char *rtn_zone_name(const struct rtn_zone *z);
/* The process-wide UTC handle, for code without a configured zone; never freed. */
const struct rtn_zone *rtn_zone_utc(void);
/* True if the tz database has zone (or it is "UTC"). */
bool rtn_time_zone_exists(const char *zone);

/* The zone rtn_time_format() writes offsets in (rtn_zone_utc() until set); z must
 * outlive its use, so set it back to rtn_zone_utc() before freeing z. Also makes
 * z the process's TZ. Call it at start-up, before other threads format times. */
void rtn_time_set_format_zone(const struct rtn_zone *z);
const struct rtn_zone *rtn_time_format_zone(void);

/* Parse RFC 3339 with its offset ("2025-03-01T09:30:00+01:00", "...Z"); a fraction
 * of a second rounds up to the next whole second (a deadline is never early).
 * 0 or -EINVAL. */
int rtn_time_parse(const char *s, rtn_time_t *out);
/* Like rtn_time_parse, but also accepts local times in zone z without an offset:
 * "YYYY-MM-DD", "YYYY-MM-DDTHH:MM" and "YYYY-MM-DDTHH:MM:SS". 0 or -EINVAL. */
int rtn_time_parse_local(const struct rtn_zone *z, const char *s, rtn_time_t *out);
/* Write t as RFC 3339 with zone z's offset at t into buf (len >= RTN_TIME_FMT_LEN).
 * 0, or -ERANGE outside RTN_TIME_MIN..RTN_TIME_MAX. */
int rtn_time_format_in(const struct rtn_zone *z, rtn_time_t t, char *buf, size_t len);
/* rtn_time_format_in() in the format zone (rtn_time_set_format_zone()). */
int rtn_time_format(rtn_time_t t, char *buf, size_t len);

/* t + span in zone z: years and months first (the day clamped to the month's
 * end), then weeks and days as calendar days, then hours, minutes and seconds as
 * elapsed time. A local time that does not exist (DST gap) moves forward by the
 * gap; an ambiguous one (DST overlap) takes the earlier instant.
 * 0, or -ERANGE if the result leaves RTN_TIME_MIN..RTN_TIME_MAX. */
int rtn_time_add(const struct rtn_zone *z, rtn_time_t t, const struct rtn_span *span,
                 rtn_time_t *out);
/* The first instant of the period after the one containing t in zone z (end-of-day(t)
 * is the next local midnight, end-of-week the next Monday 00:00, ...). 0 or -ERANGE. */
int rtn_time_end_of(const struct rtn_zone *z, rtn_time_t t, enum rtn_period p, rtn_time_t *out);

/* The first instant of the fiscal year after the one containing t in zone z, the fiscal
 * year starting at 00:00 on the first of month start_month (1-12; 1 is end-of-year).
 * An instant at the very start of a fiscal year belongs to it. 0, -EINVAL (month) or
 * -ERANGE. */
int rtn_time_end_of_fiscal_year(const struct rtn_zone *z, rtn_time_t t, int start_month,
                                rtn_time_t *out);
/* A month by its english name ("july", any case) or number ("7"): 1-12, or -EINVAL. */
int rtn_month_parse(const char *s);
/* The lower-case english name of month m (1-12), "?" otherwise. */
const char *rtn_month_name(int m);

/* True if the span is zero ("immediately"). */
bool rtn_span_is_zero(const struct rtn_span *s);
/* Rough length in seconds (month = 30.436875 days, year = 365.2425 days), for lint
 * comparisons only; never for deadlines. */
double rtn_span_approx_seconds(const struct rtn_span *s);
/* Write the span in the rule language ("1 year 6 months", "immediately"); caller frees. */
char *rtn_span_format(const struct rtn_span *s);

#endif
