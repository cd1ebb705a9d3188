"""chain_synth.py — `lineage-query verify` against chains written by an independent encoder
(issues 21, 33): this file builds sessions in Python (pymongo and python3-zstandard: segments
sealed and linked by tests/e2e/segments.py, a re-implementation of common/segment.c and
common/chain.c) in the shared store, then breaks them in every way verify must tell apart —
a byte of a segment's data changed, a header field changed, a document changed and its
segment resealed, a segment removed (middle, two, the last ones), inserted (without a link,
claiming a link another holds, after the session's last), two segments swapped (their places,
or their documents), the session's head and counts changed — and checks the verdict, the
finding that names the segment and the exit status. Sessions never closed (truncated), closed
with a spool left (pending) and recorded without a chain (unchained) too. No listener: the
real one is tests/e2e/chain_verify.py."""
import atexit
import datetime
import os
import signal
import subprocess
import sys

import bson
from bson.int64 import Int64

import segments as S
from lib import URI, check, db, finish

QUERY = os.environ.get("QUERY", "build/query/lineage-query")
DB = f"lineage_test_chain_synth_{os.getpid()}"
# meson's timeout sends SIGTERM: still drop the database (atexit)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
d = db(DB)
atexit.register(lambda: d.client.drop_database(DB))


def make_session(ndocs=12, per=2, closed=True, complete=True):
    """Documents seq 1..ndocs (every third a proc event), each stream cut into segments of
    `per` documents, linked in the order of their first seq, stored. Returns (session
    ObjectId, segments in link order). 12 and 2: links 0..5 = events 1-2, proc_events 3-6,
    events 4-5, events 7-8, proc_events 9-12, events 10-11."""
    sid = bson.ObjectId()
    by = {"events": [], "proc_events": []}
    for seq in range(1, ndocs + 1):
        doc = {"_id": f"{sid}:{seq}", "session": sid, "host": "synth", "seq": Int64(seq),
               "ts": datetime.datetime(2026, 12, 1, 12, 0, 0, seq * 1000), "pid": 100 + seq,
               "argv": ["/bin/x", str(seq)], "ok": True, "ratio": seq / 7, "container": None}
        if seq % 3 == 0:
            doc["what"] = "exec"
            by["proc_events"].append(doc)
        else:
            doc["syscall"] = "execve"
            by["events"].append(doc)
    segs, chain = S.chained(sid, S.groups_of(by, per))
    if closed:
        chain["complete"] = complete
    else:
        chain = {"algo": "sha256", "version": 2}  # what the listener writes at open
    d.segments.insert_many(segs)
    now = datetime.datetime.utcnow()
    d.sessions.insert_one({"_id": sid, "host": "synth-host-elsewhere", "boot_id": "none",
                           "listener_pid": 1, "started_at": now,
                           "ended_at": now if closed else None, "chain": chain})
    return sid, segs


def verify(sid):
    p = subprocess.run([QUERY, "--uri", URI, "--db", DB, "verify", str(sid)],
                       capture_output=True, text=True, timeout=60)
    print(f"$ verify {sid} -> {p.returncode}\n{p.stdout}{p.stderr}")
    return p.returncode, p.stdout


def expect(sid, rc_want, *texts, what):
    rc, out = verify(sid)
    check(rc == rc_want and all(t in out for t in texts), what)
    return out


def flip(seg, at):
    data = bytearray(bytes(seg["data"]))
    data[at] ^= 0x01
    d.segments.update_one({"_id": seg["_id"]}, {"$set": {"data": bson.Binary(bytes(data))}})


EXTRA = {"seq": Int64(99), "syscall": "execve", "argv": ["/bin/sh", "-c", "rm -rf /evidence"],
         "container": None}


def extra(sid):
    return dict(EXTRA, _id=f"{sid}:99", session=sid)


# the encoder agrees with the stored bytes: every prev names the bytes pymongo reads back
sid, segs = make_session()
stored = sorted(d.get_collection("segments", codec_options=S.RAW).find({"session": sid}),
                key=lambda x: x["link"])
head = bytes(d.sessions.find_one({"_id": sid})["chain"]["head"])
check(len(stored) == 6 and all(S.digest(a) == bytes(b["prev"]) for a, b in zip(stored, stored[1:]))
      and S.digest(stored[-1]) == head,
      "the stored segments' bytes are the bytes they were chained with (6 links, head)")
check([x["seq"] for x in S.raw_docs(d, sid)] == list(range(1, 13)), "they decode to seq 1..12")
expect(sid, 0, f"{sid} ok: 12 documents verified in 6 segments", what="clean synthetic session: ok")

