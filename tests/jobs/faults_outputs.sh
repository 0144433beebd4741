# Failed and cancelled jobs, cancel refused while running, and outputs that
# 404, serve the wrong bytes or break off mid-body.
. "$(dirname "$0")/lib.sh"
start_fake

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
