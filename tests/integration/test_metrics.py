#!/usr/bin/env python3
"""Integration tests of metrics: `metrics` on the control socket and `retentionctl
metrics`, `metrics-file` (written every 15 s, replaced by rename) and `metrics-listen`
(GET /metrics over HTTP), against the real daemon (build/asan/retentiond) and a null
backend (build/tests/null_backend).

The text is parsed by prometheus_client's parser (Debian: python3-prometheus-client) and,
always, by a strict reader of the text exposition format 0.0.4 written here (every line
checked against the grammar, HELP and TYPE before the samples of their family), which is
also what runs when prometheus_client is not installed.

Run: python3 tests/integration/test_metrics.py
"""

import http.client
import math
import os
import re
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dispatch_util import DispatchTestCase, inventory_ro, stays, with_rules  # noqa: E402
from harness import DAEMON, REPO, Daemon, main, parse_time, wait_for  # noqa: E402

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # the strict reader below checks the format alone
    text_string_to_metric_families = None

CTL = os.path.join(REPO, "build", "asan", "retentionctl")

T_RULES = ('rule t-due { category t.doc; delete immediately after due; '
           'basis "test: deleted at its due event" }\n'
           'rule t-rev { category t.rev; delete immediately after due; review; '
           'basis "test: reviewed before deletion" }\n')
PAST = "2001-06-01T10:00:00+02:00"
FUTURE = "2999-01-01T00:00:00Z"

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_VALUE = r'"(?:[^"\\\n]|\\\\|\\"|\\n)*"'
LABELS = r"\{(?:[a-zA-Z_][a-zA-Z0-9_]*=%s(?:,[a-zA-Z_][a-zA-Z0-9_]*=%s)*)?\}" % (
    LABEL_VALUE, LABEL_VALUE)
VALUE = r"(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|Inf)|NaN)"
SAMPLE_RE = re.compile(r"^(%s)(%s)? (%s)(?: -?[0-9]+)?$" % (NAME, LABELS, VALUE))
HELP_RE = re.compile(r"^# HELP (%s) (.*)$" % NAME)
TYPE_RE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % NAME)
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)=("(?:[^"\\\n]|\\\\|\\"|\\n)*")')


