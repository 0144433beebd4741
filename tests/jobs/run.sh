# preflight run end to end against the fake API, local files hosted through
# the fake's presigned-PUT stand-in (and fetched back by the fake, as the real
# API would): check, fix, upload, submit, wait, download, manifest; a second
# run of the same command pays and uploads nothing.
. "$(dirname "$0")/lib.sh"
start_fake
fake config '{"fetch_inputs": true}' >/dev/null
CLIP=$TMP/clip.mp4
cp "$PF_FIXTURES/mp4_h264_640x360_2s.mp4" "$CLIP"
PUT="$BASE/uploads/clip.mp4?X-Amz-Signature=putsig0123456789abcdef"
GET="$BASE/uploads/clip.mp4?X-Amz-Signature=getsig0123456789abcdef"
RUN=(--model "$ALEPH" --allow-http "prompt=run test" ratio=1280:720 "video_url=@$CLIP")

# A local file and nowhere to host it: said, nothing recorded or sent.
job run "${RUN[@]}" -o "$TMP/none"
expect_status 2 "local file without hosting"
expect_one_line_err
expect_err "is a local file and the API fetches URLs"
expect_stat 's["submits"]' 0

job run "${RUN[@]}" -o "$TMP/dl" --put-url "$PUT" --get-url "$GET" --content-type video/mp4 --json
expect_status 0 "run with --put-url"
expect_json ok true
expect_json state completed
expect_json outputs.0.path "$TMP/dl/result.mp4"
expect_json outputs.0.size "$(wc -c <"$PF_FIXTURES/mp4_noaudio.mp4")"
expect_json outputs.0.media.kind video
expect_json outputs.0.media.format mp4
[ -z "$ERR" ] || fail "stderr not empty in --json mode: $ERR"; ok
expect_stat 's["uploads"]' 1
expect_stat 's["submits"]' 1
expect_stat 's["bad_requests"]' '[]'
expect_stat 'list(s["jobs"].values())[0]["body"]["video_url"]' "$GET"
cmp -s "$TMP/dl/result.mp4" "$PF_FIXTURES/mp4_noaudio.mp4" || fail "output differs"; ok

# The same command again: nothing uploaded, nothing paid, nothing fetched.
files=$(apistat 's["file_requests"]')
job run "${RUN[@]}" -o "$TMP/dl" --put-url "$PUT" --get-url "$GET"
expect_status 0 "run again"
expect_out "already submitted, not sent again"
expect_out "$TMP/dl/result.mp4: video mp4"
expect_stat 's["uploads"]' 1
expect_stat 's["submits"]' 1
expect_stat 's["file_requests"]' "$files"

# Two local files, one URL pair: refused before anything is recorded.
job run "${RUN[@]}" "image_url=@$PF_FIXTURES/jpg_640x480.jpg" -o "$TMP/two" \
    --put-url "$PUT" --get-url "$GET"
expect_status 2 "two files, one --put-url"
expect_one_line_err
expect_err "one presigned URL pair hosts one file"
expect_stat 's["uploads"]' 1
expect_stat 's["submits"]' 1

# A request that fails its check: nothing uploaded, nothing submitted.
DREAMINA=bytedance/dreamina-3-0/pro/image-to-video
WIDE=$TMP/wide.jpg
cp "$PF_FIXTURES/jpg_1500x500.jpg" "$WIDE"
PUTI="$BASE/uploads/wide.jpg?X-Amz-Signature=putsigimage"
GETI="$BASE/uploads/wide.jpg?X-Amz-Signature=getsigimage"
job run --model "$DREAMINA" prompt=wide "image_urls=@$WIDE" -o "$TMP/wide" \
    --put-url "$PUTI" --get-url "$GETI"
expect_status 1 "check fails"
expect_out "The ratio of long side to short side must be within 3:1."
expect_out "not submitted"
expect_stat 's["uploads"]' 1
expect_stat 's["submits"]' 1

# --fix makes it comply, then the fixed file is what is uploaded.
job run --model "$DREAMINA" prompt=wide "image_urls=@$WIDE" -o "$TMP/wide" --fix \
    --put-url "$PUTI" --get-url "$GETI" --json
expect_status 0 "run --fix"
expect_json state completed
expect_stat 's["uploads"]' 2
expect_stat 's["submits"]' 2
[ -f "$TMP/wide/inputs/wide.jpg" ] || fail "no fixed input in DIR/inputs: $(ls -R "$TMP/wide")"; ok
python3 - "$BASE" <<'PY' || fail "the uploaded image is not the fixed one"
import sys, urllib.request, struct
data = urllib.request.urlopen(sys.argv[1] + "/uploads/wide.jpg").read()
i = 2
while i < len(data):                      # the JPEG's SOF: its size
    marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
    if marker in (0xC0, 0xC1, 0xC2):
        h, w = struct.unpack(">HH", data[i + 5:i + 9])
        sys.exit(0 if w / h < 3 else 1)
    i += 2 + length
sys.exit(1)
PY
ok

