/* values.h - typed arguments of statements, with diagnostics on bad input */
#ifndef RTN_VALUES_H
#define RTN_VALUES_H

#include <stdint.h>

#include "diag.h"
#include "rtime.h"
#include "syntax.h"

/* Require between min and max arguments (max 0: no limit); else an error naming the
 * statement. 0 or -EINVAL. */
int rtn_val_nargs(const char *file, const struct rtn_stmt *s, size_t min, size_t max,
                  struct rtn_diags *d);
/* Require a statement without a block. 0 or -EINVAL. */
int rtn_val_noblock(const char *file, const struct rtn_stmt *s, struct rtn_diags *d);
/* Require a name ([a-z][a-z0-9_.-]*); what says which ("rule name", "category"). */
int rtn_val_name(const char *file, const struct rtn_arg *a, const char *what, struct rtn_diags *d);
/* Parse a span from n arguments: "immediately", or "N UNIT" pairs. The statement s
 * locates errors when n is 0. 0 or -EINVAL. */
int rtn_val_span(const char *file, const struct rtn_stmt *s, const struct rtn_arg *args, size_t n,
                 struct rtn_span *out, struct rtn_diags *d);
/* A span written on a command line, in the words of the rules ("30 days", "1 year 6
 * months") or short ("30d", "12h", "1y6mo"): numbers each followed by a unit, spaces
 * optional between them; a unit is second, minute, hour, day, week, month or year
 * (singular or plural) or one of s, min, h, d, w, mo, y ("m" is refused: minute or
 * month?). At least one number; each unit at most once. 0, or -EINVAL with why in err. */
int rtn_span_parse(const char *s, struct rtn_span *out, char *err, size_t errlen);
/* A span made only of fixed units (no months or years), in milliseconds. */
int rtn_val_duration(const char *file, const struct rtn_stmt *s, const struct rtn_arg *args,
                     size_t n, int64_t *ms, struct rtn_diags *d);
/* A decimal integer in min..max. */
int rtn_val_int(const char *file, const struct rtn_arg *a, long min, long max, long *out,
                struct rtn_diags *d);
/* An octal file mode such as 0660 (at most 0777). */
int rtn_val_mode(const char *file, const struct rtn_arg *a, unsigned *out, struct rtn_diags *d);

#endif
