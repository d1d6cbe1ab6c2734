#!/usr/bin/env python3
"""The control protocol's version on the wire (lib/proto.h, doc/control-protocol.md):
every reply of retentiond says "protocol", `status` reports it, and retentionctl warns
once on stderr, without failing the command, when the daemon it talks to speaks another
version. The other versions are spoken by a small fake daemon on a socket of its own.

Run from the repository root after `make all asan helpers`:
python3 tests/integration/test_protocol_version.py
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REPO, Conn, DaemonTestCase, main  # noqa: E402

CTL = os.path.join(REPO, "build", "retentionctl")
VERSION = 1  # RTN_CONTROL_VERSION
WARNING = re.compile(r"^retentionctl: warning: .*control protocol.*\n", re.M)


def ctl(socket_path, *args, stdin=None):
    """retentionctl -s SOCKET ARGS: (exit status, stdout, stderr)."""
    if not os.access(CTL, os.X_OK):
        raise AssertionError("%s is missing: run `make`" % CTL)
    r = subprocess.run([CTL, "-s", socket_path] + list(args), input=stdin,
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, TZ="UTC"))
    return r.returncode, r.stdout, r.stderr


class FakeDaemon:
    """A control socket that answers every request line with reply(request), a dict to
    which the id is added; counts the requests it saw."""

    def __init__(self, reply):
        self.reply = reply
        self.dir = tempfile.mkdtemp(prefix="rtn-proto-")
        self.path = os.path.join(self.dir, "control.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(4)
        self.requests = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                buf = b""
                while True:
                    chunk = c.recv(1 << 20)
                    if not chunk:
                        break
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        req = json.loads(line)
                        self.requests.append(req)
                        rep = dict(self.reply(req))
                        rep["id"] = req.get("id")
                        c.sendall(json.dumps(rep).encode() + b"\n")

    def close(self):
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def answer(protocol):
    """The reply of a daemon speaking protocol (None: one that does not say it)."""
    def reply(req):
        if req["cmd"] == "record.put":
            n = len(req["args"]["records"])
            r = {"ok": True, "result": {"count": n, "inserted": n, "updated": 0}}
        elif req["cmd"] == "record.get":
            r = {"ok": False, "error": {"code": "not_found", "message": "no record \"x\""}}
        else:
            r = {"ok": True, "result": {"version": "9.9.9", "uptime": 5}}
        if protocol is not None:
            r["protocol"] = protocol
        return r
    return reply


class RealDaemon(DaemonTestCase):
    """retentiond says its version in every reply and in status."""

    def test_every_reply_says_the_version(self):
        with Conn(self.d.socket_path) as c:
            self.assertEqual(c.request("status")["protocol"], VERSION)
            self.assertEqual(c.request("no.such.command")["protocol"], VERSION)
            c.send_raw(b"not json\n")
            self.assertEqual(c.recv()["protocol"], VERSION)

    def test_status_reports_it(self):
        self.assertEqual(self.d.ok("status")["protocol"], VERSION)

    def test_retentionctl_prints_it_and_does_not_warn(self):
        rc, out, err = ctl(self.d.socket_path, "status")
        self.assertEqual((rc, err), (0, ""))
        self.assertRegex(out, r"(?m)^\s*version:\s+\S+\s*$")
        self.assertRegex(out, r"(?m)^\s*protocol:\s+%d\s*$" % VERSION)
        rc, out, err = ctl(self.d.socket_path, "--json", "status")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(json.loads(out)["protocol"], VERSION)


class OtherDaemon(unittest.TestCase):
    """retentionctl against daemons of other versions."""

    def fake(self, protocol):
        f = FakeDaemon(answer(protocol))
        self.addCleanup(f.close)
        return f

    def test_mismatch_is_warned_about_once(self):
        f = self.fake(VERSION + 1)
        rc, out, err = ctl(f.path, "status")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(WARNING.findall(err)), 1, err)
        self.assertIn("version %d" % (VERSION + 1), err)
        self.assertIn("version %d" % VERSION, err)
        self.assertIn(f.path, err)
        self.assertRegex(out, r"(?m)^\s*version:\s+9\.9\.9\s*$")

    def test_mismatch_warned_once_over_many_replies(self):
        # an import of three batches: three replies, one warning
        f = self.fake(VERSION + 1)
        lines = "".join(json.dumps({"id": "r%d" % i, "category": "t.doc"}) + "\n"
                        for i in range(25000))
        rc, out, err = ctl(f.path, "import", "-", stdin=lines)
        self.assertEqual(rc, 0, err)
        self.assertGreaterEqual(len(f.requests), 3)
        self.assertEqual(len(WARNING.findall(err)), 1, err)
        self.assertIn("imported 25,000 records", out)

    def test_mismatch_does_not_change_an_error(self):
        f = self.fake(VERSION + 1)
        rc, out, err = ctl(f.path, "record", "get", "x")
        self.assertEqual(len(WARNING.findall(err)), 1, err)
        self.assertIn('no record "x"', err)
        rc_same, _, err_same = ctl(self.fake(VERSION).path, "record", "get", "x")
        self.assertEqual(rc, rc_same)
        self.assertEqual(WARNING.sub("", err).strip(), err_same.strip())

    def test_an_unnamed_version_is_warned_about(self):
        f = self.fake("two")
        rc, _, err = ctl(f.path, "status")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(WARNING.findall(err)), 1, err)
        self.assertIn("no valid version", err)

    def test_match_is_not_warned_about(self):
        rc, _, err = ctl(self.fake(VERSION).path, "status")
        self.assertEqual((rc, err), (0, ""))

    def test_a_daemon_that_does_not_say_it_speaks_version_1(self):
        rc, _, err = ctl(self.fake(None).path, "status")
        self.assertEqual((rc, err), (0, ""))


if __name__ == "__main__":
    main()
