/*
 * JPEG probing with the libjpeg API (libjpeg-turbo). Only the header is
 * read: jpeg_read_header() stops at the first scan, so no pixel is decoded
 * and nothing is allocated from the size the file claims. A 65000x65000
 * header costs what a 64x64 one does.
 *
 * libjpeg reports fatal errors through error_exit, which must not return;
 * ours longjmps back to pf__jpeg_read_header, the only frame that reads
 * through the library, so no other code ever sees a jump.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "probe_internal.h"

/* Reads after the head start small and double: past a skipped segment the
 * next thing is a 4-byte marker header, and a file padded with many large
 * comment segments must not cost a full chunk per segment. */
#define PF__JPEG_CHUNK 16384
#define PF__JPEG_CHUNK_MIN 512
/* Enough of the end of a file to find the end-of-image marker behind the
 * small trailers cameras and editors append. */
#define PF__JPEG_TAIL 4096

struct pf__jpeg_state {
    struct jpeg_source_mgr pub;     /* first: cinfo->src is cast back */
    struct jpeg_error_mgr err;
    struct jpeg_decompress_struct cinfo;
    jmp_buf jmp;
    struct pf__source *src;
    int64_t pos;                    /* source offset after the buffer */
    size_t chunk;                   /* size of the next read */
    pf_err io_rc;                   /* a read error or limit, reported */
    int eof;                        /* the data ended inside the header */
    uint8_t buf[PF__JPEG_CHUNK];
};

static const JOCTET pf__fake_eoi[2] = {0xFF, JPEG_EOI};

static void pf__jpeg_init_source(j_decompress_ptr cinfo)
{
    (void)cinfo;
}

static void pf__jpeg_term_source(j_decompress_ptr cinfo)
{
    (void)cinfo;
}

/* The head buffer has been fed already (pf__jpeg_read_header points the
 * source at it); later bytes come from the source on demand, so a header that
 * fits the head costs no further read. */
static boolean pf__jpeg_fill_input_buffer(j_decompress_ptr cinfo)
{
    struct pf__jpeg_state *st = (struct pf__jpeg_state *)cinfo->src;
    struct pf__source *src = st->src;
    size_t got = 0;
    pf_err rc;

    if (st->eof)
        goto eof;
    if (st->pos >= src->ctx->max_probe_bytes) {
        st->io_rc = pf__error(src->ctx, PF_ELIMIT,
                              "%s: JPEG header larger than %lld bytes",
                              src->name,
                              (long long)src->ctx->max_probe_bytes);
        longjmp(st->jmp, 1);
    }
    if (st->chunk < PF__JPEG_CHUNK_MIN)
        st->chunk = PF__JPEG_CHUNK_MIN;
    if ((rc = src->read_at(src, st->pos, st->buf, st->chunk, &got)) !=
        PF_OK) {
        st->io_rc = rc;
        longjmp(st->jmp, 1);
    }
    if (got == 0) {
        st->eof = 1;
        goto eof;
    }
    st->pos += (int64_t)got;
    if (st->chunk < sizeof st->buf)
        st->chunk *= 2;
    st->pub.next_input_byte = st->buf;
    st->pub.bytes_in_buffer = got;
    return TRUE;
eof:
    /* libjpeg's own answer to a short file: pretend the image ends here.
     * jpeg_read_header then fails with "no image" if the frame header was
     * not reached, and we remember why. */
    st->pub.next_input_byte = pf__fake_eoi;
    st->pub.bytes_in_buffer = sizeof pf__fake_eoi;
    return TRUE;
}

/* Skipping unsaved segments (ICC profiles, thumbnails in APP2...) moves the
 * offset without reading, which keeps a big file's probe small. */
static void pf__jpeg_skip_input_data(j_decompress_ptr cinfo, long num_bytes)
{
    struct pf__jpeg_state *st = (struct pf__jpeg_state *)cinfo->src;

    if (num_bytes <= 0)
        return;
    if ((size_t)num_bytes <= st->pub.bytes_in_buffer) {
        st->pub.next_input_byte += num_bytes;
        st->pub.bytes_in_buffer -= (size_t)num_bytes;
        return;
    }
    if (st->eof) {
        /* Already at the fake EOI: keep it for the marker reader. */
        return;
    }
    st->pos += num_bytes - (long)st->pub.bytes_in_buffer;
    st->pub.bytes_in_buffer = 0;
    st->chunk = PF__JPEG_CHUNK_MIN;
}

