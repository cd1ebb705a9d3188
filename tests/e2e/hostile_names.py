"""hostile_names.py — file names and argv that unprivileged users control are recorded exactly
(issue 9): spaces, quotes, newlines, `=`, non-UTF-8 bytes, a ~4000-byte path, a hostile
argv0 and arguments, and an argv of thousands of items, opened and run from host processes
and inside a container. Valid UTF-8 must be stored as is; other bytes as U+FFFD plus
`<field>_hex` (notes.md "Strings"), which must decode to the exact bytes; a limit that applies
must say so (`argv_truncated`), never cut silently."""
import os
from segments import Raw
import shutil
import subprocess
import time

from lib import Listener, check, db, docker, finish, IMAGE

DB = f"lineage_test_hostile_names_{os.getpid()}"
BASE = f"/tmp/lineage-hostile-{os.getpid()}".encode()
ARGV_MAX = 4096  # listener/assemble.h ASM_ARGV_MAX (argv entries kept per audit event)

NAMES = [b"sp ace.txt", b'dq"uote.txt', b"sq'uote.txt", b"new\nline.txt", b"eq=ual=s.txt",
         b"a=b c=d.txt", b"bad\xff\xfe.txt", b"mixed \xc3\xa9\xff\"'\n=.txt",
         b"tab\tand\x01ctl.txt", b"utf8-\xe2\x98\x83.txt"]


def fix(b):
    """What the listener stores in the field for bytes b (utf8.h): valid UTF-8 as is, else one
    U+FFFD per offending byte."""
    try:
        s = b.decode("utf-8")
        if "\0" not in s:
            return s, None
    except UnicodeDecodeError:
        pass
    return b.decode("utf-8", errors="replace"), b.hex().upper()


def exact_name(p):
    """The exact bytes of a paths[] item."""
    if "name_hex" in p:
        return bytes.fromhex(p["name_hex"])
    return p["name"].encode() if p.get("name") is not None else None


def exact_argv(e):
    argv = [a.encode() for a in e.get("argv", [])]
    for k, h in e.get("argv_hex", {}).items():
        argv[int(k)] = bytes.fromhex(h)
    return argv


shutil.rmtree(BASE, ignore_errors=True)
os.makedirs(BASE)
# ~4000-byte path: nested directories of 200 bytes each (PATH_MAX is 4096 with the NUL)
longdir = BASE
while len(longdir) + 201 < 3900:
    longdir = os.path.join(longdir, b"d" * 199 + b"=")
os.makedirs(longdir)
longname = os.path.join(longdir, b"long file \xff name.txt")  # spaces + invalid byte: hex-encoded
longplain = os.path.join(longdir, b"long-plain.txt")
paths = [os.path.join(BASE, n) for n in NAMES] + [longname, longplain]
for p in paths:
    with open(p, "wb") as f:
        f.write(b"x")
print(f"long path: {len(longname)} and {len(longplain)} bytes")

# A program with a hostile file name, argv0 and arguments.
prog = os.path.join(BASE, b"prog \"q\" 'q' =\n\xff")
shutil.copy("/usr/bin/true", prog)
os.chmod(prog, 0o755)
hostile_argv = [b"argv0 \"evil\" \xfe\n=", b"sp ace", b'dq"', b"sq'", b"nl\nnl", b"k=v",
                b"\xff\xfe", b"", b"utf8 \xe2\x98\x83", b"x" * 10000]
many = [b"/usr/bin/true"] + [f"arg{i}".encode() for i in range(4999)]       # 5000 items
fits = [b"/usr/bin/true"] + [f"fit-{i} =\"".encode() for i in range(3999)]  # 4000, hex-encoded

L = Listener(DB)
L.start()
cats = []
for p in paths:
    cats.append((p, subprocess.Popen([b"/usr/bin/cat", p], stdout=subprocess.DEVNULL).pid))
pprog = subprocess.Popen(hostile_argv, executable=prog)
pmany = subprocess.Popen(many)
pfits = subprocess.Popen(fits)
for pr in (pprog, pmany, pfits):
    pr.wait()
