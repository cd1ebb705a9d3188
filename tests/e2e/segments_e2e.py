"""segments_e2e.py — the raw layer of issue 33 end to end: the real listener records a small
workload (a real container run from lineage-busybox and a few host commands) into the shared
store and, in the same run, as JSON lines (--jsonl). Read back with pymongo and
python3-zstandard only (tests/e2e/segments.py, independent of common/segment.c):

  - the decoded segments hold exactly the documents of the same run's --jsonl output, field
    for field (each line parsed as relaxed extended JSON), each in the stream its line names;
  - every seq exactly once across the four streams, 1..N without a gap, each _id
    "<session>:<seq>", each document's session the session;
  - every segment header is truthful: _id "<session>:<stream>:<seq_first>", seq_first/seq_last
    the least/greatest seq inside, n and raw_bytes what decodes, ts_first/ts_last the least
    and greatest ts, tgids/containers/syscalls exactly the values inside (a superset-free
    subset when the header says capped), codec zstd;
  - the chain: links 0..L-1, each prev the SHA-256 of the previous segment document's bytes,
    the session's chain.head the hash of the last, chain.counts and chain.docs the documents
    per stream."""
import atexit
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import bson
from bson import json_util
from bson.codec_options import CodecOptions

import segments as S
from lib import IMAGE, Listener, check, db, docker, finish

DB = f"lineage_test_segments_{os.getpid()}"
TZ = CodecOptions(tz_aware=True, tzinfo=datetime.timezone.utc)
JSON_OPTS = json_util.JSONOptions(json_mode=json_util.JSONMode.RELAXED, tz_aware=True,
                                  tzinfo=datetime.timezone.utc)
tmp = tempfile.mkdtemp(prefix="lineage-segments-")
atexit.register(shutil.rmtree, tmp, True)
jsonl = os.path.join(tmp, "out.jsonl")
d = db(DB)
d.client.drop_database(DB)

# ---- record ----
# small segments (--segment-events 64) so that the run makes many, of every stream
L = Listener(DB, "--jsonl", jsonl, "--segment-events", "64")
L.start()
work = os.path.join(tmp, "work")
os.mkdir(work)
subprocess.run(["sh", "-c", f"for i in 1 2 3 4 5 6 7 8; do echo $i > {work}/f$i; "
                            f"cat {work}/f$i > /dev/null; /bin/true; done; ls {work} > /dev/null"],
               check=True)
cid = docker("run", "-d", "--network", "none", IMAGE, "sh", "-c",
             "cat /etc/hostname; echo x > /tmp/seg.txt; ls / > /dev/null; "
             "for i in 1 2 3; do cat /tmp/seg.txt > /dev/null; done").stdout.strip()
docker("wait", cid)
docker("rm", cid, check=False)
subprocess.run(["sh", "-c", f"rm -f {work}/f1; mv {work}/f2 {work}/g2"], check=True)
time.sleep(1.5)
rc = L.stop()
check(rc == 0, f"listener exited 0 ({rc})")

sessions = list(d.sessions.find())
check(len(sessions) == 1 and sessions[0].get("ended_at"), "one session, closed")
if not sessions:
    finish("segments_e2e")
sess = sessions[0]
sid = sess["_id"]
counters = sess.get("counters", {})
print("counters:", {k: counters.get(k) for k in ("events", "proc_events", "snapshot",
                                                 "container_facts", "stored", "dropped",
                                                 "doc_errors", "submit_failed", "spooled")})
check(counters.get("dropped", 0) == 0 and counters.get("submit_failed", 0) == 0,
      "nothing dropped, nothing failed to submit")

# ---- the segments, decoded ----
segs = S.segments(d, sid, raw=True)
check(len(segs) > 4, f"the run made several segments ({len(segs)})")
check({s["stream"] for s in segs} >= {"events", "proc_events", "snapshot"},
      f"segments of events, proc_events and snapshot ({sorted({s['stream'] for s in segs})})")
stored, bad_decode = {}, []
per_seg = []
for s in segs:
    try:
        blobs = S.unpack(s)
    except S.SegmentError as e:
        bad_decode.append(str(e))
        continue
    docs = [bson.decode(b, codec_options=TZ) for b in blobs]
    per_seg.append((s, docs, blobs))
    for x in docs:
        stored.setdefault(x["_id"], []).append((s["stream"], x))
check(not bad_decode, f"every segment decodes ({bad_decode[:3]})")

# every seq once, no gap, _id and session right
seqs = sorted(x["seq"] for v in stored.values() for _, x in v)
check(len(seqs) == len(set(seqs)), f"no seq twice ({len(seqs) - len(set(seqs))} duplicates)")
check(bool(seqs) and seqs == list(range(1, len(seqs) + 1)),
      f"seq 1..{len(seqs)} without a gap ({seqs[:3]}…{seqs[-3:]})")
check(all(len(v) == 1 for v in stored.values()), "no _id twice")
wrong = [i for i, v in stored.items() for _, x in v
         if i != f"{sid}:{x['seq']}" or x.get("session") != sid]
check(not wrong, f"every _id is <session>:<seq> of this session ({wrong[:3]})")

# ---- the same run's --jsonl output, document for document ----
lines, twice = {}, []
other = 0
with open(jsonl) as f:
    for line in f:
        x = json_util.loads(line, json_options=JSON_OPTS)
        coll = x.pop("collection", None)
        if coll not in S.STREAMS:
            other += 1
            continue
        if x["_id"] in lines:
            twice.append(x["_id"])
        lines[x["_id"]] = (coll, x)
check(not twice, f"--jsonl: no raw document twice ({twice[:3]})")
print(f"--jsonl: {len(lines)} raw documents, {other} other lines")
missing = sorted(set(lines) - set(stored))
extra = sorted(set(stored) - set(lines))
check(not missing, f"every --jsonl raw document is in a segment ({len(missing)} missing: "
      f"{missing[:3]})")
