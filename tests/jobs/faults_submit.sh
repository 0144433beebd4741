# Faults on submissions: a POST is repeated only when it certainly did not
# reach the API (429, 503, a refused connection); when it may have, the job
# is "outcome unknown" and never sent again behind the user's back; what
# the API refuses is said once. Tokens: wrong, missing, from a file, never
# from argv.
. "$(dirname "$0")/lib.sh"
start_fake

# ---- submissions ----------------------------------------------------------
# Turned away (429, 503): nothing was created, so asking again is safe.
fresh
before=$(submits)
fake fault '{"on": "submit", "action": "status", "code": 429, "retry_after": 0}' >/dev/null
fake fault '{"on": "submit", "action": "status", "code": 503}' >/dev/null
job submit "${REQ[@]}" --json
expect_status 0 "429 then 503 on submit"
expect_stat 's["submits"]' $((before + 1))
[ "$(grep -c '"POST", "path": "/v1/models' "$TMP/api.log")" -ge 3 ] || fail "not retried"; ok

# A 429 with Retry-After: the API's window is waited out, not preflight's
# own backoff (which PREFLIGHT_RETRY_BASE_MS=20 makes a few milliseconds).
fresh
before=$(submits)
fake fault '{"on": "submit", "action": "status", "code": 429, "retry_after": 1}' >/dev/null
t0=$(date +%s%N)
job submit "${REQ[@]}" --json --verbose
t1=$(date +%s%N)
expect_status 0 "429 with Retry-After on submit"
[ $(( (t1 - t0) / 1000000 )) -ge 900 ] || fail "Retry-After: 1 not honoured on submit"; ok
expect_err "submission answered HTTP 429, asking again in 1.0 s (its Retry-After)"
expect_stat 's["submits"]' $((before + 1))
# ... clamped as the HTTP layer clamps it (300 s); Ctrl-C while waiting:
# nothing was created, and the ledger says so.
fresh
fake fault '{"on": "submit", "action": "status", "code": 503, "retry_after": 100000}' >/dev/null
"$PREFLIGHT" submit --state-dir "$STATE" --base-url "$BASE" "${REQ[@]}" --verbose \
    >"$TMP/bg.out" 2>"$TMP/bg.err" &
pid=$!
for _ in $(seq 100); do grep -q "asking again" "$TMP/bg.err" && break; sleep 0.05; done
grep -q "submission answered HTTP 503, asking again in 300.0 s (its Retry-After)" "$TMP/bg.err" \
    || fail "Retry-After not clamped to 300 s: $(cat "$TMP/bg.err")"; ok
kill -INT $pid
wait $pid
STATUS=$? OUT=$(cat "$TMP/bg.out") ERR=$(cat "$TMP/bg.err")
expect_status 2 "interrupted while waiting out Retry-After"
expect_err "interrupted before the submission was accepted: nothing was created"
job jobs --json
expect_json jobs.0.state rejected

# SIGKILL inside a 429's Retry-After wait (a closed laptop, the OOM
# killer): the refusal is recorded before the wait, so the job is not an
# "outcome unknown". The rerun sends it, once; so does 'resume'.
for how in submit resume; do
    fresh
    before=$(submits)
    fake fault '{"on": "submit", "action": "status", "code": 429, "retry_after": 30}' >/dev/null
    "$PREFLIGHT" submit --state-dir "$STATE" --base-url "$BASE" "${REQ[@]}" --verbose \
        >"$TMP/bg.out" 2>"$TMP/bg.err" &
    pid=$!
    for _ in $(seq 200); do grep -q "asking again" "$TMP/bg.err" && break; sleep 0.05; done
    grep -q "submission answered HTTP 429, asking again in 30.0 s (its Retry-After)" "$TMP/bg.err" \
        || fail "no 429 wait: $(cat "$TMP/bg.err")"; ok
    kill -KILL $pid
    wait $pid 2>/dev/null
    after_kill
    job jobs --json
    expect_json jobs.0.state submitting
    job status "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["jobs"][0]["job"])' <<<"$OUT")"
    expect_status 0 "status leaves a turned-away job alone ($how)"
    expect_stat 's["submits"]' "$before"
    if [ $how = submit ]; then
        job submit "${REQ[@]}" --json
        expect_status 0 "rerun after a kill in the 429 wait"
        expect_json state in_queue
    else
        job resume
        expect_status 0 "resume after a kill in the 429 wait"
    fi
    expect_stat 's["submits"]' $((before + 1))
    job submit "${REQ[@]}" --json
    expect_status 0 "and again: the same job"
    expect_json reused true
    expect_stat 's["submits"]' $((before + 1))
done

# A server error after the POST: the job may exist. Outcome unknown, and
# never sent again without --force.
for fault in '{"on": "submit", "action": "status", "code": 500}' \
             '{"on": "submit", "action": "reset", "create": true}' \
             '{"on": "submit", "action": "malformed"}'; do
    fresh
    before=$(submits)
    fake fault "$fault" >/dev/null
    job submit "${REQ[@]}"
    expect_status 2 "outcome unknown: $fault"
    expect_one_line_err
    expect_err "outcome unknown"
    expect_err "submit it again, forced (--force)"
    job submit "${REQ[@]}" --json
    expect_status 2 "outcome unknown again: $fault"
    expect_json error.code outcome_unknown
    expect_stat 's["submits"]' "$(submits)"
    job jobs --json
    expect_json jobs.0.state outcome_unknown
    job resume
    expect_status 0 "resume leaves a known outcome-unknown job alone"
    job submit "${REQ[@]}" --force --json
    expect_status 0 "--force after outcome unknown"
    case $fault in *500*) expect_stat 's["submits"]' $((before + 1)) ;;
                   *) expect_stat 's["submits"]' $((before + 2)) ;; esac
