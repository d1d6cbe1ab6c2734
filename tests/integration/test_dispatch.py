#!/usr/bin/env python3
"""Integration tests of dispatch: due actions become jobs, go to backends, and results
come back (SPEC §6, daemon/dispatch.c, lib/jobs.c).

Each test starts null backends (build/tests/null_backend, with --log) in a temporary
directory, then the real daemon (build/asan/retentiond) configured with a `backend`
block per backend, puts records and watches what the backend receives and what the
daemon reports.  Every wait polls with a deadline; a negative ("nothing is sent") is
proved by polling that it keeps holding for a while.
Run: python3 tests/integration/test_dispatch.py
"""

import datetime as dt
import glob
import json
import os
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dispatch_util import DispatchTestCase, ScriptedBackend, stays, with_rules  # noqa: E402
from harness import DURABILITY, OSLO, main, parse_time, skip_or_fail, wait_for  # noqa: E402

# A category whose deadline is exactly its "due" event: lets a test choose the second.
T_RULES = ('rule t-due { category t.doc; delete immediately after due; '
           'basis "test: deleted at its due event" }\n')

PAST = "2001-06-01T10:00:00+02:00"


def doc(rid, due=PAST, backend="nb", **kw):
    r = {"id": rid, "category": "t.doc", "subject": "person:" + rid, "backend": backend,
         "locator": {"path": "/srv/t/%s.pdf" % rid}, "events": {"due": due}}
    r.update(kw)
    return r


