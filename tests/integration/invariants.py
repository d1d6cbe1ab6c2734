#!/usr/bin/env python3
"""invariants.py - what must hold between a daemon's inventory and its audit log.

The harness runs check() after every integration test that started a daemon, once the
daemon has exited (or was killed); a violation fails that test.  It also runs alone:

    python3 tests/integration/invariants.py [--skip CHECK=WHY]... [--head HEX]
            [--verifier PATH] STATE_DIR AUDIT_LOG [AUDIT_LOG...]

One AUDIT_LOG is the current file: the files it continues (the `previous` of each
`audit.rotated` entry) are found and read first.  Several are taken as the chain,
oldest first.  Exit 0 when every invariant holds, 1 with the report otherwise.

The inventory (STATE_DIR/inventory.db) is read in one read-only transaction
(`mode=ro`), so a running daemon may be checked too.  The audit log may be ahead of
the inventory (its entries are synced before the inventory commits, so a crash in
between repeats entries), never behind it.  The checks, by name:

  sent   every job the inventory shows as sent at least once (attempts > 0) has a
         job.sent entry for each attempt 1..attempts, naming the job's record; a job
         that is sent or done has attempts > 0.
  done   every done job has its job.done entry; a done deletion left a tombstone (a
         tombstone with outcome `left` has no job but its record.left entry)
         (state deleted, subject, locator and attributes dropped, naming the job), a
         done anonymisation set anonymized_at; every tombstone names a done deletion
         job whose job.done is in the log, and none of its jobs keeps the record's
         subject. The job.done's `outcome` is the job row's
         and, for the deletion that made a tombstone, the tombstone's (`deleted`, or
         `not_found` when the backend answered `gone`); a `gone` status is `not_found`.
  dead   every job state the inventory shows has the entry that made it: dead has a
         job.dead after the job's last job.sent and last jobs.retry; a retry with no
         attempt yet has the jobs.retry after its last job.dead; cancelled has its
         job.cancelled after its last job.sent; a failed record has a dead job.
  hold   no job.sent for a record while a hold covering it (by id, subject or
         category, as hold.place and hold.release record them) is in place; the
         inventory's holds table is what the log's placements and releases leave.
  early  no job.sent before the job's due time (the inventory's `due`, and the entry's
         own detail.due, which every entry that names the rules hash carries), nor a
         sent_at before it; a job.done, .failed or .dead's `sent` (the first send) is
         within a minute of the time of the job's last job.sent of attempt 1 before it,
         not after the entry and not before the due time.
  counts the counts the inventory keeps for status (records per state, unmanaged
         records per category, jobs per state and backend, done jobs per rule and
         outcome) are what a full count of its records and jobs gives.
  chain  the audit chain verifies with the project's verifier, `retentiond
         --verify-audit FILE... [--head HEX]`, the chain of files is complete, and
         every line is an entry.

Standard library only; nothing here writes to the state directory or the log.
"""

import collections
import datetime as _dt
import hashlib
import hmac
import json
import os
import sqlite3
import subprocess
import sys

CHECKS = ("sent", "done", "dead", "hold", "early", "counts", "chain")
MAX_SHOWN = 15  # violations shown per check in a report; the count is always given
SENT_SLACK = 60  # seconds between a job's first send and the time of its job.sent entry

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def default_verifier():
    """The retentiond that verifies the chain: $RETENTIOND, else the ASan build, else
    the plain one."""
    for p in (os.environ.get("RETENTIOND"), os.path.join(REPO, "build", "asan", "retentiond"),
              os.path.join(REPO, "build", "retentiond")):
        if p and os.access(p, os.X_OK):
            return p
    return os.path.join(REPO, "build", "retentiond")


# --- small helpers ------------------------------------------------------------------

def parse_time(v):
    """An audit or inventory time (RFC 3339 string or integer Unix seconds) -> int, or
    None when it is neither."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if not isinstance(v, str):
        return None
    s = v[:-1] + "+00:00" if v.endswith(("Z", "z")) else v
    try:
        d = _dt.datetime.fromisoformat(s)
    except ValueError:
        return None
    if d.tzinfo is None:
        return None
    return int(d.timestamp())


def fmt_time(t):
    """Unix seconds -> "2026-03-01T08:30:00Z (1772353800)"."""
    if t is None:
        return "none"
    try:
        iso = _dt.datetime.fromtimestamp(int(t), _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        iso = "?"
    return "%s (%d)" % (iso, t)


class Violation:
    """One broken invariant: its check's name and what shows it."""
    __slots__ = ("check", "message")

    def __init__(self, check, message):
        self.check, self.message = check, message

    def __repr__(self):
        return "<%s: %s>" % (self.check, self.message)


