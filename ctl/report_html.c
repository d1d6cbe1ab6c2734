/* report_html.c - the report as one self-contained HTML page: no scripts, no files or
 * addresses outside it, inline CSS with a print stylesheet, an inline SVG chart whose
 * every size is computed here, every string from the log escaped, times in the report's
 * zone. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#include "print.h"
#include "rtime.h"
#include "util.h"

#define CHART_W        760
#define CHART_ML       64 /* left margin: the y axis' labels */
#define CHART_MR       16
#define CHART_MT       16
#define CHART_PH       240 /* the plot's height */
#define CHART_XAXIS    44  /* below the plot: the x axis' labels and title */
#define LEGEND_ROW     20
#define LEGEND_COLS    2
#define MONTHS_MAX     36 /* more months than this are shown as years */
#define PROBLEMS_SHOWN 200
#define BAR_MAX        56 /* widest bar */

static const char *const rh_palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                         "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
#define NPALETTE (sizeof(rh_palette) / sizeof(rh_palette[0]))

static const char *const rh_outcome_keys[] = {"deleted",  "anonymized", "not_found", "failed",
                                              "retained", "left",       "reappeared"};
static const char *const rh_outcome_names[] = {"Deleted",  "Anonymised", "Not found", "Failed",
                                               "Retained", "Left",       "Reappeared"};
#define NOUT  7
#define NOURS 5 /* the outcomes of retentiond's own actions: the monthly chart's */

static const char *rh_member(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static json_int_t rh_num(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

void ctl_html_text(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		switch (*p) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
				fputs("&#xFFFD;", f);
			else
				fputc(*p, f);
		}
	}
}

static void rh_count(FILE *f, json_int_t n)
{
	char b[CTL_COUNT_LEN];
	fputs(ctl_fmt_count(n, b), f);
}

/* An RFC 3339 time of the reply as a <time> shown in zone z: "2026-03-01 09:30:00". */
static void rh_when(FILE *f, const struct rtn_zone *z, const char *s)
{
	rtn_time_t t;
	char buf[RTN_TIME_FMT_LEN];
	if (!s || rtn_time_parse(s, &t) < 0 || !z ||
	    rtn_time_format_in(z, t, buf, sizeof(buf)) < 0) {
		ctl_html_text(f, s ? s : "-");
		return;
	}
	fputs("<time datetime=\"", f);
	ctl_html_text(f, buf);
	fputs("\">", f);
	buf[10] = ' ';
	buf[19] = '\0';
	ctl_html_text(f, buf);
	fputs("</time>", f);
}

static const char rh_css[] =
    "body{font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\","
    "Arial,sans-serif;color:#1a1a1a;background:#fff;max-width:1100px;margin:2em auto;"
    "padding:0 1.5em}\n"
    "h1{font-size:1.7em;margin:0 0 .2em}h2{font-size:1.25em;margin:1.8em 0 .6em;"
    "border-bottom:2px solid #ddd;padding-bottom:.2em}\n"
    ".period{font-size:1.1em;margin:.2em 0}.muted{color:#555}\n"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.3em 1.2em;margin:0}"
    "dt{font-weight:600}dd{margin:0}\n"
    "code,.hash{font-family:ui-monospace,\"DejaVu Sans Mono\",Menlo,Consolas,monospace;"
    "font-size:.9em;word-break:break-all}\n"
    "ul.files{margin:0;padding-left:1.2em}\n"
    "table{border-collapse:collapse;width:100%;margin:.4em 0 1em}"
    "th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}"
    "th{background:#f2f2f2}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}\n"
    "tfoot th,tfoot td{font-weight:700;background:#f7f7f7}\n"
    "#totals-table td:nth-child(-n+2){white-space:nowrap}"
    "#check-figures{width:auto;min-width:30em}#check-figures th{font-weight:400}\n"
    "tr.flagged td{background:#fff4e0}.flag{color:#8a4b00;font-weight:600}\n"
    ".ok{color:#1d6b2e;font-weight:700}.bad{color:#a11;font-weight:700}\n"
    ".outcome-not_found{color:#8a4b00}.outcome-failed{color:#a11}\n"
    "figure{margin:0}svg{display:block;max-width:100%;height:auto}"
    "svg text{font:12px system-ui,Arial,sans-serif;fill:#333}\n"
    "@page{size:A4;margin:15mm 12mm}\n"
    "@media print{body{font-size:10pt;max-width:none;margin:0;padding:0}"
    "h2{break-after:avoid}tr,figure,dl{break-inside:avoid}thead{display:table-header-group}"
    "tfoot{display:table-footer-group}*{-webkit-print-color-adjust:exact;"
    "print-color-adjust:exact}}\n";

