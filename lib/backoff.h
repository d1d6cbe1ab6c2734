/* backoff.h - retry delays: exponential with full jitter, within bounds */
#ifndef RTN_BACKOFF_H
#define RTN_BACKOFF_H

#include <stdint.h>

/* The delay before attempt number attempt+1 after attempt failed (attempt >= 1):
 * uniform in [min, min(max, min * 2^(attempt-1))], rnd being a uniform random 64-bit
 * value. Pure: the same arguments give the same delay. */
int64_t rtn_backoff_ms(unsigned attempt, int64_t min_ms, int64_t max_ms, uint64_t rnd);

#endif
