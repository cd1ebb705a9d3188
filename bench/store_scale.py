#!/usr/bin/env python3
"""store_scale.py — what the store does to lineage at scale (issue 15, item 6): ingest by the
real listener, lineage-filter on a big session and its re-run, every lineage-query subcommand
on that session with millions of other events stored, and the bytes a raw event costs. Run on
the embedded default store (FerretDB on PostgreSQL, --uri) and, in the same run, on the old
store (a private FerretDB --handler=sqlite started here) at a size that finishes.

Steps, per store (--stores, default pg,sqlite):
  ingest    lineage-listener records the whole host into a database of its own while
            bench/lineage-loadgen files runs paced at each --ingest-rates value (events/s of
            the workload; open+write+close = 3 events an operation) for --ingest-seconds. From
            the listener's stats lines (one a second): stored documents/s over the step, queue
            depth, spooled. A step is sustained when nothing was spooled or dropped and the queue
            ended below 1 s of what was stored; ingest_events_per_s is the best stored rate of
            a sustained step (other agents' events are recorded and stored too: they count).
            The ramp stops at the first step that is not sustained. Holds
            /run/lineage-e2e-audit.lock while the listener runs (tests/e2e/lib.py).
  others    --others events of background sessions (bench/synth.py --role other, ≤ 1M each,
            two generators at once) in the bench database (--db, default lineage_bench_scale):
            generated once, kept and reused by later runs (pg); the sqlite store's are in its
            temp directory.
  session   a --events session (bench/synth.py, 4 big containers and one tiny one of 3
            processes); reused when a complete one of that size has no filter output or only
            per-session output collections (dropped first, a cheap DROP).
  filter    `lineage-filter --session ID` twice, under /usr/bin/time -v: wall, CPU, peak RSS;
            rerun_ratio = second / first. The output that stays is checked with pymongo
            (processes, containers, files counts against what synth generated).
  queries   lineage-query sessions, containers, tree, timeline, files, diff (against a small
            filtered partner session, --partner events) on the session's biggest container
            (query_max_s) and, per-step only, on its tiny container; the searches of
            SEARCHES (search_s: the slowest) and BROAD_SEARCHES (search_broad_s) when the
            subcommand exists. On pg, the index scans PostgreSQL counted for each
            (pg_stat_user_indexes deltas, GIN indexes named by their field) and the EXPLAIN
            FerretDB returns for the filters lineage sends.
  bytes     bytes per raw event: the BSON size of a sample of the session's documents (the
            first --bytes-sample, decoded from its first segments), its segment documents'
            bytes per event, and, where the server gives it, collStats (storageSize +
            totalIndexSize) of `segments` and on pg its table + index bytes, over the raw
            events the segments hold (issue 33).

Per-step lines first (`<store> <step>: ...`), then, last, the summary of the first store run
(pg when it ran):
  store_scale: ingest_events_per_s=N
  store_scale: filter_1m_wall_s=N  [events=N when --events is not 1M]
  store_scale: rerun_ratio=N
  store_scale: query_max_s=N  others=N
  store_scale: bytes_per_event=N  source=bson-sample|collstats
  store_scale: search_broad_s=N|na  lines=N
  store_scale: search_s=N|na
  store_scale: host_query_max_s=N|na   (issue 29: tree/timeline/files/diff of the host and
            of one host process's subtree, --process; HOST_QUERIES)

Run as root from the repository after `ninja -C build`:
  python3 bench/store_scale.py --events 1000000 --others 5000000 --out store_scale.json
  python3 bench/store_scale.py --events 20000 --others 100000          # a quick check
The sqlite store runs at --sqlite-events / --sqlite-others (default: --events and --others
capped at 20,000 and 100,000): FerretDB/SQLite reads ~3k documents/s and scans whole tables
(a timeline of a 3-process container took 41 s with 30k events stored).
--keep keeps the filter output of the measured session and the sqlite temp directory (its
path is printed); the pg bench database is always kept (that is its point: drop it by hand).
"""
import argparse
import concurrent.futures
import datetime
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

import bson
import pymongo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synth import SHAPE_NAME  # noqa: E402  the document shape synth.py writes now

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
URI = os.environ.get("LINEAGE_MONGODB_URI", "mongodb://%2Frun%2Flineage%2Fmongodb.sock")
FERRETDB = os.environ.get("LINEAGE_FERRETDB", "/var/lib/lineage-dev/bin/ferretdb")
PG_RUN = "/var/lib/lineage-dev/pg/run"
PG_BIN = "/usr/lib/postgresql/15/bin"
PG_DB = "ferretdb"
LOCK = "/run/lineage-e2e-audit.lock"
OTHER_CHUNK = 1_000_000
STATS_RE = re.compile(r"stats: records (\d+) events (\d+) .*? proc_events (\d+) .*?\| queue (\d+) "
                      r".*? stored (\d+) \(\S+/s\) spooled (\d+) replayed (\d+) dropped (\d+)")
