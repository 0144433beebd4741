/*
 * Probing: exact facts for every generated fixture (tools/FIXTURES.md),
 * the right error code and a message naming the file for every committed
 * corrupt one (fixtures/corrupt/README.md), memory sources and data URIs,
 * the safety limits, and hand-built or mutated inputs that must never crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "preflight.h"
#include "probe/probe_internal.h"
#include "test.h"

static pf_ctx *ctx;

static int64_t file_size(const char *path)
{
    struct stat st;

    ASSERT(stat(path, &st) == 0);
    return (int64_t)st.st_size;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    int64_t size = file_size(path);

    ASSERT(f != NULL);
    buf = malloc(size ? (size_t)size : 1);
    ASSERT(buf != NULL);
    ASSERT(fread(buf, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return buf;
}

/* Probes and requires success, printing the context's message if not. */
static void probe_ok(const char *path, pf_media_info *info)
{
    pf_err rc = pf_probe(ctx, path, info);

    if (rc != PF_OK)
        FAIL_AT("pf_probe(%s) = %s: %s", path, pf_err_name(rc),
                pf_ctx_error(ctx));
}

/* The error contract: the code, one line that starts with the file's name,
 * and the result left zeroed. */
static void probe_fails(const char *path, pf_err want, const char *reason)
{
    pf_media_info info = PF_MEDIA_INFO_INIT;
    pf_media_info zero = PF_MEDIA_INFO_INIT;
    pf_err rc;

    memset(&info, 0x5A, sizeof info);
    info.size = sizeof info;
    pf_media_info_init(&zero);
    rc = pf_probe(ctx, path, &info);
    if (rc != want)
        FAIL_AT("pf_probe(%s) = %s, want %s: %s", path, pf_err_name(rc),
                pf_err_name(want), pf_ctx_error(ctx));
    ASSERT(strncmp(pf_ctx_error(ctx), path, strlen(path)) == 0);
    ASSERT(strchr(pf_ctx_error(ctx), '\n') == NULL);
    if (reason)
        ASSERT_CONTAINS(pf_ctx_error(ctx), reason);
    ASSERT(memcmp(&info, &zero, sizeof info) == 0);
}

/* Probes bytes in memory through the same path the fuzzer uses. */
static pf_err probe_memory(const char *name, const void *data, size_t len,
                           pf_media_info *info)
{
    struct pf__source *src = NULL;
    pf_err rc;

    ASSERT_EQ(pf__source_open_memory(ctx, name, data, len, &src), PF_OK);
    rc = pf__probe_source(src, info);
    pf__source_close(src);
    return rc;
}

static void assert_still_image(const pf_media_info *info)
{
    ASSERT_EQ(info->kind, PF_MEDIA_IMAGE);
    ASSERT_EQ(info->has_video, 0);
    ASSERT_EQ(info->has_audio, 0);
    ASSERT_DBL_EQ(info->duration, -1, 0);
    ASSERT_DBL_EQ(info->fps, -1, 0);
    ASSERT_EQ(info->frame_count, -1);
    ASSERT_EQ(info->bit_rate, -1);
}

/* ---- JPEG ---------------------------------------------------------------- */

static void test_jpeg_basic(void)
{
    pf_media_info info = PF_MEDIA_INFO_INIT;
    const char *path = FIXTURE("jpg_640x480.jpg");

    probe_ok(path, &info);
    assert_still_image(&info);
    ASSERT_EQ(info.source, PF_SOURCE_FILE);
    ASSERT_STR_EQ(info.format, "jpeg");
    ASSERT_STR_EQ(info.codec, "jpeg");
    ASSERT_EQ(info.width, 640);
    ASSERT_EQ(info.height, 480);
    ASSERT_EQ(info.coded_width, 640);
    ASSERT_EQ(info.coded_height, 480);
    ASSERT_EQ(info.rotation, 0);
    ASSERT_EQ(info.orientation, 0);
    ASSERT_EQ(info.bit_depth, 8);
    ASSERT_EQ(info.progressive, 0);
    ASSERT_EQ(info.has_alpha, 0);
    ASSERT_EQ(info.file_size, file_size(path));
    /* Smaller than the head: read once, whole. */
    ASSERT_EQ(info.bytes_read, info.file_size);
}

static void test_jpeg_big_reads_little(void)
{
    pf_media_info info = PF_MEDIA_INFO_INIT;
    const char *path = FIXTURE("jpg_8000x4000.jpg");

    probe_ok(path, &info);
    ASSERT_EQ(info.width, 8000);
    ASSERT_EQ(info.height, 4000);
    ASSERT_EQ(info.file_size, file_size(path));
    /* The head and the 4 KiB tail, nothing of the scan in between. */
    ASSERT_INT(info.bytes_read, <=, PF__HEAD_BYTES + 4096);
    ASSERT_INT(info.bytes_read * 4, <, info.file_size);
}

static void test_jpeg_exif(void)
{
    pf_media_info info = PF_MEDIA_INFO_INIT;

    probe_ok(FIXTURE("jpg_exif6_4000x3000.jpg"), &info);
    ASSERT_EQ(info.orientation, 6);
    ASSERT_EQ(info.rotation, 90);
    ASSERT_EQ(info.coded_width, 4000);
    ASSERT_EQ(info.coded_height, 3000);
    ASSERT_EQ(info.width, 3000);
    ASSERT_EQ(info.height, 4000);

    /* Big-endian (Motorola) TIFF header. */
    probe_ok(FIXTURE("jpg_exif6_be.jpg"), &info);
    ASSERT_EQ(info.orientation, 8);
    ASSERT_EQ(info.rotation, 270);
    ASSERT_EQ(info.coded_width, 640);
    ASSERT_EQ(info.coded_height, 480);
    ASSERT_EQ(info.width, 480);
    ASSERT_EQ(info.height, 640);

    /* Upside down: no swap. */
    probe_ok(FIXTURE("jpg_exif3.jpg"), &info);
    ASSERT_EQ(info.orientation, 3);
    ASSERT_EQ(info.rotation, 180);
    ASSERT_EQ(info.width, 640);
    ASSERT_EQ(info.height, 480);
}

