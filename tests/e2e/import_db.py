#!/usr/bin/env python3
"""import_db.py — lineage-import ($IMPORT) into the real store (own database), then
lineage-filter ($FILTER) on what it made (issue 30). Fixtures: tests/fixtures/import (their
README gives the expected values). Checks: one session per node= name; the rotated pair given
newest first is read oldest first (no event cut, argv whole) from gzip; the session document
(mode, imported.files, counters, import_lacks); malformed lines on stdin reported as
(stdin):LINE; the filter's tree by argv and parent argv; exit codes 1 (usage) and 3 (a file
that cannot be read)."""
import os
from segments import Raw
import subprocess
import sys

import pymongo
from schema import out

IMPORT = os.environ["IMPORT"]
FILTER = os.environ["FILTER"]
URI = os.environ.get("LINEAGE_MONGODB_URI", "mongodb://%2Frun%2Flineage%2Fmongodb.sock")
DB = "lineage_test_import"
FIX = os.path.join(os.environ["SRCDIR"], "tests", "fixtures", "import")
SPOOL = "/tmp/lineage-test-import-spool"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def imp(*args, stdin=None):
    p = subprocess.run([IMPORT, "--uri", URI, "--db", DB, "--spool", SPOOL, "-q", *args],
                       capture_output=True, text=True, timeout=120, stdin=stdin)
    sids = [l.split()[1] for l in p.stdout.splitlines() if l.startswith("session ")]
    return p.returncode, sids, p.stdout, p.stderr


def argv_of(p):
    return (p.get("execs") or [{}])[-1].get("argv")


def main():
    client = pymongo.MongoClient(URI, serverSelectionTimeoutMS=5000)
    client.drop_database(DB)
    db = client[DB]

    rc, sids, so, se = imp("--host", "h1", os.path.join(FIX, "tree.log"))
    check(rc == 0 and len(sids) == 1, f"tree.log: one session, exit 0 ({rc} {so} {se})")
    s = db.sessions.find_one({"_id": __import__("bson").ObjectId(sids[0])})
    check(s and s.get("mode") == "import" and s.get("host") == "h1", f"session doc: {s}")
    check(s and s["imported"]["files"][0]["path"].endswith("tree.log"), "imported.files")
    check(s and s.get("ended_at") and s["counters"]["events"] == 12,
          f"closed with counters ({s and s.get('counters')})")
    check(s and any("pivot_root" in l for l in s.get("import_lacks", [])), "import_lacks")
    p = subprocess.run([FILTER, "--uri", URI, "--db", DB, "--session", sids[0], "-q"],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0 and "audit only" in p.stdout, f"filter ({p.returncode} {p.stdout} {p.stderr})")
    procs = {d["key"]: d for d in out(db, s["_id"], "processes").find()} if p.returncode == 0 else {}
    by_argv = {}
    for d in procs.values():
        a = argv_of(d)
        par = procs.get(d.get("parent"))
        by_argv[tuple(a or [])] = tuple(argv_of(par) or []) if par else None
    check(by_argv.get(("cat", "/etc/hostname")) == () and
          by_argv.get(("sleep", "1")) == () and by_argv.get(("true",)) == (),
          f"tree by argv and parent argv (sh has no exec in the log): {by_argv}")
    files = list(out(db, s["_id"], "files").find()) if p.returncode == 0 else []
    check(any(f.get("path") == "/tmp/a b/x y" and f.get("bytes_written") == 5 for f in files),
          f"file timeline: {files}")

    rc, sids, so, se = imp(os.path.join(FIX, "rot", "audit.log"),
                           os.path.join(FIX, "rot", "audit.log.1.gz"))
    check(rc == 0 and "events cut (start not in the files) 0" in so,
          f"rotation read oldest first ({so})")
    rc, sids, so, se = imp(os.path.join(FIX, "enriched.log"))
    check(rc == 0 and len(sids) == 2 and "host alpha" in so and "host beta" in so,
          f"one session per node ({so})")
    with open(os.path.join(FIX, "malformed.log")) as f:
        rc, sids, so, se = imp("-", stdin=f)
    check(rc == 0 and "(stdin):2: not an audit record" in se and "(stdin):3:" in se,
          f"malformed lines named with file and line ({se})")
    s = db.sessions.find_one({"_id": __import__("bson").ObjectId(sids[0])}) if sids else None
    check(s and s["counters"]["malformed_lines"] == 4, f"malformed counted ({s and s['counters']})")
    rc, *_ = imp()
    check(rc == 1, f"no FILE: exit 1 ({rc})")
    rc, sids, so, se = imp("/nonexistent/audit.log")
    check(rc == 3 and "/nonexistent/audit.log" in se, f"unreadable file: exit 3 ({rc} {se})")
    client.drop_database(DB)
    print("FAILED" if failures else "OK", len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
