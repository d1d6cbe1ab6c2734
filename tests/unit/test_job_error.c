/* test_job_error.c - the class of a failed job's error that status counts per backend
 * (lib/job.c, rtn_job_error_class) */
#include "testutil.h"
#include "job.h"

#include <string.h>

START_TEST(permission_errors)
{
	static const char *const denied[] = {
	    /* retention-fs: strerror(EACCES), strerror(EPERM), strerror(EROFS) */
	    "cannot delete <locator>: Permission denied",
	    "cannot open the directory of <locator>: Permission denied",
	    "cannot delete <locator>: Operation not permitted",
	    "cannot delete <locator>: Read-only file system",
	    /* the Python example backend: os.strerror(e.errno) */
	    "Permission denied",
	    /* retention-sqlite: SQLITE_READONLY */
	    "attempt to write a readonly database",
	    /* retention-postgres: SQLSTATE 42501 */
	    "ERROR:  permission denied for table visits",
	    "PERMISSION DENIED",
	};
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
		ck_assert_msg(strcmp(rtn_job_error_class(denied[i]), "permission denied") == 0,
		              "%s: %s", denied[i], rtn_job_error_class(denied[i]));
}
END_TEST

START_TEST(other_errors)
{
	static const char *const other[] = {
	    "cannot delete <locator>: Input/output error",
	    "directory <locator> is not empty",
	    "<locator> goes through a symbolic link; refused",
	    "database is locked",
	    "permission",           /* not the whole phrase */
	    "denied",               /* nor this */
	    "a result within 30 s", /* not a timeout's text */
	    "",
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		ck_assert_msg(strcmp(rtn_job_error_class(other[i]), "other") == 0, "%s: %s",
		              other[i], rtn_job_error_class(other[i]));
	ck_assert_str_eq(rtn_job_error_class(NULL), "other");
	/* the daemon's own text for a job without a result in time */
	ck_assert_str_eq(rtn_job_error_class("no result within 30 s"), "timeout");
}
END_TEST

static Suite *job_error_suite(void)
{
	Suite *s = suite_create("job_error");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, permission_errors);
	tcase_add_test(tc, other_errors);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(job_error_suite)
