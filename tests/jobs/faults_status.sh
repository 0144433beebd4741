# Faults on status and result queries, and what preflight makes of them:
# retried by the HTTP layer or by the wait loop, or said once, in one line,
# with the job kept for another wait. (faults_submit.sh and
# faults_outputs.sh hold the other faults, so ctest runs them side by side.)
. "$(dirname "$0")/lib.sh"
start_fake

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
done_tests
