/*
 * The video fix: plan from the rules, then encode until the file fits.
 *
 * The picture is planned exactly as an image is (plan.c: the size, crop or
 * pad that meets the field's rules and the requested ratio), made even for
 * 4:2:0, and capped at the requested ratio's resolution when the ratio is
 * one ("1280:720"): the model renders at that size, so pixels beyond it
 * only take bytes from the ones it keeps. Frame rate, duration, frame
 * count, container, codec and sound are planned by asking the check's own
 * rule interpreter about candidate values, so a limit is read exactly as
 * the re-check will read it.
 *
 * The bit rate fills the size limit: what is left of it after the sound
 * and the container's index, spread over the duration, aiming at
 * PF__VIDEO_FILL of the limit. x264 in one-pass ABR with a VBV lands
 * within a few percent of that; a file that still comes out over the limit
 * is encoded again at the rate its own overshoot predicts (never handed
 * over), and one that wastes more than PF__VIDEO_FILL_MIN of the limit is
 * encoded once more at a higher rate, the smaller kept should the larger
 * overshoot. When the source's own bits per pixel would fit, the rate is
 * capped there instead: re-encoding cannot add detail, only bytes.
 *
 * Preset: x264's "medium" (PF__X264_PRESET). The output's size is fixed by
 * the rules, so what a preset buys is picture per byte: "medium" gives
 * about 15% less bit rate for the same quality than "veryfast" at a bit
 * under half its speed, and it is what ffmpeg users get by default, so the
 * benchmark compares like with like.
 *
 * When the streams already comply (H.264 with AAC or MP3 sound, the size
 * and timing within the rules) and only the container or the index
 * placement is wrong, the packets are copied into a new MP4: nothing is
 * decoded, nothing lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fix_internal.h"

/* The share of the size limit the first encode aims at, and the least a
 * size-bound result may use before it is encoded again. */
#define PF__VIDEO_FILL 0.95
#define PF__VIDEO_FILL_MIN 0.85
/* Below this many bits per pixel per frame H.264 falls apart; the picture
 * is made smaller instead. */
#define PF__VIDEO_MIN_BPP 0.02
/* Clips shorter than this many seconds are encoded with a VBV. */
#define PF__VIDEO_VBV_BELOW 20.0

/* The failing rule of the field on metric (canonical name; NULL: any rule
 * measured from the file) for these facts, or NULL when all pass. Rules
 * that cannot measure the facts pass here; the re-check of the written
 * file judges them. */
static const struct pf__media_rule *failing_rule(const struct pf__limits *lim,
                                                 const pf_media_info *info,
                                                 const char *metric)
{
    struct pf__subject subject = { info, "file" };

    for (size_t i = 0; i < lim->rule_count; i++) {
        const struct pf__media_rule *r = &lim->rules[i];
        const char *name = pf__metric_name(r->id);
        cJSON *actual = NULL;
        enum pf__verdict verdict;

        if (r->state != PF__RULE_OK || !name || r->id == PF__M_URL_SCHEME ||
            (metric && strcmp(name, metric) != 0))
            continue;
        verdict = pf__media_rule_eval(r, &subject, &actual);
        cJSON_Delete(actual);
        if (verdict == PF__FAIL)
            return r;
    }
    return NULL;
}

/* "duration_seconds> 5 (The video must be longer than 5 s.)" */
static void describe_rule(const struct pf__media_rule *r, char *buf, size_t size)
{
    cJSON *value = pf__media_rule_limit(r);
    char *limit = value ? cJSON_PrintUnformatted(value) : NULL;

    snprintf(buf, size, "%s %s%s%s%s", r->key, limit ? limit : "",
             r->message ? " (" : "", r->message ? r->message : "", r->message ? ")" : "");
    free(limit);
    cJSON_Delete(value);
}

/* The frame rate to write when the source's breaks a rule: of the common
 * rates and the limits as written, the one nearest the source's that
 * passes every rate and frame-count rule (frames are then dropped, or shown
 * twice to reach a minimum); a rate a hair inside an exclusive limit only
 * when nothing else passes. */
