/*
 * The image fix: decode (shrinking on load when the plan allows), bake in
 * the EXIF orientation while cutting the crop, resample once with Lanczos,
 * pad, then encode at the highest JPEG quality that fits the size limit.
 * Metadata is never copied: the encoders write pixels and nothing else.
 *
 * The quality search treats file size as a smooth function of libjpeg's
 * quantiser scale S (200 - 2q percent for q >= 50): log size is close to
 * linear in log S. One encode at the top quality and one at the predicted
 * quality usually bracket the answer, and a third proves it is the highest
 * that fits: 3.6 encodes on average over limits spread evenly between the
 * sizes at q 50 and q 95 of photographs, film grain and test patterns, 7 at
 * worst (measured by replaying every quality's size).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fix_internal.h"
#include "../probe/probe_internal.h"

pf_err pf__image_alloc(pf_ctx *ctx, const char *name, int w, int h,
                       int channels, struct pf__image *img)
{
    size_t stride;

    memset(img, 0, sizeof *img);
    if (w <= 0 || h <= 0 || w > INT32_MAX / 8 || h > INT32_MAX / 8)
        return pf__error(ctx, PF_ELIMIT, "%s: %d×%d is not a size preflight "
                         "works with", name, w, h);
    stride = ((size_t)w * (size_t)channels + 63) & ~(size_t)63;
    if (stride > INT32_MAX || (size_t)h > (SIZE_MAX - 64) / stride)
        return pf__error(ctx, PF_ELIMIT, "%s: %d×%d is too large", name, w, h);
    /* The same ceiling FFmpeg's allocations have (preflight.h): a header
     * inside max_pixels may still claim more than one block should take. */
    if (stride * (size_t)h + 64 > PF_MAX_ALLOC)
        return pf__error(ctx, PF_ELIMIT, "%s: %d×%d pixels need more than "
                         "the %u MiB memory limit", name, w, h,
                         (unsigned)(PF_MAX_ALLOC >> 20));
    /* 64 spare bytes: SIMD resamplers may read a little past a row. */
    if (!(img->px = malloc(stride * (size_t)h + 64)))
        return pf__error(ctx, PF_ENOMEM, "%s: out of memory for %d×%d pixels",
                         name, w, h);
    img->w = w;
    img->h = h;
    img->channels = channels;
    img->stride = stride;
    img->owned = 1;
    return PF_OK;
}

void pf__image_free(struct pf__image *img)
{
    if (!img)
        return;
    if (img->owned)
        free(img->px);
    memset(img, 0, sizeof *img);
}

void pf__fix_output_free(struct pf__fix_output *out)
{
    if (!out)
        return;
    free(out->data);
    memset(out, 0, sizeof *out);
}

enum source_codec { SRC_JPEG, SRC_PNG, SRC_HEIF, SRC_OTHER };

