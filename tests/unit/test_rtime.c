/* test_rtime.c - RFC 3339, zones and calendar arithmetic */
#include "testutil.h"
#include "rtime.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* The zone of the test's local times (Z), also the format zone. */
static struct rtn_zone *Z;

static void zone_use(const char *name)
{
	struct rtn_zone *old = Z;
	Z = rtn_zone_open(name);
	ck_assert_msg(Z != NULL, "cannot open zone %s", name);
	rtn_time_set_format_zone(Z);
	rtn_zone_free(old);
}

static void zone_teardown(void)
{
	rtn_time_set_format_zone(rtn_zone_utc());
	rtn_zone_free(Z);
	Z = NULL;
}

#define ZONE(z) zone_use(z)

/* s parsed with rtn_time_parse_local, or fail the test. */
static rtn_time_t T(const char *s)
{
	rtn_time_t t = 0;
	ck_assert_msg(rtn_time_parse_local(Z ? Z : rtn_zone_utc(), s, &t) == 0, "cannot parse %s",
	              s);
	return t;
}

/* t formatted in the current zone equals want. */
#define FMT_IS(t, want)                                                                            \
	do {                                                                                       \
		char b_[RTN_TIME_FMT_LEN];                                                         \
		ck_assert_int_eq(rtn_time_format_in(Z, (t), b_, sizeof(b_)), 0);                   \
		ck_assert_str_eq(b_, (want));                                                      \
	} while (0)

#define PARSE_IS(s, want)                                                                          \
	do {                                                                                       \
		rtn_time_t p_ = 0;                                                                 \
		ck_assert_msg(rtn_time_parse((s), &p_) == 0, "rejected %s", (s));                  \
		ck_assert_int_eq(p_, (want));                                                      \
	} while (0)

#define PARSE_BAD(s)                                                                               \
	do {                                                                                       \
		rtn_time_t p_ = 42;                                                                \
		ck_assert_msg(rtn_time_parse((s), &p_) == -EINVAL, "accepted %s", (s));            \
		ck_assert_int_eq(p_, 42);                                                          \
	} while (0)

#define LOCAL_IS(s, want) FMT_IS(T(s), want)

#define LOCAL_BAD(s)                                                                               \
	do {                                                                                       \
		rtn_time_t p_;                                                                     \
		ck_assert_msg(rtn_time_parse_local(Z, (s), &p_) == -EINVAL, "accepted %s", (s));   \
	} while (0)

/* from + span (years, months, weeks, days, hours, minutes, seconds) is want. */
#define ADD_IS(from, y, mo, w, d, h, mi, s, want)                                                  \
	do {                                                                                       \
		struct rtn_span sp_ = {y, mo, w, d, h, mi, s};                                     \
		rtn_time_t r_ = 0;                                                                 \
		ck_assert_int_eq(rtn_time_add(Z, T(from), &sp_, &r_), 0);                          \
		FMT_IS(r_, want);                                                                  \
	} while (0)

#define END_IS(from, period, want)                                                                 \
	do {                                                                                       \
		rtn_time_t r_ = 0;                                                                 \
		ck_assert_int_eq(rtn_time_end_of(Z, T(from), (period), &r_), 0);                   \
		FMT_IS(r_, want);                                                                  \
	} while (0)

#define JAN1_2026 ((rtn_time_t)1767225600) /* 2026-01-01T00:00:00Z */

START_TEST(test_zone)
{
	ck_assert_str_eq(rtn_zone_name(rtn_time_format_zone()), "UTC"); /* before any call */
	ZONE("Europe/Oslo");
	ck_assert_str_eq(rtn_zone_name(rtn_time_format_zone()), "Europe/Oslo");
	const char *bad[] = {"Nowhere/Atlantis",
	                     "../../etc/passwd",
	                     "/etc/passwd",
	                     "Europe/../Europe/Oslo",
	                     "",
	                     "Europe",
	                     "zone.tab",
	                     "Europe/Oslo/",
	                     "Europe/..",
	                     NULL};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ck_assert_ptr_null(rtn_zone_open(bad[i]));
		ck_assert_int_eq(errno, ENOENT);
		ck_assert(!rtn_time_zone_exists(bad[i]));
	}
	ck_assert_str_eq(rtn_zone_name(rtn_time_format_zone()),
	                 "Europe/Oslo"); /* unchanged by failures */
	FMT_IS(JAN1_2026, "2026-01-01T01:00:00+01:00");
	ck_assert(rtn_time_zone_exists("UTC"));
	ck_assert(rtn_time_zone_exists("Asia/Kolkata"));
	/* A TZDIR without the zone falls back to /usr/share/zoneinfo. */
	setenv("TZDIR", "/nonexistent", 1);
	ZONE("America/St_Johns");
	unsetenv("TZDIR");
	FMT_IS(JAN1_2026, "2025-12-31T20:30:00-03:30");
	ZONE("UTC");
	ck_assert_str_eq(rtn_zone_name(rtn_time_format_zone()), "UTC");
	FMT_IS(JAN1_2026, "2026-01-01T00:00:00Z");
}
END_TEST

