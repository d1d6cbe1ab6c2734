/* test_backend_fs.c - retention-fs path resolution and deletion (backends/fs/fsdel.c) on a
 * temporary tree; every test runs twice: with openat2 and with the O_NOFOLLOW walk. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../backends/fs/fsdel.c"
#include "testutil.h"

static char T[256]; /* the temporary directory */
static struct fs_conf C;
static char E[RTN_BACKEND_ERR_MAX];

static char *P(const char *rel)
{
	static char buf[4][1024];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", T, rel);
	return buf[k];
}

static void mk(const char *rel, const char *content)
{
	FILE *f = fopen(P(rel), "w");
	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	fclose(f);
}

static bool exists(const char *rel)
{
	struct stat st;
	return lstat(P(rel), &st) == 0;
}

static void rm_rf(const char *path)
{
	char *cmd = rtn_xasprintf("rm -rf '%s'", path);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

static void setup(void)
{
	snprintf(T, sizeof(T), "/tmp/test_backend_fs.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(T));
	ck_assert_int_eq(mkdir(P("root"), 0755), 0);
	ck_assert_int_eq(mkdir(P("root/sub"), 0755), 0);
	ck_assert_int_eq(mkdir(P("out"), 0755), 0);
	mk("root/sub/f", "f");
	mk("root/top", "t");
	mk("out/secret", "s");
	ck_assert_int_eq(symlink(P("out"), P("root/esc")), 0);
	ck_assert_int_eq(symlink(P("out/secret"), P("root/lnk")), 0);
	ck_assert_int_eq(symlink(P("root/sub"), P("root/in")), 0);
	memset(&C, 0, sizeof(C));
	ck_assert_int_eq(fs_root_add(&C, P("root"), E, sizeof(E)), 0);
	E[0] = '\0';
}

static void teardown(void)
{
	fs_conf_fini(&C);
	fs_force_walk(false);
	rm_rf(T);
}

/* Delete rel (under T) and return the status. */
static int del(const char *path)
{
	E[0] = '\0';
	return fs_delete(&C, path, E, sizeof(E));
}

START_TEST(test_delete_and_gone)
{
	fs_force_walk(_i);
	ck_assert_int_eq(del(P("root/sub/f")), RTN_BST_DONE);
	ck_assert(!exists("root/sub/f"));
	ck_assert_int_eq(del(P("root/sub/f")), RTN_BST_GONE);
	ck_assert_int_eq(del(P("root/top")), RTN_BST_DONE);
	ck_assert_int_eq(del(P("root/nodir/x")), RTN_BST_GONE);
	mk("root/top", "t");
	ck_assert_int_eq(del(P("root/top/below")), RTN_BST_GONE); /* a file as a directory */
	ck_assert_int_eq(del(P("root//sub/./g")), RTN_BST_GONE);
	mk("root/sub/g", "g");
	ck_assert_int_eq(del(P("root//sub/./g")), RTN_BST_DONE);
}
END_TEST

START_TEST(test_outside_and_dotdot)
{
	fs_force_walk(_i);
	ck_assert_int_eq(del(P("out/secret")), RTN_BACKEND_FAIL_FINAL);
	ck_assert(strstr(E, "outside every root"));
	ck_assert_int_eq(del(P("root/../out/secret")), RTN_BACKEND_FAIL_FINAL);
	ck_assert(strstr(E, ".."));
	ck_assert_int_eq(del(P("root/sub/../top")), RTN_BACKEND_FAIL_FINAL);
	ck_assert_int_eq(del(P("root/sub/..")), RTN_BACKEND_FAIL_FINAL);
	ck_assert_int_eq(del("root/top"), RTN_BACKEND_FAIL_FINAL);
	ck_assert(strstr(E, "not an absolute path"));
	ck_assert_int_eq(del(""), RTN_BACKEND_FAIL_FINAL);
	ck_assert_int_eq(del(P("root")), RTN_BACKEND_FAIL_FINAL);
	ck_assert(strstr(E, "root itself"));
	ck_assert_int_eq(del(P("root/")), RTN_BACKEND_FAIL_FINAL);
	ck_assert_int_eq(del(P("root/.")), RTN_BACKEND_FAIL_FINAL);
	ck_assert_int_eq(mkdir(P("rootx"), 0755), 0);
	mk("rootx/f", "neighbour");
	ck_assert_int_eq(del(P("rootx/f")), RTN_BACKEND_FAIL_FINAL);
	ck_assert(exists("rootx/f") && exists("out/secret") && exists("root/top"));
}
END_TEST

START_TEST(test_symlinks)
{
	fs_force_walk(_i);
	ck_assert_int_eq(del(P("root/esc/secret")), RTN_BACKEND_FAIL_FINAL);
	ck_assert(strstr(E, "symbolic link"));
	ck_assert_int_eq(del(P("root/esc/missing")), RTN_BACKEND_FAIL_FINAL);
	ck_assert_int_eq(del(P("root/in/f")), RTN_BACKEND_FAIL_FINAL); /* inside, still refused */
	ck_assert(exists("out/secret") && exists("root/sub/f"));
	/* the last component: the link itself goes */
	ck_assert_int_eq(del(P("root/lnk")), RTN_BST_DONE);
	ck_assert(!exists("root/lnk") && exists("out/secret"));
	ck_assert_int_eq(del(P("root/esc")), RTN_BST_DONE);
	ck_assert(!exists("root/esc") && exists("out/secret"));
	/* a dangling link is a name too */
	ck_assert_int_eq(symlink("/nonexistent", P("root/dangling")), 0);
	ck_assert_int_eq(del(P("root/dangling")), RTN_BST_DONE);
}
END_TEST

START_TEST(test_root_symlink_and_names)
{
	fs_force_walk(_i);
	fs_conf_fini(&C);
	ck_assert_int_eq(symlink(P("root"), P("L")), 0);
	ck_assert_int_eq(fs_root_add(&C, P("L"), E, sizeof(E)), 0);
	ck_assert_str_eq(C.roots[0].name, P("L"));
	ck_assert_str_eq(C.roots[0].real, P("root"));
	ck_assert_int_eq(del(P("L/top")), RTN_BST_DONE);
	ck_assert_int_eq(del(P("root/sub/f")), RTN_BST_DONE);
	mk("root/new\nline", "n");
	mk("root/new", "n");
	ck_assert_int_eq(del(P("L/new\nline")), RTN_BST_DONE);
	ck_assert(exists("root/new"));
	ck_assert_int_eq(del(P("out/x\ny")), RTN_BACKEND_FAIL_FINAL);
	ck_assert(strstr(E, "x\\ny") && !strchr(E, '\n'));
	/* a second root resolving to the same directory is refused */
	ck_assert_int_eq(fs_root_add(&C, P("root"), E, sizeof(E)), -EEXIST);
	ck_assert_int_eq(fs_root_add(&C, P("missing"), E, sizeof(E)), -ENOENT);
	ck_assert_int_eq(fs_root_add(&C, P("root/new"), E, sizeof(E)), -ENOTDIR);
}
END_TEST

START_TEST(test_longest_root_wins)
{
	fs_force_walk(_i);
	ck_assert_int_eq(fs_root_add(&C, P("root/sub"), E, sizeof(E)), 0);
	ck_assert_int_eq(del(P("root/sub/f")), RTN_BST_DONE);
	/* with root/sub a root of its own, root/sub itself is a root: refused */
	ck_assert_int_eq(del(P("root/sub")), RTN_BACKEND_FAIL_FINAL);
}
END_TEST

START_TEST(test_directories)
{
	fs_force_walk(_i);
	ck_assert_int_eq(mkdir(P("root/empty"), 0755), 0);
	ck_assert_int_eq(del(P("root/empty")), RTN_BACKEND_FAIL_FINAL);
	ck_assert(strstr(E, "is a directory"));
	C.dirs = FS_DIRS_EMPTY;
	ck_assert_int_eq(del(P("root/sub")), RTN_BACKEND_FAIL_RETRY);
	ck_assert(strstr(E, "not empty"));
	ck_assert_int_eq(del(P("root/empty")), RTN_BST_DONE);
	C.dirs = FS_DIRS_RECURSIVE;
	ck_assert_int_eq(mkdir(P("root/sub/deep"), 0755), 0);
	mk("root/sub/deep/x", "x");
	ck_assert_int_eq(symlink(P("out"), P("root/sub/deep/out")), 0);
	ck_assert_int_eq(del(P("root/sub")), RTN_BST_DONE);
	ck_assert(!exists("root/sub") && exists("out/secret"));
	ck_assert_int_eq(del(P("root/sub")), RTN_BST_GONE);
}
END_TEST

START_TEST(test_overwrite)
{
	fs_force_walk(_i);
	C.overwrite = true;
	mk("root/doc", "confidential");
	int fd = open(P("root/doc"), O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(del(P("root/doc")), RTN_BST_DONE);
	char buf[32] = "";
	ck_assert_int_eq(pread(fd, buf, sizeof(buf), 0), 12);
	ck_assert_mem_eq(buf, "\0\0\0\0\0\0\0\0\0\0\0\0", 12);
	close(fd);
	/* with a second hard link (outside the root) the data stays */
	mk("root/shared", "shared");
	ck_assert_int_eq(link(P("root/shared"), P("out/shared")), 0);
	ck_assert_int_eq(del(P("root/shared")), RTN_BST_DONE);
	FILE *f = fopen(P("out/shared"), "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_str_eq(buf, "shared");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("backend_fs");
	TCase *tc = tcase_create("fsdel");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_delete_and_gone, 0, 2);
	tcase_add_loop_test(tc, test_outside_and_dotdot, 0, 2);
	tcase_add_loop_test(tc, test_symlinks, 0, 2);
	tcase_add_loop_test(tc, test_root_symlink_and_names, 0, 2);
	tcase_add_loop_test(tc, test_longest_root_wins, 0, 2);
	tcase_add_loop_test(tc, test_directories, 0, 2);
	tcase_add_loop_test(tc, test_overwrite, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(suite)
