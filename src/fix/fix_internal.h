/*
 * The fix module: pf_fix() (fix.c) runs the check, plans a fix for each
 * media input that breaks a rule of its field or the requested ratio
 * (plan.c), acts on it (fix_image.c for images; video will sit beside it
 * as fix_video.c with the same shape: plan in, encoded file out), then
 * holds the output to the same rules with the check engine before it is
 * renamed into place.
 *
 * Each third-party library is quarantined in its own file, as in the probe
 * module: image_jpeg.c (TurboJPEG), image_png.c (libpng), image_av.c
 * (libavformat/libavcodec decoding and libswscale resampling).
 */
#ifndef PF_FIX_INTERNAL_H
#define PF_FIX_INTERNAL_H

#include <stdint.h>
#include <stddef.h>

#include "../rules/rules_internal.h"

/* Refuse to decode an image of more pixels than this unless told. */
#define PF__FIX_MAX_PIXELS 100000000
/* A source larger than this is not read into memory. */
#define PF__FIX_MAX_SOURCE_BYTES ((size_t)1 << 30)
/* The JPEG quality search: the highest quality that fits, within these. */
#define PF__JPEG_Q_MAX 95
#define PF__JPEG_Q_MIN 50
/* How log file size falls with the log of libjpeg's quantiser scale
 * before an image has told: the median over photographs, film grain and
 * test patterns (fix_image.c). */
#define PF__JPEG_SLOPE_PRIOR -0.53

/* Formats the fixer can write, as a bit set. */
enum pf__format { PF__FMT_JPEG = 1, PF__FMT_PNG = 2 };

/* ---- image buffers ---- */

/* 8-bit RGB (channels 3) or RGBA (4, not premultiplied), rows stride bytes
 * apart. A view borrows its pixels from another image (owned 0). */
struct pf__image {
    uint8_t *px;
    int w, h, channels;
    size_t stride;
    int owned;
};

/* Allocates w×h×channels, checking the size arithmetic; rows are padded
 * to 64 bytes for SIMD code. ENOMEM/ELIMIT with a message naming name. */
pf_err pf__image_alloc(pf_ctx *ctx, const char *name, int w, int h,
                       int channels, struct pf__image *img);
/* Frees owned pixels and zeroes img; accepts a zeroed image, safe twice. */
void pf__image_free(struct pf__image *img);

/* ---- plan.c ---- */

/* What the rules of one media field allow, as inclusive integer bounds,
 * read with the same units and strictness as the check reads them
 * ("width_pixels<" 8000 allows 7999; "file_size_mb<" 4.7 allows
 * 4,699,999 bytes). The plan is only a first guess: candidate sizes are
 * judged by the check's own rule interpreter (pf__fix_dims_pass) and the
 * written file by the whole check. */
struct pf__limits {
    int min_w, max_w, min_h, max_h;     /* 1 and INT_MAX when free */
    int min_short, max_long;            /* 1 and INT_MAX when free */
    double min_area, max_area;          /* pixels: 0 and INFINITY when free */
    double aspect_lo, aspect_hi;        /* width/height: 0 and INFINITY */
    int lo_exclusive, hi_exclusive;
    int64_t max_bytes;                  /* -1 when free */
    unsigned formats;                   /* PF__FMT_* the field accepts */
    const cJSON *rules[2];              /* validations, extensions: borrowed */
};

void pf__fix_limits(const struct pf__media_field *m, struct pf__limits *lim);

/* 1 when w×h passes every dimension and aspect rule of the field. */
int pf__fix_dims_pass(const struct pf__limits *lim, int w, int h);

/* The format to write: PNG when the image has transparency and PNG is
 * accepted, else JPEG when accepted, else PNG; 0 when neither is. */
enum pf__format pf__fix_choose_format(unsigned formats, int alpha);

/* Geometry of one image fix, in displayed pixels (EXIF orientation
 * applied). Crop and none keep the region crop_* of the source and scale it
 * to out_w×out_h; pad scales the whole source to img_w×img_h and centres it
 * at img_x,img_y on an out_w×out_h canvas. */
struct pf__plan {
    const struct pf__limits *lim;
    int src_w, src_h;
    int orientation;                /* EXIF 1-8, 0 when none */
    int out_w, out_h;
    int pad;
    int crop_x, crop_y, crop_w, crop_h;
    int img_x, img_y, img_w, img_h;
    int enlarged;                   /* a minimum size forced an upscale */
    int aspect_changed;             /* cropped or padded to an aspect */
    enum pf__format format;         /* from the probed facts; fix_image
                                     * settles it once pixels are known */
    uint32_t pad_rgb;
    int blur_fill;
    int64_t max_pixels;             /* decode limit */
};

