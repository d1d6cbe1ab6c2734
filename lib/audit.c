/* audit.c - the audit log's format: canonical form, hash, one line formatted or checked
 *
 * The canonical form is written here, by hand, rather than by json_dumps(): jansson
 * writes upper-case \uXXXX and leaves DEL (0x7f) alone, Python writes lower-case and
 * escapes DEL, and an auditor must be able to reproduce every byte in Python.
 *
 * A line is checked twice over, fast and slow. The fast path recognises the canonical
 * grammar itself (no whitespace, keys strictly ascending, integers, Python's escapes)
 * and hashes the bytes; it settles the common case, a valid line, without building a
 * JSON tree. Whatever it does not accept goes to the slow path, which is the
 * definition: parse with jansson, check the members, re-serialize, compare, hash. The
 * fast path accepts only lines the slow path accepts (test_audit checks both on every
 * tampered line), so it changes speed, never verdicts.
 */
#include "audit.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "util.h"

#define MAX_DEPTH  64  /* nesting of detail */
#define FAST_DEPTH 32  /* the fast path leaves deeper lines to the slow one */
#define KEY_MAX    128 /* ... and longer keys */

struct member {
	const char *key;
	json_t *val;
};

static int cmp_member(const void *x, const void *y)
{
	return strcmp(((const struct member *)x)->key, ((const struct member *)y)->key);
}

/* Where the top-level "hash" member sits in a canonical line: [start, end) is the
 * member with one separating comma, so that the line without it is the canonical form
 * without "hash"; value is the offset of its first hex digit. */
struct cut {
	size_t start, end, value;
	bool found;
};

/* v in canonical form; with cut, the top object's "hash" member is located.
 * -EDOM for a real, -EINVAL for a NUL or deep nesting. */
static int canon(struct rtn_jw *b, json_t *v, struct cut *cut, int depth)
{
	int r = 0;
	if (depth > MAX_DEPTH)
		return -EINVAL;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		struct member *m = rtn_xmalloc(json_object_size(v) * sizeof(*m));
		size_t n = 0, klen;
		const char *key;
		json_t *val;
		json_object_keylen_foreach(v, key, klen, val)
		{
			if (klen != strlen(key)) {
				free(m);
				return -EINVAL;
			}
			m[n++] = (struct member){key, val};
		}
		qsort(m, n, sizeof(*m), cmp_member);
		JW_LIT(b, "{");
		for (size_t i = 0; i < n && r == 0; i++) {
			bool h = cut && strcmp(m[i].key, "hash") == 0;
			if (h)
				cut->start = b->len;
			if (i)
				JW_LIT(b, ",");
			r = rtn_jw_string(b, m[i].key, strlen(m[i].key));
			JW_LIT(b, ":");
			if (h)
				cut->value = b->len + 1;
			if (r == 0)
				r = canon(b, m[i].val, NULL, depth + 1);
			if (h) {
				cut->end = b->len + (i == 0 && n > 1); /* "hash":"..", */
				cut->found = true;
			}
		}
		free(m);
		JW_LIT(b, "}");
		return r;
	}
	case JSON_ARRAY:
		JW_LIT(b, "[");
		for (size_t i = 0; i < json_array_size(v) && r == 0; i++) {
			if (i)
				JW_LIT(b, ",");
			r = canon(b, json_array_get(v, i), NULL, depth + 1);
		}
		JW_LIT(b, "]");
		return r;
	case JSON_STRING:
		return rtn_jw_string(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		rtn_jw_int(b, json_integer_value(v));
		return 0;
	case JSON_TRUE:
		JW_LIT(b, "true");
		return 0;
	case JSON_FALSE:
		JW_LIT(b, "false");
		return 0;
	case JSON_NULL:
		JW_LIT(b, "null");
		return 0;
	default:
		return -EDOM; /* a real: its decimal form is not portable */
	}
}

int rtn_audit_canonical(const json_t *v, bool with_hash, char **out, size_t *len)
{
	struct rtn_jw b = {0};
	struct cut c = {0};
	int r = canon(&b, (json_t *)v, json_is_object(v) ? &c : NULL, 0);
	if (r < 0) {
		free(b.p);
		*out = NULL;
		return -EINVAL;
	}
	if (!with_hash && c.found) {
		memmove(b.p + c.start, b.p + c.end, b.len - c.end + 1);
		b.len -= c.end - c.start;
	}
	*out = b.p;
	if (len)
		*len = b.len;
	return 0;
}