static void rh_head_section(FILE *f, const json_t *r, const struct rtn_zone *z)
{
	const char *zone = rh_member(r, "timezone");
	fputs("<header>\n<h1>Deletion report</h1>\n<p class=\"period\">Period: ", f);
	rh_when(f, z, rh_member(r, "since"));
	fputs(" to ", f);
	rh_when(f, z, rh_member(r, "until"));
	fputs(" (the end excluded)</p>\n<p class=\"muted\">All times in ", f);
	ctl_html_text(f, zone ? zone : "the daemon's zone");
	fputs(". Generated ", f);
	rh_when(f, z, rh_member(r, "generated"));
	if (rh_member(r, "category")) {
		fputs(". Category: <strong>", f);
		ctl_html_text(f, rh_member(r, "category"));
		fputs("</strong>", f);
	}
	fputs(".</p>\n</header>\n<section id=\"evidence\">\n<h2>The audit log</h2>\n<dl>\n"
	      "<dt>Files read</dt><dd><ul class=\"files\">",
	      f);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(r, "files"), i, v)
	{
		fputs("<li><code>", f);
		ctl_html_text(f, json_string_value(v));
		fputs("</code></li>", f);
	}
	fputs("</ul></dd>\n<dt>Chain head at the end of the period</dt><dd id=\"head\">", f);
	const json_t *h = json_object_get(r, "head");
	if (json_is_object(h)) {
		fprintf(f, "entry %" JSON_INTEGER_FORMAT " of ", rh_num(h, "seq"));
		rh_when(f, z, rh_member(h, "time"));
		fputs("<br>hash <span class=\"hash\">", f);
		ctl_html_text(f, rh_member(h, "hash"));
		fputs("</span>", f);
	} else {
		fputs("no entry before the end of the period", f);
	}
	const json_t *ver = json_object_get(r, "verify"), *bad = json_object_get(ver, "first_bad");
	fputs("</dd>\n<dt>Verification</dt><dd id=\"verify\">", f);
	if (json_is_true(json_object_get(ver, "valid")) && !rh_num(ver, "files")) {
		fputs("<span class=\"ok\">nothing to verify</span>: no file of the audit log holds "
		      "entries of the period",
		      f);
	} else if (json_is_true(json_object_get(ver, "valid"))) {
		fputs("<span class=\"ok\">valid</span>: the hash chain of the files read (", f);
		rh_count(f, rh_num(ver, "entries"));
		fputs(" entries) recomputes, up to <span class=\"hash\">", f);
		ctl_html_text(f, rh_member(ver, "head"));
		fputs("</span>", f);
	} else {
		fputs("<span class=\"bad\">NOT valid</span>: ", f);
		if (json_is_object(bad)) {
			ctl_html_text(f, rh_member(bad, "file"));
			fprintf(f, " line %" JSON_INTEGER_FORMAT ": ", rh_num(bad, "line"));
			ctl_html_text(f, rh_member(bad, "reason"));
		} else {
			ctl_html_text(f, rh_member(ver, "error") ? rh_member(ver, "error")
			                                         : "unknown");
		}
	}
	fputs("</dd>\n</dl>\n</section>\n", f);
}