class Entry:
    """One audit entry with where it was read."""
    __slots__ = ("pos", "file", "line", "e")

    def __init__(self, pos, file, line, e):
        self.pos, self.file, self.line, self.e = pos, file, line, e

    @property
    def type(self):
        return self.e.get("type")

    @property
    def seq(self):
        return self.e.get("seq")

    @property
    def time(self):
        return parse_time(self.e.get("time"))

    @property
    def detail(self):
        d = self.e.get("detail")
        return d if isinstance(d, dict) else {}

    def where(self):
        return "seq %s (%s:%d)" % (self.seq, os.path.basename(self.file), self.line)

    def brief(self):
        """'job.sent seq 12 at 2026-...' for messages."""
        return "%s %s at %s" % (self.type, self.where(), self.e.get("time"))


class Report:
    """What check() found: violations, the checks left out and why, and notes."""

    def __init__(self):
        self.violations = []
        self.skipped = {}
        self.notes = []
        self.files = []

    @property
    def ok(self):
        return not self.violations

    def add(self, check, message):
        if check not in self.skipped:
            self.violations.append(Violation(check, message))

    def by_check(self):
        out = collections.OrderedDict((c, []) for c in CHECKS)
        for v in self.violations:
            out[v.check].append(v)
        return out

    def text(self, max_shown=MAX_SHOWN):
        lines = []
        if self.violations:
            lines.append("%d invariant violation%s:" % (len(self.violations),
                                                        "" if len(self.violations) == 1 else "s"))
            for check, vs in self.by_check().items():
                if not vs:
                    continue
                lines.append("  [%s] %d:" % (check, len(vs)))
                for v in vs[:max_shown]:
                    lines.append("    - " + v.message)
                if len(vs) > max_shown:
                    lines.append("    ... and %d more" % (len(vs) - max_shown))
        else:
            lines.append("invariants hold")
        for check, why in self.skipped.items():
            lines.append("  (check %s left out: %s)" % (check, why))
        for n in self.notes:
            lines.append("  (note: %s)" % n)
        if self.files:
            lines.append("  (audit files: %s)" % ", ".join(self.files))
        return "\n".join(lines)


# --- reading -----------------------------------------------------------------------

def audit_chain(current):
    """The files of the chain that ends in `current`, oldest first, found by following
    each first entry's audit.rotated `previous`; and the problems on the way (a file
    the chain names that is missing). A relative `previous`, or one that is gone but
    has a namesake next to `current`, is looked up in current's directory."""
    files, problems, seen = [current], [], {os.path.abspath(current)}
    path = current
    while True:
        first = _first_entry(path)
        if not isinstance(first, dict) or first.get("type") != "audit.rotated":
            break
        prev = (first.get("detail") or {}).get("previous") if isinstance(
            first.get("detail"), dict) else None
        if not isinstance(prev, str) or not prev:
            problems.append("%s begins with an audit.rotated entry that names no previous "
                            "file" % path)
            break
        cand = prev if os.path.isabs(prev) else os.path.join(os.path.dirname(path), prev)
        if not os.path.exists(cand):
            alt = os.path.join(os.path.dirname(path), os.path.basename(prev))
            cand = alt if os.path.exists(alt) else cand
        if not os.path.exists(cand):
            problems.append("%s continues %s (seq %s), which is missing: the chain's "
                            "beginning cannot be verified" % (path, prev, first.get("seq")))
            break
        if os.path.abspath(cand) in seen:
            problems.append("the rotated files name each other in a loop at %s" % cand)
            break
        seen.add(os.path.abspath(cand))
        files.insert(0, cand)
        path = cand
    return files, problems


def _first_entry(path):
    try:
        with open(path, "rb") as f:
            line = f.readline()
    except OSError:
        return None
    try:
        return json.loads(line.decode("utf-8"))
    except ValueError:
        return None


