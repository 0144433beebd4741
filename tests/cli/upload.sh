# preflight upload against s3rver and the fault server, both started on
# 127.0.0.1 by tests/with_upload_servers.sh (this script re-runs itself
# under it). s3rver checks expiry but not SigV4 signatures: every signed URL
# is also checked by tests/sigv4-verify.js, which recomputes it with the AWS
# SDK's signer.
if [ -z "${PF_TEST_S3_PORT:-}" ]; then
    exec bash "$(dirname "$0")/../with_upload_servers.sh" --s3 -- bash "$0" "$@"
fi
. "$(dirname "$0")/../cli_lib.sh"
TESTS=$PF_SOURCE_DIR/tests
S3=http://127.0.0.1:$PF_TEST_S3_PORT
F=http://127.0.0.1:$PF_TEST_FAULT_PORT
export PREFLIGHT_RETRY_BASE_MS=20
# s3rver knows one access key, S3RVER; the secret is not checked by it, so a
# distinctive one lets the test look for it in logs.
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=pf-Secret-7f3a9c AWS_ENDPOINT_URL=$S3
unset AWS_SESSION_TOKEN AWS_REGION AWS_ENDPOINT_URL_S3

# A video-looking file of the fault server's /range/N pattern, so its URLs
# can serve as GET URLs of the same bytes.
python3 - "$TMP/clip.mp4" 3000000 <<'EOF'
import sys
n = int(sys.argv[2])
data = bytearray((i * 7 + 3) & 0xFF for i in range(n))
data[4:12] = b"ftypmp42"
open(sys.argv[1], "wb").write(data)
EOF
python3 - "$TMP/pattern.bin" 3000000 <<'EOF'
import sys
open(sys.argv[1], "wb").write(bytes((i * 7 + 3) & 0xFF for i in range(int(sys.argv[2]))))
EOF
CLIP=$TMP/clip.mp4
PAT=$TMP/pattern.bin
fault_count() {    # requests the fault server saw whose path starts with $1
    python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["path"].startswith(sys.argv[2])))' \
        "$PF_TEST_FAULT_LOG" "$1"
}

# ---- s3://: signed here, content-addressed, verified, never twice ----------
run upload "$CLIP" --upload s3://pf-test/in --json --verbose
expect_status 0 "s3 upload"
expect_json uploaded true
expect_json verified true
expect_json content_type video/mp4
sha=$(sha256sum "$CLIP" | cut -d' ' -f1)
expect_json sha256 "$sha"
expect_json key "in/$sha.mp4"
GET_URL=$(json_field get_url)
curl -sf "$GET_URL" -o "$TMP/back" || fail "GET URL does not serve the file"
cmp -s "$TMP/back" "$CLIP" || fail "GET URL serves other bytes"; ok
[ "$(node "$TESTS/sigv4-verify.js" GET "$GET_URL")" = valid ] || fail "GET URL signature invalid"; ok
# a tampered URL is caught by the SDK's signer (s3rver would not)
[ "$(node "$TESTS/sigv4-verify.js" GET "${GET_URL/in\//in\/x}")" = SignatureDoesNotMatch ] \
    || fail "tampered URL not detected"; ok
# no secret and no signature in the log
sig=${GET_URL##*X-Amz-Signature=}; sig=${sig%%&*}
[ ${#sig} -eq 64 ] || fail "no signature in $GET_URL"
case $ERR in *"$sig"*|*pf-Secret-7f3a9c*) fail "secret in --verbose log: $ERR" ;; esac; ok
case $ERR in *"PUT $S3/pf-test/in/$sha.mp4?..."*) ok ;; *) fail "no PUT logged: $ERR" ;; esac
# the HEAD's 404 is the expected "not there yet", not an error line
expect_err "upload: s3://pf-test/in/$sha.mp4 is not there yet: uploading it"
case $ERR in *"error:"*) fail "an error line for an upload that worked: $ERR" ;; *) ok ;; esac
obj=$PF_TEST_S3_DIR/pf-test/in/$sha.mp4._S3rver_object
[ -f "$obj" ] || fail "s3rver has no object"
mtime=$(stat -c %Y.%N "$obj")

