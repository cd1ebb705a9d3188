"""segments.py — the raw layout of issue 33 (common/segment.h) read and written independently
of the C code: pymongo's bson and python3-zstandard only.

A segment is one document of the `segments` collection holding a run of one stream's raw
documents (events, proc_events, snapshot, container_facts), back to back as BSON and
zstd-compressed in `data`, with a header (seq range, n, times, tgids, containers, syscalls,
raw_bytes, codec) and, when chained, `link` and `prev` (SHA-256 of the previous segment
document's BSON bytes; the session document's chain.head is the hash of the last one).

Reading: raw_docs() / count_raw() decode a session's segments (checked the way seg_unpack()
checks them) and filter the documents the way a MongoDB query would (the subset of operators
match() knows); Raw(db).events.find/count_documents/find_one/distinct stand in for the old
per-stream collections. Writing: seal() builds a segment document field for field as
seg_builder_seal() does; chained() links segments like the listener's chain;
insert_session() stores a hand-made session that way."""
import datetime
import hashlib
import re
import struct

import bson
from bson.binary import Binary
from bson.codec_options import CodecOptions
from bson.int64 import Int64
from bson.raw_bson import RawBSONDocument
import zstandard

COLL = "segments"
STREAMS = ("events", "proc_events", "snapshot", "container_facts")
CODEC = "zstd"
ZSTD_LEVEL = 3
SEG_EVENTS = 1024  # SEG_DEFAULT_EVENTS
MAX_TGIDS, MAX_CONTAINERS, MAX_SYSCALLS = 256, 32, 64
RAW_LIMIT = (8 << 20) + (16 << 20) + (64 << 10)
RAW = CodecOptions(document_class=RawBSONDocument)


class SegmentError(ValueError):
    """A segment that does not decode; the message starts with its _id."""


# ---- reading ----

def unpack(seg):
    """The documents of one segment document (dict or RawBSONDocument) as BSON bytes each,
    after the checks seg_unpack() makes: a known codec, raw_bytes in range, a frame that
    decodes to exactly raw_bytes bytes that are exactly n valid BSON documents."""
    sid = seg.get("_id", "(no _id)")
    if seg.get("codec") != CODEC:
        raise SegmentError(f"{sid}: unknown codec {seg.get('codec')!r}")
    raw_bytes, n = int(seg["raw_bytes"]), int(seg["n"])
    if not 0 <= raw_bytes <= RAW_LIMIT:
        raise SegmentError(f"{sid}: raw_bytes {raw_bytes} out of range")
    data = bytes(seg["data"])
    try:
        size = zstandard.get_frame_parameters(data).content_size
        if size not in (zstandard.CONTENTSIZE_UNKNOWN, raw_bytes):
            raise SegmentError(f"{sid}: data's size differs from raw_bytes")
        raw = zstandard.ZstdDecompressor().decompress(data, max_output_size=raw_bytes)
    except zstandard.ZstdError as e:
        raise SegmentError(f"{sid}: data does not decode: {e}") from None
    if len(raw) != raw_bytes:
        raise SegmentError(f"{sid}: data decodes to {len(raw)} bytes, raw_bytes {raw_bytes}")
    out, pos = [], 0
    while pos < len(raw):
        if len(raw) - pos < 5:
            raise SegmentError(f"{sid}: a document is cut at the end")
        dlen = struct.unpack_from("<i", raw, pos)[0]
        if dlen < 5 or dlen > len(raw) - pos:
            raise SegmentError(f"{sid}: a document's length lies")
        one = raw[pos:pos + dlen]
        try:
            bson.decode(one)
        except Exception as e:
            raise SegmentError(f"{sid}: a document is not valid BSON ({e})") from None
        out.append(one)
        pos += dlen
    if len(out) != n:
        raise SegmentError(f"{sid}: {len(out)} documents, the header says {n}")
    return out


def decode(seg):
    """The documents of one segment as dicts, in the order the segment holds them."""
    return [bson.decode(b) for b in unpack(seg)]


def segments(db, session=None, stream=None, raw=False, **header):
    """The segment documents of session (None: every session) and stream (None: every
    stream) that match the header equalities given, in (stream, seq_first) order.
    raw: as RawBSONDocument (their exact bytes, for digest())."""
    q = dict(header)
    if session is not None:
        q["session"] = session
    if stream is not None:
        q["stream"] = stream
    coll = db.get_collection(COLL, codec_options=RAW) if raw else db[COLL]
    return sorted(coll.find(q), key=lambda s: (s["stream"], s["seq_first"]))