static void test_jpeg_variants(void)
{
    pf_media_info info = PF_MEDIA_INFO_INIT;

    probe_ok(FIXTURE("jpg_progressive.jpg"), &info);
    ASSERT_EQ(info.progressive, 1);
    ASSERT_EQ(info.width, 640);
    ASSERT_EQ(info.height, 480);

    probe_ok(FIXTURE("jpg_gray.jpg"), &info);
    ASSERT_EQ(info.progressive, 0);
    ASSERT_EQ(info.bit_depth, 8);
    ASSERT_EQ(info.width, 640);
    ASSERT_EQ(info.height, 480);

    probe_ok(FIXTURE("jpg_7999x4000.jpg"), &info);
    ASSERT_EQ(info.width, 7999);
    ASSERT_EQ(info.height, 4000);
    probe_ok(FIXTURE("jpg_331x1000.jpg"), &info);
    ASSERT_EQ(info.width, 331);
    ASSERT_EQ(info.height, 1000);
}

static void test_jpeg_padded(void)
{
    pf_media_info info = PF_MEDIA_INFO_INIT;

    /* 4.7 MB of COM segments between SOI and the frame header: skipped,
     * not read. */
    probe_ok(FIXTURE("jpg_size_4700000.jpg"), &info);
    ASSERT_EQ(info.file_size, 4700000);
    ASSERT_EQ(info.width, 640);
    ASSERT_EQ(info.height, 480);
    ASSERT_INT(info.bytes_read, <, 4700000 / 10);
}

static void test_jpeg_huge_header(void)
{
    pf_media_info info = PF_MEDIA_INFO_INIT;

    /* Claims 65000x65000 (12.7 GB of pixels): reported, never allocated. */
    probe_ok(CORRUPT("huge_65000.jpg"), &info);
    ASSERT_EQ(info.width, 65000);
    ASSERT_EQ(info.height, 65000);
    ASSERT_STR_EQ(info.format, "jpeg");
}

/* Offset of the first SOFn marker of a JPEG in memory. */
static size_t find_sof(const uint8_t *jpg, size_t len)
{
    for (size_t i = 2; i + 10 < len; i++)
        if (jpg[i] == 0xFF && (jpg[i + 1] == 0xC0 || jpg[i + 1] == 0xC2))
            return i;
    FAIL_AT("no SOF marker");
}

static void test_jpeg_beyond_libjpeg(void)
{
    size_t len, sof;
    uint8_t *jpg = slurp(FIXTURE("jpg_640x480.jpg"), &len);
    pf_media_info info = PF_MEDIA_INFO_INIT;

    /* 65535x65535 is a legal frame header that libjpeg refuses to decode
     * (its limit is 65500): the header's facts are still reported. */
    sof = find_sof(jpg, len);
    jpg[sof + 5] = 0xFF, jpg[sof + 6] = 0xFF;   /* height */
    jpg[sof + 7] = 0xFF, jpg[sof + 8] = 0xFF;   /* width */
    ASSERT_EQ(probe_memory("wide.jpg", jpg, len, &info), PF_OK);
    ASSERT_EQ(info.width, 65535);
    ASSERT_EQ(info.height, 65535);
    ASSERT_EQ(info.bit_depth, 8);

    /* 12-bit samples, which this libjpeg build cannot decode either. */
    jpg[sof + 4] = 12;
    ASSERT_EQ(probe_memory("deep.jpg", jpg, len, &info), PF_OK);
    ASSERT_EQ(info.bit_depth, 12);

    /* Zero height (a DNL-style header) is corrupt. */
    jpg[sof + 4] = 8;
    jpg[sof + 5] = 0, jpg[sof + 6] = 0;
    ASSERT_EQ(probe_memory("flat.jpg", jpg, len, &info), PF_ECORRUPT);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "flat.jpg: corrupt JPEG: ");
    free(jpg);
}

/* ---- PNG ----------------------------------------------------------------- */

static void test_png(void)
{
    pf_media_info info = PF_MEDIA_INFO_INIT;
    const char *path = FIXTURE("png_640x480.png");

    probe_ok(path, &info);
    assert_still_image(&info);
    ASSERT_STR_EQ(info.format, "png");
    ASSERT_STR_EQ(info.codec, "png");
    ASSERT_EQ(info.width, 640);
    ASSERT_EQ(info.height, 480);
    ASSERT_EQ(info.coded_width, 640);
    ASSERT_EQ(info.coded_height, 480);
    ASSERT_EQ(info.bit_depth, 8);
    ASSERT_EQ(info.has_alpha, 0);
    ASSERT_EQ(info.progressive, 0);
    ASSERT_EQ(info.rotation, 0);
    ASSERT_EQ(info.file_size, file_size(path));

    probe_ok(FIXTURE("png_rgba.png"), &info);
    ASSERT_EQ(info.has_alpha, 1);
    ASSERT_EQ(info.bit_depth, 8);

    probe_ok(FIXTURE("png_16bit.png"), &info);
    ASSERT_EQ(info.bit_depth, 16);
    ASSERT_EQ(info.has_alpha, 0);

    probe_ok(FIXTURE("png_interlaced.png"), &info);
    ASSERT_EQ(info.progressive, 1);
    ASSERT_EQ(info.width, 640);

    probe_ok(FIXTURE("png_8000x4000.png"), &info);
    ASSERT_EQ(info.width, 8000);
    ASSERT_EQ(info.height, 4000);

    /* Padding chunks after the image data are never read. */
    probe_ok(FIXTURE("png_size_16000000.png"), &info);
    ASSERT_EQ(info.file_size, 16000000);
    ASSERT_INT(info.bytes_read, <=, PF__HEAD_BYTES + 12);

    probe_ok(CORRUPT("huge_100000.png"), &info);
    ASSERT_EQ(info.width, 100000);
    ASSERT_EQ(info.height, 100000);
}

