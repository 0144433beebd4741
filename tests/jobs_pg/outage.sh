# The PostgreSQL server stopped mid-run: a clear error, no POST without its
# record, and nothing lost once the server is back.
. "$(dirname "$0")/../jobs/lib.sh"
[ "$LEDGER" = postgresql ] || fail "outage.sh runs on PostgreSQL (PF_TEST_LEDGER=postgresql)"
start_fake
fake config '{"queue_polls": -1}' >/dev/null
until_true() {   # SECONDS COMMAND...: 0 once COMMAND succeeds, 1 after SECONDS
    local n=$(( $1 * 20 ))
    shift
    for _ in $(seq "$n"); do "$@" && return 0; sleep 0.05; done
    return 1
}
posts_are() { [ "$(apistat 's["submits"]')" = "$1" ]; }
rid_of() { apistat "[k for k, v in s['jobs'].items() if v['body']['prompt'] == '$1'][0]"; }

# ---- the server goes away while a POST is in flight -------------------------
# The job was recorded before the POST; the answer comes while the server
# is down, and is recorded once it is back.
request "answered during the outage"
fake fault '{"on": "submit", "action": "hold", "seconds": 3}' >/dev/null
(PREFLIGHT_STALL_MS=20000 exec "$PREFLIGHT" run --state-dir "$STATE" --base-url "$BASE" --json -o "$TMP/a" "${REQ[@]}" \
    >"$TMP/a.out" 2>"$TMP/a.err") &
A=$!
until_true 20 posts_are 1 || fail "the POST was not sent"
pg_down
[ "$(psql_q 'SELECT 1' 2>/dev/null)" = "" ] || fail "the server is still up"; ok
sleep 4     # the answer arrives meanwhile
pg_up
recorded_queued() { [ "$(psql_q "SELECT state FROM jobs WHERE request_id IS NOT NULL" 2>/dev/null)" = in_queue ]; }
until_true 10 recorded_queued
recorded_queued || fail "the answer was not recorded: $(cat "$TMP/a.err"); $(psql_q "SELECT id, state, request_id FROM jobs")"
fake advance "{\"id\": \"$(rid_of 'answered during the outage')\", \"state\": \"completed\"}" >/dev/null
wait $A || fail "the run did not survive the outage: $(cat "$TMP/a.err")"
ok
expect_stat 's["submits"]' 1
[ "$(sha "$TMP/a/result.mp4")" = "$(sha "$PF_FIXTURES/mp4_noaudio.mp4")" ] || fail "output differs"; ok

# ---- no server: no submission -----------------------------------------------
pg_down
request "submitted during the outage"
job submit "${REQ[@]}"
expect_status 2 "submit with the ledger's server down"
expect_err "cannot connect to the ledger"
expect_one_line_err
expect_stat 's["submits"]' 1
job run "${REQ[@]}" -o "$TMP/b"
expect_status 2 "run with the ledger's server down"
expect_err "cannot connect to the ledger"
expect_stat 's["submits"]' 1

# ---- the server goes away while a job is waited for ---------------------------
pg_up
request "waited for during the outage"
job submit "${REQ[@]}" --json
expect_status 0 "submit once the server is back"
RID=$(json_field request_id)
expect_stat 's["submits"]' 2
(exec "$PREFLIGHT" wait --state-dir "$STATE" --base-url "$BASE" -o "$TMP/c" "$RID" \
    >"$TMP/c.out" 2>"$TMP/c.err") &
C=$!
sleep 0.5
pg_down
wait $C
[ $? -eq 2 ] || fail "wait did not fail with the server down: $(cat "$TMP/c.err")"; ok
grep -q "the ledger's database cannot be reached" "$TMP/c.err" || fail "unclear error: $(cat "$TMP/c.err")"; ok
grep -q "is recorded: waiting for .* again tries again ('preflight wait" "$TMP/c.err" || fail "no way on given: $(cat "$TMP/c.err")"; ok
pg_up
fake advance "{\"id\": \"$RID\", \"state\": \"completed\"}" >/dev/null
job wait "$RID" -o "$TMP/c" --json
expect_status 0 "wait once the server is back"
expect_json state completed
# Nothing lost: both jobs, each once, and the refused submission left nothing.
job jobs --json --limit 0
[ "$(json_field jobs | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 2 ] \
    || fail "the ledger does not hold exactly the 2 jobs: $OUT"; ok
expect_stat 's["submits"]' 2
done_tests
