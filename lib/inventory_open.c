/* inventory_open.c - rtn_inv_open(): the implementation an inventory's name selects
 *
 * A file path opens SQLite (inv_sqlite.c). A URI, "scheme://...", names another
 * implementation by its scheme: a PostgreSQL one will answer "postgresql://" here. Until
 * then every scheme is refused with -EINVAL, so that a URI never becomes a file of that
 * name. The message names the scheme only: the rest of a URI may hold a password.
 */
#include "inventory.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "inv_sqlite.h"

/* The length of the URI scheme that where begins with ("scheme://", RFC 3986: a letter,
 * then letters, digits, "+", "-", "."), or 0 for a path. */
static size_t scheme_len(const char *where)
{
	static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	if (!where[0] || !strchr(letters, where[0]))
		return 0;
	size_t n = 1;
	while (where[n] && (strchr(letters, where[n]) || strchr("0123456789+-.", where[n])))
		n++;
	return strncmp(where + n, "://", 3) == 0 ? n : 0;
}

int rtn_inv_open(const char *path, struct rtn_inv **out, char *err, size_t errlen)
{
	size_t n = scheme_len(path);
	if (n) {
		snprintf(err, errlen,
		         "inventory: no storage for \"%.*s://\" in this build (a file path opens "
		         "the SQLite inventory)",
		         (int)n, path);
		return -EINVAL;
	}
	return rtn_sq_open(path, out, err, errlen);
}
