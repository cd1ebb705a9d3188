#!/usr/bin/env python3
"""doc_shape.py — fields and bytes per raw document the listener writes, for one fixed
workload (issue 15: "measure fields and bytes per event before and after").

Runs the given lineage-listener with `--no-db --jsonl FILE` (holding the audit lock the tests
use), runs a small mixed workload (file opens/writes, execs, renames, a container when docker
and the test image are there), stops the listener and counts, per collection: documents,
top-level fields, fields in all (nested documents and array elements counted), and BSON bytes
(the document re-encoded from its JSON line with bson.json_util, what the store receives).
Compare two listener binaries by running it twice (`--listener A`, then `--listener B`).
Ends with `doc_shape: key=value` summary lines.
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

LOCK = "/run/lineage-e2e-audit.lock"
DOCKER = "/usr/bin/docker"


def workload(image):
    tmp = tempfile.mkdtemp(prefix="doc-shape-")
    script = f"""
cd {tmp}
for i in $(seq 1 200); do echo "line $i" > f$i.txt; cat f$i.txt > /dev/null; done
for i in $(seq 1 50); do mv f$i.txt g$i.txt; rm g$i.txt; done
for i in $(seq 1 100); do /bin/true; done
"""
    subprocess.run(["sh", "-c", script], check=True)
    if image and os.path.exists(DOCKER):
        subprocess.run([DOCKER, "run", "--rm", "--network", "none", image, "sh", "-c",
                        "for i in $(seq 1 50); do echo x > /tmp/a; cat /tmp/a >/dev/null; done"],
                       capture_output=True, timeout=60)
    subprocess.run(["rm", "-rf", tmp])


def nfields(v):
    if isinstance(v, dict):
        return sum(1 + nfields(x) for x in v.values())
    if isinstance(v, list):
        return sum(1 + nfields(x) for x in v)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listener", default="build/listener/lineage-listener")
    ap.add_argument("--label", default=None, help="name of this run in the summary lines")
    ap.add_argument("--image", default=os.environ.get("LINEAGE_TEST_IMAGE", "lineage-busybox:latest"))
    args = ap.parse_args()
    label = args.label or os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(args.listener))))
    out = tempfile.mktemp(prefix="doc-shape-", suffix=".jsonl")
    lock = open(LOCK, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    p = subprocess.Popen([args.listener, "--no-db", "--jsonl", out, "--stats-interval", "0"],
                         stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)
    workload(args.image)
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    fcntl.flock(lock, fcntl.LOCK_UN)
    if p.returncode != 0:
        print(err, file=sys.stderr)
        sys.exit(f"doc_shape: listener exited {p.returncode}")
    stats = {}
    with open(out) as f:
        for line in f:
            d = json_util.loads(line)
            coll = d.pop("collection", "?")
            s = stats.setdefault(coll, [0, 0, 0, 0])
            s[0] += 1
            s[1] += len(d)
            s[2] += nfields(d)
            s[3] += len(bson.encode(d))
    os.unlink(out)
    print(f"{'collection':<14} {'docs':>7} {'top fields':>11} {'all fields':>11} {'bytes':>8}")
    for coll, (n, top, allf, b) in sorted(stats.items()):
        print(f"{coll:<14} {n:>7} {top / n:>11.1f} {allf / n:>11.1f} {b / n:>8.1f}")
    for coll in ("events", "proc_events"):
        if coll in stats:
            n, top, allf, b = stats[coll]
            print(f"doc_shape: label={label} collection={coll} docs={n} top_fields={top / n:.1f} "
                  f"fields={allf / n:.1f} bytes={b / n:.1f}")


if __name__ == "__main__":
    main()
