#!/usr/bin/env python3
"""Notice before deletion ("notify SPAN before", retention.rules(5)) against the real
daemon and a real backend: the Python example of retention-backend(7) with NOTIFY_TO set,
which mails each notice through a sendmail program (here a script the test writes: it
keeps what it is given on its standard input, or fails when told to).

A notice is a job of its own (action "notice", audited, retried, visible in jobs list); it
comes SPAN before the deadline, never earlier; it never delays the action, which comes at
its deadline, never earlier, whatever became of the notice; a moved deadline is a new
notice (a new job id, a second mail); a hold holds the notice too.
Run: python3 tests/integration/test_notice.py
"""

import email
import email.policy
import glob
import json
import os
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dispatch_util import DispatchTestCase, stays, with_rules  # noqa: E402
from harness import main, parse_time, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(HERE)), "examples", "python-backend.py")

# The deletion DEL seconds after "due", its notice NOTE seconds before it.
def rules(delete, notify, extra=""):
    return ('rule n-del { category n.doc; delete %d seconds after due; '
            'notify %d seconds before; %s basis "test: notice before deletion" }\n'
            % (delete, notify, extra))


SENDMAIL = r'''#!/usr/bin/env python3
import os, sys, time
out = sys.argv[0] + ".d"
data = sys.stdin.buffer.read()
if os.path.exists(out + "/FAIL"):
    sys.exit(75)
name = "%s/%.6f-%d" % (out, time.time(), os.getpid())
with open(name + ".tmp", "wb") as f:
    f.write(("%r\n" % (sys.argv[1:],)).encode() + data)
os.rename(name + ".tmp", name + ".mail")
'''


