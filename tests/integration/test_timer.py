#!/usr/bin/env python3
"""Integration test of the scheduler's timer at a deadline: it wakes once for it, not in a
loop of zero-millisecond timers while the second of the deadline has not yet begun (the
timer counts in milliseconds, the daemon's clock in whole seconds).

The real daemon (build/asan/retentiond) over its real sockets, the real null backend.
Run: python3 tests/integration/test_timer.py
"""

import datetime
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dispatch_util import DispatchTestCase, with_rules  # noqa: E402
from harness import main  # noqa: E402

T_RULES = 'rule t-due { category t.doc; delete immediately after due }\n'


def at(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).isoformat()


class Timer(DispatchTestCase):
    RULES = with_rules(T_RULES)

    def wakeups(self):
        return self.d.ok("status")["control"]["wakeups"]

    def test_one_wakeup_per_deadline(self):
        self.backend("nb")
        self.up({"nb": {}})
        due = int(time.time()) + 3
        self.put([{"id": "w1", "category": "t.doc", "backend": "nb",
                   "locator": {"path": "/srv/w1"}, "events": {"due": at(due)}}])
        time.sleep(max(0.0, due - 1.5 - time.time()))
        before = self.wakeups()
        self.wait_state(["w1"], "deleted", 20)
        after = self.wakeups()
        # the deadline's wake-up, and at most a couple more (the put's re-arm, a kick)
        self.assertLessEqual(after - before, 3, "the timer woke %d times around one deadline"
                             % (after - before))


if __name__ == "__main__":
    main()
