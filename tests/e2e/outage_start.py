"""outage_start.py — the listener starts and records while the database is away (issue 18).

On a private FerretDB (never the shared store) that is down from the start:
  listener 1 starts (database down) → workload A → kill -9 → listener 2 starts (still down)
  → workload B → the database comes up → workload C (live) → SIGTERM.
Then a second round for a close during an outage:
  database down → listener 3 → workload D → SIGTERM while still down (its close goes to the
  spool) → database up → listener 4 replays and stops.
Every event of the workloads (file creations with unique paths, execs with unique argv) must
be stored exactly once, across the sessions: checked with pymongo, 0 missing, 0 duplicates.
The sessions opened during the outage are normal sessions afterwards: listed by
lineage-query sessions, closed with ended_at and counters (also the one stopped during the
outage), and lineage-filter rebuilds one."""
import atexit
from segments import Raw
import zstandard
import os
import re
import shutil
import subprocess
import tempfile
import time

from bson import ObjectId

from lib import (FILTER, Listener, PrivateFerret, audit_config, audit_restore, check, finish,
                 spool_files)

QUERY = os.environ.get("QUERY", "build/query/lineage-query")
DB = f"lineage_test_outage_start_{os.getpid()}"
N_FILES, N_EXECS = 1500, 100

fdb = PrivateFerret()  # not started: the database is down from the beginning
atexit.register(fdb.cleanup)
tmp = tempfile.mkdtemp(prefix="lineage-outage-start-")
atexit.register(shutil.rmtree, tmp, True)
spool = os.path.join(tmp, "spool")
work = os.path.join(tmp, "work")
os.mkdir(work)
ARGS = ("--no-write", "--batch-age", "100")
shells = {}  # phase -> pid of the shell that ran it


def workload(phase):
    """N_FILES creations of unique paths (opens by the shell itself) and N_EXECS execs with a
    unique argument (children of the shell)."""
    script = (f'i=0; while [ $i -lt {N_FILES} ]; do echo $i > {work}/{phase}-$i; i=$((i+1)); done; '
              f'i=0; while [ $i -lt {N_EXECS} ]; do /bin/true {phase}-x$i; i=$((i+1)); done')
    p = subprocess.Popen(["/bin/sh", "-c", script])
    shells[phase] = p.pid
    check(p.wait() == 0, f"workload {phase} ran")


def session_of(listener):
    m = re.search(r"session ([0-9a-f]{24}): recording", listener.log())
    return m.group(1) if m else None


def spool_docs(prefix):
    """The spool's documents of collections starting with prefix (decoding everything would
    take minutes on a busy host), read while a listener may rename segments."""
    for _ in range(50):
        try:
            out = {}
            for name in os.listdir(spool):
                if name.startswith(prefix + "."):
                    for d in read_spool_file(os.path.join(spool, name)):
                        out.setdefault(prefix, []).append(d)
            return out.get(prefix, [])
        except FileNotFoundError:
            time.sleep(0.05)
    raise RuntimeError("spool kept changing under the reader")


def read_spool_file(path):
    import struct
    import bson
    data, off, docs = open(path, "rb").read(), 0, []
    while off + 4 <= len(data):
        n = struct.unpack_from("<i", data, off)[0]
        if n < 5 or off + n > len(data):
            break
        docs.append(bson.decode(data[off:off + n]))
        off += n
    return docs


def segment_bytes(seg):
    """The documents' bytes of one spooled segment (issue 33: zstd-compressed)."""
    return zstandard.ZstdDecompressor().decompress(bytes(seg["data"]),
                                                   max_output_size=seg["raw_bytes"])