/* hex(SHA-256(prev + the line without its hash member)) into out. */
static void chain_hash(const char *prev, const char *line, size_t len, const struct cut *c,
                       char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	if (!x || !EVP_DigestInit_ex(x, rtn_sha256(), NULL) ||
	    !EVP_DigestUpdate(x, prev, RTN_AUDIT_HASH_LEN) ||
	    !EVP_DigestUpdate(x, line, c->start) ||
	    !EVP_DigestUpdate(x, line + c->end, len - c->end) ||
	    !EVP_DigestFinal_ex(x, md, &mdlen) || mdlen != 32)
		abort(); /* libcrypto cannot fail on in-memory SHA-256 */
	EVP_MD_CTX_free(x);
	rtn_hex(md, 32, out);
}

static bool valid_hash(const char *s)
{
	size_t i = 0;
	while (s[i] && ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
		i++;
	return i == RTN_AUDIT_HASH_LEN && !s[i];
}

static bool valid_actor(const char *s)
{
	if (strcmp(s, "scheduler") == 0 || strcmp(s, "daemon") == 0)
		return true;
	size_t at = !strncmp(s, "uid:", 4) ? 4 : !strncmp(s, "scan:S-", 7) ? 7 : 0;
	if (!at)
		return false;
	size_t n = strspn(s + at, "0123456789");
	return n >= 1 && n <= (at == 4 ? 10 : 19) && !s[at + n];
}

/* ---- formatting one entry ---------------------------------------------------------- */

/* The entry is written straight in canonical order (keys sorted by byte: actor, basis,
 * category, detail, hash, job, prev, record, rule, seq, time, type), without building a
 * JSON tree for it: this runs once per record imported and twice per job. The detail
 * object goes through canon() like any other value; "actor" always comes first, so the
 * hash member is always preceded by a comma and the cut is that comma to its end. */
int rtn_audit_format(uint64_t seq, const char *prev, rtn_time_t now,
                     const struct rtn_audit_entry *e, char **line, size_t *len, char *hash)
{
	char t[RTN_TIME_FMT_LEN];
	*line = NULL;
	if (!e || !e->type || !rtn_valid_name(e->type) || !e->actor || !valid_actor(e->actor) ||
	    (e->detail && !json_is_object(e->detail)) || (e->detail && e->detail_json) ||
	    (e->detail_json && e->detail_json[0] != '{') || !prev || !valid_hash(prev) || seq < 1)
		return -EINVAL;
	int r = rtn_time_format(now, t, sizeof(t));
	if (r < 0)
		return r;
	struct rtn_jw b = {0};
	struct cut c = {0};
	RTN_GROW(b.p, 512, b.cap);
	JW_LIT(&b, "{\"actor\":");
	r = rtn_jw_string(&b, e->actor, strlen(e->actor));
	if (r == 0)
		r = rtn_jw_member(&b, "basis", e->basis);
	if (r == 0)
		r = rtn_jw_member(&b, "category", e->category);
	if (r == 0 && e->detail) {
		JW_LIT(&b, ",\"detail\":");
		r = canon(&b, e->detail, NULL, 1);
	} else if (r == 0 && e->detail_json) {
		JW_LIT(&b, ",\"detail\":");
		rtn_jw_put(&b, e->detail_json, strlen(e->detail_json));
	}
	c.start = b.len;
	JW_LIT(&b, ",\"hash\":\"");
	c.value = b.len;
	rtn_jw_put(&b, RTN_AUDIT_GENESIS "\"", RTN_AUDIT_HASH_LEN + 1);
	c.end = b.len;
	if (r == 0)
		r = rtn_jw_member(&b, "job", e->job);
	if (r == 0)
		r = rtn_jw_member(&b, "prev", prev);
	if (r == 0)
		r = rtn_jw_member(&b, "record", e->record);
	if (r == 0)
		r = rtn_jw_member(&b, "rule", e->rule);
	if (r == 0) {
		JW_LIT(&b, ",\"seq\":");
		rtn_jw_int(&b, (json_int_t)seq);
		r = rtn_jw_member(&b, "time", t);
	}
	if (r == 0)
		r = rtn_jw_member(&b, "type", e->type);
	JW_LIT(&b, "}");
	if (r == 0 && b.len + 1 > RTN_AUDIT_LINE_MAX)
		r = -E2BIG;
	if (r < 0) {
		free(b.p);
		return r == -EDOM ? -EINVAL : r;
	}
	chain_hash(prev, b.p, b.len, &c, hash);
	memcpy(b.p + c.value, hash, RTN_AUDIT_HASH_LEN);
	JW_LIT(&b, "\n");
	*line = b.p;
	*len = b.len;
	return 0;
}

/* ---- the fast path: a recogniser of canonical lines ------------------------------------ */

struct rd {
	const char *p, *end;
};

static bool rd_hex4(struct rd *r, unsigned *v)
{
	static const char hex[] = "0123456789abcdef"; /* lower case only, as written */
	*v = 0;
	if (r->end - r->p < 4)
		return false;
	for (int i = 0; i < 4; i++) {
		const char *d = strchr(hex, r->p[i]);
		if (!d || !*d)
			return false;
		*v = *v << 4 | (unsigned)(d - hex);
	}
	r->p += 4;
	return true;
}

/* A string as rtn_jw_string() writes it; its UTF-8 into dec (max bytes) if dec. */
static bool rd_string(struct rd *r, char *dec, size_t max, size_t *declen)
{
	static const char short_esc[] = "\"\"\\\\b\bf\fn\nr\rt\t";
	size_t n = 0;
	if (r->p >= r->end || *r->p++ != '"')
		return false;
	for (;;) {
		if (!dec) /* a run of plain characters */
			while (r->p < r->end && (unsigned char)*r->p >= 0x20 && *r->p != '"' &&
			       *r->p != '\\' && (unsigned char)*r->p < 0x7f)
				r->p++;
		if (r->p >= r->end)
			return false;
		unsigned cp = (unsigned char)*r->p++, lo;
		if (cp == '"')
			break;
		if (cp < 0x20 || cp >= 0x7f || r->p >= r->end)
			return false; /* raw controls, DEL and non-ASCII are escaped */
		if (cp == '\\') {
			const char *e = strchr(short_esc, *r->p);
			if (*r->p == 'u') {
				r->p++;
				if (!rd_hex4(r, &cp))
					return false;
				if (cp >= 0xd800 && cp < 0xdc00) {
					if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
						return false;
					r->p += 2;
					if (!rd_hex4(r, &lo) || lo < 0xdc00 || lo >= 0xe000)
						return false;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				} else if ((cp >= 0xdc00 && cp < 0xe000) || cp == 0 ||
				           (cp >= 0x20 && cp < 0x7f) ||
				           (cp < 0x20 && strchr("\b\f\n\r\t", (int)cp))) {
					return false; /* written otherwise, or not at all */
				}
			} else if (e && *e && (e - short_esc) % 2 == 0) {
				cp = (unsigned char)e[1];
				r->p++;
			} else {
				return false;
			}
		}
		if (dec) {
			if (n + 4 > max)
				return false;
			if (cp < 0x80) {
				dec[n++] = (char)cp;
			} else if (cp < 0x800) {
				dec[n++] = (char)(0xc0 | cp >> 6);
				dec[n++] = (char)(0x80 | (cp & 0x3f));
			} else if (cp < 0x10000) {
				dec[n++] = (char)(0xe0 | cp >> 12);
				dec[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
				dec[n++] = (char)(0x80 | (cp & 0x3f));
			} else {
				dec[n++] = (char)(0xf0 | cp >> 18);
				dec[n++] = (char)(0x80 | (cp >> 12 & 0x3f));
				dec[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
				dec[n++] = (char)(0x80 | (cp & 0x3f));
			}
		}
	}
	if (dec)
		dec[n] = '\0', *declen = n;
	return true;
}

/* An integer as rtn_jw_int() writes it (int64 range, no "-0"). */
static bool rd_int(struct rd *r, int64_t *out)
{
	bool neg = r->p < r->end && *r->p == '-';
	uint64_t u = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	r->p += neg;
	const char *s = r->p;
	while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
		unsigned d = (unsigned)(*r->p++ - '0');
		if (u > (lim - d) / 10)
			return false;
		u = u * 10 + d;
	}
	if (r->p == s || (*s == '0' && (r->p - s > 1 || neg)))
		return false;
	if (out)
		*out = neg ? (int64_t)(0 - u) : (int64_t)u;
	return true;
}

static bool rd_lit(struct rd *r, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, lit, n) != 0)
		return false;
	r->p += n;
	return true;
}

