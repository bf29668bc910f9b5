#!/usr/bin/env bash
# Back up the hub's PostgreSQL database with pg_dump's custom format (compressed; pg_restore can restore all of it
# or single tables). The archive is written beside its final name and renamed only once pg_restore can read it,
# so a half-written file never looks like a backup.
#
#   DATABASE_URL=postgresql://hub:pw@host/hub scripts/backup.sh [FILE]     # default: hub-<UTC time>.dump
#   docker compose exec -T postgres pg_dump -Fc -U hub hub > hub.dump     # the same from the compose stack
#
# pg_dump takes a consistent snapshot: the app may keep serving while it runs.
set -euo pipefail

url="${DATABASE_URL:?set DATABASE_URL to the hub database (postgresql://user:password@host:port/dbname)}"
# The app's URLs name the async driver (postgresql+asyncpg://); libpq tools want postgresql://.
url="${url/#postgresql+asyncpg:\/\//postgresql://}"
url="${url/#postgres:\/\//postgresql://}"
case "$url" in
  postgresql://*) ;;
  *) echo "backup.sh: DATABASE_URL is not PostgreSQL (SQLite: copy var/hub.sqlite3 while the app is stopped)" >&2; exit 2 ;;
esac

out="${1:-hub-$(date -u +%Y%m%dT%H%M%SZ).dump}"
partial="$out.partial"
trap 'rm -f "$partial"' EXIT
pg_dump --format=custom --compress=6 --no-owner --no-privileges --dbname="$url" --file="$partial"
pg_restore --list "$partial" > /dev/null    # the archive is complete and readable
mv "$partial" "$out"
trap - EXIT
echo "backup written: $out ($(du -h "$out" | cut -f1))" >&2
echo "$out"
