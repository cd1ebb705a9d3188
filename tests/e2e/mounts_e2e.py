"""mounts_e2e.py — issue 28, host paths through a container's mounts, with a real container:
a bind mount of a host directory and of a single file, a named volume, a tmpfs, a read-only
bind, docker's /etc/hosts; a file created in the container, image files read (and one copied
up by a later write), a host process writing into the bind source while the container reads
it, `docker cp` into and out of the container. The filter runs after `docker rm`.

Ground truth is taken during the test from the real files: `stat -c %i` inside the container
and os.stat on the host (the inode identifies the file whatever its name), `docker inspect`
for the upper dir and the image's layers. Every answer of the filter (host_path,
host_path_kind, stored_path, layer) is compared with it; `lineage-query search --path` is
asked with the container path and with the host path and must find both sides."""
import json
import os
import shutil
import subprocess
import sys
import time

from lib import FILTER, IMAGE, URI, Listener, check, db, docker, finish
from schema import out
from segments import Raw

TAG = f"lineage-mnt-{os.getpid()}"
QUERY = os.environ.get("QUERY", "build/query/lineage-query")
BASE = f"/tmp/{TAG}"

SCRIPT = r"""
sleep 1.5
echo c > /data/fromc.txt
cat /single.txt > /dev/null
echo v > /vol/v.txt
echo t > /scratch/t.txt
cat /ro/r.txt > /dev/null
cat /etc/hosts > /dev/null
echo n > /tmp/new.txt
cat /etc/passwd > /dev/null
cat /etc/group > /dev/null
sleep 0.3
echo more >> /etc/group
i=0
while [ $i -lt 30 ]; do cat /data/hostfile > /dev/null 2>&1; i=$((i+1)); sleep 0.1; done
sleep 30
"""


def inode_in(cid, path):
    r = docker("exec", cid, "stat", "-c", "%i", path, check=False)
    return int(r.stdout.strip()) if r.returncode == 0 and r.stdout.strip() else None


def record(dbname):
    f = {"db": dbname}
    shutil.rmtree(BASE, ignore_errors=True)
    os.makedirs(f"{BASE}/src")
    os.makedirs(f"{BASE}/rodir")
    with open(f"{BASE}/single.txt", "w") as fh:
        fh.write("single\n")
    with open(f"{BASE}/rodir/r.txt", "w") as fh:
        fh.write("ro\n")
    with open(f"{BASE}/cpin.txt", "w") as fh:
        fh.write("cp in\n")
    vol = f"{TAG}-vol"
    docker("volume", "create", vol)
    L = Listener(dbname)
    L.lock_audit()
    cid = None
    try:
        L.start()
        cid = docker("run", "-d", "--name", TAG, "--network", "none",
                     "-v", f"{BASE}/src:/data", "-v", f"{BASE}/single.txt:/single.txt",
                     "-v", f"{vol}:/vol", "--tmpfs", "/scratch",
                     "-v", f"{BASE}/rodir:/ro:ro", IMAGE, "sh", "-c", SCRIPT).stdout.strip()
        ins = json.loads(docker("inspect", cid).stdout)[0]
        img = json.loads(docker("image", "inspect", ins["Image"]).stdout)[0]
        vins = json.loads(docker("volume", "inspect", vol).stdout)[0]
        f.update(id=cid, upper=ins["GraphDriver"]["Data"]["UpperDir"],
                 merged=ins["GraphDriver"]["Data"]["MergedDir"], hosts=ins["HostsPath"],
                 layers=img["RootFS"]["Layers"], volsrc=vins["Mountpoint"])
        time.sleep(2.5)
        # a host process writes into the bind source while the container reads it
        subprocess.run(["sh", "-c", f"echo from-host > {BASE}/src/hostfile"], check=True)
        time.sleep(3.5)
        ino = {}
        for p in ("/data/fromc.txt", "/single.txt", "/vol/v.txt", "/ro/r.txt", "/etc/hosts",
                  "/tmp/new.txt", "/etc/passwd", "/data/hostfile", "/scratch/t.txt"):
            ino[p] = inode_in(cid, p)
        f["ino"] = ino
        f["host_ino"] = {
            "/data/fromc.txt": os.stat(f"{BASE}/src/fromc.txt").st_ino,
            "/single.txt": os.stat(f"{BASE}/single.txt").st_ino,
            "/vol/v.txt": os.stat(f"{vins['Mountpoint']}/v.txt").st_ino,
            "/ro/r.txt": os.stat(f"{BASE}/rodir/r.txt").st_ino,
            "/etc/hosts": os.stat(ins["HostsPath"]).st_ino,
            "/tmp/new.txt": os.stat(f"{f['upper']}/tmp/new.txt").st_ino,
            "/data/hostfile": os.stat(f"{BASE}/src/hostfile").st_ino,
        }
        docker("cp", f"{BASE}/cpin.txt", f"{cid}:/tmp/cpin.txt")
        docker("cp", f"{cid}:/tmp/new.txt", f"{BASE}/cpout.txt")
        f["ino"]["/tmp/cpin.txt"] = inode_in(cid, "/tmp/cpin.txt")
        time.sleep(2)
    finally:
        if cid:
            docker("rm", "-f", cid, check=False)
        f["listener_rc"] = L.stop() if L.proc else None
        docker("volume", "rm", "-f", vol, check=False) if os.environ.get("MOUNTS_RM_VOL") else None
    f["vol"] = vol
    return f


