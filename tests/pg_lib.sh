# A throwaway PostgreSQL server for the ledger tests (sourced): initdb into
# a temporary directory, listening only on a Unix socket there, started and
# stopped by the test. The server refuses to run as root, so as root it runs
# as nobody, who owns its data directory. Without the server's binaries
# (Debian's postgresql package) a test exits 77, which ctest reports as
# skipped with the reason printed.

# The directory holding initdb and pg_ctl (PF_PG_BIN, else Debian's), or
# nothing.
pg_bindir() {
    local d
    for d in ${PF_PG_BIN:-/usr/lib/postgresql/*/bin}; do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
    done
    return 1
}

pg_as() {   # COMMAND...: as the server's user
    if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

# pg_start DIR: a new server in DIR; sets PG_URL and exports PREFLIGHT_LEDGER.
pg_start() {
    PG_DIR=$1
    PG_BIN=$(pg_bindir) || { echo "SKIP: no PostgreSQL server binaries (initdb, pg_ctl: install Debian's postgresql package)"; exit 77; }
    command -v psql >/dev/null || { echo "SKIP: no psql (install postgresql-client)"; exit 77; }
    mkdir -p "$PG_DIR/data" "$PG_DIR/sock"
    if [ "$(id -u)" -eq 0 ]; then
        id nobody >/dev/null 2>&1 || { echo "SKIP: running as root and there is no user 'nobody' to run PostgreSQL as"; exit 77; }
        # nobody must reach the directory through its parents (mktemp's 0700).
        local p=$PG_DIR
        while [ "$p" != / ] && [ "$p" != /tmp ]; do chmod o+x "$p"; p=$(dirname "$p"); done
        chown -R nobody "$PG_DIR"
    fi
    pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U preflight --auth=trust -E UTF8 \
        --no-sync --no-instructions >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; fail "initdb failed"; }
    pg_up
    "$PG_BIN/createdb" -h "$PG_DIR/sock" -U preflight preflight 2>/dev/null \
        || psql -h "$PG_DIR/sock" -U preflight -d postgres -qc 'CREATE DATABASE preflight' \
        || fail "cannot create the test database"
    PG_URL="postgresql:///preflight?host=$PG_DIR/sock&user=preflight"
    export PREFLIGHT_LEDGER=$PG_URL
}

# pg_up / pg_down: starts and stops the server in PG_DIR (fast shutdown:
# connections are cut, as when a database server goes away).
pg_up() {
    pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
        -o "-k $PG_DIR/sock -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null || { cat "$PG_DIR/server.log" >&2; fail "PostgreSQL did not start"; }
}
pg_down() {
    [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ] &&
        pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
    return 0
}

# psql_q SQL: one query against the test database, unaligned, no headers.
psql_q() {
    psql -h "$PG_DIR/sock" -U preflight -d preflight -XAtqc "$1"
}