class Dispatch(DispatchTestCase):
    RULES = with_rules(T_RULES)

    def log_ids(self, b, rid):
        return [e.job for e in b.log() if e.record == rid]

    # --- the plain path --------------------------------------------------------------

    def test_due_record_becomes_tombstone(self):
        b = self.backend("nb")
        d = self.up({"nb": {}})
        rec = {"id": "hr/app/1", "category": "framsikt.job_application",
               "subject": "person:7f3a", "backend": "nb",
               "locator": {"path": "/srv/hr/applications/1.pdf"},
               "events": {"received": "2001-03-01T09:30:00+01:00"},
               "attributes": {"hired": False}}
        r = d.ok("record.put", rec)
        self.assertEqual(r["records"][0]["state"], "queued", r)
        self.wait_state(["hr/app/1"], "deleted")
        log = b.log()
        self.assertEqual([(e.action, e.record, e.attempt) for e in log],
                         [("delete", "hr/app/1", 1)], log)
        g = self.assertTombstone("hr/app/1", job=log[0].job, rule="framsikt-job-applications")
        self.assertEqual(g["category"], "framsikt.job_application")
        self.assertLessEqual(abs(parse_time(g["deleted"]["at"]) - time.time()), 60, g)
        jobs = self.jobs()
        self.assertEqual([(j["job"], j["record"], j["action"], j["state"], j["attempts"])
                          for j in jobs], [(log[0].job, "hr/app/1", "delete", "done", 1)])
        st = d.ok("status")
        self.assertEqual(st["jobs"]["done"], 1, st["jobs"])
        nb = self.backend_status("nb")
        self.assertTrue(nb["connected"], nb)
        self.assertEqual((nb["done"], nb["failed"], nb["inflight"]), (1, 0, 0), nb)

    def test_anonymize_then_delete(self):
        b = self.backend("nb")
        d = self.up({"nb": {}})
        # noon (Oslo) 100 days ago: anonymize 12 weeks after is due, delete 1 year after not
        day = dt.datetime.now(OSLO).date() - dt.timedelta(days=100)
        if day.month == 2 and day.day == 29:
            day -= dt.timedelta(days=1)
        sent = dt.datetime(day.year, day.month, day.day, 12, 0, 0, tzinfo=OSLO)
        delete_at = int(sent.replace(year=sent.year + 1).timestamp())
        d.ok("record.put", {"id": "vta-1", "category": "spekter.vta_participant",
                            "subject": "person:v", "backend": "nb",
                            "locator": {"row": 1},
                            "events": {"report_sent": int(sent.timestamp())}})
        self.wait_state(["vta-1"], "anonymized")
        g = d.get("vta-1")
        self.assertSchedule(g["schedule"],
                            [("delete", delete_at, "spekter-vta-participants-delete")])
        self.assertEqual([(e.action, e.record) for e in b.log()], [("anonymize", "vta-1")])
        jobs = self.jobs()
        self.assertEqual([(j["action"], j["rule"], j["state"]) for j in jobs],
                         [("anonymize", "spekter-vta-participants-anonymize", "done")], jobs)
        self.assertEqual(jobs[0]["job"], b.log()[0].job)
        # the delete is a year away: nothing more goes out
        stays(lambda: len(b.log()) == 1 and d.state("vta-1") == "anonymized", 1.0,
              what="nothing more sent after the anonymization")
        # acted on: it stays as proof
        e = d.err("record.forget", {"id": "vta-1"}, "conflict")
        self.assertIn("anonymized", e["message"])
        self.assertEqual(d.state("vta-1"), "anonymized")

    def test_tombstone_id_not_reused(self):
        """A deleted record's id stays a tombstone. A single put with it, or a forget, is
        a conflict; in a batch (an import run again) it is counted as already deleted and
        skipped, and the rest is stored: the tombstone unchanged, no new job, no entry."""
        b = self.backend("nb")
        d = self.up({"nb": {}})
        d.ok("record.put", doc("c/1"))
        self.wait_state(["c/1"], "deleted")
        job = b.log()[0].job
        e = d.err("record.put", doc("c/1"), "conflict")
        self.assertIn("tombstone", e["message"])
        puts = len(d.ok("audit.query", {"type": "record.put", "record": "c/1"})["entries"])
        r = d.ok("record.put", {"records": [doc("c/2", due="2999-01-01T00:00:00Z"), doc("c/1")]})
        self.assertEqual((r["count"], r["inserted"], r["already_deleted"]), (1, 1, 1), r)
        self.assertEqual(d.state("c/2"), "active")
        r = d.ok("record.put", {"records": [doc("c/1")], "quiet": True})
        self.assertEqual((r["count"], r["already_deleted"]), (0, 1), r)
        d.err("record.forget", {"id": "c/1"}, "conflict")
        self.assertTombstone("c/1", job=job, rule="t-due")
        self.assertEqual(
            len(d.ok("audit.query", {"type": "record.put", "record": "c/1"})["entries"]), puts,
            "a skipped tombstone wrote a record.put entry")
        stays(lambda: len(b.log()) == 1, 1.0, what="no new job for the tombstone")
        self.assertEqual(len(self.jobs()), 1, self.jobs())

    # --- failures and retries ---------------------------------------------------------

    def test_failed_job_retried_with_same_id(self):
        b = self.backend("nb", "--fail-every", "2")
        d = self.up({"nb": {"retry": "2 seconds .. 2 seconds"}})
        self.put([doc("a"), doc("b")])

        def retrying():
            js = self.jobs("retry")
            return js if js and js[0].get("last_error") else None
        js = wait_for(retrying, 10, what="a job in state retry with last_error")
        self.assertEqual(len(js), 1, js)
        failed = js[0]
        self.assertIn("simulated failure", failed["last_error"])
        self.assertEqual(failed["attempts"], 1, failed)
        self.assertIsNotNone(failed["next_attempt"], failed)
        self.wait_state(["a", "b"], "deleted", 15)
        rid = failed["record"]
        sends = [(e.job, e.attempt) for e in b.log() if e.record == rid]
        self.assertEqual(sends, [(failed["job"], 1), (failed["job"], 2)], b.log())
        self.assertTombstone(rid, job=failed["job"])
        done = {j["job"]: j for j in self.jobs("done")}
        self.assertEqual(len(done), 2, done)
        self.assertEqual(done[failed["job"]]["attempts"], 2, done)
        self.assertEqual(d.ok("status")["jobs"]["retry"], 0)

    def test_fail_permanent_is_dead_at_once(self):
        b = self.backend("nb", "--fail-every", "1", "--fail-permanent")
        d = self.up({"nb": {"retry": "1 second .. 1 second"}})
        self.put([doc("p")])
        self.wait_state(["p"], "failed", 10)
        st = d.ok("status")
        self.assertEqual(st["jobs"]["dead"], 1, st["jobs"])
        self.assertEqual(st["jobs"]["done"], 0, st["jobs"])
        dead = self.jobs("dead")
        self.assertEqual(len(dead), 1, dead)
        self.assertEqual(dead[0]["record"], "p")
        self.assertIn("simulated failure", dead[0]["last_error"] or "", dead)
        self.assertEqual(dead[0]["attempts"], 1, dead)
        # dead means never sent again by itself
        stays(lambda: len(b.log()) == 1 and d.state("p") == "failed", 2.5,
              what="a dead job not being sent again")
        self.assertEqual(self.jobs("retry"), [])

    def test_max_attempts_exhausted_is_dead(self):
        b = self.backend("nb", "--fail-every", "1")
        d = self.up({"nb": {"retry": "1 second .. 1 second", "max_attempts": 3}})
        self.put([doc("m")])
        self.wait_state(["m"], "failed", 20)
        dead = self.jobs("dead")
        self.assertEqual(len(dead), 1, dead)
        self.assertEqual(dead[0]["attempts"], 3, dead)
        self.assertIn("3 attempts", dead[0]["last_error"] or "", dead)
        self.assertEqual([(e.job, e.attempt) for e in b.log()],
                         [(dead[0]["job"], 1), (dead[0]["job"], 2), (dead[0]["job"], 3)])
        self.assertEqual(d.ok("status")["jobs"]["dead"], 1)
        stays(lambda: len(b.log()) == 3, 1.5, what="no fourth attempt")

    def test_jobs_retry_of_dead_job_sends_it_again(self):
        # the 2nd job fails for good; the 3rd (the manual retry) succeeds
        b = self.backend("nb", "--fail-every", "2", "--fail-permanent")
        d = self.up({"nb": {}})
        self.put([doc("x")])
        self.wait_state(["x"], "deleted")
        self.put([doc("y")])
        self.wait_state(["y"], "failed")
        dead = self.jobs("dead")
        self.assertEqual([j["record"] for j in dead], ["y"], dead)
        jid = dead[0]["job"]
        d.err("jobs.retry", {"job": "J-0000000000000000"}, "not_found")
        r = d.ok("jobs.retry", {"job": jid})
        self.assertEqual(r["requeued"], 1, r)
        self.wait_state(["y"], "deleted")
        self.assertEqual(self.log_ids(b, "y"), [jid, jid], b.log())
        self.assertTombstone("y", job=jid)
        self.assertEqual(d.ok("status")["jobs"]["dead"], 0)
        # nothing dead any more: retrying that id again finds nothing
        d.err("jobs.retry", {"job": jid}, "not_found")

    def test_silent_backend_times_out_and_is_retried(self):
        b = self.backend("nb", "--silent")
        d = self.up({"nb": {"timeout": "1 second", "retry": "1 second .. 1 second"}})
        self.put([doc("s")])
        sends = wait_for(lambda: [e for e in b.log() if e.attempt >= 2], 15,
                         what="the job to be sent a second time after a timeout")
        log = b.log()
        self.assertEqual({e.job for e in log}, {log[0].job}, log)
        self.assertEqual(log[0].attempt, 1)
        self.assertGreaterEqual(sends[0].ms - log[0].ms, 1000,
                                "re-sent before the 1 s timeout: %r" % log)
        j = wait_for(lambda: [j for j in self.jobs() if "no result" in (j["last_error"] or "")],
                     10, what="the job to show the timeout as its last error")[0]
        self.assertEqual(j["job"], log[0].job)
        self.assertIn(j["state"], ("retry", "sent"))
        self.assertNotEqual(d.state("s"), "deleted")
        # a backend that answers takes over the same socket: the same job is done
        b.kill()
        b.start("--delay-ms", "0")
        self.wait_state(["s"], "deleted", 20)
        self.assertEqual({e.job for e in b.log()}, {log[0].job})
        self.assertTombstone("s", job=log[0].job)

    def test_late_result_after_timeout_counts(self):
        # results come 1.8 s after each job, the timeout is 1 s: a late "done" is news
        b = self.backend("nb", "--delay-ms", "1800")
        d = self.up({"nb": {"timeout": "1 second", "retry": "1 second .. 1 second",
                            "max_attempts": 2}})
        ids = ["late%d" % i for i in range(3)]
        self.put([doc(i) for i in ids])
        self.wait_state(ids, "deleted", 20)
        jobs = self.jobs()
        self.assertEqual(sorted(j["record"] for j in jobs), ids)
        self.assertTrue(all(j["state"] == "done" for j in jobs), jobs)
        for e in b.log():
            self.assertTombstone(e.record, job=e.job)

    def test_jobs_retry_without_backend_stays_failed(self):
        """A dead job whose backend is not configured cannot be sent: retrying it must
        not leave the record queued with a job in "retry" for ever."""
        b = self.backend("nb")
        d = self.up({"nb": {"retry": "1 second .. 1 second"}})
        self.put([doc("lost", backend="nosuch")])
        self.wait_state(["lost"], "failed")
        jid = self.jobs("dead")[0]["job"]
        # the job is left dead (lib/ops.c: nobody could be reached) and not counted
        r = d.ok("jobs.retry", {"job": "dead"})
        self.assertEqual(r, {"requeued": 0}, r)

        def still_dead():
            return d.state("lost") == "failed" and \
                [j["state"] for j in self.jobs() if j["job"] == jid] == ["dead"]
        self.assertTrue(still_dead(), "record %s, jobs %r" % (
            d.state("lost"), [(j["state"], j["backend"], j["last_error"]) for j in self.jobs()]))
        stays(still_dead, 1.5, what="the record failed, its job dead")
        self.assertEqual(b.log(), [])

    # --- ordering and connections -------------------------------------------------------

    def test_results_out_of_order(self):
        b = self.backend("nb", "--reverse", "4")
        d = self.up({"nb": {"max_inflight": 4}})
        ids = ["o%02d" % i for i in range(12)]
        self.put([doc(i) for i in ids])
        self.wait_state(ids, "deleted", 20)
        log = b.log()
        self.assertEqual(sorted(e.record for e in log), ids, log)
        for e in log:
            self.assertTombstone(e.record, job=e.job)
        st = d.ok("status")
        self.assertEqual((st["jobs"]["done"], st["jobs"]["retry"], st["jobs"]["dead"]),
                         (12, 0, 0), st["jobs"])
        self.assertEqual(self.backend_status("nb")["done"], 12)

    def test_disconnect_resends_unanswered_under_same_ids(self):
        b = self.backend("nb", "--disconnect-after", "3", "--delay-ms", "300")
        d = self.up({"nb": {"retry": "1 second .. 1 second"}})
        ids = ["c%d" % i for i in range(6)]
        self.put([doc(i) for i in ids])
        self.wait_state(ids, "deleted", 20)
        log = b.log()
        by_rec = {}
        for e in log:
            by_rec.setdefault(e.record, set()).add(e.job)
        self.assertEqual(sorted(by_rec), ids, log)
        for rid, jobs in by_rec.items():
            self.assertEqual(len(jobs), 1, "record %s sent under several job ids: %r"
                             % (rid, jobs))
            self.assertTombstone(rid, job=next(iter(jobs)))
        first3 = [e.job for e in log[:3]]
        for jid in first3:
            self.assertGreaterEqual(len([e for e in log if e.job == jid]), 2,
                                    "job %s lost with the connection was not sent again: %r"
                                    % (jid, log))
        # exactly once: every job done once, and the backend counted 6 results
        jobs = self.jobs()
        self.assertEqual(sorted(j["record"] for j in jobs), ids, jobs)
        self.assertTrue(all(j["state"] == "done" for j in jobs), jobs)
        self.assertEqual(self.backend_status("nb")["done"], 6)
        self.assertTrue(self.backend_status("nb")["connected"])
        self.assert_deleted_once_in_audit(ids)

    def assert_deleted_once_in_audit(self, ids):
        """If the audit log records job.done entries, each record has exactly one."""
        try:
            with open(self.d.audit_log, encoding="utf-8") as f:
                entries = [json.loads(ln) for ln in f if ln.strip()]
        except FileNotFoundError:
            return
        done = [e.get("record") for e in entries if e.get("type") == "job.done"]
        if not done:
            return  # the daemon does not write job entries (yet)
        for rid in ids:
            self.assertEqual(done.count(rid), 1, "job.done entries for %s: %d"
                             % (rid, done.count(rid)))

    def test_result_from_another_backend_is_ignored(self):
        """A backend may only settle the jobs sent to it: a "done" from backend evil for
        a job that is out on backend nb must not tombstone the record."""
        nb = self.backend("nb", "--silent")
        evil = ScriptedBackend(self.d.dir, "evil")
        try:
            d = self.up({"nb": {}}, blocks=evil.config())
            evil.accept().hello()
            self.put([doc("victim")])
            sent = wait_for(nb.log, 10, what="the job to reach nb")[0]
            evil.send({"type": "result", "job": sent.job, "status": "done"})
            evil.send({"type": "result", "job": "J-0000000000000000", "status": "done"})
            # evil's connection is still served (a later status works) and nothing moved
            stays(lambda: d.state("victim") == "queued", 1.0,
                  what="the record to stay queued while only nb may answer")
            self.assertEqual([(j["job"], j["state"]) for j in self.jobs()],
                             [(sent.job, "sent")])
            self.assertEqual(self.backend_status("evil")["done"], 0)
        finally:
            evil.close()
            nb.kill()  # so that the daemon need not wait for the silent job at SIGTERM

    def test_protocol_mismatch_sends_nothing(self):
        b = self.backend("nb", "--protocol", "3")
        d = self.up({"nb": {}})
        ids = ["pm1", "pm2"]
        self.put([doc(i) for i in ids])

        def mismatch():
            s = self.backend_status("nb")
            return s if s.get("state") == "protocol mismatch" else None
        s = wait_for(mismatch, 10, what="status to show the protocol mismatch")
        self.assertFalse(s["connected"], s)
        self.assertEqual(s.get("protocol"), 3, s)
        stays(lambda: b.log() == [] and all(d.state(i) == "queued" for i in ids), 2.0,
              what="nothing sent to a backend of another protocol")
        st = d.ok("status")
        self.assertEqual(st["jobs"]["sent"], 0, st["jobs"])
        self.assertEqual(self.jobs(), [])
        # the error text says what is wrong (both versions)
        s = self.backend_status("nb")
        self.assertEqual(s["state"], "protocol mismatch", s)
        self.assertIn("protocol mismatch", s.get("error", ""),
                      "status shows no error text for the mismatch: %r" % s)
        self.assertIn("2", s.get("error", ""), s)

    def test_down_backend_blocks_nothing(self):
        up = self.backend("nb")
        # a stale socket file nobody listens on: connect() is refused
        stale = os.path.join(self.d.dir, "down.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(stale)
        s.close()
        self.up({"nb": {}}, blocks="backend down {\n    socket %s\n}\n" % stale)
        d = self.d
        down_ids = ["dn%d" % i for i in range(5)]
        up_ids = ["up%d" % i for i in range(5)]
        self.put([doc(i, backend="down") for i in down_ids] + [doc(i) for i in up_ids])
        self.wait_state(up_ids, "deleted")
        self.assertEqual(sorted(up.records()), up_ids)
        # the control socket answers quickly while the daemon keeps trying the dead one
        c = d.connect(timeout=5)
        t_end = time.monotonic() + 2.5
        while time.monotonic() < t_end:
            t0 = time.monotonic()
            st = c.request("status")
            self.assertTrue(st["ok"], st)
            self.assertLess(time.monotonic() - t0, 1.0, "status took more than 1 s")
            time.sleep(0.1)
        bs = {x["name"]: x for x in st["result"]["backends"]}
        self.assertFalse(bs["down"]["connected"], bs)
        self.assertTrue(bs["nb"]["connected"], bs)
        self.assertIn(bs["down"]["state"], ("down", "connecting"), bs)
        for i in down_ids:
            self.assertEqual(d.state(i), "queued")
        # and when it comes up, its records go
        dn = self.backend("down")
        self.wait_state(down_ids, "deleted", 60)
        self.assertEqual(sorted(dn.records()), down_ids)
        # status said why it was down
        self.assertTrue(bs["down"].get("error"), "no error shown for the down backend: %r"
                        % bs["down"])

    def test_unconfigured_or_missing_backend_fails(self):
        b = self.backend("nb")
        d = self.up({"nb": {}})
        self.put([doc("nosuch", backend="nosuch"), doc("none", backend=None), doc("fine")])
        self.wait_state(["nosuch", "none"], "failed")
        self.wait_state(["fine"], "deleted")
        dead = {j["record"]: j for j in self.jobs("dead")}
        self.assertEqual(sorted(dead), ["none", "nosuch"], dead)
        self.assertIn("nosuch", dead["nosuch"]["last_error"] or "", dead)
        self.assertIn("configured", dead["nosuch"]["last_error"] or "", dead)
        self.assertIn("backend", dead["none"]["last_error"] or "", dead)
        self.assertEqual(d.ok("status")["jobs"]["dead"], 2)
        self.assertEqual(b.records(), ["fine"])

    def test_max_inflight_respected(self):
        b = self.backend("nb", "--delay-ms", "300")
        d = self.up({"nb": {"max_inflight": 2}})
        ids = ["mi%d" % i for i in range(8)]
        self.put([doc(i) for i in ids])
        seen = []
        t_end = time.monotonic() + 30
        while time.monotonic() < t_end:
            st = d.ok("status")
            nb = [x for x in st["backends"] if x["name"] == "nb"][0]
            seen.append((nb["inflight"], st["jobs"]["sent"]))
            if st["records"].get("deleted") == len(ids):
                break
            time.sleep(0.01)
        self.assertEqual(d.ok("status")["records"].get("deleted"), len(ids),
                         "not all deleted in time")
        self.assertLessEqual(max(x for x, _ in seen), 2, seen)
        self.assertLessEqual(max(y for _, y in seen), 2, seen)
        self.assertEqual(max(x for x, _ in seen), 2, "never 2 in flight: %r" % seen)
        # and on the backend's side: never more than 2 jobs received within 300 ms
        ms = sorted(e.ms for e in b.log())
        for i in range(2, len(ms)):
            self.assertGreaterEqual(ms[i] - ms[i - 2], 250, "3 jobs within 250 ms: %r" % ms)

    # offsets (seconds from now) of the deadlines test_never_early sets: from a fraction
    # of a second to several seconds; each deadline is the whole second at or after it
    NEVER_EARLY_OFFSETS = (0.2, 0.6, 1.1, 1.7, 2.5, 4.0)

    def early_receipts(self, env=None):
        """Start a daemon (with env added to its environment), put one record due at each
        NEVER_EARLY_OFFSETS second, wait until all are deleted; the list of what the
        backend received before its deadline, by the backend's own (real) clock in ms."""
        b = self.backend("nb")
        if env:
            self.d.env.update(env)
        d = self.up({"nb": {}})
        now = time.time()
        due = {"ne%d" % i: int(now + off) + (0 if (now + off) % 1 == 0 else 1)
               for i, off in enumerate(self.NEVER_EARLY_OFFSETS)}
        r = self.put([doc(i, due=t) for i, t in due.items()])
        if not env:  # what was still ahead when the reply came is not yet due
            after = time.time()
            self.assertEqual([x["id"] for x in r["records"] if x["state"] != "active"
                              and due[x["id"]] > after], [], r)
        self.wait_state(list(due), "deleted", 20)
        log = b.log()
        self.assertEqual(sorted(e.record for e in log), sorted(due), log)
        for rid in due:
            self.assertTombstone(rid)
        return ["%s received at %d ms, %d ms before its deadline %d"
                % (e.record, e.ms, due[e.record] * 1000 - e.ms, due[e.record])
                for e in log if e.ms < due[e.record] * 1000]

    def test_never_early(self):
        """Deadlines from 0.2 to 4 s away: the backend receives none before its
        deadline, by its own clock in milliseconds."""
        early = self.early_receipts()
        self.assertEqual(early, [], "jobs sent before their deadlines")

    def test_never_early_catches_a_fast_clock(self):
        """test_never_early can fail: a daemon whose clock is 1 s fast (libfaketime,
        FAKETIME=+1s) sends jobs before their deadlines by the backend's real clock."""
        lib = [p for p in glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
               + glob.glob("/usr/lib/faketime/libfaketime.so.1") if os.path.exists(p)]
        if not lib:
            skip_or_fail("libfaketime is not installed (Debian: faketime)", DURABILITY)
        early = self.early_receipts({
            "LD_PRELOAD": lib[0], "FAKETIME": "+1s", "FAKETIME_DONT_RESET": "1",
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:verify_asan_link_order=0"})
        self.assertGreaterEqual(len(early), len(self.NEVER_EARLY_OFFSETS) - 2,
                                "a daemon 1 s fast sent almost nothing early: %r" % early)

if __name__ == "__main__":
    main()
