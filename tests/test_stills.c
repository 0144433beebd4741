/*
 * Issue 9's stills: HEIF and AVIF probed from their boxes (size, turn and
 * flip as displayed, alpha, depth, grids) and decoded upright by libheif;
 * JPEGs, PNGs and WebPs with trailers are complete files while cut ones
 * stay corrupt; WebPs past the decoder's pixel cap are read from their
 * headers. Fixtures come from tools/make-still-fixtures.sh ($PF_STILLS);
 * the two real phone photos from ../shared/media ($PF_MEDIA), skipped with
 * a message when absent. What other tools say of the same files is
 * checked in tests/cli/stills.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "preflight.h"
#include "probe/probe_internal.h"
#include "fix/fix_internal.h"
#include "test.h"

#define STILL(name) pf_test_path("PF_STILLS", name)

static pf_ctx *ctx;

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    uint8_t *buf;

    if (!f)
        FAIL_AT("cannot open %s", path);
    ASSERT(fstat(fileno(f), &st) == 0);
    buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    ASSERT(buf != NULL);
    ASSERT(fread(buf, 1, (size_t)st.st_size, f) == (size_t)st.st_size);
    fclose(f);
    *len = (size_t)st.st_size;
    return buf;
}

static void probe_ok(const char *path, pf_media_info *info)
{
    pf_err rc = pf_probe(ctx, path, info);

    if (rc != PF_OK)
        FAIL_AT("pf_probe(%s) = %s: %s", path, pf_err_name(rc),
                pf_ctx_error(ctx));
}

static void probe_fails(const char *path, pf_err want, const char *reason)
{
    pf_media_info info = PF_MEDIA_INFO_INIT;
    pf_err rc = pf_probe(ctx, path, &info);

    if (rc != want)
        FAIL_AT("pf_probe(%s) = %s, want %s: %s", path, pf_err_name(rc),
                pf_err_name(want), pf_ctx_error(ctx));
    ASSERT(strncmp(pf_ctx_error(ctx), path, strlen(path)) == 0);
    ASSERT(strchr(pf_ctx_error(ctx), '\n') == NULL);
    ASSERT_CONTAINS(pf_ctx_error(ctx), reason);
}

/* ---- HEIF / AVIF probe -------------------------------------------------- */

static const struct heif_case {
    const char *file, *format, *codec;
    int width, height, coded_w, coded_h, rotation, orientation, alpha, depth;
} heif_cases[] = {
    {"heic_640x480.heic", "heic", "hevc", 640, 480, 640, 480, 0, 1, 0, 8},
    {"avif_640x480.avif", "avif", "av1", 640, 480, 640, 480, 0, 1, 0, 8},
    {"heic_alpha.heic", "heic", "hevc", 640, 480, 640, 480, 0, 1, 1, 8},
    {"avif_alpha.avif", "avif", "av1", 640, 480, 640, 480, 0, 1, 1, 8},
    {"heic_10bit.heic", "heic", "hevc", 640, 480, 640, 480, 0, 1, 0, 10},
    {"avif_10bit.avif", "avif", "av1", 640, 480, 640, 480, 0, 1, 0, 10},
    {"heic_grid_641x481.heic", "heic", "hevc", 641, 481, 641, 481, 0, 1, 0, 8},
    {"avif_641x481.avif", "avif", "av1", 641, 481, 641, 481, 0, 1, 0, 8},
    /* irot turns anticlockwise: one quarter is 270 clockwise, EXIF 8.
     * imir 0 exchanges top and bottom (EXIF 4), 1 left and right (2). */
    {"heic_irot1.heic", "heic", "hevc", 480, 640, 640, 480, 270, 8, 0, 8},
    {"heic_irot2.heic", "heic", "hevc", 640, 480, 640, 480, 180, 3, 0, 8},
    {"heic_irot3.heic", "heic", "hevc", 480, 640, 640, 480, 90, 6, 0, 8},
    {"heic_imir0.heic", "heic", "hevc", 640, 480, 640, 480, 180, 4, 0, 8},
    {"heic_imir1.heic", "heic", "hevc", 640, 480, 640, 480, 0, 2, 0, 8},
    {"heic_irot1_imir0.heic", "heic", "hevc", 480, 640, 640, 480, 90, 5, 0, 8},
    {"heic_irot1_imir1.heic", "heic", "hevc", 480, 640, 640, 480, 270, 7, 0, 8},
    {"avif_irot1.avif", "avif", "av1", 480, 640, 640, 480, 270, 8, 0, 8},
    {"avif_irot2.avif", "avif", "av1", 640, 480, 640, 480, 180, 3, 0, 8},
    {"avif_irot3.avif", "avif", "av1", 480, 640, 640, 480, 90, 6, 0, 8},
    {"avif_imir0.avif", "avif", "av1", 640, 480, 640, 480, 180, 4, 0, 8},
    {"avif_imir1.avif", "avif", "av1", 640, 480, 640, 480, 0, 2, 0, 8},
    {"avif_irot1_imir0.avif", "avif", "av1", 480, 640, 640, 480, 90, 5, 0, 8},
    {"avif_irot1_imir1.avif", "avif", "av1", 480, 640, 640, 480, 270, 7, 0, 8},
};

