#!/usr/bin/env bash
# services.sh — start, stop or show the local services lineage's run and tests use: the
# embedded store (PostgreSQL 15 + FerretDB v1 on it, both on Unix sockets only, data under
# $LINEAGE_LOCAL) and dockerd. Starting what already runs is a no-op.
#
# Root only: FerretDB's socket is $LINEAGE_RUN/mongodb.sock in a 0700 root directory;
# PostgreSQL listens on no TCP port and its socket directory is 0700 (user postgres).
# LINEAGE_STORE_TCP=127.0.0.1:27017 adds a TCP listener to FerretDB, only when asked.
# usage: services.sh start|stop|status [store|postgres|ferretdb|dockerd|all]
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

PG_DATA=$PG_DIR/data
PG_RUN=$PG_DIR/run
PG_DB=ferretdb

as_pg() { runuser -u "$PG_USER" -- "$@"; }
psql_pg() { as_pg "$PG_BIN/psql" -h "$PG_RUN" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
store_answers() {
	LINEAGE_CHECK_URI=$(store_uri) python3 -c '
import os
from pymongo import MongoClient
MongoClient(os.environ["LINEAGE_CHECK_URI"], serverSelectionTimeoutMS=300).admin.command("ping")' 2>/dev/null
}

postgres_start() {
	id "$PG_USER" >/dev/null 2>&1 || die "postgres: user $PG_USER missing (install postgresql-15: scripts/setup.sh)"
	[ -x "$PG_BIN/postgres" ] || die "postgres: $PG_BIN/postgres missing; run scripts/setup.sh"
	if [ -S "$PG_RUN/.s.PGSQL.5432" ] && as_pg "$PG_BIN/pg_isready" -q -h "$PG_RUN"; then
		log "postgres: already running (socket $PG_RUN)"; return 0
	fi
	mkdir -p "$PG_DIR"
	chmod 0755 "$LINEAGE_LOCAL" "$PG_DIR"
	install -d -m 0700 -o "$PG_USER" -g "$PG_USER" "$PG_RUN"
	if [ ! -s "$PG_DATA/PG_VERSION" ]; then
		install -d -m 0700 -o "$PG_USER" -g "$PG_USER" "$PG_DATA"
		log "postgres: initdb $PG_DATA"
		step "postgres initdb" as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 \
			--locale=C.UTF-8 --auth-local=trust --auth-host=reject
		cat >>"$PG_DATA/postgresql.conf" <<EOF
# lineage (scripts/services.sh): sockets only, root/postgres only
listen_addresses = ''
unix_socket_directories = '$PG_RUN'
unix_socket_permissions = 0700
# FerretDB's statements are prepared; a generic plan is a Seq Scan: keep custom plans so the
# GIN indexes are used (notes.md)
plan_cache_mode = force_custom_plan
shared_buffers = 512MB
work_mem = 16MB
max_wal_size = 4GB
EOF
		# local socket connections only, and only as the postgres role
		printf 'local all postgres trust\n' >"$PG_DATA/pg_hba.conf"
	fi
	log "postgres: starting (data $PG_DATA, socket $PG_RUN)"
	step "postgres start" as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/postgres.log" -w -t 60 start
	if [ "$(psql_pg -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]; then
		step "postgres createdb" psql_pg -d postgres -c "CREATE DATABASE $PG_DB"
	fi
	step "postgres GIN trigger" psql_pg -d "$PG_DB" -f "$LINEAGE_ROOT/scripts/store-gin.sql"
	log "postgres: up"
}

postgres_stop() {
	if [ -s "$PG_DATA/postmaster.pid" ]; then
		as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null 2>&1 \
			&& log "postgres: stopped" || log "postgres: pg_ctl stop failed (see $PG_DATA/postgres.log)"
	else
		log "postgres: not running"
	fi
}

ferretdb_start() {
	if store_answers; then
		log "ferretdb: already answering on $STORE_SOCK"; return 0
	fi
	[ -x "$FERRETDB_BIN" ] || die "ferretdb: $FERRETDB_BIN missing; run scripts/setup.sh"
	install -d -m 0700 "$LINEAGE_RUN"
	mkdir -p "$FERRETDB_DIR" && chmod 0700 "$FERRETDB_DIR"
	rm -f "$STORE_SOCK"
	log "ferretdb: starting on $STORE_SOCK${LINEAGE_STORE_TCP:+ and $LINEAGE_STORE_TCP} (PostgreSQL $PG_RUN)"
	setsid "$FERRETDB_BIN" --handler=postgresql \
		--postgresql-url="postgres://postgres@/$PG_DB?host=$PG_RUN" \
		--state-dir="$FERRETDB_DIR" --listen-addr="${LINEAGE_STORE_TCP:-}" \
		--listen-unix="$STORE_SOCK" --debug-addr=- --telemetry=disable --log-level=warn \
		</dev/null >>"$FERRETDB_DIR/ferretdb.log" 2>&1 &
	echo $! >"$FERRETDB_DIR/ferretdb.pid"
	for _ in $(seq 1 100); do
		store_answers && { log "ferretdb: up (pid $(cat "$FERRETDB_DIR/ferretdb.pid"))"; return 0; }
		kill -0 "$(cat "$FERRETDB_DIR/ferretdb.pid")" 2>/dev/null || break
		sleep 0.2
	done
	tail -n 20 "$FERRETDB_DIR/ferretdb.log" >&2 || true
	die "ferretdb: did not answer ping on $STORE_SOCK (log: $FERRETDB_DIR/ferretdb.log)"
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
	if [ -S "$PG_RUN/.s.PGSQL.5432" ] && as_pg "$PG_BIN/pg_isready" -q -h "$PG_RUN" 2>/dev/null; then
		echo "postgres: running ($PG_RUN)"; else echo "postgres: down"; fi
	if store_answers; then echo "ferretdb: answering on $STORE_SOCK ($(store_uri))"; else echo "ferretdb: down"; fi
	if $DOCKER info >/dev/null 2>&1; then echo "dockerd: running"; else echo "dockerd: down"; fi
}

cmd=${1:-}; what=${2:-all}
case "$cmd:$what" in
start:postgres) postgres_start ;;
start:ferretdb) ferretdb_start ;;
start:store) postgres_start; ferretdb_start ;;
start:dockerd) dockerd_start ;;
start:all) postgres_start; ferretdb_start; dockerd_start ;;
stop:postgres) postgres_stop ;;
stop:ferretdb) ferretdb_stop ;;
stop:store) ferretdb_stop; postgres_stop ;;
stop:dockerd) dockerd_stop ;;
stop:all) ferretdb_stop; postgres_stop; dockerd_stop ;;
status:*) status ;;
*) echo "usage: $0 start|stop|status [store|postgres|ferretdb|dockerd|all]" >&2; exit 2 ;;
esac