static void rh_totals_section(FILE *f, const json_t *r)
{
	fputs("<section id=\"totals\">\n<h2>Actions per rule</h2>\n<table id=\"totals-table\">\n"
	      "<thead><tr><th>Rule</th><th>Category</th>",
	      f);
	for (int k = 0; k < NOUT; k++)
		fprintf(f, "<th class=\"n\">%s</th>", rh_outcome_names[k]);
	fputs("<th>Legal basis</th></tr></thead>\n<tbody>\n", f);
	size_t i;
	json_t *row;
	const json_t *rows = json_object_get(r, "rows");
	json_array_foreach(rows, i, row)
	{
		const char *flag = rh_member(row, "flag");
		fputs(flag ? "<tr class=\"flagged\"><td>" : "<tr><td>", f);
		ctl_html_text(f, rh_member(row, "rule"));
		fputs("</td><td>", f);
		ctl_html_text(f, rh_member(row, "category"));
		fputs("</td>", f);
		for (int k = 0; k < NOUT; k++) {
			fprintf(f, "<td class=\"n\" data-outcome=\"%s\">", rh_outcome_keys[k]);
			rh_count(f, rh_num(row, rh_outcome_keys[k]));
			fputs("</td>", f);
		}
		fputs("<td>", f);
		ctl_html_text(f, rh_member(row, "basis"));
		if (flag) {
			fputs("<br><span class=\"flag\">", f);
			ctl_html_text(f, flag);
			fputs("</span>", f);
		}
		fputs("</td></tr>\n", f);
	}
	if (!json_array_size(rows))
		fputs("<tr><td colspan=\"10\">Nothing was deleted, anonymised, retained or failed "
		      "in the period.</td></tr>\n",
		      f);
	const json_t *tot = json_object_get(r, "totals");
	fputs("</tbody>\n<tfoot><tr id=\"totals-row\"><th colspan=\"2\">Total</th>", f);
	for (int k = 0; k < NOUT; k++) {
		fprintf(f, "<td class=\"n\" data-outcome=\"%s\">", rh_outcome_keys[k]);
		rh_count(f, rh_num(tot, rh_outcome_keys[k]));
		fputs("</td>", f);
	}
	fputs("<td></td></tr></tfoot>\n</table>\n<p class=\"muted\">Not found: the backend "
	      "answered that nothing was at the record's locator. Many of them for one rule "
	      "point at wrong locators rather than deletions. Left: a record a scan of its "
	      "backend no longer saw, gone by other means (not deleted by retentiond). "
	      "Reappeared: a deleted record a scan saw again, acted on again.</p>\n"
	      "</section>\n",
	      f);
}

/* The chart's data: buckets (months, or years) by rules. */
struct chart {
	int first, n; /* the first bucket (year * 12 + month - 1, or the year) and how many */
	bool years;
	const char **rules;
	size_t nr;
	json_int_t *v; /* n * nr: bucket b, rule k at b * nr + k */
};

static int rh_month_of(const char *s)
{
	int y, m;
	if (!s || sscanf(s, "%4d-%2d", &y, &m) != 2 || m < 1 || m > 12)
		return -1;
	return y * 12 + m - 1;
}

static int rh_cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void rh_chart_data(struct chart *c, const json_t *months)
{
	size_t i, nm = json_array_size(months);
	json_t *m;
	int lo = -1, hi = -1;
	memset(c, 0, sizeof(*c));
	c->rules = rtn_xcalloc(nm ? nm : 1, sizeof(*c->rules));
	json_array_foreach(months, i, m)
	{
		int b = rh_month_of(rh_member(m, "month"));
		const char *rule = rh_member(m, "rule");
		if (b < 0 || !rule)
			continue;
		lo = lo < 0 || b < lo ? b : lo;
		hi = b > hi ? b : hi;
		bool seen = false;
		for (size_t k = 0; k < c->nr && !seen; k++)
			seen = !strcmp(c->rules[k], rule);
		if (!seen)
			c->rules[c->nr++] = rule;
	}
	qsort(c->rules, c->nr, sizeof(*c->rules), rh_cmp_str);
	if (lo < 0)
		return;
	c->years = hi - lo + 1 > MONTHS_MAX;
	c->first = c->years ? lo / 12 : lo;
	c->n = c->years ? hi / 12 - lo / 12 + 1 : hi - lo + 1;
	c->v = rtn_xcalloc((size_t)c->n * c->nr, sizeof(*c->v));
	json_array_foreach(months, i, m)
	{
		int b = rh_month_of(rh_member(m, "month"));
		const char *rule = rh_member(m, "rule");
		if (b < 0 || !rule)
			continue;
		b = c->years ? b / 12 - c->first : b - c->first;
		size_t k = 0;
		while (strcmp(c->rules[k], rule))
			k++;
		for (int o = 0; o < NOURS; o++)
			c->v[(size_t)b * c->nr + k] += rh_num(m, rh_outcome_keys[o]);
	}
}

static void rh_bucket_label(const struct chart *c, int b, char *buf, size_t len)
{
	int x = c->first + b;
	if (c->years)
		snprintf(buf, len, "%d", x);
	else
		snprintf(buf, len, "%04d-%02d", x / 12, x % 12 + 1);
}

/* A step of 1, 2 or 5 times a power of ten that divides 0..max into at most 5 ticks. */
static json_int_t rh_tick_step(json_int_t max)
{
	for (json_int_t p = 1;; p *= 10)
		for (int k = 0; k < 3; k++) {
			json_int_t s = p * (k == 0 ? 1 : k == 1 ? 2 : 5);
			if (s * 5 >= max)
				return s;
		}
}