enum { F_SEQ, F_TIME, F_TYPE, F_ACTOR, F_PREV, F_HASH, F_DETAIL, F_OPT, NF };

/* Where the members of the top object are: name, value [val, end). */
struct top {
	const char *at[NF], *val[NF], *end[NF];
};

static bool rd_value(struct rd *r, int depth, struct top *t);

static bool rd_object(struct rd *r, int depth, struct top *t)
{
	static const char *const names[] = {"seq",      "time", "type",   "actor",
	                                    "prev",     "hash", "detail", "record",
	                                    "category", "rule", "basis",  "job"};
	char key[2][KEY_MAX + 1];
	size_t klen[2] = {0, 0};
	int k = 0;
	if (depth > FAST_DEPTH || r->p >= r->end || *r->p++ != '{')
		return false;
	if (r->p < r->end && *r->p == '}')
		return r->p++, true;
	for (bool first = true;; first = false, k ^= 1) {
		const char *at = r->p;
		if (!rd_string(r, key[k], KEY_MAX, &klen[k]))
			return false;
		size_t m = klen[k] < klen[k ^ 1] ? klen[k] : klen[k ^ 1];
		int c = first ? -1 : memcmp(key[k ^ 1], key[k], m);
		if (c > 0 || (c == 0 && klen[k ^ 1] >= klen[k]))
			return false; /* keys strictly ascending by byte */
		if (r->p >= r->end || *r->p++ != ':')
			return false;
		const char *val = r->p;
		if (!rd_value(r, depth + 1, NULL))
			return false;
		for (int i = 0; t && i < 12; i++) {
			if (names[i][0] != key[k][0] || strcmp(key[k], names[i]) != 0)
				continue;
			int f = i < F_OPT ? i : F_OPT;
			if (f == F_OPT && *val != '"')
				return false; /* the optional members are strings */
			t->at[f] = at, t->val[f] = val, t->end[f] = r->p;
		}
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		return r->p < r->end && *r->p++ == '}';
	}
}

