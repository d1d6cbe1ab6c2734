#!/usr/bin/env python3
"""Integration tests of the control protocol (doc/control-protocol.md, SPEC §4-5).

Each test starts the real daemon (build/asan/retentiond) with the repository's
rules in a temporary directory, talks to it over its unix socket, and stops it
with SIGTERM (exit 0, no sanitizer report).  Run: python3 tests/integration/test_control.py
"""

import json
import os
import re
import signal
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (REPO, STATES, Conn, DaemonTestCase, default_rules, main,  # noqa: E402
                     parse_time, wait_for)

MIB = 1 << 20

# Deadlines far in the future (the record stays "active") and far in the past (due).
FUTURE = "2035-01-15T10:00:00+01:00"


def visma(rid, last_activity=FUTURE, **kw):
    r = {"id": rid, "category": "visma.user_profile", "events": {"last_activity": last_activity}}
    r.update(kw)
    return r


def job_application(rid, received="2035-06-01T10:00:00+02:00", hired=None, **kw):
    r = {"id": rid, "category": "framsikt.job_application", "events": {"received": received}}
    if hired is not None:
        r["attributes"] = {"hired": hired}
    r.update(kw)
    return r


def rule_line(name):
    """(file name, line) of `rule NAME` in the repository's rules/."""
    for fn, text in default_rules().items():
        for i, line in enumerate(text.splitlines(), 1):
            if re.match(r"\s*rule\s+%s\b" % re.escape(name), line):
                return fn, i
    raise KeyError(name)


def rule_basis(name):
    fn, line = rule_line(name)
    text = default_rules()[fn].splitlines()[line - 1:]
    for ln in text:
        m = re.search(r'basis\s+"((?:[^"\\]|\\.)*)"', ln)
        if m:
            return m.group(1)
    return None


def count_repo_rules():
    return sum(len(re.findall(r"(?m)^\s*rule\s+[a-z]", t)) for t in default_rules().values())


# --- status ------------------------------------------------------------------------------

class Status(DaemonTestCase):

    def test_status_shape(self):
        s = self.d.ok("status")
        self.assertIsInstance(s["version"], str)
        self.assertTrue(s["version"])
        self.assertIsInstance(s["uptime"], int)
        self.assertGreaterEqual(s["uptime"], 0)
        now = self.assertTime(s["time"])
        self.assertLess(abs(now - time.time()), 60)
        self.assertEqual(s["timezone"], "Europe/Oslo")
        self.assertEqual(s["records"].get("total"), 0)
        self.assertEqual(s["unmanaged"], [])
        self.assertIsNone(s["next_deadline"])
        self.assertIsInstance(s["jobs"], dict)
        self.assertIsInstance(s["backends"], list)
        self.assertEqual(s["rules"]["count"], count_repo_rules())
        self.assertRegex(s["rules"]["hash"], r"^[0-9a-f]{64}$")
        self.assertTime(s["rules"]["loaded"])
        self.assertEqual(s["rules"]["hash"], self.d.ok("rules.list")["hash"])

    def test_status_counts(self):
        d = self.d
        d.ok("record.put", {"records": [
            visma("s1"), visma("s2", last_activity="2035-02-01T00:00:00+01:00"),
            job_application("s3", received="2000-01-01T00:00:00+01:00"),
            {"id": "s4", "category": "nobody.knows"}, {"id": "s5", "category": "nobody.knows"},
            {"id": "s6", "category": "other.unknown"}]})
        s = d.ok("status")
        rec = s["records"]
        self.assertEqual(rec["total"], 6)
        self.assertEqual(rec.get("active"), 2)
        self.assertEqual(rec.get("queued"), 1)
        self.assertEqual(rec.get("unmanaged"), 3)
        self.assertEqual(sum(v for k, v in rec.items() if k != "total"), 6)
        self.assertEqual(sorted((u["category"], u["records"]) for u in s["unmanaged"]),
                         [("nobody.knows", 2), ("other.unknown", 1)])
        # the next deadline is the earliest one still ahead
        nd = s["next_deadline"]
        self.assertEqual(nd["record"], "s1")
        self.assertTime(nd["at"], "2038-01-15T10:00:00+01:00")

    def test_status_documented_fields(self):
        """doc/control-protocol.md: status has audit, guard, next_deadline.action/rule,
        jobs with every state, backends with inflight/done/failed; each with the value
        this daemon must show after one record was put."""
        d = self.d
        d.ok("record.put", visma("n1"))
        s = d.ok("status")
        with open(os.path.join(REPO, "Makefile"), encoding="utf-8") as f:
            version = re.search(r"(?m)^VERSION\s*:=\s*(\S+)", f.read()).group(1)
        self.assertEqual(s["version"], version)
        self.assertEqual(s["timezone"], "Europe/Oslo")
        self.assertEqual(s["records"], {"total": 1, "active": 1})
        self.assertEqual(s["unmanaged"], [])
        self.assertEqual(s["next_deadline"]["record"], "n1")
        self.assertEqual(s["next_deadline"]["action"], "delete")
        self.assertEqual(s["next_deadline"]["rule"], "visma-user-profiles")
        self.assertTime(s["next_deadline"]["at"], "2038-01-15T10:00:00+01:00")
        self.assertEqual(s["jobs"], {"sent": 0, "retry": 0, "done": 0, "dead": 0,
                                     "cancelled": 0})
        self.assertEqual([(b["name"], b["connected"], b["inflight"], b["done"], b["failed"])
                          for b in s["backends"]], [("off", False, 0, 0, 0)])
        rl = d.ok("rules.list")
        self.assertEqual((s["rules"]["count"], s["rules"]["hash"]), (rl["count"], rl["hash"]))
        self.assertEqual(s["rules"]["count"], len(rl["rules"]))
        self.assertEqual(s["guard"], {"paused": 0, "rules": []})
        log = [json.loads(ln) for ln in open(d.audit_log, encoding="utf-8") if ln.strip()]
        self.assertEqual(s["audit"]["entries"], len(log))
        self.assertEqual(s["audit"]["head"], log[-1]["hash"])
        self.assertEqual(log[-1]["type"], "record.put")
        self.assertIs(s["audit"]["ok"], True)

    def test_status_rejects_arguments(self):
        self.d.err("status", {"verbose": True}, "bad_request")


class StatusBackends(DaemonTestCase):
    CONFIG_EXTRA = ("backend hr-files {\n    socket hr-files.sock\n    max-inflight 4\n}\n")

    def test_status_backends(self):
        """Each configured backend: {"name", "connected", "inflight", "done", "failed"}."""
        s = self.d.ok("status")
        # "off" is the harness's own offline backend (harness.OFFLINE_BACKEND)
        self.assertEqual([b.get("name") for b in s["backends"]], ["off", "hr-files"])
        b = s["backends"][1]
        self.assertIs(b.get("connected"), False)  # nothing listens on its socket
        self.assertEqual((b["inflight"], b["done"], b["failed"]), (0, 0, 0), b)
        self.assertEqual(b["state"], "down", b)



# --- record.put ----------------------------------------------------------------------------

