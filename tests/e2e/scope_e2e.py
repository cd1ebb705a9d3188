"""scope_e2e.py — the listener's scope options (issue 19) against the real kernel, real
containers and the real database, read back with pymongo. Each case checks both sides: what
must be recorded is, what must not be is not; that the process tree of what was kept still
reaches a process of the start-up snapshot (a tree never loses its root); that the drops are
counted by reason and the scope is in the session document.

usage: scope_e2e.py kind|container|uid|command|pid|path"""
import os
from segments import Raw
import subprocess
import sys
import tempfile
import time

from lib import Listener, audit_config, check, db, docker, finish, IMAGE, LISTENER, URI

CASE = sys.argv[1] if len(sys.argv) > 1 else "kind"
TAG = f"{CASE}{os.getpid()}"
QUERY = os.environ.get("QUERY")
tmp = tempfile.mkdtemp(prefix="lineage-scope-")
os.chmod(tmp, 0o755)


def marker(name):
    """A file whose name is unique to this run; its opens are what we look for."""
    p = os.path.join(tmp, f"{name}-{TAG}")
    with open(p, "w") as f:
        f.write("x\n")
    os.chmod(p, 0o644)
    return p


FILE_CALLS = ["open", "openat", "openat2", "creat", "rename", "renameat", "renameat2", "unlink",
              "unlinkat"]


def opens(d, path):
    return Raw(d).events.count_documents({"syscall": {"$in": ["open", "openat"]},
                                     "$or": [{"paths.name": path}, {"paths.abs": path}]})


def execs(d, argv, **q):
    return Raw(d).events.count_documents({"syscall": "execve", "argv": argv, **q})


def session(d):
    s = list(d.sessions.find())
    check(len(s) == 1, f"one sessions document ({len(s)})")
    return s[0] if s else {}


def ancestry_ok(d, pid, what):
    """pid's fork chain in proc_events reaches a process of the snapshot."""
    snap = {x["tgid"] for x in Raw(d).snapshot.find({}, {"tgid": 1})}
    chain = [pid]
    for _ in range(64):
        if pid in snap:
            check(True, f"{what}: ancestry {chain} reaches the snapshot")
            return True
        f = Raw(d).proc_events.find_one({"what": "fork", "child_tgid": pid, "thread": False})
        if not f:
            break
        pid = f["parent_tgid"]
        chain.append(pid)
    check(False, f"{what}: ancestry {chain} does not reach the snapshot")
    return False


def stop(L, before=None):
    time.sleep(3)  # assembler timeout, writer batches
    rc = L.stop(keep_lock=True)
    if before is not None:
        check(audit_config() == before, "audit configuration after == before")
    L.release()
    print(L.log()[-2500:])
    return rc


def common(d, s, summary_has, expect_drops=True):
    sc = s.get("scope", {})
    check(sc.get("whole_host") is False, "session scope.whole_host is false")
    check(summary_has in sc.get("summary", ""),
          f"session scope.summary '{sc.get('summary')}' has '{summary_has}'")
    c = s.get("counters", {})
    check("scope_dropped" in c, "session counters carry scope_dropped")
    if expect_drops:
        check(c.get("scope_dropped_total", 0) > 0, f"drops counted ({c.get('scope_dropped_total')})")
    return c.get("scope_dropped", {})


def container_run(name, script):
    cid = docker("run", "-d", "--network", "none", "--name", name, IMAGE, "sh", "-c",
                 script).stdout.strip()
    docker("wait", cid)
    docker("rm", cid)
    return cid


def container_init_pid(d, cid, argv0="sh"):
    e = Raw(d).events.find_one({"syscall": "execve", "container": cid, "argv.0": argv0},
                          sort=[("ts", 1)])
    return e["pid"] if e else None


