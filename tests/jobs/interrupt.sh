# Ctrl-C and --timeout: a queued job is cancelled (unless kept), a running
# one goes on, and the message says how to pick it up; an interrupted
# download resumes where it stopped.
. "$(dirname "$0")/lib.sh"
start_fake
bg() { "$PREFLIGHT" "$1" --state-dir "$STATE" --base-url "$BASE" "${@:2}" >"$TMP/bg.out" 2>"$TMP/bg.err" & BG=$!; }
polled() {    # RID N: the fake answered N status queries for RID
    for _ in $(seq 100); do
        [ "$(apistat "s['jobs']['$1']['polls']")" -ge "$2" ] && return 0
        sleep 0.05
    done
    fail "job $1 was not polled"
}
interrupt() {  # sends SIGINT to BG and collects it
    kill -INT "$BG"
    wait "$BG"
    STATUS=$? OUT=$(cat "$TMP/bg.out") ERR=$(cat "$TMP/bg.err")
}

# Queued: Ctrl-C cancels it.
fresh
fake config '{"queue_polls": -1}' >/dev/null
job submit "${REQ[@]}" --json
RID=$(json_field request_id)
bg wait "$RID"
polled "$RID" 2
interrupt
expect_status 2 "Ctrl-C while queued"
expect_err "still queued and is cancelled"
expect_stat "s['jobs']['$RID']['state']" cancelled
job status "$RID"
expect_out cancelled

# --keep-on-interrupt: it stays in the queue.
fresh
job submit "${REQ[@]}" --json
RID=$(json_field request_id)
bg wait "$RID" --keep-on-interrupt
polled "$RID" 2
interrupt
expect_status 2 "Ctrl-C with --keep-on-interrupt"
expect_err "goes on"
expect_err "preflight wait $RID"
expect_stat "s['jobs']['$RID']['state']" in_queue

# Running: it goes on, whatever the options.
fresh
fake config '{"queue_polls": 0, "progress_polls": -1}' >/dev/null
job submit "${REQ[@]}" --json
RID=$(json_field request_id)
cancels=$(apistat 's["cancels"]')
bg wait "$RID"
polled "$RID" 2
interrupt
expect_status 2 "Ctrl-C while running"
expect_err "in_progress and goes on"
expect_stat "s['jobs']['$RID']['state']" in_progress
expect_stat 's["cancels"]' "$cancels"

# --timeout: the job goes on and is picked up later.
fresh
fake config '{"queue_polls": -1, "progress_polls": 2}' >/dev/null
job submit "${REQ[@]}" --json
RID=$(json_field request_id)
job wait "$RID" --timeout 0.3 -o "$TMP/t"
expect_status 2 "--timeout"
expect_one_line_err
expect_err "still in_queue after 0.3 s"
expect_err "preflight wait $RID"
fake advance "{\"id\": \"$RID\", \"state\": \"completed\"}" >/dev/null
job wait "$RID" -o "$TMP/t"
expect_status 0 "waiting again after the timeout"

# Ctrl-C in the middle of a download: the next wait asks for the rest.
fresh
fake config '{"queue_polls": 0, "progress_polls": 0, "outputs": [{"kind": "video", "file": "mp4_size_15999999.mp4", "name": "big.mp4"}]}' >/dev/null
fake fault '{"on": "file", "action": "slow", "rate": 3000000}' >/dev/null
job submit "${REQ[@]}" --json
RID=$(json_field request_id)
bg wait "$RID" -o "$TMP/d"
for _ in $(seq 200); do
    ls "$TMP/d"/.preflight-*.part >/dev/null 2>&1 && [ "$(cat "$TMP"/d/.preflight-*.part | wc -c)" -gt 500000 ] && break
    sleep 0.05
done
interrupt
expect_status 2 "Ctrl-C during a download"
expect_err "resumes the download"
job wait "$RID" -o "$TMP/d"
expect_status 0 "the download resumed"
cmp -s "$TMP/d/big.mp4" "$PF_FIXTURES/mp4_size_15999999.mp4" || fail "resumed download differs"; ok
grep '"path": "/files/' "$TMP/api.log" | grep -q '"range": "bytes=[1-9][0-9]*-"' \
    || fail "no Range request after the interruption"; ok
done_tests
