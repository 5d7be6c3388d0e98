#!/usr/bin/env bash
# Installs (if needed) and starts a PostgreSQL server on 127.0.0.1:5432 with a `yijian`
# database, then writes .ci/postgres.env exporting DATABASE_URL.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq postgresql >/dev/null
fi
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
data="${PGDATA_DIR:-/tmp/yijian-pg}"
if [ ! -f "$data/PG_VERSION" ]; then
  rm -rf "$data"; mkdir -p "$data"; chown postgres:postgres "$data"
  su postgres -c "$bin/initdb -D $data -A trust -U postgres" >/dev/null
fi
if ! su postgres -c "$bin/pg_ctl -D $data status" >/dev/null 2>&1; then
  su postgres -c "$bin/pg_ctl -D $data -l $data/server.log -o '-c listen_addresses=127.0.0.1 -p 5432 -k /tmp' start -w" >/dev/null
fi
su postgres -c "psql -h 127.0.0.1 -p 5432 -U postgres -tAc \"SELECT 1 FROM pg_database WHERE datname='yijian'\"" | grep -q 1 \
  || su postgres -c "psql -h 127.0.0.1 -p 5432 -U postgres -c 'CREATE DATABASE yijian'" >/dev/null
echo "export DATABASE_URL=postgres://postgres@127.0.0.1:5432/yijian" > "$here/postgres.env"
echo "ci: PostgreSQL ready at 127.0.0.1:5432/yijian"