def read_audit(paths):
    """([Entry] in log order, [unreadable line descriptions])."""
    entries, bad = [], []
    for path in paths:
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            bad.append("%s: missing" % path)
            continue
        with f:
            for no, raw in enumerate(f, 1):
                if not raw.strip():
                    bad.append("%s:%d: an empty line" % (path, no))
                    continue
                try:
                    e = json.loads(raw.decode("utf-8"))
                except ValueError as exc:
                    bad.append("%s:%d: not a JSON entry (%s)%s" % (
                        path, no, exc, "" if raw.endswith(b"\n") else ", a torn last line"))
                    continue
                if not isinstance(e, dict):
                    bad.append("%s:%d: not a JSON object" % (path, no))
                    continue
                entries.append(Entry(len(entries), path, no, e))
    return entries, bad


_JOB_COLS = ("job, rid, record, category, action, rule, due, backend, state, attempts, "
             "next_attempt, last_error, sent_at, done_at, created, updated")
_REC_COLS = ("rid, id, category, subject, locator, attributes, state, anonymized_at, "
             "deleted_at, deleted_rule, deleted_job")
# Each table's query, newest schema first: an older inventory lacks the later columns
# (they read as None).
INVENTORY_TABLES = {
    "jobs": ("SELECT " + _JOB_COLS + ", subject, anchor, anchor_time, first_sent, outcome "
             "FROM jobs", "SELECT " + _JOB_COLS + " FROM jobs"),
    "records": ("SELECT " + _REC_COLS + ", deleted_outcome FROM records",
                "SELECT " + _REC_COLS + " FROM records"),
    "holds": ("SELECT kind, value, hold, reason, placed_at, placed_by FROM holds",),
    # The counts status reads (schema version 6); none in an older inventory.
    "counts": ("SELECT kind, key, sub, n FROM counts",
               "SELECT NULL AS kind, NULL AS key, NULL AS sub, NULL AS n"),
}
NEW_COLUMNS = {"jobs": ("subject", "anchor", "anchor_time", "first_sent", "outcome"),
               "records": ("deleted_outcome",)}


def read_inventory(state_dir):
    """{table: [row dicts]} from state_dir/inventory.db in one read-only transaction, or
    None when there is no inventory."""
    path = os.path.join(state_dir, "inventory.db")
    if not os.path.exists(path):
        return None
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=30,
                         isolation_level=None)
    try:
        db.row_factory = sqlite3.Row
        db.execute("BEGIN")
        out = {}
        for t, qs in INVENTORY_TABLES.items():
            for q in qs:
                try:
                    rows = [dict(r) for r in db.execute(q)]
                    break
                except sqlite3.OperationalError:
                    if q == qs[-1]:
                        raise
            for r in rows:
                for c in NEW_COLUMNS.get(t, ()):
                    r.setdefault(c, None)
            out[t] = rows
        db.execute("COMMIT")
    finally:
        db.close()
    # The log names subjects by their pseudonyms: the inventory's are compared in that form.
    key = os.path.join(state_dir, "subject.key")
    if os.path.exists(key):
        with open(key) as f:
            k = bytes.fromhex(f.read().strip())

        def ps(s):
            return "hmac:" + hmac.new(k, s.encode(), hashlib.sha256).hexdigest()
        for r in out["records"]:
            if r["subject"] is not None:
                r["subject"] = ps(r["subject"])
        for h in out["holds"]:
            if h["kind"] == "subject":
                h["value"] = ps(h["value"])
    return out


# --- the log, indexed ---------------------------------------------------------------

