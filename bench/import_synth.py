#!/usr/bin/env python3
"""import_synth.py — a synthetic auditd log (RAW format, lineage's rules) for the import bench
(issue 30): N jobs of a shell that clones a child which execs, opens, writes, closes and exits
(6 events, 15 records each), a pid reused every 30000 jobs, records of neighbouring events
interleaved now and then. Usage: import_synth.py EVENTS OUT (OUT '-' for stdout)."""
import sys

def main():
    events, out = int(sys.argv[1]), sys.argv[2]
    f = sys.stdout if out == "-" else open(out, "w")
    ids = ("auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3")
    t, serial, job, n = 1700000000000, 1000, 0, 0
    w = f.write
    def sysc(ms, ser, nr, rest, pid, ppid, comm, exe):
        return (f"type=SYSCALL msg=audit({ms // 1000}.{ms % 1000:03d}:{ser}): arch=c000003e "
                f"syscall={nr} {rest} ppid={ppid} pid={pid} {ids} comm=\"{comm}\" "
                f"exe=\"{exe}\" subj=unconfined key=\"lineage\"\n")
    def hdr(ms, ser):
        return f"audit({ms // 1000}.{ms % 1000:03d}:{ser})"
    while n < events:
        job += 1
        sh = 1000
        child = 2000 + job % 30000
        ms = t + job // 3
        h = hdr(ms, serial)
        w(sysc(ms, serial, 56, f"success=yes exit={child} a0=1200011 a1=0 a2=0 a3=7f00 items=0",
               sh, 1, "sh", "/bin/busybox"))
        w(f"type=PROCTITLE msg={h}: proctitle=\"sh\"\n")
        serial += 1
        h = hdr(ms, serial)
        w(sysc(ms, serial, 59, "success=yes exit=0 a0=5581 a1=5582 a2=5583 a3=0 items=2",
               child, sh, "sh", "/bin/busybox"))
        w(f"type=EXECVE msg={h}: argc=3 a0=\"cat\" a1=\"-n\" a2=\"/etc/job{job % 997}\"\n")
        w(f"type=CWD msg={h}: cwd=\"/tmp\"\n")
        w(f"type=PATH msg={h}: item=0 name=\"/bin/cat\" inode=11 dev=08:01 mode=0100755 ouid=0 "
          "ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0\n")
        w(f"type=PATH msg={h}: item=1 name=\"/lib64/ld-linux-x86-64.so.2\" inode=12 dev=08:01 "
          "mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 "
          "cap_fver=0 cap_frootid=0\n")
        w(f"type=PROCTITLE msg={h}: proctitle=636174002D6E002F6574632F6A6F62\n")
        serial += 1
        h = hdr(ms, serial)
        w(sysc(ms, serial, 257, "success=yes exit=3 a0=ffffff9c a1=5590 a2=0 a3=0 items=1",
               child, sh, "cat", "/bin/cat"))
        w(f"type=CWD msg={h}: cwd=\"/tmp\"\n")
        w(f"type=PATH msg={h}: item=0 name=\"/etc/job{job % 997}\" inode={job} dev=08:01 "
          "mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 "
          "cap_fver=0 cap_frootid=0\n")
        w(f"type=PROCTITLE msg={h}: proctitle=636174002D6E002F6574632F6A6F62\n")
        serial += 1
        for nr, rest in ((1, "success=yes exit=17 a0=1 a1=5591 a2=11 a3=0 items=0"),
                         (3, "success=yes exit=0 a0=3 a1=0 a2=0 a3=0 items=0"),
                         (231, "a0=0 a1=0 a2=3c a3=0 items=0")):
            w(sysc(ms, serial, nr, rest, child, sh, "cat", "/bin/cat"))
            if nr != 231:
                w(f"type=PROCTITLE msg={hdr(ms, serial)}: proctitle=636174002D6E\n")
            serial += 1
        n += 6
    if f is not sys.stdout:
        f.close()

if __name__ == "__main__":
    main()
