/* test_backoff.c - retry delays: full jitter within [MIN, min(MAX, MIN*2^(n-1))] */
#include "testutil.h"
#include "backoff.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

/* A fixed pseudo-random sequence (splitmix64): the tests are reproducible. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t next_rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* The documented upper bound, min(max, min * 2^(n-1)), computed without overflow. */
static int64_t upper(unsigned n, int64_t min, int64_t max)
{
	unsigned shift = n ? n - 1 : 0;
	if (shift >= 62 || min > (INT64_MAX >> shift))
		return max;
	int64_t hi = min << shift;
	return hi < max ? hi : max;
}

START_TEST(within_documented_bounds)
{
	for (int i = 0; i < 200000; i++) {
		int64_t min = 1 + (int64_t)(next_rnd() % 1000000);
		int64_t max = min + (int64_t)(next_rnd() % 5000000000ll);
		unsigned n = 1 + (unsigned)(next_rnd() % 80);
		uint64_t rnd = next_rnd();
		int64_t v = rtn_backoff_ms(n, min, max, rnd);
		int64_t hi = upper(n, min, max);
		ck_assert_msg(v >= min && v <= hi,
		              "attempt %u, retry %lld .. %lld, rnd %llu: %lld outside [%lld, %lld]",
		              n, (long long)min, (long long)max, (unsigned long long)rnd,
		              (long long)v, (long long)min, (long long)hi);
	}
}
END_TEST

START_TEST(edges_of_rnd_hit_the_bounds_exactly)
{
	/* rnd = k * (width) + r lands on r; around the top the next value wraps to MIN */
	const int64_t min = 250, max = 64000;
	for (unsigned n = 1; n <= 12; n++) {
		int64_t hi = upper(n, min, max);
		uint64_t width = (uint64_t)(hi - min + 1);
		for (uint64_t k = 0; k < 4; k++) {
			ck_assert_int_eq(rtn_backoff_ms(n, min, max, k * width), min);
			if (hi > min) {
				ck_assert_int_eq(rtn_backoff_ms(n, min, max, k * width + width - 1),
				                 hi);
				ck_assert_int_eq(rtn_backoff_ms(n, min, max, k * width + width),
				                 min);
				ck_assert_int_eq(rtn_backoff_ms(n, min, max, k * width + 1),
				                 min + 1);
			}
		}
		for (uint64_t r = UINT64_MAX - 5; r != 0; r++) {
			int64_t v = rtn_backoff_ms(n, min, max, r);
			ck_assert_msg(v >= min && v <= hi, "attempt %u, rnd %llu: %lld > %lld", n,
			              (unsigned long long)r, (long long)v, (long long)hi);
		}
	}
}
END_TEST

START_TEST(upper_bound_doubles_until_capped)
{
	const int64_t min = 100, max = 100000;
	int64_t prev = 0;
	bool capped = false;
	for (unsigned n = 1; n <= 40; n++) {
		/* the largest delay over a sweep of rnd values is the bound of this attempt */
		int64_t top = INT64_MIN;
		for (uint64_t r = 0; r < 2 * (uint64_t)max; r += 1 + r / 4096)
			if (rtn_backoff_ms(n, min, max, r) > top)
				top = rtn_backoff_ms(n, min, max, r);
		int64_t want = upper(n, min, max);
		ck_assert_int_eq(rtn_backoff_ms(n, min, max, (uint64_t)(want - min)), want);
		ck_assert_int_le(top, want);
		if (n == 1)
			ck_assert_int_eq(want, min);
		else if (!capped)
			ck_assert_int_eq(want, prev * 2 < max ? prev * 2 : max);
		else
			ck_assert_int_eq(want, max);
		capped = capped || want == max;
		prev = want;
	}
	ck_assert(capped);
	ck_assert_int_eq(upper(11, min, max), max); /* 100 * 2^10 > 100000 */
	ck_assert_int_eq(upper(10, min, max), 51200);
}
END_TEST

