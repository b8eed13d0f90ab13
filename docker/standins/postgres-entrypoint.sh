#!/bin/sh
# The part of the official postgres image's entrypoint the local stack uses: on the first start
# PGDATA is initialised with POSTGRES_USER / POSTGRES_PASSWORD and POSTGRES_DB is created (the
# server listens on the socket only meanwhile), then PostgreSQL listens on every address.
set -eu
if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
  user="${POSTGRES_USER:-postgres}"
  db="${POSTGRES_DB:-$user}"
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    pg_ctl --wait --silent --options="-c listen_addresses=''" start
    createdb --username="$user" "$db"
    pg_ctl --wait --silent --mode=fast stop
  fi
fi
if [ "${1:-}" = postgres ]; then
  shift
  exec postgres -c listen_addresses='*' "$@"
fi
exec "$@"