def unescape(v):
    return re.sub(r'\\(\\|"|n)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v[1:-1])


def strict_parse(text):
    """{(name, frozenset(labels.items())): value} of a text in the exposition format;
    AssertionError naming the line that breaks the format."""
    if not text.endswith("\n"):
        raise AssertionError("the text does not end with a line feed: %r" % text[-80:])
    types, helps, seen_families, out = {}, {}, [], {}
    current = None
    for no, line in enumerate(text.split("\n")[:-1], 1):
        m = HELP_RE.match(line)
        if m:
            if m.group(1) in helps:
                raise AssertionError("line %d: a second HELP for %s" % (no, m.group(1)))
            helps[m.group(1)] = m.group(2)
            current = m.group(1)
            continue
        m = TYPE_RE.match(line)
        if m:
            if m.group(1) in types:
                raise AssertionError("line %d: a second TYPE for %s" % (no, m.group(1)))
            types[m.group(1)] = m.group(2)
            current = m.group(1)
            seen_families.append(current)
            continue
        if line.startswith("#") or not line:
            raise AssertionError("line %d is neither HELP, TYPE nor a sample: %r" % (no, line))
        m = SAMPLE_RE.match(line)
        if not m:
            raise AssertionError("line %d is not a sample: %r" % (no, line))
        name = m.group(1)
        if name != current or name not in types:
            raise AssertionError("line %d: sample %s outside its family (TYPE first)"
                                 % (no, name))
        labels = {}
        if m.group(2):
            for k, v in LABEL_RE.findall(m.group(2)):
                if k in labels:
                    raise AssertionError("line %d: label %s twice" % (no, k))
                labels[k] = unescape(v)
        key = (name, frozenset(labels.items()))
        if key in out:
            raise AssertionError("line %d: a second sample for %r" % (no, key))
        out[key] = float(m.group(3))
    return out, types, helps


def parse(text):
    """The samples {(name, frozenset(labels)): value}, read by prometheus_client's parser
    when it is installed (and always by the strict reader); both must agree."""
    strict, types, helps = strict_parse(text)
    for name in types:
        assert name.startswith("retentiond_"), name
        assert name in helps, "no HELP for %s" % name
        if types[name] == "counter":
            assert name.endswith("_total"), "counter %s does not end in _total" % name
    if text_string_to_metric_families is not None:
        got = {}
        for fam in text_string_to_metric_families(text):
            for s in fam.samples:
                got[(s.name, frozenset(s.labels.items()))] = s.value
        if got != strict:
            raise AssertionError("the parsers disagree:\n%r\n%r" % (got, strict))
    return strict


def value(samples, name, **labels):
    return samples[(name, frozenset(labels.items()))]


def series(samples, name):
    """{frozenset(labels): value} of one metric."""
    return {k[1]: v for k, v in samples.items() if k[0] == name}


def doc(rid, due=PAST, backend="nb", category="t.doc", subject=None):
    return {"id": rid, "category": category, "subject": subject or "person:" + rid,
            "backend": backend, "locator": {"path": "/srv/t/%s.pdf" % rid},
            "events": {"due": due}}


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Metrics(DispatchTestCase):
    RULES = with_rules(T_RULES)

    def metrics(self):
        r = self.d.ok("metrics")
        self.assertEqual(r["content_type"], "text/plain; version=0.0.4; charset=utf-8")
        return parse(r["text"])

    def test_figures_match_status(self):
        self.backend("nb")
        d = self.up({"nb": {}})
        m = self.metrics()
        self.assertEqual(value(m, "retentiond_oldest_overdue_action_age_seconds"), 0)
        self.assertEqual(value(m, "retentiond_audit_last_verify_timestamp_seconds"), 0)
        self.assertEqual(value(m, "retentiond_backend_up", backend="nb"), 1)
        self.assertEqual(value(m, "retentiond_backend_up", backend="off"), 0)
        self.assertEqual(value(m, "retentiond_info", version="0.1.0"), 1)
        self.assertEqual(series(m, "retentiond_actions_done_total"), {})

        # three due at once and done by the backend, two years away
        self.put([doc("d/1"), doc("d/2"), doc("d/3"), doc("f/1", due=FUTURE),
                  doc("f/2", due=FUTURE), doc("z/1", due=FUTURE, subject="person:z")])
        # an erasure request's action counts under the rule "erasure", not its request
        d.ok("erase", {"subject": "person:z", "reason": "ticket 7"})
        self.wait_state(["d/1", "d/2", "d/3", "z/1"], "deleted")
        m = self.metrics()
        self.assertEqual(value(m, "retentiond_actions_done_total", rule="t-due",
                               outcome="deleted"), 3)
        self.assertEqual(value(m, "retentiond_actions_done_total", rule="erasure",
                               outcome="deleted"), 1)
        self.assertEqual(value(m, "retentiond_jobs", backend="nb", state="done"), 4)
        self.assertEqual(value(m, "retentiond_jobs", backend="nb", state="sent"), 0)
        self.assertEqual(value(m, "retentiond_oldest_overdue_action_age_seconds"), 0)

        # an action awaiting review, an open erasure request (its record's backend is
        # down), and a record due on the backend that is down
        t0 = int(time.time())
        self.put([doc("r/1", category="t.rev"), doc("e/1", due=FUTURE, backend="off",
                                                    subject="person:erase-me")])
        d.ok("erase", {"subject": "person:erase-me", "reason": "asked by mail"})
        due = t0 - 100
        self.put([doc("o/1", due=due, backend="off")])
        self.assertEqual(d.state("o/1"), "queued")
        st = d.ok("status")
        m = self.metrics()
        st2 = d.ok("status")
        self.assertEqual(st["audit"]["entries"], st2["audit"]["entries"],
                         "status or metrics wrote to the audit log")

        # records and jobs as status counts them
        recs = series(m, "retentiond_records")
        got = {dict(k)["state"]: v for k, v in recs.items() if v}
        want = {k: v for k, v in st["records"].items() if k != "total" and v}
        self.assertEqual(got, want)
        self.assertEqual(sum(recs.values()), st["records"]["total"])
        jobs = {}
        for k, v in series(m, "retentiond_jobs").items():
            jobs[dict(k)["state"]] = jobs.get(dict(k)["state"], 0) + v
        self.assertEqual({k: v for k, v in jobs.items() if v},
                         {k: v for k, v in st["jobs"].items() if v})
        # the kept counts against a full count of the jobs
        ro = inventory_ro(d.state_dir)
        try:
            full = {(b, s): n for b, s, n in ro.execute(
                "SELECT backend, state, count(*) FROM jobs GROUP BY backend, state")}
            done = {}
            for r, o in ro.execute("SELECT rule, outcome FROM jobs WHERE state = 'done'"):
                r = "erasure" if r.startswith("erasure:") else r
                done[(r, o)] = done.get((r, o), 0) + 1
        finally:
            ro.close()
        self.assertEqual({(dict(k)["backend"], dict(k)["state"]): v
                          for k, v in series(m, "retentiond_jobs").items() if v}, full)
        self.assertEqual({(dict(k)["rule"], dict(k)["outcome"]): v
                          for k, v in series(m, "retentiond_actions_done_total").items()}, done)
        self.assertEqual(value(m, "retentiond_reviews_pending"), 1)
        self.assertEqual(value(m, "retentiond_reviews_pending"), st["records"]["review"])
        self.assertLessEqual(abs(value(m, "retentiond_oldest_review_age_seconds")
                                 - (time.time() - parse_time(PAST))), 5)
        self.assertEqual(value(m, "retentiond_erasure_requests_open"), len(st["erasures"]))
        self.assertEqual(value(m, "retentiond_erasure_requests_open"), 1)
        self.assertLess(value(m, "retentiond_oldest_erasure_request_age_seconds"), 60)
        self.assertIn(("retentiond_erasure_request_next_deadline_timestamp_seconds",
                       frozenset()), m)
        self.assertEqual(value(m, "retentiond_audit_entries_total"), st["audit"]["entries"])
        self.assertEqual(value(m, "retentiond_audit_ok"), 1)
        self.assertLessEqual(abs(value(m, "retentiond_start_time_seconds")
                                 - (time.time() - st["uptime"])), 3)

        # the overdue action: its age is since its deadline, and grows while the
        # backend stays down
        age1 = value(m, "retentiond_oldest_overdue_action_age_seconds")
        self.assertGreaterEqual(age1, time.time() - due - 5)
        self.assertLessEqual(age1, time.time() - due + 1)
        wait_for(lambda: value(self.metrics(), "retentiond_oldest_overdue_action_age_seconds")
                 >= age1 + 2, 10, what="the oldest overdue action's age to grow")
        # no record id or subject in any label
        text = d.ok("metrics")["text"]
        for secret in ("o/1", "r/1", "e/1", "d/1", "z/1", "person:", "erase-me", "R-"):
            self.assertNotIn(secret, text)

        # audit verify: its time
        v = d.ok("audit.verify")
        self.assertTrue(v["valid"], v)
        last = value(self.metrics(), "retentiond_audit_last_verify_timestamp_seconds")
        self.assertLessEqual(abs(last - time.time()), 5)

    def test_overdue_counts_dead_jobs(self):
        """A job the backend refused for good (dead) is an overdue action: due and not
        done."""
        self.backend("bad", "--fail-every", "1", "--fail-permanent")
        d = self.up({"bad": {"max_attempts": 1}})
        due = int(time.time()) - 300
        self.put([doc("x/1", due=due, backend="bad")])
        self.wait_state(["x/1"], "failed")
        m = self.metrics()
        self.assertEqual(value(m, "retentiond_jobs", backend="bad", state="dead"), 1)
        self.assertEqual(value(m, "retentiond_records", state="failed"), 1)
        age = value(m, "retentiond_oldest_overdue_action_age_seconds")
        self.assertGreaterEqual(age, time.time() - due - 5)
        self.assertLessEqual(age, time.time() - due + 1)
        self.assertEqual(series(m, "retentiond_actions_done_total"), {})

    def test_overdue_counts_unanswered_jobs(self):
        """A job sent to a backend that never answers is overdue from its deadline on."""
        self.backend("mute", "--silent")
        self.up({"mute": {}})
        due = int(time.time()) - 100
        self.put([doc("y/1", due=due, backend="mute")])
        wait_for(lambda: value(self.metrics(), "retentiond_jobs", backend="mute",
                               state="sent") == 1, 10, what="the job to be sent")
        m = self.metrics()
        self.assertEqual(value(m, "retentiond_backend_up", backend="mute"), 1)
        self.assertGreaterEqual(value(m, "retentiond_oldest_overdue_action_age_seconds"),
                                time.time() - due - 5)

    def test_alert_rules_name_real_metrics(self):
        """doc/alerts.yml uses only metric names the daemon exports (all of its alerts
        besides node_exporter's own file age), and names the ones the alerts are for."""
        self.backend("nb")
        self.up({"nb": {}})
        self.put([doc("e/1", due=FUTURE, backend="off", subject="person:x")])
        self.d.ok("erase", {"subject": "person:x", "reason": "ticket 1"})
        names = {k[0] for k in self.metrics()}
        with open(os.path.join(REPO, "doc", "alerts.yml"), encoding="utf-8") as f:
            text = f.read()
        try:
            import yaml
        except ImportError:
            yaml = None
        if yaml is not None:
            doc_ = yaml.safe_load(text)
            rules = [r for g in doc_["groups"] for r in g["rules"]]
            self.assertTrue(rules)
            for r in rules:
                self.assertTrue(r.get("alert") and r.get("expr"), r)
        used = set(re.findall(r"\b(retentiond_[a-z_]+)", text))
        self.assertTrue(used)
        self.assertEqual(used - names, set())
        for want in ("retentiond_oldest_overdue_action_age_seconds", "retentiond_backend_up",
                     "retentiond_oldest_review_age_seconds",
                     "retentiond_erasure_request_next_deadline_timestamp_seconds",
                     "retentiond_audit_last_verify_timestamp_seconds"):
            self.assertIn(want, used)

    def test_retentionctl_metrics(self):
        self.backend("nb")
        d = self.up({"nb": {}})
        self.put([doc("f/1", due=FUTURE)])
        r = subprocess.run([CTL, "-s", d.socket_path, "metrics"], capture_output=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        m = parse(r.stdout.decode("utf-8"))
        self.assertEqual(value(m, "retentiond_records", state="active"), 1)
        r = subprocess.run([CTL, "-s", d.socket_path, "metrics", "extra"], capture_output=True,
                           timeout=30)
        self.assertEqual(r.returncode, 2, r)
        d.err("metrics", {"since": 1}, "bad_request")


class MetricsFile(DispatchTestCase):
    RULES = with_rules(T_RULES)

    def test_file_written_and_replaced_atomically(self):
        self.backend("nb")
        out_dir = os.path.join(self.d.dir, "textfile")
        os.makedirs(out_dir)
        path = os.path.join(out_dir, "retentiond.prom")
        d = self.up({"nb": {}}, config_extra="metrics-file %s\n" % path)
        wait_for(lambda: os.path.exists(path), 10, what="the metrics file")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o644)
        with open(path, encoding="utf-8") as f:
            parse(f.read())
        ino = os.stat(path).st_ino
        self.put([doc("f/%d" % i, due=FUTURE) for i in range(5)])

        # a reader that opens the file again and again sees a whole text every time
        problems, reads, stop = [], [0], threading.Event()

        def reader():
            while not stop.is_set():
                try:
                    with open(path, encoding="utf-8") as f:
                        strict_parse(f.read())
                    reads[0] += 1
                except Exception as e:  # noqa: BLE001 - reported below
                    problems.append(repr(e))
        t = threading.Thread(target=reader)
        t.start()
        try:
            wait_for(lambda: os.stat(path).st_ino != ino, 25, interval=0.1,
                     what="the metrics file to be replaced")
        finally:
            stop.set()
            t.join()
        self.assertEqual(problems, [])
        self.assertGreater(reads[0], 10)
        with open(path, encoding="utf-8") as f:
            m = parse(f.read())
        self.assertEqual(value(m, "retentiond_records", state="active"), 5)
        self.assertEqual(value(m, "retentiond_backend_up", backend="nb"), 1)
        # no temporary file stays behind
        self.assertEqual(os.listdir(out_dir), ["retentiond.prom"])

    def test_no_file_no_timer(self):
        """Without metrics-file nothing is written anywhere in the directory."""
        self.backend("nb")
        d = self.up({"nb": {}})
        before = set(os.listdir(d.dir))
        stays(lambda: not [f for f in set(os.listdir(d.dir)) - before if "prom" in f
                           or f.startswith("metrics")], 1.0, what="no metrics file")

    def test_unwritable_directory_logged(self):
        self.backend("nb")
        path = os.path.join(self.d.dir, "missing", "retentiond.prom")
        d = self.up({"nb": {}}, config_extra="metrics-file %s\n" % path)
        wait_for(lambda: "cannot write %s" % path in d.stderr(), 10,
                 what="the write error in the log")
        d.ok("status")  # the daemon carries on


class MetricsListen(DispatchTestCase):
    RULES = with_rules(T_RULES)

    def setUp(self):
        super().setUp()
        self.backend("nb")
        self.port = free_port()
        self.up({"nb": {}}, config_extra="metrics-listen 127.0.0.1:%d\n" % self.port)

    def request(self, method, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request(method, path)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r, body

    def wait_backend_up(self):
        """Until the backend has connected (it does after the daemon is up; the text is
        made at most once a second)."""
        def up():
            r, body = self.request("GET", "/metrics")
            return value(parse(body.decode("utf-8")), "retentiond_backend_up", backend="nb")
        wait_for(lambda: up() == 1, 10, what="retentiond_backend_up 1")
        time.sleep(1.1)  # past the second of the text just made: the next GET makes it anew

    def raw(self, data):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        s.sendall(data)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
        s.close()
        return out

    def test_get_metrics(self):
        self.put([doc("f/1", due=FUTURE), doc("f/2", due=FUTURE)])
        self.wait_backend_up()
        r, body = self.request("GET", "/metrics")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        self.assertEqual(int(r.getheader("Content-Length")), len(body))
        m = parse(body.decode("utf-8"))
        self.assertEqual(value(m, "retentiond_records", state="active"), 2)
        self.assertEqual(value(m, "retentiond_backend_up", backend="nb"), 1)
        r, body = self.request("GET", "/metrics?x=1")
        self.assertEqual(r.status, 200)
        # HTTP/1.0 too, and the connection is closed after the reply
        out = self.raw(b"GET /metrics HTTP/1.0\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 200 OK\r\n"), out[:100])
        parse(out.split(b"\r\n\r\n", 1)[1].decode("utf-8"))

    def test_errors(self):
        r, _ = self.request("GET", "/")
        self.assertEqual(r.status, 404)
        r, _ = self.request("GET", "/metrics/x")
        self.assertEqual(r.status, 404)
        r, _ = self.request("POST", "/metrics")
        self.assertEqual(r.status, 405)
        self.assertEqual(r.getheader("Allow"), "GET")
        r, _ = self.request("DELETE", "/metrics")
        self.assertEqual(r.status, 405)
        self.assertTrue(self.raw(b"nonsense\r\n\r\n").startswith(b"HTTP/1.1 400 "))
        self.assertTrue(self.raw(b"GET /metrics SPDY/3\r\n\r\n").startswith(b"HTTP/1.1 400 "))
        big = b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 8192 + b"\r\n\r\n"
        self.assertTrue(self.raw(big).startswith(b"HTTP/1.1 431 "))
        # a client that sends half a request holds nobody else up, and is closed by the
        # idle timeout (5 s) without a reply
        idle = socket.create_connection(("127.0.0.1", self.port), timeout=15)
        try:
            idle.sendall(b"GET /metr")
            t0 = time.monotonic()
            r, _ = self.request("GET", "/metrics")
            self.assertEqual(r.status, 200)
            self.assertEqual(idle.recv(100), b"")
            self.assertLess(time.monotonic() - t0, 10)
            self.assertGreater(time.monotonic() - t0, 3)
        finally:
            idle.close()
        self.d.ok("status")


def ipv6_loopback_port():
    """A free port on ::1, or None when the host has no IPv6 loopback."""
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
    except OSError:
        return None
    port = s.getsockname()[1]
    s.close()
    return port


class MetricsListen6(DispatchTestCase):
    RULES = with_rules(T_RULES)

    def test_ipv6_loopback(self):
        port = ipv6_loopback_port()
        if port is None:
            self.skipTest("no IPv6 loopback on this host")
        self.backend("nb")
        self.up({"nb": {}}, config_extra="metrics-listen [::1]:%d\n" % port)

        def up():
            c = http.client.HTTPConnection("::1", port, timeout=10)
            c.request("GET", "/metrics")
            r = c.getresponse()
            body = r.read()
            c.close()
            self.assertEqual(r.status, 200)
            return value(parse(body.decode("utf-8")), "retentiond_backend_up", backend="nb")
        # the backend connects after the daemon is up, and the text is made at most once a
        # second: polled until it says so
        wait_for(lambda: up() == 1, 10, what="retentiond_backend_up 1 over [::1]")


class MetricsConfig(unittest.TestCase):

    def check(self, extra):
        d = Daemon(start=False)
        try:
            d.write_config(extra)
            r = subprocess.run([DAEMON, "--check-config", "--config", d.config_path],
                               capture_output=True, timeout=30)
            return r.returncode, r.stderr.decode("utf-8", "replace"), d.config_path
        finally:
            d.cleanup(check=False)

    def test_non_loopback_refused(self):
        for addr in ("192.0.2.1:9464", "0.0.0.0:9464", "[::]:9464", "[2001:db8::1]:9464"):
            rc, err, path = self.check("metrics-listen %s\n" % addr)
            self.assertEqual(rc, 78, err)
            self.assertRegex(err, r"%s:\d+:16: metrics-listen %s is not a loopback address"
                             % (re.escape(path), re.escape(addr)))
            rc, err, _ = self.check("metrics-listen %s\nmetrics-listen-public yes\n" % addr)
            self.assertEqual(rc, 0, err)
        for addr in ("127.0.0.1:9464", "[::1]:9464", "127.0.0.53:1"):
            rc, err, _ = self.check("metrics-listen %s\n" % addr)
            self.assertEqual(rc, 0, err)
        # the daemon itself refuses to start with it, before it opens anything
        d = Daemon(start=False)
        try:
            d.write_config("metrics-listen 192.0.2.1:9464\n")
            p = d.spawn()
            self.assertEqual(p.wait(30), 78)
            self.assertIn("is not a loopback address", d.stderr())
            self.assertFalse(os.path.exists(d.state_dir))
        finally:
            d.cleanup(check=False)

    def test_bad_options(self):
        for extra, msg in (("metrics-listen localhost:9464", "expected ADDRESS:PORT"),
                           ("metrics-listen 127.0.0.1", "expected ADDRESS:PORT"),
                           ("metrics-listen 127.0.0.1:0", "expected ADDRESS:PORT"),
                           ("metrics-listen 127.0.0.1:65536", "expected ADDRESS:PORT"),
                           ("metrics-listen ::1:9464", "expected ADDRESS:PORT"),
                           ("metrics-listen-public maybe", "expected yes or no"),
                           ("metrics-file", "needs 1 argument")):
            rc, err, path = self.check(extra + "\n")
            self.assertEqual(rc, 78, (extra, err))
            self.assertRegex(err, r"%s:\d+:\d+: .*" % re.escape(path), extra)
            self.assertIn(msg, err, extra)


class StrictReader(unittest.TestCase):
    """The strict reader itself: it must refuse what breaks the format."""

    def test_strict_reader_refuses(self):
        good = "# HELP retentiond_x a\n# TYPE retentiond_x gauge\nretentiond_x{a=\"b\\\"c\"} 1\n"
        s, _, _ = strict_parse(good)
        self.assertEqual(s, {("retentiond_x", frozenset({("a", 'b"c')})): 1.0})
        for bad in ("retentiond_x 1\n", good + "retentiond_x{a=\"b\\\"c\"} 2\n",
                    good.replace("1\n", "one\n"), good[:-1], good.replace('\\"', '"'),
                    good + "# TYPE retentiond_x gauge\n"):
            with self.assertRaises(AssertionError, msg=bad):
                strict_parse(bad)
        self.assertTrue(math.isnan(strict_parse(good.replace(" 1\n", " NaN\n"))[0][
            ("retentiond_x", frozenset({("a", 'b"c')}))]))


if __name__ == "__main__":
    main()
