#!/usr/bin/env bash
# What preflight and the other tools say about the same still images, as a
# markdown table (for issue notes and reviews; tests/cli/stills.sh asserts
# the parts that must agree).
#
#   usage: tools/still-verdicts.sh PREFLIGHT FILE...
#
# Columns: preflight probe; identify (ImageMagick's header read); a full
# ImageMagick decode with -regard-warnings; ffprobe's stream size; exiftool's
# Warning/Error tags.
set -u
[ $# -ge 2 ] || { echo "usage: $0 PREFLIGHT FILE..." >&2; exit 2; }
PF=$1; shift
one() { tr '\n' ' ' | sed 's/  */ /g; s/ $//; s/|/\\|/g' | cut -c1-90; }

echo "| file | preflight | identify | ImageMagick decode | ffprobe | exiftool |"
echo "| --- | --- | --- | --- | --- | --- |"
for f in "$@"; do
    if out=$("$PF" probe "$f" 2>&1); then
        pf="ok: ${out#*: }"
    else
        pf="refused: ${out#*: *: }"
    fi
    id=$(identify -format '%m %wx%h' "$f[0]" 2>/dev/null) || id="error"
    if msg=$(convert -regard-warnings "$f[0]" null: 2>&1); then dec="clean"
    else dec="fails: $(echo "$msg" | head -n1 | sed 's/^convert[^:]*: //; s/ `.*//')"; fi
    fp=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height \
        -of csv=p=0 "$f" 2>&1 | head -n1)
    ex=$(exiftool -s -s -s -Warning -Error "$f" 2>&1)
    printf '| %s | %s | %s | %s | %s | %s |\n' "$(basename "$f")" "$(echo "$pf" | one)" \
        "$id" "$(echo "$dec" | one)" "$(echo "${fp:-none}" | one)" "$(echo "${ex:--}" | one)"
done
