"""chain_verify.py — the evidence chain end to end (issues 21, 33): the real listener records
real activity into the shared store; pymongo, as an independent client, checks that the bytes
it reads back are the bytes the chain was made of (segments.py: each segment's prev is the
SHA-256 of the previous segment document, the session's head that of the last), then tampers
with the stored session's segments — changes a byte of one's data, removes one, inserts one,
swaps two — and `lineage-query verify` must name the segment in each case and exit 5; a clean
session verifies ok (exit 0). A listener killed with -9 leaves a session that verify reports
as truncated (exit 5), and a session whose segments went through the spool during an outage of
a PRIVATE FerretDB (killed and restarted) verifies ok."""
import atexit
import os
import signal
import sys
import re
import shutil
import subprocess
import tempfile
import time

import bson

import segments as S
from lib import (Listener, PrivateFerret, URI, audit_config, audit_restore, check, db, finish,
                 spool_files)

QUERY = os.environ.get("QUERY", "build/query/lineage-query")
FILTER = os.environ.get("FILTER", "build/filter/lineage-filter")
DB = f"lineage_test_chain_{os.getpid()}"
# small segments: a short workload makes many, so that one in the middle can be tampered with
SEG = ("--segment-events", "32")

# meson's timeout sends SIGTERM: still drop the database (atexit)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
atexit.register(lambda: db(DB).client.drop_database(DB))
tmp = tempfile.mkdtemp(prefix="lineage-chain-")
atexit.register(shutil.rmtree, tmp, True)
work = os.path.join(tmp, "work")
os.mkdir(work)


def workload(n=40):
    subprocess.run(["sh", "-c", f"i=0; while [ $i -lt {n} ]; do /bin/true; echo $i > {work}/f$i; "
                                f"cat {work}/f$i > /dev/null; i=$((i+1)); done"], check=True)


def verify(*args, uri=URI):
    p = subprocess.run([QUERY, "--uri", uri, "--db", DB, "verify", *args], capture_output=True,
                       text=True)
    print(f"$ lineage-query verify {' '.join(args)} -> {p.returncode}\n{p.stdout}{p.stderr}")
    return p.returncode, p.stdout


def independent_check(d, sid):
    """Recompute the chain in Python from what pymongo reads (segments.py): every segment's
    prev must be the SHA-256 of the previous one's bytes, the session's head that of the last,
    and the decoded documents the session's counts."""
    oid = bson.ObjectId(sid)
    segs = sorted(S.segments(d, oid, raw=True), key=lambda x: x.get("link", -1))
    prev, bad, raw = bytes(32), [], {}
    for i, seg in enumerate(segs):
        if seg.get("link") != i or bytes(seg["prev"]) != prev:
            bad.append(f"segment {seg['_id']}")
        prev = S.digest(seg)
        for x in S.decode(seg):
            if x["seq"] in raw:
                bad.append(f"seq {x['seq']} twice")
            raw[x["seq"]] = seg["stream"]
    s = d.sessions.find_one({"_id": oid})
    ch = s.get("chain", {})
    check(not bad and segs, f"Python recomputation: every segment's link and prev match the bytes "
          f"pymongo reads ({len(segs)} segments, {len(raw)} documents; bad {bad[:5]})")
    check(ch.get("version") == 2 and ch.get("links") == len(segs) and
          bytes(ch.get("head", b"")) == prev,
          "the session document carries the chain's end (version 2, links, head)")
    counts = {c: sum(1 for v in raw.values() if v == c) for c in S.STREAMS}
    check(ch.get("counts") == counts and ch.get("docs") == len(raw),
          f"the session's counts per stream ({ch.get('counts')} == {counts})")
    return segs


def session_of(listener):
    m = re.search(r"session ([0-9a-f]{24}): recording", listener.log())
    return m.group(1) if m else None


def replay_spool(spool, uri=URI):
    """A listener that could not drain in its 20 s stop timeout (a busy shared store) left its
    session 'pending' with documents in the spool: the next listener on that spool replays
    them, which is what this does (its own session is not looked at)."""
    R = Listener(DB, "--no-write", uri=uri, spool=spool)
    R.start()
    deadline = time.time() + 120
    while spool_files(spool) and time.time() < deadline:
        time.sleep(0.2)
    R.stop()


