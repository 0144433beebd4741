#!/bin/bash
# Usage: tests/with_upload_servers.sh [--s3] -- COMMAND ARGS...
# Runs COMMAND with tests/fault_server.py on 127.0.0.1 (and with --s3 an
# s3rver, the npm S3 implementation from tests/package.json, on 127.0.0.1
# too), each on a free port the kernel picked. Exports:
#   PF_TEST_FAULT_PORT, PF_TEST_FAULT_LOG   the fault server and its JSON log
#   PF_TEST_S3_PORT, PF_TEST_S3_DIR         s3rver and the directory it stores
#                                           objects in (bucket "pf-test" exists)
# Both are stopped when COMMAND ends; exits with COMMAND's status.
# PF_TEST_HTTP_MAX_SECONDS (default 300) bounds the servers' lifetime.
set -u

usage() { echo "usage: $0 [--s3] -- COMMAND ARGS..." >&2; exit 2; }
want_s3=
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    case $1 in
        --s3) want_s3=1 ;;
        *) usage ;;
    esac
    shift
done
[ "${1:-}" = "--" ] || usage
shift
[ $# -gt 0 ] || usage

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pf-up.XXXXXX") || exit 2
pids=()

cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_port FILE PID NAME: the server publishes its port by renaming FILE
# into place once it listens; wait at most 10 s.
wait_port() {
    for _ in $(seq 100); do
        [ -s "$1" ] && return 0
        kill -0 "$2" 2>/dev/null || { echo "$0: $3 died" >&2; cat "$tmp/$3.err" >&2; exit 2; }
        sleep 0.1
    done
    echo "$0: $3 did not start within 10 s" >&2
    exit 2
}

: >"$tmp/fault.log"
python3 "$here/fault_server.py" --port-file "$tmp/fault.port" --log "$tmp/fault.log" \
    --max-seconds "${PF_TEST_HTTP_MAX_SECONDS:-300}" 2>"$tmp/fault.err" &
pids+=($!)
wait_port "$tmp/fault.port" "$!" fault
PF_TEST_FAULT_PORT=$(cat "$tmp/fault.port")
PF_TEST_FAULT_LOG=$tmp/fault.log
export PF_TEST_FAULT_PORT PF_TEST_FAULT_LOG

if [ -n "$want_s3" ]; then
    # Skipped (ctest's SKIP_RETURN_CODE 77), not failed, without node's
    # packages: CI installs them and runs it.
    if ! command -v node >/dev/null || [ ! -d "$here/node_modules/s3rver" ]; then
        echo "SKIP: node or tests/node_modules/s3rver is missing: run tools/install-deps.sh (npm ci in tests/)" >&2
        exit 77
    fi
    mkdir -p "$tmp/s3"
    node "$here/s3rver.js" --dir "$tmp/s3" --port-file "$tmp/s3.port" \
        --max-seconds "${PF_TEST_HTTP_MAX_SECONDS:-300}" 2>"$tmp/s3.err" &
    pids+=($!)
    wait_port "$tmp/s3.port" "$!" s3
    PF_TEST_S3_PORT=$(cat "$tmp/s3.port")
    PF_TEST_S3_DIR=$tmp/s3
    export PF_TEST_S3_PORT PF_TEST_S3_DIR
fi

"$@"
exit $?
