/* test_backend.c - the backend library (lib/backend.c, lib/backend_main.c): config
 * statements every backend shares, paths, and the server itself, run in a child process
 * with a handler the test steers through pipes. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "testutil.h"
#include "util.h"

static char T[256];

static char *P(const char *rel)
{
	static char buf[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", T, rel);
	return buf[k];
}

static void write_file(const char *rel, const char *text)
{
	FILE *f = fopen(P(rel), "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	snprintf(T, sizeof(T), "/tmp/test_backend.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(T));
}

static void teardown(void)
{
	char *cmd = rtn_xasprintf("rm -rf '%s'", T);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

/* --- config -------------------------------------------------------------------------- */

static int color_config(void *ctx, const char *file, const struct rtn_stmt *s, struct rtn_diags *d)
{
	if (strcmp(s->keyword, "color") != 0)
		return -ENOENT;
	if (s->nargs != 1) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col, "\"color\" needs a color");
		return -EINVAL;
	}
	snprintf(ctx, 32, "%s", s->args[0].text);
	return 0;
}

static const struct rtn_backend_def color_def = {
    .name = "retention-test",
    .keywords = "color",
    .actions = RTN_BACT_DELETE,
    .workers = 5,
    .config = color_config,
};

/* Load text as P("b.conf"); the diagnostics, one per line, into *diags (caller frees). */
static int load(const char *text, struct rtn_backend_opts *o, char *ctx, char **diags)
{
	write_file("b.conf", text);
	struct rtn_diags d;
	rtn_diags_init(&d);
	int r = rtn_backend_load_config(&color_def, ctx, P("b.conf"), o, &d);
	size_t len = 0;
	FILE *f = open_memstream(diags, &len);
	rtn_diags_print(&d, f);
	fclose(f);
	rtn_diags_fini(&d);
	return r;
}

START_TEST(test_config_common)
{
	struct rtn_backend_opts o;
	char color[32] = "", *diags;
	ck_assert_int_eq(load("socket s.sock # here\nsocket-mode 0600\nworkers 3\n"
	                      "log-level debug; color blue\n",
	                      &o, color, &diags),
	                 0);
	ck_assert_str_eq(diags, "");
	ck_assert_str_eq(o.socket, P("s.sock"));
	ck_assert_uint_eq(o.socket_mode, 0600);
	ck_assert_uint_eq(o.workers, 3);
	ck_assert_int_eq(o.log_level, RTN_LOG_DEBUG);
	ck_assert_uint_eq(o.actions, RTN_BACT_DELETE);
	ck_assert_str_eq(color, "blue");
	free(diags);
	rtn_backend_opts_fini(&o);
	/* the defaults */
	ck_assert_int_eq(load("", &o, color, &diags), 0);
	ck_assert_ptr_null(o.socket);
	ck_assert_uint_eq(o.socket_mode, 0660);
	ck_assert_uint_eq(o.workers, 5);
	ck_assert_int_eq(o.log_level, RTN_LOG_INFO);
	free(diags);
	rtn_backend_opts_fini(&o);
}
END_TEST

START_TEST(test_config_errors)
{
	struct rtn_backend_opts o;
	char color[32] = "", *diags;
	ck_assert_int_eq(load("workers 0\nbogus 1\nsocket a\nsocket b\nlog-level loud\n"
	                      "socket-mode 999\ncolor\nworkers { }\nsocket \"\"\n",
	                      &o, color, &diags),
	                 -EINVAL);
	char *f = P("b.conf"),
	     *want = rtn_xasprintf("%s:1:9: expected a whole number from 1 to 256, found \"0\"\n"
	                           "%s:2:1: unknown statement \"bogus\"; expected socket, "
	                           "socket-mode, workers, log-level, color\n"
	                           "%s:4:1: \"socket\" is given twice; first at 3:1\n"
	                           "%s:5:11: unknown log level \"loud\"; expected error, "
	                           "warning, notice, info or debug\n"
	                           "%s:6:13: expected an octal mode such as 0660, found \"999\"\n"
	                           "%s:7:1: \"color\" needs a color\n"
	                           "%s:8:1: \"workers\" does not take a block\n"
	                           "%s:9:1: \"socket\" is given twice; first at 3:1\n",
	                           f, f, f, f, f, f, f, f);
	ck_assert_str_eq(diags, want);
	free(want);
	free(diags);
	rtn_backend_opts_fini(&o);
	ck_assert_int_eq(load("socket \"\"\n", &o, color, &diags), -EINVAL);
	ck_assert_ptr_nonnull(strstr(diags, ":1:8: \"socket\" needs a path"));
	free(diags);
	rtn_backend_opts_fini(&o);
	ck_assert_int_eq(load("socket \"unterminated\n", &o, color, &diags), -EINVAL);
	ck_assert_ptr_nonnull(strstr(diags, ":1:8: unterminated string"));
	free(diags);
	rtn_backend_opts_fini(&o);
}
END_TEST

