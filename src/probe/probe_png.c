/*
 * PNG probing with libpng. png_read_info() reads the chunks up to the first
 * IDAT and stops: no row is inflated, nothing is allocated from the claimed
 * size. The end of the file is checked separately for the IEND chunk,
 * which is all a truncated upload lacks.
 *
 * libpng reports fatal errors by longjmp to png_jmpbuf(); pf__probe_png is
 * the only frame that calls into the library and the only landing site.
 */
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "probe_internal.h"

/* A hostile chunk (iCCP, zTXt) may claim any size; libpng allocates what
 * it claims. Real headers are far smaller. */
#define PF__PNG_CHUNK_MAX (8u << 20)
/* libpng 1.6 enforces the chunk limit only as a "benign" error, a warning
 * when reading, and then allocates the claimed size anyway. Refusing large
 * allocations outright makes it skip the chunk instead; png_read_info never
 * needs more (row buffers come later, and we never ask for them). */
#define PF__PNG_ALLOC_MAX (PF__PNG_CHUNK_MAX + 65536u)

struct pf__png_state {
    struct pf__source *src;
    const uint8_t *head;
    size_t head_len;
    int64_t pos;
    pf_err io_rc;           /* a read error or limit, already reported */
    int eof;                /* the data ended inside the header */
    char msg[256];          /* libpng's error text */
};

static void pf__png_read(png_structp png, png_bytep out, size_t len)
{
    struct pf__png_state *st = png_get_io_ptr(png);
    struct pf__source *src = st->src;
    size_t done = 0;

    /* The head is served from memory; only a header longer than it (big
     * text or ICC chunks) costs further reads. */
    if (st->pos < (int64_t)st->head_len) {
        size_t n = st->head_len - (size_t)st->pos;

        if (n > len)
            n = len;
        memcpy(out, st->head + st->pos, n);
        st->pos += (int64_t)n;
        done = n;
    }
    if (done < len) {
        size_t got = 0;
        pf_err rc;

        if (st->pos + (int64_t)(len - done) > src->ctx->max_probe_bytes) {
            st->io_rc = pf__error(src->ctx, PF_ELIMIT,
                                  "%s: PNG header larger than %lld bytes",
                                  src->name,
                                  (long long)src->ctx->max_probe_bytes);
            png_error(png, "read limit");
        }
        if ((rc = pf__source_read_full(src, st->pos, out + done, len - done,
                                       &got)) != PF_OK) {
            st->io_rc = rc;
            png_error(png, "read error");
        }
        st->pos += (int64_t)got;
        if (got < len - done) {
            st->eof = 1;
            png_error(png, "unexpected end of file");
        }
    }
}

static void PNGCBAPI pf__png_error(png_structp png, png_const_charp msg)
{
    struct pf__png_state *st = png_get_error_ptr(png);

    pf__strlcpy(st->msg, msg ? msg : "unknown error", sizeof st->msg);
    png_longjmp(png, 1);
}

static png_voidp PNGCBAPI pf__png_malloc(png_structp png, png_alloc_size_t n)
{
    (void)png;
    return n <= PF__PNG_ALLOC_MAX ? malloc(n) : NULL;
}

static void PNGCBAPI pf__png_free(png_structp png, png_voidp p)
{
    (void)png;
    free(p);
}

/* libpng prints warnings to stderr by default; a library must not. */
static void PNGCBAPI pf__png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* Chunks walked looking for IEND before the end is left unchecked: a
 * real PNG has a few thousand; a hostile one of empty chunks costs a read
 * each. */
#define PF__PNG_MAX_CHUNKS (1 << 20)

/* Reads len bytes at off, from the head when they are in it. */
static pf_err pf__png_read_at(struct pf__source *src, const uint8_t *head,
                              size_t head_len, int64_t off, uint8_t *buf,
                              size_t len, size_t *got)
{
    if (off >= 0 && (uint64_t)off + len <= head_len) {
        memcpy(buf, head + off, len);
        *got = len;
        return PF_OK;
    }
    return pf__source_read_full(src, off, buf, len, got);
}

/* Whether the file's end is sound, and how many bytes follow the image.
 * A complete PNG usually ends with the 12 bytes of an empty IEND chunk;
 * when it does not, the chunk chain is walked (8 bytes read per chunk) to
 * its IEND: padding or a second PNG after it is a complete file with a
 * trailer, as libpng, ImageMagick and exiftool read it; a chain that runs
 * past the end, or into bytes that are no chunk, is a cut file. */
