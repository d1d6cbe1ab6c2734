/* auditlog.h - the daemon's side of the audit log: one entry per decision */
#ifndef RTN_AUDITLOG_H
#define RTN_AUDITLOG_H

#include <jansson.h>

#include "audit.h"
#include "daemon.h"
#include "engine.h"

/* Check the audit log of the configuration against the head recorded in the state
 * directory, open it and write its head to the journal (again at shutdown and daily).
 * accept (or NULL): the recorded hash whose loss the operator accepts; the acceptance
 * is then the first entry written. 0; -EILSEQ if the log lost its recorded head (or the
 * record cannot be read) and nothing was written; -errno. Logged. */
int auditlog_init(struct daemon *d, const char *accept);
/* How the log compared with its recorded head at start-up: "matched", "continued"
 * (entries follow it: a crash), "none" (no head recorded) or "accepted". */
const char *auditlog_head_check(void);
/* Append one entry (buffered); detail is stolen (may be NULL). A failure is logged: the
 * daemon goes on, and actions are not sent until the log takes entries again. */
void audit_event(const char *type, const char *actor, const char *record, const char *category,
                 const char *rule, const char *basis, const char *job, json_t *detail);
/* The same for an entry made by the caller (nothing stolen). */
void audit_entry(const struct rtn_audit_entry *e);
/* Append e with detail, written by the caller in canonical form (the rtn_jw_* calls'
 * result r: below 0, a string was not UTF-8 and the entry is logged as lost instead).
 * Frees detail's text. */
struct rtn_jw;
void audit_entry_written(struct rtn_audit_entry *e, struct rtn_jw *detail, int r);
/* Audit a refused control request of uid (cmd: the command, or NULL when it named none).
 * The first refusal of a uid is written at once as "request.forbidden" with count 1;
 * those that follow within control-refusal-interval are counted and written as one entry
 * with their count when the interval ends, as long as they go on. Logged the same way. */
void audit_refusal(uid_t uid, gid_t gid, pid_t pid, const char *cmd);
/* Write the counts of refusals not yet written (before the daemon.stop entry). */
void audit_refusals_flush(void);
/* Flush and fdatasync what was appended: 0 before actions may be sent, or -errno. */
int audit_sync(void);
/* Hand buffered entries to the kernel (no fsync): after each request or result batch. */
void audit_flush(void);
/* The engine's journal over this log: entries of a transaction are synced before it
 * commits and taken back when it rolls back. */
const struct rtn_journal *audit_journal(void);
/* False while the log cannot take entries (the last write or sync failed). */
bool audit_ok(void);
/* {"entries", "head", "path"} for status. New reference. */
json_t *audit_status(void);
/* The log's path. */
const char *audit_path(void);
/* The files of the log that hold entries with since <= time < until (RTN_TIME_NONE: no
 * bound), oldest first, the current file last if it is one of them: *paths is an array of
 * *n strings, freed with audit_files_free(). 0, or -1 with the problem in err (a file of
 * the chain is missing: the message names the gap). */
int audit_files(rtn_time_t since, rtn_time_t until, char ***paths, size_t *n, char *err,
                size_t errlen);
void audit_files_free(char **paths, size_t n);
/* Rotate: the file becomes PATH.YYYYmmddTHHMMSS (the local time in the daemon's zone)
 * and a new file at PATH starts with an "audit.rotated" entry carrying the old head. by:
 * who asked, for the log ("SIGUSR1", "uid:N"). 0 with the renamed file's path in
 * *rotated (when not NULL; the caller frees it), or -errno (logged): -EEXIST when a
 * file of that name exists (a rotation within the same second). */
int audit_rotate(const char *by, char **rotated);
/* Write the head to the journal and the state directory, sync and close. */
void auditlog_fini(void);

#endif