static void test_png_hostile_chunk(void)
{
    size_t len;
    uint8_t *png = slurp(FIXTURE("png_640x480.png"), &len);
    /* After the signature and IHDR (8 + 25 bytes), a text chunk claiming
     * 2 GiB: libpng must neither allocate it nor read past our data. */
    static const uint8_t ztxt[12] = {0x7F, 0xFF, 0xFF, 0xFF, 'z', 'T', 'X', 't',
                                     'k', 0, 0, 'x'};
    uint8_t *buf = malloc(len + sizeof ztxt);
    pf_media_info info = PF_MEDIA_INFO_INIT;

    ASSERT(buf != NULL);
    memcpy(buf, png, 33);
    memcpy(buf + 33, ztxt, sizeof ztxt);
    memcpy(buf + 33 + sizeof ztxt, png + 33, len - 33);
    ASSERT_EQ(probe_memory("bomb.png", buf, len + sizeof ztxt, &info),
              PF_ECORRUPT);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "bomb.png: ");
    free(buf);
    free(png);
}

/* ---- other still images (libavformat) ------------------------------------ */

static void test_other_images(void)
{
    static const struct {
        const char *file, *format;
    } cases[] = {
        {"img.webp", "webp"},
        {"img.gif", "gif"},
        {"img.bmp", "bmp"},
        {"img.tiff", "tiff"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pf_media_info info = PF_MEDIA_INFO_INIT;

        fprintf(stderr, "   %s\n", cases[i].file);
        probe_ok(FIXTURE(cases[i].file), &info);
        assert_still_image(&info);
        ASSERT_STR_EQ(info.format, cases[i].format);
        ASSERT_STR_EQ(info.codec, cases[i].format);
        ASSERT_EQ(info.width, 320);
        ASSERT_EQ(info.height, 240);
        ASSERT_EQ(info.coded_width, 320);
        ASSERT_EQ(info.coded_height, 240);
        ASSERT_EQ(info.rotation, 0);
    }
}

/* ---- video --------------------------------------------------------------- */

static void test_mp4(void)
{
    pf_media_info info = PF_MEDIA_INFO_INIT;
    const char *path = FIXTURE("mp4_h264_640x360_2s.mp4");

    probe_ok(path, &info);
    ASSERT_EQ(info.kind, PF_MEDIA_VIDEO);
    ASSERT_STR_EQ(info.format, "mp4");
    ASSERT_STR_EQ(info.codec, "h264");
    ASSERT_EQ(info.width, 640);
    ASSERT_EQ(info.height, 360);
    ASSERT_EQ(info.coded_width, 640);
    ASSERT_EQ(info.coded_height, 360);
    ASSERT_EQ(info.rotation, 0);
    ASSERT_EQ(info.orientation, 0);
    ASSERT_EQ(info.has_video, 1);
    ASSERT_EQ(info.has_audio, 1);
    ASSERT_STR_EQ(info.audio_codec, "aac");
    ASSERT_EQ(info.has_alpha, 0);
    ASSERT_DBL_EQ(info.duration, 2.0, 1e-3);
    ASSERT_DBL_EQ(info.fps, 25.0, 1e-9);
    ASSERT_EQ(info.frame_count, 50);
    /* ffprobe's format bit_rate for this file: size * 8 / duration. */
    ASSERT_EQ(info.bit_rate, info.file_size * 8 / 2);
    ASSERT_EQ(info.file_size, file_size(path));

    probe_ok(FIXTURE("mp4_noaudio.mp4"), &info);
    ASSERT_EQ(info.has_audio, 0);
    ASSERT_STR_EQ(info.audio_codec, "");
    ASSERT_EQ(info.frame_count, 25);
    ASSERT_DBL_EQ(info.duration, 1.0, 1e-3);

    probe_ok(FIXTURE("mp4_30fps_3s.mp4"), &info);
    ASSERT_DBL_EQ(info.fps, 30.0, 1e-9);
    ASSERT_EQ(info.frame_count, 90);
    ASSERT_DBL_EQ(info.duration, 3.0, 1e-3);

    probe_ok(FIXTURE("mp4_vertical_720x1280.mp4"), &info);
    ASSERT_EQ(info.width, 720);
    ASSERT_EQ(info.height, 1280);
    ASSERT_EQ(info.rotation, 0);

    probe_ok(FIXTURE("mp4_moov_end.mp4"), &info);
    ASSERT_EQ(info.kind, PF_MEDIA_VIDEO);
    ASSERT_EQ(info.width, 640);
    ASSERT_EQ(info.height, 360);
    ASSERT_EQ(info.frame_count, 25);
    ASSERT_EQ(info.has_audio, 1);
}

static void test_mp4_geometry(void)
{
    pf_media_info info = PF_MEDIA_INFO_INIT;

    /* tkhd matrix: 90 degrees clockwise. */
    probe_ok(FIXTURE("mp4_rot90.mp4"), &info);
    ASSERT_EQ(info.rotation, 90);
    ASSERT_EQ(info.coded_width, 640);
    ASSERT_EQ(info.coded_height, 360);
    ASSERT_EQ(info.width, 360);
    ASSERT_EQ(info.height, 640);

    /* 640x480 with 4:3 pixels: 853.33 wide on screen. */
    probe_ok(FIXTURE("mp4_sar.mp4"), &info);
    ASSERT_EQ(info.coded_width, 640);
    ASSERT_EQ(info.coded_height, 480);
    ASSERT_EQ(info.width, 853);
    ASSERT_EQ(info.height, 480);
}

static void test_mp4_padded(void)
{
    pf_media_info info = PF_MEDIA_INFO_INIT;

    /* 16 MB behind a front moov: the probe reads a sliver of it. */
    probe_ok(FIXTURE("mp4_size_16000000.mp4"), &info);
    ASSERT_EQ(info.file_size, 16000000);
    ASSERT_EQ(info.frame_count, 50);
    ASSERT_INT(info.bytes_read, <, 1 << 20);
}

static void test_other_containers(void)
{
    pf_media_info info = PF_MEDIA_INFO_INIT;

    probe_ok(FIXTURE("mov_h264.mov"), &info);
    ASSERT_EQ(info.kind, PF_MEDIA_VIDEO);
    ASSERT_STR_EQ(info.format, "mov");
    ASSERT_STR_EQ(info.codec, "h264");
    ASSERT_EQ(info.width, 640);
    ASSERT_EQ(info.height, 360);
    ASSERT_EQ(info.has_audio, 1);
    ASSERT_DBL_EQ(info.fps, 25.0, 1e-9);
    ASSERT_EQ(info.frame_count, 25);

    probe_ok(FIXTURE("webm_vp9.webm"), &info);
    ASSERT_EQ(info.kind, PF_MEDIA_VIDEO);
    ASSERT_STR_EQ(info.format, "webm");
    ASSERT_STR_EQ(info.codec, "vp9");
    ASSERT_EQ(info.width, 320);
    ASSERT_EQ(info.height, 240);
    ASSERT_EQ(info.has_audio, 0);
    ASSERT_DBL_EQ(info.fps, 25.0, 1e-9);
    ASSERT_DBL_EQ(info.duration, 1.0, 1e-3);
    ASSERT_EQ(info.frame_count, 25);
    ASSERT_INT(info.bit_rate, >, 0);

    probe_ok(FIXTURE("mkv_h264.mkv"), &info);
    ASSERT_EQ(info.kind, PF_MEDIA_VIDEO);
    ASSERT_STR_EQ(info.format, "matroska");
    ASSERT_STR_EQ(info.codec, "h264");
    ASSERT_EQ(info.width, 640);
    ASSERT_EQ(info.height, 360);
    ASSERT_EQ(info.has_audio, 1);
    ASSERT_STR_EQ(info.audio_codec, "aac");
    ASSERT_DBL_EQ(info.fps, 25.0, 1e-9);
    /* Matroska stores no frame count; the container's 1.021 s (the AAC
     * track runs past the last frame) gives an estimate. */
    ASSERT_DBL_EQ(info.duration, 1.021, 1e-3);
    ASSERT_INT(info.frame_count, >=, 25);
    ASSERT_INT(info.frame_count, <=, 26);
}

static void test_audio_only(void)
{
    pf_media_info info = PF_MEDIA_INFO_INIT;

    /* Not an error here: the rules say a video field got audio. */
    probe_ok(CORRUPT("audio_only.mp4"), &info);
    ASSERT_EQ(info.kind, PF_MEDIA_AUDIO);
    ASSERT_EQ(info.has_video, 0);
    ASSERT_EQ(info.has_audio, 1);
    ASSERT_STR_EQ(info.audio_codec, "aac");
    ASSERT_STR_EQ(info.codec, "aac");
    ASSERT_STR_EQ(info.format, "mp4");
    ASSERT_EQ(info.width, -1);
    ASSERT_EQ(info.height, -1);
    ASSERT_DBL_EQ(info.duration, 1.0, 1e-3);
    ASSERT_DBL_EQ(info.fps, -1, 0);
    ASSERT_EQ(info.frame_count, -1);
}

/* ---- failures ------------------------------------------------------------ */

static void test_corrupt(void)
{
    probe_fails(CORRUPT("empty.jpg"), PF_EEMPTY, "empty file");
    probe_fails(CORRUPT("text.jpg"), PF_EFORMAT, "not a recognised");
    probe_fails(CORRUPT("text.mp4"), PF_EFORMAT, "not a recognised");
    probe_fails(CORRUPT("truncated.png"), PF_ECORRUPT,
                "truncated PNG (no IEND chunk)");
    probe_fails(CORRUPT("truncated_header.png"), PF_ECORRUPT,
                "truncated PNG");
    probe_fails(CORRUPT("truncated.jpg"), PF_ECORRUPT,
                "truncated JPEG (no end-of-image marker)");
    probe_fails(CORRUPT("truncated.mp4"), PF_ECORRUPT,
                "truncated MP4 (sample data ends at 8764 of 5258 bytes)");
    probe_fails(CORRUPT("truncated_moov.mp4"), PF_ECORRUPT,
                "truncated or corrupt MP4 (moov atom not found)");
    probe_fails(CORRUPT("garbage.png"), PF_ECORRUPT, "corrupt PNG");
}

static void test_file_errors(void)
{
    const char *dir = getenv("PF_FIXTURES");
    char missing[4096];
    pf_media_info info = PF_MEDIA_INFO_INIT;

    snprintf(missing, sizeof missing, "%s/no-such-file.jpg", dir);
    probe_fails(missing, PF_ENOENT, ": No such file or directory");
    probe_fails(dir, PF_EIO, ": is a directory");

    ASSERT_EQ(pf_probe(ctx, NULL, &info), PF_EUSAGE);
    ASSERT_EQ(pf_probe(ctx, "", &info), PF_EUSAGE);
    ASSERT_EQ(pf_probe(ctx, "x", NULL), PF_EUSAGE);
}

/* ---- memory sources and data URIs ---------------------------------------- */

static void test_memory_source(void)
{
    size_t len;
    uint8_t *png = slurp(FIXTURE("png_rgba.png"), &len);
    uint8_t *mp4 = NULL;
    pf_media_info info = PF_MEDIA_INFO_INIT;
    struct pf__source *src = NULL;
    uint8_t buf[16];
    size_t got = 99;

    ASSERT_EQ(probe_memory("mem.png", png, len, &info), PF_OK);
    ASSERT_EQ(info.source, PF_SOURCE_DATA);
    ASSERT_EQ(info.width, 640);
    ASSERT_EQ(info.height, 480);
    ASSERT_EQ(info.has_alpha, 1);
    ASSERT_EQ(info.file_size, (int64_t)len);
    ASSERT_EQ(info.bytes_read, (int64_t)len);

    /* Positional reads: past the end is zero bytes, not an error. */
    ASSERT_EQ(pf__source_open_memory(ctx, "mem", png, len, &src), PF_OK);
    ASSERT_EQ(src->read_at(src, (int64_t)len, buf, sizeof buf, &got), PF_OK);
    ASSERT_EQ(got, 0);
    ASSERT_EQ(pf__source_read_full(src, (int64_t)len - 4, buf, sizeof buf,
                                   &got), PF_OK);
    ASSERT_EQ(got, 4);
    ASSERT(memcmp(buf, png + len - 4, 4) == 0);
    ASSERT_EQ(src->bytes_read, 4);
    pf__source_close(src);
    pf__source_close(NULL);

    /* Same through a file source. */
    ASSERT_EQ(pf__source_open_file(ctx, FIXTURE("png_rgba.png"), &src), PF_OK);
    ASSERT_EQ(src->size, (int64_t)len);
    ASSERT_EQ(pf__source_read_full(src, 1, buf, 3, &got), PF_OK);
    ASSERT_EQ(got, 3);
    ASSERT(memcmp(buf, "PNG", 3) == 0);
    ASSERT_EQ(src->read_at(src, (int64_t)len + 100, buf, 4, &got), PF_OK);
    ASSERT_EQ(got, 0);
    ASSERT_EQ(src->bytes_read, 3);
    pf__source_close(src);

    mp4 = slurp(FIXTURE("mp4_h264_640x360_2s.mp4"), &len);
    ASSERT_EQ(probe_memory("mem.mp4", mp4, len, &info), PF_OK);
    ASSERT_EQ(info.kind, PF_MEDIA_VIDEO);
    ASSERT_EQ(info.frame_count, 50);
    ASSERT_EQ(info.has_audio, 1);

    /* Zero bytes. */
    ASSERT_EQ(probe_memory("nothing", png, 0, &info), PF_EEMPTY);
    ASSERT_STR_EQ(pf_ctx_error(ctx), "nothing: empty file");
    free(png);
    free(mp4);
}

static char *base64(const uint8_t *in, size_t len)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((len + 2) / 3 * 4 + 1), *p = out;

    ASSERT(out != NULL);
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;

        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        *p++ = tab[v >> 18 & 63];
        *p++ = tab[v >> 12 & 63];
        *p++ = i + 1 < len ? tab[v >> 6 & 63] : '=';
        *p++ = i + 2 < len ? tab[v & 63] : '=';
    }
    *p = '\0';
    return out;
}

