/* control.c - the control socket: clients, framing, peer credentials, limits
 *
 * Anyone may connect (mode 0666 by default); what a peer may do is decided by its
 * credentials (SO_PEERCRED, SO_PEERGROUPS), read once when it connects. Each client has
 * its own line buffer and its own queue of requests, answered in order. A large request
 * (an import batch) is decoded from JSON on libuv's thread pool while the loop answers the
 * requests before it, and its tree is freed there too: decoding is a pure function of the
 * line, so only the answering, which reads and writes the inventory, runs on the loop.
 *
 * No local user can exhaust the daemon through the socket:
 * - A peer that is neither root, the daemon's user nor in admin-group or audit-group (a
 *   stranger) may use nothing. Its lines are never queued or decoded beyond the id (to
 *   echo it) and the command (to audit it), each at most STRANGER_LINE_MAX bytes; every one
 *   is answered forbidden at once. One uid of strangers holds at most
 *   control-stranger-clients connections and strangers together three quarters of
 *   control-max-clients, so root and the groups always find room.
 * - Connections in all are capped by control-max-clients, itself bounded by RLIMIT_NOFILE
 *   less the files the daemon needs for itself. A connection over a cap is closed as soon
 *   as it is accepted; that is logged at most once a minute for each cap.
 * - A client is read only while there is room: few requests waiting, its replies read
 *   (CLIENT_QUEUE_MAX, STRANGER_QUEUE_MAX bytes unread) and, while the replies of all
 *   clients exceed TOTAL_QUEUE_MAX, only if it has none unread. Lines already received
 *   wait in its buffer; nothing grows while it does not read.
 * - A connection holding half a line, and a stranger's connection, that sends nothing for
 *   control-idle-timeout is closed.
 * - One client is served for at most SLICE_NS at a time (at least one request); then the
 *   loop does its I/O and every other client gets its turn before it goes on, so a client
 *   that pipelines costly requests delays the others by one turn, not by its whole queue.
 */
#include "control.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "commands.h"
#include "log.h"
#include "util.h"

#define POOL_MIN           (16u << 10) /* requests this long are decoded on the thread pool */
#define WAITING_MAX        8           /* requests read but not answered before reading pauses */
#define STRANGER_LINE_MAX  4096        /* a stranger's request line: room for any sane id */
#define CLIENT_QUEUE_MAX   (4u << 20)  /* bytes of unread replies before a client is not read */
#define STRANGER_QUEUE_MAX (64u << 10)
#define TOTAL_QUEUE_MAX    (64u << 20) /* unread replies of all clients */
#define FD_RESERVE         48      /* files kept for the inventory, the audit log, rule files... */
#define CLIENTS_MIN        8       /* connections allowed however low RLIMIT_NOFILE is */
#define LOG_EVERY_MS       60000   /* a limit's message: at most once a minute */
#define SLICE_NS           2000000 /* a client's turn: then the others (and I/O) come first */

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
	bool linked; /* in the list of clients (not a connection refused at once) */
	bool closing, closed, reading;
	bool eof;      /* the peer sent its last byte: what it sent is still answered */
	bool ended;    /* a line over the limit: nothing after it is read or answered */
	bool overlong; /* the buffer refused a line: what came before is answered, then it */
	bool shut;     /* uv_shutdown() was called */
	bool deferred; /* its turn ended with work left: it goes on in the next round */
	uv_shutdown_t shutdown;      /* after EOF: the last replies are written, then it closes */
	struct request *head, *tail; /* in arrival order */
	unsigned waiting;            /* requests in the queue */
	unsigned working;            /* on the thread pool: the client lives until they end */
	size_t queued;               /* bytes of replies not yet written, as last seen */
	uint64_t last_ms;            /* loop time of the last byte received (or of reading again) */
	struct client *next, *prev;
};

struct wreq {
	uv_write_t req;
	char *buf;
	bool close_after;
};

/* A limit's log message, at most once per LOG_EVERY_MS. */
struct ratelog {
	uint64_t next_ms;
	unsigned long held; /* events not logged since the last message */
};

