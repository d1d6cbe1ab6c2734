/* pgconf.c - retention-postgres: the config statements, the key file, the locator
 *
 * Names of schemas, tables and columns are taken as the catalog spells them (they are
 * always quoted, so "Name" and name differ) and never checked for shape beyond length:
 * the catalog check at start says whether they exist.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipaddr.h"
#include "pgbk.h"
#include "util.h"
#include "values.h"

/* libpq's message on one line: no trailing newline, inner newlines and tabs blanks. */
void pg_oneline(char *s)
{
	size_t l = strlen(s);
	while (l && (s[l - 1] == '\n' || s[l - 1] == ' '))
		s[--l] = '\0';
	char *o = s;
	for (const char *p = s; *p; p++) {
		if (*p == '\n' || *p == '\t') {
			if (o > s && o[-1] != ' ')
				*o++ = ' ';
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void cols_free(struct pg_col *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

void pg_conf_init(struct pg_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->statement_ms = 5000;
	c->lock_ms = 2000;
	c->idle_ms = 10000;
	c->tx_limit_ms = 1000;
	c->batch = 100;
}

void pg_conf_fini(struct pg_conf *c)
{
	free(c->conninfo);
	free(c->app_name);
	free(c->key_path);
	if (c->key)
		OPENSSL_cleanse(c->key, c->keylen);
	free(c->key);
	for (size_t i = 0; i < c->ntables; i++) {
		struct pg_table *t = &c->tables[i];
		free(t->schema);
		free(t->name);
		strv_free(t->cats, t->ncats);
		cols_free(t->keys, t->nkeys);
		cols_free(t->anon, t->nanon);
		for (size_t j = 0; j < t->nalso; j++) {
			free(t->also[j].schema);
			free(t->also[j].table);
			strv_free(t->also[j].cols, t->also[j].ncols);
		}
		free(t->also);
	}
	free(c->tables);
	memset(c, 0, sizeof(*c));
}

const struct pg_table *pg_table_of(const struct pg_conf *c, const char *cat, size_t *idx)
{
	for (size_t i = 0; i < c->ntables; i++)
		for (size_t j = 0; j < c->tables[i].ncats; j++)
			if (strcmp(c->tables[i].cats[j], cat) == 0) {
				if (idx)
					*idx = i;
				return &c->tables[i];
			}
	return NULL;
}

/* A name of the catalog: 1 to 63 bytes, no control characters. */
static int ident(const char *file, const struct rtn_arg *a, const char *what, struct rtn_diags *d)
{
	size_t n = strlen(a->text);
	bool ok = n > 0 && n <= PG_IDENT_MAX;
	for (const unsigned char *p = (const unsigned char *)a->text; ok && *p; p++)
		ok = *p >= 0x20 && *p != 0x7f;
	if (ok)
		return 0;
	rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
	             "invalid %s \"%s\"; expected a name of 1 to %d bytes without control "
	             "characters",
	             what, a->text, PG_IDENT_MAX);
	return -EINVAL;
}

static const struct pg_col *find_col(const struct pg_col *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

static int add_anon(const char *file, struct pg_table *t, const struct rtn_arg *a, enum pg_method m,
                    struct rtn_diags *d, struct pg_col **out)
{
	const struct pg_col *o;
	if (ident(file, a, "column", d) < 0)
		return -EINVAL;
	if ((o = find_col(t->anon, t->nanon, a->text))) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
		             "column %s is listed twice; first at %d:%d", a->text, o->line, o->col);
		return -EINVAL;
	}
	t->anon = rtn_xreallocarray(t->anon, t->nanon + 1, sizeof(*t->anon));
	struct pg_col *c = &t->anon[t->nanon++];
	memset(c, 0, sizeof(*c));
	c->name = rtn_xstrdup(a->text);
	c->line = a->line;
	c->col = a->col;
	c->method = m;
	if (m == PG_PSEUDO || m == PG_TRUNC)
		t->two_step = true;
	if (out)
		*out = c;
	return 0;
}

/* "truncate-ip COLUMN [ipv4 OCTETS] [ipv6 BITS]". */
static int trunc_stmt(const char *file, const struct rtn_stmt *s, struct pg_table *t,
                      struct rtn_diags *d)
{
	int v4o, v6b;
	if (rtn_ip_trunc_args(file, s, &v4o, &v6b, d) < 0)
		return -EINVAL;
	struct pg_col *c;
	if (add_anon(file, t, &s->args[0], PG_TRUNC, d, &c) < 0)
		return -EINVAL;
	c->v4 = v4o;
	c->v6 = v6b;
	return 0;
}

/* "also TABLE COLUMN...": TABLE in the table's schema, or SCHEMA.TABLE. */
static int also_stmt(const char *file, const struct rtn_stmt *s, struct pg_table *t,
                     struct rtn_diags *d)
{
	if (rtn_val_nargs(file, s, 2, 1 + PG_KEY_MAX, d) < 0)
		return -EINVAL;
	const struct rtn_arg *a = &s->args[0];
	const char *dot = strchr(a->text, '.');
	char *schema = NULL, *table;
	if (dot && !strchr(dot + 1, '.')) {
		schema = rtn_xstrndup(a->text, (size_t)(dot - a->text));
		table = rtn_xstrdup(dot + 1);
	} else {
		table = rtn_xstrdup(a->text);
	}
	struct rtn_arg probe = *a;
	int bad = 0;
	probe.text = table;
	bad |= ident(file, &probe, "table name", d) < 0;
	if (schema) {
		probe.text = schema;
		bad |= ident(file, &probe, "schema name", d) < 0;
	}
	for (size_t i = 1; i < s->nargs; i++)
		bad |= ident(file, &s->args[i], "column", d) < 0;
	if (bad) {
		free(schema);
		free(table);
		return -EINVAL;
	}
	t->also = rtn_xreallocarray(t->also, t->nalso + 1, sizeof(*t->also));
	struct pg_also *al = &t->also[t->nalso++];
	memset(al, 0, sizeof(*al));
	al->schema = schema;
	al->table = table;
	al->line = s->line;
	al->col = s->col;
	al->ncols = s->nargs - 1;
	al->cols = rtn_xcalloc(al->ncols, sizeof(char *));
	for (size_t i = 1; i < s->nargs; i++)
		al->cols[i - 1] = rtn_xstrdup(s->args[i].text);
	return 0;
}

/* The table a category already maps to, or NULL. */
static const char *owner(void *c, const char *cat)
{
	const struct pg_table *t = pg_table_of(c, cat, NULL);
	return t ? t->name : NULL;
}

/* The statements of one "table" block into t. 0 or -EINVAL. */
static int table_body(const char *file, const struct rtn_stmt *blk, struct pg_conf *c,
                      struct pg_table *t, struct rtn_diags *d)
{
	int bad = 0;
	for (size_t i = 0; i < blk->nchildren; i++) {
		const struct rtn_stmt *s = &blk->children[i];
		const char *k = s->keyword;
		if (rtn_val_noblock(file, s, d) < 0 || rtn_val_nargs(file, s, 1, 0, d) < 0) {
			bad = 1;
		} else if (strcmp(k, "schema") == 0) {
			if (rtn_val_nargs(file, s, 1, 1, d) < 0 ||
			    ident(file, &s->args[0], "schema name", d) < 0) {
				bad = 1;
			} else if (t->schema_line) {
				rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
				             "\"schema\" is given twice in table %s", t->name);
				bad = 1;
			} else {
				free(t->schema);
				t->schema = rtn_xstrdup(s->args[0].text);
				t->schema_line = s->line;
				t->schema_col = s->col;
			}
		} else if (strcmp(k, "category") == 0) {
			bad |= rtn_backend_categories(file, s, t->name, &t->cats, &t->ncats, owner,
			                              c, d) < 0;
		} else if (strcmp(k, "key") == 0) {
			if (t->nkeys) {
				rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
				             "\"key\" is given twice in table %s", t->name);
				bad = 1;
				continue;
			}
			if (rtn_val_nargs(file, s, 1, PG_KEY_MAX, d) < 0) {
				bad = 1;
				continue;
			}
			t->key_line = s->line;
			t->key_col = s->col;
			for (size_t j = 0; j < s->nargs; j++) {
				const struct rtn_arg *a = &s->args[j];
				if (ident(file, a, "key column", d) < 0) {
					bad = 1;
				} else if (find_col(t->keys, t->nkeys, a->text)) {
					rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
					             "key column %s is listed twice", a->text);
					bad = 1;
				} else {
					t->keys = rtn_xreallocarray(t->keys, t->nkeys + 1,
					                            sizeof(*t->keys));
					struct pg_col *kc = &t->keys[t->nkeys++];
					memset(kc, 0, sizeof(*kc));
					kc->name = rtn_xstrdup(a->text);
					kc->line = a->line;
					kc->col = a->col;
				}
			}
		} else if (strcmp(k, "anonymize") == 0 || strcmp(k, "pseudonymize") == 0) {
			enum pg_method m = k[0] == 'a' ? PG_NULL : PG_PSEUDO;
			for (size_t j = 0; j < s->nargs; j++)
				bad |= add_anon(file, t, &s->args[j], m, d, NULL) < 0;
		} else if (strcmp(k, "replace") == 0) {
			struct pg_col *col;
			if (rtn_val_nargs(file, s, 2, 2, d) < 0 ||
			    add_anon(file, t, &s->args[0], PG_REPLACE, d, &col) < 0) {
				bad = 1;
			} else if (strlen(s->args[1].text) > 4096) {
				rtn_diag_add(d, RTN_SEV_ERROR, file, s->args[1].line,
				             s->args[1].col,
				             "the value of \"replace\" is at most 4096 bytes");
				bad = 1;
			} else {
				col->value = rtn_xstrdup(s->args[1].text);
			}
		} else if (strcmp(k, "truncate-ip") == 0) {
			if (rtn_val_nargs(file, s, 1, 5, d) < 0)
				bad = 1;
			else
				bad |= trunc_stmt(file, s, t, d) < 0;
		} else if (strcmp(k, "also") == 0) {
			bad |= also_stmt(file, s, t, d) < 0;
		} else {
			rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
			             "unknown statement \"%s\" in table %s; expected schema, "
			             "category, key, anonymize, pseudonymize, replace, truncate-ip "
			             "or also",
			             k, t->name);
			bad = 1;
		}
	}
	if (bad)
		return -EINVAL;
	if (!t->ncats) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, blk->line, blk->col,
		             "table %s needs \"category NAME...\"", t->name);
		bad = 1;
	}
	if (!t->nkeys) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, blk->line, blk->col,
		             "table %s needs \"key COLUMN...\"", t->name);
		bad = 1;
	}
	for (size_t i = 0; i < t->nanon; i++) {
		if (find_col(t->keys, t->nkeys, t->anon[i].name)) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, t->anon[i].line, t->anon[i].col,
			             "table %s: the key column %s cannot be anonymised", t->name,
			             t->anon[i].name);
			bad = 1;
		}
	}
	for (size_t i = 0; i < t->nalso && t->nkeys; i++) {
		if (t->also[i].ncols != t->nkeys) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, t->also[i].line, t->also[i].col,
			             "\"also %s\" names %zu column%s; the key of table %s has %zu",
			             t->also[i].table, t->also[i].ncols,
			             t->also[i].ncols == 1 ? "" : "s", t->name, t->nkeys);
			bad = 1;
		}
	}
	return bad ? -EINVAL : 0;
}