static void test_data_uri(void)
{
    size_t len;
    uint8_t *jpg = slurp(FIXTURE("jpg_exif6_be.jpg"), &len);
    char *b64 = base64(jpg, len);
    char *uri = malloc(strlen(b64) + 64);
    pf_media_info info = PF_MEDIA_INFO_INIT;
    pf_err rc;

    ASSERT(uri != NULL);
    /* The MIME type lies; the bytes decide. */
    sprintf(uri, "data:image/png;base64,%s", b64);
    probe_ok(uri, &info);
    ASSERT_EQ(info.source, PF_SOURCE_DATA);
    ASSERT_STR_EQ(info.format, "jpeg");
    ASSERT_EQ(info.width, 480);
    ASSERT_EQ(info.height, 640);
    ASSERT_EQ(info.file_size, (int64_t)len);

    /* No MIME type, upper-case marker. */
    sprintf(uri, "data:;BASE64,%s", b64);
    probe_ok(uri, &info);
    ASSERT_EQ(info.width, 480);

    /* A corrupted payload: the message names the URI, redacted. */
    sprintf(uri, "data:image/jpeg;base64,%s", b64);
    uri[40] = '*';
    memset(&info, 0x5A, sizeof info);
    info.size = sizeof info;
    rc = pf_probe(ctx, uri, &info);
    ASSERT_EQ(rc, PF_EFORMAT);
    ASSERT_STR_EQ(pf_ctx_error(ctx),
                  "data:image/jpeg;base64,...: invalid base64 in data URI "
                  "(at payload offset 17)");
    ASSERT_EQ(info.width, 0);

    rc = pf_probe(ctx, "data:image/png;base64,QUJD=QUJD", &info);
    ASSERT_EQ(rc, PF_EFORMAT);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "invalid base64");
    rc = pf_probe(ctx, "data:image/png;base64,QUJDR", &info);
    ASSERT_EQ(rc, PF_EFORMAT);
    rc = pf_probe(ctx, "data:text/plain,hello", &info);
    ASSERT_EQ(rc, PF_EFORMAT);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "only base64 data URIs");
    rc = pf_probe(ctx, "data:image/png;base64", &info);
    ASSERT_EQ(rc, PF_EFORMAT);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "no comma");
    rc = pf_probe(ctx, "data:image/png;base64,", &info);
    ASSERT_EQ(rc, PF_EEMPTY);
    ASSERT_STR_EQ(pf_ctx_error(ctx), "data:image/png;base64,...: empty file");
    /* Text in base64: decodes fine, is not media. */
    rc = pf_probe(ctx, "data:image/png;base64,aGVsbG8gd29ybGQK", &info);
    ASSERT_EQ(rc, PF_EFORMAT);
    ASSERT_STR_EQ(pf_ctx_error(ctx), "data:image/png;base64,...: not a "
                                     "recognised image or video");
    free(uri);
    free(b64);
    free(jpg);
}