# CometAPI with the video inline, as a data: URI.
job run --model "$COMET" --allow-http promptText=inline model=gen4_aleph ratio=1280:720 \
    "videoUri=@$CLIP" -o "$TMP/inline" --inline --json
expect_status 0 "run --inline on CometAPI"
expect_json state completed
expect_stat '[j["body"]["videoUri"][:22] for j in s["jobs"].values() if j["provider"] == "cometapi"][0]' \
    "data:video/mp4;base64,"
# The ledger keeps what resubmission needs, not the megabytes: a file sent
# inline or hosted (above) as its path, never the data URI nor the
# presigned GET URL's signature.
ledger_sql "SELECT body FROM jobs" >"$TMP/bodies"
python3 - "$TMP/bodies" "$CLIP" <<'PY' || fail "ledger bodies"
import json, os, sys
rows = [json.loads(b) for b in open(sys.argv[1]) if b.strip()]
inline = [r for r in rows if "videoUri" in r and r.get("promptText") == "inline"][0]
assert inline["videoUri"] == {"$preflight_media": {"path": os.path.realpath(sys.argv[2])}}, inline
hosted = [r for r in rows if isinstance(r.get("video_url"), dict)]
assert hosted and all(r["video_url"]["$preflight_media"]["path"] == os.path.realpath(sys.argv[2])
                      for r in hosted), hosted
PY
ok
ledger_dump "$TMP/ledger.dump"
grep -aqF -e getsig0123456789abcdef -e "data:video/mp4;base64," "$TMP/ledger.dump" \
    && fail "a signature or a data URI in the ledger"
ok

# A job that fails: exit 1 and the manifest says why.
fake config '{"outcome": "failed", "reason": "No GPU could take the job."}' >/dev/null
job run --model "$ALEPH" "prompt=will fail" ratio=1280:720 "video_url=@$CLIP" -o "$TMP/fail" \
    --put-url "$PUT" --get-url "$GET" --json
expect_status 1 "failed job"
expect_json ok false
expect_json state failed
expect_json error.code job_failed
expect_err "No GPU could take the job."

# Sent without a type, the stand-in serves it as S3 would, binary/octet-stream:
# hosted, submitted and done, with one warning (Runway wants the media type).
fake config '{"outcome": "completed"}' >/dev/null
job run --model "$ALEPH" --allow-http "prompt=untyped" ratio=1280:720 "video_url=@$CLIP" \
    -o "$TMP/untyped" --put-url "$BASE/uploads/untyped.mp4" --json
expect_status 0 "run with an untyped upload"
expect_json state completed
expect_one_line_err
expect_err "preflight: warning: video_url: $BASE/uploads/untyped.mp4: served as binary/octet-stream, not as video/mp4"
expect_err "Content-Type video/mp4 (--content-type TYPE)"
job run --model "$ALEPH" --allow-http "prompt=untyped" ratio=1280:720 "video_url=@$CLIP" \
    -o "$TMP/untyped" --upload s3://bucket/x --content-type video/mp4
expect_status 2 "--content-type without --put-url"
expect_err "run: --content-type goes with --put-url"

# URL options as 'upload' reads them: from a file, stdin once, never twice.
job run "${RUN[@]}" -o "$TMP/urls" --put-url @"$TMP/nope.url"
expect_status 2 "--put-url from a missing file"
expect_one_line_err
expect_err "run: $TMP/nope.url: cannot read --put-url: No such file or directory"
job run "${RUN[@]}" -o "$TMP/urls" --put-url - --get-url - <<<"$PUT"
expect_status 2 "two URL options from stdin"
expect_err "run: --get-url -: only one option can read stdin"
job run "${RUN[@]}" -o "$TMP/urls" --put-url - </dev/null
expect_status 2 "--put-url - with nothing on stdin"
expect_err "run: stdin: no URL for --put-url"
job run "${RUN[@]}" -o "$TMP/urls" --put-url "$PUT" --put-url "$PUT"
expect_status 2 "--put-url twice"
expect_err "run: --put-url given twice"
# A long presigned GET URL (a session token makes kilobytes) arrives whole.
LONG="$BASE/uploads/long.mp4?X-Amz-Security-Token=$(head -c 9000 /dev/zero | tr '\0' t)&X-Amz-Signature=end"
printf '%s\n' "$LONG" >"$TMP/long.url"
job run --model "$ALEPH" --allow-http "prompt=long url" ratio=1280:720 "video_url=@$CLIP" \
    -o "$TMP/long" --put-url "$BASE/uploads/long.mp4" --get-url @"$TMP/long.url" \
    --content-type video/mp4 --json
expect_status 0 "a 9 kB GET URL from a file"
expect_stat '[j["body"]["video_url"] for j in s["jobs"].values() if j["body"].get("prompt") == "long url"][0].endswith("&X-Amz-Signature=end")' True
expect_stat 'len([j["body"]["video_url"] for j in s["jobs"].values() if j["body"].get("prompt") == "long url"][0])' "${#LONG}"
done_tests
