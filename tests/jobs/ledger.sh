# preflight ledger init|status|import, --ledger URL, a password refused, a
# newer schema refused, an old (schema 1) SQLite ledger migrated in place.
# Runs on both backends like every job test.
. "$(dirname "$0")/lib.sh"
start_fake

# ---- init and status ----------------------------------------------------------
job ledger init --json
expect_status 0 "ledger init"
expect_json backend "$LEDGER"
expect_json schema 2
expect_json jobs 0
request "a job for status"
job submit "${REQ[@]}" --json
expect_status 0 "submit"
RID=$(json_field request_id)
job ledger status
expect_status 0 "ledger status"
expect_out "jobs     1: in_queue 1"
expect_out "schema 2"
PREFLIGHT_LEASE_S= PREFLIGHT_WORKER=box-3 job ledger status --json
expect_json worker box-3
expect_json states.in_queue 1
expect_json lease_s 300
job ledger init --lease 90
expect_status 0 "init --lease"
PREFLIGHT_LEASE_S= job ledger status --json
expect_json lease_s 90
PREFLIGHT_LEASE_S=4 job ledger status --json
expect_json lease_s 4
job ledger init --lease 2
expect_status 2 "a lease too short"
expect_err "5 to 86400"

# ---- a password is never taken from a URL ----------------------------------------
run jobs --ledger "postgresql://alice:s3cr3t-pw@127.0.0.1:9/db"
expect_status 2 "a URL with a password"
expect_err "carries a password"
expect_err "PGPASSWORD"
expect_not "s3cr3t-pw"
expect_one_line_err
PREFLIGHT_LEDGER="postgres:///db?host=/tmp&password=s3cr3t-pw" run jobs
expect_status 2 "PREFLIGHT_LEDGER with a password"
expect_not "s3cr3t-pw"
run jobs --ledger "mysql://db/x"
expect_status 2 "not a ledger URL"
expect_err "not a ledger URL"

# ---- import a local ledger, once ------------------------------------------------------
LOCAL=$TMP/local/jobs.db
request "made on a laptop"
job submit "${REQ[@]}" --ledger "sqlite:$LOCAL" -o "$TMP/laptop" --json
expect_status 0 "submit into a local ledger"
LRID=$(json_field request_id)
request "made on a laptop, second"
job submit "${REQ[@]}" --ledger "sqlite:$LOCAL" --json
posts=$(submits)
job ledger import "sqlite:$LOCAL" --json
expect_status 0 "import"
expect_json imported 2
expect_json skipped 0
job ledger import "sqlite:$LOCAL"
expect_status 0 "import again"
expect_out "imported 0 jobs"
expect_out "2 were there already"
job jobs --json --limit 0
[ "$(json_field jobs | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 3 ] \
    || fail "not 3 jobs after importing 2 twice: $OUT"; ok
request "made on a laptop"
job submit "${REQ[@]}"
expect_status 0 "the imported request again"
expect_out "already submitted"
expect_stat 's["submits"]' "$posts"
fake advance "{\"id\": \"$LRID\", \"state\": \"completed\"}" >/dev/null
job wait "$LRID" --json
expect_status 0 "wait for an imported job"
[ "$(sha "$TMP/laptop/result.mp4")" = "$(sha "$PF_FIXTURES/mp4_noaudio.mp4")" ] || fail "output differs"; ok
job ledger import "sqlite:$TMP/nosuch/none.db"
expect_status 2 "importing a ledger that is not there"
expect_err "$TMP/nosuch/none.db: no ledger there"
[ ! -e "$TMP/nosuch" ] || fail "importing made a directory"; ok

# ---- a schema newer than this preflight's -------------------------------------------
NEWER=$TMP/newer.db
job ledger init --ledger "sqlite:$NEWER"
sqlite3 "$NEWER" "UPDATE preflight_schema SET version = 7"
job jobs --ledger "sqlite:$NEWER"
expect_status 2 "a newer schema"
expect_err "schema is version 7, newer than this preflight's (2): upgrade preflight"
[ "$(sqlite3 "$NEWER" 'SELECT version FROM preflight_schema')" = 7 ] || fail "the newer ledger was changed"; ok
if [ "$LEDGER" = postgresql ]; then
    psql_q "UPDATE preflight_schema SET version = 3" >/dev/null
    job jobs
    expect_status 2 "a newer PostgreSQL schema"
    expect_err "schema is version 3, newer than this preflight's (2)"
    psql_q "UPDATE preflight_schema SET version = 2" >/dev/null
fi

# ---- a ledger made before schema 2 is migrated in place ----------------------------------
# (the tables preflight 0.1.0 made, with a job waiting in them)
OLD=$TMP/old/jobs.db
mkdir -p "$TMP/old"
sqlite3 "$OLD" <<'SQL'
CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, provider TEXT NOT NULL,
 model TEXT NOT NULL, base_url TEXT NOT NULL, body TEXT NOT NULL, meta TEXT, state TEXT NOT NULL,
 request_id TEXT, queue_position INTEGER, error TEXT, outdir TEXT,
 outputs_known INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL, updated INTEGER NOT NULL);
CREATE INDEX jobs_by_key ON jobs(key);
CREATE INDEX jobs_by_request ON jobs(request_id);
CREATE TABLE outputs (job INTEGER NOT NULL REFERENCES jobs(id), idx INTEGER NOT NULL,
 url TEXT NOT NULL, kind TEXT, path TEXT, size INTEGER, sha256 TEXT, PRIMARY KEY (job, idx));
CREATE TABLE events (job INTEGER NOT NULL REFERENCES jobs(id), at INTEGER NOT NULL,
 state TEXT NOT NULL, detail TEXT);
INSERT INTO jobs (key, provider, model, base_url, body, state, request_id, created, updated)
 VALUES ('k-old', 'runcomfy', 'm/x', 'https://x.invalid', '{}', 'in_queue', 'old-req-1', 1, 1);
PRAGMA user_version=1;
SQL
PREFLIGHT_LEDGER= run jobs --state-dir "$TMP/old" --json
expect_status 0 "an old ledger"
expect_json jobs.0.request_id old-req-1
[ "$(sqlite3 "$OLD" 'SELECT version FROM preflight_schema')" = 2 ] || fail "not migrated"; ok
[ "$(sqlite3 "$OLD" "SELECT job FROM claims WHERE key = 'k-old'")" = 1 ] || fail "its key is not claimed"; ok
done_tests
