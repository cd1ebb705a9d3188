#!/usr/bin/env bash
# setup.sh — install everything lineage needs on a Debian 12 host, idempotently.
# Debian packages (build deps, docker.io, busybox-static), and FerretDB v1 built with
# `go install` into .local/bin of the repo (kept and reused across runs).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib.sh"

pkgs=(build-essential pkg-config meson ninja-build
      libaudit-dev libmnl-dev libmongoc-dev libbson-dev libcmocka-dev
      docker.io busybox-static iproute2 procps psmisc python3 clang libclang-rt-14-dev)

missing=()
for p in "${pkgs[@]}"; do
	[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == *"install ok installed"* ]] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || die "apt-get update failed"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
		|| die "apt-get install ${missing[*]} failed"
else
	log "Debian packages: all present"
fi

# FerretDB v1 (SQLite backend), kept in $LINEAGE_LOCAL/bin and reused.
# The Go module proxy here refuses v1.24.1 (".info: 403 This module version is not available",
# see notes.md), and `go install pkg@v1.24.0` fails on the refused version list (deprecation
# check). So: try `go install @v1.24.1` first; otherwise `go mod download` v1.24.0 (same
# checksum database check as go install) and `go build` its cmd/ferretdb with its own go.mod.
# (output captured, not piped into grep -q: under pipefail, grep exiting at the first match can
# SIGPIPE the writer and fail the check — it did once, under load, on a working binary)
ferretdb_ok() {
	local v
	[ -x "$FERRETDB_BIN" ] && v=$("$FERRETDB_BIN" --version 2>/dev/null) && [[ $v == *"version: v1."* ]]
}
if ferretdb_ok; then
	log "FerretDB: present at $FERRETDB_BIN ($("$FERRETDB_BIN" --version 2>/dev/null | head -1))"
else
	command -v go >/dev/null || die "go is not installed (FerretDB needs Go >= 1.24)"
	mkdir -p "$LINEAGE_LOCAL/bin"
	log "building FerretDB v1 from the Go module proxy (a few minutes, once)"
	if GOBIN="$LINEAGE_LOCAL/bin" go install "github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.1" 2>"$LINEAGE_LOCAL/go-install.err"; then
		log "installed FerretDB v1.24.1"
	else
		log "go install ferretdb@v1.24.1 failed: $(head -c 300 "$LINEAGE_LOCAL/go-install.err" | tr '\n' ' ')"
		log "falling back to FerretDB v$FERRETDB_VERSION"
		dir=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json \
			"github.com/FerretDB/FerretDB@v$FERRETDB_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
		[ -n "$dir" ] && [ -d "$dir" ] || die "go mod download github.com/FerretDB/FerretDB@v$FERRETDB_VERSION failed"
		# The module zip lacks build/version/version.txt (made by FerretDB's release
		# tooling) and the binary panics without it: build a writable copy that has it.
		src="$LINEAGE_LOCAL/ferretdb-src"
		rm -rf "$src" && cp -r "$dir" "$src" && chmod -R u+w "$src"
		echo "v$FERRETDB_VERSION" >"$src/build/version/version.txt"
		(cd "$src" && GOFLAGS=-mod=mod go build -trimpath -o "$FERRETDB_BIN.tmp" ./cmd/ferretdb) \
			|| die "go build of FerretDB v$FERRETDB_VERSION failed"
		rm -rf "$src"
		mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
	fi
	ferretdb_ok || die "FerretDB binary at $FERRETDB_BIN does not run"
fi
# pymongo: an independent client the integration tests use to check what is stored.
if ! python3 -c 'import pymongo' 2>/dev/null; then
	log "installing pymongo from PyPI"
	python3 -m pip install -q pymongo || die "pip install pymongo failed"
fi
log "setup done"
