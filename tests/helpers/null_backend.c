/* null_backend.c - a backend that deletes nothing: it answers jobs, for tests and benches.
 *
 * usage: null_backend -s SOCKET [options]
 *   --delay-ms N        answer each job N ms after it arrives
 *   --fail-every N      every Nth job fails with retry:true
 *   --fail-permanent    failures say retry:false
 *   --silent            never answer jobs (the daemon's timeouts must act)
 *   --reverse N         hold answers until N are pending, then send them newest first
 *   --disconnect-after N  close the connection after receiving N jobs (once per process)
 *   --protocol N        speak protocol version N in the hello
 *   --log FILE          append "JOB ACTION RECORD ATTEMPT UNIXTIME UNIXMS" for every job received
 *   --exit-after N      exit once N results are written (a bench waits for it, not polls)
 * Exits on SIGTERM/SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bproto.h"
#include "proto.h"
#include "util.h"

#define MAXC 64

struct pending {
	char *line;
	size_t len;
	long long due_ms;
};

struct conn {
	int fd;
	struct rtn_linebuf lb;
	bool hello;
	struct pending *p;
	size_t np, cap;
};

static volatile sig_atomic_t quit;
static long delay_ms, fail_every, reverse_n,
    disconnect_after = -1,
    protocol = RTN_BACKEND_PROTOCOL_MIN; /* a backend of the first version: it keeps working */
static bool fail_permanent, silent;
static FILE *logf;
static unsigned long jobs_seen, answered, exit_after;

