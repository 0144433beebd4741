#!/usr/bin/env bash
# The CLI installed under a prefix the loader does not search (as
# /usr/local is until ldconfig runs, or a home prefix) still starts: it
# finds libpreflight.so beside itself through its $ORIGIN RUNPATH, and the
# library finds its rules beside itself. Usage: prefix.sh BUILD_DIR
set -euo pipefail
build=$1
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cmake --install "$build" --prefix "$d" >/dev/null
unset LD_LIBRARY_PATH PREFLIGHT_RULES_DIR
# Its own copy, not one the loader might find elsewhere (a system install).
lib=$(ldd "$d/bin/preflight" | awk '$1 ~ /^libpreflight/ {print $3}')
case $lib in
    "$d"/*) ;;
    *) echo "FAIL: the installed CLI loads '${lib:-no libpreflight}', not the copy under $d"; exit 1 ;;
esac
out=$("$d/bin/preflight" --version 2>&1) || { echo "FAIL: the installed CLI does not start: $out"; exit 1; }
models=$("$d/bin/preflight" models 2>&1) || { echo "FAIL: models: $models"; exit 1; }
grep -q "^fal:fal-ai/kling-video/v2.6/pro/image-to-video " <<<"$models" \
    || { echo "FAIL: the installed rules are not found: $models"; exit 1; }
echo "ok: $out, $(wc -l <<<"$models") models from $d"
