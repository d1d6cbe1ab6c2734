/* test_backend_fs.c - retention-fs path resolution and deletion (backends/fs/fsdel.c) on a
 * temporary tree; every test runs twice: with openat2 and with the O_NOFOLLOW walk; the
 * mount tests (real tmpfs and bind mounts, as root) also with mount ids from fdinfo. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
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
	fs_force_fdinfo(false);
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

/* Mounts, in a mount namespace of this process (so none outlives it, even on a crash);
 * the fixture unmounts them (deepest first) before the tree is removed. */
static char Mounted[8][1024];
static int NMounted;

static void mount_setup(void)
{
	static bool own_namespace;
	if (!own_namespace) {
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			ck_abort_msg(
			    "cannot make a mount namespace (%s): these tests need root with "
			    "CAP_SYS_ADMIN, as in CI; they are not skipped",
			    strerror(errno));
		own_namespace = true;
	}
	setup();
	NMounted = 0;
}

static void mount_teardown(void)
{
	while (NMounted > 0)
		if (umount(Mounted[--NMounted]) < 0)
			ck_assert_int_eq(umount2(Mounted[NMounted], MNT_DETACH), 0);
	teardown();
}

/* Mount a tmpfs (src NULL) or bind-mount src (under T) at rel (under T; a directory is
 * made there if nothing is). */
static void mnt(const char *src, const char *rel)
{
	ck_assert_int_lt(NMounted, 8);
	if (!exists(rel))
		ck_assert_int_eq(mkdir(P(rel), 0755), 0);
	int r = src ? mount(P(src), P(rel), NULL, MS_BIND, NULL)
	            : mount("rtn-test", P(rel), "tmpfs", 0, "size=1m");
	if (r < 0)
		ck_abort_msg("mount at %s: %s (mounting needs root with CAP_SYS_ADMIN)", P(rel),
		             strerror(errno));
	snprintf(Mounted[NMounted++], sizeof(Mounted[0]), "%s", P(rel));
}

/* Each mount test runs four ways: bit 0 the O_NOFOLLOW walk, bit 1 mount ids from
 * /proc/self/fdinfo. */
static void mode(int i)
{
	fs_force_walk(i & 1);
	fs_force_fdinfo(i & 2);
}

START_TEST(test_mount_ids)
{
	mode(_i);
	mnt(NULL, "root/tm");
	mnt("out", "root/b");
	int tm = open(P("root/tm"), O_PATH | O_CLOEXEC), b = open(P("root/b"), O_PATH | O_CLOEXEC);
	ck_assert(tm >= 0 && b >= 0);
	struct fs_mnt m1, m2, m3;
	ck_assert_int_eq(mount_of(tm, &m1), 0);
	ck_assert_int_eq(mount_of(b, &m2), 0);
	ck_assert(m1.has_id && m2.has_id);
	ck_assert(m1.id != C.roots[0].mnt.id && m2.id != C.roots[0].mnt.id);
	ck_assert(m1.dev != C.roots[0].mnt.dev && m2.dev == C.roots[0].mnt.dev); /* same fs */
	ck_assert_int_eq(check_fd(&C.roots[0], tm, true), -EXDEV);
	ck_assert_int_eq(check_fd(&C.roots[0], b, true), -EXDEV);
	/* statx and fdinfo agree */
	fs_force_fdinfo(!(_i & 2));
	ck_assert_int_eq(mount_of(b, &m3), 0);
	ck_assert(m3.has_id && m3.id == m2.id && m3.dev == m2.dev);
	close(tm);
	close(b);
}
END_TEST

START_TEST(test_mount_point_locator)
{
	mode(_i);
	C.dirs = FS_DIRS_RECURSIVE;
	C.overwrite = true;
	mnt(NULL, "root/tm");
	mk("root/tm/a", "on the tmpfs");
	mk("root/fb", "");
	mnt("out/secret", "root/fb");
	mnt(NULL, "root/sub/empty");
	ck_assert_int_eq(del(P("root/tm")), RTN_BACKEND_FAIL_FINAL);
	ck_assert(strstr(E, "is a mount point"));
	ck_assert_int_eq(del(P("root/tm/.")), RTN_BACKEND_FAIL_FINAL);
	ck_assert_int_eq(del(P("root/fb")), RTN_BACKEND_FAIL_FINAL);
	ck_assert(strstr(E, "is a mount point"));
	ck_assert_int_eq(del(P("root/sub/empty")), RTN_BACKEND_FAIL_FINAL);
	C.dirs = FS_DIRS_EMPTY;
	ck_assert_int_eq(del(P("root/sub/empty")), RTN_BACKEND_FAIL_FINAL);
	ck_assert(exists("root/tm/a") && exists("root/sub/empty"));
	FILE *f = fopen(P("out/secret"), "r");
	char buf[8] = "";
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_str_eq(buf, "s"); /* not overwritten through the mount */
}
END_TEST

START_TEST(test_mount_on_the_way)
{
	mode(_i);
	mnt("out", "root/b"); /* the same file system, the same st_dev */
	ck_assert_int_eq(del(P("root/b/secret")), RTN_BACKEND_FAIL_FINAL);
	ck_assert(strstr(E, "goes through the mount point"));
	ck_assert_msg(strstr(E, P("root/b;")), "%s", E);
	ck_assert_int_eq(del(P("root/b/missing/x")), RTN_BACKEND_FAIL_FINAL);
	mnt(NULL, "root/sub/tm");
	ck_assert_int_eq(mkdir(P("root/sub/tm/x"), 0755), 0);
	mk("root/sub/tm/x/y", "y");
	ck_assert_int_eq(del(P("root/sub/tm/x/y")), RTN_BACKEND_FAIL_FINAL);
	ck_assert_msg(strstr(E, P("root/sub/tm;")), "%s", E);
	ck_assert(exists("out/secret") && exists("root/sub/tm/x/y"));
	ck_assert_int_eq(del(P("root/sub/f")), RTN_BST_DONE);
}
END_TEST