class RecordPut(DaemonTestCase):

    def test_put_single_insert_then_update(self):
        d = self.d
        rec = visma("p1", subject="person:7f3a", backend="hr-files",
                    locator={"path": "/srv/x.pdf", "n": [1, 2]}, attributes={"flag": True, "n": 3})
        r = d.ok("record.put", rec)
        self.assertEqual((r["count"], r["inserted"], r["updated"]), (1, 1, 0))
        self.assertEqual(len(r["records"]), 1)
        self.assertBrief(r["records"][0], "p1", "active")
        self.assertSchedule(r["records"][0]["schedule"],
                            [("delete", "2038-01-15T10:00:00+01:00", "visma-user-profiles")])
        g = d.get("p1")
        self.assertRecord(g)
        self.assertEqual(g["category"], "visma.user_profile")
        self.assertEqual(g["subject"], "person:7f3a")
        self.assertEqual(g["backend"], "hr-files")
        self.assertEqual(g["locator"], {"path": "/srv/x.pdf", "n": [1, 2]})
        self.assertEqual(g["attributes"], {"flag": True, "n": 3})
        self.assertTime(g["events"]["last_activity"], FUTURE)
        created = self.assertTime(g["events"]["created"])  # defaults to the insertion time
        self.assertLess(abs(created - time.time()), 120)
        self.assertEqual(g["holds"], [])
        # the same id again is an update (upsert), not a second record
        r = d.ok("record.put", visma("p1", last_activity="2036-01-15T10:00:00+01:00"))
        self.assertEqual((r["count"], r["inserted"], r["updated"]), (1, 0, 1))
        self.assertSchedule(r["records"][0]["schedule"],
                            [("delete", "2039-01-15T10:00:00+01:00", "visma-user-profiles")])
        g2 = d.get("p1")
        self.assertEqual(g2["events"]["created"], g["events"]["created"],
                         "a put without created keeps the original creation time")
        self.assertIsNone(g2["subject"])  # a put replaces the record
        self.assertEqual(d.ok("status")["records"]["total"], 1)

    def test_put_times_as_unix_seconds_and_utc(self):
        d = self.d
        t = parse_time("2035-06-01T10:00:00+02:00")
        d.ok("record.put", job_application("u1", received=t))
        d.ok("record.put", job_application("u2", received="2035-06-01T08:00:00Z"))
        for rid in ("u1", "u2"):
            g = d.get(rid)
            self.assertEqual(g["events"]["received"], "2035-06-01T10:00:00+02:00")
            self.assertSchedule(g["schedule"], [("delete", "2036-06-01T10:00:00+02:00",
                                                 "framsikt-job-applications")])

    def test_put_batch_counts(self):
        d = self.d
        d.ok("record.put", visma("b1"))
        r = d.ok("record.put", {"records": [visma("b0"), visma("b1"), visma("b2")]})
        self.assertEqual((r["count"], r["inserted"], r["updated"]), (3, 2, 1))
        self.assertEqual([x["id"] for x in r["records"]], ["b0", "b1", "b2"])
        for x in r["records"]:
            self.assertBrief(x, x["id"], "active")
        self.assertEqual(d.ok("status")["records"]["total"], 3)

    def test_put_batch_quiet(self):
        r = self.d.ok("record.put", {"records": [visma("q1"), visma("q2")], "quiet": True})
        self.assertEqual((r["count"], r["inserted"], r["updated"]), (2, 2, 0))
        self.assertNotIn("records", r)
        self.assertEqual(self.d.state("q2"), "active")

    def test_put_single_quiet(self):
        """The doc lists 'optional "quiet": true' for record.put after both argument forms."""
        r = self.d.ok("record.put", dict(visma("q1"), quiet=True))
        self.assertEqual((r["count"], r["inserted"], r["updated"]), (1, 1, 0))
        self.assertNotIn("records", r)

    def test_put_batch_of_10000(self):
        d = self.d
        recs = [{"id": "r%05d" % i, "category": "visma.user_profile",
                 "events": {"last_activity": 2051222400 + i}} for i in range(10000)]
        r = d.ok("record.put", {"records": recs})
        self.assertEqual((r["count"], r["inserted"], r["updated"]), (10000, 10000, 0))
        self.assertEqual([x["id"] for x in r["records"]], [x["id"] for x in recs])
        self.assertEqual(d.ok("status")["records"]["total"], 10000)
        self.assertEqual(d.state("r09999"), "active")
        r = d.ok("record.put", {"records": recs, "quiet": True})
        self.assertEqual((r["count"], r["inserted"], r["updated"]), (10000, 0, 10000))

    def test_put_batch_of_10001_refused(self):
        d = self.d
        recs = [{"id": "r%05d" % i, "category": "visma.user_profile"} for i in range(10001)]
        e = d.err("record.put", {"records": recs}, "bad_request")
        self.assertIn("10000", e["message"])
        self.assertEqual(d.ok("status")["records"]["total"], 0)
        d.err("record.get", {"id": "r00000"}, "not_found")

    def test_put_batch_empty_or_not_array(self):
        for v in ([], {}, "x", None):
            self.d.err("record.put", {"records": v}, "bad_request")
        self.d.err("record.put", {"records": [visma("x")], "extra": 1}, "bad_request")

    def test_put_batch_invalid_writes_nothing(self):
        d = self.d
        d.ok("record.put", visma("exists", subject="s:old"))
        batch = [
            visma("good1"),
            visma("bad-time", last_activity="yesterday"),                     # 1
            {"id": "bad-cat", "category": "Not A Name"},                       # 2
            visma("good2"),
            {"id": "bad-member", "category": "visma.user_profile", "colour": 1},  # 4
            {"category": "visma.user_profile"},                                # 5 no id
            "not an object",                                                   # 6
            visma("x" * 513),                                                  # 7 id too long
            visma("exists", subject="s:new"),
            visma("bad-event", last_activity="2035-01-15"),                    # 9 no offset
            {"id": "bad-attr", "category": "visma.user_profile",
             "attributes": {"x": {"nested": 1}}},                              # 10
            {"id": 17, "category": "visma.user_profile"},                      # 11 id not string
        ]
        e = d.err("record.put", {"records": batch}, "bad_request")
        det = e.get("details")
        self.assertIsInstance(det, list, e)
        self.assertEqual([x["index"] for x in det], [1, 2, 4, 5, 6, 7, 9, 10, 11], det)
        ids = {x["index"]: x.get("id") for x in det}
        self.assertEqual(ids[1], "bad-time")
        self.assertEqual(ids[2], "bad-cat")
        self.assertIsNone(ids[5])
        self.assertIsNone(ids[6])
        self.assertIsNone(ids[11])
        for x in det:
            self.assertIsInstance(x["message"], str)
            self.assertTrue(x["message"])
        # nothing was written: neither the good new records nor the update
        for rid in ("good1", "good2", "bad-time"):
            d.err("record.get", {"id": rid}, "not_found")
        self.assertEqual(d.get("exists")["subject"], "s:old")
        self.assertEqual(d.ok("status")["records"]["total"], 1)

    def test_put_single_invalid(self):
        d = self.d
        cases = [
            {"id": "a", "category": "visma.user_profile", "colour": "red"},  # unknown member
            visma("a", last_activity="2035-13-45T00:00:00+01:00"),           # bad event time
            visma("a", last_activity=True),
            {"id": "a", "category": "Visma"},                                # bad category
            {"id": "a", "category": ""},
            {"id": "a"},                                                     # no category
            {"category": "visma.user_profile"},                              # no id
            {"id": "", "category": "visma.user_profile"},
            {"id": "a", "category": "visma.user_profile", "events": {"Bad": 0}},
            {"id": "a", "category": "visma.user_profile", "events": []},
            {"id": "a", "category": "visma.user_profile", "attributes": {"Bad": 1}},
            {"id": "a", "category": "visma.user_profile", "backend": "Not a name"},
            {"id": "a", "category": "visma.user_profile", "subject": 5},
        ]
        for c in cases:
            e = d.err("record.put", c, "bad_request")
            self.assertTrue(e["message"])
        d.err("record.get", {"id": "a"}, "not_found")
        self.assertEqual(d.ok("status")["records"]["total"], 0)

    def test_put_invalid_name_cut_inside_a_character(self):
        # A message quotes at most 64 bytes of a bad name; 63 bytes of ASCII and then "é"
        # put a character across that limit. The message stays UTF-8, the record is
        # refused, alone and in a batch, and the daemon keeps running.
        d = self.d
        bad = "a" * 63 + "é"
        cases = [
            {"id": "a", "category": "visma.user_profile", bad: 1},
            {"id": "a", "category": "visma.user_profile", "events": {bad: 0}},
            {"id": "a", "category": "visma.user_profile", "attributes": {bad: 1}},
        ]
        for c in cases:
            e = d.err("record.put", c, "bad_request")
            self.assertIn('"' + "a" * 63 + '"', e["message"])
            e = d.err("record.put", {"records": [visma("ok"), c]}, "bad_request")
            self.assertEqual([x["index"] for x in e["details"]], [1])
            self.assertIn('"' + "a" * 63 + '"', e["details"][0]["message"])
        d.ok("record.put", visma("ev"))
        e = d.err("record.event", {"id": "ev", "event": bad, "at": 0}, "bad_request")
        self.assertIn('"' + "a" * 63 + '"', e["message"])
        c = d.connect()
        c.send_raw(('{"id": 1, "cmd": "status", "%s": 1}\n' % bad).encode())
        r = c.recv()
        self.assertEqual(r["error"]["message"], 'unknown member "%s" in request' % ("a" * 63))
        d.err("record.get", {"id": "a"}, "not_found")
        self.assertEqual(d.ok("status")["records"]["total"], 1)

    def test_put_id_limits(self):
        d = self.d
        long_id = "é" * 256  # 512 bytes of UTF-8
        r = d.ok("record.put", visma(long_id))
        self.assertEqual(r["records"][0]["id"], long_id)
        self.assertEqual(d.get(long_id)["id"], long_id)
        d.err("record.put", visma(long_id + "x"), "bad_request")
        d.ok("record.put", visma("hr/applications/2025-118 ✓"))
        self.assertEqual(d.get("hr/applications/2025-118 ✓")["id"], "hr/applications/2025-118 ✓")



