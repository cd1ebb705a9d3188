#!/usr/bin/env python3
"""synth.py — a synthetic lineage session written straight into MongoDB (issue 8, "Filter
scale"), shaped like the listener's raw documents (DESIGN.md, tests/e2e/filter_db.py):

  sessions     one document (host "synth"), with a `synth` sub-document giving what was
               generated (events, proc_events, processes, opens, seconds) and `complete`
  snapshot     pid 1 (/sbin/init), alive at the start
  proc_events  per process: fork (from its parent), exec (exe, argv, cwd, container), exit;
               every other process also starts a thread (fork with child_pid != child_tgid)
               that exits before it
  events       per process: execve, then opens: openat (fd, flags, paths[{name, nametype
               NORMAL}], cwd; every other one relative to the cwd), write, close on that fd

Processes run across --containers containers (64-hex ids; one init per container, forked
from pid 1, living for the whole session, with the workers under it, chained up to depth 3)
and the host (container null). Several workers are alive at once (their documents interleave);
seq is one counter over events and proc_events, ts (date, ms) and ts_ns advance with it.
N (--events) = events + proc_events, exactly. Documents are inserted with insert_many in
unordered batches of --batch (10000), up to --inflight (2) batches in flight on their own
connections; the listener's indexes are created first.

The documents follow what the listener writes (compared field by field with real listener
output, `lineage-listener --no-db --jsonl`, 2026-12-01, main 8022a2b): events carry serial,
ts, syscall, success, exit, pid, ppid, uid/euid/gid, auid, ses, comm, exe, cwd (only where the
kernel sent a CWD record: execve, openat), a0..a3, fd, flags, paths[{name, abs (relative names
only), nametype, inode, dev, mode}], argc/argv (execve), proctitle (not on an execve whose argv
says it), types, container; arch, tty and key only when they differ from the sessions
document's `defaults`, host only in the sessions document; proc_events ts, ts_ns, cpu,
cn_seq, what and the what's fields. SHAPE below says which per-document fields are on.
--role tags the session (synth.role) so that a benchmark can tell its background sessions
("other") from the one it measures; synth.shape names the listener commit followed.

  python3 bench/synth.py --events 100000 --db lineage_bench_scale_100000
prints one JSON line: {"session": ..., "events": ..., "proc_events": ..., "processes": ...,
"opens": ..., "generate_s": ..., "docs_per_s": ...}.
"""
import os as _os
import sys as _sys
_sys.path.insert(0, _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "tests", "e2e"))
from segments import SEG_EVENTS, seal  # noqa: E402
import argparse
import concurrent.futures
import datetime
import json
import os
import random
import sys
import time

import bson
import pymongo

URI = os.environ.get("LINEAGE_MONGODB_URI", "mongodb://%2Frun%2Flineage%2Fmongodb.sock")
HOST = "synth"
T0 = datetime.datetime(2026, 11, 23, 10, 0, 0, tzinfo=datetime.timezone.utc)
BOOT_NS = 1000 * 10**9
STEP_NS = 20_000          # 20 µs between consecutive documents
OPENS = 4                 # opens per worker (3 events each)
CONCURRENT = 8            # workers alive at once
INDEXES = [  # as common/store.c store_create_indexes (keep in step: queries rely on them)
    ("segments", "session_stream_seq", ["session", "stream", "seq_first"]),
    ("segments", "session_tgids", ["session", "tgids"]),
    ("segments", "session_containers", ["session", "containers"]),
    ("segments", "session_syscalls", ["session", "syscalls"]),
    ("segments", "session_ts", ["session", "ts_first"]),
    ("segments", "session_link", ["session", "link"]),
    ("sessions", "host_started_at", ["host", "started_at"]),
]
# Which per-document fields the listener writes (listener/doc_common.c, event_doc.c,
# proc_doc.c, as of main 8022a2b: what is constant per session is in the sessions document —
# host, and `defaults` {arch, tty, key} for events that leave those out). True = written on
# every document as before that commit.
SHAPE = {
    "host": False,       # doc_common.c: host only in sessions
    "arch": False, "tty": False, "key": False,  # left out when equal to sessions.defaults
    "proctitle_execve": False,  # an execve's proctitle left out when its argv says it
    "paths_abs": False,  # paths[].abs only when it differs from name (a relative name)
    "proctitle": True, "types": True, "regs": True,
    "cpu_cn_seq": True,  # proc_events cpu, cn_seq
    "exec_ns": True,     # proc_events exec: root, mnt_ns, pid_ns, ppid
}
SHAPE_NAME = "8022a2b"  # the listener commit whose documents these follow
DEFAULTS = {"arch": "x86_64", "tty": "(none)", "key": "lineage"}