START_TEST(test_parse)
{
	ZONE("Europe/Oslo"); /* the zone must not matter */
	PARSE_IS("2026-01-01T00:00:00Z", JAN1_2026);
	PARSE_IS("2026-01-01t00:00:00z", JAN1_2026);
	PARSE_IS("2026-01-01 00:00:00Z", JAN1_2026);
	PARSE_IS("2026-01-01T01:00:00+01:00", JAN1_2026);
	PARSE_IS("2026-01-01T05:30:00+05:30", JAN1_2026);
	PARSE_IS("2025-12-31T20:30:00-03:30", JAN1_2026);
	PARSE_IS("2025-12-31T23:00:00-01:00", JAN1_2026);
	PARSE_IS("2026-01-01T00:00:00-00:00", JAN1_2026);
	PARSE_IS("2026-01-01T23:59:00+23:59", JAN1_2026);
	/* A fraction rounds up: a deadline is never early. */
	PARSE_IS("2025-12-31T23:59:59.000Z", JAN1_2026 - 1);
	PARSE_IS("2025-12-31T23:59:59.0000001Z", JAN1_2026);
	PARSE_IS("2025-12-31T23:59:59.5+00:00", JAN1_2026);
	PARSE_IS("2025-12-31T23:59:58.99999999999999999999Z", JAN1_2026 - 1);
	/* A leap second is the next second. */
	PARSE_IS("2016-12-31T23:59:60Z", 1483228800);
	PARSE_IS("2016-12-31T23:59:60.25Z", 1483228801);
	PARSE_IS("2017-01-01T00:59:60+01:00", 1483228800);
	/* Feb 29 in leap years only. */
	PARSE_IS("2024-02-29T00:00:00Z", 1709164800);
	PARSE_IS("2000-02-29T00:00:00Z", 951782400);
	PARSE_BAD("2025-02-29T00:00:00Z");
	PARSE_BAD("1900-02-29T00:00:00Z");
	PARSE_BAD("2024-02-30T00:00:00Z");
	/* Year range. */
	PARSE_IS("0001-01-01T00:00:00Z", RTN_TIME_MIN);
	PARSE_IS("0001-01-01T01:00:00+01:00", RTN_TIME_MIN);
	PARSE_IS("0000-12-31T23:00:00-01:00", RTN_TIME_MIN);
	PARSE_IS("9999-12-31T23:59:59Z", RTN_TIME_MAX);
	PARSE_IS("9999-12-31T22:59:59-01:00", RTN_TIME_MAX);
	PARSE_BAD("0000-12-31T23:59:59Z");
	PARSE_BAD("0001-01-01T00:00:00+00:01");
	PARSE_BAD("9999-12-31T23:59:59.1Z");
	PARSE_BAD("9999-12-31T23:59:60Z");
	PARSE_BAD("9999-12-31T23:59:59-00:01");
	/* Every field. */
	PARSE_BAD("2026-00-01T00:00:00Z");
	PARSE_BAD("2026-13-01T00:00:00Z");
	PARSE_BAD("2026-01-00T00:00:00Z");
	PARSE_BAD("2026-01-32T00:00:00Z");
	PARSE_BAD("2026-04-31T00:00:00Z");
	PARSE_BAD("2026-01-01T24:00:00Z");
	PARSE_BAD("2026-01-01T00:60:00Z");
	PARSE_BAD("2026-01-01T00:00:61Z");
	PARSE_BAD("2026-01-01T00:00:00+24:00");
	PARSE_BAD("2026-01-01T00:00:00+01:60");
	PARSE_BAD("2026-01-01T00:00:00+1:00");
	PARSE_BAD("2026-01-01T00:00:00+0100");
	PARSE_BAD("2026-01-01T00:00:00+01");
	PARSE_BAD("2026-01-01T00:00:00 +01:00");
	PARSE_BAD("2026-01-01T00:00:00.Z");
	PARSE_BAD("2026-01-01T00:00:00,5Z");
	PARSE_BAD("2026-01-01T00:00:00");
	PARSE_BAD("2026-01-01T00:00Z");
	PARSE_BAD("2026-01-01");
	PARSE_BAD("2026-1-01T00:00:00Z");
	PARSE_BAD("2026-01-1T00:00:00Z");
	PARSE_BAD("2026-01-01T0:00:00Z");
	PARSE_BAD("02026-01-01T00:00:00Z");
	PARSE_BAD("+2026-01-01T00:00:00Z");
	PARSE_BAD("2026/01/01T00:00:00Z");
	PARSE_BAD("2026-01-01x00:00:00Z");
	PARSE_BAD("2026-01-01  00:00:00Z");
	PARSE_BAD("2026-01-01TT00:00:00Z");
	PARSE_BAD("2026-0a-01T00:00:00Z");
	PARSE_BAD("2026-01-01T00:00:-1Z");
	/* Trailing and leading garbage. */
	PARSE_BAD("2026-01-01T00:00:00Z ");
	PARSE_BAD("2026-01-01T00:00:00Zx");
	PARSE_BAD("2026-01-01T00:00:00ZZ");
	PARSE_BAD("2026-01-01T00:00:00Z\n");
	PARSE_BAD("2026-01-01T00:00:00+01:00x");
	PARSE_BAD("2026-01-01T00:00:00+01:00:00");
	PARSE_BAD(" 2026-01-01T00:00:00Z");
	PARSE_BAD("");
	rtn_time_t t;
	ck_assert_int_eq(rtn_time_parse(NULL, &t), -EINVAL);
	ck_assert_int_eq(rtn_time_parse_local(Z, NULL, &t), -EINVAL);
}
END_TEST

