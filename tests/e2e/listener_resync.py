"""listener_resync.py — a fork storm overflows a deliberately small proc connector buffer:
the listener counts the overruns (ENOBUFS), says so, resyncs from /proc (snapshot documents
flagged resync: true) and still exits 0 with the counters in its session; with --no-db
--jsonl, SIGHUP reopens the output file after it was moved away (logrotate)."""
import json
from segments import Raw
import os
import signal
import subprocess
import time

from lib import Listener, audit_config, check, db, finish

DB = f"lineage_test_resync_{os.getpid()}"
L = Listener(DB, "--proc-rcvbuf", "4096", "--no-write")
L.lock_audit()  # our audit turn before reading the configuration
before = audit_config()
L.start()
# A burst of short-lived processes (the test's own forks, not audited writes).
children = []
for _ in range(1500):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
# A process still alive after the storm must be in a resync snapshot.
sleeper = subprocess.Popen(["sleep", "30"])
time.sleep(1.5)
children = []
for _ in range(1500):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
time.sleep(2)
rc = L.stop(keep_lock=True)
after = audit_config()
L.release()
sleeper.kill()
log = L.log()
check(rc == 0, f"listener exited 0 ({rc})")
check(after == before, "audit configuration after == before")
check("overrun (ENOBUFS)" in log and "resyncing from /proc" in log, "overrun logged with the resync")
d = db(DB)
s = d.sessions.find_one()
c = s.get("counters", {}) if s else {}
print("counters", c)
check(c.get("proc_enobufs", 0) > 0, f"proc_enobufs counted ({c.get('proc_enobufs')})")
check(c.get("proc_resyncs", 0) == c.get("proc_enobufs", -1), "one resync per overrun")
n = Raw(d).snapshot.count_documents({"resync": True})
check(n > 0, f"resync snapshot documents stored ({n})")
check(Raw(d).snapshot.count_documents({"resync": True, "pid": sleeper.pid}) >= 1,
      f"the process born during the storm (pid {sleeper.pid}) is in a resync snapshot")
d.client.drop_database(DB)

# SIGHUP: --no-db --jsonl FILE, the file moved away, SIGHUP, a new file with the new lines.
out = os.path.join(L.tmp, "out.jsonl")
H = Listener(DB + "_hup", "--no-db", "--jsonl", out, "--no-write")
for opt in ("--uri", "--db"):  # no database at all in this mode
    i = H.args.index(opt)
    del H.args[i:i + 2]
H.start()
subprocess.run(["cat", "/etc/hostname"], stdout=subprocess.DEVNULL)
time.sleep(2.5)
os.rename(out, out + ".1")
H.proc.send_signal(signal.SIGHUP)
time.sleep(0.5)
subprocess.run(["cat", "/etc/motd-after-hup"], stderr=subprocess.DEVNULL)
time.sleep(2.5)
rc = H.stop()
check(rc == 0, f"--no-db listener exited 0 ({rc})")
check("output reopened" in H.log(), "SIGHUP logged")
old = [json.loads(x) for x in open(out + ".1")]
new = [json.loads(x) for x in open(out)]
check(len(old) > 0 and len(new) > 0, f"lines before ({len(old)}) and after ({len(new)}) the SIGHUP")
check(all("collection" in x and "_id" in x for x in old + new), "every line is a document with its collection")
hit = [x for x in new if x.get("collection") == "events" and
       any(p.get("name") == "/etc/motd-after-hup" for p in x.get("paths", []))]
check(len(hit) == 1, f"the open after SIGHUP is in the new file ({len(hit)})")
finish("listener_resync")