static struct daemon *D;
static uv_pipe_t server;
static uv_timer_t sweep;
static uv_idle_t resume; /* runs the rounds of deferred clients */
static bool bound, sweep_on, sweep_init, resume_on;
static char *sock_path;
static struct client *clients;
static unsigned nlive;      /* admitted and not closing */
static unsigned nstrangers; /* of nlive, strangers */
static unsigned max_clients, max_strangers;
static size_t queued_total; /* sum of the clients' queued */
static bool total_full;     /* queued_total reached TOTAL_QUEUE_MAX and has not halved */
static uint64_t n_closed_at_once, n_idle_closed;
static struct ratelog log_total, log_strangers, log_uid, log_idle, log_full, log_accept;
static char readbuf[65536];

static bool is_stranger(const struct client *c)
{
	return c->peer.level == PEER_NONE;
}

/* Whether a message about n events may be logged now; if so, note says how many events
 * were held back before it ("; N more since the last message", or ""). */
static bool ratelog_now(struct ratelog *r, unsigned long n, char note[64])
{
	uint64_t now = uv_now(D->loop);
	if (r->next_ms && now < r->next_ms) {
		r->held += n;
		return false;
	}
	note[0] = '\0';
	if (r->held)
		snprintf(note, 64, "; %lu more since the last message", r->held);
	r->held = 0;
	r->next_ms = now + LOG_EVERY_MS;
	return true;
}

json_t *control_status(void)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "clients", (json_int_t)nlive,
	                 "strangers", (json_int_t)nstrangers, "max_clients",
	                 (json_int_t)max_clients, "max_strangers", (json_int_t)max_strangers,
	                 "closed", (json_int_t)n_closed_at_once, "idle_closed",
	                 (json_int_t)n_idle_closed, "queued_bytes", (json_int_t)queued_total);
}

static void client_free(struct client *c)
{
	if (!c->closed || c->working)
		return;
	rtn_linebuf_fini(&c->lb);
	free(c->peer.groups);
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
	if (c->linked) {
		if (c->prev)
			c->prev->next = c->next;
		else
			clients = c->next;
		if (c->next)
			c->next->prev = c->prev;
	}
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

static void pump(struct client *c);

/* Replies of all clients drained below half the bound: serve those that waited for it. */
static void total_drained(void)
{
	total_full = false;
	for (struct client *c = clients; c; c = c->next)
		pump(c);
}

/* Take note of c's unwritten replies (after a write was queued or has ended). */
static void account(struct client *c)
{
	size_t now = c->closing ? 0 : uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe);
	queued_total = queued_total - c->queued + now;
	c->queued = now;
	if (!total_full && queued_total >= TOTAL_QUEUE_MAX) {
		total_full = true;
		char note[64];
		if (ratelog_now(&log_full, 1, note))
			rtn_warn(
			    "control: %zu MiB of replies wait to be read; clients with replies "
			    "unread are not read from until that halves",
			    queued_total >> 20);
	}
}

static void client_close(struct client *c)
{
	if (c->closing)
		return;
	c->closing = true;
	c->reading = false; /* uv_close() stops it */
	if (c->linked) {
		nlive--;
		if (is_stranger(c))
			nstrangers--;
	}
	account(c);
	uv_close((uv_handle_t *)&c->pipe, on_client_closed);
	if (total_full && queued_total <= TOTAL_QUEUE_MAX / 2)
		total_drained();
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	client_close(req->handle->data);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	buf->base = readbuf;
	buf->len = sizeof(readbuf);
}

/* Whether c may be answered (and so read from) now: its replies, and everybody's, read. */
static bool has_room(const struct client *c)
{
	if (c->closing)
		return false;
	if (c->queued >= (is_stranger(c) ? STRANGER_QUEUE_MAX : CLIENT_QUEUE_MAX))
		return false;
	return !total_full || c->queued == 0;
}

static void start_sweep(void);