def case_kind():
    hostf = marker("host")
    # --scope containers: container processes and the runtime's tree; no host noise
    dbn = f"lineage_test_scope_kind_{os.getpid()}"
    L = Listener(dbn, "--no-write", "--scope", "containers")
    L.lock_audit()
    before = audit_config()
    L.start()
    subprocess.run(["cat", hostf], stdout=subprocess.DEVNULL, check=True)
    cid = container_run(f"scope-kind-{TAG}", "cat /etc/hostname; cat /etc/passwd > /dev/null")
    subprocess.run(["cat", hostf], stdout=subprocess.DEVNULL, check=True)
    rc = stop(L, before)
    check(rc == 0, f"listener exit 0 ({rc})")
    d = db(dbn)
    s = session(d)
    dropped = common(d, s, "containers")
    check(s["scope"].get("kind") == "containers", "scope.kind containers")
    check("| scope containers dropped" in L.log(), "the stats line carries the scope's drops")
    check(dropped.get("audit", {}).get("kind", 0) > 0, f"drops by kind counted ({dropped})")
    check(execs(d, ["cat", "/etc/hostname"], container=cid) == 1, "the container's execve recorded")
    check(Raw(d).events.count_documents({"container": cid, "paths.name": "/etc/passwd"}) >= 1,
          "the container's open of /etc/passwd recorded")
    check(opens(d, hostf) == 0, "the host's opens of the marker are not recorded")
    check(Raw(d).events.count_documents({"syscall": "execve", "argv": ["cat", hostf]}) == 0,
          "the host's execve of cat is not recorded")
    check(Raw(d).events.count_documents({"container": None, "comm": "python3"}) == 0,
          "no audit event of the test (a host process)")
    pid = container_init_pid(d, cid)
    check(pid is not None, "container init's execve found")
    if pid:
        ancestry_ok(d, pid, "container init")
    runtime = Raw(d).events.count_documents({"container": None, "comm": {"$regex": "^(runc|containerd-shim)"}})
    check(runtime > 0, f"the runtime's own events (shim, runc) are kept ({runtime})")
    if QUERY:
        out = subprocess.run([QUERY, "--uri", URI, "--db", dbn, "sessions"], capture_output=True,
                             text=True).stdout
        print(out)
        check("SCOPE" in out and "containers" in out, "lineage-query sessions shows the scope")
    filt = subprocess.run([os.environ.get("FILTER", "build/filter/lineage-filter"), "--uri", URI,
                           "--db", dbn, "--last", "--quiet"], capture_output=True, text=True)
    print(filt.stdout)
    check("scope: containers" in filt.stdout, "lineage-filter's summary shows the scope")
    line = [x for x in filt.stdout.splitlines() if cid[:12] in x]
    check(line and "init unknown" not in line[0], f"the filter rebuilds the container with its init ({line})")
    d.client.drop_database(dbn)

    # --scope host: the host's events, none of a container's
    dbn = f"lineage_test_scope_host_{os.getpid()}"
    L = Listener(dbn, "--no-write", "--scope", "host")
    L.start()
    subprocess.run(["cat", hostf], stdout=subprocess.DEVNULL, check=True)
    cid = container_run(f"scope-host-{TAG}", "cat /etc/hostname")
    rc = stop(L)
    d = db(dbn)
    s = session(d)
    common(d, s, "host")
    check(opens(d, hostf) >= 1, "--scope host: the host's open of the marker recorded")
    check(Raw(d).events.count_documents({"container": cid}) == 0, "--scope host: no audit event of the container")
    check(Raw(d).proc_events.count_documents({"container": cid}) == 0, "--scope host: no proc event of the container")
    check(execs(d, ["cat", "/etc/hostname"]) == 0, "--scope host: the container's execve is not recorded")
    d.client.drop_database(dbn)