static void test_heif_probe(void)
{
    for (size_t i = 0; i < sizeof heif_cases / sizeof heif_cases[0]; i++) {
        const struct heif_case *c = &heif_cases[i];
        pf_media_info info = PF_MEDIA_INFO_INIT;
        char *json;

        fprintf(stderr, "   %s\n", c->file);
        probe_ok(STILL(c->file), &info);
        ASSERT_EQ(info.kind, PF_MEDIA_IMAGE);
        ASSERT_STR_EQ(info.format, c->format);
        ASSERT_STR_EQ(info.codec, c->codec);
        ASSERT_EQ(info.width, c->width);
        ASSERT_EQ(info.height, c->height);
        ASSERT_EQ(info.coded_width, c->coded_w);
        ASSERT_EQ(info.coded_height, c->coded_h);
        ASSERT_EQ(info.rotation, c->rotation);
        ASSERT_EQ(info.orientation, c->orientation);
        ASSERT_EQ(info.has_alpha, c->alpha);
        ASSERT_EQ(info.bit_depth, c->depth);
        ASSERT_EQ(info.has_video, 0);
        ASSERT_DBL_EQ(info.duration, -1, 0);
        ASSERT_EQ(info.trailing_bytes, 0);
        json = pf_media_info_to_json(&info);
        ASSERT_CONTAINS(json, "\"kind\":\"image\"");
        ASSERT_CONTAINS(json, "\"orientation\":");
        pf_free(json);
    }
}

/* The real phone photos: the iPhone's is a grid of 512x512 tiles turned
 * half a turn by irot (its EXIF orientation 3 agrees; exiftool reads
 * Rotation 180 and 4032x3024; identify 4032x3024). */
static void test_heif_phones(void)
{
    const char *dir = getenv("PF_MEDIA");
    char path[4096];
    struct stat st;
    pf_media_info info = PF_MEDIA_INFO_INIT;

    if (!dir || stat(dir, &st) != 0) {
        fprintf(stderr, "   SKIP: no real media folder (%s)\n",
                dir ? dir : "PF_MEDIA unset");
        return;
    }
    snprintf(path, sizeof path, "%s/iphone-still.heic", dir);
    probe_ok(path, &info);
    ASSERT_STR_EQ(info.format, "heic");
    ASSERT_EQ(info.width, 4032);
    ASSERT_EQ(info.height, 3024);
    ASSERT_EQ(info.rotation, 180);
    ASSERT_EQ(info.orientation, 3);
    ASSERT_EQ(info.has_alpha, 0);
    ASSERT_EQ(info.bit_depth, 8);
    ASSERT_EQ(info.file_size, 2808983);
    /* The boxes are in the first 64 KiB; the 2.8 MB of tiles are not read. */
    ASSERT_INT(info.bytes_read, <=, PF__HEAD_BYTES);
    snprintf(path, sizeof path, "%s/android-still.heic", dir);
    probe_ok(path, &info);
    ASSERT_STR_EQ(info.format, "heic");
    ASSERT_EQ(info.width, 1080);
    ASSERT_EQ(info.height, 1920);
    ASSERT_EQ(info.rotation, 0);
}

