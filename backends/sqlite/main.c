/* main.c - retention-sqlite: the reference backend that deletes or anonymises rows
 *
 *   socket        /run/retentiond/backends/hr-db.sock
 *   database      /srv/hr/hr.db
 *   workers       1                       # SQLite serialises writers
 *   busy-timeout  5 seconds               # then the job fails with retry: true
 *   table applications {
 *       category   job_application        # categories whose records live here
 *       key        id                     # the column locator.key is matched against
 *       anonymize  name email phone       # set to NULL by "anonymize"
 *       scan category   job_application   # a scan lists the rows as its records
 *       subject         = applicant_id
 *       event received  = received_at     # Unix seconds, or text as SQLite keeps times
 *       attribute hired = hired
 *   }
 *   table visits {
 *       category     visitor_ip
 *       key          id
 *       truncate-ip  ip ipv4 3 ipv6 48     # 192.0.2.77 -> 192.0.2.0 by "anonymize"
 *   }
 */
#include "backend.h"
#include "sqlbk.h"

int main(int argc, char **argv)
{
	static struct sq_conf conf = {.busy_ms = 5000};
	static struct rtn_backend_def def = {
	    .name = "retention-sqlite",
	    .summary = "Deletes or anonymises the rows of an SQLite database that retentiond's "
	               "jobs name\n(locator.key in the table of the record's category).",
	    .keywords = "database, busy-timeout, table",
	    .actions = RTN_BACT_DELETE | RTN_BACT_ANONYMIZE,
	    .workers = 1,
	    .config = sq_config,
	    .configured = sq_configured,
	    .worker_init = sq_worker_init,
	    .worker_fini = sq_worker_fini,
	    .handle = sq_handle,
	    .idle = sq_idle,
	    .scan = sq_scan, /* cleared by sq_configured when no table is scanned */
	};
	conf.def = &def;
	int status = rtn_backend_main(&def, &conf, argc, argv);
	sq_conf_fini(&conf);
	return status;
}