static int plan_fps(const struct pf__limits *lim, const pf_media_info *info,
                    double duration, int *num, int *den)
{
    static const int common[][2] = {
        { 120, 1 }, { 60, 1 }, { 60000, 1001 }, { 50, 1 }, { 48, 1 }, { 30, 1 },
        { 30000, 1001 }, { 25, 1 }, { 24, 1 }, { 24000, 1001 }, { 20, 1 }, { 15, 1 },
        { 12, 1 }, { 10, 1 }, { 8, 1 }, { 6, 1 }, { 5, 1 }, { 4, 1 }, { 2, 1 }, { 1, 1 },
    };
    int cand[64][2], hair[64], n = 0, best = -1;
    double best_d = INFINITY;
    pf_media_info t = *info;

    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++) {
        cand[n][0] = common[i][0];
        cand[n][1] = common[i][1];
        hair[n++] = 0;
    }
    for (size_t r = 0; r < lim->rule_count; r++) {
        const struct pf__media_rule *rule = &lim->rules[r];
        int k;

        if (rule->state != PF__RULE_OK || rule->id != PF__M_FPS ||
            rule->number <= 0.01 || rule->number > 1000 || n + 3 > 64)
            continue;
        k = (int)lrint(rule->number * 1000);
        cand[n][0] = k;
        cand[n][1] = 1000;
        hair[n++] = 0;
        cand[n][0] = k - 1;
        cand[n][1] = 1000;
        hair[n++] = 1;
        cand[n][0] = k + 1;
        cand[n][1] = 1000;
        hair[n++] = 1;
    }
    for (int pass = 0; pass < 2 && best < 0; pass++)
        for (int i = 0; i < n; i++) {
            double f = (double)cand[i][0] / cand[i][1];
            /* Nearest in ratio; a lower rate wins a tie (fewer frames). */
            double d = fabs(log(f / info->fps)) + (f > info->fps ? 1e-9 : 0);

            if (hair[i] != pass || f <= 0 || d >= best_d)
                continue;
            t.fps = f;
            t.frame_count = duration > 0 ? (int64_t)floor(duration * f + 0.5) : -1;
            if (failing_rule(lim, &t, "fps") || failing_rule(lim, &t, "frame_count"))
                continue;
            best = i;
            best_d = d;
        }
    if (best < 0)
        return -1;
    *num = cand[best][0];
    *den = cand[best][1];
    return 0;
}

/* The most frames at rate fps (and so the longest duration) that every
 * duration and frame-count rule passes, no more than the source has. */
static int64_t plan_frames(const struct pf__limits *lim, const pf_media_info *info,
                           double fps, int64_t have)
{
    pf_media_info t = *info;

    t.fps = fps;
    for (int64_t n = have; n >= 1; n--) {
        t.frame_count = n;
        t.duration = (double)n / fps;
        if (!failing_rule(lim, &t, "duration_seconds") &&
            !failing_rule(lim, &t, "frame_count"))
            return n;
        /* Jump close to the limit rather than walk a long video down. */
        if (n > 64 && n == have) {
            int64_t lo = 1, hi = n - 1;

            while (lo < hi) {
                int64_t mid = lo + (hi - lo + 1) / 2;

                t.frame_count = mid;
                t.duration = (double)mid / fps;
                if (!failing_rule(lim, &t, "duration_seconds") &&
                    !failing_rule(lim, &t, "frame_count"))
                    lo = mid;
                else
                    hi = mid - 1;
            }
            n = lo + 1;
        }
    }
    return 0;
}

/* "1280:720" as a resolution the model renders at; 0 for a bare aspect
 * such as "16:9". */
static int ratio_resolution(const char *text, int *w, int *h)
{
    char *end;
    long a, b;

    if (!text)
        return 0;
    a = strtol(text, &end, 10);
    if (*end != ':' && *end != 'x')
        return 0;
    b = strtol(end + 1, &end, 10);
    if (*end || a < 128 || b < 128 || a > 16384 || b > 16384)
        return 0;
    *w = (int)a;
    *h = (int)b;
    return 1;
}

