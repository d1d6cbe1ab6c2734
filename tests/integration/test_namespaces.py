#!/usr/bin/env python3
"""Integration tests of namespace blocks in rule files against the real daemon: an erasure
request's deadline is the strictest of its records' namespaces' erasure-deadline (the
config's where none sets one), `erase` and `status` show it and who set it, and it stays
what it was when the request was made; end-of-fiscal-year(EVENT) follows the namespace's
fiscal-year-start, else the config's; a bad namespace block is refused by rules.reload
(nothing changes) and by --check-config, with FILE:LINE:COL.
Run: python3 tests/integration/test_namespaces.py
"""

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DAEMON, OSLO, UNDO_SCHEMA_5, DaemonTestCase, main, parse_time, rfc3339, local  # noqa: E402

NAMESPACES = ("namespace spekter {\n"
              "\terasure-deadline  10 days\n"
              "\tfiscal-year-start july\n"
              "}\n"
              "namespace hr { erasure-deadline 60 days }\n")
RULES = ("rule s-doc { category spekter.doc; delete 5 years after created }\n"
         "rule s-inv { category spekter.invoice\n"
         "  delete 1 year after end-of-fiscal-year(created) }\n"
         "rule h-doc { category hr.doc; delete 5 years after created }\n"
         "rule h-inv { category hr.invoice; delete 1 year after end-of-fiscal-year(created) }\n"
         "rule o-doc { category other.doc; delete 5 years after created }\n")


def days_after(t, n):
    """n calendar days after t in Oslo."""
    d = dt.datetime.fromtimestamp(t, OSLO)
    return int(dt.datetime.combine(d.date() + dt.timedelta(days=n), d.time(),
                                   OSLO).timestamp())


def doc(rid, category, subject, created=None):
    r = {"id": rid, "category": category, "subject": subject, "backend": "off",
         "locator": {"path": "/srv/" + rid}}
    if created is not None:
        r["events"] = {"created": rfc3339(created)}
    return r