def case_container():
    name = f"scope-ct-{TAG}"
    dbn = f"lineage_test_scope_ct_{os.getpid()}"
    L = Listener(dbn, "--no-write", "--container", name)
    L.start()
    hostf = marker("host")
    subprocess.run(["cat", hostf], stdout=subprocess.DEVNULL, check=True)
    # started after the listener, selected by its name
    other = container_run(f"scope-other-{TAG}", "cat /etc/group > /dev/null")
    cid = container_run(name, "cat /etc/hostname; cat /etc/passwd > /dev/null")
    rc = stop(L)
    check(rc == 0, f"listener exit 0 ({rc})")
    d = db(dbn)
    s = session(d)
    dropped = common(d, s, f"container={name}")
    check(s["scope"].get("containers") == [name], "scope.containers has the name")
    check(dropped.get("audit", {}).get("container", 0) > 0, f"drops by container counted ({dropped})")
    check(execs(d, ["cat", "/etc/hostname"], container=cid) == 1, "the named container's execve recorded")
    check(Raw(d).events.count_documents({"container": cid}) > 0, "the named container's events are stamped")
    check(Raw(d).events.count_documents({"container": other}) == 0, "no event of the other container")
    check(Raw(d).proc_events.count_documents({"container": other}) == 0, "no proc event of the other container")
    check(opens(d, hostf) == 0, "no host event")
    pid = container_init_pid(d, cid)
    check(pid is not None, "the container's init execve found")
    if pid:
        ancestry_ok(d, pid, "named container's init")
    d.client.drop_database(dbn)


def as_user(uid, path):
    subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True, user=uid)


def case_uid():
    userf, rootf = marker("user"), marker("root")
    dbn = f"lineage_test_scope_uid_{os.getpid()}"
    L = Listener(dbn, "--no-write", "--uid", "nobody")
    L.start()
    as_user(65534, userf)
    subprocess.run(["cat", rootf], stdout=subprocess.DEVNULL, check=True)
    rc = stop(L)
    check(rc == 0, f"listener exit 0 ({rc})")
    d = db(dbn)
    s = session(d)
    common(d, s, "uid=65534")
    check(any("uid=65534" in r for r in s.get("rules", [])), "the uid is in the kernel's rule")
    check(opens(d, userf) >= 1, "--uid nobody: nobody's open recorded")
    check(opens(d, rootf) == 0, "--uid nobody: root's open not recorded")
    check(Raw(d).events.count_documents({"uid": {"$ne": 65534}}) == 0, "no audit event of another uid")
    e = Raw(d).events.find_one({"syscall": "execve", "argv": ["cat", userf]})
    check(e is not None, "nobody's execve recorded")
    if e:
        ancestry_ok(d, e["pid"], "nobody's cat")
    d.client.drop_database(dbn)

    dbn = f"lineage_test_scope_xuid_{os.getpid()}"
    L = Listener(dbn, "--no-write", "--exclude-uid", "65534")
    L.start()
    as_user(65534, userf)
    subprocess.run(["cat", rootf], stdout=subprocess.DEVNULL, check=True)
    rc = stop(L)
    d = db(dbn)
    s = session(d)
    common(d, s, "exclude-uid=65534")
    check(any("never" in r and "uid=65534" in r for r in s.get("rules", [])),
          "the excluded uid is a kernel never-rule")
    check(opens(d, userf) == 0, "--exclude-uid nobody: nobody's open not recorded")
    check(opens(d, rootf) >= 1, "--exclude-uid nobody: root's open recorded")
    check(Raw(d).events.count_documents({"uid": 65534}) == 0, "no audit event of uid 65534")
    d.client.drop_database(dbn)


TREE_SCRIPT = ("cat {m1}; (sh -c 'sleep 0.3; cat {m2}' &); exit {code}")