static int remuxable_codecs(const pf_media_info *info, int audio)
{
    if (strcmp(info->codec, "h264") != 0)
        return 0;
    return !info->has_audio || !audio || strcmp(info->audio_codec, "aac") == 0 ||
           strcmp(info->audio_codec, "mp3") == 0;
}

static const char *format_label(enum pf__format f)
{
    return f == PF__FMT_MOV ? "mov" : "mp4";
}

/* The bit rates of the first attempt, from the size limit, the source's
 * own rate and the sound. */
static void plan_rates(struct pf__video_plan *vp, const pf_media_info *info,
                       const struct pf__av_facts *facts)
{
    double dur = vp->duration > 0 ? vp->duration : 1;
    double frames = dur * (vp->fps > 0 ? vp->fps : 25);
    double pixels = (double)vp->geo.out_w * vp->geo.out_h;
    int mono = facts->audio_channels == 1;
    double audio = 0, floor_audio = mono ? 24000 : 32000;

    if (vp->audio && vp->has_audio) {
        audio = mono ? 64000 : 128000;
        /* Never more than the source had: it cannot sound better. */
        if (facts->audio_bit_rate > 0)
            audio = fmin(audio, fmax(floor_audio, (double)facts->audio_bit_rate));
    }
    vp->size_bound = 0;
    vp->video_rate = 0;
    if (vp->max_bytes >= 0) {
        /* The MP4 index costs a few bytes per sample. */
        double overhead = 2048 + frames * 12 + (audio > 0 ? dur * 48000 / 1024 * 8 : 0);
        double bits = ((double)vp->max_bytes * PF__VIDEO_FILL - overhead) * 8;

        /* The sound may take a tenth of a tight budget, not more. */
        if (audio * dur > bits * 0.1)
            audio = fmax(floor_audio, bits * 0.1 / dur);
        vp->video_rate = (int64_t)fmax(8000, bits / dur - audio);
        vp->size_bound = 1;
    }
    {
        /* The source's bits per pixel, kept: enough for what it holds. */
        double src = facts->video_bit_rate > 0 ? (double)facts->video_bit_rate
                   : info->bit_rate > 0 ? info->bit_rate - (double)facts->audio_bit_rate : 0;
        double src_pixels = (double)info->width * info->height;
        double fps = vp->fps > 0 ? vp->fps : 25, src_fps = info->fps > 0 ? info->fps : fps;

        if (src > 0 && src_pixels > 0) {
            double same = src * (pixels * fps) / (src_pixels * src_fps) *
                          (strcmp(info->codec, "h264") == 0 ||
                           strcmp(info->codec, "mpeg4") == 0 ? 1.0 : 1.5);

            same = fmax(same, 0.05 * pixels * fps);
            if (!vp->size_bound || same < (double)vp->video_rate) {
                vp->video_rate = (int64_t)same;
                vp->size_bound = 0;
            }
        }
    }
    vp->audio_rate = (int64_t)audio;
}

