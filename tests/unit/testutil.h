/* testutil.h - shared glue of the Check unit tests: one binary per module */
#ifndef RTN_TESTUTIL_H
#define RTN_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "diag.h"
#include "util.h"

/* Every diagnostic of d formatted, one per line ("" if none); the caller frees. */
static inline char *rtn_test_diags_joined(const struct rtn_diags *d)
{
	char *out = rtn_xstrdup("");
	for (size_t i = 0; i < d->n; i++) {
		char *m = rtn_diag_format(&d->v[i]);
		char *t = rtn_xasprintf("%s%s%s", out, i ? "\n" : "", m);
		free(m);
		free(out);
		out = t;
	}
	return out;
}

/* dir/name, in a static ring of 8 buffers (a call may use several at once). */
static inline const char *rtn_test_path(const char *dir, const char *name)
{
	static char bufs[8][256];
	static int i;
	char *b = bufs[i++ % 8];
	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

/* Remove the directory tree dir (a test's temporary directory). */
static inline void rtn_test_rmrf(const char *dir)
{
	char *cmd = rtn_xasprintf("rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

/* main() that runs the suite returned by fn and exits non-zero on any failure. */
#define RTN_TEST_MAIN(fn)                                                                          \
	int main(void)                                                                             \
	{                                                                                          \
		SRunner *sr = srunner_create(fn());                                                \
		srunner_set_fork_status(sr, CK_NOFORK);                                            \
		srunner_run_all(sr, CK_NORMAL);                                                    \
		int failed = srunner_ntests_failed(sr);                                            \
		srunner_free(sr);                                                                  \
		return failed ? EXIT_FAILURE : EXIT_SUCCESS;                                       \
	}

#endif