class Namespaces(DaemonTestCase):
    RULES = {"a.rules": NAMESPACES, "b.rules": RULES}
    CONFIG_EXTRA = "erasure-deadline 20 days\nfiscal-year-start april\n"

    def audit(self, type_):
        with open(self.d.audit_log, encoding="utf-8") as f:
            es = [json.loads(line) for line in f if line.strip()]
        return [e for e in es if e["type"] == type_]

    def open_requests(self):
        return {e["request"]: e for e in self.d.ok("status")["erasures"]}

    def erase(self, subject, days, set_by):
        r = self.d.ok("erase", {"subject": subject, "reason": "asked"})
        self.assertEqual(r["deadline_set_by"], set_by, r)
        self.assertEqual(parse_time(r["deadline"]), days_after(parse_time(r["requested"]), days),
                         r)
        return r

    def test_erase_and_status_show_the_deadline_and_who_set_it(self):
        d = self.d
        d.ok("record.put", {"records": [
            doc("s-1", "spekter.doc", "person:a"), doc("h-1", "hr.doc", "person:a"),
            doc("h-2", "hr.doc", "person:b"), doc("o-1", "other.doc", "person:c"),
            doc("h-3", "hr.doc", "person:d"), doc("o-2", "other.doc", "person:d")]})
        ra = self.erase("person:a", 10, "spekter")   # shorter than the default wins
        rb = self.erase("person:b", 60, "hr")        # longer than the default, its own
        rc = self.erase("person:c", 20, "retentiond.conf")
        rd = self.erase("person:d", 20, "retentiond.conf")  # the default is stricter
        self.erase("person:nobody", 20, "retentiond.conf")
        ers = self.open_requests()
        for r in (ra, rb, rc, rd):
            e = ers[r["request"]]
            self.assertEqual((e["deadline"], e["deadline_set_by"]),
                             (r["deadline"], r["deadline_set_by"]), e)
        # the audit entry of each request says so too
        got = {e["detail"]["request"]: e["detail"]["deadline_set_by"]
               for e in self.audit("erase.request")}
        self.assertEqual(got[ra["request"]], "spekter")
        self.assertEqual(got[rb["request"]], "hr")
        self.assertEqual(got[rc["request"]], "retentiond.conf")
        # the rule set's entry lists the namespaces
        loaded = self.audit("rules.loaded")[-1]["detail"]
        self.assertEqual(loaded["namespaces"], [
            {"name": "hr", "erasure_deadline": "60 days", "fiscal_year_start": None},
            {"name": "spekter", "erasure_deadline": "10 days", "fiscal_year_start": "july"}])
        # a change of deadline is a rule change; made requests keep theirs
        before = d.ok("rules.list")["hash"]
        d.rule_file("a.rules", NAMESPACES.replace("10 days", "3 days"))
        r = d.ok("rules.reload")
        self.assertTrue(r["changed"], r)
        self.assertNotEqual(r["hash"], before)
        ers = self.open_requests()
        self.assertEqual((ers[ra["request"]]["deadline"], ers[ra["request"]]["deadline_set_by"]),
                         (ra["deadline"], "spekter"))
        d.ok("record.put", {"records": [doc("s-2", "spekter.doc", "person:e")]})
        self.erase("person:e", 3, "spekter")

    def test_end_of_fiscal_year(self):
        d = self.d
        created = local(2026, 3, 10, 12)
        at_start = local(2026, 7, 1)
        d.ok("record.put", {"records": [
            doc("si-1", "spekter.invoice", "p", created),
            doc("si-2", "spekter.invoice", "p", at_start),
            doc("si-3", "spekter.invoice", "p", at_start - 1),
            doc("hi-1", "hr.invoice", "p", created)]})

        def delete_at(rid):
            [e] = [e for e in d.get(rid)["schedule"] if e["action"] == "delete"]
            return parse_time(e["at"])
        # spekter's year starts in July: 2026-07-01, plus a year
        self.assertEqual(delete_at("si-1"), local(2027, 7, 1))
        # the very start of a fiscal year belongs to it
        self.assertEqual(delete_at("si-2"), local(2028, 7, 1))
        self.assertEqual(delete_at("si-3"), local(2027, 7, 1))
        # hr sets no month: the config's April
        self.assertEqual(delete_at("hi-1"), local(2027, 4, 1))

    def test_bad_namespace_block_is_refused_and_changes_nothing(self):
        d = self.d
        d.ok("record.put", {"records": [doc("si-1", "spekter.invoice", "p", local(2026, 3, 10))]})
        before = d.ok("rules.list")
        sched = d.get("si-1")["schedule"]
        loaded = len(self.audit("rules.loaded"))
        cases = [
            (NAMESPACES.replace("july", "jully"), 3, 20,
             'expected a month: january to december, or 1 to 12, found "jully"'),
            (NAMESPACES.replace("10 days", "10 dayz"), 2, 23, 'unknown unit "dayz"'),
            (NAMESPACES + "namespace spekter { }\n", 6, 1,
             'namespace "spekter" is declared twice; first at'),
            (NAMESPACES.replace("erasure-deadline  10 days", "answer-within 10 days"), 2, 2,
             'unknown setting "answer-within" in namespace "spekter"'),
        ]
        for text, line, col, msg in cases:
            d.rule_file("a.rules", text)
            e = d.err("rules.reload", None, "invalid_rules")
            probs = [p for p in e["details"] if p["severity"] == "error"]
            self.assertEqual([(os.path.basename(p["file"]), p["line"], p["col"])
                              for p in probs], [("a.rules", line, col)], probs)
            self.assertIn(msg, probs[0]["message"], probs)
            self.assertEqual(d.ok("rules.list")["hash"], before["hash"])
            self.assertEqual(d.get("si-1")["schedule"], sched)
            self.assertEqual(len(self.audit("rules.loaded")), loaded)
        # the old namespaces still decide erasure deadlines
        d.ok("record.put", {"records": [doc("s-1", "spekter.doc", "person:a")]})
        self.erase("person:a", 10, "spekter")
        # --check-config says the same, with FILE:LINE:COL
        d.rule_file("a.rules", cases[0][0])
        p = subprocess.run([DAEMON, "--check-config", "--config", d.config_path],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 78, p.stderr)
        self.assertIn("%s:3:20: %s" % (os.path.join(d.rules_dir, "a.rules"), cases[0][3]),
                      p.stderr)

    def test_schema_3_inventory_keeps_its_requests(self):
        """An inventory of schema version 3 (before a request kept who set its deadline):
        its open requests show the configuration's, which was the only one then."""
        d = self.d
        d.ok("record.put", {"records": [doc("s-1", "spekter.doc", "person:a")]})
        req = d.ok("erase", {"subject": "person:a", "reason": "asked"})
        d.stop()
        path = os.path.join(d.state_dir, "inventory.db")
        db = sqlite3.connect(path)
        db.executescript(UNDO_SCHEMA_5 + "ALTER TABLE erasures DROP COLUMN deadline_set_by;"
                         "PRAGMA user_version = 3;")
        db.close()
        d.start()
        e = self.open_requests()[req["request"]]
        self.assertEqual((e["deadline"], e["deadline_set_by"]),
                         (req["deadline"], "retentiond.conf"), e)
        ro = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        self.assertEqual(ro.execute("PRAGMA user_version").fetchone()[0], 6)
        ro.close()


if __name__ == "__main__":
    main()