# --- record.get / record.event / record.set / record.forget -------------------------------

class RecordCommands(DaemonTestCase):

    def test_get_errors(self):
        d = self.d
        e = d.err("record.get", {"id": "nope"}, "not_found")
        self.assertIn("nope", e["message"])
        d.err("record.get", {}, "bad_request")
        d.err("record.get", None, "bad_request")
        d.err("record.get", {"id": ""}, "bad_request")
        d.err("record.get", {"id": 7}, "bad_request")
        d.ok("record.put", visma("g1"))
        d.err("record.get", {"id": "g1", "extra": 1}, "bad_request")

    def test_event_clock_reset_moves_deadline(self):
        d = self.d
        d.ok("record.put", visma("v1", subject="p:1"))
        self.assertSchedule(d.get("v1")["schedule"],
                            [("delete", "2038-01-15T10:00:00+01:00", "visma-user-profiles")])
        r = d.ok("record.event", {"id": "v1", "event": "last_activity",
                                  "at": "2036-03-10T12:00:00+01:00"})
        self.assertEqual(set(r), {"id", "state", "schedule"})
        self.assertBrief(r, "v1", "active")
        self.assertSchedule(r["schedule"],
                            [("delete", "2039-03-10T12:00:00+01:00", "visma-user-profiles")])
        g = d.get("v1")
        self.assertEqual(g["events"]["last_activity"], "2036-03-10T12:00:00+01:00")
        self.assertEqual(g["schedule"], r["schedule"])
        self.assertEqual(g["subject"], "p:1")  # the rest of the record is untouched
        # the clock may also be set back, and Unix seconds work; summer time offset
        r = d.ok("record.event", {"id": "v1", "event": "last_activity",
                                  "at": parse_time("2035-07-01T09:00:00+02:00")})
        self.assertSchedule(r["schedule"],
                            [("delete", "2038-07-01T09:00:00+02:00", "visma-user-profiles")])

    def test_event_new_event_makes_due(self):
        d = self.d
        d.ok("record.put", {"id": "pc", "category": "spekter.police_certificate",
                            "events": {"received": "2035-03-01T10:00:00+01:00"}})
        self.assertEqual(d.state("pc"), "active")
        r = d.ok("record.event", {"id": "pc", "event": "checked",
                                  "at": "2001-01-01T00:00:00+01:00"})
        self.assertBrief(r, "pc", "queued")
        self.assertSchedule(r["schedule"], [("delete", "2001-01-01T00:00:00+01:00",
                                             "spekter-police-certificate-checked")])
        self.assertEqual(d.state("pc"), "queued")

    def test_event_errors(self):
        d = self.d
        d.ok("record.put", visma("e1"))
        d.err("record.event", {"id": "nope", "event": "x", "at": 0}, "not_found")
        d.err("record.event", {"id": "e1", "event": "Bad Name", "at": 0}, "bad_request")
        d.err("record.event", {"id": "e1", "event": "x", "at": "soon"}, "bad_request")
        d.err("record.event", {"id": "e1", "event": "x", "at": "2035-13-01T00:00:00"},
              "bad_request")
        # a local time (no offset) is read in the configured zone
        d.ok("record.event", {"id": "e1", "event": "y", "at": "2035-01-01T00:00:00"})
        self.assertEqual(d.ok("record.get", {"id": "e1"})["events"]["y"],
                         "2035-01-01T00:00:00+01:00")
        d.err("record.event", {"id": "e1", "event": "x"}, "bad_request")
        d.err("record.event", {"id": "e1", "at": 0}, "bad_request")
        d.err("record.event", {"event": "x", "at": 0}, "bad_request")
        d.err("record.event", {"id": "e1", "event": "x", "at": 0, "more": 1}, "bad_request")
        self.assertNotIn("x", d.get("e1")["events"])

    def test_set_unless_condition_switches_schedule(self):
        d = self.d
        d.ok("record.put", job_application("ja", hired=False))
        planned = [("delete", "2036-06-01T10:00:00+02:00", "framsikt-job-applications")]
        self.assertSchedule(d.get("ja")["schedule"], planned)
        r = d.ok("record.set", {"id": "ja", "attributes": {"hired": True}})
        self.assertEqual(set(r), {"id", "state", "schedule"})
        self.assertBrief(r, "ja", "active")
        self.assertEqual(r["schedule"], [])
        g = d.get("ja")
        self.assertEqual(g["attributes"], {"hired": True})
        self.assertEqual(g["schedule"], [])
        # null removes the attribute: the rule applies again
        r = d.ok("record.set", {"id": "ja", "attributes": {"hired": None}})
        self.assertSchedule(r["schedule"], planned)
        self.assertNotIn("hired", d.get("ja")["attributes"])
        # truthiness of strings: "no" is false, "yes" is true
        r = d.ok("record.set", {"id": "ja", "attributes": {"hired": "no", "note": "x"}})
        self.assertSchedule(r["schedule"], planned)
        r = d.ok("record.set", {"id": "ja", "attributes": {"hired": "yes"}})
        self.assertEqual(r["schedule"], [])
        self.assertEqual(d.get("ja")["attributes"], {"hired": "yes", "note": "x"})
        r = d.ok("record.set", {"id": "ja", "attributes": {"hired": 0}})
        self.assertSchedule(r["schedule"], planned)

    def test_set_errors(self):
        d = self.d
        d.ok("record.put", job_application("ja", hired=False))
        d.err("record.set", {"id": "nope", "attributes": {"a": 1}}, "not_found")
        d.err("record.set", {"id": "ja"}, "bad_request")
        d.err("record.set", {"id": "ja", "attributes": [1]}, "bad_request")
        d.err("record.set", {"id": "ja", "attributes": {"Bad": 1}}, "bad_request")
        d.err("record.set", {"id": "ja", "attributes": {"a": {"b": 1}}}, "bad_request")
        d.err("record.set", {"id": "ja", "attributes": {"a": [1]}}, "bad_request")
        self.assertEqual(d.get("ja")["attributes"], {"hired": False})

    def test_forget(self):
        d = self.d
        d.ok("record.put", visma("f1", subject="s:f"))
        d.ok("record.put", visma("f2", subject="s:f"))
        r = d.ok("record.forget", {"id": "f1"})
        self.assertEqual(r, {"id": "f1", "forgotten": True})
        d.err("record.get", {"id": "f1"}, "not_found")
        d.err("record.forget", {"id": "f1"}, "not_found")
        d.err("record.forget", {}, "bad_request")
        self.assertEqual([x["id"] for x in d.ok("subject.show", {"subject": "s:f"})["records"]],
                         ["f2"])
        self.assertEqual(d.ok("status")["records"]["total"], 1)
        # a forgotten id may be used again (it was never acted on)
        r = d.ok("record.put", visma("f1"))
        self.assertEqual(r["inserted"], 1)



