/* print.h - retentionctl's human output: tables, number formatting, colour */
#ifndef CTL_PRINT_H
#define CTL_PRINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#define CTL_COUNT_LEN 32 /* bytes for ctl_fmt_count: "-9,223,372,036,854,775,808" */

/* Column flags. */
enum {
	CTL_RIGHT = 1, /* right-aligned */
	CTL_COUNT = 2, /* integers with thousands separators, right-aligned */
	CTL_STATE = 4, /* coloured by ctl_state_color */
};

/* Whether colour escapes are written on stdout, and in error messages; main sets them. */
extern bool ctl_color, ctl_color_err;

/* n with thousands separators ("1,000,000") in buf (CTL_COUNT_LEN bytes); returns buf. */
char *ctl_fmt_count(long long n, char *buf);
/* Terminal columns that UTF-8 text s takes (wide East Asian characters 2, combining 0). */
size_t ctl_width(const char *s);
/* Copy of s[0..len) with control characters shown as \n, \t, \xNN; the caller frees. */
char *ctl_sanitize(const char *s, size_t len);
/* The escape that colours a state or status word ("" if none or colour is off). */
const char *ctl_state_color(const char *word);
/* The escape for an error (red) or a warning (yellow), "" when colour is off. */
const char *ctl_err_color(bool warning);
/* The escape that ends a colour, "" when colour is off. */
const char *ctl_reset(void);

struct ctl_table;
/* New table of ncols columns under headers (NULL: no header line). Free with ctl_table_free. */
struct ctl_table *ctl_table_new(int ncols, const char *const *headers);
/* Set the flags (CTL_RIGHT, ...) of column col. */
void ctl_table_flags(struct ctl_table *t, int col, int flags);
/* Start a new row; cells are then added left to right. */
void ctl_table_row(struct ctl_table *t);
/* Add a cell with text (copied and sanitized; NULL is empty) in colour (may be NULL). */
void ctl_table_cell(struct ctl_table *t, const char *text, const char *color);
/* Add a cell from a printf format. */
void ctl_table_cellf(struct ctl_table *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Add a cell showing JSON value v (NULL: empty) as ctl_value_text does. */
void ctl_table_value(struct ctl_table *t, const json_t *v, int flags);
/* Number of rows added. */
size_t ctl_table_rows(const struct ctl_table *t);
/* Write the table with columns aligned, each line indented by indent spaces. */
void ctl_table_print(const struct ctl_table *t, FILE *f, int indent);
/* Free the table. */
void ctl_table_free(struct ctl_table *t);

/* v as display text: strings as they are, integers (with separators if count), null as "-",
 * booleans as yes/no, arrays of scalars joined by ", ", the rest as compact JSON. Caller frees. */
char *ctl_value_text(const json_t *v, bool count);

/* A preferred column when printing an array of objects. */
struct ctl_col {
	const char *key, *header;
	int flags;
};
/* Print arr (objects) as a table: the columns of cols (NULL-key terminated) that occur, then
 * every other member not named in skip (NULL-terminated, may be NULL). */
void ctl_print_array(FILE *f, const json_t *arr, const struct ctl_col *cols,
                     const char *const *skip, int indent);
/* One CSV field (RFC 4180): v's text ("" for null or none; an object or array as compact
 * JSON), quoted when it holds a
 * comma, a quote or a line break or begins or ends with a space. A string that begins
 * with =, +, - or @ gets a single quote in front, so that a spreadsheet does not run it
 * as a formula (numbers are written as they are). */
void ctl_csv_field(FILE *f, const json_t *v);
/* arr (objects) as CSV with exactly the columns of cols (NULL-key terminated): a header
 * line of the keys, then a line per element (ctl_csv_field), lines ended by CRLF. */
void ctl_csv_rows(FILE *f, const json_t *arr, const struct ctl_col *cols);
/* The same columns as CSV (RFC 4180) with a header line and raw values. */
void ctl_print_array_csv(FILE *f, const json_t *arr, const struct ctl_col *cols,
                         const char *const *skip);
/* Print v for humans: scalars of an object as an aligned key/value block, nested objects
 * and arrays of objects below it; members named in skip are left out. */
void ctl_print_generic(FILE *f, const json_t *v, const char *const *skip, int indent);
/* Print an error reply as "retentionctl: CODE: message", then its details indented. */
void ctl_print_error(FILE *f, const char *code, const char *message, const json_t *details);
/* An error as JSON, {"error": {"code", "message", "details"?}}, with a final newline: what
 * --json prints on stdout for every error. */
void ctl_print_error_json(FILE *f, const char *code, const char *message, const json_t *details);
/* If r has members not named in known (NULL-terminated), print them generically. */
void ctl_print_rest(FILE *f, const json_t *r, const char *const *known);
/* The list in r: r itself if an array, else member key, else the first array of objects;
 * *found names the member (NULL for r itself). Borrowed from r; NULL if none. */
const json_t *ctl_find_list(const json_t *r, const char *key, const char **found);
/* Print r's other members as a key/value block, then its list (ctl_find_list) as a table,
 * or empty if the list has no element. Returns 0. */
int ctl_print_list(FILE *f, const json_t *r, const char *key, const struct ctl_col *cols,
                   const char *const *skip, const char *empty);
/* Pretty-print v as JSON with a final newline. */
void ctl_print_json(FILE *f, const json_t *v);

#endif