def q(dbname, *args):
    return subprocess.run([QUERY, "--uri", URI, "--db", dbname, *args], capture_output=True,
                          text=True, timeout=120)


def checks(f):
    d = db(f["db"])
    check(f["listener_rc"] == 0, f"listener exited 0 ({f['listener_rc']})")
    sid = d.sessions.find_one()["_id"]
    cf = Raw(d).container_facts.find_one({"session": sid, "container": f["id"]})
    check(cf is not None, "a container_facts document")
    mounts = {m["dest"]: m for m in (cf or {}).get("mounts", [])}
    for dest, kind, src in (("/data", "bind", f"{BASE}/src"),
                            ("/single.txt", "bind", f"{BASE}/single.txt"),
                            ("/vol", "volume", f["volsrc"]), ("/scratch", "tmpfs", None),
                            ("/ro", "bind", f"{BASE}/rodir"), ("/etc/hosts", "bind", f["hosts"])):
        m = mounts.get(dest, {})
        check(m.get("kind") == kind and m.get("source") == src,
              f"facts: {dest} {kind} from {src} ({m.get('kind')}, {m.get('source')})")
    check(mounts.get("/ro", {}).get("ro") is True, "facts: /ro read-only")
    check(mounts.get("/proc", {}).get("kind") == "special", "facts: /proc from mountinfo")
    ov = (cf or {}).get("overlay") or {}
    check(ov.get("upper") == f["upper"], f"facts: upper {f['upper']} ({ov.get('upper')})")
    layers = [x.get("layer") for x in ov.get("lowers", [])]
    check(all(x in layers for x in f["layers"]), f"facts: image layers {f['layers']} ({layers})")

    p = subprocess.run([FILTER, "--db", f["db"], "--last"], capture_output=True, text=True,
                       timeout=180)
    print(p.stdout, p.stderr, file=sys.stderr)
    check(p.returncode == 0, f"lineage-filter exits 0 ({p.returncode})")
    files = list(out(d, sid, "files").find({"session": sid, "container": f["id"],
                                            "failed": {"$ne": True}}).sort("open", 1))
    by = {}
    for x in files:
        by.setdefault(x["path"], []).append(x)

    def first(path, write=None):
        for x in by.get(path, []):
            if write is None or x.get("write") == write:
                return x
        return {}

    def same_file(what, path, ino_host, ino_in=None):
        try:
            got = os.stat(path).st_ino
        except OSError as e:
            check(False, f"{what}: {path} exists ({e})")
            return
        check(got == ino_host, f"{what}: {path} is the file (inode {got} == {ino_host})")
        if ino_in is not None:
            check(got == ino_in, f"{what}: the container's inode ({ino_in})")

    for path, kind, host in (("/data/fromc.txt", "bind", f"{BASE}/src/fromc.txt"),
                             ("/single.txt", "bind", f"{BASE}/single.txt"),
                             ("/vol/v.txt", "volume", f"{f['volsrc']}/v.txt"),
                             ("/ro/r.txt", "bind", f"{BASE}/rodir/r.txt"),
                             ("/data/hostfile", "bind", f"{BASE}/src/hostfile")):
        x = first(path)
        check(x.get("host_path") == host and x.get("host_path_kind") == kind,
              f"{path}: {kind} {host} ({x.get('host_path_kind')}, {x.get('host_path')})")
        if x.get("host_path"):
            same_file(path, x["host_path"], f["host_ino"][path], f["ino"].get(path))
    x = first("/etc/hosts")
    check(x.get("host_path") == f["hosts"] and x.get("host_path_kind") == "bind",
          f"/etc/hosts: docker's file {f['hosts']} ({x.get('host_path')})")
    x = first("/scratch/t.txt")
    check(x.get("host_path_kind") == "tmpfs" and x.get("host_path") is None,
          f"/scratch/t.txt: tmpfs, no host path ({x.get('host_path_kind')}, {x.get('host_path')})")
    x = first("/tmp/new.txt", write=True)
    check(x.get("host_path_kind") == "upper" and x.get("stored_path") == f["upper"] + "/tmp/new.txt"
          and x.get("host_path") == f["merged"] + "/tmp/new.txt",
          f"/tmp/new.txt: upper ({x.get('host_path_kind')}, {x.get('stored_path')}, "
          f"{x.get('host_path')})")
    check(f["host_ino"]["/tmp/new.txt"] == f["ino"]["/tmp/new.txt"],
          "/tmp/new.txt: the upper file is the container's (inode)")
    x = first("/etc/passwd")
    check(x.get("host_path_kind") == "lower" and x.get("layer") in f["layers"],
          f"/etc/passwd: image layer ({x.get('host_path_kind')}, {x.get('layer')})")
    if x.get("stored_path"):
        same_file("/etc/passwd (after docker rm)", x["stored_path"], f["ino"]["/etc/passwd"])
    rd, wr = first("/etc/group", write=False), first("/etc/group", write=True)
    check(rd.get("host_path_kind") == "lower", f"/etc/group read before the copy-up: lower "
          f"({rd.get('host_path_kind')}, {rd.get('stored_path')})")
    check(wr.get("host_path_kind") == "upper" and wr.get("stored_path") == f["upper"] + "/etc/group",
          f"/etc/group written: upper ({wr.get('host_path_kind')}, {wr.get('stored_path')})")
    if rd.get("stored_path"):
        check(os.path.exists(rd["stored_path"]), f"the image's /etc/group is still there "
              f"after docker rm ({rd['stored_path']})")

    # search --path: both sides of the bind source, whichever name is asked
    host = f"{BASE}/src/hostfile"
    for asked in ("/data/hostfile", host):
        r = q(f["db"], "--format", "json", "search", "--path", asked)
        hits = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
        conts = {h.get("container") for h in hits}
        check(r.returncode == 0 and f["id"] in conts and None in conts,
              f"search --path {asked}: the container's read and the host's write "
              f"({r.returncode}, {len(hits)} hits, {conts}) {r.stderr[-300:]}")
        hw = [h for h in hits if h.get("container") is None and h["file"].get("write")]
        check(any(h.get("chain") for h in hw), f"search --path {asked}: the host writer has "
              "its ancestry")
    r = q(f["db"], "containers")
    check(f"mount /data <- {BASE}/src (bind)" in r.stdout, "containers shows the /data mount")
    check(f"mount /ro <- {BASE}/rodir (bind, ro)" in r.stdout, "containers shows /ro read-only")
    print(r.stdout, file=sys.stderr)
    r = q(f["db"], "files", f["id"][:12])
    check(f"bind {BASE}/src/fromc.txt" in r.stdout, "files shows the bind's host path")
    # docker cp: what the recording holds, for the notes
    cp = [x for x in out(d, sid, "files").find({"session": sid, "path": {"$regex": "cp(in|out)"}})]
    print("docker cp accesses:", [(x.get("container"), x["path"], x.get("host_path"),
                                   x.get("host_path_kind")) for x in cp], file=sys.stderr)


def main():
    name = f"lineage_test_mounts_{os.getpid()}"
    f = record(name)
    try:
        checks(f)
    finally:
        if not os.environ.get("MOUNTS_KEEP"):
            db(name).client.drop_database(name)
            shutil.rmtree(BASE, ignore_errors=True)
            docker("volume", "rm", "-f", f["vol"], check=False)
    finish("mounts_e2e")


if __name__ == "__main__":
    main()
