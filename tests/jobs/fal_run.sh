# preflight run --model fal:... end to end against the fake fal server:
# check, host the local file on fal's CDN (the default for fal models),
# submit, poll IN_QUEUE -> IN_PROGRESS -> COMPLETED under owner/app, read the
# result's file objects at any depth, download them, print the manifest
# with each output's JSON path. The same command twice pays once.
. "$(dirname "$0")/fal_lib.sh"
start_fake
fal_import
fake config '{"fetch_inputs": true}' >/dev/null
fal_request "run test"

job run "${FAL_REQ[@]}" -o "$TMP/dl"
expect_status 0 "run on fal"
expect_out "hosting local files on fal's CDN (--upload fal, the default for fal models)"
expect_out "$TMP/dl/output.mp4: video mp4"
expect_stat 's["initiates"]' 1
expect_stat 's["uploads"]' 1
expect_stat 's["submits"]' 1
expect_stat 's["bad_requests"]' '[]'
expect_stat 's["bad_paths"]' '[]'
expect_stat 's["auth_failures"]' 0
URL=$(apistat 'list(s["jobs"].values())[0]["body"]["image_url"]')
case $URL in "$BASE/cdn/"*/still.jpg) ok ;; *) fail "the request was given $URL" ;; esac
cmp -s "$TMP/dl/output.mp4" "$PF_FIXTURES/mp4_noaudio.mp4" || fail "output differs"; ok
ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$TMP/dl/output.mp4" | grep -qx h264 \
    || fail "ffprobe does not read the output as h264"; ok
# Status and result were asked under owner/app only, never the sub-path.
grep -q "\"path\": \"/fal-ai/preflight-test/requests/[0-9a-f-]*/status\"" "$TMP/api.log" \
    || fail "no owner/app status query in the log"; ok
! grep -q '"path": "/fal-ai/preflight-test/v1/image-to-video/requests' "$TMP/api.log" \
    || fail "a query used the endpoint's sub-path"; ok
# The uploaded bytes are the file's.
python3 - "$URL" "$FAL_IMG" <<'PY' || fail "the CDN does not serve the file's bytes"
import sys, urllib.request
sys.exit(urllib.request.urlopen(sys.argv[1]).read() != open(sys.argv[2], "rb").read())
PY
ok
expect_no_key

# The same command again: nothing uploaded, nothing paid, nothing fetched.
files=$(apistat 's["file_requests"]')
job run "${FAL_REQ[@]}" -o "$TMP/dl"
expect_status 0 "run again"
expect_out "already submitted, not sent again"
expect_stat 's["uploads"]' 1
expect_stat 's["submits"]' 1
expect_stat 's["file_requests"]' "$files"

# File objects at any depth, each with its JSON path; explicit --upload fal.
fal_fresh
fake config '{"outputs": [
  {"path": "images[0]", "file": "jpg_640x480.jpg", "name": "a.jpg", "content_type": "image/jpeg"},
  {"path": "images[1]", "file": "png_640x480.png", "name": "b.png", "content_type": "image/png"},
  {"path": "extra.preview.video", "file": "mp4_noaudio.mp4", "name": "p.mp4"}]}' >/dev/null
job run "${FAL_REQ[@]}" -o "$TMP/deep" --upload fal --json
expect_status 0 "outputs at any depth"
expect_json state completed
expect_json outputs.0.json_path "images[0]"
expect_json outputs.1.json_path "images[1]"
expect_json outputs.2.json_path "extra.preview.video"
expect_json outputs.0.media.format jpeg
expect_json outputs.1.media.format png
expect_json outputs.2.media.kind video
expect_json outputs.2.kind null
for f in a.jpg b.png p.mp4; do [ -s "$TMP/deep/$f" ] || fail "no $f: $(ls "$TMP/deep")"; ok; done
[ -z "$ERR" ] || fail "stderr not empty in --json mode: $ERR"; ok
RID=$(json_field request_id)
job result "$RID"
expect_status 0 "result in text"
expect_out "output 2 (images[1])  $TMP/deep/b.png: image png"
expect_out "output 3 (extra.preview.video)  $TMP/deep/p.mp4: video mp4"

