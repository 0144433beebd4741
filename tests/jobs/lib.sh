# Shared setup for the job tests (sourced): a fake provider API on
# 127.0.0.1 (tests/fake_api.py) with fresh tokens, a private ledger, short
# poll and retry intervals, and helpers to drive and inspect the fake.
. "$(dirname "$0")/../cli_lib.sh"
HERE=$(cd "$(dirname "$0")/.." && pwd)
export PF_JOBS_LIB=$HERE/jobs   # ledger_q.py, for the tests' Python

# Tokens are random per run and marked, so a leak is easy to grep for.
FAKE_RUNCOMFY_TOKEN=rc-SECRET-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
FAKE_COMETAPI_TOKEN=cm-SECRET-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
export FAKE_RUNCOMFY_TOKEN FAKE_COMETAPI_TOKEN
export RUNCOMFY_API_TOKEN=$FAKE_RUNCOMFY_TOKEN COMETAPI_KEY=$FAKE_COMETAPI_TOKEN
unset YOUR_API_TOKEN XDG_STATE_HOME
export PREFLIGHT_RETRY_BASE_MS=20 PREFLIGHT_POLL_MS=20 PREFLIGHT_STALL_MS=1500
STATE=$TMP/state
FAKE_PID=

cleanup_jobs() {
    [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
    [ "$LEDGER" = postgresql ] && pg_down
    rm -rf "$TMP"
}
trap cleanup_jobs EXIT

# The same scripts run on each ledger backend: PF_TEST_LEDGER=postgresql
# (ctest's job_*_pg) puts the ledger in a PostgreSQL server of their own,
# with short leases so that a killed worker's jobs are taken over quickly.
LEDGER=${PF_TEST_LEDGER:-sqlite}
unset PREFLIGHT_LEDGER PREFLIGHT_WORKER PREFLIGHT_LEASE_S
if [ "$LEDGER" = postgresql ]; then
    . "$HERE/pg_lib.sh"
    pg_start "$TMP/pg"
    export PREFLIGHT_LEASE_S=2 PG_DIR
fi
# after_kill: a worker was killed; on PostgreSQL its leases outlive it until
# they expire (on SQLite its locks went with it).
after_kill() {
    [ "$LEDGER" = postgresql ] && sleep 2.5
    return 0
}
# ledger_sql SQL: one statement on the ledger, whichever backend holds it;
# rows one a line, columns '|'-separated, no headers.
ledger_sql() {
    if [ "$LEDGER" = postgresql ]; then
        psql_q "$1"
    else
        sqlite3 "$STATE/jobs.db" "$1"
    fi
}
# ledger_dump FILE: everything the ledger holds, as bytes to grep.
ledger_dump() {
    if [ "$LEDGER" = postgresql ]; then
        "$PG_BIN/pg_dump" -h "$PG_DIR/sock" -U preflight -d preflight >"$1"
    else
        cat "$STATE"/jobs.db* >"$1"
    fi
}

start_fake() {
    rm -f "$TMP/port"
    python3 "$HERE/fake_api.py" --fixtures "$PF_FIXTURES" --rules "$PF_SOURCE_DIR/rules" \
        --port-file "$TMP/port" --log "$TMP/api.log" --max-seconds 600 &
    FAKE_PID=$!
    for _ in $(seq 100); do
        [ -s "$TMP/port" ] && break
        sleep 0.05
    done
    [ -s "$TMP/port" ] || fail "the fake API did not start"
    BASE=http://127.0.0.1:$(cat "$TMP/port")
}

# fake PATH [JSON]: a control call (POST with JSON, GET without); prints the answer.
fake() {
    python3 - "$BASE/_fake/$1" "${2:-}" <<'PY'
import sys, urllib.request
url, body = sys.argv[1], sys.argv[2]
req = urllib.request.Request(url, data=body.encode() if body else None,
                             headers={"Content-Type": "application/json"})
print(urllib.request.urlopen(req, timeout=10).read().decode())
PY
}
# apistat EXPR: a Python expression over the fake's stats dict `s`.
apistat() {
    python3 - "$BASE/_fake/stats" "$1" <<'PY'
import json, sys, urllib.request
s = json.load(urllib.request.urlopen(sys.argv[1], timeout=10))
print(eval(sys.argv[2]))
PY
}
expect_stat() {
    local got
    got=$(apistat "$1")
    [ "$got" = "$2" ] || fail "fake API: $1 = $got, expected $2"
    ok
}

# job CMD ARGS...: preflight CMD against the fake and the private ledger.
job() {
    local cmd=$1
    shift
    run "$cmd" --state-dir "$STATE" --base-url "$BASE" "$@"
}

ALEPH=runwayml/runway-aleph/video-to-video
COMET=cometapi:runwayml/v1/video_to_video
# request [PROMPT]: REQ becomes a RunComfy request that passes its check,
# its media on the fake; COMET_REQ the same for CometAPI.
request() {
    REQ=(--model "$ALEPH" --allow-http "prompt=${1:-a slow pan}" ratio=1280:720
         "video_url=$BASE/fixtures/mp4_h264_640x360_2s.mp4")
    COMET_REQ=(--model "$COMET" --allow-http "promptText=${1:-a slow pan}" model=gen4_aleph
               ratio=1280:720 "videoUri=$BASE/fixtures/mp4_h264_640x360_2s.mp4")
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
# fresh: a new request for the next scenario (a prompt not used before, so
# a new ledger key) and no fault left over from the last one.
FRESH_N=0
fresh() { FRESH_N=$((FRESH_N + 1)); request "scenario $FRESH_N"; fake clear >/dev/null; }
submits() { apistat 's["submits"]'; }
