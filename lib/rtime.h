/* rtime.h - instants, RFC 3339, and calendar arithmetic in the configured zone
 *
 * Instants are Unix seconds. Calendar arithmetic uses the C library's tz database
 * (localtime_r() in the process's zone, set by rtn_time_set_zone(), with a per-thread
 * cache of each day's UTC offset). rtn_time_set_zone() changes the process environment:
 * call it at start-up or from the one thread that does calendar work.
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
};

/* Use zone (an IANA name such as "Europe/Oslo", or "UTC") for every local-time
 * computation of the process. 0, or -ENOENT if the tz database lacks it. */
int rtn_time_set_zone(const char *zone);
/* The zone set last ("UTC" before any call). */
const char *rtn_time_zone(void);
/* True if the tz database has zone (or it is "UTC"). */
bool rtn_time_zone_exists(const char *zone);

/* Parse RFC 3339 with its offset ("2025-03-01T09:30:00+01:00", "...Z"); a fraction
 * of a second rounds up to the next whole second (a deadline is never early).
 * 0 or -EINVAL. */
int rtn_time_parse(const char *s, rtn_time_t *out);
/* Like rtn_time_parse, but also accepts local times in the zone without an offset:
 * "YYYY-MM-DD", "YYYY-MM-DDTHH:MM" and "YYYY-MM-DDTHH:MM:SS". 0 or -EINVAL. */
int rtn_time_parse_local(const char *s, rtn_time_t *out);
/* Write t as RFC 3339 with the zone's offset at t into buf (len >= RTN_TIME_FMT_LEN).
 * 0, or -ERANGE outside RTN_TIME_MIN..RTN_TIME_MAX. */
int rtn_time_format(rtn_time_t t, char *buf, size_t len);

/* t + span in the zone: years and months first (the day clamped to the month's
 * end), then weeks and days as calendar days, then hours, minutes and seconds as
 * elapsed time. A local time that does not exist (DST gap) moves forward by the
 * gap; an ambiguous one (DST overlap) takes the earlier instant.
 * 0, or -ERANGE if the result leaves RTN_TIME_MIN..RTN_TIME_MAX. */
int rtn_time_add(rtn_time_t t, const struct rtn_span *span, rtn_time_t *out);
/* The first instant of the period after the one containing t (end-of-day(t) is the
 * next local midnight, end-of-week the next Monday 00:00, ...). 0 or -ERANGE. */
int rtn_time_end_of(rtn_time_t t, enum rtn_period p, rtn_time_t *out);

/* True if the span is zero ("immediately"). */
bool rtn_span_is_zero(const struct rtn_span *s);
/* Rough length in seconds (month = 30.436875 days, year = 365.2425 days), for lint
 * comparisons only; never for deadlines. */
double rtn_span_approx_seconds(const struct rtn_span *s);
/* Write the span in the rule language ("1 year 6 months", "immediately"); caller frees. */
char *rtn_span_format(const struct rtn_span *s);

#endif
