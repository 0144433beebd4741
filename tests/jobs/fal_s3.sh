# preflight run --model fal:... --upload s3://: the local file signed and
# uploaded to an S3 implementation (s3rver) on 127.0.0.1, fetched back by the
# fake fal server through the presigned GET URL, as fal would; fal's CDN is
# not used when another hosting is given.
if [ -z "${PF_TEST_S3_PORT:-}" ]; then
    exec bash "$(dirname "$0")/../with_upload_servers.sh" --s3 -- bash "$0" "$@"
fi
. "$(dirname "$0")/fal_lib.sh"
start_fake
fal_import
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=pf-Secret-5e1d7a \
    AWS_ENDPOINT_URL=http://127.0.0.1:$PF_TEST_S3_PORT
unset AWS_SESSION_TOKEN AWS_REGION AWS_ENDPOINT_URL_S3
fake config '{"fetch_inputs": true}' >/dev/null
fal_request "s3 test"

job run "${FAL_REQ[@]}" --upload s3://pf-test/in -o "$TMP/dl" --verbose
expect_status 0 "run --upload s3:// on fal"
expect_out "$TMP/dl/output.mp4: video mp4"
case $OUT in *"fal's CDN"*) fail "said it hosts on fal's CDN: $OUT" ;; *) ok ;; esac
expect_stat 's["submits"]' 1
expect_stat 's["initiates"]' 0
expect_stat 's["bad_requests"]' '[]'
URL=$(apistat 'list(s["jobs"].values())[0]["body"]["image_url"]')
sha=$(sha256sum "$FAL_IMG" | cut -d' ' -f1)
case $URL in
    "http://127.0.0.1:$PF_TEST_S3_PORT/pf-test/in/$sha.jpg?"*X-Amz-Signature=*) ok ;;
    *) fail "fal was given $URL" ;;
esac
SIG=${URL##*X-Amz-Signature=}
SIG=${SIG%%&*}
expect_not "$SIG"
expect_not "$AWS_SECRET_ACCESS_KEY"
expect_no_key

# Again: the ledger answers first; nothing uploaded or paid.
puts=$(find "$PF_TEST_S3_DIR" -type f | wc -l)
job run "${FAL_REQ[@]}" --upload s3://pf-test/in -o "$TMP/dl"
expect_status 0 "run again"
expect_out "already submitted, not sent again"
expect_stat 's["submits"]' 1
[ "$(find "$PF_TEST_S3_DIR" -type f | wc -l)" = "$puts" ] || fail "something was uploaded again"; ok
done_tests