def case_command():
    m1, m2, m3 = marker("child"), marker("grandchild"), marker("unrelated")
    dbn = f"lineage_test_scope_cmd_{os.getpid()}"
    nice = os.path.join(tmp, f"nice-{TAG}")
    # the command runs at our nice value, not at the listener's --priority-boost 2
    script = (f"cut -d' ' -f19 /proc/$$/stat > {nice}; sleep 2; " +
              TREE_SCRIPT.format(m1=m1, m2=m2, code=7))
    L = Listener(dbn, "--no-write", "--priority-boost", "2", "--command", "--", "sh", "-c", script)
    L.start()
    subprocess.run(["cat", m3], stdout=subprocess.DEVNULL, check=True)  # not a descendant
    rc = L.proc.wait(timeout=60)
    L.err.close()
    L.release()
    print(L.log()[-2500:])
    check(rc == 7, f"the listener exits with the command's status 7 ({rc})")
    check("the command exited" in L.log(), "the listener says it stopped with the command")
    got = open(nice).read().strip() if os.path.exists(nice) else None
    check(got == str(os.getpriority(os.PRIO_PROCESS, 0)),
          f"the command runs at the nice value we run at ({got})")
    d = db(dbn)
    s = session(d)
    common(d, s, "command=sh")
    check(s["scope"].get("command", [])[:2] == ["sh", "-c"], "scope.command has the argv")
    check(opens(d, m1) >= 1, "the command's child's open recorded")
    check(opens(d, m2) >= 1, "the double-forked (reparented) grandchild's open recorded")
    check(opens(d, m3) == 0, "an unrelated process's open not recorded")
    check(Raw(d).events.count_documents({"comm": "python3"}) == 0, "no event of the test itself")
    g = Raw(d).events.find_one({"syscall": "execve", "argv": ["cat", m2]})
    if g:
        ancestry_ok(d, g["pid"], "reparented grandchild")
    check(s.get("ended_at") is not None, "session closed")
    d.client.drop_database(dbn)


def case_pid():
    m1, m2, m3 = marker("child"), marker("grandchild"), marker("unrelated")
    go = os.path.join(tmp, f"go-{TAG}")
    script = (f"while [ ! -e {go} ]; do sleep 0.1; done; " +
              TREE_SCRIPT.format(m1=m1, m2=m2, code=0) + "")
    target = subprocess.Popen(["sh", "-c", script])
    dbn = f"lineage_test_scope_pid_{os.getpid()}"
    L = Listener(dbn, "--no-write", "--pid", str(target.pid))
    L.start()
    subprocess.run(["cat", m3], stdout=subprocess.DEVNULL, check=True)
    open(go, "w").close()
    target.wait(timeout=30)
    rc = L.proc.wait(timeout=60)  # stops by itself when the process is gone
    L.err.close()
    L.release()
    print(L.log()[-2500:])
    check(rc == 0, f"the listener stops by itself with 0 when --pid exits ({rc})")
    d = db(dbn)
    s = session(d)
    common(d, s, f"pid={target.pid}")
    check(opens(d, m1) >= 1, "the process's child's open recorded")
    check(opens(d, m2) >= 1, "the reparented grandchild's open recorded")
    check(opens(d, m3) == 0, "an unrelated process's open not recorded")
    check(Raw(d).events.count_documents({"pid": {"$ne": target.pid}, "comm": "python3"}) == 0,
          "no event of the test itself")
    check(Raw(d).proc_events.count_documents({"what": "exit", "tgid": target.pid}) == 1,
          "the process's exit recorded")
    d.client.drop_database(dbn)


