# preflight check from the command line: exit codes, output modes, errors.
. "$(dirname "$0")/../cli_lib.sh"
F=$PF_FIXTURES C=$PF_CORRUPT
ALEPH=runwayml/runway-aleph/video-to-video
DREAMINA=bytedance/dreamina-3-0/pro/image-to-video

# pass: exit 0, PASS
run check --model $DREAMINA prompt=hi image_urls=@$F/jpg_640x480.jpg
expect_status 0 pass; expect_out PASS

# violation: exit 1, the schema's own words
run check --model $DREAMINA prompt=hi image_urls=@$F/jpg_1500x500.jpg
expect_status 1 violation
expect_out "The ratio of long side to short side must be within 3:1."
expect_out "FAIL"

# --json: exactly one object with the documented keys
run check --model $DREAMINA --json prompt=hi image_urls=@$F/jpg_1500x500.jpg frames:=241
expect_status 1 json
expect_json ok false
expect_json model $DREAMINA
expect_json violations.0.field "image_urls[0]"
expect_json violations.0.rule "width/height<"
expect_json violations.0.limit 3
expect_json violations.0.actual 3
expect_json inputs.image_urls\[0\].width 1500
expect_json request.frames 241
[ -z "$ERR" ] || fail "stderr not empty in --json mode: $ERR"; ok

# --input with a request file; arguments override it
cat >"$TMP/req.json" <<JSON
{"prompt": "a cat", "video_url": "$F/mp4_vertical_720x1280.mp4", "ratio": "1280:720"}
JSON
run check --model $ALEPH --input "$TMP/req.json" --json
expect_status 0 input-file
expect_json warnings.0.field video_url
run check --model $ALEPH --input "$TMP/req.json" ratio=1:1 --json
expect_status 1 override; expect_json violations.0.rule enum

# unreadable inputs: exit 2, one line naming the file on stderr
for bad in empty.jpg text.jpg truncated.jpg truncated.png truncated_moov.mp4 garbage.png; do
    run check --model $DREAMINA prompt=x image_urls=@$C/$bad
    expect_status 2 "$bad"; expect_err "$C/$bad"; expect_one_line_err
done
run check --model $DREAMINA prompt=x image_urls=@/nonexistent/x.jpg
expect_status 2 missing; expect_err "/nonexistent/x.jpg"; expect_err "No such file"
run check --model $DREAMINA --json prompt=x image_urls=@$C/text.jpg
expect_status 2 json-error; expect_json errors.0.code format; expect_json ok false

# a header claiming 65000x65000 is a violation, not a crash or an allocation
run check --model $DREAMINA prompt=x image_urls=@$C/huge_65000.jpg
expect_status 1 huge; expect_out "Maximum resolution is 4096x4096."

# usage errors: exit 2, one line
run check prompt=x; expect_status 2 no-model; expect_err "--model"; expect_one_line_err
run check --model $DREAMINA --frobnicate; expect_status 2 bad-option; expect_err "--frobnicate"
run check --model $DREAMINA justaword; expect_status 2 bad-arg; expect_err "justaword"
run check --model $DREAMINA 'seed:={oops'; expect_status 2 bad-json; expect_err "seed"
run check --model no/such/model prompt=x; expect_status 2 no-model; expect_err "unknown model"
run check --model $DREAMINA --json prompt=x --input /nonexistent.json
expect_status 2 no-input; expect_json error.code not_found
printf '{"prompt": ' >"$TMP/broken.json"
run check --model $DREAMINA --input "$TMP/broken.json"
expect_status 2 malformed; expect_err "$TMP/broken.json"; expect_err "malformed JSON"
run check --schema /nonexistent/schema.json prompt=x
expect_status 2 no-schema; expect_err "/nonexistent/schema.json"

# --schema: an input schema as copied from a docs page (here, from the rules file)
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["input_schema"]))' \
    "$PF_SOURCE_DIR/rules/runcomfy/$DREAMINA.json" >"$TMP/pasted.json"
run check --schema "$TMP/pasted.json" prompt=x image_urls=@$F/jpg_4097x2000.jpg
expect_status 1 pasted; expect_out "Maximum resolution is 4096x4096."

# http:// is refused without --allow-http, and a signature never printed
run check --model $DREAMINA prompt=x 'image_urls=http://127.0.0.1:9/a.jpg?X-Amz-Signature=topsecret'
expect_status 1 http; expect_out "url_scheme"; expect_not topsecret
run check --model $DREAMINA --allow-http prompt=x 'image_urls=http://127.0.0.1:9/a.jpg?X-Amz-Signature=topsecret'
expect_status 2 closed-port; expect_not topsecret; expect_err "127.0.0.1"

# no colour unless a terminal, and never with NO_COLOR
run check --model $DREAMINA prompt=hi image_urls=@$F/jpg_1500x500.jpg
case "$OUT" in *$'\033'*) fail "escape codes in non-terminal output" ;; esac; ok

# the original is never modified by a check
sum=$(sha256sum "$F/jpg_1500x500.jpg")
run check --model $DREAMINA prompt=hi image_urls=@$F/jpg_1500x500.jpg
[ "$(sha256sum "$F/jpg_1500x500.jpg")" = "$sum" ] || fail "input modified"; ok
done_tests
