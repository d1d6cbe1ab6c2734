#!/usr/bin/env python3
"""Tests that bite: promises checked where they are kept, not where they are reported.

- a tombstone is empty in inventory.db itself (not only through record.get);
- a forged entry whose hash was recomputed breaks the chain at the entry after it, for
  the C verifier (retentiond --verify-audit) and the auditor's Python one;
- every command of daemon/commands.c's table, for root, admin-group, audit-group and
  a stranger: who is refused, and that a refusal changes nothing;
- the mass-deletion guard holds what it paused across a second, small reload;
- a job is committed as sent, and its job.sent entry is on disk, before the backend
  reads it.

Each was checked against a hand-made mutant of the code it guards (see the commit
messages).  Run: python3 tests/integration/test_bite.py
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from dispatch_util import (DispatchTestCase, ScriptedBackend, inventory_ro,  # noqa: E402
                           stays, with_rules)
from harness import DAEMON, REPO, SECURITY, Daemon, main, skip_or_fail  # noqa: E402
import test_audit_python  # noqa: E402
import test_auth  # noqa: E402

T_RULES = ('rule t-due { category t.doc; delete immediately after due; '
           'basis "test: deleted at its due event" }\n')
PAST = "2001-06-01T10:00:00+02:00"
DAY = 86400


def doc(rid, backend="nb", **kw):
    r = {"id": rid, "category": "t.doc", "subject": "person:" + rid, "backend": backend,
         "locator": {"path": "/srv/t/%s.pdf" % rid}, "events": {"due": PAST},
         "attributes": {"kind": "letter"}}
    r.update(kw)
    return r


def c_verify(*files):
    return subprocess.run([DAEMON, "--verify-audit"] + list(files), capture_output=True,
                          text=True, timeout=60)


# --- 1. tombstones in the storage itself -------------------------------------------------

class TombstoneStorage(DispatchTestCase):
    RULES = with_rules(T_RULES)

    def test_deleted_row_holds_no_personal_data(self):
        self.backend("nb")
        d = self.up({"nb": {}})
        ids = ["ts/%d" % i for i in range(3)]
        self.put([doc(i) for i in ids])
        self.wait_state(ids, "deleted")
        db = inventory_ro(d.state_dir)
        try:
            rows = db.execute("SELECT id, state, subject, locator, attributes, events "
                              "FROM records WHERE id IN (?, ?, ?) ORDER BY id", ids).fetchall()
        finally:
            db.close()
        self.assertEqual(len(rows), 3, rows)
        for rid, state, subject, locator, attributes, events in rows:
            self.assertEqual(state, "deleted", rid)
            self.assertIsNone(subject, "tombstone %s keeps its subject in inventory.db" % rid)
            self.assertIsNone(locator, "tombstone %s keeps its locator in inventory.db" % rid)
            self.assertIn(attributes, (None, "{}"), "tombstone %s keeps attributes" % rid)
            self.assertIn(events, (None, "{}"), "tombstone %s keeps events" % rid)


# --- 2. the re-hashed forgery --------------------------------------------------------

class RehashedForgery(DispatchTestCase):
    RULES = with_rules(T_RULES)

    def test_forged_entry_with_recomputed_hash_breaks_the_next_link(self):
        self.backend("nb")
        d = self.up({"nb": {}})
        ids = ["f%d" % i for i in range(6)]
        self.put([doc(i) for i in ids])
        self.wait_state(ids, "deleted")
        d.stop()
        with open(d.audit_log, encoding="ascii") as f:
            lines = f.read().splitlines(True)
        self.assertEqual(c_verify(d.audit_log).returncode, 0)
        self.assertTrue(test_audit_python.verify([d.audit_log])[0])
        # an entry in the middle with a string detail value, and one after it
        k = next(i for i in range(len(lines) // 2, len(lines) - 1)
                 if any(isinstance(v, str)
                        for v in (json.loads(lines[i]).get("detail") or {}).values()))
        e = json.loads(lines[k])
        key = next(n for n, v in sorted(e["detail"].items()) if isinstance(v, str))
        e["detail"][key] = e["detail"][key] + "-forged"
        del e["hash"]
        dumps = test_audit_python.dumps
        e["hash"] = hashlib.sha256((e["prev"] + dumps(e)).encode()).hexdigest()
        forged = dumps(e) + "\n"
        self.assertNotEqual(forged, lines[k])
        lines[k] = forged
        bad = os.path.join(d.dir, "forged.log")
        with open(bad, "w", encoding="ascii") as f:
            f.write("".join(lines))
        r = c_verify(bad)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 1, out)
        self.assertIn("forged.log:%d" % (k + 2), out,
                      "the C verifier must name the entry after the forgery (line %d)" % (k + 2))
        self.assertNotIn("forged.log:%d:" % (k + 1), out)
        ok, where, why = test_audit_python.verify([bad])
        self.assertFalse(ok, "the Python verifier accepted the forgery")
        self.assertEqual(where, "%s:%d" % (bad, k + 2), why)
        self.assertEqual(why, "removed, inserted or reordered")


# --- 3. the authorisation table ----------------------------------------------------------

def command_table():
    """[(name, read_only)] from daemon/commands.c's table[]: a new command is not missed."""
    with open(os.path.join(REPO, "daemon", "commands.c"), encoding="utf-8") as f:
        src = f.read()
    m = re.search(r"static const struct cmd_entry table\[\] = \{(.*?)\n\};", src, re.S)
    if not m:
        raise AssertionError("daemon/commands.c has no table[] of commands")
    rows = re.findall(r'\{\s*"([^"]+)"\s*,\s*(true|false)\s*,\s*\w+\s*\}', m.group(1))
    n = m.group(1).count("{")
    if len(rows) != n or not rows:
        raise AssertionError("cannot read %d entries of the command table: %r" % (n, rows))
    return [(name, ro == "true") for name, ro in rows]


