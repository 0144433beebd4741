/*
 * PNG decoding and encoding with libpng.
 *
 * Decoding uses libpng's simplified API, which converts every colour type,
 * bit depth, palette and interlace to 8-bit RGB(A) and keeps its error
 * exits to itself (image.message); the header is read, and the pixel count
 * checked, before the buffer is allocated. Encoding uses the full API to
 * stream rows into a growing buffer in one pass, with our own setjmp: a
 * libpng error longjmps back to pf__png_encode, the only frame that calls
 * into the library.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "fix_internal.h"

/* An ancillary chunk longer than this is dropped before libpng sees it
 * (the probe caps the same chunks at the same size, probe_png.c). */
#define PF__PNG_ANCILLARY_MAX ((uint32_t)8 << 20)

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* libpng's simplified API allocates the length an ancillary chunk
 * (tEXt, zTXt, iTXt, eXIf, sPLT...) claims before reading it, and offers
 * no hook to refuse: a 73-byte file whose tEXt claims 2 GB asks malloc for
 * 2 GB (found by fuzz_fix). No such chunk changes a pixel, so a copy
 * without the ones over PF__PNG_ANCILLARY_MAX is decoded instead; one
 * that claims more than the file holds ends the copy there, and the image
 * then reads as truncated, as it is. *out is NULL (and nothing is
 * allocated) when no chunk needs dropping. Only chunk lengths and types
 * are read here; libpng checks everything else. */
static pf_err drop_big_chunks(pf_ctx *ctx, const char *name, const uint8_t *data,
                              size_t len, uint8_t **out, size_t *out_len)
{
    size_t pos = 8, o = 8;
    uint8_t *copy = NULL;

    *out = NULL;
    *out_len = 0;
    while (pos + 8 <= len) {
        uint32_t n = be32(data + pos);
        int ancillary = (data[pos + 4] & 0x20) != 0;
        int big = ancillary && (n > PF__PNG_ANCILLARY_MAX ||
                                (size_t)n + 12 > len - pos);
        size_t whole = (size_t)n + 12 < len - pos ? (size_t)n + 12 : len - pos;

        if (big && !copy) {
            if (!(copy = malloc(len)))
                return pf__error(ctx, PF_ENOMEM, "%s: out of memory", name);
            memcpy(copy, data, pos);
            o = pos;
        }
        if (big && (size_t)n + 12 > len - pos)
            break;              /* cut short inside it: the rest is gone */
        if (copy && !big) {
            memcpy(copy + o, data + pos, whole);
            o += whole;
        }
        if (memcmp(data + pos + 4, "IEND", 4) == 0)
            break;
        pos += whole;
    }
    *out = copy;
    *out_len = o;
    return PF_OK;
}

pf_err pf__png_decode(pf_ctx *ctx, const char *name, const uint8_t *data,
                      size_t len, int64_t max_pixels, struct pf__image *img)
{
    png_image pi;
    uint8_t *copy = NULL;
    size_t copy_len = 0;
    pf_err rc = PF_OK;
    int alpha;

    memset(img, 0, sizeof *img);
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (len > 8 && (rc = drop_big_chunks(ctx, name, data, len, &copy, &copy_len)))
        return rc;
    if (copy) {
        data = copy;
        len = copy_len;
    }
    if (!png_image_begin_read_from_memory(&pi, data, len)) {
        rc = pf__error(ctx, PF_ECORRUPT, "%s: cannot decode PNG: %s", name, pi.message);
        goto out;
    }
    if (pi.width == 0 || pi.height == 0 ||
        (int64_t)pi.width * pi.height > max_pixels || pi.width > INT32_MAX / 4) {
        rc = pf__error(ctx, PF_ELIMIT, "%s: %u×%u is more than the %lld pixels "
                       "preflight decodes", name, pi.width, pi.height,
                       (long long)max_pixels);
        goto out;
    }
    alpha = (pi.format & PNG_FORMAT_FLAG_ALPHA) != 0;
    pi.format = alpha ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB;
    /* A 16-bit file without gAMA or sRGB is sRGB-encoded like every other
     * PNG, not linear light. */
    pi.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
    if ((rc = pf__image_alloc(ctx, name, (int)pi.width, (int)pi.height,
                              alpha ? 4 : 3, img)))
        goto out;
    if (!png_image_finish_read(&pi, NULL, img->px, (png_int_32)img->stride, NULL)) {
        rc = pf__error(ctx, PF_ECORRUPT, "%s: cannot decode PNG: %s", name, pi.message);
        goto out;
    }
out:
    png_image_free(&pi);
    free(copy);
    if (rc)
        pf__image_free(img);
    return rc;
}

struct png_sink {
    uint8_t *data;
    size_t len, cap;
    char message[200];
};

static void pf__png_error(png_structp png, png_const_charp msg)
{
    struct png_sink *sink = png_get_error_ptr(png);

    snprintf(sink->message, sizeof sink->message, "%s", msg);
    png_longjmp(png, 1);
}

static void pf__png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void pf__png_write(png_structp png, png_bytep d, size_t n)
{
    struct png_sink *sink = png_get_io_ptr(png);

    if (n > sink->cap - sink->len) {
        size_t cap = sink->cap ? sink->cap : 65536;
        uint8_t *grown;

        while (cap - sink->len < n) {
            if (cap > SIZE_MAX / 2)
                png_error(png, "out of memory");
            cap *= 2;
        }
        if (!(grown = realloc(sink->data, cap)))
            png_error(png, "out of memory");
        sink->data = grown;
        sink->cap = cap;
    }
    memcpy(sink->data + sink->len, d, n);
    sink->len += n;
}

static void pf__png_flush(png_structp png)
{
    (void)png;
}

/* The only frame that calls libpng's writer: 0, or -1 after libpng
 * longjmps out of an error. */
static int pf__png_write_image(png_structp png, png_infop info,
                               const struct pf__image *img)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    /* zlib level 6 with adaptive filters: libpng's defaults, the usual
     * balance of size and time. */
    png_set_IHDR(png, info, (png_uint_32)img->w, (png_uint_32)img->h, 8,
                 img->channels == 4 ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < img->h; y++)
        png_write_row(png, img->px + (size_t)y * img->stride);
    png_write_end(png, NULL);
    return 0;
}

pf_err pf__png_encode(pf_ctx *ctx, const char *name,
                      const struct pf__image *img, uint8_t **out, size_t *len)
{
    struct png_sink sink;
    png_structp png;
    png_infop info = NULL;
    pf_err rc = PF_OK;

    *out = NULL;
    *len = 0;
    memset(&sink, 0, sizeof sink);
    if (!(png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink,
                                        pf__png_error, pf__png_warning)) ||
        !(info = png_create_info_struct(png))) {
        rc = pf__error(ctx, PF_ENOMEM, "%s: out of memory", name);
        goto out;
    }
    png_set_write_fn(png, &sink, pf__png_write, pf__png_flush);
    if (pf__png_write_image(png, info, img) != 0) {
        rc = pf__error(ctx, strcmp(sink.message, "out of memory") == 0 ? PF_ENOMEM
                       : PF_EINTERNAL, "%s: PNG encoding failed: %s", name, sink.message);
        goto out;
    }
    *out = sink.data;
    *len = sink.len;
    sink.data = NULL;
out:
    png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
    free(sink.data);
    return rc;
}
