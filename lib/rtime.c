/* rtime.c - instants, RFC 3339, and calendar arithmetic in a time zone
 *
 * Calendar dates are converted with our own proleptic Gregorian day numbers
 * (days_from_civil/civil_from_days, the same arithmetic as timegm()); the only
 * thing taken from the C library is a zone's UTC offset at an instant
 * (localtime_r()'s tm_gmtoff), asked with the process's TZ naming that zone's
 * file (switched under a mutex when another zone's handle used it last).
 * The zone "UTC" never touches the C library at all.
 */
#include "rtime.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DAY_SECS      86400
#define ZONE_NAME_MAX 256  /* longest zone name accepted, with its NUL */
#define OCACHE_SIZE   4096 /* days (11 years) of cached offsets per zone: 32 KiB */

/*
 * A zone: its name, the TZ value that selects its file, and its cache of UTC
 * offsets per UTC day (see gmtoff_at). A cache entry is one 64-bit word, so
 * threads sharing a handle never see half an entry: the biased day number in
 * the high half, the biased offset (or OFF_VARIES) in the low half, 0 for empty.
 */
struct rtn_zone {
	char *name;
	char *tz; /* ":/usr/share/zoneinfo/Europe/Oslo"; NULL for UTC */
	_Atomic uint64_t *cache;
};

static struct rtn_zone utc_zone = {.name = "UTC"};
static const struct rtn_zone *format_zone = &utc_zone;

static pthread_mutex_t tz_mu = PTHREAD_MUTEX_INITIALIZER;
static char tz_now[PATH_MAX + 2]; /* the TZ value set last here ("": none yet) */

/* A local wall-clock time; the year is wide enough for any int32 span. */
struct wall {
	int64_t year;
	int mon, day, hour, min, sec;
};