/* ---- hand-built JPEGs: EXIF parsing and trailers ------------------------- */

/* jpg with an APP1 segment holding payload inserted after SOI, then tail
 * appended after the file's own end. */
static uint8_t *jpeg_with(const uint8_t *jpg, size_t jpg_len,
                          const void *app1, size_t app1_len, const void *tail,
                          size_t tail_len, size_t *out_len)
{
    size_t n = jpg_len + (app1 ? app1_len + 4 : 0) + tail_len;
    uint8_t *out = malloc(n), *p = out;

    ASSERT(out != NULL);
    memcpy(p, jpg, 2);
    p += 2;
    if (app1) {
        *p++ = 0xFF;
        *p++ = 0xE1;
        *p++ = (uint8_t)((app1_len + 2) >> 8);
        *p++ = (uint8_t)(app1_len + 2);
        memcpy(p, app1, app1_len);
        p += app1_len;
    }
    memcpy(p, jpg + 2, jpg_len - 2);
    p += jpg_len - 2;
    if (tail_len)
        memcpy(p, tail, tail_len);
    *out_len = n;
    return out;
}

static int exif_orientation_of(const uint8_t *jpg, size_t len,
                               const void *app1, size_t app1_len)
{
    size_t n;
    uint8_t *buf = jpeg_with(jpg, len, app1, app1_len, NULL, 0, &n);
    pf_media_info info = PF_MEDIA_INFO_INIT;
    pf_err rc = probe_memory("exif.jpg", buf, n, &info);

    if (rc != PF_OK)
        FAIL_AT("exif.jpg: %s", pf_ctx_error(ctx));
    free(buf);
    return info.orientation;
}

