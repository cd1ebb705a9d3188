"""listener_multicast.py — a second listener cannot take audit while one owns it and says to use
--multicast; with --multicast it records a copy of the same events beside the owner without
changing the audit configuration; the database server is never recorded."""
import os
from segments import Raw
import subprocess
import time

from lib import LISTENER, URI, Listener, audit_config, check, db, docker, finish, IMAGE

DB1 = f"lineage_test_mc_owner_{os.getpid()}"
DB2 = f"lineage_test_mc_copy_{os.getpid()}"
owner = Listener(DB1)
owner.lock_audit()  # our audit turn before reading the configuration
before = audit_config()
owner.start()
during = audit_config()

# A second unicast listener must refuse, naming the owner and --multicast.
r = subprocess.run([LISTENER, "--uri", URI, "--db", DB1 + "_x", "--spool", owner.tmp + "/spool2"],
                   capture_output=True, text=True, timeout=60)
check(r.returncode == 1, f"second unicast listener exits 1 (got {r.returncode})")
check("--multicast" in r.stderr and "owns audit" in r.stderr,
      f"it says who owns audit and suggests --multicast: {r.stderr.strip()[-200:]}")
check(audit_config() == during, "the refused listener changed nothing")

copy = Listener(DB2, "--multicast")
copy.lock = None
copy.args[copy.args.index("--spool") + 1] = owner.tmp + "/spool-mc"
# the owner holds the e2e lock; start the copy without it
copy.err = open(copy.errpath, "w")
copy.proc = subprocess.Popen(copy.args, stderr=copy.err, stdout=subprocess.DEVNULL)
deadline = time.time() + 30
while "recording" not in copy.log() and time.time() < deadline and copy.proc.poll() is None:
    time.sleep(0.1)
check("recording" in copy.log(), f"multicast listener started: {copy.log()[-300:]}")
check(audit_config() == during, "the multicast listener changed nothing")
time.sleep(0.5)

cid = docker("run", "-d", "--network", "none", IMAGE, "sh", "-c",
             "cat /etc/motd; echo x > /tmp/mc.txt; sleep 1").stdout.strip()
docker("wait", cid)
docker("rm", cid)
time.sleep(3)
copy.proc.terminate()
rc_copy = copy.proc.wait(timeout=60)
copy.err.close()
check(rc_copy == 0, f"multicast listener exits 0 (got {rc_copy})")
check(audit_config() == during, "owner's configuration intact after the copy stopped")
rc = owner.stop(keep_lock=True)
check(rc == 0, f"owner exits 0 (got {rc})")
check(audit_config() == before, "audit configuration after == before")
owner.release()

d1, d2 = db(DB1), db(DB2)
for d in (d1, d2):
    print("counters", d.name, (d.sessions.find_one() or {}).get("counters"))
s2 = d2.sessions.find_one()
check(s2 is not None and s2.get("mode") == "multicast", "copy's session says multicast")
check(s2 is not None and s2.get("rules") == [], "multicast installed no rules")
for name, d in (("owner", d1), ("copy", d2)):
    n = Raw(d).events.count_documents({"syscall": "execve", "argv": ["cat", "/etc/motd"], "container": cid})
    check(n == 1, f"{name}: the container's 'cat /etc/motd' recorded once ({n})")
    n = Raw(d).events.count_documents({"paths.name": "/tmp/mc.txt", "container": cid})
    check(n >= 1, f"{name}: the container's write of /tmp/mc.txt recorded ({n})")
# The database server (FerretDB here) is excluded and never recorded.
fpids = [int(p) for p in subprocess.run(["pgrep", "-x", "ferretdb"], capture_output=True,
                                        text=True).stdout.split()]
s1 = d1.sessions.find_one()
excl = s1.get("scope", {}).get("excluded_pids", [])
check(fpids and all(p in excl for p in fpids), f"ferretdb pids {fpids} excluded ({excl})")
n = Raw(d1).events.count_documents({"pid": {"$in": fpids}})
check(n == 0, f"no event of the database server ({n})")
if not __import__("lib").failures: d1.client.drop_database(DB1)
if not __import__("lib").failures: d2.client.drop_database(DB2)
finish("listener_multicast")
