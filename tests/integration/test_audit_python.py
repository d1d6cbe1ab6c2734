#!/usr/bin/env python3
"""An auditor's own verifier, in Python, against logs written by lib/audit.

Logs are written by build/tests/audit_tool (tests/helpers/audit_tool.c, linked with
librtn; `make helpers` builds it) and checked here with nothing but hashlib and json:
each line is json.dumps(entry, sort_keys=True, separators=(",", ":"),
ensure_ascii=True) byte for byte, hash = sha256(prev + that form without "hash"),
seq counts up by one, prev is the previous hash, rotation carries the chain on.  The
C verifier and this one must name the same first bad line of a tampered log.
Run: python3 tests/integration/test_audit_python.py
"""

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.environ.get("AUDIT_TOOL", os.path.join(REPO, "build", "tests", "audit_tool"))
GENESIS = "0" * 64


def dumps(e):
    return json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def no_reals(s):
    raise ValueError("a number that is not an integer: %s" % s)


def verify(paths, journal_head=None):
    """(True, entries, head) or (False, "file:line", reason): the auditor's verifier."""
    prev, seq, n, seen = GENESIS, 0, 0, {GENESIS}
    for path in paths:
        with open(path, "rb") as f:
            lineno = 0
            for lineno, raw in enumerate(f, 1):
                where = "%s:%d" % (path, lineno)
                if not raw.endswith(b"\n"):
                    return False, where, "torn last line"
                try:
                    line = raw[:-1].decode("ascii")
                    e = json.loads(line, parse_float=no_reals, parse_constant=no_reals)
                except ValueError as exc:
                    return False, where, "not valid JSON: %s" % exc
                if not isinstance(e, dict) or dumps(e) != line:
                    return False, where, "not in canonical form"
                h = e.pop("hash", None)
                if not isinstance(e.get("prev"), str) or not isinstance(e.get("seq"), int):
                    return False, where, "malformed"
                if hashlib.sha256((e["prev"] + dumps(e)).encode()).hexdigest() != h:
                    return False, where, "hash mismatch"
                if n == 0:
                    d = e.get("detail") or {}
                    ok = (e["seq"] == 1 and e["prev"] == GENESIS) or (
                        e.get("type") == "audit.rotated" and d.get("previous_head") == e["prev"])
                    if ok:
                        seen.add(e["prev"])
                elif e["seq"] != seq + 1 or e["prev"] != prev:
                    ok = False
                else:
                    ok = True
                if not ok:
                    return False, where, "removed, inserted or reordered"
                prev, seq, n = h, e["seq"], n + 1
                seen.add(h)
    if journal_head and journal_head not in seen:
        return False, "%s:%d" % (paths[-1], lineno + 1), "truncated or rewritten"
    return True, n, prev


def slurp(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def tool(*args, stdin=None, check=True):
    p = subprocess.run([TOOL] + list(args), input=stdin, capture_output=True, text=True,
                       env=dict(os.environ, AUDIT_TOOL_ZONE="Europe/Oslo"))
    if check and p.returncode != 0:
        raise AssertionError("audit_tool %s: exit %d\n%s" % (args, p.returncode, p.stderr))
    return p


def c_verify(paths, head=None):
    args = ["verify"] + list(paths) + (["--head", head] if head else [])
    p = tool(*args, check=False)
    if p.returncode not in (0, 1):
        raise AssertionError("audit_tool verify: exit %d\n%s" % (p.returncode, p.stderr))
    return json.loads(p.stdout)


def random_string(rng):
    pool = ([chr(c) for c in range(0x20, 0x7f)] * 3 + [chr(c) for c in range(1, 0x20)] +
            ["\x7f", "\x80", "\xa0", "\xe9", "\xf8", "\u0100", "\u07ff", "\u0800", "\u2028",
             "\ud7ff", "\ue000", "\ufeff", "\ufffd", "\uffff", "\U00010000", "\U0001f4c4",
             "\U0010ffff", '"', "\\", "/"])
    return "".join(rng.choice(pool) for _ in range(rng.randrange(0, 12)))


def random_value(rng, depth=0):
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return rng.choice([0, 1, -1, 42, -(2 ** 63), 2 ** 63 - 1, rng.randrange(-10 ** 12, 10 ** 12)])
    if kind == 1:
        return rng.choice([True, False, None])
    if kind in (2, 3, 4):
        return random_string(rng)
    if kind in (5, 6):
        return {random_string(rng): random_value(rng, depth + 1) for _ in range(rng.randrange(4))}
    return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]


