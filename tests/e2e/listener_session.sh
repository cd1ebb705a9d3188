#!/usr/bin/env bash
# listener_session.sh — the listener opens a sessions document in the real database at start
# and closes it (ended_at set) after SIGTERM, exiting 0.
set -euo pipefail
fail() { echo "listener_session: FAIL: $*" >&2; exit 1; }
db=lineage_test_session_$$
"$LISTENER" --db "$db" 2>listener.err &
pid=$!
sleep 2
kill -0 $pid 2>/dev/null || { cat listener.err >&2; fail "listener exited early"; }
kill -TERM $pid
wait $pid || { cat listener.err >&2; fail "listener exited non-zero after SIGTERM"; }
cat listener.err >&2
python3 - "$db" <<'PY' || fail "sessions document check failed"
import sys
from pymongo import MongoClient
c = MongoClient("mongodb://127.0.0.1:27017", serverSelectionTimeoutMS=3000)
docs = list(c[sys.argv[1]].sessions.find())
assert len(docs) == 1, docs
d = docs[0]
assert d["started_at"] and d["ended_at"] and d["ended_at"] >= d["started_at"], d
assert d.get("host"), d
print("session", d["_id"], d["started_at"], d["ended_at"])
c.drop_database(sys.argv[1])
PY
echo "listener_session: ok"