def case_path():
    xdir = os.path.join(tmp, "excluded")
    kdir = os.path.join(tmp, "kept")
    os.makedirs(xdir)
    os.makedirs(kdir)
    xf, kf = os.path.join(xdir, "a"), os.path.join(kdir, "b")
    for p in (xf, kf):
        with open(p, "w") as f:
            f.write("x\n")
    # exclusions: a host directory (kernel dir= never-rule) and /proc (a container's /proc
    # is another mount: userspace drops it)
    dbn = f"lineage_test_scope_xpath_{os.getpid()}"
    L = Listener(dbn, "--no-write", "--exclude-path-prefix", xdir, "--exclude-path-prefix", "/proc")
    L.lock_audit()
    before = audit_config()
    L.start()
    subprocess.run(["cat", xf, kf, "/proc/self/status"], stdout=subprocess.DEVNULL, check=True)
    # the shell outlives cat: a cat gone before the listener reads its /proc is stamped from
    # its parent (under ASan the listener is slow enough for both to be gone otherwise, and
    # this case is about paths, not about that race: see notes.md, enrich's gone counter)
    cid = container_run(f"scope-path-{TAG}",
                        "cat /proc/self/status /etc/hostname > /dev/null; sleep 1")
    rc = stop(L, before)
    check(rc == 0, f"listener exit 0 ({rc})")
    d = db(dbn)
    s = session(d)
    dropped = common(d, s, f"exclude-path={xdir}")
    check(any("never" in r and f"dir={xdir}" in r for r in s.get("rules", [])),
          "the excluded directory is a kernel dir= never-rule")
    check(xdir in s["scope"].get("kernel", {}).get("exclude_dirs", []), "scope.kernel.exclude_dirs")
    check(opens(d, xf) == 0, "no open under the excluded directory")
    check(opens(d, kf) >= 1, "the open elsewhere recorded")
    procs = list(Raw(d).events.find({"syscall": {"$in": FILE_CALLS}, "paths.name": {"$regex": "^/proc/"}},
                               {"syscall": 1, "paths.name": 1, "comm": 1}))[:5]
    check(not procs, f"no file event under /proc, host or container ({procs})")
    check(Raw(d).events.count_documents({"syscall": "execve", "paths.name": "/proc/self/exe"}) >= 1,
          "an execve of /proc/self/exe (runc) is kept: not a file event")
    check(Raw(d).events.count_documents({"container": cid, "paths.name": "/etc/hostname"}) >= 1,
          "the container's open of /etc/hostname recorded")
    check(dropped.get("audit", {}).get("path", 0) > 0, f"drops by path counted ({dropped})")
    check(execs(d, ["cat", xf, kf, "/proc/self/status"]) == 1, "the execve itself is kept")
    d.client.drop_database(dbn)

    # inclusion, host scope: the kernel sends file events only under the directory
    dbn = f"lineage_test_scope_path_{os.getpid()}"
    L = Listener(dbn, "--no-write", "--scope", "host", "--path-prefix", kdir)
    L.start()
    subprocess.run(["cat", xf, kf, "/etc/hostname"], stdout=subprocess.DEVNULL, check=True)
    rc = stop(L)
    d = db(dbn)
    s = session(d)
    common(d, s, f"path={kdir}", expect_drops=False)
    check(any(f"dir={kdir}" in r and "always" in r for r in s.get("rules", [])),
          "the prefix is a kernel dir= rule")
    check(opens(d, kf) >= 1, "--path-prefix: the open under the prefix recorded")
    check(opens(d, xf) == 0, "--path-prefix: an open elsewhere not recorded")
    check(opens(d, "/etc/hostname") == 0, "--path-prefix: /etc/hostname not recorded")
    check(execs(d, ["cat", xf, kf, "/etc/hostname"]) == 1, "--path-prefix: the execve is kept")
    d.client.drop_database(dbn)

    # inclusion, all scope: userspace chooses (container paths are not host paths)
    dbn = f"lineage_test_scope_upath_{os.getpid()}"
    L = Listener(dbn, "--no-write", "--path-prefix", "/etc/hostname")
    L.start()
    subprocess.run(["cat", xf, "/etc/hostname"], stdout=subprocess.DEVNULL, check=True)
    cid = container_run(f"scope-upath-{TAG}", "cat /etc/hostname /etc/passwd > /dev/null")
    rc = stop(L)
    d = db(dbn)
    s = session(d)
    common(d, s, "path=/etc/hostname")
    check(not any("dir=" in r for r in s.get("rules", [])), "no dir= rule: userspace filters")
    check(Raw(d).events.count_documents({"container": cid, "paths.name": "/etc/hostname"}) >= 1,
          "the container's /etc/hostname recorded")
    check(Raw(d).events.count_documents({"container": cid, "paths.name": "/etc/passwd"}) == 0,
          "the container's /etc/passwd not recorded")
    check(opens(d, xf) == 0, "the host's open elsewhere not recorded")
    d.client.drop_database(dbn)


{"kind": case_kind, "container": case_container, "uid": case_uid, "command": case_command,
 "pid": case_pid, "path": case_path}[CASE]()
finish(f"scope_e2e {CASE}")
