/*
 * Planning a fix: what the rules of a media field allow, read as the check
 * reads them, and the output size, crop or pad that gets an image there
 * with the least loss. Pure arithmetic: no I/O, no pixels.
 *
 * Limits are read into integer bounds for a first guess, but a size is
 * only accepted when the check's own evaluator (pf__media_rule_eval) passes
 * it, so a bound read one pixel wrong can cost a pixel, never a rejected
 * file.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fix_internal.h"

/* Largest integer n with n op limit (op < or <=), as a double. */
static double upper_int(enum pf__op op, double limit)
{
    double n = floor(limit);

    if (op == PF__OP_LT && n >= limit)
        n -= 1;
    return n;
}

/* Smallest integer n with n op limit (op > or >=). */
static double lower_int(enum pf__op op, double limit)
{
    double n = ceil(limit);

    if (op == PF__OP_GT && n <= limit)
        n += 1;
    return n;
}

static int clamp_int(double v)
{
    if (v >= INT_MAX)
        return INT_MAX;
    if (v <= 1)
        return 1;
    return (int)v;
}

static void tighten_max(int *bound, double v)
{
    int n = clamp_int(v);

    if (n < *bound)
        *bound = n;
}

static void tighten_min(int *bound, double v)
{
    int n = clamp_int(v);

    if (n > *bound)
        *bound = n;
}

/* The largest byte count the check passes under an upper file-size rule,
 * found with the check's own arithmetic (bytes / unit op limit) so the
 * boundary is exact: "file_size_mb<" 4.7 gives 4,699,999. */
static int64_t max_bytes_for(enum pf__op op, double limit, double unit)
{
    double n = floor(limit * unit);

    if (n > 9e15)
        return INT64_MAX;
    while (n >= 0 && !(op == PF__OP_LT ? n / unit < limit : n / unit <= limit))
        n -= 1;
    while (op == PF__OP_LT ? (n + 1) / unit < limit : (n + 1) / unit <= limit)
        n += 1;
    return n < 0 ? 0 : (int64_t)n;
}

static unsigned format_bit(const char *name)
{
    if (strcasecmp(name, "jpeg") == 0 || strcasecmp(name, "jpg") == 0)
        return PF__FMT_JPEG;
    if (strcasecmp(name, "png") == 0)
        return PF__FMT_PNG;
    return 0;
}

/* The writable formats a format rule's value names. */
static unsigned format_bits(const struct pf__media_rule *r)
{
    unsigned bits = 0;

    for (size_t i = 0; i < r->string_count; i++)
        bits |= format_bit(r->strings[i]);
    return bits;
}

