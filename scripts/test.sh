#!/usr/bin/env bash
# test.sh — the one test command (README, .ci/run), as root: install what is missing, build
# with --werror, start the embedded store (PostgreSQL + FerretDB) and dockerd on this host,
# build the local test image, run every test, then again under AddressSanitizer + UBSan, then
# run each fuzz target for $LINEAGE_FUZZ_SECONDS (default 30; 0 skips). Ends with
# "N passed, N failed".
# With CI=true (.ci/run sets it) the servers are set up from nothing on every run: a fresh,
# empty state directory (FerretDB built anew with an empty Go build cache, a new PostgreSQL
# cluster, a new socket directory), so a green CI means a fresh machine works.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
if [ "${CI:-}" = true ]; then
	export LINEAGE_LOCAL=/var/lib/lineage-ci LINEAGE_RUN=/run/lineage-ci
	. "$here/scripts/lib.sh"
	bash "$here/scripts/services.sh" stop store >/dev/null 2>&1 || true
	rm -rf "$LINEAGE_LOCAL" "$LINEAGE_RUN"
	export GOCACHE=$LINEAGE_LOCAL/go-build-cache
	log "CI: fresh state directory $LINEAGE_LOCAL, sockets in $LINEAGE_RUN"
fi
. "$here/scripts/lib.sh"
[ "$(id -u)" = 0 ] || die "run as root (the listener owns audit; the store is root only)"
# the tests find the servers of this state directory through these
export LINEAGE_MONGODB_URI=${LINEAGE_MONGODB_URI:-$(store_uri)} LINEAGE_PG_SOCKET_DIR=$PG_DIR/run
export FERRETDB_BIN LINEAGE_FERRETDB=$FERRETDB_BIN LINEAGE_PG_BIN=$PG_BIN
cd "$here"
fresh_start=$(date +%s)

bash scripts/setup.sh || die "setup failed (scripts/setup.sh, its error above)"
# auditd + laurel (never started by the install) and the lineage-bench user: bench-smoke
step "bench set-up" bash bench/setup.sh
bash scripts/services.sh start all || die "could not start the test services (scripts/services.sh, its error above)"
bash scripts/test-image.sh || die "could not build the test image (scripts/test-image.sh)"
log "set-up and services ready in $(( $(date +%s) - fresh_start )) s"

passed=0; failed=0
run_suite() { # name builddir meson-setup-args...
	local name=$1 dir=$2; shift 2
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1 || meson setup --wipe "$dir" "$@" >"$dir.setup.log" 2>&1
	else
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1
	fi || { cat "$dir.setup.log" >&2; log "$name: meson setup failed"; failed=$((failed + 1)); return; }
	if ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
		grep -E 'error|warning' "$dir.build.log" | head -40 >&2
		log "$name: build failed (log: $dir.build.log)"; failed=$((failed + 1)); return
	fi
	log "$name: running tests"
	meson test -C "$dir" --print-errorlogs --num-processes 2 2>&1 | tee "$dir.test.log" | grep -E '^ *[0-9]+/[0-9]+ ' >&2
	local ok fail to
	ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$dir.test.log" | tail -1)
	fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$dir.test.log" | tail -1)
	to=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$dir.test.log" | tail -1)
	[ -n "$ok" ] || { log "$name: no test summary (see $dir.test.log)"; failed=$((failed + 1)); return; }
	passed=$((passed + ok)); failed=$((failed + ${fail:-0} + ${to:-0}))
	if [ "${fail:-0}" != 0 ] || [ "${to:-0}" != 0 ]; then
		sed -n '/^Summary of Failures/,$p' "$dir.test.log" >&2
	fi
}

run_suite plain build --werror
run_suite sanitizers build-san --werror -Db_sanitize=address,undefined -Db_lundef=false
# Fuzz every parser for a bounded time (clang, ASan+UBSan); a crash fails the run.
fuzz_secs=${LINEAGE_FUZZ_SECONDS:-30}
if [ "$fuzz_secs" != 0 ]; then
	log "fuzz: every target for ${fuzz_secs}s"
	bash scripts/fuzz.sh "$fuzz_secs" >build-fuzz.run.log 2>&1
	cat build-fuzz.run.log >&2
	fok=$(grep -c ' ok ' build-fuzz.run.log)
	ffail=$(grep -c 'FAILED' build-fuzz.run.log)
	[ "$fok" -gt 0 ] || ffail=$((ffail + 1)) # built nothing, ran nothing: a failure
	passed=$((passed + fok)); failed=$((failed + ffail))
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
