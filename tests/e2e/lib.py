"""lib.py — helpers for lineage's end-to-end tests: run the real listener (root, real audit
and proc connector), real docker containers, and read the real database with pymongo."""
import atexit
import os
import fcntl
import signal
import subprocess
import sys
import tempfile
import time

from pymongo import MongoClient

LISTENER = os.environ.get("LISTENER", "build/listener/lineage-listener")
FILTER = os.environ.get("FILTER", "build/filter/lineage-filter")
URI = os.environ.get("LINEAGE_MONGODB_URI", "mongodb://%2Frun%2Flineage%2Fmongodb.sock")
DOCKER = "/usr/bin/docker"
IMAGE = os.environ.get("LINEAGE_TEST_IMAGE", "lineage-busybox:latest")

failures = []


def check(cond, what):
    """Record a failed expectation (the test goes on to report every one)."""
    if cond:
        print(f"ok: {what}")
    else:
        print(f"FAIL: {what}", file=sys.stderr)
        failures.append(what)


def finish(name):
    if failures:
        print(f"{name}: {len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print(f"{name}: all checks passed")
    sys.exit(0)


def audit_config():
    return subprocess.run([LISTENER, "--print-audit-config"], check=True,
                          capture_output=True, text=True).stdout


def db(name):
    return MongoClient(URI, serverSelectionTimeoutMS=5000)[name]


class Listener:
    """The real lineage-listener in the background, with its stderr in a file."""

    def __init__(self, dbname, *args, uri=None, spool=None):
        self.tmp = tempfile.mkdtemp(prefix="lineage-e2e-")
        self.errpath = os.path.join(self.tmp, "listener.err")
        self.spool = spool or os.path.join(self.tmp, "spool")
        # --no-config: a /etc/lineage/lineage.conf on the test host must not change the test
        self.args = [LISTENER, "--no-config", "--uri", uri or URI, "--db", dbname, "--spool",
                     self.spool, "--stats-interval", "1", *args]
        self.proc = None

    def lock_audit(self):
        """Take the audit turn now (start() does it when not yet done), e.g. to read the
        audit configuration before the listener changes it, with no other test's listener
        running in between."""
        # a caller already holding the lock for a series of tests (flock ... meson test)
        # says so, instead of queueing behind itself
        if os.environ.get("LINEAGE_E2E_LOCK_HELD") == "1":
            return
        if getattr(self, "lock", None) is None:
            self.lock = open("/run/lineage-e2e-audit.lock", "w")
            fcntl.flock(self.lock, fcntl.LOCK_EX)

    def release(self):
        """Give the audit turn back (stop() does it unless keep_lock=True)."""
        if getattr(self, "lock", None) is not None:
            fcntl.flock(self.lock, fcntl.LOCK_UN)
            self.lock.close()
            self.lock = None

    def start(self, wait_for="recording", timeout=30):
        # Only one process can own audit: tests of several checkouts or runs on this host
        # take turns (the lock is released when this process exits).
        self.lock_audit()
        self.err = open(self.errpath, "w")
        self.proc = subprocess.Popen(self.args, stderr=self.err, stdout=subprocess.DEVNULL)
        # a test that dies (an exception, meson's timeout) must not leave its listener owning
        # audit after the lock is gone: every later listener would fail to start
        atexit.register(self._stop_at_exit, self.proc)
        # meson's timeout sends SIGTERM: exit through atexit, not straight away
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"listener exited early ({self.proc.returncode}):\n{self.log()}")
            if wait_for in self.log():
                time.sleep(0.5)  # the snapshot and threads get going
                return
            time.sleep(0.1)
        raise RuntimeError(f"listener did not start:\n{self.log()}")

    def stop(self, sig=signal.SIGTERM, timeout=60, keep_lock=False):
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=timeout)
        self.err.close()
        if not keep_lock:
            self.release()
        return rc

    @staticmethod
    def _stop_at_exit(proc):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def log(self):
        with open(self.errpath) as f:
            return f.read()


def docker(*args, check=True):
    return subprocess.run([DOCKER, *args], check=check, capture_output=True, text=True)


