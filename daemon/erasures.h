/* erasures.h - the daemon's side of erasure requests: saying when one is complete */
#ifndef RTN_ERASURES_H
#define RTN_ERASURES_H

#include <jansson.h>

#include "engine.h"

/* Log the erasure requests a change completed (the list rtn_ops_erasures_settle or a
 * lib call that settles gave, or NULL), and drop the list. */
void erasures_log(json_t *completed);
/* Complete the erasure requests of which nothing is pending any more, in a transaction
 * of their own (after a reload's rescheduling and at start-up), and log them. 0, or -EIO
 * (logged). */
int erasures_settle(struct rtn_engine *e, rtn_time_t now);

#endif
