#!/usr/bin/env python3
"""Write the demo inventory: records of every category of rules/, with event times
relative to now, so that some are already due, some fall due while you watch, and some
are kept for years or forever. One JSON record per line on stdout.

usage: demo-inventory.py FILES-DIR   (creates one small file per record there; the
locators point at them)"""
import json
import os
import sqlite3
import sys
import time

files = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "files")
os.makedirs(files, exist_ok=True)

now = int(time.time())
DAY = 86400
WEEK = 7 * DAY
YEAR = 365 * DAY
recs = []


def rec(rid, category, subject, events, attrs=None):
    r = {"id": rid, "category": category, "subject": subject, "backend": "demo-files",
         "locator": {"path": os.path.join(files, rid.replace("/", "-") + ".txt")},
         "events": {k: now + v for k, v in events.items()}}
    if attrs:
        r["attributes"] = attrs
    recs.append(r)


# Already due: the first deletions happen as soon as the daemon starts.
rec("activepeople/cookie-1", "activepeople.analytics_cookie", "visitor:31", {"created": -91 * DAY})
rec("activepeople/ip-1", "activepeople.visitor_ip", "visitor:31", {"created": -60})
# The visitor's IP address lives in a database row: the demo-db backend de-identifies it.
db = sqlite3.connect(os.path.join(files, "..", "web.db"))
db.execute("CREATE TABLE IF NOT EXISTS visits(id INTEGER PRIMARY KEY, ip TEXT, user_agent TEXT,"
           " page TEXT)")
db.execute("INSERT OR REPLACE INTO visits VALUES(1, '192.0.2.31', 'Mozilla/5.0', '/jobs')")
db.commit()
db.close()
recs[-1]["backend"] = "demo-db"
recs[-1]["locator"] = {"key": 1}
rec("framsikt/payroll-2026-10", "framsikt.payroll_import", "municipality:0301",
    {"created": -3600, "imported": -3000})
rec("bjornson/contact-2024-17", "bjornson.contact_inquiry", "person:a1", {"created": -400 * DAY})
rec("spekter/partner-9", "spekter.partner_contact", "person:b7",
    {"created": -2 * YEAR, "replaced": -DAY})
# Falling due while you watch: seconds to minutes from now.
for i, secs in enumerate((20, 45, 90, 150, 240)):
    rec("spekter/police-cert-%d" % (i + 1), "spekter.police_certificate", "person:c%d" % i,
        {"received": -WEEK + secs})
rec("framsikt/newsletter-7", "framsikt.newsletter_address", "person:d1",
    {"created": -YEAR, "bounced": -WEEK + 60})
rec("activepeople/mailbox-ola", "activepeople.mailbox_content", "employee:ola",
    {"created": -YEAR + 30})
rec("activepeople/email-kari", "activepeople.email_account", "employee:kari",
    {"created": -3 * YEAR, "employment_ended": -1})
# Kept for years, or forever.
rec("framsikt/application-118", "framsikt.job_application", "person:7f3a",
    {"received": -100 * DAY}, {"hired": False})
rec("framsikt/application-119", "framsikt.job_application", "person:7f3b",
    {"received": -100 * DAY}, {"hired": True})
rec("framsikt/survey-2026-q3", "framsikt.survey_response", "person:e1",
    {"created": -60 * DAY, "survey_closed": -10 * DAY})
rec("visma/profile-pupil-12", "visma.user_profile", "pupil:12", {"last_activity": -400 * DAY})
rec("bjornson/board-chair", "bjornson.board_member", "person:f1", {"created": -5 * YEAR})
rec("bjornson/shareholder-44", "bjornson.shareholder", "person:f2", {"created": -8 * YEAR})
rec("bjornson/shareholder-45", "bjornson.shareholder", "person:f3",
    {"created": -12 * YEAR, "ceased": -3 * YEAR})
rec("spekter/travel-2025-031", "spekter.travel_expense", "employee:ola",
    {"created": -300 * DAY, "expense_date": -310 * DAY})
rec("spekter/vta-7", "spekter.vta_participant", "person:g1", {"report_sent": -80 * DAY})
rec("spekter/termination-3", "spekter.termination_papers", "employee:per", {"created": -2 * YEAR})
# Nobody promised anything about this category: a compliance gap, shown by status.
rec("legacy/crm-export-1", "legacy.crm_export", "person:h1", {"created": -2 * YEAR})

for r in recs:
    if "path" not in r["locator"]:
        sys.stdout.write(json.dumps(r) + "\n")
        continue
    with open(r["locator"]["path"], "w") as f:
        f.write("personal data of %s (%s)\n" % (r["subject"], r["category"]))
    sys.stdout.write(json.dumps(r) + "\n")
