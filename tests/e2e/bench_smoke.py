#!/usr/bin/env python3
"""bench_smoke.py — the benchmark's driver end to end at a tiny size (issue 8): bench/driver.py
runs the real load generator (host, and in a real container when the static copy is built)
under the real listener (--jsonl) and Debian's auditd, with the same rules, and every event
the load generator reports having caused must be found in each recorder's output, attributed
to it: nothing missing, nothing extra, the audit configuration restored. Needs bench/setup.sh
(auditd, laurel, the lineage-bench user; scripts/test.sh runs it) and the test image.

The kernel backlog waits here (backlog_wait 15000, the boot default) instead of dropping, so
that a busy CI host slows the workload rather than losing its events: loss is the benchmark's
subject, not this test's."""
import json
import os
import subprocess
import sys
import tempfile

from lib import check, finish

SRC = os.environ.get("SRCDIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
BUILD = os.path.dirname(os.path.dirname(os.environ["LISTENER"]))


def main():
    static = os.access(os.path.join(BUILD, "bench", "lineage-loadgen-static"), os.X_OK)
    workloads = ["files", "forkstorm", "exec"]
    if static:  # not built under sanitizers (no static ASan runtime)
        workloads += ["container-files", "container-exec"]
    with tempfile.TemporaryDirectory(prefix="lineage-bench-smoke-") as tmp:
        out = os.path.join(tmp, "bench.json")
        cmd = [sys.executable, os.path.join(SRC, "bench", "driver.py"), "--build", BUILD,
               "--recorders", "lineage-jsonl,auditd", "--workloads", ",".join(workloads),
               "--files", "300", "--forks", "100", "--rates", "50", "--seconds", "1",
               "--settle", "1", "--backlog-wait", "15000", "--out", out]
        print("+", " ".join(cmd), flush=True)
        env = dict(os.environ)
        # under ASan, LeakSanitizer's check at exit clones a thread in the load generator:
        # an extra clone the forkstorm count would see (listener leaks: the other e2e tests)
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
        sys.stderr.write(p.stderr[-4000:])
        print(p.stdout, flush=True)
        check(p.returncode == 0, "driver exit 0, got %d" % p.returncode)
        if not os.path.exists(out):
            check(False, "driver wrote %s" % out)
            return
        with open(out) as fh:
            res = json.load(fh)
    for name in ("lineage-jsonl", "auditd"):
        runs = res["recorders"].get(name, [])
        check(len(runs) == 1, "%s: one run" % name)
        if not runs:
            continue
        r = runs[0]
        check(r["problems"] == [], "%s: no problems %r" % (name, r["problems"]))
        seen = [w["workload"] for w in r["workloads"]]
        check(seen == workloads, "%s: workloads %r" % (name, seen))
        for w in r["workloads"]:
            lg = w["loadgen"]
            tag = "%s %s" % (name, w["spec"])  # spec says "container" for those
            check(lg["error"] == 0 and lg["uid"] != 0, "%s: ran unprivileged, no error" % tag)
            # what loadgen says it did must be what the recorder has, syscall by syscall
            check(w["expected_total"] > 0 and w["missing"] == 0,
                  "%s: expected %d, recorded %r" % (tag, w["expected_total"],
                                                    w["recorded_by_syscall"]))
            check(w["excess_by_syscall"] == {}, "%s: nothing extra %r" % (
                tag, w["excess_by_syscall"]))
            if lg["mode"] == "exec":
                check(lg["execs"] == 50 and w["recorded_by_syscall"]["execve"] == 50,
                      "%s: 50 execs recorded" % tag)
            if w["where"] == "container":
                check(w["loadgen_execve_recorded"], "%s: the container's exec of /loadgen "
                      "is seen (runtime events told apart)" % tag)
            check(w["cpu_s"] is not None and w["cpu_s"] >= 0, "%s: cpu measured" % tag)
        check((r.get("peak_rss_kib") or 0) > 0, "%s: peak RSS measured" % name)


if __name__ == "__main__":
    main()
    finish("bench-smoke")
