#!/usr/bin/env bash
# bench-fix.sh — `preflight fix` against the tools people use to make a file
# fit by hand, measured in the same run on the same inputs.
#
#   (a) image: a 6000x4000 noisy JPEG (quality 95) made to fit "<= 4096x4096
#       and < 4.7 MB" (Dreamina 3.0 Pro's rules), and the same shrunk to 1280
#       wide; against vipsthumbnail, ImageMagick convert -resize and ffmpeg
#       -vf scale, each asked for the JPEG quality preflight found (ffmpeg's
#       mjpeg takes a quantiser, not a quality: -q:v 2, its best).
#   (b) video: a 30 s 1080p clip of about 70 MB made to fit under 16 MB;
#       against the ffmpeg CLI with the same codec and preset (libx264
#       medium, AAC 128k, +faststart), one pass and two passes, at the bit
#       rate an ffmpeg user computes: 16 MB * 8 / 30 s - 128 kb/s of audio.
#
# Reported: median wall time of R runs, median CPU time (user + system: the
# steadier number on a machine others share), peak RSS (GNU time -v, the
# largest process), output size, the JPEG quality (identify %Q) or the share of the
# size limit used, and for video SSIM and PSNR of each output against the
# source (ffmpeg -lavfi ssim/psnr). Ratios are preflight's time or memory
# over the other tool's. A benchmark, not a test: it prints PASS/MISS
# against the issue's targets and does not fail on a MISS.
#
# usage: tools/bench/bench-fix.sh [--workdir DIR] [--repeat R] [--video-repeat R]
#                                 [--preflight BIN] [--skip-video] [--skip-image]
#
#   --workdir DIR      inputs, a Release build and outputs (default /tmp/pf-bench-fix)
#   --repeat R         image runs per tool, median reported (default 5)
#   --video-repeat R   video runs per tool (default 3; each is tens of seconds)
#   --preflight BIN    use this binary instead of a Release build of this tree
#
# Needs root for apt-get only if a tool is missing (libvips-tools and
# imagemagick are bench-only, not CI dependencies).
set -euo pipefail

WORKDIR=/tmp/pf-bench-fix
REPEAT=5
VREPEAT=3
PREFLIGHT=
DO_IMAGE=1
DO_VIDEO=1

die() { echo "bench-fix: $*" >&2; exit 1; }
while (($#)); do
    case $1 in
        --workdir) WORKDIR=${2:?}; shift 2 ;;
        --repeat) REPEAT=${2:?}; shift 2 ;;
        --video-repeat) VREPEAT=${2:?}; shift 2 ;;
        --preflight) PREFLIGHT=${2:?}; shift 2 ;;
        --skip-video) DO_VIDEO=0; shift ;;
        --skip-image) DO_IMAGE=0; shift ;;
        -h|--help) sed -n '2,31s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[[ $REPEAT =~ ^[1-9][0-9]*$ && $VREPEAT =~ ^[1-9][0-9]*$ ]] || die "repeats are positive numbers"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
START=$EPOCHREALTIME
mkdir -p "$WORKDIR"
WORKDIR=$(cd "$WORKDIR" && pwd)
REPORT=$WORKDIR/report.txt
exec > >(tee "$REPORT") 2>&1
TEE_PID=$!
trap 'exec >&- 2>&-; wait "$TEE_PID" 2>/dev/null || true' EXIT

section() { printf '\n== %s\n' "$*"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1e6 }'; }

