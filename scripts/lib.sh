# lib.sh — shared settings and helpers for lineage's scripts (sourced, not run).
LINEAGE_ROOT=${LINEAGE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
# Binaries and service state live outside the repository: $LINEAGE_LOCAL (the state
# directory; CI uses a fresh one every run) and $LINEAGE_RUN (sockets, root only).
LINEAGE_LOCAL=${LINEAGE_LOCAL:-/var/lib/lineage-dev}
LINEAGE_RUN=${LINEAGE_RUN:-/run/lineage}
FERRETDB_VERSION=1.24.2   # pinned; built from the module source (scripts/setup.sh)
FERRETDB_BIN=$LINEAGE_LOCAL/bin/ferretdb
FERRETDB_DIR=$LINEAGE_LOCAL/ferretdb
# The embedded store: FerretDB on PostgreSQL 15, both on Unix sockets only. FerretDB's
# socket is in $LINEAGE_RUN (0700 root); PostgreSQL's in $PG_DIR/run (0700 postgres).
STORE_SOCK=$LINEAGE_RUN/mongodb.sock
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=$LINEAGE_LOCAL/pg
PG_USER=postgres
DOCKER=/usr/bin/docker
TEST_IMAGE=${LINEAGE_TEST_IMAGE:-lineage-busybox:latest}

log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }
die() { printf '%s: error: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# The URI of the embedded store (libmongoc and pymongo take a percent-encoded socket path).
store_uri() { printf 'mongodb://%s' "$(printf '%s' "$STORE_SOCK" | sed 's|/|%2F|g')"; }

# step NAME CMD...: run CMD with its output in $LINEAGE_LOCAL/logs/<name>.log; on failure
# name the step, the command and the output's tail, and exit 1 (never a later, unrelated error).
step() {
	local name=$1; shift
	local logf
	mkdir -p "$LINEAGE_LOCAL/logs"
	logf="$LINEAGE_LOCAL/logs/$(printf '%s' "$name" | tr -c 'A-Za-z0-9._-' '_').log"
	if ! "$@" >"$logf" 2>&1; then
		printf '%s: error: step %s failed: %s\n' "$(basename "$0")" "'$name'" "$*" >&2
		tail -n 20 "$logf" | sed 's/^/    /' >&2
		exit 1
	fi
}
