#!/usr/bin/env bash
# docker_run.sh — a real container from the local test image runs, sees its own rootfs,
# and is in a docker cgroup the listener can read its id from.
set -euo pipefail
fail() { echo "docker_run: FAIL: $*" >&2; exit 1; }
D=/usr/bin/docker
out=$($D run --rm --network none lineage-busybox:latest sh -c 'cat /etc/motd; echo x > /tmp/f; cat /tmp/f; cat /proc/1/cgroup') \
	|| fail "docker run failed"
echo "$out"
grep -qx 'lineage test image' <<<"$out" || fail "motd of the test image not seen"
grep -qx 'x' <<<"$out" || fail "write/read inside the container failed"
grep -Eq '[0-9a-f]{64}' <<<"$out" || fail "no 64-hex container id in the container's cgroup"
echo "docker_run: ok"
