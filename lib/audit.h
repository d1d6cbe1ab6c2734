/* audit.h - the hash-chained audit log: format, writer, offline verifier, query
 *
 * lib/audit.c is the format (canonical form, hash, one line formatted or checked),
 * lib/audit_write.c the writer, lib/audit_read.c the verifier and the query.
 *
 * One JSON object per line, each the canonical form of its entry (keys sorted by
 * byte, no whitespace, integers only, non-ASCII escaped as lower-case \uXXXX), so
 * that Python's json.dumps(e, sort_keys=True, separators=(",", ":"),
 * ensure_ascii=True) reproduces every line byte for byte.
 * hash = hex(SHA-256(prev + canonical form of the entry without "hash")).
 * The format, for auditors who write their own verifier: doc/audit-format.md.
 *
 * Durability (group commit): rtn_audit_append() only buffers; rtn_audit_flush()
 * hands the buffer to the kernel; rtn_audit_sync() flushes and fdatasync()s. The
 * daemon appends the entries of a batch of actions, calls rtn_audit_sync() once,
 * and sends the actions only if it returned 0. A failed flush or sync keeps the
 * entries buffered (the file is cut back to its last whole line) and the next
 * flush or sync retries them; after a failed fdatasync() or an undo that itself
 * failed, the handle refuses everything with -EIO and the daemon must reopen.
 * One process writes a log at a time (flock); a handle is not thread-safe.
 */
#ifndef RTN_AUDIT_H
#define RTN_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rtime.h"

#define RTN_AUDIT_HASH_LEN 64            /* hex digits of a hash */
#define RTN_AUDIT_LINE_MAX (1024 * 1024) /* longest line, newline included */
#define RTN_AUDIT_SYNC     1u            /* rtn_audit_append flag: sync before returning */
#define RTN_AUDIT_GENESIS  "0000000000000000000000000000000000000000000000000000000000000000"

struct rtn_audit;

/* One decision. NULL members are left out of the entry (never written as null). */
struct rtn_audit_entry {
	const char *type;  /* required, a name: "job.sent", "rules.loaded", ... */
	const char *actor; /* required: "scheduler", "daemon" or "uid:N" */
	const char *record, *category, *rule, *basis, *job; /* optional */
	json_t *detail;          /* optional object, borrowed; integers only (a real is -EINVAL).
	                            Entries about a data subject put it in detail.subject. */
	const char *detail_json; /* instead of detail: the object as text, already in
	                   canonical form (keys sorted, as rtn_jw_* write strings); for
	                   entries written by the thousand, built without a tree */
};

/* What rtn_audit_query() selects; zero-initialise and set what matters. */
struct rtn_audit_filter {
	rtn_time_t since, until; /* since <= time < until; 0 or RTN_TIME_NONE: unbounded */
	const char *record, *category, *subject, *type; /* NULL: any. subject matches
	                        detail.subject; a type ending in "." matches its family ("job.") */
	const char *pseudonym; /* with subject: detail.subject may be this instead (the
	                        * subject's pseudonym; entries of older versions have it clear) */
	size_t limit;          /* most entries returned; 0: no limit */
	bool last;             /* keep the last limit matches rather than the first */
};

/* Open or create (0640) the log at path and restore seq and head from its last line.
 * A torn last line (no newline: a crash during a write) is cut off with a warning and
 * an "audit.repaired" entry dated now. 0; -EBUSY if another process writes it,
 * -EBADMSG if the last whole line is not a valid entry; -errno. err gets the why. */
int rtn_audit_open(const char *path, rtn_time_t now, struct rtn_audit **out, char *err,
                   size_t errlen);
/* Append one entry dated now (buffered; with RTN_AUDIT_SYNC also synced). 0, -EINVAL
 * for a bad member (nothing appended), -E2BIG for a line over RTN_AUDIT_LINE_MAX,
 * -ERANGE for a time out of range, or the sync's error (the entry stays buffered). */
int rtn_audit_append(struct rtn_audit *a, rtn_time_t now, const struct rtn_audit_entry *e,
                     unsigned flags);
/* Write the buffered entries to the file without waiting for the disk. 0 or -errno. */
int rtn_audit_flush(struct rtn_audit *a);
/* Write the buffered entries and fdatasync(): call before sending actions. 0 or -errno. */
int rtn_audit_sync(struct rtn_audit *a);
/* seq of the last entry appended (0 for an empty log). */
uint64_t rtn_audit_seq(const struct rtn_audit *a);
/* hash of the last entry appended (RTN_AUDIT_GENESIS for an empty log); a's string. */
const char *rtn_audit_head(const struct rtn_audit *a);
/* The path of the current file; a's string. */
const char *rtn_audit_path(const struct rtn_audit *a);
/* Bytes of the current file up to the last entry written to it (after a sync: on disk). */
int64_t rtn_audit_size(const struct rtn_audit *a);
/* Write the head to the log (journal) as "audit head: seq N hash H file F": at start-up
 * and daily, so that a truncated or rewritten log shows against the journal. */
void rtn_audit_log_head(const struct rtn_audit *a);
/* Sync, rename the file to rotated_path (which must not exist) and start a new file at
 * the old path whose first entry, "audit.rotated", carries detail {"previous":
 * rotated_path, "previous_head": HEAD} and prev = HEAD. 0 or -errno (-EEXIST). */
int rtn_audit_rotate(struct rtn_audit *a, rtn_time_t now, const char *rotated_path);
/* Sync and close; NULL is fine. A sync error is logged. */
void rtn_audit_close(struct rtn_audit *a);
/* The readers of the log: the current file and every file started later (rotation) are
 * mode 0640 and, unless group is (gid_t)-1, of that group. 0, or -errno if the current
 * file could not be changed (logged; the log is written all the same). */
