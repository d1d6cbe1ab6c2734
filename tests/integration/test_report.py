#!/usr/bin/env python3
"""Integration tests of the report (`report`, `retentionctl report`): a real daemon
deletes real files through retention-fs (some answered "gone": nothing at the locator,
one refused for good), an erasure request retains records a rule keeps; then the report
in JSON, CSV and HTML is held against the audit log, and the HTML page is laid out by a
real headless browser (Debian's chromium): its chart has a size and its totals are the
JSON report's.
Run: python3 tests/integration/test_report.py
"""

import csv
import hashlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from backend_harness import RETENTION_FS, Backend, Workdir  # noqa: E402
from dispatch_util import DispatchTestCase, with_rules  # noqa: E402
from harness import REPO, main, parse_time, skip_or_fail, wait_for  # noqa: E402

CTL = os.path.join(REPO, "build", "asan", "retentionctl")
BROWSER = "browser"  # a test kind: skips (visibly) without a browser, also under CI
BROWSER_TIMEOUT = 60
PAST = "2001-06-01T10:00:00+02:00"
EVIL = "<script>alert(1)</script> & 'x'"
RULES = ('rule rp-del { category rp.doc; delete immediately after due; '
         'basis "test: deleted, <b>bold</b> & done" }\n'
         'rule rp-typo { category rp.typo; delete immediately after due; basis "test: typo" }\n'
         'rule rp-keep { category rp.kept; keep forever; basis "test: kept by law" }\n')
OUTCOMES = ("deleted", "anonymized", "not_found", "failed", "retained", "left", "reappeared")
CHECK_COUNTS = ("entries", "actions", "undated", "early", "open", "lost", "missed", "waiting",
                "unverifiable")
WIDE = ["--since", "2000-01-01", "--until", "2100-01-01"]


