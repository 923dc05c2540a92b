#!/bin/bash
# bench/expressions.sh: run bench/expressions.sql on a throw-away server
# started from the private installation that `make test` leaves in
# ./tmp_install (run `make test` first).  Output goes to stdout and to
# bench/results/expressions-DATE.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bindir=$root/tmp_install$(pg_config --bindir)
[ -x "$bindir/postgres" ] || { echo "run 'make test' first (no $bindir/postgres)" >&2; exit 1; }

work=$(mktemp -d /tmp/flowcontrol-bench.XXXXXX)
mkdir -p bench/results
out=bench/results/expressions-$(date -u +%Y%m%dT%H%M%SZ).txt
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" = 0 ] && chown postgres: "$work" && chown -R postgres: bench/results
cleanup() {
	as_pg "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

as_pg "$bindir/initdb" -D "$work/data" -A trust -E UTF8 --locale=C >/dev/null
cat >> "$work/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work'
shared_preload_libraries = 'flowcontrol'
flowcontrol.enabled = off
shared_buffers = 512MB
CONF
as_pg "$bindir/pg_ctl" -D "$work/data" -l "$work/log" -w start >/dev/null
{
	echo "# $(date -u) on $(nproc) cores; $("$bindir/postgres" --version)"
	as_pg "$bindir/psql" -X -h "$work" -d postgres -f bench/expressions.sql
} | tee "$out"
