#!/usr/bin/env python3
"""The crash-safety proof of dispatch (SPEC §6, "Durability").

10 000 records fall due for deletion through a null backend (--delay-ms 0, --log):
9 000 are already due, 1 000 have deadlines spread over the next ~20 s.  While
they are being processed the daemon is killed with SIGKILL at 20 random moments (a
random 50-700 ms after each start) and started again on the same state directory.
Then it is left to finish.  The run happens once (setUpClass); each test then checks
one property against the inventory (read-only sqlite3 on state/inventory.db), the
backend's log and the audit log:
  - every record is deleted (a tombstone naming its job);
  - each record was sent under exactly ONE job id (re-sends of that id after a kill
    are allowed and expected; their number is printed);
  - no record reached the backend before its deadline (whole seconds);
  - no job id in the backend's log is unknown to the inventory's jobs table;
  - every job is done;
  - the audit chain verifies, and every deletion has its job.done entry;
  - every invariant of tests/integration/invariants.py holds between the inventory
    and the audit log (subject to RTN_INVARIANTS, as after every integration test).
  - every restart found the head recorded before the kill (STATE/audit.head) in the log.

The daemon is the ASan+UBSan build, like the other integration tests: it runs the
whole thing in about 20 s, and the sanitizers also watch every crash and restart
path.  RTN_KILLLOOP_FAST=1 uses build/retentiond instead; RTN_KILLLOOP_SEED=N
replays a run's kill moments.
Run: python3 tests/integration/test_killloop.py
"""

import collections
import json
import os
import random
import shutil
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from dispatch_util import NullBackend, Tmpfs, inventory_ro  # noqa: E402
from harness import Daemon, main, wait_for  # noqa: E402

if os.environ.get("RTN_KILLLOOP_FAST") == "1":
    harness.DAEMON = os.path.join(harness.REPO, "build", "retentiond")

N = 10000
N_LATER = 1000       # deadlines spread over the next SPREAD seconds
SPREAD = 20
KILLS = 20
BATCH = 2500         # records per record.put: a request line is at most 1 MiB
RULES = ('rule k-due { category k.doc; delete immediately after due; '
         'basis "test: deleted at its due event" }\n')


def note(msg):
    print("kill loop: " + msg, file=sys.stderr)


