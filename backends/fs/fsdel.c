/* fsdel.c - retention-fs: deleting one path beneath a configured root
 *
 * A locator path is matched lexically against the roots (as configured, or as they
 * resolved at start); the rest of it is split into components, and ".." anywhere is
 * refused. The parent directory is opened beneath the root's descriptor with openat2
 * (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV), or,
 * where the kernel has no openat2, by walking the components with openat(O_NOFOLLOW |
 * O_DIRECTORY), checking the mount of each. So no symbolic link is ever followed and no
 * mount point crossed: one in the middle of the path fails the job for good.
 * The last component is looked at with statx(AT_SYMLINK_NOFOLLOW) and unlinked with
 * unlinkat: a symbolic link there is a name inside the root and is removed itself, never
 * what it points to; a mount point there fails the job for good.
 *
 * Nothing on another mount than the root's is touched. An object's mount is its mount id
 * (statx STATX_MNT_ID, Linux 5.8; before that /proc/self/fdinfo), so a bind mount of the
 * same file system is caught too, and for directories also its st_dev. A recursive
 * delete leaves every mount point below it in place, with the directories leading to it,
 * deletes the rest, and fails for good naming the mount point.
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
#include <sys/sysmacros.h>
#include <unistd.h>

#include "backend.h"
#include "log.h"
#include "util.h"

#define MAX_DEPTH 256 /* directories below a directory removed recursively */

static atomic_bool walk_only;   /* openat2 is missing (ENOSYS) or a test asked */
static atomic_bool fdinfo_only; /* statx gives no mount ids (before 5.8) or a test asked */

void fs_force_walk(bool on)
{
	atomic_store(&walk_only, on);
}

void fs_force_fdinfo(bool on)
{
	atomic_store(&fdinfo_only, on);
}

/* statx told no mount id: read them from /proc/self/fdinfo from now on. */
static void statx_has_no_mnt_id(void)
{
	if (!atomic_exchange(&fdinfo_only, true))
		rtn_notice("this kernel's statx gives no mount ids; reading /proc/self/fdinfo");
}