/* Read from c exactly when there is room. */
static void update_reading(struct client *c)
{
	bool want = !c->closing && !c->ended && !c->eof && !c->overlong && !c->deferred &&
	            c->waiting < WAITING_MAX && has_room(c);
	if (want && !c->reading) {
		uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, on_read);
		c->last_ms = uv_now(D->loop); /* the idle clock runs only while it is read */
		if (rtn_linebuf_pending(&c->lb))
			start_sweep();
	} else if (!want && c->reading) {
		uv_read_stop((uv_stream_t *)&c->pipe);
	}
	c->reading = want;
}

static void on_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct client *c = req->handle->data;
	bool close_after = w->close_after;
	free(w->buf);
	free(w);
	if (c->closing)
		return;
	if (close_after || status < 0) {
		client_close(c);
		return;
	}
	account(c);
	if (total_full && queued_total <= TOTAL_QUEUE_MAX / 2)
		total_drained();
	else
		pump(c);
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
	account(c);
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

static void on_resume(uv_idle_t *h);

/* c's turn that began at t0 (uv_hrtime) is over: it goes on in the next round. */
static bool turn_over(struct client *c, uint64_t t0)
{
	if (uv_hrtime() - t0 < SLICE_NS)
		return false;
	c->deferred = true;
	if (!resume_on) {
		uv_idle_start(&resume, on_resume);
		resume_on = true;
	}
	return true;
}

/* Answer the requests at the head of c's queue that are ready, in order, while there is
 * room for the replies and its turn (begun at t0) lasts. */
static void answer(struct client *c, uint64_t t0)
{
	while (!c->deferred && c->head && c->head->ready && has_room(c)) {
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
		turn_over(c, t0);
	}
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
	pump(c);
}

/* A member's line arrived: queue it, decode it now (short) or on the pool (long). */
static void enqueue(struct client *c, const char *line, size_t len)
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

/* A stranger's line (NULL: one over STRANGER_LINE_MAX, after which the connection closes):
 * answered forbidden at once. Only the id is taken from it, to echo it, and the command's
 * name if it is one, for the audit log; nothing of it is kept. */
static void refuse_line(struct client *c, const char *line, size_t len)
{
	struct rtn_request req = {0};
	char err[256];
	const char *cmd = NULL;
	if (line && rtn_request_decode(line, len, &req, err, sizeof(err)) == 0)
		cmd = commands_lookup(req.cmd);
	size_t rlen;
	char *reply = commands_refuse(&c->peer, req.id, cmd, &rlen);
	rtn_request_fini(&req);
	if (!line)
		c->ended = true;
	send_line(c, reply, rlen, !line);
}

/* Move c on as far as there is room and its turn lasts: take complete lines from its
 * buffer, answer what is ready, read again or not, and close it after its last answer once
 * it has sent EOF. */
static void pump(struct client *c)
{
	uint64_t t0 = uv_hrtime();
	bool drained = false; /* no complete line is left in the buffer */
	char *line;
	size_t len;
	c->deferred = false;
	while (!c->closing && !c->ended && c->waiting < WAITING_MAX) {
		answer(c, t0);
		if (c->deferred || !has_room(c))
			break;
		if (!(line = rtn_linebuf_next(&c->lb, &len))) {
			drained = true;
			/* The buffer refused a line longer than it holds: what came complete
			 * before it was answered, now the long line is refused. */
			if (c->overlong) {
				if (is_stranger(c))
					refuse_line(c, NULL, 0);
				else
					enqueue(c, NULL, RTN_LINE_MAX + 1);
			}
			break;
		}
		if (!is_stranger(c)) {
			enqueue(c, line, len); /* answered at the loop's top */
		} else {
			refuse_line(c, len <= STRANGER_LINE_MAX ? line : NULL, len);
			if (turn_over(c, t0))
				break;
		}
	}
	answer(c, t0);
	update_reading(c);
	if (c->eof && (drained || c->ended) && !c->head && !c->closing && !c->shut) {
		/* Everything it sent is answered: the last replies are written, then it closes. */
		c->shut = true;
		if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->pipe, on_shutdown) < 0)
			client_close(c);
	}
}

