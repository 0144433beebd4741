#!/usr/bin/env bash
# Upload throughput and memory: `preflight upload --put-url` against
# `curl -T` to the same presigned URL, on loopback, same run.
#
#   bash tools/bench/bench-upload.sh [SIZE_MB] [RUNS]     (default 1024 MB, 3 runs)
#
# Sinks: s3rver (the test suite's S3, Node, writes every byte to disk and
# hashes it) and tests/fault_server.py's /discard (reads and drops), both on
# 127.0.0.1. The file is read once first so both tools read it from the page
# cache. Prints MB/s (median of RUNS, 1 MB = 10^6 bytes) for each tool and
# sink, the ratio preflight/curl, and preflight's peak RSS (/usr/bin/time -v).
# Needs a build in ./build (or $BUILD) and tests/node_modules (npm ci).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-$ROOT/build}
SIZE_MB=${1:-1024}
RUNS=${2:-3}
[ -x "$BUILD/preflight" ] || { echo "no $BUILD/preflight: build first" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pf-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FILE=$WORK/big.bin
echo "making a ${SIZE_MB} MB file..." >&2
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$FILE"
cat "$FILE" >/dev/null
export FILE RUNS BUILD ROOT WORK

PF_TEST_HTTP_MAX_SECONDS=3000 bash tests/with_upload_servers.sh --s3 -- bash -c '
set -euo pipefail
size=$(stat -c %s "$FILE")
first=$(od -An -tx1 -N1 "$FILE" | tr -d " ")
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
export AWS_ENDPOINT_URL=http://127.0.0.1:$PF_TEST_S3_PORT
F=http://127.0.0.1:$PF_TEST_FAULT_PORT

median() { sort -n | awk "{a[NR]=\$1} END {print a[int((NR+1)/2)]}"; }
secs() { awk -v s="$1" -v e="$2" "BEGIN {printf \"%.3f\", (e - s) / 1e9}"; }

bench() {   # NAME PUT_URL_FILE GET_URL [PREFLIGHT OPTIONS...]
    local name=$1 put=$2 get=$3 c p rss=0 r
    shift 3
    : >"$WORK/curl.t"; : >"$WORK/pf.t"
    for i in $(seq "$RUNS"); do
        s=$(date +%s%N)
        curl -sS -f -T "$FILE" "$(cat "$put")" -o /dev/null
        e=$(date +%s%N); secs "$s" "$e" >>"$WORK/curl.t"; echo >>"$WORK/curl.t"
        s=$(date +%s%N)
        /usr/bin/time -v "$BUILD/preflight" upload "$FILE" --put-url @"$put" \
            --get-url "$get" "$@" >/dev/null 2>"$WORK/time.txt" || { cat "$WORK/time.txt" >&2; exit 1; }
        e=$(date +%s%N); secs "$s" "$e" >>"$WORK/pf.t"; echo >>"$WORK/pf.t"
        r=$(awk -F: "/Maximum resident set size/ {gsub(/ /, \"\", \$2); print \$2}" "$WORK/time.txt")
        [ "$r" -gt "$rss" ] && rss=$r
    done
    c=$(grep . "$WORK/curl.t" | median); p=$(grep . "$WORK/pf.t" | median)
    awk -v n="$name" -v sz="$size" -v c="$c" -v p="$p" -v rss="$rss" "BEGIN {
        printf \"%-30s curl -T %7.1f MB/s   preflight %7.1f MB/s   ratio %5.1f%%   peak RSS %.1f MB\n\",
               n, sz / c / 1e6, sz / p / 1e6, 100 * c / p, rss / 1024 }"
}

node "$ROOT/tests/presign.js" PUT pf-test bench.bin 3600 >"$WORK/s3.put"
node "$ROOT/tests/presign.js" GET pf-test bench.bin 3600 >"$WORK/s3.get"
echo "$F/discard" >"$WORK/discard.put"
echo "file: $size bytes, $RUNS runs each, median; $(nproc) cores"
bench "s3rver" "$WORK/s3.put" "$(cat "$WORK/s3.get")"
bench "s3rver, --json (+SHA-256)" "$WORK/s3.put" "$(cat "$WORK/s3.get")" --json
bench "discard" "$WORK/discard.put" "$F/sized/$size/$first"
bench "discard, --json (+SHA-256)" "$WORK/discard.put" "$F/sized/$size/$first" --json
# Memory does not grow with the file: the same upload of 10 MB, and the
# process before it does anything (146 shared libraries, mostly those of ffmpeg).
head -c 10000000 "$FILE" >"$WORK/small.bin"
/usr/bin/time -v "$BUILD/preflight" upload "$WORK/small.bin" --put-url "$F/discard" \
    --get-url "$F/sized/10000000/$first" --json >/dev/null 2>"$WORK/time.txt"
small=$(awk -F: "/Maximum resident set size/ {gsub(/ /, \"\", \$2); print \$2}" "$WORK/time.txt")
/usr/bin/time -v "$BUILD/preflight" --version >/dev/null 2>"$WORK/time.txt"
base=$(awk -F: "/Maximum resident set size/ {gsub(/ /, \"\", \$2); print \$2}" "$WORK/time.txt")
awk -v s="$small" -v b="$base" "BEGIN { printf \"peak RSS: 10 MB upload (--json) %.1f MB; preflight --version %.1f MB\n\", s / 1024, b / 1024 }"
'