static void test_heif_corrupt(void)
{
    static const uint8_t still[] = "\0\0\0\x18" "ftypheic\0\0\0\0mif1heic";
    static const uint8_t seq[] = "\0\0\0\x18" "ftypavis\0\0\0\0avifmsf1";
    static const uint8_t mp4[] = "\0\0\0\x18" "ftypisom\0\0\0\0mif1heic";
    struct pf__source *src = NULL;
    pf_media_info info = PF_MEDIA_INFO_INIT;
    uint8_t buf[64];

    probe_fails(STILL("heic_cut.heic"), PF_ECORRUPT, "truncated HEIF (item data ends at");
    probe_fails(STILL("avif_cut.avif"), PF_ECORRUPT, "truncated HEIF");
    /* The major brand decides: a sequence or an MP4 that lists still
     * brands is libavformat's. */
    ASSERT_EQ(pf__heif_brand(still, sizeof still - 1), 1);
    ASSERT_EQ(pf__heif_brand(seq, sizeof seq - 1), 0);
    ASSERT_EQ(pf__heif_brand(mp4, sizeof mp4 - 1), 0);
    /* A still brand with nothing after it. */
    ASSERT_EQ(pf__source_open_memory(ctx, "bare.heic", still, sizeof still - 1,
                                     &src), PF_OK);
    ASSERT_EQ(pf__probe_source(src, &info), PF_ECORRUPT);
    ASSERT_STR_EQ(pf_ctx_error(ctx),
                  "bare.heic: corrupt HEIF (no meta box with the image items)");
    pf__source_close(src);
    /* A meta box claiming more than the file has. */
    memcpy(buf, still, 24);
    memcpy(buf + 24, "\x7f\0\0\0meta\0\0\0\0", 12);
    memset(buf + 36, 0, sizeof buf - 36);
    ASSERT_EQ(pf__source_open_memory(ctx, "big.heic", buf, sizeof buf, &src),
              PF_OK);
    ASSERT_NE(pf__probe_source(src, &info), PF_OK);
    ASSERT(strncmp(pf_ctx_error(ctx), "big.heic: ", 10) == 0);
    pf__source_close(src);
}

/* Without pixi the depth comes from the codec configuration (hvcC's
 * bitDepthLumaMinus8, av1C's high_bitdepth). */
static void test_heif_depth_from_codec(void)
{
    static const char *files[] = {"heic_10bit.heic", "avif_10bit.avif"};

    for (size_t f = 0; f < 2; f++) {
        size_t len, renamed = 0;
        uint8_t *d = slurp(STILL(files[f]), &len);
        struct pf__source *src = NULL;
        pf_media_info info = PF_MEDIA_INFO_INIT;

        for (size_t i = 0; i + 4 <= len && i < 2048; i++)
            if (memcmp(d + i, "pixi", 4) == 0) {
                memcpy(d + i, "xixp", 4);       /* an unknown property */
                renamed++;
            }
        ASSERT_INT(renamed, >=, 1);
        ASSERT_EQ(pf__source_open_memory(ctx, files[f], d, len, &src), PF_OK);
        ASSERT_EQ(pf__probe_source(src, &info), PF_OK);
        ASSERT_EQ(info.bit_depth, 10);
        pf__source_close(src);
        free(d);
    }
}

/* Every prefix and many damaged copies of a real HEIC's header: any code
 * but a crash (ASan and valgrind run this too). */
static void test_heif_mutations(void)
{
    static const char *files[] = {"heic_irot1_imir0.heic", "avif_alpha.avif",
                                  "heic_grid_641x481.heic"};
    uint32_t rng = 12345;

    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t len, hdr;
        uint8_t *orig = slurp(STILL(files[f]), &len), *buf = malloc(len);

        ASSERT(buf != NULL);
        /* The boxes before mdat. */
        hdr = len < 800 ? len : 800;
        for (size_t n = 0; n <= hdr; n += 7) {
            struct pf__source *src = NULL;
            pf_media_info info = PF_MEDIA_INFO_INIT;

            ASSERT_EQ(pf__source_open_memory(ctx, "cut", orig, n, &src), PF_OK);
            if (pf__probe_source(src, &info) != PF_OK)
                ASSERT(strncmp(pf_ctx_error(ctx), "cut: ", 5) == 0);
            pf__source_close(src);
        }
        for (int round = 0; round < 400; round++) {
            struct pf__source *src = NULL;
            pf_media_info info = PF_MEDIA_INFO_INIT;

            memcpy(buf, orig, len);
            for (int k = 0; k < 1 + round % 5; k++) {
                rng = rng * 1103515245u + 12345u;
                buf[12 + (rng >> 8) % (hdr - 12)] ^= (uint8_t)(1 + (rng >> 3) % 255);
            }
            ASSERT_EQ(pf__source_open_memory(ctx, "mutant", buf, len, &src), PF_OK);
            if (pf__probe_source(src, &info) != PF_OK)
                ASSERT(strncmp(pf_ctx_error(ctx), "mutant: ", 8) == 0);
            pf__source_close(src);
        }
        free(buf);
        free(orig);
    }
}

