#!/usr/bin/env python3
"""scope_bench.py — what --scope containers saves (issue 19). The same workload is recorded
twice, with --scope all and with --scope containers: host noise (lineage-loadgen files and
exec as the unprivileged bench user, plus a shell loop of cat as root) while a container
runs a known script (K iterations of: write a file, cat it, rm it). For each scope it
reports the documents stored (events, proc_events, snapshot, from the session counters and
counted in the database), the listener's CPU time, and checks that every event of the
container script is present (K execve of cat, K write-opens, K read-opens, K unlinks, all
stamped with the container id) and that the container's events are the same in both runs.

Run as root, holding no other listener, with the store up (LINEAGE_MONGODB_URI):
    ninja -C build listener/lineage-listener bench/lineage-loadgen
    python3 bench/scope_bench.py --build build [--iterations 200] [--noise-files 5000]
Summary lines: `scope_bench: key=value ...`."""
import argparse
import fcntl
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

from pymongo import MongoClient

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from lib import read_spool  # noqa: E402  (the spool, read independently of spool.c)
from segments import Raw  # noqa: E402  (the raw layer, decoded independently of segment.c)

URI = os.environ.get("LINEAGE_MONGODB_URI", "mongodb://%2Frun%2Flineage%2Fmongodb.sock")
DOCKER = "/usr/bin/docker"
LOCK = "/run/lineage-e2e-audit.lock"
CONTAINER_SCRIPT = ("i=0; while [ $i -lt {k} ]; do echo x > /tmp/sb$i; cat /tmp/sb$i > /dev/null;"
                    " rm /tmp/sb$i; i=$((i+1)); done")


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_log(path, text, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"listener exited early: {open(path).read()[-2000:]}")
        if text in open(path).read():
            return
        time.sleep(0.1)
    raise RuntimeError("listener did not start")


def wait_drain(path, timeout):
    """Until the listener's stats line says its queue is empty twice in a row (the store has
    what was recorded); seconds waited."""
    import re
    t0, empty, seen = time.time(), 0, 0
    while time.time() - t0 < timeout:
        lines = [x for x in open(path).read().splitlines() if "stats:" in x]
        if len(lines) > seen:
            seen = len(lines)
            m = re.search(r"\| queue (\d+) ", lines[-1])
            empty = empty + 1 if m and m.group(1) == "0" else 0
            if empty >= 2:
                break
        time.sleep(0.2)
    return round(time.time() - t0, 1)