# ---------------------------------------------------------------------------
section "Tools"
declare -A PKG_FOR=(
    [vipsthumbnail]=libvips-tools [convert]=imagemagick [identify]=imagemagick
    [/usr/bin/time]=time [ffmpeg]=ffmpeg [ffprobe]=ffmpeg [cmake]=cmake [python3]=python3
)
missing=()
for cmd in "${!PKG_FOR[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${PKG_FOR[$cmd]}")
done
if ((${#missing[@]})); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    echo "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [[ -z $PREFLIGHT ]]; then
    echo "building preflight (Release) in $WORKDIR/build ..."
    cmake -S "$REPO" -B "$WORKDIR/build" -DCMAKE_BUILD_TYPE=Release -DPF_TESTS=OFF \
        >"$WORKDIR/build.log" 2>&1 || { cat "$WORKDIR/build.log"; die "cmake failed"; }
    cmake --build "$WORKDIR/build" -j2 --target preflight_cli >>"$WORKDIR/build.log" 2>&1 \
        || { tail -30 "$WORKDIR/build.log"; die "build failed"; }
    PREFLIGHT=$WORKDIR/build/preflight
fi
[[ -x $PREFLIGHT ]] || die "no preflight binary at $PREFLIGHT"
export PREFLIGHT_RULES_DIR=$REPO/rules
printf '%-14s %s\n' \
    preflight "$PREFLIGHT ($(git -C "$REPO" describe --always --dirty 2>/dev/null || echo '?'))" \
    vipsthumbnail "$(vips --version)" \
    convert "$(convert -version | sed -n '1s/^Version: //p')" \
    ffmpeg "$(ffmpeg -version | sed -n '1s/ Copyright.*//p')"
echo "cpus: $(nproc), memory: $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo)," \
     "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# run NAME CMD...: times CMD (wall by $EPOCHREALTIME, CPU and peak RSS by GNU
# time -v) and appends "NAME wall rss_kb cpu" to $RUNS. stdout/stderr go to
# $WORKDIR/NAME.log.
RUNS=$WORKDIR/runs
: >"$RUNS"
run() {
    local name=$1 t0 t1 rss
    shift
    t0=$EPOCHREALTIME
    /usr/bin/time -v -o "$WORKDIR/time.txt" "$@" >"$WORKDIR/$name.log" 2>&1 \
        || { cat "$WORKDIR/$name.log"; die "$name failed: $*"; }
    t1=$EPOCHREALTIME
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$WORKDIR/time.txt")
    cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s + 0 }' "$WORKDIR/time.txt")
    echo "$name $(elapsed "$t0" "$t1") $rss $cpu" >>"$RUNS"
}
# stats NAME: "median_wall max_rss_kb median_cpu" over its runs.
stats() {
    local w r c
    w=$(awk -v n="$1" '$1 == n { print $2 }' "$RUNS" | median)
    r=$(awk -v n="$1" '$1 == n && $3 > m { m = $3 } END { print m + 0 }' "$RUNS")
    c=$(awk -v n="$1" '$1 == n { print $4 }' "$RUNS" | median)
    echo "$w $r $c"
}

# ---------------------------------------------------------------------------
if ((DO_IMAGE)); then
section "Image: 6000x4000 noisy JPEG q95"
IMG=$WORKDIR/photo_6000x4000_q95.jpg
if [[ ! -s $IMG ]]; then
    ffmpeg -nostdin -v error -y -f lavfi \
        -i "testsrc2=s=6000x4000,noise=alls=14:allf=u:all_seed=7" -frames:v 1 \
        "$WORKDIR/photo.png"
    convert "$WORKDIR/photo.png" -sampling-factor 2x2 -quality 95 "$IMG"
    rm -f "$WORKDIR/photo.png"
fi
echo "source: $(stat -c %s "$IMG") bytes, $(identify -format '%wx%h q%Q' "$IMG")"
printf '{"preflight_rules":1,"model":"bench/w1280","media":{"image":"image"},"input_schema":{"type":"object","properties":{"image":{"type":"string","validations":[{"validation_rule":"width_pixels<=","validation_value":1280},{"validation_rule":"file_size_mb<","validation_value":4.7}]}}}}' \
    >"$WORKDIR/w1280.json"

image_case() {
    local label=$1 dim=$2 q out name
    shift 2
    local pfargs=("$@")
    echo
    echo "-- $label"
    rm -rf "$WORKDIR/pf-out"
    # preflight first: the others are asked for the quality it found.
    for ((i = 0; i < REPEAT; i++)); do
        rm -rf "$WORKDIR/pf-out"
        run "img-$dim-preflight" "$PREFLIGHT" fix "${pfargs[@]}" -o "$WORKDIR/pf-out" --json
    done
    out=$(ls "$WORKDIR"/pf-out/*.jpg)
    q=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["changes"][0]["quality"])' \
        "$WORKDIR/img-$dim-preflight.log")
    cp "$out" "$WORKDIR/img-$dim-preflight.jpg"
    for ((i = 0; i < REPEAT; i++)); do
        run "img-$dim-vipsthumbnail" vipsthumbnail "$IMG" -s "$dim" \
            -o "$WORKDIR/img-$dim-vipsthumbnail.jpg[Q=$q,strip]"
        run "img-$dim-convert" convert "$IMG" -resize "$dim" -quality "$q" -strip \
            "$WORKDIR/img-$dim-convert.jpg"
        run "img-$dim-ffmpeg" ffmpeg -nostdin -v error -y -i "$IMG" \
            -vf "scale=w=${dim%x*}:h=${dim#*x}:force_original_aspect_ratio=decrease:flags=lanczos" \
            -q:v 2 "$WORKDIR/img-$dim-ffmpeg.jpg"
    done
    printf '  %-14s %9s %8s %9s %11s %8s %7s %9s %8s\n' tool "wall s" "cpu s" "peak MB" size "WxH" quality "pf time x" "pf mem x"
    read -r pw pr pc < <(stats "img-$dim-preflight")
    for name in preflight vipsthumbnail convert ffmpeg; do
        read -r w r c < <(stats "img-$dim-$name")
        local f=$WORKDIR/img-$dim-$name.jpg
        printf '  %-14s %9.3f %8.2f %9.1f %11s %8s %7s %9.2f %8.2f\n' "$name" "$w" "$c" "$(awk -v k="$r" 'BEGIN { print k * 1024 / 1e6 }')" \
            "$(stat -c %s "$f")" "$(identify -format '%wx%h' "$f")" "$(identify -format '%Q' "$f")" \
            "$(awk -v a="$pw" -v b="$w" 'BEGIN { print a / b }')" "$(awk -v a="$pr" -v b="$r" 'BEGIN { print a / b }')"
        echo "$dim $name $w $r $(stat -c %s "$f")" >>"$WORKDIR/image-results"
    done
}
: >"$WORKDIR/image-results"
image_case "fit <= 4096x4096 and < 4.7 MB (Dreamina 3.0 Pro)" 4096x4096 \
    --model bytedance/dreamina-3-0/pro/image-to-video prompt=bench "image_urls=@$IMG"
image_case "shrink to 1280 wide (and < 4.7 MB)" 1280x1280 \
    --schema "$WORKDIR/w1280.json" "image=@$IMG"
fi

# ---------------------------------------------------------------------------
if ((DO_VIDEO)); then
section "Video: 30 s 1080p, about 70 MB, to fit under 16 MB"
VID=$WORKDIR/clip_1080p_30s.mp4
if [[ ! -s $VID ]]; then
    ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=s=1920x1080:r=30 \
        -f lavfi -i sine=frequency=440:sample_rate=48000 -t 30 \
        -vf noise=alls=12:allf=t -c:v libx264 -preset ultrafast -b:v 18M -maxrate 18M \
        -bufsize 36M -pix_fmt yuv420p -c:a aac -b:a 128k "$VID"
fi
LIMIT=16000000
echo "source: $(stat -c %s "$VID") bytes; limit: file_size_mb< 16 ($((LIMIT - 1)) bytes at most)"
printf '{"preflight_rules":1,"model":"bench/16mb","media":{"video":"video"},"input_schema":{"type":"object","properties":{"video":{"type":"string","validations":[{"validation_rule":"file_size_mb<","validation_value":16}]}}}}' \
    >"$WORKDIR/16mb.json"
# What an ffmpeg user computes: the limit over the duration, less the audio.
RATE=$(awk -v l=$LIMIT 'BEGIN { printf "%d", l * 8 / 30 / 1000 - 128 }')
echo "ffmpeg CLI bit rate: 16 MB * 8 / 30 s - 128 kb/s = ${RATE}k"
X264=(-c:v libx264 -preset medium -pix_fmt yuv420p -profile:v high)
: >"$WORKDIR/video-results"
for ((i = 0; i < VREPEAT; i++)); do
    rm -rf "$WORKDIR/pfv"
    run vid-preflight "$PREFLIGHT" fix --schema "$WORKDIR/16mb.json" -o "$WORKDIR/pfv" \
        --json "video=@$VID"
    cp "$WORKDIR/pfv/clip_1080p_30s.mp4" "$WORKDIR/vid-preflight.mp4"
    run vid-ffmpeg-1pass ffmpeg -nostdin -v error -y -i "$VID" "${X264[@]}" -b:v "${RATE}k" \
        -c:a aac -b:a 128k -movflags +faststart "$WORKDIR/vid-ffmpeg-1pass.mp4"
    t0=$EPOCHREALTIME
    run vid-ffmpeg-pass1 ffmpeg -nostdin -v error -y -i "$VID" "${X264[@]}" \
        -b:v "${RATE}k" -pass 1 -passlogfile "$WORKDIR/x264" -an -f null /dev/null
    run vid-ffmpeg-pass2 ffmpeg -nostdin -v error -y -i "$VID" "${X264[@]}" -b:v "${RATE}k" \
        -pass 2 -passlogfile "$WORKDIR/x264" -c:a aac -b:a 128k -movflags +faststart \
        "$WORKDIR/vid-ffmpeg-2pass.mp4"
    echo "vid-ffmpeg-2pass $(elapsed "$t0" "$EPOCHREALTIME") $(awk '$1 ~ /vid-ffmpeg-pass/ { print $3 }' "$RUNS" | tail -2 | sort -n | tail -1) $(awk '$1 ~ /vid-ffmpeg-pass/ { print $4 }' "$RUNS" | tail -2 | awk '{ s += $1 } END { print s }')" >>"$RUNS"
done
encodes=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["changes"][0]["encodes"])' \
    "$WORKDIR/vid-preflight.log")
echo "preflight took $encodes encode(s) in its last run"
echo
printf '  %-16s %9s %8s %9s %11s %8s %6s %7s %8s %9s %8s %8s\n' tool "wall s" "cpu s" "peak MB" bytes "% limit" fits SSIM "PSNR dB" "pf time x" "pf cpu x" "pf mem x"
read -r pw pr pc < <(stats vid-preflight)
for name in preflight ffmpeg-1pass ffmpeg-2pass; do
    read -r w r c < <(stats "vid-$name")
    f=$WORKDIR/vid-$name.mp4
    size=$(stat -c %s "$f")
    ssim=$(ffmpeg -nostdin -hide_banner -i "$f" -i "$VID" -lavfi "[0:v][1:v]ssim" -f null - 2>&1 \
        | sed -n 's/.*SSIM.* All:\([0-9.]*\).*/\1/p')
    psnr=$(ffmpeg -nostdin -hide_banner -i "$f" -i "$VID" -lavfi "[0:v][1:v]psnr" -f null - 2>&1 \
        | sed -n 's/.*PSNR.* average:\([0-9.inf]*\).*/\1/p')
    printf '  %-16s %9.2f %8.2f %9.1f %11d %7.1f%% %6s %7s %8s %9.2f %8.2f %8.2f\n' "$name" "$w" "$c" \
        "$(awk -v k="$r" 'BEGIN { print k * 1024 / 1e6 }')" "$size" \
        "$(awk -v s="$size" -v l=$LIMIT 'BEGIN { print 100 * s / l }')" \
        "$( ((size < LIMIT)) && echo yes || echo NO)" "$ssim" "$psnr" \
        "$(awk -v a="$pw" -v b="$w" 'BEGIN { print a / b }')" "$(awk -v a="$pc" -v b="$c" 'BEGIN { print a / b }')" \
        "$(awk -v a="$pr" -v b="$r" 'BEGIN { print a / b }')"
    echo "$name $w $r $size $c" >>"$WORKDIR/video-results"
done
fi

# ---------------------------------------------------------------------------
section "Targets"
if ((DO_IMAGE)); then
    for dim in 4096x4096 1280x1280; do
        awk -v d=$dim '$1 == d { w[$2] = $3; r[$2] = $4; s[$2] = $5 }
            END { printf "  image %-9s faster than vipsthumbnail: %.2fx time  %s | less memory than convert: %.2fx  %s | under 4.7 MB: %s\n",
                  d, w["preflight"] / w["vipsthumbnail"], (w["preflight"] < w["vipsthumbnail"] ? "PASS" : "MISS"),
                  r["preflight"] / r["convert"], (r["preflight"] < r["convert"] ? "PASS" : "MISS"),
                  (s["preflight"] < 4700000 ? "PASS" : "MISS") }' "$WORKDIR/image-results"
    done
fi
if ((DO_VIDEO)); then
    awk -v l=$LIMIT '{ w[$1] = $2; s[$1] = $4; c[$1] = $5 }
        END { printf "  video no slower than ffmpeg one-pass: %.2fx time  %s (%.2fx CPU) | under the limit: %s | >= 85%% of it: %.1f%%  %s\n",
              w["preflight"] / w["ffmpeg-1pass"], (w["preflight"] <= w["ffmpeg-1pass"] ? "PASS" : "MISS"),
              c["preflight"] / c["ffmpeg-1pass"],
              (s["preflight"] < l ? "PASS" : "MISS"), 100 * s["preflight"] / l,
              (s["preflight"] >= 0.85 * l ? "PASS" : "MISS") }' "$WORKDIR/video-results"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "total runtime: $(elapsed "$START" "$EPOCHREALTIME") s; report in $REPORT"
