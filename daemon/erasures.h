/* erasures.h - the daemon's side of erasure requests: noticing when one is complete */
#ifndef RTN_ERASURES_H
#define RTN_ERASURES_H

#include "daemon.h"

/* Remember the daemon (before anything may call erasures_settle). */
void erasures_init(struct daemon *d);
/* Complete the erasure requests of which nothing is pending any more, each with an
 * "erase.completed" audit entry, in the engine's transaction: inside the one of the
 * change that ended them when it is open (a command, a flush of results), else in one of
 * its own (a reload, start-up). Never from a read command. 0, or -EIO (logged; once its
 * transaction had begun, one it was nested in cannot commit). */
int erasures_settle(void);

#endif
