/* sqlite_insecure.c - a test hook: every SQLite connection of a process starts with
 * secure_delete off, as it would in a build of SQLite without Debian's compile-time
 * default (SQLITE_SECURE_DELETE). Nothing in the programs knows of it:
 *
 *   LD_PRELOAD=build/tests/libsqlite_insecure.so build/retention-sqlite --config ...
 *
 * (with an ASan build also ASAN_OPTIONS=verify_asan_link_order=0). sqlite3_open_v2,
 * sqlite3_open and sqlite3_open16 are wrapped: the library's own function opens the
 * connection, then "PRAGMA secure_delete = OFF" runs on it. A program that sets
 * secure_delete itself afterwards wins, which is what the residue tests rely on.
 *
 * With SQLITE_INSECURE_LOCKED=1 in the environment the hook also installs an authorizer
 * that refuses any PRAGMA secure_delete that sets a value: a library that cannot turn
 * it on, for the test of a program's refusal to run on one. */
#include <dlfcn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int (*real_open_v2)(const char *, sqlite3 **, int, const char *);
static int (*real_open)(const char *, sqlite3 **);
static int (*real_open16)(const void *, sqlite3 **);

static void *next(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);
	if (!f) {
		fprintf(stderr, "sqlite_insecure: %s not found: %s\n", name, dlerror());
		abort();
	}
	return f;
}

/* The library's functions, found once when the hook is loaded (before any thread). */
__attribute__((constructor)) static void find_real(void)
{
	*(void **)&real_open_v2 = next("sqlite3_open_v2");
	*(void **)&real_open = next("sqlite3_open");
	*(void **)&real_open16 = next("sqlite3_open16");
}

/* The authorizer of SQLITE_INSECURE_LOCKED: "PRAGMA secure_delete = X" is refused. */
static int locked(void *arg, int action, const char *a1, const char *a2, const char *a3,
                  const char *a4)
{
	(void)arg, (void)a3, (void)a4;
	if (action == SQLITE_PRAGMA && a1 && strcasecmp(a1, "secure_delete") == 0 && a2)
		return SQLITE_DENY;
	return SQLITE_OK;
}

/* secure_delete off on a connection that opened; a failure to do so is fatal, so that a
 * test under the hook never passes by the library's default after all. */
static int insecure(int rc, sqlite3 *db)
{
	if (rc != SQLITE_OK || !db)
		return rc;
	if (sqlite3_exec(db, "PRAGMA secure_delete = OFF", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "sqlite_insecure: PRAGMA secure_delete = OFF: %s\n",
		        sqlite3_errmsg(db));
		abort();
	}
	const char *lock = getenv("SQLITE_INSECURE_LOCKED");
	if (lock && strcmp(lock, "1") == 0)
		sqlite3_set_authorizer(db, locked, NULL);
	return rc;
}

int sqlite3_open_v2(const char *filename, sqlite3 **db, int flags, const char *vfs)
{
	int rc = real_open_v2(filename, db, flags, vfs);
	return insecure(rc, *db);
}

int sqlite3_open(const char *filename, sqlite3 **db)
{
	int rc = real_open(filename, db);
	return insecure(rc, *db);
}

int sqlite3_open16(const void *filename, sqlite3 **db)
{
	int rc = real_open16(filename, db);
	return insecure(rc, *db);
}
