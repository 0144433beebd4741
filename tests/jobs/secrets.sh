# No token and no presigned signature in the process list, in any line of a
# --verbose run, in an error, or in the ledger; the ledger is private.
. "$(dirname "$0")/lib.sh"
start_fake
SIGS=(putsig-7b1e9d0c2a putsig-7b1e9d0c2a getsig-51c3a8f6e4 outsig-9d2e7c4b1a inputsig-3f8a6d2c9e)
fake config '{"queue_polls": -1, "output_query": "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAFAKE%2F20261121%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=outsig-9d2e7c4b1a"}' >/dev/null
clean() {   # FILE...: none holds a token or a signature
    local f s
    for f in "$@"; do
        for s in "$FAKE_RUNCOMFY_TOKEN" "$FAKE_COMETAPI_TOKEN" "${SIGS[@]}" AKIAFAKE; do
            if grep -aqF -- "$s" "$f"; then
                fail "$f holds a secret ($s): $(grep -aF -- "$s" "$f" | head -3)"
            fi
        done
        ok
    done
}

# A verbose run with a signed input URL, a signed PUT/GET pair and signed
# output URLs; while it waits, its command line is read from /proc.
CLIP=$TMP/clip.mp4
cp "$PF_FIXTURES/mp4_h264_640x360_2s.mp4" "$CLIP"
printf '%s\n' "$BASE/uploads/clip.mp4?X-Amz-Signature=putsig-7b1e9d0c2a" >"$TMP/put"
"$PREFLIGHT" run --state-dir "$STATE" --base-url "$BASE" --verbose --model "$ALEPH" \
    --allow-http "prompt=secret test" ratio=1280:720 "video_url=@$CLIP" \
    "image_url=$BASE/fixtures/jpg_640x480.jpg?X-Amz-Signature=inputsig-3f8a6d2c9e" \
    --put-url "@$TMP/put" --get-url "$BASE/uploads/clip.mp4?X-Amz-Signature=getsig-51c3a8f6e4" \
    -o "$TMP/dl" >"$TMP/run.out" 2>"$TMP/run.err" &
PID=$!
for _ in $(seq 100); do
    [ "$(apistat 's["submits"]')" = 1 ] && break
    sleep 0.05
done
tr '\0' '\n' <"/proc/$PID/cmdline" >"$TMP/cmdline"
tr '\0' '\n' <"/proc/$PID/environ" >"$TMP/environ"
grep -q -- "--verbose" "$TMP/cmdline" || fail "did not read the right process"; ok
# The search can find what is there: the GET URL was given on the command
# line itself and shows, the PUT URL was given as @FILE and does not, and
# the token the process holds is in its environment, where it belongs.
grep -qF -- "getsig-51c3a8f6e4" "$TMP/cmdline" || fail "cmdline search finds nothing: $(cat "$TMP/cmdline")"; ok
grep -qF -- "@$TMP/put" "$TMP/cmdline" || fail "the PUT URL's @FILE is not in cmdline"; ok
grep -qF -- "putsig-7b1e9d0c2a" "$TMP/cmdline" && fail "the @FILE PUT URL is in cmdline"; ok
grep -qxF -- "RUNCOMFY_API_TOKEN=$FAKE_RUNCOMFY_TOKEN" "$TMP/environ" \
    || fail "the running process holds no token: the cmdline check below proves nothing"; ok
fake advance "{\"id\": \"$(apistat 'list(s["jobs"])[0]')\", \"state\": \"completed\"}" >/dev/null
wait "$PID" || fail "the verbose run failed: $(cat "$TMP/run.err")"
ok
grep -q "http: GET" "$TMP/run.err" || fail "--verbose logged no request"; ok
grep -q "uploads/clip.mp4?..." "$TMP/run.err" || fail "URLs are not shown redacted"; ok
# the token is in the environment, as intended, and nowhere else
for s in "$FAKE_RUNCOMFY_TOKEN" "$FAKE_COMETAPI_TOKEN"; do
    grep -aqF -- "$s" "$TMP/cmdline" && fail "token in /proc/PID/cmdline"
done
ok
clean "$TMP/run.out" "$TMP/run.err"

