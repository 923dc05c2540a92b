#!/bin/bash
# fuzz/run.sh [SECONDS [libFuzzer flags...]]: build the target and fuzz the
# expression language for SECONDS (default 60) in a single-user backend on
# a throw-away data directory.  New corpus entries collect in
# build/corpus, findings in build/artifacts.  See README.md.
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD

seconds=${1:-60}
[ $# -gt 0 ] && shift
PG_CONFIG=${PG_CONFIG:-pg_config}
make -s PG_CONFIG="$PG_CONFIG" build/flowcontrol_fuzz.so
bindir=$("$PG_CONFIG" --bindir)

rm -rf build/data
mkdir -p build/corpus build/artifacts
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" = 0 ] && chown -R postgres: build
as_pg "$bindir/initdb" -D build/data -A trust -E UTF8 --locale=C >/dev/null

extra=
for flag in "$@"; do extra="$extra, '$flag'"; done
sql="CREATE FUNCTION fuzz(text[]) RETURNS int AS '$here/build/flowcontrol_fuzz.so', 'fuzz_expr_run' LANGUAGE C STRICT;"
sql="$sql SELECT fuzz(ARRAY['-max_total_time=$seconds', '-timeout=10', '-rss_limit_mb=4096',"
sql="$sql '-max_len=70000', '-dict=$here/expr.dict', '-artifact_prefix=$here/build/artifacts/',"
sql="$sql '-print_final_stats=1'$extra, '$here/build/corpus', '$here/corpus']);"

echo "$sql" | as_pg "$bindir/postgres" --single -F -D build/data postgres
