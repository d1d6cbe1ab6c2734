/* control.c - the control socket: clients, framing, peer credentials
 *
 * Anyone may connect (mode 0666 by default); what a peer may do is decided by its
 * credentials (SO_PEERCRED, SO_PEERGROUPS) when it connects. Each client has its own
 * line buffer and its own queue of requests, answered in order. A large request (an
 * import batch) is decoded from JSON on libuv's thread pool while the loop answers the
 * requests before it, and its tree is freed there too: decoding is a pure function of
 * the line, so only the answering, which reads and writes the inventory, runs on the
 * loop. A client that does not read its replies, or keeps too many requests waiting, is
 * not read from until its queue drains, so it cannot grow the daemon's memory.
 */
#include "control.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "commands.h"
#include "log.h"
#include "util.h"

#define WRITE_QUEUE_MAX (64u << 20) /* bytes of unread replies before reading pauses */
#define POOL_MIN        (16u << 10) /* requests this long are decoded on the thread pool */
#define WAITING_MAX     8           /* requests read but not answered before reading pauses */

/* One request line, from reading to answering. */
struct request {
	struct client *c;
	uv_work_t work;
	char *line;
	size_t len;
	bool too_large; /* answered too_large, then the connection closes */
	bool ready;     /* decoded (or failed to) */
	struct rtn_request req;
	struct cmd_prep *prep; /* work done ahead (record.put: the records checked) */
	char err[256];         /* a failed decode's message; empty when it worked */
	struct request *next;
};

struct client {
	uv_pipe_t pipe;
	struct rtn_linebuf lb;
	struct peer peer;
	bool closing, closed, reading, paused, ended, eof;
	uv_shutdown_t shutdown;      /* after EOF: the last replies are written, then it closes */
	struct request *head, *tail; /* in arrival order */
	unsigned waiting;            /* requests in the queue */
	unsigned working;            /* on the thread pool: the client lives until they end */
	struct client *next, *prev;
};

struct wreq {
	uv_write_t req;
	char *buf;
	bool close_after;
};

static struct daemon *D;
static uv_pipe_t server;
static bool bound;
static char *sock_path;
static struct client *clients;
static unsigned nclients;
static char readbuf[65536];

unsigned control_clients(void)
{
	return nclients;
}

static void client_free(struct client *c)
{
	if (!c->closed || c->working)
		return;
	rtn_linebuf_fini(&c->lb);
	free(c);
}

static void request_free(struct request *q)
{
	commands_prep_free(q->prep);
	rtn_request_fini(&q->req);
	free(q->line);
	free(q);
}

static void on_client_closed(uv_handle_t *h)
{
	struct client *c = h->data;
	if (c->prev)
		c->prev->next = c->next;
	else
		clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	nclients--;
	/* Requests still decoding are freed when their work ends. */
	struct request **p = &c->head;
	while (*p) {
		struct request *q = *p;
		if (q->ready) {
			*p = q->next;
			request_free(q);
		} else {
			p = &q->next;
		}
	}
	c->closed = true;
	client_free(c);
}

static void client_close(struct client *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->pipe, on_client_closed);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	client_close(req->handle->data);
}

/* The client sent its last byte (EOF): close once every request it sent is answered and
 * the replies are written. */
static void close_when_answered(struct client *c)
{
	if (!c->eof || c->head || c->closing)
		return;
	c->eof = false; /* once */
	if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->pipe, on_shutdown) < 0)
		client_close(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	buf->base = readbuf;
	buf->len = sizeof(readbuf);
}

/* Read from c exactly when there is room: replies drained, few requests waiting. */
static void update_reading(struct client *c)
{
	if (c->closing) {
		c->reading = false; /* uv_close() stopped it */
		return;
	}
	bool want = !c->ended && !c->paused && c->waiting < WAITING_MAX;
	if (want && !c->reading)
		uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, on_read);
	else if (!want && c->reading)
		uv_read_stop((uv_stream_t *)&c->pipe);
	c->reading = want;
}

static void on_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct client *c = req->handle->data;
	free(w->buf);
	if (w->close_after || status < 0) {
		client_close(c);
	} else if (c->paused &&
	           uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) < WRITE_QUEUE_MAX / 2) {
		c->paused = false;
		update_reading(c);
	}
	free(w);
}

