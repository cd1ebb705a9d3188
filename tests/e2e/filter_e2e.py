"""filter_e2e.py — issue 6 end to end: the real listener records a real container running a
known script and a `docker exec` into it; the real lineage-filter rebuilds the session; the
derived documents are checked in MongoDB against what the script and `docker inspect` say.

Container script (the init is `sh -c SCRIPT`, State.Pid):
    sh -c "sleep 1 & wait"           a child sh whose own child is sleep 1
    echo data > /tmp/out.txt         builtin: the init itself opens for writing
    cat /etc/motd                    a child reads
    echo "a b" > "/tmp/sp ace.txt"   builtin: a name with a space, written by the init
    echo ready; sleep 3; echo done   a child sleep; the last command is a builtin so that
                                     busybox sh does not exec it in place
then `docker exec C sh -c 'ls /etc > /dev/null; cat /tmp/out.txt'` while the init sleeps.
busybox sh execs the last command of `sh -c` in place: whether it does is measured before
the listener starts (a throwaway container compares $$ with cat's own pid in /proc), so the
exec'd process is expected either with a child cat or with cat as its own second exec.

Expected values come from this script, from /proc of the probe and from `docker inspect`,
never from the filter's output. Debugging aids: FILTER_E2E_KEEP=1 keeps the database and
writes the facts to /tmp/filter_e2e_facts.json; FILTER_E2E_REPLAY=<that file> skips the
recording and re-runs the filter and the checks on the kept database."""
import json
import os
import subprocess
import sys
import time

from lib import FILTER, IMAGE, Listener, check, db, docker, finish
from schema import out, out_all

SCRIPT = ('sh -c "sleep 1 & wait"; echo data > /tmp/out.txt; cat /etc/motd; '
          'echo "a b" > "/tmp/sp ace.txt"; echo ready; sleep 3; echo done')
EXEC_SCRIPT = 'ls /etc > /dev/null; cat /tmp/out.txt'


def probe():
    """What busybox does, measured outside the recording: the image's sh binary, and
    whether `sh -c 'A; B'` runs B in place (same pid) or in a child."""
    out = docker("run", "--rm", "--network", "none", IMAGE, "sh", "-c",
                 'readlink /proc/self/exe; sh -c "echo \\$\\$; cat /proc/self/stat"').stdout
    lines = out.split("\n")
    exe = lines[0].strip()
    shpid = int(lines[1])
    catpid = int(lines[2].split()[0])
    return {"exe": exe, "last_in_place": shpid == catpid}


def record(dbname):
    facts = {"db": dbname, **probe()}
    L = Listener(dbname)
    L.start()
    try:
        cid = docker("run", "-d", "--network", "none", IMAGE, "sh", "-c", SCRIPT).stdout.strip()
        deadline = time.time() + 30
        while "ready" not in docker("logs", cid).stdout and time.time() < deadline:
            time.sleep(0.1)
        ins = json.loads(docker("inspect", cid).stdout)[0]
        ex = docker("exec", cid, "sh", "-c", EXEC_SCRIPT)
        facts["exec_stdout"] = ex.stdout
        docker("wait", cid)
        facts["logs"] = docker("logs", cid).stdout
        docker("rm", "-f", cid)
        time.sleep(3)  # assembler timeout and the writer's last batch
    finally:
        rc = L.stop()
    facts.update(cid=ins["Id"], pid=ins["State"]["Pid"], name=ins["Name"].lstrip("/"),
                 image=ins["Config"]["Image"], image_id=ins["Image"],
                 rootfs=ins["GraphDriver"]["Data"]["MergedDir"], listener_rc=rc)
    return facts


def run_filter(dbname):
    p = subprocess.run([FILTER, "--db", dbname, "--last"], capture_output=True, text=True,
                       timeout=120)
    print(p.stdout)
    if p.stderr:
        print(p.stderr, file=sys.stderr)
    return p.returncode


def snapshot_output(d):
    """Counts and keys of the derived collections, to compare two runs."""
    def all_of(kind, key):
        return sorted(x[key] for _, c in out_all(d, kind) for x in c.find({}, {key: 1}))
    return {
        "processes": all_of("processes", "key"),
        "containers": all_of("containers", "container"),
        "files": sorted(str(x) for x in all_of("files", "_id")),
    }


def argv_of(p):
    return p["execs"][-1]["argv"] if p.get("execs") else None