START_TEST(test_parse_local)
{
	ZONE("Europe/Oslo");
	LOCAL_IS("2026-03-01", "2026-03-01T00:00:00+01:00");
	LOCAL_IS("2026-07-01T12:30", "2026-07-01T12:30:00+02:00");
	LOCAL_IS("2026-07-01t12:30", "2026-07-01T12:30:00+02:00");
	LOCAL_IS("2026-07-01T12:30:15", "2026-07-01T12:30:15+02:00");
	LOCAL_IS("2026-07-01 12:30:15", "2026-07-01T12:30:15+02:00");
	LOCAL_IS("2026-07-01T12:30:15Z", "2026-07-01T14:30:15+02:00");
	LOCAL_IS("2026-07-01T12:30:15.1-01:00", "2026-07-01T15:30:16+02:00");
	/* In the spring gap: forward by the gap; in the autumn overlap: the earlier. */
	LOCAL_IS("2026-03-29T02:30", "2026-03-29T03:30:00+02:00");
	LOCAL_IS("2026-03-29T02:00:00", "2026-03-29T03:00:00+02:00");
	LOCAL_IS("2026-03-29T01:59:59", "2026-03-29T01:59:59+01:00");
	LOCAL_IS("2026-10-25T02:30", "2026-10-25T02:30:00+02:00");
	LOCAL_IS("2026-10-25T03:00", "2026-10-25T03:00:00+01:00");
	LOCAL_BAD("2026-03-01T");
	LOCAL_BAD("2026-03-01T12");
	LOCAL_BAD("2026-03-01T12:3");
	LOCAL_BAD("2026-03-01T12:30:1");
	LOCAL_BAD("2026-03-01T12:30:");
	LOCAL_BAD("2026-03-01T12:30:15.5");
	LOCAL_BAD("2026-03-01T12:30+01:00");
	LOCAL_BAD("2026-03-01T24:00");
	LOCAL_BAD("2026-03-01 ");
	LOCAL_BAD("2026-02-29");
	LOCAL_BAD("2026-03");
	LOCAL_BAD("0000-06-01");
	LOCAL_BAD("0001-01-01"); /* 00:43 LMT ahead of UTC: before RTN_TIME_MIN */

	ZONE("America/Santiago"); /* 2022-09-11 00:00 does not exist */
	LOCAL_IS("2022-09-11", "2022-09-11T01:00:00-03:00");
	LOCAL_IS("2022-04-02T23:30", "2022-04-02T23:30:00-03:00");
	ZONE("Asia/Kolkata");
	LOCAL_IS("2026-01-01T05:30", "2026-01-01T05:30:00+05:30");
	ZONE("UTC");
	ck_assert_int_eq(T("0001-01-01"), RTN_TIME_MIN);
	ck_assert_int_eq(T("9999-12-31T23:59:59"), RTN_TIME_MAX);
	ck_assert_int_eq(T("2026-01-01"), JAN1_2026);
}
END_TEST

START_TEST(test_format)
{
	char buf[RTN_TIME_FMT_LEN];
	ZONE("Europe/Oslo");
	FMT_IS(T("2026-03-01T08:30:00Z"), "2026-03-01T09:30:00+01:00");
	FMT_IS(T("2026-07-01T12:00:00Z"), "2026-07-01T14:00:00+02:00");
	FMT_IS(T("2026-03-29T01:00:00Z"), "2026-03-29T03:00:00+02:00");
	FMT_IS(T("2026-03-29T00:59:59Z"), "2026-03-29T01:59:59+01:00");
	FMT_IS(RTN_TIME_MIN, "0001-01-01T00:43:00+00:43"); /* Oslo LMT */
	FMT_IS(RTN_TIME_MAX, "9999-12-31T23:59:59Z");      /* local year 10000 */
	ck_assert_int_eq(rtn_time_format(RTN_TIME_MAX + 1, buf, sizeof(buf)), -ERANGE);
	ck_assert_int_eq(rtn_time_format(RTN_TIME_MIN - 1, buf, sizeof(buf)), -ERANGE);
	ck_assert_int_eq(rtn_time_format(RTN_TIME_NONE, buf, sizeof(buf)), -ERANGE);
	ck_assert_int_eq(rtn_time_format(JAN1_2026, buf, 8), -EINVAL);
	/* "Z" only for the zone UTC; another zone at offset zero writes +00:00. */
	ZONE("UTC");
	FMT_IS(JAN1_2026, "2026-01-01T00:00:00Z");
	FMT_IS(RTN_TIME_MIN, "0001-01-01T00:00:00Z");
	ZONE("Europe/London");
	FMT_IS(JAN1_2026, "2026-01-01T00:00:00+00:00");
	FMT_IS(T("2026-07-01T12:00:00Z"), "2026-07-01T13:00:00+01:00");
	ZONE("Asia/Kolkata");
	FMT_IS(JAN1_2026, "2026-01-01T05:30:00+05:30");
	FMT_IS(RTN_TIME_MAX, "9999-12-31T23:59:59Z");
	ZONE("America/St_Johns");
	FMT_IS(JAN1_2026, "2025-12-31T20:30:00-03:30");
	FMT_IS(T("2026-07-01T12:00:00Z"), "2026-07-01T09:30:00-02:30");
	FMT_IS(RTN_TIME_MIN, "0001-01-01T00:00:00Z"); /* LMT -03:30:52 */
	/* An offset with seconds (Amsterdam LMT +00:19:32) is written in UTC. */
	ZONE("Europe/Amsterdam");
	FMT_IS(T("1800-01-01T00:00:00Z"), "1800-01-01T00:00:00Z");
	FMT_IS(JAN1_2026, "2026-01-01T01:00:00+01:00");

	/* Whatever format writes, parse reads back as the same instant. */
	const char *zones[] = {"Europe/Oslo",      "America/Santiago", "Asia/Kolkata",
	                       "America/St_Johns", "Europe/Amsterdam", "UTC"};
	for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		ZONE(zones[z]);
		for (rtn_time_t t = RTN_TIME_MIN; t <= RTN_TIME_MAX; t += 315569527) {
			rtn_time_t back = 0;
			ck_assert_int_eq(rtn_time_format(t, buf, sizeof(buf)), 0);
			ck_assert_int_eq(rtn_time_parse(buf, &back), 0);
			ck_assert_int_eq(back, t);
		}
	}
	ZONE("Europe/Oslo"); /* every 15 minutes of 2026, both DST changes included */
	for (rtn_time_t t = JAN1_2026; t < JAN1_2026 + 365 * 86400; t += 900) {
		rtn_time_t back = 0;
		ck_assert_int_eq(rtn_time_format(t, buf, sizeof(buf)), 0);
		ck_assert_int_eq(rtn_time_parse(buf, &back), 0);
		ck_assert_int_eq(back, t);
	}
}
END_TEST

