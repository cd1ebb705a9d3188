#!/usr/bin/env bash
# fuzz.sh — build the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang, ASan and UBSan into
# build-fuzz and run each for a bounded time, seeded from tests/fuzz/corpus/<target>/.
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]     (default 30 s each, every target)
# Prints one line per target; exits 1 when any target crashed, leaked, hit UB or a timeout
# (the input that did it is kept in build-fuzz/artifacts/ and named in the line).
# The corpus each run grows stays in build-fuzz/corpus/<target>/ (not tracked) and seeds the
# next local run; the committed seeds are only read.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib.sh"
cd "$here"

secs=${1:-30}
shift $(( $# > 0 ? 1 : 0 ))
case $secs in '' | *[!0-9]*) die "usage: fuzz.sh [SECONDS] [TARGET...]" ;; esac
dir=${FUZZ_BUILD_DIR:-build-fuzz}

if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi

command -v clang >/dev/null || die "clang is needed (apt-get install clang libclang-rt-14-dev)"
if [ ! -d "$dir" ]; then
	CC=clang meson setup "$dir" -Dfuzz=true -Dtests=false -Db_lundef=false >"$dir.setup.log" 2>&1 ||
		{ cat "$dir.setup.log" >&2; die "meson setup failed"; }
fi
ninja -C "$dir" "${targets[@]/#/tests/fuzz/}" >"$dir.build.log" 2>&1 ||
	{ grep -E 'error|warning' "$dir.build.log" | head -40 >&2; die "build failed (log: $dir.build.log)"; }

mkdir -p "$dir/artifacts"
failed=0
for t in "${targets[@]}"; do
	bin=$dir/tests/fuzz/$t
	work=$dir/corpus/$t
	seeds=tests/fuzz/corpus/$t
	logf=$dir/$t.log
	extra=()
	mkdir -p "$work"
	[ -d "$seeds" ] || seeds=
	# path.c refuses inputs above PATH_MAX_LEN (8192): let inputs get that long
	[ "$t" = fuzz_path ] && extra+=(-max_len=20000)
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$dir/artifacts/$t-" -print_final_stats=1 "${extra[@]}" \
		"$work" ${seeds:+"$seeds"} >"$logf" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logf" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$logf" | tail -1 | cut -d' ' -f2)
	corp=$(find "$work" -type f | wc -l)
	if [ "$rc" = 0 ]; then
		printf '%-18s ok     %8s runs in %ss, cov %s, corpus %s\n' "$t" "${runs:-?}" "$secs" \
			"${cov:-?}" "$corp"
	else
		art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$logf" | tail -1)
		why=$(grep -m1 -oE 'ERROR: [A-Za-z]+: [a-z-]+|runtime error: .*|ERROR: libFuzzer: [a-z-]+' "$logf")
		printf '%-18s FAILED rc=%s %s; input %s; log %s\n' "$t" "$rc" "${why:-?}" "${art:-?}" "$logf"
		failed=$((failed + 1))
	fi
done
[ "$failed" = 0 ]