static void rh_chart_svg(FILE *f, const struct chart *c)
{
	json_int_t max = 1;
	for (int b = 0; b < c->n; b++) {
		json_int_t s = 0;
		for (size_t k = 0; k < c->nr; k++)
			s += c->v[(size_t)b * c->nr + k];
		max = s > max ? s : max;
	}
	json_int_t step = rh_tick_step(max), top = (max + step - 1) / step * step;
	int legend_rows = (int)((c->nr + LEGEND_COLS - 1) / LEGEND_COLS);
	int pw = CHART_W - CHART_ML - CHART_MR, base = CHART_MT + CHART_PH;
	int h = base + CHART_XAXIS + legend_rows * LEGEND_ROW + 8;
	double slot = (double)pw / c->n, bw = slot * 0.7 > BAR_MAX ? BAR_MAX : slot * 0.7;
	fprintf(
	    f,
	    "<svg id=\"chart-svg\" width=\"%d\" "
	    "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-labelledby=\"chart-title\">\n"
	    "<title id=\"chart-title\">Actions per %s and rule</title>\n",
	    CHART_W, h, CHART_W, h, c->years ? "year" : "month");
	for (json_int_t y = 0; y <= top; y += step) {
		double py = base - (double)CHART_PH * (double)y / (double)top;
		fprintf(f,
		        "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\"/>"
		        "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">",
		        CHART_ML, py, CHART_ML + pw, py, y ? "#e3e3e3" : "#333", CHART_ML - 6,
		        py + 4);
		rh_count(f, y);
		fputs("</text>\n", f);
	}
	fprintf(f,
	        "<text x=\"14\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 14 %d)\">"
	        "actions</text>\n",
	        CHART_MT + CHART_PH / 2, CHART_MT + CHART_PH / 2);
	int every = (c->n + 11) / 12;
	for (int b = 0; b < c->n; b++) {
		char label[16];
		rh_bucket_label(c, b, label, sizeof(label));
		double x = CHART_ML + slot * b + (slot - bw) / 2, y = base;
		for (size_t k = 0; k < c->nr; k++) {
			json_int_t v = c->v[(size_t)b * c->nr + k];
			if (!v)
				continue;
			double bh = (double)CHART_PH * (double)v / (double)top;
			y -= bh;
			fprintf(f,
			        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			        "fill=\"%s\"><title>",
			        x, y, bw, bh, rh_palette[k % NPALETTE]);
			ctl_html_text(f, c->rules[k]);
			fprintf(f, ", %s: ", label);
			rh_count(f, v);
			fputs("</title></rect>\n", f);
		}
		if (b % every == 0)
			fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
			        CHART_ML + slot * (b + 0.5), base + 16, label);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", CHART_ML + pw / 2,
	        base + 34, c->years ? "year" : "month");
	for (size_t k = 0; k < c->nr; k++) {
		int lx = CHART_ML + (int)(k % LEGEND_COLS) * (pw / LEGEND_COLS),
		    ly = base + CHART_XAXIS + (int)(k / LEGEND_COLS) * LEGEND_ROW;
		fprintf(f,
		        "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
		        "<text x=\"%d\" y=\"%d\">",
		        lx, ly, rh_palette[k % NPALETTE], lx + 18, ly + 11);
		ctl_html_text(f, c->rules[k]);
		fputs("</text>\n", f);
	}
	fputs("</svg>\n", f);
}

static void rh_chart_section(FILE *f, const json_t *r)
{
	struct chart c;
	rh_chart_data(&c, json_object_get(r, "months"));
	fputs("<section id=\"chart\">\n<h2>Actions per month</h2>\n<figure>\n", f);
	if (!c.n || !c.nr)
		fputs("<p>No actions in the period.</p>\n", f);
	else
		rh_chart_svg(f, &c);
	fputs("<figcaption class=\"muted\">Deleted, anonymised, not found, failed and retained "
	      "together, per rule, by the month (in the report's zone) the audit log recorded "
	      "them.</figcaption>\n</figure>\n</section>\n",
	      f);
	free(c.rules);
	free(c.v);
}