START_TEST(test_add_calendar)
{
	ZONE("Europe/Oslo");
	ADD_IS("2026-03-01T09:30", 0, 0, 0, 0, 0, 0, 0, "2026-03-01T09:30:00+01:00");
	/* Leap days. */
	ADD_IS("2024-02-29T12:00", 1, 0, 0, 0, 0, 0, 0, "2025-02-28T12:00:00+01:00");
	ADD_IS("2024-02-29T12:00", 4, 0, 0, 0, 0, 0, 0, "2028-02-29T12:00:00+01:00");
	ADD_IS("2024-02-29T12:00", 0, 12, 0, 0, 0, 0, 0, "2025-02-28T12:00:00+01:00");
	ADD_IS("2024-02-29T12:00", 0, 0, 0, 365, 0, 0, 0, "2025-02-28T12:00:00+01:00");
	ADD_IS("2023-02-28T12:00", 1, 0, 0, 0, 0, 0, 0, "2024-02-28T12:00:00+01:00");
	/* Month ends. */
	ADD_IS("2024-01-31T10:00", 0, 1, 0, 0, 0, 0, 0, "2024-02-29T10:00:00+01:00");
	ADD_IS("2025-01-31T10:00", 0, 1, 0, 0, 0, 0, 0, "2025-02-28T10:00:00+01:00");
	ADD_IS("2026-03-31T10:00", 0, 1, 0, 0, 0, 0, 0, "2026-04-30T10:00:00+02:00");
	ADD_IS("2025-08-31T10:00", 0, 6, 0, 0, 0, 0, 0, "2026-02-28T10:00:00+01:00");
	ADD_IS("2025-08-31T10:00", 0, 18, 0, 0, 0, 0, 0, "2027-02-28T10:00:00+01:00");
	ADD_IS("2025-12-15T10:00", 0, 1, 0, 0, 0, 0, 0, "2026-01-15T10:00:00+01:00");
	ADD_IS("2026-07-31T23:30", 0, 3, 0, 0, 0, 0, 0, "2026-10-31T23:30:00+01:00");
	/* Months first, then days: Jan 31 + 1 month 1 day = Feb 28 + 1 day. */
	ADD_IS("2026-01-31T10:00", 0, 1, 0, 1, 0, 0, 0, "2026-03-01T10:00:00+01:00");
	ADD_IS("2026-01-30T10:00", 0, 1, 0, 0, 1, 0, 0, "2026-02-28T11:00:00+01:00");
	ADD_IS("2025-01-15T10:00", 1, 6, 0, 0, 0, 0, 0, "2026-07-15T10:00:00+02:00");
	/* 12 weeks = 84 days. */
	ADD_IS("2026-01-01", 0, 0, 12, 0, 0, 0, 0, "2026-03-26T00:00:00+01:00");
	ADD_IS("2026-01-01", 0, 0, 0, 84, 0, 0, 0, "2026-03-26T00:00:00+01:00");
	ADD_IS("2026-12-28T08:00", 0, 0, 1, 0, 0, 0, 0, "2027-01-04T08:00:00+01:00");
	ZONE("UTC");
	ADD_IS("2024-02-29", 1, 0, 0, 0, 0, 0, 0, "2025-02-28T00:00:00Z");
	ADD_IS("2025-12-31T23:59:59", 0, 0, 0, 0, 0, 0, 1, "2026-01-01T00:00:00Z");
}
END_TEST

START_TEST(test_add_dst)
{
	struct rtn_span day = {.days = 1}, hours24 = {.hours = 24};
	rtn_time_t t, r;
	ZONE("Europe/Oslo");
	/* Spring forward 2026-03-29: a calendar day is 23 hours, 24 hours is not a day. */
	t = T("2026-03-28T12:00");
	ck_assert_int_eq(rtn_time_add(Z, t, &day, &r), 0);
	FMT_IS(r, "2026-03-29T12:00:00+02:00");
	ck_assert_int_eq(r - t, 23 * 3600);
	ck_assert_int_eq(rtn_time_add(Z, t, &hours24, &r), 0);
	FMT_IS(r, "2026-03-29T13:00:00+02:00");
	/* Fall back 2026-10-25: 25 hours. */
	t = T("2026-10-24T12:00");
	ck_assert_int_eq(rtn_time_add(Z, t, &day, &r), 0);
	FMT_IS(r, "2026-10-25T12:00:00+01:00");
	ck_assert_int_eq(r - t, 25 * 3600);
	ck_assert_int_eq(rtn_time_add(Z, t, &hours24, &r), 0);
	FMT_IS(r, "2026-10-25T11:00:00+01:00");
	/* Landing in the gap moves forward; in the overlap takes the earlier. */
	ADD_IS("2026-03-28T02:30", 0, 0, 0, 1, 0, 0, 0, "2026-03-29T03:30:00+02:00");
	ADD_IS("2026-02-28T02:15", 0, 0, 0, 29, 0, 0, 0, "2026-03-29T03:15:00+02:00");
	ADD_IS("2025-10-25T02:30", 1, 0, 0, 0, 0, 0, 0, "2026-10-25T02:30:00+02:00");
	ADD_IS("2026-10-24T02:30", 0, 0, 0, 1, 0, 0, 0, "2026-10-25T02:30:00+02:00");
	/* From the later 02:30 of the overlap, + 1 day keeps the wall clock. */
	ADD_IS("2026-10-25T02:30:00+01:00", 0, 0, 0, 1, 0, 0, 0, "2026-10-26T02:30:00+01:00");
	/* Hours, minutes and seconds are elapsed time. */
	ADD_IS("2026-03-29T01:30", 0, 0, 0, 0, 1, 0, 0, "2026-03-29T03:30:00+02:00");
	ADD_IS("2026-03-29T01:30", 0, 0, 0, 0, 0, 60, 0, "2026-03-29T03:30:00+02:00");
	ADD_IS("2026-10-25T01:30", 0, 0, 0, 0, 2, 0, 0, "2026-10-25T02:30:00+01:00");
	ADD_IS("2026-10-25T01:30", 0, 0, 0, 0, 0, 0, 3600, "2026-10-25T02:30:00+02:00");
	ZONE("America/Santiago");
	ADD_IS("2022-09-10", 0, 0, 0, 1, 0, 0, 0, "2022-09-11T01:00:00-03:00");
	ADD_IS("2022-08-11", 0, 1, 0, 0, 0, 0, 0, "2022-09-11T01:00:00-03:00");
	ZONE("America/St_Johns");
	ADD_IS("2026-01-15T12:00", 0, 6, 0, 0, 0, 0, 0, "2026-07-15T12:00:00-02:30");
}
END_TEST

