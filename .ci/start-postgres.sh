#!/usr/bin/env bash
# Starts the local PostgreSQL 15 cluster (installing it where it is missing), makes sure the
# role `nectr` (password `nectr`, allowed to create databases) and the database `nectr_test`
# exist, and prints the TEST_DATABASE_URL to use. Used by .ci/run and `cargo xtask db`.
set -euo pipefail

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ ! -d /etc/postgresql/15/main ]; then
  echo "installing PostgreSQL 15" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi

status=0
pg_ctlcluster 15 main start >&2 || status=$?
# Exit code 2 means the cluster was running already.
if [ "$status" -ne 0 ] && [ "$status" -ne 2 ]; then
  echo "pg_ctlcluster 15 main start failed with $status" >&2
  exit "$status"
fi
for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.5
done
pg_isready -h 127.0.0.1 -p 5432 >&2

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then su postgres -c "psql -v ON_ERROR_STOP=1 -qAt -c \"$1\""
  else psql -v ON_ERROR_STOP=1 -qAt -h 127.0.0.1 -U postgres -c "$1"; fi
}
if [ "$(as_postgres "SELECT 1 FROM pg_roles WHERE rolname = 'nectr'")" != "1" ]; then
  as_postgres "CREATE ROLE nectr LOGIN CREATEDB PASSWORD 'nectr'" >&2
fi
if [ "$(as_postgres "SELECT 1 FROM pg_database WHERE datname = 'nectr_test'")" != "1" ]; then
  as_postgres "CREATE DATABASE nectr_test OWNER nectr" >&2
fi
echo "postgres://nectr:nectr@127.0.0.1:5432/nectr_test"
