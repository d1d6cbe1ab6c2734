/* fuzz_bproto.c - libFuzzer target for the backend protocol's decoders (lib/bproto.c)
 *
 * The input is split into lines as a backend splits its stream (rtn_linebuf, fed in
 * uneven pieces); every line goes through the hello (both sides), job, result and scan
 * decoders (and a page's records through the reconciliation's first step). What decodes must keep
 * the promises of bproto.h, and must survive being encoded and decoded again unchanged, so that a
 * bug shows as a crash.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bproto.h"
#include "proto.h"
#include "reconcile.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s)
{
	if (!s || !*s || !rtn_valid_utf8(s, strlen(s)))
		abort();
}

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void try_job(const char *line, size_t len)
{
	struct rtn_bjob j, k;
	char err[256];
	int r = rtn_bproto_decode_job(line, len, &j, err, sizeof(err));
	if (r != 0 && r != -EINVAL)
		abort();
	if (r == 0) {
		check_str(j.job);
		check_str(j.action);
		check_str(j.id);
		check_str(j.category);
		if (j.attempt < 1 || (j.act != RTN_BACT_DELETE && j.act != RTN_BACT_ANONYMIZE &&
		                      j.act != RTN_BACT_NOTICE))
			abort();
		size_t n;
		char *loc =
		    j.locator ? json_dumps(j.locator, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		char *again =
		    rtn_bproto_job(j.job, j.action, j.attempt, j.id, j.category, j.subject, loc,
		                   j.rule ? j.rule : "r", j.due ? j.due : "d", &n);
		free(loc);
		if (!again || !n || again[n - 1] != '\n')
			abort();
		if (rtn_bproto_decode_job(again, n - 1, &k, err, sizeof(err)) != 0)
			abort();
		if (strcmp(j.job, k.job) || strcmp(j.id, k.id) || j.act != k.act ||
		    j.attempt != k.attempt || !same(j.subject, k.subject) ||
		    !json_equal(j.locator ? j.locator : json_null(),
		                k.locator ? k.locator : json_null()))
			abort();
		rtn_bproto_job_fini(&k);
		free(again);
	} else if (!memchr(err, '\0', sizeof(err))) {
		abort();
	}
	rtn_bproto_job_fini(&j);
}

static void try_result(const char *line, size_t len)
{
	struct rtn_bresult r, s;
	char err[256];
	if (rtn_bproto_decode_result(line, len, &r, err, sizeof(err)) == 0) {
		check_str(r.job);
		if (r.status != RTN_BST_DONE && r.status != RTN_BST_GONE &&
		    r.status != RTN_BST_FAILED)
			abort();
		size_t n;
		char *again = rtn_bproto_result(r.job, r.status, r.error, r.retry, &n);
		if (!again || rtn_bproto_decode_result(again, n - 1, &s, err, sizeof(err)) != 0)
			abort();
		if (strcmp(r.job, s.job) || r.status != s.status ||
		    (r.status == RTN_BST_FAILED && r.retry != s.retry))
			abort();
		rtn_bproto_result_fini(&s);
		free(again);
	}
	rtn_bproto_result_fini(&r);
}

static void try_hello(const char *line, size_t len, bool from_backend)
{
	struct rtn_bhello h, g;
	char err[256];
	if (rtn_bproto_decode_hello(line, len, from_backend, &h, err, sizeof(err)) == 0 &&
	    from_backend) {
		check_str(h.name);
		if (!h.actions || (h.actions & ~(unsigned)(RTN_BACT_DELETE | RTN_BACT_ANONYMIZE |
		                                           RTN_BACT_NOTICE)))
			abort();
		size_t n;
		char *again = rtn_bproto_hello(h.name, h.actions, h.protocol, h.scan, &n);
		if (!again ||
		    rtn_bproto_decode_hello(again, n - 1, true, &g, err, sizeof(err)) != 0)
			abort();
		if (strcmp(h.name, g.name) || h.actions != g.actions || g.protocol != h.protocol ||
		    g.scan != h.scan)
			abort();
		rtn_bproto_hello_fini(&g);
		free(again);
	}
	rtn_bproto_hello_fini(&h);
}

/* The daemon's scan messages, as a backend decodes them, encoded again. */
static void try_scan_ctl(const char *line, size_t len)
{
	struct rtn_bscan_ctl c, d;
	char err[256];
	int r = rtn_bproto_decode_scan_ctl(line, len, &c, err, sizeof(err));
	if (r != 0 && r != -EINVAL && r != -ENOENT)
		abort();
	if (r == 0) {
		check_str(c.scan);
		size_t n;
		char *again = c.kind == RTN_BSCAN_START ? rtn_bproto_scan(c.scan, c.window, &n)
		              : c.kind == RTN_BSCAN_ACK ? rtn_bproto_scan_ack(c.scan, c.seq, &n)
		                                        : rtn_bproto_scan_cancel(c.scan, &n);
		if (!again || rtn_bproto_decode_scan_ctl(again, n - 1, &d, err, sizeof(err)) != 0)
			abort();
		if (c.kind != d.kind || strcmp(c.scan, d.scan) || c.seq != d.seq ||
		    c.window != d.window ||
		    (c.kind == RTN_BSCAN_START && (c.window < 1 || c.window > 64)))
			abort();
		rtn_bproto_scan_ctl_fini(&d);
		free(again);
	}
	rtn_bproto_scan_ctl_fini(&c);
}