START_TEST(test_end_of)
{
	ZONE("Europe/Oslo");
	END_IS("2026-03-01T09:30", RTN_PERIOD_DAY, "2026-03-02T00:00:00+01:00");
	END_IS("2026-03-01T00:00", RTN_PERIOD_DAY, "2026-03-02T00:00:00+01:00");
	END_IS("2026-03-01T23:59:59", RTN_PERIOD_DAY, "2026-03-02T00:00:00+01:00");
	END_IS("2026-03-28T12:00", RTN_PERIOD_DAY, "2026-03-29T00:00:00+01:00");
	END_IS("2026-03-29T12:00", RTN_PERIOD_DAY, "2026-03-30T00:00:00+02:00");
	END_IS("2026-10-25T02:30:00+01:00", RTN_PERIOD_DAY, "2026-10-26T00:00:00+01:00");
	END_IS("2025-12-31T23:30:00Z", RTN_PERIOD_DAY, "2026-01-02T00:00:00+01:00");
	/* ISO weeks: 2026-12-31 is the Thursday of week 53 of 2026. */
	END_IS("2026-12-31T12:00", RTN_PERIOD_WEEK, "2027-01-04T00:00:00+01:00");
	END_IS("2026-03-01T23:59:59", RTN_PERIOD_WEEK, "2026-03-02T00:00:00+01:00"); /* Sunday */
	END_IS("2026-03-02T00:00", RTN_PERIOD_WEEK, "2026-03-09T00:00:00+01:00");    /* Monday */
	END_IS("2026-03-04T15:00", RTN_PERIOD_WEEK, "2026-03-09T00:00:00+01:00");
	END_IS("2026-03-29T12:00", RTN_PERIOD_WEEK, "2026-03-30T00:00:00+02:00");
	END_IS("2026-01-31T23:59:59", RTN_PERIOD_MONTH, "2026-02-01T00:00:00+01:00");
	END_IS("2026-02-01T00:00", RTN_PERIOD_MONTH, "2026-03-01T00:00:00+01:00");
	END_IS("2026-03-15T12:00", RTN_PERIOD_MONTH, "2026-04-01T00:00:00+02:00");
	END_IS("2026-12-15T12:00", RTN_PERIOD_MONTH, "2027-01-01T00:00:00+01:00");
	END_IS("2026-02-10T12:00", RTN_PERIOD_QUARTER, "2026-04-01T00:00:00+02:00");
	END_IS("2026-03-31T23:59:59", RTN_PERIOD_QUARTER, "2026-04-01T00:00:00+02:00");
	END_IS("2026-04-01T00:00", RTN_PERIOD_QUARTER, "2026-07-01T00:00:00+02:00");
	END_IS("2026-08-01T00:00", RTN_PERIOD_QUARTER, "2026-10-01T00:00:00+02:00");
	END_IS("2026-11-30T12:00", RTN_PERIOD_QUARTER, "2027-01-01T00:00:00+01:00");
	END_IS("2026-12-31T23:59:59", RTN_PERIOD_QUARTER, "2027-01-01T00:00:00+01:00");
	END_IS("2026-12-31T23:59:59", RTN_PERIOD_YEAR, "2027-01-01T00:00:00+01:00");
	END_IS("2026-01-01T00:00", RTN_PERIOD_YEAR, "2027-01-01T00:00:00+01:00");
	END_IS("2026-07-01T12:00", RTN_PERIOD_YEAR, "2027-01-01T00:00:00+01:00");
	/* 23:30 UTC on New Year's Eve is already next year in Oslo. */
	END_IS("2026-12-31T23:30:00Z", RTN_PERIOD_YEAR, "2028-01-01T00:00:00+01:00");
	rtn_time_t r;
	ck_assert_int_eq(rtn_time_end_of(Z, JAN1_2026, (enum rtn_period)99, &r), -EINVAL);

	/* Santiago skips 2022-09-11 00:00: the day starts at 01:00. */
	ZONE("America/Santiago");
	END_IS("2022-09-10T12:00", RTN_PERIOD_DAY, "2022-09-11T01:00:00-03:00");
	END_IS("2022-09-10T23:59:59", RTN_PERIOD_DAY, "2022-09-11T01:00:00-03:00");
	END_IS("2022-09-05T12:00", RTN_PERIOD_WEEK, "2022-09-12T00:00:00-03:00");
	/* 2022-04-03 00:00 -03 falls back to 2022-04-02 23:00 -04: 23:xx comes twice,
	 * midnight once. */
	END_IS("2022-04-02T23:30:00-03:00", RTN_PERIOD_DAY, "2022-04-03T00:00:00-04:00");
	END_IS("2022-04-02T23:30:00-04:00", RTN_PERIOD_DAY, "2022-04-03T00:00:00-04:00");
	/* Havana 2022-11-06 01:00 -04 falls back to 00:00 -05: midnight comes twice. */
	ZONE("America/Havana");
	LOCAL_IS("2022-11-06", "2022-11-06T00:00:00-04:00");
	END_IS("2022-11-05T12:00", RTN_PERIOD_DAY, "2022-11-06T00:00:00-04:00");
	END_IS("2022-11-06T00:30:00-05:00", RTN_PERIOD_DAY, "2022-11-07T00:00:00-05:00");
	/* St. John's 2010-11-07 00:01 -02:30 fell back to 2010-11-06 23:01 -03:30: from
	 * the second 23:30 of Nov 6 (after the first midnight), the day ends at the
	 * second midnight, never in the past. */
	ZONE("America/St_Johns");
	END_IS("2010-11-06T23:30:00-02:30", RTN_PERIOD_DAY, "2010-11-07T00:00:00-02:30");
	END_IS("2010-11-06T23:30:00-03:30", RTN_PERIOD_DAY, "2010-11-07T00:00:00-03:30");
	END_IS("2010-11-03T12:00", RTN_PERIOD_WEEK, "2010-11-08T00:00:00-03:30");
	ZONE("Asia/Kolkata");
	END_IS("2026-06-15T12:00", RTN_PERIOD_DAY, "2026-06-16T00:00:00+05:30");
	END_IS("2026-06-30T20:00:00Z", RTN_PERIOD_QUARTER, "2026-10-01T00:00:00+05:30");
	ZONE("America/St_Johns");
	END_IS("2026-12-31T12:00", RTN_PERIOD_YEAR, "2027-01-01T00:00:00-03:30");
	ZONE("UTC");
	END_IS("2026-12-31T23:59:59", RTN_PERIOD_YEAR, "2027-01-01T00:00:00Z");
}
END_TEST

