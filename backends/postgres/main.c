/* main.c - retention-postgres: the reference backend that deletes or anonymises rows of
 * a PostgreSQL database (see retention-postgres(8))
 *
 *   socket      /run/retentiond/backends/hr-pg.sock
 *   conninfo    "host=/run/postgresql dbname=hr user=retention"
 *   hmac-key    /etc/retentiond/hr-pg.key
 *   table applications {
 *       category      job_application
 *       key           id
 *       anonymize     name phone              # NULL
 *       pseudonymize  email                   # HMAC-SHA-256 under the key
 *       also          application_notes application_id
 *   }
 */
#include "backend.h"
#include "pgbk.h"

int main(int argc, char **argv)
{
	static struct pg_conf conf;
	static const struct rtn_backend_def def = {
	    .name = "retention-postgres",
	    .summary = "Deletes or anonymises the rows of a PostgreSQL database that retentiond's "
	               "jobs name\n(locator.key in the table of the record's category).",
	    .keywords = "conninfo, statement-timeout, lock-timeout, idle-in-transaction-timeout, "
	                "application-name, batch, transaction-limit, hmac-key, vacuum, table",
	    .actions = RTN_BACT_DELETE | RTN_BACT_ANONYMIZE,
	    .workers = 2,
	    .config = pg_config,
	    .configured = pg_configured,
	    .worker_init = pg_worker_init,
	    .worker_fini = pg_worker_fini,
	    .handle_batch = pg_handle_batch,
	};
	pg_conf_init(&conf);
	int status = rtn_backend_main(&def, &conf, argc, argv);
	pg_conf_fini(&conf);
	return status;
}