class AuditPython(unittest.TestCase):
    def setUp(self):
        if not os.access(TOOL, os.X_OK):
            self.fail("%s missing: run `make helpers`" % TOOL)
        self.dir = tempfile.mkdtemp(prefix="test_audit_python.")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def test_generated_log_verifies_in_python(self):
        log = self.path("audit.log")
        seq, head = tool("append", log, "3000", "100").stdout.split()
        ok, n, h = verify([log], head)
        self.assertTrue(ok, (n, h))
        self.assertEqual((n, h), (3000, head))
        self.assertEqual(int(seq), 3000)
        first = json.loads(slurp(log).splitlines()[0])
        self.assertEqual(first["prev"], GENESIS)
        self.assertEqual(first["time"], "2026-01-01T01:00:00+01:00")
        self.assertNotIn("null", slurp(log).splitlines()[0].split('"detail"')[0])

    def test_random_details_in_both_languages(self):
        rng = random.Random(20260101)
        entries = []
        for i in range(400):
            e = {"type": rng.choice(["record.put", "job.sent", "erase.request"]),
                 "actor": rng.choice(["scheduler", "daemon", "uid:%d" % rng.randrange(70000)]),
                 "detail": {random_string(rng): random_value(rng) for _ in range(rng.randrange(5))},
                 "at": 1767225600 + i * 86400}
            for k in ("record", "category", "rule", "basis", "job"):
                if rng.random() < 0.5:
                    e[k] = random_string(rng)
            if any("\x00" in k for k in e["detail"]):
                continue
            entries.append(e)
        stdin = "".join(json.dumps(e) + "\n" for e in entries)
        # canonical form: C and Python agree byte for byte (NUL-free values only)
        objs = [e["detail"] for e in entries if "\\u0000" not in json.dumps(e["detail"])]
        out = tool("canon", stdin="".join(json.dumps(o) + "\n" for o in objs)).stdout
        self.assertEqual(out.splitlines(), [dumps(o) for o in objs])
        # a log of them verifies in Python; strings with NUL are refused by the writer
        log = self.path("random.log")
        p = tool("appendjson", log, stdin=stdin, check=False)
        refused = sum(1 for e in entries if "\\u0000" in json.dumps(e))
        self.assertEqual(p.returncode, 1 if refused else 0, p.stderr)
        seq, head = p.stdout.split()
        self.assertEqual(int(seq), len(entries) - refused)
        self.assertEqual(verify([log], head), (True, len(entries) - refused, head))
        self.assertTrue(c_verify([log], head)["valid"])

    def test_reals_are_refused(self):
        log = self.path("reals.log")
        stdin = (json.dumps({"type": "job.done", "actor": "scheduler", "detail": {"x": 1.5}}) +
                 "\n" + json.dumps({"type": "job.done", "actor": "scheduler", "detail": {"x": 1}}) +
                 "\n")
        p = tool("appendjson", log, stdin=stdin, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("stdin:1: Invalid argument", p.stderr)
        self.assertEqual(p.stdout.split()[0], "1")
        self.assertTrue(verify([log])[0])

    def test_rotation_chain(self):
        log, r1, r2 = self.path("audit.log"), self.path("audit.log.1"), self.path("audit.log.2")
        tool("append", log, "50")
        tool("rotate", log, r1)
        tool("append", log, "50")
        tool("rotate", log, r2)
        seq, head = tool("append", log, "50").stdout.split()
        self.assertEqual(int(seq), 152)
        self.assertEqual(verify([r1, r2, log], head), (True, 152, head))
        res = c_verify([r1, r2, log], head)
        self.assertEqual((res["valid"], res["entries"], res["head"]), (True, 152, head))
        first = json.loads(slurp(log).splitlines()[0])
        self.assertEqual(first["type"], "audit.rotated")
        self.assertEqual(first["detail"]["previous"], r2)
        self.assertEqual(first["detail"]["previous_head"], first["prev"])
        ok, where, _ = verify([r2, r1, log])
        self.assertEqual((ok, where), (False, r1 + ":1"))
        self.assertEqual(c_verify([r2, r1, log])["first_bad"]["file"], r1)

    def test_tampering_named_alike(self):
        log = self.path("audit.log")
        _, head = tool("append", log, "600", "0").stdout.split()
        orig = slurp(log, "rb")
        starts = [0] + [i + 1 for i, b in enumerate(orig) if b == 0x0A]
        rng = random.Random(7)
        cases = [("byte", rng.randrange(len(orig))) for _ in range(120)]
        cases += [("drop", 0), ("drop", 299), ("drop", 599), ("swap", 41), ("dup", 77),
                  ("cut", 3), ("cut", 0)]
        for kind, x in cases:
            lines = orig.splitlines(keepends=True)
            data = bytearray(orig)
            if kind == "byte":
                data[x] ^= 1 << rng.randrange(7)
                want = "%s:%d" % (log, max(i for i, s in enumerate(starts[:-1]) if s <= x) + 1)
            elif kind == "drop":
                del lines[x]
                data = b"".join(lines)
                want = "%s:%d" % (log, x + 1)
            elif kind == "swap":
                lines[x], lines[x + 1] = lines[x + 1], lines[x]
                data = b"".join(lines)
                want = "%s:%d" % (log, x + 1)
            elif kind == "dup":
                lines.insert(x, lines[x])
                data = b"".join(lines)
                want = "%s:%d" % (log, x + 2)
            else:  # cut: the last 3 lines, or half the last line
                data = orig[:starts[-1 - x]] if x else orig[:-40]
                want = "%s:%d" % (log, 600 - x + 1 if x else 600)
            t = self.path("t.log")
            with open(t, "wb") as f:
                f.write(data)
            want = want.replace(log, t)
            ok, where, why = verify([t], head)
            res = c_verify([t], head)
            bad = res.get("first_bad") or {}
            self.assertFalse(ok, (kind, x))
            self.assertEqual(where, want, (kind, x, why))
            self.assertFalse(res["valid"], (kind, x))
            self.assertEqual("%s:%d" % (bad["file"], bad["line"]), want, (kind, x, bad))

    def test_the_documented_verifier(self):
        """The short verifier printed in doc/audit-format.md works as printed."""
        doc = slurp(os.path.join(REPO, "doc", "audit-format.md"))
        section = doc.split("\n## An independent verifier in Python\n", 1)[1]
        code = section.split("```python\n", 1)[1].split("```", 1)[0]
        script = self.path("verify.py")
        with open(script, "w") as f:
            f.write(code)
        log = self.path("audit.log")
        _, head = tool("append", log, "300").stdout.split()

        def run(path, *args):
            return subprocess.run([sys.executable, script, path] + list(args),
                                  capture_output=True, text=True)
        p = run(log, head)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("valid: 300 is the last seq, head " + head, p.stdout)
        lines = slurp(log, "rb").splitlines(keepends=True)
        t = self.path("t.log")
        for name, data, want in [
                ("altered", b"".join(lines[:99] + [lines[99].replace(b'"seq":100', b'"seq":101')] +
                                     lines[100:]), "line 100:"),
                ("removed", b"".join(lines[:149] + lines[150:]), "line 150:"),
                ("swapped", b"".join(lines[:9] + [lines[10], lines[9]] + lines[11:]), "line 10:"),
                ("torn", b"".join(lines)[:-5], "line 300:"),
                ("truncated", b"".join(lines[:-2]), "line 299:")]:
            with open(t, "wb") as f:
                f.write(data)
            p = run(t, head)
            self.assertNotEqual(p.returncode, 0, name)
            self.assertIn(want, p.stderr, name)

    def test_query(self):
        log = self.path("audit.log")
        tool("append", log, "500")
        entries = [json.loads(ln) for ln in slurp(log).splitlines()]
        res = json.loads(tool("query", log, "subject=person:0007").stdout)
        want = [e["seq"] for e in entries if e.get("detail", {}).get("subject") == "person:0007"]
        self.assertEqual([e["seq"] for e in res["entries"]], want)
        res = json.loads(tool("query", log, "type=job.", "limit=5", "last").stdout)
        want = [e["seq"] for e in entries if e["type"].startswith("job.")]
        self.assertEqual([e["seq"] for e in res["entries"]], want[-5:])
        self.assertTrue(res["more"])
        res = json.loads(tool("query", log, "since=2026-01-01T02:00", "until=2026-01-01T03:00",
                              "category=job_application").stdout)
        self.assertEqual(res["count"], 60 - len([e for e in entries[60:120]
                                                 if e.get("category") != "job_application"]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
