# preflight fix from the command line: every output is checked again by the
# engine and independently by ffprobe; originals keep their sha256; nothing
# temporary is ever left behind, and a failure leaves no file at all.
. "$(dirname "$0")/../cli_lib.sh"
F=$PF_FIXTURES C=$PF_CORRUPT
ALEPH=runwayml/runway-aleph/video-to-video
DREAMINA=bytedance/dreamina-3-0/pro/image-to-video
GEN3=runwayml/runway-gen-3-alpha/turbo/image-to-video
command -v ffprobe >/dev/null || fail "ffprobe is needed for the independent check"

# ffprobe's view: "codec,width,height"
probe() {
    ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width,height \
        -of csv=p=0 "$1"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
no_temporaries() {
    if ls -A "$1" 2>/dev/null | grep -q '^\.preflight'; then
        fail "temporary file left in $1: $(ls -A "$1")"
    fi
    ok
}
# holds MATH: an awk condition on W, H and BYTES of the last output
holds() {
    awk -v W="$W" -v H="$H" -v BYTES="$BYTES" "BEGIN { exit !($1) }" \
        || fail "$OUTFILE ($W×$H, $BYTES bytes) breaks: $1"
    ok
}

# The first change of the JSON on stdout as shell variables (one python run
# instead of one per field): C_STATUS C_OUTPUT C_FORMAT C_WIDTH C_HEIGHT
# C_SIZE C_WARNING, plus J_OK; the request goes to $TMP/request.json.
read_change() {
    eval "$(python3 - "$TMP/out" "$TMP/request.json" <<'PY'
import json, shlex, sys
doc = json.load(open(sys.argv[1]))
assert isinstance(doc, dict)
json.dump(doc["request"], open(sys.argv[2], "w"))
c = doc["changes"][0]
print("J_OK=" + shlex.quote(str(doc["ok"]).lower()))
for k in ("status", "output", "format", "width", "height", "file_size", "warning"):
    print("C_%s=%s" % (k.upper(), shlex.quote("" if c.get(k) is None else str(c[k]))))
PY
)" || fail "stdout is not the fix JSON: $OUT"
}

# fix_ok MODEL FIELD SOURCE [ARGS...]: fixes one file into a fresh directory
# and checks every promise; sets OUTFILE, W, H (from ffprobe) and BYTES.
fix_ok() {
    local model=$1 field=$2 src=$3 prompt=prompt before seen codec
    shift 3
    [ "$model" = "$GEN3" ] && prompt=promptText
    OUTDIR=$TMP/out.$((n = ${n:-0} + 1))
    before=$(sha "$src")
    run fix --model "$model" --json -o "$OUTDIR" "$prompt=hi" "$field=@$src" "$@"
    expect_status 0 "fix $src"
    [ -z "$ERR" ] || fail "stderr not empty in --json mode: $ERR"; ok
    read_change
    [ "$J_OK" = true ] && [ "$C_STATUS" = done ] || fail "not done: $OUT"; ok
    OUTFILE=$C_OUTPUT
    [ -f "$OUTFILE" ] || fail "no file $OUTFILE"; ok
    [ "$(sha "$src")" = "$before" ] || fail "the original $src changed"; ok
    [ "$(ls -A "$OUTDIR" | wc -l)" -eq 1 ] || fail "expected one file in $OUTDIR: $(ls -A "$OUTDIR")"; ok
    no_temporaries "$OUTDIR"
    # the request it prints passes a fresh check
    "$PREFLIGHT" check --model "$model" --input "$TMP/request.json" >"$TMP/check" 2>&1 \
        || fail "the fixed request does not pass: $(cat "$TMP/check")"
    ok
    # ffprobe agrees with what preflight says it wrote
    seen=$(probe "$OUTFILE")
    codec=$(echo "$C_FORMAT" | sed 's/^jpeg$/mjpeg/; s/^mp4$/h264/; s/^mov$/h264/')
    [ "$seen" = "$codec,$C_WIDTH,$C_HEIGHT" ] \
        || fail "ffprobe sees $seen; preflight reported ${C_WIDTH}×$C_HEIGHT $codec"
    ok
    W=$(echo "$seen" | cut -d, -f2) H=$(echo "$seen" | cut -d, -f3)
    BYTES=$(stat -c %s "$OUTFILE")
    [ "$BYTES" = "$C_FILE_SIZE" ] || fail "size differs: $BYTES vs $C_FILE_SIZE"; ok
}