pf_err pf__fix_plan_video(pf_ctx *ctx, const struct pf__limits *lim,
                          const pf_media_info *info, const char *name,
                          const pf_fix_options *opts, const char *ratio_text,
                          double ratio, struct pf__video_plan *vp)
{
    pf_media_info t = *info;
    struct pf__av_facts facts;
    const struct pf__media_rule *bad;
    char rule[400];
    int64_t have, keep;
    int same_timing, rw, rh;
    pf_err rc;

    memset(vp, 0, sizeof *vp);
    vp->lim = *lim;
    /* The image planner's format choice means nothing here. */
    vp->lim.formats = PF__FMT_JPEG;
    vp->rotation = info->rotation;
    vp->src_duration = info->duration;
    vp->src_fps = info->fps > 0 ? info->fps : 25;
    vp->has_audio = info->has_audio;
    vp->first_rate_factor = 1;
    if (info->width <= 0 || info->height <= 0)
        return pf__error(ctx, PF_ECANNOT, "%s: the video's frame size is unknown", name);

    /* Container and codec: ours must be accepted. */
    pf__strlcpy(t.format, "mp4", sizeof t.format);
    vp->format = PF__FMT_MP4;
    if (failing_rule(lim, &t, "format")) {
        pf__strlcpy(t.format, "mov", sizeof t.format);
        vp->format = PF__FMT_MOV;
        if (failing_rule(lim, &t, "format"))
            return pf__error(ctx, PF_ECANNOT, "%s: the field accepts neither MP4 nor "
                             "MOV, the containers preflight writes", name);
    }
    pf__strlcpy(t.codec, "h264", sizeof t.codec);
    if ((bad = failing_rule(lim, &t, "codec"))) {
        describe_rule(bad, rule, sizeof rule);
        return pf__error(ctx, PF_ECANNOT, "%s: the field does not accept H.264, the "
                         "codec preflight writes: %s", name, rule);
    }
    t = *info;

    /* Sound: dropped only when a rule says so; never made up. */
    vp->audio = 1;
    if (failing_rule(lim, info, "has_audio")) {
        t.has_audio = !info->has_audio;
        if (!info->has_audio)
            return pf__error(ctx, PF_ECANNOT, "%s: the field wants a video with sound "
                             "and this one has none", name);
        if (!failing_rule(lim, &t, "has_audio"))
            vp->audio = 0;
    }
    t = *info;

    /* Timing: the rate first, then how much of the video to keep. */
    vp->fps = vp->src_fps;
    if ((bad = failing_rule(lim, info, "fps"))) {
        if (plan_fps(lim, info, info->duration, &vp->fps_num, &vp->fps_den) != 0) {
            describe_rule(bad, rule, sizeof rule);
            return pf__error(ctx, PF_ECANNOT, "%s: no frame rate passes the field's "
                             "rules: %s", name, rule);
        }
        vp->fps = (double)vp->fps_num / vp->fps_den;
    }
    vp->max_frames = -1;
    vp->duration = info->duration;
    if (info->duration > 0) {
        have = (int64_t)floor(info->duration * vp->fps + 0.5);
        if (have < 1)
            have = 1;
        keep = plan_frames(lim, info, vp->fps, have);
        if (opts->max_duration > 0 && keep > (int64_t)floor(opts->max_duration * vp->fps + 1e-6))
            keep = (int64_t)floor(opts->max_duration * vp->fps + 1e-6);
        if (keep < 1) {
            t.fps = vp->fps;
            t.frame_count = have;
            bad = failing_rule(lim, &t, "duration_seconds");
            if (!bad)
                bad = failing_rule(lim, &t, "frame_count");
            if (bad) {
                describe_rule(bad, rule, sizeof rule);
                return pf__error(ctx, PF_ECANNOT, "%s: %.3g s long, and the field's rules "
                                 "want %s: a video cannot be made longer", name,
                                 info->duration, rule);
            }
            return pf__error(ctx, PF_ECANNOT, "%s: the maximum duration leaves nothing of it", name);
        }
        if (keep < have) {
            vp->max_frames = keep;
            vp->duration = (double)keep / vp->fps;
            /* Counting frames needs a frame grid: the source's rate kept. */
            if (!vp->fps_num) {
                vp->fps_num = (int)lrint(vp->src_fps * 1001);
                vp->fps_den = 1001;
                if (fabs(vp->src_fps - lrint(vp->src_fps)) < 1e-3) {
                    vp->fps_num = (int)lrint(vp->src_fps);
                    vp->fps_den = 1;
                }
            }
        }
    }
    same_timing = !vp->fps_num && vp->max_frames < 0;

    /* The picture, as an image would be planned. */
    if ((rc = pf__fix_plan_image(ctx, &vp->lim, &t, name, opts, ratio_text, ratio,
                                 &vp->geo)))
        return rc;
    pf__strlcpy(t.format, format_label(vp->format), sizeof t.format);
    /* Everything complies but the wrapping: copy the streams. */
    vp->remux = same_timing && vp->audio && !vp->geo.aspect_changed && !vp->geo.pad &&
                vp->geo.out_w == info->width && vp->geo.out_h == info->height &&
                remuxable_codecs(info, vp->audio) && !failing_rule(lim, &t, NULL);
    vp->max_bytes = lim->max_bytes;
    {
        /* A bit-rate ceiling is a size limit over the duration, with the
         * container's share of the duration to spare. */
        for (size_t r = 0; r < lim->rule_count; r++) {
            const struct pf__media_rule *br = &lim->rules[r];
            double bytes;

            if (br->state != PF__RULE_OK || br->id != PF__M_BITRATE_KBPS ||
                (br->op != PF__OP_LT && br->op != PF__OP_LE) || vp->duration <= 0)
                continue;
            bytes = br->number * 125 * vp->duration * 0.97;
            if (vp->max_bytes < 0 || bytes < (double)vp->max_bytes)
                vp->max_bytes = (int64_t)bytes;
        }
    }
    /* A re-encode renders at most at the requested ratio's resolution. */
    if (ratio > 0 && opts->fit != PF_FIT_NONE && ratio_resolution(ratio_text, &rw, &rh) &&
        rw >= vp->lim.min_w && rh >= vp->lim.min_h &&
        (vp->geo.out_w > rw || vp->geo.out_h > rh)) {
        vp->lim.max_w = vp->lim.max_w < rw ? vp->lim.max_w : rw;
        vp->lim.max_h = vp->lim.max_h < rh ? vp->lim.max_h : rh;
        if ((rc = pf__fix_plan_image(ctx, &vp->lim, &t, name, opts, ratio_text, ratio,
                                     &vp->geo)))
            return rc;
    }
    if ((rc = pf__fix_plan_even(ctx, &vp->geo, name)))
        return rc;
    if ((rc = pf__av_video_facts(ctx, name, vp->geo.max_pixels, &facts)))
        return rc;
    plan_rates(vp, info, &facts);
    /* An index and a key frame need some bytes; a limit below what even a
     * thumbnail-sized picture takes is not worth an encode. */
    if (vp->max_bytes >= 0 &&
        (double)vp->max_bytes < 4096 + vp->duration * (vp->fps > 0 ? vp->fps : 25) * 40)
        return pf__error(ctx, PF_ECANNOT, "%s: the size limit of %lld bytes is too small "
                         "for %.3g s of video", name, (long long)vp->max_bytes, vp->duration);
    /* Too few bits for this many pixels: fewer, sharper pixels. */
    if (vp->size_bound) {
        double bpp = (double)vp->video_rate /
                     ((double)vp->geo.out_w * vp->geo.out_h * (vp->fps > 0 ? vp->fps : 25));

        if (bpp < PF__VIDEO_MIN_BPP &&
            pf__fix_plan_shrink(ctx, &vp->geo, sqrt(bpp / PF__VIDEO_MIN_BPP), name) == PF_OK &&
            pf__fix_plan_even(ctx, &vp->geo, name) == PF_OK)
            plan_rates(vp, info, &facts);
        pf__clear_error(ctx);
    }
    return PF_OK;
}