class Log:
    """The audit entries indexed for the checks."""

    def __init__(self, entries):
        self.entries = entries
        self.by_job = collections.defaultdict(lambda: collections.defaultdict(list))
        self.retry_all = []        # jobs.retry entries without a job (all dead jobs)
        self.puts = collections.defaultdict(list)  # record id -> [(pos, subject)]
        self.forgets = collections.defaultdict(list)  # record id -> [pos]
        self.left = collections.defaultdict(list)  # record id -> [pos] of record.left
        self.reappeared = collections.defaultdict(list)  # record id -> [pos]
        self.holds = []            # (Entry, place?, kind, value, hold)
        for x in entries:
            t, e = x.type, x.e
            job = e.get("job")
            if t in ("job.sent", "job.done", "job.failed", "job.dead", "job.cancelled",
                     "jobs.retry") and \
                    isinstance(job, str):
                self.by_job[job][t].append(x)
            elif t == "jobs.retry":
                self.retry_all.append(x)
            elif t == "record.put" and isinstance(e.get("record"), str):
                self.puts[e["record"]].append((x.pos, x.detail.get("subject")))
            elif t == "record.forget" and isinstance(e.get("record"), str):
                self.forgets[e["record"]].append(x.pos)
            elif t == "record.left" and isinstance(e.get("record"), str):
                self.left[e["record"]].append(x.pos)
            elif t == "record.reappeared" and isinstance(e.get("record"), str):
                self.reappeared[e["record"]].append(x.pos)
            elif t in ("hold.place", "hold.release"):
                h = self._hold(x)
                if h:
                    self.holds.append((x, t == "hold.place") + h)

    @staticmethod
    def _hold(x):
        """(kind, value, hold) of a hold entry, as daemon/commands_ops.c writes it."""
        d = x.detail
        kind, name = d.get("selector"), d.get("hold")
        value = {"id": x.e.get("record"), "category": x.e.get("category"),
                 "subject": d.get("subject")}.get(kind)
        if not isinstance(value, str) or not isinstance(name, str):
            return None
        return kind, value, name

    def of(self, job, type_):
        return self.by_job.get(job, {}).get(type_, [])

    def subjects_at(self, record, pos, fallback):
        """The subjects record may have had at pos: the one its last record.put before
        pos gave it, else (no put before) its first put's and the inventory's."""
        puts = self.puts.get(record, [])
        before = [s for p, s in puts if p < pos]
        if before:
            return {before[-1]} if before[-1] is not None else set()
        out = {s for _, s in puts[:1] if s is not None}
        if fallback:
            out.add(fallback)
        return out

    def holds_at(self, pos):
        """The holds in place just before pos: {(kind, value, hold): place Entry}."""
        active = {}
        for x, place, kind, value, name in self.holds:
            if x.pos >= pos:
                break
            key = (kind, value, name)
            if place:
                active[key] = x
            else:
                active.pop(key, None)
        return active

    def covering(self, pos, record, category, subjects):
        """The holds in place at pos that cover this record, [(key, place Entry)]."""
        return [(key, x) for key, x in self.holds_at(pos).items()
                if covers(key, record, category, subjects)]


def covers(key, record, category, subjects):
    """Whether the hold (kind, value, hold) covers a record with this id, category and
    one of these subjects."""
    kind, value, _ = key
    return (kind == "id" and value == record) or (kind == "category" and value == category) \
        or (kind == "subject" and value in subjects)


def _last(xs):
    return xs[-1] if xs else None


def _after(xs, pos):
    return [x for x in xs if x.pos > pos]


# --- the checks ---------------------------------------------------------------------

def _job_desc(j):
    return ("job %s (%s of record %r by rule %s, backend %r; inventory: state %s, attempts "
            "%s, due %s, sent_at %s)" % (j["job"], j["action"], j["record"], j["rule"],
                                         j["backend"], j["state"], j["attempts"],
                                         fmt_time(j["due"]), fmt_time(j["sent_at"])))


def _entries_desc(xs, limit=4):
    if not xs:
        return "none"
    s = ", ".join(x.where() for x in xs[:limit])
    return s + (" ... (%d)" % len(xs) if len(xs) > limit else "")


def check_sent(rep, inv, log):
    for j in inv["jobs"]:
        att = j["attempts"] or 0
        sent = log.of(j["job"], "job.sent")
        if j["state"] in ("sent", "done") and att < 1:
            rep.add("sent", "%s: the job is %s but was never sent (attempts %d)"
                    % (_job_desc(j), j["state"], att))
        if att <= 0:
            continue
        if len(sent) < att:
            rep.add("sent", "%s: %d job.sent entr%s in the log (%s), fewer than its %d "
                    "attempt%s" % (_job_desc(j), len(sent), "y" if len(sent) == 1 else "ies",
                                   _entries_desc(sent), att, "" if att == 1 else "s"))
            continue
        numbered = {x.detail.get("attempt") for x in sent}
        missing = [n for n in range(1, att + 1) if n not in numbered]
        if missing and any(isinstance(a, int) for a in numbered):
            rep.add("sent", "%s: no job.sent entry for attempt%s %s (entries: %s, attempts "
                    "%s)" % (_job_desc(j), "" if len(missing) == 1 else "s",
                             ", ".join(map(str, missing)), _entries_desc(sent),
                             sorted(a for a in numbered if isinstance(a, int))))
        wrong = [x for x in sent if x.e.get("record") != j["record"]]
        if wrong:
            rep.add("sent", "%s: job.sent %s names record %r" % (
                _job_desc(j), wrong[0].where(), wrong[0].e.get("record")))