# the same bytes again: nothing uploaded
run upload "$CLIP" --upload s3://pf-test/in/ --json --verbose
expect_status 0 "s3 re-upload"
expect_json skipped true
expect_json uploaded false
case $ERR in *"http: PUT"*) fail "second run sent a PUT: $ERR" ;; *) ok ;; esac
expect_err "already there with the same size: nothing uploaded"
[ "$(stat -c %Y.%N "$obj")" = "$mtime" ] || fail "object rewritten"; ok

# plain output: the URL alone on stdout; the expiry is configurable
run upload "$CLIP" --upload s3://pf-test/in --expires 600
expect_status 0 "s3 plain"
case $OUT in "$S3/pf-test/in/$sha.mp4?"*X-Amz-Expires=600*) ok ;; *) fail "stdout: $OUT" ;; esac

# wrong bucket: S3's own words, one line, exit 2
run upload "$CLIP" --upload s3://no-such-bucket/x
expect_status 2 "wrong bucket"
expect_err "NoSuchBucket: The specified bucket does not exist"
expect_one_line_err
expect_not "X-Amz-Signature"

# credentials from a file, none in the environment
( unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  printf 'AWS_ACCESS_KEY_ID=S3RVER\nAWS_SECRET_ACCESS_KEY=from-file\n' >"$TMP/creds"
  "$PREFLIGHT" upload "$PAT" --upload s3://pf-test/f --credentials-file "$TMP/creds" >"$TMP/o" 2>&1 \
      || fail "credentials file: $(cat "$TMP/o")"
  "$PREFLIGHT" upload "$PAT" --upload s3://pf-test/f >"$TMP/o" 2>&1 && fail "no credentials accepted"
  grep -q "no AWS credentials in the environment" "$TMP/o" || fail "$(cat "$TMP/o")" ) || exit 1
ok

# ---- presigned PUT and GET from the SDK, given through a file and stdin ----
node "$TESTS/presign.js" PUT pf-test put/clip.mp4 >"$TMP/put.url"
node "$TESTS/presign.js" GET pf-test put/clip.mp4 >"$TMP/get.url"
run upload "$CLIP" --put-url @"$TMP/put.url" --get-url - --json <"$TMP/get.url"
expect_status 0 "presigned PUT"
expect_json verified true
expect_json content_type null
cmp -s "$PF_TEST_S3_DIR/pf-test/put/clip.mp4._S3rver_object" "$CLIP" || fail "PUT stored other bytes"; ok
# an expired URL: refused before any byte is sent, no retry loop
node "$TESTS/presign.js" PUT pf-test put/old.mp4 60 1600000000 >"$TMP/old.url"
[ "$(node "$TESTS/sigv4-verify.js" PUT "$(cat "$TMP/old.url")")" = expired ] || fail "not expired?"; ok
run upload "$CLIP" --put-url @"$TMP/old.url"
expect_status 2 "expired PUT URL"
expect_err "the presigned URL expired at 2020-09-13T12:27:40Z"
expect_one_line_err
# a GET URL that serves other bytes is caught before anything is submitted
run upload "$CLIP" --put-url @"$TMP/put.url" --get-url "$F/range/2999999"
expect_status 2 "wrong size behind GET URL"
expect_err "serves 2999999 bytes, but the file has 3000000"

# ---- S3 presigned POST, fields as upload endpoints hand them out -----------
printf '{"url": "%s/pf-test", "fields": {"key": "post/${filename}", "success_action_status": "201"}}' \
    "$S3" >"$TMP/fields.json"
run upload "$CLIP" --post-fields "$TMP/fields.json" --json
expect_status 0 "presigned POST"
expect_json key post/clip.mp4
expect_json verified true
cmp -s "$PF_TEST_S3_DIR/pf-test/post/clip.mp4._S3rver_object" "$CLIP" || fail "POST stored other bytes"; ok
printf '{"key": "post3/a.mp4", "Key": "post3/b.mp4"}' >"$TMP/fields3.json"
run upload "$CLIP" --post-url "$S3/pf-test" --post-fields "$TMP/fields3.json"
expect_status 2 "two keys in the POST fields"
expect_err "the POST fields name the object's key twice"
printf '{"key": "post2/a.mp4"}' >"$TMP/fields2.json"
run upload "$CLIP" --post-url "$S3/pf-test" --post-fields "$TMP/fields2.json"
expect_status 0 "POST with --post-url"
expect_out "$S3/pf-test/post2/a.mp4"

