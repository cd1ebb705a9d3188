#!/usr/bin/env bash
# run.sh — the one command that sets up, builds and runs lineage-listener (as root).
# Without a MongoDB URI (--uri or $LINEAGE_MONGODB_URI) it starts a local FerretDB on
# 127.0.0.1:27017 and records there. Arguments are passed to the listener.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib.sh"
cd "$here"
[ "$(id -u)" = 0 ] || die "run as root: the listener needs CAP_AUDIT_CONTROL and CAP_NET_ADMIN"

bash scripts/setup.sh
[ -d build ] || meson setup build >/dev/null || die "meson setup failed"
ninja -C build >/dev/null || die "build failed (ninja -C build)"
have_uri=${LINEAGE_MONGODB_URI:-}
for a in "$@"; do case "$a" in --uri|--uri=*) have_uri=1 ;; esac; done
if [ -z "$have_uri" ]; then
	bash scripts/services.sh start ferretdb
fi
exec ./build/listener/lineage-listener "$@"
