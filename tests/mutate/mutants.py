"""The curated mutants of `make mutate`: small, plausible breaks of the code that guards
the promises, each with the smallest test group that should kill it.

Each mutant: id, file, the exact text it replaces (it must occur exactly once), the text
it puts instead, the test that should fail, and what promise it breaks. EQUIVALENT lists
mutants examined and left out because no behaviour can tell them apart, with the reason.
Tests are "unit:NAME" (build/asan/tests/NAME), "py:FILE [Class[.test]]"
(tests/integration/FILE) or "sh:FILE" (tests/integration/FILE).
"""

MUTANTS = [
    # --- never early ---------------------------------------------------------------
    ("early-clock", "daemon/daemon.h", "\treturn (rtn_time_t)time(NULL);",
     "\treturn (rtn_time_t)time(NULL) + 3;",
     "py:test_killloop.py KillLoop", "the daemon's clock runs 3 s fast"),
    # --- never while held ----------------------------------------------------------
    ("held-decide", "lib/decide.c", "\tif (rec->nholds > 0) {", "\tif (rec->nholds > 1) {",
     "py:test_ops.py", "one hold no longer holds"),
    ("held-recheck", "lib/jobs.c", "\t*send = !strcmp(j->state, \"retry\");", "\t*send = true;",
     "py:test_trust.py HoldWhileOut", "a retry goes out without the decision read again"),
    ("held-fail-closed", "lib/engine_eval.c", "\t\tev->v.nholds = 1;\n\t}", "\t\tev->v.nholds = 0;\n\t}",
     "py:test_trust.py HoldsFailClosed", "unreadable holds read as none"),
    ("held-sent-shows", "lib/engine_sched.c",
     "\t\t\t\tkeep = !strcmp(state, \"held\") ? \"held\" : \"queued\";",
     "\t\t\t\tkeep = \"queued\";",
     "py:test_trust.py HoldWhileOut", "a hold on a record whose job is out is not counted"),
    # --- rules reach every send ----------------------------------------------------
    ("rules-retry", "lib/engine_sched.c",
     "\t\t\tbool current = !strcmp(state, \"queued\") && ev.next &&",
     "\t\t\tbool current = true || (!strcmp(state, \"queued\") && ev.next) ||",
     "py:test_trust.py RulesReachRetries", "a job out stays although the rules changed"),
    # --- the guard -----------------------------------------------------------------
    ("guard-already", "lib/guard.c", "\tif (out->paused && !already && (int64_t)out->paused <= out->limit) {",
     "\tif (out->paused && (already || 1) && (int64_t)out->paused <= out->limit) {",
     "py:test_bite.py", "a second small reload releases what the guard paused"),
    ("guard-window", "lib/engine_sched.c", "\t                       sc.next_at <= now + e->guard_window);",
     "\t                       sc.next_at <= now);",
     "py:test_trust.py GuardWindow", "deadlines just after a reload slip past the guard"),
    ("guard-limit", "lib/guard.c", "\treturn (int64_t)guard > share ? (int64_t)guard : share;",
     "\treturn (int64_t)guard > share ? (int64_t)guard * 3 : share;",
     "py:test_ops.py Guard", "the guard's limit is three times what is configured"),
    # --- audit before effect, committed before sent --------------------------------
    ("audit-sync-commit", "lib/engine_tx.c",
     "\tif (e->journal && e->journal->sync(e->journal->ctx) < 0) {",
     "\tif (0) {", "unit:test_engine", "the inventory commits without the log on disk"),
    ("audit-undo", "lib/engine_tx.c", "\tif (e->journal)\n\t\te->journal->undo(e->journal->ctx);\n\trtn_engine_refresh(e);",
     "\trtn_engine_refresh(e);", "unit:test_engine", "entries of a rolled-back change stay"),
    ("audit-undo-cut", "lib/audit_write.c", "\t\tif (ftruncate(a->fd, (off_t)m->end) < 0 || fdatasync(a->fd) < 0) {",
     "\t\tif (0) {", "unit:test_audit", "written entries of a rolled-back change stay in the file"),
    ("audit-put-hook", "lib/engine.c",
     "\tfor (size_t i = 0; i < n && r == 0 && e->put_hook; i++)",
     "\tfor (size_t i = 0; i < n && r == 0 && e->put_hook && 0; i++)",
     "py:test_trust.py AuditDiskFull", "record.put leaves no entry"),
    ("audit-dead", "lib/jobs.c", "\t    job_entry(e, \"job.dead\", j, why, status) < 0)",
     "\t    ((void)status, 0))", "py:test_dispatch.py", "a job dies without its entry"),
    ("send-before-commit", "lib/jobs.c",
     "\tr = rtn_engine_end(e, r);\n\tif (r < 0) {\n\t\trtn_outjobs_free(*out, *n);",
     "\tr = rtn_engine_end(e, r);\n\tif (r < 0 && !*n) {\n\t\trtn_outjobs_free(*out, *n);",
     "py:test_bite.py", "a job leaves before it is committed"),
    ("timeout-drop", "daemon/dispatch.c",
     "\t\t\tdispatch_failed();\n\t\t} else {\n\t\t\tdispatch_worked();\n\t\t\tfor (size_t i = 0; i < k; i++) {\n\t\t\t\tif (!oc[i].ignored)",
     "\t\t\tdispatch_failed();\n\t\t\tfor (size_t i = 0; i < k; i++)\n\t\t\t\tinflight_remove(b, jobs[i]);\n\t\t} else {\n\t\t\tdispatch_worked();\n\t\t\tfor (size_t i = 0; i < k; i++) {\n\t\t\t\tif (!oc[i].ignored)",
     "py:test_trust.py StateDiskFull", "timeouts not recorded are dropped from the jobs out"),
    # --- the chain -----------------------------------------------------------------
    ("chain-prev", "lib/audit_read.c", "\t} else if (strcmp(f->prev, c->head) != 0) {",
     "\t} else if (0) {", "py:test_bite.py", "an entry edited and re-hashed in place verifies"),
    ("chain-hash", "lib/audit.c", "\tif (strcmp(h, out->hash) != 0)", "\tif (0)",
     "unit:test_audit", "an altered entry verifies"),
    # --- tombstones ----------------------------------------------------------------
    ("tombstone-subject", "lib/inv_sqlite_stmt.c",
     "\"UPDATE records SET subject = NULL, locator = NULL,",
     "\"UPDATE records SET locator = NULL,", "py:test_bite.py",
     "a tombstone keeps its subject"),
    # --- authorisation -------------------------------------------------------------
    ("auth-read-only", "daemon/commands.c",
     "\t} else if (peer->level == PEER_NONE || (peer->level == PEER_READ && !e->read_only)) {",
     "\t} else if (peer->level == PEER_NONE) {", "py:test_auth.py",
     "the audit group may change state"),
    ("auth-erase", "daemon/commands.c", "    {\"erase\", false, cmd_erase},",
     "    {\"erase\", true, cmd_erase},", "py:test_bite.py", "the audit group may erase"),
    # --- path confinement ----------------------------------------------------------
    ("fs-mnt-id", "backends/fs/fsdel.c",
     "\treturn !m->has_id || !root->mnt.has_id || m->id == root->mnt.id;",
     "\treturn true;", "unit:test_backend_fs", "a bind mount is crossed"),
    ("sqlite-exact-key", "backends/sqlite/sqlbk.c",
     "\tchar *match = rtn_xasprintf(\"\\\"%s\\\" = ?1 AND (typeof(\\\"%s\\\") = 'text' OR \"",
     "\tchar *match = rtn_xasprintf(\"\\\"%s\\\" = ?1 AND (1 OR typeof(\\\"%s\\\") = 'text' OR \"",
     "unit:test_backend_sqlite", "an INTEGER key matches \"01\" by affinity"),
    ("auth-audit-group", "daemon/control.c",
     "\telse if (in_groups(D->audit_gid, cr.gid, groups, n))\n\t\tp->level = PEER_READ;",
     "\telse if (in_groups(D->audit_gid, cr.gid, groups, n))\n\t\tp->level = PEER_ADMIN;",
     "py:test_auth.py", "the audit group may change state"),
    ("auth-stranger", "daemon/control.c", "\telse\n\t\tp->level = PEER_NONE;",
     "\telse\n\t\tp->level = PEER_READ;", "py:test_auth.py", "a stranger may read everything"),
    ("unless-event", "lib/decide.c",
     "\t\tv = find_event(rec, c->name) != RTN_TIME_NONE;",
     "\t\tv = find_event(rec, c->name) == RTN_TIME_NONE;",
     "unit:test_decide", "when event / unless event are reversed"),
    # --- keep beats delete, erasure retention --------------------------------------
    ("keep-moves-delete", "lib/decide.c", "\t\tif (del != RTN_TIME_NONE && del < keep_until) {",
     "\t\tif (0) {", "unit:test_decide", "a delete earlier than a keep is not moved"),
    ("erasure-keep", "lib/decide.c",
     "\tif (rec->erasure_at != RTN_TIME_NONE && (del == RTN_TIME_NONE || rec->erasure_at < del)) {",
     "\tif (rec->erasure_at != RTN_TIME_NONE) {", "py:test_trust.py ErasureKeepsEarlier",
     "an erasure moves an earlier deadline later"),
    # --- calendar arithmetic ------------------------------------------------------
    ("calendar-clamp", "lib/rtime.c", "\tif (w.day > month_days(w.year, w.mon))\n\t\tw.day = month_days(w.year, w.mon);",
     "\tif (w.day > month_days(w.year, w.mon) + 1)\n\t\tw.day = month_days(w.year, w.mon);",
     "unit:test_rtime", "31 January plus a month is not clamped to February's end"),
    ("calendar-days", "lib/rtime.c",
     "\t    days_from_civil(w.year, w.mon, w.day) + (int64_t)span->weeks * 7 + span->days;",
     "\t    days_from_civil(w.year, w.mon, w.day) + (int64_t)span->weeks * 6 + span->days;",
     "unit:test_rtime", "a week is six days"),
    # --- what a deletion leaves -----------------------------------------------------
    ("sqlite-secure-delete", "backends/sqlite/sqlbk.c",
     "\tpragma_int(db, \"PRAGMA secure_delete = ON\");\n\tint on = pragma_int(db, \"PRAGMA secure_delete\");",
     "\tint on = 1;", "py:test_residue_sqlite.py",
     "retention-sqlite relies on the library's secure_delete default"),
    ("sqlite-checkpoint-passive", "backends/sqlite/sqlbk.c", "SQLITE_CHECKPOINT_TRUNCATE",
     "SQLITE_CHECKPOINT_PASSIVE", "py:test_residue_sqlite.py ResidueTest.test_wal",
     "the WAL keeps the old frames of deleted rows after a checkpoint"),
    ("backend-idle-never", "lib/backend.c", "\t\t\tif (!ran || !s->def->idle) {",
     "\t\t\tif (ran || !ran || !s->def->idle) {", "unit:test_backend",
     "no tidying after a batch (retention-sqlite's WAL waits for the stop)"),
    # --- backoff -------------------------------------------------------------------
    ("backoff-upper", "lib/backoff.c",
     "\treturn min_ms + (int64_t)(rnd % (uint64_t)(cap - min_ms + 1));",
     "\treturn min_ms + (int64_t)(rnd % (uint64_t)(cap - min_ms + 2));",
     "unit:test_backoff", "the jitter passes its upper bound"),
    ("backoff-growth", "lib/backoff.c", "\t\tcap = cap > max_ms / 2 ? max_ms : cap * 2;",
     "\t\tcap = cap > max_ms / 2 ? max_ms : cap + 1;", "unit:test_backoff",
     "the backoff does not grow exponentially"),
]

EQUIVALENT = [
    ("inv_sqlite_stmt.c J_TAKE `next_at <= ?2` made later (+3 s)", "a record is queued only "
     "once derive() finds its deadline reached, so the take never sees an earlier one; "
     "the clock mutant (early-clock) breaks both layers at once"),
    ("engine_eval.c rtn_eval_derive() `next->at > now` made later (+2 s)", "the take (J_TAKE) and "
     "rtn_jobs_take_tx check the deadline against the clock again: no job leaves early"),
    ("fsdel.c `st->st_dev != root->mnt.dev` for directories", "with statx mount ids (every "
     "kernel here), another file system is another mount id, which the next check "
     "refuses; the st_dev comparison matters only on kernels without mount ids"),
    ("jobs.c: `due > now` in rtn_jobs_take_tx", "the query it guards (J_TAKE) already "
     "selects next_at <= now only; the check is a second line of defence that no input "
     "can reach"),
]
