#!/usr/bin/env bash
# Generate preflight's test fixtures into OUTDIR (see tools/FIXTURES.md for the list
# and the verified properties of every file).
#
#   usage: tools/make-fixtures.sh OUTDIR
#
# Needs the ffmpeg CLI (with libx264, aac, libvpx-vp9, libwebp) and python3.
# Idempotent: every file is rebuilt from scratch and overwritten; OUTDIR/.stamp is
# written last (it holds a hash of this script and fixture_tools.py), so a missing
# or stale stamp means "regenerate".
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
OUT=${1%/}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FT_PY="$HERE/fixture_tools.py"

command -v ffmpeg >/dev/null || { echo "make-fixtures: ffmpeg not found" >&2; exit 1; }
command -v python3 >/dev/null || { echo "make-fixtures: python3 not found" >&2; exit 1; }

stamp() {
    echo "preflight fixtures"
    cat "$HERE/make-fixtures.sh" "$FT_PY" | sha256sum | cut -d' ' -f1
    ffmpeg -hide_banner -version | head -n1
}
# Up to date already (same scripts, same ffmpeg): nothing to do.
if [ -f "$OUT/.stamp" ] && [ "$(stamp)" = "$(cat "$OUT/.stamp")" ]; then
    echo "fixtures in $OUT are up to date"
    exit 0
fi