/* The mount id of fd from /proc/self/fdinfo (Linux 3.15). 0 or -errno. */
static int fdinfo_mnt_id(int fd, uint64_t *id)
{
	char name[64], buf[1024];
	snprintf(name, sizeof(name), "/proc/self/fdinfo/%d", fd);
	int f = open(name, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -errno;
	ssize_t n = read(f, buf, sizeof(buf) - 1);
	int e = errno;
	close(f);
	if (n < 0)
		return -e;
	buf[n] = '\0';
	const char *p = strstr(buf, "\nmnt_id:"); /* never the first line, which is "pos:" */
	if (!p)
		return -ENOTSUP;
	*id = strtoull(p + 8, NULL, 10);
	return 0;
}

/* The mount fd is on, into m. 0 or -errno. */
static int mount_of(int fd, struct fs_mnt *m)
{
	struct statx sx;
	if (!atomic_load(&fdinfo_only) && statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) == 0) {
		if (sx.stx_mask & STATX_MNT_ID) {
			*m = (struct fs_mnt){makedev(sx.stx_dev_major, sx.stx_dev_minor),
			                     sx.stx_mnt_id, true};
			return 0;
		}
		statx_has_no_mnt_id();
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	m->dev = st.st_dev;
	m->has_id = fdinfo_mnt_id(fd, &m->id) == 0;
	return 0;
}

/* Whether an object on m is on root's mount. Its mount id decides; a directory must also
 * have the root's st_dev (a Btrfs subvolume is another file system to it). Not a file's
 * st_dev: on an overlay whose layers lie on several file systems it is the layer's. */
bool fs_on_root_mount(const struct fs_root *root, const struct fs_mnt *m, bool dir)
{
	if (dir && m->dev != root->mnt.dev)
		return false;
	return !m->has_id || !root->mnt.has_id || m->id == root->mnt.id;
}

/* 0 if fd is on root's mount, -EXDEV if not, or -errno. */
static int check_fd(const struct fs_root *root, int fd, bool dir)
{
	struct fs_mnt m;
	int r = mount_of(fd, &m);
	return r < 0 ? r : fs_on_root_mount(root, &m, dir) ? 0 : -EXDEV;
}

/* Look at name in dirfd without following it or triggering an automount, into st (mode,
 * ino, dev, nlink, size). 0, -EXDEV when it is on another mount than root's (a mount
 * point), or -errno. */
static int look(const struct fs_root *root, int dirfd, const char *name, struct stat *st)
{
	const int at = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT;
	if (!atomic_load(&fdinfo_only)) {
		struct statx sx;
		int r = statx(dirfd, name, at, STATX_BASIC_STATS | STATX_MNT_ID, &sx);
		if (r < 0 && errno != ENOSYS)
			return -errno;
		if (r == 0 && (sx.stx_mask & STATX_MNT_ID)) {
			memset(st, 0, sizeof(*st));
			st->st_mode = sx.stx_mode;
			st->st_ino = sx.stx_ino;
			st->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
			st->st_nlink = sx.stx_nlink;
			st->st_size = (off_t)sx.stx_size;
			struct fs_mnt m = {st->st_dev, sx.stx_mnt_id, true};
			return fs_on_root_mount(root, &m, S_ISDIR(st->st_mode)) ? 0 : -EXDEV;
		}
		statx_has_no_mnt_id();
	}
	/* a kernel before 5.8: the mount id of an O_PATH descriptor of it */
	if (fstatat(dirfd, name, st, at) < 0)
		return -errno;
	if (S_ISDIR(st->st_mode) && st->st_dev != root->mnt.dev)
		return -EXDEV;
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = check_fd(root, fd, S_ISDIR(st->st_mode));
	close(fd);
	return r;
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
	struct fs_mnt mnt;
	int r = fd < 0 ? -errno : mount_of(fd, &mnt);
	if (r < 0) {
		snprintf(err, errlen, "root %s: %s", name,
		         r == -ENOTDIR ? "not a directory" : strerror(-r));
		if (fd >= 0)
			close(fd);
		free(real);
		return r;
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
	/* Said at once, not only by the first job that fails: deleting a file needs write
	 * and search permission on its directory (retention-fs(8), PERMISSIONS). */
	if (faccessat(AT_FDCWD, real, W_OK | X_OK, AT_EACCESS) < 0)
		rtn_warn("root %s: uid %u may not write it (%s): files directly in it cannot be "
		         "deleted",
		         name, (unsigned)geteuid(), strerror(errno));
	RTN_GROW(c->roots, c->nroots + 1, c->cap);
	c->roots[c->nroots++] =
	    (struct fs_root){rtn_xstrdup(name), real, fd, mnt, NULL, FS_EV_MTIME, NULL};
	return 0;
}

void fs_conf_fini(struct fs_conf *c)
{
	for (size_t i = 0; i < c->nroots; i++) {
		free(c->roots[i].name);
		free(c->roots[i].real);
		free(c->roots[i].scan_category);
		free(c->roots[i].scan_event_name);
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

/* Open dir (components joined by '/', not empty) beneath root, never following a
 * symbolic link or entering another mount. An fd, or -errno: -ELOOP for a symbolic link
 * on the way, -EXDEV for a mount point, with *mlen set to where it ends in dir. */
static int walk(const struct fs_root *root, const char *dir, size_t *mlen)
{
	char *copy = rtn_xstrdup(dir), *save = NULL;
	int fd = fcntl(root->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		free(copy);
		return -errno;
	}
	for (char *comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		int nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = nfd < 0 ? errno : 0;
		struct stat st;
		if (nfd < 0 && e == ENOTDIR && fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			e = ELOOP;
		if (nfd >= 0 && (e = -check_fd(root, nfd, true)) != 0) {
			close(nfd);
			nfd = -1;
		}
		close(fd);
		if (nfd < 0) {
			if (e == EXDEV)
				*mlen = (size_t)(comp - copy) + strlen(comp);
			free(copy);
			return -e;
		}
		fd = nfd;
	}
	free(copy);
	return fd;
}

/* Open dir beneath root as walk() does, with openat2 where the kernel has it. */
static int open_beneath(const struct fs_root *root, const char *dir, size_t *mlen)
{
	if (!atomic_load(&walk_only)) {
		struct open_how how = {
		    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
		               RESOLVE_NO_XDEV,
		};
		for (int tries = 0;; tries++) {
			long fd = syscall(SYS_openat2, root->fd, dir, &how, sizeof(how));
			if (fd >= 0)
				return (int)fd;
			if (errno == EAGAIN && tries < 16) /* a rename raced with us */
				continue;
			if (errno == EXDEV) /* a mount point on the way: the walk finds which */
				break;
			if (errno != ENOSYS)
				return -errno;
			rtn_notice("this kernel has no openat2; walking paths with O_NOFOLLOW");
			atomic_store(&walk_only, true);
			break;
		}
	}
	return walk(root, dir, mlen);
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
		snprintf(err, errlen, "%s crosses a mount point; refused", shown(path, b, 320));
		return RTN_BACKEND_FAIL_FINAL;
	case ENAMETOOLONG:
		snprintf(err, errlen, "%s: name too long", shown(path, b, 320));
		return RTN_BACKEND_FAIL_FINAL;
	default:
		snprintf(err, errlen, "%s %s: %s", what, shown(path, b, 320), strerror(e));
		return RTN_BACKEND_FAIL_RETRY;
	}
}

/* Overwrite the regular file name in dirfd (st from look) with zeros. 0 or -errno
 * (-EXDEV if it is a mount point after all). */
static int overwrite(const struct fs_root *root, int dirfd, const char *name, const struct stat *st)
{
	static const char zeros[65536];
	if (st->st_nlink > 1) /* other names see the same data, perhaps from outside the root */
		return 0;
	int fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat now;
	int r = check_fd(root, fd, false); /* a file mounted over it since we looked */
	if (r == 0 && fstat(fd, &now) < 0) {
		r = -errno;
	} else if (r == 0 && (!S_ISREG(now.st_mode) || now.st_ino != st->st_ino ||
	                      now.st_dev != st->st_dev)) {
		r = -EAGAIN; /* replaced while we looked */
	} else if (r == 0) {
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

/* Remove a non-directory entry (st from look). 0 or -errno. */
static int remove_file(const struct fs_conf *c, const struct fs_root *root, int dirfd,
                       const char *name, const struct stat *st)
{
	if (c->overwrite && S_ISREG(st->st_mode)) {
		int r = overwrite(root, dirfd, name, st);
		if (r < 0)
			return r;
	}
	if (unlinkat(dirfd, name, 0) < 0)
		return -errno;
	return 0;
}

size_t fs_path_push(char **path, size_t *len, size_t *cap, const char *name)
{
	size_t was = *len, n = strlen(name);
	RTN_GROW(*path, was + n + 2, *cap);
	(*path)[was] = '/';
	memcpy(*path + was + 1, name, n + 1);
	*len = was + 1 + n;
	return was;
}

void fs_path_pop(char *path, size_t *len, size_t was)
{
	*len = was;
	path[was] = '\0';
}

/* A recursive delete: the entry it is at, and the mount points it left in place. */
struct tree {
	const struct fs_conf *c;
	const struct fs_root *root;
	char *path; /* the entry being looked at, in full, for messages */
	size_t len, cap;
	char *first;   /* the first mount point met, or NULL */
	size_t mounts; /* how many */
};

/* t->path is a mount point, left in place. 1. */
static int tree_mount(struct tree *t)
{
	if (!t->mounts++)
		t->first = rtn_xstrdup(t->path);
	return 1;
}

/* Empty the directory name in dirfd (t->path), never following a symbolic link or
 * entering another mount: a mount point below it stays, with the directories leading to
 * it, and everything else goes. 0 when emptied, 1 when a mount point was left (noted in
 * t), or -errno (-ELOOP when too deep). */
static int empty_tree(struct tree *t, int dirfd, const char *name, int depth)
{
	if (depth > MAX_DEPTH)
		return -ELOOP;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = check_fd(t->root, fd, true); /* mounted on since we looked */
	if (r < 0) {
		close(fd);
		return r == -EXDEV ? tree_mount(t) : r;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return -e;
	}
	struct dirent *e;
	while (r >= 0 && (errno = 0, e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		size_t was = fs_path_push(&t->path, &t->len, &t->cap, e->d_name);
		struct stat st;
		int q = look(t->root, fd, e->d_name, &st);
		if (q == 0 && S_ISDIR(st.st_mode)) {
			q = empty_tree(t, fd, e->d_name, depth + 1);
			if (q == 0 && unlinkat(fd, e->d_name, AT_REMOVEDIR) < 0)
				q = -errno;
		} else if (q == 0) {
			q = remove_file(t->c, t->root, fd, e->d_name, &st);
		}
		if (q == -EXDEV)
			q = tree_mount(t);
		fs_path_pop(t->path, &t->len, was);
		if (q < 0 && q != -ENOENT)
			r = q;
		else if (q > 0)
			r = 1;
	}
	if (r >= 0 && errno)
		r = -errno;
	closedir(d);
	return r;
}

static int delete_dir(const struct fs_conf *c, const struct fs_root *root, int pfd,
                      const char *base, const char *path, const char *full, char *err,
                      size_t errlen)
{
	char b[320], m[200];
	if (c->dirs == FS_DIRS_NO) {
		snprintf(err, errlen,
		         "%s is a directory; directories are deleted only with \"directories "
		         "empty\" or \"directories recursive\"",
		         shown(path, b, sizeof(b)));
		return RTN_BACKEND_FAIL_FINAL;
	}
	int r = 0;
	if (c->dirs == FS_DIRS_RECURSIVE) {
		size_t n = strlen(full);
		struct tree t = {
		    .c = c, .root = root, .path = rtn_xstrdup(full), .len = n, .cap = n + 1};
		r = empty_tree(&t, pfd, base, 0);
		if (r > 0 && t.mounts == 1)
			snprintf(err, errlen,
			         "%s holds a mount point, %s: it and the directories leading to it "
			         "were left in place, everything else was deleted",
			         shown(path, b, 200), shown(t.first, m, sizeof(m)));
		else if (r > 0)
			snprintf(
			    err, errlen,
			    "%s holds %zu mount points, the first %s: they and the directories "
			    "leading to them were left in place, everything else was deleted",
			    shown(path, b, 200), t.mounts, shown(t.first, m, sizeof(m)));
		free(t.first);
		free(t.path);
		if (r > 0)
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
	char b[320], m[200];
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
	char *rel = rtn_xmalloc(strlen(path) + 1), *base = NULL, *full = NULL;
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
	/* the path cleaned, for messages: the root as the path names it, then rel */
	size_t head = best == 1 ? 1 : best + 1; /* where rel starts in it */
	full = rtn_xasprintf("%.*s/%s", (int)(head - 1), path, rel);
	int pfd = root->fd;
	if (base != rel) {
		base[-1] = '\0';
		size_t mlen = 0;
		if ((pfd = open_beneath(root, rel, &mlen)) == -EXDEV) {
			full[head + mlen] = '\0';
			snprintf(err, errlen, "%s goes through the mount point %s; refused",
			         shown(path, b, 200), shown(full, m, sizeof(m)));
			rc = RTN_BACKEND_FAIL_FINAL;
			goto out;
		}
		if (pfd < 0) {
			rc = status_of(-pfd, "cannot open the directory of", path, err, errlen);
			goto out;
		}
	}
	struct stat st;
	int r = look(root, pfd, base, &st);
	if (r == -EXDEV) {
		snprintf(err, errlen, "%s is a mount point; refused", shown(path, b, sizeof(b)));
		rc = RTN_BACKEND_FAIL_FINAL;
	} else if (r < 0) {
		rc = status_of(-r, "cannot look at", path, err, errlen);
	} else if (S_ISDIR(st.st_mode)) {
		rc = delete_dir(c, root, pfd, base, path, full, err, errlen);
	} else if ((r = remove_file(c, root, pfd, base, &st)) == -EAGAIN) {
		snprintf(err, errlen, "%s changed while being deleted", shown(path, b, sizeof(b)));
		rc = RTN_BACKEND_FAIL_RETRY;
	} else if (r == -EXDEV) { /* a file mounted over it since we looked */
		snprintf(err, errlen, "%s is a mount point; refused", shown(path, b, sizeof(b)));
		rc = RTN_BACKEND_FAIL_FINAL;
	} else {
		rc = r < 0 ? status_of(-r, "cannot delete", path, err, errlen) : RTN_BST_DONE;
	}
	if (pfd != root->fd)
		close(pfd);
out:
	free(full);
	free(rel);
	return rc;
}
