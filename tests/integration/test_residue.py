#!/usr/bin/env python3
"""Deleted means gone: after its records are deleted, nothing retentiond keeps names the
people they were about.

1 000 records with subjects, locators and attribute values that carry a marker found
nowhere else; erasure requests and holds for some subjects; the records deleted through a
backend. Then no byte of the marker is anywhere in the state directory (the inventory, its
write-ahead log, the subject key), the audit log or the daemon's stderr, while
`audit.query --subject` still finds each subject's history (the entries name subjects by
their pseudonyms). With SQLite's compile-time secure_delete default turned off for the
daemon's process (an LD_PRELOAD shim, tests/shim/sqlite_insecure.c), so that the test does
not pass by the library's default alone.
"""
import json
import os
import sqlite3
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dispatch_util import DispatchTestCase, NullBackend, ScriptedBackend, with_rules  # noqa: E402
from harness import DAEMON, REPO, main, wait_for  # noqa: E402

MARK = b"qzx"  # in every subject, locator and attribute value; in no id, rule or name
N = 1000
SHIM = os.path.join(REPO, "build", "tests", "libsqlite_insecure.so")

RULES = ('rule r-due { category r.doc; delete immediately after due; '
         'basis "test: deleted at its due event" }\n')


def subject(i):
    return "person:qzx-Nordmann-%04d" % (i // 2)  # two records a subject


def record(i):
    return {"id": "r%04d" % i, "category": "r.doc", "subject": subject(i), "backend": "nb",
            "locator": {"path": "/srv/cv/qzx-%04d-cv.pdf" % i},
            "events": {"due": "2001-06-01T10:00:00Z"},
            "attributes": {"email": "qzx.%04d@example.org" % i, "score": i}}


def files_under(top):
    for dirpath, _, names in os.walk(top):
        for n in names:
            yield os.path.join(dirpath, n)


def marked(paths):
    """The paths among these that hold the marker, with the first place in each."""
    out = []
    for p in paths:
        with open(p, "rb") as f:
            data = f.read()
        at = data.find(MARK)
        if at >= 0:
            out.append("%s at %d: %r" % (p, at, data[max(0, at - 40):at + 40]))
    return out


class Residue(DispatchTestCase):
    RULES = with_rules(RULES)

    def audit_files(self):
        d = os.path.dirname(self.d.audit_log)
        base = os.path.basename(self.d.audit_log)
        return [os.path.join(d, n) for n in os.listdir(d) if n.startswith(base)]

    def test_nothing_of_the_deleted_is_left(self):
        if not os.path.exists(SHIM):
            raise AssertionError("%s is missing: run `make helpers`" % SHIM)
        # the daemon's SQLite starts every connection with secure_delete off
        self.d.env.update({"LD_PRELOAD": SHIM,
                           "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:"
                                           "verify_asan_link_order=0"})
        b = NullBackend(self.d.dir, "nb")  # not started yet: the records wait, queued
        self.backends["nb"] = b
        d = self.up({"nb": {}}, config_extra="log-level debug")  # every line it can log
        recs = [record(i) for i in range(N)]
        for k in range(0, N, 250):
            self.put(recs[k:k + 250])
        # an event and an attribute changed on some, a hold placed and released on a
        # subject, erasure requests for others
        for i in range(0, 40, 4):
            d.ok("record.event", {"id": "r%04d" % i, "event": "due", "at":
                                  "2001-06-02T10:00:00Z"})
            d.ok("record.set", {"id": "r%04d" % (i + 1),
                                "attributes": {"email": "qzx.changed.%04d@example.org" % i}})
        d.ok("hold.place", {"subject": subject(100), "hold": "check",
                            "reason": "a question from the works council"})
        d.ok("hold.release", {"subject": subject(100), "hold": "check"})
        erased = [subject(i) for i in range(200, 260, 2)]
        for s in erased:
            d.ok("erase", {"subject": s, "reason": "an erasure request by letter"})
        self.wait_state(["r%04d" % i for i in range(N)], "queued", timeout=60)
        # The marker is there while the records are: the search below can find it.
        self.assertTrue(marked(files_under(d.state_dir)), "the inventory holds no record "
                        "data before the deletions: the search for it proves nothing")

        b.start()
        self.wait_state(["r%04d" % i for i in range(N)], "deleted", timeout=120)
        wait_for(lambda: not d.ok("status")["erasures"],
                 timeout=30, what="the erasure requests to complete")

        # Each subject's history is still found by the subject, named by pseudonym.
        for s in [subject(i) for i in (0, 2, 100, 998)] + erased[:5]:
            got = d.ok("audit.query", {"subject": s, "limit": 1000})["entries"]
            types = sorted({e["type"] for e in got})
            for t in ("job.done", "job.sent", "record.put"):
                self.assertIn(t, types, (s, types))
            if s in erased:
                self.assertIn("erase.request", types, (s, types))
                self.assertIn("erase.completed", types, (s, types))
            if s == subject(100):
                self.assertIn("hold.place", types, (s, types))
            for e in got:
                self.assertEqual(e["detail"]["subject"], d.pseudonym(s), e)
                self.assertNotIn(MARK.decode(), json.dumps(e), e)

        # While it runs, a few seconds after the deletions: the write-ahead log is cut
        # off, and the database file holds none of it either.
        def clean():
            return not marked(files_under(d.state_dir))
        try:
            wait_for(clean, timeout=30, what="the state directory to hold no record data")
        except AssertionError:
            raise AssertionError("\n".join(marked(files_under(d.state_dir)))) from None

        d.stop()
        left = marked(list(files_under(d.state_dir)) + self.audit_files() +
                      [p for p in files_under(d.dir) if os.path.basename(p).startswith(
                          "stderr.")])
        self.assertEqual(left, [], "record data left after its deletion:\n" + "\n".join(left))
        key = os.path.join(d.state_dir, "subject.key")
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        # without the daemon, the key gives the pseudonym to search the log for
        out = subprocess.run([DAEMON, "--pseudonym", "--subject-key", key, subject(0),
                              subject(2)], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.split(), [d.pseudonym(subject(0)), d.pseudonym(subject(2))])
        with open(self.d.audit_log) as f:
            self.assertIn('"subject":"%s"' % out.stdout.split()[0], f.read())

    def test_subject_key(self):
        """Made at the first start, kept across restarts (the same subject, the same
        pseudonym); a key others may read, or that is not a key, stops the start."""
        b = self.backend("nb")
        d = self.up({"nb": {}})
        key = os.path.join(d.state_dir, "subject.key")
        with open(key, "rb") as f:
            first = f.read()
        self.assertRegex(first.decode(), r"^[0-9a-f]{64}\n$")
        d.ok("record.put", record(0))
        d.stop()
        d.start()
        d.ok("record.put", record(1))  # the same subject as record 0
        with open(key, "rb") as f:
            self.assertEqual(f.read(), first)
        puts = [json.loads(ln) for ln in open(d.audit_log) if '"record.put"' in ln]
        self.assertEqual(len({e["detail"]["subject"] for e in puts}), 1, puts)
        d.stop()
        b.stop()
        for mode, text, why in ((0o640, first, "may be read by group or others"),
                                (0o600, b"not a key\n", "is not a key")):
            os.chmod(key, mode)
            with open(key, "wb") as f:
                f.write(text)
            p = d.spawn()
            self.assertNotEqual(p.wait(30), 0)
            d.proc = None
            self.assertIn(why, d.stderr())
        # nothing was written under another key in the meantime
        with open(d.audit_log) as f:
            self.assertEqual(f.read().count('"type":"daemon.start"'), 2)
        # a key lost: a new one is made, and the start says that the key changed
        os.unlink(key)
        d.start()
        self.assertIn("is not the key this inventory was used with", d.stderr())
        starts = [json.loads(ln) for ln in open(d.audit_log) if '"daemon.start"' in ln]
        self.assertEqual(starts[-1]["detail"]["subject_key_before"],
                         starts[0]["detail"]["subject_key"])
        self.assertNotEqual(starts[-1]["detail"]["subject_key"],
                            starts[0]["detail"]["subject_key"])
        self.assertNotIn("subject_key_before", starts[0]["detail"])
        d.stop()
        with open(key, "wb") as f:  # for the invariants checked after the test
            f.write(first)

    def test_subjects_an_older_version_kept_in_clear_are_replaced(self):
        """An inventory of a version before pseudonyms kept the subject of each job and of
        a fulfilled erasure request in clear: the first start under a key replaces them by
        their pseudonyms, once."""
        b = self.backend("nb")
        silent = self.backend("nb2", "--silent")
        d = self.up({"nb": {}, "nb2": {}})
        self.put([record(0), record(1), record(2)])
        d.ok("erase", {"subject": subject(2), "reason": "by letter"})
        self.wait_state(["r0000", "r0001", "r0002"], "deleted")
        wait_for(lambda: not d.ok("status")["erasures"], what="the request to complete")
        d.ok("record.put", dict(record(4), backend="nb2"))  # its job is out, never answered
        wait_for(lambda: any(j["record"] == "r0004" for j in self.jobs()), what="r0004's job")
        b.stop()
        d.stop()
        silent.stop()
        db = sqlite3.connect(os.path.join(d.state_dir, "inventory.db"))
        with db:  # what the older version left
            db.execute("UPDATE jobs SET subject = 'person:qzx-old' WHERE record = 'r0004'")
            db.execute("UPDATE erasures SET subject = ?", (subject(2),))
            db.execute("DELETE FROM meta WHERE key = 'pseudonyms'")
        db.close()
        d.start()
        self.assertIn("2 subjects kept in clear by an older version replaced", d.stderr())
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(d.state_dir, "inventory.db"),
                             uri=True)
        self.assertEqual(db.execute("SELECT subject FROM erasures").fetchall(),
                         [(d.pseudonym(subject(2)),)])
        self.assertEqual(db.execute("SELECT subject FROM jobs WHERE record = 'r0004'")
                         .fetchall(), [(d.pseudonym("person:qzx-old"),)])
        db.close()
        d.stop()
        d.start()  # once: nothing more to replace
        self.assertNotIn("kept in clear", d.stderr())

    def test_backend_errors_are_kept_without_the_locator(self):
        """A backend's message that quotes the locator (a path) or the subject is kept in
        the job, its entries and the daemon's log with them replaced."""
        self.backend("nb")
        sb = ScriptedBackend(self.d.dir, "sb")
        try:
            d = self.up({"nb": {}}, blocks=sb.config().replace(
                "}\n", "    max-attempts 2\n    retry 1 second .. 1 second\n}\n"))
            sb.accept().hello()
            r = dict(record(0), backend="sb")
            self.put([r])
            path, subj = r["locator"]["path"], r["subject"]
            for attempt in (1, 2):
                job = sb.readline()
                self.assertEqual(job["record"]["id"], "r0000", job)
                sb.send({"type": "result", "job": job["job"], "status": "failed",
                         "retry": True, "error": "open %s: permission denied (%s, try %d)"
                         % (path, subj, attempt)})
            self.wait_state(["r0000"], "failed")
            with open(d.audit_log) as f:
                entries = [json.loads(ln) for ln in f
                           if '"job.failed"' in ln or '"job.dead"' in ln]
            self.assertEqual([e["type"] for e in entries], ["job.failed", "job.dead"], entries)
            self.assertEqual(entries[0]["detail"]["error"],
                             "open <locator>: permission denied (<subject>, try 1)")
            self.assertIn("open <locator>: permission denied (<subject>, try 2)",
                          entries[1]["detail"]["error"])
            self.assertIn("open <locator>: permission denied (<subject>, try 1)", d.stderr())
            self.assertIn("open <locator>: permission denied (<subject>, try 2)", d.stderr())
            job = [j for j in self.jobs() if j["record"] == "r0000"][0]
            self.assertNotIn(MARK.decode(), json.dumps(job), job)
            with open(d.audit_log, "rb") as f:
                log = f.read()
            self.assertNotIn(MARK, log)
            with open(d.stderr_path, "rb") as f:
                self.assertNotIn(MARK, f.read())
        finally:
            sb.close()


if __name__ == "__main__":
    main()