# ---- audit configuration repair (a listener killed with -9 cannot restore it) ----
# What the kernel keeps after a SIGKILL (measured, kernel 6.18): enabled, backlog_limit,
# backlog_wait_time and every rule the listener added; only the audit pid is reset. These
# helpers put back a configuration captured with audit_config(), speaking NETLINK_AUDIT
# directly (no auditctl on the test host): rules present now but not in the captured dump are
# deleted with their own bytes, the status fields are set back.
import socket
import struct

_NETLINK_AUDIT = 9
_AUDIT_SET, _AUDIT_DEL_RULE = 1001, 1012
_NLM_F_REQUEST, _NLM_F_ACK, _NLMSG_ERROR = 1, 4, 2
_STATUS_FIELDS = {"enabled": (1, 0x1), "failure": (2, 0x2), "rate_limit": (4, 0x8),
                  "backlog_limit": (5, 0x10), "backlog_wait_time": (9, 0x20)}


def _parse_audit_config(text):
    status, rules, lines = {}, [], text.splitlines()
    for i, line in enumerate(lines):
        k, _, v = line.partition(" ")
        if k == "rules":
            rules = [x for x in lines[i + 1:] if x]
            break
        status[k] = int(v)
    return status, rules


def _audit_request(sock, seq, mtype, payload):
    sock.send(struct.pack("=IHHII", 16 + len(payload), mtype, _NLM_F_REQUEST | _NLM_F_ACK,
                          seq, 0) + payload)
    while True:
        data = sock.recv(65536)
        _, t, _, s, _ = struct.unpack_from("=IHHII", data)
        if t == _NLMSG_ERROR and s == seq:
            err = struct.unpack_from("=i", data, 16)[0]
            if err:
                raise OSError(-err, f"audit netlink request {mtype} failed")
            return


def audit_restore(before):
    """Bring the kernel's audit configuration back to the dump `before` (audit_config()).
    Returns a list of what was changed (empty when nothing was needed)."""
    now = audit_config()
    if now == before:
        return []
    want_status, want_rules = _parse_audit_config(before)
    cur_status, cur_rules = _parse_audit_config(now)
    changed = []
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_AUDIT)
    try:
        seq = 1
        for hexrule in reversed(cur_rules):
            if hexrule in want_rules:
                continue
            seq += 1
            _audit_request(sock, seq, _AUDIT_DEL_RULE, bytes.fromhex(hexrule))
            changed.append("deleted rule " + hexrule[:24] + "…")
        for name, (idx, bit) in _STATUS_FIELDS.items():
            if name in want_status and cur_status.get(name) != want_status[name]:
                vals = [0] * 11
                vals[0], vals[idx] = bit, want_status[name]
                seq += 1
                _audit_request(sock, seq, _AUDIT_SET, struct.pack("=11I", *vals))
                changed.append(f"{name} {cur_status.get(name)} -> {want_status[name]}")
    finally:
        sock.close()
    return changed


FERRETDB = os.environ.get("LINEAGE_FERRETDB", "/var/lib/lineage-dev/bin/ferretdb")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateFerret:
    """A FerretDB (SQLite) of the test's own, on a free port, that the test may kill and
    restart on the same data directory: the shared server on 27017 is never touched."""

    def __init__(self):
        # a test stopped by meson's timeout (SIGTERM) still runs its atexit clean-ups
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        self.dir = tempfile.mkdtemp(prefix="lineage-ferret-")
        self.port = free_port()
        self.uri = f"mongodb://127.0.0.1:{self.port}"
        self.proc = None
        self.starts = 0

    def start(self, timeout=30):
        self.starts += 1
        log = open(os.path.join(self.dir, f"ferretdb.{self.starts}.log"), "w")
        self.proc = subprocess.Popen(
            [FERRETDB, "--handler=sqlite", f"--sqlite-url=file:{self.dir}/",
             f"--state-dir={self.dir}", f"--listen-addr=127.0.0.1:{self.port}",
             "--debug-addr=-", "--telemetry=disable", "--log-level=warn"],
            stdout=log, stderr=log)
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"private ferretdb exited ({self.proc.returncode})")
            try:
                MongoClient(self.uri, serverSelectionTimeoutMS=500).admin.command("ping")
                return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError("private ferretdb did not answer")

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        self.proc = None

    def client(self):
        return MongoClient(self.uri, serverSelectionTimeoutMS=5000)

    def cleanup(self):
        import shutil
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


