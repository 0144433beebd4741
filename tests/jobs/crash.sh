# kill -9 at the worst moments: between the POST and its answer being
# recorded, while polling, in the middle of a download. Running again never
# sends a second POST, and the outputs come out whole.
. "$(dirname "$0")/lib.sh"
start_fake

# until SECONDS COMMAND...: polls COMMAND every 50 ms.
until_true() {
    local n=$(( $1 * 20 ))
    shift
    for _ in $(seq "$n"); do
        "$@" && return 0
        sleep 0.05
    done
    fail "timed out waiting for: $*"
}
submitted_once() { [ "$(apistat 's["submits"]')" = 1 ]; }
part_has_bytes() {
    local f
    for f in "$1"/.preflight-*.part; do
        [ -f "$f" ] && [ "$(wc -c <"$f" 2>/dev/null || echo 0)" -gt "$2" ] && return 0
    done
    return 1
}
bg() { "$PREFLIGHT" "$1" --state-dir "$STATE" --base-url "$BASE" "${@:2}" >"$TMP/bg.out" 2>"$TMP/bg.err" & BG=$!; }

# ---- killed after the POST reached the API, before its answer was recorded
request "killed while submitting"
fake fault '{"on": "submit", "action": "hold", "seconds": 20}' >/dev/null
bg submit "${REQ[@]}"
until_true 10 submitted_once
kill -9 "$BG"
wait "$BG" 2>/dev/null
after_kill
job jobs --json
expect_json jobs.0.state submitting
job resume
expect_status 2 "resume after a kill during submission"
expect_err "outcome unknown"
expect_err "the process submitting it stopped"
expect_err "Check your RunComfy dashboard"
job submit "${REQ[@]}"
expect_status 2 "the same request again"
expect_err "outcome unknown"
expect_stat 's["submits"]' 1
job status 1
expect_status 2 "status of an outcome-unknown job"
expect_out outcome_unknown

# ---- killed while polling: resume picks it up -----------------------------
request "killed while waiting"
fake config '{"queue_polls": -1}' >/dev/null
job submit "${REQ[@]}" -o "$TMP/w" --json
RID=$(json_field request_id)
bg wait "$RID"
sleep 0.5
kill -9 "$BG"
wait "$BG" 2>/dev/null
after_kill
fake advance "{\"id\": \"$RID\", \"state\": \"completed\"}" >/dev/null
job resume --json
expect_status 0 "resume after a kill while waiting"
expect_json jobs.0.state completed
[ "$(sha "$TMP/w/result.mp4")" = "$(sha "$PF_FIXTURES/mp4_noaudio.mp4")" ] || fail "resumed output differs"; ok
fake config '{"queue_polls": 2}' >/dev/null

# ---- killed in the middle of a download: the next run resumes with Range
request "killed while downloading"
BIG=mp4_size_15999999.mp4
fake config "{\"outputs\": [{\"kind\": \"video\", \"file\": \"$BIG\", \"name\": \"big.mp4\"}]}" >/dev/null
fake fault '{"on": "file", "action": "slow", "rate": 2000000}' >/dev/null
job submit "${REQ[@]}" -o "$TMP/d" --json
RID=$(json_field request_id)
submits=$(apistat 's["submits"]')
bg wait "$RID"
until_true 20 part_has_bytes "$TMP/d" 1000000
kill -9 "$BG"
wait "$BG" 2>/dev/null
after_kill
[ ! -e "$TMP/d/big.mp4" ] || fail "a partial output got the final name"; ok
# Running the same commands again: no second POST, the rest fetched.
job submit "${REQ[@]}" -o "$TMP/d"
expect_status 0 "submit again after the kill"
expect_out "already submitted"
job wait "$RID" --json
expect_status 0 "wait again after the kill"
expect_stat 's["submits"]' "$submits"
[ "$(sha "$TMP/d/big.mp4")" = "$(sha "$PF_FIXTURES/$BIG")" ] || fail "resumed download differs"; ok
grep '"path": "/files/' "$TMP/api.log" | grep -q '"range": "bytes=[1-9][0-9]*-"' \
    || fail "the second download did not ask for the rest with Range"; ok
ls -A "$TMP/d" | grep -q '^\.preflight' && fail "temporary file left: $(ls -A "$TMP/d")"; ok

# ---- the same with 'run': killed mid-download, the same command again ------
CLIP=$TMP/clip.mp4
cp "$PF_FIXTURES/mp4_h264_640x360_2s.mp4" "$CLIP"
RUN=(--model "$ALEPH" "prompt=run killed while downloading" ratio=1280:720 "video_url=@$CLIP"
     --put-url "$BASE/uploads/clip.mp4?X-Amz-Signature=x" -o "$TMP/r")
fake fault '{"on": "file", "action": "slow", "rate": 2000000}' >/dev/null
submits=$(apistat 's["submits"]')
bg run "${RUN[@]}"
until_true 30 part_has_bytes "$TMP/r" 1000000
kill -9 "$BG"
wait "$BG" 2>/dev/null
after_kill
expect_stat 's["uploads"]' 1
job run "${RUN[@]}" --json
expect_status 0 "run again after a kill mid-download"
expect_json state completed
expect_stat 's["submits"]' $((submits + 1))
expect_stat 's["uploads"]' 1
[ "$(sha "$TMP/r/big.mp4")" = "$(sha "$PF_FIXTURES/$BIG")" ] || fail "resumed download differs"; ok
done_tests
