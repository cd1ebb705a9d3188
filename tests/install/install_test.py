"""install_test.py — what `meson install` lays out (issue 18). Three tests, by argument:
  layout   meson install --destdir into a temp dir: programs in bindir (they run: --version),
           units, the store's init helper, sample config (it parses: lineage-listener
           --config it --help-free check), man pages
  verify   systemd-analyze verify on the installed units (PID 1 need not be systemd: units are
           loaded from the destdir as root, not from the running manager; programs the units
           run that are not part of lineage's install get an executable stand-in there)
  man      man -l renders each generated page, non-empty, with an EXIT STATUS section
Exit 77 (skipped) when a tool the test needs is missing."""
import os
import shutil
import subprocess
import sys
import tempfile

BUILD = os.environ["BUILD_ROOT"]
MESON = os.environ.get("MESON", "meson")
VERSION = os.environ["VERSION"]
PREFIX = os.environ.get("PREFIX", "/usr/local")
UNITS = ["lineage-listener.service", "lineage-store.service", "lineage-store-postgresql.service"]
PAGES = ["man8/lineage-listener.8", "man8/lineage-filter.8", "man1/lineage-query.1",
         "man8/lineage-import.8"]
failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what, file=sys.stdout if cond else sys.stderr)
    if not cond:
        failures.append(what)


def install(dest):
    r = subprocess.run([MESON, "install", "-C", BUILD, "--no-rebuild", "--destdir", dest,
                        "--quiet"], capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout, r.stderr, file=sys.stderr)
        raise SystemExit(f"meson install failed ({r.returncode})")
    return dest + PREFIX


def layout(dest):
    root = install(dest)
    files = sorted(os.path.relpath(os.path.join(d, f), root)
                   for d, _, fs in os.walk(root) for f in fs)
    print("installed:\n  " + "\n  ".join(files))
    want = (["bin/lineage-listener", "bin/lineage-filter", "bin/lineage-query",
             "bin/lineage-import",
             "libexec/lineage-store-init", "share/lineage/lineage.conf.sample",
             "share/lineage/store-gin.sql",
             "share/bash-completion/completions/lineage-query"] +
            ["lib/systemd/system/" + u for u in UNITS] +
            ["share/man/" + p for p in PAGES])
    for w in want:
        check(w in files, f"{w} installed")
    extra = [f for f in files if f not in want]
    check(not extra, f"nothing else installed (tests, benchmarks): {extra}")
    for prog in ("lineage-listener", "lineage-filter", "lineage-query", "lineage-import"):
        p = os.path.join(root, "bin", prog)
        check(os.access(p, os.X_OK), f"{prog} is executable")
        r = subprocess.run([p, "--version"], capture_output=True, text=True)
        check(r.returncode == 0 and r.stdout.strip() == f"{prog} {VERSION}",
              f"{prog} --version says '{prog} {VERSION}' ({r.returncode} {r.stdout.strip()!r})")
    check(os.access(os.path.join(root, "libexec/lineage-store-init"), os.X_OK),
          "lineage-store-init is executable")
    unit = open(os.path.join(root, "lib/systemd/system/lineage-listener.service")).read()
    check(f"ExecStart={PREFIX}/bin/lineage-listener " in unit,
          "the listener unit runs the installed program")
    check("@" not in "".join(l for l in unit.splitlines() if not l.startswith("#")),
          "no @placeholder@ left in the listener unit")
    sample = os.path.join(root, "share/lineage/lineage.conf.sample")
    r = subprocess.run([os.path.join(root, "bin/lineage-listener"), "--config", sample,
                        "--no-db"], capture_output=True, text=True)
    check(r.returncode == 2 and "--no-db needs --jsonl" in r.stderr,
          f"the sample config parses (only the missing --jsonl is reported: {r.stderr.strip()})")


def verify(dest):
    sa = shutil.which("systemd-analyze")
    if not sa:
        print("systemd-analyze not installed: skipped")
        sys.exit(77)
    root = install(dest)
    unitdir = os.path.join(root, "lib/systemd/system")
    # Programs of the units that lineage does not install (FerretDB, PostgreSQL): stand-ins
    # in the verify root, so verify checks lineage's units, not this host's packages.
    for u in UNITS:
        for line in open(os.path.join(unitdir, u)):
            if line.split("=", 1)[0] in ("ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop"):
                prog = line.split("=", 1)[1].split()[0].lstrip("-+!@:")
                stand_in = dest + prog
                if not os.path.exists(stand_in):
                    os.makedirs(os.path.dirname(stand_in), exist_ok=True)
                    with open(stand_in, "w") as f:
                        f.write("#!/bin/sh\nexit 0\n")
                    os.chmod(stand_in, 0o755)
                    print(f"stand-in for {prog}")
    env = dict(os.environ, MANPATH=os.path.join(root, "share/man"), SYSTEMD_PAGER="cat")
    # --root: load units and check programs inside the destdir; --recursive-errors=no: the
    # host's own targets (sysinit.target, ...) are not ours to check (PID 1 may not be systemd)
    r = subprocess.run([sa, "verify", f"--root={dest}", "--recursive-errors=no",
                        *[os.path.join(unitdir, u) for u in UNITS]],
                       capture_output=True, text=True, env=env)
    print(r.stdout + r.stderr)
    check(r.returncode == 0, f"systemd-analyze verify exits 0 ({r.returncode})")
    check(not r.stderr.strip() and not r.stdout.strip(),
          "systemd-analyze verify says nothing (no unknown key, bad value or missing program)")
    # the listener keeps exactly the capabilities README lists
    unit = open(os.path.join(unitdir, "lineage-listener.service")).read()
    caps = {"CAP_AUDIT_CONTROL", "CAP_AUDIT_READ", "CAP_NET_ADMIN", "CAP_SYS_PTRACE",
            "CAP_DAC_READ_SEARCH"}
    for key in ("CapabilityBoundingSet", "AmbientCapabilities"):
        vals = [l.split("=", 1)[1].split() for l in unit.splitlines() if l.startswith(key + "=")]
        check(len(vals) == 1 and set(vals[0]) == caps, f"{key} is exactly {sorted(caps)}")
    for line in ("Restart=on-failure", "After=lineage-store.service network-online.target",
                 "StateDirectory=lineage lineage/spool", "KillSignal=SIGTERM"):
        check(line in unit.splitlines(), f"listener unit has {line}")


def man(_dest):
    if not shutil.which("man"):
        print("man not installed: skipped")
        sys.exit(77)
    for p in PAGES:
        path = os.path.join(BUILD, "doc", os.path.basename(p))
        r = subprocess.run(["man", "-l", path], capture_output=True, text=True,
                           env=dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="80"))
        text = r.stdout
        name = os.path.basename(p).rsplit(".", 1)[0]
        check(r.returncode == 0 and len(text.splitlines()) > 20,
              f"man -l {os.path.basename(p)} renders ({r.returncode}, {len(text.splitlines())} lines)")
        check("EXIT STATUS" in text and "NAME" in text and name in text,
              f"{os.path.basename(p)} has NAME and EXIT STATUS sections")
        check("warning" not in r.stderr.lower(), f"no groff warnings ({r.stderr.strip()[:200]})")


mode = sys.argv[1]
tmp = tempfile.mkdtemp(prefix=f"lineage-install-{mode}-")
try:
    {"layout": layout, "verify": verify, "man": man}[mode](tmp)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
if failures:
    print(f"install_test {mode}: {len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print(f"install_test {mode}: all checks passed")
