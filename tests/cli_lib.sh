# Shared helpers for the command-line tests (sourced, not run). Each
# assertion prints what it expected and what it got, then exits non-zero.
set -u
: "${PREFLIGHT:?run the tests through ctest}"
: "${PF_FIXTURES:?}" "${PF_CORRUPT:?}" "${PF_SOURCE_DIR:?}"
export NO_COLOR=1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# A private model catalogue: what a user imported never changes a test.
export XDG_DATA_HOME=$TMP/data
PASSED=0

fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
ok() { PASSED=$((PASSED + 1)); }

# run ARGS...: runs preflight, keeps stdout, stderr and the exit status.
run() {
    "$PREFLIGHT" "$@" >"$TMP/out" 2>"$TMP/err"
    STATUS=$?
    OUT=$(cat "$TMP/out")
    ERR=$(cat "$TMP/err")
}

expect_status() {
    [ "$STATUS" -eq "$1" ] || fail "expected exit $1, got $STATUS for: ${2:-}
stdout: $OUT
stderr: $ERR"
    ok
}
expect_out() {
    case "$OUT" in *"$1"*) ok ;; *) fail "stdout lacks '$1': $OUT" ;; esac
}
expect_err() {
    case "$ERR" in *"$1"*) ok ;; *) fail "stderr lacks '$1': $ERR" ;; esac
}
expect_not() {
    case "$OUT$ERR" in *"$1"*) fail "output contains '$1': $OUT $ERR" ;; *) ok ;; esac
}
# The whole of stdout is exactly one JSON object; prints a field of it.
json_field() {
    python3 -c '
import json, sys
doc = json.loads(open(sys.argv[1]).read())
assert isinstance(doc, dict), "not an object"
v = doc
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v) if not isinstance(v, str) else v)
' "$TMP/out" "$1" || fail "stdout is not one JSON object with $1: $OUT"
}
expect_json() {
    local got
    got=$(json_field "$1")
    [ "$got" = "$2" ] || fail "$1: expected $2, got $got"
    ok
}
expect_one_line_err() {
    [ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] || fail "stderr is not one line: $ERR"
    ok
}
done_tests() { echo "$PASSED passed, 0 failed"; }
