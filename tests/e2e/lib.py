"""lib.py — helpers for lineage's end-to-end tests: run the real listener (root, real audit
and proc connector), real docker containers, and read the real database with pymongo."""
import os
import fcntl
import signal
import subprocess
import sys
import tempfile
import time

from pymongo import MongoClient

LISTENER = os.environ.get("LISTENER", "build/listener/lineage-listener")
FILTER = os.environ.get("FILTER", "build/filter/lineage-filter")
URI = os.environ.get("LINEAGE_MONGODB_URI", "mongodb://127.0.0.1:27017")
DOCKER = "/usr/bin/docker"
IMAGE = os.environ.get("LINEAGE_TEST_IMAGE", "lineage-busybox:latest")

failures = []


def check(cond, what):
    """Record a failed expectation (the test goes on to report every one)."""
    if cond:
        print(f"ok: {what}")
    else:
        print(f"FAIL: {what}", file=sys.stderr)
        failures.append(what)


def finish(name):
    if failures:
        print(f"{name}: {len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print(f"{name}: all checks passed")
    sys.exit(0)


def audit_config():
    return subprocess.run([LISTENER, "--print-audit-config"], check=True,
                          capture_output=True, text=True).stdout


def db(name):
    return MongoClient(URI, serverSelectionTimeoutMS=5000)[name]


class Listener:
    """The real lineage-listener in the background, with its stderr in a file."""

    def __init__(self, dbname, *args):
        self.tmp = tempfile.mkdtemp(prefix="lineage-e2e-")
        self.errpath = os.path.join(self.tmp, "listener.err")
        self.args = [LISTENER, "--uri", URI, "--db", dbname, "--spool",
                     os.path.join(self.tmp, "spool"), "--stats-interval", "1", *args]
        self.proc = None

    def start(self, wait_for="recording", timeout=30):
        # Only one process can own audit: tests of several checkouts or runs on this host
        # take turns (the lock is released when this process exits).
        self.lock = open("/run/lineage-e2e-audit.lock", "w")
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        self.err = open(self.errpath, "w")
        self.proc = subprocess.Popen(self.args, stderr=self.err, stdout=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"listener exited early ({self.proc.returncode}):\n{self.log()}")
            if wait_for in self.log():
                time.sleep(0.5)  # the snapshot and threads get going
                return
            time.sleep(0.1)
        raise RuntimeError(f"listener did not start:\n{self.log()}")

    def stop(self, sig=signal.SIGTERM, timeout=60):
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=timeout)
        self.err.close()
        fcntl.flock(self.lock, fcntl.LOCK_UN)
        return rc

    def log(self):
        with open(self.errpath) as f:
            return f.read()


def docker(*args, check=True):
    return subprocess.run([DOCKER, *args], check=check, capture_output=True, text=True)
