/* audit_int.h - what the readers of the audit log share (lib/audit_read.c and
 * lib/audit_files.c): lines read streaming, and the chain */
#ifndef RTN_AUDIT_INT_H
#define RTN_AUDIT_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"

enum { LINE_OK, LINE_EOF, LINE_TORN, LINE_LONG };

/* A file read line by line (zero-initialise with fd -1; free p when done). */
struct rtn_audit_lines {
	int fd;
	char *p;
	size_t start, scan, end, cap;
	bool eof;
	unsigned long no; /* number of the line returned last */
};

/* Open path for reading (l's buffer is freed first). 0 or -errno with err. */
int rtn_audit_open_lines(struct rtn_audit_lines *l, const char *path, char *err, size_t errlen);
/* The next line, without its newline, in *s and *n: LINE_OK, LINE_EOF, LINE_TORN (the
 * last bytes lack a newline), LINE_LONG (over RTN_AUDIT_LINE_MAX; stop), or -errno. */
int rtn_audit_next_line(struct rtn_audit_lines *l, const char **s, size_t *n);

/* The chain as far as it was read (zero-initialise, head = RTN_AUDIT_GENESIS). */
struct rtn_audit_chain {
	char head[RTN_AUDIT_HASH_LEN + 1];
	uint64_t seq, first_seq;
	size_t entries;
	const char *expect;
	bool found;
	uint64_t found_seq;
	size_t found_at;
	json_t *continues; /* {"file", "seq", "head"} when the first entry continues a file */
};

/* Link the entry f of a line to the chain (e: the line parsed, needed only for a first
 * entry that continues a rotated chain); 0, or -EBADMSG with why. */
int rtn_audit_link(struct rtn_audit_chain *c, const struct rtn_audit_line *f, const json_t *e,
                   char *why, size_t whylen);

#endif