# Dreamina: 4096 at most, shortest side over 320, ratio within (0.33, 3),
# under 4.7 MB, JPEG or PNG.
fix_ok $DREAMINA image_urls "$F/jpg_1500x500.jpg"
holds "W / H < 3 && W >= 1499"
fix_ok $DREAMINA image_urls "$F/jpg_1500x500.jpg" --fit pad --pad-color ffffff
holds "W / H < 3 && W == 1500"
fix_ok $DREAMINA image_urls "$F/jpg_330x1000.jpg"
holds "W / H > 0.33"
fix_ok $DREAMINA image_urls "$F/jpg_4097x2000.jpg"
holds "W <= 4096 && H <= 4096 && W == 4096"
fix_ok $DREAMINA image_urls "$F/jpg_320x480.jpg"
holds "W > 320 && H > 320"
case "$C_WARNING" in *enlarged*) ok ;; *) fail "no enlargement warning" ;; esac
fix_ok $DREAMINA image_urls "$F/jpg_size_4700000.jpg"
holds "BYTES < 4700000 && W == 640 && H == 480"
fix_ok $DREAMINA image_urls "$F/img.webp"
case "$OUTFILE" in *.jpg) ok ;; *) fail "webp not made a .jpg: $OUTFILE" ;; esac
holds "W > 320 && H > 320"
fix_ok $DREAMINA image_urls "$F/img.tiff"

# Gen-3: under 8000, ratio within (0.5, 2), and the default ratio 1280:768.
fix_ok $GEN3 promptImage "$F/jpg_8000x4000.jpg"
holds "W < 8000 && W / H < 2 && W * 3 == H * 5"
fix_ok $GEN3 promptImage "$F/jpg_8000x4000.jpg" --fit none
holds "W < 8000 && W / H < 2 && H == 4000"
fix_ok $GEN3 promptImage "$F/png_8000x4000.png" --fit pad --pad-color blur
holds "W < 8000 && H < 8000 && W * 3 == H * 5"
# EXIF orientation 6 baked into the pixels: portrait, no Exif left
fix_ok $GEN3 promptImage "$F/jpg_exif6_4000x3000.jpg" ratio=768:1280
holds "W == 2400 && H == 4000"
if grep -q 'Exif' "$OUTFILE"; then fail "EXIF left in $OUTFILE"; fi; ok
if ffprobe -v error -show_frames "$OUTFILE" | grep -qi orientation; then
    fail "ffprobe still sees an orientation in $OUTFILE"
fi
ok
# png_rgba.png is opaque everywhere: a JPEG is the right answer
fix_ok $GEN3 promptImage "$F/png_rgba.png"
[ "$(probe "$OUTFILE" | cut -d, -f1)" = mjpeg ] || fail "opaque PNG not made a JPEG"; ok
# real transparency stays, in a PNG
ffmpeg -v error -f lavfi -i "color=c=red@0.4:s=960x300,format=rgba" -frames:v 1 \
    "$TMP/logo.png" || fail "ffmpeg could not make a transparent PNG"
fix_ok $DREAMINA image_urls "$TMP/logo.png"
[ "$(ffprobe -v error -show_entries stream=pix_fmt -of csv=p=0 "$OUTFILE")" = rgba ] \
    || fail "transparency lost in $OUTFILE"
ok
holds "W / H < 3 && H > 320"

# text output: the change, where it went, the request, the verdict
run fix --model $DREAMINA -o "$TMP/text" prompt=hi image_urls=@$F/jpg_1500x500.jpg
expect_status 0 text
expect_out "1500×500 JPEG"; expect_out "→ 1499×500 JPEG q="; expect_out "$TMP/text/jpg_1500x500.jpg"
expect_out 'request: {"prompt":"hi","image_urls":["'; expect_out PASS

# nothing to fix: exit 0, nothing written, not even the directory
run fix --model $DREAMINA -o "$TMP/none" prompt=hi image_urls=@$F/jpg_640x480.jpg
expect_status 0 nothing; expect_out "nothing to fix"
[ ! -e "$TMP/none" ] || fail "a directory was made for nothing"; ok

# --dry-run: the plan, and nothing written
run fix --model $GEN3 --dry-run -o "$TMP/dry" promptText=hi promptImage=@$F/jpg_8000x4000.jpg
expect_status 0 dry-run; expect_out "would write"; expect_out "6665×3999"
[ ! -e "$TMP/dry" ] || fail "--dry-run wrote $TMP/dry"; ok
run fix --model $GEN3 --dry-run --json -o "$TMP/dry" promptText=hi promptImage=@$F/jpg_8000x4000.jpg
expect_json dry_run true; expect_json changes.0.status planned
[ ! -e "$TMP/dry" ] || fail "--dry-run wrote $TMP/dry"; ok

