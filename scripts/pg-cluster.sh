#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1 for trying several nodes by hand and for the cluster bench.
#   scripts/pg-cluster.sh start DIR PORT   → prints DATABASE_URL=postgres://postgres@127.0.0.1:PORT/postgres
#   scripts/pg-cluster.sh stop DIR         → stops it and removes DIR
# Uses Debian's postgresql (apt-get install postgresql); as root, runs it as the postgres user.
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] || { echo "postgresql is not installed: apt-get install postgresql" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "${1:-}" in
  start)
    dir=$2 port=$3
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" -w start >/dev/null
    echo "DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres" ;;
  stop)
    dir=$2
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir" ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