# Arguments that make each command do its work; a command not named here gets none
# (it may answer bad_request, but never forbidden, for root and admin-group).
FUTURE = "2035-01-15T10:00:00+01:00"
ARGS = {
    "record.put": {"id": "n1", "category": "visma.user_profile", "subject": "s:9",
                   "events": {"last_activity": FUTURE}},
    "record.get": {"id": "r1"},
    "record.event": {"id": "r1", "event": "last_activity", "at": "2036-01-01T00:00:00+01:00"},
    "record.set": {"id": "r1", "attributes": {"touched": True}},
    "record.forget": {"id": "r2"},
    "explain": {"id": "r1"},
    "plan": {"until": "2045-01-01"},
    "subject.show": {"subject": "s:1"},
    "hold.place": {"id": "r1", "hold": "h2", "reason": "test"},
    "hold.release": {"id": "r1", "hold": "h1", "reason": "test"},
    "review.approve": {"id": "r1", "reason": "test"},
    "review.reject": {"id": "r1", "reason": "test"},
    "erase": {"subject": "s:1", "reason": "test"},
    "jobs.list": {"limit": 10},
    "jobs.retry": {"job": "J-0000000000000000"},
    "audit.query": {"limit": 10},
}
R1 = {"id": "r1", "category": "visma.user_profile", "subject": "s:1",
      "events": {"last_activity": FUTURE}}
R2 = {"id": "r2", "category": "visma.user_profile", "subject": "s:1",
      "events": {"last_activity": "2035-02-15T10:00:00+01:00"}}