# The token given the wrong way, on the command line, is refused before
# anything is sent, and the refusal does not repeat it.
before=$(apistat 's["submits"]')
for opt in --token --api-key; do
    "$PREFLIGHT" submit --state-dir "$STATE" --base-url "$BASE" --model "$ALEPH" \
        "$opt" "$FAKE_RUNCOMFY_TOKEN" prompt=x "video_url=$BASE/fixtures/mp4_h264_640x360_2s.mp4" \
        >"$TMP/argv.out" 2>"$TMP/argv.err" && fail "$opt TOKEN on the command line was accepted"
    st=$?
    [ $st -eq 2 ] || fail "$opt TOKEN exited $st"
    grep -q -e "not an option" -e "unknown option" "$TMP/argv.err" || fail "$opt TOKEN: $(cat "$TMP/argv.err")"
    grep -aqF -- "$FAKE_RUNCOMFY_TOKEN" "$TMP/argv.err" "$TMP/argv.out" && fail "the refusal repeats the token"
    ok
done
[ "$(apistat 's["submits"]')" = "$before" ] || fail "a refused command line submitted"; ok

# Manifests, listings and errors of a verbose session.
RID=$(apistat 'list(s["jobs"])[0]')
for cmd in "status $RID" "result $RID" "wait $RID" "jobs" "resume"; do
    # shellcheck disable=SC2086
    job $cmd --verbose --json
    printf '%s\n%s\n' "$OUT" "$ERR" >"$TMP/cmd.txt"
    clean "$TMP/cmd.txt"
done
# Errors that involve the token: a rejected one, a malformed token file.
request "a job still queued"
job submit "${REQ[@]}" --json
RID=$(json_field request_id)
RUNCOMFY_API_TOKEN=rc-SECRET-wrong-token job status "$RID" --verbose
expect_status 2 "a rejected token"
expect_err "unauthorized"
expect_not "rc-SECRET-wrong-token"
clean "$TMP/out" "$TMP/err"
printf 'rc-SECRET-from-file with space\n' >"$TMP/badtoken"
job status "$RID" --token-file "$TMP/badtoken"
expect_status 2 "a malformed token file"
expect_err "$TMP/badtoken"
expect_not "rc-SECRET-from-file"

# An API that quotes the presigned URL it could not fetch: the signature is
# cut from the message, the job's recorded reason and the ledger.
SIGS+=(leaksig-4e8a1c7f02 leaksig-77c0a9d3e5)
request "an API that echoes URLs"
fake fault '{"on": "submit", "action": "error200", "code": "invalid_input", "message": "Could not fetch https://bucket.example/in.mp4?X-Amz-Credential=AKIAFAKE&X-Amz-Signature=leaksig-4e8a1c7f02 (HTTP 403)."}' >/dev/null
job submit "${REQ[@]}" --verbose
expect_status 2 "a refusal that quotes a signed URL"
expect_err "Could not fetch https://bucket.example/in.mp4?... (HTTP 403)."
clean "$TMP/out" "$TMP/err"
request "a failure that echoes URLs"
fake config '{"queue_polls": 0, "progress_polls": 0, "outcome": "failed", "reason": "Input https://u:p@cdn.example/a.mp4?sig=leaksig-77c0a9d3e5 expired"}' >/dev/null
job submit "${REQ[@]}" --json
RID=$(json_field request_id)
job wait "$RID" --verbose
expect_status 1 "a failure reason that quotes a signed URL"
expect_err "Input https://***@cdn.example/a.mp4?... expired"
clean "$TMP/out" "$TMP/err"
job status "$RID" --json
expect_json reason "Input https://***@cdn.example/a.mp4?... expired"
fake config '{"queue_polls": -1, "outcome": "completed"}' >/dev/null
ledger_dump "$TMP/ledger.dump"
[ -s "$TMP/ledger.dump" ] || fail "the ledger dump is empty"; ok
grep -aqF -e leaksig-4e8a1c7f02 -e leaksig-77c0a9d3e5 "$TMP/ledger.dump" \
    && fail "a quoted signature in the $LEDGER ledger"
ok

# The signed URLs of the inputs were sent, never recorded.
grep -aqF -e getsig-51c3a8f6e4 -e inputsig-3f8a6d2c9e -e putsig-7b1e9d0c2a "$TMP/ledger.dump" \
    && fail "an input's presigned signature in the $LEDGER ledger"
ok

# The ledger holds the outputs' URLs (it must, to resume) but never a token,
# and only its owner can read it.
grep -aqF -e "$FAKE_RUNCOMFY_TOKEN" -e "$FAKE_COMETAPI_TOKEN" "$TMP/ledger.dump" \
    && fail "token in the $LEDGER ledger"
ok
grep -aqF "$RID" "$TMP/ledger.dump" \
    || fail "the dump does not hold the ledger (no $RID)"; ok
if [ "$LEDGER" = sqlite ]; then
    [ "$(command stat -c %a "$STATE")" = 700 ] || fail "state directory is not 0700"; ok
    [ "$(command stat -c %a "$STATE/jobs.db")" = 600 ] || fail "ledger is not 0600"; ok
fi
done_tests
