"""query_search.py — issue 20 end to end: the real listener (lib.Listener, audit flock) records
two real containers and the host; lineage-query answers from that session:
  - live: `timeline --follow` and `search --follow` (started before a `docker exec`) print the
    exec's file write within ~2 s, with container and process; Ctrl-C ends them with status 0;
  - unfiltered: `search` on the session says it has not been filtered and prints the exact
    lineage-filter command; `sessions` says FILTERED no; `--filter` runs it;
  - the writer of a given file and its ancestry chain (json: chain root first, container's
    init at the root), checked against the filter's files collection read with pymongo;
  - every process that exec'd `wc` across both containers and the host, each with its chain
    (host: up to pid 1);
  - `events --pid N --syscall execve` (raw events, no filter needed);
  - piped output is never cut to 80 columns;
  - the filter's search index gives the same answers as the documents (and a damaged one or
    none: the documents are read instead).
Prints the follow latency (event time → line read) it measured."""
import json
from segments import Raw
import os
import shlex
import signal
import subprocess
import threading
import time

from lib import FILTER, IMAGE, URI, Listener, check, db, docker, finish
from schema import out

QUERY = os.environ.get("QUERY", "build/query/lineage-query")
DB = f"lineage_test_query_search_{os.getpid()}"


def q(*args, timeout=120):
    return subprocess.run([QUERY, "--uri", URI, "--db", DB, *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "LINEAGE_FILTER": FILTER})


