"""query_host.py — issue 29: the host and one process's subtree as views of lineage-query, on a
real recorded session (lib.Listener, audit flock): a host shell runs a small build (three
compiler-like `sh -c` children, each with a failed probe of a missing header and a read of
a header into an output) and starts a container with `docker run`; then the real filter.
Checks: `tree host` shows the shell and the container (collapsed, with its id); `--process`
on the shell gives its subtree into the container (through the docker CLI, marked);
`--pid` / `--command` / `--depth`; `files --pid` lists what the build read and wrote,
`--failed` the probes, and the counts equal those of the raw open events of the subtree's
processes (read through `lineage-query events`); `--executed`, `--unique`; `timeline
host --pid`; `diff --container host`; an ambiguous --pid lists its processes (exit 3)."""
import json
import os
import subprocess
import tempfile
import time

from lib import FILTER, URI, IMAGE, Listener, check, db, finish
from schema import out

QUERY = os.environ.get("QUERY", "build/query/lineage-query")
DB = f"lineage_test_host_views_{os.getpid()}"
OPENS = ("open", "openat", "openat2", "creat")


def q(*args):
    return subprocess.run([QUERY, "--uri", URI, "--db", DB, "--width", "0", *args],
                          capture_output=True, text=True, timeout=120)


def jl(r):
    return [json.loads(x) for x in r.stdout.splitlines() if x.strip()]


work = tempfile.mkdtemp(prefix="lineage-hostbuild-")
os.makedirs(f"{work}/inc")
os.makedirs(f"{work}/out")
for i in range(1, 4):
    with open(f"{work}/inc/h{i}.h", "w") as f:
        f.write(f"#define H{i} {i}\n")
with open(f"{work}/build.sh", "w") as f:
    f.write(f"""cd {work}
for i in 1 2 3; do
  sh -c "cat missing/h$i.h 2>/dev/null; cat inc/h$i.h > out/$i.o"
done
docker run --rm --network none {IMAGE} sh -c 'cat /etc/hostname > /dev/null; echo built > /tmp/done'
cat out/1.o out/2.o out/3.o > out/app
""")

L = Listener(DB)
L.start()
b = subprocess.run(["sh", f"{work}/build.sh"], capture_output=True, text=True, timeout=120)
time.sleep(2)
L.stop()
check(b.returncode == 0, f"the build ran ({b.returncode}: {b.stderr[-300:]})")
f = subprocess.run([FILTER, "--uri", URI, "--db", DB, "--last", "-q"], capture_output=True,
                   text=True)
check(f.returncode == 0, f"filter ran ({f.returncode}: {f.stderr[-300:]})")

d = db(DB)
sid = d.sessions.find_one()["_id"]
P = out(d, sid, "processes")
shell = P.find_one({"execs.argv": f"{work}/build.sh"})
check(shell is not None, "the build shell is among the processes")
conts = list(out(d, sid, "containers").find({}, {"container": 1, "init": 1}))
cid = conts[0]["container"] if len(conts) == 1 else ""
check(len(conts) == 1, f"one container recorded ({len(conts)})")
skey, spid = shell["key"], shell["tgid"]

# tree host: the shell and the container (collapsed, with its id)
r = q("tree", "host")
check(r.returncode == 0 and r.stdout.startswith("host: "), f"tree host exits 0 ({r.stderr})")
lines = r.stdout.splitlines()
check(any(f" {spid} sh {work}/build.sh" in x for x in lines), "tree host shows the build shell")
check(any(f"[container {cid[:12]}" in x for x in lines),
      "tree host shows the container as a collapsed leaf with its id")
check(any("docker run" in x for x in lines) and
      any("\u21e2 [container " + cid[:12] in x and "started through" in x for x in lines),
      "the docker CLI has a line for the container it started through the daemon")
check(r.stdout.count(f"{spid} sh {work}/build.sh") == 1, "the shell is printed once")

# --process on the shell: its subtree into the container
r = q("tree", "host", "--process", skey, "--format", "json")
sub = jl(r)
keys = {x["key"] for x in sub}
check(r.returncode == 0 and sub and sub[0]["key"] == skey and sub[0]["view_depth"] == 0,
      "--process: the subtree starts at the shell")
kids = list(P.find({"parent": skey}))
check(all(k["key"] in keys for k in kids) and len(kids) >= 5,
      f"every child of the shell is in it ({len(kids)})")
incont = [x for x in sub if x.get("container") == cid]
init = [x for x in incont if x.get("entry") == "init"]
check(len(init) == 1 and init[0].get("started_by") and
      any(x["key"] == init[0]["started_by"] and "docker" in json.dumps(x.get("execs"))
          for x in sub), "the container's init is reached from the docker CLI (started_by)")
check(len(incont) >= 2, f"the container's processes are in the subtree ({len(incont)})")
check(not any(x.get("runtime_helper") for x in sub) and
      all(x["key"] not in keys for x in P.find({"execs.argv": "runc"}, {"key": 1})),
      "the daemon's and runtime's own processes are not in the shell's subtree")
t = q("tree", "host", "--pid", str(spid)).stdout
check("[container " + cid[:12] + "]" in t and "[started by" in t,
      "text subtree marks the container's processes and the CLI link")
r = q("tree", "host", "--pid", str(spid), "--depth", "1", "--format", "json")
dep = jl(r)
check(len(dep) == 1 + len(kids) and max(x["view_depth"] for x in dep) == 1,
      f"--depth 1: the shell and its children ({len(dep)})")