static void test_exif_parsing(void)
{
    size_t len;
    uint8_t *jpg = slurp(FIXTURE("jpg_640x480.jpg"), &len);
    /* Exif header, little-endian TIFF, IFD0 at 8 with one entry. */
    uint8_t le[] = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0,
                    1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0,
                    0, 0, 0, 0};
    uint8_t be[] = {'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42, 0, 0, 0, 8,
                    0, 2, 0x01, 0x0F, 0, 2, 0, 0, 0, 4, 'A', 'B', 'C', 0,
                    0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 5, 0, 0, 0, 0, 0, 0};
    uint8_t bad[sizeof le];

    ASSERT_EQ(exif_orientation_of(jpg, len, le, sizeof le), 6);
    ASSERT_EQ(exif_orientation_of(jpg, len, be, sizeof be), 5);

    /* LONG instead of SHORT: some writers do it. */
    memcpy(bad, le, sizeof le);
    bad[18] = 4;
    ASSERT_EQ(exif_orientation_of(jpg, len, bad, sizeof bad), 6);
    /* Out-of-range value. */
    memcpy(bad, le, sizeof le);
    bad[24] = 9;
    ASSERT_EQ(exif_orientation_of(jpg, len, bad, sizeof bad), 0);
    /* IFD offset far outside the segment. */
    memcpy(bad, le, sizeof le);
    bad[10] = 0xF0, bad[11] = 0xFF, bad[12] = 0xFF, bad[13] = 0xFF;
    ASSERT_EQ(exif_orientation_of(jpg, len, bad, sizeof bad), 0);
    /* IFD offset pointing at the last byte. */
    memcpy(bad, le, sizeof le);
    bad[10] = (uint8_t)(sizeof le - 6 - 1);
    ASSERT_EQ(exif_orientation_of(jpg, len, bad, sizeof bad), 0);
    /* 65535 entries claimed, one present: the loop stays in bounds. */
    memcpy(bad, le, sizeof le);
    bad[14] = 0xFF, bad[15] = 0xFF;
    ASSERT_EQ(exif_orientation_of(jpg, len, bad, sizeof bad), 6);
    /* The entry cut short by the segment's end. */
    ASSERT_EQ(exif_orientation_of(jpg, len, le, 24), 0);
    /* Unknown byte order, wrong magic, too short. */
    memcpy(bad, le, sizeof le);
    bad[6] = 'X';
    ASSERT_EQ(exif_orientation_of(jpg, len, bad, sizeof bad), 0);
    memcpy(bad, le, sizeof le);
    bad[8] = 43;
    ASSERT_EQ(exif_orientation_of(jpg, len, bad, sizeof bad), 0);
    ASSERT_EQ(exif_orientation_of(jpg, len, le, 9), 0);
    ASSERT_EQ(exif_orientation_of(jpg, len, "Exif", 4), 0);
    free(jpg);
}

