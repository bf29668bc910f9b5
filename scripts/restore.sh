#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into DATABASE_URL's database, in one transaction: it either all
# arrives or nothing does.
#
#   createdb -h host -U postgres hub_restored                          # a fresh, empty database
#   DATABASE_URL=postgresql://postgres@host/hub_restored scripts/restore.sh hub-20261123T2000Z.dump
#   DATABASE_URL=... scripts/restore.sh FILE --clean                     # replace the objects of a non-empty one
#
# Stop the app and the worker first (or point them at the restored database afterwards); then `hub migrate` brings
# an older backup up to the current schema.
set -euo pipefail

dump="${1:?usage: scripts/restore.sh BACKUP_FILE [--clean]}"
clean="${2:-}"
url="${DATABASE_URL:?set DATABASE_URL to the database to restore into}"
url="${url/#postgresql+asyncpg:\/\//postgresql://}"
url="${url/#postgres:\/\//postgresql://}"
case "$url" in
  postgresql://*) ;;
  *) echo "restore.sh: DATABASE_URL is not a PostgreSQL URL" >&2; exit 2 ;;
esac
[ -r "$dump" ] || { echo "restore.sh: cannot read $dump" >&2; exit 2; }

args=(--exit-on-error --single-transaction --no-owner --no-privileges --dbname="$url")
if [ "$clean" = "--clean" ]; then
  args+=(--clean --if-exists)
elif [ -n "$clean" ]; then
  echo "restore.sh: unknown option $clean" >&2; exit 2
fi
pg_restore "${args[@]}" "$dump"
echo "restored $dump" >&2
