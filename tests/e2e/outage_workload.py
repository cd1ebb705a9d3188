"""outage_workload.py — the database goes away in the middle of a workload (issue 5, test 1).

A private FerretDB; the real listener writing into it; a host workload (a shell that execs
/bin/true and creates a file per round) and a container writing files, for ~10 s. About 3 s
in, the private FerretDB is SIGKILLed, and restarted on the same data 4 s later. The listener
must spool during the outage, replay when the database is back, stop cleanly on SIGTERM and
account for every document: what the session's counters say was produced is exactly what
the database holds, the listener's own seq numbers have no gap, the workload's own counts
(execs, file creations) are all there, and nothing is duplicated."""
import os
import re
import shutil
import subprocess
import tempfile
import time
from datetime import datetime

from lib import (IMAGE, Listener, PrivateFerret, audit_config, check, docker, finish,
                 spool_files)

DB = f"lineage_test_outage_1_{os.getpid()}"
KILL_AT, DOWN_FOR, WORKLOAD_FOR = 3.0, 4.0, 10.0


def log_times(log, pattern):
    out = []
    for line in log.splitlines():
        if re.search(pattern, line):
            out.append(datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f").timestamp())
    return out


before = audit_config()
fdb = PrivateFerret()
fdb.start()
work = tempfile.mkdtemp(prefix="lineage-outage-work-")
L = Listener(DB, "--batch-age", "100", uri=fdb.uri)
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
    fdb.kill()
    time.sleep(DOWN_FOR)
    t_restart = time.time()
    fdb.start()
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
    rc = L.stop()
    log = L.log()
finally:
    if L.proc and L.proc.poll() is None:
        L.stop()
    if cid:
        docker("rm", "-f", cid, check=False)
    shutil.rmtree(work, ignore_errors=True)
print(log[-4000:])
after = audit_config()

check(rc == 0, f"listener exited 0 after SIGTERM (got {rc})")
check(before == after, "audit configuration after == before")
check(not spool_left, f"spool drained while the listener ran (left: {spool_left})")
check(rounds > 20, f"the workload ran ({rounds} rounds)")

d = fdb.client()[DB]
sessions = list(d.sessions.find())
check(len(sessions) == 1 and sessions[0].get("ended_at") is not None, "one closed session")
s = sessions[0] if sessions else {}
c = s.get("counters", {})
sid = s.get("_id")
n_ev = d.events.count_documents({"session": sid})
n_pe = d.proc_events.count_documents({"session": sid})
n_sn = d.snapshot.count_documents({"session": sid})
produced = (c.get("events", 0) + c.get("proc_events", 0) + c.get("snapshot", 0)
            - c.get("dropped_scope", 0) - c.get("doc_errors", 0))
print(f"counters: {c}")
print(f"in the database: events {n_ev}, proc_events {n_pe}, snapshot {n_sn}")
check(c.get("spooled", 0) > 0, f"documents were spooled during the outage ({c.get('spooled')})")
check(c.get("replayed") == c.get("spooled"), f"replayed == spooled ({c.get('replayed')} == {c.get('spooled')})")
check(c.get("dropped") == 0 and c.get("submit_failed") == 0,
      f"nothing dropped ({c.get('dropped')}, submit_failed {c.get('submit_failed')})")
check(n_ev + n_pe + n_sn == produced,
      f"documents in the database == produced: {n_ev}+{n_pe}+{n_sn} == events {c.get('events')} + "
      f"proc_events {c.get('proc_events')} + snapshot {c.get('snapshot')} - dropped_scope "
      f"{c.get('dropped_scope')} - doc_errors {c.get('doc_errors')} = {produced}")
check(n_ev <= c.get("events", 0) and n_pe <= c.get("proc_events", 0) and n_sn == c.get("snapshot"),
      "per collection: events <= counted, proc_events <= counted, snapshot == counted")
check(c.get("stored") == n_ev + n_pe + n_sn,
      f"counters.stored == documents in the database ({c.get('stored')}, duplicates {c.get('duplicates')})")
seqs = []
for coll in (d.events, d.proc_events, d.snapshot):
    seqs += [x["seq"] for x in coll.find({"session": sid}, {"seq": 1})]
check(len(seqs) == len(set(seqs)), f"no duplicate seq ({len(seqs)} documents, {len(set(seqs))} distinct)")
if c.get("doc_errors") == 0:
    missing = set(range(1, max(seqs, default=0) + 1)) - set(seqs)
    check(not missing, f"seq 1..{max(seqs, default=0)} has no gap (missing {sorted(missing)[:5]})")
for coll in ("events", "proc_events", "snapshot"):
    n = d[coll].count_documents({})
    ids = len(d[coll].distinct("_id"))
    check(ids == n, f"{coll}: distinct _id == count ({ids} == {n})")
    bad = d[coll].count_documents({"session": sid, "_id": {"$not": re.compile("^" + str(sid) + ":")}})
    check(bad == 0, f"{coll}: every _id is '<session>:<seq>' ({bad} are not)")

# the workload's own counts, known without the listener
trues = d.events.count_documents({"session": sid, "syscall": "execve", "argv": ["/bin/true"]})
check(trues == rounds, f"every /bin/true exec recorded once ({trues} == {rounds} rounds)")
fpat = re.compile("^" + re.escape(work) + r"/f\d+$")
creates = d.events.count_documents({"session": sid, "syscall": {"$in": ["open", "openat", "creat"]},
                                    "paths.name": fpat})
check(creates == rounds, f"every file creation recorded once ({creates} == {rounds})")
cfiles = d.events.count_documents({"session": sid, "container": cid, "paths.name": re.compile(r"^/tmp/c\d+$"),
                                   "syscall": {"$in": ["open", "openat", "creat"]}})
check(cfiles == 30, f"the container's 30 file creations recorded with its id ({cfiles})")

# measured numbers for notes.md
down = log_times(log, r"warning: store: .*(spooling|spool stays)")
back = log_times(log, r"answers again; replaying the spool")
ferret_ev = d.events.count_documents({"session": sid, "comm": "ferretdb"})
print("MEASURED outage run:")
print(f"  events produced: audit {c.get('events')} proc {c.get('proc_events')} snapshot "
      f"{c.get('snapshot')} (dropped_scope {c.get('dropped_scope')}); stored {c.get('stored')} "
      f"= in db {n_ev + n_pe + n_sn}; spooled {c.get('spooled')} replayed {c.get('replayed')} "
      f"duplicates {c.get('duplicates')}")
print(f"  FerretDB down {t_restart - t_kill:.2f} s (kill -> restart), answering again "
      f"{t_up - t_kill:.2f} s after the kill")
if down and back:
    print(f"  listener: first 'spooling' {down[0] - t_kill:+.2f} s after the kill, 'answers again' "
          f"{back[-1] - t_up:+.2f} s after FerretDB answered; outage seen by the listener "
          f"{back[-1] - down[0]:.2f} s")
    print(f"  replay: spool empty {t_drained - back[-1]:.2f} s after 'answers again' "
          f"(polled every 50 ms)")
print(f"  events of the restarted (not excluded) ferretdb recorded: {ferret_ev}")
check(bool(down) and bool(back), "the listener logged the outage and the recovery")
fdb.cleanup()
finish("outage_workload")
