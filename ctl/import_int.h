/* import_int.h - what the two halves of retentionctl import share: the importer's state,
 * and the reading and checking of lines (import_read.c) that the batching and pipelined
 * sending (import.c) consume */
#ifndef CTL_IMPORT_INT_H
#define CTL_IMPORT_INT_H

#include "import.h"

#define ROW_MAX      RTN_LINE_MAX /* bytes of one JSON line or CSV row */
#define REQ_OVERHEAD 256          /* the request around the records: id, cmd, quiet */
#define IN_BUF       65536

struct in {
	FILE *f;
	unsigned char buf[IN_BUF];
	size_t pos, len;
	bool eof;
	int error; /* errno of a failed read */
};

enum col_kind { COL_ID, COL_CATEGORY, COL_SUBJECT, COL_BACKEND, COL_LOCATOR, COL_EVENT, COL_ATTR };

struct col {
	enum col_kind kind;
	char *name; /* after "locator.", "event.", "attr."; the column's name otherwise */
};

/* Records as JSON text, comma-separated: the "records" of one record.put. */
struct batch {
	char *text;
	size_t len, cap;
	size_t n;            /* records */
	size_t *lines;       /* the input line of each */
	size_t *offs, *lens; /* each record within text */
	json_int_t id;       /* the request's id once sent */
};

struct importer;
/* Send record.put with args (a JSON object as text) and return the request's id ... */
typedef int (*start_fn)(struct importer *im, const char *args, size_t len, json_int_t *id,
                        char *err, size_t errlen);
/* ... and read the reply to request id. Both 0, or -errno with the reason in err. */
typedef int (*finish_fn)(struct importer *im, json_int_t id, struct rtn_reply *rep, char *err,
                         size_t errlen);

#define PIPE_DEPTH 2 /* batches sent and not yet answered: the daemon always has the next */

struct importer {
	const char *name; /* the input in messages */
	struct in *in;
	FILE *err;   /* messages and progress */
	size_t line; /* line of the next byte, from 1 */
	/* the current JSON line or CSV row; CSV fields are NUL-terminated within it */
	char *row;
	size_t row_len, row_cap;
	size_t *off, *flen, nfields, fields_cap;
	bool row_quoted;
	/* CSV header */
	struct col *cols;
	size_t ncols;
	/* the batch being filled, and those sent (oldest first) */
	struct batch cur, sent[PIPE_DEPTH];
	unsigned nsent;
	size_t max_records, max_bytes;
	/* the daemon */
	struct ctl_client *client;
	start_fn start;
	finish_fn finish;
	/* what is sent: record.put, or record.preview (a dry run, with until) */
	const char *cmd;
	char import_id[64]; /* one id for every batch of the import: one step of the guard */
	json_t *until;      /* a dry run's, as the command line gave it; borrowed */
	/* a dry run's sums: {"RULE ACTION": {"rule", "action", "delta", "count", "first",
	 * "last"}} and the records it would make due at once */
	json_t *preview;
	long long due_now, guard_limit;
	/* counts and state */
	long long records, imported, inserted, updated, skipped, already_deleted, paused;
	int status; /* 0 while all is well; 1 or 69 once stopped */
	bool progress, progress_shown;
	double t0, last_progress;
};

/* Skip a byte order mark and blank space; true if what follows is JSON lines. */
bool ctl_import_detect_jsonl(struct importer *im);
/* Read one physical line into im->row (without "\n" or "\r\n") starting on line *line.
 * 1: a line, 0: end of input, -1: longer than ROW_MAX (the rest of it is read past). */
int ctl_import_line(struct importer *im, size_t *line);
/* Read one CSV row (RFC 4180) starting on line *start. 1: a row in im->row (fields off/flen),
 * 0: end of input, -1: a bad row, skipped, with the reason in err. */
int ctl_import_csv_row(struct importer *im, size_t *start, char *err, size_t errlen);
/* True if the row just read is a blank line. */
bool ctl_import_row_blank(const struct importer *im);
/* Read the header row into im->cols. 0, or -1 with the reason in err. */
int ctl_import_csv_header(struct importer *im, char *err, size_t errlen);
/* The record of the current CSV row, or NULL with the reason in err. */
json_t *ctl_import_csv_record(struct importer *im, char *err, size_t errlen);
/* Free the CSV header's columns. */
void ctl_import_free_cols(struct importer *im);

#endif
