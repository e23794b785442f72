#!/usr/bin/env bash
# Makes a PostgreSQL server available for the test suites and prints the URL to export as
# OMNI_TEST_POSTGRES_URL: starts the machine's cluster if it is installed but stopped, installs
# Debian's postgresql package if it is missing, then creates a role allowed to create the per-test
# databases. Run as root (CI is). Idempotent: a second run reuses the role and the cluster.
set -euo pipefail

ROLE=omni_ci
PASSWORD=omni-ci-password

log() { echo "postgres: $*" >&2; }

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  log "not installed; installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi

# The newest cluster on this machine (pg_lsclusters: version, name, port, status, ...).
read -r VERSION NAME PORT STATUS < <(pg_lsclusters --no-header | sort -V | tail -n 1 | awk '{print $1, $2, $3, $4}')
if [[ -z "${VERSION:-}" ]]; then
  VERSION=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  log "no cluster; creating $VERSION/main"
  pg_createcluster "$VERSION" main >&2
  read -r VERSION NAME PORT STATUS < <(pg_lsclusters --no-header | sort -V | tail -n 1 | awk '{print $1, $2, $3, $4}')
fi
if [[ "$STATUS" != online* ]]; then
  log "starting cluster $VERSION/$NAME on port $PORT"
  pg_ctlcluster "$VERSION" "$NAME" start >&2
fi

for _ in $(seq 1 30); do
  if su postgres -c "psql -p $PORT -qAtc 'select 1'" >/dev/null 2>&1; then break; fi
  sleep 1
done

su postgres -c "psql -p $PORT -v ON_ERROR_STOP=1 -qAt" >&2 <<SQL
do \$\$ begin
  if not exists (select from pg_roles where rolname = '$ROLE') then
    create role $ROLE login createdb password '$PASSWORD';
  else
    alter role $ROLE login createdb password '$PASSWORD';
  end if;
end \$\$;
-- DROP DATABASE … WITH (FORCE) of a test database must be able to end an autovacuum worker in it.
grant pg_signal_backend to $ROLE;
SQL
if [[ "$(su postgres -c "psql -p $PORT -qAtc \"select 1 from pg_database where datname = '$ROLE'\"")" != 1 ]]; then
  su postgres -c "createdb -p $PORT -O $ROLE $ROLE" >&2
fi

echo "postgres://$ROLE:$PASSWORD@127.0.0.1:$PORT/$ROLE"