static int once(const char *file, const struct rtn_stmt *s, int *line, int *col,
                struct rtn_diags *d)
{
	if (*line) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
		             "\"%s\" is given twice; first at %d:%d", s->keyword, *line, *col);
		return -EINVAL;
	}
	*line = s->line;
	*col = s->col;
	return 0;
}

/* A duration statement in 0..1 hour (at least 1 ms if !zero). */
static int duration(const char *file, const struct rtn_stmt *s, bool zero, int64_t *out,
                    struct rtn_diags *d)
{
	if (rtn_val_noblock(file, s, d) < 0 ||
	    rtn_val_duration(file, s, s->args, s->nargs, out, d) < 0)
		return -EINVAL;
	if (*out > 3600000 || (!zero && *out <= 0)) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col, "\"%s\" is %s1 hour at most",
		             s->keyword, zero ? "" : "more than 0 and ");
		return -EINVAL;
	}
	return 0;
}

int pg_config(void *ctx, const char *file, const struct rtn_stmt *s, struct rtn_diags *d)
{
	struct pg_conf *c = ctx;
	const char *k = s->keyword;
	if (strcmp(k, "table") == 0) {
		if (!s->block) {
			rtn_diag_add(
			    d, RTN_SEV_ERROR, file, s->line, s->col,
			    "\"table\" needs a block: table NAME { category C; key COLUMN }");
			return -EINVAL;
		}
		if (rtn_val_nargs(file, s, 1, 1, d) < 0 ||
		    ident(file, &s->args[0], "table name", d) < 0)
			return -EINVAL;
		struct pg_table t = {.name = rtn_xstrdup(s->args[0].text),
		                     .schema = rtn_xstrdup("public"),
		                     .line = s->line,
		                     .col = s->col};
		RTN_GROW(c->tables, c->ntables + 1, c->cap);
		c->tables[c->ntables++] = t; /* kept even when bad, so that pg_conf_fini frees it */
		struct pg_table *nt = &c->tables[c->ntables - 1];
		if (table_body(file, s, c, nt, d) < 0)
			return -EINVAL;
		for (size_t i = 0; i + 1 < c->ntables; i++) {
			const struct pg_table *o = &c->tables[i];
			if (strcmp(o->name, nt->name) == 0 && strcmp(o->schema, nt->schema) == 0) {
				rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
				             "table %s.%s is given twice; first at %d:%d",
				             nt->schema, nt->name, o->line, o->col);
				return -EINVAL;
			}
		}
		return 0;
	}
	static const char *const single[] = {"conninfo",
	                                     "statement-timeout",
	                                     "lock-timeout",
	                                     "idle-in-transaction-timeout",
	                                     "application-name",
	                                     "batch",
	                                     "transaction-limit",
	                                     "hmac-key",
	                                     "vacuum"};
	size_t w = 0;
	while (w < sizeof(single) / sizeof(*single) && strcmp(single[w], k) != 0)
		w++;
	if (w == sizeof(single) / sizeof(*single))
		return -ENOENT;
	if (rtn_val_noblock(file, s, d) < 0 || once(file, s, &c->seen[w][0], &c->seen[w][1], d) < 0)
		return -EINVAL;
	switch (w) {
	case 1:
		return duration(file, s, true, &c->statement_ms, d);
	case 2:
		return duration(file, s, true, &c->lock_ms, d);
	case 3:
		return duration(file, s, true, &c->idle_ms, d);
	case 6:
		return duration(file, s, false, &c->tx_limit_ms, d);
	default:
		break;
	}
	if (rtn_val_nargs(file, s, 1, 1, d) < 0)
		return -EINVAL;
	const struct rtn_arg *a = &s->args[0];
	long n;
	switch (w) {
	case 0: {
		char *msg = NULL;
		PQconninfoOption *opts = PQconninfoParse(a->text, &msg);
		if (!opts) {
			/* libpq's message quotes the text it stopped at, which might be a
			 * password: not shown if the conninfo seems to hold one */
			bool secret = strstr(a->text, "password") || strchr(a->text, '@');
			if (msg)
				pg_oneline(msg);
			rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
			             "invalid conninfo: %s",
			             msg && *msg && !secret ? msg : "libpq cannot read it");
			PQfreemem(msg);
			return -EINVAL;
		}
		bool pw = false;
		for (PQconninfoOption *o = opts; o->keyword; o++)
			if (strcmp(o->keyword, "password") == 0 && o->val)
				pw = true;
		PQconninfoFree(opts);
		if (pw) {
			rtn_diag_add(
			    d, RTN_SEV_ERROR, file, a->line, a->col,
			    "the conninfo holds a password; give it to libpq by a password "
			    "file (PGPASSFILE, ~/.pgpass) or a service file instead");
			return -EINVAL;
		}
		c->conninfo = rtn_xstrdup(a->text);
		c->conninfo_line = a->line;
		c->conninfo_col = a->col;
		return 0;
	}
	case 4:
		if (!a->text[0] || strlen(a->text) > PG_IDENT_MAX) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
			             "\"application-name\" is 1 to %d bytes", PG_IDENT_MAX);
			return -EINVAL;
		}
		c->app_name = rtn_xstrdup(a->text);
		return 0;
	case 5:
		if (rtn_val_int(file, a, 1, PG_BATCH_MAX, &n, d) < 0)
			return -EINVAL;
		c->batch = (unsigned)n;
		return 0;
	case 7:
		if (!a->text[0]) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
			             "\"hmac-key\" needs a path");
			return -EINVAL;
		}
		c->key_path = rtn_backend_path(file, a->text);
		c->key_line = a->line;
		c->key_col = a->col;
		return 0;
	default:
		if (strcmp(a->text, "on") != 0 && strcmp(a->text, "off") != 0) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col,
			             "expected \"vacuum on\" or \"vacuum off\"");
			return -EINVAL;
		}
		c->vacuum = strcmp(a->text, "on") == 0;
		return 0;
	}
}

