#!/bin/bash
# import_bench.sh — issue 30's figure: a synthetic auditd log of EVENTS (default 1,000,002)
# events through lineage-import --dry-run (parser, assembler, event documents: the store is
# not the limit measured), printing `import: events_per_s=N`. Usage: import_bench.sh [EVENTS]
# [BUILD_DIR]. The log is made once in /var/tmp and kept.
set -euo pipefail
events=${1:-1000002}
build=${2:-build}
log=/var/tmp/lineage-import-bench-$events.log
here=$(dirname "$0")
[ -s "$log" ] || python3 "$here/import_synth.py" "$events" "$log"
"$build/import/lineage-import" --dry-run -q "$log" | grep '^import:'
