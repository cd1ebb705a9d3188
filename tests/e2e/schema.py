"""schema.py — lineage's collection and field names for the Python tests, read from the one
schema header (common/schema.h), and the filter's output collections of a session (named in
the session document's `filter` field)."""
import os
import re

_HDR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "common", "schema.h")
NAMES = {}
with open(_HDR) as f:
    for m in re.finditer(r'^#define (SCHEMA_\w+) "([^"]*)"', f.read(), re.M):
        NAMES[m.group(1)] = m.group(2)
globals().update(NAMES)


def out(db, session, kind):
    """The collection of the filter's output of kind ("processes", "containers", "files") for
    session in database db (pymongo), or None when the session has not been filtered."""
    s = db[SCHEMA_SESSIONS].find_one({"_id": session}, {SCHEMA_F_FILTER: 1})
    f = (s or {}).get(SCHEMA_F_FILTER) or {}
    return db[f[kind]] if kind in f else None


def out_all(db, kind):
    """Every session's current output of kind, as (session, collection) pairs."""
    res = []
    for s in db[SCHEMA_SESSIONS].find({SCHEMA_F_FILTER: {"$exists": True}}, {SCHEMA_F_FILTER: 1}):
        res.append((s["_id"], db[s[SCHEMA_F_FILTER][kind]]))
    return res