static void read_rule(struct pf__limits *lim, const struct pf__media_rule *rule,
                      const char *metric)
{
    int upper = rule->op == PF__OP_LT || rule->op == PF__OP_LE;
    int lower = rule->op == PF__OP_GT || rule->op == PF__OP_GE;
    int exact = rule->op == PF__OP_EQ;
    double v;

    if (strcmp(metric, "format") == 0) {
        if (rule->op == PF__OP_EQ)
            lim->formats &= format_bits(rule);
        else if (rule->op == PF__OP_NE)
            lim->formats &= ~format_bits(rule);
        return;
    }
    if (rule->kind != PF__LIMIT_NUMBER || !isfinite(rule->number))
        return;
    v = rule->number;
    if (strcmp(metric, "width_pixels") == 0 || strcmp(metric, "height_pixels") == 0) {
        int is_w = metric[0] == 'w';

        if (upper || exact)
            tighten_max(is_w ? &lim->max_w : &lim->max_h,
                        exact ? floor(v) : upper_int(rule->op, v));
        if (lower || exact)
            tighten_min(is_w ? &lim->min_w : &lim->min_h,
                        exact ? ceil(v) : lower_int(rule->op, v));
    } else if (strcmp(metric, "long_side_pixels") == 0 && upper) {
        tighten_max(&lim->max_long, upper_int(rule->op, v));
    } else if (strcmp(metric, "short_side_pixels") == 0 && lower) {
        tighten_min(&lim->min_short, lower_int(rule->op, v));
    } else if (strcmp(metric, "total_pixels") == 0 || strcmp(metric, "megapixels") == 0) {
        double px = metric[0] == 'm' ? v * 1e6 : v;

        if (upper && px < lim->max_area)
            lim->max_area = px;
        if (lower && px > lim->min_area)
            lim->min_area = px;
    } else if (strcmp(metric, "width/height") == 0 || strcmp(metric, "height/width") == 0) {
        int inverse = metric[0] == 'h', excl = rule->op == PF__OP_LT || rule->op == PF__OP_GT;
        double a = inverse ? (v > 0 ? 1.0 / v : INFINITY) : v;
        /* height/width < x is width/height > 1/x. */
        int is_hi = inverse ? lower : upper, is_lo = inverse ? upper : lower;

        if ((is_hi || exact) && a <= lim->aspect_hi) {
            lim->aspect_hi = a;
            lim->hi_exclusive = excl;
        }
        if ((is_lo || exact) && a >= lim->aspect_lo) {
            lim->aspect_lo = a;
            lim->lo_exclusive = excl;
        }
    } else if (strcmp(metric, "long/short") == 0 || strcmp(metric, "short/long") == 0) {
        /* Orientation-free (fal's min/max_aspect_ratio): long/short <= x
         * allows width/height from 1/x to x, as does short/long >= 1/x. */
        int inverse = metric[0] == 's', excl = rule->op == PF__OP_LT || rule->op == PF__OP_GT;
        double r = inverse ? (v > 0 ? 1.0 / v : INFINITY) : v;

        if ((inverse ? lower : upper) && r >= 1 && isfinite(r)) {
            if (r <= lim->aspect_hi) {
                lim->aspect_hi = r;
                lim->hi_exclusive = excl;
            }
            if (1.0 / r >= lim->aspect_lo) {
                lim->aspect_lo = 1.0 / r;
                lim->lo_exclusive = excl;
            }
        }
    } else if (upper && strncmp(metric, "file_size", 9) == 0) {
        /* Units as the check reads an upper limit: decimal MB and kB. */
        double unit = strcmp(metric, "file_size_mb") == 0 ? 1e6
                    : strcmp(metric, "file_size_kb") == 0 ? 1e3
                    : strcmp(metric, "file_size_mib") == 0 ? 1048576.0 : 1.0;
        int64_t n = max_bytes_for(rule->op, v, unit);

        if (lim->max_bytes < 0 || n < lim->max_bytes)
            lim->max_bytes = n;
    }
    /* Anything else (lower size limits, durations, codecs) is not a thing
     * an image fix can act on; the re-check of the output judges it. */
}

void pf__fix_limits(const struct pf__media_field *m, struct pf__limits *lim)
{
    memset(lim, 0, sizeof *lim);
    lim->min_w = lim->min_h = lim->min_short = 1;
    lim->max_w = lim->max_h = lim->max_long = INT_MAX;
    lim->max_area = lim->aspect_hi = INFINITY;
    lim->max_bytes = -1;
    lim->formats = PF__FMT_JPEG | PF__FMT_PNG;
    lim->rules = m->rules;
    lim->rule_count = m->rule_count;
    for (size_t i = 0; i < m->rule_count; i++) {
        const char *metric = pf__metric_name(m->rules[i].id);

        if (m->rules[i].state == PF__RULE_OK && metric)
            read_rule(lim, &m->rules[i], metric);
    }
}

static int is_dimension_metric(enum pf__metric m)
{
    switch (m) {
    case PF__M_WIDTH: case PF__M_HEIGHT: case PF__M_ASPECT: case PF__M_INV_ASPECT:
    case PF__M_SHORT_SIDE: case PF__M_LONG_SIDE: case PF__M_PIXELS: case PF__M_MEGAPIXELS:
    case PF__M_SHORT_LONG: case PF__M_LONG_SHORT:
        return 1;
    default:
        return 0;
    }
}

int pf__fix_dims_pass(const struct pf__limits *lim, int w, int h)
{
    pf_media_info info;
    struct pf__subject subject = { &info, "file" };

    if (w < 1 || h < 1)
        return 0;
    memset(&info, 0, sizeof info);
    info.kind = PF_MEDIA_IMAGE;
    info.width = info.coded_width = w;
    info.height = info.coded_height = h;
    info.file_size = -1;
    info.duration = info.fps = -1;
    info.frame_count = info.bit_rate = -1;
    for (size_t i = 0; i < lim->rule_count; i++) {
        cJSON *actual = NULL;
        enum pf__verdict verdict;

        if (!is_dimension_metric(lim->rules[i].id))
            continue;
        verdict = pf__media_rule_eval(&lim->rules[i], &subject, &actual);
        cJSON_Delete(actual);
        if (verdict == PF__FAIL)
            return 0;
    }
    return 1;
}

