#!/usr/bin/env python3
"""driver.py — lineage's benchmark (issue 8): the same audit rules and the same workload
(bench/lineage-loadgen, run as the unprivileged user lineage-bench) under each recorder:

  lineage-db      lineage-listener into MongoDB
  lineage-jsonl   lineage-listener --no-db --jsonl FILE (a file in the run's temp dir, so
                  that the lines can be counted; /dev/null would leave nothing to count)
  auditd          Debian's auditd alone, own config dir and log in a temp dir
  auditd-laurel   auditd with laurel as its plugin (own plugins.d and laurel config)

Workloads (--workloads, default all): files, forkstorm, exec (one run per --rates value) on
the host, and container-files, container-forkstorm, container-exec: the same modes inside a
container of the local test image (lineage-busybox:latest, scripts/test-image.sh), run as
  docker run -i --rm --network none --user UID:GID \\
      -v BUILD/bench/lineage-loadgen-static:/loadgen:ro lineage-busybox:latest \\
      /loadgen --wait-start MODE ...
The image has no libc, hence the static copy; the container's exec mode runs the image's
/bin/true (a busybox applet link; the JSON's "container" section says what it resolved to);
the files mode writes under the container's /tmp (its overlay upper layer). Inside, the loadgen
is pid 1 of its own pid namespace; it waits for a byte on stdin until the driver has read its
host pid (docker inspect State.Pid), which is what the recorders see. The docker CLI, dockerd,
containerd and runc (root) add events of their own around each container run: they count in
"host ev" and in the CPU, never as the workload's. The loadgen's host pid first runs
`runc init`, which makes a few syscalls as the bench uid before it execs /loadgen: events of
that pid with an audit serial below its execve's are left out of the counts and listed as
"runtime_events" in the JSON.

For each workload it measures the recorder's CPU (utime+stime of its processes, from
/proc/PID/stat), CPU µs per recorded event, the workload's events expected (loadgen's own
counts) vs recorded (events of the bench uid attributed to the loadgen process and its
children), the kernel's audit `lost` delta, peak RSS (VmHWM) and, for lineage, documents
stored and the insert rate from the session counters. The exec rate is raised until loss
appears; the highest lossless rate is reported per recorder, for the host and the container.
The report ends with `driver: key=value` lines: each recorder's median µs per event by
workload and its max lossless exec rates, then each lineage recorder's ratio to auditd's.

lineage-db spools to disk when the database cannot keep up. After each workload the driver
waits (at most --drain-timeout s) until the listener's spool directory holds no segment and a
stats line (--stats-interval 1) printed after that shows less than one batch queued; the
time from the workload's end is "drain s" (±1 s: one stats line per second), a timeout is a
problem in the report. Documents are counted after the listener stopped (its own stop drains batches and
spool for up to 20 s); whatever is then still in the spool is reported, not counted.
`--queue-max N` (passed to the listener) makes it spool early, to exercise this path.

Only one process can own audit: every recorder run holds /run/lineage-e2e-audit.lock, and the
audit configuration found before (lineage-listener --print-audit-config) is restored and
checked after, also on error. auditd is never left running.

Run as root from the repository, after bench/setup.sh, scripts/test-image.sh and
`ninja -C build bench/lineage-loadgen bench/lineage-loadgen-static listener/lineage-listener`:
  python3 bench/driver.py --build build --out bench.json
"""
import argparse
import datetime
import fcntl
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LOCK = "/run/lineage-e2e-audit.lock"
CLK_TCK = os.sysconf("SC_CLK_TCK")
RECORDERS = ["lineage-db", "lineage-jsonl", "auditd", "auditd-laurel"]
# with --base-listener: the same as lineage-jsonl with another build (before/after in one run)
BASE_RECORDER = "lineage-jsonl-base"
WORKLOADS = ["files", "forkstorm", "exec", "container-files", "container-forkstorm",
             "container-exec"]
CONTAINER_PREFIX = "container-"
# the listener's stats line (listener/main.c print_stats)
STATS_RE = re.compile(r"stats: .*\| queue (\d+) .*? stored (\d+) \(\S+/s\) spooled (\d+) "
                      r"replayed (\d+) dropped (\d+)")
# drained: less than one batch queued (the writer's 500 documents per insert). What is left
# then waits only out the 200 ms batch age; an empty queue is the wrong test, because the
# host's own trickle of events keeps a document or two waiting in most stats lines.
DRAINED_QUEUE = 500
SPOOL_SEGMENT_RE = re.compile(r"[A-Za-z0-9_-]+\.\d{16}\.bson(\.open)?")
# primary syscalls of each workload: what loadgen's counts say must be recorded
X86_64_NR = {"execve": 59, "openat": 257, "write": 1, "close": 3, "clone": 56,
             "exit_group": 231, "open": 2, "clone3": 435}
NR_NAME = {v: k for k, v in X86_64_NR.items()}

lib = None  # tests/e2e/lib.py, imported once the listener path is known


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---- kernel audit status (lost counter) over NETLINK_AUDIT ----

def audit_status():
    """The kernel's struct audit_status as a dict (AUDIT_GET)."""
    import socket
    import struct
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9)
    try:
        s.send(struct.pack("=IHHII", 16, 1000, 1, 1, 0))
        while True:
            data = s.recv(65536)
            _, t, _, _, _ = struct.unpack_from("=IHHII", data)
            if t == 1000:
                v = struct.unpack_from("=10I", data, 16)
                return dict(zip(["mask", "enabled", "failure", "pid", "rate_limit",
                                 "backlog_limit", "lost", "backlog", "feature_bitmap",
                                 "backlog_wait_time"], v))
            if t == 2 and struct.unpack_from("=i", data, 16)[0]:
                raise OSError("AUDIT_GET failed")
    finally:
        s.close()