/* ---- acting ---- */

static void fill_job(const struct pf__video_plan *vp, const char *path, const char *dst,
                     const char *dst_name, int64_t rate, int attempt, struct pf__av_job *job)
{
    const struct pf__plan *g = &vp->geo;

    memset(job, 0, sizeof *job);
    job->src = path;
    job->dst = dst;
    job->dst_name = dst_name;
    job->muxer = format_label(vp->format);
    job->rotation = vp->rotation;
    job->disp_w = g->src_w;
    job->disp_h = g->src_h;
    job->crop_x = g->crop_x;
    job->crop_y = g->crop_y;
    job->crop_w = g->crop_w;
    job->crop_h = g->crop_h;
    job->img_x = g->pad ? g->img_x : 0;
    job->img_y = g->pad ? g->img_y : 0;
    job->img_w = g->pad ? g->img_w : g->out_w;
    job->img_h = g->pad ? g->img_h : g->out_h;
    job->out_w = g->out_w;
    job->out_h = g->out_h;
    job->pad = g->pad;
    job->pad_rgb = g->pad_rgb;
    job->blur_fill = g->blur_fill;
    job->fps_num = vp->fps_num;
    job->fps_den = vp->fps_den;
    job->max_frames = vp->max_frames;
    job->max_duration = vp->max_frames >= 0 ? vp->duration : 0;
    job->audio_seconds = vp->max_frames >= 0 ? vp->duration : 0;
    job->audio = vp->audio;
    job->video_rate = rate;
    /* x264's one-pass ABR settles in the first seconds: over a 4-second
     * clip it ran 35% past its rate, over 30 seconds within 2%. A short
     * clip gets a VBV a little above the average with a short buffer (half
     * a second kept a 3-second clip within 3% of its rate); a long one
     * goes without, since the VBV costs x264 about 6% more time and the
     * size check catches what ABR misses. */
    if (vp->duration < PF__VIDEO_VBV_BELOW) {
        job->max_rate = rate * 3 / 2;
        job->buffer = (int64_t)((double)rate * fmin(2.0, fmax(0.5, vp->duration / 8)));
    }
    job->audio_rate = vp->audio_rate;
    job->max_pixels = g->max_pixels;
    job->expect_duration = vp->duration;
    job->expect_frames = vp->duration > 0 ? (int64_t)floor(vp->duration * vp->fps + 0.5) : -1;
    job->progress = vp->progress;
    job->userdata = vp->progress_userdata;
    job->field = vp->field;
    job->attempt = attempt;
}

