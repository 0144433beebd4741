#!/usr/bin/env bash
# bench-probe.sh — how fast, and how lean, is `preflight probe` next to the
# usual header readers (exiftool, vipsheader, identify, ffprobe), and how far
# is it from the cost of just reading 64 KiB of every file?
#
# This is a benchmark, not a test: CI does not run it, and it prints numbers
# and PASS/MISS against the targets rather than failing.
#
# usage: tools/bench/bench-probe.sh [--files N] [--workdir DIR] [--repeat R]
#                                   [--preflight BIN] [--serial]
#
#   --files N       at least N images in the corpus (default 1000); 20 videos
#                   are always added
#   --workdir DIR   corpus, build and results live here (default /tmp/pf-bench);
#                   the corpus is generated once per N and reused
#   --repeat R      time every tool R times and report the median (default 5;
#                   a tool whose first run takes over 10 s is run once)
#   --preflight BIN use this binary instead of a Release build of this tree
#                   (made in DIR/build, so the repo's own build/ is left alone)
#   --serial        also time every xargs-driven tool with -P 1
#
# Needs root for apt-get only if a tool is missing.
set -euo pipefail

FILES=1000
WORKDIR=/tmp/pf-bench
REPEAT=5
PREFLIGHT=
SERIAL=0

die() { echo "bench-probe: $*" >&2; exit 1; }

while (($#)); do
    case $1 in
        --files) FILES=${2:?}; shift 2 ;;
        --workdir) WORKDIR=${2:?}; shift 2 ;;
        --repeat) REPEAT=${2:?}; shift 2 ;;
        --preflight) PREFLIGHT=${2:?}; shift 2 ;;
        --serial) SERIAL=1; shift ;;
        -h|--help) sed -n '2,22s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[[ $FILES =~ ^[0-9]+$ && $FILES -ge 10 ]] || die "--files takes a number >= 10"
[[ $REPEAT =~ ^[0-9]+$ && $REPEAT -ge 1 ]] || die "--repeat takes a number >= 1"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
START=$EPOCHREALTIME
mkdir -p "$WORKDIR"
WORKDIR=$(cd "$WORKDIR" && pwd)

# Everything printed is also kept, so a run can be pasted into a report.
REPORT=$WORKDIR/report.txt
exec > >(tee "$REPORT") 2>&1
TEE_PID=$!
# Let tee finish writing before the script returns, so nothing prints late.
trap 'exec >&- 2>&-; wait "$TEE_PID" 2>/dev/null || true' EXIT

section() { printf '\n== %s\n' "$*"; }
# elapsed START END -> seconds with 3 decimals (EPOCHREALTIME has µs).
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# ---------------------------------------------------------------------------
section "Tools"

