/* watchdog.h - the systemd watchdog ping, a timer of its own on the loop */
#ifndef RTN_WATCHDOG_H
#define RTN_WATCHDOG_H

#include "daemon.h"

/* If the service manager asks for a watchdog (sd_watchdog_enabled), ping it from a timer
 * on d's loop at half its interval. 0 (also without a watchdog) or -errno. */
int watchdog_init(struct daemon *d);
/* Stop and close the timer. */
void watchdog_fini(void);

#endif