class Notice(DispatchTestCase):
    RULES = with_rules(rules(12, 6))

    def start_backend(self, notify=True):
        self.root = os.path.join(self.d.dir, "files")
        os.makedirs(self.root, exist_ok=True)
        self.sendmail = os.path.join(self.d.dir, "sendmail")
        with open(self.sendmail, "w") as f:
            f.write(SENDMAIL)
        os.chmod(self.sendmail, 0o755)
        self.maildir = self.sendmail + ".d"
        os.makedirs(self.maildir, exist_ok=True)
        self.sock = os.path.join(self.d.dir, "py.sock")
        env = dict(os.environ, SENDMAIL=self.sendmail, NOTIFY_FROM="retention@example.org")
        if notify:
            env["NOTIFY_TO"] = "privacy@example.org"
        self.proc = subprocess.Popen([sys.executable, EXAMPLE, self.sock, self.root],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     env=env)

        def listening():
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(self.sock)
                return True
            except OSError:
                return False
            finally:
                s.close()
        wait_for(listening, 10, what="the Python backend's socket")

    def tearDown(self):
        if getattr(self, "proc", None):
            self.proc.terminate()
            self.proc.wait(10)
            self.proc.stderr.close()
        super().tearDown()

    def up_py(self, notify=True, attempts=20):
        self.start_backend(notify)
        self.d.write_config("backend py { socket %s\n max-inflight 8\n timeout 10 seconds\n"
                            " retry 1 second .. 1 second\n max-attempts %d }\n"
                            % (self.sock, attempts))
        self.d.start()
        return self.d

    def put_doc(self, rid, due):
        path = os.path.join(self.root, rid + ".txt")
        with open(path, "w") as f:
            f.write("personal data of %s\n" % rid)
        self.put([{"id": rid, "category": "n.doc", "subject": "person:" + rid,
                   "backend": "py", "locator": {"path": path}, "events": {"due": due}}])
        return path

    def mails(self):
        """[(time it came, argv, message)] in the order they came."""
        out = []
        for p in sorted(glob.glob(os.path.join(self.maildir, "*.mail"))):
            with open(p, "rb") as f:
                argv, _, body = f.read().partition(b"\n")
            msg = email.message_from_bytes(body, policy=email.policy.default)
            out.append((float(os.path.basename(p).split("-")[0]), argv.decode(), msg))
        return out

    def audit(self, job=None):
        with open(self.d.audit_log, encoding="utf-8") as f:
            entries = [json.loads(ln) for ln in f if ln.strip()]
        return [e for e in entries if job is None or e.get("job") == job]

    def job_of(self, action, rid):
        return [j for j in self.jobs() if j["action"] == action and j["record"] == rid]

    def assertChecked(self, actions):
        """audit.check over the whole log: nothing early, lost or missed; notices are
        no actions."""
        c = self.d.ok("audit.check", {"since": "2000-01-01", "until": "2099-01-01"})
        self.assertTrue(c["ok"], c)
        self.assertEqual((c["early"], c["lost"], c["missed"]), (0, 0, 0), c)
        self.assertEqual(c["actions"], actions, c)

    def sent_times(self, job):
        return [parse_time(e["time"]) for e in self.audit(job) if e["type"] == "job.sent"]

    # --- a notice delivered, then the action at its deadline -----------------------------

    def test_notice_before_the_action(self):
        d = self.up_py()
        due = int(time.time()) + 2
        path = self.put_doc("n1", due)
        deadline, notice_at = due + 12, due + 6
        # Shown before it is sent: in the record's schedule and in the plan.
        sched = d.get("n1")["schedule"]
        self.assertEqual([(e["action"], parse_time(e["at"]), parse_time(e["notice"]),
                           e["notice_backend"]) for e in sched],
                         [("delete", deadline, notice_at, "py")], sched)
        plan = d.ok("plan", {"until": "2099-01-01"})["actions"]
        mine = [a for a in plan if a["record"] == "n1"]
        self.assertEqual([parse_time(a["notice"]) for a in mine], [notice_at], plan)
        py = self.backend_status("py")
        self.assertEqual(py["actions"], ["delete", "notice"], py)
        stays(lambda: not self.mails(), max(0.0, notice_at - time.time() - 0.5),
              what="no notice before its time")
        wait_for(lambda: self.mails(), 30, what="the notice's mail")
        came, argv, msg = self.mails()[0]
        self.assertGreaterEqual(came, notice_at, "a notice before its time")
        self.assertLess(came, deadline)
        self.assertEqual(argv, "['-t', '-oi']")
        self.assertEqual(msg["To"], "privacy@example.org")
        self.assertEqual(msg["From"], "retention@example.org")
        notice = self.job_of("notice", "n1")
        self.assertEqual(len(notice), 1, self.jobs())
        n = notice[0]
        self.assertIn(n["job"], msg["Message-ID"])
        self.assertIn("delete", msg["Subject"])
        body = msg.get_content()
        self.assertIn("n1", body)
        self.assertIn("n-del", body)
        # The job as jobs list shows it: what it announces, its own due and the deadline.
        wait_for(lambda: self.job_of("notice", "n1")[0]["state"] == "done", 10,
                 what="the notice job to be done")
        n = self.job_of("notice", "n1")[0]
        self.assertEqual((n["announces"], n["backend"], n["outcome"]),
                         ("delete", "py", "delivered"), n)
        self.assertEqual(parse_time(n["due"]), notice_at, n)
        self.assertEqual(parse_time(n["deadline"]), deadline, n)
        # A notice done is no deletion: the record waits for its deadline, data and all.
        self.assertEqual(d.state("n1"), "active")
        self.assertTrue(os.path.exists(path))
        g = d.get("n1")
        self.assertEqual(g["schedule"][0]["action"], "delete", g)
        plan = d.ok("plan", {"until": "2099-01-01"})["actions"]
        self.assertEqual([a.get("notice") for a in plan if a["record"] == "n1"], [None], plan)
        self.wait_state(["n1"], "deleted", 30)
        self.assertFalse(os.path.exists(path))
        delete = self.job_of("delete", "n1")
        self.assertEqual(len(delete), 1, self.jobs())
        self.assertNotEqual(delete[0]["job"], n["job"])
        sent = self.sent_times(delete[0]["job"])
        self.assertTrue(sent and min(sent) >= deadline, (sent, deadline))
        self.assertLessEqual(min(sent), deadline + 5, "the action came late")
        # Audited like any job: sent and done, each saying what it announces.
        types = [(e["type"], e["detail"].get("announces"), e["detail"].get("deadline"))
                 for e in self.audit(n["job"])]
        self.assertEqual([t[0] for t in types], ["job.sent", "job.done"], types)
        for _, announces, dl in types:
            self.assertEqual(announces, "delete")
            self.assertEqual(parse_time(dl), deadline)
        self.assertEqual(len(self.mails()), 1, "one notice per deadline")
        # A notice delivered is no notice missed.
        self.assertEqual([e for e in self.audit() if e["type"] == "notice.missed"], [])
        self.assertEqual(d.ok("status")["notices_missed"], 0)
        self.assertChecked(1)

    # --- a notice whose backend is away until its action is due: missed, audited -------

    def test_notice_missed_while_its_backend_is_away(self):
        self.d.rule_file("zz-test.rules", rules(6, 3, "notify-backend mail;"))
        self.start_backend()
        mail_sock = os.path.join(self.d.dir, "mail.sock")
        self.d.write_config("backend py { socket %s\n max-inflight 8\n timeout 10 seconds\n"
                            " retry 1 second .. 1 second }\n"
                            "backend mail { socket %s\n timeout 10 seconds\n"
                            " retry 1 second .. 1 second }\n" % (self.sock, mail_sock))
        d = self.d
        d.start()
        due = int(time.time()) + 1
        path = self.put_doc("m1", due)
        deadline, notice_at = due + 6, due + 3
        sched = d.get("m1")["schedule"]
        self.assertEqual([(parse_time(e["notice"]), e["notice_backend"]) for e in sched],
                         [(notice_at, "mail")], sched)
        # The notice's backend is away: the action is done at its deadline all the same.
        self.wait_state(["m1"], "deleted", 30)
        self.assertFalse(os.path.exists(path))
        delete = self.job_of("delete", "m1")
        self.assertEqual(len(delete), 1, self.jobs())
        sent = self.sent_times(delete[0]["job"])
        self.assertTrue(sent and min(sent) >= deadline, (sent, deadline))
        self.assertLessEqual(min(sent), deadline + 5, "the action came late")
        # The notice never made is audited once, before the action's job.sent.
        log = self.audit()
        missed = [e for e in log if e["type"] == "notice.missed"]
        self.assertEqual(len(missed), 1, missed)
        m = missed[0]
        self.assertEqual((m["record"], m["rule"], m["category"], m["job"]),
                         ("m1", "n-del", "n.doc", delete[0]["job"]), m)
        x = m["detail"]
        self.assertEqual((x["action"], x["announces"], x["backend"]),
                         ("notice", "delete", "mail"), x)
        self.assertEqual(parse_time(x["deadline"]), deadline, x)
        self.assertEqual(parse_time(x["due"]), notice_at, x)
        first_sent = [e for e in log if e["type"] == "job.sent"
                      and e.get("job") == delete[0]["job"]][0]
        self.assertEqual(x["subject"], first_sent["detail"]["subject"], (x, first_sent))
        self.assertNotIn("m1", x["subject"])  # the pseudonym, not the subject itself
        self.assertEqual(x["rules"], first_sent["detail"]["rules"])
        self.assertLess(log.index(m), log.index(first_sent))
        self.assertEqual(d.ok("status")["notices_missed"], 1)
        # The notice's backend comes back: the moot notice is never sent.
        env = dict(os.environ, SENDMAIL=self.sendmail, NOTIFY_TO="privacy@example.org")
        mail_root = os.path.join(self.d.dir, "mail-files")
        os.makedirs(mail_root)
        mailer = subprocess.Popen([sys.executable, EXAMPLE, mail_sock, mail_root],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            wait_for(lambda: self.backend_status("mail")["connected"], 40,
                     what="the notice's backend to connect")
            stays(lambda: not self.job_of("notice", "m1"), 2, what="no notice job, ever")
        finally:
            mailer.terminate()
            mailer.wait(10)
        self.assertEqual(self.mails(), [])
        self.assertEqual(len([e for e in self.audit() if e["type"] == "notice.missed"]), 1)
        self.assertChecked(1)

    # --- a backend that fails every notice: the action is on time all the same -----------

    def test_failing_notices_never_delay_the_action(self):
        d = self.up_py(attempts=3)
        open(os.path.join(self.maildir, "FAIL"), "w").close()
        due = int(time.time()) + 2
        path = self.put_doc("n2", due)
        deadline = due + 12
        wait_for(lambda: any(e["type"] == "job.failed" and e.get("job", "").startswith("J-")
                             for e in self.audit()), 30, what="a failed notice")
        self.wait_state(["n2"], "deleted", 30)
        self.assertFalse(os.path.exists(path))
        delete = self.job_of("delete", "n2")[0]
        sent = self.sent_times(delete["job"])
        self.assertTrue(sent and min(sent) >= deadline, (sent, deadline))
        self.assertLessEqual(min(sent), deadline + 5, "a failing notice delayed the action")
        n = self.job_of("notice", "n2")[0]
        self.assertIn(n["state"], ("dead", "cancelled"), n)
        kinds = [e["type"] for e in self.audit(n["job"])]
        self.assertIn("job.failed", kinds)
        self.assertEqual(self.mails(), [])
        st = d.ok("status")
        self.assertEqual(st["records"].get("failed", 0), 0, st)
        self.assertChecked(1)

    # --- a moved deadline is a new notice ------------------------------------------------

    def test_moved_deadline_sends_a_new_notice(self):
        d = self.up_py()
        due = int(time.time()) + 2
        self.put_doc("n3", due)
        wait_for(lambda: len(self.mails()) == 1, 30, what="the first notice")
        first = self.job_of("notice", "n3")
        self.assertEqual(len(first), 1)
        # The same rules read again, the same record put again: no second notice.
        self.assertTrue(d.ok("rules.reload"))
        stays(lambda: len(self.mails()) == 1, 2, what="no second notice for one deadline")
        # The deletion moves 14 s later: a new deadline, a new notice under a new id.
        d.rule_file("zz-test.rules", rules(26, 6))
        d.ok("rules.reload")
        wait_for(lambda: len(self.mails()) == 2, 30, what="the notice of the new deadline")
        notices = self.job_of("notice", "n3")
        self.assertEqual(len(notices), 2, notices)
        ids = {j["job"] for j in notices}
        self.assertEqual(len(ids), 2)
        new = [j for j in notices if j["job"] != first[0]["job"]][0]
        self.assertEqual(parse_time(new["deadline"]), due + 26, new)
        came = self.mails()[1][0]
        self.assertGreaterEqual(came, due + 20, "the new notice before its time")
        self.assertIn(new["job"], self.mails()[1][2]["Message-ID"])
        self.assertEqual(d.state("n3"), "active")
        self.wait_state(["n3"], "deleted", 40)
        sent = self.sent_times(self.job_of("delete", "n3")[0]["job"])
        self.assertGreaterEqual(min(sent), due + 26)
        self.assertEqual(len(self.mails()), 2)
        self.assertChecked(1)

    # --- a hold holds the notice ---------------------------------------------------------

    def test_hold_holds_the_notice(self):
        d = self.up_py()
        due = int(time.time()) + 2
        path = self.put_doc("n4", due)
        d.ok("hold.place", {"id": "n4", "hold": "lit-1", "reason": "litigation"})
        notice_at = due + 6
        # Past the notice's time under the hold: no notice job, no mail.
        wait_for(lambda: time.time() >= notice_at + 3, 20)
        self.assertEqual(self.mails(), [])
        self.assertEqual(self.job_of("notice", "n4"), [])
        released = time.time()
        d.ok("hold.release", {"id": "n4", "hold": "lit-1"})
        # The deadline stands: its notice goes now, late but before the action.
        wait_for(lambda: self.mails(), 20, what="the notice after the hold")
        self.assertGreaterEqual(self.mails()[0][0], released)
        self.assertTrue(os.path.exists(path))
        self.wait_state(["n4"], "deleted", 30)
        sent = self.sent_times(self.job_of("delete", "n4")[0]["job"])
        self.assertGreaterEqual(min(sent), due + 12)

    # --- a backend that takes no notices ------------------------------------------------

    def test_backend_without_notices(self):
        self.d.rule_file("zz-test.rules", rules(12, 6, "backend py;"))
        d = self.up_py(notify=False)
        due = int(time.time()) + 1
        path = self.put_doc("n5", due)
        wait_for(lambda: self.job_of("notice", "n5"), 20, what="the notice job")
        n = self.job_of("notice", "n5")[0]
        self.assertEqual(n["state"], "dead", n)
        self.assertIn("does not take notices", n["last_error"])
        self.assertIn("does not take notices", d.stderr())
        self.assertIn("rule n-del sends it notices", d.stderr())
        self.assertEqual(self.backend_status("py")["actions"], ["delete"])
        self.assertEqual(d.state("n5"), "active")  # the action is not failed for it
        # a dead notice is no overdue action: the deletion is still ahead
        text = d.ok("metrics")["text"]
        self.assertRegex(text, r"(?m)^retentiond_oldest_overdue_action_age_seconds 0$")
        # retried by hand, it is given up again, never sent to this backend
        d.ok("jobs.retry", {"job": n["job"]})
        wait_for(lambda: [e for e in self.audit(n["job"]) if e["type"] == "job.dead"][1:],
                 10, what="the retried notice given up again")
        self.assertEqual([e["type"] for e in self.audit(n["job"]) if e["type"] == "job.sent"],
                         [], "a notice sent to a backend that does not take them")
        self.wait_state(["n5"], "deleted", 30)
        self.assertFalse(os.path.exists(path))
        sent = self.sent_times(self.job_of("delete", "n5")[0]["job"])
        self.assertGreaterEqual(min(sent), due + 12)


if __name__ == "__main__":
    main()