/* Read the HMAC key: a regular file nobody but its owner may read or write, 32 to 4096
 * bytes, all of them the key. */
static int read_key(const char *file, struct pg_conf *c, struct rtn_diags *d)
{
	int fd = open(c->key_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, c->key_line, c->key_col,
		             "cannot open the key file %s: %s", c->key_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	const char *why = NULL;
	if (!S_ISREG(st.st_mode))
		why = "is not a regular file";
	else if (st.st_mode & 077)
		why = "may be read or written by others than its owner; chmod 600 it";
	else if (st.st_size < PG_HMAC_KEY_MIN)
		why = "holds fewer than 32 bytes";
	else if (st.st_size > PG_HMAC_KEY_MAX)
		why = "holds more than 4096 bytes";
	if (why) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, c->key_line, c->key_col,
		             "the key file %s %s (mode %04o, %jd bytes)", c->key_path, why,
		             (unsigned)(st.st_mode & 07777), (intmax_t)st.st_size);
		close(fd);
		return -EINVAL;
	}
	c->key = rtn_xmalloc((size_t)st.st_size);
	ssize_t got = 0;
	while (got < st.st_size) {
		ssize_t r = read(fd, c->key + got, (size_t)(st.st_size - got));
		if (r <= 0)
			break;
		got += r;
	}
	close(fd);
	if (got != st.st_size) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, c->key_line, c->key_col,
		             "cannot read the key file %s", c->key_path);
		return -EINVAL;
	}
	c->keylen = (size_t)got;
	return 0;
}

