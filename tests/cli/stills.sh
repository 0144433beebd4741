# Issue 9's stills from the command line, each verdict held against other
# tools on the same file: heif-info and identify (libheif, ImageMagick) for
# HEIF/AVIF facts, exiftool for irot and pixi, heif-convert's decode for
# the fixed picture's orientation, ImageMagick's -regard-warnings decode
# and ffprobe for trailers and cuts.
. "$(dirname "$0")/../cli_lib.sh"
: "${PF_STILLS:?run the tests through ctest}"
S=$PF_STILLS
DREAMINA=bytedance/dreamina-3-0/pro/image-to-video
for tool in heif-info heif-convert identify convert compare exiftool ffprobe; do
    command -v $tool >/dev/null || fail "$tool is needed for the independent check"
done

# preflight's facts as "W H ROTATION ALPHA DEPTH FORMAT"
facts() {
    "$PREFLIGHT" probe --json "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["width"], d["height"], d["rotation"], int(d["has_alpha"]), d["bit_depth"], d["format"])'
}
# PSNR of A against B in dB (ImageMagick; "inf" when identical)
psnr() {
    compare -metric PSNR "$1" "$2" null: 2>&1 | awk '{ print ($1 == "inf" ? 999 : $1 + 0) }'
}

# ---- HEIF / AVIF facts against libheif, ImageMagick and exiftool
HEIFS=$(cd "$S" && ls heic_*.heic avif_*.avif | grep -v _cut)
MEDIA=${PF_MEDIA:-}
PHONES=""
if [ -n "$MEDIA" ] && [ -d "$MEDIA" ]; then
    PHONES="$MEDIA/iphone-still.heic $MEDIA/android-still.heic"
else
    echo "SKIP: the real phone photos (no ../shared/media)"
fi
ALL=$(for h in $HEIFS; do echo "$S/$h"; done; for p in $PHONES; do echo "$p"; done)
# exiftool once for all ("FILE DEPTH ROTATION", - when absent): it is slow to start
# shellcheck disable=SC2086
exiftool -j -n -ImagePixelDepth -Rotation $ALL 2>/dev/null | python3 -c '
import json, sys
for d in json.load(sys.stdin):
    depth = str(d.get("ImagePixelDepth", "-")).split()[0]
    print(d["SourceFile"], depth, d.get("Rotation", "-"))' >"$TMP/exif" || fail "exiftool"
for f in $ALL; do
    read -r W H ROT ALPHA DEPTH FMT <<<"$(facts "$f")" || fail "probe $f"
    # libheif's primary image size is as displayed
    hs=$(heif-info "$f" | sed -n 's/^image: \([0-9]*\)x\([0-9]*\) .*primary.*/\1 \2/p' | head -n1)
    [ "$hs" = "$W $H" ] || fail "$f: heif-info says $hs, preflight $W $H"; ok
    is=$(identify -format '%w %h' "$f" 2>/dev/null)
    [ "$is" = "$W $H" ] || fail "$f: identify says $is, preflight $W $H"; ok
    ha=$(heif-info "$f" | grep -c 'alpha channel: yes' || true)
    [ "$ha" = "$ALPHA" ] || fail "$f: heif-info alpha $ha, preflight $ALPHA"; ok
    # exiftool's ImagePixelDepth is pixi, its Rotation irot (anticlockwise)
    read -r _ ed er <<<"$(grep -F "$f " "$TMP/exif")"
    [ "$ed" = - ] || [ "$ed" = "$DEPTH" ] || fail "$f: exiftool depth $ed, preflight $DEPTH"; ok
    case $f in *imir*) ;; *)
        [ "$er" = - ] && er=0
        [ "$(( (360 - er) % 360 ))" = "$ROT" ] || fail "$f: exiftool Rotation $er, preflight $ROT"
        ok ;;
    esac
    case $f in *.avif) [ "$FMT" = avif ] ;; *) [ "$FMT" = heic ] ;; esac || fail "$f: format $FMT"; ok
done

# ---- a JPEG/PNG-only field: a format violation, not an error
for f in "$S/heic_640x480.heic" "$S/avif_alpha.avif" $PHONES; do
    run check --model $DREAMINA --json prompt=hi "image_urls=@$f"
    expect_status 1 "check $f"
    expect_json violations.0.rule "format=="
    case $f in *.avif) expect_json violations.0.actual avif ;; *) expect_json violations.0.actual heic ;; esac
    expect_json errors '[]'
done

