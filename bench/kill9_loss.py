#!/usr/bin/env python3
"""kill9_loss.py — what a listener killed with SIGKILL loses (issue 33): events the kernel
handed over that are in neither the store nor the spool after a restart. The listener
records the whole host while bench/lineage-loadgen files runs (--rate opens a second, in
ticks of 0.1 s); right after the last tick it gets SIGKILL; a second listener on the same
spool then replays what the first one spooled; the workload's opens found in the killed
session are counted against those loadgen made (the kernel's lost counter is printed: it
must be 0 for the difference to be the listener's).

--layout segments (this tree's listener: raw documents in `segments`) or documents (an older
listener, --listener PATH, that wrote one document per event into events/proc_events/...).
--store-away: the store is a private FerretDB killed before the workload (the spool takes
everything), else the shared store stays up. Needs root, holds the audit flock.
Prints `kill9_loss: key=value` lines."""
import argparse
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import bson
import pymongo

LOCK = "/run/lineage-e2e-audit.lock"
URI = os.environ.get("LINEAGE_MONGODB_URI", "mongodb://%2Frun%2Flineage%2Fmongodb.sock")
STREAMS = ("events", "proc_events", "snapshot", "container_facts")


OPENS = ("open", "openat", "creat")


def raw_docs(db, sid, layout):
    if layout == "documents":
        for c in STREAMS:
            yield from db[c].find({"session": sid})
        return
    import zstandard
    dz = zstandard.ZstdDecompressor()
    for seg in db.segments.find({"session": sid}):
        yield from bson.decode_all(dz.decompress(seg["data"], max_output_size=seg["raw_bytes"]))


def count(db, sid, layout, pids):
    """(every seq stored, the workload's opens stored)"""
    seqs, opens = set(), 0
    for d in raw_docs(db, sid, layout):
        seqs.add(d["seq"])
        if d.get("pid") in pids and d.get("syscall") in OPENS and any(
                "lineage-loadgen." in (p.get("name") or "") for p in d.get("paths", [])):
            opens += 1
    return seqs, opens


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--listener", help="listener binary (default BUILD/listener/lineage-listener)")
    ap.add_argument("--layout", choices=("segments", "documents"), default="segments")
    ap.add_argument("--rate", type=int, default=3000, help="loadgen files operations per tick")
    ap.add_argument("--seconds", type=float, default=6)
    ap.add_argument("--store-away", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    listener = a.listener or os.path.join(a.build, "listener", "lineage-listener")
    loadgen = os.path.join(a.build, "bench", "lineage-loadgen")
    client = pymongo.MongoClient(URI)
    lock = open(LOCK, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    results = []
    for rep in range(a.repeat):
        tmp = tempfile.mkdtemp(prefix="lineage-kill9-")
        spool = os.path.join(tmp, "spool")
        dbname = "lineage_bench_kill9_%d_%d" % (os.getpid(), rep)
        uri = URI if not a.store_away else "mongodb://%2Fnonexistent%2Fsock"
        args = [listener, "--no-config", "--uri", uri, "--db", dbname, "--spool", spool,
                "--stats-interval", "1", "--no-write"]
        err = open(os.path.join(tmp, "l1.err"), "w")
        p = subprocess.Popen(args, stderr=err, stdout=subprocess.DEVNULL)
        for _ in range(200):
            if "recording" in open(err.name).read():
                break
            time.sleep(0.1)
        time.sleep(1)
        t0 = time.monotonic()
        expected, pids = 0, set()
        while time.monotonic() - t0 < a.seconds:
            r = subprocess.run([loadgen, "files", "--count", str(a.rate // 10)],
                               capture_output=True, text=True)
            j = json.loads(r.stdout)
            expected += j["opens"]
            pids.add(j["pid"])
            time.sleep(0.05)
        p.send_signal(signal.SIGKILL)
        p.wait()
        err.close()
        stats = [l for l in open(err.name) if "stats:" in l]
        m = re.search(r"events (\d+) .*? proc_events (\d+)", stats[-1]) if stats else None
        seen_at_last_stats = int(m.group(1)) + int(m.group(2)) if m else 0
        sid = re.search(r"session ([0-9a-f]{24})", open(err.name).read()).group(1)
        # a second listener with the store up replays the spool (and records a new session)
        err2 = open(os.path.join(tmp, "l2.err"), "w")
        p2 = subprocess.Popen([listener, "--no-config", "--uri", URI, "--db", dbname, "--spool",
                               spool, "--stats-interval", "0", "--no-write", "--no-proc"],
                              stderr=err2, stdout=subprocess.DEVNULL)
        time.sleep(4)
        deadline = time.time() + 120
        while time.time() < deadline and [f for f in os.listdir(spool) if f.endswith(".bson")]:
            time.sleep(0.5)
        p2.send_signal(signal.SIGTERM)
        p2.wait()
        err2.close()
        db = client[dbname]
        s = bson.ObjectId(sid)
        got, opens = count(db, s, a.layout, pids)
        top = max(got) if got else 0
        missing = top - len([x for x in got if x <= top])
        lost_k = re.findall(r"lost\(kernel\) (\d+)", "".join(stats))
        results.append((expected - opens, missing))
        print("kill9_loss: run=%d workload_opens=%d stored_opens=%d lost=%d stored=%d "
              "highest_seq=%d gaps_below_highest=%d kernel_lost=%s events_at_last_stats=%d" % (
                  rep, expected, opens, expected - opens, len(got), top, missing,
                  lost_k[-1] if lost_k else "?", seen_at_last_stats))
        client.drop_database(dbname)
        shutil.rmtree(tmp, ignore_errors=True)
    fcntl.flock(lock, fcntl.LOCK_UN)
    lost = sorted(r[0] for r in results)
    print("kill9_loss: layout=%s store=%s lost_median=%d lost_max=%d runs=%d" % (
        a.layout, "away" if a.store_away else "up", lost[len(lost) // 2], lost[-1], len(lost)))


if __name__ == "__main__":
    sys.exit(main())
