/*
 * Fuzz target for the fixer's full decoders on hostile bytes: libjpeg-turbo
 * (image_jpeg.c), libpng (image_png.c) and libavcodec's WebP, GIF, BMP and
 * TIFF decoders (image_av.c), each under a pixel limit, then the resampler
 * and the encoders on whatever decoded. The input is the file; the
 * decoder is picked by magic bytes as fix_image.c picks it, and the
 * libavcodec path also gets every input that is neither JPEG nor PNG.
 *
 * The pixel limit is 4 megapixels, far under the default 100: a fuzzer
 * runs thousands of inputs a second, and a decode that fits under the
 * limit must also fit under -malloc_limit_mb.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "fix/fix_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_PIXELS (4 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pf_ctx *ctx = pf_ctx_new();
    struct pf__image img = { 0 }, small = { 0 };
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    pf_err rc;

    if (!ctx)
        return 0;
    if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
        rc = pf__jpeg_decode(ctx, "fuzz-input", data, size, FUZZ_MAX_PIXELS,
                             size & 1 ? 0.5 : 1.0, &img);
    else if (size >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0)
        rc = pf__png_decode(ctx, "fuzz-input", data, size, FUZZ_MAX_PIXELS, &img);
    else
        rc = pf__av_decode_image(ctx, "fuzz-input", data, size, FUZZ_MAX_PIXELS,
                                 &img);
    if (rc != PF_OK)
        goto out;
    if (img.w <= 0 || img.h <= 0 || (int64_t)img.w * img.h > FUZZ_MAX_PIXELS ||
        (img.channels != 3 && img.channels != 4))
        abort();
    /* What a fix does next: scale into the rules' box and encode. */
    if (pf__av_resize(ctx, "fuzz-input", &img, img.w > 16 ? 16 : img.w,
                      img.h > 16 ? 16 : img.h, PF__RESAMPLE_LANCZOS, &small) != PF_OK)
        goto out;
    if (small.channels == 3)
        (void)pf__jpeg_encode(ctx, "fuzz-input", &small, 85, &enc, &enc_len);
    else
        (void)pf__png_encode(ctx, "fuzz-input", &small, &enc, &enc_len);
out:
    free(enc);
    pf__image_free(&small);
    pf__image_free(&img);
    pf_ctx_free(ctx);
    return 0;
}