static enum source_codec sniff(const uint8_t *d, size_t n)
{
    static const uint8_t png[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
        return SRC_JPEG;
    if (n >= 8 && memcmp(d, png, 8) == 0)
        return SRC_PNG;
    if (pf__heif_brand(d, n))
        return SRC_HEIF;
    return SRC_OTHER;
}

/* How much the plan shrinks the source: what DCT scaling may take. */
static double plan_scale(const struct pf__plan *p)
{
    if (p->pad)
        return fmax((double)p->img_w / p->src_w, (double)p->img_h / p->src_h);
    return fmax((double)p->out_w / p->crop_w, (double)p->out_h / p->crop_h);
}

/* The planned region of the displayed image, taken from the decoded
 * stored pixels (which may be smaller than the source when shrunk on
 * load). Without an orientation to apply it is a view, no copy; otherwise
 * the rotation or mirror and the crop are one pass. */
static pf_err orient_crop(pf_ctx *ctx, const char *name, const struct pf__image *st,
                          const struct pf__plan *p, struct pf__image *out)
{
    int o = p->orientation >= 2 && p->orientation <= 8 ? p->orientation : 1;
    int dw = o >= 5 ? st->h : st->w, dh = o >= 5 ? st->w : st->h;
    double fx = (double)dw / p->src_w, fy = (double)dh / p->src_h;
    int cx = (int)floor(p->crop_x * fx + 0.5), cy = (int)floor(p->crop_y * fy + 0.5);
    int cw = (int)floor(p->crop_w * fx + 0.5), ch = (int)floor(p->crop_h * fy + 0.5);
    int n = st->channels;
    pf_err rc;

    cw = cw < 1 ? 1 : cw > dw ? dw : cw;
    ch = ch < 1 ? 1 : ch > dh ? dh : ch;
    cx = cx < 0 ? 0 : cx > dw - cw ? dw - cw : cx;
    cy = cy < 0 ? 0 : cy > dh - ch ? dh - ch : cy;
    if (o == 1) {
        *out = *st;
        out->owned = 0;
        out->px = st->px + (size_t)cy * st->stride + (size_t)cx * (size_t)n;
        out->w = cw;
        out->h = ch;
        return PF_OK;
    }
    if ((rc = pf__image_alloc(ctx, name, cw, ch, n, out)))
        return rc;
    for (int y = 0; y < ch; y++) {
        uint8_t *row = out->px + (size_t)y * out->stride;

        for (int x = 0; x < cw; x++) {
            int dx = cx + x, dy = cy + y, sx, sy;

            /* Displayed (dx, dy) comes from stored (sx, sy). */
            switch (o) {
            case 2:  sx = st->w - 1 - dx; sy = dy; break;
            case 3:  sx = st->w - 1 - dx; sy = st->h - 1 - dy; break;
            case 4:  sx = dx; sy = st->h - 1 - dy; break;
            case 5:  sx = dy; sy = dx; break;
            case 6:  sx = dy; sy = st->h - 1 - dx; break;
            case 7:  sx = st->w - 1 - dy; sy = st->h - 1 - dx; break;
            default: sx = st->w - 1 - dy; sy = dx; break;    /* 8 */
            }
            memcpy(row + (size_t)x * n, st->px + (size_t)sy * st->stride +
                   (size_t)sx * n, (size_t)n);
        }
    }
    return PF_OK;
}

static int has_transparency(const struct pf__image *img)
{
    if (img->channels != 4)
        return 0;
    for (int y = 0; y < img->h; y++) {
        const uint8_t *row = img->px + (size_t)y * img->stride;

        for (int x = 0; x < img->w; x++)
            if (row[x * 4 + 3] != 255)
                return 1;
    }
    return 0;
}

/* RGBA composited onto a solid colour, as RGB. */
static pf_err flatten(pf_ctx *ctx, const char *name, const struct pf__image *in,
                      uint32_t rgb, struct pf__image *out)
{
    const int bg[3] = { (int)(rgb >> 16) & 255, (int)(rgb >> 8) & 255, (int)rgb & 255 };
    pf_err rc;

    if ((rc = pf__image_alloc(ctx, name, in->w, in->h, 3, out)))
        return rc;
    for (int y = 0; y < in->h; y++) {
        const uint8_t *s = in->px + (size_t)y * in->stride;
        uint8_t *d = out->px + (size_t)y * out->stride;

        for (int x = 0; x < in->w; x++, s += 4, d += 3) {
            int a = s[3];

            for (int c = 0; c < 3; c++)
                d[c] = (uint8_t)((s[c] * a + bg[c] * (255 - a) + 127) / 255);
        }
    }
    return PF_OK;
}

/* Replaces *img by its flattened copy. */
static pf_err flatten_in_place(pf_ctx *ctx, const char *name, struct pf__image *img,
                               uint32_t rgb)
{
    struct pf__image flat;
    pf_err rc;

    if ((rc = flatten(ctx, name, img, rgb, &flat)))
        return rc;
    pf__image_free(img);
    *img = flat;
    return PF_OK;
}

/* The canvas behind a padded image: the pad colour, or the image itself
 * enlarged to cover the canvas and blurred by going through a tiny copy. */
static pf_err fill_canvas(pf_ctx *ctx, const char *name, const struct pf__plan *p,
                          const struct pf__image *img, struct pf__image *canvas)
{
    struct pf__image cover, tiny;
    int64_t ow = p->out_w, oh = p->out_h;
    pf_err rc;

    if (!p->blur_fill) {
        uint8_t px[4] = { (uint8_t)(p->pad_rgb >> 16), (uint8_t)(p->pad_rgb >> 8),
                          (uint8_t)p->pad_rgb, 255 };

        if ((rc = pf__image_alloc(ctx, name, p->out_w, p->out_h, img->channels, canvas)))
            return rc;
        for (int y = 0; y < canvas->h; y++)
            for (int x = 0; x < canvas->w; x++)
                memcpy(canvas->px + (size_t)y * canvas->stride +
                       (size_t)x * canvas->channels, px, (size_t)canvas->channels);
        return PF_OK;
    }
    /* The centred part of the image with the canvas's aspect. */
    cover = *img;
    cover.owned = 0;
    if ((int64_t)img->w * oh > (int64_t)img->h * ow) {
        cover.w = (int)fmax(1, floor((double)img->h * ow / oh + 0.5));
        cover.px += (size_t)((img->w - cover.w) / 2) * (size_t)img->channels;
    } else {
        cover.h = (int)fmax(1, floor((double)img->w * oh / ow + 0.5));
        cover.px += (size_t)((img->h - cover.h) / 2) * img->stride;
    }
    if ((rc = pf__av_resize(ctx, name, &cover, (int)fmax(1, ow / 24), (int)fmax(1, oh / 24),
                            PF__RESAMPLE_AREA, &tiny)))
        return rc;
    rc = pf__av_resize(ctx, name, &tiny, p->out_w, p->out_h, PF__RESAMPLE_BILINEAR, canvas);
    pf__image_free(&tiny);
    return rc;
}

/* The output pixels of the plan from the region it keeps. */
static pf_err render(pf_ctx *ctx, const char *name, const struct pf__image *region,
                     const struct pf__plan *p, struct pf__image *out)
{
    int tw = p->pad ? p->img_w : p->out_w, th = p->pad ? p->img_h : p->out_h;
    struct pf__image scaled, canvas;
    pf_err rc;

    memset(out, 0, sizeof *out);
    if (region->w == tw && region->h == th) {
        scaled = *region;
        scaled.owned = 0;
    } else if ((rc = pf__av_resize(ctx, name, region, tw, th, PF__RESAMPLE_LANCZOS,
                                   &scaled))) {
        return rc;
    }
    if (!p->pad) {
        *out = scaled;
        return PF_OK;
    }
    if ((rc = fill_canvas(ctx, name, p, &scaled, &canvas))) {
        pf__image_free(&scaled);
        return rc;
    }
    for (int y = 0; y < scaled.h; y++)
        memcpy(canvas.px + (size_t)(p->img_y + y) * canvas.stride +
               (size_t)p->img_x * (size_t)canvas.channels,
               scaled.px + (size_t)y * scaled.stride,
               (size_t)scaled.w * (size_t)scaled.channels);
    pf__image_free(&scaled);
    *out = canvas;
    return PF_OK;
}

/* The log of libjpeg's quantiser scale (percent of the standard tables),
 * the axis along which log size is nearly straight. */
static double qaxis(int q)
{
    return log(q >= 50 ? 200.0 - 2 * q : 5000.0 / q);
}

/* The slope of log size along qaxis: measured from two encodes, or the
 * prior when they cannot tell. */
static double size_slope(int q1, size_t s1, int q2, size_t s2, double prior)
{
    double slope;

    if (!q1 || !q2 || q1 == q2 || s1 == s2)
        return prior;
    slope = (log((double)s2) - log((double)s1)) / (qaxis(q2) - qaxis(q1));
    return slope < -0.05 ? slope : prior;
}

/* The quality at which the size is predicted to reach target, going from
 * a measured point along the slope. */
static double predict_q(int q, size_t size, double slope, double target)
{
    double x = qaxis(q) + (log(target) - log((double)size)) / slope;

    return (200.0 - exp(x)) / 2;
}

pf_err pf__fix_jpeg_fit(pf_ctx *ctx, const char *name, const struct pf__image *img,
                        int64_t max_bytes, int q, double *slope,
                        struct pf__fix_output *out, size_t *smallest)
{
    int lo = 0, hi = 0, first_q = 0;
    size_t lo_len = 0, hi_len = 0, first_len = 0;
    pf_err rc = PF_OK;

