/* jsonw.c - JSON text written directly: the audit log's canonical form and the job lines
 * the dispatcher sends, where building a jansson tree only to print it would cost more
 * than the work itself. Strings are written as Python's json.dumps(ensure_ascii=True)
 * writes them, which is also plain valid JSON. */
#include "jsonw.h"

#include <errno.h>
#include <string.h>

#include "util.h"

void rtn_jw_put(struct rtn_jw *b, const char *s, size_t n)
{
	RTN_GROW(b->p, b->len + n + 1, b->cap);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void put_u(struct rtn_jw *b, unsigned cp)
{
	unsigned char be[2] = {(unsigned char)(cp >> 8), (unsigned char)cp};
	char e[7] = {'\\', 'u'};
	rtn_hex(be, 2, e + 2);
	rtn_jw_put(b, e, 6);
}

int rtn_jw_string(struct rtn_jw *b, const char *s, size_t n)
{
	if (memchr(s, '\0', n))
		return -EINVAL;
	rtn_jw_put(b, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t j = i;
		while (j < n && s[j] >= 0x20 && s[j] < 0x7f && s[j] != '"' && s[j] != '\\')
			j++;
		if (j > i) {
			rtn_jw_put(b, s + i, j - i);
			i = j;
			continue;
		}
		unsigned cp = c, k = 1;
		if (c >= 0xf0)
			cp = c & 0x07, k = 4;
		else if (c >= 0xe0)
			cp = c & 0x0f, k = 3;
		else if (c >= 0xc0)
			cp = c & 0x1f, k = 2;
		else if (c >= 0x80)
			return -EINVAL;
		for (unsigned m = 1; m < k; m++) {
			if (i + m >= n || ((unsigned char)s[i + m] & 0xc0) != 0x80)
				return -EINVAL;
			cp = cp << 6 | ((unsigned char)s[i + m] & 0x3f);
		}
		/* What jansson refuses too: overlong forms, surrogates, beyond U+10FFFF. */
		static const unsigned least[] = {0, 0, 0x80, 0x800, 0x10000};
		if (cp < least[k] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return -EINVAL;
		i += k;
		const char *short_esc = cp == '"'    ? "\\\""
		                        : cp == '\\' ? "\\\\"
		                        : cp == '\b' ? "\\b"
		                        : cp == '\f' ? "\\f"
		                        : cp == '\n' ? "\\n"
		                        : cp == '\r' ? "\\r"
		                        : cp == '\t' ? "\\t"
		                                     : NULL;
		if (short_esc) {
			rtn_jw_put(b, short_esc, 2);
		} else if (cp < 0x10000) {
			put_u(b, cp);
		} else {
			put_u(b, 0xd800 + ((cp - 0x10000) >> 10));
			put_u(b, 0xdc00 + ((cp - 0x10000) & 0x3ff));
		}
	}
	rtn_jw_put(b, "\"", 1);
	return 0;
}

void rtn_jw_int(struct rtn_jw *b, long long v)
{
	char d[24], *p = d + sizeof(d);
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	rtn_jw_put(b, p, (size_t)(d + sizeof(d) - p));
}

int rtn_jw_member(struct rtn_jw *b, const char *key, const char *val)
{
	if (!val)
		return 0;
	JW_LIT(b, ",\"");
	rtn_jw_put(b, key, strlen(key));
	JW_LIT(b, "\":");
	return rtn_jw_string(b, val, strlen(val));
}
