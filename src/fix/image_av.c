/*
 * The FFmpeg libraries in the fixer: the first frame of the still-image
 * formats libjpeg and libpng do not read (WebP, GIF, BMP, TIFF), decoded
 * with libavformat and libavcodec from memory; and every resampling, with
 * libswscale's Lanczos filter.
 *
 * The source is already in memory and only image demuxers are allowed, so
 * a file cannot make the demuxer open other files or read without end; the
 * decoder refuses frames of more than max_pixels before allocating them.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "fix_internal.h"

#define PF__AV_IMAGE_FORMATS \
    "gif,gif_pipe,webp_pipe,bmp_pipe,tiff_pipe,png_pipe,jpeg_pipe,image2"
#define PF__AV_IO_BUF 65536

static pthread_once_t pf__av_fix_once = PTHREAD_ONCE_INIT;

/* A library must not print. The probe installs its own logger too; both
 * agree on silence. */
static void pf__av_fix_init(void)
{
    pf__av_global_init();
}

struct mem_io {
    const uint8_t *data;
    size_t len, pos;
};

static int mem_read(void *opaque, uint8_t *buf, int size)
{
    struct mem_io *m = opaque;
    size_t n = m->len - m->pos;

    if (size <= 0 || n == 0)
        return AVERROR_EOF;
    if (n > (size_t)size)
        n = (size_t)size;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (int)n;
}

static int64_t mem_seek(void *opaque, int64_t offset, int whence)
{
    struct mem_io *m = opaque;
    int64_t pos;

    whence &= ~AVSEEK_FORCE;
    if (whence == AVSEEK_SIZE)
        return (int64_t)m->len;
    if (whence == SEEK_SET)
        pos = offset;
    else if (whence == SEEK_CUR)
        pos = (int64_t)m->pos + offset;
    else if (whence == SEEK_END)
        pos = (int64_t)m->len + offset;
    else
        return AVERROR(EINVAL);
    if (pos < 0 || pos > (int64_t)m->len)
        return AVERROR(EINVAL);
    m->pos = (size_t)pos;
    return pos;
}

static void av_reason(int err, char *buf, size_t size)
{
    if (av_strerror(err, buf, size) < 0)
        snprintf(buf, size, "error %d", err);
}

/* Converts a decoded frame to packed RGB or RGBA of the same size. */
static pf_err frame_to_rgb(pf_ctx *ctx, const char *name, const AVFrame *frame,
                           struct pf__image *img)
{
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(frame->format);
    int alpha = desc && ((desc->flags & AV_PIX_FMT_FLAG_ALPHA) ||
                         frame->format == AV_PIX_FMT_PAL8);
    struct SwsContext *sws;
    uint8_t *dst[4] = { NULL };
    int dst_stride[4] = { 0 };
    pf_err rc;

    if ((rc = pf__image_alloc(ctx, name, frame->width, frame->height,
                              alpha ? 4 : 3, img)))
        return rc;
    sws = sws_getContext(frame->width, frame->height, frame->format,
                         frame->width, frame->height,
                         alpha ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24,
                         SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT |
                         SWS_FULL_CHR_H_INP, NULL, NULL, NULL);
    if (!sws) {
        pf__image_free(img);
        return pf__error(ctx, PF_EFORMAT, "%s: cannot convert %s pixels", name,
                         desc ? desc->name : "unknown");
    }
    dst[0] = img->px;
    dst_stride[0] = (int)img->stride;
    sws_scale(sws, (const uint8_t *const *)frame->data, frame->linesize, 0,
              frame->height, dst, dst_stride);
    sws_freeContext(sws);
    return PF_OK;
}

pf_err pf__av_decode_image(pf_ctx *ctx, const char *name, const uint8_t *data,
                           size_t len, int64_t max_pixels,
                           struct pf__image *img)
{
    struct mem_io mem = { data, len, 0 };
    AVFormatContext *fmt = NULL;
    AVIOContext *pb = NULL;
    AVCodecContext *dec = NULL;
    const AVCodec *codec = NULL;
    AVDictionary *opts = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    uint8_t *iobuf = NULL;
    char reason[128], limit[32];
    int stream, err, got = 0, eof = 0;
    pf_err rc = PF_OK;

