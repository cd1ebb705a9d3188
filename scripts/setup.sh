#!/usr/bin/env bash
# setup.sh — install everything lineage needs on a Debian 12 host (as root), idempotently:
# Debian packages (build deps, PostgreSQL 15, docker.io, busybox-static, scdoc), pymongo, and
# FerretDB v$FERRETDB_VERSION built from its module source into $LINEAGE_LOCAL/bin. Quick when
# everything is there. Every step that fails names itself, its command and its output tail.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root (the packages, the store's directories and the listener need it)"
mkdir -p "$LINEAGE_LOCAL/bin" "$LINEAGE_LOCAL/logs"

pkgs=(build-essential pkg-config meson ninja-build
      libaudit-dev libmnl-dev libmongoc-dev libbson-dev libcmocka-dev libssl-dev zlib1g-dev libzstd-dev
      postgresql-15 docker.io busybox-static iproute2 procps psmisc python3 python3-pip
      clang libclang-rt-14-dev scdoc man-db systemd golang-go)

missing=()
for p in "${pkgs[@]}"; do
	# golang-go only when no Go toolchain is there already (the machine image ships one)
	[ "$p" = golang-go ] && command -v go >/dev/null && continue
	[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == *"install ok installed"* ]] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	step "apt-get update" apt-get update -qq
	step "apt-get install" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
	log "Debian packages: all present"
fi

# pymongo: an independent client the tests use to check what is stored (and the store check
# below). Debian 12's python3 refuses a system-wide pip install without the override.
if ! python3 -c 'import pymongo' 2>/dev/null; then
	log "installing pymongo from PyPI"
	step "pip install pymongo" python3 -m pip install -q --break-system-packages pymongo
fi
# zstandard: the tests decode the raw layer's segments (zstd, issue 33) as an independent
# client; Debian's serves /usr/bin/python3, pip the python3 on PATH
if ! python3 -c 'import zstandard' 2>/dev/null; then
	log "installing zstandard from PyPI"
	step "pip install zstandard" python3 -m pip install -q --break-system-packages zstandard
fi

# FerretDB: one pinned version, built from its module source. The module zip lacks
# build/version/version.txt (FerretDB's release tooling writes it) and a binary built
# without it panics at start, so the build happens in a writable copy with the file stamped.
# The binary is accepted only after it has answered a ping on a Unix socket.
ferretdb_answers() { # binary
	local bin=$1 tmp pid ok=1
	tmp=$(mktemp -d /tmp/lineage-ferretdb-check.XXXXXX)
	"$bin" --handler=sqlite --sqlite-url="file:$tmp/" --state-dir="$tmp" --listen-addr= \
		--listen-unix="$tmp/s.sock" --debug-addr=- --telemetry=disable --log-level=error \
		</dev/null >"$tmp/log" 2>&1 &
	pid=$!
	if LINEAGE_CHECK_SOCK="$tmp/s.sock" python3 - >>"$tmp/log" 2>&1 <<'EOF'
import os, time, urllib.parse
from pymongo import MongoClient
uri = "mongodb://" + urllib.parse.quote(os.environ["LINEAGE_CHECK_SOCK"], safe="")
for _ in range(100):
    try:
        MongoClient(uri, serverSelectionTimeoutMS=200).admin.command("ping")
        raise SystemExit(0)
    except SystemExit:
        raise
    except Exception as e:
        last = e
        time.sleep(0.1)
print("no answer to ping:", last)
raise SystemExit(1)
EOF
	then ok=0; fi
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	[ $ok = 0 ] || { log "FerretDB check: $bin did not answer ping; its output:"; tail -n 20 "$tmp/log" >&2; }
	rm -rf "$tmp"
	return $ok
}
ferretdb_version_ok() {
	local v
	[ -x "$FERRETDB_BIN" ] && v=$("$FERRETDB_BIN" --version 2>/dev/null) && [[ $v == *"version: v$FERRETDB_VERSION"* ]]
}
if ferretdb_version_ok && ferretdb_answers "$FERRETDB_BIN"; then
	log "FerretDB v$FERRETDB_VERSION: present at $FERRETDB_BIN, answers ping"
else
	command -v go >/dev/null || die "step 'FerretDB build': go is not installed"
	mod=github.com/FerretDB/FerretDB@v$FERRETDB_VERSION
	log "building FerretDB v$FERRETDB_VERSION from $mod (a few minutes, once)"
	# go mod download checks the zip against the checksum database, as go install does
	dl=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "$mod" 2>&1) \
		|| die "step 'FerretDB download': go mod download -json $mod failed: $(printf '%s' "$dl" | tail -n 5)"
	dir=$(printf '%s\n' "$dl" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	[ -n "$dir" ] && [ -d "$dir" ] || die "step 'FerretDB download': no module directory in: $(printf '%s' "$dl" | tail -n 5)"
	src="$LINEAGE_LOCAL/ferretdb-src"
	rm -rf "$src" && cp -r "$dir" "$src" && chmod -R u+w "$src"
	echo "v$FERRETDB_VERSION" >"$src/build/version/version.txt"
	(cd "$src" && step "FerretDB build" env GOFLAGS=-mod=mod go build -trimpath -o "$FERRETDB_BIN.tmp" ./cmd/ferretdb)
	rm -rf "$src"
	ferretdb_answers "$FERRETDB_BIN.tmp" || die "step 'FerretDB check': the freshly built binary does not answer ping"
	mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
	log "FerretDB v$FERRETDB_VERSION: built into $FERRETDB_BIN, answers ping"
fi
log "setup done"