enum pf__format pf__fix_choose_format(unsigned formats, int alpha)
{
    if (alpha && (formats & PF__FMT_PNG))
        return PF__FMT_PNG;
    if (formats & PF__FMT_JPEG)
        return PF__FMT_JPEG;
    if (formats & PF__FMT_PNG)
        return PF__FMT_PNG;
    return 0;
}

/* "1280:768" as the reduced 5:3; 0 when it is not two positive integers. */
static int parse_rational(const char *text, long *p, long *q)
{
    char *end;
    long a, b, x, y;

    if (!text)
        return 0;
    a = strtol(text, &end, 10);
    if (end == text || (*end != ':' && *end != 'x' && *end != '/'))
        return 0;
    b = strtol(end + 1, &end, 10);
    if (*end || a <= 0 || b <= 0)
        return 0;
    for (x = a, y = b; y; ) {
        long t = x % y;

        x = y;
        y = t;
    }
    *p = a / x;
    *q = b / x;
    return 1;
}

/* The nearest size to w×h that passes the rules: a pixel or two either
 * way, preferring to shrink when cropping and to grow when padding, so a
 * ratio of exactly 3 under "width/height< 3" becomes 1499×500, not a
 * rescale. 0 when nothing within reach passes. */
static int repair(const struct pf__limits *lim, int *w, int *h, int prefer_grow)
{
    enum { R = 6 };
    int best_w = 0, best_h = 0, best_score = INT_MAX;

    if (pf__fix_dims_pass(lim, *w, *h))
        return 1;
    for (int dw = -R; dw <= R; dw++)
        for (int dh = -R; dh <= R; dh++) {
            int against = prefer_grow ? (dw < 0) + (dh < 0) : (dw > 0) + (dh > 0);
            int score = (abs(dw) + abs(dh)) * 4 + against * 2;

            if (score >= best_score || !pf__fix_dims_pass(lim, *w + dw, *h + dh))
                continue;
            best_score = score;
            best_w = *w + dw;
            best_h = *h + dh;
        }
    if (best_score == INT_MAX)
        return 0;
    *w = best_w;
    *h = best_h;
    return 1;
}

static int iround(double v)
{
    return v >= INT_MAX ? INT_MAX : (int)floor(v + 0.5);
}

/* Where the source goes, once the output size is known: the centred region
 * of the output's aspect (crop), or the whole source fitted inside the
 * canvas (pad). A region within two pixels of the output size is taken at
 * exactly that size, so a pure crop is never resampled. */
static void geometry(struct pf__plan *p)
{
    int64_t sw = p->src_w, sh = p->src_h, ow = p->out_w, oh = p->out_h;

    p->crop_x = p->crop_y = 0;
    p->crop_w = p->src_w;
    p->crop_h = p->src_h;
    p->img_x = p->img_y = 0;
    p->img_w = p->out_w;
    p->img_h = p->out_h;
    if (!p->aspect_changed)
        return;
    if (p->pad) {
        if (sw * oh > sh * ow) {
            p->img_w = p->out_w;
            p->img_h = iround((double)ow * sh / sw);
        } else {
            p->img_h = p->out_h;
            p->img_w = iround((double)oh * sw / sh);
        }
        if (abs(p->img_w - p->src_w) <= 2 && abs(p->img_h - p->src_h) <= 2 &&
            p->src_w <= p->out_w && p->src_h <= p->out_h) {
            p->img_w = p->src_w;
            p->img_h = p->src_h;
        }
        p->img_w = p->img_w < 1 ? 1 : p->img_w > p->out_w ? p->out_w : p->img_w;
        p->img_h = p->img_h < 1 ? 1 : p->img_h > p->out_h ? p->out_h : p->img_h;
        p->img_x = (p->out_w - p->img_w) / 2;
        p->img_y = (p->out_h - p->img_h) / 2;
        return;
    }
    if (sw * oh > sh * ow) {
        p->crop_h = p->src_h;
        p->crop_w = iround((double)sh * ow / oh);
    } else {
        p->crop_w = p->src_w;
        p->crop_h = iround((double)sw * oh / ow);
    }
    if (abs(p->crop_w - p->out_w) <= 2 && abs(p->crop_h - p->out_h) <= 2 &&
        p->out_w <= p->src_w && p->out_h <= p->src_h) {
        p->crop_w = p->out_w;
        p->crop_h = p->out_h;
    }
    p->crop_w = p->crop_w < 1 ? 1 : p->crop_w > p->src_w ? p->src_w : p->crop_w;
    p->crop_h = p->crop_h < 1 ? 1 : p->crop_h > p->src_h ? p->src_h : p->crop_h;
    p->crop_x = (p->src_w - p->crop_w) / 2;
    p->crop_y = (p->src_h - p->crop_h) / 2;
}