START_TEST(test_paths)
{
	char *p = rtn_backend_path("/etc/rtn/x.conf", "a/../b//c/./d");
	ck_assert_str_eq(p, "/etc/rtn/b/c/d");
	free(p);
	p = rtn_backend_path("/etc/rtn/x.conf", "/run/../srv/s.sock");
	ck_assert_str_eq(p, "/srv/s.sock");
	free(p);
	p = rtn_backend_path("/x.conf", "s.sock");
	ck_assert_str_eq(p, "/s.sock");
	free(p);
	char *cwd = getcwd(NULL, 0);
	char *want = rtn_xasprintf("%s/conf/s.sock", cwd);
	p = rtn_backend_path("conf/x.conf", "s.sock");
	ck_assert_str_eq(p, want);
	free(p);
	free(want);
	want = rtn_xasprintf("%s/s.sock", cwd);
	p = rtn_backend_path("x.conf", "./s.sock");
	ck_assert_str_eq(p, want);
	free(p);
	free(want);
	free(cwd);
}
END_TEST

START_TEST(test_locator_string)
{
	static const char *lines[] = {
	    "{\"type\":\"job\",\"job\":\"J\",\"action\":\"delete\",\"attempt\":1,\"record\":"
	    "{\"id\":\"r\",\"category\":\"c\",\"locator\":{\"path\":\"/a\",\"n\":1}},"
	    "\"rule\":\"x\",\"due\":\"y\"}",
	    "{\"type\":\"job\",\"job\":\"J\",\"action\":\"delete\",\"attempt\":1,\"record\":"
	    "{\"id\":\"r\",\"category\":\"c\",\"locator\":\"/a\"},\"rule\":\"x\",\"due\":\"y\"}",
	};
	struct rtn_bjob j;
	char err[256];
	ck_assert_int_eq(rtn_bproto_decode_job(lines[0], strlen(lines[0]), &j, err, sizeof(err)),
	                 0);
	ck_assert_str_eq(rtn_backend_locator_string(&j, "path"), "/a");
	ck_assert_ptr_null(rtn_backend_locator_string(&j, "n"));
	ck_assert_ptr_null(rtn_backend_locator_string(&j, "missing"));
	rtn_bproto_job_fini(&j);
	ck_assert_int_eq(rtn_bproto_decode_job(lines[1], strlen(lines[1]), &j, err, sizeof(err)),
	                 0);
	ck_assert_ptr_null(rtn_backend_locator_string(&j, "path"));
	rtn_bproto_job_fini(&j);
}
END_TEST

/* The job line the dispatcher writes: exact bytes, and what a backend decodes from it. */
START_TEST(test_job_line)
{
	size_t n;
	char *line = rtn_bproto_job("J-1", "delete", 3, "hr/\xc3\xa5\"x\"", "c", "person:1",
	                            "{\"path\":\"/a b\",\"n\":[1,null]}", "r-1",
	                            "2026-01-01T00:00:00+01:00", &n);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(line,
	                 "{\"type\":\"job\",\"job\":\"J-1\",\"action\":\"delete\",\"attempt\":3,"
	                 "\"record\":{\"id\":\"hr/\\u00e5\\\"x\\\"\",\"category\":\"c\","
	                 "\"subject\":\"person:1\",\"locator\":{\"path\":\"/a b\",\"n\":[1,null]}},"
	                 "\"rule\":\"r-1\",\"due\":\"2026-01-01T00:00:00+01:00\"}\n");
	ck_assert_uint_eq(n, strlen(line));
	struct rtn_bjob j;
	char err[256];
	ck_assert_int_eq(rtn_bproto_decode_job(line, n - 1, &j, err, sizeof(err)), 0);
	ck_assert_str_eq(j.id, "hr/\xc3\xa5\"x\"");
	ck_assert_int_eq(j.attempt, 3);
	ck_assert_str_eq(rtn_backend_locator_string(&j, "path"), "/a b");
	rtn_bproto_job_fini(&j);
	free(line);
	/* no subject, no locator */
	line = rtn_bproto_job("J-2", "anonymize", 1, "r", "c", NULL, NULL, "x", "y", &n);
	ck_assert_str_eq(line, "{\"type\":\"job\",\"job\":\"J-2\",\"action\":\"anonymize\","
	                       "\"attempt\":1,\"record\":{\"id\":\"r\",\"category\":\"c\"},"
	                       "\"rule\":\"x\",\"due\":\"y\"}\n");
	free(line);
	/* a string that is not UTF-8 is refused, not sent */
	ck_assert_ptr_null(
	    rtn_bproto_job("J-3", "delete", 1, "r\xff", "c", NULL, NULL, "x", "y", &n));
}
END_TEST

/* --- the server, in a child ---------------------------------------------------------- */

static int started[2], release[2]; /* child -> parent: "ID\n" per job started; parent -> child */
static pid_t child;

/* D...: done, G...: gone, F...: failed for good, R...: failed for now, X...: a broken
 * handler; B...: waits for a byte on the release pipe first, then done. */
