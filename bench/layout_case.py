#!/usr/bin/env python3
"""layout_case.py — raw events as one document each (today's layout) against buckets of B
events packed as one binary BSON blob, side by side on the same store, with the listener's
real event documents (issue 15 item 2: "if only a layout that is not [queryable from
mongosh] reaches the targets, measure both side by side and make the case").

Events: a JSON-lines file the listener wrote (`lineage-listener --no-db --jsonl FILE`, or
--record S: this script runs the listener for S seconds over a mixed workload, holding the
audit lock the tests use). They are repeated, with fresh _id/seq, to --events N in one
session. For each layout, into a fresh database on --uri (default: the embedded store):
  insert   batches of 500 documents (what the listener's writer sends), events/s
  read     every event of the session, decoded in Python (what the filter's load does)
  query    the events of one container (what `lineage-query timeline` starts from): by the
           {session, container} index for documents; for buckets every bucket of the session
           must be read and decoded, the container is inside the blob
Ends with `layout_case: key=value` lines. Run as root from the repository; the store must
be up (scripts/services.sh start store).
"""
import argparse
import fcntl
import os
import signal
import subprocess
import sys
import tempfile
import time

import bson
from bson import json_util
from pymongo import MongoClient

LOCK = "/run/lineage-e2e-audit.lock"
DOCKER = "/usr/bin/docker"
BATCH = 500