int rtn_audit_set_group(struct rtn_audit *a, gid_t group);

/* A point in the log to return to: the entries appended after it describe a change that
 * may still be undone (a transaction not yet committed). */
struct rtn_audit_mark {
	uint64_t seq;
	char head[RTN_AUDIT_HASH_LEN + 1];
	int64_t end;  /* the log's length with every entry appended so far */
	unsigned gen; /* the writer's recoveries when it was taken */
};
/* Remember the log's current end in m (recovering a broken writer first). */
void rtn_audit_mark(struct rtn_audit *a, struct rtn_audit_mark *m);
/* False when the writer broke or recovered since m: entries appended after it may have
 * been dropped, so the change they describe must not commit. */
bool rtn_audit_mark_current(const struct rtn_audit *a, const struct rtn_audit_mark *m);
/* Take back every entry appended after m: dropped from the buffer, or cut from the file
 * when already written (the change they describe did not happen). 0 or -errno (the writer
 * then recovers at the next flush). */
int rtn_audit_undo(struct rtn_audit *a, const struct rtn_audit_mark *m);

/* Verify the files as one chain, in order, streaming (for the file a handle writes:
 * rtn_audit_flush() first and pass rtn_audit_head() as expect_head). *result (new ref):
 * {"valid": true, "entries": N, "files": n, "head": H, "first_seq": S, "last_seq": L,
 *  ["continues_from": {...}], ["journal_head": {"seq": S, "entries_after": K}]}, or
 * {"valid": false, "entries": GOOD, "files": n, "head": LAST_GOOD,
 *  "first_bad": {"file": F, "line": L, "seq": S or null, "reason": TEXT}}.
 * expect_head (may be NULL) is the head last written to the journal; a log that does
 * not contain it was truncated or rewritten. 0 (valid or not), -EINVAL for a bad
 * expect_head, -errno if a file cannot be read (err names it). */
int rtn_audit_verify(const char *const *paths, size_t n, const char *expect_head, json_t **result,
                     char *err, size_t errlen);
/* The seq of the first entry of the file at path: 0, or -errno (-ENODATA: empty,
 * -EBADMSG: its first line is not an entry). */
int rtn_audit_first_seq(const char *path, uint64_t *seq);
struct rtn_audit_line;
/* What rtn_audit_verify_each() hands on: one line of the chain, verified and linked
 * (without its newline), and what its check read of it. */
typedef void (*rtn_audit_each_fn)(void *ctx, const char *line, size_t len,
                                  const struct rtn_audit_line *f);
/* rtn_audit_verify, and each(ctx, ...) for every line that verified, in log order, as it
 * is read: one pass over the files for a reader that wants the lines and the verdict. */
int rtn_audit_verify_each(const char *const *paths, size_t n, const char *expect_head,
                          rtn_audit_each_fn each, void *ctx, json_t **result, char *err,
                          size_t errlen);
/* The entries of the files (in order) that pass f, in log order, streaming.
 * *result (new reference): {"entries": [...], "count": N, "more": BOOL, "unreadable": N}
 * (more: further matches were left out by limit). 0 or -errno (err names the file). */
int rtn_audit_query(const char *const *paths, size_t n, const struct rtn_audit_filter *f,
                    json_t **result, char *err, size_t errlen);

/* The files of the rotated chain that ends at current (the file being written) holding
 * entries with since <= time < until (RTN_TIME_NONE or 0: unbounded), oldest first: each
 * file's first line is read, newest first, following the "audit.rotated" entries back
 * until a file begins at or before since (or the genesis). A previous file that moved
 * with its directory is found beside the newer one. *paths (n strings) is freed with
 * rtn_audit_files_free(). 0; -ENOENT when a file the period needs is missing (err names
 * it and the seq range lost), -EBADMSG, -errno (err says why). */
int rtn_audit_files(const char *current, rtn_time_t since, rtn_time_t until, char ***paths,
                    size_t *n, char *err, size_t errlen);
void rtn_audit_files_free(char **paths, size_t n);

/* What rtn_audit_check_line() reads from a valid line. */
struct rtn_audit_line {
	uint64_t seq;
	char prev[RTN_AUDIT_HASH_LEN + 1], hash[RTN_AUDIT_HASH_LEN + 1];
	bool rotated; /* type "audit.rotated" */
};

/* Format entry seq after prev, dated now: the line with its newline in *line (caller
 * frees), its hash in hash (RTN_AUDIT_HASH_LEN + 1 bytes). Errors as rtn_audit_append. */
int rtn_audit_format(uint64_t seq, const char *prev, rtn_time_t now,
                     const struct rtn_audit_entry *e, char **line, size_t *len, char *hash);
/* Check one line (without its newline) on its own: JSON, members, canonical form, hash.
 * 0 (out filled), or -EBADMSG with the reason in why. With entry, *entry (new reference,
 * caller frees) is the parsed line whenever it is a JSON object, else NULL. */
int rtn_audit_check_line(const char *line, size_t len, struct rtn_audit_line *out, json_t **entry,
                         char *why, size_t whylen);
/* The canonical form of v (an entry: "hash" left out of the top level unless with_hash).
 * *out is NUL-terminated, the caller frees it. 0, -EINVAL (a real, a NUL in a string,
 * nesting deeper than 64). */
int rtn_audit_canonical(const json_t *v, bool with_hash, char **out, size_t *len);

#endif
