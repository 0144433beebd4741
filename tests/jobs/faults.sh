# Every fault the fake API can inject, and what preflight makes of it: retried
# where that is safe, "outcome unknown" where a POST may have been acted on,
# one clear line otherwise; never a second POST behind the user's back.
. "$(dirname "$0")/lib.sh"
start_fake
n=0
# fresh: a new request (new key) for each scenario; faults cleared.
fresh() {
    n=$((n + 1))
    request "fault scenario $n"
    fake clear >/dev/null
}
submits() { apistat 's["submits"]'; }
log_has() { grep -q "$1" "$TMP/api.log" || fail "the fake's log lacks $1"; ok; }

# ---- status queries: retried by the HTTP layer or the wait loop ----------
fresh
fake fault '{"on": "status", "action": "status", "code": 429, "retry_after": 1}' >/dev/null
job submit "${REQ[@]}" --json
RID=$(json_field request_id)
t0=$(date +%s%N)
job wait "$RID" -o "$TMP/a" --json --verbose
expect_status 0 "429 with Retry-After"
expect_json state completed
t1=$(date +%s%N)
[ $(( (t1 - t0) / 1000000 )) -ge 900 ] || fail "Retry-After: 1 not honoured"; ok
expect_err "retrying in 1.0 s"

for code in 500 503; do
    fresh
    fake fault "{\"on\": \"status\", \"action\": \"status\", \"code\": $code, \"times\": 2}" >/dev/null
    fake fault "{\"on\": \"result\", \"action\": \"status\", \"code\": $code}" >/dev/null
    job submit "${REQ[@]}" --json
    job wait "$(json_field request_id)" -o "$TMP/b$code" --json
    expect_status 0 "HTTP $code on status and result"
done

for action in reset_mid_body malformed; do
    fresh
    fake fault "{\"on\": \"status\", \"action\": \"$action\", \"times\": 2}" >/dev/null
    job submit "${REQ[@]}" --json
    job wait "$(json_field request_id)" -o "$TMP/c$action" --json
    expect_status 0 "$action status answers"
done

fresh
fake fault '{"on": "status", "action": "stall", "seconds": 10}' >/dev/null
fake fault '{"on": "status", "action": "delay", "seconds": 0.5}' >/dev/null
job submit "${REQ[@]}" --json
job wait "$(json_field request_id)" -o "$TMP/d" --json
expect_status 0 "a stalled, then a slow status answer"

# HTTP 200 with error_code: the API said no; said once, the job stays.
fresh
fake fault '{"on": "status", "action": "error200", "code": "internal_error", "message": "Something went wrong."}' >/dev/null
job submit "${REQ[@]}" --json
RID=$(json_field request_id)
job wait "$RID" -o "$TMP/e"
expect_status 2 "error_code with HTTP 200"
expect_one_line_err
expect_err "internal_error: Something went wrong."
expect_err "preflight wait $RID"
job wait "$RID" -o "$TMP/e"
expect_status 0 "waiting again after the error"

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
    expect_err "submit again with --force"
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

# ---- outcomes -------------------------------------------------------------
fresh
fake config '{"outcome": "failed", "reason": "Content moderation flagged the input."}' >/dev/null
job submit "${REQ[@]}" --json
RID=$(json_field request_id)
job wait "$RID" -o "$TMP/f"
expect_status 1 "failed job"
expect_err "failed: Content moderation flagged the input."
job status "$RID"
expect_status 1 "status of a failed job"
job result "$RID"
expect_status 1 "result of a failed job"
fake config '{"outcome": "completed"}' >/dev/null

# cancel: queued yes; running no (both ways the API may say it).
fresh
fake config '{"queue_polls": -1}' >/dev/null
job submit "${REQ[@]}" --json
RID=$(json_field request_id)
job cancel "$RID"
expect_status 0 "cancel a queued job"
expect_out cancelled
expect_stat "s['jobs']['$RID']['state']" cancelled
job wait "$RID"
expect_status 1 "wait for a cancelled job"
for refusal in 200 409; do
    # One status answer "in_queue", then running: preflight still believes
    # the job queued when it asks, and the API refuses.
    fresh
    fake config "{\"queue_polls\": 1, \"progress_polls\": -1, \"cancel_refusal\": \"$refusal\"}" >/dev/null
    job submit "${REQ[@]}" --json
    RID=$(json_field request_id)
    job cancel "$RID"
    expect_status 2 "not_cancellable from the API ($refusal)"
    expect_one_line_err
    expect_err "not_cancellable"
    expect_err "goes on"
    expect_stat "s['jobs']['$RID']['state']" in_progress
    # Now known to be running: said without asking.
    job status "$RID" >/dev/null
    job cancel "$RID"
    expect_status 2 "cancel a running job ($refusal)"
    expect_err "only queued jobs can be cancelled"
done
fake config '{"queue_polls": 2, "progress_polls": 2}' >/dev/null

# ---- outputs --------------------------------------------------------------
fresh
fake fault '{"on": "file", "action": "status", "code": 404}' >/dev/null
job submit "${REQ[@]}" --json
RID=$(json_field request_id)
job wait "$RID" -o "$TMP/g"
expect_status 2 "output 404"
expect_one_line_err
expect_err "404"
[ -z "$(ls -A "$TMP/g")" ] || fail "something left after a 404: $(ls -A "$TMP/g")"; ok

fresh
fake fault '{"on": "file", "action": "wrong_bytes", "file": "jpg_640x480.jpg"}' >/dev/null
job submit "${REQ[@]}" --json
RID=$(json_field request_id)
job wait "$RID" -o "$TMP/h"
expect_status 2 "wrong bytes"
expect_one_line_err
expect_err "says this output is a video, but the file is image jpeg"
[ -z "$(ls -A "$TMP/h")" ] || fail "a wrong file was kept: $(ls -A "$TMP/h")"; ok
job wait "$RID" -o "$TMP/h"
expect_status 0 "the right bytes the next time"

fresh
fake fault '{"on": "file", "action": "reset_mid_body"}' >/dev/null
fake config '{"outputs": [{"kind": "video", "file": "mp4_30fps_3s.mp4", "name": "clip.mp4"}]}' >/dev/null
job submit "${REQ[@]}" --json
job wait "$(json_field request_id)" -o "$TMP/i" --json
expect_status 0 "reset mid-download, retried"
[ "$(sha "$TMP/i/clip.mp4")" = "$(sha "$PF_FIXTURES/mp4_30fps_3s.mp4")" ] || fail "download differs"; ok
done_tests