SERVICES = os.path.join(os.environ.get("SRCDIR", os.path.join(os.path.dirname(__file__), "..", "..")),
                        "scripts", "services.sh")


class PrivateStore:
    """The embedded default store (PostgreSQL 15 and FerretDB on it, both on Unix sockets,
    started by scripts/services.sh) of the test's own, in a state directory of its own, whose
    servers the test may kill and restart: the shared store is never touched."""

    def __init__(self):
        import urllib.parse
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        self.dir = tempfile.mkdtemp(prefix="lineage-store-")
        os.makedirs(os.path.join(self.dir, "bin"))
        os.symlink(os.path.abspath(FERRETDB), os.path.join(self.dir, "bin", "ferretdb"))
        self.env = dict(os.environ, LINEAGE_LOCAL=self.dir, LINEAGE_RUN=os.path.join(self.dir, "run"))
        self.uri = "mongodb://" + urllib.parse.quote(os.path.join(self.dir, "run", "mongodb.sock"),
                                                     safe="")

    def services(self, *args):
        r = subprocess.run(["bash", SERVICES, *args], env=self.env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"services.sh {' '.join(args)} failed: {r.stderr[-2000:]}")

    def start(self):
        self.services("start", "store")

    def start_postgres(self):
        self.services("start", "postgres")

    def start_ferretdb(self):
        self.services("start", "ferretdb")

    def postgres_pids(self):
        """The postmaster and its children (backends, checkpointer, ...)."""
        try:
            with open(os.path.join(self.dir, "pg", "data", "postmaster.pid")) as f:
                pm = int(f.readline())
        except (OSError, ValueError):
            return []
        kids = subprocess.run(["pgrep", "-P", str(pm)], capture_output=True, text=True).stdout
        return [pm] + [int(k) for k in kids.split()]

    def ferretdb_pid(self):
        try:
            with open(os.path.join(self.dir, "ferretdb", "ferretdb.pid")) as f:
                return int(f.read())
        except (OSError, ValueError):
            return None

    def _kill(self, pids):
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.time() + 30
        while time.time() < deadline and any(os.path.exists(f"/proc/{p}") for p in pids):
            time.sleep(0.05)

    def kill_postgres(self):
        """SIGKILL PostgreSQL, every process of it: a crashed database server."""
        self._kill(self.postgres_pids())

    def kill_ferretdb(self):
        pid = self.ferretdb_pid()
        self._kill([pid] if pid else [])

    def client(self):
        return MongoClient(self.uri, serverSelectionTimeoutMS=5000)

    def cleanup(self):
        import shutil
        try:
            self.services("stop", "store")
        except RuntimeError as e:
            print(e, file=sys.stderr)
        self._kill(self.postgres_pids() + [p for p in [self.ferretdb_pid()] if p])
        shutil.rmtree(self.dir, ignore_errors=True)


def read_spool(spool_dir, decode=True):
    """Documents in a spool directory, read independently of spool.c: {collection: [docs]}
    and the number of torn trailing bytes. Files: <coll>.<16 digits>.bson[.open]. Since issue
    33 the raw streams are spooled as segment documents (collection `segments`): decode=True
    gives their documents under their streams (events, proc_events, ...) instead, decoded
    with segments.py (a segment that does not decode raises); decode=False the segment
    documents as they are."""
    import re
    import bson
    import segments
    out, torn = {}, 0
    for name in sorted(os.listdir(spool_dir)):
        m = re.fullmatch(r"([A-Za-z0-9_-]+)\.(\d{16})\.bson(\.open)?", name)
        if not m:
            continue
        data = open(os.path.join(spool_dir, name), "rb").read()
        off = 0
        while off + 4 <= len(data):
            n = struct.unpack_from("<i", data, off)[0]
            if n < 5 or off + n > len(data):
                break
            doc = bson.decode(data[off:off + n])
            if decode and m.group(1) == segments.COLL:
                out.setdefault(doc["stream"], []).extend(segments.decode(doc))
            else:
                out.setdefault(m.group(1), []).append(doc)
            off += n
        torn += len(data) - off
    return out, torn


def spool_files(spool_dir):
    return sorted(f for f in os.listdir(spool_dir) if ".bson" in f) if os.path.isdir(spool_dir) else []