class AuthorisationTable(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if test_auth.SKIP_REASON:
            skip_or_fail("the authorisation table: " + test_auth.SKIP_REASON, SECURITY)
        cls.groups = test_auth.Groups()
        try:
            cls.audit, cls.audit_gid = cls.groups.add("baudit")
            cls.admin, cls.admin_gid = cls.groups.add("badmin")
            cls.other, cls.other_gid = cls.groups.add("bother")
        except BaseException:
            cls.groups.remove()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.groups.remove()

    def setUp(self):
        self.table = command_table()
        self.d = Daemon(config_extra="audit-group %s\nadmin-group %s\n"
                        % (self.audit, self.admin))
        self.addCleanup(self.d.cleanup)
        self.d.ok("record.put", {"records": [R1, R2]})
        self.d.ok("hold.place", {"id": "r1", "hold": "h1", "reason": "kept for the test"})

    def request(self, name):
        q = {"cmd": name}
        if name in ARGS:
            q["args"] = ARGS[name]
        return q

    def snapshot(self):
        st = self.d.ok("status")
        db = inventory_ro(self.d.state_dir)
        try:
            tables = {t: db.execute("SELECT * FROM %s ORDER BY 1" % t).fetchall()
                      for t in ("records", "holds", "jobs")}
        finally:
            db.close()
        return {"records": st["records"], "jobs": st["jobs"], "rules": st["rules"]["hash"],
                "guard": st["guard"], "tables": tables}

    def one(self, name, **peer):
        rc, replies, err = test_auth.run_as(self.d, [self.request(name)], **peer)
        self.assertEqual(rc, 0, "%s: %s" % (name, err))
        self.assertEqual(len(replies), 1, replies)
        return replies[0]

    def assertRefusedUnchanged(self, name, reply, who):
        self.assertFalse(reply["ok"], "%s may use %s: %r" % (who, name, reply))
        self.assertEqual(reply["error"]["code"], "forbidden", "%s, %s: %r" % (who, name, reply))

    def test_every_command_for_every_peer(self):
        d = self.d
        names = [n for n, _ in self.table]
        self.assertIn("erase", names)
        self.assertIn("status", names)
        before = self.snapshot()
        # a stranger (with an unrelated group, and with none): refused everything
        for name, _ in self.table:
            for groups in ([self.other_gid], None):
                r = self.one(name, groups=groups)
                self.assertRefusedUnchanged(name, r, "a stranger")
                self.assertEqual(self.snapshot(), before, "a refused %s changed state" % name)
        # audit-group: refused exactly the commands that are not read-only
        for name, read_only in self.table:
            r = self.one(name, groups=[self.other_gid, self.audit_gid])
            if read_only:
                self.assertFalse(not r["ok"] and r["error"]["code"] == "forbidden",
                                 "audit-group refused the read-only %s: %r" % (name, r))
            else:
                self.assertRefusedUnchanged(name, r, "audit-group")
            # a command the table calls read-only must be one: it changes nothing
            self.assertEqual(self.snapshot(), before,
                             "%s (%s) by audit-group changed state"
                             % (name, "read-only" if read_only else "refused"))
        # admin-group, then root: nothing is forbidden
        for who, run in (("admin-group",
                          lambda n: self.one(n, groups=[self.admin_gid])),
                         ("root", lambda n: d.call(n, self.request(n).get("args")))):
            for name, _ in self.table:
                r = run(name)
                self.assertFalse(not r["ok"] and r["error"]["code"] == "forbidden",
                                 "%s was refused %s: %r" % (who, name, r))
                if name in ("status", "rules.list", "jobs.list", "audit.verify", "plan"):
                    self.assertTrue(r["ok"], "%s, %s: %r" % (who, name, r))
        self.assertTrue(d.ok("status"))
        d.stop()


# --- 4. the guard across a second reload -------------------------------------------------

G_LONG = ('rule g-bulk { category t.bulk; delete 1 year after created; '
          'basis "test: one year" }\n')
G_SHORT = ('rule g-bulk { category t.bulk; delete 1 day after created; '
           'basis "test: one day (the typo)" }\n')
O_LONG = ('rule g-other { category t.other; delete 1 year after created; '
          'basis "test: one year" }\n')
O_SHORT = ('rule g-other { category t.other; delete 1 day after created; '
           'basis "test: one day" }\n')


class GuardSecondReload(DispatchTestCase):
    RULES = {"g.rules": G_LONG, "o.rules": O_LONG}
    CONFIG_EXTRA = "guard 1000\n"

    def bulk(self, n, category, prefix):
        created = int(time.time()) - 30 * DAY
        ids = ["%s%05d" % (prefix, i) for i in range(n)]
        self.d.ok("record.put", {"records": [
            {"id": i, "category": category, "subject": "person:" + i, "backend": "nb",
             "events": {"created": created}} for i in ids], "quiet": True})
        return ids

    def paused_by(self):
        st = self.d.ok("status")
        return {x["rule"]: x["records"] for x in st["guard"]["rules"]}, st

    def test_small_second_reload_does_not_release_the_paused(self):
        b = self.backend("nb")
        d = self.up({"nb": {}})
        bulk = self.bulk(2000, "t.bulk", "g")
        self.bulk(10, "t.other", "o")
        d.rule_file("g.rules", G_SHORT)
        r = d.ok("rules.reload")
        self.assertEqual(r.get("paused"), 2000, r)
        by, st = self.paused_by()
        self.assertEqual(by, {"g-bulk": 2000}, st["guard"])
        # a second reload that makes only 10 more due: below the guard on its own
        d.rule_file("o.rules", O_SHORT)
        r = d.ok("rules.reload")
        self.assertTrue(r["changed"], r)
        by, st = self.paused_by()
        self.assertEqual(by.get("g-bulk"), 2000,
                         "the second reload released the first one's paused records: %r"
                         % (st["guard"],))
        self.assertGreaterEqual(st["records"].get("paused", 0), 2000, st["records"])
        self.assertEqual(d.state(bulk[0]), "paused")
        self.assertEqual(d.state(bulk[-1]), "paused")
        stays(lambda: not any(e.record.startswith("g") for e in b.log()), 2.0,
              what="none of the 2000 paused records sent")
        self.assertEqual(self.paused_by()[0].get("g-bulk"), 2000)
        bulk_jobs = d.ok("jobs.list", {"limit": 100000})["jobs"]
        self.assertEqual([j for j in bulk_jobs if j["record"].startswith("g")], [])


# --- 5. commit before send -----------------------------------------------------------

class CommitBeforeSend(DispatchTestCase):
    RULES = with_rules(T_RULES)

    def check_on_arrival(self, job):
        """The job just read from the socket is committed as sent, with its attempt, and
        its job.sent entry is already in the audit log on disk."""
        row = self.db.execute("SELECT state, attempts FROM jobs WHERE job = ?",
                              (job["job"],)).fetchone()
        self.assertIsNotNone(row, "job %s reached the backend before it was committed"
                             % job["job"])
        self.assertEqual(row[0], "sent", "job %s reached the backend in state %s"
                         % (job["job"], row[0]))
        self.assertEqual(row[1], job["attempt"], job)
        with open(self.d.audit_log, encoding="utf-8") as f:
            sent = [e for e in map(json.loads, f)
                    if e.get("type") == "job.sent" and e.get("job") == job["job"]]
        self.assertTrue(sent, "job %s reached the backend before its job.sent entry was "
                        "written" % job["job"])
        self.assertEqual((sent[-1].get("detail") or {}).get("attempt"), job["attempt"], sent)

    def read_jobs(self, sb, n):
        jobs = []
        while len(jobs) < n:
            j = sb.readline()
            self.assertEqual(j.get("type"), "job", j)
            self.check_on_arrival(j)
            jobs.append(j)
        return jobs

    def test_job_is_committed_and_audited_before_it_is_sent(self):
        sb = ScriptedBackend(self.d.dir, "nb")
        try:
            self.d.write_config("backend nb {\n    socket %s\n    retry 1 second .. 1 second\n"
                                "    max-attempts 5\n}\n" % sb.socket)
            self.d.start()
            sb.accept(timeout=20).hello()
            # opened before any job goes out, so that a look costs no more than a query
            self.db = inventory_ro(self.d.state_dir)
            self.addCleanup(self.db.close)
            ids = ["cb%02d" % i for i in range(20)]
            self.put([doc(i) for i in ids])
            jobs = self.read_jobs(sb, 20)
            self.assertEqual(sorted(j["record"]["id"] for j in jobs), ids)
            self.assertTrue(all(j["attempt"] == 1 for j in jobs), jobs)
            # half fail (to be retried), half are done
            for i, j in enumerate(jobs):
                if i % 2:
                    sb.send({"type": "result", "job": j["job"], "status": "done"})
                else:
                    sb.send({"type": "result", "job": j["job"], "status": "failed",
                             "error": "try later", "retry": True})
            again = self.read_jobs(sb, 10)
            self.assertEqual(sorted(j["job"] for j in again),
                             sorted(j["job"] for i, j in enumerate(jobs) if i % 2 == 0))
            self.assertTrue(all(j["attempt"] == 2 for j in again), again)
            for j in again:
                sb.send({"type": "result", "job": j["job"], "status": "done"})
            self.wait_state(ids, "deleted")
        finally:
            sb.close()


if __name__ == "__main__":
    main()