# --- explain, plan, subject.show --------------------------------------------------------

class Explain(DaemonTestCase):

    def check_explain_shape(self, x):
        for k in ("id", "category", "state", "schedule", "decision", "holds", "rules"):
            self.assertIn(k, x)
        self.assertSchedule(x["schedule"])
        dec = x["decision"]
        for k in ("action", "at", "rule", "basis", "reason"):
            self.assertIn(k, dec)
        self.assertIn(dec["action"], ("delete", "anonymize", "keep", "none"))
        self.assertIsInstance(x["holds"], list)
        for r in x["rules"]:
            for k in ("rule", "applies", "why", "deadline", "basis"):
                self.assertIn(k, r)
            self.assertIsInstance(r["applies"], bool)
            self.assertIsInstance(r["why"], str)
            self.assertTrue(r["why"])
            if r["deadline"] is not None:
                self.assertTime(r["deadline"])

    def test_explain_earliest_rule_wins(self):
        d = self.d
        d.ok("record.put", {"id": "pc", "category": "spekter.police_certificate",
                            "events": {"received": "2035-12-01T10:00:00+01:00",
                                       "checked": "2035-12-03T10:00:00+01:00"}})
        x = d.ok("explain", {"id": "pc"})
        self.check_explain_shape(x)
        self.assertEqual((x["id"], x["category"], x["state"]),
                         ("pc", "spekter.police_certificate", "active"))
        rules = {r["rule"]: r for r in x["rules"]}
        self.assertEqual(set(rules), {"spekter-police-certificate-checked",
                                      "spekter-police-certificate-latest"})
        self.assertTrue(all(r["applies"] for r in rules.values()))
        self.assertTime(rules["spekter-police-certificate-checked"]["deadline"],
                        "2035-12-03T10:00:00+01:00")
        self.assertTime(rules["spekter-police-certificate-latest"]["deadline"],
                        "2035-12-08T10:00:00+01:00")
        dec = x["decision"]
        self.assertEqual(dec["action"], "delete")
        self.assertTime(dec["at"], "2035-12-03T10:00:00+01:00")
        self.assertEqual(dec["rule"], "spekter-police-certificate-checked")
        self.assertEqual(dec["basis"], rule_basis("spekter-police-certificate-checked"))
        self.assertEqual(rules["spekter-police-certificate-latest"]["basis"],
                         rule_basis("spekter-police-certificate-latest"))

    def test_explain_rule_not_applying(self):
        d = self.d
        d.ok("record.put", job_application("ja", hired=True))
        x = d.ok("explain", {"id": "ja"})
        self.check_explain_shape(x)
        self.assertEqual(len(x["rules"]), 1)
        r = x["rules"][0]
        self.assertEqual(r["rule"], "framsikt-job-applications")
        self.assertFalse(r["applies"])
        self.assertIn("hired", r["why"])
        self.assertIsNone(r["deadline"])
        self.assertEqual(x["schedule"], [])
        self.assertEqual(x["decision"]["action"], "none")
        self.assertIsNone(x["decision"]["at"])
        self.assertIsNone(x["decision"]["rule"])

    def test_explain_keep_forever(self):
        d = self.d
        d.ok("record.put", {"id": "tp", "category": "spekter.termination_papers"})
        x = d.ok("explain", {"id": "tp"})
        self.check_explain_shape(x)
        self.assertEqual(x["schedule"], [])
        self.assertEqual(x["decision"]["action"], "keep")
        self.assertEqual(x["decision"]["rule"], "spekter-termination-papers")
        self.assertEqual(x["decision"]["basis"], rule_basis("spekter-termination-papers"))
        self.assertIsNone(x["decision"]["at"])

    def test_explain_missing_anchor_and_unmanaged(self):
        d = self.d
        d.ok("record.put", {"id": "sr", "category": "framsikt.survey_response"})
        x = d.ok("explain", {"id": "sr"})
        self.check_explain_shape(x)
        self.assertEqual(x["decision"]["action"], "none")
        self.assertIsNone(x["rules"][0]["deadline"])
        self.assertIn("survey_closed", x["rules"][0]["why"])
        d.ok("record.put", {"id": "um", "category": "nobody.knows"})
        x = d.ok("explain", {"id": "um"})
        self.check_explain_shape(x)
        self.assertEqual(x["state"], "unmanaged")
        self.assertEqual(x["rules"], [])
        self.assertEqual(x["decision"]["action"], "none")

    def test_explain_errors(self):
        self.d.err("explain", {"id": "nope"}, "not_found")
        self.d.err("explain", {}, "bad_request")