/* ---- HEIF / AVIF decode -------------------------------------------------- */

static pf_err decode_file(const char *path, int64_t max_pixels, struct pf__image *img)
{
    size_t len;
    uint8_t *data = slurp(path, &len);
    pf_err rc = pf__heif_decode(ctx, path, data, len, max_pixels, img);

    free(data);
    return rc;
}

/* Decoded pixels are as displayed: the turned and flipped files decode to
 * the plain file's pixels moved as their EXIF-equivalent orientation says
 * (the mapping fix_image.c's orient_crop uses), exactly, since the coded
 * picture is the same bytes. */
static void test_heif_decode_upright(void)
{
    static const char *bases[] = {"heic", "avif"};

    for (size_t b = 0; b < 2; b++) {
        struct pf__image plain;
        char name[64];

        snprintf(name, sizeof name, "%s_640x480.%s", bases[b], bases[b]);
        ASSERT_EQ(decode_file(STILL(name), PF__FIX_MAX_PIXELS, &plain), PF_OK);
        ASSERT_EQ(plain.w, 640);
        ASSERT_EQ(plain.h, 480);
        ASSERT_EQ(plain.channels, 3);
        for (size_t i = 0; i < sizeof heif_cases / sizeof heif_cases[0]; i++) {
            const struct heif_case *c = &heif_cases[i];
            struct pf__image img;
            int o = c->orientation, diffs = 0;

            if (strncmp(c->file, bases[b], 4) != 0 || o == 1)
                continue;
            fprintf(stderr, "   %s\n", c->file);
            ASSERT_EQ(decode_file(STILL(c->file), PF__FIX_MAX_PIXELS, &img), PF_OK);
            ASSERT_EQ(img.w, c->width);
            ASSERT_EQ(img.h, c->height);
            for (int dy = 0; dy < img.h; dy += 7)
                for (int dx = 0; dx < img.w; dx += 5) {
                    int sx, sy, W = plain.w, H = plain.h;

                    switch (o) {
                    case 2:  sx = W - 1 - dx; sy = dy; break;
                    case 3:  sx = W - 1 - dx; sy = H - 1 - dy; break;
                    case 4:  sx = dx; sy = H - 1 - dy; break;
                    case 5:  sx = dy; sy = dx; break;
                    case 6:  sx = dy; sy = H - 1 - dx; break;
                    case 7:  sx = W - 1 - dy; sy = H - 1 - dx; break;
                    default: sx = W - 1 - dy; sy = dx; break;
                    }
                    diffs += memcmp(img.px + (size_t)dy * img.stride + (size_t)dx * 3,
                                    plain.px + (size_t)sy * plain.stride + (size_t)sx * 3,
                                    3) != 0;
                }
            ASSERT_EQ(diffs, 0);
            pf__image_free(&img);
        }
        pf__image_free(&plain);
    }
}

static void test_heif_decode_kinds(void)
{
    struct pf__image img;
    int transparent = 0;

    ASSERT_EQ(decode_file(STILL("heic_alpha.heic"), PF__FIX_MAX_PIXELS, &img), PF_OK);
    ASSERT_EQ(img.channels, 4);
    for (int x = 0; x < img.w; x++)
        transparent += img.px[(size_t)x * 4 + 3] < 200;
    ASSERT_INT(transparent, >, img.w / 2);
    pf__image_free(&img);
    ASSERT_EQ(decode_file(STILL("avif_alpha.avif"), PF__FIX_MAX_PIXELS, &img), PF_OK);
    ASSERT_EQ(img.channels, 4);
    pf__image_free(&img);
    /* 10 bits in, 8 out. */
    ASSERT_EQ(decode_file(STILL("heic_10bit.heic"), PF__FIX_MAX_PIXELS, &img), PF_OK);
    ASSERT_EQ(img.channels, 3);
    ASSERT_EQ(img.w, 640);
    pf__image_free(&img);
    ASSERT_EQ(decode_file(STILL("avif_10bit.avif"), PF__FIX_MAX_PIXELS, &img), PF_OK);
    pf__image_free(&img);
    /* The grid is assembled and cropped to its 641x481. */
    ASSERT_EQ(decode_file(STILL("heic_grid_641x481.heic"), PF__FIX_MAX_PIXELS, &img),
              PF_OK);
    ASSERT_EQ(img.w, 641);
    ASSERT_EQ(img.h, 481);
    pf__image_free(&img);
    /* The pixel limit is checked before decoding; a cut file is corrupt. */
    ASSERT_EQ(decode_file(STILL("heic_640x480.heic"), 640 * 480 - 1, &img), PF_ELIMIT);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "640×480 is more than the 307199 pixels");
    ASSERT(img.px == NULL);
    ASSERT_EQ(decode_file(STILL("heic_cut.heic"), PF__FIX_MAX_PIXELS, &img), PF_ECORRUPT);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "heic_cut.heic: cannot read HEIF");
    ASSERT(strchr(pf_ctx_error(ctx), '\n') == NULL);
    ASSERT(img.px == NULL);
}