/* A round: every client whose turn ended with work left gets the next one. */
static void on_resume(uv_idle_t *h)
{
	(void)h;
	bool more = false;
	for (struct client *c = clients; c; c = c->next)
		if (c->deferred && !c->closing)
			pump(c);
	for (struct client *c = clients; c && !more; c = c->next)
		more = c->deferred && !c->closing;
	if (!more) {
		uv_idle_stop(&resume);
		resume_on = false;
	}
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct client *c = s->data;
	if (c->closing)
		return;
	if (nread == UV_EOF) {
		c->eof = true; /* what it asked is still answered */
		pump(c);
		return;
	}
	if (nread < 0) {
		client_close(c);
		return;
	}
	if (nread == 0 || c->ended)
		return;
	c->last_ms = uv_now(D->loop);
	if (rtn_linebuf_feed(&c->lb, buf->base, (size_t)nread) < 0)
		c->overlong = true; /* nothing after the long line is read */
	pump(c);
	if (!c->closing && (is_stranger(c) || rtn_linebuf_pending(&c->lb)))
		start_sweep();
}

/* Whether c's idle clock runs: a stranger always, anyone else while it is read and holds
 * half a line. */
static bool timed(const struct client *c)
{
	if (c->closing)
		return false;
	return is_stranger(c) || (c->reading && rtn_linebuf_pending(&c->lb) > 0);
}

static void on_sweep(uv_timer_t *t)
{
	(void)t;
	uint64_t now = uv_now(D->loop), limit = (uint64_t)D->cfg.control_idle_timeout_ms;
	unsigned closed = 0, left = 0;
	for (struct client *c = clients; c; c = c->next) {
		if (!timed(c))
			continue;
		if (now - c->last_ms >= limit) {
			client_close(c);
			closed++;
		} else {
			left++;
		}
	}
	n_idle_closed += closed;
	char note[64];
	if (closed && ratelog_now(&log_idle, closed, note))
		rtn_info("control: closed %u connection%s idle for %lld s with half a line or "
		         "from a uid in no group (control-idle-timeout)%s",
		         closed, closed == 1 ? "" : "s",
		         (long long)(D->cfg.control_idle_timeout_ms / 1000), note);
	if (!left) {
		uv_timer_stop(&sweep);
		sweep_on = false;
	}
}

/* Look for idle connections every quarter of the timeout, while there may be some. */
static void start_sweep(void)
{
	if (sweep_on)
		return;
	uint64_t tick = (uint64_t)D->cfg.control_idle_timeout_ms / 4;
	tick = tick < 250 ? 250 : tick > 5000 ? 5000 : tick;
	uv_timer_start(&sweep, on_sweep, tick, tick);
	sweep_on = true;
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
	/* kept for the stages of "review by GROUP...", which its groups decide */
	p->ngroups = n;
	p->groups = rtn_xmalloc((n ? n : 1) * sizeof(gid_t));
	memcpy(p->groups, groups, n * sizeof(gid_t));
	if (groups != stackbuf)
		free(groups);
	return 0;
}

/* Whether the new connection c fits within the limits; logs (at most once a minute for
 * each limit) when it does not. */
static bool admit(const struct client *c)
{
	char note[64];
	if (nlive >= max_clients) {
		if (ratelog_now(&log_total, 1, note))
			rtn_warn("control: %u connections are open (control-max-clients %u); new "
			         "ones are closed at once%s",
			         nlive, max_clients, note);
		return false;
	}
	if (!is_stranger(c))
		return true;
	if (nstrangers >= max_strangers) {
		if (ratelog_now(&log_strangers, 1, note))
			rtn_warn("control: uids in no group hold %u connections, the most they may "
			         "(three quarters of control-max-clients); new ones are closed at "
			         "once%s",
			         nstrangers, note);
		return false;
	}
	unsigned mine = 0;
	for (const struct client *o = clients; o; o = o->next)
		mine += !o->closing && is_stranger(o) && o->peer.uid == c->peer.uid;
	if (mine >= D->cfg.control_stranger_clients) {
		if (ratelog_now(&log_uid, 1, note))
			rtn_warn("control: uid %u, in no group, holds %u connections "
			         "(control-stranger-clients %u); new ones are closed at once%s",
			         (unsigned)c->peer.uid, mine, D->cfg.control_stranger_clients,
			         note);
		return false;
	}
	return true;
}

