#!/usr/bin/env python3
"""query_db.py — issue 20's queries against the real database without the listener (so it
needs no audit turn): a hand-made raw session (the shape the listener writes: _id
"<session>:<seq>", seq shared by events and proc_events) in our own database, the real
lineage-filter and lineage-query binaries, results checked against what the script inserted.

  shim 10 -> runc 11 -> init 12 (container C, pivot_root) writes /tmp/out.txt, forks 13
  (cat /etc/motd) which forks 16 (sh -c 'echo > /tmp/deep.txt') writing /tmp/deep.txt; host
  pid 99 fails to open /root/x (EACCES); pid 1 is in the snapshot.
Checks: the unfiltered guidance (exact command, exit 3) and --filter; sessions FILTERED;
search --path/--written/--exe/--container host with chains; events --pid/--path/--key (the
session's default key left out of documents)/--since ISO; --follow of the container and of
the whole host seeing documents inserted while it runs (latency printed)."""
import datetime
from segments import Raw
import json
import os
import signal
import subprocess
import threading
import time

import bson
import pymongo

from rawdocs import RawSession
from schema import out

QUERY = os.environ.get("QUERY", "build/query/lineage-query")
FILTER = os.environ.get("FILTER", "build/filter/lineage-filter")
URI = os.environ.get("LINEAGE_MONGODB_URI", "mongodb://%2Frun%2Flineage%2Fmongodb.sock")
DB = f"lineage_test_query_db_{os.getpid()}"
CID = "c0ffee" + "1" * 58
ROOTFS = "/var/lib/docker/overlay2/abc/merged"
T0 = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - datetime.timedelta(minutes=5)
BOOT_NS = 1000 * 10**9

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def at(ms):
    return T0 + datetime.timedelta(milliseconds=ms)