# ---- /proc measurements ----

def cpu_s(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def hwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return None


def pids_named(name):
    r = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True)
    return [int(p) for p in r.stdout.split()]


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


def lineage_syscalls():
    """The syscall list lineage installs, read from audit_source.c so that both stay equal."""
    text = open(os.path.join(ROOT, "listener", "audit_source.c")).read()
    m = re.search(r"lineage_syscalls\[\]\s*=\s*\{(.*?)\};", text, re.S)
    return re.findall(r'"([a-z0-9_]+)"', m.group(1))


# ---- recorders ----

class Recorder:
    """Common part: the audit lock, the configuration check, processes to measure."""
    name = "?"

    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp
        self.lock = None
        self.before = None

    def acquire(self):
        self.lock = open(LOCK, "w")
        # LINEAGE_BENCH_LOCK_HELD=1: the caller holds the audit lock for the whole run
        # (`flock /run/lineage-e2e-audit.lock env LINEAGE_BENCH_LOCK_HELD=1 driver.py …`), so
        # no other test's listener runs between two recorders
        if os.environ.get("LINEAGE_BENCH_LOCK_HELD") != "1":
            fcntl.flock(self.lock, fcntl.LOCK_EX)
        self.before = lib.audit_config()

    def release(self):
        """Put back the configuration found; report what had to be repaired."""
        problems = []
        try:
            changed = lib.audit_restore(self.before)
            if changed:
                log(f"{self.name}: restored audit configuration: {', '.join(changed)}")
            after = lib.audit_config()
            if after != self.before:
                problems.append("audit configuration differs after the run")
                log(f"{self.name}: WARNING audit configuration differs:\nbefore:\n"
                    f"{self.before}\nafter:\n{after}")
        finally:
            fcntl.flock(self.lock, fcntl.LOCK_UN)
            self.lock.close()
            self.lock = None
        return problems

    def backlog_mark(self):
        """Where the recorder's own backlog counters stand (before a workload), for drain()."""
        return None

    def drain(self, since, timeout, mark):
        """Wait for a recorder's own backlog (only lineage-db has one); None: nothing to wait
        for."""
        return None

    def cpu(self):
        vals = [cpu_s(p) for p in self.pids()]
        return sum(v for v in vals if v is not None)

    def hwm(self):
        vals = [hwm_kib(p) for p in self.pids()]
        return sum(v for v in vals if v is not None)