/* Plans the fix of one image from its probed facts, the field's limits and
 * the requested output ratio (ratio_text "1280:768" and its value, or NULL
 * and 0; ignored with PF_FIT_NONE). ECANNOT with a message naming name
 * when no size or format can satisfy the rules. */
pf_err pf__fix_plan_image(pf_ctx *ctx, const struct pf__limits *lim,
                          const pf_media_info *info, const char *name,
                          const pf_fix_options *opts, const char *ratio_text,
                          double ratio, struct pf__plan *plan);

/* Makes the output smaller by about factor (< 1) in each dimension, keeping
 * its aspect and every dimension rule: the fallback when even the lowest
 * quality is too large. ECANNOT when no smaller size passes. */
pf_err pf__fix_plan_shrink(pf_ctx *ctx, struct pf__plan *plan, double factor,
                           const char *name);

/* ---- fix_image.c ---- */

struct pf__fix_output {
    uint8_t *data;                  /* the encoded file (malloc) */
    size_t len;
    enum pf__format format;
    int w, h;
    int quality;                    /* JPEG only */
    int encodes;
};

/* Decodes path, bakes in its orientation, crops or pads, resizes and
 * encodes as planned, searching for the highest JPEG quality whose file
 * fits the field's size limit. The plan may be shrunk when even the lowest
 * quality does not fit. On failure *out is zeroed and the context names
 * the file and the reason. */
pf_err pf__fix_image(pf_ctx *ctx, const char *path, struct pf__plan *plan,
                     struct pf__fix_output *out);

/* The quality search: encodes img at the highest quality in
 * [PF__JPEG_Q_MIN, PF__JPEG_Q_MAX] whose file has at most max_bytes (-1:
 * no limit), trying first_q first. *slope (log size over log quantiser
 * scale) is the prior for the first prediction and returns what was
 * measured. Adds to out->encodes. When even the lowest quality is too
 * large, out->data stays NULL and *smallest holds that size. */
pf_err pf__fix_jpeg_fit(pf_ctx *ctx, const char *name,
                        const struct pf__image *img, int64_t max_bytes,
                        int first_q, double *slope, struct pf__fix_output *out,
                        size_t *smallest);
void pf__fix_output_free(struct pf__fix_output *out);

/* ---- image_jpeg.c (TurboJPEG) ---- */

/* Decodes a JPEG into RGB in stored orientation, refusing more than
 * max_pixels before allocating. When the caller will shrink the image to
 * scale (<= 1/2) of its size, the smallest DCT scaling factor no smaller
 * than scale is used, so far fewer pixels are ever made. */
pf_err pf__jpeg_decode(pf_ctx *ctx, const char *name, const uint8_t *data,
                       size_t len, int64_t max_pixels, double scale,
                       struct pf__image *img);
/* Encodes RGB as a baseline 4:2:0 JFIF with no metadata. *out is malloc'd. */
pf_err pf__jpeg_encode(pf_ctx *ctx, const char *name,
                       const struct pf__image *img, int quality,
                       uint8_t **out, size_t *len);

/* ---- image_png.c (libpng) ---- */

/* Decodes a PNG into RGB, or RGBA when it has transparency, 8 bits per
 * channel, refusing more than max_pixels before allocating. */
pf_err pf__png_decode(pf_ctx *ctx, const char *name, const uint8_t *data,
                      size_t len, int64_t max_pixels, struct pf__image *img);
/* Encodes RGB or RGBA as a PNG with no ancillary chunks. */
pf_err pf__png_encode(pf_ctx *ctx, const char *name,
                      const struct pf__image *img, uint8_t **out, size_t *len);

/* ---- image_av.c (libavformat, libavcodec, libswscale) ---- */

/* Decodes the first frame of a WebP, GIF, BMP or TIFF (or any still image
 * format libavformat's image demuxers read) into RGB or RGBA. */
pf_err pf__av_decode_image(pf_ctx *ctx, const char *name, const uint8_t *data,
                           size_t len, int64_t max_pixels,
                           struct pf__image *img);

enum pf__resample { PF__RESAMPLE_LANCZOS, PF__RESAMPLE_AREA,
                    PF__RESAMPLE_BILINEAR };

/* Resamples src (a view is fine) to w×h with the same channels. */
pf_err pf__av_resize(pf_ctx *ctx, const char *name,
                     const struct pf__image *src, int w, int h,
                     enum pf__resample filter, struct pf__image *out);

/* ---- fix.c ---- */

/* Writes len bytes to fd, reporting a full disk as ENOSPC and other
 * failures as EIO, naming name. */
pf_err pf__fix_write_all(pf_ctx *ctx, int fd, const void *data, size_t len,
                         const char *name);

#endif