    memset(img, 0, sizeof *img);
    pthread_once(&pf__av_fix_once, pf__av_fix_init);
    if (!pkt || !frame || !(fmt = avformat_alloc_context()) ||
        !(iobuf = av_malloc(PF__AV_IO_BUF)) ||
        !(pb = avio_alloc_context(iobuf, PF__AV_IO_BUF, 0, &mem, mem_read, NULL,
                                  mem_seek))) {
        av_free(iobuf);
        rc = pf__error(ctx, PF_ENOMEM, "%s: out of memory", name);
        goto out;
    }
    fmt->pb = pb;
    fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    av_dict_set(&opts, "format_whitelist", PF__AV_IMAGE_FORMATS, 0);
    if ((err = avformat_open_input(&fmt, NULL, NULL, &opts)) < 0) {
        av_reason(err, reason, sizeof reason);
        rc = pf__error(ctx, PF_EFORMAT, "%s: not an image preflight can decode (%s)",
                       name, reason);
        goto out;               /* avformat_open_input freed fmt */
    }
    stream = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (stream < 0 || !codec) {
        rc = pf__error(ctx, PF_EFORMAT, "%s: no picture to decode", name);
        goto out;
    }
    {
        const AVCodecParameters *par = fmt->streams[stream]->codecpar;

        if ((int64_t)par->width * par->height > max_pixels) {
            rc = pf__error(ctx, PF_ELIMIT, "%s: %d×%d is more than the %lld pixels "
                           "preflight decodes", name, par->width, par->height,
                           (long long)max_pixels);
            goto out;
        }
        if (!(dec = avcodec_alloc_context3(codec)) ||
            avcodec_parameters_to_context(dec, par) < 0) {
            rc = pf__error(ctx, PF_ENOMEM, "%s: out of memory", name);
            goto out;
        }
    }
    /* The headers of pipe demuxers often carry no size: the decoder itself
     * must refuse a huge frame before allocating it. */
    snprintf(limit, sizeof limit, "%lld", (long long)max_pixels);
    av_dict_free(&opts);
    av_dict_set(&opts, "max_pixels", limit, 0);
    av_dict_set(&opts, "threads", "1", 0);
    if ((err = avcodec_open2(dec, codec, &opts)) < 0) {
        av_reason(err, reason, sizeof reason);
        rc = pf__error(ctx, PF_EFORMAT, "%s: cannot open the %s decoder (%s)", name,
                       codec->name, reason);
        goto out;
    }
    while (!got) {
        if (!eof) {
            err = av_read_frame(fmt, pkt);
            if (err == AVERROR_EOF) {
                eof = 1;
                err = avcodec_send_packet(dec, NULL);
            } else if (err >= 0) {
                err = pkt->stream_index == stream ? avcodec_send_packet(dec, pkt) : 0;
                av_packet_unref(pkt);
            }
            if (err < 0 && err != AVERROR(EAGAIN))
                break;
        }
        err = avcodec_receive_frame(dec, frame);
        if (err >= 0)
            got = 1;
        else if (err != AVERROR(EAGAIN) || eof)
            break;
    }
    if (!got) {
        av_reason(err, reason, sizeof reason);
        rc = pf__error(ctx, err == AVERROR(EINVAL) || err == AVERROR(ERANGE)
                       ? PF_ELIMIT : PF_ECORRUPT,
                       "%s: cannot decode %s: %s", name, codec->name, reason);
        goto out;
    }
    if ((int64_t)frame->width * frame->height > max_pixels || frame->width <= 0 ||
        frame->height <= 0) {
        rc = pf__error(ctx, PF_ELIMIT, "%s: %d×%d is more than the %lld pixels "
                       "preflight decodes", name, frame->width, frame->height,
                       (long long)max_pixels);
        goto out;
    }
    rc = frame_to_rgb(ctx, name, frame, img);
out:
    av_dict_free(&opts);
    avcodec_free_context(&dec);
    if (fmt)
        avformat_close_input(&fmt);
    if (pb) {
        av_freep(&pb->buffer);
        avio_context_free(&pb);
    }
    av_frame_free(&frame);
    av_packet_free(&pkt);
    return rc;
}

