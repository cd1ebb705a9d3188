"""chain_synth.py — `lineage-query verify` against chains written by an independent encoder
(issue 21): this file builds sessions in Python (pymongo, the link format of
common/chain_format.h re-implemented here) in the shared store, then breaks them in every way
verify must tell apart — a document altered, removed, inserted, moved to another collection, a
link altered, removed, its prev broken, the session's head changed — and checks the verdict
and the exit status. Sessions never closed (truncated), closed with a spool left (pending) and
recorded without a chain (unchained) too. No listener: the real one is tests/e2e/chain_verify.py."""
import atexit
import datetime
import hashlib
import os
import signal
import sys
import struct
import subprocess

import bson
from bson.int64 import Int64

from lib import URI, check, db, finish

QUERY = os.environ.get("QUERY", "build/query/lineage-query")
DB = f"lineage_test_chain_synth_{os.getpid()}"
COLLS = ["events", "proc_events", "snapshot", "container_facts"]
# meson's timeout sends SIGTERM: still drop the database (atexit)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
d = db(DB)
atexit.register(lambda: d.client.drop_database(DB))


def varint(z):
    out = bytearray()
    while True:
        b = z & 0x7F
        z >>= 7
        out.append(b | (0x80 if z else 0))
        if not z:
            return bytes(out)


def make_session(ndocs, link_docs=4, closed=True, complete=True, order=None):
    """Documents seq 1..ndocs (every third a proc_event), linked in `order` (default seq
    order), links of link_docs; returns (session ObjectId, {seq: (coll, doc)})."""
    sid = bson.ObjectId()
    hexid = str(sid)
    docs = {}
    for seq in range(1, ndocs + 1):
        coll = "proc_events" if seq % 3 == 0 else "events"
        doc = {"_id": f"{hexid}:{seq}", "session": sid, "host": "synth", "seq": Int64(seq),
               "ts": datetime.datetime(2026, 12, 1, 12, 0, 0, seq * 1000), "pid": 100 + seq,
               "argv": ["/bin/x", str(seq)], "ok": True, "ratio": seq / 7}
        docs[seq] = (coll, doc)
        d[coll].insert_one(doc)
    order = order or list(range(1, ndocs + 1))
    prev, link, counts = b"\0" * 32, 0, {c: 0 for c in COLLS}
    chunks = [order[i:i + link_docs] for i in range(0, len(order), link_docs)]
    if closed:
        chunks.append([])  # the final link at a clean stop is often empty
    for i, chunk in enumerate(chunks):
        final = closed and i == len(chunks) - 1
        members, ps = bytearray(), 0
        for seq in chunk:
            coll, doc = docs[seq]
            delta = seq - ps
            members += varint(((delta << 1) ^ (delta >> 63)) & 0xFFFFFFFFFFFFFFFF)
            members.append(COLLS.index(coll))
            members += hashlib.sha256(bson.encode(doc)).digest()
            ps = seq
            counts[coll] += 1
        h = hashlib.sha256(b"lineage-chain-v1\0" + sid.binary + struct.pack("<Q", link) + prev +
                           bytes([1 if final else 0]) + struct.pack("<Q", len(members)) +
                           bytes(members)).digest()
        d.chain.insert_one({"_id": f"{hexid}:link:{link}", "session": sid, "link": Int64(link),
                            "n": Int64(len(chunk)), "final": final, "prev": bson.Binary(prev),
                            "members": bson.Binary(bytes(members)), "hash": bson.Binary(h)})
        prev, link = h, link + 1
    chain = {"algo": "sha256", "version": 1, "link_docs": Int64(link_docs)}
    if closed:
        chain.update({"links": Int64(link), "head": bson.Binary(prev),
                      "docs": Int64(ndocs), "counts": {c: Int64(n) for c, n in counts.items()},
                      "complete": complete})
    now = datetime.datetime.utcnow()
    d.sessions.insert_one({"_id": sid, "host": "synth-host-elsewhere", "boot_id": "none",
                           "listener_pid": 1, "started_at": now,
                           "ended_at": now if closed else None, "chain": chain})
    return sid, docs


def verify(sid):
    p = subprocess.run([QUERY, "--uri", URI, "--db", DB, "verify", str(sid)],
                       capture_output=True, text=True)
    print(f"$ verify {sid} -> {p.returncode}\n{p.stdout}{p.stderr}")
    return p.returncode, p.stdout


def expect(sid, rc_want, *texts, what):
    rc, out = verify(sid)
    check(rc == rc_want and all(t in out for t in texts), what)


# a whole session, linked out of seq order (two threads submit)
sid, docs = make_session(20, order=[1, 2, 4, 3, 5, 6, 8, 7, 9, 10, 12, 11, 13, 14, 15, 16, 17,
                                    19, 18, 20])
