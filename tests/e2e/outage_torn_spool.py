"""outage_torn_spool.py — a spool left by a crashed run whose last record is torn (issue 5,
test 3). Segments are written as spool.c writes them (concatenated BSON, deterministic
_ids "<session hex>:<seq>" of a made-up session) into the listener's --spool directory before
it starts: the listener replays the complete documents, skips and counts the torn one
(counters.torn_spool_records == 1), deletes the replayed segments and exits 0."""
import os

import bson

from lib import Listener, audit_config, check, db, finish, spool_files

DB = f"lineage_test_outage_torn_{os.getpid()}"
N_EVENTS, N_PROC, TORN_BYTES = 20, 5, 3

fake = bson.ObjectId()


def doc(seq, **kw):
    return {"_id": f"{fake}:{seq}", "session": fake, "host": "torn-spool-test", "seq": seq, **kw}


events = [doc(i, syscall="execve", pid=1000 + i, argv=["/bin/true", str(i)])
          for i in range(1, N_EVENTS + 1)]
procs = [doc(N_EVENTS + i, what="exec", pid=2000 + i, tgid=2000 + i)
         for i in range(1, N_PROC + 1)]

L = Listener(DB)
L.lock_audit()  # our audit turn before reading the configuration
before = audit_config()
os.makedirs(L.spool, mode=0o700)
# segment 1: events, last record cut short (a crash in the middle of the write)
raw = b"".join(bson.encode(d) for d in events)
with open(os.path.join(L.spool, "events.0000000000000001.bson"), "wb") as f:
    f.write(raw[:-TORN_BYTES])
# segment 2: complete proc_events, left ".open" (never closed by the crashed run)
with open(os.path.join(L.spool, "proc_events.0000000000000002.bson.open"), "wb") as f:
    f.write(b"".join(bson.encode(d) for d in procs))

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
got_ev = {x["_id"] for x in d.events.find({"session": fake}, {"_id": 1})}
want_ev = {x["_id"] for x in events[:-1]}
check(got_ev == want_ev, f"the {N_EVENTS - 1} complete events arrived, the torn one did not "
      f"(got {len(got_ev)}, missing {sorted(want_ev - got_ev)[:3]}, extra {sorted(got_ev - want_ev)[:3]})")
check(d.events.count_documents({"_id": events[-1]["_id"]}) == 0, "torn record not stored")
got_pe = d.proc_events.count_documents({"session": fake})
check(got_pe == N_PROC, f"the {N_PROC} documents of the '.open' segment arrived ({got_pe})")
same = d.events.find_one({"_id": events[3]["_id"]})
check(same is not None and same.get("argv") == events[3]["argv"] and same.get("session") == fake,
      "a replayed document carries the spooled fields (argv, session)")
s = d.sessions.find_one({"ended_at": {"$ne": None}})
c = (s or {}).get("counters", {})
check(c.get("torn_spool_records") == 1, f"counters.torn_spool_records == 1 ({c.get('torn_spool_records')})")
check(c.get("replayed", 0) >= N_EVENTS - 1 + N_PROC,
      f"counters.replayed counts the replayed documents ({c.get('replayed')} >= {N_EVENTS - 1 + N_PROC})")
check(c.get("dropped") == 0, f"nothing dropped ({c.get('dropped')})")
check("torn or corrupt" in log, "the torn record is reported in the log")
d.client.drop_database(DB)
finish("outage_torn_spool")
