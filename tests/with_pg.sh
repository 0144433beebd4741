#!/usr/bin/env bash
# with_pg.sh -- COMMAND...: runs COMMAND with PREFLIGHT_LEDGER naming a
# throwaway PostgreSQL server (tests/pg_lib.sh), then stops it. Exits 77
# (skipped) without the server's binaries.
set -u
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
. "$(dirname "$0")/pg_lib.sh"
[ "${1:-}" = "--" ] && shift
TMP=$(mktemp -d)
trap 'pg_down; rm -rf "$TMP"' EXIT
pg_start "$TMP/pg"
export PG_DIR
"$@"
