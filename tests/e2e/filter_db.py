#!/usr/bin/env python3
"""filter_db.py — lineage-filter against the real database (FerretDB/MongoDB at
$LINEAGE_MONGODB_URI or 127.0.0.1:27017), without the listener: a hand-made raw session is
inserted into our own database, the real binary ($FILTER) runs, and the derived collections
are checked. Scenario (times in ms after T0, written the way the listener stores them):

  shim 10 -> runc create 11 (argv names container A) -> runc init 12: chdir(<rootfs>),
  pivot_root(".", ".") (same inode), exec sh, which forks 13 (cat /etc/motd) and writes
  /tmp/out.txt; runc exec 14 -> 15 (setns, cgroup says A) writes "/tmp/sp ace.txt", never
  closes it, exits. Expected values are derived from this script, not from the filter.
Also: re-running replaces (same counts), --last, exit codes 1, 2, 3.
"""
import datetime
from segments import Raw
import os
import subprocess
import sys

import bson
import pymongo
from rawdocs import RawSession
from schema import out

FILTER = os.environ.get("FILTER", "build-c/filter/lineage-filter")
URI = os.environ.get("LINEAGE_MONGODB_URI", "mongodb://%2Frun%2Flineage%2Fmongodb.sock")
DB = "lineage_test_filter_e2e"
CID = "c0ffee" + "0" * 58
ROOTFS = "/var/lib/docker/overlay2/abc/merged"
T0 = datetime.datetime(2026, 11, 23, 10, 0, 0, tzinfo=datetime.timezone.utc)
BOOT_NS = 1000 * 10**9  # ts_ns = BOOT_NS + t ms


def at(ms):
    return T0 + datetime.timedelta(milliseconds=ms)


failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(*args):
    p = subprocess.run([FILTER, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def main():
    client = pymongo.MongoClient(URI, serverSelectionTimeoutMS=5000)
    client.drop_database(DB)
    db = client[DB]
    sid = bson.ObjectId()
    old = bson.ObjectId()
    db.sessions.insert_many([
        {"_id": old, "host": "h1", "started_at": at(-100000), "ended_at": at(-90000)},
        {"_id": sid, "host": "h1", "started_at": at(0), "ended_at": at(60000)},
    ])
    raw = RawSession(sid, at, BOOT_NS, head={"host": "h1"}, ev_defaults={"key": "lineage"})
    head, pe, fork, ex, exit_, ev = raw.head, raw.pe, raw.fork, raw.ex, raw.exit_, raw.ev

    procs = [
        fork(1, 1, 10), ex(2, 10, "/usr/bin/containerd-shim-runc-v2", ["shim"]),
        fork(3, 10, 11),
        ex(4, 11, "/usr/sbin/runc", ["runc", "--root", "/r", "create", "--bundle", "/b", CID]),
        fork(5, 11, 12),
        pe(6, "comm", pid=12, tgid=12, comm="runc:[2:INIT]"),
        ex(9, 12, "/bin/busybox", ["sh", "-c", "script"], CID),
        fork(10, 12, 13), ex(11, 13, "/bin/busybox", ["cat", "/etc/motd"], CID),
        exit_(14, 13, 12),
        exit_(20, 11, 10),
        fork(30, 10, 14), ex(31, 14, "/usr/sbin/runc", ["runc", "exec", "--process", "/p", CID]),
        fork(32, 14, 15), ex(33, 15, "/bin/busybox", ["sh", "-c", "echo"], CID),
        exit_(35, 14, 10),
        exit_(40, 15, 10),  # reparented to the shim
        exit_(50, 12, 10, status=2 << 8),
    ]
    events = [
        ev(7, 12, "chdir", cwd="/run/b", paths=[{"name": ROOTFS, "nametype": "NORMAL",
                                                  "inode": 99, "dev": "00:27", "mode": 16877}]),
        ev(8, 12, "pivot_root", paths=[{"name": ".", "inode": 99, "dev": "00:27"},
                                       {"name": ".", "inode": 99, "dev": "00:27"}]),
        ev(9, 12, "execve", exe="/bin/busybox", argv=["sh", "-c", "script"], container=CID),
        ev(10, 12, "openat", exit=3, fd=3, a0=-100, flags=["O_WRONLY", "O_CREAT", "O_TRUNC"],
           paths=[{"name": "/tmp/", "nametype": "PARENT"},
                  {"name": "/tmp/out.txt", "nametype": "CREATE"}], container=CID),
        ev(10, 12, "close", fd=3, a0=3, container=CID),
        ev(12, 13, "openat", exit=3, fd=3, a0=-100, flags=["O_RDONLY"], cwd="/etc",
           paths=[{"name": "motd", "nametype": "NORMAL"}], container=CID),
        ev(13, 13, "close", fd=3, a0=3, container=CID),
        ev(34, 15, "openat", exit=3, fd=3, a0=-100, flags=["O_WRONLY", "O_CREAT", "O_TRUNC"],
           paths=[{"name": "/tmp/sp ace.txt", "nametype": "CREATE"}], container=CID),
        ev(36, 99, "openat", exit=-13, success=False, a0=-100, flags=["O_RDONLY"],
           paths=[{"name": "/root/x", "nametype": "NORMAL"}]),
    ]
    Raw(db).proc_events.insert_many(procs)
    Raw(db).events.insert_many(events)
    # a segment's documents carry seq (the listener numbers snapshot entries too)
    Raw(db).snapshot.insert_many([head({"pid": 1, "tgid": 1, "ppid": 0, "threads": 1,
                                        "start_ticks": 100, "exe": "/sbin/init",
                                        "argv": ["init"], "container": None})])

    rc, o, err = run("--db", DB, "--uri", URI, "--session", str(sid))
    print(o, err, sep="")
    check(rc == 0, "filter exit code %d" % rc)
    conts = list(out(db, sid, "containers").find({"session": sid}))
    check(len(conts) == 1, "one container, got %d" % len(conts))
    c = conts[0] if conts else {}
    check(c.get("container") == CID, "container id")
    check(c.get("rootfs") == ROOTFS, "rootfs %r" % c.get("rootfs"))
    check(c.get("processes") == 3, "3 container processes, got %r" % c.get("processes"))
    P = {p["tgid"]: p for p in out(db, sid, "processes").find({"session": sid})}
    ts_ns = lambda t: BOOT_NS + t * 10**6
    check(c.get("init") == "12@%d" % ts_ns(5), "init key %r" % c.get("init"))
    check(c.get("exec_roots") == ["15@%d" % ts_ns(32)], "exec roots %r" % c.get("exec_roots"))
    check(P[12]["parent"] == "11@%d" % ts_ns(3), "init's parent is runc create")
    check(P[12]["parent_at_exit"] == "10@%d" % ts_ns(1) and P[12]["reparented"],
          "init reparented to the shim")
    check(P[12]["exit_code"] == 2, "init exit code 2")
    check(P[13]["depth"] == 1 and P[13]["parent"] == P[12]["key"], "cat under init, depth 1")
    check(P[12]["children"] == [P[13]["key"]], "init's children %r" % P[12]["children"])
    check(P[15]["entry"] == "exec" and P[15]["container"] == CID, "docker exec'd sh joins")
    check(P[12]["rootfs"] == ROOTFS and P[15]["rootfs"] == ROOTFS, "rootfs on members")
    check(P[11]["container"] is None, "runc create stays on the host")
    check(P[13]["exit"] is not None and not P[13]["running"], "cat exited")
    check(abs((P[13]["exit"].replace(tzinfo=datetime.timezone.utc) - at(14)).total_seconds()) < 0.002,
          "cat exit time %r" % P[13]["exit"])
    F = {(f["tgid"], f["path"]): f for f in out(db, sid, "files").find({"session": sid})}
    f = F.get((12, "/tmp/out.txt"))
    check(f is not None and f["write"] and not f["close_inferred"] and
          f["host_path"] == ROOTFS + "/tmp/out.txt", "init wrote /tmp/out.txt: %r" % f)
    f = F.get((13, "/etc/motd"))
    check(f is not None and not f["write"] and f["read"] and f["close"] is not None,
          "cat read /etc/motd (cwd-relative): %r" % f)
    f = F.get((15, "/tmp/sp ace.txt"))
    check(f is not None and f["write"] and f["close_inferred"] and
          f["host_path"] == ROOTFS + "/tmp/sp ace.txt", "exec'd sh wrote 'sp ace': %r" % f)
    if f:
        check(abs((f["close"].replace(tzinfo=datetime.timezone.utc) - at(40)).total_seconds()) < 0.002,
              "inferred close at the exit")
    f = F.get((99, "/root/x"))
    check(f is not None and f.get("failed") and f.get("error") == -13, "failed open kept")
    idx = [i["name"] for i in out(db, sid, "files").list_indexes()]
    check("container_path" in idx and "path" in idx, "files indexes %r" % idx)
    nfiles = out(db, sid, "files").count_documents({"container": CID})
    check(nfiles > 0 and c.get("files") == nfiles,
          "the container names its files count (%r), as the files collection has (%d)"
          % (c.get("files"), nfiles))
    sidx = out(db, sid, "search")
    check(sidx is not None and {d["what"] for d in sidx.find({})} == {"paths", "procs"},
          "the search index has its paths and procs parts")

    first = {k: out(db, sid, k).name for k in ("processes", "containers", "files", "search")}
    counts = (out(db, sid, "processes").count_documents({}), out(db, sid, "files").count_documents({}))
    rc, o, err = run("--db", DB, "--uri", URI, "--last")
    check(rc == 0 and str(sid) in o, "--last picks the latest session: %d %s" % (rc, o))
    second = {k: out(db, sid, k).name for k in ("processes", "containers", "files", "search")}
    check(all(first[k] != second[k] for k in first), "a re-run writes new collections: %r" % second)
    check((out(db, sid, "processes").count_documents({}), out(db, sid, "files").count_documents({})) == counts,
          "re-run replaces its output")
    left = set(db.list_collection_names())
    check(not (set(first.values()) & left), "the previous run's collections are dropped")
    check(set(second.values()) <= left, "the new run's collections are there")

    rc, _, _ = run("--db", DB, "--uri", URI, "--session", str(bson.ObjectId()))
    check(rc == 3, "unknown session: exit 3, got %d" % rc)
    # raw documents without their sessions document: found by a find with limit 1 each
    db.sessions.delete_one({"_id": sid})
    rc, o, err = run("--db", DB, "--uri", URI, "--session", str(sid))
    check(rc == 0 and "no sessions document" in err,
          "raw documents only: exit 0 with a warning, got %d %r" % (rc, err))
    rc, _, _ = run("--db", DB, "--session", "nothex")
    check(rc == 1, "bad session id: exit 1, got %d" % rc)
    rc, _, _ = run("--db", DB)
    check(rc == 1, "no session: exit 1, got %d" % rc)
    rc, _, _ = run("--db", DB, "--uri", "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500",
                   "--last")
    check(rc == 2, "unreachable: exit 2, got %d" % rc)
    client.drop_database(DB)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
