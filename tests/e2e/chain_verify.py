"""chain_verify.py — the evidence chain end to end (issue 21): the real listener records real
activity into the shared store; pymongo, as an independent client, checks that the bytes it
reads back are the bytes the links were made of (an own Python implementation of the link
format: common/chain_format.h), then tampers with the stored session — alters one event,
deletes one, inserts one, deletes a link — and `lineage-query verify` must name each case and
exit 5; a clean session verifies ok (exit 0). A listener killed with -9 leaves a session that
verify reports as truncated (exit 5), and a session whose documents went through the spool
during an outage of a PRIVATE FerretDB (killed and restarted) verifies ok."""
import atexit
import hashlib
import os
import signal
import sys
import re
import shutil
import struct
import subprocess
import tempfile
import time

import bson
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument

from lib import (Listener, PrivateFerret, URI, audit_config, audit_restore, check, db, finish,
                 spool_files)

QUERY = os.environ.get("QUERY", "build/query/lineage-query")
FILTER = os.environ.get("FILTER", "build/filter/lineage-filter")
DB = f"lineage_test_chain_{os.getpid()}"
RAW = CodecOptions(document_class=RawBSONDocument)
COLLS = ["events", "proc_events", "snapshot", "container_facts"]  # chain_format.h codes 0..3

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


def members(blob):
    """Decode a link's members: zigzag varint seq delta, collection code, 32-byte digest."""
    out, pos, prev = [], 0, 0
    while pos < len(blob):
        z, shift = 0, 0
        while True:
            b = blob[pos]
            pos += 1
            z |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        d = (z >> 1) ^ -(z & 1)
        prev = prev + d
        out.append((prev, blob[pos], bytes(blob[pos + 1:pos + 33])))
        pos += 33
    return out


def link_hash(session, link):
    h = hashlib.sha256()
    h.update(b"lineage-chain-v1\0" + session.binary + struct.pack("<Q", link["link"]) +
             bytes(link["prev"]) + bytes([1 if link["final"] else 0]) +
             struct.pack("<Q", len(link["members"])) + bytes(link["members"]))
    return h.digest()


def independent_check(d, sid):
    """Recompute the chain in Python from what pymongo reads: every byte must match."""
    oid = bson.ObjectId(sid)
    raw = {}
    for code, coll in enumerate(COLLS):
        for x in d.get_collection(coll, codec_options=RAW).find({"session": oid}):
            seq = int(bson.decode(x.raw)["_id"].split(":")[1])
            raw[seq] = (code, hashlib.sha256(x.raw).digest())
    links = sorted(d.chain.find({"session": oid}), key=lambda x: x["link"])
    prev, bad, linked = b"\0" * 32, [], 0
    for ln in links:
        if bytes(ln["prev"]) != prev or link_hash(oid, ln) != bytes(ln["hash"]):
            bad.append(f"link {ln['link']}")
        prev = bytes(ln["hash"])
        for seq, code, dig in members(bytes(ln["members"])):
            linked += 1
            if raw.get(seq) != (code, dig):
                bad.append(f"seq {seq}")
    s = d.sessions.find_one({"_id": oid})
    ch = s.get("chain", {})
    check(not bad, f"Python recomputation: every link and every stored document's bytes match "
          f"({len(links)} links, {linked} linked, {len(raw)} stored; bad {bad[:5]})")
    check(linked == len(raw), f"every stored document is linked ({linked} == {len(raw)})")
    check(ch.get("links") == len(links) and bytes(ch.get("head", b"")) == prev,
          "the session document carries the final link (links, head)")
    counts = {c: sum(1 for v in raw.values() if v[0] == i) for i, c in enumerate(COLLS)}
    check(ch.get("counts") == counts, f"the session's counts per collection ({ch.get('counts')} "
          f"== {counts})")
    return raw


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


# ---- a clean session, then tampering on it ------------------------------------------------
L = Listener(DB, "--no-write", "--batch-age", "100")
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
raw = independent_check(d, sid)
rc, out = verify(sid)
check(rc == 0 and f"{sid} ok:" in out, "a clean session verifies ok, exit 0")

events = d.get_collection("events", codec_options=RAW)
oid = bson.ObjectId(sid)
ev = [bson.decode(x.raw) for x in events.find({"session": oid}).limit(50)]
victim = ev[len(ev) // 2]["_id"]
orig = events.find_one({"_id": victim})

# 1. alter one event
d.events.update_one({"_id": victim}, {"$set": {"exe": "/usr/bin/innocent"}})
rc, out = verify(sid)
check(rc == 5 and f"altered: _id {victim} (events)" in out and "TAMPERED" in out,
      f"an altered event is named by its _id ({victim}), exit 5")
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
d.events.delete_one({"_id": victim})
events.insert_one(orig)  # the original bytes back
rc, out = verify(sid)
check(rc == 0, "restored with its original bytes, the session verifies again")
subprocess.run([FILTER, "--uri", URI, "--db", DB, "--session", sid, "-q"], capture_output=True)
qp = subprocess.run([QUERY, "--uri", URI, "--db", DB, "containers", "--session", sid],
                    capture_output=True, text=True)
check(qp.returncode == 0 and "does not verify" not in qp.stderr,
      f"re-filtered after the restore, the query warns no more ({qp.stderr[-300:]!r})")

# 2. delete one event
seq = int(victim.split(":")[1])
d.events.delete_one({"_id": victim})
rc, out = verify(sid)
check(rc == 5 and f"removed: seq {seq} (_id {victim})" in out,
      f"a deleted event is named by its seq ({seq}), exit 5")
events.insert_one(orig)

# 3. insert one event (a copy with an _id and seq of its own, as a forger would)
fake = dict(bson.decode(orig.raw))
fake_seq = max(raw) + 7
fake["_id"], fake["seq"] = f"{sid}:{fake_seq}", bson.int64.Int64(fake_seq)
fake["argv"] = ["/bin/sh", "-c", "rm -rf /evidence"]
d.events.insert_one(fake)
rc, out = verify(sid)
check(rc == 5 and f"inserted: seq {fake_seq}" in out, f"an inserted event is named ({fake_seq}), "
      "exit 5")
d.events.delete_one({"_id": fake["_id"]})

# 4. delete a link (its documents lose their proof)
if d.chain.count_documents({"session": oid}) > 1:
    ln = d.get_collection("chain", codec_options=RAW).find_one({"session": oid, "link": 0})
    d.chain.delete_one({"_id": f"{sid}:link:0"})
    rc, out = verify(sid)
    check(rc == 5 and "removed: link 0" in out, "a deleted link is named, exit 5")
    d.get_collection("chain", codec_options=RAW).insert_one(ln)
rc, out = verify(sid)
check(rc == 0 and f"{sid} ok:" in out, "after every restore the session verifies ok again")
fp = subprocess.run([FILTER, "--uri", URI, "--db", DB, "--session", sid, "-q"],
                    capture_output=True, text=True)
fs = d.sessions.find_one({"_id": oid}).get("filter", {}).get("integrity", {})
check(fp.returncode == 0 and fs.get("status") == "ok", f"the filter records 'ok' on a whole "
      f"session ({fs})")

# ---- kill -9: a session never closed ------------------------------------------------------
L2 = Listener(DB, "--no-write", "--batch-age", "100")
L2.lock_audit()
before = audit_config()
L2.start()
sid2 = session_of(L2)
workload()
time.sleep(2.5)  # a few links stored
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
time.sleep(1.5)  # links made during the outage go to the spool too
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
