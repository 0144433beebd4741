/*
 * JPEG decoding and encoding with TurboJPEG (libjpeg-turbo). The header is
 * read first and the pixel count checked before any pixel buffer exists.
 * When the image will be shrunk by half or more it is decoded straight at
 * a DCT scaling factor (1/2, 3/8, 1/4, 1/8): the inverse DCT makes the
 * smaller image for less work than the full one, which is what keeps a
 * 24-megapixel photo cheap to fit into 4096 pixels.
 *
 * TurboJPEG reports errors as return values with a per-handle message;
 * libjpeg's longjmp stays inside it.
 */
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>

#include "fix_internal.h"

/* The smallest factor of at most 1/2 that still leaves at least scale of
 * the image; 1/1 when scale is above 1/2. */
static tjscalingfactor pick_factor(double scale)
{
    tjscalingfactor best = { 1, 1 };
    tjscalingfactor *factors;
    int n = 0;

    if (!(scale > 0) || scale > 0.5 || !(factors = tjGetScalingFactors(&n)))
        return best;
    for (int i = 0; i < n; i++) {
        double f = (double)factors[i].num / factors[i].denom;

        if (f <= 0.5 && f >= scale && f < (double)best.num / best.denom)
            best = factors[i];
    }
    return best;
}

pf_err pf__jpeg_decode(pf_ctx *ctx, const char *name, const uint8_t *data,
                       size_t len, int64_t max_pixels, double scale,
                       struct pf__image *img)
{
    tjhandle tj = tjInitDecompress();
    int w, h, subsamp, colorspace, sw, sh;
    tjscalingfactor f;
    pf_err rc = PF_OK;

    memset(img, 0, sizeof *img);
    if (!tj)
        return pf__error(ctx, PF_ENOMEM, "%s: out of memory", name);
    if (len > (unsigned long)-1 ||
        tjDecompressHeader3(tj, data, (unsigned long)len, &w, &h, &subsamp,
                            &colorspace) != 0) {
        rc = pf__error(ctx, PF_ECORRUPT, "%s: cannot decode JPEG: %s", name,
                       tjGetErrorStr2(tj));
        goto out;
    }
    if (w <= 0 || h <= 0 || (int64_t)w * h > max_pixels) {
        rc = pf__error(ctx, PF_ELIMIT, "%s: %d×%d is more than the %lld pixels "
                       "preflight decodes", name, w, h, (long long)max_pixels);
        goto out;
    }
    f = pick_factor(scale);
    sw = TJSCALED(w, f);
    sh = TJSCALED(h, f);
    if ((rc = pf__image_alloc(ctx, name, sw, sh, 3, img)))
        goto out;
    if (img->stride > INT32_MAX ||
        tjDecompress2(tj, data, (unsigned long)len, img->px, sw, (int)img->stride,
                      sh, TJPF_RGB, 0) != 0) {
        /* A warning (a few extraneous bytes, say) still yields the image,
         * as every viewer shows it; truncation was refused by the probe. */
        if (tjGetErrorCode(tj) == TJERR_WARNING) {
            pf__log(ctx, "%s: %s", name, tjGetErrorStr2(tj));
        } else {
            rc = pf__error(ctx, PF_ECORRUPT, "%s: cannot decode JPEG: %s", name,
                           tjGetErrorStr2(tj));
            goto out;
        }
    }
    pf__log(ctx, "%s: decoded %d×%d at %d/%d", name, sw, sh, f.num, f.denom);
out:
    if (rc)
        pf__image_free(img);
    tjDestroy(tj);
    return rc;
}

pf_err pf__jpeg_encode(pf_ctx *ctx, const char *name,
                       const struct pf__image *img, int quality,
                       uint8_t **out, size_t *len)
{
    tjhandle tj = tjInitCompress();
    unsigned char *buf = NULL;
    unsigned long n = 0;
    pf_err rc = PF_OK;

    *out = NULL;
    *len = 0;
    if (!tj)
        return pf__error(ctx, PF_ENOMEM, "%s: out of memory", name);
    if (img->channels != 3 || img->stride > INT32_MAX) {
        rc = pf__error(ctx, PF_EINTERNAL, "%s: JPEG encoder given %d channels",
                       name, img->channels);
        goto out;
    }
    if (tjCompress2(tj, img->px, img->w, (int)img->stride, img->h, TJPF_RGB,
                    &buf, &n, TJSAMP_420, quality, 0) != 0) {
        rc = pf__error(ctx, PF_EINTERNAL, "%s: JPEG encoding failed: %s", name,
                       tjGetErrorStr2(tj));
        goto out;
    }
    if (!(*out = malloc(n))) {
        rc = pf__error(ctx, PF_ENOMEM, "%s: out of memory", name);
        goto out;
    }
    memcpy(*out, buf, n);
    *len = n;
out:
    tjFree(buf);
    tjDestroy(tj);
    return rc;
}