def prune(cond):
    """Header conditions that keep every segment which may hold a document matching cond (a
    filter naming a container or a pid by equality): the segment lists the value, or its list
    is capped. {} when nothing can be pruned."""
    out = []
    c = (cond or {}).get("container", ...)
    if c is None or isinstance(c, str):
        out.append({"$or": [{"containers": c}, {"containers_capped": True}]})
    for k in ("pid", "tgid"):
        v = (cond or {}).get(k)
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            out.append({"$or": [{"tgids": v}, {"tgids_capped": True}]})
    return {"$and": out} if out else {}


def raw_docs(db, session=None, stream=None, filter=None, **equal):
    """The raw documents of session (None: every session of db) and stream (None: every
    stream), decoded from their segments, in seq order (a stream's documents are packed in
    submit order, nearly but not always seq order), that match filter (a MongoDB filter,
    the subset match() knows) and every top-level equality in equal (an array field matches
    by element, like MongoDB)."""
    cond = dict(filter or {})
    cond.update(equal)
    docs = []
    for seg in segments(db, session, stream, **prune(cond)):
        docs += [x for x in decode(seg) if match(x, cond)]
    docs.sort(key=lambda x: (str(x.get("session")), x.get("seq", 0)))
    return docs


def count_raw(db, session=None, stream=None, filter=None, **equal):
    """How many raw documents raw_docs() gives (every segment decoded and checked)."""
    return len(raw_docs(db, session, stream, filter, **equal))


# ---- a MongoDB filter: the subset the tests use ----

def _values(doc, path):
    """The values a dotted path reaches, arrays walked on the way like MongoDB."""
    cur = [doc]
    for part in path.split("."):
        nxt = []
        for v in cur:
            if isinstance(v, dict):
                if part in v:
                    nxt.append(v[part])
            elif isinstance(v, list):
                if part.isdigit() and int(part) < len(v):
                    nxt.append(v[int(part)])
                nxt += [e[part] for e in v if isinstance(e, dict) and part in e]
        cur = nxt
    return cur


def _eq1(v, want):
    if isinstance(want, re.Pattern):
        return isinstance(v, str) and want.search(v) is not None
    if isinstance(v, bool) != isinstance(want, bool):
        return False
    return v == want


def _eq(v, want):
    """v equals want, or v is an array with an element equal to want."""
    return _eq1(v, want) or (isinstance(v, list) and any(_eq1(e, want) for e in v))


def _flat(vals):
    out = []
    for v in vals:
        out += v if isinstance(v, list) else [v]
    return out


def _op(vals, op, arg, doc, path):
    if op == "$eq":
        if arg is None and not vals:
            return True  # {field: null} matches a missing field
        return any(_eq(v, arg) for v in vals)
    if op == "$ne":
        return not _op(vals, "$eq", arg, doc, path)
    if op == "$in":
        return any(_op(vals, "$eq", a, doc, path) for a in arg)
    if op == "$nin":
        return not _op(vals, "$in", arg, doc, path)
    if op == "$exists":
        return bool(vals) == bool(arg)
    if op == "$regex":
        return any(isinstance(v, str) and re.search(arg, v) for v in _flat(vals))
    if op in ("$gt", "$gte", "$lt", "$lte"):
        f = {"$gt": lambda a: a > arg, "$gte": lambda a: a >= arg,
             "$lt": lambda a: a < arg, "$lte": lambda a: a <= arg}[op]
        for v in _flat(vals):
            if v is None or isinstance(v, bool) or type(v) is not type(arg) and not (
                    isinstance(v, (int, float)) and isinstance(arg, (int, float))):
                continue
            if f(v):
                return True
        return False
    if op == "$size":
        return any(isinstance(v, list) and len(v) == arg for v in vals)
    if op == "$elemMatch":
        return any(isinstance(v, list) and any(isinstance(e, dict) and match(e, arg)
                                               for e in v) for v in vals)
    if op == "$not":
        return not match(doc, {path: arg})
    raise ValueError(f"segments.match: operator {op} not supported")


def match(doc, cond):
    """Whether doc matches the MongoDB filter cond: equality (an array matches by element,
    null matches a missing field), dotted paths, $eq $ne $in $nin $exists $regex
    ($options) $gt $gte $lt $lte $size $elemMatch $not, and $or $and $nor."""
    for k, want in (cond or {}).items():
        if k in ("$or", "$and", "$nor"):
            hits = [match(doc, c) for c in want]
            if not {"$or": any, "$and": all, "$nor": lambda h: not any(h)}[k](hits):
                return False
            continue
        vals = _values(doc, k)
        if isinstance(want, dict) and want and all(o.startswith("$") for o in want):
            for op, arg in want.items():
                if op == "$options":
                    continue
                if op == "$regex" and want.get("$options"):
                    arg = "(?%s)%s" % (want["$options"], arg)
                if not _op(vals, op, arg, doc, k):
                    return False
        elif not _op(vals, "$eq", want, doc, k):
            return False
    return True


