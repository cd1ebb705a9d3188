"""fd_alias.py — issue 17 end to end: shell redirections, `exec 3>file`, `2>&1`, pipes and
fds inherited at fork, in real containers under the real listener; the real lineage-filter
rebuilds the session and the `files` documents are checked with pymongo, byte for byte.

Container A: sh -c 'echo hello > /tmp/r.txt'. busybox opens /tmp/r.txt as fd 3, saves fd 1
with fcntl(F_DUPFD_CLOEXEC), dup2(3, 1), close(3), writes 6 bytes on fd 1, dup2s the saved fd
back: one entry for /tmp/r.txt, written by the container's init (the sh -c), 6 bytes, closed
by that dup2. (The container is over before `docker inspect` could give State.Pid: the init
is the one the filter found, checked by its argv.)

Container B (SCRIPT below), per file, who writes how much (known by construction; the totals
are also the sizes `wc -c` prints at the end, read from the container's log):
  /tmp/a  init 3 ("12\\n" through fd 3 after `exec 3>`); the `cat /tmp/b /tmp/b >&3` child 4
          (it inherited fd 3 at the fork: an entry of its own, inherited from the init)
  /tmp/b  init 2 ("x\\n"; its stderr went to the old stdout, never to /tmp/b)
  /tmp/c  the cat of `echo p | cat > /tmp/c` 2 (opened in that child; echo's 2 bytes went
          into the pipe, not to any file)
  /tmp/d  init 2 ("y\\n"), the `cat /tmp/b` child 2 (inherited, sendfile)
  /tmp/e  `ls /nonexistent > /tmp/e 2>&1`: busybox runs ls (a NOEXEC applet) in a forked
          child but redirects in the init before the fork (measured with strace): the init
          opened it and wrote 0, the ls child writes all of it through fd 2 = fd 1, inherited
Nothing else in the container's own files (after the init's exec) has a byte written.

The filter's output is read through filter_docs(), the one place that knows where it lives
(per-session collections named in the session's `filter` field, schema.out)."""
import json
import os
import re
import subprocess
import sys
import time

from pymongo.errors import BulkWriteError

from lib import FILTER, IMAGE, Listener, check, db, docker, finish, read_spool
from schema import out

SCRIPT_A = "echo hello > /tmp/r.txt"
SCRIPT_B = ("exec 3>/tmp/a; echo 12 >&3; echo x 2>&1 >/tmp/b; echo p | cat > /tmp/c; "
            "{ echo y; cat /tmp/b; } > /tmp/d; cat /tmp/b /tmp/b >&3; "
            "ls /nonexistent > /tmp/e 2>&1; exec 3>&-; "
            "echo sizes; wc -c /tmp/a /tmp/b /tmp/c /tmp/d /tmp/e; echo done")
OWN = ["/tmp/r.txt", "/tmp/a", "/tmp/b", "/tmp/c", "/tmp/d", "/tmp/e"]


def filter_docs(d, sid, kind):
    """The filter's output documents of one kind for session sid (schema.out: the collection
    the session's `filter` field names)."""
    c = out(d, sid, kind)
    return list(c.find({})) if c is not None else []


def run_container(script):
    cid = docker("run", "-d", "--network", "none", IMAGE, "sh", "-c", script).stdout.strip()
    docker("wait", cid)
    full = json.loads(docker("inspect", cid).stdout)[0]["Id"]
    logs = docker("logs", cid).stdout
    docker("rm", "-f", cid)
    return {"cid": full, "logs": logs}


def record(dbname):
    L = Listener(dbname)
    L.start()
    try:
        a = run_container(SCRIPT_A)
        b = run_container(SCRIPT_B)
        time.sleep(3)  # assembler timeout and the writer's last batch
    finally:
        rc = L.stop()
    # The listener records the whole host: on a busy machine the database may lag and the
    # listener leaves the rest in its spool at the stop. Store it here (what a next listener
    # start would replay; the spool itself is tested by the outage tests).
    # The raw streams are spooled as segment documents (issue 33): stored as they are.
    docs, torn = read_spool(L.spool, decode=False)
    spooled = 0
    for coll, v in docs.items():
        try:
            db(dbname)[coll].insert_many(v, ordered=False)
        except BulkWriteError as e:  # duplicates of what was stored before the stop
            if any(x.get("code") != 11000 for x in e.details.get("writeErrors", [])):
                raise
        spooled += sum(int(x["n"]) for x in v) if coll == "segments" else len(v)
    return {"db": dbname, "a": a, "b": b, "listener_rc": rc, "spooled": spooled, "torn": torn}


def sizes(logs):
    """`wc -c` lines after "sizes": {path: bytes}."""
    out = {}
    for line in logs.split("sizes", 1)[-1].splitlines():
        m = re.fullmatch(r"\s*(\d+)\s+(/tmp/\S+)", line)
        if m:
            out[m.group(2)] = int(m.group(1))
    return out


