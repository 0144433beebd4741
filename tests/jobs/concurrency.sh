# Several preflight processes on one ledger at once: the same request
# submitted by four of them is one POST; three waiting on one job download
# it once; different requests stay different jobs.
. "$(dirname "$0")/lib.sh"
start_fake

# Four at once, the first POST slowed so they all overlap it.
request "one request, four processes"
fake config '{"outputs": [{"kind": "video", "file": "mp4_30fps_3s.mp4", "name": "clip.mp4"}]}' >/dev/null
fake fault '{"on": "submit", "action": "delay", "seconds": 0.5}' >/dev/null
pids=()
for i in 1 2 3 4; do
    "$PREFLIGHT" submit --state-dir "$STATE" --base-url "$BASE" --json "${REQ[@]}" \
        >"$TMP/s$i.out" 2>"$TMP/s$i.err" &
    pids+=($!)
done
for i in 1 2 3 4; do
    wait "${pids[$((i - 1))]}" || fail "submit $i failed: $(cat "$TMP/s$i.err")"
done
ok
expect_stat 's["submits"]' 1
ids=$(for i in 1 2 3 4; do python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["request_id"])' "$TMP/s$i.out"; done | sort -u)
[ "$(printf '%s\n' "$ids" | wc -l)" -eq 1 ] || fail "different request ids: $ids"; ok
RID=$ids

# Three waiting on the same job, into the same directory.
fake fault '{"on": "file", "action": "slow", "rate": 400000}' >/dev/null
pids=()
for i in 1 2 3; do
    "$PREFLIGHT" wait --state-dir "$STATE" --base-url "$BASE" -o "$TMP/dl" "$RID" \
        >"$TMP/w$i.out" 2>"$TMP/w$i.err" &
    pids+=($!)
done
for i in 1 2 3; do
    wait "${pids[$((i - 1))]}" || fail "wait $i failed: $(cat "$TMP/w$i.err")"
done
ok
expect_stat 's["file_requests"]' 1
[ "$(ls -A "$TMP/dl")" = "clip.mp4" ] || fail "expected clip.mp4 alone: $(ls -A "$TMP/dl")"; ok
[ "$(sha "$TMP/dl/clip.mp4")" = "$(sha "$PF_FIXTURES/mp4_30fps_3s.mp4")" ] || fail "download differs"; ok

# Different requests at once: each its own job.
pids=()
for i in 1 2 3 4; do
    request "request number $i"
    "$PREFLIGHT" submit --state-dir "$STATE" --base-url "$BASE" --json "${REQ[@]}" \
        >"$TMP/d$i.out" 2>"$TMP/d$i.err" &
    pids+=($!)
done
for i in 1 2 3 4; do
    wait "${pids[$((i - 1))]}" || fail "submit $i failed: $(cat "$TMP/d$i.err")"
done
ok
expect_stat 's["submits"]' 5
job jobs --json --limit 0
[ "$(json_field jobs | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 5 ] \
    || fail "the ledger does not hold 5 jobs: $OUT"; ok
done_tests