pf_err pf__fix_video(pf_ctx *ctx, const char *path, struct pf__video_plan *vp,
                     const char *dst, const char *dst_name, struct pf__fix_output *out)
{
    struct pf__av_job job;
    struct pf__av_written w, kept_w;
    char *kept = NULL;
    int64_t rate = (int64_t)((double)vp->video_rate * vp->first_rate_factor);
    int64_t kept_rate = 0, max = vp->max_bytes;
    int encodes = 0, raised = 0, shrinks = 0;
    pf_err rc = PF_OK;

    memset(out, 0, sizeof *out);
    memset(&kept_w, 0, sizeof kept_w);
    if (vp->remux) {
        fill_job(vp, path, dst, dst_name, 0, 1, &job);
        if ((rc = pf__av_remux(ctx, &job, &w)))
            goto out;
        if (max < 0 || w.bytes <= max) {
            out->remuxed = 1;
            out->w = vp->geo.src_w;
            out->h = vp->geo.src_h;
            goto done;
        }
        pf__log(ctx, "%s: remuxed to %lld bytes, over the limit: re-encoding", path,
                (long long)w.bytes);
    }
    for (int attempt = 1; ; attempt++) {
        fill_job(vp, path, dst, dst_name, rate, attempt, &job);
        if ((rc = pf__av_transcode(ctx, &job, &w))) {
            /* x264 refuses what it cannot do at all; after shrinking,
             * that means the limit is out of reach. */
            if (rc == PF_EINTERNAL && shrinks)
                rc = pf__error(ctx, PF_ECANNOT, "%s: cannot be made smaller than the "
                               "size limit of %lld bytes", path, (long long)max);
            goto out;
        }
        encodes++;
        pf__log(ctx, "%s: encode %d at %lld b/s: %lld bytes (limit %lld)", path, attempt,
                (long long)rate, (long long)w.bytes, (long long)max);
        if (max < 0 || w.bytes <= max) {
            /* Under, but far under: the quality paid for is not there. One
             * more encode, aimed from this one; the smaller is kept in
             * case the larger overshoots. */
            if (vp->size_bound && !raised && attempt < PF__VIDEO_ATTEMPTS &&
                (double)w.bytes < PF__VIDEO_FILL_MIN * (double)max && w.video_bytes > 0) {
                double target = PF__VIDEO_FILL * (double)max - (double)(w.bytes - w.video_bytes);

                if (!(kept = pf__asprintf("%s.kept", dst))) {
                    rc = pf__error(ctx, PF_ENOMEM, "out of memory");
                    goto out;
                }
                if (rename(dst, kept) != 0) {
                    rc = pf__error(ctx, PF_EIO, "%s: cannot set an attempt aside: %s",
                                   dst_name, strerror(errno));
                    goto out;
                }
                kept_w = w;
                kept_rate = rate;
                raised = 1;
                rate = (int64_t)((double)rate * fmin(3.0, target / (double)w.video_bytes));
                continue;
            }
            break;
        }
        if (kept) {
            /* The higher rate overshot: the earlier file it is. */
            if (rename(kept, dst) != 0) {
                rc = pf__error(ctx, PF_EIO, "%s: cannot restore an attempt: %s",
                               dst_name, strerror(errno));
                goto out;
            }
            free(kept);
            kept = NULL;
            w = kept_w;
            rate = kept_rate;
            break;
        }
        if (attempt >= PF__VIDEO_ATTEMPTS) {
            rc = pf__error(ctx, PF_ECANNOT, "%s: still %lld bytes after %d encodes, over "
                           "the limit of %lld", path, (long long)w.bytes, encodes,
                           (long long)max);
            goto out;
        }
        {
            /* Aim again from what this attempt measured: the video's own
             * bytes scale with the rate, the rest does not. */
            double other = (double)(w.bytes - w.video_bytes);
            double target = PF__VIDEO_FILL * (double)max - other;
            double factor = w.video_bytes > 0 ? target / (double)w.video_bytes : 0.5;

            factor = fmin(0.97, fmax(0.2, factor));
            rate = (int64_t)((double)rate * factor);
            /* x264 cannot go much below a few bits per pixel; past that
             * the picture has to shrink. */
            if (target <= 0 || (double)rate < PF__VIDEO_MIN_BPP / 2 * vp->geo.out_w *
                vp->geo.out_h * (vp->fps > 0 ? vp->fps : 25)) {
                if (shrinks++ >= 3 ||
                    (rc = pf__fix_plan_shrink(ctx, &vp->geo, 0.7, path)) ||
                    (rc = pf__fix_plan_even(ctx, &vp->geo, path))) {
                    rc = pf__error(ctx, PF_ECANNOT, "%s: cannot be made smaller than the "
                                   "size limit of %lld bytes", path, (long long)max);
                    goto out;
                }
                rate = (int64_t)fmax(rate, PF__VIDEO_MIN_BPP * vp->geo.out_w *
                                     vp->geo.out_h * (vp->fps > 0 ? vp->fps : 25));
            }
        }
    }
    out->w = vp->geo.out_w;
    out->h = vp->geo.out_h;
    out->video_rate = rate;
done:
    out->format = vp->format;
    out->len = (size_t)w.bytes;
    out->encodes = encodes;
    out->duration = vp->duration;
    out->fps = vp->fps;
out:
    if (kept) {
        unlink(kept);
        free(kept);
    }
    return rc;
}

