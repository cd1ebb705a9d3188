#!/usr/bin/env python3
"""driver.py — lineage's benchmark (issue 8): the same audit rules and the same workload
(bench/lineage-loadgen, run as the unprivileged user lineage-bench) under each recorder:

  lineage-db      lineage-listener into MongoDB
  lineage-jsonl   lineage-listener --no-db --jsonl FILE (a file in the run's temp dir, so
                  that the lines can be counted; /dev/null would leave nothing to count)
  auditd          Debian's auditd alone, own config dir and log in a temp dir
  auditd-laurel   auditd with laurel as its plugin (own plugins.d and laurel config)

For each workload it measures the recorder's CPU (utime+stime of its processes, from
/proc/PID/stat), CPU µs per recorded event, the workload's events expected (loadgen's own
counts) vs recorded (events of the bench uid attributed to the loadgen process and its
children), the kernel's audit `lost` delta, peak RSS (VmHWM) and, for lineage, documents
stored and the insert rate from the session counters. The exec rate is raised until loss
appears; the highest lossless rate is reported per recorder.

Only one process can own audit: every recorder run holds /run/lineage-e2e-audit.lock, and the
audit configuration found before (lineage-listener --print-audit-config) is restored and
checked after, also on error. auditd is never left running.

Run as root from the repository, after bench/setup.sh and
`ninja -C build-i bench/lineage-loadgen listener/lineage-listener`:
  python3 bench/driver.py --build build-i --out bench.json
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
        self.proc = None
        self.dbname = f"lineage_bench_{int(time.time())}_{os.getpid()}"
        self.jsonl_path = os.path.join(tmp, "events.jsonl")

    def start(self):
        self.errpath = os.path.join(self.tmp, "listener.err")
        cmd = [self.args.listener, "--spool", os.path.join(self.tmp, "spool"),
               "--stats-interval", "0", "--backlog-wait", str(self.args.backlog_wait),
               "--backlog-limit", str(self.args.backlog_limit)]
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
        """(uid, pid, ppid, syscall name, ts) of every recorded syscall event."""
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
                    out.append((d.get("uid"), d.get("pid"), d.get("ppid"), d.get("syscall"), ts))
            return out
        from bson import ObjectId
        db = lib.db(self.dbname)
        cur = db.events.find({"session": ObjectId(self.session)},
                             {"_id": 0, "uid": 1, "pid": 1, "ppid": 1, "syscall": 1, "ts": 1})
        utc = datetime.timezone.utc
        return [(d.get("uid"), d.get("pid"), d.get("ppid"), d.get("syscall"),
                 d["ts"].replace(tzinfo=utc).timestamp() if d.get("ts") else None) for d in cur]

    def extra(self):
        """Session counters (documents stored, insert rate) for the DB mode."""
        if self.jsonl:
            return {}
        from bson import ObjectId
        db = lib.db(self.dbname)
        s = db.sessions.find_one({"_id": ObjectId(self.session)}) or \
            db.sessions.find_one({"session": ObjectId(self.session)}) or {}
        c = s.get("counters", {})
        docs = {k: db[k].count_documents({"session": ObjectId(self.session)})
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
                        ts = float(d.get("ID", "0:").split(":")[0])
                        nr = sc.get("syscall")
                        name_ = sc.get("SYSCALL") or (NR_NAME.get(int(nr), str(nr))
                                                      if nr is not None else None)
                        out.append((int(sc.get("uid", -1)), int(sc.get("pid", -1)),
                                    int(sc.get("ppid", -1)), name_, ts))
            return out
        pat = re.compile(r"(\w+)=(\S+)")
        stamp = re.compile(r"msg=audit\((\d+\.\d+):")
        with open(self.log_path, errors="replace") as f:
            for line in f:
                if not line.startswith("type=SYSCALL "):
                    continue
                kv = dict(pat.findall(line.replace("\x1d", " ")))
                name_ = kv.get("SYSCALL") or NR_NAME.get(int(kv.get("syscall", -1)))
                m = stamp.search(line)
                out.append((int(kv.get("uid", -1)), int(kv.get("pid", -1)),
                            int(kv.get("ppid", -1)), name_, float(m.group(1)) if m else None))
        return out

    def extra(self):
        return {}

    def cleanup(self):
        pass


def make_recorder(name, args, tmp):
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


def run_workload(args, rec, spec):
    cmd = [args.loadgen, "--user", args.user] + spec
    lost0 = audit_status()["lost"]
    cpu0 = rec.cpu()
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"loadgen {' '.join(spec)} failed: {r.stderr}")
    rep = json.loads(r.stdout)
    time.sleep(args.settle)  # the recorder finishes what the kernel queued
    cpu1 = rec.cpu()
    lost1 = audit_status()["lost"]
    if rep.get("dir"):
        shutil.rmtree(rep["dir"], ignore_errors=True)
    return {"spec": " ".join(spec), "loadgen": rep, "cpu_s": cpu1 - cpu0,
            "lost": lost1 - lost0, "wall_s": time.time() - t0, "t0": t0, "t1": time.time(), "expected": expected_counts(rep)}


def attribute(results, events, uid):
    """Count the recorded events of each workload: the loadgen process and its children."""
    by_pid = {}
    for w in results:
        w["window_events"] = sum(1 for e in events if e[4] is not None and
                                 w["t0"] - 0.5 <= e[4] <= w["t1"])
    events = [e[1:4] for e in events if e[0] == uid]
    for pid, ppid, sc in events:
        by_pid.setdefault(pid, []).append(("self", sc))
        by_pid.setdefault(ppid, []).append(("child", sc))
    for w in results:
        lp = w["loadgen"]["pid"]
        mine = by_pid.get(lp, [])
        total = len(mine)  # self events + events of the children (pid != lp)
        per = {}
        for who, sc in mine:
            per.setdefault(sc, 0)
        for sc in w["expected"]:
            if sc == "execve":
                n = sum(1 for who, s in mine if who == "child" and s == "execve")
            elif sc == "exit_group":
                n = sum(1 for who, s in mine if s == "exit_group")
            else:
                n = sum(1 for who, s in mine if who == "self" and s == sc)
            per[sc] = n
        w["recorded_by_syscall"] = {k: per[k] for k in w["expected"]}
        w["expected_total"] = sum(w["expected"].values())
        w["recorded_total"] = sum(min(per[k], w["expected"][k]) for k in w["expected"])
        w["missing"] = w["expected_total"] - w["recorded_total"]
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
        for spec in ([["files", "--count", str(args.files)]] if args.files else []) + \
                    ([["forkstorm", "--count", str(args.forks)]] if args.forks else []):
            w = run_workload(args, rec, spec)
            res["workloads"].append(w)
            log(f"{name}: {w['spec']}: cpu {w['cpu_s']:.2f}s lost {w['lost']}")
        for rate in args.rates:
            w = run_workload(args, rec, ["exec", "--rate", str(rate), "--seconds",
                                         str(args.seconds)])
            res["workloads"].append(w)
            log(f"{name}: exec {rate}/s: cpu {w['cpu_s']:.2f}s lost {w['lost']} "
                f"achieved {w['loadgen']['execs'] / w['loadgen']['elapsed']:.0f}/s")
            if w["lost"] > 0 and not args.no_stop_at_loss:
                break
        res["peak_rss_kib"] = rec.hwm()
        res["cpu_total_s"] = rec.cpu() - cpu_start
        res["exit"] = rec.stop()
        events = rec.events()
        attribute(res["workloads"], events, args.uid)
        res.update(rec.extra())
        # the lost counter may lag: a workload is lossless only with nothing missing either
        lossless = [w["loadgen"]["rate"] for w in res["workloads"]
                    if w["loadgen"]["mode"] == "exec" and w["lossless"]]
        res["max_lossless_rate"] = max(lossless) if lossless else 0
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
                    "window_events": mm("window_events")})
    return out


def print_table(results, f=sys.stdout):
    hdr = (f"{'recorder':<14} {'workload':<28} {'cpu s':>7} {'µs/ev':>7} {'expected':>9} "
           f"{'recorded':>9} {'bench ev':>8} {'host ev':>8} {'lost':>6} {'missing':>7}")
    print(hdr, file=f)
    print("-" * len(hdr), file=f)
    for name, runs in results["recorders"].items():
        for row in summarize(runs):
            med = {k: (v[1] if isinstance(v, tuple) else v) for k, v in row.items()}
            print(f"{name:<14} {row['spec']:<28} {fmt(med['cpu_s'], '{:.2f}'):>7} "
                  f"{fmt(med['cpu_us_per_event']):>7} {fmt(med['expected'], '{:.0f}'):>9} "
                  f"{fmt(med['recorded'], '{:.0f}'):>9} {fmt(med['recorded_all'], '{:.0f}'):>8} "
                  f"{fmt(med['window_events'], '{:.0f}'):>8} "
                  f"{fmt(med['lost'], '{:.0f}'):>6} {fmt(med['missing'], '{:.0f}'):>7}", file=f)
    print(file=f)
    print(f"{'recorder':<14} {'max lossless exec/s':>20} {'peak RSS MiB':>13} "
          f"{'docs stored':>12} {'insert docs/s':>14}  problems", file=f)
    for name, runs in results["recorders"].items():
        rates = [r.get("max_lossless_rate", 0) for r in runs]
        rss = [r.get("peak_rss_kib") for r in runs if r.get("peak_rss_kib")]
        docs = [sum(r["docs_stored"].values()) for r in runs if r.get("docs_stored")]
        ins = [sum(r["docs_stored"].values()) / r["duration_s"] for r in runs
               if r.get("docs_stored") and r.get("duration_s")]
        probs = "; ".join(p for r in runs for p in r["problems"]) or "none"
        print(f"{name:<14} {min(rates) if rates else 0:>20} "
              f"{fmt(max(rss) / 1024 if rss else None):>13} "
              f"{fmt(statistics.median(docs) if docs else None, '{:.0f}'):>12} "
              f"{fmt(statistics.median(ins) if ins else None, '{:.0f}'):>14}  {probs}", file=f)


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
    ap.add_argument("--user", default="lineage-bench")
    ap.add_argument("--uri", default=os.environ.get("LINEAGE_MONGODB_URI",
                                                    "mongodb://127.0.0.1:27017"))
    ap.add_argument("--backlog-limit", type=int, default=8192)
    ap.add_argument("--backlog-wait", type=int, default=0,
                    help="kernel backlog_wait_time for every recorder (default 0: the kernel "
                         "drops and counts lost instead of slowing the workload)")
    ap.add_argument("--q-depth", type=int, default=2000, help="auditd plugin queue depth")
    ap.add_argument("--settle", type=float, default=3.0,
                    help="seconds after each workload before the figures are read")
    ap.add_argument("--no-stop-at-loss", action="store_true",
                    help="run every rate even after loss appeared")
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--keep-tmp", action="store_true")
    ap.add_argument("--out", help="write the results as JSON to this file")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("driver.py: must run as root")
    args.rates = [int(r) for r in args.rates.split(",") if r]
    args.listener = os.path.join(args.build, "listener", "lineage-listener")
    args.loadgen = os.path.join(args.build, "bench", "lineage-loadgen")
    for p in (args.listener, args.loadgen):
        if not os.access(p, os.X_OK):
            sys.exit(f"driver.py: {p} missing: ninja -C {args.build} "
                     "bench/lineage-loadgen listener/lineage-listener")
    import pwd
    args.uid = pwd.getpwnam(args.user).pw_uid
    os.environ["LISTENER"] = args.listener
    sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
    import lib as e2e_lib
    lib = e2e_lib
    names = [n for n in args.recorders.split(",") if n]
    for n in names:
        if n not in RECORDERS:
            sys.exit(f"driver.py: unknown recorder {n}")
    if pids_named("auditd"):
        sys.exit("driver.py: an auditd is running: it owns audit; stop it first")

    # a SIGTERM still runs the finally blocks (auditd stopped, audit configuration restored)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
               "host": {"kernel": platform.release(), "cpus": os.cpu_count(),
                        "machine": platform.machine()},
               "config": {k: v for k, v in vars(args).items() if k != "recorders"},
               "recorders": {n: [] for n in names}}
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
    print_table(results)
    bad = [p for runs in results["recorders"].values() for r in runs for p in r["problems"]]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