mkdir -p "$OUT"
rm -f "$OUT/.stamp"
TMP=$(mktemp -d "$OUT/.tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

ft() { python3 "$FT_PY" "$@"; }
# -bitexact flags keep encoder version strings / timestamps out of the files
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
BX=(-fflags +bitexact -flags:v +bitexact -flags:a +bitexact)

# ---------------------------------------------------------------- JPEG
# jpg NAME W H [Q]: a baseline 4:2:0 JPEG of testsrc2 at exactly WxH, written to
# OUTDIR/NAME (or to NAME itself when it contains a slash).
# (",format=yuvj444p" in the source: plain testsrc2 rounds odd sizes down to even.)
jpg() {
    local dest=$1 w=$2 h=$3 q=${4:-31}
    case $dest in */*) ;; *) dest="$OUT/$dest" ;; esac
    ff -f lavfi -i "testsrc2=s=${w}x${h},format=yuvj444p" -frames:v 1 \
        -pix_fmt yuvj420p -q:v "$q" "${BX[@]}" "$dest"
}

jpg jpg_640x480.jpg     640  480 8
jpg jpg_8000x4000.jpg  8000 4000     # ratio exactly 2
jpg jpg_7999x4000.jpg  7999 4000
jpg jpg_4000x8000.jpg  4000 8000     # ratio exactly 0.5
jpg jpg_4000x7999.jpg  4000 7999
jpg jpg_8000x8000.jpg  8000 8000
jpg jpg_4096x4096.jpg  4096 4096
jpg jpg_4097x2000.jpg  4097 2000
jpg jpg_2000x4097.jpg  2000 4097
jpg jpg_320x480.jpg     320  480 8
jpg jpg_321x480.jpg     321  480 8
jpg jpg_480x320.jpg     480  320 8
jpg jpg_480x321.jpg     480  321 8
jpg jpg_1500x500.jpg   1500  500 8   # ratio exactly 3
jpg jpg_1499x500.jpg   1499  500 8
jpg jpg_330x1000.jpg    330 1000 8   # ratio exactly 0.33
jpg jpg_331x1000.jpg    331 1000 8

# progressive (SOF2) and 1-component grayscale: ffmpeg's mjpeg encoder can do
# neither, so fixture_tools losslessly re-encodes a baseline JPEG.
ft jpeg-progressive "$OUT/jpg_640x480.jpg" "$OUT/jpg_progressive.jpg"
ft jpeg-gray        "$OUT/jpg_640x480.jpg" "$OUT/jpg_gray.jpg"

# EXIF orientation (APP1 inserted right after SOI)
jpg "$TMP/exif_base_4000x3000.jpg" 4000 3000
ft exif-orient "$TMP/exif_base_4000x3000.jpg" "$OUT/jpg_exif6_4000x3000.jpg" 6
ft exif-orient "$OUT/jpg_640x480.jpg" "$OUT/jpg_exif6_be.jpg" 8 --be
ft exif-orient "$OUT/jpg_640x480.jpg" "$OUT/jpg_exif3.jpg" 3

# decimal-MB size boundaries (COM segments after SOI)
ft pad "$OUT/jpg_640x480.jpg" 4700000 -o "$OUT/jpg_size_4700000.jpg"
ft pad "$OUT/jpg_640x480.jpg" 4699999 -o "$OUT/jpg_size_4699999.jpg"

# ---------------------------------------------------------------- PNG
png() {
    local name=$1 src=$2 pixfmt=$3; shift 3
    ff -f lavfi -i "$src" -frames:v 1 -pix_fmt "$pixfmt" "${BX[@]}" "$@" "$OUT/$name"
}
png png_640x480.png    "testsrc2=s=640x480"           rgb24
png png_rgba.png       "testsrc2=s=640x480:alpha=128" rgba
png png_16bit.png      "testsrc2=s=640x480"           rgb48be
png png_gray.png       "testsrc2=s=640x480"           gray
png png_palette.png    "testsrc2=s=640x480"           pal8
png png_interlaced.png "testsrc2=s=640x480"           rgb24 -flags:v +ildct   # Adam7
png png_8000x4000.png  "color=c=steelblue:s=8000x4000,drawgrid=w=500:h=500:t=20:c=white" rgb24 -pred paeth

ft pad "$OUT/png_640x480.png" 16000000 -o "$OUT/png_size_16000000.png"
ft pad "$OUT/png_640x480.png" 15999999 -o "$OUT/png_size_15999999.png"

# ---------------------------------------------------------------- other images (320x240)
ff -f lavfi -i testsrc2=s=320x240 -frames:v 1 -c:v libwebp -quality 50 "${BX[@]}" "$OUT/img.webp"
ff -f lavfi -i testsrc2=s=320x240 -frames:v 1 -pix_fmt rgb8  "${BX[@]}" "$OUT/img.gif"
ff -f lavfi -i testsrc2=s=320x240 -frames:v 1 -pix_fmt bgr24 "${BX[@]}" "$OUT/img.bmp"
ff -f lavfi -i testsrc2=s=320x240 -frames:v 1 -pix_fmt rgb24 -compression_algo deflate \
    "${BX[@]}" "$OUT/img.tiff"

# ---------------------------------------------------------------- video
X264=(-c:v libx264 -preset veryfast -crf 32 -pix_fmt yuv420p)
AAC=(-c:a aac -b:a 64k -ac 1)
SINE=(-f lavfi -i sine=frequency=440:sample_rate=48000)

ff -f lavfi -i testsrc2=s=640x360:r=25 "${SINE[@]}" -t 2 "${X264[@]}" "${AAC[@]}" \
    -movflags +faststart "${BX[@]}" "$OUT/mp4_h264_640x360_2s.mp4"
ff -f lavfi -i testsrc2=s=640x360:r=25 -t 1 "${X264[@]}" -movflags +faststart \
    "${BX[@]}" "$OUT/mp4_noaudio.mp4"
# 90 deg clockwise display rotation written straight into the tkhd matrix
# (ffprobe: displaymatrix "rotation=-90"; FFmpeg 5.1's "-metadata:s:v rotate=" is unreliable)
ff -f lavfi -i testsrc2=s=640x360:r=25 -t 1 "${X264[@]}" -movflags +faststart \
    "${BX[@]}" "$TMP/rot_base.mp4"
ft mp4-rotate "$TMP/rot_base.mp4" "$OUT/mp4_rot90.mp4" 90
ff -f lavfi -i testsrc2=s=640x480:r=25 -t 1 -vf setsar=4/3 "${X264[@]}" -movflags +faststart \
    "${BX[@]}" "$OUT/mp4_sar.mp4"
ff -f lavfi -i testsrc2=s=720x1280:r=25 "${SINE[@]}" -t 1 "${X264[@]}" "${AAC[@]}" \
    -movflags +faststart "${BX[@]}" "$OUT/mp4_vertical_720x1280.mp4"
ff -f lavfi -i testsrc2=s=640x360:r=30 -frames:v 90 "${X264[@]}" -movflags +faststart \
    "${BX[@]}" "$OUT/mp4_30fps_3s.mp4"
ff -f lavfi -i testsrc2=s=640x360:r=25 "${SINE[@]}" -t 1 "${X264[@]}" "${AAC[@]}" \
    "${BX[@]}" "$OUT/mp4_moov_end.mp4"
ff -f lavfi -i testsrc2=s=640x360:r=25 "${SINE[@]}" -t 1 "${X264[@]}" "${AAC[@]}" \
    "${BX[@]}" "$OUT/mov_h264.mov"
ff -f lavfi -i testsrc2=s=320x240:r=25 -t 1 -c:v libvpx-vp9 -deadline realtime -cpu-used 8 \
    -b:v 200k -pix_fmt yuv420p "${BX[@]}" "$OUT/webm_vp9.webm"
ff -f lavfi -i testsrc2=s=640x360:r=25 "${SINE[@]}" -t 1 "${X264[@]}" "${AAC[@]}" \
    "${BX[@]}" "$OUT/mkv_h264.mkv"

# for preflight fix (video): a 270-degree rotation, a clip whose bits are all
# detail (noise: a size limit binds it), and a 10 s clip long enough to
# interrupt and to show progress
ft mp4-rotate "$TMP/rot_base.mp4" "$OUT/mp4_rot270.mp4" 270
ff -f lavfi -i testsrc2=s=480x270:r=25 "${SINE[@]}" -t 2 -vf noise=alls=30:allf=t \
    -c:v libx264 -preset ultrafast -crf 20 -pix_fmt yuv420p "${AAC[@]}" \
    -movflags +faststart "${BX[@]}" "$OUT/mp4_noise_2s.mp4"
ff -f lavfi -i testsrc2=s=640x360:r=30 "${SINE[@]}" -t 10 "${X264[@]}" "${AAC[@]}" \
    -movflags +faststart "${BX[@]}" "$OUT/mp4_10s.mp4"

# decimal-MB size boundaries (top-level 'free' atom appended)
ft pad "$OUT/mp4_h264_640x360_2s.mp4" 16000000 -o "$OUT/mp4_size_16000000.mp4"
ft pad "$OUT/mp4_h264_640x360_2s.mp4" 15999999 -o "$OUT/mp4_size_15999999.mp4"

# ---------------------------------------------------------------- stamp
stamp > "$OUT/.stamp"