def checks(f):
    d = db(f["db"])
    cid, rootfs, exe = f["cid"], f["rootfs"], f["exe"]
    check(f["listener_rc"] == 0, f"listener exited 0 ({f['listener_rc']})")
    check("done" in f["logs"] and "ready" in f["logs"], "the container script ran to its end")
    check(f["exec_stdout"] == "data\n", f"docker exec read /tmp/out.txt ({f['exec_stdout']!r})")
    rc = run_filter(f["db"])
    check(rc == 0, f"lineage-filter exits 0 ({rc})")
    sess = d.sessions.find_one()
    sid = sess["_id"]

    # --- container -----------------------------------------------------------------------
    conts = list(out(d, sid, "containers").find({"session": sid, "container": cid}))
    check(len(conts) == 1, f"one containers doc with docker's full id {cid[:12]} ({len(conts)})")
    if not conts:
        return
    c = conts[0]
    check(c.get("rootfs") == rootfs, f"rootfs == MergedDir {rootfs} ({c.get('rootfs')})")
    check(c.get("rootfs_source") in ("chdir+pivot_root", "chdir-before-pivot_root"),
          f"rootfs from the recorded pivot_root ({c.get('rootfs_source')})")
    # the container was removed before the filter ran: docker's config.v2.json is gone, but
    # the listener recorded name and image when it first saw the container (issue 17)
    check(c.get("name") == f["name"] and c.get("name_source") == "listener",
          f"removed container: name {f['name']} from the listener ({c.get('name')}, "
          f"{c.get('name_source')})")
    check(c.get("image") == f["image"] and c.get("image_source") == "listener",
          f"removed container: image {f['image']} from the listener ({c.get('image')}, "
          f"{c.get('image_source')})")
    check(c.get("image_id") == f["image_id"] and c.get("runtime") == "docker",
          f"image id {f['image_id'][:19]} and runtime docker ({c.get('image_id')}, "
          f"{c.get('runtime')})")

    procs = list(out(d, sid, "processes").find({"session": sid}))
    keys = [p["key"] for p in procs]
    check(len(keys) == len(set(keys)), "no process keyed twice")
    byk = {p["key"]: p for p in procs}
    mine = [p for p in procs if p.get("container") == cid and not p.get("runtime_helper")]

    # --- init --------------------------------------------------------------------------------
    init = byk.get(c.get("init"))
    check(init is not None, f"container init {c.get('init')} is a processes doc")
    if init is None:
        return
    check(init["tgid"] == f["pid"], f"init tgid == State.Pid {f['pid']} ({init['tgid']})")
    check(argv_of(init) == ["sh", "-c", SCRIPT], f"init argv is the script ({argv_of(init)})")
    check(init["execs"][-1].get("exe") == exe, f"init exe {exe} ({init['execs'][-1].get('exe')})")
    check(init.get("entry") == "init" and init.get("depth") == 0, "init: entry init, depth 0")
    check(init.get("rootfs") == rootfs, "init carries the rootfs")

    # --- the exact tree under init ------------------------------------------------------------
    def kids(p):
        return [byk[k] for k in p.get("children", []) if k in byk]

    want = [["sh", "-c", "sleep 1 & wait"], ["cat", "/etc/motd"], ["sleep", "3"]]
    got = [argv_of(k) for k in kids(init)]
    check(got == want, f"init's children in order {want} ({got})")
    for k in kids(init):
        check(k.get("parent") == init["key"], f"{k['key']} parent is the init")
        check(k.get("depth") == 1, f"{argv_of(k)} depth 1 ({k.get('depth')})")
        check(k.get("container") == cid, f"{argv_of(k)} in the container")
        check(k["execs"][-1].get("exe") == exe, f"{argv_of(k)} exe {exe} ({k['execs'][-1].get('exe')})")
        check(k.get("exit") is not None and k.get("exit_code") == 0,
              f"{argv_of(k)} exited 0 with a time ({k.get('exit')}, {k.get('exit_code')})")
    sub = [k for k in kids(init) if argv_of(k) == want[0]]
    if sub:
        g = kids(sub[0])
        check([argv_of(x) for x in g] == [["sleep", "1"]],
              f"sh -c 'sleep 1 & wait' has one child sleep 1 ({[argv_of(x) for x in g]})")
        for x in g:
            check(x.get("depth") == 2 and x.get("parent") == sub[0]["key"] and not kids(x),
                  "sleep 1: depth 2, parent the inner sh, no children")
            # its fork and its exec: first the shell image inherited, then sleep
            check(len(x["execs"]) == 1, f"sleep 1 has one exec ({len(x['execs'])})")
    for k in kids(init)[1:]:
        check(not kids(k), f"{argv_of(k)} has no children")

    # --- the docker exec ----------------------------------------------------------------------
    ex = [p for p in mine if p.get("execs") and p["execs"][0].get("argv") == ["sh", "-c", EXEC_SCRIPT]]
    check(len(ex) == 1, f"one process for the docker exec'd sh ({len(ex)})")
    if ex:
        e = ex[0]
        check(e.get("entry") == "exec" and e.get("depth") == 0, f"exec'd sh: entry exec, depth 0 ({e.get('entry')}, {e.get('depth')})")
        check(e["key"] in c.get("exec_roots", []), "exec'd sh is one of the container's exec_roots")
        check(e.get("rootfs") == rootfs, "exec'd sh carries the rootfs")
        argvs = [x.get("argv") for x in e["execs"]]
        want_ex = [["ls", "/etc"]]
        if f["last_in_place"]:
            check(argvs == [["sh", "-c", EXEC_SCRIPT], ["cat", "/tmp/out.txt"]],
                  f"exec'd sh then cat /tmp/out.txt in place ({argvs})")
        else:
            want_ex.append(["cat", "/tmp/out.txt"])
        got = [argv_of(k) or ([k.get("comm"), "/etc"] if k.get("comm") == "ls" else None)
               for k in kids(e)]
        check(got == want_ex, f"exec'd sh's children {want_ex} ({got})")
        for k in kids(e):
            if argv_of(k) is None:
                # busybox runs some applets (ls) in the forked child without an exec: no
                # argv of its own, only its comm says what it is
                check(k.get("comm") == "ls" and not k["execs"], f"{k['key']}: comm ls, no exec")
            check(k.get("depth") == 1 and k.get("container") == cid and k.get("entry") is None,
                  f"{argv_of(k)}: depth 1 in the container, not an entry")
    tree = [t["key"] for t in c.get("tree", [])]
    check(sorted(tree) == sorted(p["key"] for p in mine), "the container tree lists exactly its processes")
    check(c.get("processes") == len(tree), "containers.processes == len(tree)")
    n_expected = 1 + 3 + 1 + 1 + (1 if f["last_in_place"] else 2)
    check(len(mine) == n_expected, f"{n_expected} processes in the container ({len(mine)}: "
          f"{[argv_of(p) for p in mine]})")
    for p in mine:
        for k in p.get("children", []):
            ch = byk.get(k)
            check(ch is not None and ch.get("parent") == p["key"], f"child {k} points back to {p['key']}")
            if ch is not None and ch.get("container") == cid and ch.get("depth") is not None:
                check(ch["depth"] == p["depth"] + 1, f"{k} depth = parent's + 1")

    # --- files ---------------------------------------------------------------------------------
    files = list(out(d, sid, "files").find({"session": sid, "container": cid}))
    host = {k: rootfs + k for k in ["/tmp/out.txt", "/tmp/sp ace.txt", "/etc/motd"]}

    def opened(path, by):
        return [x for x in files if x["path"] == path and x["process"] == by]

    cat_motd = [k for k in kids(init) if argv_of(k) == ["cat", "/etc/motd"]]
    cases = [("/tmp/out.txt", init["key"], True), ("/tmp/sp ace.txt", init["key"], True)]
    if cat_motd:
        cases.append(("/etc/motd", cat_motd[0]["key"], False))
    if ex:
        reader = ex[0] if f["last_in_place"] else next(
            (k for k in kids(ex[0]) if argv_of(k) == ["cat", "/tmp/out.txt"]), ex[0])
        cases.append(("/tmp/out.txt", reader["key"], False))
    for path, by, w in cases:
        fl = opened(path, by)
        check(len(fl) == 1, f"one file entry for {path!r} opened by {by} ({len(fl)})")
        for x in fl:
            check(x.get("write") is w, f"{path!r} write == {w} ({x.get('write')})")
            check(x.get("read") is (not w), f"{path!r} read == {not w} ({x.get('read')})")
            check(x.get("open") is not None and x.get("close") is not None and x["close"] >= x["open"],
                  f"{path!r} open {x.get('open')} <= close {x.get('close')}")
            check(x.get("host_path") == host[path], f"{path!r} host_path {host[path]} ({x.get('host_path')})")
            check(not x.get("failed"), f"{path!r} open succeeded")
    # after the init's exec of the script every file it and the others open is in the
    # container's root (before it, runc init still sees the host: those keep host paths)
    t_exec = init["execs"][-1]["ts"]
    for x in files:
        if x.get("host_path") and not x.get("failed") and x["open"] >= t_exec:
            check(x["host_path"] == rootfs or x["host_path"].startswith(rootfs + "/"),
                  f"{x['path']!r} host_path under the rootfs ({x['host_path']})")

    # --- re-run: same output -------------------------------------------------------------------
    before = snapshot_output(d)
    rc = run_filter(f["db"])
    check(rc == 0, "second lineage-filter run exits 0")
    after = snapshot_output(d)
    check(before == after, "re-run gives the same counts and keys "
          f"({[len(v) for v in before.values()]} vs {[len(v) for v in after.values()]})")


def main():
    replay = os.environ.get("FILTER_E2E_REPLAY")
    keep = os.environ.get("FILTER_E2E_KEEP") or replay
    if replay:
        with open(replay) as fp:
            f = json.load(fp)
    else:
        f = record(f"lineage_test_filter_e2e_{os.getpid()}")
        if keep:
            with open("/tmp/filter_e2e_facts.json", "w") as fp:
                json.dump(f, fp)
    try:
        checks(f)
    finally:
        if not keep:
            db(f["db"]).client.drop_database(f["db"])
    finish("filter_e2e")


if __name__ == "__main__":
    main()
