/* inv_sqlite.h - the SQLite implementation of the inventory (inventory.h) */
#ifndef RTN_INV_SQLITE_H
#define RTN_INV_SQLITE_H

#include <stddef.h>

#include "inventory.h"

/* Open (creating or migrating) the SQLite inventory in the file at path: WAL mode,
 * synchronous=FULL, a 5 s busy timeout, quick_check, then the schema migrations up to
 * RTN_INV_SCHEMA_VERSION. 0 or -errno (-EIO, -EPROTO for a newer schema) with a message in
 * err. rtn_inv_open() calls this for a file path. */
int rtn_sq_open(const char *path, struct rtn_inv **out, char *err, size_t errlen);

#endif