    for (;;) {
        uint8_t *buf;
        size_t len;

        if ((rc = pf__jpeg_encode(ctx, name, img, q, &buf, &len)))
            goto out;
        out->encodes++;
        pf__log(ctx, "%s: JPEG q=%d: %zu bytes", name, q, len);
        if (!first_q) {
            first_q = q;
            first_len = len;
        }
        if (max_bytes < 0 || len <= (uint64_t)max_bytes) {
            free(out->data);
            out->data = buf;
            out->len = len;
            out->quality = q;
            lo = q;
            lo_len = len;
        } else {
            free(buf);
            hi = q;
            hi_len = len;
        }
        if (lo == PF__JPEG_Q_MAX || hi == PF__JPEG_Q_MIN || (lo && hi && hi - lo <= 1))
            break;
        {
            /* Aim at the boundary from the nearest measured side: the next
             * encode should land on one side of it, its neighbour on the
             * other. */
            int low = lo ? lo + 1 : PF__JPEG_Q_MIN, high = hi ? hi - 1 : PF__JPEG_Q_MAX;
            double pq;

            if (lo && hi)
                *slope = size_slope(lo, lo_len, hi, hi_len, *slope);
            else
                *slope = size_slope(first_q, first_len, q, len, *slope);
            pq = lo ? predict_q(lo, lo_len, *slope, (double)max_bytes)
                    : predict_q(hi, hi_len, *slope, (double)max_bytes);
            q = (int)floor(pq);
            q = q < low ? low : q > high ? high : q;
        }
    }
    if (!out->data) {
        *slope = size_slope(first_q, first_len, hi, hi_len, *slope);
        *smallest = hi_len;
    }
out:
    return rc;
}

/* Encodes img as planned. out->data stays NULL when the result is too
 * large at any setting; *smallest then says by how much. */
static pf_err encode(pf_ctx *ctx, const char *name, const struct pf__image *img,
                     const struct pf__plan *p, enum pf__format format, int first_q,
                     double *slope, struct pf__fix_output *out, size_t *smallest)
{
    int64_t max_bytes = p->lim->max_bytes;
    pf_err rc;

    if (format == PF__FMT_JPEG)
        return pf__fix_jpeg_fit(ctx, name, img, max_bytes, first_q, slope, out, smallest);
    if ((rc = pf__png_encode(ctx, name, img, &out->data, &out->len)))
        return rc;
    out->encodes++;
    pf__log(ctx, "%s: PNG: %zu bytes", name, out->len);
    if (max_bytes >= 0 && out->len > (uint64_t)max_bytes) {
        *smallest = out->len;
        free(out->data);
        out->data = NULL;
        out->len = 0;
    }
    return PF_OK;
}

static pf_err decode(pf_ctx *ctx, const char *name, const uint8_t *data, size_t len,
                     const struct pf__plan *p, struct pf__image *img)
{
    switch (sniff(data, len)) {
    case SRC_JPEG:
        return pf__jpeg_decode(ctx, name, data, len, p->max_pixels, plan_scale(p), img);
    case SRC_PNG:
        return pf__png_decode(ctx, name, data, len, p->max_pixels, img);
    case SRC_HEIF:
        return pf__heif_decode(ctx, name, data, len, p->max_pixels, img);
    default:
        return pf__av_decode_image(ctx, name, data, len, p->max_pixels, img);
    }
}

pf_err pf__fix_image(pf_ctx *ctx, const char *path, struct pf__plan *p,
                     struct pf__fix_output *out)
{
    char *data = NULL;
    size_t len = 0, smallest = 0;
    struct pf__image img = { 0 };
    enum pf__format format;
    int encodes = 0, first_q = PF__JPEG_Q_MAX;
    double slope = PF__JPEG_SLOPE_PRIOR;
    pf_err rc;

