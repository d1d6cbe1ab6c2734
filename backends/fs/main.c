/* main.c - retention-fs: the reference backend that deletes files below configured roots
 * and, for the roots that say so, lists their files (scans)
 *
 *   socket       /run/retentiond/backends/hr-files.sock
 *   root         /srv/hr/applications        # repeatable
 *   root         /srv/cctv {                 # a root that is scanned
 *           scan category cctv-footage
 *           scan event    mtime              # mtime | ctime | birth; default mtime;
 *                                            # "mtime as received" names the event
 *   }
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

/* The statements of a root's block into root. 0 or -EINVAL. */
static int root_block(struct fs_root *root, const char *file, const struct rtn_stmt *b,
                      struct rtn_diags *d)
{
	static const char *const events[] = {"mtime", "ctime", "birth"};
	const struct rtn_stmt *event = NULL;
	int bad = 0;
	for (size_t i = 0; i < b->nchildren; i++) {
		const struct rtn_stmt *s = &b->children[i];
		if (strcmp(s->keyword, "scan") != 0) {
			rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
			             "unknown statement \"%s\" in a root block; expected scan",
			             s->keyword);
			bad = 1;
			continue;
		}
		bool named = s->nargs == 4 && !strcmp(s->args[0].text, "event") &&
		             !strcmp(s->args[2].text, "as");
		if (rtn_val_noblock(file, s, d) < 0 ||
		    (!named && rtn_val_nargs(file, s, 2, 2, d) < 0)) {
			bad = 1;
			continue;
		}
		const struct rtn_arg *what = &s->args[0], *v = &s->args[1];
		if (named && rtn_val_name(file, &s->args[3], "event", d) < 0) {
			bad = 1;
			continue;
		}
		if (named) {
			free(root->scan_event_name);
			root->scan_event_name = rtn_xstrdup(s->args[3].text);
		}
		if (strcmp(what->text, "category") == 0) {
			if (root->scan_category) {
				rtn_diag_add(d, RTN_SEV_ERROR, file, s->line, s->col,
				             "\"scan category\" is given twice in this root");
				bad = 1;
			} else if (rtn_val_name(file, v, "category", d) < 0) {
				bad = 1;
			} else {
				root->scan_category = rtn_xstrdup(v->text);
			}
		} else if (strcmp(what->text, "event") == 0) {
			size_t k = 0;
			while (k < 3 && strcmp(v->text, events[k]) != 0)
				k++;
			if (k == 3) {
				rtn_diag_add(d, RTN_SEV_ERROR, file, v->line, v->col,
				             "\"scan event\" is mtime, ctime or birth, not \"%s\"",
				             v->text);
				bad = 1;
			}
			root->scan_event = k < 3 ? (enum fs_event)k : FS_EV_MTIME;
			event = s;
		} else {
			rtn_diag_add(d, RTN_SEV_ERROR, file, what->line, what->col,
			             "expected \"scan category NAME\" or \"scan event "
			             "mtime|ctime|birth [as NAME]\", found \"scan %s\"",
			             what->text);
			bad = 1;
		}
	}
	if (event && !root->scan_category && !bad) {
		rtn_diag_add(d, RTN_SEV_ERROR, file, event->line, event->col,
		             "\"scan event\" without \"scan category NAME\": this root is not "
		             "scanned");
		bad = 1;
	}
	return bad ? -EINVAL : 0;
}

static int fs_config(void *ctx, const char *file, const struct rtn_stmt *s, struct rtn_diags *d)
{
	static const char *const dirs[] = {"no", "empty", "recursive"}, *const yesno[] = {"no",
	                                                                                  "yes"};
	struct fs_conf *c = ctx;
	int r;
	if (strcmp(s->keyword, "root") == 0) {
		if (rtn_val_nargs(file, s, 1, 1, d) < 0)
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
		if (r == 0 && s->block)
			r = root_block(&c->roots[c->nroots - 1], file, s, d);
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
	o->scan = false;
	for (size_t i = 0; i < c->nroots; i++)
		o->scan |= c->roots[i].scan_category != NULL;
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
	               "another mount.\nLists the files of the roots that have \"scan category\" "
	               "(scans).",
	    .keywords = "root, directories, overwrite",
	    .actions = RTN_BACT_DELETE,
	    .workers = 8,
	    .config = fs_config,
	    .configured = fs_configured,
	    .handle = fs_handle,
	    .scan = fs_scan,
	};
	int status = rtn_backend_main(&def, &conf, argc, argv);
	fs_conf_fini(&conf);
	return status;
}
