/* check.h - loading and checking the configuration and rules */
#ifndef RTN_DAEMON_CHECK_H
#define RTN_DAEMON_CHECK_H

#include "config.h"
#include "diag.h"
#include "rules.h"

/* Load config (from the defaults) and the rules it names, set the time zone, run lint.
 * 0, or -1 if anything is wrong (problems in d). cfg and rs must be freed either way. */
int check_load(const char *config_path, struct rtn_config *cfg, struct rtn_ruleset *rs,
               struct rtn_diags *d);
/* --check-config: print every problem, return the exit status (0 or 78). */
int check_config_main(const char *config_path);

#endif
