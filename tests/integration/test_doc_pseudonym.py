#!/usr/bin/env python3
"""The pseudonyms as doc/audit-format.md tells an auditor to compute them.

The Python program printed in its "Pseudonyms" section, run as printed on the daemon's
STATE/subject.key, gives the key id that the daemon's `daemon.start` entry carries as
`subject_key` and, for each subject, the `detail.subject` of the daemon's `record.put`
entry of that subject's record; `retentiond --pseudonym --subject-key` prints the same.
"""
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DAEMON, REPO, DaemonTestCase, main  # noqa: E402

RULES = 'rule r { category p.doc; delete 1 year after created; basis "test" }\n'
SUBJECTS = ["person:7f3a", "Åse Ørn <ase@example.org>", "x"]


def doc_program():
    """The python block of the section "## Pseudonyms" of doc/audit-format.md."""
    with open(os.path.join(REPO, "doc", "audit-format.md"), encoding="utf-8") as f:
        doc = f.read()
    section = doc.split("\n## Pseudonyms\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


class DocPseudonym(DaemonTestCase):
    RULES = RULES

    def test_the_documented_program_computes_what_the_daemon_writes(self):
        d = self.d
        d.ok("record.put", {"records": [
            {"id": "p%d" % i, "category": "p.doc", "subject": s,
             "events": {"created": "2026-01-01T00:00:00Z"}} for i, s in enumerate(SUBJECTS)]})
        with open(d.audit_log, encoding="ascii") as f:
            entries = [json.loads(line) for line in f]
        start = [e for e in entries if e["type"] == "daemon.start"]
        written = {e["record"]: e["detail"]["subject"] for e in entries
                   if e["type"] == "record.put"}
        self.assertEqual(len(start), 1, start)
        self.assertEqual(sorted(written), ["p0", "p1", "p2"])

        key = os.path.join(d.state_dir, "subject.key")
        script = os.path.join(d.dir, "pseudonym.py")
        with open(script, "w", encoding="utf-8") as f:
            f.write(doc_program())
        out = subprocess.run([sys.executable, script, key] + SUBJECTS,
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = out.stdout.splitlines()
        self.assertEqual(lines[0], "key id " + start[0]["detail"]["subject_key"])
        self.assertEqual(lines[1:], [written["p%d" % i] for i in range(len(SUBJECTS))])
        for p in lines[1:]:
            self.assertRegex(p, r"^hmac:[0-9a-f]{64}$")

        tool = subprocess.run([DAEMON, "--pseudonym", "--subject-key", key] + SUBJECTS,
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(tool.returncode, 0, tool.stderr)
        self.assertEqual(tool.stdout.splitlines(), lines[1:])


if __name__ == "__main__":
    main()
