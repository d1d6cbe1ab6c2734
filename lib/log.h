/* log.h - leveled logging to stderr (journald adds the timestamp) */
#ifndef RTN_LOG_H
#define RTN_LOG_H

#include <stddef.h>

enum rtn_log_level {
	RTN_LOG_ERR = 3,
	RTN_LOG_WARN = 4,
	RTN_LOG_NOTICE = 5,
	RTN_LOG_INFO = 6,
	RTN_LOG_DEBUG = 7
};

/* Set the most verbose level that is written (default: info). */
void rtn_log_set_level(enum rtn_log_level l);
/* Parse "error", "warning", "notice", "info", "debug"; 0 or -EINVAL. */
int rtn_log_parse_level(const char *s, enum rtn_log_level *out);
/* Prefix each line with the program name (default "retentiond"); s must outlive logging. */
void rtn_log_set_ident(const char *s);
/* Copy n bytes of s to out (cap bytes, NUL-terminated) as one printable line: "\n", "\r",
 * "\t" for those; "\xNN" for other control bytes, DEL, C1 controls and bytes that are not
 * valid UTF-8; printable text (a backslash too) as it is. Stops before an escape that would
 * not fit. Returns the length written. */
size_t rtn_log_escape(char *out, size_t cap, const char *s, size_t n);
/* Write one line to stderr, the message escaped by rtn_log_escape(): "<N>message" under
 * journald (JOURNAL_STREAM), else "ident: level: message". */
void rtn_log(enum rtn_log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define rtn_err(...)    rtn_log(RTN_LOG_ERR, __VA_ARGS__)
#define rtn_warn(...)   rtn_log(RTN_LOG_WARN, __VA_ARGS__)
#define rtn_notice(...) rtn_log(RTN_LOG_NOTICE, __VA_ARGS__)
#define rtn_info(...)   rtn_log(RTN_LOG_INFO, __VA_ARGS__)
#define rtn_debug(...)  rtn_log(RTN_LOG_DEBUG, __VA_ARGS__)

#endif