class Lineage(Recorder):
    def __init__(self, args, tmp, jsonl):
        super().__init__(args, tmp)
        self.jsonl = jsonl
        self.name = "lineage-jsonl" if jsonl else "lineage-db"
        self.binary = args.listener
        self.proc = None
        self.dbname = f"lineage_bench_{int(time.time())}_{os.getpid()}"
        self.jsonl_path = os.path.join(tmp, "events.jsonl")
        self.spool = os.path.join(tmp, "spool")

    def start(self):
        self.errpath = os.path.join(self.tmp, "listener.err")
        # the DB mode's stats line (queue depth, spooled/replayed) tells when the spool drained
        cmd = [self.binary, "--spool", self.spool,
               "--stats-interval", "0" if self.jsonl else "1",
               "--backlog-wait", str(self.args.backlog_wait),
               "--backlog-limit", str(self.args.backlog_limit)]
        if self.args.queue_max:
            cmd += ["--queue-max", str(self.args.queue_max)]
        cmd += self.args.listener_args.split()  # e.g. --no-chain (issue 21: its cost)
        if self.jsonl:
            cmd += ["--no-db", "--jsonl", self.jsonl_path]
        else:
            cmd += ["--uri", self.args.uri, "--db", self.dbname]
        self.err = open(self.errpath, "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.err)
        deadline = time.time() + 30
        while time.time() < deadline:
            text = open(self.errpath).read()
            if self.proc.poll() is not None:
                raise RuntimeError(f"listener exited ({self.proc.returncode}): {text}")
            m = re.search(r"session ([0-9a-f]{24}): recording", text)
            if m:
                self.session = m.group(1)
                time.sleep(1.0)  # snapshot and threads get going
                return
            time.sleep(0.1)
        raise RuntimeError("listener did not start: " + open(self.errpath).read())

    def pids(self):
        return [self.proc.pid] if self.proc and self.proc.poll() is None else []

    def stats_lines(self):
        """The listener's stats lines so far, oldest first: dicts of queue, stored, spooled,
        replayed, dropped."""
        with open(self.errpath, errors="replace") as f:
            return [dict(zip(("queue", "stored", "spooled", "replayed", "dropped"),
                             map(int, m.groups())))
                    for m in map(STATS_RE.search, f) if m]

    def spool_segments(self):
        """Spool segments waiting for replay, closed (.bson) or being written (.bson.open);
        not the .rejected ones the server refused (those are counted, never replayed)."""
        try:
            return [n for n in os.listdir(self.spool) if SPOOL_SEGMENT_RE.fullmatch(n)]
        except FileNotFoundError:
            return []

    def backlog_mark(self):
        return None if self.jsonl else (self.stats_lines() or [{}])[-1]

    def drain(self, since, timeout, mark):
        """Wait until what was produced up to now is in the database: no spool segment, then
        a stats line printed after that (one a second) with an empty queue. Returns the
        seconds from `since` to that moment (None on timeout), whether it timed out, and the
        spool figures since `mark` (backlog_mark() before the workload); only the DB mode
        spools."""
        if self.jsonl:
            return None
        before = mark or {}
        deadline = time.time() + timeout
        empty_mark = None  # number of stats lines when the spool was first seen empty
        while True:
            lines = self.stats_lines()
            segs = self.spool_segments()
            now = time.time()
            if self.proc.poll() is not None:
                raise RuntimeError(f"listener exited ({self.proc.returncode}) while draining")
            if segs:
                empty_mark = None
            elif empty_mark is None:
                empty_mark = len(lines)
            elif len(lines) > empty_mark and lines[-1]["queue"] < DRAINED_QUEUE:
                break
            if now >= deadline:
                break
            time.sleep(0.1)
        last = lines[-1] if lines else {}
        done = not segs and empty_mark is not None and len(lines) > empty_mark \
            and last.get("queue", DRAINED_QUEUE) < DRAINED_QUEUE
        return {"s": (now - since) if done else None, "timed_out": not done,
                "timeout_s": timeout, "segments_left": len(segs),
                "queue": last.get("queue"),
                "spooled": last.get("spooled", 0) - before.get("spooled", 0),
                "replayed": last.get("replayed", 0) - before.get("replayed", 0),
                "stored": last.get("stored", 0) - before.get("stored", 0)}

    def spool_left(self):
        """Documents still in the spool (after the stop): {collection: count} (the raw
        streams' documents, their segments decoded), and the .rejected files the server
        refused."""
        left = {}
        if os.path.isdir(self.spool):
            docs, _ = lib.read_spool(self.spool)
            left = {k: len(v) for k, v in docs.items()}
        rejected = [n for n in (os.listdir(self.spool) if os.path.isdir(self.spool) else [])
                    if n.endswith(".rejected")]
        return left, rejected

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.err.close()
        return self.proc.returncode if self.proc else None

    def events(self):
        """(uid, pid, ppid, syscall name, ts, audit serial) of every recorded syscall
        event."""
        if self.jsonl:
            out = []
            with open(self.jsonl_path, errors="replace") as f:
                for line in f:
                    if not line.startswith('{"collection": "events"'):
                        continue
                    d = json.loads(line)
                    ts = d.get("ts", {}).get("$date")
                    ts = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() \
                        if isinstance(ts, str) else None
                    out.append((d.get("uid"), d.get("pid"), d.get("ppid"), d.get("syscall"), ts,
                                d.get("serial")))
            return out
        from bson import ObjectId
        import segments  # tests/e2e: the raw events are stored as segments (issue 33)
        db = lib.db(self.dbname)
        cur = segments.raw_docs(db, ObjectId(self.session), "events")
        utc = datetime.timezone.utc
        return [(d.get("uid"), d.get("pid"), d.get("ppid"), d.get("syscall"),
                 d["ts"].replace(tzinfo=utc).timestamp() if d.get("ts") else None,
                 d.get("serial")) for d in cur]

    def extra(self):
        """Session counters (documents stored, insert rate) for the DB mode."""
        if self.jsonl:
            return {}
        from bson import ObjectId
        db = lib.db(self.dbname)
        s = db.sessions.find_one({"_id": ObjectId(self.session)}) or \
            db.sessions.find_one({"session": ObjectId(self.session)}) or {}
        c = s.get("counters", {})
        import segments
        docs = {k: sum(int(g["n"]) for g in segments.segments(db, ObjectId(self.session), k))
                for k in ("events", "proc_events", "snapshot")}
        return {"counters": {k: v for k, v in c.items() if isinstance(v, (int, float))},
                "docs_stored": docs,
                "duration_s": ((s.get("ended_at") - s.get("started_at")).total_seconds()
                               if s.get("ended_at") and s.get("started_at") else None)}

    def cleanup(self):
        if not self.jsonl and not self.args.keep_db:
            try:
                lib.db(self.dbname).client.drop_database(self.dbname)
            except Exception as e:  # the figures are already taken
                log(f"drop {self.dbname}: {e}")


class Auditd(Recorder):
    def __init__(self, args, tmp, laurel):
        super().__init__(args, tmp)
        self.laurel = laurel
        self.name = "auditd-laurel" if laurel else "auditd"
        self.proc = None
        self.log_path = os.path.join(tmp, "audit.log")
        self.laurel_dir = os.path.join(tmp, "laurel")

    def write_config(self):
        plugins = os.path.join(self.tmp, "plugins.d")
        os.makedirs(plugins, mode=0o750)
        conf = {
            "local_events": "yes", "write_logs": "yes", "log_file": self.log_path,
            "log_group": "root", "log_format": "ENRICHED", "flush": "INCREMENTAL_ASYNC",
            "freq": "50", "max_log_file": "1000", "num_logs": "2",
            "priority_boost": "4", "name_format": "NONE", "max_log_file_action": "IGNORE",
            "space_left": "75", "space_left_action": "IGNORE", "admin_space_left": "50",
            "admin_space_left_action": "IGNORE", "disk_full_action": "IGNORE",
            "disk_error_action": "IGNORE", "use_libwrap": "no", "tcp_listen_queue": "5",
            "tcp_max_per_addr": "1", "tcp_client_max_idle": "0", "transport": "TCP",
            "distribute_network": "no", "q_depth": str(self.args.q_depth),
            "overflow_action": "SYSLOG", "max_restarts": "10", "plugin_dir": plugins,
            "end_of_event_timeout": "2",
        }
        path = os.path.join(self.tmp, "auditd.conf")
        with open(path, "w") as f:
            f.writelines(f"{k} = {v}\n" for k, v in conf.items())
        os.chmod(path, 0o640)
        if self.laurel:
            os.makedirs(self.laurel_dir)
            shutil.chown(self.laurel_dir, "_laurel")
            lconf = os.path.join(self.tmp, "laurel.toml")
            with open(lconf, "w") as f:
                f.write(f'directory = "{self.laurel_dir}"\nuser = "_laurel"\n'
                        'statusreport-period = 0\n[auditlog]\nfile = "audit.log"\n'
                        'size = 1000000000\ngenerations = 2\n[transform]\n'
                        'execve-argv = [ "array" ]\n[translate]\nuniversal = false\n'
                        'user-db = false\n[enrich]\npid = true\n'
                        'execve-env = [ "LD_PRELOAD", "LD_LIBRARY_PATH" ]\n'
                        'container = true\nscript = true\n')
            os.chmod(lconf, 0o644)
            with open(os.path.join(plugins, "laurel.conf"), "w") as f:
                f.write("active = yes\ndirection = out\ntype = always\nformat = string\n"
                        f"path = /usr/sbin/laurel\nargs = --config {lconf}\n")
            os.chmod(os.path.join(plugins, "laurel.conf"), 0o640)

    def rules_file(self):
        """lineage's rules, written for auditctl: own-exclusion of local database servers
        first (lineage does the same), then the syscall rules for b64 and b32."""
        lines = [f"-b {self.args.backlog_limit}",
                 f"--backlog_wait_time {self.args.backlog_wait}", "-e 1"]
        for pid in pids_named("ferretdb") + pids_named("mongod"):
            lines.append(f"-A exit,never -F arch=b64 -S all -F pid={pid} -k lineage-exclude")
        for arch, table in (("b64", "x86_64"), ("b32", "i386")):
            scs = [s for s in lineage_syscalls()
                   if subprocess.run(["ausyscall", table, s, "--exact"],
                                     capture_output=True).returncode == 0]
            lines.append(f"-a always,exit -F arch={arch} " +
                         " ".join(f"-S {s}" for s in scs) + " -k lineage")
            # issue 17: fcntl only for F_DUPFD, F_DUPFD_CLOEXEC, F_SETFD (audit_source.c)
            fcntl = " ".join(f"-S {s}" for s in ("fcntl", "fcntl64") if subprocess.run(
                ["ausyscall", table, s, "--exact"], capture_output=True).returncode == 0)
            for cmd in (0, 1030, 2):
                lines.append(f"-a always,exit -F arch={arch} {fcntl} -F a1={cmd} -k lineage")
        path = os.path.join(self.tmp, "bench.rules")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def start(self):
        self.write_config()
        rules = self.rules_file()
        self.errpath = os.path.join(self.tmp, "auditd.err")
        self.err = open(self.errpath, "w")
        # -n: no fork (-f would send the events to stderr instead of the log file)
        self.proc = subprocess.Popen(["auditd", "-n", "-s", "enable", "-c", self.tmp],
                                     stdout=self.err, stderr=self.err)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"auditd exited ({self.proc.returncode}): "
                                   + open(self.errpath).read())
            if audit_status()["pid"] == self.proc.pid:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("auditd did not register: " + open(self.errpath).read())
        r = subprocess.run(["auditctl", "-R", rules], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"auditctl -R failed: {r.stdout}{r.stderr}")
        if self.laurel:
            deadline = time.time() + 10
            while time.time() < deadline and not self.laurel_pids():
                time.sleep(0.1)
            lp = self.laurel_pids()
            if not lp:
                raise RuntimeError("laurel did not start: " + open(self.errpath).read())
            # the plugin is not the audit daemon: keep it from recording itself, the way
            # lineage excludes its own database server
            for p in lp:
                subprocess.run(["auditctl", "-A", "exit,never", "-F", "arch=b64", "-S", "all",
                                "-F", f"pid={p}", "-k", "lineage-exclude"], check=True,
                               capture_output=True)
        time.sleep(1.0)

    def laurel_pids(self):
        return [c for c in children(self.proc.pid) if self._comm(c) == "laurel"]

    @staticmethod
    def _comm(pid):
        try:
            return open(f"/proc/{pid}/comm").read().strip()
        except FileNotFoundError:
            return None

    def pids(self):
        if not self.proc or self.proc.poll() is not None:
            return []
        return [self.proc.pid] + (self.laurel_pids() if self.laurel else [])

    def stop(self):
        rc = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
        if self.proc:
            self.err.close()
        subprocess.run(["auditctl", "-D"], capture_output=True)
        time.sleep(0.5)  # laurel drains its pipe and exits after auditd
        return rc

    def events(self):
        """(uid, pid, ppid, syscall name, ts, audit serial) of every recorded syscall
        event."""
        out = []
        if self.laurel:
            for name in sorted(os.listdir(self.laurel_dir)):
                if not name.startswith("audit.log"):
                    continue
                with open(os.path.join(self.laurel_dir, name), errors="replace") as f:
                    for line in f:
                        try:
                            d = json.loads(line)
                        except ValueError:
                            continue
                        sc = d.get("SYSCALL")
                        if not isinstance(sc, dict):
                            continue
                        ts, _, serial = d.get("ID", "0:").partition(":")
                        nr = sc.get("syscall")
                        name_ = sc.get("SYSCALL") or (NR_NAME.get(int(nr), str(nr))
                                                      if nr is not None else None)
                        out.append((int(sc.get("uid", -1)), int(sc.get("pid", -1)),
                                    int(sc.get("ppid", -1)), name_, float(ts),
                                    int(serial) if serial.isdigit() else None))
            return out
        pat = re.compile(r"(\w+)=(\S+)")
        stamp = re.compile(r"msg=audit\((\d+\.\d+):(\d+)\)")
        with open(self.log_path, errors="replace") as f:
            for line in f:
                if not line.startswith("type=SYSCALL "):
                    continue
                kv = dict(pat.findall(line.replace("\x1d", " ")))
                name_ = kv.get("SYSCALL") or NR_NAME.get(int(kv.get("syscall", -1)))
                m = stamp.search(line)
                out.append((int(kv.get("uid", -1)), int(kv.get("pid", -1)),
                            int(kv.get("ppid", -1)), name_, float(m.group(1)) if m else None,
                            int(m.group(2)) if m else None))
        return out

    def extra(self):
        return {}

    def cleanup(self):
        pass