# ---- faults: what is retried and what is not --------------------------------
run upload "$PAT" --put-url "$F/retry-after/cli/1" --get-url "$F/range/3000000" --verbose
expect_status 0 "429 then OK"
[ "$(fault_count /retry-after/cli)" = 2 ] || fail "429: expected 2 PUTs"; ok
expect_err "retrying in 1.0 s"
run upload "$PAT" --put-url "$F/flaky/cli/2/503" --get-url "$F/range/3000000"
expect_status 0 "503 twice then OK"
[ "$(fault_count /flaky/cli)" = 3 ] || fail "503: expected 3 PUTs"; ok
run upload "$PAT" --put-url "$F/reset/cli/1" --get-url "$F/range/3000000"
expect_status 0 "connection reset then OK"
[ "$(fault_count /reset/cli)" = 2 ] || fail "reset: expected 2 requests"; ok
run upload "$PAT" --put-url "$F/flaky/cli500/99/500" --get-url "$F/range/3000000"
expect_status 2 "500 forever"
expect_err "HTTP 500 Internal Server Error: try again (after 5 attempts)"
# 403 SignatureDoesNotMatch in the middle of the upload: said, never retried
run upload "$PAT" --put-url "$F/s3/deny-midupload?X-Amz-Signature=deadbeef01" --json
expect_status 2 "403 mid-upload"
expect_json error.code auth
expect_json ok false
expect_err "SignatureDoesNotMatch: The request signature we calculated does not match"
expect_not deadbeef01
[ "$(fault_count /s3/deny-midupload)" = 1 ] || fail "403 was retried"; ok
run upload "$PAT" --put-url "$F/s3/expired?X-Amz-Signature=deadbeef02"
expect_status 2 "403 expired"
expect_err "AccessDenied: Request has expired"
[ "$(fault_count /s3/expired)" = 1 ] || fail "expired was retried"; ok

# ---- the read-back: retried like any GET, and the type it is served as -------
# (a small video-looking file, so the fault server's PUT /ok is quick)
SMALL=$TMP/small.mp4
head -c 30000 "$CLIP" >"$SMALL"
run upload "$SMALL" --put-url "$F/ok" --get-url "$F/flaky-range/v503/2/503/30000?type=video/mp4" --json
expect_status 0 "GET URL answers 503 twice, then the file"
expect_json verified true
[ "$(fault_count /flaky-range/v503)" = 3 ] || fail "503 on the read-back: expected 3 GETs"; ok
expect_json served_type video/mp4
expect_json warning null
[ -z "$ERR" ] || fail "a warning for a URL served as video/mp4: $ERR"; ok
run upload "$SMALL" --put-url "$F/ok" --get-url "$F/flaky-range/vreset/1/reset/30000?type=video/mp4"
expect_status 0 "GET URL reset once, then the file"
[ "$(fault_count /flaky-range/vreset)" = 2 ] || fail "reset on the read-back: expected 2 GETs"; ok
run upload "$SMALL" --put-url "$F/ok" --get-url "$F/flaky-range/v404/1/404/30000"
expect_status 2 "GET URL 404: not retried"
expect_err "HTTP 404 Not Found"
[ "$(fault_count /flaky-range/v404)" = 1 ] || fail "a 404 read-back was retried"; ok
# a server that ignores Range: one byte read, the rest abandoned
run upload "$CLIP" --put-url "$F/ok" --get-url "$F/range/3000000?norange&type=video/mp4" --json --verbose
expect_status 0 "GET URL ignores Range"
expect_json verified true
case $ERR in *"-> 200, sent 0 bytes, received "[0-9]" bytes"*|*"-> 200, sent 0 bytes, received "[0-9][0-9]" bytes"*|\
             *"-> 200, sent 0 bytes, received "[0-9][0-9][0-9]" bytes"*|*"-> 200, sent 0 bytes, received "[0-9][0-9][0-9][0-9]" bytes"*|\
             *"-> 200, sent 0 bytes, received "[0-9][0-9][0-9][0-9][0-9]" bytes"*) ok ;;
    *) fail "the whole body was read back: $ERR" ;; esac
