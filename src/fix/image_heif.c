/*
 * HEIF and AVIF decoding with libheif (HEVC through libde265, AV1 through
 * whichever decoder libheif was built with): the primary image, upright,
 * as 8-bit RGB or RGBA.
 *
 * libheif applies the file's transformative properties (clap crop, irot,
 * imir) while decoding, so the pixels come out as displayed: the caller
 * must not turn them again (fix_image.c clears the plan's orientation for
 * this decoder). The displayed size is checked against the pixel limit
 * before anything is decoded, and the decoded size against the displayed
 * one, since everything after works in displayed pixels.
 */
#include <stdio.h>
#include <string.h>

#include <libheif/heif.h>

#include "fix_internal.h"

/* libheif's message on one line: some end with a newline, and an error
 * message must be one line. */
static const char *heif_reason(const struct heif_error *err, char *buf, size_t size)
{
    size_t n;

    snprintf(buf, size, "%s", err->message ? err->message : "unknown error");
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    n = strlen(buf);
    while (n && buf[n - 1] == ' ')
        buf[--n] = '\0';
    return buf;
}

pf_err pf__heif_decode(pf_ctx *ctx, const char *name, const uint8_t *data,
                       size_t len, int64_t max_pixels, struct pf__image *img)
{
    struct heif_context *hc = NULL;
    struct heif_image_handle *handle = NULL;
    struct heif_image *hi = NULL;
    struct heif_decoding_options *opts = NULL;
    struct heif_error err;
    const uint8_t *plane;
    int w, h, iw, ih, alpha, stride = 0, initialised = 0;
    char why[256];
    pf_err rc = PF_OK;

    memset(img, 0, sizeof *img);
    err = heif_init(NULL);
    if (err.code != heif_error_Ok) {
        rc = pf__error(ctx, PF_EINTERNAL, "%s: libheif: %s", name,
                       heif_reason(&err, why, sizeof why));
        goto out;
    }
    initialised = 1;
    if (!(hc = heif_context_alloc()) || !(opts = heif_decoding_options_alloc())) {
        rc = pf__error(ctx, PF_ENOMEM, "%s: out of memory", name);
        goto out;
    }
    /* The tiles of a grid decode on this thread: the fixer is one job. */
    heif_context_set_max_decoding_threads(hc, 0);
    err = heif_context_read_from_memory_without_copy(hc, data, len, NULL);
    if (err.code == heif_error_Ok)
        err = heif_context_get_primary_image_handle(hc, &handle);
    if (err.code != heif_error_Ok) {
        rc = pf__error(ctx, PF_ECORRUPT, "%s: cannot read HEIF: %s", name,
                       heif_reason(&err, why, sizeof why));
        goto out;
    }
    w = heif_image_handle_get_width(handle);
    h = heif_image_handle_get_height(handle);
    iw = heif_image_handle_get_ispe_width(handle);
    ih = heif_image_handle_get_ispe_height(handle);
    /* The coded size is what the decoder allocates, before any crop. */
    if (w <= 0 || h <= 0 || (int64_t)w * h > max_pixels ||
        (int64_t)iw * ih > max_pixels) {
        rc = pf__error(ctx, PF_ELIMIT, "%s: %d×%d is more than the %lld pixels "
                       "preflight decodes", name, iw > w ? iw : w, ih > h ? ih : h,
                       (long long)max_pixels);
        goto out;
    }
    alpha = heif_image_handle_has_alpha_channel(handle);
    opts->ignore_transformations = 0;
    opts->convert_hdr_to_8bit = 1;
    err = heif_decode_image(handle, &hi, heif_colorspace_RGB,
                            alpha ? heif_chroma_interleaved_RGBA
                                  : heif_chroma_interleaved_RGB, opts);
    if (err.code != heif_error_Ok) {
        rc = pf__error(ctx, err.code == heif_error_Memory_allocation_error
                                ? PF_ENOMEM : PF_ECORRUPT,
                       "%s: cannot decode HEIF: %s", name,
                       heif_reason(&err, why, sizeof why));
        goto out;
    }
    plane = heif_image_get_plane_readonly(hi, heif_channel_interleaved, &stride);
    if (!plane || heif_image_get_width(hi, heif_channel_interleaved) != w ||
        heif_image_get_height(hi, heif_channel_interleaved) != h ||
        heif_image_get_bits_per_pixel_range(hi, heif_channel_interleaved) != 8) {
        rc = pf__error(ctx, PF_ECORRUPT, "%s: cannot decode HEIF: the decoded "
                       "image is not the %d×%d it claims", name, w, h);
        goto out;
    }
    if ((rc = pf__image_alloc(ctx, name, w, h, alpha ? 4 : 3, img)))
        goto out;
    for (int y = 0; y < h; y++)
        memcpy(img->px + (size_t)y * img->stride, plane + (size_t)y * (size_t)stride,
               (size_t)w * (size_t)img->channels);
out:
    heif_image_release(hi);
    heif_image_handle_release(handle);
    heif_context_free(hc);
    heif_decoding_options_free(opts);
    if (initialised)
        heif_deinit();
    if (rc)
        pf__image_free(img);
    return rc;
}
