#!/usr/bin/env bash
# Throwaway (or persistent) Postgres and Redis on 127.0.0.1 for tests and the team mode.
#   scripts/services.sh install          apt-get the Debian packages that are missing
#   scripts/services.sh start DIR        start both under DIR, write DIR/env (export lines)
#   scripts/services.sh stop DIR         stop both (only the processes this script started)
#   scripts/services.sh run CMD...       start in a temp dir, run CMD with the env, stop, remove
set -euo pipefail

need_pkgs() {
  local missing=()
  ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || missing+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  if [ "${WITH_BROWSER:-1}" = 1 ] && ! command -v chromium >/dev/null 2>&1; then missing+=(chromium); fi
  echo "${missing[@]:-}"
}

install() {
  local missing; missing=$(need_pkgs)
  [ -z "$missing" ] && return 0
  echo "installing Debian packages: $missing" >&2
  local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # shellcheck disable=SC2086
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
}

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

as_pg() {  # initdb refuses to run as root: use the postgres user the Debian package creates
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  local dir=$1; mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  local pgbin; pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  local pgport rport; pgport=$(free_port); rport=$(free_port)
  mkdir -p "$dir/pg" "$dir/redis"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir/pg"
  ( cd "$dir/pg"
    as_pg "$pgbin/initdb" -D "$dir/pg/data" -N -U postgres --auth=trust -E UTF8 --no-locale >"$dir/pg/initdb.log"
    as_pg "$pgbin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/pg.log" -w \
      -o "-p $pgport -k $dir/pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null )
  psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pgport" -U postgres -d postgres <<SQL
CREATE ROLE dotoro_owner LOGIN PASSWORD 'owner' NOSUPERUSER NOBYPASSRLS;
CREATE ROLE dotoro_app LOGIN PASSWORD 'app' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
CREATE DATABASE dotoro OWNER dotoro_owner;
SQL
  redis-server --port "$rport" --bind 127.0.0.1 --dir "$dir/redis" --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/redis/redis.pid" --logfile "$dir/redis/redis.log"
  for _ in $(seq 100); do redis-cli -p "$rport" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
  cat >"$dir/env" <<ENV
export DOTORO_SERVICES_DIR=$dir
export TEST_PG_ADMIN_URL=postgresql+psycopg://postgres@127.0.0.1:$pgport/postgres
export MIGRATION_DATABASE_URL=postgresql+psycopg://dotoro_owner:owner@127.0.0.1:$pgport/dotoro
export DATABASE_URL=postgresql+psycopg://dotoro_app:app@127.0.0.1:$pgport/dotoro
export REDIS_URL=redis://127.0.0.1:$rport/0
ENV
  echo "Postgres on 127.0.0.1:$pgport, Redis on 127.0.0.1:$rport; env in $dir/env" >&2
}

stop() {
  local dir=$1
  local pgbin; pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  if [ -f "$dir/pg/data/postmaster.pid" ]; then ( cd "$dir/pg" && as_pg "$pgbin/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null ) || true; fi
  if [ -f "$dir/redis/redis.pid" ]; then
    kill "$(cat "$dir/redis/redis.pid")" 2>/dev/null || true
    for _ in $(seq 100); do [ -e "$dir/redis/redis.pid" ] || break; sleep 0.02; done
  fi
}

RUN_DIR=""
cleanup() { if [ -n "$RUN_DIR" ]; then stop "$RUN_DIR"; rm -rf "$RUN_DIR"; fi; }

run() {
  RUN_DIR=$(mktemp -d /tmp/dotoro-services.XXXXXX)
  chmod 755 "$RUN_DIR"
  trap cleanup EXIT
  start "$RUN_DIR"
  # shellcheck disable=SC1091
  set +e; ( . "$RUN_DIR/env"; export SECRET_KEY=test-secret-key-not-for-production; "$@" ); local rc=$?; set -e
  return $rc
}

cmd=${1:-}; shift || true
case "$cmd" in
  install) install ;;
  start) start "${1:?directory}" ;;
  stop) stop "${1:?directory}" ;;
  run) run "$@" ;;
  *) echo "usage: $0 install | start DIR | stop DIR | run CMD..." >&2; exit 2 ;;
esac
