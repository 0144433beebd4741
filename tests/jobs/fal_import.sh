# preflight models import: a file and fal:ENDPOINT_ID (fetched from the fake
# fal server on 127.0.0.1) into a private catalogue; --model finds what was
# imported, 'models' lists it with its origin; every refusal is one line and
# leaves the catalogue as it was (no file, no temporary file).
. "$(dirname "$0")/fal_lib.sh"
start_fake
CAT=$XDG_DATA_HOME/preflight/rules
# fal OpenAPI documents load as schemas and rules/fal/ holds the twelve
# bundled endpoints, so the document-specific cases run too.
FAL_DOCS_LOAD=1
SHARED=$PF_SOURCE_DIR/../shared/schemas/fal
unchanged() {    # the catalogue holds exactly what it held
    [ "$(cd "$XDG_DATA_HOME" 2>/dev/null && find . | sort)" = "$1" ] \
        || fail "the catalogue changed: $(cd "$XDG_DATA_HOME" && find . | sort)"
    ok
}
listing() { (cd "$XDG_DATA_HOME" 2>/dev/null && find . | sort); }

# ---- a file ---------------------------------------------------------------
run models import "$FAL_TEST_DOC" --json
expect_status 0 "import a file"
expect_json id "$FAL_MODEL"
expect_json path "$CAT/fal/$FAL_EP.json"
cmp -s "$CAT/fal/$FAL_EP.json" "$FAL_TEST_DOC" || fail "not stored as given"; ok
[ "$(stat -c %a "$CAT/fal/$FAL_EP.json")" = 644 ] || fail "mode $(stat -c %a "$CAT/fal/$FAL_EP.json")"; ok
run models
expect_status 0 models
expect_out "$FAL_MODEL"
expect_out "(imported $(date -u +%Y-%m-%d)T"
expect_out "runwayml/runway-aleph/video-to-video"
run models --json
python3 - "$TMP/out" "$FAL_MODEL" <<'PY' || fail "models --json: $OUT"
import json, sys
d = {m["id"]: m for m in json.load(open(sys.argv[1]))}
m = d[sys.argv[2]]
assert m["origin"] == "imported" and m["provider"] == "fal" and m["imported"].endswith("Z"), m
b = d["runwayml/runway-aleph/video-to-video"]
assert b["origin"] == "bundled" and b["imported"] is None, b
PY
ok
# --model finds it.
run check --model "$FAL_MODEL" prompt=x "image_url=$PF_FIXTURES/jpg_640x480.jpg"
expect_status 0 "check with the imported model"
run check --model "$FAL_MODEL" prompt=x "image_url=$PF_FIXTURES/jpg_320x480.jpg" duration=7
expect_status 1 "the imported model's rules apply"
# Importing again replaces it, atomically.
run models import "$FAL_TEST_DOC"
expect_status 0 "import again"
expect_out "imported $FAL_MODEL into $CAT/fal/$FAL_EP.json"
BEFORE=$(listing)

# ---- refusals of files: one line, nothing stored --------------------------
run models import "$PF_SOURCE_DIR/tests/fal/README.md"
expect_status 2 "not JSON"
expect_one_line_err
expect_err "README.md: malformed JSON"
unchanged "$BEFORE"
printf '{"type": "object", "title": "no properties"}' >"$TMP/noprops.json"
run models import "$TMP/noprops.json"
expect_status 2 "not a schema"
expect_one_line_err
expect_err "$TMP/noprops.json:"
unchanged "$BEFORE"
run models import "$TMP/missing.json"
expect_status 2 "missing file"
expect_one_line_err
unchanged "$BEFORE"
# A pasted RunComfy input schema names no model: --as gives it one.
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["input_schema"]))' \
    "$PF_SOURCE_DIR/rules/runcomfy/bytedance/dreamina-3-0/pro/image-to-video.json" >"$TMP/pasted.json"
run models import "$TMP/pasted.json"
expect_status 2 "a schema without a model id"
expect_one_line_err
expect_err "names no model id: give the id to store it under (--as PROVIDER:MODEL)"
unchanged "$BEFORE"
run models import "$TMP/pasted.json" --as fal:fal-ai/pasted
expect_status 2 "--as with another provider"
expect_err "the schema is for provider 'runcomfy', not 'fal'"
unchanged "$BEFORE"
run models import "$TMP/pasted.json" --as 'me/../escape'
expect_status 2 "--as outside the catalogue"
unchanged "$BEFORE"
run models import "$TMP/pasted.json" --as me/dreamina-copy
expect_status 0 "--as for a pasted schema"
expect_out "imported me/dreamina-copy"
run check --model me/dreamina-copy prompt=x "image_urls=$PF_FIXTURES/jpg_1500x500.jpg"
expect_status 1 "the pasted schema's rules apply"
expect_out "ratio of long side to short side"
BEFORE=$(listing)
# A bundled id: refused unless --force; the bundled file is never touched.
BUNDLED=$PF_SOURCE_DIR/rules/runcomfy/runwayml/runway-aleph/video-to-video.json
bsha=$(sha "$BUNDLED")
run models import "$BUNDLED"
expect_status 2 "a bundled id"
expect_one_line_err
expect_err "runwayml/runway-aleph/video-to-video is a bundled model: not imported"
expect_err "--force"
unchanged "$BEFORE"
python3 - "$BUNDLED" "$TMP/mine.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["title"] = "my own Aleph rules"
json.dump(d, open(sys.argv[2], "w"))
PY
run models import "$TMP/mine.json" --force
expect_status 0 "a bundled id with --force"
[ "$(sha "$BUNDLED")" = "$bsha" ] || fail "the bundled rules changed"; ok
run models
expect_out "my own Aleph rules (imported"
[ "$(printf '%s\n' "$OUT" | grep -c '^runwayml/runway-aleph/video-to-video ')" = 1 ] \
    || fail "listed twice: $OUT"; ok
