/* diag.c - diagnostics collected while reading configuration and rules */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

void rtn_diags_init(struct rtn_diags *d)
{
	memset(d, 0, sizeof(*d));
}

void rtn_diags_fini(struct rtn_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	rtn_diags_init(d);
}

static char *vformat(const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return rtn_xstrdup("(unprintable message)");
	char *s = rtn_xmalloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

void rtn_diag_add(struct rtn_diags *d, enum rtn_severity sev, const char *file, int line, int col,
                  const char *fmt, ...)
{
	if (!d)
		return; /* a caller that only wants the verdict */
	va_list ap;
	RTN_GROW(d->v, d->n + 1, d->cap);
	struct rtn_diag *g = &d->v[d->n++];
	g->sev = sev;
	g->file = rtn_xstrdup(file);
	g->line = line;
	g->col = col;
	va_start(ap, fmt);
	g->msg = vformat(fmt, ap);
	va_end(ap);
	if (sev == RTN_SEV_WARNING)
		d->nwarnings++;
	else
		d->nerrors++;
}

char *rtn_diag_format(const struct rtn_diag *g)
{
	const char *file = g->file ? g->file : "-";
	const char *sev = g->sev == RTN_SEV_WARNING ? "warning: " : "";
	if (g->line <= 0)
		return rtn_xasprintf("%s: %s%s", file, sev, g->msg);
	if (g->col <= 0)
		return rtn_xasprintf("%s:%d: %s%s", file, g->line, sev, g->msg);
	return rtn_xasprintf("%s:%d:%d: %s%s", file, g->line, g->col, sev, g->msg);
}

void rtn_diags_print(const struct rtn_diags *d, FILE *f)
{
	for (size_t i = 0; i < d->n; i++) {
		char *s = rtn_diag_format(&d->v[i]);
		size_t n = strlen(s), cap = 4 * n + 1;
		char *e =
		    rtn_xmalloc(cap); /* a file name or a word of the file may hold anything */
		rtn_log_escape(e, cap, s, n);
		fprintf(f, "%s\n", e);
		free(e);
		free(s);
	}
}