START_TEST(random_values_spread_over_the_range)
{
	const int64_t min = 1000, max = 3600000;
	for (unsigned n = 2; n <= 30; n += 7) {
		int64_t hi = upper(n, min, max), lo_seen = INT64_MAX, hi_seen = INT64_MIN;
		for (int i = 0; i < 20000; i++) {
			int64_t v = rtn_backoff_ms(n, min, max, next_rnd());
			lo_seen = v < lo_seen ? v : lo_seen;
			hi_seen = v > hi_seen ? v : hi_seen;
		}
		int64_t slack = (hi - min) / 100;
		ck_assert_msg(lo_seen <= min + slack, "attempt %u: lowest %lld, min %lld", n,
		              (long long)lo_seen, (long long)min);
		ck_assert_msg(hi_seen >= hi - slack, "attempt %u: highest %lld, bound %lld", n,
		              (long long)hi_seen, (long long)hi);
		ck_assert_int_le(hi_seen, hi);
		ck_assert_int_ge(lo_seen, min);
	}
}
END_TEST

START_TEST(huge_attempts_do_not_overflow)
{
	const unsigned attempts[] = {63, 64, 65, 1000, 100000, UINT_MAX - 1, UINT_MAX};
	const int64_t maxes[] = {86400000, INT64_MAX / 2 + 1, INT64_MAX - 1, INT64_MAX};
	for (size_t a = 0; a < sizeof(attempts) / sizeof(attempts[0]); a++)
		for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++)
			for (int i = 0; i < 200; i++) {
				uint64_t rnd = i == 0 ? UINT64_MAX : i == 1 ? 0 : next_rnd();
				int64_t v = rtn_backoff_ms(attempts[a], 1000, maxes[m], rnd);
				ck_assert_int_ge(v, 1000);
				ck_assert_int_le(v, maxes[m]);
			}
	/* at the cap, the top of the range is MAX itself */
	ck_assert_int_eq(rtn_backoff_ms(UINT_MAX, 1000, 86400000, 86400000 - 1000), 86400000);
	ck_assert_int_eq(rtn_backoff_ms(UINT_MAX, 1000, 86400000, 86400000 - 1000 + 1), 1000);
}
END_TEST

START_TEST(degenerate_ranges)
{
	/* MIN == MAX: always MIN; MAX below MIN counts as MIN; a negative MIN as 0 */
	for (unsigned n = 1; n < 70; n++) {
		uint64_t rnd = next_rnd();
		ck_assert_int_eq(rtn_backoff_ms(n, 5000, 5000, rnd), 5000);
		ck_assert_int_eq(rtn_backoff_ms(n, 5000, 10, rnd), 5000);
		int64_t v = rtn_backoff_ms(n, -7, 300, rnd);
		ck_assert_int_ge(v, 0);
		ck_assert_int_le(v, 300);
		v = rtn_backoff_ms(n, 0, 300, rnd);
		ck_assert_int_ge(v, 0);
		ck_assert_int_le(v, 300);
	}
	/* the first retry waits exactly MIN */
	ck_assert_int_eq(rtn_backoff_ms(1, 700, 90000, UINT64_MAX), 700);
	/* pure: the same arguments, the same delay */
	ck_assert_int_eq(rtn_backoff_ms(9, 700, 90000, 123456789),
	                 rtn_backoff_ms(9, 700, 90000, 123456789));
}
END_TEST

static Suite *backoff_suite(void)
{
	Suite *s = suite_create("backoff");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, within_documented_bounds);
	tcase_add_test(tc, edges_of_rnd_hit_the_bounds_exactly);
	tcase_add_test(tc, upper_bound_doubles_until_capped);
	tcase_add_test(tc, random_values_spread_over_the_range);
	tcase_add_test(tc, huge_attempts_do_not_overflow);
	tcase_add_test(tc, degenerate_ranges);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(backoff_suite)