def entries(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def outcome(e):
    """What the report must call the action an entry records (None: not an action)."""
    if e["type"] == "job.dead":
        return "failed"
    if e["type"] == "erase.retained":
        return "retained"
    if e["type"] in ("record.left", "record.reappeared"):
        return e["type"][7:]
    if e["type"] != "job.done":
        return None
    d = e.get("detail", {})
    if "outcome" in d:
        return d["outcome"]
    if d.get("status") == "gone":
        return "not_found"
    return "anonymized" if d.get("action") == "anonymize" else "deleted"


def write_log(path, items):
    """A valid audit log of items (entries without seq, prev and hash), as lib/audit writes
    it (doc/audit-format.md)."""
    prev = "0" * 64
    with open(path, "w", encoding="ascii") as f:
        for seq, e in enumerate(items, 1):
            e = dict(e, seq=seq, prev=prev, actor=e.get("actor", "scheduler"))
            form = json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
            e["hash"] = prev = hashlib.sha256((e["prev"] + form).encode()).hexdigest()
            f.write(json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
                    + "\n")


def done(t, rid, rule, outcome=None, status="done", action="delete", **detail):
    """A job.done entry: with outcome as the entries of today are, else as older logs."""
    d = dict(detail, action=action, backend="nb", status=status)
    if outcome:
        d["outcome"] = outcome
    return {"type": "job.done", "time": t, "record": rid, "category": "old.doc",
            "rule": rule, "basis": "test: old", "job": "J-" + rid, "detail": d}


class OlderDaemon:
    """A control socket that answers report with a given result and any other command as
    a daemon that does not know it."""

    def __init__(self, path, report):
        self.path, self.report, self.seen = path, report, []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.sock.settimeout(30)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn, conn.makefile("rwb") as f:
            for line in f:
                req = json.loads(line)
                self.seen.append(req["cmd"])
                if req["cmd"] == "report":
                    rep = {"id": req["id"], "ok": True, "protocol": 1, "result": self.report}
                else:
                    rep = {"id": req["id"], "ok": False, "protocol": 1,
                           "error": {"code": "bad_request",
                                     "message": 'unknown command "%s"' % req["cmd"]}}
                f.write(json.dumps(rep).encode() + b"\n")
                f.flush()

    def cmds(self):
        self.thread.join(30)
        return self.seen

    def close(self):
        self.sock.close()


class OldLog(DispatchTestCase):
    """A log written before the report's fields, and one with them: the daemon started on
    it reports from both."""

    def test_outcome_and_older_status(self):
        t = "2020-%02d-%02dT10:00:00+01:00"
        items = [{"type": "daemon.start", "actor": "daemon", "time": t % (1, 2)},
                 done(t % (1, 15), "o1", "old-r", status="gone"),
                 done(t % (2, 3), "o2", "old-r", "not_found", status="gone",
                      due=t % (2, 1), sent=t % (2, 2)),
                 done(t % (2, 4), "o3", "old-r", "anonymized", action="anonymize"),
                 done(t % (3, 1), "o4", "old-r"),
                 done(t % (3, 2), "o5", "old-r", "not_found", status="gone"),
                 done(t % (3, 3), "o6", "old-r", "not_found", status="gone"),
                 done(t % (3, 4), "o7", "few-r", "not_found", status="gone"),
                 done("2021-01-05T10:00:00+01:00", "o8", "old-r", "deleted")]
        write_log(self.d.audit_log, items)
        self.d.start()
        log = entries(self.d.audit_log)
        # the daemon took the log and wrote on after it
        self.assertEqual([e["seq"] for e in log[:len(items)]], list(range(1, len(items) + 1)))
        self.assertGreater(len(log), len(items))
        rep = self.d.ok("report", {"since": "2020-01-01", "until": "2021-01-01",
                                   "records": True})
        old = [r for r in rep["rows"] if r["rule"] == "old-r"][0]
        self.assertEqual([old[o] for o in OUTCOMES], [1, 1, 4, 0, 0, 0, 0], old)
        self.assertEqual(old["flag"], "mostly not found: check the locators")
        few = [r for r in rep["rows"] if r["rule"] == "few-r"][0]
        self.assertEqual(few["not_found"], 1)
        self.assertNotIn("flag", few)  # one of one is not yet "mostly"
        self.assertEqual(rep["head"]["seq"], 8)
        self.assertEqual(rep["head"]["hash"], log[7]["hash"])
        self.assertEqual([(m["month"], m["rule"], sum(m[o] for o in OUTCOMES))
                          for m in rep["months"]],
                         [("2020-01", "old-r", 1), ("2020-02", "old-r", 2),
                          ("2020-03", "few-r", 1), ("2020-03", "old-r", 3)])
        by = {r["record"]: r for r in rep["records"]}
        self.assertEqual((by["o2"]["due"], by["o2"]["sent"]), (t % (2, 1), t % (2, 2)))
        self.assertNotIn("due", by["o1"])
        self.assertEqual([by[k]["outcome"] for k in ("o1", "o3", "o4")],
                         ["not_found", "anonymized", "deleted"])
        self.assertTrue(rep["verify"]["valid"], rep["verify"])
        self.assertEqual(rep["entries"], 8)


class Report(DispatchTestCase):
    RULES = with_rules(RULES)

    def setUp(self):
        super().setUp()
        self.wd = Workdir()
        self.addCleanup(self.wd.cleanup)
        self.root = self.wd("root")
        os.makedirs(self.root)
        self.fs = Backend(self.wd, [RETENTION_FS], "socket fs.sock\nroot %s\n" % self.root,
                          name="fs")
        self.addCleanup(self.fs.stop)
        self.fs.start()
        self.d.write_config("backend fs { socket %s\n timeout 10 seconds\n"
                            " max-attempts 1 }\n" % self.fs.socket)
        self.d.start()

    def rec(self, rid, category, path, subject=None):
        return {"id": rid, "category": category, "subject": subject or "person:" + rid,
                "backend": "fs", "locator": {"path": path}, "events": {"due": PAST}}

    def file(self, name):
        p = os.path.join(self.root, name)
        with open(p, "w") as f:
            f.write("personal data\n")
        return p

    def act(self):
        """5 files deleted and 1 refused for rp-del; 4 of 5 locators of rp-typo name
        nothing (gone); 2 records kept by rp-keep retained by an erasure request."""
        recs = [self.rec("doc-%d" % i, "rp.doc", self.file("doc-%d" % i)) for i in range(5)]
        recs.append(self.rec("doc-out", "rp.doc", self.wd("outside", "x")))
        recs.append(self.rec("typo-ok", "rp.typo", self.file("typo-ok")))
        recs += [self.rec("typo-%d" % i, "rp.typo", os.path.join(self.root, "no", str(i)))
                 for i in range(4)]
        recs += [self.rec(EVIL + str(i), "rp.kept", self.file("kept-%d" % i), "person:erase")
                 for i in range(2)]
        self.put(recs)
        done = ["doc-%d" % i for i in range(5)] + ["typo-ok"] + ["typo-%d" % i
                                                               for i in range(4)]
        self.wait_state(done, "deleted")
        self.wait_state(["doc-out"], "failed")
        # the erasure a second later than every deletion: a period can end between them
        t0 = int(time.time())
        wait_for(lambda: int(time.time()) > t0, 3, what="the next second")
        self.d.ok("erase", {"subject": "person:erase", "reason": "by letter"})
        self.assertEqual([n for n in os.listdir(self.root) if n.startswith("doc")], [])

    def ctl(self, *args, ok=True):
        if not os.access(CTL, os.X_OK):
            raise AssertionError("%s is missing: run `make asan`" % CTL)
        p = subprocess.run([CTL, "-s", self.d.socket_path] + list(args), capture_output=True,
                           text=True, timeout=60)
        if ok and p.returncode != 0:
            raise AssertionError("retentionctl %s: exit %d\n%s%s"
                                 % (" ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    def report(self, *extra):
        return json.loads(self.ctl("report", *WIDE, "--format", "json", *extra).stdout)

    def row(self, rep, rule):
        [r] = [r for r in rep["rows"] if r["rule"] == rule]
        return r

    # --- the JSON reply ---------------------------------------------------------------

    def test_counts_head_and_verify(self):
        self.act()
        rep = self.report()
        log = entries(self.d.audit_log)
        self.assertEqual(rep["files"], [self.d.audit_log])
        self.assertEqual(rep["timezone"], "Europe/Oslo")
        d, t, k = self.row(rep, "rp-del"), self.row(rep, "rp-typo"), self.row(rep, "rp-keep")
        self.assertEqual([d[o] for o in OUTCOMES], [5, 0, 0, 1, 0, 0, 0], d)
        self.assertEqual([t[o] for o in OUTCOMES], [1, 0, 4, 0, 0, 0, 0], t)
        self.assertEqual([k[o] for o in OUTCOMES], [0, 0, 0, 0, 2, 0, 0], k)
        self.assertEqual(d["basis"], "test: deleted, <b>bold</b> & done")
        # 4 of 5 found nothing: a typo in the locators, flagged; 0 of 5 is not
        self.assertEqual(t["flag"], "mostly not found: check the locators")
        self.assertNotIn("flag", d)
        # the totals are the log's, outcome by outcome
        want = {o: sum(1 for e in log if outcome(e) == o) for o in OUTCOMES}
        self.assertEqual(rep["totals"], want)
        self.assertEqual(want["not_found"], 4)
        # and the inventory's tombstones, the found and the not found apart
        self.assertEqual((rep["inventory"]["deleted"], rep["inventory"]["not_found"]),
                         (rep["totals"]["deleted"], rep["totals"]["not_found"]))
        self.assertEqual(self.d.get("typo-0")["deleted"].get("outcome"), "not_found")
        # the head is an entry of the log, the last one written before the report
        h = rep["head"]
        [e] = [e for e in log if e["seq"] == h["seq"]]
        self.assertEqual((h["hash"], h["time"]), (e["hash"], e["time"]))
        self.assertGreaterEqual(h["seq"], max(e["seq"] for e in log if outcome(e)))
        self.assertTrue(rep["verify"]["valid"], rep["verify"])
        self.assertEqual(rep["verify"]["head"], log[-1]["hash"])
        # a period that ends with the erasure: the deletions, not what it retained, and
        # the head of that moment
        until = min(e["time"] for e in log if e["type"] == "erase.retained")
        early = json.loads(self.ctl("report", "--since", "2000-01-01", "--until", until,
                                    "--json").stdout)
        before = [e for e in log if parse_time(e["time"]) < parse_time(until)]
        self.assertEqual(early["head"], {"seq": before[-1]["seq"], "hash": before[-1]["hash"],
                                         "time": before[-1]["time"]})
        self.assertEqual(early["totals"], dict(want, retained=0))
        self.assertTrue(early["verify"]["valid"], early["verify"])
        # before the first entry: no head
        first = json.loads(self.ctl("report", "--since", "2000-01-01", "--until",
                                    log[0]["time"], "--json").stdout)
        self.assertIsNone(first["head"])
        self.assertEqual(first["rows"], [])
        self.assertEqual((first["files"], first["verify"]),
                         ([], {"valid": True, "entries": 0, "files": 0}))
        self.assertNotIn("records", rep)
        # a category: only its rows
        one = self.report("--category", "rp.typo")
        self.assertEqual([r["rule"] for r in one["rows"]], ["rp-typo"])
        self.assertEqual(one["totals"]["not_found"], 4)

    def test_tampered_log(self):
        """An entry altered behind the daemon's back: the report is still written, says
        where the chain breaks, and retentionctl exits 1."""
        self.d.skip_invariant("chain", "the test alters an entry of the log")
        self.act()
        with open(self.d.audit_log, "r+b") as f:
            text = f.read()
            at = text.index(b'"record":"doc-0"')
            f.seek(at)
            f.write(b'"record":"dOc-0"')  # the same length: only the hash tells
        bad = [i + 1 for i, ln in enumerate(text.splitlines()) if b'"record":"doc-0"' in ln][0]
        path = os.path.join(self.d.dir, "bad.html")
        p = self.ctl("report", *WIDE, "--format", "html", "--output", path, ok=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("does not verify", p.stderr)
        with open(path, encoding="utf-8") as f:
            page = f.read()
        self.assertIn("NOT valid", page)
        self.assertIn("%s line %d: " % (self.d.audit_log, bad), page)
        rep = json.loads(self.ctl("report", *WIDE, "--json", ok=False).stdout)
        self.assertFalse(rep["verify"]["valid"])
        self.assertEqual(rep["verify"]["first_bad"]["line"], bad)
        p = self.ctl("report", *WIDE, ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("NOT valid", p.stdout)

    def test_rotated_log(self):
        """After a rotation the report reads the rotated file and the current one, in
        order, and verifies them as one chain; a period after the rotation needs only the
        current file."""
        self.act()
        before = entries(self.d.audit_log)
        t0 = int(time.time())  # the new file starts in a second the old one has none of
        wait_for(lambda: int(time.time()) > t0, 3, what="the next second")
        self.d.proc.send_signal(signal.SIGUSR1)
        rotated = lambda: [f for f in os.listdir(self.d.dir)
                           if re.fullmatch(r"audit\.log\.\d{8}T\d{6}", f)]

        def done():
            log = entries(self.d.audit_log) if rotated() else []
            return bool(log) and log[0]["type"] == "audit.rotated"
        wait_for(done, 10, what="the rotation")
        old = os.path.join(self.d.dir, rotated()[0])
        self.put([self.rec("late", "rp.doc", self.file("late"))])
        self.wait_state(["late"], "deleted")
        rep = self.report("--records")
        self.assertEqual(rep["files"], [old, self.d.audit_log])
        self.assertEqual(self.row(rep, "rp-del")["deleted"], 6)
        self.assertEqual([r["record"] for r in rep["records"]][-1], "late")
        self.assertTrue(rep["verify"]["valid"], rep["verify"])
        self.assertEqual(rep["verify"]["entries"], len(before) + len(entries(self.d.audit_log)))
        now = entries(self.d.audit_log)
        self.assertGreater(parse_time(now[0]["time"]), parse_time(before[-1]["time"]))
        later = json.loads(self.ctl("report", "--since", now[0]["time"], "--until",
                                    "2100-01-01", "--json").stdout)
        self.assertEqual(later["files"], [self.d.audit_log])
        self.assertEqual(later["totals"]["deleted"], 1)
        self.assertTrue(later["verify"]["valid"], later["verify"])

    def test_records_are_the_actions_of_the_log(self):
        self.act()
        rep = self.report("--records")
        log = entries(self.d.audit_log)
        acts = [e for e in log if outcome(e)]
        got = [(r["seq"], r["record"], r["rule"], r["outcome"], r.get("job"))
               for r in rep["records"]]
        self.assertEqual(got, [(e["seq"], e["record"], e["rule"], outcome(e), e.get("job"))
                               for e in acts])
        by_id = {r["record"]: r for r in rep["records"]}
        self.assertEqual(by_id["typo-0"]["outcome"], "not_found")
        self.assertEqual(by_id["doc-0"]["outcome"], "deleted")
        self.assertEqual(by_id["doc-out"]["outcome"], "failed")
        self.assertEqual(by_id[EVIL + "0"]["outcome"], "retained")
        for r in rep["records"]:
            e = [e for e in acts if e["seq"] == r["seq"]][0]
            self.assertEqual((r["category"], r.get("basis"), r["time"]),
                             (e["category"], e.get("basis"), e["time"]))
            for k in ("due", "sent"):  # from entries that carry them; left out otherwise
                self.assertEqual((k in r, r.get(k)), (k in e.get("detail", {}),
                                                      e.get("detail", {}).get(k)), r)
        # the table shows not found apart from deleted
        out = self.ctl("report", *WIDE, "--records").stdout
        self.assertRegex(out, r"typo-0 .*not_found")
        self.assertIn("warning: rule rp-typo: mostly not found: check the locators", out)

    def test_bad_arguments_change_nothing(self):
        p = self.ctl("report", *WIDE, "--format", "pdf", ok=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("not table, csv, json or html", p.stderr)
        p = self.ctl("report", "--since", "2001-01-01", "--until", "2000-01-01", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("until", p.stderr)
        e = self.d.err("report", {"since": "2000-01-01", "until": "2100-01-01",
                                  "records": "yes"}, "bad_request")
        self.assertIn("records", e["message"])

    # --- CSV --------------------------------------------------------------------------

    def test_csv_rows_and_records(self):
        self.act()
        rep = self.report("--records")
        out = self.ctl("report", *WIDE, "--format", "csv").stdout
        self.assertEqual(out.count("rule,category"), 1, out)
        rows = list(csv.DictReader(io.StringIO(out, newline="")))
        self.assertEqual(len(rows), len(rep["rows"]))
        for r, j in zip(rows, rep["rows"]):
            self.assertEqual((r["rule"], r["category"], r["basis"]),
                             (j["rule"], j["category"], j["basis"]))
            self.assertEqual([int(r[o]) for o in OUTCOMES], [j[o] for o in OUTCOMES])
            self.assertEqual(r["flag"], j.get("flag", ""))
        path = os.path.join(self.d.dir, "records.csv")
        self.ctl("report", *WIDE, "--records", "--format", "csv", "--output", path)
        with open(path, newline="", encoding="utf-8") as f:
            recs = list(csv.DictReader(f))
        self.assertEqual([(int(r["seq"]), r["record"], r["outcome"]) for r in recs],
                         [(j["seq"], j["record"], j["outcome"]) for j in rep["records"]])
        self.assertIn(EVIL + "1", [r["record"] for r in recs])  # quoting kept it whole
        self.assertEqual(sum(1 for r in recs if r["outcome"] == "not_found"), 4)

    # --- what deletion means here ----------------------------------------------------

    def test_what_deletion_means(self):
        """Every format but CSV (a table of rows for a spreadsheet) states what a deletion
        does and does not prove, with the same lines."""
        self.act()
        notes = self.report()["deletion_means"]
        topics = [n["topic"] for n in notes]
        self.assertEqual(topics, ["deleted", "retention-fs", "retention-sqlite",
                                  "retention-postgres", "other backends", "not covered",
                                  "audit log"])
        text = {n["topic"]: n["text"] for n in notes}
        for topic, words in (("retention-fs", ("unlinked", "not erased", "overwrite")),
                             ("retention-sqlite", ("secure_delete", "WAL")),
                             ("retention-postgres", ("dead tuples", "VACUUM")),
                             ("not covered", ("backups", "snapshots", "exports")),
                             ("audit log", ("pseudonyms", "HMAC-SHA-256", "reasons"))):
            for w in words:
                self.assertIn(w, text[topic])
        # the table: the section after the totals, one line a topic
        out = self.ctl("report", *WIDE).stdout
        head, _, section = out.partition("\nwhat deletion means here:\n")
        self.assertIn("total: ", head)
        self.assertEqual(section.splitlines(), ["  %s: %s" % (n["topic"], n["text"])
                                                for n in notes])
        # with --records the actions follow it
        out = self.ctl("report", *WIDE, "--records").stdout
        self.assertLess(out.index("what deletion means here:"), out.index("records ("))
        # the page: its own section, every line escaped as text
        path = os.path.join(self.d.dir, "notes.html")
        self.ctl("report", *WIDE, "--format", "html", "--output", path)
        with open(path, encoding="utf-8") as f:
            page = f.read()
        m = re.search(r'<section id="deletion">\n<h2>What deletion means here</h2>\n<dl>\n'
                      r'(.*?)</dl>\n</section>', page, re.S)
        self.assertIsNotNone(m, page)
        esc = lambda t: t.replace("&", "&amp;").replace("'", "&#39;")  # noqa: E731
        self.assertEqual(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", m.group(1)),
                         [(esc(n["topic"]), esc(n["text"])) for n in notes])
        # CSV stays a table of the rows, every line of it a row
        out = self.ctl("report", *WIDE, "--format", "csv").stdout
        self.assertNotIn("secure_delete", out)
        self.assertEqual(len(out.splitlines()), 1 + len(self.report()["rows"]))

    # --- HTML in a real browser -------------------------------------------------------

    def browser(self):
        for name in ("chromium", "chromium-browser"):
            p = shutil.which(name)
            if p:
                return p
        skip_or_fail("chromium is not installed (scripts/deps.sh installs it)", BROWSER)

    def chromium(self, tmp, *args):
        """Run headless chromium with a profile in tmp: (stdout, stderr, exit status); on a
        timeout its process is killed (by its pid) and the test fails."""
        argv = [self.browser(), "--headless", "--no-sandbox", "--disable-gpu",
                "--user-data-dir=" + os.path.join(tmp, "profile"), "--no-first-run",
                "--window-size=1200,900"] + list(args)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            out, err = p.communicate(timeout=BROWSER_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise AssertionError("chromium did not finish within %d s" % BROWSER_TIMEOUT)
        return out, err, p.returncode

    def lay_out(self, page):
        """Open a copy of page with a measuring script appended in headless chromium; the
        script's findings, as JSON."""
        probe = ("<script>(function(){var s=document.querySelector('#chart svg');"
                 "var b=s?s.getBoundingClientRect():{width:0,height:0};var t={};"
                 "document.querySelectorAll('#totals-row td[data-outcome]').forEach("
                 "function(c){t[c.dataset.outcome]=c.textContent;});"
                 "var v=function(q){var e=document.querySelector(q);"
                 "return e?e.textContent:null;};"
                 "var o=document.createElement('pre');o.id='rtn-measure';"
                 "o.textContent=JSON.stringify({w:b.width,h:b.height,totals:t,"
                 "rects:s?s.querySelectorAll('rect').length:0,title:document.title,"
                 "unavailable:v('#check-unavailable'),verdict:v('#check-verdict'),"
                 "check:(function(){var c={};document.querySelectorAll("
                 "'#check-figures td[id^=check-]').forEach(function(e){"
                 "c[e.id.slice(6)]=e.textContent;});return c;})(),"
                 "basis:v('#totals-table tbody tr td:last-child')});"
                 "document.body.appendChild(o);})();</script>")
        tmp = tempfile.mkdtemp(prefix="rtn-chromium-")
        self.addCleanup(shutil.rmtree, tmp, True)
        copy = os.path.join(tmp, "page.html")
        with open(copy, "w", encoding="utf-8") as f:
            f.write(page.replace("</body>", probe + "</body>"))
        out, err, rc = self.chromium(tmp, "--dump-dom", "file://" + copy)
        m = re.search(rb'<pre id="rtn-measure">(.*?)</pre>', out, re.S)
        if not m:
            raise AssertionError("chromium (exit %d) laid out no measure:\n%s"
                                 % (rc, err.decode("utf-8", "replace")[-3000:]))
        text = m.group(1).decode("utf-8").replace("&quot;", '"').replace("&lt;", "<") \
            .replace("&gt;", ">").replace("&amp;", "&")
        return json.loads(text)

    def test_html_page_in_a_browser(self):
        self.act()
        rep = self.report()
        path = os.path.join(self.d.dir, "report.html")
        self.ctl("report", *WIDE, "--format", "html", "--output", path)
        with open(path, encoding="utf-8") as f:
            page = f.read()
        # self-contained: no script, nothing fetched from anywhere
        self.assertNotIn("<script", page.lower())
        for ref in ("src=", "href=", "url(", "@import", "http:", "https:", "//"):
            self.assertNotIn(ref, page.lower().replace("<!--", ""), "external: " + ref)
        self.assertEqual(page.count("<html"), 1)
        self.assertIn("@media print", page)
        # every string from the log escaped
        self.assertIn("test: deleted, &lt;b&gt;bold&lt;/b&gt; &amp; done", page)
        self.assertNotIn("<b>bold</b>", page)
        self.assertIn(self.d.audit_log, page)
        self.assertIn(rep["head"]["hash"], page)
        self.assertIn("valid", page)
        check = self.d.ok("audit.check", {"since": "2000-01-01", "until": "2100-01-01"})
        m = self.lay_out(page)
        self.assertGreater(m["w"], 100, m)
        self.assertGreater(m["h"], 100, m)
        self.assertGreater(m["rects"], 0, m)
        self.assertEqual({k: int(v.replace(",", "")) for k, v in m["totals"].items()},
                         rep["totals"])
        self.assertIn("2000-01-01", m["title"])
        self.assertIn("test: deleted, <b>bold</b> & done", m["basis"])  # shown as text
        # the timeliness figures are audit.check's over the same period
        self.assertIsNone(m["unavailable"], m)
        self.assertEqual({k: int(m["check"][k].replace(",", "")) for k in CHECK_COUNTS},
                         {k: check[k] for k in CHECK_COUNTS})
        self.assertEqual(check["actions"], 11)  # every job sent: 10 done, 1 dead
        self.assertEqual((check["early"], check["lost"], check["missed"]), (0, 0, 0))
        self.assertIn("No action was early, lost or missed", m["verdict"])

    def test_unavailable_check(self):
        """A daemon that does not know audit.check (one of an older version, played here
        by the test on a socket of its own, answering with the real daemon's report) gets
        a page that says the check was not available; the report itself is whole."""
        self.act()
        rep = self.report()
        old = OlderDaemon(os.path.join(self.wd.path, "old.sock"), rep)
        self.addCleanup(old.close)
        p = subprocess.run([CTL, "-s", old.path, "report", *WIDE, "--format", "html"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(old.cmds(), ["report", "audit.check"])
        self.assertIn('<p id="check-unavailable">', p.stdout)
        self.assertIn("was not available from this daemon: bad_request: unknown command", p.stdout)
        self.assertNotIn('id="check-figures"', p.stdout)
        self.assertIn('id="chart-svg"', p.stdout)

    def test_html_records(self):
        """With --records the page lists every action, not found apart from deleted; an
        empty period has no chart."""
        self.act()
        path = os.path.join(self.d.dir, "r.html")
        self.ctl("report", *WIDE, "--records", "--format", "html", "--output", path)
        with open(path, encoding="utf-8") as f:
            page = f.read()
        self.assertIn('id="records-table"', page)
        self.assertEqual(page.count('class="outcome-not_found"'), 4)
        self.assertEqual(page.count('class="outcome-deleted"'), 6)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#39;x&#39;", page)
        # it prints: a PDF of at least one page
        tmp = tempfile.mkdtemp(prefix="rtn-chromium-")
        self.addCleanup(shutil.rmtree, tmp, True)
        pdf = os.path.join(tmp, "r.pdf")
        _, err, rc = self.chromium(tmp, "--no-pdf-header-footer", "--print-to-pdf=" + pdf,
                                   "file://" + path)
        self.assertTrue(os.path.exists(pdf), "no PDF (exit %d): %s" % (rc, err[-2000:]))
        with open(pdf, "rb") as f:
            data = f.read()
        self.assertTrue(data.startswith(b"%PDF-"), data[:20])
        self.assertGreaterEqual(len(re.findall(rb"/Type\s*/Page[^s]", data)), 1)
        empty = self.ctl("report", "--since", "2000-01-01", "--until", "2000-02-01",
                         "--format", "html").stdout
        self.assertIn("No actions in the period", empty)
        self.assertNotIn("<svg", empty)


if __name__ == "__main__":
    main()