static void pf__jpeg_error_exit(j_common_ptr cinfo)
{
    struct pf__jpeg_state *st = cinfo->client_data;

    longjmp(st->jmp, 1);
}

/* libjpeg prints warnings to stderr by default; a library must not. */
static void pf__jpeg_emit_message(j_common_ptr cinfo, int msg_level)
{
    (void)cinfo;
    (void)msg_level;
}

static void pf__jpeg_output_message(j_common_ptr cinfo)
{
    (void)cinfo;
}

static unsigned pf__get16(const uint8_t *p, int le)
{
    return le ? (unsigned)p[0] | (unsigned)p[1] << 8
              : (unsigned)p[0] << 8 | (unsigned)p[1];
}

static uint32_t pf__get32(const uint8_t *p, int le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                    (uint32_t)p[3] << 24
              : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* The EXIF orientation (1-8) from an APP1 segment, 0 when absent or
 * malformed. Every offset is checked against the segment: the values come
 * from the file and may point anywhere. */
static int pf__exif_orientation(const uint8_t *d, size_t len)
{
    const uint8_t *t;
    size_t tlen;
    uint64_t ifd, count;
    int le;

    if (len < 6 + 8 || memcmp(d, "Exif\0\0", 6) != 0)
        return 0;
    t = d + 6;
    tlen = len - 6;
    if (t[0] == 'I' && t[1] == 'I')
        le = 1;
    else if (t[0] == 'M' && t[1] == 'M')
        le = 0;
    else
        return 0;
    if (pf__get16(t + 2, le) != 42)
        return 0;
    ifd = pf__get32(t + 4, le);
    if (ifd + 2 > tlen)
        return 0;
    count = pf__get16(t + ifd, le);
    for (uint64_t i = 0; i < count; i++) {
        uint64_t e = ifd + 2 + 12 * i;
        unsigned tag, type;
        unsigned value;

        if (e + 12 > tlen)
            break;
        tag = pf__get16(t + e, le);
        if (tag != 0x0112)
            continue;
        type = pf__get16(t + e + 2, le);
        /* SHORT per the spec; a few writers use LONG. Either way the value
         * sits in the entry itself. */
        if (type == 3)
            value = pf__get16(t + e + 8, le);
        else if (type == 4)
            value = (unsigned)pf__get32(t + e + 8, le);
        else
            return 0;
        return value >= 1 && value <= 8 ? (int)value : 0;
    }
    return 0;
}

static int pf__contains(const uint8_t *hay, size_t hay_len, const char *needle)
{
    size_t n = strlen(needle);

    for (size_t i = 0; n <= hay_len && i <= hay_len - n; i++)
        if (hay[i] == (uint8_t)needle[0] && memcmp(hay + i, needle, n) == 0)
            return 1;
    return 0;
}

/* A byte reader over the source for the scan below: 64 KiB at a time,
 * however far it is told to skip. */
struct pf__jpeg_scan {
    struct pf__source *src;
    int64_t pos;                    /* offset of buf[0] */
    size_t len, at;
    uint8_t buf[65536];
};

/* The next byte, or -1 at the end of the data (*rc says whether a read
 * failed). */
static int pf__jpeg_scan_byte(struct pf__jpeg_scan *sc, pf_err *rc)
{
    if (sc->at >= sc->len) {
        sc->pos += (int64_t)sc->len;
        sc->at = sc->len = 0;
        if ((*rc = pf__source_read_full(sc->src, sc->pos, sc->buf,
                                        sizeof sc->buf, &sc->len)) != PF_OK ||
            sc->len == 0)
            return -1;
    }
    return sc->buf[sc->at++];
}

static void pf__jpeg_scan_skip(struct pf__jpeg_scan *sc, int64_t n)
{
    if ((uint64_t)n <= sc->len - sc->at) {
        sc->at += (size_t)n;
        return;
    }
    sc->pos += (int64_t)sc->at + n;
    sc->at = sc->len = 0;
}

/* Where the JPEG really ends: the offset just after its EOI marker,
 * found by walking forward from the first scan through entropy-coded data
 * (where an 0xFF byte is always followed by a stuffed zero or a restart
 * marker) and the segments between the scans of a progressive file. -1
 * when the data ends first: the file was cut. Stops, answering -2, after
 * limit bytes. */
static pf_err pf__jpeg_find_end(struct pf__source *src, int64_t scan_start,
                                int64_t limit, int64_t *end)
{
    struct pf__jpeg_scan *sc = NULL;
    pf_err rc = PF_OK;
    int c;

    *end = -1;
    if (!(sc = calloc(1, sizeof *sc)))
        return pf__error(src->ctx, PF_ENOMEM, "%s: out of memory", src->name);
    sc->src = src;
    sc->pos = scan_start;
    while ((c = pf__jpeg_scan_byte(sc, &rc)) >= 0) {
        int m, hi, lo;

        if (sc->pos + (int64_t)sc->at - scan_start > limit) {
            *end = -2;
            break;
        }
        if (c != 0xFF)
            continue;
        do
            m = pf__jpeg_scan_byte(sc, &rc);
        while (m == 0xFF);
        if (m < 0)
            break;
        if (m == 0x00 || (m >= 0xD0 && m <= 0xD7) || m == 0x01)
            continue;
        if (m == JPEG_EOI) {
            *end = sc->pos + (int64_t)sc->at;
            break;
        }
        /* A marker segment between scans (DHT, SOS, DQT, DRI, APPn,
         * COM): its length counts itself. */
        if ((hi = pf__jpeg_scan_byte(sc, &rc)) < 0 ||
            (lo = pf__jpeg_scan_byte(sc, &rc)) < 0)
            break;
        if ((hi << 8 | lo) < 2)
            break;
        pf__jpeg_scan_skip(sc, (hi << 8 | lo) - 2);
    }
    free(sc);
    return rc;
}

/* When the file ends in zeros right after an EOI marker, *trailing is
 * the number of zeros; else 0. t is the last tail_len bytes. At most
 * PF__JPEG_PAD_MAX bytes of zeros are read through. */
#define PF__JPEG_PAD_MAX ((int64_t)1 << 20)

static pf_err pf__jpeg_zero_padded(struct pf__source *src, const uint8_t *t,
                                   size_t tail_len, int64_t *trailing)
{
    uint8_t win[PF__JPEG_TAIL];
    int64_t start = src->size - (int64_t)tail_len;  /* offset of t[0] */
    size_t n = tail_len, got = 0;
    pf_err rc;

    *trailing = 0;
    if (tail_len == 0 || t[tail_len - 1] != 0)
        return PF_OK;
    memcpy(win, t, tail_len);
    for (;;) {
        size_t i = n;

        while (i > 0 && win[i - 1] == 0)
            i--;
        if (i > 0) {
            /* win[i - 1] is the last byte that is not padding. */
            int64_t end = start + (int64_t)i;

            if (i >= 2 && win[i - 2] == 0xFF && win[i - 1] == JPEG_EOI)
                *trailing = src->size - end;
            else if (i == 1 && win[0] == JPEG_EOI && start > 0) {
                uint8_t b = 0;

                if ((rc = pf__source_read_full(src, start - 1, &b, 1, &got)) !=
                    PF_OK)
                    return rc;
                if (got == 1 && b == 0xFF)
                    *trailing = src->size - end;
            }
            return PF_OK;
        }
        if (start == 0 || src->size - start >= PF__JPEG_PAD_MAX)
            return PF_OK;
        n = start < (int64_t)sizeof win ? (size_t)start : sizeof win;
        start -= (int64_t)n;
        if ((rc = pf__source_read_full(src, start, win, n, &got)) != PF_OK)
            return rc;
        if (got != n)
            return pf__error(src->ctx, PF_EIO, "%s: file shrank while being read",
                             src->name);
    }
}

/* Whether the file's end is sound, and how many bytes follow the image.
 * The quick answer is an EOI marker in the last few KiB, or a trailer
 * phones are known to append after it (Samsung's SEFT block, the MP4 of a
 * Google or Samsung motion photo, announced in the XMP). Otherwise the
 * image data is walked to its EOI: padding, a video or any other data
 * after it is a complete file with a trailer, as libjpeg, ImageMagick and
 * exiftool read it; only data that ends before EOI is a cut file. */
static pf_err pf__jpeg_check_tail(struct pf__source *src, const uint8_t *head,
                                  size_t head_len, int motion_photo,
                                  int64_t scan_start, int64_t *trailing)
{
    uint8_t tail[PF__JPEG_TAIL];
    const uint8_t *t;
    size_t tail_len, got = 0;
    int64_t end = -1;
    pf_err rc;

    *trailing = 0;
    if (src->size < 0 || (src->head_only && (uint64_t)src->size > head_len)) {
        pf__log(src->ctx, "%s: JPEG end not checked (size unknown or no Range "
                "support)", src->name);
        return PF_OK;
    }
    tail_len = src->size < PF__JPEG_TAIL ? (size_t)src->size : PF__JPEG_TAIL;
    if ((uint64_t)src->size <= head_len) {
        t = head + (size_t)src->size - tail_len;
    } else {
        if ((rc = pf__source_read_full(src, src->size - (int64_t)tail_len,
                                       tail, tail_len, &got)) != PF_OK)
            return rc;
        if (got != tail_len)
            return pf__error(src->ctx, PF_EIO,
                             "%s: file shrank while being read", src->name);
        t = tail;
    }
    for (size_t i = tail_len; i >= 2; i--)
        if (t[i - 2] == 0xFF && t[i - 1] == JPEG_EOI) {
            *trailing = (int64_t)(tail_len - i);
            goto found;
        }
    if (motion_photo ||
        (tail_len >= 4 && memcmp(t + tail_len - 4, "SEFT", 4) == 0))
        return PF_OK;
    /* Zero padding (phones pad to a block size): the EOI sits right before
     * the zeros, found reading backwards a window at a time, which spares
     * a remote file the walk through all its image data. */
    if ((rc = pf__jpeg_zero_padded(src, t, tail_len, trailing)) != PF_OK)
        return rc;
    if (*trailing > 0)
        goto found;
    if ((rc = pf__jpeg_find_end(src, scan_start, src->ctx->max_probe_bytes,
                                &end)) != PF_OK)
        return rc;
    if (end == -2) {
        pf__log(src->ctx, "%s: JPEG end not checked (no end-of-image marker "
                "in the first %lld bytes of image data)", src->name,
                (long long)src->ctx->max_probe_bytes);
        return PF_OK;
    }
    if (end < 0 || end > src->size)
        return pf__error(src->ctx, PF_ECORRUPT,
                         "%s: truncated JPEG (no end-of-image marker)",
                         src->name);
    *trailing = src->size - end;
found:
    if (*trailing > 0)
        pf__log(src->ctx, "%s: %lld bytes after the JPEG's end-of-image "
                "marker", src->name, (long long)*trailing);
    return PF_OK;
}

/* Runs jpeg_read_header on st->cinfo; the only frame holding a setjmp, so
 * that nothing the header's facts flow through can be clobbered by the
 * jump. The decompressor lives in st, on the heap. */
static pf_err pf__jpeg_read_header(struct pf__jpeg_state *st,
                                   const uint8_t *head, size_t head_len)
{
    struct pf__source *src = st->src;
    j_decompress_ptr cinfo = &st->cinfo;
    char msg[JMSG_LENGTH_MAX];

    st->pos = (int64_t)head_len;
    cinfo->err = jpeg_std_error(&st->err);
    st->err.error_exit = pf__jpeg_error_exit;
    st->err.emit_message = pf__jpeg_emit_message;
    st->err.output_message = pf__jpeg_output_message;
    cinfo->client_data = st;
    if (setjmp(st->jmp)) {
        int code = st->err.msg_code;

        if (st->io_rc != PF_OK)
            return st->io_rc;
        /* Both are raised by libjpeg after the whole header up to the first
         * scan was parsed: the facts are known, only decoding would fail.
         * Report them; the rules decide whether they are acceptable. */
        if ((code == JERR_IMAGE_TOO_BIG || code == JERR_BAD_PRECISION) &&
            cinfo->image_width > 0 && cinfo->image_height > 0)
            return PF_OK;
        if (st->eof)
            return pf__error(src->ctx, PF_ECORRUPT,
                             "%s: truncated JPEG (header cut at %lld bytes)",
                             src->name, (long long)st->pos);
        st->err.format_message((j_common_ptr)cinfo, msg);
        return pf__error(src->ctx, PF_ECORRUPT, "%s: corrupt JPEG: %s",
                         src->name, msg);
    }
    jpeg_create_decompress(cinfo);
    cinfo->src = &st->pub;
    st->pub.init_source = pf__jpeg_init_source;
    st->pub.fill_input_buffer = pf__jpeg_fill_input_buffer;
    st->pub.skip_input_data = pf__jpeg_skip_input_data;
    st->pub.resync_to_restart = jpeg_resync_to_restart;
    st->pub.term_source = pf__jpeg_term_source;
    st->pub.next_input_byte = head;
    st->pub.bytes_in_buffer = head_len;
    jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(cinfo, TRUE);
    return PF_OK;
}

pf_err pf__probe_jpeg(struct pf__source *src, const uint8_t *head,
                      size_t head_len, pf_media_info *info)
{
    struct pf__jpeg_state *st = NULL;
    j_decompress_ptr cinfo;
    int orientation = 0, motion_photo = 0, rotation = 0;
    int width, height;
    int64_t scan_start;
    pf_err rc = PF_OK;

    /* Holds a jmp_buf, the decompressor and a 16 KiB buffer. */
    if (!(st = calloc(1, sizeof *st))) {
        rc = pf__error(src->ctx, PF_ENOMEM, "%s: out of memory", src->name);
        goto out;
    }
    st->src = src;
    if ((rc = pf__jpeg_read_header(st, head, head_len)) != PF_OK)
        goto out;
    cinfo = &st->cinfo;
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next) {
        if (m->marker != JPEG_APP0 + 1)
            continue;
        if (!orientation)
            orientation = pf__exif_orientation(m->data, m->data_length);
        if (pf__contains(m->data, m->data_length, "MotionPhoto") ||
            pf__contains(m->data, m->data_length, "MicroVideo"))
            motion_photo = 1;
    }
    width = (int)cinfo->image_width;
    height = (int)cinfo->image_height;
    /* jpeg_read_header stops just after the first SOS segment: where the
     * image data starts. */
    scan_start = st->pos - (int64_t)st->pub.bytes_in_buffer;

    if ((rc = pf__jpeg_check_tail(src, head, head_len, motion_photo,
                                  scan_start, &info->trailing_bytes)) != PF_OK)
        goto out;

    /* Clockwise rotation a viewer applies. The mirrored orientations are
     * read as "rotate, then flip horizontally": 2 is a bare flip, 4 a flip
     * after 180, 5 (transpose) after 90 and 7 (transverse) after 270. */
    switch (orientation) {
    case 3: case 4: rotation = 180; break;
    case 5: case 6: rotation = 90; break;
    case 7: case 8: rotation = 270; break;
    default: rotation = 0; break;
    }
    info->kind = PF_MEDIA_IMAGE;
    pf__strlcpy(info->format, "jpeg", sizeof info->format);
    pf__strlcpy(info->codec, "jpeg", sizeof info->codec);
    info->coded_width = width;
    info->coded_height = height;
    /* Orientations 5-8 turn the picture a quarter: servers that honour
     * EXIF see the stored height as the width. */
    if (orientation >= 5) {
        info->width = height;
        info->height = width;
    } else {
        info->width = width;
        info->height = height;
    }
    info->orientation = orientation;
    info->rotation = rotation;
    info->bit_depth = cinfo->data_precision;
    info->progressive = cinfo->progressive_mode ? 1 : 0;
    info->has_video = 0;
    info->has_alpha = 0;
out:
    if (st)
        jpeg_destroy_decompress(&st->cinfo);
    free(st);
    return rc;
}