/* t in zone z + span (days) is want, written in z, and (elapsed) hours later. */
static void day_later_is(const struct rtn_zone *z, const char *from, rtn_time_t want_from,
                         const char *want, int64_t hours)
{
	struct rtn_span day = {.days = 1};
	rtn_time_t t = 0, r = 0;
	char b[RTN_TIME_FMT_LEN];
	ck_assert_int_eq(rtn_time_parse_local(z, from, &t), 0);
	ck_assert_int_eq(t, want_from);
	ck_assert_int_eq(rtn_time_add(z, t, &day, &r), 0);
	ck_assert_int_eq(rtn_time_format_in(z, r, b, sizeof(b)), 0);
	ck_assert_msg(strcmp(b, want) == 0, "%s: %s + 1 day = %s, expected %s", rtn_zone_name(z),
	              from, b, want);
	ck_assert_int_eq(r - t, hours * 3600);
}

/* Handles of different zones used alternately each give their own answers, on a DST
 * day of each (whose offsets are asked of the C library every time, so TZ switches
 * back and forth); UTC is unaffected, and so is the format zone. */
#define FISCAL_IS(from, month, want)                                                               \
	do {                                                                                       \
		rtn_time_t r_ = 0;                                                                 \
		ck_assert_int_eq(rtn_time_end_of_fiscal_year(Z, T(from), (month), &r_), 0);        \
		FMT_IS(r_, want);                                                                  \
	} while (0)

/* A fiscal year starting in July, at and around its boundary, and across DST in Oslo. */
START_TEST(test_end_of_fiscal_year)
{
	ZONE("Europe/Oslo");
	FISCAL_IS("2026-03-10T12:00", 7, "2026-07-01T00:00:00+02:00"); /* winter -> summer */
	FISCAL_IS("2026-03-10", 7, "2026-07-01T00:00:00+02:00");
	FISCAL_IS("2026-06-30T23:59:59", 7, "2026-07-01T00:00:00+02:00");
	FISCAL_IS("2026-06-30T21:59:59Z", 7, "2026-07-01T00:00:00+02:00"); /* 23:59:59 local */
	/* the very start of a fiscal year belongs to it, as 1 January does to end-of-year */
	FISCAL_IS("2026-07-01T00:00", 7, "2027-07-01T00:00:00+02:00");
	FISCAL_IS("2026-06-30T22:00:00Z", 7, "2027-07-01T00:00:00+02:00"); /* 00:00 local */
	FISCAL_IS("2026-07-01T00:00:01", 7, "2027-07-01T00:00:00+02:00");
	FISCAL_IS("2026-12-31T23:59:59", 7, "2027-07-01T00:00:00+02:00");
	FISCAL_IS("2027-01-01T00:00", 7, "2027-07-01T00:00:00+02:00");
	/* an instant UTC puts in June, local time in July */
	FISCAL_IS("2026-06-30T23:30:00Z", 7, "2027-07-01T00:00:00+02:00");
	/* summer start: the night DST begins (29 March 2026, 02:00 -> 03:00) and ends */
	FISCAL_IS("2026-03-29T01:30", 4, "2026-04-01T00:00:00+02:00");
	FISCAL_IS("2026-03-29T03:30", 4, "2026-04-01T00:00:00+02:00");
	FISCAL_IS("2026-10-25T02:30:00+02:00", 11, "2026-11-01T00:00:00+01:00");
	FISCAL_IS("2026-10-25T02:30:00+01:00", 11, "2026-11-01T00:00:00+01:00");
	FISCAL_IS("2026-11-01T00:00", 11, "2027-11-01T00:00:00+01:00");
	/* a year starting in January is end-of-year; December's start is a month off it */
	FISCAL_IS("2026-07-01T12:00", 1, "2027-01-01T00:00:00+01:00");
	FISCAL_IS("2026-01-01T00:00", 1, "2027-01-01T00:00:00+01:00");
	FISCAL_IS("2026-11-30T23:59:59", 12, "2026-12-01T00:00:00+01:00");
	FISCAL_IS("2026-12-01T00:00", 12, "2027-12-01T00:00:00+01:00");
	ZONE("UTC");
	FISCAL_IS("2026-06-30T23:30:00Z", 7, "2026-07-01T00:00:00Z");
	rtn_time_t r;
	ck_assert_int_eq(rtn_time_end_of_fiscal_year(Z, JAN1_2026, 0, &r), -EINVAL);
	ck_assert_int_eq(rtn_time_end_of_fiscal_year(Z, JAN1_2026, 13, &r), -EINVAL);
	ck_assert_int_eq(rtn_time_end_of_fiscal_year(Z, RTN_TIME_MAX, 7, &r), -ERANGE);
	ck_assert_int_eq(rtn_time_end_of_fiscal_year(Z, RTN_TIME_NONE, 7, &r), -ERANGE);
	/* the generic call has no month to go by */
	ck_assert_int_eq(rtn_time_end_of(Z, JAN1_2026, RTN_PERIOD_FISCAL_YEAR, &r), -EINVAL);
}
END_TEST