def wait_spooled(phase, since, timeout=120):
    """Until the phase's last file and last exec are in the spool (bytes of an event segment
    written since the phase began): the queue is FIFO, so the rest of the phase is there too.
    The spool holds segment documents (issue 33): their events' decompressed bytes are
    searched for the markers, no document is decoded."""
    markers = [f"{work}/{phase}-{N_FILES - 1}".encode(), f"{phase}-x{N_EXECS - 1}\0".encode()]
    deadline, t0 = time.time() + timeout, time.time()
    while time.time() < deadline:
        seen = set()
        for name in os.listdir(spool):
            path = os.path.join(spool, name)
            try:
                if not name.startswith("segments.") or os.stat(path).st_mtime < since:
                    continue
                data = b"".join(segment_bytes(seg) for seg in read_spool_file(path)
                                if seg.get("stream") == "events")
            except (FileNotFoundError, ValueError):
                continue
            seen.update(m for m in markers if m in data)
        if len(seen) == len(markers):
            print(f"workload {phase}: all in the spool {time.time() - t0:.1f} s after it ended")
            return True
        time.sleep(0.3)
    check(False, f"workload {phase} reached the spool")
    return False


def wait_drained(timeout=300):
    deadline = time.time() + timeout
    while spool_files(spool) and time.time() < deadline:
        time.sleep(0.2)
    return spool_files(spool)


running = []


def listener(*extra):
    li = Listener(DB, *ARGS, *extra, uri=fdb.uri, spool=spool)
    running.append(li)
    return li


L1 = listener()
L1.lock_audit()
before = audit_config()
try:
    # --- round 1: start down, kill -9, restart down, database up, stop ---
    L1.start()
    sid1 = session_of(L1)
    check(sid1 is not None, f"listener 1 records with the database down (session {sid1})")
    check("the session document and what follows go to the spool" in L1.log(),
          "listener 1 says the session goes to the spool")
    t = time.time() - 1
    workload("A")
    wait_spooled("A", t)
    check(any(str(d.get("_id")) == sid1 for d in spool_docs("sessions")),
          "listener 1's session document is in the spool")
    L1.proc.kill()
    rc1 = L1.proc.wait(timeout=30)
    L1.err.close()
    check(rc1 == -9, f"listener 1 killed by SIGKILL ({rc1})")

    L2 = listener()
    L2.lock = L1.lock  # same audit turn
    L2.start()
    sid2 = session_of(L2)
    check(sid2 is not None and sid2 != sid1, f"listener 2 starts, database still down ({sid2})")
    t = time.time() - 1
    workload("B")
    wait_spooled("B", t)
    fdb.start()
    t_up = time.time()
    left = wait_drained()
    print(f"MEASURED spool of rounds A+B replayed {time.time() - t_up:.2f} s after the database came up")
    check(not left, f"listener 2 replayed the spool once the database was up (left {left})")
    workload("C")
    time.sleep(2)
    rc2 = L2.stop(keep_lock=True)
    check(rc2 == 0, f"listener 2 stopped cleanly ({rc2})")
    log2 = L2.log()

    # --- round 2: a stop during an outage spools the close; the next run applies it ---
    fdb.kill()
    L3 = listener("--stats-interval", "0")
    L3.lock = L1.lock
    L3.start()
    sid3 = session_of(L3)
    t = time.time() - 1
    workload("D")
    wait_spooled("D", t)
    rc3 = L3.stop(keep_lock=True, timeout=90)
    log3 = L3.log()
    check(rc3 == 0, f"listener 3 stopped during the outage with exit 0 ({rc3})")
    check("close record spooled" in log3, "listener 3 spooled its session close")
    closes = spool_docs("sessions-close")
    check(len(closes) == 1 and str(closes[0].get("_id")) == sid3 and closes[0].get("ended_at"),
          f"the spool holds listener 3's close record ({closes})")
    fdb.start()
    L4 = listener()
    L4.lock = L1.lock
    L4.start()
    sid4 = session_of(L4)
    left = wait_drained()
    check(not left, f"listener 4 replayed the spool (left {left})")
    rc4 = L4.stop(keep_lock=True)
    check(rc4 == 0, f"listener 4 stopped cleanly ({rc4})")
finally:
    for li in running:  # a failed check must not leave a listener behind
        if li.proc and li.proc.poll() is None:
            li.proc.terminate()
            li.proc.wait(timeout=90)
    after = audit_config()
    if after != before:
        print("restoring the audit configuration:", audit_restore(before))
    L1.release()