/* Whether pixels are made up: the kept source is scaled to more pixels
 * than it has. */
static int enlarges(const struct pf__plan *p)
{
    if (p->pad)
        return (int64_t)p->img_w * p->img_h > (int64_t)p->src_w * p->src_h;
    return (int64_t)p->out_w * p->out_h > (int64_t)p->crop_w * p->crop_h;
}

/* An aspect just inside [lo, hi]: the bound itself when inclusive, a
 * hair inside when exclusive (repair() then settles the pixel). */
static double clamp_aspect(const struct pf__limits *lim, double a)
{
    if (a > lim->aspect_hi || (lim->hi_exclusive && a >= lim->aspect_hi))
        return lim->hi_exclusive ? lim->aspect_hi * (1 - 1e-6) : lim->aspect_hi;
    if (a < lim->aspect_lo || (lim->lo_exclusive && a <= lim->aspect_lo))
        return lim->lo_exclusive ? lim->aspect_lo * (1 + 1e-6) : lim->aspect_lo;
    return a;
}

pf_err pf__fix_plan_image(pf_ctx *ctx, const struct pf__limits *lim,
                          const pf_media_info *info, const char *name,
                          const pf_fix_options *opts, const char *ratio_text,
                          double ratio, struct pf__plan *p)
{
    double a, aim, bw, bh, smax, smin, s;
    long rp = 0, rq = 0;
    int exact = 0, ow, oh;

    memset(p, 0, sizeof *p);
    p->lim = lim;
    p->src_w = info->width;
    p->src_h = info->height;
    p->orientation = info->orientation;
    p->pad_rgb = opts->pad_rgb;
    p->blur_fill = opts->blur_fill;
    p->max_pixels = opts->max_pixels > 0 ? opts->max_pixels : PF__FIX_MAX_PIXELS;
    if (p->src_w <= 0 || p->src_h <= 0)
        return pf__error(ctx, PF_ECANNOT, "%s: the image's size is unknown", name);
    if (!(p->format = pf__fix_choose_format(lim->formats, info->has_alpha)))
        return pf__error(ctx, PF_ECANNOT, "%s: the field accepts neither JPEG nor PNG, "
                         "the formats preflight writes", name);

    /* The aspect to aim for: the requested ratio when the image is framed
     * by it and differs enough for the check to advise, else the nearest
     * one the rules allow, else the image's own. */
    a = (double)p->src_w / p->src_h;
    aim = a;
    if (ratio > 0 && opts->fit != PF_FIT_NONE &&
        fabs(a / ratio - 1.0) > PF__RATIO_TOLERANCE) {
        aim = clamp_aspect(lim, ratio);
        exact = aim == ratio && parse_rational(ratio_text, &rp, &rq);
    } else {
        aim = clamp_aspect(lim, a);
    }
    p->aspect_changed = aim != a;
    p->pad = p->aspect_changed && opts->fit == PF_FIT_PAD;

    /* The source region (crop) or canvas (pad) at the aim, in source
     * pixels, then the one scale that brings it within every limit. */
    bw = p->src_w;
    bh = p->src_h;
    if (p->aspect_changed) {
        if ((a > aim) == !p->pad)
            bw = bh * aim;
        else
            bh = bw / aim;
    }
    smax = fmin(fmin((double)lim->max_w / bw, (double)lim->max_h / bh),
                (double)lim->max_long / fmax(bw, bh));
    smax = fmin(smax, sqrt(lim->max_area / (bw * bh)));
    smax = fmin(smax, sqrt((double)p->max_pixels / (bw * bh)));
    smin = fmax(fmax((double)lim->min_w / bw, (double)lim->min_h / bh),
                (double)lim->min_short / fmin(bw, bh));
    smin = fmax(smin, sqrt(lim->min_area / (bw * bh)));
    if (smin > smax * (1 + 1e-9))
        return pf__error(ctx, PF_ECANNOT, "%s: no size meets both the minimum and "
                         "the maximum the rules set for a %.4g aspect", name, aim);
    s = fmin(1.0, smax);
    if (smin > s)
        s = smin;
    ow = iround(bw * s);
    oh = iround(bh * s);
    ow = ow > lim->max_w ? lim->max_w : ow < lim->min_w ? lim->min_w : ow;
    oh = oh > lim->max_h ? lim->max_h : oh < lim->min_h ? lim->min_h : oh;

    /* The requested ratio exactly (5:3 as 6665×3999) when that costs under
     * one percent of either side. */
    if (exact) {
        long k = (long)fmin((double)ow / rp, (double)oh / rq);

        if (k >= 1 && k * rp >= 0.99 * ow && k * rq >= 0.99 * oh &&
            k * rp <= INT_MAX && k * rq <= INT_MAX &&
            pf__fix_dims_pass(lim, (int)(k * rp), (int)(k * rq))) {
            ow = (int)(k * rp);
            oh = (int)(k * rq);
        }
    }
    if (!repair(lim, &ow, &oh, p->pad))
        return pf__error(ctx, PF_ECANNOT, "%s: no output size near %d×%d passes "
                         "the field's size and aspect rules", name, ow, oh);
    p->out_w = ow;
    p->out_h = oh;
    geometry(p);
    p->enlarged = enlarges(p);
    return PF_OK;
}

