"""store_indexes.py — on the embedded store (FerretDB over PostgreSQL), the filter's reads and
every lineage-query subcommand are served by indexes, never by a scan of the shared raw
collections (issue 15): two synthetic sessions are generated (bench/synth.py), the second is
filtered and queried, and PostgreSQL's own statistics must show index scans and no sequential
scan on the table behind the raw layer (segments, issue 33). (The filter's per-session output
collections hold only that session: reading one whole is not a scan of other sessions.)
Skips, successfully, when the store is not the embedded PostgreSQL one (a real MongoDB)."""
import json
import os
import subprocess
import sys
import time

import bson
from lib import FILTER, URI, check, db, finish
from schema import out

SRC = os.environ.get("SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
QUERY = os.environ.get("QUERY", "build/query/lineage-query")
PG_RUN = os.environ.get("LINEAGE_PG_SOCKET_DIR", "/var/lib/lineage-dev/pg/run")
PG_BIN = os.environ.get("LINEAGE_PG_BIN", "/usr/lib/postgresql/15/bin")
DB = "lineage_test_store_indexes"

if not os.path.exists(os.path.join(PG_RUN, ".s.PGSQL.5432")):
    print(f"store-indexes: no PostgreSQL socket in {PG_RUN}: not the embedded store, skipped")
    sys.exit(0)


def psql(sql):
    p = subprocess.run(["runuser", "-u", "postgres", "--", f"{PG_BIN}/psql", "-h", PG_RUN,
                        "-d", "ferretdb", "-qAt", "-F", "\t", "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(p.stderr)
    return [line.split("\t") for line in p.stdout.splitlines() if line]


def synth(n, seed):
    p = subprocess.run([sys.executable, os.path.join(SRC, "bench", "synth.py"), "--events",
                        str(n), "--db", DB, "--uri", URI, "--seed", str(seed)],
                       capture_output=True, text=True, timeout=600)
    check(p.returncode == 0, f"synth.py {n} events ({p.stderr.strip()[-300:]})")
    return json.loads(p.stdout.strip().splitlines()[-1])


d = db(DB)
d.client.drop_database(DB)
# the measured session is a small part of the table, as in a store that keeps many sessions:
# for a session that is most of a small table a sequential scan is PostgreSQL's right plan
synth(30000, 1)
info = synth(2000, 2)
sid = info["session"]

# FerretDB names a collection's table "<collection>_<8 hex>" in the database's schema
tables = {}
for (table,) in psql(f"SELECT tablename FROM pg_tables WHERE schemaname = '{DB}'"):
    base, _, h = table.rpartition("_")
    if base and len(h) == 8 and all(ch in "0123456789abcdef" for ch in h):
        tables[base] = table
check("segments" in tables, f"the raw layer's table known ({sorted(tables)})")
gin = psql(f"SELECT tablename, indexname FROM pg_indexes WHERE schemaname = '{DB}' AND indexdef LIKE '%USING gin%'")
gin_tables = {t for t, _ in gin}
for c in ("segments", "sessions"):
    check(tables.get(c) in gin_tables, f"{c} has GIN indexes beside FerretDB's")

psql("SELECT pg_stat_reset()")
time.sleep(1)
p = subprocess.run([FILTER, "--uri", URI, "--db", DB, "--session", sid, "-q"],
                   capture_output=True, text=True, timeout=300)
check(p.returncode == 0, f"filter exits 0 ({p.stderr.strip()[-300:]})")
conts = [c["container"] for c in out(d, bson.ObjectId(sid), "containers").find()]
check(len(conts) > 0, f"the filter found containers ({len(conts)})")
cid = conts[0] or "host"
S = ["--session", sid]
for args in (["sessions"], ["containers", *S], ["tree", cid, *S], ["timeline", cid, *S],
             ["files", cid, *S], ["files", cid, "--unique", *S], ["diff", sid, sid]):
    t = time.time()
    q = subprocess.run([QUERY, "--uri", URI, "--db", DB, *args], capture_output=True, text=True,
                       timeout=120)
    check(q.returncode == 0, f"lineage-query {' '.join(args)} exits 0 in {time.time() - t:.2f} s "
          f"({q.stderr.strip()[-200:]})")
# a re-run's output has its GIN indexes too (their names once collided with the previous
# run's: FerretDB's table names of one session's output share their first 40 characters)
p = subprocess.run([FILTER, "--uri", URI, "--db", DB, "--session", sid, "-q"],
                   capture_output=True, text=True, timeout=300)
check(p.returncode == 0, f"filter re-run exits 0 ({p.stderr.strip()[-300:]})")
gin_tables = {t for t, _ in psql(f"SELECT tablename, indexname FROM pg_indexes WHERE "
                                 f"schemaname = '{DB}' AND indexdef LIKE '%USING gin%'")}
all_tables = {t for (t,) in psql(f"SELECT tablename FROM pg_tables WHERE schemaname = '{DB}'")}
fl = d.sessions.find_one({"_id": bson.ObjectId(sid)})["filter"]
for kind in ("processes", "containers", "files", "search", "pages"):
    mangled = [t for t in all_tables
               if t.startswith(kind + "_") and t not in tables.values()]
    check(len(mangled) == 1 and mangled[0] in gin_tables,
          f"the re-run's {kind} ({fl.get(kind)}) has GIN indexes ({mangled})")
# PostgreSQL 15 flushes a backend's table statistics when it goes idle, at most every 10 s
time.sleep(12)
stats = {r[0]: (int(r[1] or 0), int(r[2] or 0)) for r in psql(
    f"SELECT relname, seq_scan, idx_scan FROM pg_stat_user_tables WHERE schemaname = '{DB}'")}
for c in ("segments",):
    seq, idx = stats.get(tables[c], (None, None))
    check(seq == 0 and idx and idx > 0,
          f"{c}: no sequential scan, index scans only (seq_scan {seq}, idx_scan {idx})")
d.client.drop_database(DB)
finish("store-indexes")
