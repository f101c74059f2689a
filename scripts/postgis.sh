#!/usr/bin/env bash
# A PostGIS server for OneMap in a folder you name: install, initdb, start, create the database.
#   bash scripts/postgis.sh DIR [PORT]      # default PORT 5432; prints the store URL on the last line
#   bash scripts/postgis.sh --stop DIR      # stop the server of DIR
# Idempotent: packages already installed, a cluster already in DIR, a server already running on
# PORT, the roles, the database and the extension already there are all kept as they are.
# The cluster listens on 127.0.0.1 only, with trust authentication for local TCP connections
# (one machine; put passwords in pg_hba.conf before opening it to a network). Roles created:
#   onemap         owns the database and writes the store (not a superuser: row-level security
#                  applies to it as well)
#   onemap_reader  NOLOGIN group that gets SELECT on every store table at each write
#   onemap_app     LOGIN member of onemap_reader: a dashboard that only reads connects as it
# Run as root, the cluster belongs to the `postgres` system user (PostgreSQL refuses root).
set -euo pipefail

PGBIN=/usr/lib/postgresql/15/bin
if [[ "${1:-}" == "--stop" ]]; then
  dir=$(realpath -m "${2:?usage: postgis.sh --stop DIR}")
  as_owner() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  [[ -f "$dir/postmaster.pid" ]] && as_owner "$PGBIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
  echo "postgis: stopped $dir"
  exit 0
fi
dir=$(realpath -m "${1:?usage: postgis.sh DIR [PORT]}")
port=${2:-5432}
db=${ONEMAP_PG_DB:-onemap}

# 1. packages (Debian: PostgreSQL 15 and PostGIS 3)
need=()
for p in postgresql-15 postgresql-15-postgis-3; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if (( ${#need[@]} )); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "postgis: installing Debian packages: ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# 2. who owns the cluster: yourself, or `postgres` when run as root
if [[ $(id -u) -eq 0 ]]; then
  owner=postgres
  as_owner() { runuser -u postgres -- "$@"; }
else
  owner=$(id -un)
  as_owner() { "$@"; }
fi
mkdir -p "$dir"
cd /  # the cluster owner may not be allowed into the caller's directory
[[ $(id -u) -eq 0 ]] && chown "$owner" "$dir"
chmod 700 "$dir"

# 3. the cluster
if [[ ! -f "$dir/PG_VERSION" ]]; then
  as_owner "$PGBIN/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 \
    || { cat "$dir.initdb.log" >&2; echo "postgis: initdb failed in $dir" >&2; exit 1; }
fi

# 4. the server (sockets in DIR, not /var/run/postgresql which a non-root user cannot write)
if ! as_owner "$PGBIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
  as_owner "$PGBIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null \
    || { tail -20 "$dir/server.log" >&2; echo "postgis: the server did not start on port $port" >&2; exit 1; }
fi

PSQL=/usr/lib/postgresql/15/bin/psql
[[ -x $PSQL ]] || PSQL=psql
psql_su() { PGOPTIONS="-c client_min_messages=warning" as_owner "$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"; }

# 5. roles, database, extension
psql_su -d postgres <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'onemap') THEN
    CREATE ROLE onemap LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'onemap_reader') THEN
    CREATE ROLE onemap_reader NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'onemap_app') THEN
    CREATE ROLE onemap_app LOGIN IN ROLE onemap_reader;
  END IF;
END $$;
SQL
if ! psql_su -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
  psql_su -d postgres -c "CREATE DATABASE \"$db\" OWNER onemap"
fi
psql_su -d "$db" -c "CREATE EXTENSION IF NOT EXISTS postgis"
psql_su -d "$db" -c "GRANT CONNECT ON DATABASE \"$db\" TO onemap_reader"

echo "postgis: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') + PostGIS on 127.0.0.1:$port, data in $dir" >&2
echo "postgresql://onemap@127.0.0.1:$port/$db"