static void send_line(struct client *c, char *line, size_t len, bool close_after)
{
	if (c->closing) {
		free(line);
		return;
	}
	struct wreq *w = rtn_xcalloc(1, sizeof(*w));
	w->buf = line;
	w->close_after = close_after;
	uv_buf_t b = uv_buf_init(line, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_written) < 0) {
		free(line);
		free(w);
		client_close(c);
		return;
	}
	if (!close_after &&
	    uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) > WRITE_QUEUE_MAX)
		c->paused = true;
}

static void decode(struct request *q)
{
	if (rtn_request_decode(q->line, q->len, &q->req, q->err, sizeof(q->err)) == 0) {
		q->err[0] = '\0';
		q->prep = commands_prepare(&q->req);
	} else if (!q->err[0]) {
		snprintf(q->err, sizeof(q->err), "malformed request");
	}
	free(q->line); /* decoded: the text is not needed any more */
	q->line = NULL;
}

static void on_pool_decode(uv_work_t *w)
{
	decode(w->data);
}

static void on_pool_free(uv_work_t *w)
{
	struct request *q = w->data;
	commands_prep_free(q->prep);
	q->prep = NULL;
	rtn_request_fini(&q->req);
}

static void after_pool_free(uv_work_t *w, int status)
{
	(void)status;
	struct request *q = w->data;
	struct client *c = q->c;
	request_free(q);
	c->working--;
	client_free(c);
}

/* Answer the requests at the head of c's queue that are ready, in order. */
static void answer(struct client *c)
{
	while (!c->closing && c->head && c->head->ready) {
		struct request *q = c->head;
		c->head = q->next;
		if (!c->head)
			c->tail = NULL;
		c->waiting--;
		size_t rlen;
		char *reply;
		if (q->too_large) {
			reply = rtn_reply_error(NULL, RTN_E_TOO_LARGE,
			                        "request line longer than 1 MiB; closing the "
			                        "connection",
			                        NULL, &rlen);
			rtn_notice("control: uid %u sent a line over 1 MiB; connection closed",
			           (unsigned)c->peer.uid);
		} else {
			reply = commands_answer(D, &c->peer, &q->req, q->err[0] ? q->err : NULL,
			                        q->prep, &rlen);
		}
		send_line(c, reply, rlen, q->too_large);
		/* A big tree is freed where it was built, off the loop. */
		if (q->len >= POOL_MIN && !q->too_large &&
		    uv_queue_work(D->loop, &q->work, on_pool_free, after_pool_free) == 0) {
			c->working++;
		} else {
			request_free(q);
		}
	}
	update_reading(c);
	close_when_answered(c);
}

static void after_pool_decode(uv_work_t *w, int status)
{
	(void)status; /* never cancelled */
	struct request *q = w->data;
	struct client *c = q->c;
	c->working--;
	q->ready = true;
	if (c->closed) {
		/* The connection went while the request was decoding. */
		struct request **p = &c->head;
		while (*p != q)
			p = &(*p)->next;
		*p = q->next;
		request_free(q);
		client_free(c);
		return;
	}
	answer(c);
}

/* A line arrived: queue it, decode it now (short) or on the pool (long). */
static void enqueue(struct client *c, char *line, size_t len)
{
	struct request *q = rtn_xcalloc(1, sizeof(*q));
	q->c = c;
	q->len = len;
	q->work.data = q;
	if (c->tail)
		c->tail->next = q;
	else
		c->head = q;
	c->tail = q;
	c->waiting++;
	if (len > RTN_LINE_MAX) {
		q->too_large = q->ready = true;
		c->ended = true; /* nothing after it is read */
		return;
	}
	q->line = rtn_xmalloc(len + 1); /* may hold NUL bytes: copied, not strdup'ed */
	memcpy(q->line, line, len);
	q->line[len] = '\0';
	if (len < POOL_MIN ||
	    uv_queue_work(D->loop, &q->work, on_pool_decode, after_pool_decode) < 0) {
		decode(q);
		q->ready = true;
	} else {
		c->working++;
	}
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct client *c = s->data;
	if (nread == UV_EOF && !c->closing) {
		c->ended = c->eof = true; /* what it asked is still answered */
		update_reading(c);
		close_when_answered(c);
		return;
	}
	if (nread < 0) {
		client_close(c);
		return;
	}
	if (nread == 0 || c->closing || c->ended)
		return;
	bool over = rtn_linebuf_feed(&c->lb, buf->base, (size_t)nread) < 0;
	char *line;
	size_t len;
	while (!c->ended && (line = rtn_linebuf_next(&c->lb, &len)))
		enqueue(c, line, len);
	/* The buffer refused a line longer than it holds: what came complete before it is
	 * answered, then the long line is refused. */
	if (over && !c->ended)
		enqueue(c, NULL, RTN_LINE_MAX + 1);
	answer(c);
}