def record(listener, seconds, image):
    """Run the listener over a mixed workload (files, execs, a container); its JSONL file."""
    out = tempfile.mktemp(prefix="layout-case-", suffix=".jsonl")
    tmp = tempfile.mkdtemp(prefix="layout-case-work-")
    lock = open(LOCK, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    p = subprocess.Popen([listener, "--no-db", "--jsonl", out, "--stats-interval", "0"],
                         stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)
    script = (f"cd {tmp}; end=$(($(date +%s) + {int(seconds)})); i=0; "
              "while [ $(date +%s) -lt $end ]; do echo $i > f$i; cat f$i > /dev/null; "
              "mv f$i g$i; rm g$i; /bin/true; i=$((i+1)); done")
    procs = [subprocess.Popen(["sh", "-c", script])]
    if image and os.path.exists(DOCKER):
        procs.append(subprocess.Popen(
            [DOCKER, "run", "--rm", "--network", "none", image, "sh", "-c",
             f"end=$(($(date +%s) + {int(seconds)})); while [ $(date +%s) -lt $end ]; do "
             "echo x > /tmp/a; cat /tmp/a > /dev/null; done"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for q in procs:
        q.wait(timeout=seconds + 120)
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    fcntl.flock(lock, fcntl.LOCK_UN)
    subprocess.run(["rm", "-rf", tmp])
    if p.returncode != 0:
        sys.exit(f"layout_case: listener exited {p.returncode}: {err[-2000:]}")
    return out


def load_events(path):
    evs = []
    with open(path) as f:
        for line in f:
            d = json_util.loads(line)
            if d.pop("collection", None) == "events":
                evs.append(d)
    if not evs:
        sys.exit(f"layout_case: no events documents in {path}")
    return evs


def replicate(evs, n, session):
    """n events of one session: the recorded ones over and over, each with its own seq/_id."""
    out = []
    for i in range(n):
        e = dict(evs[i % len(evs)])
        e["session"] = session
        e["seq"] = i + 1
        e["_id"] = f"{session}:{i + 1}"
        out.append(e)
    return out


def timed(fn):
    t = time.perf_counter()
    r = fn()
    return r, time.perf_counter() - t


def run_docs(db, evs, session, container):
    c = db.events
    c.create_index([("session", 1), ("container", 1)])

    def ins():
        for j in range(0, len(evs), BATCH):
            c.insert_many(evs[j:j + BATCH], ordered=False)
    _, t_ins = timed(ins)
    n_read, t_read = timed(lambda: sum(1 for _ in c.find({"session": session}, batch_size=10000)))
    n_q, t_q = timed(lambda: sum(1 for _ in c.find({"session": session, "container": container})))
    return {"insert_s": t_ins, "read_s": t_read, "read_n": n_read, "query_s": t_q, "query_n": n_q,
            "docs": c.estimated_document_count()}


def run_blobs(db, evs, session, container, bsize):
    c = db.buckets
    c.create_index([("session", 1)])
    docs = []
    for j in range(0, len(evs), bsize):
        part = evs[j:j + bsize]
        docs.append({"_id": f"{session}:b{j // bsize}", "session": session,
                     "first_seq": part[0]["seq"], "n": len(part),
                     "events": bson.Binary(b"".join(bson.encode(e) for e in part))})
    per = max(1, BATCH // bsize)
    # FerretDB v1 fills a reply past the 48 MB message limit with big documents: ask for ~4 MB
    blob_batch = max(1, (4 << 20) // max(1, len(docs[0]["events"])))

    def ins():
        for j in range(0, len(docs), per):
            c.insert_many(docs[j:j + per], ordered=False)
    _, t_ins = timed(ins)

    def read():
        return sum(len(bson.decode_all(bytes(d["events"])))
                   for d in c.find({"session": session}, batch_size=blob_batch))
    n_read, t_read = timed(read)

    def query():
        return sum(1 for d in c.find({"session": session}, batch_size=blob_batch)
                   for e in bson.decode_all(bytes(d["events"])) if e.get("container") == container)
    n_q, t_q = timed(query)
    return {"insert_s": t_ins, "read_s": t_read, "read_n": n_read, "query_s": t_q, "query_n": n_q,
            "docs": c.estimated_document_count()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--uri", default=os.environ.get("LINEAGE_MONGODB_URI",
                                                    "mongodb://%2Frun%2Flineage%2Fmongodb.sock"))
    ap.add_argument("--jsonl", help="events the listener wrote (--no-db --jsonl)")
    ap.add_argument("--record", type=float, default=10,
                    help="without --jsonl: record this many seconds of a workload first")
    ap.add_argument("--listener", default="build/listener/lineage-listener")
    ap.add_argument("--image", default=os.environ.get("LINEAGE_TEST_IMAGE", "lineage-busybox:latest"))
    ap.add_argument("--events", type=int, default=200000)
    ap.add_argument("--bucket", type=int, default=500, help="events per blob")
    args = ap.parse_args()
    path = args.jsonl or record(args.listener, args.record, args.image)
    recorded = load_events(path)
    if not args.jsonl:
        os.unlink(path)
    containers = [e.get("container") for e in recorded if e.get("container")]
    container = max(set(containers), key=containers.count) if containers else None
    session = bson.ObjectId()
    evs = replicate(recorded, args.events, session)
    sizes = [len(bson.encode(e)) for e in recorded]
    client = MongoClient(args.uri, serverSelectionTimeoutMS=5000)
    res = {}
    for name in ("docs", "blobs"):
        dbn = f"lineage_layout_case_{name}_{os.getpid()}"
        client.drop_database(dbn)
        try:
            res[name] = (run_docs(client[dbn], evs, session, container) if name == "docs" else
                         run_blobs(client[dbn], evs, session, container, args.bucket))
        finally:
            client.drop_database(dbn)
    n = len(evs)
    print(f"{len(recorded)} recorded events ({sum(sizes) / len(sizes):.0f} B BSON each) repeated "
          f"to {n} in one session; container queried: {str(container)[:12]} "
          f"({res['docs']['query_n']} events); bucket {args.bucket} events")
    print(f"{'layout':<8} {'stored docs':>11} {'insert ev/s':>12} {'read ev/s':>10} "
          f"{'query s':>8} {'query n':>8}")
    for name, r in res.items():
        print(f"{name:<8} {r['docs']:>11} {n / r['insert_s']:>12,.0f} {r['read_n'] / r['read_s']:>10,.0f} "
              f"{r['query_s']:>8.2f} {r['query_n']:>8}")
    ok = res["docs"]["read_n"] == res["blobs"]["read_n"] == n and \
        res["docs"]["query_n"] == res["blobs"]["query_n"]
    for name, r in res.items():
        print(f"layout_case: layout={name} events={n} insert_ev_per_s={n / r['insert_s']:.0f} "
              f"read_ev_per_s={r['read_n'] / r['read_s']:.0f} query_container_s={r['query_s']:.2f}")
    print(f"layout_case: same_events={'yes' if ok else 'no'} "
          f"insert_ratio={res['docs']['insert_s'] / res['blobs']['insert_s']:.1f} "
          f"read_ratio={res['docs']['read_s'] / res['blobs']['read_s']:.1f}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
