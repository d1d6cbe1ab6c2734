/* audit_head.h - the audit log's recorded head: kept beside the log, checked at start-up
 *
 * The daemon records the head of its log (seq and hash of the last entry, the file and
 * its size up to that entry) in a small file of its state directory whenever the head
 * is on disk at a stop, a rotation and periodically. At the next start the log must
 * still hold that entry, at that place, and a valid chain from it to its end: entries
 * written after it are what a crash leaves, entries missing from it are a loss. Only
 * the tail is read (and after a crash the entries that follow the head); the whole
 * chain is the verifier's work.
 */
#ifndef RTN_AUDIT_HEAD_H
#define RTN_AUDIT_HEAD_H

#include <jansson.h>
#include <stdint.h>

#include "audit.h"

/* One recorded head. */
struct rtn_audit_head {
	uint64_t seq;                      /* of the entry, >= 1 */
	char hash[RTN_AUDIT_HASH_LEN + 1]; /* its hash */
	char *file;                        /* the log's path when recorded (owned) */
	int64_t size;                      /* bytes of that file up to and with the entry */
	rtn_time_t time;                   /* when it was recorded */
};

/* Read the head recorded in path into h (free with rtn_audit_head_fini). 0; -ENOENT if
 * none is recorded; -EBADMSG if the file is not a head record; -errno. err says why. */
int rtn_audit_head_read(const char *path, struct rtn_audit_head *h, char *err, size_t errlen);
/* Record h in path atomically: path.tmp written and fsync()ed, renamed over path, the
 * directory fsync()ed. 0 or -errno (err says why; path is unchanged). */
int rtn_audit_head_write(const char *path, const struct rtn_audit_head *h, char *err,
                         size_t errlen);
/* Free what h owns. */
void rtn_audit_head_fini(struct rtn_audit_head *h);
/* Check, without writing, that the log at log_path (as rtn_audit_open would find it, and
 * through its "audit.rotated" entries the files before it) holds the entry h at the place
 * recorded and a valid chain from it to its last whole line (a torn tail is ignored:
 * rtn_audit_open cuts it). *found (new reference) describes the log: {"file", "size",
 * "seq", "hash"} of its last entry, "entries_after" the entries after h when it holds
 * h, else "reason". 0 if the log holds h; -EILSEQ if not; -errno if a file cannot be
 * read (err says which, *found is NULL). */
int rtn_audit_head_check(const char *log_path, const struct rtn_audit_head *h, json_t **found,
                         char *err, size_t errlen);

#endif
