/* log.c - leveled logging to stderr
 *
 * Every message is one line: whatever a message carries from outside (a backend's error
 * text, a record id, a client's input, a path from the configuration) is escaped here,
 * where the line is written, so that no string can end the line early, forge another
 * one (an "audit head:" line, a "<N>" level prefix) or send a terminal escape sequence.
 */
#include "log.h"

#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum rtn_log_level max_level = RTN_LOG_INFO;
static const char *ident = "retentiond";

void rtn_log_set_level(enum rtn_log_level l)
{
	max_level = l;
}

int rtn_log_parse_level(const char *s, enum rtn_log_level *out)
{
	static const struct {
		const char *name;
		enum rtn_log_level l;
	} names[] = {{"error", RTN_LOG_ERR},
	             {"warning", RTN_LOG_WARN},
	             {"notice", RTN_LOG_NOTICE},
	             {"info", RTN_LOG_INFO},
	             {"debug", RTN_LOG_DEBUG}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].l;
			return 0;
		}
	}
	return -EINVAL;
}

void rtn_log_set_ident(const char *s)
{
	ident = s;
}

/* The length of the UTF-8 sequence at p (at most n bytes) if it is valid and prints: not
 * overlong, no surrogate, at most U+10FFFF, and no C1 control (U+0080..U+009F, which
 * some terminals obey). 0 otherwise. */
static size_t printable_utf8(const unsigned char *p, size_t n)
{
	uint32_t cp;
	size_t len = rtn_utf8_char(p, n, &cp);
	return len > 1 && cp >= 0xa0 ? len : 0;
}

size_t rtn_log_escape(char *out, size_t cap, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, i = 0;
	if (!cap)
		return 0;
	while (i < n) {
		char esc[5];
		size_t k = 1, m;
		const char *src = esc;
		unsigned char c = p[i];
		if (c == '\n' || c == '\r' || c == '\t') {
			esc[0] = '\\';
			esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			m = 2;
		} else if (c >= 0x20 && c < 0x7f) {
			src = s + i;
			m = 1;
		} else if (c >= 0x80 && (k = printable_utf8(p + i, n - i)) > 0) {
			src = s + i;
			m = k;
		} else {
			k = 1;
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			m = 4;
		}
		if (o + m >= cap)
			break; /* no escape or character is cut in half */
		memcpy(out + o, src, m);
		o += m;
		i += k;
	}
	out[o] = '\0';
	return o;
}

void rtn_log(enum rtn_log_level l, const char *fmt, ...)
{
	if (l > max_level)
		return;
	char raw[2048], buf[4 * sizeof(raw)]; /* an escape is at most 4 bytes for 1 */
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	rtn_log_escape(buf, sizeof(buf), raw,
	               (size_t)n < sizeof(raw) ? (size_t)n : sizeof(raw) - 1);
	static const char *const words[] = {"emerg",   "alert",  "crit", "error",
	                                    "warning", "notice", "info", "debug"};
	/* Under systemd, journald reads the level from a "<N>" prefix; people read words. */
	if (getenv("JOURNAL_STREAM"))
		fprintf(stderr, "<%d>%s\n", (int)l, buf);
	else
		fprintf(stderr, "%s: %s: %s\n", ident, words[l], buf);
	fflush(stderr);
}