# ---- fix: a JPEG (PNG with transparency) that passes, upright
fix_one() {
    local src=$1 out
    OUTDIR=$TMP/fix.$((n = ${n:-0} + 1))
    run fix --model $DREAMINA --json -o "$OUTDIR" prompt=hi "image_urls=@$src"
    expect_status 0 "fix $src"
    out=$(json_field changes.0.output)
    [ -f "$out" ] || fail "no output for $src: $OUT"; ok
    FIXED=$out
    "$PREFLIGHT" check --model $DREAMINA prompt=hi "image_urls=@$out" >/dev/null \
        || fail "the fixed $out does not pass"
    ok
}
# every turn and flip of HEIC, two of AVIF (test_stills checks all pixel for
# pixel against the plain decode), depth, grid, and the phones
for f in "$S"/heic_{640x480,irot1,imir0,irot1_imir1,10bit,grid_641x481}.heic \
         "$S"/avif_{640x480,irot1_imir0,imir1,10bit}.avif $PHONES; do
    fix_one "$f"
    read -r W H _ ALPHA _ _ <<<"$(facts "$f")"
    fmt=$(identify -format '%m %w %h' "$FIXED")
    if [ "$ALPHA" = 1 ]; then want="PNG $W $H"; else want="JPEG $W $H"; fi
    [ "$fmt" = "$want" ] || fail "$FIXED: identify says $fmt, want $want"; ok
    # the same picture as heif-convert's decode, not turned once more
    # (PNG keeps the alpha; a 12 MP PNG is slow to write, so JPEG for the phones)
    case $f in */*-still.heic) ref=$TMP/ref.jpg ;; *) ref=$TMP/ref.png ;; esac
    rm -f "$TMP"/ref.*
    heif-convert -q 98 "$f" "$ref" >/dev/null 2>&1 || fail "heif-convert $f"
    # compared at no more than 640 wide: the phones are 12 MP
    convert "$ref" -background white -flatten -resize '640x640>' "$TMP/ref_flat.png"
    convert "$FIXED" -background white -flatten -resize '640x640>' "$TMP/out_flat.png"
    good=$(psnr "$TMP/out_flat.png" "$TMP/ref_flat.png")
    convert "$TMP/ref_flat.png" -rotate 180 "$TMP/ref_turned.png"
    bad=$(psnr "$TMP/out_flat.png" "$TMP/ref_turned.png")
    awk -v g="$good" -v b="$bad" 'BEGIN { exit !(g >= 28 && g > b + 6) }' \
        || fail "$FIXED is not heif-convert's picture: PSNR $good dB (turned: $bad dB)"
    ok
done
# the transparency survives in the PNG
fix_one "$S/heic_alpha.heic"
a=$(identify -format '%[fx:minima.a]' "$FIXED")
awk -v a="$a" 'BEGIN { exit !(a < 0.9) }' || fail "$FIXED lost its transparency (min alpha $a)"; ok

# ---- trailers: complete files, as ImageMagick's full decode says
for f in jpg_zero_pad.jpg jpg_trailer_43k.jpg jpg_motion_mp4.jpg png_two.png \
         png_two_padded.png png_zero_pad.png webp_trailer.webp; do
    run probe --json "$S/$f"
    expect_status 0 "probe $f"
    expect_json file_size "$(stat -c %s "$S/$f")"
    convert -regard-warnings "$S/$f[0]" null: 2>/dev/null \
        || fail "ImageMagick refuses $f too: the fixture is wrong"
    ok
    [ "$(identify -format '%w' "$S/$f[0]")" = "$(json_field width)" ] || fail "$f: identify's width differs"; ok
done
run probe "$S/jpg_zero_pad.jpg"
expect_status 0 "probe text"; expect_out "640×480, 36864 bytes after its end"
run probe "$S/heic_irot1_imir0.heic"
expect_out "image heic hevc 480×640 (stored 640×480, rotated 90°, mirrored)"
# ---- cut files stay corrupt, as ImageMagick also says
for f in jpg_cut_zero_pad.jpg png_cut_zero_pad.png webp_cut.webp heic_cut.heic avif_cut.avif; do
    run probe "$S/$f"
    expect_status 2 "probe $f"
    expect_err "$S/$f: truncated"
    expect_one_line_err
    if convert -regard-warnings "$S/$f" null: 2>/dev/null; then
        fail "ImageMagick decodes $f cleanly: the fixture is not cut"
    fi
    ok
done

# ---- WebP past FFmpeg's decode cap: the size ffprobe reads, no decode
for f in webp_16000x9000.webp webp_lossless_16000x9000.webp; do
    run probe --json "$S/$f"
    expect_status 0 "probe $f"
    expect_json width 16000
    expect_json height 9000
    [ "$(ffprobe -v error -show_entries stream=width,height -of csv=p=0 "$S/$f")" = "16000,9000" ] \
        || fail "ffprobe does not read $f as 16000x9000"
    ok
done
# and fix names the limit it is over, not the decoder's EINVAL
run fix --model $DREAMINA -o "$TMP/big" prompt=hi "image_urls=@$S/webp_16000x9000.webp"
expect_status 2 "fix a 144 MP WebP"
expect_err "webp_16000x9000.webp: 16000×9000 is more than the 100000000 pixels preflight decodes"
[ ! -e "$TMP/big" ] || [ -z "$(ls -A "$TMP/big")" ] || fail "fix left files in $TMP/big"; ok
done_tests
