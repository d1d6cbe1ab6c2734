#!/usr/bin/env python3
"""make mutate: apply each mutant of tests/mutate/mutants.py to a copy of the tree, run the
test that should kill it, and print the score and the survivors.

The copy (of the files git tracks, built once with `make all asan helpers` and the unit
tests) lives in a temporary directory; the work tree is never touched. A mutant whose text
is not found exactly once, or whose test fails on the unmutated tree (each test is run once
without mutants first), is reported as not applying and makes the run fail.
MUTATE_ONLY=id,id runs only those. Not part of make check: it takes minutes.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "mutate"))
from mutants import EQUIVALENT, MUTANTS  # noqa: E402

TIMEOUT = 600       # an integration test under a mutant
UNIT_TIMEOUT = 60   # a unit test: a mutant that makes it loop is killed by the timeout


def sh(cmd, cwd, timeout=TIMEOUT):
    p = subprocess.run(cmd, cwd=cwd, shell=True, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace")


def test_command(test):
    """(build, run) shell commands of a test."""
    kind, _, rest = test.partition(":")
    if kind == "unit":
        return "make -s -j2 build/asan/tests/%s" % rest, "TZ=UTC build/asan/tests/%s" % rest
    if kind == "py":
        return "make -s -j2 asan helpers", "python3 tests/integration/%s" % rest
    if kind == "sh":
        return "make -s -j2 all asan helpers", "sh tests/integration/%s" % rest
    raise ValueError("unknown test kind in %r" % test)


def run_test(test, tree):
    """None if the tree does not build, else the test's exit status."""
    build, run = test_command(test)
    if sh(build + " >/dev/null 2>&1", tree)[0] != 0:
        return None
    try:
        return sh(run, tree, UNIT_TIMEOUT if test.startswith("unit:") else TIMEOUT)[0]
    except subprocess.TimeoutExpired:
        return 124


def main():
    only = set(filter(None, os.environ.get("MUTATE_ONLY", "").split(",")))
    chosen = [m for m in MUTANTS if not only or m[0] in only]
    tree = tempfile.mkdtemp(prefix="rtn-mutate-")
    try:
        files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, check=True,
                               stdout=subprocess.PIPE).stdout.decode().split("\0")
        for f in filter(None, files):
            dst = os.path.join(tree, f)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if os.path.exists(os.path.join(REPO, f)):
                shutil.copy2(os.path.join(REPO, f), dst)
        print("mutate: building a copy of the tree in %s" % tree, flush=True)
        rc, out = sh("make -s -j2 all asan helpers >/dev/null && make -s -j2 unit >/dev/null",
                     tree, timeout=1800)
        if rc != 0:
            print(out[-3000:])
            print("mutate: the unmutated tree does not build or pass its unit tests")
            return 2
        killed, survived, broken = [], [], []
        baseline = {}  # test -> passes on the unmutated tree (else it cannot kill anything)
        for mid, path, old, new, test, what in chosen:
            if test not in baseline:
                baseline[test] = run_test(test, tree) == 0
                if not baseline[test]:
                    print("  %s fails without any mutant: its mutants are not counted" % test,
                          flush=True)
            if not baseline[test]:
                broken.append((mid, "its test %s fails on the unmutated tree" % test))
                continue
            src = os.path.join(tree, path)
            text = open(src, encoding="utf-8").read()
            if text.count(old) != 1:
                broken.append((mid, "its text occurs %d times in %s" % (text.count(old), path)))
                print("  %-20s does not apply (%d matches in %s)" % (mid, text.count(old), path),
                      flush=True)
                continue
            t0 = time.monotonic()
            try:
                with open(src, "w", encoding="utf-8") as f:
                    f.write(text.replace(old, new))
                rc = run_test(test, tree)
            finally:
                with open(src, "w", encoding="utf-8") as f:
                    f.write(text)
                os.utime(src)  # rebuilt unmutated next time
            secs = time.monotonic() - t0
            if rc is None:
                broken.append((mid, "the mutated tree does not compile"))
                print("  %-20s does not compile: mend the mutant" % mid, flush=True)
            elif rc != 0:
                killed.append(mid)
                print("  %-20s killed by %s (%.0f s)" % (mid, test, secs), flush=True)
            else:
                survived.append((mid, test, what))
                print("  %-20s SURVIVED %s (%.0f s): %s" % (mid, test, secs, what), flush=True)
        n = len(killed) + len(survived)
        print()
        for mid, test, what in survived:
            print("survivor: %s (%s): %s" % (mid, test, what))
        for mid, why in broken:
            print("not applied: %s: %s" % (mid, why))
        for where, why in EQUIVALENT:
            print("equivalent, left out: %s: %s" % (where, why))
        score = 100.0 * len(killed) / n if n else 0.0
        print("mutate: %d killed, %d survived, %d not applied: score %.0f%% (target >= 90%%)"
              % (len(killed), len(survived), len(broken), score))
        return 0 if not broken and score >= 90 else 1
    finally:
        shutil.rmtree(tree, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
