/* fuzz_proto.c - libFuzzer target for the control protocol's codec (lib/proto.c)
 *
 * The input is a byte stream from a client: it is split into lines by rtn_linebuf, fed
 * in uneven pieces as a socket delivers them, and each line is decoded as a request (as
 * the daemon does) and as a reply (as retentionctl does). Checked:
 *   - the lines are exactly the input's lines (a "\r" before the "\n" dropped), and a
 *     buffer with a small limit refuses exactly the lines longer than it;
 *   - a decoded request has a command string, an object of arguments and an id, and
 *     encode -> decode gives the same request, whose encoding is the same bytes again;
 *   - every error message is valid UTF-8 (it goes into a JSON reply), and the error
 *     reply the daemon would send decodes to the same code and message;
 *   - a decoded reply survives being encoded and decoded again.
 * Everything is freed, so a leak shows under ASan.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SMALL_MAX 64 /* the limit of the second line buffer */

static void check_msg(const char *err, size_t errlen)
{
	if (!memchr(err, '\0', errlen) || !err[0] || !rtn_valid_utf8(err, strlen(err)))
		abort();
}

/* The daemon's error reply for a request it could not decode. */
static void check_error_reply(json_t *id, const char *err)
{
	size_t n;
	char *line = rtn_reply_error(id, RTN_E_BAD_REQUEST, err, NULL, &n);
	if (!line || !n || line[n - 1] != '\n')
		abort();
	struct rtn_reply rep;
	char e2[256];
	if (rtn_reply_decode(line, n - 1, &rep, e2, sizeof(e2)) != 0 || rep.ok ||
	    strcmp(rep.code, RTN_E_BAD_REQUEST) != 0 || strcmp(rep.message, err) != 0 ||
	    !json_equal(rep.id ? rep.id : json_null(), id ? id : json_null()))
		abort();
	rtn_reply_fini(&rep);
	free(line);
}

static void try_request(const char *line, size_t len)
{
	struct rtn_request req, again;
	char err[256]; /* as the daemon's (daemon/control.c) */
	memset(err, 0x55, sizeof(err));
	int r = rtn_request_decode(line, len, &req, err, sizeof(err));
	if (r != 0 && r != -EINVAL)
		abort();
	if (r < 0) {
		check_msg(err, sizeof(err));
		check_error_reply(req.id, err);
		rtn_request_fini(&req);
		return;
	}
	if (!req.root || !req.id || !req.cmd || !json_is_object(req.args) ||
	    json_object_size(req.root) != 3 || json_object_get(req.root, "id") != req.id ||
	    json_string_value(json_object_get(req.root, "cmd")) != req.cmd ||
	    json_object_get(req.root, "args") != req.args)
		abort();

	size_t n, m;
	char *enc = rtn_request_encode(req.id, req.cmd, req.args, &n);
	if (!enc || !n || enc[n - 1] != '\n' || memchr(enc, '\n', n - 1))
		abort();
	if (rtn_request_decode(enc, n - 1, &again, err, sizeof(err)) != 0)
		abort();
	if (strcmp(req.cmd, again.cmd) != 0 || !json_equal(req.id, again.id) ||
	    !json_equal(req.args, again.args))
		abort();
	char *enc2 = rtn_request_encode(again.id, again.cmd, again.args, &m);
	if (!enc2 || m != n || memcmp(enc, enc2, n) != 0)
		abort();
	free(enc2);
	rtn_request_fini(&again);
	free(enc);

	/* the reply to it carries its id back; a result of any JSON comes back equal */
	char *ok = rtn_reply_ok(req.id, json_incref(req.args), &n);
	struct rtn_reply rep;
	if (!ok || rtn_reply_decode(ok, n - 1, &rep, err, sizeof(err)) != 0 || !rep.ok ||
	    !json_equal(rep.id, req.id) || !json_equal(rep.result, req.args))
		abort();
	rtn_reply_fini(&rep);
	free(ok);
	check_error_reply(req.id, req.cmd);
	rtn_request_fini(&req);
}

static void try_reply(const char *line, size_t len)
{
	struct rtn_reply rep, again;
	char err[256];
	memset(err, 0x55, sizeof(err));
	int r = rtn_reply_decode(line, len, &rep, err, sizeof(err));
	if (r != 0 && r != -EINVAL)
		abort();
	if (r < 0) {
		if (!memchr(err, '\0', sizeof(err)) || !err[0])
			abort();
		rtn_reply_fini(&rep);
		return;
	}
	size_t n;
	char *enc =
	    rep.ok ? rtn_reply_ok(rep.id, json_incref(rep.result), &n)
	           : rtn_reply_error(rep.id, rep.code, rep.message, json_incref(rep.details), &n);
	if (!enc || rtn_reply_decode(enc, n - 1, &again, err, sizeof(err)) != 0 ||
	    again.ok != rep.ok)
		abort();
	if (rep.ok && !json_equal(rep.result ? rep.result : json_null(),
	                          again.result ? again.result : json_null()))
		abort();
	if (!rep.ok && (strcmp(rep.code, again.code) || strcmp(rep.message, again.message) ||
	                !json_equal(rep.details ? rep.details : json_null(),
	                            again.details ? again.details : json_null())))
		abort();
	rtn_reply_fini(&again);
	free(enc);
	rtn_reply_fini(&rep);
}

/* The length of the line at data[off..size): up to its '\n' or the end. */
static size_t line_at(const uint8_t *data, size_t size, size_t off, bool *complete)
{
	const uint8_t *nl = memchr(data + off, '\n', size - off);
	*complete = nl != NULL;
	return nl ? (size_t)(nl - (data + off)) : size - off;
}

/* Feed data to lb in pieces of uneven sizes; every line it gives must be the next line of
 * the input. With decode, each line is decoded too. A refusal (-EMSGSIZE) must come exactly
 * when the pending line is longer than the limit. */
static void split(const uint8_t *data, size_t size, size_t max, bool decode)
{
	struct rtn_linebuf lb;
	rtn_linebuf_init(&lb, max);
	size_t fed = 0, used = 0, step = 1;
	while (fed < size) {
		size_t n = size - fed < step ? size - fed : step;
		int r = rtn_linebuf_feed(&lb, (const char *)data + fed, n);
		fed += n;
		step = step * 3 + 1;
		bool complete;
		size_t pending = line_at(data, fed, used, &complete);
		if ((r == -EMSGSIZE) != (pending > max) || (r != 0 && r != -EMSGSIZE))
			abort();
		if (r < 0)
			break; /* the daemon answers too_large and closes the connection */
		char *line;
		size_t len;
		while ((line = rtn_linebuf_next(&lb, &len))) {
			size_t want = line_at(data, fed, used, &complete);
			if (!complete)
				abort();
			size_t cut = want && data[used + want - 1] == '\r' ? want - 1 : want;
			if (len != cut || memcmp(line, data + used, len) != 0 || line[len] != '\0')
				abort();
			used += want + 1;
			if (decode && len <= max) {
				try_request(line, len);
				try_reply(line, len);
			}
		}
		if (rtn_linebuf_pending(&lb) != fed - used)
			abort();
	}
	rtn_linebuf_fini(&lb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	split(data, size, RTN_LINE_MAX, true);
	split(data, size, SMALL_MAX, false);
	/* the input as one line, newlines and all: the decoder must cope with any bytes */
	try_request((const char *)data, size);
	return 0;
}