# the source in the output directory under the output's name: never replaced
mkdir "$TMP/same"; cp "$F/jpg_1500x500.jpg" "$TMP/same/"
before=$(sha "$TMP/same/jpg_1500x500.jpg")
run fix --model $DREAMINA --json -o "$TMP/same" prompt=hi image_urls=@$TMP/same/jpg_1500x500.jpg
expect_status 0 same-dir
expect_json changes.0.output "$TMP/same/jpg_1500x500-1.jpg"
[ "$(sha "$TMP/same/jpg_1500x500.jpg")" = "$before" ] || fail "original replaced"; ok

# failures: exit 2 for what cannot be read, one line naming the file, nothing left
for bad in truncated.jpg truncated.png garbage.png huge_65000.jpg huge_100000.png; do
    run fix --model $DREAMINA -o "$TMP/bad" prompt=hi image_urls=@$C/$bad
    expect_status 2 "$bad"; expect_err "$C/$bad"; expect_one_line_err
    [ -z "$(ls -A "$TMP/bad" 2>/dev/null)" ] || fail "$bad left $(ls -A "$TMP/bad")"; ok
done
run fix --model $DREAMINA -o "$TMP/bad" prompt=hi image_urls=@$C/huge_65000.jpg
expect_err "pixels"
run fix --model $DREAMINA -o "$TMP/bad" --max-pixels 1000000 prompt=hi image_urls=@$F/jpg_4097x2000.jpg
expect_status 2 max-pixels; expect_err "1000000 pixels"
[ -z "$(ls -A "$TMP/bad" 2>/dev/null)" ] || fail "--max-pixels left $(ls -A "$TMP/bad")"; ok
run fix --model $DREAMINA --json -o "$TMP/bad" prompt=hi image_urls=@$C/truncated.jpg
expect_status 2 json-corrupt; expect_json ok false
expect_json changes.0.error.code corrupt
# exit 1 for what cannot be made to comply
run fix --model $GEN3 -o "$TMP/bad" promptText=hi promptImage=@$F/mp4_noaudio.mp4
expect_status 1 video-for-image; expect_err "takes an image, not a video"
[ -z "$(ls -A "$TMP/bad" 2>/dev/null)" ] || fail "video fix left $(ls -A "$TMP/bad")"; ok

# ---- video ----
# ffprobe's view of a video stream: "codec,profile,pix_fmt,width,height"
vprobe() {
    ffprobe -v error -select_streams "$2" -show_entries \
        stream=codec_name,profile,pix_fmt,width,height -of csv=p=0 "$1"
}
# the index (moov) before the media data (mdat)
faststart() {
    python3 - "$1" <<'PY' || fail "$1: index not at the front"
import struct, sys
data = open(sys.argv[1], "rb").read()
pos, order = 0, []
while pos + 8 <= len(data):
    size, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if size == 1:
        size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
    order.append(kind)
    if size < 8:
        break
    pos += size
sys.exit(0 if b"moov" in order and b"mdat" in order and order.index(b"moov") < order.index(b"mdat") else 1)
PY
    ok
}
schema() {
    printf '{"preflight_rules":1,"model":"test/video","media":{"video":"video"},"input_schema":{"type":"object","properties":{"video":{"type":"string","validations":[%s]}}}}' \
        "$1" > "$TMP/schema.json"
}

# Aleph: under 16 MB and framed by the ratio (here the clip is 16:9 already)
fix_ok $ALEPH video_url "$F/mp4_size_16000000.mp4" ratio=1280:720
[ "$(vprobe "$OUTFILE" v:0)" = "h264,High,640,360,yuv420p" ] || fail "video stream: $(vprobe "$OUTFILE" v:0)"; ok
[ "$(ffprobe -v error -select_streams a:0 -show_entries stream=codec_name -of csv=p=0 "$OUTFILE")" = aac ] \
    || fail "no AAC in $OUTFILE"; ok