static void on_connection(uv_stream_t *srv, int status)
{
	if (status < 0) {
		char note[64];
		if (ratelog_now(&log_accept, 1, note))
			rtn_warn("control: accept failed: %s%s", uv_strerror(status), note);
		return;
	}
	struct client *c = rtn_xcalloc(1, sizeof(*c));
	uv_pipe_init(D->loop, &c->pipe, 0);
	c->pipe.data = c;
	uv_os_fd_t fd;
	if (uv_accept(srv, (uv_stream_t *)&c->pipe) < 0 ||
	    uv_fileno((uv_handle_t *)&c->pipe, &fd) < 0 || peer_credentials(fd, &c->peer) < 0 ||
	    !admit(c)) {
		n_closed_at_once++;
		client_close(c); /* never linked: nothing but the handle to close */
		return;
	}
	c->linked = true;
	c->next = clients;
	if (clients)
		clients->prev = c;
	clients = c;
	nlive++;
	if (is_stranger(c))
		nstrangers++;
	rtn_linebuf_init(&c->lb, is_stranger(c) ? STRANGER_LINE_MAX : RTN_LINE_MAX);
	c->last_ms = uv_now(D->loop);
	update_reading(c);
	if (is_stranger(c))
		start_sweep();
}

/* The connections the files allow: RLIMIT_NOFILE less the daemon's own. */
static unsigned clients_allowed(const struct daemon *d)
{
	struct rlimit rl;
	rlim_t files = 65536;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		files = rl.rlim_cur;
	rlim_t own = FD_RESERVE + 2 * (rlim_t)d->cfg.nbackends;
	rlim_t n = files > own + CLIENTS_MIN ? files - own : CLIENTS_MIN;
	return n > 1000000 ? 1000000 : (unsigned)n;
}

int control_init(struct daemon *d)
{
	D = d;
	const char *path = d->cfg.control_socket;
	unsigned allowed = clients_allowed(d);
	max_clients = d->cfg.control_max_clients ? d->cfg.control_max_clients : allowed;
	if (max_clients > allowed) {
		rtn_warn("control: control-max-clients %u is more than the open files allow "
		         "(RLIMIT_NOFILE; see LimitNOFILE= in the unit); %u connections are "
		         "allowed",
		         max_clients, allowed);
		max_clients = allowed;
	}
	max_strangers = max_clients - max_clients / 4;
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
	uv_timer_init(d->loop, &sweep);
	uv_idle_init(d->loop, &resume);
	sweep_init = true;
	rtn_info("control: listening on %s (mode %04o, at most %u connections)", path,
	         d->cfg.control_socket_mode, max_clients);
	return 0;
}

void control_fini(void)
{
	for (struct client *c = clients; c; c = c->next)
		client_close(c);
	if (sweep_init) {
		uv_close((uv_handle_t *)&sweep, NULL);
		uv_close((uv_handle_t *)&resume, NULL);
		sweep_init = sweep_on = resume_on = false;
	}
	if (bound) {
		uv_close((uv_handle_t *)&server, NULL);
		unlink(sock_path);
		bound = false;
	}
	free(sock_path);
	sock_path = NULL;
	if (log_total.held || log_strangers.held || log_uid.held)
		rtn_notice(
		    "control: %llu connection%s closed at once by the limits since the start",
		    (unsigned long long)n_closed_at_once, n_closed_at_once == 1 ? "" : "s");
}
