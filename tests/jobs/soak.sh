# Crash-and-retry soak, bounded in count and time: $PF_SOAK_ITERATIONS
# (200) runs of 'run' against the fake API, each killed with SIGKILL at a
# random moment (before, during or after the POST, while polling, in the
# middle of a download), then run again to the end. Afterwards:
#  - exactly one POST per distinct request;
#  - no job the fake API made that the ledger does not know;
#  - every output complete and verified (its bytes are the served file's,
#    and the ledger's size and SHA-256 agree), no temp or .part file left.
# Then 50 concurrent 'submit' processes over 10 distinct requests: exactly
# 10 POSTs. The figures go to stdout (and the log ctest keeps).
#
# A kill that lands after the POST reached the API and before its answer
# was recorded leaves an "outcome unknown" job, by design: no second POST
# is ever sent behind the user's back. Those requests are counted, keep
# their one POST, and are not run to completion.
. "$(dirname "$0")/lib.sh"
start_fake

N=${PF_SOAK_ITERATIONS:-200}
# Every iteration a new request by default, so that each kill meets a
# run that has work left (a rerun of a finished request only re-verifies).
DISTINCT=${PF_SOAK_DISTINCT:-$N}
# The queue and the download each take a few polls/reads, so the kills
# spread over every phase; a slowed output makes "mid-download" likely.
export PREFLIGHT_POLL_MS=5
fake config '{"queue_polls": 1, "progress_polls": 1, "outputs": [{"kind": "video", "file": "mp4_30fps_3s.mp4", "name": "clip.mp4"}]}' >/dev/null
WANT=$(sha "$PF_FIXTURES/mp4_30fps_3s.mp4")
t_start=$(date +%s%N)

soak_req() {
    SOAK=(--model "$ALEPH" --allow-http "prompt=soak request $1" ratio=1280:720
          "video_url=$BASE/fixtures/mp4_h264_640x360_2s.mp4")
}
prun() { "$PREFLIGHT" run --state-dir "$STATE" --base-url "$BASE" -o "$TMP/out/$1" "${SOAK[@]}"; }

# One unkilled run measures how long a whole run takes: the kills are
# spread uniformly over 0 .. 0.9 times that (the rerun covers the end).
soak_req calibrate
t0=$(date +%s%N)
prun calibrate >/dev/null 2>"$TMP/cal.err" || fail "calibration run: $(cat "$TMP/cal.err")"
span_ms=$(( ( $(date +%s%N) - t0 ) / 1000000 * 9 / 10 ))
[ "$span_ms" -ge 50 ] || span_ms=50
echo "# a whole run takes about $((span_ms * 10 / 9)) ms; kills land in 0..$span_ms ms"

# Where a kill left request K: no row yet, its ledger state, or
# "downloading" (completed, a .part on disk, no output recorded).
phase() {
    python3 - "$STATE/jobs.db" "soak request $1" "$TMP/out/$1" <<'PY'
import os, sys
sys.path.insert(0, os.environ["PF_JOBS_LIB"])
import ledger_q
try:
    c = ledger_q.connect(sys.argv[1])
    r = c.execute("SELECT id, state, unsent FROM jobs WHERE body LIKE ? ORDER BY id DESC LIMIT 1",
                  ('%"' + sys.argv[2] + '"%',)).fetchone()
except ledger_q.Error:
    r = None
if not r:
    print("before-the-ledger-row")
    sys.exit()
jid, state, unsent = r
done = c.execute("SELECT COUNT(*) FROM outputs WHERE job = ? AND path IS NOT NULL", (jid,)).fetchone()[0]
part = os.path.isdir(sys.argv[3]) and any(f.endswith(".part") for f in os.listdir(sys.argv[3]))
if state == "completed" and not done:
    print("downloading" if part else "completed-not-downloaded")
elif state == "completed":
    print("done")
else:
    print(state)
PY
}

# lane L: the iterations i with i % LANES == L, one line per iteration in
# $TMP/lane$L.log: "ok", "unknown K" or "fail WHY". Lanes share the
# ledger and the API, as several terminals would; a request belongs to
# one lane (DISTINCT is a multiple of LANES).
lane() {
    local L=$1 i k pid delay st
    local -A gone=()
    for ((i = L; i < N; i += LANES)); do
        k=$((i % DISTINCT))
        [ -n "${gone[$k]:-}" ] && continue
        soak_req "$k"
        # preflight itself in the background, not a subshell around it: the
        # SIGKILL must reach the process doing the work.
        "$PREFLIGHT" run --state-dir "$STATE" --base-url "$BASE" -o "$TMP/out/$k" \
            "${SOAK[@]}" >/dev/null 2>&1 &
        pid=$!
        delay=$(( RANDOM % (span_ms + 1) ))
        sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
        kill -KILL "$pid" 2>/dev/null || echo "finished-first" >>"$TMP/lane$L.log"
        wait "$pid" 2>/dev/null
        echo "phase $(phase "$k")" >>"$TMP/lane$L.log"
        prun "$k" >"$TMP/rerun$L.out" 2>"$TMP/rerun$L.err"
        st=$?
        if [ $st -eq 0 ]; then
            echo ok >>"$TMP/lane$L.log"
        elif grep -q "outcome unknown" "$TMP/rerun$L.err"; then
            gone[$k]=1
            echo "unknown $k" >>"$TMP/lane$L.log"
        else
            echo "fail iteration $i (request $k, killed at $delay ms): exit $st: $(head -c 300 "$TMP/rerun$L.err")" >>"$TMP/lane$L.log"
        fi
    done
}
LANES=${PF_SOAK_LANES:-2}
pids=()
for ((L = 0; L < LANES; L++)); do
    : >"$TMP/lane$L.log"
    lane $L &
    pids+=($!)
