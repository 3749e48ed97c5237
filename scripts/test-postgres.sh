#!/usr/bin/env bash
# The test suite on PostgreSQL (issue 16): starts a throwaway cluster on a
# loopback port (about a second), runs `bun test` against it with
# GATEHOUSE_TEST_DATABASE_URL set (each test app gets a fresh database cloned
# from a migrated template: test/support/store.ts), then stops and deletes it.
# Needs PostgreSQL's server binaries (Debian: apt-get install postgresql).
# Arguments go to bun test: bash scripts/test-postgres.sh test/oauth
set -euo pipefail
cd "$(dirname "$0")/.."

initdb=$(command -v initdb || ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$initdb" ]; then
  echo "PostgreSQL's initdb was not found: install the server (Debian: apt-get install postgresql)" >&2
  exit 1
fi
bin=$(dirname "$(readlink -f "$initdb")")
dir=$(mktemp -d /tmp/gatehouse-pg.XXXXXX)
port=${GATEHOUSE_TEST_PG_PORT:-55499}
# PostgreSQL refuses to run as root: as root, the cluster runs as the postgres user.
as=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$dir"
  as=(runuser -u postgres --)
fi
"${as[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
# Durability off: the cluster lives for one run.
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null
trap '"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

# What only SQLite has (its files, modes, WAL, migrations folder, query plans) is left out.
ignore=()
while read -r file; do ignore+=("--path-ignore-patterns=$file"); done < <(bun test/support/sqlite-only.ts)

GATEHOUSE_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres" \
  bun test --timeout 30000 "${ignore[@]}" "$@"
