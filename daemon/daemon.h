/* daemon.h - the state of the running daemon, shared by its modules */
#ifndef RTN_DAEMON_H
#define RTN_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>
#include <uv.h>

#include "config.h"
#include "engine.h"
#include "inventory.h"
#include "rules.h"

struct daemon {
	uv_loop_t *loop;
	const char *config_path;
	struct rtn_config cfg;
	struct rtn_ruleset rules;
	rtn_time_t rules_loaded;
	struct rtn_inv *inv;
	struct rtn_engine engine;
	time_t started;
	gid_t admin_gid, audit_gid; /* (gid_t)-1 when not configured or unknown */
	bool stopping;
	bool rules_stale; /* the rules changed and not every record is scheduled by them yet */
};

/* The current wall-clock time in Unix seconds. */
rtn_time_t daemon_now(void);
/* Record the rule set in force in the audit log ("rules.loaded") and sync: 0 before the
 * rules may take effect, or -errno. */
int daemon_audit_rules(struct daemon *d, const char *actor);
/* Reload the rule files: on success swap them in and reschedule every record; on errors
 * in them keep the old rules and fill *problems (-EINVAL). -EIO: the rules are in force
 * but rescheduling failed (logged; retried until it works, nothing new sent meanwhile);
 * -EAGAIN: the audit log cannot take the "rules.loaded" entry, and the old rules stay. */
int daemon_reload_rules(struct daemon *d, const char *actor, json_t **problems, json_t **result);
/* Recompute every record after the rules changed, under the mass-deletion guard; the
 * outcome commits with its entries ("schedule.changed", "guard.paused"). While it has not
 * succeeded, rules_stale is set and nothing new is sent. 0 or -EIO. */
int daemon_apply_rules(struct daemon *d, const char *actor, size_t *changed, size_t *paused);
/* Diagnostics as the protocol's problem objects. New reference. */
json_t *daemon_problems_json(const struct rtn_diags *diags);

#endif
