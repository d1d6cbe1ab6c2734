/* watchdog.c - the systemd watchdog ping, a timer of its own on the loop
 *
 * WATCHDOG=1 is sent from a repeating timer at half of WATCHDOG_USEC, independent of the
 * scheduler's deadline timer (which every change of records re-arms, and so could be
 * pushed back forever by a busy client). The ping runs on the loop like everything else:
 * a loop that is stuck stops pinging and the service manager restarts the daemon, which
 * is what the watchdog is for.
 */
#include "watchdog.h"

#include <systemd/sd-daemon.h>

#include "log.h"

static uv_timer_t timer;
static bool started;

static void on_ping(uv_timer_t *t)
{
	(void)t;
	sd_notify(0, "WATCHDOG=1");
}

int watchdog_init(struct daemon *d)
{
	uint64_t usec;
	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	uint64_t ms = usec / 2000 ? usec / 2000 : 1;
	int r = uv_timer_init(d->loop, &timer);
	if (r < 0)
		return r;
	uv_unref((uv_handle_t *)&timer); /* it never keeps the loop alive by itself */
	started = true;
	uv_timer_start(&timer, on_ping, ms, ms);
	rtn_info("watchdog: interval %llu ms, pinged every %llu ms",
	         (unsigned long long)(usec / 1000), (unsigned long long)ms);
	return 0;
}

void watchdog_fini(void)
{
	if (started) {
		uv_timer_stop(&timer);
		uv_close((uv_handle_t *)&timer, NULL);
		started = false;
	}
}
