"""outage_workload.py — the database goes away in the middle of a workload (issue 5, test 1;
issue 15: on the embedded default store).

usage: outage_workload.py [ferretdb|postgres]

A private embedded store (PostgreSQL 15 and FerretDB on it, scripts/services.sh); the real
listener writing into it; a host workload (a shell that execs /bin/true and creates a file
per round) and a container writing files, for ~10 s. About 3 s in, FerretDB (default) or
PostgreSQL (every process of it: the database server crashing under a FerretDB that stays
up and answers with errors) is SIGKILLed, and restarted on the same data 4 s later. The
listener must spool during the outage, replay when the database is back, never set a
document aside as refused, stop cleanly on SIGTERM and account for every document: what the
session's counters say was produced is exactly what the database holds, the listener's own
seq numbers have no gap, the workload's own counts (execs, file creations) are all there,
and nothing is duplicated. The restarted server has new pids: it must not be recorded either
(its stores of our documents would be recorded, stored, recorded: a feedback loop)."""
import atexit
from segments import Raw
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime

from lib import (IMAGE, Listener, PrivateStore, audit_config, check, docker, finish,
                 read_spool, spool_files)

MODE = sys.argv[1] if len(sys.argv) > 1 else "ferretdb"
if MODE not in ("ferretdb", "postgres"):
    sys.exit(f"outage_workload.py: unknown server '{MODE}' (ferretdb or postgres)")
DB = f"lineage_test_outage_1_{os.getpid()}"
KILL_AT, DOWN_FOR, WORKLOAD_FOR = 3.0, 4.0, 10.0


