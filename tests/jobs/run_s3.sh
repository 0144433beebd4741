# preflight run --upload s3://: local files signed and uploaded to an S3
# implementation (s3rver, from tests/package.json) on 127.0.0.1, fetched back
# by the fake API through the presigned GET URL preflight made, as the real
# API would; the signature never shows in a --verbose run.
if [ -z "${PF_TEST_S3_PORT:-}" ]; then
    exec bash "$(dirname "$0")/../with_upload_servers.sh" --s3 -- bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
start_fake
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=pf-Secret-5e1d7a \
    AWS_ENDPOINT_URL=http://127.0.0.1:$PF_TEST_S3_PORT
unset AWS_SESSION_TOKEN AWS_REGION AWS_ENDPOINT_URL_S3
fake config '{"fetch_inputs": true}' >/dev/null
CLIP=$TMP/clip.mp4
cp "$PF_FIXTURES/mp4_h264_640x360_2s.mp4" "$CLIP"
RUN=(--model "$ALEPH" --allow-http "prompt=s3 test" ratio=1280:720 "video_url=@$CLIP"
     --upload s3://pf-test/in -o "$TMP/dl")

job run "${RUN[@]}" --verbose
expect_status 0 "run --upload s3://"
expect_out "$TMP/dl/result.mp4: video mp4"
expect_stat 's["submits"]' 1
expect_stat 's["bad_requests"]' '[]'
URL=$(apistat 'list(s["jobs"].values())[0]["body"]["video_url"]')
sha=$(sha256sum "$CLIP" | cut -d' ' -f1)
case $URL in
    "http://127.0.0.1:$PF_TEST_S3_PORT/pf-test/in/$sha.mp4?"*X-Amz-Signature=*) ok ;;
    *) fail "the API was given $URL" ;;
esac
SIG=${URL##*X-Amz-Signature=}
SIG=${SIG%%&*}
expect_not "$SIG"
expect_not "$AWS_SECRET_ACCESS_KEY"
cmp -s "$PF_TEST_S3_DIR/pf-test/in/$sha.mp4._S3rver_object" "$CLIP" 2>/dev/null \
    || cmp -s "$(find "$PF_TEST_S3_DIR" -name "$sha.mp4*" -type f | grep -v metadata | head -1)" "$CLIP" \
    || fail "the bucket does not hold the file"; ok

# Again: the ledger answers first, so nothing is uploaded or submitted.
puts=$(find "$PF_TEST_S3_DIR" -type f | wc -l)
job run "${RUN[@]}"
expect_status 0 "run again"
expect_out "already submitted, not sent again"
expect_stat 's["submits"]' 1
[ "$(find "$PF_TEST_S3_DIR" -type f | wc -l)" = "$puts" ] || fail "something was uploaded again"; ok
done_tests