static int test_handle(void *ctx, const struct rtn_bjob *job, char *err, size_t errlen)
{
	(void)ctx;
	char line[128];
	int n = snprintf(line, sizeof(line), "%s\n", job->job);
	if (write(started[1], line, (size_t)n) != n)
		return RTN_BACKEND_FAIL_RETRY;
	switch (job->job[0]) {
	case 'B': {
		char c;
		if (read(release[0], &c, 1) != 1)
			return RTN_BACKEND_FAIL_RETRY;
		return RTN_BST_DONE;
	}
	case 'G':
		return RTN_BST_GONE;
	case 'F':
		snprintf(err, errlen, "never");
		return RTN_BACKEND_FAIL_FINAL;
	case 'R':
		snprintf(err, errlen, "try later");
		return RTN_BACKEND_FAIL_RETRY;
	case 'X':
		return 42;
	default:
		return RTN_BST_DONE;
	}
}

/* A batch: one line "ID,ID,..." per call; a batch whose first job is B... waits for a
 * byte on the release pipe; N... is left to run later the first time it comes. */
static void test_batch(void *ctx, struct rtn_backend_item *items, size_t n)
{
	static char seen_n[64][32];
	static size_t nseen;
	(void)ctx;
	char line[1024] = "";
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(line);
		snprintf(line + l, sizeof(line) - l, "%s%s", i ? "," : "", items[i].job->job);
	}
	strcat(line, "\n");
	if (write(started[1], line, strlen(line)) < 0)
		return;
	char c;
	if (items[0].job->job[0] == 'B' && read(release[0], &c, 1) != 1)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *id = items[i].job->job;
		bool again = false;
		for (size_t k = 0; k < nseen; k++)
			again |= strcmp(seen_n[k], id) == 0;
		if (id[0] == 'N' && !again && nseen < 64) {
			snprintf(seen_n[nseen++], sizeof(seen_n[0]), "%s", id);
			continue; /* RTN_BACKEND_NOT_RUN */
		}
		items[i].rc = RTN_BST_DONE;
	}
}

