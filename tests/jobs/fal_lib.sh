# Shared setup for the fal job tests (sourced): lib.sh's helpers against the
# fake fal server (tests/fake_fal.py) on 127.0.0.1 instead of fake_api.py,
# a random marked key, a private model catalogue holding the test endpoint,
# and every fal URL (queue, storage, OpenAPI) pointed at the fake.
. "$(dirname "$0")/lib.sh"
FAKE_FAL_KEY=fal-SECRET-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
export FAKE_FAL_KEY FAL_KEY=$FAKE_FAL_KEY
export XDG_DATA_HOME=$TMP/data
unset PREFLIGHT_FAL_QUEUE_URL PREFLIGHT_FAL_REST_URL PREFLIGHT_FAL_OPENAPI_URL
# The test endpoint: a fal-shaped rules file for an endpoint that is not
# bundled, so owner/app paths have a sub-path to drop.
FAL_TEST_DOC=$PF_SOURCE_DIR/tests/fal/fal-ai__preflight-test__v1__image-to-video.json
FAL_EP=fal-ai/preflight-test/v1/image-to-video
FAL_MODEL=fal:$FAL_EP

start_fake() {
    rm -f "$TMP/port"
    python3 "$HERE/fake_fal.py" --fixtures "$PF_FIXTURES" \
        --schemas "$PF_SOURCE_DIR/tests/fal:$PF_SOURCE_DIR/../shared/schemas/fal" \
        --port-file "$TMP/port" --log "$TMP/api.log" --max-seconds 600 &
    FAKE_PID=$!
    for _ in $(seq 100); do
        [ -s "$TMP/port" ] && break
        sleep 0.05
    done
    [ -s "$TMP/port" ] || fail "the fake fal server did not start"
    BASE=http://127.0.0.1:$(cat "$TMP/port")
    export PREFLIGHT_FAL_REST_URL=$BASE PREFLIGHT_FAL_OPENAPI_URL=$BASE/openapi.json
}

# fal_import: the test endpoint into the private catalogue.
fal_import() {
    "$PREFLIGHT" models import "$FAL_TEST_DOC" >/dev/null 2>&1 || fail "cannot import $FAL_TEST_DOC"
}
# fal_request [PROMPT]: FAL_REQ is a request for the test endpoint with a
# local image (hosted on the fake's CDN by default).
FAL_IMG=
fal_request() {
    [ -n "$FAL_IMG" ] || { FAL_IMG=$TMP/still.jpg; cp "$PF_FIXTURES/jpg_640x480.jpg" "$FAL_IMG"; }
    FAL_REQ=(--model "$FAL_MODEL" "prompt=${1:-a slow pan}" "image_url=@$FAL_IMG")
}
fal_fresh() { FRESH_N=$((FRESH_N + 1)); fal_request "scenario $FRESH_N"; fake clear >/dev/null; }
# The key must never be in what preflight writes or shows: the ledger, the
# run's output, the fake's request log (no header values are logged there:
# that it was sent only where it belongs is the fake's key_leaks count).
expect_no_key() {
    expect_not "$FAKE_FAL_KEY"
    ! grep -rqa -- "$FAKE_FAL_KEY" "$STATE" "$TMP/api.log" 2>/dev/null || fail "the key is on disk"
    ok
    expect_stat 's["key_leaks"]' 0
}