r = q("tree", "host", "--command", "cat inc/h", "--format", "json")
cm = jl(r)
check(r.returncode == 0 and len([x for x in cm if x["view_depth"] == 0]) == 3,
      f"--command: three subtrees, one per compiler-like child ({len(cm)})")
pids = sorted({x["tgid"] for x in sub})

# files --pid: what the build read and wrote; counts equal the raw events'
raw_ok, raw_fail = 0, 0
for p in sub:
    ev = jl(q("events", "--pid", str(p["tgid"]), "--format", "json"))
    for e in ev:
        if e.get("syscall") in OPENS:
            if e.get("success"):
                raw_ok += 1
            else:
                raw_fail += 1
r = q("files", "host", "--pid", str(spid), "--format", "json")
fl = [x for x in jl(r) if not x.get("inherited")]
check(r.returncode == 0 and fl, f"files --pid exits 0 ({r.stderr})")
paths = {x["path"] for x in fl}
for i in range(1, 4):
    check(f"{work}/inc/h{i}.h" in paths and f"{work}/out/{i}.o" in paths,
          f"files --pid lists header {i} read and output {i} written")
check(f"{work}/out/app" in paths, "files --pid lists the final output")
check(not any(x.get("failed") for x in fl), "failed opens are hidden by default on the host")
check(len(fl) == raw_ok, f"successful opens equal the raw events' ({len(fl)} vs {raw_ok})")
r = q("files", "host", "--pid", str(spid), "--failed", "--format", "json")
fa = jl(r)
check(all(x.get("failed") for x in fa) and
      all(any(x["path"] == f"{work}/missing/h{i}.h" for x in fa) for i in range(1, 4)),
      "--failed lists the three probes")
check(len(fa) == raw_fail, f"failed opens equal the raw events' ({len(fa)} vs {raw_fail})")
t = q("files", "host", "--pid", str(spid)).stdout
check(f"({raw_fail} failed opens not shown" in t, "the text says how many failures it hid")
w = jl(q("files", "host", "--pid", str(spid), "--written", "--path-prefix", work,
         "--format", "json"))
check({x["path"] for x in w} == {f"{work}/out/{i}.o" for i in (1, 2, 3)} | {f"{work}/out/app"},
      "--written --path-prefix: the outputs only")
rd = jl(q("files", "host", "--pid", str(spid), "--read", "--path-prefix", f"{work}/inc",
          "--unique", "--format", "json"))
check([(x["path"], x["opens"]) for x in rd] == [(f"{work}/inc/h{i}.h", 1) for i in (1, 2, 3)],
      f"--read --unique: each header once ({[(x['path'], x['opens']) for x in rd]})")
u = jl(q("files", "host", "--pid", str(spid), "--unique", "--format", "json"))
up = [x["path"] for x in u]
check(up == sorted(up) and len(up) == len(set(up)) and
      sum(x["opens"] for x in u) == len(fl), "--unique: sorted, distinct, counts add up")
ex = jl(q("files", "host", "--pid", str(spid), "--executed", "--format", "json"))
exes = {x["exe"] for x in ex}
check(any(e.endswith("/cat") for e in exes) and any(e.endswith("/docker") for e in exes) and
      any(x.get("container") == cid for x in ex),
      f"--executed: cat, docker and the container's programs ({sorted(exes)[:6]})")

# timeline of the subtree: the build's steps and the container's
r = q("timeline", "host", "--pid", str(spid), "--format", "json")
tl = jl(r)
tp = {x["pid"] for x in tl}
check(r.returncode == 0 and tp <= set(pids), "timeline --pid: only the subtree's processes")
check(any(x["what"] == "write-open" and x.get("path") == f"{work}/out/2.o" for x in tl) and
      any(x["what"] == "exec" and "cat /etc/hostname" in json.dumps(x.get("argv")) for x in tl),
      "timeline --pid: the build's writes and the container's exec")
r = q("timeline", "host")
check(r.returncode == 0 and r.stdout.startswith("host, "), "timeline host exits 0")

# diff with the host, and errors
r = q("diff", "last", "last", "--container", "host")
check(r.returncode == 0 and r.stdout.splitlines()[-1].startswith("0 difference(s)"),
      "diff of the host with itself: no difference")
r = q("diff", "last", "last", "--pid", str(spid))
check(r.returncode == 0 and "0 difference(s)" in r.stdout, "diff of a subtree with itself")
r = q("tree", "host", "--pid", "999999")
check(r.returncode == 3 and "no process with pid" in r.stderr, "unknown pid: exit 3")
r = q("tree", "host", "--process", "1@2", "--pid", "1")
check(r.returncode == 1, "two selectors: usage error")
# a reused pid: the filter's output without pages (read from the collection), a decoy
d.sessions.update_one({"_id": sid}, {"$unset": {"filter.pages": 1}})
decoy = dict(shell, _id=shell["_id"] + "x", key=f"{spid}@1", parent=None)
P.insert_one(decoy)
r = q("tree", "host", "--pid", str(spid))
check(r.returncode == 3 and "ambiguous" in r.stderr and skey in r.stderr and
      f"{spid}@1" in r.stderr and "start" in r.stderr,
      f"ambiguous --pid: both listed with start times, exit 3 ({r.stderr[:300]})")
d.client.drop_database(DB)
finish("query_host")