matches = match


def _project(doc, projection):
    if not projection:
        return doc
    # a dotted path ("paths.name") keeps its whole top-level field: more than MongoDB
    # returns, never less
    keep = list(dict.fromkeys(k.split(".")[0] for k, v in projection.items() if v))
    if keep:
        out = {k: doc[k] for k in keep if k in doc}
        if projection.get("_id", 1) and "_id" in doc:
            out["_id"] = doc["_id"]
        return out
    return {k: v for k, v in doc.items() if k not in projection}


class RawColl:
    """One stream of db read through its segments, in place of the old collection: find
    (projection, sort), find_one, count_documents, distinct; insert_many/insert_one store
    hand-made documents as unchained segments. A filter naming one session (an ObjectId)
    decodes that session's segments only."""

    def __init__(self, db, stream):
        self.db, self.stream = db, stream

    def _all(self, flt):
        session = (flt or {}).get("session")
        if not isinstance(session, bson.ObjectId):
            session = None
        return raw_docs(self.db, session, self.stream, flt)

    def find(self, flt=None, projection=None, sort=None, **_):
        docs = self._all(flt)
        for k, direction in reversed(sort or []):
            docs.sort(key=lambda d: (d.get(k) is None, d.get(k)), reverse=direction < 0)
        return [_project(d, projection) for d in docs]

    def find_one(self, flt=None, projection=None, **kw):
        got = self.find(flt, projection, **kw)
        return got[0] if got else None

    def count_documents(self, flt=None, **_):
        return len(self._all(flt))

    def distinct(self, key, flt=None):
        out = []
        for d in self._all(flt):
            for x in _flat(_values(d, key)):
                if x not in out:
                    out.append(x)
        return out

    def insert_many(self, docs):
        by = {}
        for d in docs:
            by.setdefault(d["session"], []).append(d)
        segs = [seal(sid, self.stream, ds[i:i + SEG_EVENTS])
                for sid, ds in by.items() for i in range(0, len(ds), SEG_EVENTS)]
        if segs:
            self.db[COLL].insert_many(segs)
        return segs

    def insert_one(self, doc):
        return self.insert_many([doc])


class Raw:
    """Raw(db).events, .proc_events, .snapshot, .container_facts (or Raw(db)["events"])."""

    def __init__(self, db):
        self.db = db

    def __getattr__(self, name):
        if name in STREAMS:
            return RawColl(self.db, name)
        raise AttributeError(name)

    def __getitem__(self, name):
        return self.__getattr__(name)


# ---- writing: seg_builder_seal() re-implemented ----

def _note(doc, h):
    seq = doc.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise ValueError(f"seal: a document without an integer seq ({doc.get('_id')})")
    h["seq"].append(seq)
    if isinstance(doc.get("ts"), datetime.datetime):
        h["ts"].append(doc["ts"])
    for k in ("pid", "tgid", "parent_tgid", "child_tgid"):
        v = doc.get(k)
        if isinstance(v, int) and not isinstance(v, bool) and v > 0 and v not in h["tgids"]:
            if len(h["tgids"]) < MAX_TGIDS:
                h["tgids"].append(v)
            else:
                h["tgids_capped"] = True
    c = doc.get("container")
    if not isinstance(c, str):
        h["host"] = True  # null, another type or no container field: a host document
    elif c not in h["containers"]:
        if len(h["containers"]) < MAX_CONTAINERS:
            h["containers"].append(c)
        else:
            h["containers_capped"] = True
    for k in ("syscall", "what"):
        v = doc.get(k)
        if isinstance(v, str) and v not in h["syscalls"]:
            if len(h["syscalls"]) < MAX_SYSCALLS:
                h["syscalls"].append(v)
            else:
                h["syscalls_capped"] = True