check(after == before, "audit configuration after the runs == before")
print("\n".join(ln for ln in log2.splitlines() if "info: stats" not in ln)[-2000:])

# --- checks with an independent client ---
d = fdb.client()[DB]
sids = {sid1, sid2, sid3, sid4}
sessions = {str(s["_id"]): s for s in d.sessions.find()}
check(sids <= set(sessions), f"every session has its sessions document ({sorted(sessions)})")
s1, s2, s3 = sessions.get(sid1, {}), sessions.get(sid2, {}), sessions.get(sid3, {})
check(s1.get("started_at") is not None and s1.get("ended_at") is None,
      "session 1 (killed) was stored with started_at and stays open")
for name, s in (("2", s2), ("3 (stopped during the outage)", s3)):
    c = s.get("counters", {})
    check(s.get("ended_at") is not None and s.get("ended_at") >= s.get("started_at"),
          f"session {name} is closed: ended_at {s.get('ended_at')}")
    check(c.get("events", 0) > 0 and c.get("dropped") == 0,
          f"session {name} has its counters (events {c.get('events')}, dropped {c.get('dropped')})")
check(s3.get("counters", {}).get("spooled", 0) > 0, "session 3 counted what it spooled")
names = {ix["name"] for ix in d.segments.list_indexes()}
check("session_stream_seq" in names, f"indexes created when the database was first reached ({names})")

expected = {}
for phase in "ABCD":
    for i in range(N_FILES):
        expected[("open", f"{work}/{phase}-{i}")] = 0
    for j in range(N_EXECS):
        expected[("exec", f"{phase}-x{j}")] = 0
found_in = {}
pids = list(shells.values())
for ev in Raw(d).events.find({"$or": [{"pid": {"$in": pids}}, {"ppid": {"$in": pids}}]},
                        {"syscall": 1, "paths": 1, "argv": 1, "session": 1}):
    keys = []
    if ev.get("syscall") in ("open", "openat", "creat", "openat2"):
        keys = [("open", p.get("name")) for p in ev.get("paths") or []]
    elif ev.get("syscall") == "execve" and len(ev.get("argv") or []) == 2:
        keys = [("exec", ev["argv"][1])]
    for k in set(keys):
        if k in expected:
            expected[k] += 1
            found_in.setdefault(str(ev.get("session")), 0)
            found_in[str(ev.get("session"))] += 1
missing = [k for k, n in expected.items() if n == 0]
twice = [k for k, n in expected.items() if n > 1]
print(f"MEASURED workload events: {len(expected)} expected, {len(expected) - len(missing)} stored, "
      f"{len(missing)} missing, {len(twice)} duplicated; per session {found_in}")
check(not missing, f"every workload event stored (missing {len(missing)}: {missing[:3]})")
check(not twice, f"no workload event stored twice ({len(twice)}: {twice[:3]})")
check(set(found_in) <= sids and len(found_in) >= 3, f"workload events are in the runs' sessions")

# a session opened during the outage is a normal session for the tools
q = subprocess.run([QUERY, "--uri", fdb.uri, "--db", DB, "sessions"], capture_output=True,
                   text=True, timeout=120)
print(q.stdout)
check(q.returncode == 0 and sid1 in q.stdout and sid2 in q.stdout and sid3 in q.stdout,
      f"lineage-query sessions lists the sessions opened during the outage ({q.returncode} {q.stderr})")
f = subprocess.run([FILTER, "--uri", fdb.uri, "--db", DB, "--session", sid2, "-q"],
                   capture_output=True, text=True, timeout=600)
check(f.returncode == 0, f"lineage-filter rebuilds session 2 ({f.returncode} {f.stderr[-500:]})")
s2 = d.sessions.find_one({"_id": ObjectId(sid2)}) or {}
# the output's place: the session's filter pointer (schema.h), else the shared collection
procs = (s2.get("filter") or {}).get("processes")
n_procs = (d[procs].count_documents({}) if procs else
           d.processes.count_documents({"session": ObjectId(sid2)}))
check(n_procs > 0, f"the filter's output for session 2 has processes ({n_procs})")
fdb.client().drop_database(DB)
finish("outage_start")