class Follow:
    """lineage-query ... --follow in the background; lines are timestamped as they arrive."""

    def __init__(self, *args):
        self.p = subprocess.Popen([QUERY, "--uri", URI, "--db", DB, *args],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append((time.time(), line.rstrip("\n")))

    def wait_for(self, text, timeout, also=None):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for t, line in self.lines:
                if text in line and (also is None or also in line):
                    return t, line
            time.sleep(0.05)
        return None, None

    def stop(self):
        self.p.send_signal(signal.SIGINT)
        rc = self.p.wait(timeout=20)
        self.t.join(timeout=5)
        return rc, self.p.stderr.read()


L = Listener(DB)


def _cleanup():
    # a failure mid-way must not leave the listener owning audit
    if L.proc is not None and L.proc.poll() is None:
        L.stop()


import atexit
atexit.register(_cleanup)
L.start()
# container A: init sh → a child sh that writes the file; then wc; then stays up for the exec
script_a = ("mkdir -p /work; sh -c 'echo secret > /work/secret.txt'; sleep 0.3; "
            "wc -l /etc/passwd; sleep 40")
cid_a = docker("run", "-d", "--network", "none", IMAGE, "sh", "-c", script_a).stdout.strip()
cid_b = docker("run", "-d", "--network", "none", IMAGE, "sh", "-c",
               "sleep 0.5; wc -l /etc/group; sleep 1").stdout.strip()
host = subprocess.run(["sh", "-c", "wc -l /etc/hostname"], capture_output=True)
time.sleep(2)

# ---- live: both followers started before the docker exec ----
tl = Follow("timeline", "--follow", cid_a[:12], "--format", "json")
sf = Follow("search", "--follow", "--container", cid_a[:12], "--path", "/tmp/followed.txt")
time.sleep(3)  # they find the end of the session (seq walk) before the exec
t_exec = time.time()
docker("exec", cid_a, "sh", "-c", "echo hi > /tmp/followed.txt")
# when the listener's document reached the store (pymongo): the follow's own latency is
# measured from there; event time -> store is the listener's (it queues under load)
d = db(DB)
sid = d.sessions.find_one()["_id"]
t_store = None
deadline = time.time() + 120
while time.time() < deadline and t_store is None:
    if Raw(d).events.find_one({"session": sid, "container": cid_a, "paths.name": "/tmp/followed.txt"}):
        t_store = time.time()
    else:
        time.sleep(0.05)
check(t_store is not None, "the listener stored the docker exec's open")
t_line, line = tl.wait_for('"write-open"', 60, also="/tmp/followed.txt")
s_line, sline = sf.wait_for("/tmp/followed.txt", 60)
check(t_line is not None, "timeline --follow printed the docker exec's write")
check(s_line is not None, f"search --follow printed the docker exec's write ({sline})")
if t_line is not None:
    ev = json.loads(line)
    ev_ts = ev["ts"]["$date"]
    import datetime
    ev_s = datetime.datetime.fromisoformat(ev_ts.replace("Z", "+00:00")).timestamp()
    lat_event = t_line - ev_s
    lat_follow = t_line - t_store if t_store else 99
    print(f"follow latency: stored -> line {lat_follow:.3f} s; event ts -> stored "
          f"{(t_store or 0) - ev_s:.3f} s (listener); docker exec start -> line {t_line - t_exec:.3f} s")
    check(lat_follow < 2.0, f"timeline --follow line within 2 s of the document's arrival "
          f"({lat_follow:.3f} s)")
    check(ev.get("container") == cid_a and ev.get("what") == "write-open",
          f"the line has the container and what happened ({ev.get('container')}, {ev.get('what')})")
    check("echo hi" in (ev.get("process") or ""),
          f"the line names the process ({ev.get('process')})")
if s_line is not None:
    print("search --follow:", sline)
    check(cid_a[:12] in sline, "search --follow shows the container")
rc, err = tl.stop()
check(rc == 0 and "stopped after seq" in err, f"Ctrl-C ends timeline --follow cleanly ({rc}: {err[-200:]})")
rc, err = sf.stop()
check(rc == 0, f"Ctrl-C ends search --follow cleanly ({rc})")
out_lines = [x for _, x in sf.lines]
check(not any("containerd-shim" in x for x in out_lines),
      f"a container's chain stops inside the container ({out_lines[-3:]})")

docker("wait", cid_b)
docker("kill", cid_a, check=False)
docker("rm", cid_a, cid_b)
time.sleep(1.5)
L.stop()
hexid = str(sid)

# ---- unfiltered session: guidance ----
r = q("sessions")
row = [x for x in r.stdout.splitlines() if x.startswith(hexid)]
check(row and row[0].rstrip().endswith(" no"), f"sessions: FILTERED no ({row})")
r = q("search", "--path", "/work/secret.txt")
want_cmd = f"lineage-filter --uri '{URI}' --db {DB} --session {hexid}"
print(r.stderr)
check(r.returncode == 3 and "has not been filtered" in r.stderr and want_cmd in r.stderr,
      f"unfiltered: exit 3, says so and prints the exact command ({r.returncode})")
check(out(d, sid, "files") is None, "nothing was filtered by that")
# the printed command is one that runs: shell-split it, run it with the built filter
cmd = shlex.split(want_cmd)
cmd[0] = FILTER
f = subprocess.run(cmd + ["-q"], capture_output=True, text=True)
check(f.returncode == 0, f"the printed command runs ({f.returncode}: {f.stderr[-300:]})")
r = q("sessions")
row = [x for x in r.stdout.splitlines() if x.startswith(hexid)]
check(row and not row[0].rstrip().endswith(" no"), f"sessions: FILTERED has a time ({row})")

# ---- the writer of a given file and its chain ----
r = q("search", "--path", "/work/secret.txt", "--written", "--format", "json")
hits = [json.loads(x) for x in r.stdout.splitlines()]
print(r.stdout[:1500])
check(r.returncode == 0 and len(hits) == 1, f"one writer of /work/secret.txt ({len(hits)})")
files = out(d, sid, "files")
want = list(files.find({"path": "/work/secret.txt", "write": True}))
if hits and want:
    h = hits[0]
    check(h["container"] == cid_a, "the writer is in container A")
    check(h["process"]["key"] == want[0]["process"],
          "the writer is the process the files collection names (pymongo)")
    chain = h["chain"]
    check(len(chain) >= 2 and chain[-1]["key"] == h["process"]["key"],
          f"the chain ends with the writer ({[c['pid'] for c in chain]})")
    check(chain[0].get("entry") == "init" and "mkdir -p /work" in chain[0]["label"],
          f"the chain starts at the container's init ({chain[0].get('label')})")
    check("echo secret > /work/secret.txt" in h["process"]["label"],
          f"the writer is the child sh ({h['process']['label']})")
    procs = out(d, sid, "processes")
    w = procs.find_one({"key": h["process"]["key"]})
    check(w and w.get("parent") == chain[-2]["key"], "its parent in the chain is its recorded parent")
r = q("search", "--path", "/work/secret.txt", "--written")
print(r.stdout)
tl_ = r.stdout.splitlines()
check(len(tl_) >= 3 and "[init]" in r.stdout and "\\_" in r.stdout,
      "text: the hit, then the forest from [init] down")

# ---- every process that exec'd wc: two containers and the host ----
r = q("search", "--exe", "wc", "--format", "json")
hits = [json.loads(x) for x in r.stdout.splitlines()]
conts = {h["container"] for h in hits}
print("wc hits:", [(h["container"] and h["container"][:12], h["process"]["label"]) for h in hits])
check(cid_a in conts and cid_b in conts and None in conts,
      f"wc found in container A, container B and on the host ({len(hits)} hits)")
for h in hits:
    c = h["chain"]
    if h["container"]:
        check(c and c[0].get("entry") in ("init", "exec"),
              f"{h['container'][:12]}: chain up to the container's init ({c[0].get('label')})")
    elif "/etc/hostname" in h["process"]["label"]:
        check(c and c[0]["pid"] == 1, f"host: chain up to pid 1 ({[x['pid'] for x in c]})")
r = q("search", "--exe", "wc")
check(r.returncode == 0 and any(len(x) > 80 for x in r.stdout.splitlines()),
      "piped text output is not cut to 80 columns")
r = q("search", "--exe", "wc", "--container", "host", "--format", "json")
check(all(json.loads(x)["container"] is None for x in r.stdout.splitlines()) and r.stdout,
      "--container host keeps host hits only")

# ---- the filter's search index: the same answers as the documents themselves ----
sidx = out(d, sid, "search")
check(sidx is not None and sidx.count_documents({"what": "paths"}) >= 1
      and sidx.count_documents({"what": "procs"}) >= 1,
      "the filter wrote a search index (paths and procs parts)")
asks = [("search", "--path-prefix", "/work", "--format", "json"),
        ("search", "--path-glob", "/work/*.txt", "--written", "--format", "json"),
        ("search", "--exe", "wc", "--format", "json"),
        ("search", "--argv", "/etc/hostname", "--format", "json"),
        ("search", "--path", "/work/secret.txt", "--format", "json"),
        ("search", "--exe", "wc", "--uid", "0", "--format", "json")]
with_idx = [q(*a_) for a_ in asks]
check(all(r.returncode == 0 and r.stdout for r in with_idx),
      f"index searches answer ({[r.returncode for r in with_idx]})")
check(any("/work/secret.txt" in json.loads(x)["file"]["path"]
          for x in with_idx[0].stdout.splitlines()), "--path-prefix /work finds secret.txt")
sdoc = d.sessions.find_one({"_id": sid})
idx_name = sdoc["filter"]["search"]
# a damaged part: the search says so and reads the documents instead, same answers
part = sidx.find_one({"what": "procs"})
sidx.update_one({"_id": part["_id"]}, {"$set": {"data": b"not\x00an index"}})
damaged = [q(*a_) for a_ in asks]
check(any("does not decode" in r.stderr for r in damaged), "a damaged index is reported")
check([r.stdout for r in damaged] == [r.stdout for r in with_idx],
      "a damaged index: the same answers from the documents")
# a session filtered before the index existed (no filter.search): the same answers
d.sessions.update_one({"_id": sid}, {"$unset": {"filter.search": ""}})
without = [q(*a_) for a_ in asks]
for a_, r1, r2 in zip(asks, with_idx, without):
    check(r2.returncode == 0 and r1.stdout == r2.stdout,
          f"{' '.join(a_[1:3])}: the index answers as the documents do "
          f"({len(r1.stdout.splitlines())} vs {len(r2.stdout.splitlines())} lines)")
d.sessions.update_one({"_id": sid}, {"$set": {"filter.search": idx_name}})

# ---- raw events of one process ----
wc_b = [h for h in hits if h["container"] == cid_b]
if wc_b:
    pid = wc_b[0]["process"]["pid"]
    r = q("events", "--pid", str(pid), "--syscall", "execve")
    print(r.stdout)
    ev_lines = r.stdout.splitlines()[2:]
    check(r.returncode == 0 and len(ev_lines) == 1 and "wc -l /etc/group" in ev_lines[0]
          and cid_b[:12] in ev_lines[0], f"events --pid --syscall: the execve of wc in B")
    r = q("events", "--pid", str(pid), "--format", "json")
    evs = [json.loads(x) for x in r.stdout.splitlines()]
    check(evs and all(e["pid"] == pid for e in evs), "events json: the stored documents of that pid")
r = q("events", "--since", "-1s", "--format", "json")
check(r.returncode == 0 and r.stdout == "", "events --since -1s: nothing (recorded earlier)")

d.client.drop_database(DB)
finish("query_search")
