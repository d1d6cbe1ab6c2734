#!/usr/bin/env python3
"""Integration test: strings from outside cannot forge log lines (lib/log.c).

A backend's error text and a client's record id reach the daemon's log. With a
newline in them they could write a line of their own, such as the "audit head:"
lines an auditor compares the audit log with; with an ESC they could drive the
terminal of whoever reads the log.  The daemon runs as under systemd
(JOURNAL_STREAM set, "<N>" level prefixes) and talks to a backend played by the
test.  Run: python3 tests/integration/test_log_injection.py
"""

import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dispatch_util import DispatchTestCase, ScriptedBackend, with_rules  # noqa: E402
from harness import main, wait_for  # noqa: E402

T_RULES = ('rule t-due { category t.doc; delete immediately after due; '
           'basis "test: deleted at its due event" }\n')
FORGED = "<5>audit head: seq 999 hash %s file /forged" % ("0" * 64)
HEAD_RE = re.compile(r"^<5>audit head: seq \d+ hash [0-9a-f]{64} file \S+$")


class LogInjection(DispatchTestCase):
    RULES = with_rules(T_RULES)

    def test_backend_error_and_record_id_are_one_escaped_line(self):
        evil = ScriptedBackend(self.d.dir, "evil")
        try:
            self.d.env = {"JOURNAL_STREAM": "8:1"}  # the daemon writes journald's form
            d = self.up({}, blocks=evil.config())
            evil.accept().hello()
            rid = "doc/1\n" + FORGED
            d.ok("record.put", {"id": rid, "category": "t.doc", "backend": "evil",
                                "events": {"due": "2001-06-01T10:00:00+02:00"}})
            job = evil.readline()
            self.assertEqual((job["type"], job["record"]["id"]), ("job", rid))
            evil.send({"type": "result", "job": job["job"], "status": "failed", "retry": False,
                       "error": "disk on fire\n" + FORGED + "\x1b[2J\x1b]0;owned\x07"})
            wait_for(lambda: d.state(rid) == "failed", 10, what="the job to fail")
            wait_for(lambda: "disk on fire" in d.stderr(), 10, what="the failure to be logged")
        finally:
            evil.close()
        text = d.stop()
        lines = text.splitlines()
        # nothing forged: every "audit head:" line is the daemon's own
        heads = [ln for ln in lines if ln.startswith("<5>audit head:")]
        self.assertGreaterEqual(len(heads), 2, text[-3000:])
        for ln in heads:
            self.assertRegex(ln, HEAD_RE)
            self.assertNotIn("/forged", ln)
        self.assertFalse([ln for ln in lines if re.match(r"^(<\d>)?audit head: seq 999", ln)])
        # the failure is one line, its text escaped, and no control byte reached the log
        failed = [ln for ln in lines if "disk on fire" in ln]
        self.assertEqual(len(failed), 1, failed)
        self.assertIn("doc/1\\n" + FORGED, failed[0])
        self.assertIn("disk on fire\\n" + FORGED + "\\x1b[2J\\x1b]0;owned\\x07", failed[0])
        self.assertFalse(re.search(r"[\x00-\x09\x0b-\x1f\x7f]", text),
                         "a control byte in the log: %r" % re.findall(r".{0,20}[\x00-\x09\x0b-\x1f\x7f]", text)[:3])


if __name__ == "__main__":
    main()
