/* utf8.c - UTF-8: one character decoded, validity, cutting and scrubbing */
#include "utf8.h"

#include <limits.h>
#include <string.h>

size_t rtn_utf8_char(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c = p[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3fu);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* The length of the longest prefix of s[0..len) that is valid UTF-8 without NUL bytes. */
static size_t utf8_prefix(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	uint32_t cp;
	size_t k;
	while (p < end && (k = rtn_utf8_char(p, (size_t)(end - p), &cp)) && cp != 0)
		p += k;
	return (size_t)(p - (const unsigned char *)s);
}

bool rtn_valid_utf8(const char *s, size_t len)
{
	return utf8_prefix(s, len) == len;
}

int rtn_utf8_clip(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n > max)
		n = max;
	n = utf8_prefix(s, n);
	return n > INT_MAX ? INT_MAX : (int)n;
}

size_t rtn_utf8_scrub(char *s)
{
	size_t len = strlen(s), out = 0;
	for (size_t in = 0; in < len;) {
		size_t n = utf8_prefix(s + in, len - in);
		memmove(s + out, s + in, n);
		out += n;
		in += n + 1; /* past the byte that starts no valid character */
	}
	s[out] = '\0';
	return out;
}