/* Packed RGB(A) rows to and from separate planes. libswscale resamples
 * planar RGB with its vectorised per-plane path, more than twice as fast
 * as its packed RGB path; the split is done a band of rows at a time as
 * libswscale takes its input in slices, so only the output is ever held
 * twice. */
#define PF__SLICE_ROWS 64

/* GBRP plane order is G, B, R (then A); each pixel is visited once, its
 * channels written to their planes, which compilers vectorise. */
static void split_rows(const struct pf__image *img, int y0, int rows,
                       uint8_t *const planes[4], size_t plane_stride)
{
    for (int y = 0; y < rows; y++) {
        const uint8_t *s = img->px + (size_t)(y0 + y) * img->stride;
        uint8_t *g = planes[0] + (size_t)y * plane_stride;
        uint8_t *b = planes[1] + (size_t)y * plane_stride;
        uint8_t *r = planes[2] + (size_t)y * plane_stride;

        if (img->channels == 4) {
            uint8_t *a = planes[3] + (size_t)y * plane_stride;

            for (int x = 0; x < img->w; x++, s += 4) {
                r[x] = s[0];
                g[x] = s[1];
                b[x] = s[2];
                a[x] = s[3];
            }
        } else {
            for (int x = 0; x < img->w; x++, s += 3) {
                r[x] = s[0];
                g[x] = s[1];
                b[x] = s[2];
            }
        }
    }
}

static void merge_planes(uint8_t *const planes[4], size_t plane_stride,
                         struct pf__image *img)
{
    for (int y = 0; y < img->h; y++) {
        uint8_t *d = img->px + (size_t)y * img->stride;
        const uint8_t *g = planes[0] + (size_t)y * plane_stride;
        const uint8_t *b = planes[1] + (size_t)y * plane_stride;
        const uint8_t *r = planes[2] + (size_t)y * plane_stride;

        if (img->channels == 4) {
            const uint8_t *a = planes[3] + (size_t)y * plane_stride;

            for (int x = 0; x < img->w; x++, d += 4) {
                d[0] = r[x];
                d[1] = g[x];
                d[2] = b[x];
                d[3] = a[x];
            }
        } else {
            for (int x = 0; x < img->w; x++, d += 3) {
                d[0] = r[x];
                d[1] = g[x];
                d[2] = b[x];
            }
        }
    }
}

static pf_err resize_once(pf_ctx *ctx, const char *name,
                          const struct pf__image *src, int w, int h,
                          enum pf__resample filter, struct pf__image *out)
{
    enum AVPixelFormat pf = src->channels == 4 ? AV_PIX_FMT_GBRAP : AV_PIX_FMT_GBRP;
    int flags = (filter == PF__RESAMPLE_AREA ? SWS_AREA
                 : filter == PF__RESAMPLE_BILINEAR ? SWS_BILINEAR : SWS_LANCZOS) |
                SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP;
    size_t in_ps = ((size_t)src->w + 63) & ~(size_t)63, out_ps = ((size_t)w + 63) & ~(size_t)63;
    struct SwsContext *sws = NULL;
    uint8_t *in_buf = NULL, *out_buf = NULL, *in[4] = { NULL }, *dst[4] = { NULL };
    int in_stride[4] = { 0 }, dst_stride[4] = { 0 };
    pf_err rc;