/* ---- trailers and cuts -------------------------------------------------- */

static void test_trailers(void)
{
    static const struct {
        const char *file;
        int64_t trailing;       /* -1: complete, trailer not measured */
        int width;
    } ok[] = {
        {"jpg_zero_pad.jpg", 36 * 1024, 640},
        {"jpg_trailer_43k.jpg", 43 * 1024, 640},
        {"jpg_motion_mp4.jpg", -1, 640},
        {"png_zero_pad.png", 36 * 1024, 320},
        {"png_two.png", -1, 320},
        {"png_two_padded.png", -1, 320},
        {"webp_trailer.webp", 1000, 640},
    };

    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        pf_media_info info = PF_MEDIA_INFO_INIT;
        struct stat st;

        fprintf(stderr, "   %s\n", ok[i].file);
        probe_ok(STILL(ok[i].file), &info);
        ASSERT(stat(STILL(ok[i].file), &st) == 0);
        ASSERT_EQ(info.kind, PF_MEDIA_IMAGE);
        ASSERT_EQ(info.width, ok[i].width);
        /* The size is the whole file, as a server counts it. */
        ASSERT_EQ(info.file_size, (int64_t)st.st_size);
        if (ok[i].trailing >= 0)
            ASSERT_EQ(info.trailing_bytes, ok[i].trailing);
        else
            ASSERT_INT(info.trailing_bytes, >, 0);
    }
    probe_fails(STILL("jpg_cut_zero_pad.jpg"), PF_ECORRUPT,
                "truncated JPEG (no end-of-image marker)");
    probe_fails(STILL("png_cut_zero_pad.png"), PF_ECORRUPT,
                "truncated PNG (no IEND chunk)");
    probe_fails(STILL("webp_cut.webp"), PF_ECORRUPT, "truncated WebP");
}

/* The real motion photo case: a JPEG with a whole MP4 after it, measured
 * exactly by walking the image data. */
static void test_jpeg_motion_exact(void)
{
    size_t len, mp4_len;
    uint8_t *jpg = slurp(STILL("jpg_motion_mp4.jpg"), &len);
    pf_media_info info = PF_MEDIA_INFO_INIT;
    struct pf__source *src = NULL;

    /* The MP4 (its ftyp box) starts right after the JPEG's EOI. */
    for (mp4_len = 0; mp4_len + 8 <= len; mp4_len++)
        if (memcmp(jpg + mp4_len + 4, "ftyp", 4) == 0)
            break;
    ASSERT_INT(mp4_len + 8, <=, len);
    ASSERT(jpg[mp4_len - 2] == 0xFF && jpg[mp4_len - 1] == 0xD9);
    mp4_len = len - mp4_len;
    ASSERT_EQ(pf__source_open_memory(ctx, "motion.jpg", jpg, len, &src), PF_OK);
    ASSERT_EQ(pf__probe_source(src, &info), PF_OK);
    pf__source_close(src);
    ASSERT_EQ(info.trailing_bytes, (int64_t)mp4_len);
    free(jpg);
}

/* A large photo padded with zeros: the EOI is found reading back through
 * the zeros, not by walking megabytes of image data (which only a file
 * with other data after its EOI costs). */
