/* backend_socket.c - a backend's listening socket: systemd's, or one made at a path */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "backend.h"
#include "log.h"
#include "util.h"

/* Bind a new socket at path with mode and listen on it. The fd, or -errno. */
static int bind_path(const char *path, unsigned mode, ino_t *ino)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		rtn_err("socket path %s is longer than %zu bytes", path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	int r = rtn_unix_make_way(path);
	if (r < 0)
		return r;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	mode_t old = umask(0777 & ~mode); /* never a moment with a wider mode */
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	struct stat st;
	if (r < 0 || lstat(path, &st) < 0) {
		r = -errno;
		rtn_err("cannot bind %s: %s", path, strerror(-r));
		close(fd);
		return r;
	}
	*ino = st.st_ino;
	if (chmod(path, mode) < 0 || listen(fd, 128) < 0) {
		r = -errno;
		rtn_err("cannot set up %s: %s", path, strerror(-r));
		rtn_backend_unlisten(path, *ino);
		close(fd);
		return r;
	}
	rtn_info("listening on %s (mode %04o)", path, mode);
	return fd;
}

int rtn_backend_listen(const char *path, unsigned mode, ino_t *ino)
{
	*ino = 0;
	int n = sd_listen_fds(1);
	if (n < 0 || n > 1) {
		rtn_err("socket activation: %s", n < 0 ? strerror(-n) : "more than one socket");
		return n < 0 ? n : -EINVAL;
	}
	if (n == 1) {
		int fd = SD_LISTEN_FDS_START;
		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
			rtn_err("socket activation: fd %d is not a listening unix stream socket",
			        fd);
			return -ENOTSOCK;
		}
		rtn_info("listening on the socket systemd passed");
		return fd;
	}
	if (!path) {
		rtn_err("no socket: set \"socket PATH\" in the config, or use --socket");
		return -EDESTADDRREQ;
	}
	return bind_path(path, mode, ino);
}

void rtn_backend_unlisten(const char *path, ino_t ino)
{
	struct stat st;
	if (path && ino && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == ino)
		unlink(path);
}
