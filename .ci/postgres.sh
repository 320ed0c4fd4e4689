#!/usr/bin/env bash
# A throw-away PostgreSQL server for the persistence tests.
#
#   source .ci/postgres.sh          # start: installs Debian's postgresql package when missing, starts a server on
#                                   # 127.0.0.1 on a free port in a temp dir, creates database actor_scheduler_test and
#                                   # exports ACTOR_SCHEDULER_TEST_PG (an Npgsql connection string) and ACTOR_SCHEDULER_PG_DIR
#   source .ci/postgres.sh stop     # stop: stops that server and deletes its directory (also works when run, not sourced)
#
# initdb refuses to run as root: as root the server runs as the `postgres` user (runuser). Failures are reported
# loudly and leave ACTOR_SCHEDULER_TEST_PG unset (the PostgreSQL tests are then skipped, saying why), unless
# ACTOR_SCHEDULER_REQUIRE_POSTGRES=1 (CI's setup step exports it): then a failure is fatal (status 1) and the
# PostgreSQL tests fail instead of being skipped.

_asp_log() { echo "[postgres.sh] $*" >&2; }

_asp_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  return 1
}

_asp_install() {
  _asp_log "PostgreSQL is not installed: installing Debian's postgresql package"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

_asp_free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  local port
  for port in $(seq 55432 55532); do
    (echo >"/dev/tcp/127.0.0.1/$port") >/dev/null 2>&1 || { echo "$port"; return; }
  done
}

_asp_start() {
  local bindir dir port as=()
  bindir=$(_asp_bindir) || { _asp_install && bindir=$(_asp_bindir); } || { _asp_log "cannot install PostgreSQL"; return 1; }
  dir=$(mktemp -d /tmp/actor-scheduler-pg.XXXXXX) || return 1
  chmod 755 "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || { _asp_log "running as root but there is no postgres user"; return 1; }
    chown postgres "$dir"
    as=(runuser -u postgres --)
  fi
  port=$(_asp_free_port)
  "${as[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
    { _asp_log "initdb failed:"; cat "$dir/initdb.log" >&2; rm -rf "$dir"; return 1; }
  "${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c fsync=off -c synchronous_commit=off -c max_connections=200" \
    start >/dev/null || { _asp_log "the server did not start:"; cat "$dir/server.log" >&2; rm -rf "$dir"; return 1; }
  export ACTOR_SCHEDULER_PG_DIR="$dir" ACTOR_SCHEDULER_PG_BIN="$bindir"
  "${as[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres actor_scheduler_test ||
    { _asp_log "createdb failed"; _asp_stop; return 1; }
  "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d actor_scheduler_test -tAc 'select 1' >/dev/null ||
    { _asp_log "the server does not answer on 127.0.0.1:$port"; _asp_stop; return 1; }
  export ACTOR_SCHEDULER_TEST_PG="Host=127.0.0.1;Port=$port;Username=postgres;Database=actor_scheduler_test;Pooling=true"
  _asp_log "PostgreSQL running on 127.0.0.1:$port (data in $dir); ACTOR_SCHEDULER_TEST_PG is set"
}

_asp_stop() {
  local dir="${ACTOR_SCHEDULER_PG_DIR:-}" bindir="${ACTOR_SCHEDULER_PG_BIN:-}" as=()
  [ -n "$dir" ] && [ -d "$dir/data" ] || { _asp_log "no server to stop"; return 0; }
  [ -n "$bindir" ] || bindir=$(_asp_bindir)
  [ "$(id -u)" -eq 0 ] && as=(runuser -u postgres --)
  "${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || _asp_log "pg_ctl stop failed (already stopped?)"
  rm -rf "$dir"
  unset ACTOR_SCHEDULER_TEST_PG ACTOR_SCHEDULER_PG_DIR ACTOR_SCHEDULER_PG_BIN
  _asp_log "PostgreSQL stopped"
}

case "${1:-start}" in
  start)
    if ! _asp_start; then
      unset ACTOR_SCHEDULER_TEST_PG
      if [ "${ACTOR_SCHEDULER_REQUIRE_POSTGRES:-0}" = "1" ]; then
        _asp_log "FATAL: PostgreSQL is required (ACTOR_SCHEDULER_REQUIRE_POSTGRES=1) but could not be started or reached (see above)"
        return 1 2>/dev/null || exit 1
      fi
      _asp_log "WARNING: PostgreSQL could not be started; the PostgreSQL tests will be skipped"
    fi
    ;;
  stop) _asp_stop ;;
  *) _asp_log "usage: source .ci/postgres.sh [start|stop]"; return 2 2>/dev/null || exit 2 ;;
esac
true