static void test_jpeg_padding_reads_little(void)
{
    size_t len;
    uint8_t *jpg = slurp(FIXTURE("jpg_8000x4000.jpg"), &len);
    uint8_t *buf = calloc(1, len + 36 * 1024);
    struct pf__source *src = NULL;
    pf_media_info info = PF_MEDIA_INFO_INIT;

    ASSERT(buf != NULL);
    memcpy(buf, jpg, len);
    ASSERT_EQ(pf__source_open_memory(ctx, "padded.jpg", buf, len + 36 * 1024, &src),
              PF_OK);
    ASSERT_EQ(pf__probe_source(src, &info), PF_OK);
    pf__source_close(src);
    ASSERT_EQ(info.trailing_bytes, 36 * 1024);
    ASSERT_INT(info.bytes_read, <=, PF__HEAD_BYTES + 36 * 1024 + 8192);
    ASSERT_INT(info.bytes_read, <, (int64_t)len / 2);
    /* Cut in the middle and padded: the walk runs and finds no EOI. */
    memset(buf + len / 2, 0, len - len / 2);
    ASSERT_EQ(pf__source_open_memory(ctx, "cut.jpg", buf, len + 36 * 1024, &src),
              PF_OK);
    ASSERT_EQ(pf__probe_source(src, &info), PF_ECORRUPT);
    ASSERT_STR_EQ(pf_ctx_error(ctx), "cut.jpg: truncated JPEG (no end-of-image marker)");
    pf__source_close(src);
    free(buf);
    free(jpg);
}

static void test_webp_headers(void)
{
    static const struct {
        const char *file;
        int w, h, alpha;
    } cases[] = {
        {"webp_16000x9000.webp", 16000, 9000, 0},
        {"webp_lossless_16000x9000.webp", 16000, 9000, 0},
        {"webp_lossless.webp", 320, 240, 0},
        {"webp_alpha.webp", 320, 240, 1},
        {"webp_lossless_alpha.webp", 320, 240, 1},
        {"webp_anim.webp", 320, 240, -1},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pf_media_info info = PF_MEDIA_INFO_INIT;

        fprintf(stderr, "   %s\n", cases[i].file);
        probe_ok(STILL(cases[i].file), &info);
        ASSERT_EQ(info.kind, PF_MEDIA_IMAGE);
        ASSERT_STR_EQ(info.format, "webp");
        ASSERT_EQ(info.width, cases[i].w);
        ASSERT_EQ(info.height, cases[i].h);
        ASSERT_EQ(info.bit_depth, 8);
        if (cases[i].alpha >= 0)
            ASSERT_EQ(info.has_alpha, cases[i].alpha);
        /* Only the header is read. */
        ASSERT_INT(info.bytes_read, <=, PF__HEAD_BYTES);
    }
}

/* A still whose VP8X canvas disagrees with its frame: libwebp (and so
 * ImageMagick) refuses it, and so does the probe, without decoding the
 * frame (the fuzzer's first find: a 8256x11760 frame behind a 320x240
 * canvas made FFmpeg's decoder allocate hundreds of MB). */
static void test_webp_malformed(void)
{
    size_t len;
    uint8_t *webp = slurp(STILL("webp_alpha.webp"), &len);
    struct pf__source *src = NULL;
    pf_media_info info = PF_MEDIA_INFO_INIT;

    ASSERT(len > 30 && memcmp(webp + 12, "VP8X", 4) == 0);
    webp[24] ^= 0x40;                   /* canvas width */
    ASSERT_EQ(pf__source_open_memory(ctx, "canvas.webp", webp, len, &src), PF_OK);
    ASSERT_EQ(pf__probe_source(src, &info), PF_ECORRUPT);
    ASSERT_STR_EQ(pf_ctx_error(ctx), "canvas.webp: corrupt WebP (malformed headers)");
    pf__source_close(src);
    free(webp);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        {"heif_probe", test_heif_probe},
        {"heif_phones", test_heif_phones},
        {"heif_corrupt", test_heif_corrupt},
        {"heif_depth_from_codec", test_heif_depth_from_codec},
        {"heif_mutations", test_heif_mutations},
        {"heif_decode_upright", test_heif_decode_upright},
        {"heif_decode_kinds", test_heif_decode_kinds},
        {"trailers", test_trailers},
        {"jpeg_motion_exact", test_jpeg_motion_exact},
        {"jpeg_padding_reads_little", test_jpeg_padding_reads_little},
        {"webp_headers", test_webp_headers},
        {"webp_malformed", test_webp_malformed},
    };

    ctx = pf_ctx_new();
    ASSERT(ctx != NULL);
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        int run = argc < 2;

        for (int a = 1; a < argc; a++)
            run |= strcmp(argv[a], tests[i].name) == 0;
        if (!run)
            continue;
        fprintf(stderr, "-- %s\n", tests[i].name);
        tests[i].fn();
    }
    pf_ctx_free(ctx);
    return 0;
}
