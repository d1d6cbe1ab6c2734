/* inventory_int.h - shared by the inventory's own files; nothing else includes it */
#ifndef RTN_INVENTORY_INT_H
#define RTN_INVENTORY_INT_H

#include <sqlite3.h>

#include "inventory.h"

#define RTN_INV_STMTS         48
#define RTN_INV_JOB_STMTS     40
#define RTN_INV_ERASURE_STMTS 8

struct rtn_inv {
	sqlite3 *db;
	sqlite3_stmt *st[RTN_INV_STMTS];          /* inventory.c */
	sqlite3_stmt *jst[RTN_INV_JOB_STMTS];     /* inventory_jobs.c */
	sqlite3_stmt *est[RTN_INV_ERASURE_STMTS]; /* inventory_erasure.c */
};

/* A prepared statement of inventory.c, reset and unbound. */
sqlite3_stmt *stmt(struct rtn_inv *inv, int i);
/* Bind text, or NULL for a NULL pointer. */
void bind_text(sqlite3_stmt *s, int i, const char *v);
/* Bind a time, or NULL for RTN_TIME_NONE. */
void bind_time(sqlite3_stmt *s, int i, rtn_time_t t);
/* A time column, RTN_TIME_NONE for NULL. */
rtn_time_t col_time(sqlite3_stmt *s, int i);
/* A copy of a text column, or NULL. */
char *col_strdup(sqlite3_stmt *s, int i);
/* Step a statement that returns nothing useful and reset it. 0 or -EIO. */
int step_done(struct rtn_inv *inv, sqlite3_stmt *s);
/* Prepare the statements of inventory_jobs.c. 0 or -EIO with err. */
int inv_jobs_prepare(struct rtn_inv *inv, char *err, size_t errlen);
/* Prepare the statements of inventory_erasure.c. 0 or -EIO with err. */
int inv_erasure_prepare(struct rtn_inv *inv, char *err, size_t errlen);
/* A record is being forgotten: the requests that cover it count it as forgotten. */
int inv_erasure_forget(struct rtn_inv *inv, int64_t rid);

#endif
