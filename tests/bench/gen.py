#!/usr/bin/env python3
"""Deterministic benchmark inventory: N records over the demo categories, events spread
over the last three years (so some are due, most are not). usage: gen.py N BASE-UNIX"""
import json
import random
import sys

n, base = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(42)
DAY = 86400
cats = [
    ("framsikt.job_application", "received", {"hired": False}),
    ("framsikt.survey_response", "survey_closed", None),
    ("framsikt.course_signup", "registration_deadline", None),
    ("visma.user_profile", "last_activity", None),
    ("activepeople.analytics_cookie", "created", None),
    ("activepeople.newsletter_address", "unsubscribed", None),
    ("bjornson.shareholder", "ceased", None),
    ("bjornson.event_signup", "created", None),
    ("spekter.travel_expense", "created", None),
    ("spekter.disciplinary_record", "last_warning", None),
    ("spekter.vta_participant", "report_sent", None),
    ("spekter.visitor_declaration", "visited", None),
]
out = sys.stdout
for i in range(n):
    cat, ev, attrs = cats[i % len(cats)]
    t = base - rnd.randrange(3 * 365 * DAY)
    r = {"id": "bench/%08d" % i, "category": cat, "subject": "person:%d" % (i // 3),
         "backend": "bench", "locator": {"path": "/srv/bench/%08d" % i},
         "events": {"created": t - DAY, ev: t}}
    if attrs:
        r["attributes"] = attrs
    out.write(json.dumps(r, separators=(",", ":")) + "\n")