static void test_jpeg_trailers(void)
{
    size_t len, n;
    uint8_t *jpg = slurp(FIXTURE("jpg_640x480.jpg"), &len);
    uint8_t *trunc_jpg, *buf;
    size_t trunc_len;
    static const char xmp[] =
        "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">"
        "<rdf:Description GCamera:MotionPhoto=\"1\"/></x:xmpmeta>";
    static const char xmp_plain[] =
        "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>";
    uint8_t *video = calloc(1, 16384);
    pf_media_info info = PF_MEDIA_INFO_INIT;

    ASSERT(video != NULL);
    memcpy(video + 4, "ftypisom", 8);

    /* A small trailer after EOI is common and harmless. */
    buf = jpeg_with(jpg, len, NULL, 0, "trailer!", 8, &n);
    ASSERT_EQ(probe_memory("trailer.jpg", buf, n, &info), PF_OK);
    ASSERT_EQ(info.trailing_bytes, 8);
    free(buf);

    /* A motion photo: an MP4 larger than the tail window after EOI. */
    buf = jpeg_with(jpg, len, xmp, sizeof xmp - 1, video, 16384, &n);
    ASSERT_EQ(probe_memory("motion.jpg", buf, n, &info), PF_OK);
    ASSERT_EQ(info.width, 640);
    free(buf);
    /* The same trailer without the XMP announcing it: the image data is
     * walked to its EOI, and the video after it is a trailer, as libjpeg,
     * ImageMagick and exiftool read the file (issue 9). */
    buf = jpeg_with(jpg, len, xmp_plain, sizeof xmp_plain - 1, video, 16384,
                    &n);
    ASSERT_EQ(probe_memory("nomotion.jpg", buf, n, &info), PF_OK);
    ASSERT_EQ(info.trailing_bytes, 16384);
    ASSERT_EQ(info.file_size, (int64_t)n);
    free(buf);

    /* Samsung's SEFT trailer ends the file. */
    memcpy(video + 16384 - 4, "SEFT", 4);
    buf = jpeg_with(jpg, len, NULL, 0, video, 16384, &n);
    ASSERT_EQ(probe_memory("seft.jpg", buf, n, &info), PF_OK);
    free(buf);

    /* Cut anywhere in the scan: truncated. Cut inside the header: still
     * ECORRUPT, with a different reason. */
    trunc_jpg = slurp(CORRUPT("truncated.jpg"), &trunc_len);
    ASSERT_EQ(probe_memory("t.jpg", trunc_jpg, trunc_len, &info), PF_ECORRUPT);
    ASSERT_EQ(probe_memory("t.jpg", jpg, 100, &info), PF_ECORRUPT);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "t.jpg: truncated JPEG");
    ASSERT_EQ(probe_memory("t.jpg", jpg, 3, &info), PF_ECORRUPT);
    free(trunc_jpg);
    free(video);
    free(jpg);
}

/* ---- limits and hostile input -------------------------------------------- */

static void test_limits(void)
{
    int64_t max_bytes = ctx->max_probe_bytes;
    int timeout = ctx->probe_timeout_ms;
    pf_media_info info = PF_MEDIA_INFO_INIT;
    pf_err rc;

    /* The JPEG's frame header lies 4.7 MB in. */
    ctx->max_probe_bytes = 100000;
    rc = pf_probe(ctx, FIXTURE("jpg_size_4700000.jpg"), &info);
    ASSERT_EQ(rc, PF_ELIMIT);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "jpg_size_4700000.jpg: JPEG header "
                                       "larger than 100000 bytes");
    ctx->max_probe_bytes = 1000;
    rc = pf_probe(ctx, FIXTURE("mp4_h264_640x360_2s.mp4"), &info);
    ASSERT_EQ(rc, PF_ELIMIT);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "probe needs more than 1000 bytes");
    ctx->max_probe_bytes = max_bytes;

    ctx->probe_timeout_ms = 0;
    rc = pf_probe(ctx, FIXTURE("webm_vp9.webm"), &info);
    ASSERT_EQ(rc, PF_ELIMIT);
    ASSERT_CONTAINS(pf_ctx_error(ctx), "probe took longer than 0 ms");
    ctx->probe_timeout_ms = timeout;
}

static void test_hostile_text(void)
{
    static const char hls[] =
        "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n/etc/passwd\n"
        "#EXT-X-ENDLIST\n";
    static const char concat[] = "ffconcat version 1.0\nfile /etc/passwd\n";
    static const char srt[] = "1\n00:00:01,000 --> 00:00:02,000\nhello\n\n"
                              "2\n00:00:03,000 --> 00:00:04,000\nworld\n\n";
    pf_media_info info = PF_MEDIA_INFO_INIT;

    /* Playlists name other files: refused before they are opened. */
    ASSERT_EQ(probe_memory("list.m3u8", hls, sizeof hls - 1, &info),
              PF_EFORMAT);
    ASSERT_STR_EQ(pf_ctx_error(ctx),
                  "list.m3u8: not a recognised image or video");
    ASSERT_EQ(probe_memory("list.txt", concat, sizeof concat - 1, &info),
              PF_EFORMAT);
    ASSERT_EQ(probe_memory("subs.srt", srt, sizeof srt - 1, &info),
              PF_EFORMAT);
}