static int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool is_leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int month_days(int64_t y, int m)
{
	static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = floordiv(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, struct wall *w)
{
	z += 719468;
	int64_t era = floordiv(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	w->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	w->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	w->year = yoe + era * 400 + (w->mon <= 2);
}

/* Monday = 0 ... Sunday = 6; day 0 (1970-01-01) was a Thursday. */
static int iso_weekday(int64_t days)
{
	return (int)(days + 3 - floordiv(days + 3, 7) * 7);
}

static int64_t wall_secs(const struct wall *w)
{
	return days_from_civil(w->year, w->mon, w->day) * DAY_SECS + w->hour * 3600 + w->min * 60 +
	       w->sec;
}

static void wall_from_secs(int64_t s, struct wall *w)
{
	int64_t days = floordiv(s, DAY_SECS);
	int64_t rem = s - days * DAY_SECS;
	civil_from_days(days, w);
	w->hour = (int)(rem / 3600);
	w->min = (int)(rem / 60 % 60);
	w->sec = (int)(rem % 60);
}

static long libc_gmtoff(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!localtime_r(&tt, &tm))
		return 0;
	return tm.tm_gmtoff;
}

/* Make the process's TZ value tz, unless it is already; the caller holds tz_mu. TZ
 * changed elsewhere (setenv() and tzset() outside this file) goes unnoticed: nothing
 * in the programs does that, and getenv() here would cost a scan of the environment
 * on every offset not cached. */
static void tz_switch(const char *tz)
{
	if (strcmp(tz_now, tz) == 0)
		return;
	if (setenv("TZ", tz, 1) < 0)
		abort(); /* ENOMEM: out of memory ends the program, as in rtn_xmalloc() */
	tzset();
	snprintf(tz_now, sizeof(tz_now), "%s", tz);
}

/* z's offsets at the first and last second of a day, or at t alone (b NULL). */
static void zone_gmtoff(const struct rtn_zone *z, int64_t t, long *a, int64_t t2, long *b)
{
	pthread_mutex_lock(&tz_mu);
	tz_switch(z->tz);
	*a = libc_gmtoff(t);
	if (b)
		*b = libc_gmtoff(t2);
	pthread_mutex_unlock(&tz_mu);
}

/*
 * Zone z's UTC offset in seconds at instant t (callers keep t near the range).
 * glibc re-parses the zone's POSIX rule on every localtime_r() past the last
 * transition stored in the file (that is, for every recent date: ~0.7 us), so
 * offsets are cached per UTC day: a day whose first and last second have the
 * same offset has it throughout (no zone in the tz database has two offset
 * changes less than 3 days apart). Days with a change ask the C library.
 */
#define OFF_VARIES 0xffffffffu
#define DAY_BIAS   ((int64_t)1 << 30) /* days near the range: -719165..2932899 */
#define OFF_BIAS   ((int64_t)1 << 24) /* offsets: |off| < 1 day */

static long gmtoff_at(const struct rtn_zone *z, int64_t t)
{
	if (!z->tz)
		return 0;
	int64_t day = floordiv(t, DAY_SECS);
	uint64_t key = (uint64_t)(day + DAY_BIAS) << 32;
	_Atomic uint64_t *slot = &z->cache[(uint64_t)day % OCACHE_SIZE];
	uint64_t e = atomic_load_explicit(slot, memory_order_relaxed);
	if ((e & ~(uint64_t)UINT32_MAX) != key) {
		long a, b;
		zone_gmtoff(z, day * DAY_SECS, &a, day * DAY_SECS + DAY_SECS - 1, &b);
		uint32_t v =
		    a == b && a > -OFF_BIAS && a < OFF_BIAS ? (uint32_t)(a + OFF_BIAS) : OFF_VARIES;
		e = key | v;
		atomic_store_explicit(slot, e, memory_order_relaxed);
	}
	if ((uint32_t)e != OFF_VARIES)
		return (long)((int64_t)(uint32_t)e - OFF_BIAS);
	long off;
	zone_gmtoff(z, t, &off, 0, NULL);
	return off;
}

static void local_wall(const struct rtn_zone *z, rtn_time_t t, struct wall *w, long *off)
{
	*off = gmtoff_at(z, t);
	wall_from_secs(t + *off, w);
}

/*
 * The instant of local wall time `guess` in zone z (seconds as if the wall time were UTC).
 * The candidate offsets are those in force a day either side and at guess; a
 * candidate is valid if the zone really has that offset at guess - off.
 * Ambiguous (DST overlap): the earliest valid instant after `after` (or else the
 * latest one). Nonexistent (DST gap): the offset before the gap, which moves the
 * wall time forward by the gap. Returns -ERANGE far outside the supported range.
 */
static int resolve(const struct rtn_zone *z, int64_t guess, rtn_time_t after, rtn_time_t *out)
{
	if (guess < RTN_TIME_MIN - 2 * DAY_SECS || guess > RTN_TIME_MAX + 2 * DAY_SECS)
		return -ERANGE;
	long offs[3];
	int n = 0;
	offs[n++] = gmtoff_at(z, guess - DAY_SECS);
	long o = gmtoff_at(z, guess + DAY_SECS);
	if (o == offs[0] && gmtoff_at(z, guess - o) == o) {
		*out = guess - o;
		return 0;
	}
	if (o != offs[0])
		offs[n++] = o;
	o = gmtoff_at(z, guess);
	if (o != offs[0] && (n < 2 || o != offs[1]))
		offs[n++] = o;

	bool found = false, found_after = false;
	rtn_time_t best = 0, latest = 0;
	for (int i = 0; i < n; i++) {
		rtn_time_t t = guess - offs[i];
		if (gmtoff_at(z, t) != offs[i])
			continue;
		if (!found || t > latest)
			latest = t;
		found = true;
		if (t > after && (!found_after || t < best)) {
			best = t;
			found_after = true;
		}
	}
	if (found_after)
		*out = best;
	else if (found)
		*out = latest;
	else
		*out = guess - offs[0];
	return 0;
}

static bool in_range(int64_t t)
{
	return t >= RTN_TIME_MIN && t <= RTN_TIME_MAX;
}

/* The zone file for a relative name without "..", if it is a TZif regular file. */
static bool zone_path(const char *zone, char *path, size_t len)
{
	if (!zone || !*zone || zone[0] == '/' || strlen(zone) >= ZONE_NAME_MAX)
		return false;
	for (const char *p = zone; *p; p++) {
		if (p[0] == '.' && p[1] == '.' && (p == zone || p[-1] == '/') &&
		    (p[2] == '/' || p[2] == '\0'))
			return false;
	}
	const char *dirs[2] = {getenv("TZDIR"), "/usr/share/zoneinfo"};
	for (int i = 0; i < 2; i++) {
		if (!dirs[i] || !*dirs[i])
			continue;
		int n = snprintf(path, len, "%s/%s", dirs[i], zone);
		if (n < 0 || (size_t)n >= len)
			continue;
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;
		struct stat st;
		char magic[4];
		bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && read(fd, magic, 4) == 4 &&
		          memcmp(magic, "TZif", 4) == 0;
		close(fd);
		if (ok)
			return true;
	}
	return false;
}

bool rtn_time_zone_exists(const char *zone)
{
	char path[PATH_MAX];
	return (zone && strcmp(zone, "UTC") == 0) || zone_path(zone, path, sizeof(path));
}

struct rtn_zone *rtn_zone_open(const char *name)
{
	char path[PATH_MAX + 1];
	bool utc = name && strcmp(name, "UTC") == 0;
	if (!utc && !zone_path(name, path + 1, sizeof(path) - 1)) {
		errno = ENOENT;
		return NULL;
	}
	struct rtn_zone *z = rtn_xcalloc(1, sizeof(*z));
	z->name = rtn_xstrdup(name);
	if (!utc) {
		path[0] = ':'; /* the file we checked, whatever TZDIR glibc looks in */
		z->tz = rtn_xstrdup(path);
		z->cache = rtn_xcalloc(OCACHE_SIZE, sizeof(*z->cache));
	}
	return z;
}

void rtn_zone_free(struct rtn_zone *z)
{
	if (!z || z == &utc_zone)
		return;
	free(z->name);
	free(z->tz);
	free(z->cache);
	free(z);
}

const char *rtn_zone_name(const struct rtn_zone *z)
{
	return z->name;
}

const struct rtn_zone *rtn_zone_utc(void)
{
	return &utc_zone;
}

void rtn_time_set_format_zone(const struct rtn_zone *z)
{
	format_zone = z;
	pthread_mutex_lock(&tz_mu);
	tz_switch(z->tz ? z->tz : "UTC0");
	pthread_mutex_unlock(&tz_mu);
}

const struct rtn_zone *rtn_time_format_zone(void)
{
	return format_zone;
}

/* n decimal digits at *p, advancing it; -1 if they are not all digits. */
static int digits(const char **p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	return v;
}

static bool expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

/*
 * Parse "YYYY-MM-DD", optionally followed by [Tt ]HH:MM[:SS[.frac]] and an
 * offset. Sets *has_off (and *off in seconds east of UTC); *carry is the
 * number of seconds to add after resolution (leap second, rounded fraction).
 * With local false, the full RFC 3339 form is required.
 */
static int parse_fields(const char *s, bool local, struct wall *w, bool *has_off, long *off,
                        int *carry)
{
	const char *p = s;
	int y, v;
	*w = (struct wall){0};
	*has_off = false;
	*off = 0;
	*carry = 0;
	if (!s || (y = digits(&p, 4)) < 0 || !expect(&p, '-') || (w->mon = digits(&p, 2)) < 1 ||
	    w->mon > 12 || !expect(&p, '-') || (w->day = digits(&p, 2)) < 1 ||
	    w->day > month_days(y, w->mon))
		return -EINVAL;
	w->year = y;
	if (*p == '\0')
		return local ? 0 : -EINVAL;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -EINVAL;
	p++;
	if ((w->hour = digits(&p, 2)) < 0 || w->hour > 23 || !expect(&p, ':') ||
	    (w->min = digits(&p, 2)) < 0 || w->min > 59)
		return -EINVAL;
	if (*p == '\0')
		return local ? 0 : -EINVAL;
	if (!expect(&p, ':') || (v = digits(&p, 2)) < 0 || v > 60)
		return -EINVAL;
	w->sec = v == 60 ? 59 : v;
	*carry = v == 60;
	if (*p == '\0')
		return local ? 0 : -EINVAL;
	if (*p == '.') {
		const char *f = ++p;
		bool nonzero = false;
		while (*p >= '0' && *p <= '9')
			nonzero |= *p++ != '0';
		if (p == f)
			return -EINVAL;
		*carry += nonzero;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;
		int oh = digits(&p, 2), om;
		if (oh < 0 || oh > 23 || !expect(&p, ':') || (om = digits(&p, 2)) < 0 || om > 59)
			return -EINVAL;
		*off = sign * (oh * 3600L + om * 60L);
	} else {
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;
	*has_off = true;
	return 0;
}

static int parse(const struct rtn_zone *z, const char *s, bool local, rtn_time_t *out)
{
	struct wall w;
	bool has_off;
	long off;
	int carry;
	rtn_time_t t;
	int r = parse_fields(s, local, &w, &has_off, &off, &carry);
	if (r < 0)
		return r;
	if (has_off)
		t = wall_secs(&w) - off;
	else if (resolve(z, wall_secs(&w), INT64_MIN, &t) < 0)
		return -EINVAL;
	t += carry;
	if (!in_range(t))
		return -EINVAL;
	*out = t;
	return 0;
}

int rtn_time_parse(const char *s, rtn_time_t *out)
{
	return parse(&utc_zone, s, false, out); /* an offset is required: no zone used */
}

int rtn_time_parse_local(const struct rtn_zone *z, const char *s, rtn_time_t *out)
{
	return parse(z, s, true, out);
}

/* v (>= 0) in at least width decimal digits, zero-padded; the end. */
static char *put_digits(char *p, int v, int width)
{
	char d[12];
	int n = 0;
	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	while (n < width)
		d[n++] = '0';
	while (n)
		*p++ = d[--n];
	return p;
}

/*
 * The offset is zone z's at t. "Z" is written only when z is "UTC"; any other zone writes its
 * offset, "+00:00" included (Europe/London in winter). A local time RFC 3339 cannot express (an
 * offset with seconds, as in historic LMT, or a local year past 9999) is written in UTC with "Z".
 */
int rtn_time_format_in(const struct rtn_zone *z, rtn_time_t t, char *buf, size_t len)
{
	if (!buf || len < RTN_TIME_FMT_LEN)
		return -EINVAL;
	if (!in_range(t))
		return -ERANGE;
	struct wall w;
	long off;
	local_wall(z, t, &w, &off);
	bool utc = !z->tz;
	if (off % 60 != 0 || off <= -DAY_SECS || off >= DAY_SECS || w.year > 9999) {
		utc = true;
		wall_from_secs(t, &w);
	}
	/* Digits by hand: this runs twice per job sent (its due time, its audit entry). */
	char *p = buf;
	int y = (int)w.year;
	if (y < 0) {
		*p++ = '-';
		y = -y;
	}
	p = put_digits(p, y, 4);
	*p++ = '-';
	p = put_digits(p, w.mon, 2);
	*p++ = '-';
	p = put_digits(p, w.day, 2);
	*p++ = 'T';
	p = put_digits(p, w.hour, 2);
	*p++ = ':';
	p = put_digits(p, w.min, 2);
	*p++ = ':';
	p = put_digits(p, w.sec, 2);
	if (utc) {
		*p++ = 'Z';
	} else {
		long a = off < 0 ? -off : off;
		*p++ = off < 0 ? '-' : '+';
		p = put_digits(p, (int)(a / 3600), 2);
		*p++ = ':';
		p = put_digits(p, (int)(a / 60 % 60), 2);
	}
	*p = '\0';
	return 0;
}

int rtn_time_format(rtn_time_t t, char *buf, size_t len)
{
	return rtn_time_format_in(format_zone, t, buf, len);
}

int rtn_time_add(const struct rtn_zone *z, rtn_time_t t, const struct rtn_span *span,
                 rtn_time_t *out)
{
	if (!in_range(t))
		return -ERANGE;
	struct wall w;
	long off;
	local_wall(z, t, &w, &off);

	/* Years and months on the local date, the day clamped to the month's end.
	 * Every sum below fits int64 for any int32 span fields. */
	int64_t m = w.year * 12 + (w.mon - 1) + (int64_t)span->years * 12 + span->months;
	w.year = floordiv(m, 12);
	w.mon = (int)(m - w.year * 12) + 1;
	if (w.year < -1 || w.year > 10000)
		return -ERANGE;
	if (w.day > month_days(w.year, w.mon))
		w.day = month_days(w.year, w.mon);

	/* Weeks and days as calendar days: the wall clock is kept. */
	int64_t days =
	    days_from_civil(w.year, w.mon, w.day) + (int64_t)span->weeks * 7 + span->days;
	int64_t guess = days * DAY_SECS + w.hour * 3600 + w.min * 60 + w.sec;
	rtn_time_t r;
	if (resolve(z, guess, INT64_MIN, &r) < 0)
		return -ERANGE;

	/* Hours, minutes and seconds as elapsed time. */
	r += (int64_t)span->hours * 3600 + (int64_t)span->minutes * 60 + span->seconds;
	if (!in_range(r))
		return -ERANGE;
	*out = r;
	return 0;
}

/* end_of() with the year starting in month start (1-12) for RTN_PERIOD_FISCAL_YEAR. */
static int end_of(const struct rtn_zone *z, rtn_time_t t, enum rtn_period p, int start,
                  rtn_time_t *out)
{
	if (!in_range(t))
		return -ERANGE;
	struct wall w;
	long off;
	local_wall(z, t, &w, &off);
	int64_t days = days_from_civil(w.year, w.mon, w.day);
	switch (p) {
	case RTN_PERIOD_DAY:
		days += 1;
		break;
	case RTN_PERIOD_WEEK:
		days += 7 - iso_weekday(days);
		break;
	case RTN_PERIOD_MONTH:
	case RTN_PERIOD_QUARTER:
	case RTN_PERIOD_YEAR:
	case RTN_PERIOD_FISCAL_YEAR: {
		int step = p == RTN_PERIOD_MONTH ? 1 : p == RTN_PERIOD_QUARTER ? 3 : 12;
		int shift = p == RTN_PERIOD_FISCAL_YEAR ? start - 1 : 0;
		/* months counted from the period's start: the next period begins a step past
		 * the start of the one t is in */
		int64_t m = w.year * 12 + (w.mon - 1) - shift;
		m = m - (m - floordiv(m, 12) * 12) % step + step + shift;
		days = days_from_civil(floordiv(m, 12), (int)(m - floordiv(m, 12) * 12) + 1, 1);
		break;
	}
	default:
		return -EINVAL;
	}
	rtn_time_t r;
	if (resolve(z, days * DAY_SECS, t, &r) < 0 || !in_range(r))
		return -ERANGE;
	*out = r;
	return 0;
}

int rtn_time_end_of(const struct rtn_zone *z, rtn_time_t t, enum rtn_period p, rtn_time_t *out)
{
	if (p == RTN_PERIOD_FISCAL_YEAR)
		return -EINVAL; /* needs its month: rtn_time_end_of_fiscal_year() */
	return end_of(z, t, p, 1, out);
}

int rtn_time_end_of_fiscal_year(const struct rtn_zone *z, rtn_time_t t, int start_month,
                                rtn_time_t *out)
{
	if (start_month < 1 || start_month > 12)
		return -EINVAL;
	return end_of(z, t, RTN_PERIOD_FISCAL_YEAR, start_month, out);
}

static const char *const month_names[12] = {"january",   "february", "march",    "april",
                                            "may",       "june",     "july",     "august",
                                            "september", "october",  "november", "december"};

int rtn_month_parse(const char *s)
{
	for (int i = 0; i < 12; i++)
		if (strcasecmp(s, month_names[i]) == 0)
			return i + 1;
	if (s[0] >= '1' && s[0] <= '9' &&
	    (!s[1] || (s[0] == '1' && s[1] >= '0' && s[1] <= '2' && !s[2])))
		return s[1] ? 10 + s[1] - '0' : s[0] - '0';
	return -EINVAL;
}

const char *rtn_month_name(int m)
{
	return m >= 1 && m <= 12 ? month_names[m - 1] : "?";
}

bool rtn_span_is_zero(const struct rtn_span *s)
{
	return !s->years && !s->months && !s->weeks && !s->days && !s->hours && !s->minutes &&
	       !s->seconds;
}

double rtn_span_approx_seconds(const struct rtn_span *s)
{
	return s->years * 365.2425 * DAY_SECS + s->months * 30.436875 * DAY_SECS +
	       s->weeks * 7.0 * DAY_SECS + s->days * (double)DAY_SECS + s->hours * 3600.0 +
	       s->minutes * 60.0 + s->seconds;
}

char *rtn_span_format(const struct rtn_span *s)
{
	if (rtn_span_is_zero(s))
		return rtn_xstrdup("immediately");
	const int32_t v[7] = {s->years, s->months,  s->weeks,  s->days,
	                      s->hours, s->minutes, s->seconds};
	static const char *const unit[7] = {"year", "month",  "week",  "day",
	                                    "hour", "minute", "second"};
	char buf[7 * 24];
	size_t n = 0;
	for (int i = 0; i < 7; i++) {
		if (!v[i])
			continue;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%ld %s%s", n ? " " : "",
		                      (long)v[i], unit[i], v[i] == 1 ? "" : "s");
	}
	return rtn_xstrdup(buf);
}