faststart "$OUTFILE"
holds "BYTES < 16000000"
case "$OUTFILE" in *.mp4) ok ;; *) fail "not an .mp4: $OUTFILE" ;; esac
# a phone's portrait clip for a 1280:720 render, cropped; the bundled example
fix_ok $ALEPH video_url "$F/mp4_vertical_720x1280.mp4" ratio=1280:720
[ "$(vprobe "$OUTFILE" v:0)" = "h264,High,720,404,yuv420p" ] || fail "crop: $(vprobe "$OUTFILE" v:0)"; ok
fix_ok $ALEPH video_url "$PF_SOURCE_DIR/examples/phone-clip.mp4" ratio=1280:720 --fit pad
[ "$(vprobe "$OUTFILE" v:0)" = "h264,High,1280,720,yuv420p" ] || fail "pad: $(vprobe "$OUTFILE" v:0)"; ok
# index at the end, streams fine: copied, packets untouched
fix_ok $ALEPH video_url "$F/mp4_moov_end.mp4" ratio=1280:720
expect_json changes.0.remuxed true; expect_json changes.0.encodes 0
faststart "$OUTFILE"
[ "$(ffprobe -v error -select_streams v:0 -show_entries packet=size -of csv=p=0 "$OUTFILE" | md5sum)" = \
  "$(ffprobe -v error -select_streams v:0 -show_entries packet=size -of csv=p=0 "$F/mp4_moov_end.mp4" | md5sum)" ] \
    || fail "the remux changed the video packets"
ok
# frame rate and duration rules, judged by ffprobe
schema '{"validation_rule":"fps<=","validation_value":24},{"validation_rule":"duration_seconds<=","validation_value":2}'
run fix --schema "$TMP/schema.json" --json -o "$TMP/v1" video=@$F/mp4_30fps_3s.mp4
expect_status 0 fps-duration
read_change
[ "$(ffprobe -v error -select_streams v:0 -show_entries stream=r_frame_rate,nb_frames -of csv=p=0 "$C_OUTPUT")" = "24/1,48" ] \
    || fail "not 48 frames at 24 fps: $(ffprobe -v error -select_streams v:0 -show_entries stream=r_frame_rate,nb_frames -of csv=p=0 "$C_OUTPUT")"
ok
# --max-duration trims what breaks no rule
run fix --model $ALEPH --json -o "$TMP/v2" --max-duration 1 prompt=hi video_url=@$F/mp4_h264_640x360_2s.mp4 ratio=1280:720
expect_status 0 max-duration
read_change
d=$(ffprobe -v error -select_streams v:0 -show_entries stream=duration -of csv=p=0 "$C_OUTPUT")
awk -v d="$d" 'BEGIN { exit !(d > 0.95 && d <= 1.0) }' || fail "--max-duration 1 gave $d s"; ok
run fix --model $ALEPH -o "$TMP/u" --max-duration soon prompt=hi
expect_status 2 bad-max-duration; expect_err "--max-duration"; expect_one_line_err
# cannot be made to comply: exit 1, one line naming the file, nothing left
schema '{"validation_rule":"duration_seconds>","validation_value":5}'
before=$(sha "$F/mp4_noaudio.mp4")
run fix --schema "$TMP/schema.json" -o "$TMP/v3" video=@$F/mp4_noaudio.mp4
expect_status 1 too-short; expect_err "$F/mp4_noaudio.mp4"; expect_err "cannot be made longer"
expect_one_line_err
[ -z "$(ls -A "$TMP/v3" 2>/dev/null)" ] || fail "too-short left $(ls -A "$TMP/v3")"; ok
[ "$(sha "$F/mp4_noaudio.mp4")" = "$before" ] || fail "the original changed"; ok
# unreadable: exit 2
run fix --model $ALEPH -o "$TMP/v4" prompt=hi video_url=@$C/truncated.mp4
expect_status 2 truncated-video; expect_err "$C/truncated.mp4"; expect_one_line_err
[ -z "$(ls -A "$TMP/v4" 2>/dev/null)" ] || fail "truncated left $(ls -A "$TMP/v4")"; ok

# Ctrl-C during an encode: exit 130, the partial file removed, the original kept.
# (Padded to 9:16 with a blurred fill, the 10 s clip takes seconds to encode.)
SLOW="ratio=720:1280 --fit pad --pad-color blur"
before=$(sha "$F/mp4_10s.mp4")
"$PREFLIGHT" fix --model $ALEPH -o "$TMP/int" prompt=hi video_url=@$F/mp4_10s.mp4 $SLOW \
    >"$TMP/out" 2>"$TMP/err" &
pid=$!
for _ in $(seq 200); do
    ls -A "$TMP/int" 2>/dev/null | grep -q '^\.preflight' && break
    sleep 0.05
done
ls -A "$TMP/int" 2>/dev/null | grep -q '^\.preflight' || fail "no encode seen running"
sleep 0.3
kill -INT $pid
wait $pid
STATUS=$?
ERR=$(cat "$TMP/err")
expect_status 130 sigint; expect_err "interrupted"; expect_one_line_err
[ -z "$(ls -A "$TMP/int" 2>/dev/null)" ] || fail "an interrupted fix left $(ls -A "$TMP/int")"; ok
[ "$(sha "$F/mp4_10s.mp4")" = "$before" ] || fail "the original changed"; ok