def q(*args, env=None):
    return subprocess.run([QUERY, "--uri", URI, "--db", DB, *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


client = pymongo.MongoClient(URI, serverSelectionTimeoutMS=5000)
client.drop_database(DB)
db = client[DB]
sid = bson.ObjectId()
db.sessions.insert_one({"_id": sid, "host": "h1", "started_at": at(0), "ended_at": None,
                        "defaults": {"key": "lineage", "arch": "x86_64"}})
# key left out of events: the session's default (listener/event_doc.h)
raw = RawSession(sid, at, BOOT_NS, ev_defaults={"uid": 0})
head, pe, fork, ex, exit_, ev = raw.head, raw.pe, raw.fork, raw.ex, raw.exit_, raw.ev


W = ["O_WRONLY", "O_CREAT", "O_TRUNC"]
procs, events = [], []
procs += [fork(1, 1, 10), ex(2, 10, "/usr/bin/containerd-shim-runc-v2", ["shim"]),
          fork(3, 10, 11), ex(4, 11, "/usr/sbin/runc", ["runc", "create", "--bundle", "/b", CID]),
          fork(5, 11, 12), pe(6, "comm", pid=12, tgid=12, comm="runc:[2:INIT]")]
events += [ev(7, 12, "chdir", cwd="/run/b", paths=[{"name": ROOTFS, "nametype": "NORMAL",
                                                    "inode": 99, "dev": "00:27", "mode": 16877}]),
           ev(8, 12, "pivot_root", paths=[{"name": ".", "inode": 99, "dev": "00:27"},
                                          {"name": ".", "inode": 99, "dev": "00:27"}])]
procs += [ex(9, 12, "/bin/busybox", ["sh", "-c", "script"], CID)]
events += [ev(9, 12, "execve", exe="/bin/busybox", argv=["sh", "-c", "script"], container=CID),
           ev(10, 12, "openat", exit=3, fd=3, a0=-100, flags=W, container=CID,
              paths=[{"name": "/tmp/out.txt", "nametype": "CREATE"}]),
           ev(10, 12, "close", fd=3, a0=3, container=CID)]
procs += [fork(11, 12, 13), ex(12, 13, "/bin/busybox", ["cat", "/etc/motd"], CID)]
events += [ev(12, 13, "openat", exit=3, fd=3, a0=-100, flags=["O_RDONLY"], container=CID,
              key="other", paths=[{"name": "/etc/motd", "nametype": "NORMAL"}]),
           ev(13, 13, "close", fd=3, a0=3, container=CID)]
procs += [fork(14, 13, 16), ex(15, 16, "/bin/busybox", ["sh", "-c", "echo > /tmp/deep.txt"], CID)]
events += [ev(16, 16, "openat", exit=3, fd=3, a0=-100, flags=W, container=CID,
              paths=[{"name": "/tmp/deep.txt", "nametype": "CREATE"}]),
           ev(17, 16, "close", fd=3, a0=3, container=CID)]
procs += [exit_(18, 16, 13), exit_(19, 13, 12), exit_(20, 11, 10)]
events += [ev(36, 99, "openat", exit=-13, success=False, a0=-100, flags=["O_RDONLY"],
              paths=[{"name": "/root/x", "nametype": "NORMAL"}])]
Raw(db).proc_events.insert_many(procs)
Raw(db).events.insert_many(events)
Raw(db).snapshot.insert_one(head({"pid": 1, "tgid": 1, "ppid": 0, "threads": 1, "start_ticks": 100,
                             "exe": "/sbin/init", "argv": ["/sbin/init"], "container": None}))

# ---- unfiltered: guidance, then --filter ----
r = q("sessions")
check(r.returncode == 0 and r.stdout.splitlines()[1].rstrip().endswith(" no"),
      f"sessions: FILTERED no ({r.stdout.splitlines()[1:]})")
r = q("search", "--path", "/tmp/out.txt")
cmd = f"lineage-filter --uri '{URI}' --db {DB} --session {sid}"
check(r.returncode == 3 and "has not been filtered" in r.stderr and cmd in r.stderr,
      f"unfiltered search: exit 3 with the exact command ({r.returncode}: {r.stderr})")
r = q("tree", CID[:8])
check(r.returncode == 3 and cmd in r.stderr, "unfiltered tree: the same guidance")
r = q("search", "--path", "/tmp/deep.txt", "--written", "--format", "json", "--filter",
      env={"LINEAGE_FILTER": FILTER})
check(r.returncode == 0 and "running" in r.stderr, f"--filter ran the filter ({r.returncode}: {r.stderr[-300:]})")
hits = [json.loads(x) for x in r.stdout.splitlines()]
check(len(hits) == 1, f"one writer of /tmp/deep.txt ({len(hits)})")
if hits:
    h = hits[0]
    check([c["pid"] for c in h["chain"]] == [12, 13, 16],
          f"chain init 12 -> 13 -> 16 ({[c['pid'] for c in h['chain']]})")
    check(h["chain"][0].get("entry") == "init" and h["container"] == CID,
          "the chain starts at the container's init")
    check(h["file"]["path"] == "/tmp/deep.txt" and h["file"]["write"] is True, "file part")
r = q("sessions")
check(not r.stdout.splitlines()[1].rstrip().endswith(" no"), "sessions: FILTERED has a time")

r = q("search", "--path", "/tmp/deep.txt", "--written")
lines = r.stdout.splitlines()
print(r.stdout)
check(len(lines) == 5 and "[init]" in lines[2] and lines[3].lstrip().startswith("\\_ ")
      and lines[4].lstrip().startswith("\\_ ") and "/tmp/deep.txt" in lines[4],
      "text: hit line, then [init] and two \\_ levels")
r = q("search", "--exe", "cat", "--format", "json")
hits = [json.loads(x) for x in r.stdout.splitlines()]
check(len(hits) == 1 and hits[0]["process"]["pid"] == 13 and
      [c["pid"] for c in hits[0]["chain"]] == [12, 13], f"--exe cat: 13 under init 12")
r = q("search", "--argv", "deep.txt", "--format", "json")
check([json.loads(x)["process"]["pid"] for x in r.stdout.splitlines()] == [16], "--argv substring")
r = q("search", "--path-prefix", "/tmp", "--format", "json")
check(sorted(json.loads(x)["file"]["path"] for x in r.stdout.splitlines()) ==
      ["/tmp/deep.txt", "/tmp/out.txt"], "--path-prefix /tmp")
r = q("search", "--path-glob", "/tmp/*p.txt", "--format", "json")
check([json.loads(x)["file"]["path"] for x in r.stdout.splitlines()] == ["/tmp/deep.txt"],
      "--path-glob")
r = q("search", "--pid", "1", "--container", "host", "--format", "json")
hits = [json.loads(x) for x in r.stdout.splitlines()]
check(len(hits) == 1 and hits[0]["container"] is None and [c["pid"] for c in hits[0]["chain"]] == [1],
      "--pid 1 --container host: the host's pid 1")
r = q("search", "--exe", "cat", "--uid", "1000")
check(r.returncode == 0 and "session" in r.stdout and len(r.stdout.splitlines()) == 1,
      "--uid 1000: no hit (every event is uid 0)")
r = q("search", "--exe", "cat", "--uid", "0", "--format", "json")
check(len(r.stdout.splitlines()) == 1, "--uid 0 --exe cat: one hit")
cat = out(db, sid, "processes").find_one({"tgid": 13})
check(cat is not None and cat.get("uids") == [0], f"processes carry the uids of their events ({cat and cat.get('uids')})")
# the uids from the raw events as well (a session filtered before processes had them)
procs = out(db, sid, "processes")
flt_ = db.sessions.find_one({"_id": sid})["filter"]
db.sessions.update_one({"_id": sid}, {"$unset": {"filter.search": "", "filter.pages": ""}})
saved = {d["_id"]: d.get("uids") for d in procs.find({}, {"uids": 1})}
procs.update_many({}, {"$unset": {"uids": ""}})
r2 = q("search", "--exe", "cat", "--uid", "0", "--format", "json")
r3 = q("search", "--exe", "cat", "--uid", "1000")
check(r2.stdout == r.stdout and len(r3.stdout.splitlines()) == 1,
      "--uid from the raw events answers the same")
db.sessions.update_one({"_id": sid}, {"$set": {"filter": flt_}})
for k, v in saved.items():
    procs.update_one({"_id": k}, {"$set": {"uids": v}})

# ---- events ----
r = q("events", "--pid", "13")
el = r.stdout.splitlines()[2:]
check(len(el) == 2 and "openat ok 3" in el[0] and "/etc/motd" in el[0] and CID[:12] in el[0],
      f"events --pid 13: openat and close ({el})")
r = q("events", "--path", "/root/x")
el = r.stdout.splitlines()[2:]
check(len(el) == 1 and "-EACCES" in el[0] and " host " in el[0], f"events --path: EACCES on the host ({el})")
r = q("events", "--key", "lineage", "--format", "json")
check(len(r.stdout.splitlines()) == len(events) - 1,
      "--key of the session's default: documents without a key match, key=other does not")
r = q("events", "--key", "other", "--format", "json")
check([json.loads(x)["pid"] for x in r.stdout.splitlines()] == [13], "--key other")
since = at(16).strftime("%Y-%m-%dT%H:%M:%S.") + "016Z"
r = q("events", "--since", since, "--format", "json")
check(sorted(json.loads(x)["pid"] for x in r.stdout.splitlines()) == [16, 16, 99],
      f"--since ISO 8601 ({since})")
r = q("events", "--since", "-1m", "--format", "json")
check(r.returncode == 0 and r.stdout == "", "--since -1m: nothing (the events are 5 min old)")


# ---- pages (issue 15): the same answers as the documents, whichever lineage-query reads ----
flt = db.sessions.find_one({"_id": sid})["filter"]
pages = db[flt["pages"]] if "pages" in flt else None
check(pages is not None and pages.count_documents({"page_key": CID, "kind": "files"}) >= 1
      and pages.count_documents({"page_key": "host", "kind": "processes"}) >= 1,
      "the filter wrote pages of the container and of the host")
asks = [("containers",), ("containers", "--format", "json"), ("tree", CID[:8]),
        ("tree", CID[:8], "--format", "json"), ("timeline", CID[:8]),
        ("timeline", CID[:8], "--format", "json"), ("files", CID[:8]),
        ("files", CID[:8], "--written", "--format", "json"), ("files", CID[:8], "--unique"),
        ("diff", str(sid), str(sid)), ("search", "--path-prefix", "/tmp"),
        ("search", "--exe", "cat", "--container", CID[:8], "--format", "json")]
paged = [q(*a_) for a_ in asks]
check(all(r.returncode == 0 and r.stdout for r in paged),
      f"every read through pages answers ({[r.returncode for r in paged]})")
db.sessions.update_one({"_id": sid}, {"$unset": {"filter.pages": ""}})
docs = [q(*a_) for a_ in asks]
for a_, r1, r2 in zip(asks, paged, docs):
    check(r1.stdout == r2.stdout and r1.returncode == r2.returncode,
          f"{' '.join(a_)}: pages and documents answer the same "
          f"({len(r1.stdout.splitlines())} / {len(r2.stdout.splitlines())} lines)")
db.sessions.update_one({"_id": sid}, {"$set": {"filter.pages": flt["pages"]}})
# a damaged page: said, and the documents are read instead
pg = pages.find_one({"page_key": CID, "kind": "files"})
pages.update_one({"_id": pg["_id"]}, {"$set": {"data": bson.Binary(b"\x78\x01garbage")}})
r = q("files", CID[:8])
check(r.returncode == 0 and r.stdout == paged[6].stdout and "does not decode" in r.stderr,
      f"a damaged page is reported and the documents answer ({r.stderr.strip()[:200]})")

# ---- follow: documents inserted while it runs ----
class Follow:
    def __init__(self, *args):
        self.p = subprocess.Popen([QUERY, "--uri", URI, "--db", DB, *args], text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append((time.time(), line.rstrip("\n")))

    def wait_for(self, text, timeout=15):
        end = time.time() + timeout
        while time.time() < end:
            for t, x in self.lines:
                if text in x:
                    return t, x
            time.sleep(0.02)
        return None, None

    def stop(self):
        self.p.send_signal(signal.SIGINT)
        return self.p.wait(timeout=20), self.p.stderr.read()


def live_event(pid, path, container):
    now = datetime.datetime.now(datetime.timezone.utc)
    d = head({"ts": now, "serial": 5000 + raw.seq, "syscall": "openat", "success": True, "exit": 3,
              "fd": 3, "pid": pid, "ppid": 12, "uid": 0, "flags": W, "container": container,
              "paths": [{"name": path, "nametype": "CREATE"}]})
    Raw(db).events.insert_one(d)
    return time.time()


fc = Follow("timeline", "--follow", CID, "--format", "json")
fh = Follow("timeline", "--follow", "--format", "json")
fs = Follow("search", "--follow", "--path", "/tmp/live.txt")
time.sleep(2)
t0 = live_event(13, "/tmp/live.txt", CID)
tc, lc = fc.wait_for("/tmp/live.txt")
th, lh = fh.wait_for("/tmp/live.txt")
ts_, ls = fs.wait_for("/tmp/live.txt")
for name, t, line in [("container", tc, lc), ("host", th, lh), ("search", ts_, ls)]:
    check(t is not None, f"{name} --follow saw the inserted document")
    if t is not None:
        print(f"follow latency ({name} mode): {t - t0:.3f} s")
        check(t - t0 < 2.0, f"{name} --follow within 2 s ({t - t0:.3f} s)")
if lc:
    d = json.loads(lc)
    check(d["what"] == "write-open" and d["container"] == CID and d["pid"] == 13 and
          "cat /etc/motd" in d.get("process", ""), f"the line has container and process ({d})")
if ls:
    check(CID[:12] in ls and "write-open" in ls, f"search --follow text line ({ls})")
# a host document: only the host-wide follower prints it
t0 = live_event(99, "/etc/live-host", None)
th, lh = fh.wait_for("/etc/live-host")
check(th is not None and json.loads(lh)["container"] is None, "host --follow saw the host document")
time.sleep(1)
check(not any("/etc/live-host" in x for _, x in fc.lines), "the container's follow did not print it")
for name, f in [("container", fc), ("host", fh), ("search", fs)]:
    rc, err = f.stop()
    check(rc == 0 and "stopped after seq" in err, f"Ctrl-C ends {name} --follow with 0 ({rc}: {err[-200:]})")

client.drop_database(DB)
if failures:
    print(f"query_db: {len(failures)} check(s) failed")
    raise SystemExit(1)
print("query_db: all checks passed")
