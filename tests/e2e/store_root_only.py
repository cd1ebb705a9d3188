"""store_root_only.py — the embedded store is root's alone (issue 15): an unprivileged user can
neither read nor delete through FerretDB's socket, nor reach PostgreSQL's, and neither server
listens on TCP; root reads and deletes. The unprivileged side runs Debian's own python3 under
setpriv (uid/gid 4242, no groups, no capabilities), with only the standard library: the
refusal happens at connect(2), before any protocol."""
import os
import subprocess
import urllib.parse

import bson
import segments as S
from lib import URI, check, db, finish

DB = "lineage_test_root_only"
UID = 4242
sock = urllib.parse.unquote(URI[len("mongodb://"):].split("/?")[0].split("?")[0])
pg_dir = os.environ.get("LINEAGE_PG_SOCKET_DIR", "/var/lib/lineage-dev/pg/run")
check(sock.startswith("/"), f"the store URI is a Unix socket ({URI})")

d = db(DB)
d.segments.drop()
sid = bson.ObjectId()
# three segments of one event each: what the listener stores (issue 33)
d.segments.insert_many([S.seal(sid, "events", [{"_id": f"{sid}:{i}", "session": sid, "seq": i,
                                                 "syscall": "execve", "argv": ["secret"]}])
                        for i in range(3)])

PROBE = r'''
import errno, socket, sys
def conn(fam, addr):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(addr)
        # connected: try to talk (an OP_MSG ping); any answer means access
        return "connected"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    finally:
        s.close()
print("mongo_sock", conn(socket.AF_UNIX, sys.argv[1]))
print("pg_sock", conn(socket.AF_UNIX, sys.argv[2] + "/.s.PGSQL.5432"))
print("tcp_27017", conn(socket.AF_INET, ("127.0.0.1", 27017)))
print("tcp_5432", conn(socket.AF_INET, ("127.0.0.1", 5432)))
'''
p = subprocess.run(["setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups",
                    "--inh-caps=-all", "--bounding-set=-all", "/usr/bin/python3", "-c", PROBE,
                    sock, pg_dir], capture_output=True, text=True, timeout=30)
print(p.stdout, p.stderr)
res = dict(line.split() for line in p.stdout.splitlines() if len(line.split()) == 2)
check(p.returncode == 0, f"the unprivileged probe ran ({p.returncode})")
check(res.get("mongo_sock") in ("EACCES", "EPERM"), f"uid {UID} cannot connect to {sock}: {res.get('mongo_sock')}")
check(res.get("pg_sock") in ("EACCES", "EPERM"), f"uid {UID} cannot connect to PostgreSQL's socket: {res.get('pg_sock')}")
check(res.get("tcp_27017") == "ECONNREFUSED", f"nothing listens on 127.0.0.1:27017: {res.get('tcp_27017')}")
check(res.get("tcp_5432") == "ECONNREFUSED", f"nothing listens on 127.0.0.1:5432: {res.get('tcp_5432')}")
st = os.stat(os.path.dirname(sock))
check(st.st_uid == 0 and (st.st_mode & 0o077) == 0, f"{os.path.dirname(sock)} is root's, 0700 ({oct(st.st_mode)})")

# root: read and delete work
check(S.count_raw(d, sid, "events") == 3, "root reads the events (their segments decoded)")
check(d.segments.delete_one({"_id": f"{sid}:events:1"}).deleted_count == 1,
      "root deletes a segment")
check([x["seq"] for x in S.raw_docs(d, sid)] == [0, 2], "two events left")
d.client.drop_database(DB)
finish("store-root-only")