static bool rd_value(struct rd *r, int depth, struct top *t)
{
	if (r->p >= r->end || depth > FAST_DEPTH)
		return false;
	switch (*r->p) {
	case '{':
		return rd_object(r, depth, t);
	case '[':
		if (++r->p < r->end && *r->p == ']')
			return r->p++, true;
		for (;;) {
			if (!rd_value(r, depth + 1, NULL) || r->p >= r->end)
				return false;
			if (*r->p == ']')
				return r->p++, true;
			if (*r->p++ != ',')
				return false;
		}
	case '"':
		return rd_string(r, NULL, 0, NULL);
	case 't':
		return rd_lit(r, "true");
	case 'f':
		return rd_lit(r, "false");
	case 'n':
		return rd_lit(r, "null");
	default:
		return rd_int(r, NULL);
	}
}

/* The string value of member f, decoded into out (max bytes). */
static bool top_string(const struct top *t, int f, char *out, size_t max)
{
	size_t n;
	struct rd r = {t->val[f], t->end[f]};
	return t->val[f] && rd_string(&r, out, max, &n);
}

/* Check a line the fast way: true only if it is valid (out filled). */
static bool fast_check(const char *line, size_t len, struct rtn_audit_line *out)
{
	struct top t = {0};
	struct rd r = {line, line + len};
	char s[80];
	int64_t seq;
	rtn_time_t tm;
	if (!rd_object(&r, 0, &t) || r.p != r.end || !t.val[F_SEQ] || !t.val[F_PREV] ||
	    !t.val[F_HASH] || (t.val[F_DETAIL] && *t.val[F_DETAIL] != '{'))
		return false;
	struct rd sr = {t.val[F_SEQ], t.end[F_SEQ]};
	if (!rd_int(&sr, &seq) || sr.p != sr.end || seq < 1)
		return false;
	if (!top_string(&t, F_TIME, s, sizeof(s) - 1) || rtn_time_parse(s, &tm) < 0 ||
	    !top_string(&t, F_ACTOR, s, sizeof(s) - 1) || !valid_actor(s) ||
	    !top_string(&t, F_TYPE, s, sizeof(s) - 1) || !rtn_valid_name(s))
		return false;
	out->rotated = strcmp(s, "audit.rotated") == 0;
	if (!top_string(&t, F_PREV, s, sizeof(s) - 1) || !valid_hash(s))
		return false;
	memcpy(out->prev, s, sizeof(out->prev));
	if (!top_string(&t, F_HASH, s, sizeof(s) - 1) || !valid_hash(s))
		return false;
	memcpy(out->hash, s, sizeof(out->hash));
	/* the hash member and one comma, as canon() finds it */
	struct cut c = {.start = (size_t)(t.at[F_HASH] - line),
	                .end = (size_t)(t.end[F_HASH] - line)};
	if (t.at[F_HASH] == line + 1 && *t.end[F_HASH] == ',')
		c.end++;
	else if (t.at[F_HASH] > line + 1)
		c.start--;
	char h[RTN_AUDIT_HASH_LEN + 1];
	chain_hash(out->prev, line, len, &c, h);
	out->seq = (uint64_t)seq;
	return strcmp(h, out->hash) == 0;
}