START_TEST(test_month_parse)
{
	ck_assert_int_eq(rtn_month_parse("january"), 1);
	ck_assert_int_eq(rtn_month_parse("July"), 7);
	ck_assert_int_eq(rtn_month_parse("DECEMBER"), 12);
	ck_assert_int_eq(rtn_month_parse("1"), 1);
	ck_assert_int_eq(rtn_month_parse("7"), 7);
	ck_assert_int_eq(rtn_month_parse("10"), 10);
	ck_assert_int_eq(rtn_month_parse("12"), 12);
	const char *bad[] = {"", "0", "13", "07", "jul", "julyy", "1 ", "-1", "+7", "19", "100"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(rtn_month_parse(bad[i]) == -EINVAL, "accepted \"%s\"", bad[i]);
	ck_assert_str_eq(rtn_month_name(7), "july");
	ck_assert_str_eq(rtn_month_name(0), "?");
}
END_TEST

START_TEST(test_zones_alternate)
{
	struct rtn_zone *oslo = rtn_zone_open("Europe/Oslo");
	struct rtn_zone *ny = rtn_zone_open("America/New_York");
	struct rtn_zone *akl = rtn_zone_open("Pacific/Auckland");
	struct rtn_zone *utc = rtn_zone_open("UTC");
	ck_assert(oslo && ny && akl && utc);
	ck_assert_str_eq(rtn_zone_name(oslo), "Europe/Oslo");
	ck_assert_str_eq(rtn_zone_name(utc), "UTC");
	ck_assert_str_eq(rtn_zone_name(rtn_zone_utc()), "UTC");
	rtn_time_t r;
	for (int round = 0; round < 3; round++) {
		/* Spring forward: Oslo 2026-03-29, New York 2026-03-08; Auckland falls back
		 * 2026-04-05. */
		day_later_is(oslo, "2026-03-28T12:00", 1774695600, "2026-03-29T12:00:00+02:00", 23);
		day_later_is(ny, "2026-03-07T12:00", 1772902800, "2026-03-08T12:00:00-04:00", 23);
		day_later_is(akl, "2026-04-04T12:00", 1775257200, "2026-04-05T12:00:00+12:00", 25);
		day_later_is(utc, "2026-03-28T12:00", 1774699200, "2026-03-29T12:00:00Z", 24);
		day_later_is(rtn_zone_utc(), "2026-03-07T12:00", 1772884800, "2026-03-08T12:00:00Z",
		             24);
		ck_assert_int_eq(rtn_time_end_of(ny, 1772947800, RTN_PERIOD_DAY, &r), 0);
		ck_assert_int_eq(r, 1773028800); /* 2026-03-09T00:00:00-04:00 */
		ck_assert_int_eq(rtn_time_end_of(akl, 1775302200, RTN_PERIOD_DAY, &r), 0);
		ck_assert_int_eq(r, 1775390400); /* 2026-04-06T00:00:00+12:00 */
		ck_assert_int_eq(rtn_time_end_of(oslo, 1774695600, RTN_PERIOD_DAY, &r), 0);
		ck_assert_int_eq(r, 1774738800); /* 2026-03-29T00:00:00+01:00 */
		ck_assert_int_eq(rtn_time_end_of(utc, 1774695600, RTN_PERIOD_DAY, &r), 0);
		ck_assert_int_eq(r, 1774742400); /* 2026-03-29T00:00:00Z */
	}
	ck_assert_ptr_eq(rtn_time_format_zone(), rtn_zone_utc());
	char b[RTN_TIME_FMT_LEN];
	ck_assert_int_eq(rtn_time_format(1774695600, b, sizeof(b)), 0);
	ck_assert_str_eq(b, "2026-03-28T11:00:00Z");
	rtn_zone_free(oslo);
	rtn_zone_free(ny);
	rtn_zone_free(akl);
	rtn_zone_free(utc);
	rtn_zone_free(NULL);
	rtn_zone_free((struct rtn_zone *)rtn_zone_utc()); /* ignored */
	ck_assert_str_eq(rtn_zone_name(rtn_zone_utc()), "UTC");
}
END_TEST

START_TEST(test_range)
{
	struct rtn_span one_s = {.seconds = 1}, zero = {0},
	                max = {INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX,
	                       INT32_MAX, INT32_MAX, INT32_MAX};
	struct rtn_span min = {INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN,
	                       INT32_MIN, INT32_MIN, INT32_MIN};
	rtn_time_t r = 7;
	const char *zones[] = {"UTC", "Europe/Oslo", "America/St_Johns", "Asia/Kolkata"};
	for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		ZONE(zones[z]);
		ck_assert_int_eq(rtn_time_add(Z, RTN_TIME_MAX, &one_s, &r), -ERANGE);
		ck_assert_int_eq(rtn_time_add(Z, RTN_TIME_MAX - 1, &one_s, &r), 0);
		ck_assert_int_eq(r, RTN_TIME_MAX);
		ck_assert_int_eq(rtn_time_add(Z, RTN_TIME_MIN, &zero, &r), 0);
		ck_assert_int_eq(r, RTN_TIME_MIN);
		ck_assert_int_eq(rtn_time_add(Z, RTN_TIME_NONE, &zero, &r), -ERANGE);
		ck_assert_int_eq(rtn_time_add(Z, RTN_TIME_MAX + 1, &zero, &r), -ERANGE);
		ck_assert_int_eq(rtn_time_add(Z, JAN1_2026, &max, &r), -ERANGE);
		ck_assert_int_eq(rtn_time_add(Z, JAN1_2026, &min, &r), -ERANGE);
		ck_assert_int_eq(rtn_time_add(Z, RTN_TIME_MAX, &min, &r), -ERANGE);
		ck_assert_int_eq(rtn_time_add(Z, RTN_TIME_MIN, &max, &r), -ERANGE);
		for (int f = 0; f < 7; f++) {
			struct rtn_span s = {0};
			int32_t *v = &s.years;
			v[f] = INT32_MAX;
			/* 2^31 minutes is 4083 years, 2^31 seconds 68 years. */
			ck_assert_int_eq(rtn_time_add(Z, JAN1_2026, &s, &r), f >= 5 ? 0 : -ERANGE);
			v[f] = INT32_MIN;
			ck_assert_int_eq(rtn_time_add(Z, JAN1_2026, &s, &r), f == 6 ? 0 : -ERANGE);
		}
		for (int p = RTN_PERIOD_DAY; p <= RTN_PERIOD_YEAR; p++) {
			ck_assert_int_eq(rtn_time_end_of(Z, RTN_TIME_MAX, p, &r), -ERANGE);
			ck_assert_int_eq(rtn_time_end_of(Z, RTN_TIME_NONE, p, &r), -ERANGE);
			ck_assert_int_eq(rtn_time_end_of(Z, RTN_TIME_MIN, p, &r), 0);
		}
	}
	ZONE("Europe/Oslo");
	/* 10000-01-01T00:00+01:00 is still within range: 9999-12-31T23:00:00Z. */
	struct rtn_span month = {.months = 1}, month_hour = {.months = 1, .hours = 1};
	ck_assert_int_eq(rtn_time_add(Z, T("9999-12-01"), &month, &r), 0);
	FMT_IS(r, "9999-12-31T23:00:00Z");
	ck_assert_int_eq(rtn_time_add(Z, T("9999-12-01"), &month_hour, &r), -ERANGE);
	ck_assert_int_eq(rtn_time_add(Z, T("9999-12-02"), &month, &r), -ERANGE);
	ck_assert_int_eq(rtn_time_add(Z, T("9999-11-30"), &month, &r), 0);
	FMT_IS(r, "9999-12-30T00:00:00+01:00");
	ck_assert_int_eq(rtn_time_end_of(Z, T("9999-12-31"), RTN_PERIOD_DAY, &r), 0);
	FMT_IS(r, "9999-12-31T23:00:00Z");
	ck_assert_int_eq(rtn_time_end_of(Z, T("9999-12-31"), RTN_PERIOD_WEEK, &r), -ERANGE);
	ck_assert_int_eq(rtn_time_end_of(Z, T("9999-12-31T23:00:00Z"), RTN_PERIOD_DAY, &r),
	                 -ERANGE);
	ZONE("UTC");
	ck_assert_int_eq(rtn_time_end_of(Z, T("9999-12-30T12:00"), RTN_PERIOD_DAY, &r), 0);
	ck_assert_int_eq(r, RTN_TIME_MAX - 86400 + 1);
}
END_TEST