static bool in_groups(gid_t g, gid_t primary, const gid_t *groups, size_t n)
{
	if (g == (gid_t)-1)
		return false;
	if (primary == g)
		return true;
	for (size_t i = 0; i < n; i++)
		if (groups[i] == g)
			return true;
	return false;
}

static int peer_credentials(int fd, struct peer *p)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return -errno;
	p->uid = cr.uid;
	p->gid = cr.gid;
	p->pid = cr.pid;
	gid_t stackbuf[64], *groups = stackbuf;
	socklen_t glen = sizeof(stackbuf);
	size_t n = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0) {
		n = glen / sizeof(gid_t);
	} else if (errno == ERANGE) {
		groups = rtn_xmalloc(glen);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
			n = glen / sizeof(gid_t);
	}
	if (cr.uid == 0 || cr.uid == geteuid() || in_groups(D->admin_gid, cr.gid, groups, n))
		p->level = PEER_ADMIN;
	else if (in_groups(D->audit_gid, cr.gid, groups, n))
		p->level = PEER_READ;
	else
		p->level = PEER_NONE;
	if (groups != stackbuf)
		free(groups);
	return 0;
}

static void on_connection(uv_stream_t *srv, int status)
{
	if (status < 0) {
		rtn_warn("control: accept failed: %s", uv_strerror(status));
		return;
	}
	struct client *c = rtn_xcalloc(1, sizeof(*c));
	uv_pipe_init(D->loop, &c->pipe, 0);
	c->pipe.data = c;
	c->next = clients;
	if (clients)
		clients->prev = c;
	clients = c;
	nclients++;
	rtn_linebuf_init(&c->lb, RTN_LINE_MAX);
	uv_os_fd_t fd;
	if (uv_accept(srv, (uv_stream_t *)&c->pipe) < 0 ||
	    uv_fileno((uv_handle_t *)&c->pipe, &fd) < 0 || peer_credentials(fd, &c->peer) < 0) {
		client_close(c);
		return;
	}
	update_reading(c);
}

int control_init(struct daemon *d)
{
	D = d;
	const char *path = d->cfg.control_socket;
	struct sockaddr_un sa;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		rtn_err("control: socket path %s is longer than %zu bytes", path,
		        sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	int r = rtn_unix_make_way(path);
	if (r < 0)
		return r;
	uv_pipe_init(d->loop, &server, 0);
	if ((r = uv_pipe_bind(&server, path)) < 0) {
		rtn_err("control: cannot bind %s: %s", path, uv_strerror(r));
		uv_close((uv_handle_t *)&server, NULL);
		return r;
	}
	bound = true;
	sock_path = rtn_xstrdup(path);
	if (chmod(path, d->cfg.control_socket_mode) < 0) {
		r = -errno;
		rtn_err("control: cannot set the mode of %s: %s", path, strerror(errno));
		return r;
	}
	if ((r = uv_listen((uv_stream_t *)&server, 128, on_connection)) < 0) {
		rtn_err("control: cannot listen on %s: %s", path, uv_strerror(r));
		return r;
	}
	rtn_info("control: listening on %s (mode %04o)", path, d->cfg.control_socket_mode);
	return 0;
}

void control_fini(void)
{
	for (struct client *c = clients; c; c = c->next)
		client_close(c);
	if (bound) {
		uv_close((uv_handle_t *)&server, NULL);
		unlink(sock_path);
		bound = false;
	}
	free(sock_path);
	sock_path = NULL;
}