/* What a backend sends after its hello; a page's records checked and hashed as the daemon
 * does before it reconciles them. */
static void try_bmsg(const char *line, size_t len)
{
	struct rtn_bmsg m;
	char err[256];
	if (rtn_bproto_decode_bmsg(line, len, &m, err, sizeof(err)) == 0) {
		if (m.kind == RTN_BMSG_SCAN_PAGE) {
			check_str(m.scan);
			if (m.seq < 1 || json_array_size(m.records) > RTN_SCAN_PAGE_RECORDS)
				abort();
			rtn_scan_prep_free(rtn_scan_prepare(json_deep_copy(m.records), "b"));
		} else if (m.kind == RTN_BMSG_SCAN_END) {
			check_str(m.scan);
			if (m.count < 0 || m.skipped < 0 || m.future < 0)
				abort();
			size_t n;
			char *again = rtn_bproto_scan_end(m.scan, m.complete, m.count, m.skipped,
			                                  m.future, m.error, &n);
			struct rtn_bmsg k;
			if (!again ||
			    rtn_bproto_decode_bmsg(again, n - 1, &k, err, sizeof(err)) != 0 ||
			    k.kind != RTN_BMSG_SCAN_END || k.count != m.count ||
			    k.complete != m.complete)
				abort();
			rtn_bproto_bmsg_fini(&k);
			free(again);
		}
	}
	rtn_bproto_bmsg_fini(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtn_linebuf lb;
	rtn_linebuf_init(&lb, RTN_BPROTO_LINE_MAX);
	size_t off = 0, step = 1;
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		if (rtn_linebuf_feed(&lb, (const char *)data + off, n) < 0)
			break;
		off += n;
		step = step * 3 + 1; /* pieces of uneven sizes */
		char *line;
		size_t len;
		while ((line = rtn_linebuf_next(&lb, &len))) {
			if (len > RTN_BPROTO_LINE_MAX)
				continue;
			try_hello(line, len, false);
			try_hello(line, len, true);
			try_job(line, len);
			try_result(line, len);
			try_scan_ctl(line, len);
			try_bmsg(line, len);
		}
	}
	/* the input as one line, newlines and all */
	try_job((const char *)data, size);
	try_result((const char *)data, size);
	rtn_linebuf_fini(&lb);
	return 0;
}