class Plan(DaemonTestCase):

    def setUp(self):
        super().setUp()
        d = self.d
        # put out of time order; one of them already due (queued)
        d.ok("record.put", {"records": [
            visma("v3", last_activity="2037-05-01T12:00:00+02:00"),       # 2040-05-01
            visma("v1", last_activity="2035-01-15T10:00:00+01:00"),       # 2038-01-15
            job_application("j2", received="2038-03-01T09:00:00+01:00"),  # 2039-03-01
            job_application("old", received="2001-02-03T04:05:06+01:00"),  # 2002-02-03 due
            visma("v2", last_activity="2035-01-15T10:00:01+01:00"),       # 2038-01-15 +1s
            {"id": "tp", "category": "spekter.termination_papers"},       # never
            job_application("hired", hired=True),                         # never
        ]})
        self.assertEqual(d.state("old"), "queued")

    def check_action(self, a):
        for k in ("at", "action", "record", "category", "rule", "review", "backend", "state"):
            self.assertIn(k, a, a)
        self.assertTime(a["at"])
        self.assertIn(a["action"], ("anonymize", "delete"))
        self.assertIsInstance(a["review"], bool)
        self.assertIn(a["state"], STATES)

    def check_plan(self, p, records, count=None):
        """The plan lists `records` in this order; count/shown/truncated/totals agree."""
        for a in p["actions"]:
            self.check_action(a)
        self.assertEqual([a["record"] for a in p["actions"]], records)
        count = len(records) if count is None else count
        self.assertEqual((p["count"], p["shown"], p["truncated"]),
                         (count, len(records), count > len(records)), p)
        self.assertEqual(sum(t["count"] for t in p["totals"]), count, p["totals"])
        for t in p["totals"]:
            self.assertEqual(set(t), {"rule", "action", "count"})
        times = [parse_time(a["at"]) for a in p["actions"]]
        self.assertEqual(times, sorted(times))

    def test_plan_time_order(self):
        p = self.d.ok("plan", {"until": "2045-01-01"})
        self.check_plan(p, ["old", "v1", "v2", "j2", "v3"])
        a = p["actions"][0]
        self.assertEqual((a["action"], a["category"], a["rule"], a["state"]),
                         ("delete", "framsikt.job_application", "framsikt-job-applications",
                          "queued"))
        self.assertTime(a["at"], "2002-02-03T04:05:06+01:00")
        self.assertEqual(p["actions"][1]["state"], "active")
        self.assertTime(p["until"], "2045-01-01T00:00:00+01:00")
        self.assertEqual(sorted((t["rule"], t["action"], t["count"]) for t in p["totals"]),
                         [("framsikt-job-applications", "delete", 2),
                          ("visma-user-profiles", "delete", 3)])

    def test_plan_limit_truncated(self):
        d = self.d
        self.check_plan(d.ok("plan", {"until": "2045-01-01", "limit": 2}), ["old", "v1"], 5)
        self.check_plan(d.ok("plan", {"until": "2045-01-01", "limit": 1}), ["old"], 5)
        self.check_plan(d.ok("plan", {"until": "2045-01-01", "limit": 5}),
                        ["old", "v1", "v2", "j2", "v3"])
        self.check_plan(d.ok("plan", {"until": "2045-01-01", "limit": 1000000}),
                        ["old", "v1", "v2", "j2", "v3"])

    def test_plan_category(self):
        p = self.d.ok("plan", {"until": "2045-01-01", "category": "visma.user_profile"})
        self.check_plan(p, ["v1", "v2", "v3"])
        self.assertTrue(all(a["category"] == "visma.user_profile" for a in p["actions"]))

    def test_plan_until_date_and_rfc3339(self):
        d = self.d
        p = d.ok("plan", {"until": "2038-01-16"})  # a local date: midnight in Oslo
        self.assertTime(p["until"], "2038-01-16T00:00:00+01:00")
        self.assertEqual([a["record"] for a in p["actions"]], ["old", "v1", "v2"])
        # RFC 3339: inclusive at the exact instant, in any offset
        p = d.ok("plan", {"until": "2038-01-15T10:00:00+01:00"})
        self.assertEqual([a["record"] for a in p["actions"]], ["old", "v1"])
        p = d.ok("plan", {"until": "2038-01-15T09:00:00Z"})
        self.assertTime(p["until"], "2038-01-15T10:00:00+01:00")
        self.assertEqual([a["record"] for a in p["actions"]], ["old", "v1"])
        p = d.ok("plan", {"until": "2038-01-15T09:59:59+01:00"})
        self.assertEqual([a["record"] for a in p["actions"]], ["old"])
        p = d.ok("plan", {"until": "2038-01-15T10:00"})  # local time without seconds
        self.assertEqual([a["record"] for a in p["actions"]], ["old", "v1"])
        p = d.ok("plan", {"until": parse_time("2038-01-15T10:00:01+01:00")})
        self.assertEqual([a["record"] for a in p["actions"]], ["old", "v1", "v2"])

    def test_plan_errors(self):
        d = self.d
        d.err("plan", {}, "bad_request")
        d.err("plan", None, "bad_request")
        d.err("plan", {"until": "next year"}, "bad_request")
        d.err("plan", {"until": "2038-02-30"}, "bad_request")
        d.err("plan", {"until": True}, "bad_request")
        d.err("plan", {"until": "2040-01-01", "limit": 0}, "bad_request")
        d.err("plan", {"until": "2040-01-01", "limit": 1000001}, "bad_request")
        d.err("plan", {"until": "2040-01-01", "limit": "5"}, "bad_request")
        d.err("plan", {"until": "2040-01-01", "category": 5}, "bad_request")
        d.err("plan", {"until": "2040-01-01", "extra": 1}, "bad_request")

    def test_plan_nothing_due(self):
        """A plan with no action in it (a category without records, or an early until)."""
        d = self.d
        p = d.ok("plan", {"until": "2040-01-01", "category": "bjornson.shareholder"})
        self.assertEqual((p["count"], p["shown"], p["truncated"], p["actions"], p["totals"]),
                         (0, 0, False, [], []))
        p = d.ok("plan", {"until": "1990-01-01"})
        self.assertEqual((p["count"], p["actions"]), (0, []))


class PlanEmpty(DaemonTestCase):

    def test_plan_on_empty_inventory(self):
        p = self.d.ok("plan", {"until": "2040-01-01"})
        self.assertEqual((p["count"], p["shown"], p["truncated"], p["actions"], p["totals"]),
                         (0, 0, False, [], []))


class Subject(DaemonTestCase):

    def test_subject_show(self):
        d = self.d
        d.ok("record.put", {"records": [
            visma("a", subject="person:1"), job_application("b", subject="person:1", hired=False),
            visma("c", subject="person:2"), visma("d")]})
        r = d.ok("subject.show", {"subject": "person:1"})
        self.assertEqual(r["subject"], "person:1")
        self.assertEqual(sorted(x["id"] for x in r["records"]), ["a", "b"])
        for x in r["records"]:
            self.assertRecord(x)
            self.assertEqual(x["subject"], "person:1")
            self.assertEqual(x, d.get(x["id"]))
        r = d.ok("subject.show", {"subject": "person:404"})
        self.assertEqual(r, {"subject": "person:404", "records": []})
        d.err("subject.show", {}, "bad_request")
        d.err("subject.show", {"subject": ""}, "bad_request")


# --- rules -------------------------------------------------------------------------------

