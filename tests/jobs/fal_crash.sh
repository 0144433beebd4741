# fal jobs under kill -9, Ctrl-C and cancel, with the RunComfy client's
# guarantees: a POST is never sent twice, resume completes what was left,
# a queued job is cancelled through fal's PUT .../cancel under owner/app.
. "$(dirname "$0")/fal_lib.sh"
start_fake
fal_import

until_true() {
    local n=$(( $1 * 20 ))
    shift
    for _ in $(seq "$n"); do
        "$@" && return 0
        sleep 0.05
    done
    fail "timed out waiting for: $*"
}
submitted_n() { [ "$(submits)" = "$1" ]; }
part_has_bytes() {
    local f
    for f in "$1"/.preflight-*.part; do
        [ -f "$f" ] && [ "$(wc -c <"$f" 2>/dev/null || echo 0)" -gt "$2" ] && return 0
    done
    return 1
}
polled() {    # RID N: the fake answered N status queries for RID
    for _ in $(seq 100); do
        [ "$(apistat "s['jobs']['$1']['polls']")" -ge "$2" ] && return 0
        sleep 0.05
    done
    fail "job $1 was not polled"
}
bg() { "$PREFLIGHT" "$1" --state-dir "$STATE" --base-url "$BASE" "${@:2}" >"$TMP/bg.out" 2>"$TMP/bg.err" & BG=$!; }
# A request with its image already a URL (submit does not host).
url_req() { UREQ=(--model "$FAL_MODEL" --allow-http "prompt=$1" "image_url=$BASE/fixtures/jpg_640x480.jpg"); }

# ---- killed while polling: resume completes it, nothing paid twice ---------
url_req "killed while waiting"
fake config '{"queue_polls": -1}' >/dev/null
job submit "${UREQ[@]}" -o "$TMP/w" --json
expect_status 0 "submit"
RID=$(json_field request_id)
bg wait "$RID"
polled "$RID" 2
kill -9 "$BG"
wait "$BG" 2>/dev/null
after_kill
fake advance "{\"id\": \"$RID\", \"state\": \"completed\"}" >/dev/null
job resume --json
expect_status 0 "resume after a kill while waiting"
expect_json jobs.0.state completed
cmp -s "$TMP/w/output.mp4" "$PF_FIXTURES/mp4_noaudio.mp4" || fail "resumed output differs"; ok
expect_stat 's["submits"]' 1
fake config '{"queue_polls": 2}' >/dev/null

# ---- killed after the POST reached fal, before its answer was recorded -----
url_req "killed while submitting"
fake fault '{"on": "submit", "action": "hold", "seconds": 20}' >/dev/null
bg submit "${UREQ[@]}"
until_true 10 submitted_n 2
kill -9 "$BG"
wait "$BG" 2>/dev/null
after_kill
job resume
expect_status 2 "resume after a kill during submission"
expect_err "outcome unknown"
expect_err "Check your fal dashboard's request history"
job submit "${UREQ[@]}"
expect_status 2 "the same request again"
expect_err "outcome unknown"
expect_stat 's["submits"]' 2
fake clear >/dev/null

# ---- run killed mid-download: the same command again resumes with Range ----
BIG=mp4_size_15999999.mp4
fake config "{\"outputs\": [{\"path\": \"video\", \"file\": \"$BIG\", \"name\": \"big.mp4\",
                             \"content_type\": \"video/mp4\"}]}" >/dev/null
fake fault '{"on": "file", "action": "slow", "rate": 2000000}' >/dev/null
fal_request "run killed while downloading"
n=$(submits)
bg run "${FAL_REQ[@]}" -o "$TMP/r"
until_true 30 part_has_bytes "$TMP/r" 1000000
kill -9 "$BG"
wait "$BG" 2>/dev/null
after_kill
[ ! -e "$TMP/r/big.mp4" ] || fail "a partial output got the final name"; ok
job run "${FAL_REQ[@]}" -o "$TMP/r" --json
expect_status 0 "run again after a kill mid-download"
expect_json state completed
expect_stat 's["submits"]' $((n + 1))
expect_stat 's["uploads"]' 1
[ "$(sha "$TMP/r/big.mp4")" = "$(sha "$PF_FIXTURES/$BIG")" ] || fail "resumed download differs"; ok
grep '"path": "/files/' "$TMP/api.log" | grep -q '"range": "bytes=[1-9][0-9]*-"' \
    || fail "the second download did not ask for the rest with Range"; ok
fake clear >/dev/null
fake config '{"outputs": [{"path": "video", "file": "mp4_noaudio.mp4", "name": "output.mp4",
                           "content_type": "video/mp4"}]}' >/dev/null

# ---- cancel: a queued job, through PUT under owner/app ----------------------
url_req "to cancel"
fake config '{"queue_polls": -1}' >/dev/null
job submit "${UREQ[@]}" --json
RID=$(json_field request_id)
job status "$RID" --json
expect_json state in_queue
json_field queue_position | grep -qx '[0-9]*' || fail "no queue position: $OUT"; ok
job cancel "$RID"
expect_status 0 "cancel a queued job"
expect_stat "s['jobs']['$RID']['state']" cancelled
expect_stat 's["cancels"]' 1
grep -q "\"method\": \"PUT\", \"path\": \"/fal-ai/preflight-test/requests/$RID/cancel\"" "$TMP/api.log" \
    || fail "no PUT .../cancel under owner/app in the log"; ok
job status "$RID"
expect_out cancelled
job cancel "$RID"
expect_status 2 "cancel again"
expect_err "already cancelled"
# fal answers ALREADY_COMPLETED: refused, said, the job is not marked cancelled.
url_req "completed before the cancel"
job submit "${UREQ[@]}" --json
RID=$(json_field request_id)
fake fault '{"on": "cancel", "action": "status", "code": 400, "body": {"status": "ALREADY_COMPLETED"}}' >/dev/null
job cancel "$RID"
expect_status 2 "ALREADY_COMPLETED"
expect_err "has already completed and cannot be cancelled (ALREADY_COMPLETED)"
job status "$RID"
expect_out in_queue

# ---- Ctrl-C while queued cancels it -----------------------------------------
url_req "ctrl-c"
job submit "${UREQ[@]}" --json
RID=$(json_field request_id)
bg wait "$RID"
polled "$RID" 2
kill -INT "$BG"
wait "$BG"
STATUS=$? OUT=$(cat "$TMP/bg.out") ERR=$(cat "$TMP/bg.err")
expect_status 2 "Ctrl-C while queued"
expect_err "still queued and is cancelled"
expect_stat "s['jobs']['$RID']['state']" cancelled
expect_no_key
done_tests
