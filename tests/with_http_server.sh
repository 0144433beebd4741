#!/bin/bash
# Usage: tests/with_http_server.sh ROOT [--no-range] -- COMMAND ARGS...
# Runs COMMAND with a tests/http_server.py instance serving ROOT on 127.0.0.1.
# Exports PF_TEST_HTTP_PORT and PF_TEST_HTTP_LOG (JSON lines, one per request;
# deleted afterwards, so read it from inside COMMAND). Exits with COMMAND's status.
# PF_TEST_HTTP_MAX_SECONDS (default 300) bounds the server's lifetime.
set -u

usage() { echo "usage: $0 ROOT [--no-range] -- COMMAND ARGS..." >&2; exit 2; }

[ $# -ge 1 ] || usage
root=$1; shift
srv_args=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    case $1 in
        --no-range) srv_args+=(--no-range) ;;
        *) usage ;;
    esac
    shift
done
[ "${1:-}" = "--" ] || usage
shift
[ $# -gt 0 ] || usage
[ -d "$root" ] || { echo "$0: no such directory: $root" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pf-http.XXXXXX") || exit 2
srv_pid=

cleanup() {
    if [ -n "$srv_pid" ]; then
        kill "$srv_pid" 2>/dev/null
        wait "$srv_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
# Turn signals into a normal exit so the EXIT trap still stops the server.
trap 'exit 130' INT
trap 'exit 143' TERM

: >"$tmp/log"   # exists from the start, so COMMAND can read it at any time
python3 "$here/http_server.py" --root "$root" --port-file "$tmp/port" \
    --log "$tmp/log" --max-seconds "${PF_TEST_HTTP_MAX_SECONDS:-300}" \
    "${srv_args[@]}" &
srv_pid=$!

# The server renames the port file into place once listening; wait at most 5 s.
for _ in $(seq 50); do
    [ -s "$tmp/port" ] && break
    kill -0 "$srv_pid" 2>/dev/null || { echo "$0: server died" >&2; exit 2; }
    sleep 0.1
done
[ -s "$tmp/port" ] || { echo "$0: server did not start within 5 s" >&2; exit 2; }

PF_TEST_HTTP_PORT=$(cat "$tmp/port")
PF_TEST_HTTP_LOG=$tmp/log
export PF_TEST_HTTP_PORT PF_TEST_HTTP_LOG

"$@"
status=$?
exit "$status"
