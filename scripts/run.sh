#!/usr/bin/env bash
# run.sh — the one command that sets up, builds and runs lineage-listener (as root).
# Without a MongoDB URI (--uri or $LINEAGE_MONGODB_URI) it starts the embedded store
# (PostgreSQL + FerretDB on the root-only socket /run/lineage/mongodb.sock) and records there.
# Arguments are passed to the listener.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib.sh"
cd "$here"
[ "$(id -u)" = 0 ] || die "run as root: the listener needs CAP_AUDIT_CONTROL and CAP_NET_ADMIN"

bash scripts/setup.sh || die "setup failed (scripts/setup.sh, its error above)"
[ -d build ] || step "meson setup" meson setup build
step "build (ninja -C build)" ninja -C build
have_uri=${LINEAGE_MONGODB_URI:-}
for a in "$@"; do case "$a" in --uri|--uri=*) have_uri=1 ;; esac; done
if [ -z "$have_uri" ]; then
	bash scripts/services.sh start store || die "could not start the store (scripts/services.sh)"
	export LINEAGE_MONGODB_URI; LINEAGE_MONGODB_URI=$(store_uri)
fi
exec ./build/listener/lineage-listener "$@"
