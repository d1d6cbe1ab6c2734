/* check.c - retentiond --check-config: the configuration, every rule file, lint */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "exits.h"
#include "rules.h"

int check_load(const char *config_path, struct rtn_config *cfg, struct rtn_ruleset *rs,
               struct rtn_diags *d)
{
	int bad = 0;
	rtn_config_defaults(cfg);
	if (rtn_config_load(config_path, cfg, d) < 0)
		bad = 1;
	if (!rtn_time_zone_exists(cfg->timezone))
		bad = 1; /* reported by the config reader */
	rtn_ruleset_init(rs);
	rs->fiscal_year_start = cfg->fiscal_year_start;
	if (rtn_rules_load_dir(cfg->rules_directory, rs, d) < 0)
		bad = 1;
	const char **names = rtn_config_backend_names(cfg);
	size_t before = d->nerrors;
	rtn_ruleset_lint(rs, names, cfg->nbackends, d);
	free(names);
	if (d->nerrors > before)
		bad = 1;
	return bad ? -1 : 0;
}

int check_config_main(const char *config_path)
{
	struct rtn_config cfg;
	struct rtn_ruleset rs;
	struct rtn_diags d;
	rtn_diags_init(&d);
	int r = check_load(config_path, &cfg, &rs, &d);
	rtn_diags_print(&d, stderr);
	if (r == 0)
		fprintf(stderr,
		        "%s: configuration ok: %zu rule%s in %s, %zu categor%s, %zu backend%s%s\n",
		        config_path, rs.n, rs.n == 1 ? "" : "s", cfg.rules_directory, rs.nindex,
		        rs.nindex == 1 ? "y" : "ies", cfg.nbackends, cfg.nbackends == 1 ? "" : "s",
		        d.nwarnings ? " (with warnings)" : "");
	else
		fprintf(stderr, "%s: %zu error%s\n", config_path, d.nerrors,
		        d.nerrors == 1 ? "" : "s");
	rtn_diags_fini(&d);
	rtn_ruleset_free(&rs);
	rtn_config_free(&cfg);
	return r == 0 ? 0 : RTN_EXIT_CONFIG;
}
