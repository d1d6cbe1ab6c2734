/* backoff.c - retry delays: exponential with full jitter, within bounds */
#include "backoff.h"

int64_t rtn_backoff_ms(unsigned attempt, int64_t min_ms, int64_t max_ms, uint64_t rnd)
{
	if (min_ms < 0)
		min_ms = 0;
	if (max_ms < min_ms)
		max_ms = min_ms;
	int64_t cap = min_ms ? min_ms : 1;
	for (unsigned i = 1; i < attempt && cap < max_ms; i++)
		cap = cap > max_ms / 2 ? max_ms : cap * 2;
	if (cap > max_ms)
		cap = max_ms;
	if (cap <= min_ms)
		return min_ms;
	return min_ms + (int64_t)(rnd % (uint64_t)(cap - min_ms + 1));
}