# Runway (and CometAPI's Runway-compatible API) fetches only an input served
# with its media type: a generic or wrong type is a warning, exit 0.
for served in application/octet-stream binary/octet-stream image/jpeg; do
    run upload "$SMALL" --put-url "$F/ok" --get-url "$F/range/30000?type=$served" --json
    expect_status 0 "served as $served: a warning, not an error"
    expect_json verified true
    expect_json served_type "$served"
    expect_one_line_err
    expect_err "preflight: warning: $F/range/30000?...: served as $served, not as video/mp4; Runway's API"
    expect_err "upload it with Content-Type video/mp4 (--content-type TYPE)"
    case $(json_field warning) in *"served as $served, not as video/mp4"*) ok ;;
        *) fail "JSON warning: $(json_field warning)" ;; esac
done
run upload "$SMALL" --put-url "$F/ok" --get-url "$F/range/30000?type="
expect_status 0 "served with no type"
expect_err "served without a Content-Type, not as video/mp4"

# ---- a running upload: nothing secret in /proc/PID/cmdline; Ctrl-C ----------
echo "$F/stall-upload?X-Amz-Credential=S3RVER&X-Amz-Signature=c0ffeec0ffee" >"$TMP/stall.url"
"$PREFLIGHT" upload "$PAT" --put-url @"$TMP/stall.url" --verbose 2>"$TMP/stall.err" &
pid=$!
for _ in $(seq 50); do [ "$(fault_count /stall-upload)" -ge 1 ] && break; sleep 0.1; done
tr '\0' ' ' </proc/$pid/cmdline >"$TMP/cmdline"
grep -q "upload" "$TMP/cmdline" || fail "not the upload: $(cat "$TMP/cmdline")"
grep -qF -- "--put-url @$TMP/stall.url" "$TMP/cmdline" || fail "not the @FILE upload: $(cat "$TMP/cmdline")"
grep -q -e c0ffeec0ffee -e pf-Secret "$TMP/cmdline" && fail "secret in cmdline"
ok
# The same search finds the signature when it is passed the wrong way, on
# the command line: what the @FILE form keeps out of every user's ps.
"$PREFLIGHT" upload "$PAT" --put-url "$(cat "$TMP/stall.url")" 2>"$TMP/argv.err" &
pid2=$!
for _ in $(seq 50); do [ "$(fault_count /stall-upload)" -ge 2 ] && break; sleep 0.1; done
tr '\0' ' ' </proc/$pid2/cmdline >"$TMP/cmdline2"
kill -INT $pid2; wait $pid2 || true
grep -q c0ffeec0ffee "$TMP/cmdline2" || fail "the cmdline search cannot see an argv URL: $(cat "$TMP/cmdline2")"
grep -q c0ffeec0ffee "$TMP/argv.err" && fail "signature in the error: $(cat "$TMP/argv.err")"
ok
kill -INT $pid
wait $pid; st=$?
[ $st -eq 2 ] || fail "interrupted upload exited $st"
grep -q "stall-upload?...: interrupted" "$TMP/stall.err" || fail "$(cat "$TMP/stall.err")"
grep -q c0ffeec0ffee "$TMP/stall.err" && fail "signature in the log"
ok

# ---- --inline: a data URI within the documented cap ------------------------
run upload "$PF_FIXTURES/png_640x480.png" --inline --json
expect_status 0 "inline png"
expect_json uploaded false
case $(json_field get_url) in data:image/png\;base64,iVBOR*) ok ;; *) fail "not a PNG data URI" ;; esac
head -c 4000000 /dev/zero | tr '\0' 'a' | { printf '\xff\xd8\xff\xe0'; cat; } >"$TMP/big.jpg"
run upload "$TMP/big.jpg" --inline
expect_status 2 "inline over cap"
expect_err "over the 5.00 MB limit for image/jpeg; upload it instead"

# ---- usage ------------------------------------------------------------------
run upload "$CLIP"
expect_status 2 "no mode"
run upload "$CLIP" --put-url "$F/ok" --upload s3://pf-test/x
expect_status 2 "two modes"
run upload "$CLIP" --upload s3://pf-test/x --expires 0
expect_status 2 "bad expiry"
run upload "$TMP/nope.mp4" --upload s3://pf-test/x
expect_status 2 "missing file"
expect_err "nope.mp4: No such file or directory"
run upload "$CLIP" --put-url "http://example.com/x?X-Amz-Signature=abc123"
expect_status 2 "plain http elsewhere"
expect_err "plain http is refused"
expect_not abc123
done_tests