expect(sid, 0, f"{sid} ok: 20 documents verified in 6 links", what="clean synthetic session: ok")

# altered
d.events.update_one({"_id": f"{sid}:5"}, {"$set": {"pid": 1}})
expect(sid, 5, f"altered: _id {sid}:5 (events)", "TAMPERED", what="altered document named")
# removed: a range
for s in (10, 11, 13):
    d[docs[s][0]].delete_one({"_id": f"{sid}:{s}"})
expect(sid, 5, "removed: seq 10-11 (2 documents)", f"removed: seq 13 (_id {sid}:13)",
       what="removed documents named as seq ranges")
# inserted
d.events.insert_one({"_id": f"{sid}:99", "session": sid, "seq": Int64(99)})
d.events.insert_one({"_id": "forged", "session": sid})
expect(sid, 5, "inserted: seq 99", "with an _id the listener never writes",
       what="inserted documents named")
# moved to another collection
doc = docs[3][1]
d.proc_events.delete_one({"_id": doc["_id"]})
d.events.insert_one(doc)
expect(sid, 5, f"altered: _id {sid}:3 is in events, link 0 put it in proc_events",
       what="a document moved to another collection")

# links: altered, removed, prev broken, head
sid, docs = make_session(12)
d.chain.update_one({"_id": f"{sid}:link:1"}, {"$set": {"final": True}})
expect(sid, 5, "altered: link 1", what="an altered link (its hash no longer matches)")
sid, docs = make_session(12)
d.chain.delete_one({"_id": f"{sid}:link:1"})
expect(sid, 5, "removed: link 1 (the chain breaks there)", "inserted: seq 5-8",
       what="a removed link, its documents then in no link")
sid, docs = make_session(12)
l2 = d.chain.find_one({"_id": f"{sid}:link:2"})
d.chain.update_one({"_id": f"{sid}:link:2"}, {"$set": {"prev": bson.Binary(b"\1" * 32)}})
expect(sid, 5, "altered: link 2", what="a link whose prev or hash was rewritten")
sid, docs = make_session(12)
d.chain.delete_many({"session": sid, "link": {"$gte": 2}})
expect(sid, 5, "removed: links 2-3 (the session ended with 4 links)",
       what="the chain's last links removed from a closed session")
sid, docs = make_session(12)
d.sessions.update_one({"_id": sid}, {"$set": {"chain.head": bson.Binary(b"\0" * 32)}})
expect(sid, 5, "the last link's hash is not the session's chain.head",
       what="the session's head does not match the last link")
sid, docs = make_session(12)
d.sessions.update_one({"_id": sid}, {"$set": {"chain.counts.events": Int64(1)}})
expect(sid, 5, "the session says 1 events documents", what="the session's counts do not match")

# never closed: links up to seq 8, documents 9..12 unlinked, its listener gone
sid, docs = make_session(12, closed=False)
d.chain.delete_one({"_id": f"{sid}:link:2"})
expect(sid, 5, f"{sid} truncated at seq 8: the listener never closed the session",
       "unlinked: 4 documents after the last link (seq 9-12)", what="a truncated session")
rc, out = verify(sid)
check("TAMPERED" not in out, "truncation is not reported as tampering")
# never closed, and a linked document never stored (lost in memory at the kill)
sid, docs = make_session(12, closed=False)
d.events.delete_one({"_id": f"{sid}:10"})
expect(sid, 5, f"{sid} truncated at seq 8", "not stored: seq 10",
       what="a linked document lost at the kill: truncated before it")

# closed with a spool left: pending, then whole once it is replayed
sid, docs = make_session(12, complete=False)
held = list(d.chain.find({"session": sid, "link": {"$gte": 2}}))
gone = [docs[s] for s in (9, 10, 11, 12)]
d.chain.delete_many({"session": sid, "link": {"$gte": 2}})
for coll, doc in gone:
    d[coll].delete_one({"_id": doc["_id"]})
expect(sid, 5, f"{sid} pending: whole up to seq 8", what="a session that left a spool: pending")
d.chain.insert_many(held)
for coll, doc in gone:
    d[coll].insert_one(doc)
expect(sid, 0, f"{sid} ok:", what="the same once the spool is replayed: ok")

# recorded without a chain
sid = bson.ObjectId()
d.sessions.insert_one({"_id": sid, "started_at": datetime.datetime.utcnow(), "ended_at": None})
expect(sid, 0, "unchained", what="a session without a chain: unchained, exit 0")
# ... unless its links are there and the session document lost its chain field
sid, docs = make_session(8)
d.sessions.update_one({"_id": sid}, {"$unset": {"chain": ""}})
expect(sid, 5, "lost its chain field", what="the chain field removed from the session")
finish("chain_synth")
