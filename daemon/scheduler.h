/* scheduler.h - one timer armed for the earliest deadline */
#ifndef RTN_SCHEDULER_H
#define RTN_SCHEDULER_H

#include "daemon.h"

/* Start the timer and process whatever is due now; became_due is called when records
 * became due (the dispatcher's kick). 0 or -errno. */
int scheduler_init(struct daemon *d, void (*became_due)(void));
/* Re-read the earliest deadline and re-arm (after any change to records or rules). */
void scheduler_kick(void);
/* Wake-ups of the timer since start, for status and the idle benchmark. */
unsigned long scheduler_wakeups(void);
/* Close the timer. */
void scheduler_fini(void);

#endif