/* ---- the index ---- */

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

int pf__fix_video_index_at_end(const char *path)
{
    int fd = open(path, O_RDONLY), result = 0;
    off_t pos = 0;

    if (fd < 0)
        return 0;
    /* Top-level boxes: size, type, and a 64-bit size when size is 1. A
     * bounded walk: files have a handful of them. */
    for (int i = 0; i < 4096; i++) {
        uint8_t h[16];
        uint64_t size;

        if (pread(fd, h, sizeof h, pos) < 8)
            break;
        if (memcmp(h + 4, "moov", 4) == 0)
            break;
        if (memcmp(h + 4, "mdat", 4) == 0) {
            result = 1;
            break;
        }
        size = be(h, 4);
        if (size == 1)
            size = be(h + 8, 8);
        if (size < 8 || size > (uint64_t)INT64_MAX - (uint64_t)pos)
            break;
        pos += (off_t)size;
    }
    close(fd);
    return result;
}

/* ---- words ---- */

static void upper(char *dst, size_t size, const char *s)
{
    size_t i = 0;

    for (; s[i] && i + 1 < size; i++)
        dst[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 'a' + 'A' : s[i]);
    dst[i] = '\0';
}

static char *video_summary(const pf_media_info *in, const struct pf__video_plan *p,
                           const struct pf__fix_output *o)
{
    const struct pf__plan *g = &p->geo;
    char from_size[32], to_size[32] = "", from_fmt[32], codec[32], how[160] = "", rate[48] = "";
    char timing[64] = "", extra[48] = "", to_fmt[8];
    size_t n;

    pf_format_size(from_size, sizeof from_size, in->file_size);
    upper(from_fmt, sizeof from_fmt, in->format);
    upper(codec, sizeof codec, in->codec);
    upper(to_fmt, sizeof to_fmt, format_label(p->format));
    if (o) {
        to_size[0] = ' ';
        pf_format_size(to_size + 1, sizeof to_size - 1, (int64_t)o->len);
    }
    if (p->remux && (!o || o->remuxed))
        return pf__asprintf("%d×%d %s %s %s → %s%s (streams copied, index at the front)",
                            in->width, in->height, from_fmt, codec, from_size, to_fmt,
                            to_size);
    if (g->pad)
        snprintf(how, sizeof how, "pad %d px", (g->out_w - g->img_w) + (g->out_h - g->img_h));
    else if (g->crop_w != g->src_w || g->crop_h != g->src_h)
        snprintf(how, sizeof how, "crop %d px", (g->src_w - g->crop_w) + (g->src_h - g->crop_h));
    else
        snprintf(how, sizeof how, "crop 0");
    n = strlen(how);
    if (p->rotation)
        n += (size_t)snprintf(how + n, sizeof how - n, ", turned %d°", p->rotation);
    if (g->enlarged && n < sizeof how)
        n += (size_t)snprintf(how + n, sizeof how - n, ", enlarged");
    if (p->fps_num && fabs(p->fps - p->src_fps) > 1e-3 && n < sizeof how)
        n += (size_t)snprintf(how + n, sizeof how - n, ", %.4g → %.4g fps", p->src_fps, p->fps);
    if (p->max_frames >= 0 && n < sizeof how)
        n += (size_t)snprintf(how + n, sizeof how - n, ", trimmed to %.2f s", p->duration);
    if (p->has_audio && !p->audio && n < sizeof how)
        snprintf(how + n, sizeof how - n, ", sound dropped");
    if (in->duration > 0)
        snprintf(timing, sizeof timing, " %.1f s", in->duration);
    {
        int64_t r = o ? o->video_rate : p->video_rate;

        if (r > 0)
            snprintf(rate, sizeof rate, " at %.2f Mb/s", (double)r / 1e6);
        else
            snprintf(rate, sizeof rate, " at constant quality");
    }
    if (o)
        snprintf(extra, sizeof extra, ", %d encode%s", o->encodes, o->encodes == 1 ? "" : "s");
    return pf__asprintf("%d×%d %s %s %s%s → %d×%d %s H264%s %.1f s%s (%s%s)", in->width,
                        in->height, from_fmt, codec, from_size, timing, g->out_w, g->out_h,
                        to_fmt, to_size, p->duration > 0 ? p->duration : 0, rate, how,
                        extra);
}

/* The summary's numbers read the same in every locale ("2.50 s"). */
char *pf__fix_video_summary(const pf_media_info *in, const struct pf__video_plan *p,
                            const struct pf__fix_output *o)
{
    void *locale = pf__c_locale_begin();
    char *s = video_summary(in, p, o);

    pf__c_locale_end(locale);
    return s;
}
