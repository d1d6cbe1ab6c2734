/* client.c - connect, send a request line, read the reply line */
#include "client.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

/* connect() that survives EINTR: the connection goes on in the background, so wait for it. */
static int connect_unix(int fd, const struct sockaddr_un *sa)
{
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return 0;
	if (errno != EINTR)
		return -errno;
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			return -errno;
	int e = 0;
	socklen_t l = sizeof(e);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0)
		return -errno;
	return -e;
}

int ctl_client_open(struct ctl_client *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->path = path;
	c->next_id = 1;
	c->warn = stderr;
	rtn_linebuf_init(&c->lb, CTL_REPLY_MAX);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(c->err, sizeof(c->err), "cannot connect to %s: socket path too long",
		         path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		snprintf(c->err, sizeof(c->err), "socket: %s", strerror(e));
		return -e;
	}
	int r = connect_unix(fd, &sa);
	if (r < 0) {
		const char *hint = "";
		if (r == -ENOENT || r == -ECONNREFUSED)
			hint = " (is retentiond running?)";
		snprintf(c->err, sizeof(c->err), "cannot connect to %s: %s%s", path, strerror(-r),
		         hint);
		close(fd);
		return r;
	}
	c->fd = fd;
	return 0;
}

/* Write all of buf, across partial writes and EINTR. 0 or -errno. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The next reply line into line and len, reading as much as needed. 0 or -errno with c->err.
 * rtn_linebuf_next() scans its whole buffer, so it is only asked again once a newline has
 * arrived: a long reply costs linear time, not quadratic. */
static int read_line(struct ctl_client *c, char **line, size_t *len)
{
	char buf[65536];
	bool newline = rtn_linebuf_pending(&c->lb) > 0;
	for (;;) {
		if (newline) {
			*line = rtn_linebuf_next(&c->lb, len);
			if (*line) {
				if (*len > CTL_REPLY_MAX)
					break;
				return 0;
			}
		}
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			snprintf(c->err, sizeof(c->err), "reading from %s: %s", c->path,
			         strerror(e));
			return -e;
		}
		if (n == 0) {
			snprintf(c->err, sizeof(c->err), "%s: connection closed by retentiond",
			         c->path);
			return -ECONNRESET;
		}
		if (rtn_linebuf_feed(&c->lb, buf, (size_t)n) < 0)
			break;
		newline = memchr(buf, '\n', (size_t)n) != NULL;
	}
	snprintf(c->err, sizeof(c->err), "%s: reply longer than %zu MiB", c->path,
	         CTL_REPLY_MAX >> 20);
	return -EMSGSIZE;
}

/* 0 if c is connected, else -ENOTCONN with c->err. */
static int check_connected(struct ctl_client *c)
{
	if (c->fd >= 0)
		return 0;
	snprintf(c->err, sizeof(c->err), "%s: not connected", c->path);
	return -ENOTCONN;
}

/* Send the request line req of len bytes (freed here), numbered id, for cmd: refused
 * over the protocol's limit. 0 with *sent_id, or -errno with c->err. */
static int send_line(struct ctl_client *c, const char *cmd, char *req, size_t len, json_int_t id,
                     json_int_t *sent_id)
{
	if (len - 1 > RTN_LINE_MAX) {
		snprintf(c->err, sizeof(c->err),
		         "%s: request of %zu bytes is over the protocol's limit of %u bytes", cmd,
		         len - 1, RTN_LINE_MAX);
		free(req);
		return -E2BIG;
	}
	int r = write_all(c->fd, req, len);
	free(req);
	if (r < 0) {
		snprintf(c->err, sizeof(c->err), "writing to %s: %s", c->path, strerror(-r));
		return r;
	}
	*sent_id = id;
	return 0;
}

int ctl_client_send(struct ctl_client *c, const char *cmd, json_t *args, json_int_t *sent_id)
{
	int r = check_connected(c);
	if (r < 0)
		return r;
	json_int_t id = c->next_id++;
	json_t *jid = json_integer(id);
	size_t len;
	char *req = rtn_request_encode(jid, cmd, args, &len);
	json_decref(jid);
	if (!req) {
		snprintf(c->err, sizeof(c->err), "%s: request cannot be encoded as JSON", cmd);
		return -EINVAL;
	}
	return send_line(c, cmd, req, len, id, sent_id);
}

int ctl_client_send_text(struct ctl_client *c, const char *cmd, const char *args, size_t alen,
                         json_int_t *sent_id)
{
	int r = check_connected(c);
	if (r < 0)
		return r;
	json_int_t id = c->next_id++;
	char head[96];
	int hl = snprintf(head, sizeof(head),
	                  "{\"id\":%" JSON_INTEGER_FORMAT ",\"cmd\":\"%s\",\"args\":", id, cmd);
	size_t len = (size_t)hl + alen + 2;
	if (len - 1 > RTN_LINE_MAX)
		return send_line(c, cmd, NULL, len, id, sent_id); /* refused before it is built */
	char *req = rtn_xmalloc(len);
	memcpy(req, head, (size_t)hl);
	memcpy(req + hl, args, alen);
	memcpy(req + hl + alen, "}\n", 2);
	return send_line(c, cmd, req, len, id, sent_id);
}

/* Warn once if the daemon speaks another version of the control protocol than this
 * program: the command goes on, but its reply may not be what this program expects. */
static void check_protocol(struct ctl_client *c, const struct rtn_reply *rep)
{
	if (c->protocol_seen)
		return;
	c->protocol_seen = true;
	if (rep->protocol == RTN_CONTROL_VERSION || !c->warn)
		return;
	if (rep->protocol > 0)
		fprintf(
		    c->warn,
		    "retentionctl: warning: %s: retentiond speaks version %d of the control "
		    "protocol, this retentionctl version %d; replies may not be read as meant\n",
		    c->path, rep->protocol, RTN_CONTROL_VERSION);
	else
		fprintf(c->warn,
		        "retentionctl: warning: %s: retentiond names no valid version of the "
		        "control protocol, this retentionctl speaks version %d; replies may not be "
		        "read as meant\n",
		        c->path, RTN_CONTROL_VERSION);
}

int ctl_client_recv(struct ctl_client *c, json_int_t id, struct rtn_reply *rep)
{
	memset(rep, 0, sizeof(*rep));
	char *line;
	size_t len;
	int r = read_line(c, &line, &len);
	if (r < 0)
		return r;
	char err[256];
	if (rtn_reply_decode(line, len, rep, err, sizeof(err)) < 0) {
		rtn_reply_fini(rep);
		snprintf(c->err, sizeof(c->err), "%s: %s", c->path, err);
		return -EPROTO;
	}
	if (!json_is_integer(rep->id) || json_integer_value(rep->id) != id) {
		rtn_reply_fini(rep);
		snprintf(c->err, sizeof(c->err), "%s: reply to another request (id mismatch)",
		         c->path);
		return -EPROTO;
	}
	check_protocol(c, rep);
	return 0;
}

int ctl_client_call(struct ctl_client *c, const char *cmd, json_t *args, struct rtn_reply *rep)
{
	json_int_t id;
	memset(rep, 0, sizeof(*rep));
	int r = ctl_client_send(c, cmd, args, &id);
	return r < 0 ? r : ctl_client_recv(c, id, rep);
}

void ctl_client_close(struct ctl_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	rtn_linebuf_fini(&c->lb);
}
