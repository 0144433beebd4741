# preflight probe: many files, in order, JSON lines, errors per file.
. "$(dirname "$0")/../cli_lib.sh"
F=$PF_FIXTURES C=$PF_CORRUPT

run probe --json $F/jpg_640x480.jpg $F/mp4_rot90.mp4 $C/text.jpg $F/png_rgba.png
expect_status 2 mixed
[ "$(printf '%s\n' "$OUT" | wc -l)" -eq 4 ] || fail "expected 4 lines: $OUT"; ok
python3 - "$TMP/out" "$F" "$C" <<'PY' || fail "probe lines wrong: $OUT"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
f, c = sys.argv[2], sys.argv[3]
assert [l["file"] for l in lines] == [f + "/jpg_640x480.jpg", f + "/mp4_rot90.mp4",
                                      c + "/text.jpg", f + "/png_rgba.png"], lines
assert lines[0]["ok"] and lines[0]["width"] == 640 and lines[0]["height"] == 480
assert lines[1]["width"] == 360 and lines[1]["height"] == 640 and lines[1]["rotation"] == 90
assert not lines[2]["ok"] and lines[2]["error"]["code"] == "format"
assert lines[3]["has_alpha"] is True
PY
ok
expect_err "$C/text.jpg"

# paths from stdin with "-", text output
printf '%s\n' $F/jpg_640x480.jpg $F/mp4_30fps_3s.mp4 | "$PREFLIGHT" probe - >"$TMP/out" 2>"$TMP/err"
STATUS=$?; OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err")
expect_status 0 stdin
expect_out "jpg_640x480.jpg: image jpeg 640×480"
expect_out "90 frames"

run probe --jobs 0 x; expect_status 2 jobs; expect_err "--jobs"
run probe; expect_status 2 nothing
done_tests