# Inside a container: the same kinds of names, made by busybox sh (printf for the raw bytes).
script = r"""d=/tmp/h; mkdir $d; for n in "sp ace" 'dq"q' "sq'q" "$(printf 'nl\nx')" "eq=a=b" \
"$(printf 'bad\377\376')"; do echo x > "$d/$n"; cat "$d/$n"; done; sleep 1"""
cnames = [b"sp ace", b'dq"q', b"sq'q", b"nl\nx", b"eq=a=b", b"bad\xff\xfe"]
cid = docker("run", "-d", "--network", "none", IMAGE, "sh", "-c", script).stdout.strip()
docker("wait", cid)
docker("rm", cid)
time.sleep(3)  # assembler timeout and writer batches
rc = L.stop()
shutil.rmtree(BASE, ignore_errors=True)
log = L.log()
print(log[-2000:])
check(rc == 0, f"listener exited 0 (got {rc})")

d = db(DB)
ev = Raw(d).events
s = d.sessions.find_one()
counters = s.get("counters", {}) if s else {}
check(counters.get("doc_errors", 0) == 0, f"no document build errors ({counters.get('doc_errors')})")
check(counters.get("dropped", 0) == 0, "nothing dropped by the writer")


def opens_of(pid):
    return list(ev.find({"pid": pid, "syscall": {"$in": ["open", "openat"]}}))


for p, pid in cats:
    want_name, want_hex = fix(p)
    found = [x for e in opens_of(pid) for x in e.get("paths", []) if exact_name(x) == p]
    check(len(found) >= 1, f"host open of {p[-40:]!r} ({len(p)} B) recorded exactly")
    for x in found[:1]:
        check(x.get("name") == want_name, f"  paths[].name of {p[-30:]!r} is the (repaired) name")
        check(x.get("name_hex") == want_hex, f"  name_hex of {p[-30:]!r} is {'absent' if not want_hex else 'the exact bytes'}")
        if p.startswith(b"/") and want_hex is None:
            # abs is left out when it would repeat an absolute name (issue 15, event_doc.h)
            check(x.get("abs", want_name) == want_name, f"  abs of {p[-30:]!r} absent or the name")

e = ev.find_one({"pid": pprog.pid, "syscall": "execve"})
check(e is not None, "execve of the hostile program recorded")
if e:
    check(exact_argv(e) == hostile_argv, f"hostile argv recorded exactly ({exact_argv(e)[:3]}…)")
    check(e.get("argc") == len(hostile_argv) and not e.get("argv_truncated"), "argc, not truncated")
    check(e.get("argv", [None])[0] == fix(hostile_argv[0])[0], "argv[0] field repaired with U+FFFD")
    exe = bytes.fromhex(e["exe_hex"]) if "exe_hex" in e else (e.get("exe") or "").encode()
    check(exe == prog, f"exe is the hostile program's exact path ({exe!r})")
    check(any(exact_name(x) == prog for x in e.get("paths", [])), "execve paths[] has the program")

e = ev.find_one({"pid": pmany.pid, "syscall": "execve"})
check(e is not None, "execve with 5000 arguments recorded")
if e:
    got = exact_argv(e)
    check(e.get("argc") == len(many), f"argc == {len(many)} ({e.get('argc')})")
    check(e.get("argv_truncated") is True, "5000 > ASM_ARGV_MAX: argv_truncated is set")
    check(len(got) == ARGV_MAX and got == many[:ARGV_MAX],
          f"the first {ARGV_MAX} arguments are exact ({len(got)} kept)")

e = ev.find_one({"pid": pfits.pid, "syscall": "execve"})
check(e is not None, "execve with 4000 hex-encoded arguments recorded")
if e:
    got = exact_argv(e)
    check(got == fits, f"all 4000 arguments exact ({len(got)} kept)")
    check(not e.get("argv_truncated") and not e.get("truncated"), "no truncation flag")
for pid, want in ((pmany.pid, many), (pfits.pid, fits)):
    pe = Raw(d).proc_events.find_one({"what": "exec", "pid": pid})
    # argv null: /proc showed no cmdline (a zombie by then): unread, not truncated
    if pe and not pe.get("gone") and pe.get("argv") is not None:
        n = len(pe["argv"])
        check(n == len(want) or (pe.get("argv_truncated") is True and n < len(want)),
              f"proc_events argv of {len(want)} args complete or flagged ({n})")

for n in cnames:
    p = b"/tmp/h/" + n
    found = [x for e in ev.find({"container": cid, "paths.name": fix(p)[0]})
             for x in e.get("paths", []) if exact_name(x) == p]
    check(len(found) >= 2, f"container open of {n!r} recorded exactly ({len(found)})")

d.client.drop_database(DB)
finish("hostile_names")