def seal(session, stream, docs, link=None, prev=None, level=ZSTD_LEVEL):
    """The segment document of docs (dicts or BSON bytes, packed in the order given) of
    stream in session (an ObjectId), field for field and type for type as
    seg_builder_seal() makes it. link (int) and prev (32 bytes; zeros when None) chain it."""
    if not docs:
        raise ValueError("seal: no documents")
    blobs = [bytes(d) if isinstance(d, (bytes, bytearray)) else bson.encode(d) for d in docs]
    h = {"seq": [], "ts": [], "tgids": [], "tgids_capped": False, "containers": [],
         "host": False, "containers_capped": False, "syscalls": [], "syscalls_capped": False}
    for b in blobs:
        _note(bson.decode(b), h)
    raw = b"".join(blobs)
    data = zstandard.ZstdCompressor(level=level, write_content_size=True).compress(raw)
    seg = {"_id": "%s:%s:%d" % (session, stream, min(h["seq"])), "session": session,
           "stream": stream, "seq_first": Int64(min(h["seq"])),
           "seq_last": Int64(max(h["seq"])), "n": Int64(len(blobs))}
    if h["ts"]:
        seg["ts_first"], seg["ts_last"] = min(h["ts"]), max(h["ts"])
    seg["tgids"] = [Int64(t) for t in h["tgids"]]
    seg["tgids_capped"] = h["tgids_capped"]
    seg["containers"] = h["containers"] + ([None] if h["host"] else [])
    seg["containers_capped"] = h["containers_capped"]
    seg["syscalls"] = list(h["syscalls"])
    seg["syscalls_capped"] = h["syscalls_capped"]
    seg["raw_bytes"] = Int64(len(raw))
    seg["codec"] = CODEC
    seg["data"] = Binary(data)
    if link is not None:
        seg["link"] = Int64(link)
        seg["prev"] = Binary(bytes(prev) if prev is not None else bytes(32))
    return seg


def digest(seg):
    """SHA-256 of a segment document's BSON bytes: a RawBSONDocument's exact bytes, or a
    dict encoded in its field order (the link hash of the chain)."""
    raw = seg.raw if isinstance(seg, RawBSONDocument) else bson.encode(seg)
    return hashlib.sha256(raw).digest()


def chained(session, groups):
    """Segments chained like the listener's: groups = [(stream, docs), ...] in seal order,
    link 0, 1, …, each prev the digest of the one before (zeros for link 0). Returns
    (segments, the `chain` sub-document of the closed session: version 2, links, head,
    docs, counts, complete)."""
    segs, prev, counts = [], bytes(32), {s: 0 for s in STREAMS}
    for i, (stream, docs) in enumerate(groups):
        seg = seal(session, stream, docs, link=i, prev=prev)
        prev = digest(seg)
        counts[stream] = counts.get(stream, 0) + len(docs)
        segs.append(seg)
    info = {"algo": "sha256", "version": 2, "links": Int64(len(segs)), "head": Binary(prev),
            "docs": Int64(sum(counts.values())),
            "counts": {k: Int64(v) for k, v in counts.items()}, "complete": True}
    return segs, info


def stream_of(doc):
    """The stream of a hand-made raw document, by its fields: proc events have `what`,
    events `syscall`, container facts `facts` / `kind`; the rest are snapshot entries.
    (A caller that knows better passes streams explicitly.)"""
    if "what" in doc:
        return "proc_events"
    if "syscall" in doc:
        return "events"
    if "facts" in doc or doc.get("kind") == "container":
        return "container_facts"
    return "snapshot"


def groups_of(by_stream, per=SEG_EVENTS):
    """[(stream, docs)] for chained(): each stream of {stream: [docs]} in seq order, cut
    into segments of per documents, segments interleaved by their first seq (the order a
    listener seals them in)."""
    out = []
    for st, docs in by_stream.items():
        docs = sorted(docs, key=lambda x: x["seq"])
        out += [(st, docs[i:i + per]) for i in range(0, len(docs), per)]
    out.sort(key=lambda g: g[1][0]["seq"])
    return out


def insert_session(db, session, docs=None, by_stream=None, per=SEG_EVENTS, session_doc=None):
    """Store a hand-made session as a listener would: docs (streams by stream_of()) and/or
    by_stream {stream: [docs]} packed into chained segments of per documents in
    `segments`. With session_doc, that sessions document is inserted with the chain (or,
    when it exists, its `chain` $set). Returns (segments, chain sub-document)."""
    streams = {s: list(v) for s, v in (by_stream or {}).items()}
    for d in docs or []:
        streams.setdefault(stream_of(d), []).append(d)
    segs, info = chained(session, groups_of(streams, per))
    if segs:
        db[COLL].insert_many(segs)
    if session_doc is not None:
        if db.sessions.find_one({"_id": session}, {"_id": 1}):
            db.sessions.update_one({"_id": session}, {"$set": {"chain": info}})
        else:
            db.sessions.insert_one({**session_doc, "_id": session, "chain": info})
    return segs, info


# ---- the spool: its files hold the same segment documents ----

def spool_raw(spooled):
    """{stream: [raw docs]} from lib.read_spool()'s {collection: [docs]} (its segments
    decoded)."""
    out = {}
    for seg in spooled.get(COLL, []):
        out.setdefault(seg["stream"], []).extend(decode(seg))
    return out
