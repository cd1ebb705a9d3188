#!/usr/bin/env python3
"""filter_scale.py — lineage-filter's cost against the session size (issue 8, "Filter
scale"). For each size, bench/synth.py generates a synthetic session into its own database
(PREFIX_SIZE; skipped when that database already holds a complete synthetic session of that
size), then `lineage-filter --db DB --session ID` runs under /usr/bin/time -v: wall seconds and
maximum resident set size. The filter's output is checked against what was generated
(processes == synthetic processes + the snapshot's, files == synthetic opens), read from the
per-session output collections the sessions document names (`filter`).

  python3 bench/filter_scale.py --sizes 100000,1000000 --out filter_scale.json
Databases are dropped at the end unless --keep. With --server-pid PID (the database server's
process, when it runs on this host) the server's peak RSS during each filter run is reported
too: its VmHWM is reset through /proc/PID/clear_refs before the run.
"""
import argparse
import datetime
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

import bson
import pymongo

HERE = os.path.dirname(os.path.abspath(__file__))
URI = os.environ.get("LINEAGE_MONGODB_URI", "mongodb://%2Frun%2Flineage%2Fmongodb.sock")


def existing(client, db, size):
    s = client[db].sessions.find_one({"host": "synth", "complete": True,
                                       "synth.total": size})
    return s["synth"] if s else None


def count_out(db, sid, kind):
    """Documents of the session's filter output of one kind: the per-session collection its
    sessions document names (`filter.<kind>`, common/schema.h). Counted by streaming _ids:
    FerretDB answers count_documents by materialising every matching document."""
    s = db.sessions.find_one({"_id": bson.ObjectId(sid)}, {"filter": 1}) or {}
    name = (s.get("filter") or {}).get(kind)
    if not isinstance(name, str):
        return 0
    return sum(1 for _ in db[name].find({}, {"_id": 1}, batch_size=10000))


def generate(a, db, size):
    cmd = [sys.executable, os.path.join(HERE, "synth.py"), "--events", str(size), "--db", db,
           "--uri", a.uri, "--drop"]
    print("+", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("synth failed (%d): %s" % (p.returncode, p.stderr))
    return json.loads(p.stdout.strip().splitlines()[-1])


def server_hwm_reset(pid):
    if pid:
        with open("/proc/%d/clear_refs" % pid, "w") as fh:
            fh.write("5")  # resets VmHWM to the current RSS


def server_hwm_mib(pid):
    if not pid:
        return None
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def run_filter(a, db, sid):
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        cmd = ["/usr/bin/time", "-v", "-o", tf.name, a.filter, "--uri", a.uri, "--db", db,
               "--session", sid]
        print("+", " ".join(cmd), flush=True)
        t = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - t
        tv = tf.read()
    if p.returncode != 0:
        raise SystemExit("filter failed (%d): %s\n%s" % (p.returncode, p.stdout, p.stderr))
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tv)
    e = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", tv)
    u = re.search(r"User time \(seconds\): (\S+)", tv)
    s = re.search(r"System time \(seconds\): (\S+)", tv)
    if e:
        parts = [float(x) for x in e.group(1).split(":")]
        wall = sum(x * 60 ** i for i, x in enumerate(reversed(parts)))
    return {"filter_s": round(wall, 2), "rss_mib": round(int(m.group(1)) / 1024, 1) if m else None,
            "user_s": float(u.group(1)) if u else None, "sys_s": float(s.group(1)) if s else None,
            "summary": p.stdout}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000",
                    help="events + proc_events per session, comma-separated")
    ap.add_argument("--db-prefix", default="lineage_bench_scale")
    ap.add_argument("--uri", default=URI)
    ap.add_argument("--filter", default="build/filter/lineage-filter")
    ap.add_argument("--out", help="write the results as JSON")
    ap.add_argument("--keep", action="store_true", help="keep the databases")
    ap.add_argument("--server-pid", type=int, default=0,
                    help="the database server's pid: report its peak RSS during each filter run")
    ap.add_argument("--max-generate-s", type=float, default=0,
                    help="skip the larger sizes once a generation took longer (0: never)")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",") if x]
    client = pymongo.MongoClient(a.uri, serverSelectionTimeoutMS=5000)
    rows, dbs, ok = [], [], True
    try:
        for size in sizes:
            db = "%s_%d" % (a.db_prefix, size)
            dbs.append(db)
            info = existing(client, db, size)
            cached = info is not None
            if not cached:
                info = generate(a, db, size)
            server_hwm_reset(a.server_pid)
            f = run_filter(a, db, info["session"])
            server_mib = server_hwm_mib(a.server_pid)
            got_p = count_out(client[db], info["session"], "processes")
            got_f = count_out(client[db], info["session"], "files")
            want_p = info["processes"] + info.get("snapshot", 0)
            sane = got_p == want_p and got_f == info["opens"]
            ok &= sane
            print("check %s: processes %d (want %d), files %d (want %d): %s" % (
                db, got_p, want_p, got_f, info["opens"], "ok" if sane else "MISMATCH"))
            row = {"events": info["total"], "db": db, "session": info["session"],
                   "generate_s": info["generate_s"], "generate_cached": cached,
                   "insert_docs_per_s": info.get("docs_per_s"),
                   "filter_s": f["filter_s"], "user_s": f["user_s"], "sys_s": f["sys_s"],
                   "rss_mib": f["rss_mib"], "server_rss_mib": server_mib,
                   "s_per_1m": round(f["filter_s"] * 1e6 / info["total"], 2),
                   "processes": got_p, "files": got_f, "sane": sane}
            rows.append(row)
            print("row " + json.dumps(row), flush=True)
            if a.max_generate_s and not cached and info["generate_s"] > a.max_generate_s:
                print("generation took %.1f s > %.1f s: larger sizes skipped" % (
                    info["generate_s"], a.max_generate_s))
                break
    finally:
        if not a.keep:
            for db in dbs:
                client.drop_database(db)
    print()
    print("%10s %12s %10s %14s %14s %14s %8s" % ("events", "generate s", "filter s",
                                                  "peak RSS MiB", "server MiB", "s per 1M ev",
                                                  "sane"))
    for r in rows:
        print("%10d %12s %10.2f %14.1f %14s %14.2f %8s" % (
            r["events"], ("%.1f" % r["generate_s"]) + ("*" if r["generate_cached"] else ""),
            r["filter_s"], r["rss_mib"],
            "-" if r["server_rss_mib"] is None else "%.1f" % r["server_rss_mib"],
            r["s_per_1m"], "yes" if r["sane"] else "NO"))
    if any(r["generate_cached"] for r in rows):
        print("* generated earlier (the recorded time)")
    if a.out:
        with open(a.out, "w") as fh:
            json.dump({"date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                       "host": socket.gethostname(), "cpus": os.cpu_count(), "uri": a.uri,
                       "filter": a.filter, "rows": rows}, fh, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