# altered: a byte of a segment's compressed data (verify decodes nothing: the hash tells)
sid, segs = make_session()
flip(segs[2], len(bytes(segs[2]["data"])) // 2)
expect(sid, 5, "TAMPERED", f"altered: segment {segs[2]['_id']} (link 2): its bytes are not what "
       "link 3 names", what="a changed byte of a segment's data: the segment named")
# ... of the last segment: the session's head names it
sid, segs = make_session()
flip(segs[5], -1)
expect(sid, 5, "TAMPERED", f"altered: segment {segs[5]['_id']} (link 5): its hash is not the "
       "session's chain.head", what="a changed byte of the last segment: named through the head")
# a header field (the documents untouched): the hash covers the header too
sid, segs = make_session()
d.segments.update_one({"_id": segs[1]["_id"]}, {"$set": {"tgids": [Int64(1)]}})
expect(sid, 5, "TAMPERED", f"altered: segment {segs[1]['_id']} (link 1)",
       what="a segment's header changed: named")
# a document changed inside a segment, resealed under the same link and prev
sid, segs = make_session()
docs = S.decode(segs[3])
docs[0]["pid"] = 1
d.segments.replace_one({"_id": segs[3]["_id"]},
                       S.seal(sid, "events", docs, link=3, prev=bytes(segs[3]["prev"])))
expect(sid, 5, "TAMPERED", f"altered: segment {segs[3]['_id']} (link 3)",
       what="a document changed and its segment resealed: named")

# removed: one in the middle, two in a row, the last ones of a closed session
sid, segs = make_session()
d.segments.delete_one({"_id": segs[2]["_id"]})
expect(sid, 5, "TAMPERED", "removed: the segment of link 2 (the chain breaks there)",
       what="a removed segment: its link named")
sid, segs = make_session()
d.segments.delete_many({"_id": {"$in": [segs[1]["_id"], segs[2]["_id"]]}})
expect(sid, 5, "TAMPERED", "removed: the segments of links 1-2 (the chain breaks there)",
       what="two removed segments: the link range named")
sid, segs = make_session()
d.segments.delete_many({"session": sid, "link": {"$gte": 4}})
expect(sid, 5, "TAMPERED", "removed: the segments of links 4-5 (the session ended with 6)",
       what="the chain's last segments removed from a closed session")

# inserted: without a link; claiming a link another holds; after the session's last
sid, segs = make_session()
ins = S.seal(sid, "events", [extra(sid)])
d.segments.insert_one(ins)
expect(sid, 5, "TAMPERED", f"inserted: segment {ins['_id']} carries no link",
       what="an inserted unlinked segment: named")
sid, segs = make_session()
ins = S.seal(sid, "events", [extra(sid)], link=2, prev=bytes(segs[2]["prev"]))
d.segments.insert_one(ins)
out = expect(sid, 5, "TAMPERED", "claims link 2, which", what="an inserted segment claiming a "
             "held link")
check(ins["_id"] in out and segs[2]["_id"] in out,
      "the finding names the forged segment and the genuine one")
sid, segs = make_session()
d.segments.insert_one(S.seal(sid, "events", [extra(sid)], link=6, prev=S.digest(segs[5])))
expect(sid, 5, "TAMPERED", "inserted: segments of links 6-6 after the session's last",
       what="a segment appended after the session's end")

# swapped: two segments exchange their places in the chain (link and prev) ...
sid, segs = make_session()
a, b = segs[1], segs[3]
d.segments.update_one({"_id": a["_id"]}, {"$set": {"link": b["link"], "prev": b["prev"]}})
d.segments.update_one({"_id": b["_id"]}, {"$set": {"link": a["link"], "prev": a["prev"]}})
out = expect(sid, 5, "TAMPERED", f"altered: segment {b['_id']} (link 1)",
             what="two segments swapped: the one now at link 1 named")
# ... or their documents, each resealed in the other's place
sid, segs = make_session()
a, b = segs[0], segs[2]
fa = S.seal(sid, "events", S.unpack(b), link=0, prev=bytes(a["prev"]))
fb = S.seal(sid, "events", S.unpack(a), link=2, prev=bytes(b["prev"]))
d.segments.delete_many({"_id": {"$in": [a["_id"], b["_id"]]}})
d.segments.insert_many([fa, fb])
expect(sid, 5, "TAMPERED", f"altered: segment {fa['_id']} (link 0)",
       what="two segments' documents swapped and resealed: named")

# the session document: head and counts
sid, segs = make_session()
d.sessions.update_one({"_id": sid}, {"$set": {"chain.head": bson.Binary(b"\0" * 32)}})
expect(sid, 5, "TAMPERED", f"altered: segment {segs[5]['_id']} (link 5): its hash is not the "
       "session's chain.head", what="the session's head does not match the last segment")
sid, segs = make_session()
d.sessions.update_one({"_id": sid}, {"$set": {"chain.counts.events": Int64(1)}})
expect(sid, 5, "TAMPERED", "the session says 1 events documents, its segments hold 8",
       what="the session's counts do not match")

# never closed, its listener gone: truncated (the last segment not verifiable), not tampered
sid, segs = make_session(closed=False)
d.segments.delete_many({"session": sid, "link": {"$gte": 4}})
out = expect(sid, 5, f"{sid} truncated at seq 6: the listener never closed the session",
             "2 in the last segment not verifiable", what="a truncated session")
check("TAMPERED" not in out, "truncation is not reported as tampering")
# ... but a segment removed in the middle of it is tampering
sid, segs = make_session(closed=False)
d.segments.delete_one({"_id": segs[1]["_id"]})
expect(sid, 5, "TAMPERED", "removed: the segment of link 1",
       what="a segment removed from an open session: TAMPERED")

# closed with a spool left: pending, then whole once the spool is replayed
sid, segs = make_session(complete=False)
d.segments.delete_many({"session": sid, "link": {"$gte": 4}})
expect(sid, 5, f"{sid} pending: whole up to seq 6", what="a session that left a spool: pending")
d.segments.insert_many(segs[4:])
expect(sid, 0, f"{sid} ok: 12 documents verified", what="the same once the spool is replayed: ok")

# recorded without a chain: unlinked segments, no chain field
sid = bson.ObjectId()
d.sessions.insert_one({"_id": sid, "started_at": datetime.datetime.utcnow(), "ended_at": None})
d.segments.insert_one(S.seal(sid, "events", [dict(EXTRA, _id=f"{sid}:1", session=sid,
                                                   seq=Int64(1))]))
expect(sid, 0, "unchained", what="a session without a chain: unchained, exit 0")
# ... unless its segments carry links and the session document lost its chain field
sid, segs = make_session(8)
d.sessions.update_one({"_id": sid}, {"$unset": {"chain": ""}})
expect(sid, 5, "TAMPERED", "lost its chain field", what="the chain field removed from the session")
finish("chain_synth")