class Rules(DaemonTestCase):

    def test_rules_list(self):
        d = self.d
        r = d.ok("rules.list")
        self.assertEqual(r["count"], count_repo_rules())
        self.assertEqual(len(r["rules"]), r["count"])
        self.assertRegex(r["hash"], r"^[0-9a-f]{64}$")
        self.assertEqual(r["hash"], d.ok("status")["rules"]["hash"])
        names = [x["rule"] for x in r["rules"]]
        self.assertEqual(len(set(names)), len(names))
        for x in r["rules"]:
            for k in ("rule", "file", "line", "hash", "categories", "statement", "conditions",
                      "backend", "review", "basis"):
                self.assertIn(k, x, x)
            self.assertRegex(x["hash"], r"^[0-9a-f]{64}$")
            self.assertTrue(x["file"].startswith(d.rules_dir + "/"), x["file"])
            fn, line = rule_line(x["rule"])
            self.assertEqual((os.path.basename(x["file"]), x["line"]), (fn, line))
        ja = next(x for x in r["rules"] if x["rule"] == "framsikt-job-applications")
        self.assertEqual(ja["categories"], ["framsikt.job_application"])
        self.assertEqual(ja["statement"], "delete 1 year after received")
        self.assertEqual(ja["conditions"], ["unless hired"])
        self.assertIsNone(ja["backend"])
        self.assertFalse(ja["review"])
        self.assertEqual(ja["basis"], rule_basis("framsikt-job-applications"))
        d.err("rules.list", {"x": 1}, "bad_request")

    def test_rules_check_loaded(self):
        d = self.d
        d.ok("record.put", {"records": [{"id": "u1", "category": "gap.one"},
                                        {"id": "u2", "category": "gap.one"}, visma("v")]})
        r = d.ok("rules.check")
        self.assertTrue(r["valid"])
        self.assertEqual([p for p in r["problems"] if p["severity"] == "error"], [])
        self.assertEqual(r["unmanaged"], [{"category": "gap.one", "records": 2}])

    def test_rules_check_text(self):
        d = self.d
        h = d.ok("rules.list")["hash"]
        text = ("rule fine { category t.doc; delete 1 year after received }\n"
                "rule broken { category t.doc; delete 1 yeer after received }\n")
        r = d.ok("rules.check", {"text": text})
        self.assertFalse(r["valid"])
        errs = [p for p in r["problems"] if p["severity"] == "error"]
        self.assertEqual(len(errs), 1, r["problems"])
        p = errs[0]
        self.assertEqual((p["file"], p["line"]), ("(text)", 2))
        self.assertRegex(p["text"], r"^\(text\):2:\d+: .*yeer")
        self.assertEqual(p["text"], "(text):2:%d: %s" % (p["col"], p["message"]))
        self.assertEqual(p["col"], text.splitlines()[1].index("yeer") + 1)
        self.assertIn("unmanaged", r)
        # a valid text; one with only a warning is still valid
        r = d.ok("rules.check", {"text": "rule ok { category t.doc; delete 1 day after x }\n"})
        self.assertEqual((r["valid"], r["problems"]), (True, []))
        r = d.ok("rules.check", {"text": "rule w { category t.doc; delete 1 day after x; "
                                         "when flag; unless flag }\n"})
        self.assertTrue(r["valid"])
        self.assertTrue(any(p["severity"] == "warning" for p in r["problems"]), r)
        d.err("rules.check", {"text": "x", "file": "y"}, "bad_request")
        # checking text changes nothing that is loaded
        self.assertEqual(d.ok("rules.list")["hash"], h)

    def test_rules_check_text_not_a_string(self):
        self.d.err("rules.check", {"text": 5}, "bad_request")

    def test_rules_check_text_without_a_valid_rule(self):
        """A text whose only rule is broken (or an empty text) is checked, not fatal."""
        d = self.d
        r = d.ok("rules.check", {"text": "rule broken { category t.doc; delete 1 yeer after x }\n"})
        self.assertFalse(r["valid"])
        self.assertRegex(r["problems"][0]["text"], r"^\(text\):1:\d+: ")
        r = d.ok("rules.check", {"text": ""})
        self.assertTrue(r["valid"])


RULE_A = 'rule a-docs { category t.doc; delete 1 year after received; basis "A" }\n'
RULE_B = 'rule b-other { category t.other; delete 30 days after created; basis "B" }\n'


class Reload(DaemonTestCase):
    RULES = {"a.rules": RULE_A, "b.rules": RULE_B}

    def setUp(self):
        super().setUp()
        self.d.ok("record.put", {"id": "doc", "category": "t.doc",
                                 "events": {"received": "2035-01-15T10:00:00+01:00"}})
        self.assertSchedule(self.d.get("doc")["schedule"],
                            [("delete", "2036-01-15T10:00:00+01:00", "a-docs")])

    def test_reload_valid_change_reschedules(self):
        d = self.d
        old = d.ok("rules.list")["hash"]
        r = d.ok("rules.reload")
        self.assertEqual((r["count"], r["changed"], r["rescheduled"]), (2, False, 0))
        self.assertEqual(r["hash"], old)
        d.rule_file("a.rules", RULE_A.replace("1 year", "2 years"))
        r = d.ok("rules.reload")
        self.assertEqual((r["count"], r["changed"], r["rescheduled"]), (2, True, 1))
        self.assertIsInstance(r["problems"], list)
        self.assertNotEqual(r["hash"], old)
        self.assertEqual(r["hash"], d.ok("rules.list")["hash"])
        self.assertEqual(r["hash"], d.ok("status")["rules"]["hash"])
        self.assertSchedule(d.get("doc")["schedule"],
                            [("delete", "2037-01-15T10:00:00+01:00", "a-docs")])
        # a new file adds rules; removing one drops them (the record becomes unmanaged)
        d.rule_file("c.rules", 'rule c-doc-anon { category t.doc; anonymize 6 months after '
                               'received }\n')
        r = d.ok("rules.reload")
        self.assertEqual(r["count"], 3)
        self.assertSchedule(d.get("doc")["schedule"],
                            [("anonymize", "2035-07-15T10:00:00+02:00", "c-doc-anon"),
                             ("delete", "2037-01-15T10:00:00+01:00", "a-docs")])
        d.rule_file("a.rules", None)
        d.rule_file("c.rules", None)
        r = d.ok("rules.reload")
        self.assertEqual(r["count"], 1)
        self.assertEqual(d.state("doc"), "unmanaged")
        d.err("rules.reload", {"x": 1}, "bad_request")

    def test_reload_broken_keeps_old_rules(self):
        d = self.d
        before = d.ok("rules.list")
        d.rule_file("a.rules", RULE_A.replace("1 year", "2 years"))
        d.rule_file("b.rules", "rule b-other { category t.other; delete 30 dayz after created }\n"
                               "\n"
                               "rule b-more { category t.other }\n")
        e = d.err("rules.reload", None, "invalid_rules")
        det = e.get("details")
        self.assertIsInstance(det, list, e)
        self.assertTrue(det)
        bfile = os.path.join(d.rules_dir, "b.rules")
        for p in det:
            for k in ("file", "line", "col", "severity", "message", "text"):
                self.assertIn(k, p)
            self.assertEqual(p["text"], "%s:%d:%d: %s" % (p["file"], p["line"], p["col"],
                                                          p["message"]))
        lines = sorted({(p["file"], p["line"]) for p in det if p["severity"] == "error"})
        self.assertEqual(lines, [(bfile, 1), (bfile, 3)])
        self.assertEqual(d.ok("rules.list"), before)
        self.assertSchedule(d.get("doc")["schedule"],
                            [("delete", "2036-01-15T10:00:00+01:00", "a-docs")])
        self.assertEqual(d.ok("status")["rules"]["hash"], before["hash"])

    def test_reload_when_every_rule_is_broken(self):
        """A rules directory whose only file is broken: invalid_rules, the daemon stays up."""
        d = self.d
        before = d.ok("rules.list")["hash"]
        d.rule_file("b.rules", None)
        d.rule_file("a.rules", "rule a-docs { category t.doc; delete 1 yeer after received }\n")
        e = d.err("rules.reload", None, "invalid_rules")
        self.assertTrue(e.get("details"))
        self.assertEqual(d.ok("rules.list")["hash"], before)

    def test_sighup_reloads(self):
        d = self.d
        before = d.ok("rules.list")["hash"]
        d.rule_file("a.rules", RULE_A.replace("1 year", "3 years"))
        d.signal(signal.SIGHUP)
        wait_for(lambda: d.ok("rules.list")["hash"] != before, 10, what="SIGHUP to reload")
        self.assertSchedule(d.get("doc")["schedule"],
                            [("delete", "2038-01-15T10:00:00+01:00", "a-docs")])
        # a broken file on SIGHUP: the old rules stay, the problem goes to stderr
        good = d.ok("rules.list")["hash"]
        d.rule_file("b.rules", "rule b-other { category t.other; delete 30 dayz after created }\n")
        d.signal(signal.SIGHUP)
        bfile = os.path.join(d.rules_dir, "b.rules")
        wait_for(lambda: re.search(re.escape(bfile) + r":1:\d+: ", d.stderr()), 10,
                 what="the problem of the broken file in stderr")
        self.assertEqual(d.ok("rules.list")["hash"], good)
        self.assertSchedule(d.get("doc")["schedule"],
                            [("delete", "2038-01-15T10:00:00+01:00", "a-docs")])


