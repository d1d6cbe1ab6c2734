/* jsonw.h - writing JSON text without a tree */
#ifndef RTN_JSONW_H
#define RTN_JSONW_H

#include <stddef.h>

/* A growing buffer, always NUL-terminated once written to; zero-initialise. */
struct rtn_jw {
	char *p;
	size_t len, cap;
};

/* Append n bytes as they are. */
void rtn_jw_put(struct rtn_jw *b, const char *s, size_t n);
/* Append s[0..n) as a JSON string the way Python's ensure_ascii writes it: printable ASCII
 * as is, \" \\ \b \f \n \r \t, anything else as lower-case \uXXXX (a UTF-16 surrogate
 * pair above U+FFFF). s must be valid UTF-8 without NUL, as jansson requires of its strings:
 * anything else is -EINVAL (and b holds part of the string). 0 otherwise. */
int rtn_jw_string(struct rtn_jw *b, const char *s, size_t n);
/* Append a string literal. */
#define JW_LIT(b, lit) rtn_jw_put((b), (lit), sizeof(lit) - 1)
/* Append an integer in decimal. */
void rtn_jw_int(struct rtn_jw *b, long long v);
/* Append ,"key":"val" (key plain ASCII); nothing when val is NULL. As rtn_jw_string(). */
int rtn_jw_member(struct rtn_jw *b, const char *key, const char *val);

#endif
