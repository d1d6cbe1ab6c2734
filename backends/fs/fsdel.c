/* fsdel.c - retention-fs: deleting one path beneath a configured root
 *
 * A locator path is matched lexically against the roots (as configured, or as they
 * resolved at start); the rest of it is split into components, and ".." anywhere is
 * refused. The parent directory is opened beneath the root's descriptor with openat2
 * (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), or, where the kernel
 * has no openat2, by walking the components with openat(O_NOFOLLOW | O_DIRECTORY). So
 * no symbolic link is ever followed: one in the middle of the path fails the job for good.
 * The last component is looked at with fstatat(AT_SYMLINK_NOFOLLOW) and unlinked with
 * unlinkat: a symbolic link there is a name inside the root and is removed itself, never
 * what it points to.
 */
#include "fsdel.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend.h"
#include "log.h"
#include "util.h"

#define MAX_DEPTH 256 /* directories below a directory removed recursively */

static atomic_bool walk_only; /* openat2 is missing (ENOSYS) or a test asked */

void fs_force_walk(bool on)
{
	atomic_store(&walk_only, on);
}

int fs_root_add(struct fs_conf *c, const char *name, char *err, size_t errlen)
{
	char *real = realpath(name, NULL);
	if (!real) {
		int e = errno;
		snprintf(err, errlen, "root %s: %s", name, strerror(e));
		return -e;
	}
	int fd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "root %s: %s", name,
		         e == ENOTDIR ? "not a directory" : strerror(e));
		free(real);
		return -e;
	}
	for (size_t i = 0; i < c->nroots; i++) {
		if (strcmp(c->roots[i].real, real) == 0) {
			snprintf(err, errlen, "root %s is given twice (as %s)", name,
			         c->roots[i].name);
			close(fd);
			free(real);
			return -EEXIST;
		}
	}
	RTN_GROW(c->roots, c->nroots + 1, c->cap);
	c->roots[c->nroots++] = (struct fs_root){rtn_xstrdup(name), real, fd};
	return 0;
}

void fs_conf_fini(struct fs_conf *c)
{
	for (size_t i = 0; i < c->nroots; i++) {
		free(c->roots[i].name);
		free(c->roots[i].real);
		close(c->roots[i].fd);
	}
	free(c->roots);
	memset(c, 0, sizeof(*c));
}

/* path for a message: control characters escaped, cut at about 300 bytes. */
static const char *shown(const char *path, char *buf, size_t n)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)path; *p && o + 8 < n; p++) {
		if (*p < 0x20 || *p == 0x7f)
			o += (size_t)snprintf(buf + o, n - o, *p == '\n' ? "\\n" : "\\x%02x", *p);
		else
			buf[o++] = (char)*p;
	}
	buf[o] = '\0';
	return buf;
}

/* Length of the root name that prefixes path (at a component boundary), or 0. */
static size_t prefix(const char *root, const char *path)
{
	size_t n = strlen(root);
	if (n == 1 && root[0] == '/')
		return 1;
	return strncmp(root, path, n) == 0 && (path[n] == '/' || !path[n]) ? n : 0;
}

/* Open dir (components joined by '/', not empty) beneath rootfd, never following a
 * symbolic link. An fd, or -errno: -ELOOP for a symbolic link on the way. */
static int walk(int rootfd, const char *dir)
{
	char *copy = rtn_xstrdup(dir), *save = NULL;
	int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		free(copy);
		return -errno;
	}
	for (char *comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		int nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		struct stat st;
		if (nfd < 0 && e == ENOTDIR && fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			e = ELOOP;
		close(fd);
		if (nfd < 0) {
			free(copy);
			return -e;
		}
		fd = nfd;
	}
	free(copy);
	return fd;
}

static int open_beneath(int rootfd, const char *dir)
{
	if (!atomic_load(&walk_only)) {
		struct open_how how = {
		    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
		};
		for (int tries = 0;; tries++) {
			long fd = syscall(SYS_openat2, rootfd, dir, &how, sizeof(how));
			if (fd >= 0)
				return (int)fd;
			if (errno == EAGAIN && tries < 16) /* a rename raced with us */
				continue;
			if (errno != ENOSYS)
				return -errno;
			rtn_notice("this kernel has no openat2; walking paths with O_NOFOLLOW");
			atomic_store(&walk_only, true);
			break;
		}
	}
	return walk(rootfd, dir);
}