# ---- a clean session, then tampering with its segments ----------------------------------
L = Listener(DB, "--no-write", "--batch-age", "100", *SEG)
L.start()
sid = session_of(L)
workload()
time.sleep(1.5)
rc = L.stop()
check(rc == 0, f"listener exited 0 ({rc})")
d = db(DB)
if d.sessions.find_one({"_id": bson.ObjectId(sid)})["chain"].get("complete") is False:
    rc, out = verify(sid)
    check(rc == 5 and f"{sid} pending:" in out, "a session that left a spool at stop is 'pending'")
    replay_spool(L.spool)
segs = independent_check(d, sid)
check(len(segs) >= 5, f"the session has segments to tamper with ({len(segs)})")
rc, out = verify(sid)
check(rc == 0 and f"{sid} ok:" in out, "a clean session verifies ok, exit 0")
oid = bson.ObjectId(sid)
raw_segs = d.get_collection("segments", codec_options=S.RAW)
victim = segs[len(segs) // 2]  # a RawBSONDocument: its exact bytes, for the restore
vid, vlink = victim["_id"], victim["link"]


def restore(*orig):
    """The original segment documents back, byte for byte."""
    d.segments.delete_many({"_id": {"$in": [o["_id"] for o in orig]}})
    raw_segs.insert_many(list(orig))


# 1. a byte of one segment's compressed data
data = bytearray(bytes(victim["data"]))
data[len(data) // 2] ^= 0x04
d.segments.update_one({"_id": vid}, {"$set": {"data": bson.Binary(bytes(data))}})
rc, out = verify(sid)
check(rc == 5 and "TAMPERED" in out and
      f"altered: segment {vid} (link {vlink}): its bytes are not what link {vlink + 1} names" in out,
      f"a changed byte of a segment is named by the segment's _id ({vid}), exit 5")
# the filter refuses nothing, but writes the verdict into its output
fp = subprocess.run([FILTER, "--uri", URI, "--db", DB, "--session", sid, "-q"],
                    capture_output=True, text=True)
fs = d.sessions.find_one({"_id": oid}).get("filter", {}).get("integrity", {})
check(fp.returncode == 0 and fs.get("status") == "TAMPERED" and "evidence chain" in fp.stderr,
      f"the filter runs on a tampered session, warns and records the verdict ({fp.returncode}, "
      f"{fs})")
# and a query on that output says so (stderr), once, and still answers
qp = subprocess.run([QUERY, "--uri", URI, "--db", DB, "containers", "--session", sid],
                    capture_output=True, text=True)
check(qp.returncode == 0 and qp.stderr.count("does not verify (TAMPERED") == 1,
      f"a query on the tampered session's output warns once ({qp.returncode}, {qp.stderr[-300:]!r})")
restore(victim)
rc, out = verify(sid)
check(rc == 0, "restored with its original bytes, the session verifies again")
subprocess.run([FILTER, "--uri", URI, "--db", DB, "--session", sid, "-q"], capture_output=True)
qp = subprocess.run([QUERY, "--uri", URI, "--db", DB, "containers", "--session", sid],
                    capture_output=True, text=True)
check(qp.returncode == 0 and "does not verify" not in qp.stderr,
      f"re-filtered after the restore, the query warns no more ({qp.stderr[-300:]!r})")

# 2. remove one segment
d.segments.delete_one({"_id": vid})
rc, out = verify(sid)
check(rc == 5 and f"removed: the segment of link {vlink} (the chain breaks there)" in out,
      f"a removed segment is named by its link ({vlink}), exit 5")
restore(victim)

# 3. insert one: the victim's documents, one of them forged, as a segment of its own (a forger
# cannot make a link: without one, or under the victim's link)
docs = S.decode(victim)
fake_seq = max(x["seq"] for s in segs for x in S.decode(s)) + 7
forged_doc = dict(docs[0], _id=f"{sid}:{fake_seq}", seq=bson.int64.Int64(fake_seq),
                  argv=["/bin/sh", "-c", "rm -rf /evidence"])
fake = S.seal(oid, victim["stream"], [forged_doc])
d.segments.insert_one(fake)
rc, out = verify(sid)
check(rc == 5 and f"inserted: segment {fake['_id']} carries no link" in out,
      f"an inserted segment is named ({fake['_id']}), exit 5")
d.segments.delete_one({"_id": fake["_id"]})
fake = S.seal(oid, victim["stream"], [forged_doc], link=vlink, prev=bytes(victim["prev"]))
d.segments.insert_one(fake)
rc, out = verify(sid)
check(rc == 5 and f"claims link {vlink}, which" in out and fake["_id"] in out and vid in out,
      f"an inserted segment under a held link: both named, exit 5")
d.segments.delete_one({"_id": fake["_id"]})

# 4. swap two segments (their places in the chain: link and prev exchanged)
a, b = segs[1], segs[3]
d.segments.update_one({"_id": a["_id"]}, {"$set": {"link": b["link"], "prev": b["prev"]}})
d.segments.update_one({"_id": b["_id"]}, {"$set": {"link": a["link"], "prev": a["prev"]}})
rc, out = verify(sid)
check(rc == 5 and f"altered: segment {b['_id']} (link {a['link']})" in out,
      "two swapped segments: the one moved forward is named, exit 5")
restore(a, b)
rc, out = verify(sid)
check(rc == 0 and f"{sid} ok:" in out, "after every restore the session verifies ok again")
fp = subprocess.run([FILTER, "--uri", URI, "--db", DB, "--session", sid, "-q"],
                    capture_output=True, text=True)
fs = d.sessions.find_one({"_id": oid}).get("filter", {}).get("integrity", {})
check(fp.returncode == 0 and fs.get("status") == "ok", f"the filter records 'ok' on a whole "
      f"session ({fs})")

# ---- kill -9: a session never closed ------------------------------------------------------
L2 = Listener(DB, "--no-write", "--batch-age", "100", *SEG)
L2.lock_audit()
before = audit_config()
L2.start()
sid2 = session_of(L2)
workload()
time.sleep(2.5)  # a few segments stored
rc, out = verify(sid2)
check(rc == 0 and "recording" in out, "while its listener runs, the session is 'recording', exit 0")
workload()
L2.proc.kill()
L2.proc.wait(timeout=30)
L2.err.close()
if audit_config() != before:
    audit_restore(before)  # a SIGKILLed listener leaves its rules behind (kernel fact)
L2.release()
rc, out = verify(sid2)
check(rc == 5 and re.search(rf"{sid2} truncated at seq \d+: the listener never closed", out)
      and "TAMPERED" not in out, "a listener killed with -9: 'truncated at seq N', not tampered, "
      "exit 5")
rc, out = verify("--all")
check(rc == 5, "verify --all exits 5 when one session does not verify")
d.client.drop_database(DB)

# ---- an outage of a private FerretDB: the spool, replayed, verifies the same ----------------
fdb = PrivateFerret()
atexit.register(fdb.cleanup)
fdb.start()
spool = os.path.join(tmp, "spool")
L3 = Listener(DB, "--no-write", "--batch-age", "100", uri=fdb.uri, spool=spool)
L3.start()
sid3 = session_of(L3)
workload(20)
time.sleep(1)
fdb.kill()
workload(60)
deadline = time.time() + 10
while not spool_files(spool) and time.time() < deadline:
    time.sleep(0.1)
time.sleep(1.5)  # segments sealed during the outage go to the spool too
fdb.start()
deadline = time.time() + 60
while spool_files(spool) and time.time() < deadline:
    time.sleep(0.1)
time.sleep(1)
rc = L3.stop()
check(rc == 0, f"listener through the outage exited 0 ({rc})")
d3 = fdb.client()[DB]
if d3.sessions.find_one({"_id": bson.ObjectId(sid3)})["chain"].get("complete") is False:
    replay_spool(spool, uri=fdb.uri)
c3 = d3.sessions.find_one({"_id": bson.ObjectId(sid3)})["counters"]
print(f"outage session counters: spooled {c3.get('spooled')} replayed {c3.get('replayed')}")
check(c3.get("spooled", 0) > 0 and c3.get("replayed", 0) > 0,
      "documents went through the spool and were replayed")
independent_check(d3, sid3)
rc, out = verify(sid3, uri=fdb.uri)
check(rc == 0 and f"{sid3} ok:" in out, "a session that went through the spool verifies ok")
finish("chain_verify")
