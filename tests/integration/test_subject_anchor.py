#!/usr/bin/env python3
"""Integration tests of the anchors of the subject (man/retention.rules.5): a rule
`delete 3 years after latest(last_activity) of subject` anchors every record of a person on
the latest last_activity of any of that person's records; `earliest(EVENT) of subject` on
the earliest. A put (a batch too), record.event or record.forget of one record decides the
other records of its subject again, in the same transaction, each change audited
(`record.redecided`); explain says which record the anchor's time came from; the rule's
canonical text in rules.loaded shows the anchor as written.

The real daemon (build/asan/retentiond) over its real control socket.
Run: python3 tests/integration/test_subject_anchor.py
"""

import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DaemonTestCase, main, parse_time  # noqa: E402

RULES = ("rule activity { category t.profile; "
         "delete 3 years after latest(last_activity) of subject }\n"
         "rule first { category t.first; "
         "delete 1 year after earliest(last_activity) of subject }\n")

YEAR = 365 * 86400


def rec(rid, subject, at, category="t.profile"):
    r = {"id": rid, "category": category, "events": {"last_activity": at}}
    if subject is not None:
        r["subject"] = subject
    return r


class SubjectAnchor(DaemonTestCase):
    RULES = RULES

    def due(self, rid):
        sched = self.d.get(rid)["schedule"]
        self.assertEqual(len(sched), 1, sched)
        return parse_time(sched[0]["at"])

    def entries(self, type_, record=None):
        out = []
        with open(self.d.audit_log, encoding="ascii") as f:
            for ln in f:
                e = json.loads(ln)
                if e["type"] == type_ and (record is None or e.get("record") == record):
                    out.append(e)
        return out

    def test_a_second_record_moves_the_first(self):
        d = self.d
        d.ok("record.put", rec("a1", "person:P", "2025-01-01T00:00:00Z"))
        d.ok("record.put", rec("b1", "person:Q", "2025-01-01T00:00:00Z"))
        d.ok("record.put", rec("n1", None, "2025-02-01T00:00:00Z"))
        self.assertEqual(self.due("a1"), parse_time("2028-01-01T00:00:00Z"))
        d.ok("record.put", rec("a2", "person:P", "2025-06-01T00:00:00Z"))
        # a1 now waits for a2's later activity; b1 of another subject and n1 without a
        # subject keep their own
        self.assertEqual(self.due("a1"), parse_time("2028-06-01T00:00:00Z"))
        self.assertEqual(self.due("a2"), parse_time("2028-06-01T00:00:00Z"))
        self.assertEqual(self.due("b1"), parse_time("2028-01-01T00:00:00Z"))
        self.assertEqual(self.due("n1"), parse_time("2028-02-01T00:00:00Z"))
        # audited: the entry names the record moved, the cause and the new schedule
        es = self.entries("record.redecided", "a1")
        self.assertEqual(len(es), 1, es)
        det = es[0]["detail"]
        self.assertEqual(det["cause"], "a2")
        self.assertEqual(det["subject"], d.pseudonym("person:P"))
        self.assertEqual(det["state"], "active")
        self.assertEqual([(s["action"], parse_time(s["due"]), s["rule"])
                          for s in det["schedule"]],
                         [("delete", parse_time("2028-06-01T00:00:00Z"), "activity")])
        self.assertEqual(self.entries("record.redecided", "b1"), [])
        self.assertEqual(self.entries("record.redecided", "n1"), [])
        # explain: which record the anchor's time came from
        x = d.ok("explain", {"id": "a1"})
        anchor = x["rules"][0]["anchor"]
        self.assertEqual(anchor["record"], "a2")
        self.assertEqual(anchor["event"], "last_activity")
        self.assertEqual(parse_time(anchor["at"]), parse_time("2025-06-01T00:00:00Z"))
        self.assertIn("of record a2", x["rules"][0]["why"])

    def test_event_and_forget_move_the_others(self):
        d = self.d
        d.ok("record.put", {"records": [rec("a1", "person:P", "2025-01-01T00:00:00Z"),
                                        rec("a2", "person:P", "2025-03-01T00:00:00Z")]})
        # one batch: the first is decided with the second
        self.assertEqual(self.due("a1"), parse_time("2028-03-01T00:00:00Z"))
        d.ok("record.event", {"id": "a2", "event": "last_activity",
                              "at": "2026-01-01T00:00:00Z"})
        self.assertEqual(self.due("a1"), parse_time("2029-01-01T00:00:00Z"))
        d.ok("record.forget", {"id": "a2"})
        self.assertEqual(self.due("a1"), parse_time("2028-01-01T00:00:00Z"))
        self.assertEqual(len(self.entries("record.redecided", "a1")), 3)

    def test_earliest(self):
        d = self.d
        d.ok("record.put", rec("a1", "person:P", "2025-05-01T00:00:00Z"))
        d.ok("record.put", rec("f1", "person:P", "2025-09-01T00:00:00Z", "t.first"))
        # the earliest activity of P is a1's, in another category
        self.assertEqual(self.due("f1"), parse_time("2026-05-01T00:00:00Z"))
        d.ok("record.put", rec("a0", "person:P", "2025-02-01T00:00:00Z"))
        self.assertEqual(self.due("f1"), parse_time("2026-02-01T00:00:00Z"))
        self.assertEqual(self.entries("record.redecided", "f1")[-1]["detail"]["cause"], "a0")

    def test_canonical_text(self):
        loaded = self.entries("rules.loaded")[-1]["detail"]
        defs = {x["name"]: x for x in loaded["definitions"]}
        self.assertIn("\ndelete 3 years after latest(last_activity) of subject\n",
                      defs["activity"]["text"])
        self.assertEqual(defs["first"]["anchor"], "earliest(last_activity) of subject")


if __name__ == "__main__":
    main()
