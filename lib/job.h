/* job.h - the identity of a job: the same action always has the same id */
#ifndef RTN_JOB_H
#define RTN_JOB_H

#include <stdint.h>

#include "rtime.h"

#define RTN_JOB_ID_LEN 32 /* bytes of a job id, NUL included */

/* The job id of an action: "J-", the record's row id in 10 hex digits, "-", and 12 hex
 * digits of SHA-256 over (record, action, rule, deadline). The same action always gets the
 * same id, so a job re-sent after a crash carries it; the row id in front keeps one
 * record's jobs together and new jobs at the end of the jobs table. */
void rtn_job_id(int64_t rid, const char *record, const char *action, const char *rule,
                rtn_time_t due, char out[RTN_JOB_ID_LEN]);

/* The class of a failed job's error as status shows it (a static string): "permission
 * denied" when the backend reported that it may not change the data (the C library's
 * text for EACCES, EPERM and EROFS, SQLite's read-only database, PostgreSQL's
 * "permission denied for ..."), "timeout" for why a job got no result in time (text
 * beginning "no result within"), else "other" (NULL included). Case is ignored. */
const char *rtn_job_error_class(const char *error);

#endif