OUT_KINDS = ("processes", "containers", "files")
READ_CACHES = ("search", "pages")  # the filter's read caches beside its output
QUERY_NAMES = ("sessions", "containers", "tree", "timeline", "files", "diff")
# issue 29: the host's views and a host process's subtree ({root}: the host process with the
# most descendants among the earliest ones; {partner}: the diff partner session)
HOST_QUERIES = [
    ("tree host", "tree", ["host"]),
    ("timeline host", "timeline", ["host"]),
    ("files host", "files", ["host"]),
    ("files host --unique", "files", ["host", "--unique"]),
    ("files host --failed", "files", ["host", "--failed"]),
    ("diff host", "diff", ["{partner}", "{session}", "--container", "host"]),
    ("tree --process", "tree", ["host", "--process", "{root}"]),
    ("timeline --process", "timeline", ["host", "--process", "{root}"]),
    ("files --process", "files", ["host", "--process", "{root}"]),
]
# issue 20's questions, each with a bounded answer: who wrote a file, what ran a binary,
# which command line, what did a uid run, what touched a directory inside one container
# ({tiny}: the session's 3-process container), a glob (synth: /etc/conf<i>.d/x<pid % 50>
# written by every worker); search_s is the slowest of them
SEARCHES = (("search path", ["--path", "/etc/conf1.d/x1", "--written"]),
            ("search prefix in a container", ["--path-prefix", "/etc", "--container", "{tiny}"]),
            ("search glob", ["--path-glob", "/etc/conf5.d/x4*"]),
            ("search exe", ["--exe", "/bin/busybox", "--pid", "1000"]),
            ("search argv", ["--argv", "job 1234"]),
            ("search uid", ["--uid", "1000"]))  # synth: every event is uid 0: 58k checked
# and one whose answer is most of the session (60k accesses, 181k lines with their chains):
# reported apart as search_broad_s, with its line count; it reads every files page
BROAD_SEARCHES = (("search prefix, whole session", ["--path-prefix", "/etc/conf3.d"]),)


def log(msg):
    print(msg, flush=True)


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def uptime():
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


# ---------------------------------------------------------------- the stores


class Store:
    name = "?"
    uri = None
    pid = None
    pg = False

    def client(self):
        return pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=10000,
                                   socketTimeoutMS=3600_000)

    def stop(self, keep):
        pass


class DefaultStore(Store):
    """The shared embedded store (never started or stopped here)."""

    def __init__(self, uri):
        self.name, self.uri = "pg", uri
        self.pg = os.path.isdir(PG_RUN)
        self.pid = server_pid(uri)


class SqliteStore(Store):
    """A private FerretDB on SQLite: data and a Unix socket in temp dirs of its own."""

    def __init__(self):
        self.name = "sqlite"
        self.dir = tempfile.mkdtemp(prefix="lineage-bench-sqlite-")
        self.sockdir = tempfile.mkdtemp(prefix="lineage-bench-sock-")
        os.chmod(self.sockdir, 0o700)
        self.sock = os.path.join(self.sockdir, "mongodb.sock")
        self.uri = "mongodb://" + urllib.parse.quote(self.sock, safe="")
        os.makedirs(os.path.join(self.dir, "data"))
        self.logf = open(os.path.join(self.dir, "ferretdb.log"), "w")
        self.proc = subprocess.Popen(
            [FERRETDB, "--handler=sqlite", "--sqlite-url=file:%s/data/" % self.dir,
             "--state-dir=%s" % self.dir, "--listen-addr=", "--listen-unix=%s" % self.sock,
             "--debug-addr=-", "--telemetry=disable", "--log-level=warn"],
            stdout=self.logf, stderr=self.logf, stdin=subprocess.DEVNULL)
        self.pid = self.proc.pid
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("private ferretdb (sqlite) exited %d; log %s/ferretdb.log"
                                   % (self.proc.returncode, self.dir))
            try:
                pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=500).admin.command("ping")
                break
            except Exception:
                time.sleep(0.2)
        else:
            raise RuntimeError("private ferretdb (sqlite) did not answer on " + self.sock)
        try:
            self.version = pymongo.MongoClient(self.uri).admin.command("buildInfo").get(
                "ferretdbVersion")
        except Exception:
            self.version = None

    def stop(self, keep):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        shutil.rmtree(self.sockdir, ignore_errors=True)
        if keep:
            log("sqlite: kept %s (start FerretDB --handler=sqlite --sqlite-url=file:%s/data/)"
                % (self.dir, self.dir))
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def server_pid(uri):
    """The local FerretDB serving the Unix socket of a mongodb://%2F… URI, if any."""
    m = re.match(r"mongodb://(%2F[^/?]*)", uri)
    if not m:
        return None
    sock = urllib.parse.unquote(m.group(1))
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as fh:
                argv = fh.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"ferretdb") and any(
                a == ("--listen-unix=" + sock).encode() for a in argv):
            return int(pid)
    return None


def rss_mib(pid):
    try:
        with open("/proc/%d/status" % pid) as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, TypeError):
        pass
    return None


# ---------------------------------------------------------------- PostgreSQL evidence