def _tombstone_problems(r, job):
    bad = []
    if r["state"] != "deleted":
        bad.append("state %s" % r["state"])
    if r["deleted_at"] is None:
        bad.append("no deleted_at")
    if r["subject"] is not None:
        bad.append("subject kept")
    if r["locator"] is not None:
        bad.append("locator kept")
    if r["attributes"] not in (None, "", "{}", "null"):
        bad.append("attributes kept")
    if job is not None and r["deleted_job"] != job:
        bad.append("it names job %s" % r["deleted_job"])
    return bad


def _check_outcome(rep, j, r, done):
    """The outcome of done job j: its last job.done says what its row and (for the
    deletion that made it) the tombstone of r say, and what the backend's status says."""
    x = _last(done)
    if x is None:
        return
    said = x.detail.get("outcome")
    if said is None:
        if "rules" in x.detail:
            rep.add("done", "%s: job.done %s carries no outcome" % (_job_desc(j), x.where()))
        return
    want = {"gone": "not_found"}.get(x.detail.get("status"),
                                     {"delete": "deleted", "notice": "delivered"}.get(
                                         j["action"], "anonymized"))
    if said != want:
        rep.add("done", "%s: job.done %s says outcome %r, but its status %r of a %s says %r"
                % (_job_desc(j), x.where(), said, x.detail.get("status"), j["action"], want))
    if j["outcome"] is not None and j["outcome"] != said:
        rep.add("done", "%s: job.done %s says outcome %r, the job row %r"
                % (_job_desc(j), x.where(), said, j["outcome"]))
    if j["action"] == "delete" and r["deleted_job"] == j["job"] and \
            r["deleted_outcome"] is not None and r["deleted_outcome"] != said:
        rep.add("done", "%s: job.done %s says outcome %r, the tombstone of record %r %r"
                % (_job_desc(j), x.where(), said, r["id"], r["deleted_outcome"]))


def check_done(rep, inv, log):
    recs = {r["rid"]: r for r in inv["records"]}
    jobs = {j["job"]: j for j in inv["jobs"]}
    for j in inv["jobs"]:
        if j["state"] != "done":
            continue
        done = log.of(j["job"], "job.done")
        if not done:
            rep.add("done", "%s: done, but no job.done entry (job.sent: %s; job.failed: %s; "
                    "job.dead: %s)" % (_job_desc(j), _entries_desc(log.of(j["job"], "job.sent")),
                                       _entries_desc(log.of(j["job"], "job.failed")),
                                       _entries_desc(log.of(j["job"], "job.dead"))))
        r = recs.get(j["rid"])
        if r is None and log.reappeared.get(j["record"]):
            continue  # deleted, seen again by a scan: the record lives on under a new row
        if r is None:
            rep.add("done", "%s: done, but its record (row %s) is gone from the inventory, "
                    "tombstone and all" % (_job_desc(j), j["rid"]))
            continue
        _check_outcome(rep, j, r, done)
        if j["action"] == "delete":
            bad = _tombstone_problems(r, j["job"])
            if bad:
                rep.add("done", "%s: done, but record %r is not its tombstone: %s"
                        % (_job_desc(j), r["id"], ", ".join(bad)))
        elif j["action"] == "anonymize":
            if r["anonymized_at"] is None and r["deleted_at"] is None:
                rep.add("done", "%s: done, but record %r was not marked anonymized (state %s)"
                        % (_job_desc(j), r["id"], r["state"]))
    for r in inv["records"]:
        if r["deleted_at"] is None and r["state"] != "deleted":
            continue
        bad = _tombstone_problems(r, None)
        j = jobs.get(r["deleted_job"]) if r["deleted_job"] else None
        if r["deleted_outcome"] == "left":
            # gone by other means (a scan no longer saw it): no job of ours, but its entry
            if r["deleted_job"]:
                bad.append("it left by other means, yet names job %s" % r["deleted_job"])
            if not log.left.get(r["id"]):
                bad.append("it left by other means, but there is no record.left entry")
        elif j is None:
            bad.append("its job %s is not in the inventory" % r["deleted_job"])
        elif j["state"] != "done" or j["action"] != "delete":
            bad.append("its job %s is a %s job in state %s" % (j["job"], j["action"],
                                                                 j["state"]))
        if r["deleted_job"] and not log.of(r["deleted_job"], "job.done"):
            bad.append("no job.done entry for job %s" % r["deleted_job"])
        kept = [x["job"] for x in inv["jobs"] if x["rid"] == r["rid"] and x["subject"]]
        if kept:
            bad.append("job %s keeps the subject" % kept[0])
        if bad:
            rep.add("done", "tombstone of record %r (deleted %s by rule %s): %s"
                    % (r["id"], fmt_time(r["deleted_at"]), r["deleted_rule"], ", ".join(bad)))