static void serve_child_batch(unsigned workers, unsigned batch)
{
	ck_assert_int_eq(pipe2(started, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(release, O_CLOEXEC), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed test's server goes with it */
		static const struct rtn_backend_def def = {.name = "retention-test",
		                                           .actions = RTN_BACT_DELETE,
		                                           .handle_batch = test_batch};
		struct rtn_backend_opts o = {.socket = P("t.sock"),
		                             .socket_mode = 0600,
		                             .workers = workers,
		                             .batch = batch,
		                             .actions = RTN_BACT_DELETE};
		rtn_log_set_ident("retention-test");
		rtn_log_set_level(RTN_LOG_ERR);
		_exit(rtn_backend_serve(&def, NULL, &o) == 0 ? 0 : 1);
	}
	close(started[1]);
	close(release[0]);
}

/* The idle hook: "idle" on the started pipe. */
static void test_idle(void *ctx)
{
	(void)ctx;
	if (write(started[1], "idle\n", 5) != 5)
		_exit(3);
}

/* A backend in a child process, with workers threads; with idle, test_idle after 200 ms
 * without a job. */
static void serve_child_idle(unsigned workers, bool idle)
{
	ck_assert_int_eq(pipe2(started, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(release, O_CLOEXEC), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed test's server goes with it */
		static const struct rtn_backend_def plain = {
		    .name = "retention-test", .actions = RTN_BACT_DELETE, .handle = test_handle};
		static const struct rtn_backend_def with_idle = {.name = "retention-test",
		                                                 .actions = RTN_BACT_DELETE,
		                                                 .handle = test_handle,
		                                                 .idle = test_idle,
		                                                 .idle_ms = 200};
		const struct rtn_backend_def *def = idle ? &with_idle : &plain;
		struct rtn_backend_opts o = {.socket = P("t.sock"),
		                             .socket_mode = 0600,
		                             .workers = workers,
		                             .actions = RTN_BACT_DELETE};
		rtn_log_set_ident("retention-test");
		rtn_log_set_level(RTN_LOG_ERR);
		_exit(rtn_backend_serve(def, NULL, &o) == 0 ? 0 : 1);
	}
	close(started[1]);
	close(release[0]);
}

static void serve_child(unsigned workers)
{
	serve_child_idle(workers, false);
}

/* Wait for the child's exit status. */
static int reap(void)
{
	int st;
	ck_assert_int_eq(waitpid(child, &st, 0), child);
	close(started[0]);
	close(release[1]);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

struct peer {
	int fd;
	char buf[RTN_BPROTO_LINE_MAX + 1];
	size_t len;
};

static void peer_open(struct peer *p)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", P("t.sock"));
	memset(p, 0, sizeof(*p));
	for (int i = 0; i < 500; i++) {
		p->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(p->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return;
		close(p->fd);
		usleep(10000); /* the child is still starting; nothing to poll on yet */
	}
	ck_abort_msg("cannot connect to %s", sa.sun_path);
}

static void say(struct peer *p, const char *line)
{
	size_t n = strlen(line);
	ck_assert_int_eq(write(p->fd, line, n), (ssize_t)n);
}

/* The next line from fd (newline removed) into out, or false at EOF/timeout. */
static bool next_line(int fd, char *buf, size_t *len, size_t cap, char *out, size_t outcap,
                      int timeout_ms)
{
	for (;;) {
		char *nl = memchr(buf, '\n', *len);
		if (nl) {
			size_t n = (size_t)(nl - buf);
			snprintf(out, outcap, "%.*s", (int)n, buf);
			memmove(buf, nl + 1, *len - n - 1);
			*len -= n + 1;
			return true;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return false;
		ssize_t r = read(fd, buf + *len, cap - *len);
		if (r <= 0)
			return false;
		*len += (size_t)r;
	}
}

static bool hear(struct peer *p, char *out, size_t outcap, int timeout_ms)
{
	return next_line(p->fd, p->buf, &p->len, sizeof(p->buf), out, outcap, timeout_ms);
}

static char sbuf[4096];
static size_t slen;

/* The id of the next job the child started, or "" if none starts within timeout_ms. */
static const char *next_started(int timeout_ms)
{
	static char id[128];
	if (!next_line(started[0], sbuf, &slen, sizeof(sbuf), id, sizeof(id), timeout_ms))
		id[0] = '\0';
	return id;
}

static const char *job(const char *id)
{
	static char line[512];
	snprintf(
	    line, sizeof(line),
	    "{\"type\":\"job\",\"job\":\"%s\",\"action\":\"delete\",\"attempt\":1,\"record\":"
	    "{\"id\":\"r-%s\",\"category\":\"c\",\"locator\":{}},\"rule\":\"x\",\"due\":\"y\"}\n",
	    id, id);
	return line;
}

#define HELLO "{\"type\":\"hello\",\"protocol\":1}\n"
#define OUR_HELLO                                                                                  \
	"{\"type\":\"hello\",\"protocol\":1,\"name\":\"retention-test\",\"actions\":[\"delete\"]}"

/* Hear lines until one is the result of id; returns it (static). */
static const char *result_of(struct peer *p, const char *id)
{
	static char line[1024];
	char want[160];
	snprintf(want, sizeof(want), "\"job\":\"%s\"", id);
	while (hear(p, line, sizeof(line), 10000))
		if (strstr(line, want))
			return line;
	ck_abort_msg("no result for %s", id);
	return NULL;
}

START_TEST(test_serve_results)
{
	slen = 0;
	serve_child(4);
	struct peer p;
	char line[1024];
	peer_open(&p);
	say(&p, HELLO);
	ck_assert(hear(&p, line, sizeof(line), 10000));
	ck_assert_str_eq(line, OUR_HELLO);
	say(&p, job("D1"));
	ck_assert_str_eq(result_of(&p, "D1"),
	                 "{\"type\":\"result\",\"job\":\"D1\",\"status\":\"done\"}");
	say(&p, job("G1"));
	ck_assert_str_eq(result_of(&p, "G1"),
	                 "{\"type\":\"result\",\"job\":\"G1\",\"status\":\"gone\"}");
	say(&p, job("F1"));
	ck_assert_str_eq(result_of(&p, "F1"), "{\"type\":\"result\",\"job\":\"F1\",\"status\":"
	                                      "\"failed\",\"error\":\"never\",\"retry\":false}");
	say(&p, job("R1"));
	ck_assert_str_eq(result_of(&p, "R1"), "{\"type\":\"result\",\"job\":\"R1\",\"status\":"
	                                      "\"failed\",\"error\":\"try later\",\"retry\":true}");
	say(&p, job("X1"));
	ck_assert_ptr_nonnull(
	    strstr(result_of(&p, "X1"), "the handler returned 42\",\"retry\":true"));
	/* bad lines: skipped, or failed for good when the id can be read */
	say(&p, "garbage\n\n{\"type\":\"job\"}\n{\"type\":\"job\",\"job\":\"M1\"}\n");
	ck_assert_ptr_nonnull(strstr(result_of(&p, "M1"), "\"retry\":false"));
	say(&p,
	    "{\"type\":\"job\",\"job\":\"A1\",\"action\":\"anonymize\",\"attempt\":1,\"record\":"
	    "{\"id\":\"r\",\"category\":\"c\"},\"rule\":\"x\",\"due\":\"y\"}\n");
	ck_assert_ptr_nonnull(strstr(result_of(&p, "A1"), "does not anonymize"));
	ck_assert_str_eq(next_started(100), "D1");
	close(p.fd);
	/* a peer with another protocol gets our hello, then the door */
	peer_open(&p);
	say(&p, "{\"type\":\"hello\",\"protocol\":3}\n");
	ck_assert(hear(&p, line, sizeof(line), 10000));
	ck_assert_str_eq(line, "{\"type\":\"hello\",\"protocol\":2,\"name\":\"retention-test\","
	                       "\"actions\":[\"delete\"],\"scan\":false}");
	ck_assert(!hear(&p, line, sizeof(line), 10000));
	close(p.fd);
	/* a peer that starts with a job is closed on */
	peer_open(&p);
	say(&p, job("D2"));
	ck_assert(!hear(&p, line, sizeof(line), 10000));
	close(p.fd);
	kill(child, SIGTERM);
	ck_assert_int_eq(reap(), 0);
	ck_assert_int_eq(access(P("t.sock"), F_OK), -1);
}
END_TEST

START_TEST(test_serve_same_job_concurrency)
{
	slen = 0;
	serve_child(2);
	struct peer a, b;
	char line[1024];
	peer_open(&a);
	peer_open(&b);
	say(&a, HELLO);
	say(&b, HELLO);
	ck_assert(hear(&a, line, sizeof(line), 10000));
	ck_assert(hear(&b, line, sizeof(line), 10000));
	say(&a, job("B1"));
	ck_assert_str_eq(next_started(10000), "B1");
	say(&a, job("B1")); /* the same job, asked again on each connection while it runs */
	say(&b, job("B1"));
	say(&b, job("B2"));
	ck_assert_str_eq(next_started(10000), "B2"); /* two workers: both at once */
	say(&b, job("B3"));
	ck_assert_str_eq(next_started(300), ""); /* the pool is full: B3 waits */
	ck_assert_int_eq(write(release[1], "xxx", 3), 3);
	ck_assert_str_eq(next_started(10000), "B3");
	ck_assert_str_eq(result_of(&a, "B1"),
	                 "{\"type\":\"result\",\"job\":\"B1\",\"status\":\"done\"}");
	int b1 = 0, b2 = 0, b3 = 0;
	while ((!b1 || !b2 || !b3) && hear(&b, line, sizeof(line), 10000)) {
		b1 += strstr(line, "\"B1\"") != NULL;
		b2 += strstr(line, "\"B2\"") != NULL;
		b3 += strstr(line, "\"B3\"") != NULL;
	}
	ck_assert_int_eq(b1 * 100 + b2 * 10 + b3, 111);
	ck_assert_str_eq(next_started(300), ""); /* B1 ran once */
	/* a job id seen again after its result is run again */
	say(&a, job("D1"));
	result_of(&a, "D1");
	say(&a, job("D1"));
	result_of(&a, "D1");
	ck_assert_str_eq(next_started(10000), "D1");
	ck_assert_str_eq(next_started(10000), "D1");
	say(&a, job("D2")); /* only one B1 result came to a: D2's is the next line */
	ck_assert(hear(&a, line, sizeof(line), 10000));
	ck_assert_ptr_nonnull(strstr(line, "\"D2\""));
	close(a.fd);
	close(b.fd);
	kill(child, SIGTERM);
	ck_assert_int_eq(reap(), 0);
}
END_TEST

START_TEST(test_serve_batches)
{
	slen = 0;
	serve_child_batch(1, 3);
	struct peer p;
	char line[1024];
	peer_open(&p);
	say(&p, HELLO);
	ck_assert(hear(&p, line, sizeof(line), 10000));
	say(&p, job("B0"));
	ck_assert_str_eq(next_started(10000), "B0"); /* alone in the queue: a batch of one */
	say(&p, job("D1"));
	say(&p, job("D2"));
	say(&p, job("N3"));
	say(&p, job("D4"));
	say(&p, job("D5"));
	ck_assert_str_eq(next_started(300), ""); /* the one worker is busy; they queue */
	ck_assert_int_eq(write(release[1], "x", 1), 1);
	/* at most 3 at once; N3 not run the first time goes back to the front */
	ck_assert_str_eq(next_started(10000), "D1,D2,N3");
	ck_assert_str_eq(next_started(10000), "N3,D4,D5");
	const char *ids[] = {"B0", "D1", "D2", "N3", "D4", "D5"};
	for (size_t i = 0; i < 6; i++) {
		char want[128];
		snprintf(want, sizeof(want),
		         "{\"type\":\"result\",\"job\":\"%s\",\"status\":\"done\"}", ids[i]);
		ck_assert_str_eq(result_of(&p, ids[i]), want);
	}
	ck_assert_str_eq(next_started(300), "");
	close(p.fd);
	kill(child, SIGTERM);
	ck_assert_int_eq(reap(), 0);
}
END_TEST

START_TEST(test_serve_batch_sigterm)
{
	slen = 0;
	serve_child_batch(1, 3);
	struct peer p;
	char line[1024];
	peer_open(&p);
	say(&p, HELLO);
	ck_assert(hear(&p, line, sizeof(line), 10000));
	say(&p, job("B0"));
	ck_assert_str_eq(next_started(10000), "B0");
	say(&p, job("B1"));
	say(&p, job("N2"));
	say(&p, job("N3"));
	ck_assert_str_eq(next_started(300), "");
	ck_assert_int_eq(write(release[1], "x", 1), 1);
	ck_assert_str_eq(next_started(10000), "B1,N2,N3");
	kill(child, SIGTERM);
	/* the listener closes, then the batch ends with N2 and N3 not run: they are dropped
	 * (the daemon sends them again), not queued for a pool that has stopped */
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", P("t.sock"));
	for (int i = 0; i < 500; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		if (r < 0)
			break;
		usleep(10000);
	}
	ck_assert_int_eq(write(release[1], "x", 1), 1);
	ck_assert_str_eq(result_of(&p, "B0"),
	                 "{\"type\":\"result\",\"job\":\"B0\",\"status\":\"done\"}");
	ck_assert_str_eq(result_of(&p, "B1"),
	                 "{\"type\":\"result\",\"job\":\"B1\",\"status\":\"done\"}");
	ck_assert(!hear(&p, line, sizeof(line), 10000)); /* then the end: no N2, no N3 */
	ck_assert_int_eq(reap(), 0);
	ck_assert_str_eq(next_started(100), "");
	close(p.fd);
}
END_TEST

START_TEST(test_serve_sigterm)
{
	slen = 0;
	serve_child(1);
	struct peer p;
	char line[1024];
	peer_open(&p);
	say(&p, HELLO);
	ck_assert(hear(&p, line, sizeof(line), 10000));
	say(&p, job("B1"));
	say(&p, job("B2"));
	ck_assert_str_eq(next_started(10000), "B1");
	say(&p, job("D9")); /* may or may not be read before the signal; never started */
	kill(child, SIGTERM);
	struct peer q; /* the listener closes */
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", P("t.sock"));
	for (int i = 0; i < 500; i++) {
		q.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int r = connect(q.fd, (struct sockaddr *)&sa, sizeof(sa));
		close(q.fd);
		if (r < 0)
			break;
		usleep(10000);
	}
	ck_assert_int_eq(write(release[1], "x", 1), 1);
	ck_assert_str_eq(result_of(&p, "B1"),
	                 "{\"type\":\"result\",\"job\":\"B1\",\"status\":\"done\"}");
	ck_assert(!hear(&p, line, sizeof(line), 10000)); /* then the end, without B2 */
	ck_assert_int_eq(reap(), 0);
	ck_assert_str_eq(next_started(100), "");
	close(p.fd);
}
END_TEST

/* The idle hook runs once after a batch of jobs, once no job has come for idle_ms: not
 * before the first job, not between jobs that follow each other, not twice. */
START_TEST(test_serve_idle)
{
	slen = 0;
	serve_child_idle(1, true);
	struct peer p;
	char line[1024], two[1024];
	peer_open(&p);
	say(&p, HELLO);
	ck_assert(hear(&p, line, sizeof(line), 10000));
	ck_assert_str_eq(next_started(500), ""); /* no job yet: nothing to tidy */
	snprintf(two, sizeof(two), "%s", job("B1"));
	snprintf(two + strlen(two), sizeof(two) - strlen(two), "%s", job("D2"));
	say(&p, two);
	ck_assert_str_eq(next_started(10000), "B1");
	ck_assert_int_eq(write(release[1], "x", 1), 1);
	ck_assert_str_eq(next_started(10000), "D2"); /* queued behind B1: no idle between */
	ck_assert_str_eq(next_started(10000), "idle");
	result_of(&p, "D2");
	ck_assert_str_eq(next_started(600), ""); /* once a batch */
	say(&p, job("D3"));
	ck_assert_str_eq(next_started(10000), "D3");
	ck_assert_str_eq(next_started(10000), "idle");
	kill(child, SIGTERM);
	ck_assert_int_eq(reap(), 0);
	close(p.fd);
}
END_TEST

/* --- scans --------------------------------------------------------------------------- */

static long scan_n; /* records test_scan emits; -1: until cancelled */
static int scan_rc; /* what it returns after them */

/* scan_n records r-0, r-1... then two skipped and one in the future; "cancelled" on the
 * started pipe when rtn_scan_emit says so. */
static int test_scan(void *ctx, struct rtn_scan_out *out, char *err, size_t errlen)
{
	(void)ctx;
	for (long i = 0; scan_n < 0 || i < scan_n; i++) {
		char id[32];
		snprintf(id, sizeof(id), "r-%ld", i);
		char text[160];
		int n = snprintf(text, sizeof(text),
		                 "{\"id\":\"%s\",\"category\":\"c\",\"locator\":{\"path\":\"%s\"},"
		                 "\"events\":{\"modified\":1700000000}}",
		                 id, id);
		json_t *r = json_pack("{s:s, s:s, s:{s:s}, s:{s:i}}", "id", id, "category", "c",
		                      "locator", "path", id, "events", "modified", 1700000000);
		/* every other record as text, the way a fast scan writes them */
		int rc = i % 2 ? rtn_scan_emit_text(out, text, (size_t)n) : rtn_scan_emit(out, r);
		if (i % 2)
			json_decref(r);
		if (rc < 0) {
			if (write(started[1], "cancelled\n", 10) != 10)
				_exit(3);
			return 0;
		}
	}
	rtn_scan_skip(out, "/x/\033[31mred", "Permission denied");
	rtn_scan_skip(out, "/y", "Permission denied");
	rtn_scan_future(out);
	if (scan_rc < 0)
		snprintf(err, errlen, "root /x: No such file or directory");
	return scan_rc;
}

/* A backend that scans, in a child; it exits (not _exit) so that LeakSanitizer looks. */
static void serve_child_scan(long n, int rc)
{
	ck_assert_int_eq(pipe2(started, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(release, O_CLOEXEC), 0);
	scan_n = n;
	scan_rc = rc;
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		static const struct rtn_backend_def def = {.name = "retention-test",
		                                           .actions = RTN_BACT_DELETE,
		                                           .handle = test_handle,
		                                           .scan = test_scan};
		struct rtn_backend_opts o = {.socket = P("t.sock"),
		                             .socket_mode = 0600,
		                             .workers = 2,
		                             .actions = RTN_BACT_DELETE,
		                             .scan = true};
		rtn_log_set_ident("retention-test");
		rtn_log_set_level(RTN_LOG_ERR);
		exit(rtn_backend_serve(&def, NULL, &o) == 0 ? 0 : 1);
	}
	close(started[1]);
	close(release[0]);
}

#define HELLO2 "{\"type\":\"hello\",\"protocol\":1,\"protocols\":[1,2]}\n"
#define OUR_HELLO2                                                                                 \
	"{\"type\":\"hello\",\"protocol\":2,\"name\":\"retention-test\",\"actions\":[\"delete\"]," \
	"\"scan\":true}"

static char big[RTN_BPROTO_LINE_MAX + 1];

/* The next line, decoded as a page or an end marker of scan id (asserted). */
static void hear_scan(struct peer *p, const char *id, struct rtn_bmsg *m)
{
	char err[256];
	ck_assert(hear(p, big, sizeof(big), 10000));
	ck_assert_msg(rtn_bproto_decode_bmsg(big, strlen(big), m, err, sizeof(err)) == 0, "%s: %s",
	              err, big);
	ck_assert_int_ne(m->kind, RTN_BMSG_RESULT);
	ck_assert_str_eq(m->scan, id);
}

static void ack(struct peer *p, const char *id, long long seq)
{
	size_t n;
	char *line = rtn_bproto_scan_ack(id, seq, &n);
	say(p, line);
	free(line);
}

/* Pages of 1000, 1000, 500 numbered 1..3, each only after the ack the window asks for,
 * while jobs go on; then the end marker with the counts. */
START_TEST(test_serve_scan)
{
	slen = 0;
	serve_child_scan(2500, 0);
	struct peer *p = rtn_xmalloc(sizeof(*p));
	struct rtn_bmsg m;
	peer_open(p);
	say(p, HELLO2);
	ck_assert(hear(p, big, sizeof(big), 10000));
	ck_assert_str_eq(big, OUR_HELLO2);
	say(p, "{\"type\":\"scan\",\"scan\":\"S-1\",\"window\":1}\n");
	long long want[] = {1000, 1000, 500}, next = 0;
	for (long long seq = 1; seq <= 3; seq++) {
		hear_scan(p, "S-1", &m);
		ck_assert_int_eq(m.kind, RTN_BMSG_SCAN_PAGE);
		ck_assert_int_eq(m.seq, seq);
		ck_assert_uint_eq(json_array_size(m.records), (size_t)want[seq - 1]);
		for (size_t i = 0; i < json_array_size(m.records); i++, next++) {
			json_t *r = json_array_get(m.records, i);
			char id[32];
			snprintf(id, sizeof(id), "r-%lld", next);
			ck_assert_str_eq(json_string_value(json_object_get(r, "id")), id);
			ck_assert_int_eq(json_integer_value(json_object_get(
			                     json_object_get(r, "events"), "modified")),
			                 1700000000);
		}
		rtn_bproto_bmsg_fini(&m);
		if (seq == 1) {
			/* window 1: page 2 waits for the ack of page 1; a job does not */
			say(p, job("D1"));
			ck_assert(hear(p, big, sizeof(big), 10000));
			ck_assert_str_eq(
			    big, "{\"type\":\"result\",\"job\":\"D1\",\"status\":\"done\"}");
			ck_assert(!hear(p, big, sizeof(big), 300));
		}
		ack(p, "S-1", seq);
	}
	ck_assert(hear(p, big, sizeof(big), 10000));
	ck_assert_str_eq(big, "{\"type\":\"scan_end\",\"scan\":\"S-1\",\"complete\":true,"
	                      "\"count\":2500,\"skipped\":2,\"future\":1}");
	/* another scan on the same connection, with a larger window: no waits */
	say(p, "{\"type\":\"scan\",\"scan\":\"S-2\",\"window\":4}\n");
	for (long long seq = 1; seq <= 3; seq++) {
		hear_scan(p, "S-2", &m);
		ck_assert_int_eq(m.seq, seq);
		rtn_bproto_bmsg_fini(&m);
	}
	hear_scan(p, "S-2", &m);
	ck_assert_int_eq(m.kind, RTN_BMSG_SCAN_END);
	ck_assert_int_eq(m.count, 2500);
	rtn_bproto_bmsg_fini(&m);
	close(p->fd);
	free(p);
	kill(child, SIGTERM);
	ck_assert_int_eq(reap(), 0);
}
END_TEST

/* An incomplete scan: its pages, then complete false with the error. */
START_TEST(test_serve_scan_failed)
{
	slen = 0;
	serve_child_scan(10, -1);
	struct peer *p = rtn_xmalloc(sizeof(*p));
	struct rtn_bmsg m;
	peer_open(p);
	say(p, HELLO2);
	ck_assert(hear(p, big, sizeof(big), 10000));
	say(p, "{\"type\":\"scan\",\"scan\":\"S-9\",\"window\":1}\n");
	hear_scan(p, "S-9", &m);
	ck_assert_int_eq(m.kind, RTN_BMSG_SCAN_PAGE);
	ck_assert_uint_eq(json_array_size(m.records), 10);
	rtn_bproto_bmsg_fini(&m);
	ck_assert(hear(p, big, sizeof(big), 10000));
	ck_assert_str_eq(big, "{\"type\":\"scan_end\",\"scan\":\"S-9\",\"complete\":false,"
	                      "\"count\":10,\"skipped\":2,\"future\":1,"
	                      "\"error\":\"root /x: No such file or directory\"}");
	close(p->fd);
	free(p);
	kill(child, SIGTERM);
	ck_assert_int_eq(reap(), 0);
}
END_TEST

/* One scan at a time; scan_cancel, the connection's end and SIGTERM each stop one, and no
 * end marker follows a cancel. */
START_TEST(test_serve_scan_cancel)
{
	slen = 0;
	serve_child_scan(-1, 0);
	struct peer *p = rtn_xmalloc(sizeof(*p));
	struct rtn_bmsg m;
	peer_open(p);
	say(p, HELLO2);
	ck_assert(hear(p, big, sizeof(big), 10000));
	say(p, "{\"type\":\"scan\",\"scan\":\"S-1\",\"window\":1}\n");
	hear_scan(p, "S-1", &m);
	ck_assert_int_eq(m.seq, 1);
	rtn_bproto_bmsg_fini(&m);
	say(p, "{\"type\":\"scan\",\"scan\":\"S-2\",\"window\":1}\n");
	ck_assert(hear(p, big, sizeof(big), 10000));
	ck_assert_str_eq(big, "{\"type\":\"scan_end\",\"scan\":\"S-2\",\"complete\":false,"
	                      "\"count\":0,\"skipped\":0,\"future\":0,"
	                      "\"error\":\"a scan is already running\"}");
	say(p, "{\"type\":\"scan_cancel\",\"scan\":\"S-2\"}\n"); /* not the one running */
	ack(p, "S-1", 1);
	hear_scan(p, "S-1", &m);
	ck_assert_int_eq(m.seq, 2);
	rtn_bproto_bmsg_fini(&m);
	say(p, "{\"type\":\"scan_cancel\",\"scan\":\"S-1\"}\n");
	ck_assert_str_eq(next_started(10000), "cancelled");
	ack(p, "S-1", 2); /* too late: nothing more comes of S-1 */
	say(p, job("D1"));
	ck_assert(hear(p, big, sizeof(big), 10000));
	ck_assert_str_eq(big, "{\"type\":\"result\",\"job\":\"D1\",\"status\":\"done\"}");
	ck_assert_str_eq(next_started(10000), "D1");
	ck_assert(!hear(p, big, sizeof(big), 300));
	/* a new scan may start now; the connection's end cancels it */
	say(p, "{\"type\":\"scan\",\"scan\":\"S-3\",\"window\":2}\n");
	hear_scan(p, "S-3", &m);
	rtn_bproto_bmsg_fini(&m);
	close(p->fd);
	ck_assert_str_eq(next_started(10000), "cancelled");
	/* SIGTERM cancels a scan that waits for an ack */
	peer_open(p);
	say(p, HELLO2);
	ck_assert(hear(p, big, sizeof(big), 10000));
	say(p, "{\"type\":\"scan\",\"scan\":\"S-4\",\"window\":1}\n");
	hear_scan(p, "S-4", &m);
	rtn_bproto_bmsg_fini(&m);
	kill(child, SIGTERM);
	ck_assert_str_eq(next_started(10000), "cancelled");
	ck_assert(!hear(p, big, sizeof(big), 10000)); /* the end, without scan_end */
	ck_assert_int_eq(reap(), 0);
	close(p->fd);
	free(p);
}
END_TEST

/* A protocol-1 peer: a hello without "scan"; a scan it sends anyway is ignored, and jobs
 * still work. */
START_TEST(test_serve_scan_protocol1)
{
	slen = 0;
	serve_child_scan(5, 0);
	struct peer *p = rtn_xmalloc(sizeof(*p));
	peer_open(p);
	say(p, HELLO);
	ck_assert(hear(p, big, sizeof(big), 10000));
	ck_assert_str_eq(big, OUR_HELLO);
	say(p, "{\"type\":\"scan\",\"scan\":\"S-1\",\"window\":1}\n");
	say(p, "{\"type\":\"scan\",\"scan\":\"\"}\n"); /* a bad one too */
	say(p, job("D1"));
	ck_assert(hear(p, big, sizeof(big), 10000));
	ck_assert_str_eq(big, "{\"type\":\"result\",\"job\":\"D1\",\"status\":\"done\"}");
	ck_assert(!hear(p, big, sizeof(big), 300));
	close(p->fd);
	free(p);
	kill(child, SIGTERM);
	ck_assert_int_eq(reap(), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("backend");
	TCase *tc = tcase_create("config");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_config_common);
	tcase_add_test(tc, test_job_line);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_paths);
	tcase_add_test(tc, test_locator_string);
	suite_add_tcase(s, tc);
	tc = tcase_create("serve");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_serve_results);
	tcase_add_test(tc, test_serve_same_job_concurrency);
	tcase_add_test(tc, test_serve_sigterm);
	tcase_add_test(tc, test_serve_batches);
	tcase_add_test(tc, test_serve_batch_sigterm);
	tcase_add_test(tc, test_serve_idle);
	tcase_add_test(tc, test_serve_scan);
	tcase_add_test(tc, test_serve_scan_failed);
	tcase_add_test(tc, test_serve_scan_cancel);
	tcase_add_test(tc, test_serve_scan_protocol1);
	suite_add_tcase(s, tc);
	return s;
}

RTN_TEST_MAIN(suite)