check(not extra, f"every document of the segments is in --jsonl ({len(extra)} extra: {extra[:3]})")
diff = []
for i in set(lines) & set(stored):
    coll, want = lines[i]
    stream, got = stored[i][0]
    if coll != stream:
        diff.append(f"{i}: in {stream}, --jsonl says {coll}")
    elif got != want:
        keys = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
        diff.append(f"{i}: fields {keys[:5]} differ")
check(not diff, f"each decoded document equals its --jsonl line, field for field, in its stream "
      f"({len(diff)} differ: {diff[:3]})")
# the container's own activity is there (a real container, stamped)
in_ct = [x for v in stored.values() for st, x in v if st == "events" and x.get("container") == cid]
check(any(x.get("syscall") == "execve" for x in in_ct) and
      any(p.get("name") == "/tmp/seg.txt" for x in in_ct for p in x.get("paths") or []),
      f"the container's execs and its file are recorded with its id ({len(in_ct)} events)")
check(any(x.get("container") == cid for v in stored.values() for st, x in v
          if st == "container_facts"), "its container_facts document is in a segment")
host = [x for v in stored.values() for st, x in v if st == "events" and x.get("container") is None]
check(any(p.get("name") == f"{work}/f3" for x in host for p in x.get("paths") or []),
      "the host commands' files are recorded")

# ---- the headers tell the truth ----
TGID_KEYS = ("pid", "tgid", "parent_tgid", "child_tgid")


def ints(x):
    return isinstance(x, int) and not isinstance(x, bool)


def same_or_capped(name, have, want, capped, cap):
    """have: the header's values; want: what the documents hold."""
    if len(have) != len(set(map(repr, have))):
        return f"{name} lists a value twice"
    hs, ws = set(map(repr, have)), set(map(repr, want))
    if capped:  # the header must not claim a value the documents do not hold
        return None if hs <= ws and len(have) >= cap else f"{name} capped: {hs - ws} or short"
    return None if hs == ws else f"{name}: header {sorted(hs ^ ws)[:4]} differ"


lies = []
for s, docs, blobs in per_seg:
    h = bson.decode(s.raw, codec_options=TZ)
    sq = [x["seq"] for x in docs]
    ts = [x["ts"] for x in docs if isinstance(x.get("ts"), datetime.datetime)]
    why = []
    if h["_id"] != f"{sid}:{h['stream']}:{min(sq)}":
        why.append("_id")
    if h["seq_first"] != min(sq) or h["seq_last"] != max(sq):
        why.append("seq range")
    if h["n"] != len(docs) or h["raw_bytes"] != sum(len(b) for b in blobs):
        why.append("n/raw_bytes")
    if ts and (h.get("ts_first") != min(ts) or h.get("ts_last") != max(ts)):
        why.append("ts range")
    if h["codec"] != "zstd" or h["session"] != sid:
        why.append("codec/session")
    tg = {x[k] for x in docs for k in TGID_KEYS if ints(x.get(k)) and x[k] > 0}
    cs = {x["container"] if isinstance(x.get("container"), str) else None for x in docs}
    sc = {x[k] for x in docs for k in ("syscall", "what") if isinstance(x.get(k), str)}
    for name, want, cap in (("tgids", tg, S.MAX_TGIDS), ("containers", cs, S.MAX_CONTAINERS),
                            ("syscalls", sc, S.MAX_SYSCALLS)):
        have = h[name]
        if name == "containers" and None in cs:
            cap += 1  # the null beside the capped strings
        r = same_or_capped(name, have, want, h[name + "_capped"], cap)
        if r:
            why.append(r)
    # the header as an independent sealer makes it from these documents (data aside)
    mine = S.seal(sid, h["stream"], blobs, h.get("link"), h.get("prev"))
    theirs = bson.decode(s.raw, codec_options=CodecOptions(document_class=bson.SON))
    if bson.encode(bson.SON((k, v) for k, v in theirs.items() if k != "data")) != \
            bson.encode(bson.SON((k, v) for k, v in mine.items() if k != "data")):
        why.append("header bytes differ from segments.seal()'s")
    if why:
        lies.append(f"{h['_id']}: {', '.join(why)}")
check(not lies, f"every segment's header is truthful ({len(per_seg)} segments; {lies[:3]})")
check(any(cid in h["containers"] for h in segs if h["stream"] == "events"),
      "an events segment lists the container in its header")

# ---- the chain over the segments ----
by_link = sorted(segs, key=lambda s: s.get("link", -1))
links = [s.get("link") for s in by_link]
check(links == list(range(len(segs))), f"links 0..{len(segs) - 1}, each once ({links[:5]}…)")
broken = [s["_id"] for a, s in zip(by_link, by_link[1:]) if bytes(s["prev"]) != S.digest(a)]
check(bytes(by_link[0]["prev"]) == bytes(32) and not broken,
      f"each prev is the SHA-256 of the previous segment document ({broken[:3]})")
ch = sess.get("chain", {})
check(ch.get("version") == 2 and ch.get("links") == len(segs) and
      bytes(ch.get("head", b"")) == S.digest(by_link[-1]) and ch.get("complete") is True,
      f"the session's chain: version 2, links, head of the last segment, complete ({ch})")
counts = {st: sum(1 for v in stored.values() for s2, _ in v if s2 == st) for st in S.STREAMS}
check(ch.get("counts") == counts and ch.get("docs") == sum(counts.values()),
      f"chain.counts and docs are the documents per stream ({ch.get('counts')} == {counts})")

if not __import__("lib").failures:
    d.client.drop_database(DB)
finish("segments_e2e")
