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

/* The current wall-clock time in Unix seconds. */
static inline rtn_time_t daemon_now(void)
{
	return (rtn_time_t)time(NULL);
}

#endif
