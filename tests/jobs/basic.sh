# Submit, status, wait, result, jobs against the fake RunComfy and CometAPI:
# request shapes the fake validates, states, downloads verified against the
# fixture, one POST per request.
. "$(dirname "$0")/lib.sh"
start_fake
request "basic test"
DL=$TMP/dl

# A request that fails its check is never sent.
job submit --model "$ALEPH" --allow-http prompt=x ratio=999:1 \
    "video_url=$BASE/fixtures/mp4_h264_640x360_2s.mp4"
expect_status 1 "failing check"
expect_out "not submitted"
expect_stat 's["submits"]' 0

# submit, then the same again: one POST.
job submit "${REQ[@]}" -o "$DL" --json
expect_status 0 submit
expect_json ok true
expect_json state in_queue
expect_json reused false
RID=$(json_field request_id)
NUM=$(json_field job)
expect_stat 's["submits"]' 1
expect_stat 's["bad_requests"]' '[]'
job submit "${REQ[@]}"
expect_status 0 "submit again"
expect_out "already submitted"
expect_out "$RID"
expect_stat 's["submits"]' 1

job status "$RID" --json
expect_status 0 status
expect_json state in_queue
expect_json queue_position 2
job status "$NUM"
expect_status 0 "status by number"
expect_out "in_queue (position 1)"

# result before it is done: not yet.
job result "$RID"
expect_status 2 "result too early"
expect_err "no result yet"

job wait "$RID" --json
expect_status 0 wait
expect_json state completed
expect_json outputs.0.kind video
expect_json outputs.0.media.kind video
expect_json outputs.0.media.width 640
FILE=$(json_field outputs.0.path)
[ "$FILE" = "$DL/result.mp4" ] || fail "downloaded to $FILE, not the recorded directory"; ok
[ "$(sha "$FILE")" = "$(sha "$PF_FIXTURES/mp4_noaudio.mp4")" ] || fail "download differs"; ok
[ "$(json_field outputs.0.sha256)" = "$(sha "$FILE")" ] || fail "sha256 in manifest"; ok
ls -A "$DL" | grep -q '^\.preflight' && fail "temporary file left in $DL"; ok

# waiting again downloads nothing and changes nothing.
before=$(apistat 's["file_requests"]')
job wait "$RID"
expect_status 0 "wait again"
expect_out "$DL/result.mp4"
expect_stat 's["file_requests"]' "$before"

job result "$RID" --json
expect_status 0 result
expect_json outputs.0.path "$DL/result.mp4"

job jobs --json
expect_status 0 jobs
expect_json jobs.0.request_id "$RID"
job jobs
expect_out "completed"
job resume
expect_status 0 "resume with nothing to do"
expect_out "nothing to resume"

# --force pays again, on purpose.
job submit "${REQ[@]}" --force --json
expect_status 0 "submit --force"
expect_stat 's["submits"]' 2
[ "$(json_field request_id)" != "$RID" ] || fail "--force reused the job"; ok

# Output into a directory with the same name: refused, nothing replaced.
mkdir -p "$TMP/other"
cp "$PF_FIXTURES/jpg_640x480.jpg" "$TMP/other/result.mp4"
job wait "$(json_field request_id)" -o "$TMP/other"
expect_status 2 "existing file"
expect_err "already exists"
cmp -s "$PF_FIXTURES/jpg_640x480.jpg" "$TMP/other/result.mp4" || fail "file replaced"; ok
job wait "$(apistat 'list(s["jobs"])[1]')" -o "$TMP/other" --force
expect_status 0 "wait --force"

# CometAPI, Runway's bare shape and CometAPI's envelope, a task that is
# briefly unknown after creation.
job submit "${COMET_REQ[@]}" --json
expect_status 0 "comet submit"
CID=$(json_field request_id)
job wait "$CID" -o "$TMP/comet" --json
expect_status 0 "comet wait"
expect_json outputs.0.media.kind video
fake config '{"comet_shape": "envelope", "comet_not_exist": 2}' >/dev/null
request "envelope"
job submit "${COMET_REQ[@]}" --json
expect_status 0 "comet submit 2"
job wait "$(json_field request_id)" -o "$TMP/comet2" --json
expect_status 0 "comet envelope wait"
expect_json state completed
expect_stat 's["bad_requests"]' '[]'
expect_stat 's["auth_failures"]' 0

# Several outputs, images and videos, with clashing names.
fake config '{"comet_shape": "bare", "outputs": [{"kind": "video", "file": "mp4_noaudio.mp4", "name": "out.mp4"}, {"kind": "video", "file": "webm_vp9.webm", "name": "out.mp4"}, {"kind": "image", "file": "png_640x480.png", "name": "..%2F..%2Fescape"}]}' >/dev/null
request "three outputs"
job submit "${REQ[@]}" --json
job wait "$(json_field request_id)" -o "$TMP/many" --json
expect_status 0 "three outputs"
# RunComfy's order: output.image, .video, .images, .videos (a URL once).
expect_json outputs.0.path "$TMP/many/_.._escape.png"
expect_json outputs.1.path "$TMP/many/out.mp4"
expect_json outputs.2.path "$TMP/many/out-3.mp4"
expect_json outputs.2.media.codec vp9
[ "$(ls "$TMP/many" | wc -l)" -eq 3 ] || fail "expected 3 files: $(ls -A "$TMP/many")"; ok
ls "$TMP" | grep -q escape && fail "a name escaped the directory"; ok
done_tests
