/* diag.h - diagnostics collected while reading configuration and rules */
#ifndef RTN_DIAG_H
#define RTN_DIAG_H

#include <stddef.h>
#include <stdio.h>

enum rtn_severity { RTN_SEV_ERROR, RTN_SEV_WARNING };

struct rtn_diag {
	enum rtn_severity sev;
	char *file; /* owned */
	int line;   /* 1-based; 0 when the problem concerns the whole file */
	int col;    /* 1-based, in characters; 0 as for line */
	char *msg;  /* owned, no trailing newline */
};

struct rtn_diags {
	struct rtn_diag *v;
	size_t n, cap;
	size_t nerrors, nwarnings;
};

/* Start an empty list. */
void rtn_diags_init(struct rtn_diags *d);
/* Free every diagnostic and the list's storage. */
void rtn_diags_fini(struct rtn_diags *d);
/* Append one diagnostic; copies file and the formatted message. */
void rtn_diag_add(struct rtn_diags *d, enum rtn_severity sev, const char *file, int line, int col,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Format one diagnostic as "FILE:LINE:COL: message" ("warning: " before warnings); caller frees. */
char *rtn_diag_format(const struct rtn_diag *g);
/* Print every diagnostic, one per line (escaped as log lines are), in the order added. */
void rtn_diags_print(const struct rtn_diags *d, FILE *f);

#endif
