#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on their usual local ports for the test suite.
# Uses running servers when there are some; otherwise starts throwaway ones from the installed server programs;
# otherwise says what is missing and how to get it. Source it to export TEST_PG_DSN / TEST_REDIS_URL.
set -uo pipefail

PG_PORT="${PG_PORT:-5432}"
REDIS_PORT="${REDIS_PORT:-6379}"
RUN_DIR="${TMPDIR:-/tmp}/hub-test-services"
mkdir -p "$RUN_DIR"

pg_up() { pg_isready -q -h 127.0.0.1 -p "$1" 2>/dev/null || (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null | grep -q PONG; }

start_pg() {
  if command -v pg_ctlcluster >/dev/null 2>&1 && ls /etc/postgresql >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start 2>/dev/null && pg_up "$PG_PORT" && return 0
  fi
  local initdb
  initdb="$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | head -1)"
  if [ -n "$initdb" ]; then
    local bindir datadir port=55432
    bindir="$(dirname "$initdb")"; datadir="$RUN_DIR/pgdata"
    rm -rf "$datadir"
    local runas=""
    [ "$(id -u)" = "0" ] && { id postgres >/dev/null 2>&1 || useradd -r postgres; chown -R postgres "$RUN_DIR"; runas="su postgres -c"; }
    if [ -n "$runas" ]; then
      $runas "$bindir/initdb -D $datadir -U postgres -A trust >/dev/null && $bindir/pg_ctl -D $datadir -o '-p $port -k $RUN_DIR' -l $RUN_DIR/pg.log start >/dev/null"
    else
      "$bindir/initdb" -D "$datadir" -U postgres -A trust >/dev/null && "$bindir/pg_ctl" -D "$datadir" -o "-p $port -k $RUN_DIR" -l "$RUN_DIR/pg.log" start >/dev/null
    fi
    sleep 2
    psql -h 127.0.0.1 -p "$port" -U postgres -c "CREATE DATABASE test" >/dev/null 2>&1 || true
    export TEST_PG_DSN="postgresql://postgres@127.0.0.1:$port/test"
    pg_up "$port" && return 0
  fi
  return 1
}

start_redis() {
  if command -v redis-server >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
      --dir "$RUN_DIR" --logfile "$RUN_DIR/redis.log" >/dev/null 2>&1
    sleep 1
    redis_up "$REDIS_PORT" && return 0
  fi
  return 1
}

if pg_up "$PG_PORT"; then
  export TEST_PG_DSN="${TEST_PG_DSN:-postgresql://postgres@127.0.0.1:$PG_PORT/test}"
elif ! start_pg; then
  echo "PostgreSQL is not running on 127.0.0.1:$PG_PORT and no server program is installed." >&2
  echo "Install it with: apt-get install postgresql   (or point TEST_PG_DSN at a server)" >&2
  return 1 2>/dev/null || exit 1
fi

if redis_up "$REDIS_PORT"; then
  export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"
elif start_redis; then
  export TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
else
  echo "Redis is not running on 127.0.0.1:$REDIS_PORT and redis-server is not installed." >&2
  echo "Install it with: apt-get install redis-server   (or point TEST_REDIS_URL at a server)" >&2
  return 1 2>/dev/null || exit 1
fi
echo "services: PostgreSQL ${TEST_PG_DSN} · Redis ${TEST_REDIS_URL}" >&2
