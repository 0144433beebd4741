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
# A 404 may be an expired link: the result is read once more for a fresh URL,
# which 404s too; said once, nothing left, no third try.
fresh
fake fault '{"on": "file", "action": "status", "code": 404, "times": 2}' >/dev/null
job submit "${REQ[@]}" --json
RID=$(json_field request_id)
files=$(apistat 's["file_requests"]')
job wait "$RID" -o "$TMP/g"
expect_status 2 "output 404"
expect_one_line_err
expect_err "404"
[ -z "$(ls -A "$TMP/g")" ] || fail "something left after a 404: $(ls -A "$TMP/g")"; ok
expect_stat 's["file_requests"]' $((files + 2))

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

# Presigned output URLs expire. Each result read here mints URLs good for
# one GET: the transfer is cut mid-body, its retry finds the URL expired
# (403 AccessDenied), and the result is read once more for a fresh one.
fake config '{"output_uses": 1}' >/dev/null
for provider in runcomfy cometapi; do
    fresh
    fake fault '{"on": "file", "action": "reset_mid_body"}' >/dev/null
    if [ $provider = runcomfy ]; then job submit "${REQ[@]}" --json
    else job submit "${COMET_REQ[@]}" --json; fi
    RID=$(json_field request_id)
    expired=$(apistat 's["expired"]')
    job wait "$RID" -o "$TMP/x$provider" --json --verbose
    expect_status 0 "$provider: an output URL that expired after its first use"
    expect_json outputs.0.path "$TMP/x$provider/clip.mp4"
    [ "$(sha "$TMP/x$provider/clip.mp4")" = "$(sha "$PF_FIXTURES/mp4_30fps_3s.mp4")" ] \
        || fail "$provider: download differs after a fresh URL"; ok
    expect_stat 's["expired"]' $((expired + 1))
    expect_err "AccessDenied: Request has expired"
    expect_err "reading its result again for fresh output URLs"
    expect_not "X-Amz-Signature"
done

# The fresh read itself fails: both reasons in one line, the job kept; the
# next wait gets its fresh URL and the file.
fresh
fake fault '{"on": "file", "action": "reset_mid_body"}' >/dev/null
fake fault '{"on": "result", "action": "status", "code": 500, "skip": 1, "times": 5}' >/dev/null
job submit "${REQ[@]}" --json
RID=$(json_field request_id)
job wait "$RID" -o "$TMP/y"
expect_status 2 "expired output URL, and the result cannot be read again"
expect_one_line_err
expect_err "AccessDenied: Request has expired (after 2 attempts); reading the job's result again for a fresh URL failed: "
expect_err "HTTP 500"
[ -z "$(ls -A "$TMP/y")" ] || fail "something left: $(ls -A "$TMP/y")"; ok
job wait "$RID" -o "$TMP/y" --json
expect_status 0 "waiting again: a fresh URL this time"
expect_json outputs.0.path "$TMP/y/clip.mp4"
fake config '{"output_uses": 0}' >/dev/null

# A kill between the output's link(2) and its ledger record: the .part and
# the final name are one file, the ledger knows no path. The next wait
# records it (no "already exists" for its own output) and removes the
# .part. Then a kill after the record, before the .part went: removed.
fresh
job submit "${REQ[@]}" --json
RID=$(json_field request_id)
JOBN=$(json_field job)
job wait "$RID" -o "$TMP/k" --json
expect_status 0 "download for the crash states"
want=$(sha "$TMP/k/clip.mp4")
ledger_sql "UPDATE outputs SET path = NULL, size = NULL, sha256 = NULL WHERE job = $JOBN" >/dev/null
ln "$TMP/k/clip.mp4" "$TMP/k/.preflight-$JOBN-0.part"
job wait "$RID" -o "$TMP/k" --json
expect_status 0 "killed after the link, before the ledger record"
expect_json outputs.0.path "$TMP/k/clip.mp4"
[ "$(sha "$TMP/k/clip.mp4")" = "$want" ] || fail "output changed"; ok
[ -z "$(ls -A "$TMP/k" | grep -v '^clip.mp4$')" ] || fail "left behind: $(ls -A "$TMP/k")"; ok
ln "$TMP/k/clip.mp4" "$TMP/k/.preflight-$JOBN-0.part"
job wait "$RID" -o "$TMP/k" --json
expect_status 0 "killed after the ledger record, before the .part was removed"
[ "$(ls -A "$TMP/k")" = "clip.mp4" ] || fail "left behind: $(ls -A "$TMP/k")"; ok
# The first download, and the recovered record.
n=$(ledger_sql "SELECT COUNT(*) FROM events WHERE job = $JOBN AND state = 'downloaded'")
[ "$n" = 2 ] || fail "downloaded events: $n, want 2"; ok

# A symlink planted under the .part name is not followed (O_NOFOLLOW):
# nothing is written through it, and the download fails with its reason.
fresh
job submit "${REQ[@]}" --json
RID=$(json_field request_id)
JOBN=$(json_field job)
mkdir -p "$TMP/s"
: >"$TMP/victim"
ln -s "$TMP/victim" "$TMP/s/.preflight-$JOBN-0.part"
job wait "$RID" -o "$TMP/s"
expect_status 2 "a symlink under the .part name"
expect_err ".preflight-$JOBN-0.part"
[ ! -s "$TMP/victim" ] || fail "wrote through the symlink"; ok
done_tests