# Install only what is missing, and only then pay for apt-get update.
declare -A PKG_FOR=(
    [exiftool]=libimage-exiftool-perl [vipsheader]=libvips-tools
    [identify]=imagemagick [/usr/bin/time]=time [ffmpeg]=ffmpeg
    [ffprobe]=ffmpeg [jq]=jq [cc]=gcc [cmake]=cmake [fincore]=util-linux
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

# The floor program, rebuilt when its source changes.
READHEAD=$WORKDIR/readhead
if [[ ! -x $READHEAD || $HERE/readhead.c -nt $READHEAD ]]; then
    cc -O2 -Wall -o "$READHEAD" "$HERE/readhead.c"
fi

# A Release build of this tree in the workdir: the repo's build/ may be a
# Debug/RelWithDebInfo tree someone else is using.
if [[ -z $PREFLIGHT ]]; then
    echo "building preflight (Release) in $WORKDIR/build ..."
    cmake -S "$REPO" -B "$WORKDIR/build" -DCMAKE_BUILD_TYPE=Release \
        -DPF_TESTS=OFF >"$WORKDIR/build.log" 2>&1 || { cat "$WORKDIR/build.log"; die "cmake failed"; }
    cmake --build "$WORKDIR/build" -j2 --target preflight_cli >>"$WORKDIR/build.log" 2>&1 \
        || { tail -30 "$WORKDIR/build.log"; die "build failed"; }
    PREFLIGHT=$WORKDIR/build/preflight
fi
[[ -x $PREFLIGHT ]] || die "no preflight binary at $PREFLIGHT"

printf '%-11s %s\n' \
    preflight "$PREFLIGHT ($(git -C "$REPO" describe --always --dirty 2>/dev/null || echo '?'))" \
    exiftool "$(exiftool -ver)" \
    vipsheader "$(vips --version)" \
    identify "$(identify -version | sed -n '1s/^Version: //p')" \
    ffprobe "$(ffprobe -version | sed -n '1s/ Copyright.*//p')" \
    readhead "$READHEAD (open + pread 64 KiB + close)"
echo "cpus: $(nproc), memory: $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo)"

# ---------------------------------------------------------------------------
section "Corpus"

# Bump the version of the part whose generator changes: its cached files
# are then made again (each job's done-mark carries it), the rest are kept.
IMG_VERSION=1 VID_VERSION=2
CORPUS=$WORKDIR/corpus-n$FILES
mkdir -p "$CORPUS/images" "$CORPUS/videos"

# Image size classes (landscape; each is also made portrait) and weights:
# many phone/screen sizes, a few very large ones, 320x240 to 6000x4000.
SIZES=(320x240:2 640x480:3 800x600:2 1024x768:3 1280x720:3 1600x1200:3
       1920x1080:4 2048x1536:2 2560x1440:2 3264x2448:3 4032x3024:3
       4608x3456:1 5472x3648:1 6000x4000:1)

# One line per ffmpeg invocation ("job"); each makes a batch of same-sized
# images with -frames:v K, so thousands of files cost tens of processes.
#   img ID FMT W H COUNT SOURCE
#   vid ID W H SECONDS AUDIO(0/1) FASTSTART(0/1) ROTATE(0/90)
plan_jobs() {
    local wsum=0 id=0 s w h wt per land port fmt src
    local img_sources=(testsrc2 gradients life mandelbrot)
    for s in "${SIZES[@]}"; do wsum=$((wsum + ${s#*:})); done
    for s in "${SIZES[@]}"; do
        w=${s%x*}; h=${s#*x}; h=${h%:*}; wt=${s#*:}
        for fmt in jpg png; do
            # ceil((FILES/2) * weight / sum), 60 % landscape, 40 % portrait.
            per=$(( (FILES * wt + 2 * wsum - 1) / (2 * wsum) ))
            land=$(( (per * 6 + 9) / 10 )); port=$((per - land))
            src=${img_sources[id % ${#img_sources[@]}]}
            echo "img $id $fmt $w $h $land $src"; id=$((id + 1))
            ((port > 0)) || continue
            src=${img_sources[id % ${#img_sources[@]}]}
            echo "img $id $fmt $h $w $port $src"; id=$((id + 1))
        done
    done
    # 20 videos: 480p-1080p (a third portrait), 2-10 s, half with audio, a third
    # with moov at the end (ffmpeg's default), two with a 90° display matrix.
    local vsizes=(854x480 640x480 1280x720 1920x1080 720x1280 1080x1920)
    local i vs
    for ((i = 0; i < 20; i++)); do
        vs=${vsizes[i % ${#vsizes[@]}]}
        echo "vid $i ${vs%x*} ${vs#*x} $((2 + (i * 7) % 9)) $(((i + 1) % 2)) \
$((i % 3 != 0)) $( ((i == 5 || i == 14)) && echo 90 || echo 0)"
    done
}

# gen_job runs in a child bash (xargs -P 2), so it sets its own strict mode.
gen_job() {
    set -euo pipefail
    local kind=$1 id=$2 done_mark
    local ff=(ffmpeg -nostdin -hide_banner -loglevel error -y)
    if [[ $kind == img ]]; then
        done_mark=$CORPUS/.job-$kind-$id-v$IMG_VERSION.done
    else
        done_mark=$CORPUS/.job-$kind-$id-v$VID_VERSION.done
    fi
    [[ -e $done_mark ]] && return 0        # cached from an earlier run
    if [[ $kind == img ]]; then
        local fmt=$3 w=$4 h=$5 count=$6 src=$7 vf grain enc=() base
        base=$CORPUS/images/b$(printf %03d "$id")_${w}x${h}
        case $src in
            testsrc2) vf="testsrc2=s=${w}x$h:r=25" ;;
            gradients) vf="gradients=s=${w}x$h:r=25:seed=$id:speed=0.05:n=6" ;;
            life) vf="life=s=${w}x$h:r=25:seed=$id:ratio=0.3:mold=10:life_color=#ffd040:death_color=#202060:mold_color=#40a060" ;;
            # mandelbrot is slow to render; above 2 MP use testsrc2 instead.
            mandelbrot) if ((w * h <= 2000000)); then
                            vf="mandelbrot=s=${w}x$h:r=25:maxiter=256"
                        else vf="testsrc2=s=${w}x$h:r=25"; fi ;;
        esac
        # Sensor-like grain (seeded per batch) on every JPEG and on half the
        # PNGs; the other PNGs stay clean, like screenshots and graphics.
        grain="noise=alls=8:allf=t+u:all_seed=$((id * 7919 + 1))"
        if [[ $fmt == jpg ]]; then
            local pix=(yuvj420p yuvj420p yuvj444p gray)
            vf="$vf,$grain,format=${pix[id % 4]}"
            enc=(-c:v mjpeg -q:v $((2 + id % 5)))
        else
            local pix=(rgb24 rgba gray rgb24)
            local p=${pix[id % 4]}
            # Some small 16-bit PNGs; big ones would only be slow to make.
            ((w * h <= 1000000 && id % 3 == 0)) && p=rgb48be
            ((id % 2 == 0)) && vf="$vf,$grain"
            vf="$vf,format=$p"
            # zlib level 1: the noisy 24 MP frames are slow to deflate.
            enc=(-c:v png -compression_level $((id % 2 == 0 ? 1 : 3)))
        fi
        "${ff[@]}" -f lavfi -i "$vf" -frames:v "$count" "${enc[@]}" \
            -start_number 0 "${base}_%03d.$fmt"
        # A third of the JPEG batches get a camera-like EXIF block (make,
        # model, date, a thumbnail) with an orientation: 6, 8, 3 or 1.
        if [[ $fmt == jpg ]] && ((id % 3 == 0)); then
            local orients=(6 8 3 1)
            exiftool -q -q -overwrite_original -Make=BenchCam -Model=PF-1 \
                "-DateTimeOriginal=2024:05:06 07:08:09" \
                "-Orientation#=${orients[(id / 3) % 4]}" \
                "-ThumbnailImage<=$CORPUS/thumb.jpg" "${base}"_*.jpg
        fi
    else
        local w=$3 h=$4 secs=$5 audio=$6 faststart=$7 rotate=$8 in=() map=() out
        out=$CORPUS/videos/v$(printf %02d "$id")_${w}x${h}_${secs}s.mp4
        local srcs=("testsrc2=s=${w}x$h:r=30" "life=s=${w}x$h:r=30:seed=$id:ratio=0.3"
                    "testsrc2=s=${w}x$h:r=25,noise=alls=6:allf=t+u:all_seed=$id")
        in=(-f lavfi -i "${srcs[id % 3]}")
        if ((audio)); then
            in+=(-f lavfi -i "sine=frequency=$((220 + id * 40)):sample_rate=48000")
            map=(-c:a aac -b:a 96k)
        fi
        ((faststart)) && map+=(-movflags +faststart)
        "${ff[@]}" "${in[@]}" -t "$secs" -c:v libx264 -preset veryfast \
            -crf 23 -pix_fmt yuv420p "${map[@]}" "$out"
        # A display matrix (phone held upright). ffmpeg 5.1 ignores the old
        # "rotate" metadata when muxing, exiftool writes the tkhd matrix.
        if ((rotate)); then
            exiftool -q -q -overwrite_original "-Rotation=$rotate" "$out"
        fi
    fi
    : >"$done_mark"
}
export -f gen_job
export CORPUS IMG_VERSION VID_VERSION

COMPLETE=$CORPUS/.complete-img$IMG_VERSION-vid$VID_VERSION
if [[ ! -e $COMPLETE ]]; then
    gen_start=$EPOCHREALTIME
    echo "generating in $CORPUS (2 ffmpeg jobs at a time; cached for later runs) ..."
    [[ -e $CORPUS/thumb.jpg ]] || ffmpeg -nostdin -hide_banner -loglevel error -y \
        -f lavfi -i "testsrc2=s=160x120" -frames:v 1 "$CORPUS/thumb.jpg"
    # Biggest jobs first, so the two slots finish together.
    plan_jobs | awk '{ print ($1 == "img" ? $4 * $5 * $6 : $3 * $4 * $5 * 25), $0 }' \
        | sort -rn | cut -d' ' -f2- >"$CORPUS/plan.txt"
    xargs -P 2 -L 1 bash -c 'gen_job "$@"' _ <"$CORPUS/plan.txt"
    : >"$COMPLETE"
    echo "generated in $(elapsed "$gen_start" "$EPOCHREALTIME") s"
else
    echo "reusing $CORPUS"
fi

# File lists: the same lists are given to every tool.
LISTS=$WORKDIR/lists
mkdir -p "$LISTS"
find "$CORPUS/images" -type f \( -name '*.jpg' -o -name '*.png' \) | sort >"$LISTS/images"
find "$CORPUS/videos" -type f -name '*.mp4' | sort >"$LISTS/videos"
cat "$LISTS/images" "$LISTS/videos" >"$LISTS/all"

n_img=$(wc -l <"$LISTS/images"); n_vid=$(wc -l <"$LISTS/videos")
((n_img >= FILES)) || die "corpus has $n_img images, wanted $FILES (delete $CORPUS to regenerate)"
((n_vid == 20)) || die "corpus has $n_vid videos, wanted 20 (delete $CORPUS to regenerate)"

list_bytes() { xargs -a "$1" -d '\n' stat -c %s | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
human() { awk -v b="$1" 'BEGIN { split("B kB MB GB TB", u); i = 1;
    while (b >= 1000 && i < 5) { b /= 1000; i++ } printf (i == 1 ? "%d %s" : "%.2f %s"), b, u[i] }'; }
for ext in jpg png mp4; do
    grep "\.$ext\$" "$LISTS/all" >"$LISTS/.$ext" || true
    printf '  %-4s %5d files  %10s\n' "$ext" "$(wc -l <"$LISTS/.$ext")" "$(human "$(list_bytes "$LISTS/.$ext")")"
    rm -f "$LISTS/.$ext"
done
total_bytes=$(list_bytes "$LISTS/all")
printf '  all  %5d files  %10s (%d bytes)\n' "$(wc -l <"$LISTS/all")" "$(human "$total_bytes")" "$total_bytes"
# Shape of the corpus, from the names (..._WxH_NNN.ext) and the plan.
sed -E 's/.*_([0-9]+)x([0-9]+)_[0-9]+\.[a-z]+$/\1 \2/' "$LISTS/images" | awk '
    { px = $1 * $2; if (!min || px < min) { min = px; mn = $1 "x" $2 }
      if (px > max) { max = px; mx = $1 "x" $2 }
      if ($1 > $2) l++; else p++ }
    END { printf "  images: %d landscape, %d portrait; %s to %s\n", l, p, mn, mx }'
awk '$1 == "vid" { n++; a += $6; f += !$7; r += ($8 != 0); if (!min || $5 < min) min = $5; if ($5 > max) max = $5 }
    END { printf "  videos: %d H.264 MP4, 480p-1080p, %d-%d s; %d with AAC audio, %d with moov at the end, %d rotated 90\n",
          n, min, max, a, f, r }' "$CORPUS/plan.txt"

# ---------------------------------------------------------------------------
section "Page cache"

# Dropping the page cache needs privileges a container may not have, and a
# cold-cache run would mostly time the disk. Instead every file is read once
# now, so every tool below reads from the page cache (warm), equally.
mem_avail_kb=$(awk '/MemAvailable/ { print $2 }' /proc/meminfo)
if ((total_bytes / 1024 > mem_avail_kb * 8 / 10)); then
    echo "WARNING: corpus ($(human "$total_bytes")) may not fit in the page cache" \
         "($((mem_avail_kb / 1024)) MiB available): results will include disk reads"
fi
warm_start=$EPOCHREALTIME
xargs -a "$LISTS/all" -d '\n' cat >/dev/null
echo "warm-up: read all $(human "$total_bytes") once (cat > /dev/null) in" \
     "$(elapsed "$warm_start" "$EPOCHREALTIME") s; all timings below are warm-cache."
if command -v fincore >/dev/null; then
    xargs -a "$LISTS/all" -d '\n' fincore -b -n -o RES,SIZE | awk '
        { r += $1; s += $2 } END { printf "resident in page cache: %.1f %% of corpus bytes (fincore)\n", s ? 100 * r / s : 0 }'
fi

# ---------------------------------------------------------------------------
section "Method"
cat <<EOF
Each tool gets every file of the set, and the same 2-way parallelism:
  preflight   probe --json -  (one process, paths on stdin, default --jobs = $(nproc) threads)
  exiftool    -fast2 -json -n (+ the tags width, height, orientation, MIME
              type, duration only), batches of <=200 files, xargs -P 2
  vipsheader  batches of <=200 files, xargs -P 2 (images only)
  identify    -ping -format '%w %h', batches of <=200 files, xargs -P 2 (images only)
  ffprobe     -show_entries stream=codec_name,width,height:format=duration,
              one process per file (it takes one input), xargs -P 2
  floor       readhead: open + pread(64 KiB) + close per file, batches, xargs -P 2
Batches are sized so the count is a multiple of 2 (no lone last batch).
Wall time: bash \$EPOCHREALTIME around the whole command (µs), median of $REPEAT
runs (one run for a tool whose first run takes over 10 s: ffprobe).
Peak memory: GNU time %M (max RSS, KB) of each process; for xargs pipelines
every child is wrapped in /usr/bin/time -a and the largest child counts
(xargs itself is not counted; with -P 2 up to two such children are alive at
once). For preflight it is the one process, all threads included.
The /usr/bin/time wrapper adds one fork+exec per process to the xargs tools
(about 1 ms), which matters only for ffprobe's one-process-per-file.
files/s = files in the set / median wall; "(best s)" is the fastest run, for a
sense of the noise. "pf x" = preflight files/s / tool files/s.
Targets are judged on the medians.
EOF

# ---------------------------------------------------------------------------
OUT=$WORKDIR/out
mkdir -p "$OUT"
rm -f "$OUT"/*

# Batch size for N files over P slots: at most 200, and a multiple of P
# batches, so both slots stay busy to the end.
batch_size() {
    local n=$1 p=$2 k
    k=$(( (n + p * 200 - 1) / (p * 200) ))
    echo $(( (n + p * k - 1) / (p * k) ))
}

# The command for TOOL on LIST, writing stdout to $out and RSS lines to $rss.
# $par is the xargs -P value for this variant.
run_tool() {
    local tool=$1 list=$2 n b
    n=$(wc -l <"$list")
    b=$(batch_size "$n" "$par")
    local xa=(xargs -a "$list" -d '\n' -P "$par" -n "$b" /usr/bin/time -a -o "$rss" -f %M)
    case $tool in
        preflight) /usr/bin/time -a -o "$rss" -f %M "$PREFLIGHT" probe --json - <"$list" ;;
        preflight-j1) /usr/bin/time -a -o "$rss" -f %M "$PREFLIGHT" probe --json --jobs 1 - <"$list" ;;
        exiftool) "${xa[@]}" exiftool -fast2 -json -n -q -q \
            -ImageWidth -ImageHeight -Orientation -MIMEType -Duration ;;
        vipsheader) "${xa[@]}" vipsheader ;;
        identify) "${xa[@]}" identify -ping -format '%i %w %h\n' ;;
        ffprobe) xargs -a "$list" -d '\n' -P "$par" -n 1 /usr/bin/time -a -o "$rss" -f %M \
            ffprobe -v error -show_entries stream=codec_name,width,height:format=duration -of csv ;;
        floor) "${xa[@]}" "$READHEAD" ;;
    esac
}

# measure SET TOOL PAR: runs it $REPEAT times (once if the first run takes
# over 10 s: its ratio to preflight is in the hundreds, so noise cannot
# change a verdict, and it would add minutes); appends
# "set tool mode n median-wall peak-rss status best-wall" to $OUT/results.
measure() {
    local set=$1 tool=$2 par=$3 list=$LISTS/$1 i t0 t1 rc walls=() peak=0 status=ok mode
    local rss=$OUT/$set.$tool.p$par.rss out=$OUT/$set.$tool.p$par.out
    for ((i = 0; i < REPEAT; i++)); do
        : >"$rss"
        rc=0
        t0=$EPOCHREALTIME
        run_tool "$tool" "$list" >"$out" 2>"$out.err" || rc=$?
        t1=$EPOCHREALTIME
        walls+=("$(elapsed "$t0" "$t1")")
        ((rc == 0)) || status="exit=$rc"
        peak=$(awk -v p="$peak" '$1 ~ /^[0-9]+$/ && $1 > p { p = $1 } END { print p }' "$rss")
        awk -v w="${walls[0]}" 'BEGIN { exit !(w > 10) }' && break
    done
    case $tool in
        preflight) mode="1 process, $(nproc) threads" ;;
        preflight-j1) mode="1 process, --jobs 1" ;;
        ffprobe) mode="xargs -P $par -n 1" ;;
        *) mode="xargs -P $par -n $(batch_size "$(wc -l <"$list")" "$par")" ;;
    esac
    printf '%s\t%s\t%s\t%d\t%s\t%d\t%s\t%s\n' "$set" "$tool" "$mode" "$(wc -l <"$list")" \
        "$(printf '%s\n' "${walls[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')" \
        "$peak" "$status" "$(printf '%s\n' "${walls[@]}" | sort -g | head -1)" >>"$OUT/results"
}

section "Measuring (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
if awk '{ exit !($1 > 0.5) }' /proc/loadavg; then
    echo "NOTE: the machine is not idle; other processes share the $(nproc) cores, expect noise."
fi
: >"$OUT/results"
for set in images videos all; do
    tools=(preflight preflight-j1 exiftool ffprobe floor)
    [[ $set == images ]] && tools+=(vipsheader identify)
    for tool in "${tools[@]}"; do
        printf '  %-7s %-15s ' "$set" "$tool"
        measure "$set" "$tool" 2
        tail -1 "$OUT/results" | awk -F'\t' '{ printf "%8.3f s  %6.1f MB  %s\n", $5, $6 * 1024 / 1e6, $7 }'
        # Single-process variants: for vipsheader (cheap, asked for), the
        # floor, and everything with --serial.
        if [[ $tool == vipsheader || $tool == floor || ($SERIAL == 1 && $tool != preflight*) ]]; then
            printf '  %-7s %-15s ' "$set" "$tool (P1)"
            measure "$set" "$tool" 1
            tail -1 "$OUT/results" | awk -F'\t' '{ printf "%8.3f s  %6.1f MB  %s\n", $5, $6 * 1024 / 1e6, $7 }'
        fi
    done
done

# What one preflight process costs before it probes anything (loading its
# shared libraries): it weighs most on small sets such as the 20 videos.
startup_walls=() startup_rss=0
for ((i = 0; i < REPEAT; i++)); do
    t0=$EPOCHREALTIME
    /usr/bin/time -o "$OUT/startup.rss" -f %M "$PREFLIGHT" --version >/dev/null
    startup_walls+=("$(elapsed "$t0" "$EPOCHREALTIME")")
    startup_rss=$(awk -v p="$startup_rss" '$1 ~ /^[0-9]+$/ && $1 > p { p = $1 } END { print p }' "$OUT/startup.rss")
done
STARTUP_WALL=$(printf '%s\n' "${startup_walls[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
printf '  %-7s %-15s %8.3f s  %6.1f MB  (preflight --version: %d shared libraries)\n' "-" "startup" \
    "$STARTUP_WALL" "$(awk -v k="$startup_rss" 'BEGIN { print k * 1024 / 1e6 }')" \
    "$(ldd "$PREFLIGHT" | grep -c '=>')"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------------
section "Results"
# Failures seen by preflight in its main runs (lines with "ok":false).
for set in images videos all; do
    bad=$(grep -c '"ok":false' "$OUT/$set.preflight.p2.out" || true)
    ((bad == 0)) || echo "preflight could not probe $bad file(s) of '$set': see $OUT/$set.preflight.p2.out.err"
done

# Tables and targets, from $OUT/results (set tool mode n wall rss status).
awk -F'\t' -v startup="$STARTUP_WALL" '
    { set[NR] = $1; tool[NR] = $2; mode[NR] = $3; n[NR] = $4; wall[NR] = $5; rss[NR] = $6; st[NR] = $7; bw[NR] = $8
      fps[NR] = $5 > 0 ? $4 / $5 : 0
      if ($2 == "preflight") { pf[$1] = NR }
      if ($2 == "floor" && $3 ~ /-P 2/) { fl[$1] = NR }
      if ($2 != "floor" && $2 !~ /^preflight/ && fps[NR] > best[$1]) { best[$1] = fps[NR]; bestname[$1] = $2 } }
    END {
        split("images videos all", sets, " ")
        for (s = 1; s <= 3; s++) {
            S = sets[s]; p = pf[S]
            printf "\n%s (%d files)\n", S, n[p]
            printf "  %-16s %-22s %10s %9s %9s %8s %8s  %s\n", "tool", "mode", "files/s", "wall s", "(best s)", "peak MB", "pf x", ""
            for (i = 1; i <= NR; i++) {
                if (set[i] != S) continue
                name = tool[i] (mode[i] ~ /-P 1/ ? " (P1)" : "")
                printf "  %-16s %-22s %10.1f %9.3f %9.3f %8.1f %8.2f  %s\n", name, mode[i], fps[i], wall[i], bw[i],
                       rss[i] * 1024 / 1e6, (fps[i] > 0 ? fps[p] / fps[i] : 0), (st[i] == "ok" ? "" : st[i])
            }
            f = fl[S]
            printf "  preflight vs floor: %.2fx the floor time (floor %.1f files/s)\n", wall[p] / wall[f], fps[f]
            if (wall[p] > startup)
                printf "  preflight without its %.0f ms startup: %.1f us/file (%.0f files/s); floor %.1f us/file\n",
                       startup * 1000, (wall[p] - startup) * 1e6 / n[p], n[p] / (wall[p] - startup),
                       wall[f] * 1e6 / n[f]
            t1[S] = (fps[p] >= 5 * best[S]); t2[S] = (rss[p] * 1024 < 30e6); t3[S] = (wall[p] <= 3 * wall[f])
            r1[S] = fps[p] / best[S]; r2[S] = rss[p] * 1024 / 1e6; r3[S] = wall[p] / wall[f]
        }
        printf "\nTargets (preflight probe, default jobs)\n"
        for (s = 1; s <= 3; s++) {
            S = sets[s]
            printf "  %-6s >=5x fastest other (%s): %6.2fx  %-4s | peak < 30 MB: %5.1f MB  %-4s | <=3x floor: %5.2fx  %s\n",
                S, bestname[S], r1[S], t1[S] ? "PASS" : "MISS", r2[S], t2[S] ? "PASS" : "MISS",
                r3[S], t3[S] ? "PASS" : "MISS"
        }
    }' "$OUT/results"

# ---------------------------------------------------------------------------
section "Correctness (width x height, sample of 50)"
# 40 images and 10 videos, evenly spaced through the sorted lists. The
# references: identify for images (its %w %h are the stored size, so they are
# swapped for EXIF orientations 5-8, because preflight reports the displayed
# size) and ffprobe for videos (swapped for a +-90 degree display matrix).
sample=$OUT/sample
awk -v k=40 'NR == FNR { n++; next } (FNR - 1) % int(n / k) == 0 && c < k { print; c++ }' \
    "$LISTS/images" "$LISTS/images" >"$sample"
awk -v k=10 'NR == FNR { n++; next } (FNR - 1) % int(n / k) == 0 && c < k { print; c++ }' \
    "$LISTS/videos" "$LISTS/videos" >>"$sample"
"$PREFLIGHT" probe --json - <"$sample" 2>/dev/null \
    | jq -r '[.file, (.width // "?"), (.height // "?")] | @tsv' >"$OUT/sample.pf" || true
: >"$OUT/sample.ref"
swapped=0
while IFS= read -r f; do
    if [[ $f == *.mp4 ]]; then
        read -r w h rot < <(ffprobe -v error -select_streams v:0 \
            -show_entries stream=width,height:stream_side_data=rotation -of json "$f" \
            | jq -r '.streams[0] | "\(.width) \(.height) \((.side_data_list // [])[0].rotation // 0)"')
        if ((rot == 90 || rot == -90 || rot == 270 || rot == -270)); then
            read -r w h <<<"$h $w"; swapped=$((swapped + 1))
        fi
    else
        read -r w h orient < <(identify -ping -format '%w %h %[orientation]\n' "$f" 2>/dev/null | head -1)
        case $orient in
            LeftTop|RightTop|RightBottom|LeftBottom) read -r w h <<<"$h $w"; swapped=$((swapped + 1)) ;;
        esac
    fi
    printf '%s\t%s\t%s\n' "$f" "$w" "$h" >>"$OUT/sample.ref"
done <"$sample"
mismatches=$(awk -F'\t' 'NR == FNR { ref[$1] = $2 "x" $3; next }
    { got = $2 "x" $3; if (!($1 in ref) || ref[$1] != got) { bad++; printf "  MISMATCH %s: preflight %s, reference %s\n", $1, got, ref[$1] > "/dev/stderr" }; seen[$1] = 1 }
    END { for (f in ref) if (!(f in seen)) { bad++; printf "  MISSING %s (no preflight result)\n", f > "/dev/stderr" } print bad + 0 }' \
    "$OUT/sample.ref" "$OUT/sample.pf")
echo "  $(wc -l <"$sample") files checked ($swapped with a 90-degree orientation/rotation, compared as displayed size)"
echo "  mismatches: $mismatches"

section "Done"
echo "total runtime: $(elapsed "$START" "$EPOCHREALTIME") s; raw results in $OUT/results, report in $REPORT"
