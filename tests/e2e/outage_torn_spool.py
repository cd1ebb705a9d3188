"""outage_torn_spool.py — a spool left by a crashed run whose last record is torn (issue 5,
test 3; issue 33: the spool holds segment documents). Files are written as spool.c writes them
(concatenated BSON: segment documents of a made-up session sealed by segments.py, their raw
documents with deterministic _ids "<session hex>:<seq>") into the listener's --spool directory
before it starts: the listener replays the complete segments, skips and counts the torn one
(counters.torn_spool_records == 1) without storing any of its documents (not half a
segment), deletes the replayed files and exits 0."""
import os

import bson

import segments as S
from lib import Listener, audit_config, check, db, finish, spool_files

DB = f"lineage_test_outage_torn_{os.getpid()}"
N_EVENTS, PER, N_PROC, TORN_BYTES = 20, 5, 5, 3

fake = bson.ObjectId()


def doc(seq, **kw):
    return {"_id": f"{fake}:{seq}", "session": fake, "host": "torn-spool-test", "seq": seq, **kw}


events = [doc(i, syscall="execve", pid=1000 + i, argv=["/bin/true", str(i)])
          for i in range(1, N_EVENTS + 1)]
procs = [doc(N_EVENTS + i, what="exec", pid=2000 + i, tgid=2000 + i)
         for i in range(1, N_PROC + 1)]
ev_segs = [S.seal(fake, "events", events[i:i + PER]) for i in range(0, N_EVENTS, PER)]
torn_docs = events[-PER:]  # the last segment's documents: none may arrive

L = Listener(DB)
L.lock_audit()  # our audit turn before reading the configuration
before = audit_config()
os.makedirs(L.spool, mode=0o700)
# file 1: event segments, the last one cut short (a crash in the middle of the write)
raw = b"".join(bson.encode(g) for g in ev_segs)
with open(os.path.join(L.spool, "segments.0000000000000001.bson"), "wb") as f:
    f.write(raw[:-TORN_BYTES])
# file 2: a complete proc_events segment, left ".open" (never closed by the crashed run)
with open(os.path.join(L.spool, "segments.0000000000000002.bson.open"), "wb") as f:
    f.write(bson.encode(S.seal(fake, "proc_events", procs)))

L.start()
import time
deadline = time.time() + 20
while spool_files(L.spool) and time.time() < deadline:
    time.sleep(0.2)
left = spool_files(L.spool)
rc = L.stop(keep_lock=True)
log = L.log()
print(log[-2500:])
after = audit_config()
L.release()

check(rc == 0, f"listener exited 0 (got {rc})")
check(before == after, "audit configuration after == before")
check(not left, f"replayed segments deleted (left: {left})")
d = db(DB)
R = S.Raw(d)
got_ev = {x["_id"] for x in R.events.find({"session": fake}, {"_id": 1})}
want_ev = {x["_id"] for x in events[:-PER]}
check(got_ev == want_ev, f"the {N_EVENTS - PER} events of the complete segments arrived, none of "
      f"the torn one (got {len(got_ev)}, missing {sorted(want_ev - got_ev)[:3]}, extra "
      f"{sorted(got_ev - want_ev)[:3]})")
check(d.segments.count_documents({"_id": ev_segs[-1]["_id"]}) == 0 and
      not any(R.events.count_documents({"_id": x["_id"]}) for x in torn_docs),
      "torn segment not stored, not half of it")
check(d.segments.count_documents({"session": fake}) == len(ev_segs) - 1 + 1,
      "the complete segments stored as they were spooled (one document each)")
got_pe = R.proc_events.count_documents({"session": fake})
check(got_pe == N_PROC, f"the {N_PROC} documents of the '.open' file's segment arrived ({got_pe})")
same = R.events.find_one({"_id": events[3]["_id"]})
check(same is not None and same.get("argv") == events[3]["argv"] and same.get("session") == fake,
      "a replayed document carries the spooled fields (argv, session)")
stored = d.get_collection("segments", codec_options=S.RAW).find_one({"_id": ev_segs[0]["_id"]})
check(stored is not None and stored.raw == bson.encode(ev_segs[0]),
      "a replayed segment is stored byte for byte as spooled")
s = d.sessions.find_one({"ended_at": {"$ne": None}})
c = (s or {}).get("counters", {})
check(c.get("torn_spool_records") == 1, f"counters.torn_spool_records == 1 ({c.get('torn_spool_records')})")
check(c.get("replayed", 0) >= N_EVENTS - PER + N_PROC,
      f"counters.replayed counts the replayed documents ({c.get('replayed')} >= "
      f"{N_EVENTS - PER + N_PROC})")
check(c.get("dropped") == 0, f"nothing dropped ({c.get('dropped')})")
check("torn or corrupt" in log, "the torn record is reported in the log")
d.client.drop_database(DB)
finish("outage_torn_spool")
