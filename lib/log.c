/* log.c - leveled logging to stderr */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
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

void rtn_log(enum rtn_log_level l, const char *fmt, ...)
{
	if (l > max_level)
		return;
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	static const char *const words[] = {"emerg",   "alert",  "crit", "error",
	                                    "warning", "notice", "info", "debug"};
	/* Under systemd, journald reads the level from a "<N>" prefix; people read words. */
	if (getenv("JOURNAL_STREAM"))
		fprintf(stderr, "<%d>%s\n", (int)l, buf);
	else
		fprintf(stderr, "%s: %s: %s\n", ident, words[l], buf);
	fflush(stderr);
}