done

# An error the API states (even with HTTP 200): refused, nothing created;
# the same request may be sent again.
fresh
fake fault '{"on": "submit", "action": "error200", "code": "invalid_input", "message": "The video could not be fetched."}' >/dev/null
job submit "${REQ[@]}"
expect_status 2 "error_code on submit"
expect_one_line_err
expect_err "invalid_input: The video could not be fetched."
job jobs --json
expect_json jobs.0.state rejected
job submit "${REQ[@]}" --json
expect_status 0 "submit after a refusal"
expect_json reused false

# Bad token: refused, said once; no token at all: nothing recorded or sent.
fresh
before=$(submits)
RUNCOMFY_API_TOKEN=wrong job submit "${REQ[@]}"
expect_status 2 "wrong token"
expect_err "unauthorized"
expect_not "wrong"
count=$(job jobs --json --limit 0 >/dev/null; json_field jobs | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
fresh
env -u RUNCOMFY_API_TOKEN "$PREFLIGHT" submit --state-dir "$STATE" --base-url "$BASE" "${REQ[@]}" \
    >"$TMP/out" 2>"$TMP/err"
STATUS=$? OUT=$(cat "$TMP/out") ERR=$(cat "$TMP/err")
expect_status 2 "no token"
expect_err "set RUNCOMFY_API_TOKEN or YOUR_API_TOKEN"
job jobs --json --limit 0
[ "$(json_field jobs | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = "$count" ] \
    || fail "a job was recorded without a token"; ok
expect_stat 's["submits"]' "$before"
# the documents' own variable, and a token file
env -u RUNCOMFY_API_TOKEN YOUR_API_TOKEN="$FAKE_RUNCOMFY_TOKEN" "$PREFLIGHT" submit \
    --state-dir "$STATE" --base-url "$BASE" "${REQ[@]}" >/dev/null 2>&1
[ $? -eq 0 ] || fail "YOUR_API_TOKEN not accepted"; ok
printf '%s\n' "$FAKE_RUNCOMFY_TOKEN" >"$TMP/token"
fresh
env -u RUNCOMFY_API_TOKEN "$PREFLIGHT" submit --state-dir "$STATE" --base-url "$BASE" \
    --token-file "$TMP/token" "${REQ[@]}" >/dev/null 2>&1
[ $? -eq 0 ] || fail "--token-file not accepted"; ok
job submit "${REQ[@]}" --token "$FAKE_RUNCOMFY_TOKEN"
expect_status 2 "token in argv"
expect_err "never taken from the command line"
expect_not "$FAKE_RUNCOMFY_TOKEN"
done_tests