static pf_err pf__png_check_tail(struct pf__source *src, const uint8_t *head,
                                 size_t head_len, int64_t *trailing)
{
    static const uint8_t iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D',
                                     0xAE, 0x42, 0x60, 0x82};
    uint8_t tail[12];
    size_t got = 0;
    int64_t off = 8;
    int ends_in_iend = 0;
    pf_err rc;

    *trailing = 0;
    if (src->size < 0 || (src->head_only && (uint64_t)src->size > head_len)) {
        pf__log(src->ctx, "%s: PNG end not checked (size unknown or no Range "
                "support)", src->name);
        return PF_OK;
    }
    if (src->size < 12)
        goto truncated;
    if ((rc = pf__png_read_at(src, head, head_len, src->size - 12, tail, 12,
                              &got)) != PF_OK)
        return rc;
    if (got != 12)
        return pf__error(src->ctx, PF_EIO, "%s: file shrank while being read",
                         src->name);
    /* Ending in IEND is a complete file. Whether that IEND is the image's
     * own or a second PNG's after it is worth a walk only when the whole
     * file is in memory already: elsewhere it would cost a read per chunk
     * for what every reader ignores. */
    ends_in_iend = memcmp(tail, iend, 12) == 0;
    if (ends_in_iend && (uint64_t)src->size > head_len)
        return PF_OK;
    for (long n = 0; n < PF__PNG_MAX_CHUNKS; n++) {
        uint8_t hdr[8];
        uint32_t len;

        if (off + 12 > src->size)
            goto truncated;
        if ((rc = pf__png_read_at(src, head, head_len, off, hdr, 8, &got)) !=
            PF_OK)
            return rc;
        if (got != 8)
            goto truncated;
        len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
              (uint32_t)hdr[2] << 8 | hdr[3];
        /* Chunk types are four ASCII letters; lengths fit 31 bits. */
        for (int i = 4; i < 8; i++)
            if (!((hdr[i] >= 'A' && hdr[i] <= 'Z') ||
                  (hdr[i] >= 'a' && hdr[i] <= 'z')))
                goto truncated;
        if (len > PNG_UINT_31_MAX || off + 12 + (int64_t)len > src->size)
            goto truncated;
        off += 12 + (int64_t)len;
        if (memcmp(hdr + 4, "IEND", 4) == 0) {
            *trailing = src->size - off;
            pf__log(src->ctx, "%s: %lld bytes after the PNG's IEND chunk",
                    src->name, (long long)*trailing);
            return PF_OK;
        }
    }
    pf__log(src->ctx, "%s: PNG end not checked (more than %d chunks)",
            src->name, PF__PNG_MAX_CHUNKS);
    return PF_OK;
truncated:
    /* A chain the walk cannot follow still ends in IEND: complete, as
     * before the walk existed. */
    if (ends_in_iend)
        return PF_OK;
    return pf__error(src->ctx, PF_ECORRUPT,
                     "%s: truncated PNG (no IEND chunk)", src->name);
}

pf_err pf__probe_png(struct pf__source *src, const uint8_t *head,
                     size_t head_len, pf_media_info *info)
{
    struct pf__png_state *st = NULL;
    png_structp png = NULL;
    png_infop pinfo = NULL;
    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0, has_trns = 0;
    pf_err rc = PF_OK;

    /* The state is on the heap and nothing that changes between setjmp and
     * longjmp is a local variable, whose value the jump would leave
     * indeterminate. */
    if (!(st = calloc(1, sizeof *st))) {
        rc = pf__error(src->ctx, PF_ENOMEM, "%s: out of memory", src->name);
        goto out;
    }
    st->src = src;
    st->head = head;
    st->head_len = head_len;
    png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, st, pf__png_error,
                                   pf__png_warning, NULL, pf__png_malloc,
                                   pf__png_free);
    if (!png || !(pinfo = png_create_info_struct(png))) {
        rc = pf__error(src->ctx, PF_ENOMEM, "%s: out of memory", src->name);
        goto out;
    }
    if (setjmp(png_jmpbuf(png))) {
        if (st->io_rc != PF_OK)
            rc = st->io_rc;
        else if (st->eof)
            rc = pf__error(src->ctx, PF_ECORRUPT,
                           "%s: truncated PNG (header cut at %lld bytes)",
                           src->name, (long long)st->pos);
        else
            rc = pf__error(src->ctx, PF_ECORRUPT, "%s: corrupt PNG: %s",
                           src->name, st->msg);
        goto out;
    }
    png_set_read_fn(png, st, pf__png_read);
    /* Report what the header claims, however large: a 100000x100000 image
     * is a fact for the rules to judge, and reading the header allocates
     * nothing from it. libpng's own ceiling is 2^31-1. */
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    /* Text and similar chunks say nothing a rule measures; discarding them
     * unread keeps a large (refused) text chunk from desynchronising the
     * chunk stream, so a valid PNG with 9 MB of text still probes. */
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER,
                                (png_const_bytep)"tEXt\0zTXt\0iTXt\0eXIf\0sPLT\0", 5);
    png_set_chunk_malloc_max(png, PF__PNG_CHUNK_MAX);
    png_read_info(png, pinfo);
    png_get_IHDR(png, pinfo, &width, &height, &bit_depth, &color_type,
                 &interlace, NULL, NULL);
    has_trns = png_get_valid(png, pinfo, PNG_INFO_tRNS) != 0;

    if ((rc = pf__png_check_tail(src, head, head_len,
                                 &info->trailing_bytes)) != PF_OK)
        goto out;

    info->kind = PF_MEDIA_IMAGE;
    pf__strlcpy(info->format, "png", sizeof info->format);
    pf__strlcpy(info->codec, "png", sizeof info->codec);
    info->coded_width = info->width = (int)width;
    info->coded_height = info->height = (int)height;
    info->bit_depth = bit_depth;
    info->has_alpha = (color_type & PNG_COLOR_MASK_ALPHA) || has_trns;
    info->progressive = interlace != PNG_INTERLACE_NONE;
    info->has_video = 0;
out:
    if (png)
        png_destroy_read_struct(&png, pinfo ? &pinfo : NULL, NULL);
    free(st);
    return rc;
}