def _retries_of(log, job):
    """jobs.retry entries that requeued this job by name."""
    return [x for x in log.of(job, "jobs.retry") if x.detail.get("requeued", 1) != 0]


def check_dead(rep, inv, log):
    recs = {r["rid"]: r for r in inv["records"]}
    dead_rids = set()
    for j in inv["jobs"]:
        job, st = j["job"], j["state"]
        sent, dead = log.of(job, "job.sent"), log.of(job, "job.dead")
        if st == "dead":
            dead_rids.add(j["rid"])
            last_sent, last_retry = _last(sent), _last(_retries_of(log, job))
            floor = max([x.pos for x in (last_sent, last_retry) if x] or [-1])
            if not _after(dead, floor):
                why = "no job.dead entry at all" if not dead else (
                    "no job.dead after its last %s (job.dead: %s)" % (
                        "job.sent " + last_sent.where() if last_sent and last_sent.pos == floor
                        else "jobs.retry " + last_retry.where(), _entries_desc(dead)))
                rep.add("dead", "%s: dead (%s), but %s; job.sent: %s"
                        % (_job_desc(j), j["last_error"], why, _entries_desc(sent)))
        elif st == "retry" and (j["attempts"] or 0) == 0:
            last_dead = _last(dead)
            if last_dead is None:
                rep.add("dead", "%s: waiting to be retried after jobs.retry, but no job.dead "
                        "entry shows it died (last error %r)" % (_job_desc(j), j["last_error"]))
            else:
                ok = _after(_retries_of(log, job), last_dead.pos) or [
                    x for x in log.retry_all if x.pos > last_dead.pos]
                if not ok:
                    rep.add("dead", "%s: requeued, but no jobs.retry entry after its job.dead "
                            "%s" % (_job_desc(j), last_dead.where()))
        elif st == "cancelled":
            last = _last(sent)
            start = last.pos if last else -1
            if not _after(log.of(job, "job.cancelled"), start):
                rep.add("dead", "%s: cancelled, but no job.cancelled entry after its last "
                        "job.sent %s" % (_job_desc(j), last.where() if last else "(none)"))
        elif st not in ("sent", "retry", "done"):
            rep.add("dead", "%s: a job state the daemon does not write" % _job_desc(j))
    for r in inv["records"]:
        if r["state"] == "failed" and r["rid"] not in dead_rids:
            rep.add("dead", "record %r is failed but has no dead job: nothing in the "
                    "inventory or the log says why (category %s)" % (r["id"], r["category"]))


def check_hold(rep, inv, log):
    recs_by_id = {r["id"]: r for r in inv["records"]}
    jobs = {j["job"]: j for j in inv["jobs"]}
    for job, types in log.by_job.items():
        for x in types.get("job.sent", []):
            record = x.e.get("record")
            j = jobs.get(job)
            category = x.e.get("category") or (j["category"] if j else None)
            r = recs_by_id.get(record)
            subjects = log.subjects_at(record, x.pos, r["subject"] if r else None)
            for (kind, value, name), place in log.covering(x.pos, record, category, subjects):
                rep.add("hold", "job %s (%s of record %r, attempt %s) sent at %s while hold "
                        "%r on %s %r was in place (placed %s by %s: %r)"
                        % (job, x.detail.get("action"), record, x.detail.get("attempt"),
                           x.where(), name, kind, value, place.where(), place.e.get("actor"),
                           place.detail.get("reason")))
    # The holds table is what the placements and releases leave.
    open_ = log.holds_at(len(log.entries) + 1)
    table = {(h["kind"], h["value"], h["hold"]): h for h in inv["holds"]}
    for key, h in sorted(table.items()):
        if key not in open_:
            rep.add("hold", "hold %r on %s %r (placed %s by %s: %r) is in the inventory, but "
                    "the log has no hold.place for it that is not released"
                    % (key[2], key[0], key[1], fmt_time(h["placed_at"]), h["placed_by"],
                       h["reason"]))
    for key, x in sorted(open_.items()):
        if key in table:
            continue
        kind, value, name = key
        if kind == "id" and [p for p in log.forgets.get(value, []) if p > x.pos]:
            continue  # record.forget removes the record's own holds
        rep.add("hold", "hold %r on %s %r placed %s is not released in the log, but the "
                "inventory has no such hold" % (name, kind, value, x.where()))