/* ---- the slow path, and the verdict ---------------------------------------------------- */

static const char *str_member(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int slow_check(const char *line, size_t len, struct rtn_audit_line *out, json_t **entry,
                      char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *e = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!e)
		return rtn_errf(why, whylen, -EBADMSG, "not valid JSON: %s", jerr.text);
	if (!json_is_object(e)) {
		json_decref(e);
		return rtn_errf(why, whylen, -EBADMSG, "not valid JSON: not an object");
	}
	*entry = e;
	json_t *seq = json_object_get(e, "seq");
	rtn_time_t t;
	static const char *const names[] = {"record", "category", "rule", "basis", "job"};
	const char *bad = NULL;
	if (!json_is_integer(seq) || json_integer_value(seq) < 1)
		bad = "seq";
	else if (!str_member(e, "time") || rtn_time_parse(str_member(e, "time"), &t) < 0)
		bad = "time";
	else if (!str_member(e, "type") || !rtn_valid_name(str_member(e, "type")))
		bad = "type";
	else if (!str_member(e, "actor") || !valid_actor(str_member(e, "actor")))
		bad = "actor";
	else if (!str_member(e, "prev") || !valid_hash(str_member(e, "prev")))
		bad = "prev";
	else if (!str_member(e, "hash") || !valid_hash(str_member(e, "hash")))
		bad = "hash";
	else if (json_object_get(e, "detail") && !json_is_object(json_object_get(e, "detail")))
		bad = "detail";
	for (size_t i = 0; !bad && i < sizeof(names) / sizeof(names[0]); i++)
		if (json_object_get(e, names[i]) && !str_member(e, names[i]))
			bad = names[i];
	if (bad)
		return rtn_errf(why, whylen, -EBADMSG, "member \"%s\" is missing or malformed",
		                bad);
	struct rtn_jw b = {0};
	struct cut c = {0};
	int r = canon(&b, e, &c, 0);
	if (r == -EDOM)
		r = rtn_errf(why, whylen, -EBADMSG,
		             "not canonical: a number that is not an integer");
	else if (r < 0)
		r = rtn_errf(why, whylen, -EBADMSG,
		             "not canonical: a NUL character or deep nesting");
	else if (b.len != len || memcmp(b.p, line, len) != 0)
		r = rtn_errf(why, whylen, -EBADMSG, "not in canonical form: the line was edited");
	free(b.p);
	if (r < 0)
		return r;
	out->seq = (uint64_t)json_integer_value(seq);
	out->rotated = strcmp(str_member(e, "type"), "audit.rotated") == 0;
	memcpy(out->prev, str_member(e, "prev"), sizeof(out->prev));
	memcpy(out->hash, str_member(e, "hash"), sizeof(out->hash));
	char h[RTN_AUDIT_HASH_LEN + 1];
	chain_hash(out->prev, line, len, &c, h);
	if (strcmp(h, out->hash) != 0)
		return rtn_errf(why, whylen, -EBADMSG, "hash mismatch: the entry was altered");
	return 0;
}

int rtn_audit_check_line(const char *line, size_t len, struct rtn_audit_line *out, json_t **entry,
                         char *why, size_t whylen)
{
	json_t *e = NULL;
	if (entry)
		*entry = NULL;
	else if (fast_check(line, len, out))
		return 0;
	int r = slow_check(line, len, out, &e, why, whylen);
	if (entry)
		*entry = e;
	else
		json_decref(e);
	return r;
}