def log_times(log, pattern):
    out = []
    for line in log.splitlines():
        if re.search(pattern, line):
            out.append(datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f").timestamp())
    return out


fdb = PrivateStore()
atexit.register(fdb.cleanup)
fdb.start()
kill, restart = ((fdb.kill_ferretdb, fdb.start_ferretdb) if MODE == "ferretdb"
                 else (fdb.kill_postgres, fdb.start_postgres))
work = tempfile.mkdtemp(prefix="lineage-outage-work-")
L = Listener(DB, "--batch-age", "100", uri=fdb.uri)
L.lock_audit()
before = audit_config()
cid = None
try:
    L.start()
    t0 = time.time()
    shell = subprocess.Popen(
        ["sh", "-c", f'i=0; while [ ! -e {work}/stop ]; do /bin/true; echo $i > {work}/f$i; '
                     f'i=$((i+1)); sleep 0.02; done; echo $i > {work}/count'])
    script = 'i=0; while [ $i -lt 30 ]; do echo $i > /tmp/c$i; i=$((i+1)); sleep 0.2; done'
    cid = docker("run", "-d", "--network", "none", IMAGE, "sh", "-c", script).stdout.strip()

    time.sleep(max(0, t0 + KILL_AT - time.time()))
    t_kill = time.time()
    kill()
    time.sleep(DOWN_FOR)
    t_restart = time.time()
    restart()
    t_up = time.time()

    time.sleep(max(0, t0 + WORKLOAD_FOR - time.time()))
    open(os.path.join(work, "stop"), "w").close()
    shell.wait(timeout=30)
    docker("wait", cid)
    rounds = int(open(os.path.join(work, "count")).read())
    deadline = time.time() + 60
    while spool_files(L.spool) and time.time() < deadline:
        time.sleep(0.05)
    t_drained = time.time()
    spool_left = spool_files(L.spool)
    time.sleep(3)  # assembler timeout (2 s) and the last batches
    rc = L.stop(keep_lock=True)
    log = L.log()
    after = audit_config()
    L.release()
finally:
    if L.proc and L.proc.poll() is None:
        L.stop()
    if cid:
        docker("rm", "-f", cid, check=False)
    shutil.rmtree(work, ignore_errors=True)
print("\n".join(ln for ln in log.splitlines() if "info: stats" not in ln)[-3000:])

check(rc == 0, f"listener exited 0 after SIGTERM (got {rc})")
check(before == after, "audit configuration after == before")
check(not spool_left, f"spool drained while the listener ran (left: {spool_left})")
rejected = [n for n in os.listdir(L.spool) if n.endswith(".rejected")] if os.path.isdir(L.spool) else []
check(not rejected, f"nothing set aside as refused: an outage is not a refusal ({rejected})")
check(rounds > 20, f"the workload ran ({rounds} rounds)")

d = fdb.client()[DB]
sessions = list(d.sessions.find())
check(len(sessions) == 1 and sessions[0].get("ended_at") is not None, "one closed session")
s = sessions[0] if sessions else {}
c = s.get("counters", {})
sid = s.get("_id")
n_ev = Raw(d).events.count_documents({"session": sid})
n_pe = Raw(d).proc_events.count_documents({"session": sid})
n_sn = Raw(d).snapshot.count_documents({"session": sid})
n_db = n_ev + n_pe + n_sn
# the listener also stores container facts (issue 17) and evidence-chain links (issue 21):
# counted in `stored` like the rest
n_cf = Raw(d).container_facts.count_documents({"session": sid})
n_ch = 0  # issue 33: the chain lives in the segments, no link documents
produced = (c.get("events", 0) + c.get("proc_events", 0) + c.get("snapshot", 0)
            - c.get("dropped_scope", 0) - c.get("doc_errors", 0))
# A host busier than the database can absorb (other engineers' fuzzers and compilers) may leave
# documents in the spool when the stop timeout runs out: the listener says so, and they are
# read here, independently of spool.c, so the accounting stays exact.
left, torn = read_spool(L.spool)
left_links = left.pop("chain", [])
left_docs = [x for docs in left.values() for x in docs]
gave_up = "gave up draining" in log
print(f"counters: {c}")
print(f"in the database: events {n_ev}, proc_events {n_pe}, snapshot {n_sn}; left in the spool "
      f"at stop: {len(left_docs)} (listener gave up draining: {gave_up})")
check(torn == 0, f"no torn bytes in the spool left at stop ({torn})")
check(bool(left_docs or left_links) == gave_up, "documents are left in the spool only when the listener said it gave up")
check(c.get("spooled", 0) > 0, f"documents were spooled during the outage ({c.get('spooled')})")
stats = [ln for ln in log.split("stopping")[0].splitlines() if "info: stats:" in ln]
m = re.search(r"spooled (\d+) replayed (\d+) dropped (\d+)", stats[-1] if stats else "")
check(m is not None and int(m.group(1)) > 0 and m.group(1) == m.group(2),
      f"before SIGTERM every spooled document was replayed ({stats[-1][-160:] if stats else 'no stats'})")
check(c.get("replayed") + len(left_docs) + len(left_links) == c.get("spooled"),
      f"replayed + left in spool == spooled ({c.get('replayed')} + {len(left_docs)} + "
      f"{len(left_links)} links == {c.get('spooled')})")
check(c.get("dropped") == 0 and c.get("submit_failed") == 0,
      f"nothing dropped ({c.get('dropped')}, submit_failed {c.get('submit_failed')})")
left3 = sum(len(left.get(k, [])) for k in ("events", "proc_events", "snapshot"))
check(n_db + left3 == produced,
      f"documents in the database + spool == produced: {n_ev}+{n_pe}+{n_sn}+{left3} == events "
      f"{c.get('events')} + proc_events {c.get('proc_events')} + snapshot {c.get('snapshot')} - "
      f"dropped_scope {c.get('dropped_scope')} - doc_errors {c.get('doc_errors')} = {produced}")
check(n_ev <= c.get("events", 0) and n_pe <= c.get("proc_events", 0) and n_sn == c.get("snapshot"),
      "per collection: events <= counted, proc_events <= counted, snapshot == counted")
# an insert the server did but never acknowledged (killed mid-batch) comes back as duplicates
# ... and the session document itself goes through the writer (issue 18: it may be spooled)
n_all = n_db + n_cf + n_ch + d.sessions.count_documents({"_id": sid})
check(c.get("stored", 0) <= n_all <= c.get("stored", 0) + c.get("duplicates", 0),
      f"stored <= in the database <= stored + duplicates ({c.get('stored')}, {n_all} = "
      f"{n_db} + facts {n_cf} + links {n_ch} + the session, {c.get('duplicates')})")

# One projected scan per collection (FerretDB/SQLite is slow at regex counts on 10^5 documents):
# _ids, seqs and the workload's own counts, the spool's leftovers included.
fpat = re.compile("^" + re.escape(work) + r"/f\d+$")
cpat = re.compile(r"^/tmp/c\d+$")
opens = ("open", "openat", "creat")
seqs, trues, creates, cfiles = [], 0, 0, 0


def tally(x):
    global trues, creates, cfiles
    seqs.append(x.get("seq"))
    if x.get("syscall") == "execve" and x.get("argv") == ["/bin/true"]:
        trues += 1
    if x.get("syscall") in opens:
        names = [q.get("name") or "" for q in x.get("paths") or []]
        if any(fpat.match(n) for n in names):
            creates += 1
        if x.get("container") == cid and any(cpat.match(n) for n in names):
            cfiles += 1


proj = {"seq": 1, "syscall": 1, "argv": 1, "paths.name": 1, "container": 1, "session": 1}
for coll in ("events", "proc_events", "snapshot", "container_facts"):
    ids, n, bad = set(), 0, 0
    for x in Raw(d)[coll].find({}, proj):
        n += 1
        ids.add(x["_id"])
        if x.get("session") != sid or not str(x["_id"]).startswith(f"{sid}:"):
            bad += 1
        if coll == "events":
            tally(x)
        else:
            seqs.append(x.get("seq"))
    check(len(ids) == n, f"{coll}: distinct _id == count ({len(ids)} == {n})")
    check(bad == 0, f"{coll}: every document is this session's, _id '<session>:<seq>' ({bad} are not)")
for coll, docs in left.items():
    for x in docs:
        if coll == "chain":
            continue  # links carry no seq of their own
        if coll == "events":
            tally(x)
        else:
            seqs.append(x.get("seq"))
check(len(seqs) == len(set(seqs)), f"no seq twice in database + spool ({len(seqs)}, {len(set(seqs))} distinct)")
if c.get("doc_errors") == 0:
    missing = set(range(1, max(seqs, default=0) + 1)) - set(seqs)
    check(not missing, f"seq 1..{max(seqs, default=0)} has no gap (missing {sorted(missing)[:5]})")
# the workload's own counts, known without the listener
check(trues == rounds, f"every /bin/true exec recorded once ({trues} == {rounds} rounds)")
check(creates == rounds, f"every file creation recorded once ({creates} == {rounds})")
check(cfiles == 30, f"the container's 30 file creations recorded with its id ({cfiles})")

# measured numbers for notes.md
down = log_times(log, r"warning: store: .*(spooling|spool stays)")
back = log_times(log, r"answers again; replaying the spool")
# the restarted server (new pids) is not recorded: at most its start-up, before the listener
# saw its exec, never the work it does storing our documents
servers = {"$in": ["postgres", "ferretdb"]}
late = Raw(d).events.count_documents({"session": sid, "comm": servers,
                                 "ts": {"$gt": datetime.utcfromtimestamp(t_up + 2)}})
early = Raw(d).events.count_documents({"session": sid, "comm": servers})
check(late == 0, f"no event of the store's servers 2 s after the restart ({late}; {early} in all)")
check(c.get("servers_started_late", 0) >= 1,
      f"the restarted {MODE} was seen and excluded (servers_started_late "
      f"{c.get('servers_started_late')})")
print("MEASURED outage run:")
print(f"  events produced: audit {c.get('events')} proc {c.get('proc_events')} snapshot "
      f"{c.get('snapshot')} (dropped_scope {c.get('dropped_scope')}); stored {c.get('stored')} "
      f"= in db {n_ev + n_pe + n_sn}; spooled {c.get('spooled')} replayed {c.get('replayed')} "
      f"duplicates {c.get('duplicates')}")
print(f"  {MODE} down {t_restart - t_kill:.2f} s (kill -> restart), answering again "
      f"{t_up - t_kill:.2f} s after the kill")
if down and back:
    print(f"  listener: first 'spooling' {down[0] - t_kill:+.2f} s after the kill, 'answers again' "
          f"{back[-1] - t_up:+.2f} s after FerretDB answered; outage seen by the listener "
          f"{back[-1] - down[0]:.2f} s")
    print(f"  replay: spool empty {t_drained - back[-1]:.2f} s after 'answers again' "
          f"(polled every 50 ms)")
print(f"  left in the spool at stop: {len(left_docs)}")
check(bool(down) and bool(back), "the listener logged the outage and the recovery")
finish(f"outage_workload {MODE}")