def check_early(rep, inv, log):
    jobs = {j["job"]: j for j in inv["jobs"]}
    unknown = 0
    for job, types in log.by_job.items():
        j = jobs.get(job)
        for x in types.get("job.sent", []):
            t = x.time
            own = x.detail.get("due")
            own_t = parse_time(own) if own is not None else None
            if own is not None and own_t is None:
                rep.add("early", "job %s: job.sent %s carries a due %r that is not a time"
                        % (job, x.where(), own))
            if own is None and "rules" in x.detail:
                rep.add("early", "job %s: job.sent %s carries no due" % (job, x.where()))
            if own_t is not None and t is not None and t < own_t:
                rep.add("early", "job %s (record %r): job.sent %s at %s, %d s before its own "
                        "due %s" % (job, x.e.get("record"), x.where(), x.e.get("time"),
                                    own_t - t, fmt_time(own_t)))
            if j is None:
                if own_t is None:
                    unknown += 1
                continue
            if t is None:
                rep.add("early", "%s: job.sent %s has no readable time (%r)"
                        % (_job_desc(j), x.where(), x.e.get("time")))
                continue
            if t < j["due"]:
                rep.add("early", "%s: sent %d s before its due time: job.sent %s at %s"
                        % (_job_desc(j), j["due"] - t, x.where(), x.e.get("time")))
            if own_t is not None and own_t != j["due"]:
                rep.add("early", "%s: job.sent %s says due %s, the inventory %s"
                        % (_job_desc(j), x.where(), own, fmt_time(j["due"])))
        for t_ in ("job.done", "job.failed", "job.dead"):
            for x in types.get(t_, []):
                first = parse_time(x.detail.get("sent"))
                if x.detail.get("sent") is None:
                    continue
                if first is None or (x.time is not None and first > x.time):
                    rep.add("early", "job %s: %s %s says it was first sent %r, which is not a "
                            "time before the entry" % (job, t_, x.where(), x.detail["sent"]))
                due = parse_time(x.detail.get("due"))
                if first is not None and due is not None and first < due:
                    rep.add("early", "job %s: %s %s says it was first sent %s, before its due "
                            "%s" % (job, t_, x.where(), fmt_time(first), fmt_time(due)))
                # The first send is the job.sent of attempt 1 before it (a job made again
                # under the same id starts again at attempt 1); that entry was written at
                # the same time or a moment later (its time is the writer's clock).
                firsts = [y for y in types.get("job.sent", [])
                          if y.pos < x.pos and y.detail.get("attempt") == 1]
                if firsts and first is not None and firsts[-1].time is not None and \
                        abs(firsts[-1].time - first) > SENT_SLACK:
                    rep.add("early", "job %s: %s %s says it was first sent %s, but its job.sent "
                            "of attempt 1 %s is at %s" % (job, t_, x.where(), fmt_time(first),
                                                          firsts[-1].where(),
                                                          firsts[-1].e.get("time")))
    for j in inv["jobs"]:
        if j["sent_at"] is not None and j["sent_at"] < j["due"]:
            rep.add("early", "%s: sent_at %s is before its due time"
                    % (_job_desc(j), fmt_time(j["sent_at"])))
    if unknown:
        rep.notes.append("%d job.sent entr%s for jobs no longer (or not yet) in the inventory "
                         "carry no due: not checked for early sends"
                         % (unknown, "y" if unknown == 1 else "ies"))


def check_counts(rep, inv):
    if [c["kind"] for c in inv["counts"]] == [None]:
        return  # an inventory older than the kept counts
    kept = collections.Counter()
    for c in inv["counts"]:
        if c["n"]:
            kept[(c["kind"], c["key"], c["sub"])] = c["n"]
    full = collections.Counter()
    for r in inv["records"]:
        full[("record", r["state"], "")] += 1
        if r["state"] == "unmanaged":
            full[("unmanaged", r["category"], "")] += 1
    for j in inv["jobs"]:
        full[("job", j["state"], j["backend"])] += 1
        if j["state"] == "done" and j["action"] != "notice":  # a notice is no action
            rule = "erasure" if j["rule"].startswith("erasure:") else j["rule"]
            full[("done", rule, j["outcome"] or "")] += 1
    for k in sorted(set(kept) | set(full)):
        if kept[k] != full[k]:
            rep.add("counts", "%s %s%s: the inventory keeps %d, a full count gives %d"
                    % (k[0], k[1], " of " + k[2] if k[2] else "", kept[k], full[k]))


