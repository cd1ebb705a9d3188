#!/usr/bin/env bash
# listener_session.sh — the listener opens a sessions document in the real database at start
# and closes it (ended_at set) after SIGTERM, exiting 0.
set -euo pipefail
fail() { echo "listener_session: FAIL: $*" >&2; exit 1; }
db=lineage_test_session_$$
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
exec 9>/run/lineage-e2e-audit.lock
flock 9   # one audit owner at a time (see lib.py)
"$LISTENER" --db "$db" --spool "$tmp/spool" 2>"$tmp/listener.err" &
pid=$!
for _ in $(seq 1 100); do grep -q recording "$tmp/listener.err" && break; sleep 0.1; done
kill -0 $pid 2>/dev/null || { cat "$tmp/listener.err" >&2; fail "listener exited early"; }
kill -TERM $pid
wait $pid || { cat "$tmp/listener.err" >&2; fail "listener exited non-zero after SIGTERM"; }
cat "$tmp/listener.err" >&2
python3 - "$db" <<'PY' || fail "sessions document check failed"
import os, sys
from pymongo import MongoClient
# the store the listener used: its default, $LINEAGE_MONGODB_URI, else the built-in one
c = MongoClient(os.environ.get("LINEAGE_MONGODB_URI", "mongodb://%2Frun%2Flineage%2Fmongodb.sock"),
                serverSelectionTimeoutMS=3000)
docs = list(c[sys.argv[1]].sessions.find())
assert len(docs) == 1, docs
d = docs[0]
assert d["started_at"] and d["ended_at"] and d["ended_at"] >= d["started_at"], d
assert d.get("host"), d
print("session", d["_id"], d["started_at"], d["ended_at"])
c.drop_database(sys.argv[1])
PY
echo "listener_session: ok"