int pg_pseudonym(const struct pg_conf *c, const char *in, size_t len, char out[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t maclen = 0;
	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, c->key, c->keylen,
	               (const unsigned char *)in, len, mac, sizeof(mac), &maclen) ||
	    maclen != 32)
		return -EIO;
	rtn_hex(mac, maclen, out);
	return 0;
}

/* One value of a locator key as text: a string is borrowed from the job, an integer
 * written into buf at *used. */
static int key_text(const json_t *v, char *buf, size_t buflen, size_t *used, const char **out)
{
	if (json_is_string(v)) {
		if (strlen(json_string_value(v)) != json_string_length(v))
			return -EINVAL;
		*out = json_string_value(v);
		return 0;
	}
	if (!json_is_integer(v))
		return -EINVAL;
	size_t room = buflen - *used;
	int n = snprintf(buf + *used, room, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (n < 0 || (size_t)n >= room)
		return -EINVAL;
	*out = buf + *used;
	*used += (size_t)n + 1;
	return 0;
}

int pg_locator_key(const struct pg_table *t, const json_t *locator, const char **vals, char *buf,
                   size_t buflen, char *err, size_t errlen)
{
	json_t *key = json_object_get(locator, "key");
	size_t used = 0;
	if (!json_is_object(locator) || json_object_size(locator) != 1 || !key)
		goto bad;
	if (t->nkeys == 1) {
		if (key_text(key, buf, buflen, &used, &vals[0]) < 0)
			goto bad;
		return 0;
	}
	if (!json_is_object(key) || json_object_size(key) != t->nkeys)
		goto bad;
	for (size_t i = 0; i < t->nkeys; i++) {
		json_t *v = json_object_get(key, t->keys[i].name);
		if (!v || key_text(v, buf, buflen, &used, &vals[i]) < 0)
			goto bad;
	}
	return 0;
bad:
	if (t->nkeys == 1) {
		snprintf(err, errlen,
		         "the record's locator must be {\"key\": V} with V a string (without NUL) "
		         "or an integer, for table %s",
		         t->name);
	} else {
		char cols[512] = "";
		for (size_t i = 0; i < t->nkeys; i++) {
			size_t l = strlen(cols);
			snprintf(cols + l, sizeof(cols) - l, "%s\"%s\": V%zu", i ? ", " : "",
			         t->keys[i].name, i + 1);
		}
		snprintf(err, errlen,
		         "the record's locator must be {\"key\": {%s}} (exactly the key's columns, "
		         "each a string or an integer), for table %s",
		         cols, t->name);
	}
	return -EINVAL;
}

int pg_configured(void *ctx, const char *file, struct rtn_backend_opts *o, struct rtn_diags *d)
{
	struct pg_conf *c = ctx;
	int bad = 0;
	c->file = file;
	if (!c->conninfo || !c->ntables) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, 0, 0, "no %s; retention-postgres needs %s",
		             c->conninfo ? "\"table\" block" : "\"conninfo\"",
		             "\"conninfo \\\"...\\\"\" and at least one \"table NAME { ... }\"");
		return -EINVAL;
	}
	if (o->workers > PG_WORKERS_MAX) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, o->workers_line, o->workers_col,
		             "\"workers\" is at most %d for retention-postgres (each is a "
		             "connection)",
		             PG_WORKERS_MAX);
		bad = 1;
	}
	o->actions = RTN_BACT_DELETE;
	for (size_t i = 0; i < c->ntables; i++) {
		const struct pg_table *t = &c->tables[i];
		if (t->nanon)
			o->actions |= RTN_BACT_ANONYMIZE;
		for (size_t j = 0; j < t->nanon; j++) {
			if (t->anon[j].method == PG_PSEUDO && !c->key_path) {
				rtn_diag_add(d, RTN_SEV_ERROR, file, t->anon[j].line,
				             t->anon[j].col,
				             "\"pseudonymize\" needs \"hmac-key FILE\"");
				bad = 1;
			}
		}
	}
	if (c->key_path && read_key(file, c, d) < 0)
		bad = 1;
	if (bad)
		return -EINVAL;
	if (!c->app_name)
		c->app_name = rtn_xstrdup("retention-postgres");
	o->batch = c->batch;
	c->workers = o->workers;

	char err[RTN_BACKEND_ERR_MAX];
	PGconn *conn = pg_connect(c, err, sizeof(err));
	if (!conn) {
		if (o->check) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, c->conninfo_line, c->conninfo_col,
			             "cannot connect to check the tables: %s", err);
			return -EINVAL;
		}
		rtn_warn("cannot connect to the server now (%s); the tables are checked when it "
		         "can, and jobs fail with retry: true until then",
		         err);
		return 0;
	}
	struct pg_cat cat = {0};
	int r = pg_check(c, conn, &cat, d, err, sizeof(err));
	pg_cat_fini(&cat);
	PQfinish(conn);
	if (r == -EIO) {
		if (o->check) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, c->conninfo_line, c->conninfo_col,
			             "the connection failed while checking the tables: %s", err);
			return -EINVAL;
		}
		rtn_warn("the connection failed while checking the tables (%s); they are checked "
		         "again when it comes back",
		         err);
		return 0;
	}
	return r;
}