class Gen:
    def __init__(self, db, sid, batch, inflight):
        self.db, self.sid, self.batch = db, sid, batch
        self.seq = 0
        self.buf = {"events": [], "proc_events": []}
        self.n = {"events": 0, "proc_events": 0}
        self.pool = (concurrent.futures.ThreadPoolExecutor(max_workers=inflight)
                     if inflight > 1 else None)
        self.inflight = inflight
        self.pending = []

    def now(self):
        t = self.seq * STEP_NS
        return T0 + datetime.timedelta(microseconds=t // 1000), BOOT_NS + t

    def put(self, coll, doc):
        self.seq += 1
        ts, ts_ns = self.now()
        head = {"_id": "%s:%d" % (self.sid, self.seq), "session": self.sid}
        if SHAPE["host"]:
            head["host"] = HOST
        head["seq"] = self.seq
        if coll == "proc_events":
            head["ts"] = ts
            head["ts_ns"] = ts_ns
            if SHAPE["cpu_cn_seq"]:
                head["cpu"] = self.seq & 1
                head["cn_seq"] = self.seq >> 1
        else:
            head["serial"] = doc.pop("serial")
            head["ts"] = ts
        head.update(doc)
        self.n[coll] += 1
        b = self.buf[coll]
        b.append(head)
        if len(b) >= self.batch:
            self.flush(coll)

    def _send(self, coll, docs):
        # issue 33: the raw layer is segments of <= 1024 documents (tests/e2e/segments.py)
        segs = [seal(self.sid, coll, docs[i:i + SEG_EVENTS])
                for i in range(0, len(docs), SEG_EVENTS)]
        self.db.segments.insert_many(segs, ordered=False)

    def flush(self, coll=None):
        for c in ([coll] if coll else list(self.buf)):
            if not self.buf[c]:
                continue
            docs, self.buf[c] = self.buf[c], []
            if self.pool is None:
                self._send(c, docs)
                continue
            # bounded: wait for the oldest batch when `inflight` are on their way
            while len(self.pending) >= self.inflight:
                self.pending.pop(0).result()
            self.pending.append(self.pool.submit(self._send, c, docs))

    def close(self):
        self.flush()
        for f in self.pending:
            f.result()
        self.pending = []
        if self.pool:
            self.pool.shutdown()

    # proc_events
    def fork(self, ptgid, child, tgid=None, parent_pid=None):
        self.put("proc_events", {"what": "fork", "parent_pid": parent_pid or ptgid,
                                 "parent_tgid": ptgid, "child_pid": child,
                                 "child_tgid": tgid or child, "thread": tgid is not None})

    def exec_(self, pid, exe, argv, cwd, container, ppid):
        d = {"what": "exec", "pid": pid, "tgid": pid, "exe": exe, "argv": argv, "cwd": cwd}
        if SHAPE["exec_ns"]:
            d["root"] = "/var/lib/docker/overlay2/%s/merged" % container[:24] if container else "/"
        d["container"] = container
        if SHAPE["exec_ns"]:
            d["mnt_ns"] = 4026531841 if container is None else 4026532500
            d["pid_ns"] = 4026531836 if container is None else 4026532503
            d["ppid"] = ppid
        self.put("proc_events", d)

    def exit_(self, pid, tgid, ptgid, status=0):
        self.put("proc_events", {"what": "exit", "pid": pid, "tgid": tgid,
                                 "exit_code": status >> 8, "signal": None, "status": status,
                                 "exit_signal": 17 if pid == tgid else -1,
                                 "parent_pid": ptgid, "parent_tgid": ptgid})

    # events: field order as event_doc.c
    def ev(self, pid, ppid, syscall, comm, exe, cwd, container, exit=0, regs=(0, 0, 0, 0),
           fd=None, flags=None, paths=None, argv=None, title=None, types=None):
        d = {"serial": 100000 + self.seq, "syscall": syscall}
        if SHAPE["arch"]:
            d["arch"] = DEFAULTS["arch"]
        d.update({"success": exit >= 0, "exit": exit, "pid": pid, "ppid": ppid, "uid": 0,
                  "euid": 0, "gid": 0, "auid": 4294967295, "ses": 4294967295})
        if SHAPE["tty"]:
            d["tty"] = DEFAULTS["tty"]
        d["comm"] = comm
        d["exe"] = exe
        if paths is not None or syscall == "execve":
            d["cwd"] = cwd  # the kernel sends a CWD record with PATH records only
        if SHAPE["key"]:
            d["key"] = DEFAULTS["key"]
        if SHAPE["regs"]:
            d["a0"], d["a1"], d["a2"], d["a3"] = regs
        if fd is not None:
            d["fd"] = fd
        if flags is not None:
            d["flags"] = flags
        if paths is not None:
            d["paths"] = paths
        if argv is not None:
            d["argc"] = len(argv)
            d["argv"] = argv
        title = title or comm
        if SHAPE["proctitle"] and (SHAPE["proctitle_execve"] or argv is None or
                                   title != " ".join(argv)):
            d["proctitle"] = title
        if SHAPE["types"]:
            d["types"] = types or ["SYSCALL", "PROCTITLE", "EOE"]
        d["container"] = container
        self.put("events", d)


def path(name, cwd, inode, mode, nametype="NORMAL"):
    p = {"name": name}
    if SHAPE["paths_abs"] or not name.startswith("/"):
        p["abs"] = name if name.startswith("/") else cwd.rstrip("/") + "/" + name
    p.update({"nametype": nametype, "inode": inode, "dev": "00:27", "mode": mode})
    return p


def worker(g, pid, tid, ppid, container, opens, extra_writes, rnd):
    """A generator: each next() emits one document of this process's life."""
    exe, comm = ("/bin/busybox", "sh") if container else ("/usr/bin/python3", "python3")
    cwd = "/app" if container else "/home/u"
    argv = [comm, "-c", "job %d" % pid]
    title = " ".join(argv)
    g.fork(ppid, pid)
    yield
    g.exec_(pid, exe, argv, cwd, container, ppid)
    yield
    g.ev(pid, ppid, "execve", comm, exe, cwd, container, exit=0,
         regs=(140734843780880, 56829912, 56830496, 140201918946928), argv=argv, title=title,
         paths=[path(exe, cwd, 1000 + pid % 97, 33261),
                path("/lib64/ld-linux-x86-64.so.2", cwd, 325835, 33261)],
         types=["SYSCALL", "EXECVE", "CWD", "PATH", "PATH", "PROCTITLE", "EOE"])
    yield
    if tid:
        g.fork(pid, tid, tgid=pid, parent_pid=pid)
        yield
    for i in range(opens):
        fd = 3 + i % 3
        write = i % 2 == 1
        name = ("data/f%d_%d.txt" % (pid, i)) if i % 2 == 0 else "/etc/conf%d.d/x%d" % (i, pid % 50)
        flags = ["O_WRONLY", "O_CREAT", "O_TRUNC", "O_CLOEXEC"] if write else ["O_RDONLY", "O_CLOEXEC"]
        g.ev(pid, ppid, "openat", comm, exe, cwd, container, exit=fd,
             regs=(-100, 140734000 + i, 577 if write else 524288, 0o644), fd=fd, flags=flags,
             paths=[path(name, cwd, 5000 + pid * 8 + i, 33188,
                         "CREATE" if write else "NORMAL")], title=title,
             types=["SYSCALL", "CWD", "PATH", "PROCTITLE", "EOE"])
        yield
        nw = 1 + (extra_writes if i == 0 else 0)
        for _ in range(nw):
            g.ev(pid, ppid, "write", comm, exe, cwd, container, exit=4096,
                 regs=(fd, 140735000, 4096, 0), fd=fd, title=title)
            yield
        g.ev(pid, ppid, "close", comm, exe, cwd, container, exit=0, regs=(fd, 0, 0, 0),
             fd=fd, title=title)
        yield
    if tid:
        g.exit_(tid, pid, ppid)
        yield
    g.exit_(pid, pid, ppid, status=0 if rnd.random() < 0.9 else 1 << 8)

TINY_DOCS = 4 + 2 * (3 + 1 + 3 * OPENS)  # a tiny container: its init and two workers


def plan(n, ncont, ntiny=0):
    """Counts for N: per worker 3 proc_events (+2 with a thread, every other worker),
    1 execve + 3 per open. Returns (workers, per-worker (thread?, opens, extra writes))."""
    # container inits: fork + exec + exit, execve; tiny containers: TINY_DOCS each
    fixed = ncont * 4 + ntiny * TINY_DOCS
    per_pair = 2 * (3 + 1 + 3 * OPENS) + 2  # two workers, one threaded
    rest = n - fixed
    if rest < per_pair:
        raise SystemExit("--events too small (min %d)" % (fixed + per_pair))
    pairs, rem = divmod(rest, per_pair)
    specs = []
    for k in range(2 * pairs):
        specs.append([k % 2 == 0, OPENS, 0])
    # the remainder: one open (3 events) more for some workers, then extra writes
    k = 0
    while rem >= 3:
        specs[k % len(specs)][1] += 1
        rem -= 3
        k += 1
    specs[-1][2] += rem
    return specs


def main():
    global HOST
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, required=True,
                    help="events + proc_events to generate")
    ap.add_argument("--db", required=True)
    ap.add_argument("--uri", default=URI)
    ap.add_argument("--containers", type=int, default=4)
    ap.add_argument("--batch", type=int, default=10000)
    ap.add_argument("--inflight", type=int, default=2,
                    help="insert batches in flight at once (1: one after the other)")
    ap.add_argument("--role", default="measured",
                    help="synth.role in the sessions document (e.g. other: background)")
    ap.add_argument("--host", default="synth", help="the session's host name")
    ap.add_argument("--tiny-containers", type=int, default=0,
                    help="containers of 3 processes each (an init and two workers) beside the "
                    "big ones, like a small container in a long recording")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--drop", action="store_true", help="drop the database first")
    a = ap.parse_args()
    HOST = a.host

    rnd = random.Random(a.seed)
    client = pymongo.MongoClient(a.uri, serverSelectionTimeoutMS=5000)
    if a.drop:
        client.drop_database(a.db)
    db = client[a.db]
    for coll, name, keys in INDEXES:
        db[coll].create_index([(k, 1) for k in keys], name=name)
    specs = plan(a.events, a.containers, a.tiny_containers)
    t_start = time.monotonic()
    sid = bson.ObjectId()
    cids = ["%064x" % rnd.getrandbits(256) for _ in range(a.containers)]
    db.sessions.insert_one({
        "_id": sid, "host": HOST, "boot_id": "synthetic", "kernel": "synthetic",
        "started_at": T0, "ended_at": None, "mode": "unicast", "scope": "all",
        "rules": ["-a always,exit -F arch=b64 -S execve,openat,write,close -k lineage"],
        "defaults": DEFAULTS,
        "counters": {"lost": 0, "enobufs_audit": 0, "enobufs_proc": 0, "parse_errors": 0,
                     "out_of_scope": 0, "spooled": 0, "replayed": 0},
        "complete": False})
    g = Gen(db, sid, a.batch, a.inflight)
    snap = {"_id": "%s:0" % sid, "session": sid}
    if SHAPE["host"]:
        snap["host"] = HOST
    snap.update({"seq": 0, "pid": 1, "tgid": 1, "ppid": 0, "threads": 1, "start_ticks": 100,
                 "start": T0 - datetime.timedelta(seconds=999), "exe": "/sbin/init",
                 "argv": ["init"], "cwd": "/", "root": "/", "uid": 0, "container": None,
                 "mnt_ns": 4026531841, "pid_ns": 4026531836, "comm": "init"})
    db.segments.insert_one(seal(sid, "snapshot", [snap]))
    next_pid = [1000]

    def alloc(k):
        p = next_pid[0]
        next_pid[0] += k
        return p

    # container inits
    inits = []
    for c in cids:
        p = alloc(1)
        g.fork(1, p)
        g.exec_(p, "/bin/sh", ["/bin/sh", "/entrypoint.sh"], "/", c, 1)
        g.ev(p, 1, "execve", "sh", "/bin/sh", "/", c, argv=["/bin/sh", "/entrypoint.sh"],
             regs=(94000000000000, 94000000000100, 94000000000200, 0),
             paths=[path("/bin/sh", "/", 1001, 33261)], title="/bin/sh /entrypoint.sh",
             types=["SYSCALL", "EXECVE", "CWD", "PATH", "PROCTITLE", "EOE"])
        inits.append(p)
    nproc = len(inits)
    nopens = 0
    # tiny containers: all at the start, run to their end before the big ones get going
    tiny = ["%064x" % rnd.getrandbits(256) for _ in range(a.tiny_containers)]
    for c in tiny:
        p = alloc(1)
        g.fork(1, p)
        g.exec_(p, "/bin/sh", ["/bin/sh", "/entrypoint.sh"], "/", c, 1)
        g.ev(p, 1, "execve", "sh", "/bin/sh", "/", c, argv=["/bin/sh", "/entrypoint.sh"],
             regs=(94000000000000, 94000000000100, 94000000000200, 0),
             paths=[path("/bin/sh", "/", 1001, 33261)], title="/bin/sh /entrypoint.sh",
             types=["SYSCALL", "EXECVE", "CWD", "PATH", "PROCTITLE", "EOE"])
        for _ in range(2):
            w = alloc(1)
            for _ in worker(g, w, None, p, c, OPENS, 0, rnd):
                pass
            nopens += OPENS
        g.exit_(p, p, 1)
        nproc += 3
    # workers: 1 in 5 on the host (parent pid 1), the others in a container, under its init
    # or under an earlier worker of that container (chains up to depth 3)
    last = {c: [] for c in cids}  # recent (pid, depth) per container
    active = []
    it = iter(specs)
    done = False
    while active or not done:
        while not done and len(active) < CONCURRENT:
            spec = next(it, None)
            if spec is None:
                done = True
                break
            threaded, opens, extra = spec
            pid = alloc(2 if threaded else 1)
            tid = pid + 1 if threaded else None
            k = rnd.randrange(5)
            if k == 0:
                container, ppid = None, 1
            else:
                ci = rnd.randrange(len(cids))
                container = cids[ci]
                ppid, depth = inits[ci], 1
                alive = [x for x in last[container] if x[1] < 3 and x[0] in
                         {w[1] for w in active}]
                if alive and rnd.random() < 0.5:
                    ppid, depth = alive[-1][0], alive[-1][1] + 1
                last[container] = (last[container] + [(pid, depth)])[-8:]
            nproc += 1
            nopens += opens
            gen = worker(g, pid, tid, ppid, container, opens, extra, rnd)
            next(gen)  # the fork now, so that a later child's parent exists
            active.append((gen, pid))
        if not active:
            break
        # a parent outlives its children: step the newest first, so chained children exit
        # before a parent that was started earlier
        i = len(active) - 1 - rnd.randrange(min(2, len(active)))
        gen, pid = active[i]
        try:
            next(gen)
        except StopIteration:
            active.pop(i)
    for p, c in zip(inits, cids):
        g.exit_(p, p, 1)
    g.close()
    end, _ = g.now()
    secs = time.monotonic() - t_start
    total = g.n["events"] + g.n["proc_events"]
    info = {"session": str(sid), "events": g.n["events"], "proc_events": g.n["proc_events"],
            "total": total, "processes": nproc, "snapshot": 1, "opens": nopens,
            "containers": len(cids), "container_ids": cids, "tiny_containers": tiny,
            "role": a.role, "host": HOST, "shape": SHAPE_NAME,
            "generate_s": round(secs, 2),
            "docs_per_s": round(total / secs) if secs else None}
    db.sessions.update_one({"_id": sid}, {"$set": {"ended_at": end, "synth": info,
                                                   "complete": True}})
    print(json.dumps(info))
    if total != a.events:
        print("synth: generated %d, asked %d" % (total, a.events), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
