# fal models from the command line: --model fal:ENDPOINT and --schema with
# fal's own OpenAPI document, the fix of a fal model's input (verified with
# identify and ffprobe, not only preflight), and the bundled rules/fal/
# still being what tools/rules-from-fal.py makes of ../shared/schemas/fal.
. "$(dirname "$0")/../cli_lib.sh"
KLING=fal-ai/kling-video/v2.6/pro/image-to-video
O1=fal-ai/kling-video/o1/video-to-video/edit
DOCS=$PF_SOURCE_DIR/../shared/schemas/fal

ffmpeg -loglevel error -y -f lavfi -i testsrc=size=1000x2600 -frames:v 1 "$TMP/tall.jpg"
ffmpeg -loglevel error -y -f lavfi -i testsrc=size=2500x1000 -frames:v 1 "$TMP/wide.jpg"
ffmpeg -loglevel error -y -f lavfi -i testsrc=size=640x480:rate=30 -t 4 -c:v libx264 \
    -pix_fmt yuv420p "$TMP/small.mp4"

# --model fal:..., the endpoint id has dots in it
run check --model fal:$KLING prompt=hi start_image_url=@"$TMP/wide.jpg"
expect_status 0 "fal model, passing image"; expect_out PASS
run check --model fal:$KLING --json prompt=hi start_image_url=@"$TMP/tall.jpg"
expect_status 1 "fal model, 1000x2600"
expect_json model "fal:$KLING"
expect_json violations.1.rule max_aspect_ratio
expect_json violations.1.limit 2.5
expect_json violations.1.actual 2.6
expect_json violations.1.message "Max aspect ratio: 2.50"

# --schema with the document exactly as fal serves it, and a catalogue
# bundle named only by its file name
run check --schema "$DOCS/fal-ai__kling-video__v2.6__pro__image-to-video.json" --json \
    prompt=hi start_image_url=@"$TMP/tall.jpg"
expect_status 1 "--schema fal document"
expect_json model $KLING
expect_json violations.0.rule min_aspect_ratio
run check --schema "$DOCS/fal-ai__reve__edit.json" prompt=hi image_url=@"$TMP/tall.jpg"
expect_status 0 "--schema bundle-only document"
expect_out "fal-ai/reve/edit"
expect_out "not checked"
expect_out "Supports PNG, JPEG, WebP, AVIF, and HEIF formats."
# a number given for a string enum is sent as the enum's text
run check --model fal:$KLING --json prompt=hi start_image_url=@"$TMP/wide.jpg" duration:=10
expect_status 0 "string enum given a number"
expect_json request.duration 10
grep -q '"duration":"10"' "$TMP/out" || fail "duration not sent as \"10\": $OUT"; ok

# fix: the written files pass, by preflight's check and by other tools
run fix --model fal:$KLING -o "$TMP/out1" prompt=hi start_image_url=@"$TMP/tall.jpg"
expect_status 0 "fix a fal image"
[ "$(identify -format '%wx%h' "$TMP/out1/tall.jpg")" = 1000x2500 ] \
    || fail "fixed image is $(identify -format '%wx%h' "$TMP/out1/tall.jpg")"; ok
run check --model fal:$KLING prompt=hi start_image_url=@"$TMP/out1/tall.jpg"
expect_status 0 "fixed image passes"
run fix --model fal:$O1 -o "$TMP/out2" prompt=hi video_url=@"$TMP/small.mp4"
expect_status 0 "fix a fal video"
dims=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height \
       -of csv=p=0 "$TMP/out2/small.mp4")
[ "${dims%,*}" -ge 720 ] && [ "${dims#*,}" -ge 720 ] && [ "${dims%,*}" -le 2160 ] \
    || fail "fixed video is $dims"; ok
fps=$(ffprobe -v error -select_streams v:0 -show_entries stream=r_frame_rate -of csv=p=0 \
      "$TMP/out2/small.mp4")
[ "$fps" = 30/1 ] || fail "fixed video runs at $fps"; ok
run check --model fal:$O1 prompt=hi video_url=@"$TMP/out2/small.mp4"
expect_status 0 "fixed video passes"

# the bundle is the tool's output, and every document in it loads
python3 "$PF_SOURCE_DIR/tools/rules-from-fal.py" --check >"$TMP/bundle" 2>&1 \
    || fail "rules/fal differs from tools/rules-from-fal.py: $(cat "$TMP/bundle")"; ok
n=0
for f in $(cd "$PF_SOURCE_DIR/rules/fal" && find . -name '*.json' | sed 's|^\./||; s|\.json$||'); do
    run check --model "fal:$f" --json
    [ "$STATUS" -le 1 ] || fail "fal:$f does not load: $ERR"
    n=$((n + 1))
done
[ "$n" -eq 12 ] || fail "expected 12 bundled fal models, found $n"; ok
done_tests