# --- the protocol itself -----------------------------------------------------------------

class Protocol(DaemonTestCase):

    def test_unknown_command(self):
        r = self.d.call("record.frobnicate", {"id": "x"}, rid="u-1")
        self.assertEqual(r["id"], "u-1")
        self.assertFalse(r["ok"])
        self.assertEqual(r["error"]["code"], "bad_request")
        self.assertIn("record.frobnicate", r["error"]["message"])
        self.d.err("", None, "bad_request")
        self.d.err("STATUS", None, "bad_request")

    def test_malformed_input_keeps_connection(self):
        c = self.d.connect()
        bad = [
            b'{"id": 1, "cmd": "status"',                 # truncated JSON
            b"garbage",
            b"\xff\xfe\xfd invalid utf-8",
            b'{"id": "\xc3\x28", "cmd": "status"}',       # invalid UTF-8 inside a string
            b'{"id": 1, "cmd": "st\x00atus"}',            # a raw NUL byte
            b"\x00\x00\x00",
            b'{"id": "a\\u0000b", "cmd": "status"}',      # an escaped NUL
            b"[1, 2, 3]",
            b'"status"',
            b"42",
            b"null",
            b"",
            b"   ",
            b'{"cmd": 5}',
            b'{"id": 3}',
            b'{"id": 1, "cmd": "status", "args": [1]}',
            b'{"id": 1, "cmd": "status", "args": "x"}',
            b'{"id": 1, "cmd": "status", "unexpected": true}',
            b'{"id": 1, "id": 2, "cmd": "status"}',        # duplicate member
            b'{"id": 1, "cmd": "status"} trailing',
            b"{" * 5000,
        ]
        for i, line in enumerate(bad):
            c.send_raw(line + b"\n")
            r = c.recv()
            self.assertFalse(r["ok"], "line %d %r got %r" % (i, line[:60], r))
            self.assertEqual(r["error"]["code"], "bad_request", "line %d %r" % (i, line[:60]))
            self.assertIsInstance(r["error"]["message"], str)
            # the same connection still answers
            r = c.request("status", rid=1000 + i)
            self.assertTrue(r["ok"], r)
        # all at once, in one write: one reply per line, in order
        c.send_raw(b"\n".join(bad) + b"\n" + b'{"id": "last", "cmd": "status"}\n')
        for i in range(len(bad)):
            r = c.recv()
            self.assertEqual(r["error"]["code"], "bad_request", "pipelined line %d" % i)
        r = c.recv()
        self.assertEqual((r["id"], r["ok"]), ("last", True))

    def test_malformed_message_quotes_whole_characters(self):
        # jansson quotes the text near a bad escape up to the first byte of "é"; that
        # byte is left out, instead of the whole message being replaced as not UTF-8
        c = self.d.connect()
        c.send_raw('{"id": "a\\é"}\n'.encode())
        r = c.recv()
        self.assertEqual(r["error"]["message"],
                         "malformed JSON at column 11: invalid escape near '\"a\\'")

    def test_pipelined_large_requests_answered_in_order(self):
        """Large requests (decoded off the loop) and small ones, in one write: every reply
        comes in request order, and each request sees the effect of those before it."""
        c = self.d.connect()
        def batch(tag, n):
            return [{"id": "pipe/%s/%04d" % (tag, i), "category": "framsikt.job_application",
                     "subject": "person:%d" % i, "backend": "off",
                     "events": {"created": "2026-01-01T00:00:00Z"},
                     "attributes": {"note": "x" * 40}} for i in range(n)]
        reqs = [
            {"id": "big-1", "cmd": "record.put", "args": {"quiet": True, "records": batch("a", 400)}},
            {"id": "get-1", "cmd": "record.get", "args": {"id": "pipe/a/0399"}},
            {"id": "big-bad", "cmd": "record.put",
             "args": {"records": batch("b", 300) + [{"id": "pipe/b/bad", "category": 5}]}},
            {"id": "get-2", "cmd": "record.get", "args": {"id": "pipe/b/0000"}},
            {"id": "big-2", "cmd": "record.put", "args": {"quiet": True, "records": batch("c", 400)}},
            {"id": "forget", "cmd": "record.forget", "args": {"id": "pipe/c/0007"}},
            {"id": "get-3", "cmd": "record.get", "args": {"id": "pipe/c/0007"}},
        ]
        lines = [json.dumps(r, separators=(",", ":")).encode() for r in reqs]
        self.assertGreater(len(lines[0]), 64 * 1024)  # well over the off-loop threshold
        garbage = b"{" + b"x" * (40 * 1024)         # a large malformed line
        c.send_raw(b"\n".join(lines[:3] + [garbage] + lines[3:]) + b"\n")
        got = [c.recv() for _ in range(len(reqs) + 1)]
        self.assertEqual([r["id"] for r in got],
                         ["big-1", "get-1", "big-bad", None, "get-2", "big-2", "forget", "get-3"])
        self.assertEqual(got[0]["result"]["inserted"], 400)
        self.assertEqual(got[1]["result"]["id"], "pipe/a/0399")
        self.assertEqual(got[2]["error"]["code"], "bad_request")
        self.assertEqual(got[2]["error"]["details"][0]["index"], 300)
        self.assertEqual(got[3]["error"]["code"], "bad_request")
        self.assertEqual(got[4]["error"]["code"], "not_found")  # nothing of the bad batch
        self.assertTrue(got[5]["ok"] and got[6]["ok"])
        self.assertEqual(got[7]["error"]["code"], "not_found")  # forgotten before the get
        self.assertEqual(self.d.call("status")["result"]["records"]["total"], 799)

    def test_client_gone_while_large_requests_decode(self):
        """A client that sends large requests and leaves at once: the daemon frees what it
        was decoding (ASan would report a leak or a use after free) and serves others."""
        recs = [{"id": "gone/%04d" % i, "category": "framsikt.job_application", "backend": "off",
                 "attributes": {"note": "y" * 60}} for i in range(500)]
        line = json.dumps({"id": 1, "cmd": "record.put", "args": {"records": recs}}).encode()
        for _ in range(5):
            c = self.d.connect()
            c.send_raw((line + b"\n") * 6)
            c.close()
        self.assertTrue(self.d.call("status")["ok"])
        # each batch is stored whole or not at all (its client left before the answer)
        total = self.d.call("status")["result"]["records"]["total"]
        self.assertIn(total, (0, 500))

    def test_half_closed_client_gets_its_replies(self):
        """A client that sends its requests and shuts down its sending side (as `socat`
        does at the end of its input) still gets every reply, then the daemon closes."""
        recs = [{"id": "half/%04d" % i, "category": "framsikt.job_application",
                 "backend": "off", "attributes": {"note": "z" * 60}} for i in range(400)]
        big = json.dumps({"id": "big", "cmd": "record.put",
                          "args": {"quiet": True, "records": recs}}).encode()
        c = self.d.connect()
        c.send_raw(big + b"\n" + b'{"id": "after", "cmd": "record.get", "args": {"id": "half/0399"}}\n')
        c.sock.shutdown(socket.SHUT_WR)
        r = c.recv()
        self.assertEqual((r["id"], r["ok"], r["result"]["inserted"]), ("big", True, 400))
        r = c.recv()
        self.assertEqual((r["id"], r["ok"]), ("after", True))
        self.assertTrue(c.at_eof())

    def test_crlf_line_ending(self):
        c = self.d.connect()
        c.send_raw(b'{"id": 9, "cmd": "status"}\r\n')
        r = c.recv()
        self.assertEqual((r["id"], r["ok"]), (9, True))

    def test_line_too_large_closes_connection(self):
        d = self.d
        other = d.connect()
        c = d.connect()
        big = b'{"id": 1, "cmd": "status", "args": {"pad": "' + b"x" * (2 * MIB) + b'"}}\n'
        c.send_raw(b'{"id": "before", "cmd": "status"}\n')
        try:
            c.send_raw(big)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the daemon may close before it has read everything
        r = c.recv()
        self.assertEqual((r["id"], r["ok"]), ("before", True))
        r = c.recv()
        self.assertFalse(r["ok"])
        self.assertEqual(r["error"]["code"], "too_large")
        self.assertTrue(c.at_eof(), "the daemon should close the connection after too_large")
        # a line without any newline, growing past the limit, is refused as well
        c2 = d.connect()
        try:
            for _ in range(3):
                c2.send_raw(b"y" * MIB)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = c2.recv()
        self.assertEqual(r["error"]["code"], "too_large")
        self.assertTrue(c2.at_eof())
        # everybody else is still served
        self.assertTrue(other.request("status")["ok"])
        self.assertTrue(d.call("status")["ok"])

    def test_line_at_the_limit(self):
        d = self.d
        c = d.connect()
        head = b'{"id": "max", "cmd": "status"'
        line = head + b" " * (MIB - len(head) - 1) + b"}"
        self.assertEqual(len(line), MIB)
        c.send_raw(line + b"\n")
        r = c.recv()
        self.assertEqual((r["id"], r["ok"]), ("max", True), r)
        line = head + b" " * (MIB - len(head)) + b"}"
        c.send_raw(line + b"\n")
        r = c.recv()
        self.assertEqual(r["error"]["code"], "too_large")
        self.assertTrue(c.at_eof())

    def test_id_echo(self):
        c = self.d.connect()
        ids = [0, 7, -3, 2 ** 53, 1.5, "abc", "", "ünïcødé ✓", {"a": [1, {"b": None}]}, [1, "x"],
               True, False, None]
        for rid in ids:
            for cmd in ("status", "no.such.command", "record.get"):
                c.send({"id": rid, "cmd": cmd, "args": {"id": "missing"}}
                       if cmd == "record.get" else {"id": rid, "cmd": cmd})
                r = c.recv()
                self.assertIn("id", r)
                self.assertEqual(r["id"], rid, "%s: %r" % (cmd, r))
                self.assertEqual(type(r["id"]), type(rid), "%s: %r" % (cmd, r))
        # absent id -> null
        c.send_raw(b'{"cmd": "status"}\n')
        r = c.recv()
        self.assertIn("id", r)
        self.assertIsNone(r["id"])
        self.assertTrue(r["ok"])
        c.send_raw(b'{"cmd": "nope"}\n')
        r = c.recv()
        self.assertIsNone(r["id"])

    def test_pipelined_requests_in_order(self):
        d = self.d
        c = d.connect()
        reqs = []
        for i in range(300):
            rid = "p%03d" % i
            k = i % 4
            if k == 0:
                reqs.append({"id": i, "cmd": "record.put", "args": visma(rid)})
            elif k == 1:
                reqs.append({"id": i, "cmd": "record.get", "args": {"id": "p%03d" % (i - 1)}})
            elif k == 2:
                reqs.append({"id": i, "cmd": "record.get", "args": {"id": "never-%d" % i}})
            else:
                reqs.append({"id": i, "cmd": "record.event",
                             "args": {"id": "p%03d" % (i - 3), "event": "last_activity",
                                      "at": 2051222400 + i}})
        c.send_raw(b"".join(json.dumps(r).encode() + b"\n" for r in reqs))
        for i, q in enumerate(reqs):
            r = c.recv()
            self.assertEqual(r["id"], i, "reply %d out of order: %r" % (i, r))
            k = i % 4
            if k == 0:
                self.assertTrue(r["ok"], r)
            elif k == 1:
                self.assertTrue(r["ok"], r)
                self.assertEqual(r["result"]["id"], "p%03d" % (i - 1))
            elif k == 2:
                self.assertEqual(r["error"]["code"], "not_found")
            else:
                self.assertTrue(r["ok"], r)
        self.assertEqual(d.ok("status")["records"]["total"], 75)

    def test_many_concurrent_clients(self):
        d = self.d
        n = 100
        errors = []
        barrier = threading.Barrier(n)

        def client(i):
            try:
                with Conn(d.socket_path) as c:
                    barrier.wait(30)
                    rid = "c%03d" % i
                    at = 2051222400 + i * 86400
                    r = c.request("record.put", {"id": rid, "category": "visma.user_profile",
                                                 "subject": "s%d" % i,
                                                 "events": {"last_activity": at}})
                    assert r["ok"] and r["result"]["records"][0]["id"] == rid, r
                    r = c.request("record.get", {"id": rid})
                    assert r["ok"] and r["result"]["subject"] == "s%d" % i, r
                    assert parse_time(r["result"]["events"]["last_activity"]) == at, r
                    r = c.request("explain", {"id": rid})
                    assert r["ok"] and r["result"]["decision"]["rule"] == "visma-user-profiles"
                    r = c.request("subject.show", {"subject": "s%d" % i})
                    assert r["ok"] and [x["id"] for x in r["result"]["records"]] == [rid], r
                    r = c.request("status")
                    assert r["ok"], r
            except BaseException as e:  # collected and reported by the main thread
                errors.append("client %d: %r" % (i, e))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertFalse(any(t.is_alive() for t in threads), "clients still running")
        self.assertEqual(errors, [])
        self.assertEqual(d.ok("status")["records"]["total"], n)

    def test_silent_client_does_not_block_others(self):
        d = self.d
        slow = d.connect()
        slow.send_raw(b'{"id": "slow", "cmd": "rec')   # half a line, then silence
        mute = d.connect()                              # connects, says nothing
        for i in range(5):
            with Conn(d.socket_path, timeout=10) as c:
                self.assertTrue(c.request("status")["ok"])
        self.assertTrue(d.call("record.put", visma("while-slow"))["ok"])
        # the slow client may finish its line later and is answered
        slow.send_raw(b'ord.get", "args": {"id": "while-slow"}}\n')
        r = slow.recv()
        self.assertEqual((r["id"], r["ok"]), ("slow", True))
        self.assertTrue(mute.request("status")["ok"])

    def test_client_that_disconnects_midway(self):
        d = self.d
        for i in range(20):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(d.socket_path)
            s.sendall(b'{"id": 1, "cmd": "record.put", "args": {"id": "gone%d", "category": '
                      b'"visma.user_profile"}}\n{"id": 2, "cmd": "sta' % i)
            s.close()   # without reading the reply
        self.assertTrue(d.call("status")["ok"])
        wait_for(lambda: d.ok("status")["records"]["total"] == 20, 10,
                 what="the puts of the vanished clients")


if __name__ == "__main__":
    main()
