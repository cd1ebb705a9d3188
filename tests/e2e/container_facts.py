"""container_facts.py — issue 17, container facts at first sight, with real containers:

1. `docker run --rm` while the listener records, then the filter (after docker removed it):
   the container's name, image, image id, runtime and rootfs are in `containers`, from the
   listener (name_source "listener").
2. A container started BEFORE the listener (its pivot_root never recorded) and removed
   before the filter ran (its OCI bundle and overlay mount are gone): its rootfs comes from
   what the listener read at its snapshot, and the files its processes opened meanwhile get
   host paths under it.

Ground truth comes from `docker inspect` taken while each container exists, never from the
listener's or filter's output. Checked with pymongo."""
import json
from segments import Raw
import os
import subprocess
import sys
import time

from lib import FILTER, IMAGE, Listener, check, db, docker, finish
from schema import out

TAG = f"lineage-cf-{os.getpid()}"


def inspect(cid):
    return json.loads(docker("inspect", cid).stdout)[0]


def record(dbname):
    facts = {"db": dbname}
    L = Listener(dbname)
    L.lock_audit()  # our audit turn first: the container below must not wait long for it
    # 2: running before the listener, touching files in a loop
    pre = docker("run", "-d", "--name", f"{TAG}-pre", "--network", "none", IMAGE, "sh", "-c",
                 "while :; do echo pre > /tmp/pre.txt; cat /etc/hostname > /dev/null; "
                 "sleep 0.3; done").stdout.strip()
    try:
        ins = inspect(pre)
        facts["pre"] = {"id": ins["Id"], "name": ins["Name"].lstrip("/"),
                        "image": ins["Config"]["Image"], "image_id": ins["Image"],
                        "rootfs": ins["GraphDriver"]["Data"]["MergedDir"],
                        "hostname": ins["HostnamePath"]}
        L.start()
        # 1: a --rm container run while the listener records
        name = f"{TAG}-rm"
        p = subprocess.Popen(["/usr/bin/docker", "run", "--rm", "--name", name, "--network",
                              "none", IMAGE, "sh", "-c",
                              "sleep 1; echo x > /tmp/rm.txt; cat /etc/hostname"],
                             stdout=subprocess.PIPE, text=True)
        ins = None
        deadline = time.time() + 20
        while ins is None and time.time() < deadline:
            r = docker("inspect", name, check=False)
            if r.returncode == 0:
                i = json.loads(r.stdout)[0]
                if i["State"]["Running"] or i["State"]["Pid"]:
                    ins = i
            time.sleep(0.05)
        out, _ = p.communicate(timeout=30)
        check(p.returncode == 0, f"docker run --rm exits 0 ({p.returncode})")
        if ins:
            facts["rm"] = {"id": ins["Id"], "name": name, "image": ins["Config"]["Image"],
                           "image_id": ins["Image"],
                           "rootfs": ins["GraphDriver"]["Data"]["MergedDir"]}
        time.sleep(1.5)  # the pre container's loop runs under the recording
        docker("rm", "-f", pre)
        time.sleep(3)  # assembler timeout and the writer's last batch
    finally:
        docker("rm", "-f", pre, check=False)
        facts["listener_rc"] = L.stop() if L.proc else None
    return facts


def checks(f):
    d = db(f["db"])
    check(f["listener_rc"] == 0, f"listener exited 0 ({f['listener_rc']})")
    check("rm" in f, "docker inspect saw the --rm container while it ran")
    sess = d.sessions.find_one()
    sid = sess["_id"]
    check(sess.get("counters", {}).get("container_facts", 0) >= 2,
          f"session counts container_facts ({sess.get('counters', {}).get('container_facts')})")
    # the raw documents: one per container, like every listener document
    for k in ("pre", "rm"):
        if k not in f:
            continue
        want = f[k]
        docs = list(Raw(d).container_facts.find({"session": sid, "container": want["id"]}))
        check(len(docs) == 1, f"{k}: one container_facts document ({len(docs)})")
        if not docs:
            continue
        x = docs[0]
        check(x["_id"] == f"{sid}:{x['seq']}", f"{k}: _id is <session>:<seq> ({x['_id']})")
        check(x.get("runtime") == "docker", f"{k}: runtime docker ({x.get('runtime')})")
        check(x.get("name") == want["name"], f"{k}: name {want['name']} ({x.get('name')})")
        check(x.get("image") == want["image"], f"{k}: image ({x.get('image')})")
        check(x.get("image_id") == want["image_id"], f"{k}: image id ({x.get('image_id')})")
        check(x.get("rootfs") == want["rootfs"], f"{k}: rootfs {want['rootfs']} ({x.get('rootfs')})")
        check(bool(x.get("created")), f"{k}: created ({x.get('created')})")

    p = subprocess.run([FILTER, "--db", f["db"], "--last"], capture_output=True, text=True,
                       timeout=180)
    print(p.stdout, p.stderr, file=sys.stderr)
    check(p.returncode == 0, f"lineage-filter exits 0 ({p.returncode})")

    if "rm" in f:
        want = f["rm"]
        c = out(d, sid, "containers").find_one({"session": sid, "container": want["id"]})
        check(c is not None, "rm: a containers document")
        if c:
            check(c.get("name") == want["name"] and c.get("name_source") == "listener",
                  f"rm: name from the listener ({c.get('name')}, {c.get('name_source')})")
            check(c.get("image") == want["image"] and c.get("image_source") == "listener",
                  f"rm: image from the listener ({c.get('image')}, {c.get('image_source')})")
            check(c.get("rootfs") == want["rootfs"], f"rm: rootfs ({c.get('rootfs')}, "
                  f"{c.get('rootfs_source')})")
    want = f["pre"]
    c = out(d, sid, "containers").find_one({"session": sid, "container": want["id"]})
    check(c is not None, "pre: a containers document")
    if c:
        rootfs = want["rootfs"]
        check(c.get("rootfs") == rootfs, f"pre: rootfs {rootfs} ({c.get('rootfs')})")
        check(str(c.get("rootfs_source", "")).startswith("listener:"),
              f"pre: rootfs from the listener ({c.get('rootfs_source')})")
        check(c.get("name") == want["name"] and c.get("name_source") == "listener",
              f"pre: name from the listener ({c.get('name')}, {c.get('name_source')})")
        files = list(out(d, sid, "files").find({"session": sid, "container": want["id"]}))
        paths = {x["path"]: x for x in files if not x.get("failed")}
        for path in ("/tmp/pre.txt", "/etc/hostname"):
            x = paths.get(path)
            check(x is not None, f"pre: {path} opened while recorded")
            if x:
                # issue 28: /etc/hostname is docker's bind of its own file
                want_host = want["hostname"] if path == "/etc/hostname" else rootfs + path
                check(x.get("host_path") == want_host,
                      f"pre: {path} host path {want_host} ({x.get('host_path')})")


def main():
    name = f"lineage_test_container_facts_{os.getpid()}"
    f = record(name)
    try:
        checks(f)
    finally:
        if not os.environ.get("CONTAINER_FACTS_KEEP"):
            db(name).client.drop_database(name)
    finish("container_facts")


if __name__ == "__main__":
    main()