    memset(out, 0, sizeof *out);
    /* The probed size says it already: a decoder that learns the size
     * only by decoding (FFmpeg's WebP) would refuse with a bare EINVAL. */
    if ((int64_t)p->src_w * p->src_h > p->max_pixels) {
        rc = pf__error(ctx, PF_ELIMIT, "%s: %d×%d is more than the %lld pixels "
                       "preflight decodes", path, p->src_w, p->src_h,
                       (long long)p->max_pixels);
        goto out;
    }
    if ((rc = pf__read_text_file(ctx, path, PF__FIX_MAX_SOURCE_BYTES, &data, &len)))
        goto out;
    if ((rc = decode(ctx, path, (const uint8_t *)data, len, p, &img)))
        goto out;
    /* libheif has already turned the pixels as irot/imir say; the probe's
     * orientation describes the file, and applying it again would turn
     * the picture twice. */
    if (sniff((const uint8_t *)data, len) == SRC_HEIF)
        p->orientation = 0;
    free(data);
    data = NULL;
    /* An alpha channel that is opaque everywhere is not transparency. */
    if (img.channels == 4 && !has_transparency(&img) &&
        (rc = flatten_in_place(ctx, path, &img, 0)))
        goto out;
    format = pf__fix_choose_format(p->lim->formats, img.channels == 4);
    for (int attempt = 0; ; attempt++) {
        struct pf__image region, pixels;

        if (format == PF__FMT_JPEG && img.channels == 4 &&
            (rc = flatten_in_place(ctx, path, &img, p->pad_rgb)))
            goto out;
        if ((rc = orient_crop(ctx, path, &img, p, &region)))
            goto out;
        if ((rc = render(ctx, path, &region, p, &pixels))) {
            pf__image_free(&region);
            goto out;
        }
        out->encodes = 0;
        rc = encode(ctx, path, &pixels, p, format, first_q, &slope, out, &smallest);
        encodes += out->encodes;
        pf__image_free(&pixels);
        pf__image_free(&region);
        if (rc || out->data)
            break;
        if (attempt == 6) {
            rc = pf__error(ctx, PF_ECANNOT, "%s: cannot be made smaller than the "
                           "size limit of %lld bytes", path,
                           (long long)p->lim->max_bytes);
            goto out;
        }
        /* Too large at any quality: PNG gives way to JPEG where allowed,
         * else the picture gets smaller, by the area the bytes suggest. */
        if (format == PF__FMT_PNG && (p->lim->formats & PF__FMT_JPEG)) {
            format = PF__FMT_JPEG;
            continue;
        }
        {
            double factor = fmin(0.95, sqrt((double)p->lim->max_bytes / (double)smallest)
                                       * 0.95);
            double area = (double)p->out_w * p->out_h, pq;

            if ((rc = pf__fix_plan_shrink(ctx, p, factor, path)))
                goto out;
            /* Start the next search where the smaller picture's size at
             * the lowest quality, scaled by area, predicts the answer. */
            pq = predict_q(PF__JPEG_Q_MIN, (size_t)fmax(1, smallest * ((double)p->out_w *
                           p->out_h / area)), slope, (double)p->lim->max_bytes);
            first_q = (int)fmin(PF__JPEG_Q_MAX, fmax(PF__JPEG_Q_MIN, floor(pq)));
        }
    }
    if (rc)
        goto out;
    out->format = format;
    out->w = p->out_w;
    out->h = p->out_h;
    out->encodes = encodes;
out:
    free(data);
    pf__image_free(&img);
    if (rc)
        pf__fix_output_free(out);
    return rc;
}