def make_recorder(name, args, tmp):
    if name == BASE_RECORDER:
        rec = Lineage(args, tmp, jsonl=True)
        rec.name, rec.binary = name, args.base_listener
        return rec
    if name.startswith("lineage"):
        return Lineage(args, tmp, jsonl=(name == "lineage-jsonl"))
    return Auditd(args, tmp, laurel=(name == "auditd-laurel"))


# ---- workloads ----

def expected_counts(rep):
    """Primary syscalls a workload must leave in the record, from loadgen's own counts.
    Every loadgen ends with exit_group; write includes the one write of its report line."""
    mode = rep["mode"]
    if mode == "exec":
        return {"execve": rep["execs"]}
    if mode == "files":
        return {"openat": rep["opens"], "write": rep["writes"] + rep["report_writes"],
                "close": rep["closes"]}
    return {"clone": rep["forks"], "exit_group": rep["forks"] + 1}


def run_loadgen(args, spec):
    """The loadgen on the host, as the bench user: its report."""
    r = subprocess.run([args.loadgen, "--user", args.user] + spec, capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise RuntimeError(f"loadgen {' '.join(spec)} failed: {r.stderr}")
    rep = json.loads(r.stdout)
    if rep.get("dir"):
        shutil.rmtree(rep["dir"], ignore_errors=True)
    return rep


def docker_run_cmd(args, name, spec):
    return [lib.DOCKER, "run", "-i", "--rm", "--name", name, "--network", "none",
            "--user", f"{args.uid}:{args.gid}", "-v", f"{args.loadgen_static}:/loadgen:ro",
            args.image, "/loadgen", "--wait-start"] + spec


def run_container_loadgen(args, spec):
    """The static loadgen in a container of the test image, as the bench uid:gid. It waits for
    a byte on stdin until its host pid is known (docker inspect); that pid replaces the one it
    reports (1, its own pid namespace's)."""
    run_container_loadgen.n = getattr(run_container_loadgen, "n", 0) + 1
    name = f"lineage-bench-{os.getpid()}-{run_container_loadgen.n}"
    p = subprocess.Popen(docker_run_cmd(args, name, spec), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    host_pid, deadline = 0, time.time() + 60
    try:
        while not host_pid and time.time() < deadline and p.poll() is None:
            r = subprocess.run([lib.DOCKER, "inspect", "-f", "{{.State.Pid}}", name],
                               capture_output=True, text=True)
            host_pid = int(r.stdout.strip() or 0) if r.returncode == 0 else 0
            if not host_pid:
                time.sleep(0.05)
        # without the byte (stdin just closed) the loadgen exits before its workload
        out, err = p.communicate(input=b"g" if host_pid else b"",
                                 timeout=args.seconds * 2 + 120)
    except BaseException:
        p.kill()
        p.wait()
        subprocess.run([lib.DOCKER, "rm", "-f", name], capture_output=True)
        raise
    if not host_pid or p.returncode != 0:
        raise RuntimeError(f"container loadgen {' '.join(spec)} failed (host pid {host_pid}, "
                           f"exit {p.returncode}): {err.decode(errors='replace')}")
    rep = json.loads(out)
    rep["pid_in_container"], rep["pid"], rep["container_name"] = rep["pid"], host_pid, name
    return rep


def run_workload(args, rec, workload, spec):
    """One workload (host or container), with the recorder's CPU and the kernel's lost count
    around it; lineage-db's spool is drained before the CPU is read."""
    container = workload.startswith(CONTAINER_PREFIX)
    lost0 = audit_status()["lost"]
    cpu0 = rec.cpu()
    mark = rec.backlog_mark()
    t0 = time.time()
    rep = run_container_loadgen(args, spec) if container else run_loadgen(args, spec)
    t_end = time.time()
    drain = rec.drain(t_end, args.drain_timeout, mark)
    # the recorder finishes what the kernel queued
    time.sleep(max(0.0, t_end + args.settle - time.time()))
    cpu1 = rec.cpu()
    lost1 = audit_status()["lost"]
    label = ("container " if container else "") + " ".join(spec)
    return {"spec": label, "workload": workload, "where": "container" if container else "host",
            "loadgen": rep, "cpu_s": cpu1 - cpu0, "lost": lost1 - lost0, "drain": drain,
            "drain_s": drain["s"] if drain else None,
            "wall_s": time.time() - t0, "t0": t0, "t1": time.time(),
            "expected": expected_counts(rep)}


def attribute(results, events, uid):
    """Count the recorded events of each workload: the loadgen process and its children.
    In a container the loadgen's pid first runs the runtime's `runc init`, which does a few
    syscalls (close, openat, write) as the bench uid before it execs /loadgen: events of that
    pid with a serial below its execve's are the runtime's, not the workload's."""
    by_pid = {}
    for w in results:
        w["window_events"] = sum(1 for e in events if e[4] is not None and
                                 w["t0"] - 0.5 <= e[4] <= w["t1"])
    for _, pid, ppid, sc, _, serial in (e for e in events if e[0] == uid):
        by_pid.setdefault(pid, []).append(("self", sc, serial))
        by_pid.setdefault(ppid, []).append(("child", sc, serial))
    for w in results:
        lp = w["loadgen"]["pid"]
        mine = by_pid.get(lp, [])
        # the host loadgen is exec'd as root (not the bench uid): no such execve there
        execs = [serial for who, sc, serial in mine
                 if who == "self" and sc == "execve" and serial is not None]
        if execs:
            start = min(execs)
            before = [e for e in mine if e[0] == "self" and e[2] is not None and e[2] < start]
            mine = [e for e in mine if not (e[0] == "self" and e[2] is not None
                                            and e[2] < start)]
            w["runtime_events"] = {sc: sum(1 for e in before if e[1] == sc)
                                   for sc in sorted({e[1] for e in before})}
        w["loadgen_execve_recorded"] = bool(execs)
        total = len(mine)  # self events + events of the children (pid != lp)
        per = {}
        for sc in w["expected"]:
            if sc == "execve":
                n = sum(1 for who, s, _ in mine if who == "child" and s == "execve")
            elif sc == "exit_group":
                n = sum(1 for who, s, _ in mine if s == "exit_group")
            else:
                n = sum(1 for who, s, _ in mine if who == "self" and s == sc)
            per[sc] = n
        w["recorded_by_syscall"] = {k: per[k] for k in w["expected"]}
        w["expected_total"] = sum(w["expected"].values())
        w["recorded_total"] = sum(min(per[k], w["expected"][k]) for k in w["expected"])
        w["missing"] = w["expected_total"] - w["recorded_total"]
        # more than loadgen did: another process of the bench uid, or a wrong attribution
        w["excess_by_syscall"] = {k: per[k] - w["expected"][k] for k in w["expected"]
                                  if per[k] > w["expected"][k]}
        w["recorded_all"] = total
        # the rules are lineage's, not scoped to the bench uid: the recorder also records
        # the rest of the host in the window, and its CPU covers all of it
        w["cpu_us_per_event"] = (w["cpu_s"] * 1e6 / w["window_events"]) if w["window_events"] \
            else None
        w["lossless"] = w["missing"] == 0 and w["lost"] == 0


def run_recorder(args, name):
    tmp = tempfile.mkdtemp(prefix=f"lineage-bench-{name}-")
    rec = make_recorder(name, args, tmp)
    res = {"recorder": name, "workloads": [], "problems": []}
    rec.acquire()
    try:
        rec.start()
        log(f"{name}: recording (pids {rec.pids()})")
        cpu_start = rec.cpu()
        for wl in args.workloads:
            mode = wl[len(CONTAINER_PREFIX):] if wl.startswith(CONTAINER_PREFIX) else wl
            if mode == "files" and args.files:
                specs = [["files", "--count", str(args.files)]]
            elif mode == "forkstorm" and args.forks:
                specs = [["forkstorm", "--count", str(args.forks)]]
            elif mode == "exec":
                specs = [["exec", "--rate", str(rate), "--seconds", str(args.seconds)]
                         for rate in args.rates]
            else:
                specs = []
            for spec in specs:
                w = run_workload(args, rec, wl, spec)
                res["workloads"].append(w)
                d = w["drain"]
                msg = f"{name}: {w['spec']}: cpu {w['cpu_s']:.2f}s lost {w['lost']}"
                if mode == "exec":
                    msg += f" achieved {w['loadgen']['execs'] / w['loadgen']['elapsed']:.0f}/s"
                if d:
                    msg += (f" spooled {d['spooled']} drain "
                            + (f"{d['s']:.1f}s" if not d["timed_out"] else
                               f"TIMEOUT {d['timeout_s']:g}s ({d['segments_left']} segments, "
                               f"queue {d['queue']})"))
                    if d["timed_out"]:
                        res["problems"].append(
                            f"spool not drained {d['timeout_s']:g} s after {w['spec']} "
                            f"({d['segments_left']} segments, queue {d['queue']})")
                log(msg)
                if mode == "exec" and w["lost"] > 0 and not args.no_stop_at_loss:
                    break
        res["peak_rss_kib"] = rec.hwm()
        res["cpu_total_s"] = rec.cpu() - cpu_start
        res["exit"] = rec.stop()
        if isinstance(rec, Lineage) and not rec.jsonl:
            left, rejected = rec.spool_left()
            res["spool_left_after_stop"] = left
            res["spool_rejected_files"] = rejected
            if sum(left.values()):
                res["problems"].append(f"{sum(left.values())} documents still in the spool "
                                       f"after the listener stopped (not counted): {left}")
        events = rec.events()
        attribute(res["workloads"], events, args.uid)
        res.update(rec.extra())
        # the lost counter may lag: a workload is lossless only with nothing missing either
        for where, key in (("host", "max_lossless_rate"),
                           ("container", "max_lossless_rate_container")):
            lossless = [w["loadgen"]["rate"] for w in res["workloads"]
                        if w["loadgen"]["mode"] == "exec" and w["where"] == where
                        and w["lossless"]]
            ran = any(w["loadgen"]["mode"] == "exec" and w["where"] == where
                      for w in res["workloads"])
            res[key] = (max(lossless) if lossless else 0) if ran else None
        drains = [w["drain"]["s"] for w in res["workloads"]
                  if w.get("drain") and w["drain"]["s"] is not None]
        res["drain_max_s"] = max(drains) if drains else None
    except Exception as e:
        res["problems"].append(f"error: {e}")
        log(f"{name}: ERROR {e}")
    finally:
        try:
            rec.stop()
        finally:
            res["problems"] += rec.release()
            rec.cleanup()
            if pids_named("auditd"):
                res["problems"].append("auditd still running after the run")
            if not args.keep_tmp:
                shutil.rmtree(tmp, ignore_errors=True)
    return res


# ---- report ----

def fmt(v, spec="{:.1f}"):
    return "-" if v is None else spec.format(v)


def summarize(runs):
    """Repetitions of one recorder → per-workload min/median of the figures."""
    rows = {}
    for run in runs:
        for w in run["workloads"]:
            rows.setdefault(w["spec"], []).append(w)
    out = []
    for spec, ws in rows.items():
        def mm(key):
            vals = [w[key] for w in ws if w.get(key) is not None]
            return (min(vals), statistics.median(vals)) if vals else (None, None)
        out.append({"spec": spec, "n": len(ws), "cpu_s": mm("cpu_s"),
                    "cpu_us_per_event": mm("cpu_us_per_event"), "expected": mm("expected_total"),
                    "recorded": mm("recorded_total"), "recorded_all": mm("recorded_all"),
                    "lost": mm("lost"), "missing": mm("missing"),
                    "window_events": mm("window_events"), "drain_s": mm("drain_s"),
                    "drain_timeout": max((w["drain"]["timeout_s"] for w in ws
                                          if w.get("drain") and w["drain"]["timed_out"]),
                                         default=None)})
    return out


def print_table(results, f=sys.stdout):
    hdr = (f"{'recorder':<14} {'workload':<40} {'cpu s':>7} {'µs/ev':>7} {'expected':>9} "
           f"{'recorded':>9} {'bench ev':>8} {'host ev':>8} {'lost':>6} {'missing':>7} "
           f"{'drain s':>7}")
    print(hdr, file=f)
    print("-" * len(hdr), file=f)
    for name, runs in results["recorders"].items():
        for row in summarize(runs):
            med = {k: (v[1] if isinstance(v, tuple) else v) for k, v in row.items()}
            # a drain that timed out in any repetition shows as ">TIMEOUT"
            drain = fmt(med["drain_s"]) if row["drain_timeout"] is None \
                else f">{row['drain_timeout']:g}"
            print(f"{name:<14} {row['spec']:<40} {fmt(med['cpu_s'], '{:.2f}'):>7} "
                  f"{fmt(med['cpu_us_per_event']):>7} {fmt(med['expected'], '{:.0f}'):>9} "
                  f"{fmt(med['recorded'], '{:.0f}'):>9} {fmt(med['recorded_all'], '{:.0f}'):>8} "
                  f"{fmt(med['window_events'], '{:.0f}'):>8} "
                  f"{fmt(med['lost'], '{:.0f}'):>6} {fmt(med['missing'], '{:.0f}'):>7} "
                  f"{drain:>7}", file=f)
    print(file=f)
    print(f"{'recorder':<14} {'max lossless exec/s':>20} {'in container':>13} "
          f"{'peak RSS MiB':>13} {'docs stored':>12} {'insert docs/s':>14} "
          f"{'drain max s':>12}  problems", file=f)
    for name, runs in results["recorders"].items():
        def worst(key):
            vals = [r.get(key) for r in runs if r.get(key) is not None]
            return min(vals) if vals else None
        rss = [r.get("peak_rss_kib") for r in runs if r.get("peak_rss_kib")]
        docs = [sum(r["docs_stored"].values()) for r in runs if r.get("docs_stored")]
        ins = [sum(r["docs_stored"].values()) / r["duration_s"] for r in runs
               if r.get("docs_stored") and r.get("duration_s")]
        drains = [r["drain_max_s"] for r in runs if r.get("drain_max_s") is not None]
        probs = "; ".join(p for r in runs for p in r["problems"]) or "none"
        print(f"{name:<14} {fmt(worst('max_lossless_rate'), '{}'):>20} "
              f"{fmt(worst('max_lossless_rate_container'), '{}'):>13} "
              f"{fmt(max(rss) / 1024 if rss else None):>13} "
              f"{fmt(statistics.median(docs) if docs else None, '{:.0f}'):>12} "
              f"{fmt(statistics.median(ins) if ins else None, '{:.0f}'):>14} "
              f"{fmt(max(drains) if drains else None):>12}  {probs}", file=f)


def summary_key(spec):
    """'container exec --rate 1000 --seconds 3' → 'container_exec_1000'."""
    words = [w for w in spec.split() if w not in ("--count", "--rate")]
    if "--seconds" in words:
        words = words[:words.index("--seconds")]
    return "_".join(words)


def print_summary(results, f=sys.stdout):
    """The `driver: key=value` lines, last: per recorder the median µs per event of each
    workload and the max lossless exec rates, then each recorder's ratio to auditd's."""
    med = {}
    for name, runs in results["recorders"].items():
        med[name] = {summary_key(row["spec"]): row["cpu_us_per_event"][1]
                     for row in summarize(runs) if row["cpu_us_per_event"][1] is not None}
        figs = " ".join(f"{k}={v:.1f}" for k, v in med[name].items())
        worst = {}
        for key in ("max_lossless_rate", "max_lossless_rate_container"):
            vals = [r.get(key) for r in runs if r.get(key) is not None]
            worst[key] = min(vals) if vals else None
        lossless = " ".join(f"{k.replace('_rate', '')}={v}" for k, v in worst.items()
                            if v is not None)
        print(f"driver: {name} us_per_event {figs} {lossless}".rstrip(), file=f)
    base = med.get("auditd")
    if not base:
        return
    for name, figs in med.items():
        if name.startswith("auditd"):
            continue
        ratios = " ".join(f"{k}={v / base[k]:.2f}" for k, v in figs.items() if base.get(k))
        print(f"driver: ratio_{name}_to_auditd {ratios}", file=f)


def container_preflight(args):
    """Check the test image and say what the container's exec mode runs (before any recorder
    starts, so that these docker runs are nobody's events)."""
    r = lib.docker("image", "inspect", "-f", "{{.Id}}", args.image, check=False)
    if r.returncode != 0:
        sys.exit(f"driver.py: image {args.image} missing: scripts/test-image.sh "
                 "(or --workloads without container-*)")
    image_id = r.stdout.strip()
    ls = lib.docker("run", "--rm", "--network", "none", args.image, "ls", "-l", "/bin/true",
                    check=False)
    m = re.search(r"/bin/true(?: -> (\S+))?", ls.stdout)
    if ls.returncode != 0 or not m:
        sys.exit(f"driver.py: no /bin/true in {args.image}: {ls.stdout}{ls.stderr}")
    target = m.group(1)
    # a smoke run of the static loadgen: the bind mount, the uid and /tmp work
    p = subprocess.run(docker_run_cmd(args, f"lineage-bench-{os.getpid()}-check",
                                      ["files", "--count", "1"]),
                       input="g", capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"driver.py: the static loadgen does not run in {args.image}: {p.stderr}")
    return {"image": args.image, "image_id": image_id, "program": "/bin/true",
            "program_resolves_to": (f"{target} (symlink; busybox runs its 'true' applet)"
                                    if target else "a regular file"),
            "loadgen": args.loadgen_static,
            "docker_run": " ".join(docker_run_cmd(args, "NAME", ["MODE", "..."]))}


def main():
    global lib
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build", help="meson build directory (default build)")
    ap.add_argument("--recorders", default=",".join(RECORDERS),
                    help=f"comma-separated subset of {','.join(RECORDERS)}")
    ap.add_argument("--rates", default="200,500,1000,2000", help="exec rates, per second")
    ap.add_argument("--seconds", type=float, default=5, help="seconds per exec rate")
    ap.add_argument("--files", type=int, default=20000, help="files mode count (0 = skip)")
    ap.add_argument("--forks", type=int, default=2000, help="forkstorm count (0 = skip)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--base-listener",
                    help=f"another lineage-listener binary, run as recorder {BASE_RECORDER}")
    ap.add_argument("--user", default="lineage-bench")
    ap.add_argument("--uri", default=os.environ.get("LINEAGE_MONGODB_URI",
                                                    "mongodb://%2Frun%2Flineage%2Fmongodb.sock"))
    ap.add_argument("--backlog-limit", type=int, default=8192)
    ap.add_argument("--backlog-wait", type=int, default=0,
                    help="kernel backlog_wait_time for every recorder (default 0: the kernel "
                         "drops and counts lost instead of slowing the workload)")
    ap.add_argument("--q-depth", type=int, default=2000, help="auditd plugin queue depth")
    ap.add_argument("--settle", type=float, default=3.0,
                    help="seconds after each workload before the figures are read")
    ap.add_argument("--no-stop-at-loss", action="store_true",
                    help="run every rate even after loss appeared")
    ap.add_argument("--workloads", default=",".join(WORKLOADS),
                    help=f"comma-separated subset of {','.join(WORKLOADS)}, run in this order "
                         "(default all)")
    ap.add_argument("--image", default=os.environ.get("LINEAGE_TEST_IMAGE",
                                                      "lineage-busybox:latest"),
                    help="image of the container workloads (scripts/test-image.sh builds it)")
    ap.add_argument("--drain-timeout", type=float, default=300,
                    help="lineage-db: seconds to wait after each workload for its queue and "
                         "spool to drain (a timeout is reported as a problem)")
    ap.add_argument("--queue-max", type=int,
                    help="lineage: documents queued in memory before spooling (default: the "
                         "listener's, 100000); small values exercise the spool")
    ap.add_argument("--listener-args", default="",
                    help="lineage: more listener options, space separated (e.g. --no-chain)")
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--keep-tmp", action="store_true")
    ap.add_argument("--out", help="write the results as JSON to this file")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("driver.py: must run as root")
    args.rates = [int(r) for r in args.rates.split(",") if r]
    args.listener = os.path.join(args.build, "listener", "lineage-listener")
    args.loadgen = os.path.join(args.build, "bench", "lineage-loadgen")
    args.loadgen_static = os.path.abspath(os.path.join(args.build, "bench",
                                                       "lineage-loadgen-static"))
    args.workloads = [w for w in args.workloads.split(",") if w]
    for w in args.workloads:
        if w not in WORKLOADS:
            sys.exit(f"driver.py: unknown workload {w}")
    containers = any(w.startswith(CONTAINER_PREFIX) for w in args.workloads)
    for p in [args.listener, args.loadgen] + ([args.loadgen_static] if containers else []):
        if not os.access(p, os.X_OK):
            sys.exit(f"driver.py: {p} missing: ninja -C {args.build} bench/lineage-loadgen "
                     "bench/lineage-loadgen-static listener/lineage-listener")
    import pwd
    pw = pwd.getpwnam(args.user)
    args.uid, args.gid = pw.pw_uid, pw.pw_gid
    os.environ["LISTENER"] = args.listener
    sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
    import lib as e2e_lib
    lib = e2e_lib
    names = [n for n in args.recorders.split(",") if n]
    for n in names:
        if n == BASE_RECORDER and args.base_listener:
            continue
        if n not in RECORDERS:
            sys.exit(f"driver.py: unknown recorder {n}")
    if pids_named("auditd"):
        sys.exit("driver.py: an auditd is running: it owns audit; stop it first")
    container_info = container_preflight(args) if containers else None

    # a SIGTERM still runs the finally blocks (auditd stopped, audit configuration restored)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
               "host": {"kernel": platform.release(), "cpus": os.cpu_count(),
                        "machine": platform.machine()},
               "config": {k: v for k, v in vars(args).items() if k != "recorders"},
               "container": container_info, "recorders": {n: [] for n in names}}
    for i in range(args.repeat):
        for n in names:
            log(f"run {i + 1}/{args.repeat}: {n}")
            results["recorders"][n].append(run_recorder(args, n))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1, default=str)
    print(f"lineage bench {results['date']} kernel {results['host']['kernel']} "
          f"{results['host']['cpus']} cpus, backlog_limit {args.backlog_limit} "
          f"backlog_wait {args.backlog_wait}, exec {args.seconds:g} s per rate, "
          f"repeat {args.repeat} (median)")
    if container_info:
        print(f"container: {container_info['image']} ({container_info['image_id'][:19]}), "
              f"exec mode runs {container_info['program']} -> "
              f"{container_info['program_resolves_to']}")
    print_table(results)
    print_summary(results)
    bad = [p for runs in results["recorders"].values() for r in runs for p in r["problems"]]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