static void on_sig(int s)
{
	(void)s;
	quit = 1;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void close_conn(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	rtn_linebuf_fini(&c->lb);
	for (size_t i = 0; i < c->np; i++)
		free(c->p[i].line);
	free(c->p);
	c->p = NULL;
	c->np = c->cap = 0;
}

static void flush_due(struct conn *c, bool all)
{
	long long now = mono_ms();
	if (reverse_n && !all) {
		if ((long)c->np < reverse_n)
			return;
		for (size_t i = c->np; i-- > 0;)
			write_all(c->fd, c->p[i].line, c->p[i].len);
		for (size_t i = 0; i < c->np; i++)
			free(c->p[i].line);
		c->np = 0;
		return;
	}
	/* The results due go out in one write, as a backend with many answers ready would. */
	size_t k = 0, total = 0;
	for (size_t i = 0; i < c->np; i++)
		if (all || c->p[i].due_ms <= now)
			total += c->p[i].len;
	char *out = total ? rtn_xmalloc(total) : NULL, *o = out;
	for (size_t i = 0; i < c->np; i++) {
		if (all || c->p[i].due_ms <= now) {
			memcpy(o, c->p[i].line, c->p[i].len);
			o += c->p[i].len;
			free(c->p[i].line);
			answered++;
		} else {
			c->p[k++] = c->p[i];
		}
	}
	c->np = k;
	if (out)
		write_all(c->fd, out, total);
	free(out);
	if (exit_after && answered >= exit_after)
		quit = 1;
}

static void handle_line(struct conn *c, const char *line, size_t len)
{
	char err[256];
	if (!c->hello) {
		struct rtn_bhello h;
		if (rtn_bproto_decode_hello(line, len, false, &h, err, sizeof(err)) == 0) {
			json_t *o = json_pack("{s:s, s:i, s:s, s:[s, s]}", "type", "hello",
			                      "protocol", (int)protocol, "name", "null-backend",
			                      "actions", "delete", "anonymize");
			size_t n;
			char *s = rtn_json_line(o, &n);
			write_all(c->fd, s, n);
			free(s);
			json_decref(o);
			c->hello = true;
		}
		rtn_bproto_hello_fini(&h);
		return;
	}
	struct rtn_bjob j;
	if (rtn_bproto_decode_job(line, len, &j, err, sizeof(err)) < 0) {
		fprintf(stderr, "null_backend: bad job: %s\n", err);
		rtn_bproto_job_fini(&j);
		return;
	}
	jobs_seen++;
	if (logf) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		fprintf(logf, "%s %s %s %d %lld %lld\n", j.job, j.action, j.id, j.attempt,
		        (long long)ts.tv_sec, (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
		fflush(logf);
	}
	if (!silent) {
		bool fail = fail_every && jobs_seen % (unsigned long)fail_every == 0;
		size_t n;
		char *s = rtn_bproto_result(j.job, fail ? RTN_BST_FAILED : RTN_BST_DONE,
		                            fail ? "simulated failure" : NULL, !fail_permanent, &n);
		RTN_GROW(c->p, c->np + 1, c->cap);
		c->p[c->np++] = (struct pending){s, n, mono_ms() + delay_ms};
	}
	rtn_bproto_job_fini(&j);
	if (disconnect_after >= 0 && jobs_seen == (unsigned long)disconnect_after) {
		disconnect_after = -1;
		close_conn(c);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"delay-ms", required_argument, NULL, 'd'},
	    {"fail-every", required_argument, NULL, 'f'},
	    {"fail-permanent", no_argument, NULL, 'F'},
	    {"silent", no_argument, NULL, 'q'},
	    {"reverse", required_argument, NULL, 'r'},
	    {"disconnect-after", required_argument, NULL, 'x'},
	    {"protocol", required_argument, NULL, 'p'},
	    {"log", required_argument, NULL, 'l'},
	    {"exit-after", required_argument, NULL, 'X'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "s:", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'd':
			delay_ms = atol(optarg);
			break;
		case 'f':
			fail_every = atol(optarg);
			break;
		case 'F':
			fail_permanent = true;
			break;
		case 'q':
			silent = true;
			break;
		case 'r':
			reverse_n = atol(optarg);
			break;
		case 'x':
			disconnect_after = atol(optarg);
			break;
		case 'p':
			protocol = atol(optarg);
			break;
		case 'l':
			logf = fopen(optarg, "a");
			break;
		case 'X':
			exit_after = strtoul(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	if (!path) {
		fprintf(stderr, "usage: null_backend -s SOCKET [options]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_sig};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	unlink(path);
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 16) < 0) {
		perror(path);
		return 1;
	}
	struct conn conns[MAXC];
	for (int i = 0; i < MAXC; i++)
		conns[i].fd = -1;
	char buf[65536];
	while (!quit) {
		struct pollfd pf[MAXC + 1];
		int map[MAXC + 1], n = 0;
		pf[n].fd = lfd;
		pf[n].events = POLLIN;
		map[n++] = -1;
		for (int i = 0; i < MAXC; i++)
			if (conns[i].fd >= 0) {
				pf[n].fd = conns[i].fd;
				pf[n].events = POLLIN;
				map[n++] = i;
			}
		int timeout = delay_ms ? 5 : 200;
		if (poll(pf, (nfds_t)n, timeout) < 0 && errno != EINTR)
			break;
		for (int k = 0; k < n; k++) {
			if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (map[k] < 0) {
				int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
				for (int i = 0; fd >= 0 && i < MAXC; i++)
					if (conns[i].fd < 0) {
						memset(&conns[i], 0, sizeof(conns[i]));
						conns[i].fd = fd;
						rtn_linebuf_init(&conns[i].lb, RTN_BPROTO_LINE_MAX);
						fd = -1;
					}
				if (fd >= 0)
					close(fd);
				continue;
			}
			struct conn *cn = &conns[map[k]];
			ssize_t r = read(cn->fd, buf, sizeof(buf));
			if (r <= 0) {
				close_conn(cn);
				continue;
			}
			if (rtn_linebuf_feed(&cn->lb, buf, (size_t)r) < 0) {
				close_conn(cn);
				continue;
			}
			char *line;
			size_t len;
			while (cn->fd >= 0 && (line = rtn_linebuf_next(&cn->lb, &len)))
				handle_line(cn, line, len);
		}
		for (int i = 0; i < MAXC; i++)
			if (conns[i].fd >= 0)
				flush_due(&conns[i], false);
	}
	for (int i = 0; i < MAXC; i++)
		if (conns[i].fd >= 0) {
			if (!silent)
				flush_due(&conns[i], true);
			close_conn(&conns[i]);
		}
	close(lfd);
	unlink(path);
	if (logf)
		fclose(logf);
	return 0;
}
