#!/usr/bin/env bash
# Fixtures for issue 9's stills into OUTDIR: HEIF/AVIF made with heif-enc
# (irot/imir added by tools/heif_boxes.py, which heif-enc cannot write), and
# JPEG/PNG/WebP files with trailers, cuts and sizes past the decoders' caps.
#
#   usage: tools/make-still-fixtures.sh OUTDIR
#
# Needs ffmpeg (libwebp), heif-enc (libheif-examples: x265, aom), python3.
# Idempotent like make-fixtures.sh: OUTDIR/.stamp holds a hash of the
# scripts and tool versions, and a stale or missing stamp means "rebuild".
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
OUT=${1%/}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BOXES="$HERE/heif_boxes.py"
for tool in ffmpeg heif-enc python3; do
    command -v $tool >/dev/null || { echo "make-still-fixtures: $tool not found" >&2; exit 1; }
done

stamp() {
    echo "preflight still fixtures"
    cat "$HERE/make-still-fixtures.sh" "$BOXES" | sha256sum | cut -d' ' -f1
    ffmpeg -hide_banner -version | head -n1
    # heif-enc --help exits 1
    { heif-enc --help 2>&1 || true; } | head -n1
}
if [ -f "$OUT/.stamp" ] && [ "$(stamp)" = "$(cat "$OUT/.stamp")" ]; then
    echo "still fixtures in $OUT are up to date"
    exit 0