pf_err pf__fix_plan_shrink(pf_ctx *ctx, struct pf__plan *p, double factor,
                           const char *name)
{
    int ow = (int)floor(p->out_w * factor), oh = (int)floor(p->out_h * factor);

    if (ow < 1 || oh < 1 || !repair(p->lim, &ow, &oh, 0) ||
        ow >= p->out_w || oh >= p->out_h)
        return pf__error(ctx, PF_ECANNOT, "%s: too large for the size limit even "
                         "at the lowest quality, and no smaller size passes the "
                         "field's rules", name);
    p->out_w = ow;
    p->out_h = oh;
    geometry(p);
    p->enlarged = enlarges(p);
    return PF_OK;
}

pf_err pf__fix_plan_even(pf_ctx *ctx, struct pf__plan *p, const char *name)
{
    int best_w = 0, best_h = 0, best = INT_MAX;

    /* The nearest even pair that passes, a step down preferred over a
     * step up (a pixel lost beats a pixel made up). */
    for (int dw = -1; dw <= 1; dw++)
        for (int dh = -1; dh <= 1; dh++) {
            int w = p->out_w + dw, h = p->out_h + dh;
            int score = abs(dw) * 2 + abs(dh) * 2 + (dw > 0) + (dh > 0);

            if ((w & 1) || (h & 1) || w < 2 || h < 2 || score >= best ||
                !pf__fix_dims_pass(p->lim, w, h))
                continue;
            best = score;
            best_w = w;
            best_h = h;
        }
    if (best == INT_MAX)
        return pf__error(ctx, PF_ECANNOT, "%s: no even size near %d×%d passes the "
                         "field's size and aspect rules", name, p->out_w, p->out_h);
    if (best_w != p->out_w || best_h != p->out_h) {
        p->out_w = best_w;
        p->out_h = best_h;
        /* A pixel or two cut from the edge, not the picture stretched. */
        p->aspect_changed = 1;
        geometry(p);
    }
    if (p->pad) {
        p->img_w = p->img_w & ~1 ? p->img_w & ~1 : 2;
        p->img_h = p->img_h & ~1 ? p->img_h & ~1 : 2;
        p->img_x = (p->out_w - p->img_w) / 2 & ~1;
        p->img_y = (p->out_h - p->img_h) / 2 & ~1;
    }
    p->enlarged = enlarges(p);
    return PF_OK;
}