# A full disk on the video path: a file size limit (RLIMIT_FSIZE, SIGXFSZ
# ignored as a shell's trap leaves it) makes libavformat's writes fail
# with EFBIG as a full disk fails them with ENOSPC: no_space, exit 2, the
# partial file removed, the original kept.
( trap '' XFSZ; ulimit -f 64
  exec "$PREFLIGHT" fix --json --model $ALEPH -o "$TMP/fsz" prompt=hi \
      video_url=@$F/mp4_10s.mp4 ratio=720:1280 ) >"$TMP/out" 2>"$TMP/err"
STATUS=$? OUT=$(cat "$TMP/out") ERR=$(cat "$TMP/err")
expect_status 2 "video fix on a full disk"
expect_json changes.0.error.code no_space
expect_err "cannot write: no space: the file size limit (ulimit -f) is reached"
expect_one_line_err
[ -z "$(ls -A "$TMP/fsz" 2>/dev/null)" ] || fail "a full disk left $(ls -A "$TMP/fsz")"; ok
[ "$(sha "$F/mp4_10s.mp4")" = "$before" ] || fail "the original changed"; ok

# SIGTERM (a kill, a service stop) the same way, with 143 (128 + SIGTERM).
"$PREFLIGHT" fix --model $ALEPH -o "$TMP/term" prompt=hi video_url=@$F/mp4_10s.mp4 $SLOW \
    >"$TMP/out" 2>"$TMP/err" &
pid=$!
for _ in $(seq 200); do
    ls -A "$TMP/term" 2>/dev/null | grep -q '^\.preflight' && break
    sleep 0.05
done
ls -A "$TMP/term" 2>/dev/null | grep -q '^\.preflight' || fail "no encode seen running"
sleep 0.3
kill -TERM $pid
wait $pid
STATUS=$?
ERR=$(cat "$TMP/err")
expect_status 143 sigterm; expect_err "interrupted"; expect_one_line_err
[ -z "$(ls -A "$TMP/term" 2>/dev/null)" ] || fail "a terminated fix left $(ls -A "$TMP/term")"; ok
[ "$(sha "$F/mp4_10s.mp4")" = "$before" ] || fail "the original changed"; ok

# progress on a terminal (script gives one), never with --json
if command -v script >/dev/null; then
    # (4 s of the slow case: long enough for the first redraw after a second)
    script -qec "'$PREFLIGHT' fix --model $ALEPH -o '$TMP/p1' prompt=hi video_url=@$F/mp4_10s.mp4 $SLOW --max-duration 4 >/dev/null" \
        /dev/null >"$TMP/tty" 2>&1 || fail "fix under a terminal failed: $(cat "$TMP/tty")"
    grep -q 'frame [0-9]*/120 *[0-9]*%' "$TMP/tty" || fail "no progress on the terminal: $(cat -v "$TMP/tty")"; ok
    grep -q 'real time.*ETA' "$TMP/tty" || fail "no speed or ETA in the progress: $(cat -v "$TMP/tty")"; ok
    script -qec "'$PREFLIGHT' fix --json --model $ALEPH -o '$TMP/p2' prompt=hi video_url=@$F/mp4_10s.mp4 $SLOW --max-duration 4 2>&1 >/dev/null" \
        /dev/null >"$TMP/tty" 2>&1 || fail "fix --json under a terminal failed"
    [ ! -s "$TMP/tty" ] || fail "stderr not empty with --json: $(cat -v "$TMP/tty")"; ok
fi

# usage errors: exit 2, one line
run fix --model $DREAMINA prompt=hi image_urls=@$F/jpg_1500x500.jpg
expect_status 2 no-outdir; expect_err "-o DIR"; expect_one_line_err
run fix --model $DREAMINA -o "$TMP/u" --fit squash prompt=hi
expect_status 2 bad-fit; expect_err "--fit"
run fix --model $DREAMINA -o "$TMP/u" --pad-color purple prompt=hi
expect_status 2 bad-pad; expect_err "--pad-color"
run fix --model $DREAMINA -o "$TMP/u" --max-pixels lots prompt=hi
expect_status 2 bad-max-pixels; expect_err "--max-pixels"
run fix -o "$TMP/u" prompt=hi; expect_status 2 no-model; expect_err "--model"
[ ! -e "$TMP/u" ] || fail "a usage error made $TMP/u"; ok
done_tests