fi
mkdir -p "$OUT"
rm -f "$OUT/.stamp"
TMP=$(mktemp -d "$OUT/.tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
BX=(-fflags +bitexact -flags:v +bitexact)
he() { heif-enc -q 50 "$@" >/dev/null; }
bx() { python3 "$BOXES" "$@"; }

# ---------------------------------------------------------------- sources
# testsrc2 is not symmetric, so a wrong turn or flip shows in a comparison.
ff -f lavfi -i testsrc2=s=640x480,format=rgb24 -frames:v 1 "$TMP/src.png"
ff -f lavfi -i testsrc2=s=641x481,format=rgb24 -frames:v 1 "$TMP/odd.png"
ff -f lavfi -i testsrc2=s=320x240,format=rgb24 -frames:v 1 "$TMP/small.png"
ff -f lavfi -i testsrc2=s=640x480,format=rgb48be -frames:v 1 -pix_fmt rgb48be "$TMP/src16.png"
# half transparent everywhere: real alpha, not an opaque alpha channel
ff -f lavfi -i "testsrc2=s=640x480,format=rgba,colorchannelmixer=aa=0.5" -frames:v 1 \
    -pix_fmt rgba "$TMP/srca.png"

# ---------------------------------------------------------------- HEIC / AVIF
he -o "$OUT/heic_640x480.heic" "$TMP/src.png"
he -o "$OUT/avif_640x480.avif" "$TMP/src.png"
he -o "$OUT/heic_alpha.heic" "$TMP/srca.png"
he -o "$OUT/avif_alpha.avif" "$TMP/srca.png"
he -b 10 -o "$OUT/heic_10bit.heic" "$TMP/src16.png"
# aom in Debian 12 asserts on 10-bit 4:2:0 and 4:4:4 through heif-enc; 4:2:2 works
he -b 10 -p chroma=422 -o "$OUT/avif_10bit.avif" "$TMP/src16.png"
# An odd size: heif-enc codes a 642x482 tile and makes the primary item a
# one-tile grid whose ispe is 641x481
he -o "$OUT/heic_grid_641x481.heic" "$TMP/odd.png"
he -o "$OUT/avif_641x481.avif" "$TMP/odd.png"
# irot: anticlockwise quarter turns; imir: 0 flips top-bottom, 1 left-right
# (libheif, iPhones and the 2021 amendment agree)
for t in "irot1:--irot 1" "irot2:--irot 2" "irot3:--irot 3" "imir0:--imir 0" \
         "imir1:--imir 1" "irot1_imir0:--irot 1 --imir 0" "irot1_imir1:--irot 1 --imir 1"; do
    name=${t%%:*} args=${t#*:}
    # shellcheck disable=SC2086
    bx transform "$OUT/heic_640x480.heic" "$OUT/heic_$name.heic" $args
    # shellcheck disable=SC2086
    bx transform "$OUT/avif_640x480.avif" "$OUT/avif_$name.avif" $args
done
# cut inside mdat, where the pixels are
bx cut "$OUT/heic_640x480.heic" "$OUT/heic_cut.heic" 8000
bx cut "$OUT/avif_640x480.avif" "$OUT/avif_cut.avif" 4000

# ---------------------------------------------------------------- JPEG / PNG trailers
ff -f lavfi -i "testsrc2=s=640x480,format=yuvj444p" -frames:v 1 -pix_fmt yuvj420p -q:v 8 \
    "${BX[@]}" "$TMP/base.jpg"
ff -f lavfi -i testsrc2=s=320x240:r=25 -t 1 -c:v libx264 -preset veryfast -pix_fmt yuv420p \
    "${BX[@]}" "$TMP/clip.mp4"
python3 - "$TMP" "$OUT" <<'PY'
import random, sys
tmp, out = sys.argv[1], sys.argv[2]
jpg = open(tmp + "/base.jpg", "rb").read()
clip = open(tmp + "/clip.mp4", "rb").read()
png = open(tmp + "/small.png", "rb").read()
rnd = random.Random(9)
noise = bytes(rnd.getrandbits(8) for _ in range(43 * 1024))
assert jpg.endswith(b"\xff\xd9") and png.endswith(b"IEND\xaeB`\x82")
def w(name, data):
    open(out + "/" + name, "wb").write(data)
# a phone's zero padding and a compact camera's trailing data after EOI
w("jpg_zero_pad.jpg", jpg + bytes(36 * 1024))
w("jpg_trailer_43k.jpg", jpg + noise)
# a motion photo whose XMP does not announce the video
w("jpg_motion_mp4.jpg", jpg + clip)
# cut in the scan, then padded: still cut
w("jpg_cut_zero_pad.jpg", jpg[: len(jpg) * 2 // 3] + bytes(36 * 1024))
# PNG: a second PNG after IEND (small: in the probe's head, so the walk
# runs), the same with padding after it (no IEND at the end), zero padding,
# and a cut file padded with zeros
w("png_two.png", png + png)
w("png_two_padded.png", png + png + bytes(1000))
w("png_zero_pad.png", png + bytes(36 * 1024))
w("png_cut_zero_pad.png", png[: len(png) // 2] + bytes(36 * 1024))
PY
ff -f lavfi -i testsrc2=s=640x480 -frames:v 1 -c:v libwebp -quality 50 "${BX[@]}" "$TMP/base.webp"
python3 - "$TMP" "$OUT" <<'PY'
import sys
tmp, out = sys.argv[1], sys.argv[2]
webp = open(tmp + "/base.webp", "rb").read()
open(out + "/webp_trailer.webp", "wb").write(webp + bytes(1000))
open(out + "/webp_cut.webp", "wb").write(webp[: len(webp) // 2])
PY

# ---------------------------------------------------------------- WebP headers
# Larger than FFmpeg's decoder is allowed to decode in a probe (100 MP): a
# lossy (VP8) and a lossless (VP8L) 16000x9000; then an alpha (VP8X + ALPH),
# a lossless alpha and an animation at 320x240.
ff -f lavfi -i color=c=steelblue:s=16000x9000 -frames:v 1 -c:v libwebp -quality 50 \
    "${BX[@]}" "$OUT/webp_16000x9000.webp"
ff -f lavfi -i color=c=steelblue:s=16000x9000 -frames:v 1 -c:v libwebp -lossless 1 \
    "${BX[@]}" "$OUT/webp_lossless_16000x9000.webp"
ff -f lavfi -i testsrc2=s=320x240 -frames:v 1 -c:v libwebp -lossless 1 "${BX[@]}" \
    "$OUT/webp_lossless.webp"
ff -f lavfi -i "testsrc2=s=320x240,format=rgba,colorchannelmixer=aa=0.5" -frames:v 1 \
    -c:v libwebp "${BX[@]}" "$OUT/webp_alpha.webp"
ff -f lavfi -i "testsrc2=s=320x240,format=rgba,colorchannelmixer=aa=0.5" -frames:v 1 \
    -c:v libwebp -lossless 1 "${BX[@]}" "$OUT/webp_lossless_alpha.webp"
ff -f lavfi -i testsrc2=s=320x240:r=5 -t 1 -c:v libwebp -loop 0 "${BX[@]}" \
    "$OUT/webp_anim.webp"

stamp > "$OUT/.stamp"
echo "still fixtures written to $OUT"
