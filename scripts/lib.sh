# lib.sh — shared settings and helpers for lineage's scripts (sourced, not run).
LINEAGE_ROOT=${LINEAGE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
# Binaries and service state live outside the repo tree's tracked files (.local is ignored).
LINEAGE_LOCAL=${LINEAGE_LOCAL:-/var/lib/lineage-dev}
FERRETDB_VERSION=1.24.0   # fallback when the proxy refuses 1.24.1 (notes.md)
FERRETDB_BIN=$LINEAGE_LOCAL/bin/ferretdb
FERRETDB_DIR=$LINEAGE_LOCAL/ferretdb
FERRETDB_ADDR=${FERRETDB_ADDR:-127.0.0.1:27017}
DOCKER=/usr/bin/docker
TEST_IMAGE=${LINEAGE_TEST_IMAGE:-lineage-busybox:latest}

log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }
die() { printf '%s: error: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }
