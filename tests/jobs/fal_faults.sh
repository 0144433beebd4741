# The fault behaviour of the RunComfy client, on fal: a POST repeated only
# when it certainly did not reach the API; outcome unknown otherwise; status
# and result queries retried; a cut download resumed; the storage's initiate
# and PUT retried like any upload; fal's own refusals (422, 401) said once.
. "$(dirname "$0")/fal_lib.sh"
start_fake
fal_import
url_req() { UREQ=(--model "$FAL_MODEL" --allow-http "prompt=$1" "image_url=$BASE/fixtures/jpg_640x480.jpg"); }
N=0
next() { N=$((N + 1)); url_req "fault scenario $N"; fake clear >/dev/null; }

# Turned away (429, 503): nothing created, asked again.
next
before=$(submits)
fake fault '{"on": "submit", "action": "status", "code": 429, "retry_after": 0, "body": {"detail": "Rate limited"}}' >/dev/null
fake fault '{"on": "submit", "action": "status", "code": 503, "body": {"detail": "Unavailable"}}' >/dev/null
job submit "${UREQ[@]}" --json
expect_status 0 "429 then 503 on submit"
expect_stat 's["submits"]' $((before + 1))

# Lost after the POST (500, reset after creating, malformed): outcome
# unknown, never sent again without --force.
for fault in '{"on": "submit", "action": "status", "code": 500, "body": {"detail": "Internal"}}' \
             '{"on": "submit", "action": "reset", "create": true}' \
             '{"on": "submit", "action": "malformed"}'; do
    next
    fake fault "$fault" >/dev/null
    n=$(submits)
    job submit "${UREQ[@]}"
    expect_status 2 "outcome unknown: $fault"
    expect_one_line_err
    expect_err "outcome unknown"
    expect_err "fal dashboard"
    job submit "${UREQ[@]}"
    expect_status 2 "again: $fault"
    # Only the reset and the malformed answer came after fal created a job.
    case $fault in *500*) expect_stat 's["submits"]' "$n" ;;
                   *) expect_stat 's["submits"]' $((n + 1)) ;; esac
    job submit "${UREQ[@]}" --force --json
    expect_status 0 "--force: $fault"
done

# fal refuses the input (422 with FastAPI's detail): rejected, said once,
# nothing created; allowed again later.
next
fake fault '{"on": "submit", "action": "status", "code": 422, "body": {"detail": [{"loc": ["body", "prompt"], "msg": "Prompt is too sensitive", "type": "content_policy_violation"}]}}' >/dev/null
job submit "${UREQ[@]}"
expect_status 2 "422 on submit"
expect_one_line_err
expect_err "Prompt is too sensitive"
job jobs --json
expect_json jobs.0.state rejected
# A wrong key: 401, rejected.
next
FAL_KEY=wrong job submit "${UREQ[@]}"
expect_status 2 "wrong key"
expect_err "Authentication is required"
expect_not wrong
expect_stat 's["auth_failures"]' 1

# Status and result queries: a 503, a reset, a stall are retried.
for on in status result; do
    for fault in '{"action": "status", "code": 503, "body": {"detail": "busy"}}' \
                 '{"action": "reset"}' '{"action": "reset_mid_body"}'; do
        next
        fake fault "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["on"]=sys.argv[2]; print(json.dumps(d))' "$fault" "$on")" >/dev/null
        job submit "${UREQ[@]}" -o "$TMP/q$N" --json
        RID=$(json_field request_id)
        job wait "$RID"
        expect_status 0 "$on fault $fault"
        [ -s "$TMP/q$N/output.mp4" ] || fail "no output after $on fault $fault"; ok
    done
done

# A result that lags behind its COMPLETED status ("still in progress") is
# asked again, not read as a failure (which would be paid for again).
next
fake fault '{"on": "result", "action": "status", "code": 400, "body": {"detail": "Request is still in progress"}}' >/dev/null
job submit "${UREQ[@]}" -o "$TMP/lag" --json
RID=$(json_field request_id)
job wait "$RID"
expect_status 0 "a lagging result"
[ -s "$TMP/lag/output.mp4" ] || fail "no output after a lagging result"; ok

# An output download cut in the middle: resumed with Range, whole.
next
fake fault '{"on": "file", "action": "reset_mid_body"}' >/dev/null
job submit "${UREQ[@]}" -o "$TMP/cut" --json
RID=$(json_field request_id)
job wait "$RID"
expect_status 0 "download cut"
cmp -s "$TMP/cut/output.mp4" "$PF_FIXTURES/mp4_noaudio.mp4" || fail "resumed output differs"; ok

# Storage: initiate and PUT retried like any upload; the CDN read back.
fal_request "storage faults"
fake fault '{"on": "initiate", "action": "status", "code": 500, "body": {"detail": "oops"}}' >/dev/null
fake fault '{"on": "upload", "action": "status", "code": 503}' >/dev/null
fake fault '{"on": "upload", "action": "reset"}' >/dev/null
up=$(apistat 's["uploads"]')
job run "${FAL_REQ[@]}" -o "$TMP/st"
expect_status 0 "storage faults"
expect_stat 's["uploads"]' $((up + 1))
[ "$(grep -c '"path": "/storage/upload/initiate"' "$TMP/api.log")" -ge 2 ] || fail "initiate not retried"; ok
# A storage that keeps refusing: nothing submitted, one line.
fal_request "storage down"
fake fault '{"on": "initiate", "action": "status", "code": 401, "body": {"detail": "No such key"}}' >/dev/null
n=$(submits)
job run "${FAL_REQ[@]}" -o "$TMP/down"
expect_status 2 "storage refuses"
expect_one_line_err
expect_err "No such key"
expect_stat 's["submits"]' "$n"
expect_no_key

# The fake itself holds requests to fal's documents (a fake that accepts
# anything proves nothing): a real endpoint's OpenAPI input schema, the key,
# owner/app paths.
python3 - "$BASE" "$FAKE_FAL_KEY" <<'PY' || fail "the fake does not validate as fal does"
import json, sys, urllib.error, urllib.request
base, key = sys.argv[1], sys.argv[2]
ep = "fal-ai/kling-video/v2.6/pro/image-to-video"
def call(method, path, body=None, auth=True):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": "Key " + key} if auth else {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)
img = base + "/fixtures/jpg_640x480.jpg"
assert call("POST", "/" + ep, {"prompt": "x", "start_image_url": img}, auth=False)[0] == 401
st, d = call("POST", "/" + ep, {"prompt": "x"})
assert st == 422 and "start_image_url: field required" in json.dumps(d), (st, d)
st, d = call("POST", "/" + ep, {"prompt": "x", "start_image_url": img, "duration": 5})
assert st == 422 and "duration" in json.dumps(d), (st, d)
st, d = call("POST", "/" + ep, {"prompt": "x", "start_image_url": img, "duration": "5"})
assert st == 200 and d["status_url"].endswith("/fal-ai/kling-video/requests/%s/status" % d["request_id"]), d
rid = d["request_id"]
assert call("GET", "/%s/requests/%s/status" % (ep, rid))[0] == 404
st, d = call("GET", "/fal-ai/kling-video/requests/%s/status" % rid)
assert st == 200 and d["status"] == "IN_QUEUE" and isinstance(d["queue_position"], int), d
PY
ok
expect_stat 'len(s["bad_paths"])' 1
done_tests