BEFORE=$(listing)

# ---- fal:ENDPOINT_ID from fal's OpenAPI URL (here the fake's) --------------
rm -f "$CAT/fal/$FAL_EP.json"
BEFORE=$(listing)
run models import "fal:$FAL_EP"
expect_status 2 "http:// without --allow-http"
expect_err "--allow-http"
unchanged "$BEFORE"
expect_stat 's["openapi_fetches"]' 0
run models import "fal:$FAL_EP" --allow-http --json
expect_status 0 "import fal:ID"
expect_json id "$FAL_MODEL"
expect_stat 's["openapi_fetches"]' 1
grep -q "\"path\": \"/openapi.json\"" "$TMP/api.log" || fail "no fetch of /openapi.json"; ok
cmp -s "$CAT/fal/$FAL_EP.json" "$FAL_TEST_DOC" || fail "not stored as served"; ok
BEFORE=$(listing)
# A document for another endpoint: the id must match.
fake openapi "$(python3 -c 'import json,sys; print(json.dumps({"id": "fal-ai/other-model", "text": open(sys.argv[1]).read()}))' "$FAL_TEST_DOC")" >/dev/null
run models import fal:fal-ai/other-model --allow-http
expect_status 2 "id mismatch"
expect_one_line_err
expect_err "the document is for 'fal-ai/preflight-test/v1/image-to-video', not 'fal-ai/other-model'"
unchanged "$BEFORE"
# Not a schema, not JSON, not fal's.
fake openapi '{"id": "fal-ai/html", "text": "<html><body>Sign in</body></html>"}' >/dev/null
run models import fal:fal-ai/html --allow-http
expect_status 2 "not JSON"
expect_one_line_err
expect_err "malformed JSON"
unchanged "$BEFORE"
fake openapi "$(python3 -c 'import json,sys; print(json.dumps({"id": "runwayml/runway-aleph", "text": open(sys.argv[1]).read()}))' "$BUNDLED")" >/dev/null
run models import fal:runwayml/runway-aleph --allow-http
expect_status 2 "not a fal schema"
expect_err "a schema for provider 'runcomfy', not 'fal'"
unchanged "$BEFORE"
# Unknown endpoint (404), a bad id, the network down, a flaky server.
run models import fal:fal-ai/no-such-endpoint --allow-http
expect_status 2 "404"
expect_one_line_err
expect_err "not found"
unchanged "$BEFORE"
run models import "fal:../../etc" --allow-http
expect_status 2 "a bad endpoint id"
expect_err "is not a fal endpoint id"
PREFLIGHT_FAL_OPENAPI_URL=http://127.0.0.1:1/openapi.json run models import "fal:$FAL_EP" --allow-http
expect_status 2 "network failure"
expect_one_line_err
expect_err "127.0.0.1:1"
unchanged "$BEFORE"
fake fault '{"on": "openapi", "action": "status", "code": 503, "body": {"detail": "busy"}}' >/dev/null
fake fault '{"on": "openapi", "action": "reset"}' >/dev/null
n=$(apistat 's["openapi_fetches"]')
run models import "fal:$FAL_EP" --allow-http
expect_status 0 "retried fetch"
expect_stat 's["openapi_fetches"]' $((n + 3))
# The key is not needed (nor sent) to read fal's public documents.
grep '"path": "/openapi.json"' "$TMP/api.log" | grep -q '"has_auth": true' && fail "the key was sent"; ok

# ---- fal's own OpenAPI documents (after the 'rules' merge) ----------------
if [ "$FAL_DOCS_LOAD" = 1 ]; then
    run models import fal:fal-ai/wan-25-preview/image-to-video --allow-http
    expect_status 2 "a bundled fal endpoint without --force"
    expect_err "fal:fal-ai/wan-25-preview/image-to-video is a bundled model"
    run models import fal:fal-ai/wan-25-preview/image-to-video --allow-http --force
    expect_status 0 "a bundled fal endpoint with --force"
    cmp -s "$CAT/fal/fal-ai/wan-25-preview/image-to-video.json" \
        "$SHARED/fal-ai__wan-25-preview__image-to-video.json" || fail "not stored as served"; ok
    run models import "$SHARED/fal-ai__kling-video__v2.6__pro__image-to-video.json" --json
    expect_status 2 "a bundled fal document from a file"
    cp "$SHARED/fal-ai__reve__edit.json" "$TMP/reve.json"
    run models import "$TMP/reve.json" --as fal:me/reve-edit
    expect_status 0 "a components-only document with --as"
    run models import "$SHARED/clarityai__crystal-upscaler.json" --as runcomfy:x/y
    expect_status 2 "a fal document under another provider"
    expect_err "the schema is for provider 'fal', not 'runcomfy'"
fi
done_tests