def psql(sql):
    """Rows of one SQL statement on FerretDB's PostgreSQL database (as postgres, over its
    socket), or None when that is not possible here."""
    if not os.path.isdir(PG_RUN):
        return None
    p = subprocess.run(["runuser", "-u", "postgres", "--", PG_BIN + "/psql", "-h", PG_RUN,
                        "-d", PG_DB, "-X", "-qAt", "-F", "\t", "-c", sql],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return None
    return [line.split("\t") for line in p.stdout.splitlines() if line]


def pg_tables(dbname):
    """{table: collection} of a FerretDB database on PostgreSQL."""
    rows = psql("SELECT _jsonb->>'table', _jsonb->>'_id' FROM %s._ferretdb_database_metadata"
                % quote_ident(dbname)) or []
    return {t: c for t, c in rows}


def quote_ident(s):
    return '"' + s.replace('"', '""') + '"'


def gin_label(table, index, fields):
    """FerretDB's index name, or for the GIN indexes of scripts/store-gin.sql (named
    <table>_<md5(field)[:12]>_gin) the field they index."""
    m = re.fullmatch(r".*_([0-9a-f]{12})_gin", index)
    if m:
        for f in fields:
            if hashlib.md5(f.encode()).hexdigest()[:12] == m.group(1):
                return "gin(%s)" % f
        return "gin(?)"
    return index[len(table) + 1:] if index.startswith(table + "_") else index


FIELDS = ["_id", "session", "pid", "ts", "container", "host", "started_at", "key", "path",
          "seq", "tgid", "syscall", "what", "gen", "table"]


def pg_index_scans(dbname):
    """{"collection.index": idx_scan} for the database's tables, or None."""
    rows = psql("SELECT relname, indexrelname, idx_scan FROM pg_stat_user_indexes "
                "WHERE schemaname = '%s'" % dbname.replace("'", "''"))
    if rows is None:
        return None
    tables = pg_tables(dbname)
    out = {}
    for rel, idx, n in rows:
        coll = tables.get(rel, rel)
        out["%s.%s" % (coll, gin_label(rel, idx, FIELDS))] = int(n)
    return out


def scans_delta(before, after):
    """Index scans between two readings; a counter that went down means someone reset the
    statistics meanwhile (another run's pg_stat_reset): then the delta is unknown."""
    if before is None or after is None:
        return None
    d = {k: v - before.get(k, 0) for k, v in sorted(after.items()) if v - before.get(k, 0)}
    if any(v < 0 for v in d.values()):
        return {"statistics reset meanwhile": 0}
    return d


def pg_table_sizes(dbname):
    rows = psql("SELECT c.relname, pg_table_size(c.oid), pg_indexes_size(c.oid), c.reltuples "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = '%s' AND c.relkind = 'r'" % dbname.replace("'", "''"))
    if rows is None:
        return None
    tables = pg_tables(dbname)
    return {tables.get(r, r): {"table_bytes": int(t), "index_bytes": int(i),
                               "rows_estimate": int(float(n))} for r, t, i, n in rows}


# ---------------------------------------------------------------- synthetic sessions


def synth(a, store, dbname, events, role, host, seed, tiny=0, inflight=2):
    cmd = [sys.executable, os.path.join(HERE, "synth.py"), "--events", str(events), "--db",
           dbname, "--uri", store.uri, "--role", role, "--host", host, "--seed", str(seed),
           "--inflight", str(inflight)]
    if tiny:
        cmd += ["--tiny-containers", str(tiny)]
    return cmd


def run_synth(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("synth failed (%d): %s" % (p.returncode, p.stderr[-2000:]))
    return json.loads(p.stdout.strip().splitlines()[-1])


def synth_sessions(db, role, **extra):
    q = {"synth.role": role, "complete": True}
    q.update(extra)
    return list(db.sessions.find(q, {"synth": 1, "filter": 1}))


def ensure_others(a, store, db, dbname, target):
    """Background sessions up to `target` events; returns (events stored, generated now, s)."""
    have = sum(s["synth"]["total"] for s in synth_sessions(db, "other"))
    need = target - have
    t = time.monotonic()
    made = 0
    if need > 0:
        sizes = []
        while need > 0:
            sizes.append(min(OTHER_CHUNK, max(need, 1000)))
            need -= sizes[-1]
        seed0 = 1000 + len(synth_sessions(db, "other"))
        cmds = [synth(a, store, dbname, n, "other", "synth-other", seed0 + i)
                for i, n in enumerate(sizes)]
        log("%s others: %d stored, generating %d more in %d session(s), 2 at a time"
            % (store.name, have, sum(sizes), len(sizes)))
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
            for info in ex.map(run_synth, cmds):
                made += info["total"]
                log("%s others: +%d (%s docs/s) session %s" % (store.name, info["total"],
                                                             info["docs_per_s"], info["session"]))
    return have + made, made, time.monotonic() - t


def output_of(db, sid):
    """The filter's output of a session: the per-session collections its sessions document
    names (`filter`: {processes, containers, files}), or None when it was not filtered (by a
    filter that writes them: output an older filter left in shared collections is ignored)."""
    s = db.sessions.find_one({"_id": sid}, {"filter": 1}) or {}
    f = s.get("filter")
    if isinstance(f, dict) and all(isinstance(f.get(k), str) for k in OUT_KINDS):
        return {k: f[k] for k in OUT_KINDS}
    return None


def drop_output(db, sid):
    """Drop a session's filter output (its per-session collections: a cheap DROP each)."""
    names = db.list_collection_names()
    for n in names:
        if any(n.startswith("%s.%s." % (k, sid)) for k in OUT_KINDS + READ_CACHES):
            db.drop_collection(n)
    db.sessions.update_one({"_id": sid}, {"$unset": {"filter": ""}})


def measured_session(a, store, db, dbname, events, role, tiny, generate_ok=True):
    """A complete synthetic session of `events`: reused, or generated. Without filter output,
    unless the filter step is not run (then the output of an earlier run is what the
    queries read)."""
    for s in synth_sessions(db, role, **{"synth.total": events, "synth.shape": SHAPE_NAME}):
        if "filter" in a.steps or not output_of(db, s["_id"]):
            drop_output(db, s["_id"])
        return s["synth"], True
    info = run_synth(synth(a, store, dbname, events, role, "synth", 7 if role == "measured" else 8,
                           tiny=tiny, inflight=2))
    return info, False


def count_ids(coll, q):
    """Counted by streaming _ids: FerretDB's count materialises every matching document."""
    return sum(1 for _ in coll.find(q, {"_id": 1}, batch_size=10000))


# ---------------------------------------------------------------- filter


def run_filter(a, store, dbname, sid):
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        cmd = ["/usr/bin/time", "-v", "-o", tf.name, a.filter, "--uri", store.uri, "--db",
               dbname, "--session", sid]
        t = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - t
        tv = tf.read()
    if p.returncode != 0:
        raise RuntimeError("filter failed (%d): %s\n%s" % (p.returncode, p.stdout[-2000:],
                                                           p.stderr[-2000:]))

    def grab(rx, conv=float):
        m = re.search(rx, tv)
        return conv(m.group(1)) if m else None

    w = re.search(r"written: (\d+) processes, (\d+) containers, (\d+) files", p.stdout)
    return {"wall_s": round(wall, 2), "user_s": grab(r"User time \(seconds\): (\S+)"),
            "sys_s": grab(r"System time \(seconds\): (\S+)"),
            "rss_mib": grab(r"Maximum resident set size \(kbytes\): (\d+)",
                            lambda x: round(int(x) / 1024, 1)),
            "written": dict(zip(OUT_KINDS, map(int, w.groups()))) if w else None}


def verify_output(db, sid, info):
    colls = output_of(db, sid)
    if colls is None:
        return None, {}, {}, False
    got = {k: count_ids(db[c], {}) for k, c in colls.items()}
    want = {"processes": info["processes"] + info.get("snapshot", 0),
            "containers": info["containers"] + len(info.get("tiny_containers", [])),
            "files": info["opens"]}
    return colls, got, want, got == want


# ---------------------------------------------------------------- queries


def query_help(a):
    p = subprocess.run([a.query, "--help"], capture_output=True, text=True)
    return p.stdout + p.stderr


def run_query(a, store, dbname, name, args):
    cmd = [a.query, name, "--uri", store.uri, "--db", dbname, "--utc", "--width", "0"] + args
    before = pg_index_scans(dbname) if store.pg else None
    t = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.query_timeout)
    except subprocess.TimeoutExpired as e:
        p = subprocess.CompletedProcess(cmd, -9, (e.stdout or b"").decode(errors="replace"),
                                        "killed after %d s (--query-timeout)" % a.query_timeout)
    wall = time.monotonic() - t
    delta = None
    if store.pg:
        # PostgreSQL 15 flushes an idle backend's statistics within 10 s (PGSTAT_IDLE_INTERVAL):
        # a shorter wait credits this query's scans to the next one
        time.sleep(a.pg_stats_wait)
        delta = scans_delta(before, pg_index_scans(dbname))
    return {"argv": [name] + args, "wall_s": round(wall, 3), "rc": p.returncode,
            "lines": p.stdout.count("\n"), "stderr": p.stderr[-500:], "index_scans": delta}


def explain(db, coll, flt):
    """FerretDB's explain of a find: its pushdown flags and PostgreSQL's plan."""
    try:
        r = db.command("explain", {"find": coll, "filter": flt}, verbosity="queryPlanner")
    except Exception as e:
        return {"error": str(e)[:300]}
    qp = r.get("queryPlanner")
    plan = json.dumps(qp, default=str)
    return {"pushdown": {k: r.get(k) for k in ("filterPushdown", "sortPushdown",
                                                "limitPushdown", "unsafeFilterPushdown")
                         if k in r},
            "uses": sorted(set(re.findall(r'"(?:Index Name|Node Type)": "([^"]+)"', plan))),
            "plan": qp}


# ---------------------------------------------------------------- bytes per event


def bytes_per_event(store, db, dbname, sid, sample):
    """Bytes a raw event costs (issue 33: the raw layer is the `segments` collection). The
    BSON size of the session's documents (the first --bytes-sample, decoded from its first
    segments) and of its segment documents per event they hold; collStats (storageSize +
    totalIndexSize) of `segments` and, on pg, its table + index bytes, each over the raw
    events every segment of the database holds (the sum of their n: the collection's sizes
    cover every session)."""
    import segments as seg
    raw = n = fields = 0
    for g in db.segments.find({"session": sid}).sort("seq_first", 1):
        for d in seg.decode(g):
            raw += len(bson.encode(d))
            fields += len(d)
            n += 1
            if n >= sample:
                break
        if n >= sample:
            break
    seg_bytes = seg_docs = 0
    for g in db.get_collection("segments", codec_options=seg.RAW).find({"session": sid}):
        seg_bytes += len(g.raw)
        seg_docs += int(g["n"])
    all_docs = sum(int(g["n"]) for g in db.segments.find({}, {"n": 1}))
    out = {"bson_sample_docs": n, "bson_bytes_per_event": round(raw / n, 1) if n else None,
           "fields_per_doc": round(fields / n, 1) if n else None,
           "segment_bytes_per_event": round(seg_bytes / seg_docs, 1) if seg_docs else None,
           "raw_events_stored": all_docs}
    try:
        cs = db.command("collStats", "segments")
        size = int(cs.get("storageSize", 0)) + int(cs.get("totalIndexSize", 0))
        out["collstats_segments"] = {k: cs.get(k) for k in
                                     ("count", "size", "storageSize", "totalIndexSize",
                                      "avgObjSize")}
        if all_docs:
            out["collstats_bytes_per_event"] = round(size / all_docs, 1)
    except Exception as e:
        out["collstats_error"] = str(e)[:200]
    if store.pg:
        sizes = pg_table_sizes(dbname)
        if sizes:
            out["pg_sizes"] = sizes
            if "segments" in sizes and all_docs:
                tb = sizes["segments"]["table_bytes"] + sizes["segments"]["index_bytes"]
                out["pg_bytes_per_event"] = round(tb / all_docs, 1)
    return out


# ---------------------------------------------------------------- ingest


class Listener:
    def __init__(self, a, store, dbname):
        self.tmp = tempfile.mkdtemp(prefix="lineage-bench-ingest-")
        self.errpath = os.path.join(self.tmp, "listener.err")
        self.spool = os.path.join(self.tmp, "spool")
        self.cmd = [a.listener, "--uri", store.uri, "--db", dbname, "--spool", self.spool,
                    "--stats-interval", "1"]
        self.lock = None
        self.proc = None

    def start(self, tries=30):
        """Take the audit lock and start; a listener someone runs without the lock makes
        ours exit ("already owns audit"): then wait 10 s and try again, `tries` times."""
        for i in range(tries):
            try:
                return self._start()
            except RuntimeError as e:
                self.stop()
                if "owns audit" not in str(e) or i == tries - 1:
                    raise
                log("ingest: audit is owned by another process (not holding %s): retry in "
                    "10 s" % LOCK)
                time.sleep(10)

    def _start(self):
        self.lock = open(LOCK, "w")
        fcntl.flock(self.lock, fcntl.LOCK_EX)  # one audit owner on the host
        self.err = open(self.errpath, "w")
        self.proc = subprocess.Popen(self.cmd, stderr=self.err, stdout=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("listener exited %d:\n%s" % (self.proc.returncode,
                                                                self.log()[-3000:]))
            if "recording" in self.log():
                time.sleep(1.5)
                return
            time.sleep(0.1)
        raise RuntimeError("listener did not start:\n" + self.log()[-3000:])

    def log(self):
        with open(self.errpath) as fh:
            return fh.read()

    def stats(self):
        """[(monotonic-ish seconds from the log time, dict)], oldest first."""
        out = []
        for line in self.log().splitlines():
            m = STATS_RE.search(line)
            if not m:
                continue
            t = datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f").timestamp()
            out.append((t, dict(zip(("records", "events", "proc_events", "queue", "stored",
                                     "spooled", "replayed", "dropped"),
                                    map(int, m.groups())))))
        return out

    def stop(self):
        rc = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
        if self.proc:
            self.err.close()
        if self.lock:
            fcntl.flock(self.lock, fcntl.LOCK_UN)
            self.lock.close()
            self.lock = None
        return rc


def paced_files(a, rate, seconds):
    """lineage-loadgen files in ticks of 0.1 s so that the workload makes ~rate events/s."""
    tick = 0.1
    per_tick = max(1, int(rate * tick / 3))
    t0 = time.monotonic()
    k = ops = behind = 0
    while time.monotonic() - t0 < seconds:
        k += 1
        r = subprocess.run([a.loadgen, "--user", a.bench_user, "files", "--count",
                            str(per_tick)], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("loadgen failed: " + r.stderr)
        ops += json.loads(r.stdout)["opens"]
        wait = t0 + k * tick - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        else:
            behind += 1
    el = time.monotonic() - t0
    return {"asked_events_per_s": rate, "workload_events": ops * 3, "seconds": round(el, 2),
            "workload_events_per_s": round(ops * 3 / el), "ticks_behind": behind, "ticks": k}


def ingest(a, store):
    dbname = "lineage_bench_ingest_%d" % os.getpid()
    lst = Listener(a, store, dbname)
    steps = []
    try:
        lst.start()
        for rate in a.ingest_rates:
            s0 = lst.stats()[-1]
            w = paced_files(a, rate, a.ingest_seconds)
            time.sleep(1.1)  # the stats line after the step
            s1 = lst.stats()[-1]
            dt = s1[0] - s0[0]
            d = {k: s1[1][k] - s0[1][k] for k in s1[1]}
            produced = d["events"] + d["proc_events"]
            stored_rate = d["stored"] / dt if dt > 0 else 0
            qmax = max(x[1]["queue"] for x in lst.stats() if s0[0] <= x[0] <= s1[0])
            sustained = (d["spooled"] == 0 and d["dropped"] == 0 and
                         s1[1]["queue"] <= max(1000, stored_rate))
            step = dict(w, recorded_events_per_s=round(produced / dt) if dt > 0 else 0,
                        stored_per_s=round(stored_rate), queue_end=s1[1]["queue"],
                        queue_max=qmax, spooled=d["spooled"], dropped=d["dropped"],
                        sustained=sustained, window_s=round(dt, 1))
            steps.append(step)
            log("%s ingest: asked %d ev/s, workload %d ev/s, recorded %d ev/s, stored %d docs/s,"
                " queue end %d (max %d), spooled %d, dropped %d: %s" % (
                    store.name, rate, step["workload_events_per_s"],
                    step["recorded_events_per_s"], step["stored_per_s"], step["queue_end"],
                    qmax, d["spooled"], d["dropped"],
                    "sustained" if sustained else "NOT sustained"))
            if not sustained:
                break
            # let the queue drain between steps
            for _ in range(30):
                if lst.stats()[-1][1]["queue"] < 1000:
                    break
                time.sleep(1)
    finally:
        rc = lst.stop()
        tail = lst.log().splitlines()[-3:]
        try:
            store.client().drop_database(dbname)
        except Exception:
            pass
        shutil.rmtree(lst.tmp, ignore_errors=True)
    ok = [s for s in steps if s["sustained"]]
    best = max(ok, key=lambda s: s["stored_per_s"]) if ok else None
    return {"steps": steps, "listener_rc": rc, "listener_tail": tail,
            "ingest_events_per_s": best["stored_per_s"] if best else 0,
            "limited_by": ("load (every step sustained)" if ok and len(ok) == len(steps)
                           else "store")}


# ---------------------------------------------------------------- one store


def run_store(a, store, events, others):
    res = {"store": store.name, "uri": store.uri, "events": events, "others_target": others,
           "load_start": uptime(), "started": now_utc()}
    client = store.client()
    dbname = a.db
    db = client[dbname]
    try:
        res["server_version"] = client.admin.command("buildInfo").get("ferretdbVersion")
    except Exception:
        pass

    if not a.steps & {"filter", "queries", "bytes"}:
        return ingest_step(a, store, res)
    n_others, made, secs = ensure_others(a, store, db, dbname, others)
    res["others"] = {"events": n_others, "generated_now": made, "generate_s": round(secs, 1),
                     "docs_per_s": round(made / secs) if made and secs else None}
    log("%s others: %d events in background sessions%s" % (
        store.name, n_others, " (generated now at %s docs/s)" % res["others"]["docs_per_s"]
        if made else " (kept from an earlier run)"))

    t = time.monotonic()
    info, reused = measured_session(a, store, db, dbname, events, "measured", 1)
    sid = bson.ObjectId(info["session"])
    res["session"] = dict(info, reused=reused)
    log("%s session: %s, %d events (%d proc_events), %s" % (
        store.name, info["session"], info["total"], info["proc_events"],
        "reused" if reused else "generated in %.1f s (%s docs/s)" % (
            time.monotonic() - t, info["docs_per_s"])))

    if "filter" in a.steps:
        runs = []
        for i in (1, 2):
            f = run_filter(a, store, dbname, info["session"])
            f["server_rss_mib_after"] = rss_mib(store.pid)
            runs.append(f)
            log("%s filter run %d: %.2f s wall (user %s s, sys %s s, peak RSS %s MiB), "
                "written %s" % (store.name, i, f["wall_s"], f["user_s"], f["sys_s"],
                                f["rss_mib"], f["written"]))
        colls, got, want, ok = verify_output(db, sid, info)
        res["filter"] = {"runs": runs, "rerun_ratio": round(runs[1]["wall_s"] / runs[0]["wall_s"],
                                                            3),
                         "collections": colls, "counts": got,
                         "expected": want, "output_ok": ok,
                         "s_per_1m": round(runs[0]["wall_s"] * 1e6 / info["total"], 1)}
        log("%s filter output %s: %s, expected %s: %s" % (
            store.name, colls, got, want, "ok" if ok else "MISMATCH"))

    if "queries" in a.steps:
        res["queries"] = queries(a, store, db, dbname, sid, info)

    if "bytes" in a.steps:
        b = bytes_per_event(store, db, dbname, sid, a.bytes_sample)
        res["bytes"] = b
        log("%s bytes: BSON %s B/event (%s docs sampled, %s fields/doc); collStats %s B/event "
            "(storage + indexes, whole collections); PostgreSQL %s B/event (tables + indexes)"
            % (store.name, b.get("bson_bytes_per_event"), b.get("bson_sample_docs"),
               b.get("fields_per_doc"), b.get("collstats_bytes_per_event"),
               b.get("pg_bytes_per_event", "-")))

    if not a.keep and "filter" in a.steps:
        drop_output(db, sid)  # the raw session stays, for the next run to reuse

    # last: it waits for the host's audit lock, which other runs may hold for a while
    return ingest_step(a, store, res)


def ingest_step(a, store, res):
    if "ingest" in a.steps:
        t = time.monotonic()
        try:
            r = ingest(a, store)
            log("%s ingest: %d events/s sustained (%s)" % (
                store.name, r["ingest_events_per_s"], r["limited_by"]))
        except Exception as e:
            r = {"error": str(e)[-2000:], "ingest_events_per_s": None}
            log("%s ingest: FAILED: %s" % (store.name, e))
        r["wall_s"] = round(time.monotonic() - t, 1)
        res["ingest"] = r
    res["load_end"] = uptime()
    return res


def queries(a, store, db, dbname, sid, info):
    out = {}
    colls = output_of(db, sid)
    conts = list(db[colls["containers"]].find({}, {"processes": 1, "id": 1, "container": 1,
                                                  "_id": 1}))

    def cid(c):
        for k in ("id", "container", "_id"):
            v = c.get(k)
            if isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v):
                return v
            if isinstance(v, str) and ":" in v:
                tail = v.rsplit(":", 1)[1]
                if re.fullmatch(r"[0-9a-f]{64}", tail):
                    return tail
        return None

    conts = [(c.get("processes") or 0, cid(c)) for c in conts if cid(c)]
    if not conts:
        log("%s queries: no container found in the filter output" % store.name)
        return out
    conts.sort()
    big, tiny = conts[-1][1], conts[0][1]
    # the diff partner: a small filtered session (reused when filtered before)
    partner = None
    for s in synth_sessions(db, "partner", **{"synth.total": a.partner,
                                               "synth.shape": SHAPE_NAME}):
        if output_of(db, s["_id"]):
            partner = str(s["_id"])
            break
    if partner is None:
        pinfo, _ = measured_session(a, store, db, dbname, a.partner, "partner", 0)
        run_filter(a, store, dbname, pinfo["session"])
        partner = pinfo["session"]
    s = str(sid)
    plan = [("sessions", "sessions", []),
            ("containers", "containers", ["--session", s]),
            ("tree", "tree", [big, "--session", s]),
            ("timeline", "timeline", [big, "--session", s]),
            ("files", "files", [big, "--session", s]),
            ("diff", "diff", [partner, s]),
            ("tree tiny", "tree", [tiny, "--session", s]),
            ("timeline tiny", "timeline", [tiny, "--session", s]),
            ("files tiny", "files", [tiny, "--session", s])]
    helptext = query_help(a)
    if re.search(r"^\s+search\b", helptext, re.M):
        # the questions of issue 20: a file's writers, a path prefix, a glob, an exe,
        # a command line (synth: /etc/conf<i>.d/x<pid%50> written by every worker)
        for label, args in SEARCHES + BROAD_SEARCHES:
            plan.append((label, "search",
                         ["--session", s] + [x.replace("{tiny}", tiny) for x in args]))
    if re.search(r"CONTAINER\|host", helptext):
        # a host subtree root: the host process (no container) with the most children
        root, best = None, -1
        for p in db[colls["processes"]].find({"container": None},
                                             {"key": 1, "children": 1}).limit(5000):
            n = len(p.get("children") or [])
            if n > best:
                root, best = p["key"], n
        for label, name, args in HOST_QUERIES:
            if root is None and "{root}" in args:
                continue
            args = [x.replace("{root}", root or "").replace("{partner}", partner)
                    .replace("{session}", s) for x in args]
            plan.append((label, name, args if name == "diff" else args + ["--session", s]))
    for label, name, args in plan:
        r = run_query(a, store, dbname, name, args)
        out[label] = r
        scans = r["index_scans"]
        log("%s query %s: %.3f s, rc %d, %d lines%s" % (
            store.name, label, r["wall_s"], r["rc"], r["lines"],
            "" if scans is None else ", index scans %s" % (
                ", ".join("%s +%d" % kv for kv in scans.items()) or "none")))
        if r["rc"] != 0:
            log("%s query %s stderr: %s" % (store.name, label, r["stderr"].strip()))
    main = [out[n]["wall_s"] for n in QUERY_NAMES if n in out]
    out["query_max_s"] = max(main) if main else None
    out["slowest"] = max((n for n in QUERY_NAMES if n in out), key=lambda n: out[n]["wall_s"])
    out["container_big"], out["container_tiny"], out["partner"] = big, tiny, partner
    if store.pg:
        out["explain"] = {
            # the segment filters lineage sends (issue 33: header fields, common/segment.h)
            "segments {session, stream, seq}": explain(
                db, "segments", {"session": sid, "stream": "events", "seq_first": {"$gte": 0}}),
            "segments {session, containers}": explain(db, "segments", {"session": sid,
                                                                       "containers": big}),
            "segments {session, tgids}": explain(db, "segments", {"session": sid,
                                                                  "tgids": 1004}),
            "segments {session, ts}": explain(db, "segments", {
                "session": sid, "ts_first": {"$gte": datetime.datetime(2000, 1, 1)}}),
            "segments {_id}": explain(db, "segments", {"_id": "%s:events:1" % s}),
        }
        for k, v in out["explain"].items():
            log("%s explain %s: pushdown %s, plan nodes %s" % (store.name, k,
                                                              v.get("pushdown"),
                                                              v.get("uses") or v.get("error")))
    return out


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000,
                    help="events + proc_events of the measured session (default 1M)")
    ap.add_argument("--others", type=int, default=5_000_000,
                    help="events of other sessions stored beside it (default 5M)")
    ap.add_argument("--stores", default="pg,sqlite", help="pg (the embedded default), sqlite")
    ap.add_argument("--sqlite-events", type=int, help="default: min(--events, 20000)")
    ap.add_argument("--sqlite-others", type=int, help="default: min(--others, 100000)")
    ap.add_argument("--partner", type=int, default=20000,
                    help="events of the small session `diff` compares with (default 20000)")
    ap.add_argument("--steps", default="ingest,filter,queries,bytes")
    ap.add_argument("--ingest-rates", default="5000,10000,20000,30000,40000",
                    help="workload events/s, one step each, until one is not sustained")
    ap.add_argument("--ingest-seconds", type=float, default=10)
    ap.add_argument("--bench-user", default="65534:65534", help="the loadgen's UID:GID")
    ap.add_argument("--db", default="lineage_bench_scale",
                    help="the bench database (kept across runs)")
    ap.add_argument("--uri", default=URI, help="the embedded default store")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--bytes-sample", type=int, default=20000)
    ap.add_argument("--pg-stats-wait", type=float, default=11,
                    help="seconds to wait after each query before reading pg_stat_user_indexes")
    ap.add_argument("--query-timeout", type=int, default=900,
                    help="seconds before a query is killed (its figure is then that time)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the filter output and the sqlite store's temp directory")
    ap.add_argument("--out", help="write every figure as JSON")
    a = ap.parse_args()
    # SIGTERM (a timeout) still stops the private server and the listener (finally clauses)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    a.steps = set(a.steps.split(","))
    a.ingest_rates = [int(x) for x in a.ingest_rates.split(",") if x]
    a.filter = os.path.join(a.build, "filter", "lineage-filter")
    a.query = os.path.join(a.build, "query", "lineage-query")
    a.listener = os.path.join(a.build, "listener", "lineage-listener")
    a.loadgen = os.path.join(a.build, "bench", "lineage-loadgen")
    for p in (a.filter, a.query, a.listener, a.loadgen):
        if not os.access(p, os.X_OK):
            ap.error("%s missing: ninja -C %s" % (p, a.build))
    if "ingest" in a.steps and os.geteuid() != 0:
        ap.error("the ingest step runs the listener: run as root (or --steps without ingest)")
    stores = [s for s in a.stores.split(",") if s]
    sizes = {"pg": (a.events, a.others),
             "sqlite": (a.sqlite_events or min(a.events, 20000),
                        a.sqlite_others if a.sqlite_others is not None else min(a.others, 100000))}
    for s in stores:
        if s not in sizes:
            ap.error("unknown store %s (pg, sqlite)" % s)
    report = {"date": now_utc(), "host": socket.gethostname(), "cpus": os.cpu_count(),
              "load_start": uptime(), "stores": {}}
    log("store_scale: %s, %d cpus, load %s, stores %s" % (report["date"], os.cpu_count(),
                                                         report["load_start"], stores))
    rc = 0
    for name in stores:
        store = None
        try:
            store = DefaultStore(a.uri) if name == "pg" else SqliteStore()
            ev, oth = sizes[name]
            log("%s: %s (server pid %s), session %d events, others %d" % (
                name, store.uri, store.pid, ev, oth))
            report["stores"][name] = run_store(a, store, ev, oth)
        except Exception as e:
            log("%s: FAILED: %s" % (name, e))
            report["stores"][name] = {"error": str(e)}
            rc = 1
        finally:
            if store:
                store.stop(a.keep)
    report["load_end"] = uptime()
    if a.out:
        with open(a.out, "w") as fh:
            json.dump(report, fh, indent=1, default=str)
    # per-store one-liners, then the summary of the first store that ran
    for name, r in report["stores"].items():
        if "error" in r:
            continue
        log("%s summary: %s" % (name, json.dumps(summary(r))))
    log("load average at the end: %s" % report["load_end"])
    first = next((r for r in report["stores"].values() if "error" not in r), None)
    s = summary(first) if first else {}

    def v(key):
        x = s.get(key)
        return "na" if x is None else x

    ev_note = "" if not first or first["events"] == 1_000_000 else "  events=%d" % first["events"]
    log("store_scale: ingest_events_per_s=%s" % v("ingest_events_per_s"))
    log("store_scale: filter_1m_wall_s=%s%s" % (v("filter_wall_s"), ev_note))
    log("store_scale: rerun_ratio=%s" % v("rerun_ratio"))
    log("store_scale: query_max_s=%s  others=%s%s" % (v("query_max_s"), v("others"), ev_note))
    log("store_scale: bytes_per_event=%s  source=%s" % (v("bytes_per_event"), v("bytes_source")))
    log("store_scale: search_broad_s=%s  lines=%s" % (v("search_broad_s"),
                                                      v("search_broad_lines")))
    log("store_scale: search_s=%s" % v("search_s"))
    log("store_scale: host_query_max_s=%s" % v("host_query_max_s"))
    return rc


def summary(r):
    f = r.get("filter") or {}
    q = r.get("queries") or {}
    b = r.get("bytes") or {}
    bpe, src = b.get("bson_bytes_per_event"), "bson-sample"
    return {"store": r["store"], "events": r["events"],
            "others": (r.get("others") or {}).get("events"),
            "ingest_events_per_s": (r.get("ingest") or {}).get("ingest_events_per_s"),
            "filter_wall_s": f["runs"][0]["wall_s"] if f.get("runs") else None,
            "rerun_ratio": f.get("rerun_ratio"),
            "query_max_s": q.get("query_max_s"), "slowest_query": q.get("slowest"),
            "bytes_per_event": bpe, "bytes_source": src,
            "store_bytes_per_event": b.get("pg_bytes_per_event",
                                           b.get("collstats_bytes_per_event")),
            "search_s": max((q[l]["wall_s"] for l, _ in SEARCHES if l in q), default=None),
            "search_broad_s": max((q[l]["wall_s"] for l, _ in BROAD_SEARCHES if l in q),
                                  default=None),
            "search_broad_lines": max((q[l]["lines"] for l, _ in BROAD_SEARCHES if l in q),
                                      default=None),
            "host_query_max_s": max((q[l]["wall_s"] for l, _, _ in HOST_QUERIES if l in q),
                                    default=None)}


if __name__ == "__main__":
    sys.exit(main())