# 'preflight upload --upload fal': the same hosting on its own.
run upload "$FAL_IMG" --upload fal --json
expect_status 0 "upload --upload fal"
expect_json verified true
expect_json content_type image/jpeg
expect_json served_type image/jpeg
case $(json_field get_url) in "$BASE/cdn/"*/still.jpg) ok ;; *) fail "get_url $(json_field get_url)" ;; esac
expect_no_key
printf '%s\n' "$FAKE_FAL_KEY" >"$TMP/upkey"
FAL_KEY= run upload "$FAL_IMG" --upload fal --credentials-file "$TMP/upkey"
expect_status 0 "upload --upload fal with the key from a file"
FAL_KEY= run upload "$FAL_IMG" --upload fal
expect_status 2 "upload --upload fal without a key"
expect_one_line_err
expect_err "fal: no API key to upload with"

# A file whose size is not the result's file_size is not the output.
fal_fresh
fake config '{"outputs": [{"path": "video", "file": "mp4_noaudio.mp4", "name": "short.mp4",
                           "content_type": "video/mp4", "file_size": 99}]}' >/dev/null
job run "${FAL_REQ[@]}" -o "$TMP/size"
expect_status 2 "file_size mismatch"
expect_err "but the result says the file has 99"
[ ! -e "$TMP/size/short.mp4" ] || fail "a wrong-size output was kept"; ok
ls -A "$TMP/size" | grep -q part && fail "a partial file was left: $(ls -A "$TMP/size")"; ok

# COMPLETED is not success: a failed result (422 detail) fails the job.
fal_fresh
fake config '{"outcome": "failed", "reason": "Image could not be loaded.", "outputs": [
  {"path": "video", "file": "mp4_noaudio.mp4", "name": "output.mp4", "content_type": "video/mp4"}]}' >/dev/null
job run "${FAL_REQ[@]}" -o "$TMP/fail" --json
expect_status 1 "failed result"
expect_json state failed
expect_json error.code job_failed
expect_err "image_url: Image could not be loaded. (image_load_error)"
# ... and the same when the status says it (error, error_type).
fal_fresh
fake config '{"fail_where": "status", "reason": "Out of memory on the runner."}' >/dev/null
job run "${FAL_REQ[@]}" -o "$TMP/fail2"
expect_status 1 "failed status"
expect_err "Out of memory on the runner. (image_load_error)"
# A failed job is not reused: the same request is paid again (as RunComfy).
fake config '{"outcome": "completed", "fail_where": "result"}' >/dev/null
n=$(submits)
job run "${FAL_REQ[@]}" -o "$TMP/fail2"
expect_status 0 "the failed request again"
expect_stat 's["submits"]' $((n + 1))

# A returned URL off the base URL is never called with the key.
fal_fresh
fake config '{"returned_base": "http://127.0.0.2:9"}' >/dev/null
job run "${FAL_REQ[@]}" -o "$TMP/foreign" --verbose
expect_status 0 "returned URLs elsewhere"
expect_err "ignoring a returned status_url that is not on $BASE"
expect_no_key
fake config '{"returned_base": null}' >/dev/null

# The check runs before anything is hosted or paid.
fal_fresh
up=$(apistat 's["uploads"]'); n=$(submits)
job run "${FAL_REQ[@]}" -o "$TMP/n" duration=7
expect_status 1 "check fails"
expect_out "not submitted"
expect_stat 's["uploads"]' "$up"
expect_stat 's["submits"]' "$n"

# --inline: a data URI, which fal accepts; nothing uploaded.
fal_fresh
up=$(apistat 's["uploads"]')
job run "${FAL_REQ[@]}" -o "$TMP/inline" --inline --json
expect_status 0 "run --inline on fal"
expect_stat 's["uploads"]' "$up"
expect_stat '[j["body"]["image_url"][:23] for j in s["jobs"].values() if j["body"]["prompt"] == "scenario '$FRESH_N'"][0]' \
    "data:image/jpeg;base64,"

# No key: said before anything is recorded or sent.
fal_fresh
n=$(submits)
FAL_KEY= job run "${FAL_REQ[@]}" -o "$TMP/nokey"
expect_status 2 "no key"
expect_one_line_err
expect_err "FAL_KEY"
expect_stat 's["submits"]' "$n"
# From --token-file: the job and the upload use it.
printf '%s\n' "$FAKE_FAL_KEY" >"$TMP/key"
FAL_KEY= job run "${FAL_REQ[@]}" -o "$TMP/keyfile" --token-file "$TMP/key"
expect_status 0 "--token-file"
expect_no_key
done_tests
