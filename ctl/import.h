/* import.h - retentionctl import: JSON lines or CSV streamed to record.put in batches */
#ifndef CTL_IMPORT_H
#define CTL_IMPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "client.h"

#define CTL_BATCH_RECORDS 10000        /* records of one record.put, the protocol's limit */
#define CTL_BATCH_BYTES   (900 * 1024) /* bytes of one record.put request line, at most */

/* The value a command-line or CSV word stands for: true/false, a JSON number, null (only if
 * null_word and s is "null"), else the string; NULL if s is not UTF-8. The caller owns it. */
json_t *ctl_value_parse(const char *s, size_t len, bool null_word);
/* Send every record of in (JSON lines or CSV; name is used in messages) with record.put in
 * batches, all under one import id (one step of the mass-deletion guard), with a progress
 * line on a tty and a summary on stdout (JSON if json): imported, already deleted
 * (skipped), paused by the guard. With dry_run, record.preview instead (nothing is stored)
 * and the plan by until (borrowed) per rule and action as it would be after the import.
 * Returns the exit status: 0, 1 if lines were skipped or the daemon refused, 69 if the
 * connection failed. */
int ctl_import(struct ctl_client *c, FILE *in, const char *name, bool json, bool dry_run,
               json_t *until);

#endif