class KillLoop(unittest.TestCase):
    maxDiff = 2000
    N, N_LATER, KILLS = N, N_LATER, KILLS
    FULL = None  # "state" or "audit": that file system is filled at random moments

    @classmethod
    def setUpClass(cls):
        if not os.access(harness.DAEMON, os.X_OK):
            raise AssertionError("%s is missing: run `make asan`" % harness.DAEMON)
        cls.saved_daemon = harness.DAEMON
        cls.d = d = Daemon(rules={"k.rules": RULES}, start=False)
        cls.b = b = NullBackend(d.dir, "nb", "--delay-ms", "0")
        cls.fs = None
        try:
            if cls.FULL:
                cls.fs = Tmpfs(os.path.join(d.dir, cls.FULL + "fs"), 64 * 1024 * 1024)
                if cls.FULL == "state":
                    d.state_dir = os.path.join(cls.fs.path, "state")
                else:
                    d.audit_log = os.path.join(cls.fs.path, "audit.log")
            # every restart runs the same binary, even if build/ is rebuilt meanwhile
            # (exec of a file being written fails with ETXTBSY)
            pinned = os.path.join(d.dir, "retentiond")
            shutil.copy2(harness.DAEMON, pinned)
            harness.DAEMON = pinned
            cls.run_loop()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.d.proc is not None:
                cls.d.kill()
        finally:
            harness.DAEMON = cls.saved_daemon
            if cls.fs:
                cls.fs.umount()
            cls.d.cleanup(check=False)  # test_invariants_hold checks, as a test
            cls.b.kill()

    @classmethod
    def run_loop(cls):
        d, b = cls.d, cls.b
        seed = int(os.environ.get("RTN_KILLLOOP_SEED", random.randrange(1 << 30)))
        rng = random.Random(seed)
        print(file=sys.stderr)
        note("seed %d (RTN_KILLLOOP_SEED=%d replays), daemon %s"
             % (seed, seed, cls.saved_daemon))
        b.start()
        # the guard off: thousands of overdue records put at once are what it would pause
        # (test_guard_steps), and this test is about crashes, not about the guard
        d.write_config("guard off\n" +
                       b.config(timeout="5 seconds", retry="1 second .. 2 seconds"))
        d.start()
        cls.now = now = int(time.time())
        cls.deadline = deadline = {}
        records = []
        for i in range(cls.N):
            rid = "k%05d" % i
            due = now - 3600 - i if i >= cls.N_LATER else now + 1 + (i * SPREAD) // cls.N_LATER
            deadline[rid] = due
            records.append({"id": rid, "category": "k.doc", "subject": "person:%d" % i,
                            "backend": "nb", "locator": {"n": i}, "events": {"due": due}})
        rng.shuffle(records)
        t0 = time.monotonic()
        for i in range(0, cls.N, BATCH):
            r = d.ok("record.put", {"records": records[i:i + BATCH], "quiet": True})
            assert r["count"] == len(records[i:i + BATCH]), r

        kills, full = [], 0
        for k in range(cls.KILLS):
            if cls.fs and rng.random() < 0.6:
                full += 1
                cls.fs.fill()                   # the disk fills now, then the crash
            time.sleep(rng.uniform(0.05, 0.7))  # a random moment to crash at, not a wait
            kills.append(len(b.log()))
            d.kill9()                           # also checks the sanitizers' silence
            if cls.fs:
                cls.fs.free()
            d.start()
        if cls.fs:
            note("the %s file system was full at %d of %d kills" % (cls.FULL, full, cls.KILLS))
        note("%d kills in %.1f s; jobs received by the backend at each kill: %s"
             % (cls.KILLS, time.monotonic() - t0, kills))
        assert kills[-1] > kills[0], "nothing was processed during the kills"

        def all_deleted():
            return d.ok("status")["records"].get("deleted") == cls.N
        try:
            wait_for(all_deleted, 120, interval=0.2, what="all %d records deleted" % cls.N)
        except AssertionError as e:
            raise AssertionError("%s; status %r" % (e, d.ok("status")["records"])) from None
        note("all deleted %.1f s after the first put" % (time.monotonic() - t0))
        cls.verify = d.ok("audit.verify")
        d.stop()                                # exit 0, sanitizers silent

        db = inventory_ro(d.state_dir)
        try:
            cls.recs = {row[0]: row[1:] for row in db.execute(
                "SELECT id, state, deleted_at, deleted_job FROM records")}
            cls.jobs = {row[0]: row[1:] for row in db.execute(
                "SELECT job, record, state, action FROM jobs")}
        finally:
            db.close()
        cls.log = b.log()
        with open(d.audit_log, encoding="utf-8") as f:
            cls.audit = [json.loads(ln) for ln in f if ln.strip()]
        resends = len(cls.log) - len({e.job for e in cls.log})
        note("%d jobs received by the backend for %d records: %d re-sends of the same job "
             "id after kills" % (len(cls.log), cls.N, resends))

    def check(self, problems, what):
        if problems:
            self.fail("%s: %d problem(s), the first:\n  %s"
                      % (what, len(problems), "\n  ".join(problems[:10])))

    # --- the proof ------------------------------------------------------------------

    def test_every_record_deleted(self):
        self.assertEqual(len(self.recs), self.N)
        self.check(["record %s: state %s, deleted_at %s, job %s" % (rid, s, at, job)
                    for rid, (s, at, job) in sorted(self.recs.items())
                    if s != "deleted" or at is None or not job],
                   "records not deleted")

    def test_one_job_id_per_record(self):
        sent = collections.defaultdict(set)
        for e in self.log:
            sent[e.record].add(e.job)
        self.check(["record %s was sent under %d job ids: %s" % (rid, len(sent[rid]),
                                                                  sorted(sent[rid]))
                    for rid in sorted(self.deadline) if len(sent[rid]) != 1],
                   "records not sent under exactly one job id")
        inv = collections.defaultdict(list)
        for job, (rid, _, _) in self.jobs.items():
            inv[rid].append(job)
        problems = []
        for rid in sorted(self.recs):
            if len(inv[rid]) != 1:
                problems.append("record %s has %d jobs in the inventory: %s"
                                % (rid, len(inv[rid]), inv[rid]))
            elif self.recs[rid][2] != inv[rid][0]:
                problems.append("record %s: tombstone names job %s, its job is %s"
                                % (rid, self.recs[rid][2], inv[rid][0]))
            elif sent[rid] and sent[rid] != {inv[rid][0]}:
                problems.append("record %s: sent as %s, its job is %s"
                                % (rid, sorted(sent[rid]), inv[rid][0]))
        self.check(problems, "jobs of the inventory")

    def test_never_before_deadline(self):
        self.check(["record %s received at %d, %d s before its deadline %d"
                    % (e.record, e.time, self.deadline[e.record] - e.time,
                       self.deadline[e.record])
                    for e in self.log
                    if e.record in self.deadline and e.time < self.deadline[e.record]],
                   "records sent early")
        self.assertEqual(sum(1 for rid in {e.record for e in self.log}
                             if self.deadline.get(rid, 0) > self.now), self.N_LATER,
                         "the records with future deadlines were not all sent")

    def test_no_unknown_job_ids(self):
        self.check(["the backend received job %s (record %s) unknown to the inventory"
                    % (e.job, e.record) for e in self.log if e.job not in self.jobs] +
                   ["job %s was sent for record %s but belongs to %s"
                    % (e.job, e.record, self.jobs[e.job][0])
                    for e in self.log if e.job in self.jobs and self.jobs[e.job][0] != e.record],
                   "unknown job ids")

    def test_every_job_done(self):
        self.assertEqual(len(self.jobs), self.N)
        self.check(["job %s of %s is %s (%s)" % (job, rid, state, action)
                    for job, (rid, state, action) in sorted(self.jobs.items())
                    if state != "done" or action != "delete"],
                   "jobs not done")

    def test_invariants_hold(self):
        """invariants.py over what the kills left: the harness's check after every
        test, here a test of its own so that its report stands next to the others."""
        rep = self.d.check_invariants()
        if rep is not None:
            note(rep.text().replace("\n", "\n    "))

    def test_audit_chain_valid(self):
        self.assertTrue(self.verify.get("valid"), self.verify)

    def test_audit_head_checked_at_each_start(self):
        """Each start after the first found the head recorded before the kill in the log:
        the same entry, or one that the entries written since continue."""
        starts = [e["detail"].get("audit_head") for e in self.audit
                  if e.get("type") == "daemon.start"]
        self.assertGreater(len(starts), 1)
        self.assertEqual(starts[0], "none")
        self.check(["start %d: audit_head %r" % (i, v) for i, v in enumerate(starts)
                    if i and v not in ("matched", "continued")],
                   "starts that did not find the recorded head")

    def test_audit_has_each_deletion(self):
        """SPEC §7, "Every decision lands in the audit log": each deletion has a job.done
        entry naming its record and its one job, whatever the kills hit. The entries are
        synced before the inventory commits, so a kill between the two can repeat an
        entry (the same job, answered again after the restart) but never lose one."""
        done = collections.defaultdict(list)
        for e in self.audit:
            if e.get("type") == "job.done":
                done[e.get("record")].append(e.get("job"))
        self.check(["record %s (job %s): job.done entries %s"
                    % (rid, self.recs[rid][2], done[rid])
                    for rid in sorted(self.recs)
                    if not done[rid] or set(done[rid]) != {self.recs[rid][2]}],
                   "deletions without a job.done audit entry for their one job")
        repeats = sum(len(v) - 1 for v in done.values())
        print("job.done entries repeated after kills: %d" % repeats)


class KillLoopFullState(KillLoop):
    """The same proof with the state directory's file system filling up before kills."""
    N, N_LATER, KILLS = 3000, 300, 12
    FULL = "state"


class KillLoopFullAudit(KillLoop):
    """The same proof with the audit log's file system filling up before kills."""
    N, N_LATER, KILLS = 3000, 300, 12
    FULL = "audit"


if __name__ == "__main__":
    main()