START_TEST(test_span)
{
	struct rtn_span zero = {0}, ys = {.years = 1, .months = 6}, w12 = {.weeks = 12},
	                one = {1, 1, 1, 1, 1, 1, 1}, two = {2, 2, 2, 2, 2, 2, 2}, d = {.days = 1},
	                s = {.seconds = 1}, min = {INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN,
	                                           INT32_MIN, INT32_MIN, INT32_MIN};
	ck_assert(rtn_span_is_zero(&zero));
	ck_assert(!rtn_span_is_zero(&s));
	ck_assert(!rtn_span_is_zero(&ys));
	struct {
		const struct rtn_span *s;
		const char *want;
	} cases[] = {
	    {&zero, "immediately"},
	    {&ys, "1 year 6 months"},
	    {&w12, "12 weeks"},
	    {&d, "1 day"},
	    {&s, "1 second"},
	    {&one, "1 year 1 month 1 week 1 day 1 hour 1 minute 1 second"},
	    {&two, "2 years 2 months 2 weeks 2 days 2 hours 2 minutes 2 seconds"},
	    {&min, "-2147483648 years -2147483648 months -2147483648 weeks -2147483648 days "
	           "-2147483648 hours -2147483648 minutes -2147483648 seconds"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = rtn_span_format(cases[i].s);
		ck_assert_str_eq(got, cases[i].want);
		free(got);
	}
	struct rtn_span y = {.years = 1}, m = {.months = 1};
	ck_assert_double_eq_tol(rtn_span_approx_seconds(&zero), 0, 1e-6);
	ck_assert_double_eq_tol(rtn_span_approx_seconds(&y), 31556952, 1e-6);
	ck_assert_double_eq_tol(rtn_span_approx_seconds(&m), 2629746, 1e-6);
	ck_assert_double_eq_tol(rtn_span_approx_seconds(&w12), 7257600, 1e-6);
	ck_assert_double_eq_tol(rtn_span_approx_seconds(&ys), 31556952 + 6 * 2629746, 1e-6);
	ck_assert_double_eq_tol(rtn_span_approx_seconds(&one),
	                        31556952 + 2629746 + 604800 + 86400 + 3600 + 60 + 1, 1e-6);
}
END_TEST

static Suite *rtime_suite(void)
{
	Suite *s = suite_create("rtime");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, NULL, zone_teardown);
	tcase_add_test(tc, test_zone);
	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_parse_local);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_add_calendar);
	tcase_add_test(tc, test_add_dst);
	tcase_add_test(tc, test_end_of);
	tcase_add_test(tc, test_end_of_fiscal_year);
	tcase_add_test(tc, test_month_parse);
	tcase_add_test(tc, test_zones_alternate);
	tcase_add_test(tc, test_range);
	tcase_add_test(tc, test_span);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(rtime_suite)