START_TEST(test_mount_below_recursive)
{
	mode(_i);
	C.dirs = FS_DIRS_RECURSIVE;
	ck_assert_int_eq(mkdir(P("root/sub/deep"), 0755), 0);
	ck_assert_int_eq(mkdir(P("root/sub/deep/b"), 0755), 0);
	ck_assert_int_eq(mkdir(P("root/sub/loop"), 0755), 0);
	mk("root/sub/deep/x", "x");
	mnt("out", "root/sub/deep/b");
	mnt("root", "root/sub/loop"); /* the root itself, bound inside itself */
	mnt(NULL, "root/sub/tm");
	mk("root/sub/tm/t", "t");
	ck_assert_int_eq(del(P("root/sub")), RTN_BACKEND_FAIL_FINAL);
	ck_assert_msg(strstr(E, "holds 3 mount points"), "%s", E);
	ck_assert(exists("out/secret") && exists("root/sub/tm/t") && exists("root/top"));
	ck_assert(!exists("root/sub/f") && !exists("root/sub/deep/x"));
	ck_assert(exists("root/sub/deep/b") && exists("root/sub/loop"));
	/* the same again after the mounts are gone: done */
	while (NMounted > 0)
		ck_assert_int_eq(umount(Mounted[--NMounted]), 0);
	ck_assert_int_eq(del(P("root/sub")), RTN_BST_DONE);
	ck_assert(!exists("root/sub") && exists("out/secret"));
}
END_TEST

START_TEST(test_root_on_a_mount)
{
	mode(_i);
	C.dirs = FS_DIRS_RECURSIVE;
	ck_assert_int_eq(mkdir(P("mroot"), 0755), 0);
	mnt(NULL, "mroot");
	ck_assert_int_eq(mkdir(P("mroot/d"), 0755), 0);
	mk("mroot/d/f", "f");
	mk("mroot/g", "g");
	fs_conf_fini(&C);
	C.dirs = FS_DIRS_RECURSIVE;
	ck_assert_int_eq(fs_root_add(&C, P("mroot"), E, sizeof(E)), 0);
	ck_assert_int_eq(del(P("mroot/g")), RTN_BST_DONE);
	ck_assert_int_eq(del(P("mroot/d")), RTN_BST_DONE);
	ck_assert(!exists("mroot/d") && !exists("mroot/g"));
}
END_TEST

START_TEST(test_root_on_an_overlay)
{
	/* layers on two file systems: a file's st_dev is its layer's, not the directory's;
	 * only the mount id tells mount points apart there */
	mode(_i);
	mnt(NULL, "lower");
	mnt(NULL, "upper");
	ck_assert_int_eq(mkdir(P("upper/u"), 0755), 0);
	ck_assert_int_eq(mkdir(P("upper/w"), 0755), 0);
	ck_assert_int_eq(mkdir(P("lower/d"), 0755), 0);
	ck_assert_int_eq(mkdir(P("lower/m"), 0755), 0);
	mk("lower/f", "f");
	mk("lower/d/g", "g");
	ck_assert_int_eq(mkdir(P("ov"), 0755), 0);
	char *opts = rtn_xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", P("lower"), P("upper/u"),
	                           P("upper/w"));
	int r = mount("rtn-test", P("ov"), "overlay", 0, opts);
	free(opts);
	if (r < 0)
		ck_abort_msg("mount -t overlay at %s: %s", P("ov"), strerror(errno));
	snprintf(Mounted[NMounted++], sizeof(Mounted[0]), "%s", P("ov"));
	struct stat d, f;
	ck_assert(lstat(P("ov"), &d) == 0 && lstat(P("ov/f"), &f) == 0);
	ck_assert_msg(d.st_dev != f.st_dev, "this overlay has one st_dev; nothing tested");
	mnt("out", "ov/m");
	fs_conf_fini(&C);
	C.dirs = FS_DIRS_RECURSIVE;
	ck_assert_int_eq(fs_root_add(&C, P("ov"), E, sizeof(E)), 0);
	ck_assert_int_eq(del(P("ov/f")), RTN_BST_DONE);
	ck_assert_int_eq(del(P("ov/d/g")), RTN_BST_DONE);
	ck_assert_int_eq(del(P("ov/m/secret")), RTN_BACKEND_FAIL_FINAL);
	ck_assert_int_eq(del(P("ov/m")), RTN_BACKEND_FAIL_FINAL);
	ck_assert(!exists("ov/f") && !exists("ov/d/g") && exists("out/secret"));
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
	tc = tcase_create("mounts");
	tcase_add_checked_fixture(tc, mount_setup, mount_teardown);
	tcase_add_loop_test(tc, test_mount_ids, 0, 4);
	tcase_add_loop_test(tc, test_mount_point_locator, 0, 4);
	tcase_add_loop_test(tc, test_mount_on_the_way, 0, 4);
	tcase_add_loop_test(tc, test_mount_below_recursive, 0, 4);
	tcase_add_loop_test(tc, test_root_on_a_mount, 0, 4);
	tcase_add_loop_test(tc, test_root_on_an_overlay, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(suite)
