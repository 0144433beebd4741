# Four workers (separate processes, state directories and output
# directories, one PostgreSQL ledger) run the same 20-request batch at once,
# each in its own order: exactly 20 POSTs, each output downloaded once in
# all, every run exits 0 and all four agree on each job. Then a worker is
# killed mid-batch and 'resume' on another carries its jobs on once its
# lease has expired, without a second POST. Prints the figures the issue
# asks for (POSTs, duplicates, time against one worker).
. "$(dirname "$0")/../jobs/lib.sh"
[ "$LEDGER" = postgresql ] || fail "workers.sh runs on PostgreSQL (PF_TEST_LEDGER=postgresql)"
start_fake
N=20
now() { date +%s.%N; }

# worker NAME PREFIX ORDER...: runs each request of the batch with 'run',
# one line per request in $TMP/NAME.jobs: "I JOB REQUEST_ID STATE".
worker() {
    local name=$1 prefix=$2 i status
    shift 2
    : >"$TMP/$name.jobs"
    for i in "$@"; do
        PREFLIGHT_WORKER=$name "$PREFLIGHT" run --state-dir "$TMP/$name/state" \
            --base-url "$BASE" --json --model "$ALEPH" --allow-http \
            "prompt=$prefix request $i" ratio=1280:720 \
            "video_url=$BASE/fixtures/mp4_h264_640x360_2s.mp4" \
            -o "$TMP/$name/out/$i" >"$TMP/$name.$i.json" 2>"$TMP/$name.$i.err"
        status=$?
        [ $status -eq 0 ] || { echo "$name: request $i exited $status: $(cat "$TMP/$name.$i.err")"; return 1; }
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[2], d["job"], d["request_id"], d["state"])' \
            "$TMP/$name.$i.json" "$i" >>"$TMP/$name.jobs" || return 1
    done
}

# ---- one worker alone, for the time to beat --------------------------------
t0=$(now)
worker solo "solo" $(seq $N) || fail "the lone worker failed"
t_one=$(python3 -c "print(round($(now) - $t0, 2))")
expect_stat 's["submits"]' $N
expect_stat 's["file_requests"]' $N

# ---- four at once, four orders ---------------------------------------------
base_files=$(apistat 's["file_requests"]')
orders=("$(seq 1 $N)" "$(seq $N -1 1)" "$(seq 6 $N; seq 1 5)" "$(seq 11 $N; seq 1 10)")
t0=$(now)
pids=()
for w in 1 2 3 4; do
    # shellcheck disable=SC2086
    worker w$w "batch" ${orders[$((w - 1))]} >"$TMP/w$w.log" 2>&1 &
    pids+=($!)
done
for w in 1 2 3 4; do
    wait "${pids[$((w - 1))]}" || fail "worker w$w failed: $(cat "$TMP/w$w.log")"
done
ok
t_four=$(python3 -c "print(round($(now) - $t0, 2))")
posts=$(( $(apistat 's["submits"]') - N ))
files=$(( $(apistat 's["file_requests"]') - base_files ))
[ "$posts" -eq $N ] || fail "$posts POSTs for $N requests"; ok
[ "$files" -eq $N ] || fail "$files output downloads for $N outputs"; ok
# All four agree on each request's job, and every job completed.
for w in 2 3 4; do
    diff <(sort -n "$TMP/w1.jobs") <(sort -n "$TMP/w$w.jobs") >/dev/null \
        || fail "workers w1 and w$w disagree: $(diff <(sort -n "$TMP/w1.jobs") <(sort -n "$TMP/w$w.jobs"))"
    ok
done
[ "$(awk '{print $3}' "$TMP/w1.jobs" | sort -u | wc -l)" -eq $N ] || fail "not $N distinct jobs"; ok
[ "$(awk '$4 != "completed"' "$TMP/w1.jobs" | wc -l)" -eq 0 ] || fail "a job did not complete"; ok
# Each output is on disk once, in the directory of the worker that fetched
# it, and the ledger says which worker that was.
on_disk=$(find "$TMP"/w[1-4]/out -type f -name '*.mp4' | wc -l)
[ "$on_disk" -eq $N ] || fail "$on_disk output files on disk for $N outputs"; ok
for f in $(find "$TMP"/w[1-4]/out -type f -name '*.mp4'); do
    [ "$(sha "$f")" = "$(sha "$PF_FIXTURES/mp4_noaudio.mp4")" ] || fail "$f differs"
done
ok
[ "$(psql_q "SELECT COUNT(*) FROM outputs o JOIN jobs j ON j.id = o.job WHERE j.body LIKE '%batch request%' AND o.worker LIKE 'w_' AND o.path IS NOT NULL")" = $N ] \
    || fail "the ledger does not record a worker for each output"; ok
