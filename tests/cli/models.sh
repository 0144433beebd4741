# preflight models (tests/rules_seeds.sh checks the rules against their
# source documents).
. "$(dirname "$0")/../cli_lib.sh"

run models
expect_status 0 models
for id in runwayml/runway-aleph/video-to-video runwayml/runway-gen-3-alpha/turbo/image-to-video \
          bytedance/dreamina-3-0/pro/image-to-video cometapi:runwayml/v1/video_to_video; do
    expect_out "$id"
done
run models --json
expect_status 0 models-json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [m["id"] for m in d][0]=="bytedance/dreamina-3-0/pro/image-to-video" and len([m for m in d if m["provider"]!="fal"])==4 and len([m for m in d if m["provider"]=="fal"])==12, d' "$TMP/out" \
    || fail "models --json: $OUT"; ok
done_tests
