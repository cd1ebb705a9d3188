#!/usr/bin/env bash
# services.sh — start, stop or show the local services lineage's run and tests use:
# a FerretDB v1 on SQLite bound to loopback, and dockerd. Starting what already runs is a no-op.
# usage: services.sh start|stop|status [ferretdb|dockerd|all]
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

port_open() { (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; }

ferretdb_start() {
	if port_open "$FERRETDB_ADDR"; then
		log "ferretdb: already listening on $FERRETDB_ADDR"; return 0
	fi
	[ -x "$FERRETDB_BIN" ] || die "ferretdb: $FERRETDB_BIN missing; run scripts/setup.sh"
	mkdir -p "$FERRETDB_DIR/data"
	log "ferretdb: starting on $FERRETDB_ADDR, data in $FERRETDB_DIR/data"
	setsid "$FERRETDB_BIN" --handler=sqlite --sqlite-url="file:$FERRETDB_DIR/data/" \
		--state-dir="$FERRETDB_DIR" --listen-addr="$FERRETDB_ADDR" --debug-addr=- \
		--telemetry=disable --log-level=warn \
		</dev/null >>"$FERRETDB_DIR/ferretdb.log" 2>&1 &
	echo $! >"$FERRETDB_DIR/ferretdb.pid"
	for _ in $(seq 1 100); do
		port_open "$FERRETDB_ADDR" && { log "ferretdb: up (pid $(cat "$FERRETDB_DIR/ferretdb.pid"))"; return 0; }
		kill -0 "$(cat "$FERRETDB_DIR/ferretdb.pid")" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$FERRETDB_DIR/ferretdb.log" >&2 || true
	die "ferretdb: did not start listening on $FERRETDB_ADDR (log: $FERRETDB_DIR/ferretdb.log)"
}

ferretdb_stop() {
	local pid
	pid=$(cat "$FERRETDB_DIR/ferretdb.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
		log "ferretdb: stopped (pid $pid)"
	else
		log "ferretdb: not running (by our pid file)"
	fi
	rm -f "$FERRETDB_DIR/ferretdb.pid"
}

dockerd_start() {
	if $DOCKER info >/dev/null 2>&1; then
		log "dockerd: already running"; return 0
	fi
	command -v dockerd >/dev/null || die "dockerd: not installed; run scripts/setup.sh"
	mkdir -p "$LINEAGE_LOCAL"
	log "dockerd: starting (log: $LINEAGE_LOCAL/dockerd.log)"
	setsid dockerd --host=unix:///var/run/docker.sock </dev/null >>"$LINEAGE_LOCAL/dockerd.log" 2>&1 &
	echo $! >"$LINEAGE_LOCAL/dockerd.pid"
	for _ in $(seq 1 300); do
		$DOCKER info >/dev/null 2>&1 && { log "dockerd: up"; return 0; }
		kill -0 "$(cat "$LINEAGE_LOCAL/dockerd.pid")" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$LINEAGE_LOCAL/dockerd.log" >&2 || true
	die "dockerd: did not come up (log: $LINEAGE_LOCAL/dockerd.log)"
}

dockerd_stop() {
	local pid
	pid=$(cat "$LINEAGE_LOCAL/dockerd.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		log "dockerd: stopped (pid $pid)"
	else
		log "dockerd: not started by us; left alone"
	fi
	rm -f "$LINEAGE_LOCAL/dockerd.pid"
}

status() {
	if port_open "$FERRETDB_ADDR"; then echo "ferretdb: listening on $FERRETDB_ADDR"; else echo "ferretdb: down"; fi
	if $DOCKER info >/dev/null 2>&1; then echo "dockerd: running"; else echo "dockerd: down"; fi
}

cmd=${1:-}; what=${2:-all}
case "$cmd:$what" in
start:ferretdb) ferretdb_start ;;
start:dockerd) dockerd_start ;;
start:all) ferretdb_start; dockerd_start ;;
stop:ferretdb) ferretdb_stop ;;
stop:dockerd) dockerd_stop ;;
stop:all) ferretdb_stop; dockerd_stop ;;
status:*) status ;;
*) echo "usage: $0 start|stop|status [ferretdb|dockerd|all]" >&2; exit 2 ;;
esac