dups=$(psql_q "SELECT COUNT(*) - COUNT(DISTINCT key) FROM jobs")
[ "$dups" = 0 ] || fail "$dups duplicate jobs in the ledger"; ok
echo "four workers, $N requests: $posts POSTs, $dups duplicates, $files downloads; $t_four s (one worker alone: $t_one s)"

# ---- a worker killed mid-batch; resume on another --------------------------
fake config '{"queue_polls": -1}' >/dev/null
base_posts=$(apistat 's["submits"]')
base_files=$(apistat 's["file_requests"]')
run_k() {   # I [ARGS...]: worker K's run of request I (exec: $! is preflight's pid)
    local i=$1
    shift
    PREFLIGHT_WORKER=wk PREFLIGHT_LEASE_S=10 exec "$PREFLIGHT" run --state-dir "$TMP/wk/state" --base-url "$BASE" \
        --model "$ALEPH" --allow-http "prompt=killed request $i" ratio=1280:720 \
        "video_url=$BASE/fixtures/mp4_h264_640x360_2s.mp4" -o "$TMP/wk/out/$i" "$@"
}
# (K's leases last 10 s, so that the first resume surely finds the fifth
# held however loaded the machine is.)
# Four runs give up waiting (their jobs stay queued, recorded); the fifth
# is waiting, holding its job's lease, when it is killed.
for i in 1 2 3 4; do
    (run_k $i --timeout 0.3) >/dev/null 2>"$TMP/wk.$i.err"
    [ $? -eq 2 ] || fail "run $i of the killed worker: $(cat "$TMP/wk.$i.err")"
done
ok
(run_k 5) >/dev/null 2>&1 &
K=$!
for _ in $(seq 200); do
    [ "$(psql_q "SELECT COUNT(*) FROM jobs WHERE body LIKE '%killed request 5%' AND state = 'in_queue'")" = 1 ] && break
    sleep 0.05
done
[ "$(psql_q "SELECT COUNT(*) FROM leases WHERE name LIKE 'job %' AND worker = 'wk' AND expires > clock_timestamp()")" = 1 ] \
    || fail "the waiting run holds no lease on its job"; ok
# The first four finish at the API; K is killed while its fifth is queued.
for i in 1 2 3 4; do
    fake advance "{\"id\": \"$(apistat "[k for k, v in s['jobs'].items() if v['body']['prompt'] == 'killed request $i'][0]")\", \"state\": \"completed\"}" >/dev/null
done
K5=$(apistat "[k for k, v in s['jobs'].items() if v['body']['prompt'] == 'killed request 5'][0]")
kill -9 $K
wait $K 2>/dev/null
expect_stat 's["submits"]' $((base_posts + 5))
# At once: the four free jobs are carried on; the fifth is the dead
# worker's until its lease expires.
PREFLIGHT_WORKER=wr run resume --state-dir "$TMP/wr/state" --base-url "$BASE"
expect_status 1 "resume while the killed worker's lease is live"
expect_err "held by worker wk"
expect_stat 's["file_requests"]' $((base_files + 4))
fake advance "{\"id\": \"$K5\", \"state\": \"completed\"}" >/dev/null
for _ in $(seq 200); do
    [ "$(psql_q "SELECT COUNT(*) FROM leases WHERE worker = 'wk' AND expires > clock_timestamp()")" = 0 ] && break
    sleep 0.1
done
PREFLIGHT_WORKER=wr run resume --state-dir "$TMP/wr/state" --base-url "$BASE" --json
expect_status 0 "resume once the lease has expired"
expect_json jobs.0.state completed
expect_stat 's["submits"]' $((base_posts + 5))
expect_stat 's["file_requests"]' $((base_files + 5))
for i in 1 2 3 4 5; do
    [ "$(sha "$TMP/wk/out/$i/result.mp4")" = "$(sha "$PF_FIXTURES/mp4_noaudio.mp4")" ] \
        || fail "output of killed request $i missing or different"
done
ok
[ "$(psql_q "SELECT COUNT(*) FROM outputs o JOIN jobs j ON j.id = o.job WHERE j.body LIKE '%killed request%' AND o.worker = 'wr'")" = 5 ] \
    || fail "the resuming worker is not recorded as the downloader"; ok
PREFLIGHT_WORKER=wr run resume --state-dir "$TMP/wr/state" --base-url "$BASE"
expect_status 0 "nothing left to resume"
expect_out "nothing to resume"
done_tests