/* A failed system call on path as a job status. */
static int status_of(int e, const char *what, const char *path, char *err, size_t errlen)
{
	char b[320];
	switch (e) {
	case ENOENT:
	case ENOTDIR: /* a component is not a directory: the path cannot exist */
		return RTN_BST_GONE;
	case ELOOP:
		snprintf(err, errlen, "%s goes through a symbolic link; refused",
		         shown(path, b, 320));
		return RTN_BACKEND_FAIL_FINAL;
	case EXDEV:
		snprintf(err, errlen, "%s leads out of its root; refused", shown(path, b, 320));
		return RTN_BACKEND_FAIL_FINAL;
	case ENAMETOOLONG:
		snprintf(err, errlen, "%s: name too long", shown(path, b, 320));
		return RTN_BACKEND_FAIL_FINAL;
	default:
		snprintf(err, errlen, "%s %s: %s", what, shown(path, b, 320), strerror(e));
		return RTN_BACKEND_FAIL_RETRY;
	}
}

/* Overwrite the regular file name in dirfd (st from fstatat) with zeros. 0 or -errno. */
static int overwrite(int dirfd, const char *name, const struct stat *st)
{
	static const char zeros[65536];
	if (st->st_nlink > 1) /* other names see the same data, perhaps from outside the root */
		return 0;
	int fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat now;
	int r = 0;
	if (fstat(fd, &now) < 0) {
		r = -errno;
	} else if (!S_ISREG(now.st_mode) || now.st_ino != st->st_ino || now.st_dev != st->st_dev) {
		r = -EAGAIN; /* replaced while we looked */
	} else {
		for (off_t off = 0; off < now.st_size && r == 0;) {
			size_t n = (size_t)(now.st_size - off) < sizeof(zeros)
			               ? (size_t)(now.st_size - off)
			               : sizeof(zeros);
			ssize_t w = pwrite(fd, zeros, n, off);
			if (w < 0 && errno != EINTR)
				r = -errno;
			else if (w > 0)
				off += w;
		}
		if (r == 0 && fdatasync(fd) < 0)
			r = -errno;
	}
	close(fd);
	return r;
}

/* Remove a non-directory entry. 0 (also when it was already gone) or -errno. */
static int remove_file(const struct fs_conf *c, int dirfd, const char *name, const struct stat *st)
{
	if (c->overwrite && S_ISREG(st->st_mode)) {
		int r = overwrite(dirfd, name, st);
		if (r < 0)
			return r;
	}
	if (unlinkat(dirfd, name, 0) < 0)
		return -errno;
	return 0;
}

/* Empty the directory name in dirfd, never following a symbolic link or leaving its
 * file system. 0 or -errno (-EXDEV at a mount point, -ELOOP when too deep). */
static int empty_tree(const struct fs_conf *c, int dirfd, const char *name, dev_t dev, int depth)
{
	if (depth > MAX_DEPTH)
		return -ELOOP;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int r = fstat(fd, &st) < 0 ? -errno : st.st_dev != dev ? -EXDEV : 0;
	if (r < 0) {
		close(fd);
		return r;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return -e;
	}
	struct dirent *e;
	while (r == 0 && (errno = 0, e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = errno == ENOENT ? 0 : -errno;
		} else if (S_ISDIR(st.st_mode)) {
			r = empty_tree(c, fd, e->d_name, dev, depth + 1);
			if (r == 0 && unlinkat(fd, e->d_name, AT_REMOVEDIR) < 0)
				r = -errno;
		} else {
			r = remove_file(c, fd, e->d_name, &st);
		}
		if (r == -ENOENT)
			r = 0;
	}
	if (r == 0 && errno)
		r = -errno;
	closedir(d);
	return r;
}

