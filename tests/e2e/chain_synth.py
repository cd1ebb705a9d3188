"""chain_synth.py — `lineage-query verify` against segment chains written by an independent
encoder (issues 21, 33): this file builds sessions in Python (pymongo, tests/e2e/segments.py:
segments sealed and chained as common/segment.h and common/chain.h describe them) in the
shared store, then breaks them in every way verify must tell apart — a byte of a segment's
compressed data changed, a header field changed, a segment removed (middle and last), one
inserted without a link, one inserted under a link another holds, two swapped (link numbers
exchanged), the session's head changed — and checks the verdict and the exit status. Sessions
never closed (truncated), closed with a spool left (pending) and recorded without a chain
(unchained) too. No listener: the real one is tests/e2e/chain_verify.py."""
import atexit
import datetime
import os
import signal
import subprocess
import sys

import bson
from bson.int64 import Int64

from lib import URI, check, db, finish
from segments import chained, digest, seal

QUERY = os.environ.get("QUERY", "build/query/lineage-query")
DB = f"lineage_test_chain_synth_{os.getpid()}"
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
d = db(DB)
atexit.register(lambda: d.client.drop_database(DB))
T0 = datetime.datetime(2026, 12, 7, 12, 0, 0)


def make_session(nseg=5, closed=True, complete=True, chain=True):
    sid = bson.ObjectId()
    seq, groups = 1, []
    for i in range(nseg):
        stream = "events" if i % 2 == 0 else "proc_events"
        docs = []
        for k in range(4):
            docs.append({"_id": f"{sid}:{seq}", "session": sid, "seq": Int64(seq),
                         "ts": T0 + datetime.timedelta(milliseconds=seq), "pid": 100 + k,
                         "syscall" if stream == "events" else "what":
                             "openat" if stream == "events" else "exec"})
            seq += 1
        groups.append((stream, docs))
    if chain:
        segs, info = chained(sid, groups)
    else:
        segs, info = [seal(sid, s, ds) for s, ds in groups], None
    sdoc = {"_id": sid, "host": "synth", "started_at": T0, "ended_at": None}
    if info:
        if closed:
            info["complete"] = complete
            sdoc["chain"] = info
        else:
            sdoc["chain"] = {"algo": "sha256", "version": 2}
    if closed:
        sdoc["ended_at"] = T0 + datetime.timedelta(seconds=5)
    d.sessions.insert_one(sdoc)
    d.segments.insert_many(segs)
    return sid, segs


def verify(sid):
    p = subprocess.run([QUERY, "--uri", URI, "--db", DB, "verify", str(sid)],
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def expect(sid, rc_want, *texts, what):
    rc, out = verify(sid)
    check(rc == rc_want and all(t in out for t in texts), f"{what} (exit {rc}: {out.strip()[:300]})")
    return out


sid, segs = make_session()
expect(sid, 0, "ok: 20 documents verified in 5 segments", what="a whole chain verifies")

# a byte of segment 2's compressed data
sid, segs = make_session()
data = bytearray(segs[2]["data"])
data[len(data) // 2] ^= 0x20
d.segments.update_one({"_id": segs[2]["_id"]}, {"$set": {"data": bson.Binary(bytes(data))}})
expect(sid, 5, "TAMPERED", f"altered: segment {segs[2]['_id']}", what="a changed data byte")

# a header field (n) of the last segment: only the session's head names it
sid, segs = make_session()
d.segments.update_one({"_id": segs[4]["_id"]}, {"$set": {"n": Int64(3)}})
expect(sid, 5, "TAMPERED", segs[4]["_id"], what="a changed header of the last segment")

# removed: the middle one, then the last one
sid, segs = make_session()
d.segments.delete_one({"_id": segs[2]["_id"]})
expect(sid, 5, "TAMPERED", "removed: the segment of link 2", what="a removed middle segment")
sid, segs = make_session()
d.segments.delete_one({"_id": segs[4]["_id"]})
expect(sid, 5, "TAMPERED", "removed", what="a removed last segment")

# inserted: one without a link, one under a link another holds
sid, segs = make_session()
extra = seal(sid, "events", [{"_id": f"{sid}:99", "session": sid, "seq": Int64(99), "pid": 7,
                               "syscall": "unlink"}])
d.segments.insert_one(extra)
expect(sid, 5, "TAMPERED", f"inserted: segment {extra['_id']} carries no link",
       what="an inserted segment without a link")
sid, segs = make_session()
fake = seal(sid, "events", [{"_id": f"{sid}:98", "session": sid, "seq": Int64(98), "pid": 7,
                              "syscall": "unlink"}], link=3, prev=bytes(32))
d.segments.insert_one(fake)
expect(sid, 5, "TAMPERED", "inserted", "claims link 3", what="an inserted segment under link 3")

# reordered: segments 1 and 3 exchange their link numbers (and prevs)
sid, segs = make_session()
a, b = segs[1], segs[3]
d.segments.update_one({"_id": a["_id"]}, {"$set": {"link": b["link"], "prev": b["prev"]}})
d.segments.update_one({"_id": b["_id"]}, {"$set": {"link": a["link"], "prev": a["prev"]}})
expect(sid, 5, "TAMPERED", what="two segments swapped")

# the session's head changed
sid, segs = make_session()
d.sessions.update_one({"_id": sid}, {"$set": {"chain.head": bson.Binary(bytes(32))}})
expect(sid, 5, "TAMPERED", what="the session's head changed")

# never closed: truncated, not tampering; closed with a spool left: pending
sid, segs = make_session(closed=False)
out = expect(sid, 5, "truncated at seq 16", what="an unclosed session is truncated")
check("TAMPERED" not in out, "truncation is not reported as tampering")
sid, segs = make_session(complete=False)
d.segments.delete_one({"_id": segs[4]["_id"]})
expect(sid, 5, "pending", what="a closed session with its last segment in a spool is pending")
# recorded without a chain
sid, segs = make_session(chain=False)
expect(sid, 0, "unchained", what="a session without a chain is unchained")
# the filter's verdict of a tampered session is in its output
finish("chain_synth")