/* seconds as "1 d 2 h 3 min" (at most three units), then the exact count. */
static void rh_duration(FILE *f, json_int_t s)
{
	static const struct {
		json_int_t secs;
		const char *unit;
	} units[] = {{86400, "d"}, {3600, "h"}, {60, "min"}, {1, "s"}};
	if (s <= 0) {
		fputs("0 s", f);
		return;
	}
	json_int_t left = s;
	int shown = 0;
	for (size_t u = 0; u < 4; u++) {
		json_int_t q = left / units[u].secs;
		left %= units[u].secs;
		if (q && shown < 3)
			fprintf(f, "%s%" JSON_INTEGER_FORMAT " %s", shown++ ? " " : "", q,
			        units[u].unit);
	}
	if (s >= 60) {
		fputs(" (", f);
		rh_count(f, s);
		fputs(" s)", f);
	}
}

static void rh_figure(FILE *f, const char *id, const char *name, const json_t *v, bool secs)
{
	fprintf(f, "<tr><th>%s</th><td class=\"n\" id=\"check-%s\">", name, id);
	if (!json_is_integer(v))
		fputs("-", f);
	else if (secs)
		rh_duration(f, json_integer_value(v));
	else
		rh_count(f, json_integer_value(v));
	fputs("</td></tr>\n", f);
}