static int delete_dir(const struct fs_conf *c, int pfd, const char *base, const struct stat *st,
                      const char *path, char *err, size_t errlen)
{
	char b[320];
	if (c->dirs == FS_DIRS_NO) {
		snprintf(err, errlen,
		         "%s is a directory; directories are deleted only with \"directories "
		         "empty\" or \"directories recursive\"",
		         shown(path, b, sizeof(b)));
		return RTN_BACKEND_FAIL_FINAL;
	}
	int r = 0;
	if (c->dirs == FS_DIRS_RECURSIVE)
		r = empty_tree(c, pfd, base, st->st_dev, 0);
	if (r == -EXDEV) {
		snprintf(err, errlen, "%s holds a mount point; not deleted",
		         shown(path, b, sizeof(b)));
		return RTN_BACKEND_FAIL_FINAL;
	}
	if (r == -ELOOP) {
		snprintf(err, errlen, "%s is nested more than %d deep; not deleted",
		         shown(path, b, sizeof(b)), MAX_DEPTH);
		return RTN_BACKEND_FAIL_FINAL;
	}
	if (r == 0 && unlinkat(pfd, base, AT_REMOVEDIR) < 0)
		r = -errno;
	if (r == -ENOTEMPTY || r == -EEXIST) {
		snprintf(err, errlen, "directory %s is not empty", shown(path, b, sizeof(b)));
		return RTN_BACKEND_FAIL_RETRY;
	}
	return r < 0 ? status_of(-r, "cannot delete", path, err, errlen) : RTN_BST_DONE;
}

int fs_delete(const struct fs_conf *c, const char *path, char *err, size_t errlen)
{
	char b[320];
	if (path[0] != '/') {
		snprintf(err, errlen, "\"%s\" is not an absolute path", shown(path, b, sizeof(b)));
		return RTN_BACKEND_FAIL_FINAL;
	}
	const struct fs_root *root = NULL;
	size_t best = 0;
	for (size_t i = 0; i < c->nroots; i++) {
		size_t n = prefix(c->roots[i].name, path), m = prefix(c->roots[i].real, path);
		if (m > n)
			n = m;
		if (n > best) {
			best = n;
			root = &c->roots[i];
		}
	}
	if (!root) {
		snprintf(err, errlen, "%s is outside every root", shown(path, b, sizeof(b)));
		return RTN_BACKEND_FAIL_FINAL;
	}
	/* the rest as clean components: "dir" and "base" */
	char *rel = rtn_xmalloc(strlen(path) + 1), *base = NULL;
	size_t o = 0;
	int rc = RTN_BST_DONE;
	for (const char *p = path + best; *p;) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			snprintf(err, errlen, "%s contains \"..\"; refused",
			         shown(path, b, sizeof(b)));
			rc = RTN_BACKEND_FAIL_FINAL;
			goto out;
		}
		if (n && !(n == 1 && p[0] == '.')) {
			if (o)
				rel[o++] = '/';
			base = rel + o;
			memcpy(rel + o, p, n);
			o += n;
		}
		p += n;
	}
	rel[o] = '\0';
	if (!base) {
		snprintf(err, errlen, "%s is a root itself; refused", shown(path, b, sizeof(b)));
		rc = RTN_BACKEND_FAIL_FINAL;
		goto out;
	}
	int pfd = root->fd;
	if (base != rel) {
		base[-1] = '\0';
		if ((pfd = open_beneath(root->fd, rel)) < 0) {
			rc = status_of(-pfd, "cannot open the directory of", path, err, errlen);
			goto out;
		}
	}
	struct stat st;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = status_of(errno, "cannot look at", path, err, errlen);
	} else if (S_ISDIR(st.st_mode)) {
		rc = delete_dir(c, pfd, base, &st, path, err, errlen);
	} else {
		int r = remove_file(c, pfd, base, &st);
		if (r == -EAGAIN)
			snprintf(err, errlen, "%s changed while being deleted",
			         shown(path, b, sizeof(b)));
		rc = r == -EAGAIN ? RTN_BACKEND_FAIL_RETRY
		     : r < 0      ? status_of(-r, "cannot delete", path, err, errlen)
		                  : RTN_BST_DONE;
	}
	if (pfd != root->fd)
		close(pfd);
out:
	free(rel);
	return rc;
}