    memset(out, 0, sizeof *out);
    pthread_once(&pf__av_fix_once, pf__av_fix_init);
    if ((rc = pf__image_alloc(ctx, name, w, h, src->channels, out)))
        return rc;
    if (in_ps > INT32_MAX || out_ps > INT32_MAX ||
        !(in_buf = malloc(in_ps * PF__SLICE_ROWS * (size_t)src->channels + 64)) ||
        !(out_buf = malloc(out_ps * (size_t)h * (size_t)src->channels + 64))) {
        rc = pf__error(ctx, PF_ENOMEM, "%s: out of memory resampling to %d×%d", name, w, h);
        goto out;
    }
    if (!(sws = sws_getContext(src->w, src->h, pf, w, h, pf, flags, NULL, NULL, NULL))) {
        rc = pf__error(ctx, PF_ENOMEM, "%s: cannot resample %d×%d to %d×%d", name,
                       src->w, src->h, w, h);
        goto out;
    }
    for (int c = 0; c < src->channels; c++) {
        in[c] = in_buf + (size_t)c * in_ps * PF__SLICE_ROWS;
        dst[c] = out_buf + (size_t)c * out_ps * (size_t)h;
        in_stride[c] = (int)in_ps;
        dst_stride[c] = (int)out_ps;
    }
    /* Slices in order, top to bottom, as sws_scale requires. */
    for (int y = 0; y < src->h; y += PF__SLICE_ROWS) {
        int rows = src->h - y < PF__SLICE_ROWS ? src->h - y : PF__SLICE_ROWS;

        split_rows(src, y, rows, in, in_ps);
        sws_scale(sws, (const uint8_t *const *)in, in_stride, y, rows, dst, dst_stride);
    }
    merge_planes(dst, out_ps, out);
out:
    sws_freeContext(sws);
    free(in_buf);
    free(out_buf);
    if (rc)
        pf__image_free(out);
    return rc;
}

/* The largest reduction one libswscale pass is given. Fed in slices of
 * PF__SLICE_ROWS rows, libswscale 6 (FFmpeg 5.1) reads out of bounds once
 * a vertical filter outgrows its ring of lines: Lanczos past a ~25x
 * reduction (a 4000-pixel photo made 100 pixels tall; found by fuzz_fix
 * on a 16x12090 WebP), bilinear past ~60x, area past ~100x. Larger
 * reductions go in area-averaging steps of at most this factor first,
 * which is also what keeps a large reduction from aliasing. */
#define PF__MAX_PASS_REDUCTION 8

pf_err pf__av_resize(pf_ctx *ctx, const char *name,
                     const struct pf__image *src, int w, int h,
                     enum pf__resample filter, struct pf__image *out)
{
    struct pf__image step[2] = { { 0 }, { 0 } };
    const struct pf__image *cur = src;
    int k = 0;
    pf_err rc = PF_OK;

    memset(out, 0, sizeof *out);
    if (w <= 0 || h <= 0)
        return resize_once(ctx, name, src, w, h, filter, out);
    while ((int64_t)cur->w > (int64_t)w * PF__MAX_PASS_REDUCTION ||
           (int64_t)cur->h > (int64_t)h * PF__MAX_PASS_REDUCTION) {
        int sw = cur->w / PF__MAX_PASS_REDUCTION > w ? cur->w / PF__MAX_PASS_REDUCTION : w;
        int sh = cur->h / PF__MAX_PASS_REDUCTION > h ? cur->h / PF__MAX_PASS_REDUCTION : h;

        /* Round up: a step never reduces by more than the factor. */
        if (sw > w && (int64_t)sw * PF__MAX_PASS_REDUCTION < cur->w)
            sw++;
        if (sh > h && (int64_t)sh * PF__MAX_PASS_REDUCTION < cur->h)
            sh++;
        pf__image_free(&step[k]);
        if ((rc = resize_once(ctx, name, cur, sw, sh, PF__RESAMPLE_AREA, &step[k])))
            goto out;
        cur = &step[k];
        k ^= 1;
    }
    rc = resize_once(ctx, name, cur, w, h, filter, out);
out:
    pf__image_free(&step[0]);
    pf__image_free(&step[1]);
    return rc;
}