def check_chain(rep, files, chain_problems, unreadable, verifier, head):
    for p in chain_problems:
        rep.add("chain", p)
    for b in unreadable:
        rep.add("chain", b)
    present = [f for f in files if os.path.exists(f)]
    if not present:
        return
    if not verifier or not os.access(verifier, os.X_OK):
        rep.add("chain", "the verifier %s is missing (run `make`)" % verifier)
        return
    argv = [verifier, "--verify-audit"] + present + (["--head", head] if head else [])
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=600,
                           env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"))
    except subprocess.TimeoutExpired:
        rep.add("chain", "%s did not finish within 600 s" % " ".join(argv))
        return
    if p.returncode != 0:
        out = (p.stdout + p.stderr).strip().replace("\n", " | ")
        rep.add("chain", "%s exited %d: %s" % (" ".join(argv[1:]), p.returncode, out[:1500]))
    else:
        said = [ln for ln in p.stdout.splitlines() if ln and not ln.startswith("head: ")]
        rep.notes.append("chain: " + "; ".join(said))


# --- the whole check ----------------------------------------------------------------

def check(state_dir, audit_logs, skip=None, head=None, verifier=None):
    """Check the inventory of state_dir against the audit log. audit_logs: the current
    file (its rotated predecessors are found), or a list of files oldest first.
    skip: {check name: why} (each name one of CHECKS, each why non-empty). head: a
    chain head the daemon published (journal line "audit head: ..."), given to the
    verifier. verifier: the retentiond binary (default_verifier()). Returns a Report."""
    rep = Report()
    for name, why in (skip or {}).items():
        if name not in CHECKS:
            raise ValueError("unknown invariant check %r (checks: %s)" % (name, ", ".join(CHECKS)))
        if not isinstance(why, str) or not why.strip():
            raise ValueError("leaving out check %r needs a reason" % name)
        rep.skipped[name] = why
    if isinstance(audit_logs, str):
        files, chain_problems = audit_chain(audit_logs)
    else:
        files, chain_problems = list(audit_logs), []
    rep.files = files
    inv = read_inventory(state_dir)
    have_log = any(os.path.exists(f) for f in files)
    if inv is None and not have_log:
        rep.notes.append("neither an inventory nor an audit log: nothing to check")
        return rep
    if inv is None:
        inv = {t: [] for t in INVENTORY_TABLES}
        rep.notes.append("no inventory in %s: the log is checked alone" % state_dir)
    if not have_log and inv["jobs"]:
        rep.add("chain", "the audit log %s is missing, but the inventory has %d jobs"
                % (files[-1], len(inv["jobs"])))
    entries, unreadable = read_audit([f for f in files if os.path.exists(f)])
    log = Log(entries)
    check_sent(rep, inv, log)
    check_done(rep, inv, log)
    check_dead(rep, inv, log)
    check_hold(rep, inv, log)
    check_early(rep, inv, log)
    check_counts(rep, inv)
    if "chain" not in rep.skipped:
        check_chain(rep, files, chain_problems, unreadable, verifier or default_verifier(), head)
    return rep


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description="Check a retentiond inventory against its "
                                 "audit log (see the module's doc string).")
    ap.add_argument("--skip", action="append", default=[], metavar="CHECK=WHY",
                    help="leave out one check (%s), saying why" % ", ".join(CHECKS))
    ap.add_argument("--head", help="a chain head the daemon published, for the verifier")
    ap.add_argument("--verifier", help="the retentiond binary that verifies the chain")
    ap.add_argument("state_dir")
    ap.add_argument("audit_log", nargs="+")
    a = ap.parse_args(argv)
    skip = {}
    for s in a.skip:
        name, _, why = s.partition("=")
        skip[name] = why
    try:
        rep = check(a.state_dir, a.audit_log[0] if len(a.audit_log) == 1 else a.audit_log,
                    skip=skip, head=a.head, verifier=a.verifier)
    except ValueError as e:
        ap.error(str(e))
    print(rep.text(max_shown=1 << 30))
    return 0 if rep.ok else 1


if __name__ == "__main__":
    sys.exit(main())
