#!/usr/bin/env bash
# Throwaway (or durable) Postgres and Redis on 127.0.0.1 for tests and the team mode.
#   scripts/services.sh install          apt-get the Debian packages that are missing
#   scripts/services.sh start DIR        start both under DIR (again: restart them), write DIR/env (export lines)
#   scripts/services.sh stop DIR         stop both (only the processes this script started)
#   scripts/services.sh restart DIR pg|redis   stop and start one of them on the same port and data
#   scripts/services.sh run CMD...       start in a temp dir, run CMD with the env, stop, remove
# DURABLE=1 (`make services`): Postgres with fsync, synchronous_commit and full_page_writes on and
# password (scram-sha-256) logins with generated passwords; Redis with an append-only file fsynced every
# second. Without it (tests): the fast settings, trust logins and no Redis persistence.
set -euo pipefail
DURABLE=${DURABLE:-0}

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

secret() { python3 -c 'import secrets;print(secrets.token_hex(16))'; }

pg_opts() {  # the server's settings, by mode
  if [ "$DURABLE" = 1 ]; then
    echo "-c fsync=on -c synchronous_commit=on -c full_page_writes=on -c password_encryption=scram-sha-256"
  else
    echo "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
}

pg_start() {
  local dir=$1 pgbin; pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  # shellcheck disable=SC1091
  . "$dir/ports"
  ( cd "$dir/pg" && as_pg "$pgbin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/pg.log" -w \
      -o "-p $PGPORT -k $dir/pg -c listen_addresses=127.0.0.1 $(pg_opts) -c max_connections=200" start >/dev/null )
}

pg_stop() {
  local dir=$1 pgbin; pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  if [ -f "$dir/pg/data/postmaster.pid" ]; then ( cd "$dir/pg" && as_pg "$pgbin/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null ) || true; fi
}

redis_start() {
  local dir=$1
  # shellcheck disable=SC1091
  . "$dir/ports"
  local persist=(--save '' --appendonly no)
  [ "$DURABLE" = 1 ] && persist=(--save '' --appendonly yes --appendfsync everysec)
  redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$dir/redis" "${persist[@]}" \
    --daemonize yes --pidfile "$dir/redis/redis.pid" --logfile "$dir/redis/redis.log"
  for _ in $(seq 200); do redis-cli -p "$RPORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
}

redis_stop() {
  local dir=$1
  if [ -f "$dir/redis/redis.pid" ]; then
    kill "$(cat "$dir/redis/redis.pid")" 2>/dev/null || true
    for _ in $(seq 200); do [ -e "$dir/redis/redis.pid" ] || break; sleep 0.05; done
  fi
}

start() {
  local dir=$1; mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  if [ -f "$dir/ports" ]; then  # started before: same ports, same data, same mode
    # shellcheck disable=SC1091
    . "$dir/ports"; DURABLE=$MODE_DURABLE
    pg_start "$dir"; redis_start "$dir"
    echo "Postgres on 127.0.0.1:$PGPORT, Redis on 127.0.0.1:$RPORT (started again); env in $dir/env" >&2
    return
  fi
  local pgbin; pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  mkdir -p "$dir/pg" "$dir/redis"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir/pg"
  local admin_pw="" owner_pw=owner app_pw=app
  if [ "$DURABLE" = 1 ]; then
    admin_pw=$(secret); owner_pw=$(secret); app_pw=$(secret)
    ( umask 077; echo "$admin_pw" >"$dir/pg/pwfile" )
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir/pg/pwfile"
  fi
  ( cd "$dir/pg"
    if [ "$DURABLE" = 1 ]; then
      as_pg "$pgbin/initdb" -D "$dir/pg/data" -U postgres --auth=scram-sha-256 --pwfile="$dir/pg/pwfile" -E UTF8 --no-locale >"$dir/pg/initdb.log"
    else
      as_pg "$pgbin/initdb" -D "$dir/pg/data" -N -U postgres --auth=trust -E UTF8 --no-locale >"$dir/pg/initdb.log"
    fi )
  rm -f "$dir/pg/pwfile"
  cat >"$dir/ports" <<PORTS
PGPORT=$(free_port)
RPORT=$(free_port)
MODE_DURABLE=$DURABLE
PORTS
  # shellcheck disable=SC1091
  . "$dir/ports"
  pg_start "$dir"
  PGPASSWORD=$admin_pw psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres <<SQL
CREATE ROLE dotoro_owner LOGIN PASSWORD '$owner_pw' NOSUPERUSER NOBYPASSRLS;
CREATE ROLE dotoro_app LOGIN PASSWORD '$app_pw' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
CREATE DATABASE dotoro OWNER dotoro_owner;
SQL
  redis_start "$dir"
  local admin_auth=postgres; [ -n "$admin_pw" ] && admin_auth="postgres:$admin_pw"
  ( umask 077; cat >"$dir/env" <<ENV
export DOTORO_SERVICES_DIR=$dir
export TEST_PG_ADMIN_URL=postgresql+psycopg://$admin_auth@127.0.0.1:$PGPORT/postgres
export MIGRATION_DATABASE_URL=postgresql+psycopg://dotoro_owner:$owner_pw@127.0.0.1:$PGPORT/dotoro
export DATABASE_URL=postgresql+psycopg://dotoro_app:$app_pw@127.0.0.1:$PGPORT/dotoro
export REDIS_URL=redis://127.0.0.1:$RPORT/0
ENV
  )
  local mode="throwaway: fast settings, trust logins, no Redis persistence"
  [ "$DURABLE" = 1 ] && mode="durable: fsync on, scram passwords, Redis AOF everysec"
  echo "Postgres on 127.0.0.1:$PGPORT, Redis on 127.0.0.1:$RPORT ($mode); env in $dir/env" >&2
}

stop() {
  local dir=$1; [ -d "$dir" ] || return 0; dir=$(cd "$dir" && pwd)  # absolute: pg_ctl runs from inside it
  pg_stop "$dir"
  redis_stop "$dir"
}

restart() {
  local dir=$1 which=$2; dir=$(cd "$dir" && pwd)
  # shellcheck disable=SC1091
  . "$dir/ports"; DURABLE=$MODE_DURABLE
  case "$which" in
    pg) pg_stop "$dir"; pg_start "$dir" ;;
    redis) redis_stop "$dir"; redis_start "$dir" ;;
    *) echo "restart: pg or redis" >&2; exit 2 ;;
  esac
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
  restart) restart "${1:?directory}" "${2:?pg or redis}" ;;
  run) run "$@" ;;
  *) echo "usage: $0 install | start DIR | stop DIR | restart DIR pg|redis | run CMD..." >&2; exit 2 ;;
esac
