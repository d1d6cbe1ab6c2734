/* daemon.h - the state of the running daemon, shared by its modules, and its clock */
#ifndef RTN_DAEMON_H
#define RTN_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>
#include <uv.h>

#include "config.h"
#include "engine.h"
#include "inventory.h"
#include "rules.h"

struct daemon {
	uv_loop_t *loop;
	const char *config_path;
	struct rtn_config cfg;
	struct rtn_zone *zone; /* the configured zone: the engine's calendar, the times written */
	struct rtn_ruleset rules;
	rtn_time_t rules_loaded;
	struct rtn_inv *inv;
	struct rtn_engine engine;
	struct rtn_pseudo *pseudo; /* the subject key (STATE/subject.key) */
	time_t started;
	gid_t admin_gid, audit_gid; /* (gid_t)-1 when not configured or unknown */
	bool stopping;
	bool rules_stale; /* the rules changed and not every record is scheduled by them yet */
};

/* The current wall-clock time in Unix seconds: of the clock the timer is armed by
 * (time() reads a coarse clock, up to a tick behind, so a deadline timer would find its
 * second not yet begun and be armed again at 0 ms until it had). */
static inline rtn_time_t daemon_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (rtn_time_t)ts.tv_sec;
}

#endif
