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
 * (libavformat/libavcodec decoding and libswscale resampling), image_heif.c
 * (libheif: HEIF and AVIF stills), video_av.c
 * (the video transcode and remux: libavformat, libavcodec with libx264 and
 * AAC, libswscale, libswresample).
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
enum pf__format { PF__FMT_JPEG = 1, PF__FMT_PNG = 2, PF__FMT_MP4 = 4, PF__FMT_MOV = 8 };

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
 * judged by the check's own rule evaluator (pf__fix_dims_pass) and the
 * written file by the whole check. */
struct pf__limits {
    int min_w, max_w, min_h, max_h;     /* 1 and INT_MAX when free */
    int min_short, max_long;            /* 1 and INT_MAX when free */
    double min_area, max_area;          /* pixels: 0 and INFINITY when free */
    double aspect_lo, aspect_hi;        /* width/height: 0 and INFINITY */
    int lo_exclusive, hi_exclusive;
    int64_t max_bytes;                  /* -1 when free */
    unsigned formats;                   /* PF__FMT_* the field accepts */
    const struct pf__media_rule *rules; /* the field's compiled rules: borrowed */
    size_t rule_count;
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

/* Moves a planned size to even numbers, as 4:2:0 video needs, with the
 * pad placement on the chroma grid; the nearest even size that passes the
 * rules. ECANNOT when none within a pixel does. */
pf_err pf__fix_plan_even(pf_ctx *ctx, struct pf__plan *plan, const char *name);

/* Makes the output smaller by about factor (< 1) in each dimension, keeping
 * its aspect and every dimension rule: the fallback when even the lowest
 * quality is too large. ECANNOT when no smaller size passes. */
pf_err pf__fix_plan_shrink(pf_ctx *ctx, struct pf__plan *plan, double factor,
                           const char *name);

/* ---- fix_image.c ---- */

struct pf__fix_output {
    uint8_t *data;                  /* the encoded file (malloc); NULL for a
                                     * video, written straight to its file */
    size_t len;
    enum pf__format format;
    int w, h;
    int quality;                    /* JPEG only */
    int encodes;
    /* video only */
    double duration, fps;
    int64_t video_rate;             /* bits per second asked of x264; 0 for
                                     * constant quality or a remux */
    int remuxed;
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

/* ---- image_heif.c (libheif) ---- */

/* Decodes the primary image of a HEIF or AVIF still into RGB, or RGBA
 * when it has an alpha plane, 8 bits per channel, upright: libheif applies
 * clap, irot and imir, so the pixels are as displayed. Refuses more than
 * max_pixels before decoding. */
pf_err pf__heif_decode(pf_ctx *ctx, const char *name, const uint8_t *data,
                       size_t len, int64_t max_pixels, struct pf__image *img);

enum pf__resample { PF__RESAMPLE_LANCZOS, PF__RESAMPLE_AREA,
                    PF__RESAMPLE_BILINEAR };

/* Resamples src (a view is fine) to w×h with the same channels. */
pf_err pf__av_resize(pf_ctx *ctx, const char *name,
                     const struct pf__image *src, int w, int h,
                     enum pf__resample filter, struct pf__image *out);

/* ---- fix_video.c ---- */

/* x264's speed against size: "medium", its own default, gives the most
 * picture per byte of the presets that keep up with the ffmpeg CLI's
 * habits, and size is what the rules limit (fix_video.c says more). */
#define PF__X264_PRESET "medium"
/* Constant quality when no size rule binds: visually lossless for most. */
#define PF__X264_CRF 20
/* Encodes tried before giving up on a size limit. */
#define PF__VIDEO_ATTEMPTS 6

/* One video fix: the picture geometry as for an image (EXIF orientation
 * 0; the display rotation is baked in separately), then timing, audio and
 * the bit rate that fills the size limit. */
struct pf__video_plan {
    struct pf__limits lim;          /* the field's, capped at the requested
                                     * ratio's resolution; geo points here */
    struct pf__plan geo;
    int rotation;                   /* clockwise degrees turned upright */
    enum pf__format format;         /* PF__FMT_MP4, or MOV when only that
                                     * is accepted */
    int remux;                      /* streams copied, only rewrapped */
    int fps_num, fps_den;           /* a new constant rate, 0: as is */
    int64_t max_frames;             /* -1: all */
    double max_duration;            /* seconds kept, <= 0: all */
    double src_duration, src_fps;   /* as probed */
    double duration, fps;           /* of the output, expected */
    int audio;                      /* keep the sound */
    int has_audio;                  /* the source has sound */
    int64_t max_bytes;              /* from size and bit-rate rules, -1 */
    int64_t video_rate;             /* first attempt, bits/s; 0: CRF */
    int64_t audio_rate;
    int size_bound;                 /* the rate fills the size limit: aim
                                     * for at least PF__VIDEO_FILL_MIN */
    double first_rate_factor;       /* tests: > 1 forces an overshoot */
    const char *field;
    pf_fix_progress_fn progress;
    void *progress_userdata;
};

/* Plans the fix of one video from its probed facts (reading the source's
 * stream headers for the bit rates), the field's limits, the requested
 * ratio and the options. ECANNOT, naming name, when the rules cannot be
 * met (too short, no accepted container or codec). */
pf_err pf__fix_plan_video(pf_ctx *ctx, const struct pf__limits *lim,
                          const pf_media_info *info, const char *name,
                          const pf_fix_options *opts, const char *ratio_text,
                          double ratio, struct pf__video_plan *plan);

/* Writes the planned video to dst (an existing temporary file, replaced),
 * re-encoding at a lower rate while it comes out over the size limit and
 * once at a higher one when it wastes more than the limit allows. On
 * failure dst may hold anything and the caller removes it. */
pf_err pf__fix_video(pf_ctx *ctx, const char *path, struct pf__video_plan *plan,
                     const char *dst, const char *dst_name,
                     struct pf__fix_output *out);

/* "1920×1080 H264 70.1 MB 30.0 s → 1280×720 H.264 15.2 MB 30.0 s at 3.9 Mb/s
 * (crop 0, 1 encode)"; out NULL for a plan. NULL when out of memory. */
char *pf__fix_video_summary(const pf_media_info *in, const struct pf__video_plan *plan,
                            const struct pf__fix_output *out);

/* 1 when path is an MP4 or QuickTime file whose index (moov) comes after
 * its media data: a server must fetch the whole file before it can probe
 * it. Reads only the top-level box headers. */
int pf__fix_video_index_at_end(const char *path);

/* ---- video_av.c (libavformat, libavcodec, libswscale, libswresample) ---- */

/* What the stream headers say beyond the probe's facts. */
struct pf__av_facts {
    int64_t video_bit_rate, audio_bit_rate;     /* 0 when unknown */
    int64_t frames;
    int audio_channels, audio_sample_rate;
};
pf_err pf__av_video_facts(pf_ctx *ctx, const char *path, int64_t max_pixels,
                          struct pf__av_facts *facts);

/* One attempt at one output file. */
struct pf__av_job {
    const char *src;                /* the source, named in messages */
    const char *dst;                /* the file written (replaced) */
    const char *dst_name;           /* what messages call it */
    const char *muxer;              /* "mp4" or "mov" */
    int rotation;                   /* clockwise degrees to bake in */
    int disp_w, disp_h;             /* the source as displayed */
    int crop_x, crop_y, crop_w, crop_h;     /* displayed region kept */
    int img_x, img_y, img_w, img_h;         /* where it lands */
    int out_w, out_h, pad;
    uint32_t pad_rgb;
    int blur_fill;
    int fps_num, fps_den;           /* a new constant rate, 0: as is */
    int64_t max_frames;             /* -1: all */
    double max_duration;            /* seconds kept, <= 0: all */
    double audio_seconds;           /* sound kept, <= 0: all */
    int audio;                      /* keep the sound */
    int64_t video_rate, max_rate, buffer;   /* bits; video_rate 0: CRF */
    int64_t audio_rate;
    int64_t max_pixels;
    double expect_duration;         /* for progress */
    int64_t expect_frames;
    pf_fix_progress_fn progress;
    void *userdata;
    const char *field;
    int attempt;
};

struct pf__av_written {
    int64_t bytes, video_bytes, frames;
    double duration;
};

/* Decodes, transforms and encodes as H.264 and AAC in an MP4 (or MOV)
 * with its index at the front. PF_EINTR when the context is interrupted. */
pf_err pf__av_transcode(pf_ctx *ctx, const struct pf__av_job *job,
                        struct pf__av_written *written);

/* Copies the main video and audio streams into a new container with its
 * index at the front, packets untouched. */
pf_err pf__av_remux(pf_ctx *ctx, const struct pf__av_job *job,
                    struct pf__av_written *written);

/* ---- fix.c ---- */

/* Writes len bytes to fd, reporting a full disk as ENOSPC and other
 * failures as EIO, naming name. */
pf_err pf__fix_write_all(pf_ctx *ctx, int fd, const void *data, size_t len,
                         const char *name);

#endif