done
wait "${pids[@]}"
cat "$TMP"/lane*.log >"$TMP/soak.log"
if grep -q '^fail' "$TMP/soak.log"; then fail "$(grep -m3 '^fail' "$TMP/soak.log")"; fi
ok
reruns_ok=$(grep -c '^ok$' "$TMP/soak.log")
unknown=$(grep -c '^unknown' "$TMP/soak.log")
killed_done=$(grep -c '^finished-first$' "$TMP/soak.log")
phases=$(grep '^phase ' "$TMP/soak.log" | cut -d' ' -f2 | sort | uniq -c | awk '{printf "%s%s %s", sep, $1, $2; sep=", "}')
t_soak=$(( ( $(date +%s%N) - t_start ) / 1000000 ))

# One POST per distinct request (and one for the calibration run); at
# most one for a request whose outcome is unknown (killed after it was
# marked in flight, perhaps before its bytes left).
distinct=$(( N < DISTINCT ? N : DISTINCT ))
python3 - "$BASE/_fake/stats" "$distinct" $(grep '^unknown ' "$TMP/soak.log" | cut -d' ' -f2) <<'PY' || fail "POSTs per request"
import collections, json, sys, urllib.request
stats = json.load(urllib.request.urlopen(sys.argv[1]))
n, unknown = int(sys.argv[2]), {"soak request " + k for k in sys.argv[3:]}
posts = collections.Counter(j["body"].get("prompt") for j in stats["jobs"].values())
for k in range(n):
    p = "soak request %d" % k
    want = (0, 1) if p in unknown else (1,)
    assert posts[p] in want, (p, posts[p])
assert posts["soak request calibrate"] == 1
assert sum(posts.values()) == stats["submits"] == len(stats["jobs"]), (sum(posts.values()), stats["submits"])
PY
ok

# Every job the fake made is one the ledger holds: by request id, or as
# the one outcome-unknown row of its request (its id was never read).
python3 - "$STATE/jobs.db" "$BASE/_fake/stats" "$TMP/out" "$WANT" "$unknown" <<'PY' || fail "ledger check"
import hashlib, json, os, sys, urllib.request
sys.path.insert(0, os.environ["PF_JOBS_LIB"])
import ledger_q
db, stats_url, outdir, want, unknown = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
stats = json.load(urllib.request.urlopen(stats_url))
made = set(stats["jobs"])
c = ledger_q.connect(db)
known = {r[0] for r in c.execute("SELECT request_id FROM jobs WHERE request_id IS NOT NULL")}
lost = made - known
rows_unknown = c.execute("SELECT COUNT(*) FROM jobs WHERE state = 'outcome_unknown'").fetchone()[0]
assert rows_unknown == unknown, ("outcome-unknown rows", rows_unknown, unknown)
assert len(lost) <= unknown, ("jobs the ledger does not know", len(lost), unknown)
assert not (known - made), ("ledger ids the API never made", known - made)
# Every completed job: its output recorded, whole, hashed right.
done = 0
for jid, state in c.execute("SELECT id, state FROM jobs"):
    if state == "outcome_unknown":
        continue
    assert state == "completed", (jid, state)
    outs = c.execute("SELECT path, size, sha256 FROM outputs WHERE job = ?", (jid,)).fetchall()
    assert len(outs) == 1 and outs[0][0], (jid, outs)
    path, size, sha = outs[0]
    data = open(path, "rb").read()
    assert len(data) == size and hashlib.sha256(data).hexdigest() == sha == want, (jid, path)
    done += 1
left = [os.path.join(d, f) for d, _, fs in os.walk(outdir) for f in fs
        if f.startswith(".preflight") or f.endswith(".part")]
assert not left, ("left behind", left)
print("# ledger: %d jobs completed and verified, %d outcome unknown (%d of them reached the API), %d API jobs"
      % (done, rows_unknown, len(lost), len(made)))
PY
ok
ffprobe -v error -show_entries format=duration -of csv=p=0 "$TMP/out/0/clip.mp4" >/dev/null \
    || fail "ffprobe cannot read an output"; ok
echo "# kills left the request: $phases"
echo "# soak: $N runs killed at random (of them $killed_done had finished first), $reruns_ok reruns ok, $unknown outcome unknown, $distinct distinct requests, $(submits) POSTs, ${t_soak} ms"

# ---- 50 concurrent submissions over 10 distinct requests ------------------
before=$(submits)
t0=$(date +%s%N)
pids=()
for i in $(seq 0 49); do
    soak_req "concurrent $((i % 10))"
    "$PREFLIGHT" submit --state-dir "$STATE" --base-url "$BASE" --json "${SOAK[@]}" \
        >"$TMP/c$i.out" 2>"$TMP/c$i.err" &
    pids+=($!)
done
for i in $(seq 0 49); do
    wait "${pids[$i]}" || fail "concurrent submit $i failed: $(cat "$TMP/c$i.err")"
done
ok
expect_stat 's["submits"]' $((before + 10))
ids=$(for i in $(seq 0 49); do python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["request_id"])' "$TMP/c$i.out"; done | sort -u | wc -l)
[ "$ids" -eq 10 ] || fail "expected 10 request ids, got $ids"; ok
echo "# concurrent: 50 submits over 10 requests, $(( $(submits) - before )) POSTs, $(( ($(date +%s%N) - t0) / 1000000 )) ms"
done_tests