def checks(f):
    d = db(f["db"])
    check(f["listener_rc"] == 0, f"listener exited 0 ({f['listener_rc']})")
    print(f"{f.get('spooled')} documents were left in the spool, {f.get('torn')} torn bytes")
    check(f.get("torn") == 0, "nothing torn in the spool")
    check("done" in f["b"]["logs"], f"container B ran to its end ({f['b']['logs']!r})")
    p = subprocess.run([FILTER, "--db", f["db"], "--last"], capture_output=True, text=True,
                       timeout=180)
    print(p.stdout)
    if p.stderr:
        print(p.stderr, file=sys.stderr)
    check(p.returncode == 0, f"lineage-filter exits 0 ({p.returncode})")
    sid = d.sessions.find_one()["_id"]
    files = filter_docs(d, sid, "files")
    procs = {x["key"]: x for x in filter_docs(d, sid, "processes")}

    def argv(key):
        x = procs.get(key) or {}
        return x["execs"][-1]["argv"] if x.get("execs") else None

    def comm(key):
        return (procs.get(key) or {}).get("comm")

    conts = {x["container"]: x for x in filter_docs(d, sid, "containers")}

    def init_of(cid, script):
        c = conts.get(cid)
        check(c is not None, f"container {cid[:12]} rebuilt")
        key = (c or {}).get("init")
        check(key in procs and argv(key) == ["sh", "-c", script],
              f"{cid[:12]}: its init runs sh -c {script!r} ({argv(key)})")
        return key

    # --- A: echo hello > /tmp/r.txt ----------------------------------------------------------
    ca = f["a"]["cid"]
    init_a = init_of(ca, SCRIPT_A)
    r = [x for x in files if x.get("container") == ca and x["path"] == "/tmp/r.txt"]
    check(len(r) == 1, f"A: one entry for /tmp/r.txt ({len(r)})")
    for x in r:
        check(x["process"] == init_a, f"A: written by the init {init_a} ({x['process']})")
        check(x.get("bytes_written") == 6, f"A: 6 bytes written ({x.get('bytes_written')})")
        check(x.get("write") is True, "A: write true")
        check(x.get("close") is not None and x.get("close_inferred") is False,
              f"A: closed, not inferred ({x.get('close')}, {x.get('close_inferred')})")
        check(x.get("close_reason") == "dup-replaced",
              f"A: its last alias (fd 1) ends at the dup2 back ({x.get('close_reason')})")
        check(x.get("fds") == [3, 1], f"A: fds [3, 1] ({x.get('fds')})")
        check((x.get("host_path") or "").endswith("/tmp/r.txt"),
              f"A: host path ({x.get('host_path')})")

    # --- B ------------------------------------------------------------------------------------
    cb = f["b"]["cid"]
    want_size = sizes(f["b"]["logs"])
    check(want_size == {"/tmp/a": 7, "/tmp/b": 2, "/tmp/c": 2, "/tmp/d": 4,
                        "/tmp/e": want_size.get("/tmp/e", -1)} and want_size["/tmp/e"] > 0,
          f"B: the files have the sizes the script makes ({want_size})")
    mine = [x for x in files if x.get("container") == cb]
    init_key = init_of(cb, SCRIPT_B)

    def writers(path):
        """{(process key or what it ran): bytes} of the entries of path that wrote."""
        out = {}
        for x in mine:
            if x["path"] != path or not x.get("write") or x.get("failed"):
                continue
            if x["process"] == init_key:
                k = "init"
            elif argv(x["process"]):
                k = " ".join(argv(x["process"]))
            else:  # a forked child that never exec'd (busybox NOEXEC applets): its comm
                k = "comm:" + str(comm(x["process"]))
            out[k] = out.get(k, 0) + x.get("bytes_written", 0)
        return out

    want = {
        "/tmp/a": {"init": 3, "cat /tmp/b /tmp/b": 4},
        "/tmp/b": {"init": 2},
        "/tmp/c": {"cat": 2},
        "/tmp/d": {"init": 2, "cat /tmp/b": 2},
        "/tmp/e": {"init": 0, "comm:ls": want_size.get("/tmp/e")},
    }
    for path, w in want.items():
        got = writers(path)
        check(got == w, f"B: {path} written by {w} ({got})")
        check(sum(got.values()) == want_size.get(path),
              f"B: {path} bytes add up to its size {want_size.get(path)} ({sum(got.values())})")
    inh = [x for x in mine if x.get("inherited")]
    check(sorted(x["path"] for x in inh) == ["/tmp/a", "/tmp/d", "/tmp/e"],
          f"B: the inherited entries are /tmp/a, /tmp/d, /tmp/e ({[x['path'] for x in inh]})")
    for x in inh:
        check(x.get("inherited_from") == init_key,
              f"B: {x['path']} inherited from the init ({x.get('inherited_from')})")
        check(x.get("close") is not None, f"B: inherited {x['path']} ends (the child's exit)")
    for x in mine:
        if x["path"] in OWN and x["process"] == init_key and x.get("write"):
            check(x.get("close") is not None and x.get("close_inferred") is False,
                  f"B: init's {x['path']} closed by its last alias, not inferred "
                  f"({x.get('close_reason')})")
    # nothing else the container wrote after its exec (the pipes, stdout) went into a file
    t_exec = procs[init_key]["execs"][-1]["ts"] if init_key in procs else None
    stray = [(x["path"], x.get("bytes_written")) for x in mine
             if x.get("bytes_written") and x["path"] not in OWN and t_exec and x["open"] >= t_exec]
    check(not stray, f"B: no other file of the container has bytes written ({stray})")
    # the reads are still there, untouched
    rd = [x for x in mine if x["path"] == "/tmp/b" and not x.get("write")]
    check(len(rd) == 4, f"B: /tmp/b opened for reading 4 times (cat /tmp/b, twice by "
          f"cat /tmp/b /tmp/b, wc) ({len(rd)})")


def main():
    replay = os.environ.get("FD_ALIAS_REPLAY")
    keep = os.environ.get("FD_ALIAS_KEEP") or replay
    if replay:
        with open(replay) as fp:
            f = json.load(fp)
    else:
        f = record(f"lineage_test_fd_alias_{os.getpid()}")
        if keep:
            with open("/tmp/fd_alias_facts.json", "w") as fp:
                json.dump(f, fp)
    try:
        checks(f)
    finally:
        if not keep:
            db(f["db"]).client.drop_database(f["db"])
    finish("fd_alias")


if __name__ == "__main__":
    main()