static void rh_check_problems(FILE *f, const json_t *ck)
{
	fputs("<table id=\"check-problems\"><thead><tr><th>Kind</th><th class=\"n\">Seq</th>"
	      "<th>Job</th><th>Record</th><th>What</th></tr></thead>\n<tbody>\n",
	      f);
	const json_t *ps = json_object_get(ck, "problems");
	size_t i;
	json_t *p;
	json_array_foreach(ps, i, p)
	{
		if (i == PROBLEMS_SHOWN)
			break;
		fputs("<tr><td>", f);
		ctl_html_text(f, rh_member(p, "kind"));
		fputs("</td><td class=\"n\">", f);
		if (json_is_integer(json_object_get(p, "seq")))
			fprintf(f, "%" JSON_INTEGER_FORMAT, rh_num(p, "seq"));
		fputs("</td><td><code>", f);
		ctl_html_text(f, rh_member(p, "job"));
		fputs("</code></td><td>", f);
		ctl_html_text(f, rh_member(p, "record"));
		fputs("</td><td>", f);
		ctl_html_text(f, rh_member(p, "message"));
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
	if (json_array_size(ps) > PROBLEMS_SHOWN)
		fprintf(f,
		        "<p>The first %d of %zu problems are shown; <code>retentionctl audit "
		        "check</code> lists them all.</p>\n",
		        PROBLEMS_SHOWN, json_array_size(ps));
}

static void rh_check_section(FILE *f, const json_t *r, const json_t *ck, const char *why)
{
	fputs("<section id=\"check\">\n<h2>Timeliness</h2>\n", f);
	if (!ck) {
		fputs("<p id=\"check-unavailable\">The timeliness check (<code>audit.check</code>) "
		      "was not available from this daemon: ",
		      f);
		ctl_html_text(f, why ? why : "no answer");
		fputs(".</p>\n</section>\n", f);
		return;
	}
	bool ok = json_is_true(json_object_get(ck, "ok"));
	bool broken = json_is_false(json_object_get(ck, "valid"));
	fprintf(f, "<p id=\"check-verdict\">%s</p>\n",
	        ok       ? "<span class=\"ok\">No action was early, lost or missed.</span>"
	        : broken ? "<span class=\"bad\">The hash chain is broken: the log cannot prove "
	                   "what it says.</span>"
	                 : "<span class=\"bad\">Actions were early, lost or missed: see the "
	                   "problems below.</span>");
	if (rh_member(r, "category"))
		fputs("<p class=\"muted\">The check covers every category.</p>\n", f);
	fputs("<table id=\"check-figures\"><tbody>\n", f);
	static const struct {
		const char *key, *name;
		bool secs;
	} figs[] = {
	    {"entries", "Audit entries checked", false},
	    {"actions", "Actions sent", false},
	    {"undated", "Sent without a deadline in the log", false},
	    {"early", "Early (sent before their deadline)", false},
	    {"late_max", "Latest after the deadline", true},
	    {"late_p99", "Lateness, 99th percentile", true},
	    {"open", "Open (sent, no result yet)", false},
	    {"lost", "Lost (sent, then no trace)", false},
	    {"missed", "Missed (due, never sent)", false},
	    {"waiting", "Waiting on a person (held, in review, paused)", false},
	    {"unverifiable", "Not verifiable from the log alone", false},
	};
	for (size_t k = 0; k < sizeof(figs) / sizeof(figs[0]); k++)
		rh_figure(f, figs[k].key, figs[k].name, json_object_get(ck, figs[k].key),
		          figs[k].secs);
	if (broken)
		fputs("<tr><th>Hash chain</th><td class=\"bad\">broken: the check could not "
		      "rely on the log</td></tr>\n",
		      f);
	fputs("</tbody></table>\n", f);
	const json_t *ps = json_object_get(ck, "problems");
	if (json_array_size(ps))
		rh_check_problems(f, ck);
	fputs("</section>\n", f);
}

static void rh_deletion_section(FILE *f)
{
	fputs("<section id=\"deletion\">\n<h2>What deletion means here</h2>\n<dl>\n", f);
	for (const struct ctl_deletion_note *n = ctl_deletion_notes; n->topic; n++) {
		fputs("<dt>", f);
		ctl_html_text(f, n->topic);
		fputs("</dt><dd>", f);
		ctl_html_text(f, n->text);
		fputs("</dd>\n", f);
	}
	fputs("</dl>\n</section>\n", f);
}

static void rh_records_section(FILE *f, const json_t *recs, const struct rtn_zone *z)
{
	static const char *const hdr[] = {"Seq",     "Recorded", "Record", "Category", "Rule",
	                                  "Outcome", "Due",      "Sent",   "Job"};
	fprintf(f,
	        "<section id=\"records\">\n<h2>Every action (%zu)</h2>\n<table "
	        "id=\"records-table\">\n<thead><tr>",
	        json_array_size(recs));
	for (size_t k = 0; k < sizeof(hdr) / sizeof(hdr[0]); k++)
		fprintf(f, "<th%s>%s</th>", k ? "" : " class=\"n\"", hdr[k]);
	fputs("</tr></thead>\n<tbody>\n", f);
	size_t i;
	json_t *e;
	json_array_foreach(recs, i, e)
	{
		const char *o = rh_member(e, "outcome");
		fprintf(f, "<tr><td class=\"n\">%" JSON_INTEGER_FORMAT "</td><td>",
		        rh_num(e, "seq"));
		rh_when(f, z, rh_member(e, "time"));
		fputs("</td><td>", f);
		ctl_html_text(f, rh_member(e, "record"));
		fputs("</td><td>", f);
		ctl_html_text(f, rh_member(e, "category"));
		fputs("</td><td>", f);
		ctl_html_text(f, rh_member(e, "rule"));
		fputs("</td><td class=\"outcome-", f);
		ctl_html_text(f, o);
		fputs("\">", f);
		for (int k = 0; k < NOUT; k++)
			if (o && !strcmp(o, rh_outcome_keys[k]))
				o = rh_outcome_names[k];
		ctl_html_text(f, o);
		fputs("</td><td>", f);
		if (rh_member(e, "due"))
			rh_when(f, z, rh_member(e, "due"));
		fputs("</td><td>", f);
		if (rh_member(e, "sent"))
			rh_when(f, z, rh_member(e, "sent"));
		fputs("</td><td><code>", f);
		ctl_html_text(f, rh_member(e, "job"));
		fputs("</code></td></tr>\n", f);
	}
	fputs("</tbody></table>\n</section>\n", f);
}

void ctl_report_html(FILE *f, const json_t *r, const json_t *check, const char *check_error)
{
	const char *zone = rh_member(r, "timezone");
	struct rtn_zone *z = zone ? rtn_zone_open(zone) : NULL;
	char since[RTN_TIME_FMT_LEN] = "", until[RTN_TIME_FMT_LEN] = "";
	snprintf(since, sizeof(since), "%.10s", rh_member(r, "since") ? rh_member(r, "since") : "");
	snprintf(until, sizeof(until), "%.10s", rh_member(r, "until") ? rh_member(r, "until") : "");
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>Deletion report ",
	      f);
	ctl_html_text(f, since);
	fputs(" to ", f);
	ctl_html_text(f, until);
	fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", rh_css);
	rh_head_section(f, r, z);
	rh_totals_section(f, r);
	rh_chart_section(f, r);
	rh_check_section(f, r, check, check_error);
	rh_deletion_section(f);
	const json_t *recs = json_object_get(r, "records");
	if (json_is_array(recs))
		rh_records_section(f, recs, z);
	fputs("</body>\n</html>\n", f);
	rtn_zone_free(z);
}