static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* Cut and scrambled fixtures: any code but a crash, a leak or silence. */
static void test_mutations(void)
{
    /* The first four formats have an end-of-file check: any cut is caught. */
    static const char *files[] = {
        "jpg_exif6_be.jpg", "png_rgba.png",  "mp4_noaudio.mp4",
        "mov_h264.mov",     "img.webp",      "img.gif",
        "img.bmp",          "img.tiff",      "webm_vp9.webm",
        "mkv_h264.mkv",
    };

    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t len;
        uint8_t *orig = slurp(FIXTURE(files[f]), &len);
        uint8_t *buf = malloc(len);

        ASSERT(buf != NULL);
        for (int round = 0; round < 16; round++) {
            size_t n = len;
            pf_media_info info = PF_MEDIA_INFO_INIT;
            pf_err rc;

            memcpy(buf, orig, len);
            if (round < 6) {
                n = len * (size_t)(round + 1) / 8;
            } else {
                /* Damage the first KiB, where the headers live. */
                size_t span = len < 1024 ? len : 1024;

                for (int k = 0; k < 1 + round % 4; k++)
                    buf[8 + rng() % (span - 8)] ^= (uint8_t)(1 + rng() % 255);
            }
            rc = probe_memory("mutant", buf, n, &info);
            /* ... and so do the last two (Matroska's segment size). */
            if (round < 6 && (f < 4 || f >= 8) && rc != PF_ECORRUPT)
                FAIL_AT("%s cut at %zu: %s: %s", files[f], n, pf_err_name(rc),
                        pf_ctx_error(ctx));
            if (rc != PF_OK) {
                ASSERT(rc == PF_EFORMAT || rc == PF_ECORRUPT ||
                       rc == PF_ELIMIT || rc == PF_EEMPTY);
                ASSERT(strncmp(pf_ctx_error(ctx), "mutant: ", 8) == 0);
            }
        }
        free(buf);
        free(orig);
    }
}

static void test_random_bytes(void)
{
    uint8_t buf[4096];
    pf_media_info info = PF_MEDIA_INFO_INIT;

    for (int i = 0; i < 8; i++) {
        pf_err rc;

        for (size_t k = 0; k < sizeof buf; k++)
            buf[k] = (uint8_t)rng();
        if (i == 1)
            buf[0] = 0xFF, buf[1] = 0xD8, buf[2] = 0xFF;
        if (i == 2)
            memcpy(buf, "\x89PNG\r\n\x1a\n", 8);
        if (i == 3)
            memcpy(buf, "\0\0\0\x20" "ftypisom", 12);
        if (i == 4)
            memcpy(buf, "RIFF\xf0\x0f\0\0WEBPVP8X", 16);
        if (i == 5)
            memcpy(buf, "\x1a\x45\xdf\xa3", 4);
        rc = probe_memory("random", buf, sizeof buf, &info);
        ASSERT_NE(rc, PF_OK);
        ASSERT(strncmp(pf_ctx_error(ctx), "random: ", 8) == 0);
    }
}

/* ---- JSON ---------------------------------------------------------------- */

static void test_json(void)
{
    pf_media_info info = PF_MEDIA_INFO_INIT;
    char *json;

    probe_ok(FIXTURE("jpg_exif6_4000x3000.jpg"), &info);
    json = pf_media_info_to_json(&info);
    ASSERT(json != NULL);
    ASSERT_CONTAINS(json, "\"kind\":\"image\"");
    ASSERT_CONTAINS(json, "\"source\":\"file\"");
    ASSERT_CONTAINS(json, "\"format\":\"jpeg\"");
    ASSERT_CONTAINS(json, "\"width\":3000,\"height\":4000");
    ASSERT_CONTAINS(json, "\"coded_width\":4000,\"coded_height\":3000");
    ASSERT_CONTAINS(json, "\"rotation\":90,\"orientation\":6");
    ASSERT_CONTAINS(json, "\"has_video\":false");
    ASSERT_CONTAINS(json, "\"bit_depth\":8");
    ASSERT(strstr(json, "\"duration\"") == NULL);
    ASSERT(strstr(json, "\"fps\"") == NULL);
    ASSERT(strstr(json, "\"audio_codec\"") == NULL);
    pf_free(json);

    probe_ok(FIXTURE("mp4_h264_640x360_2s.mp4"), &info);
    json = pf_media_info_to_json(&info);
    ASSERT(json != NULL);
    ASSERT_CONTAINS(json, "\"kind\":\"video\"");
    ASSERT_CONTAINS(json, "\"has_audio\":true,\"audio_codec\":\"aac\"");
    ASSERT_CONTAINS(json, "\"duration\":2,\"fps\":25,\"frame_count\":50");
    ASSERT(strstr(json, "\"orientation\"") == NULL);
    pf_free(json);

    ASSERT(pf_media_info_to_json(NULL) == NULL);
    ASSERT_STR_EQ(pf_media_kind_name(PF_MEDIA_IMAGE), "image");
    ASSERT_STR_EQ(pf_media_kind_name(PF_MEDIA_VIDEO), "video");
    ASSERT_STR_EQ(pf_media_kind_name(PF_MEDIA_AUDIO), "audio");
    ASSERT_STR_EQ(pf_media_kind_name(PF_MEDIA_UNKNOWN), "unknown");
    ASSERT_STR_EQ(pf_media_kind_name((pf_media_kind)42), "unknown");
}

int main(void)
{
    ctx = pf_ctx_new();
    ASSERT(ctx != NULL);
    RUN(test_jpeg_basic);
    RUN(test_jpeg_big_reads_little);
    RUN(test_jpeg_exif);
    RUN(test_jpeg_variants);
    RUN(test_jpeg_padded);
    RUN(test_jpeg_huge_header);
    RUN(test_jpeg_beyond_libjpeg);
    RUN(test_png);
    RUN(test_png_hostile_chunk);
    RUN(test_other_images);
    RUN(test_mp4);
    RUN(test_mp4_geometry);
    RUN(test_mp4_padded);
    RUN(test_other_containers);
    RUN(test_audio_only);
    RUN(test_corrupt);
    RUN(test_file_errors);
    RUN(test_memory_source);
    RUN(test_data_uri);
    RUN(test_exif_parsing);
    RUN(test_jpeg_trailers);
    RUN(test_limits);
    RUN(test_hostile_text);
    RUN(test_mutations);
    RUN(test_random_bytes);
    RUN(test_json);
    pf_ctx_free(ctx);
    return 0;
}