def host_noise(args, stop):
    """Host processes that --scope containers drops: loadgen as the bench user, and cat."""
    loadgen = os.path.join(args.build, "bench", "lineage-loadgen")
    user = ["--user", args.user] if args.user else []
    procs = [subprocess.Popen([loadgen, *user, "files", "--count", str(args.noise_files)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
             subprocess.Popen([loadgen, *user, "exec", "--rate", str(args.noise_rate), "--seconds",
                               str(args.noise_seconds)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    n = 0
    while not stop.is_set() and n < args.noise_cats:
        subprocess.run(["cat", "/etc/hostname"], stdout=subprocess.DEVNULL)
        n += 1
    for p in procs:
        p.wait()


def is_sb(name):
    return isinstance(name, str) and name.startswith("/tmp/sb") and name[7:].isdigit()


def container_events(d, cid, k, spooled):
    """The container script's events, in the database and in what is left in the spool
    (when the store could not keep up, the rest waits there for the next start)."""
    # the raw layer is segments (issue 33): those whose header lists the container, decoded
    evs = Raw(d).events.find({"container": cid})
    evs += [e for e in spooled.get("events", []) if e.get("container") == cid]
    names = lambda e: [p.get("name") for p in e.get("paths", [])]
    got = {
        "execve_cat": sum(1 for e in evs if e.get("syscall") == "execve" and
                          (e.get("argv") or [None])[0] == "cat" and
                          len(e.get("argv")) == 2 and is_sb(e["argv"][1])),
        "write_opens": sum(1 for e in evs if e.get("syscall") in ("open", "openat", "creat") and
                           any(is_sb(n) for n in names(e)) and "O_WRONLY" in e.get("flags", [])),
        "read_opens": sum(1 for e in evs if e.get("syscall") in ("open", "openat") and
                          any(is_sb(n) for n in names(e)) and "O_RDONLY" in e.get("flags", [])),
        "unlinks": sum(1 for e in evs if e.get("syscall") in ("unlink", "unlinkat") and
                       any(is_sb(n) for n in names(e))),
    }
    got["all_events"] = len(evs)
    got["proc_events"] = (Raw(d).proc_events.count_documents({"container": cid}) +
                          sum(1 for e in spooled.get("proc_events", []) if e.get("container") == cid))
    missing = sum(max(0, k - got[x]) for x in ("execve_cat", "write_opens", "read_opens", "unlinks"))
    return got, missing


def run(args, scope):
    dbname = f"lineage_bench_scope_{scope}_{os.getpid()}"
    tmp = tempfile.mkdtemp(prefix="lineage-scope-bench-")
    errpath = os.path.join(tmp, "listener.err")
    listener = os.path.join(args.build, "listener", "lineage-listener")
    cmd = [listener, "--uri", URI, "--db", dbname, "--spool", os.path.join(tmp, "spool"),
           "--stats-interval", "1", "--scope", scope, *args.listener_arg]
    lock = open(LOCK, "w")
    if os.environ.get("LINEAGE_E2E_LOCK_HELD") != "1":  # else the caller holds it
        fcntl.flock(lock, fcntl.LOCK_EX)
    err = open(errpath, "w")
    proc = subprocess.Popen(cmd, stderr=err, stdout=subprocess.DEVNULL)
    try:
        wait_log(errpath, "recording", proc)
        time.sleep(1)
        cpu0, t0 = cpu_s(proc.pid), time.time()
        stop = threading.Event()
        noise = threading.Thread(target=host_noise, args=(args, stop))
        noise.start()
        cid = subprocess.run([DOCKER, "run", "-d", "--network", "none", args.image, "sh", "-c",
                              CONTAINER_SCRIPT.format(k=args.iterations)], check=True,
                             capture_output=True, text=True).stdout.strip()
        subprocess.run([DOCKER, "wait", cid], check=True, capture_output=True)
        noise.join()
        stop.set()
        time.sleep(3)  # assembler timeout, last batches
        drain = wait_drain(errpath, args.drain_timeout)
        proc.send_signal(signal.SIGTERM)
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.time() - t0
        cpu = ru.ru_utime + ru.ru_stime - cpu0
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait()
        err.close()
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
    subprocess.run([DOCKER, "rm", cid], capture_output=True)
    d = MongoClient(URI)[dbname]
    s = d.sessions.find_one()
    c = s.get("counters", {})
    spooled, _ = read_spool(os.path.join(tmp, "spool")) if os.path.isdir(os.path.join(tmp, "spool")) else ({}, 0)
    docs = {k: sum(int(g["n"]) for g in d.segments.find({"stream": k}, {"n": 1}))
            for k in ("events", "proc_events", "snapshot")}
    left = sum(len(v) for v in spooled.values())
    got, missing = container_events(d, cid, args.iterations, spooled)
    res = {"scope": scope, "rc": proc.returncode, "cpu_s": round(cpu, 3), "wall_s": round(wall, 2),
           "drain_s": drain, "spooled": c.get("spooled"),
           "stored": c.get("stored"), "docs": sum(docs.values()) + left, "docs_in_db": sum(docs.values()),
           "docs_left_in_spool": left, **{f"docs_{k}": v for k, v in docs.items()},
           "listener_args": " ".join(args.listener_arg) or "-", "audit_events": c.get("events"), "proc_events_seen": c.get("proc_events"),
           "scope_dropped": c.get("scope_dropped_total", 0), "audit_lost": c.get("audit_lost"),
           "container": cid[:12], "container_missing": missing,
           **{f"container_{k}": v for k, v in got.items()}}
    if not args.keep_db:
        d.client.drop_database(dbname)
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--image", default="lineage-busybox:latest")
    ap.add_argument("--iterations", type=int, default=200, help="container script loops")
    ap.add_argument("--noise-files", type=int, default=5000, help="loadgen files --count")
    ap.add_argument("--noise-rate", type=int, default=100, help="loadgen exec --rate")
    ap.add_argument("--noise-seconds", type=int, default=4, help="loadgen exec --seconds")
    ap.add_argument("--noise-cats", type=int, default=200, help="cat runs as root on the host")
    ap.add_argument("--drain-timeout", type=int, default=120, help="seconds to wait for the store")
    ap.add_argument("--user", default="lineage-bench", help="loadgen --user ('' = as root)")
    ap.add_argument("--listener-arg", action="append", default=None,
                    help="extra listener option (default: --no-write)")
    ap.add_argument("--scopes", default="all,containers")
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--out", help="write the results as JSON here")
    args = ap.parse_args()
    if args.listener_arg is None:
        args.listener_arg = ["--no-write"]
    if args.user:
        try:
            import pwd
            pwd.getpwnam(args.user)
        except KeyError:
            args.user = ""
    results = [run(args, s) for s in args.scopes.split(",")]
    ok = True
    for r in results:
        print("scope_bench: " + " ".join(f"{k}={v}" for k, v in r.items()))
        ok &= r["container_missing"] == 0 and r["rc"] == 0
    if len(results) == 2:
        a, b = results
        same = all(a[f"container_{k}"] == b[f"container_{k}"]
                   for k in ("execve_cat", "write_opens", "read_opens", "unlinks"))
        ok &= same
        print(f"scope_bench: docs_ratio={b['docs'] / max(1, a['docs']):.3f} "
              f"cpu_ratio={b['cpu_s'] / max(1e-9, a['cpu_s']):.3f} "
              f"container_events_same={same} container_all_events={a['container_all_events']}/"
              f"{b['container_all_events']} load={open('/proc/loadavg').read().split()[0]}")
    print(f"scope_bench: ok={ok}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
