#!/usr/bin/env bash
# test.sh — the one test command (README, .ci/run): install what is missing, build with
# --werror, start FerretDB and dockerd on this host, build the local test image, run every
# test, then again under AddressSanitizer + UBSan. Ends with "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib.sh"
cd "$here"

bash scripts/setup.sh || die "setup failed"
bash scripts/services.sh start all || die "could not start the test services"
bash scripts/test-image.sh || die "could not build the test image"

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
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
