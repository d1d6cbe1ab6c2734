/* main.c - retention-fs: the reference backend that deletes files below configured roots
 *
 *   socket       /run/retentiond/backends/hr-files.sock
 *   root         /srv/hr/applications        # repeatable
 *   workers      8                           # deletions at once
 *   directories  no | empty | recursive      # default no
 *   overwrite    no | yes                    # zeros before unlink; default no
 */
#include <errno.h>
#include <string.h>

#include "backend.h"
#include "fsdel.h"
#include "util.h"
#include "values.h"

static int choice(const char *file, const struct rtn_stmt *s, const char *const *words, int n,
                  struct rtn_diags *d)
{
	if (rtn_val_noblock(file, s, d) < 0 || rtn_val_nargs(file, s, 1, 1, d) < 0)
		return -EINVAL;
	for (int i = 0; i < n; i++)
		if (strcmp(s->args[0].text, words[i]) == 0)
			return i;
	rtn_diag_add(d, RTN_SEV_ERROR, file, s->args[0].line, s->args[0].col,
	             "\"%s\" is %s%s%s or %s, not \"%s\"", s->keyword, words[0], n > 2 ? ", " : "",
	             n > 2 ? words[1] : "", words[n - 1], s->args[0].text);
	return -EINVAL;
}

static int fs_config(void *ctx, const char *file, const struct rtn_stmt *s, struct rtn_diags *d)
{
	static const char *const dirs[] = {"no", "empty", "recursive"}, *const yesno[] = {"no",
	                                                                                  "yes"};
	struct fs_conf *c = ctx;
	int r;
	if (strcmp(s->keyword, "root") == 0) {
		if (rtn_val_noblock(file, s, d) < 0 || rtn_val_nargs(file, s, 1, 1, d) < 0)
			return -EINVAL;
		const struct rtn_arg *a = &s->args[0];
		char *path = rtn_backend_path(file, a->text), err[600];
		r = a->text[0] ? fs_root_add(c, path, err, sizeof(err)) : -EINVAL;
		if (r < 0)
			rtn_diag_add(d, RTN_SEV_ERROR, file, a->line, a->col, "%s",
			             a->text[0] ? err : "\"root\" needs a directory");
		else if (strcmp(c->roots[c->nroots - 1].real, "/") == 0)
			rtn_diag_add(d, RTN_SEV_WARNING, file, a->line, a->col,
			             "root %s lets this backend delete any file of the system",
			             path);
		free(path);
		return r < 0 ? -EINVAL : 0;
	}
	if (strcmp(s->keyword, "directories") == 0) {
		if ((r = choice(file, s, dirs, 3, d)) < 0)
			return r;
		c->dirs = (enum fs_dirs)r;
		return 0;
	}
	if (strcmp(s->keyword, "overwrite") == 0) {
		if ((r = choice(file, s, yesno, 2, d)) < 0)
			return r;
		c->overwrite = r == 1;
		return 0;
	}
	return -ENOENT;
}

static int fs_configured(void *ctx, const char *file, struct rtn_backend_opts *o,
                         struct rtn_diags *d)
{
	struct fs_conf *c = ctx;
	(void)o;
	if (c->nroots)
		return 0;
	rtn_diag_add(d, RTN_SEV_ERROR, file, 0, 0, "no \"root DIR\"; at least one is needed");
	return -EINVAL;
}

static int fs_handle(void *ctx, const struct rtn_bjob *job, char *err, size_t errlen)
{
	const char *path = rtn_backend_locator_string(job, "path");
	if (!path) {
		snprintf(err, errlen,
		         "the record's locator must be an object with a string \"path\" (without "
		         "NUL bytes)");
		return RTN_BACKEND_FAIL_FINAL;
	}
	return fs_delete(ctx, path, err, errlen);
}

int main(int argc, char **argv)
{
	static struct fs_conf conf;
	static const struct rtn_backend_def def = {
	    .name = "retention-fs",
	    .summary = "Deletes the files that retentiond's jobs name (locator.path), only "
	               "below the configured roots,\nnever through a symbolic link and never on "
	               "another mount.",
	    .keywords = "root, directories, overwrite",
	    .actions = RTN_BACT_DELETE,
	    .workers = 8,
	    .config = fs_config,
	    .configured = fs_configured,
	    .handle = fs_handle,
	};
	int status = rtn_backend_main(&def, &conf, argc, argv);
	fs_conf_fini(&conf);
	return status;
}
