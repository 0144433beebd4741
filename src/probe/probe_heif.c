/*
 * HEIF and AVIF stills (ISO/IEC 23008-12, MIAF, AV1 Image File Format),
 * probed from the item boxes in 'meta' without decoding a pixel.
 *
 * No third-party library here: libheif would parse the whole file and set
 * up its decoder plugins to answer what a few boxes say, and a probe must
 * stay cheap for a URL. The boxes come from the file, so every length is
 * checked against its container before it is used and every table is
 * bounded; nothing is allocated from a claimed size beyond PF__HEIF_META_MAX.
 *
 * What a viewer shows is the primary item (pitm) after its transformative
 * properties in order (clap crop, irot turn, imir flip); EXIF orientation
 * inside a HEIF is ignored, as the HEIF spec says and libheif does.
 */
#include <stdlib.h>
#include <string.h>

#include "probe_internal.h"

/* A 'meta' box larger than this is refused rather than read: real ones
 * are a few KiB (item tables and properties; the pixels are in mdat). */
#define PF__HEIF_META_MAX ((size_t)4 << 20)
/* Top-level boxes looked at before giving up on finding 'meta'. */
#define PF__HEIF_TOP_BOXES 64
/* Auxiliary images of the primary looked at for an alpha plane. */
#define PF__HEIF_MAX_AUX 16
/* Properties indexed from ipco (ipma indexes are 15 bits at most). */
#define PF__HEIF_MAX_PROPS 32767

#define FOURCC(a, b, c, d)                                                   \
    ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 |        \
     (uint32_t)(d))

static uint32_t pf__be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static unsigned pf__be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | (unsigned)p[1];
}

/* Reads an n-byte (0, 4 or 8; iloc also allows 0) big-endian number at
 * *off in d[0..len), advancing *off. 0 when it does not fit. */
static int pf__read_uint(const uint8_t *d, size_t len, size_t *off, unsigned n,
                         uint64_t *v)
{
    *v = 0;
    if (n > 8 || *off > len || len - *off < n)
        return 0;
    for (unsigned i = 0; i < n; i++)
        *v = *v << 8 | d[*off + i];
    *off += n;
    return 1;
}

/* One box inside d[0..len): on success *type, its body and the offset of
 * the next box. A size of 0 runs to the end of the container. 0 at the end
 * or when the box does not fit (a malformed container ends there). */
static int pf__box_next(const uint8_t *d, size_t len, size_t *off,
                        uint32_t *type, const uint8_t **body, size_t *body_len)
{
    uint64_t size;
    size_t hdr = 8;

    if (*off > len || len - *off < 8)
        return 0;
    size = pf__be32(d + *off);
    *type = pf__be32(d + *off + 4);
    if (size == 1) {
        size_t o = *off + 8;

        if (!pf__read_uint(d, len, &o, 8, &size))
            return 0;
        hdr = 16;
    } else if (size == 0) {
        size = len - *off;
    }
    if (size < hdr || size > len - *off)
        return 0;
    *body = d + *off + hdr;
    *body_len = (size_t)size - hdr;
    *off += (size_t)size;
    return 1;
}

/* The first child of type want in a container body, or NULL. */
static const uint8_t *pf__box_find(const uint8_t *d, size_t len, uint32_t want,
                                   size_t *body_len)
{
    size_t off = 0;
    uint32_t type;
    const uint8_t *body;

    while (pf__box_next(d, len, &off, &type, &body, body_len))
        if (type == want)
            return body;
    return NULL;
}

struct pf__heif_prop {
    uint32_t type;
    const uint8_t *body;
    size_t len;
};

/* The parsed tables of one 'meta' box, all pointing into it. */
struct pf__heif {
    const uint8_t *iinf, *iref, *ipco, *iloc;
    size_t iinf_len, iref_len, ipco_len, iloc_len;
    uint8_t iinf_v, iref_v, iloc_v;
    uint32_t primary;
    struct pf__heif_prop *props;    /* ipco children; index 1 is props[0] */
    size_t nprops;
    const uint8_t *iprp;
    size_t iprp_len;
};

/* The item type (hvc1, av01, grid...) of item id, 0 when not listed. Only
 * infe versions 2 and 3 carry a type; older ones describe files. */
static uint32_t pf__heif_item_type(const struct pf__heif *h, uint32_t id)
{
    size_t off = h->iinf_v == 0 ? 2 : 4, body_len;
    uint32_t type;
    const uint8_t *body;

    if (!h->iinf)
        return 0;
    while (pf__box_next(h->iinf, h->iinf_len, &off, &type, &body, &body_len)) {
        uint32_t item;
        size_t o;

        if (type != FOURCC('i', 'n', 'f', 'e') || body_len < 4)
            continue;
        if (body[0] == 2) {
            if (body_len < 12)
                continue;
            item = pf__be16(body + 4);
            o = 8;
        } else if (body[0] == 3) {
            if (body_len < 14)
                continue;
            item = pf__be32(body + 4);
            o = 10;
        } else {
            continue;
        }
        if (item == id)
            return pf__be32(body + o);
    }
    return 0;
}

/* Calls fn for each reference of ref_type (dimg, auxl...) in iref, with its
 * from-item and each to-item, until fn returns nonzero (which is returned). */
typedef int (*pf__heif_ref_fn)(const struct pf__heif *h, uint32_t from,
                               uint32_t to, void *arg);

static int pf__heif_refs(const struct pf__heif *h, uint32_t ref_type,
                         pf__heif_ref_fn fn, void *arg)
{
    size_t off = 4, body_len;
    unsigned idsz = h->iref_v == 0 ? 2 : 4;
    uint32_t type;
    const uint8_t *body;

    if (!h->iref)
        return 0;
    while (pf__box_next(h->iref, h->iref_len, &off, &type, &body, &body_len)) {
        size_t o = 0;
        uint64_t from, count;

        if (type != ref_type)
            continue;
        if (!pf__read_uint(body, body_len, &o, idsz, &from) ||
            !pf__read_uint(body, body_len, &o, 2, &count))
            continue;
        for (uint64_t i = 0; i < count; i++) {
            uint64_t to;
            int r;

            if (!pf__read_uint(body, body_len, &o, idsz, &to))
                break;
            if ((r = fn(h, (uint32_t)from, (uint32_t)to, arg)) != 0)
                return r;
        }
    }
    return 0;
}

/* The property of type want associated with item id (the first one in
 * association order), or NULL. Every ipma box counts: writers may split
 * the table. */
static const struct pf__heif_prop *pf__heif_prop(const struct pf__heif *h,
                                                 uint32_t id, uint32_t want)
{
    size_t off = 0, body_len;
    uint32_t type;
    const uint8_t *body;

    while (pf__box_next(h->iprp, h->iprp_len, &off, &type, &body, &body_len)) {
        size_t o = 4;
        uint64_t count;
        unsigned idsz, wide;

        if (type != FOURCC('i', 'p', 'm', 'a') || body_len < 8)
            continue;
        idsz = body[0] < 1 ? 2 : 4;
        wide = body[3] & 1;
        if (!pf__read_uint(body, body_len, &o, 4, &count))
            continue;
        for (uint64_t e = 0; e < count; e++) {
            uint64_t item, n;

            if (!pf__read_uint(body, body_len, &o, idsz, &item) ||
                !pf__read_uint(body, body_len, &o, 1, &n))
                break;
            for (uint64_t a = 0; a < n; a++) {
                uint64_t v;
                size_t index;

                if (!pf__read_uint(body, body_len, &o, wide ? 2 : 1, &v))
                    goto next_box;
                index = (size_t)(v & (wide ? 0x7FFF : 0x7F));
                if (item != id || index == 0 || index > h->nprops)
                    continue;
                if (h->props[index - 1].type == want)
                    return &h->props[index - 1];
            }
        }
next_box:;
    }
    return NULL;
}

/* Bits per sample of an item's first channel: pixi when present, else the
 * codec configuration (HEVC's bitDepthLumaMinus8, AV1's high_bitdepth and
 * twelve_bit). -1 when none says. */
static int pf__heif_bit_depth(const struct pf__heif *h, uint32_t id)
{
    const struct pf__heif_prop *p;

    if ((p = pf__heif_prop(h, id, FOURCC('p', 'i', 'x', 'i'))) &&
        p->len >= 6 && p->body[4] >= 1)
        return p->body[5];
    if ((p = pf__heif_prop(h, id, FOURCC('h', 'v', 'c', 'C'))) &&
        p->len >= 19)
        return (p->body[17] & 7) + 8;
    if ((p = pf__heif_prop(h, id, FOURCC('a', 'v', '1', 'C'))) && p->len >= 3)
        return p->body[2] & 0x40 ? (p->body[2] & 0x20 ? 12 : 10) : 8;
    return -1;
}

/* The first reference from an item, for pf__heif_first_ref. */
struct pf__heif_ref_query {
    uint32_t from, to;
};

static int pf__heif_first_ref(const struct pf__heif *h, uint32_t from,
                              uint32_t to, void *arg)
{
    struct pf__heif_ref_query *want = arg;

    if (from != want->from)
        return 0;
    want->to = to;
    return 1;
}

/* The item an alpha auxiliary image (auxl to the primary, auxC naming an
 * alpha URN: HEVC's or MPEG-B's that AVIF uses) makes transparent. */
static int pf__heif_alpha_ref(const struct pf__heif *h, uint32_t from,
                              uint32_t to, void *arg)
{
    static const char *const urns[] = {
        "urn:mpeg:hevc:2015:auxid:1",
        "urn:mpeg:mpegB:cicp:systems:auxiliary:alpha",
    };
    const struct pf__heif_prop *p;
    int *checked = arg;

    /* Each check scans ipma: a hostile iref of a million auxl entries must
     * not multiply with a million-entry ipma. Real files have one or two
     * auxiliary images (alpha, depth). */
    if (to != h->primary || ++*checked > PF__HEIF_MAX_AUX ||
        !(p = pf__heif_prop(h, from, FOURCC('a', 'u', 'x', 'C'))) || p->len < 5)
        return 0;
    for (size_t i = 0; i < sizeof urns / sizeof urns[0]; i++) {
        size_t n = strlen(urns[i]);

        /* A NUL-terminated string after the FullBox header; a writer may
         * add subtype bytes after the NUL. */
        if (p->len - 4 >= n && memcmp(p->body + 4, urns[i], n) == 0 &&
            (p->len - 4 == n || p->body[4 + n] == '\0'))
            return 1;
    }
    return 0;
}

/* Where the last byte of any item's data lies, from iloc (construction
 * method 0: offsets into the file), so a file cut inside mdat is found
 * without reading it. 0 when iloc is absent or unreadable: a malformed
 * table is libheif's to refuse at decode time, not a truncation. */
static uint64_t pf__heif_data_end(const struct pf__heif *h)
{
    const uint8_t *d = h->iloc;
    size_t len = h->iloc_len, o = 4;
    unsigned offset_size, length_size, base_size, index_size = 0;
    uint64_t count, end = 0;

    if (!d || len < 8 || h->iloc_v > 2)
        return 0;
    offset_size = d[4] >> 4;
    length_size = d[4] & 15;
    base_size = d[5] >> 4;
    if (h->iloc_v >= 1)
        index_size = d[5] & 15;
    o = 6;
    if (!pf__read_uint(d, len, &o, h->iloc_v < 2 ? 2 : 4, &count))
        return 0;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t item, method = 0, dref, base, extents;

        if (!pf__read_uint(d, len, &o, h->iloc_v < 2 ? 2 : 4, &item) ||
            (h->iloc_v >= 1 && !pf__read_uint(d, len, &o, 2, &method)) ||
            !pf__read_uint(d, len, &o, 2, &dref) ||
            !pf__read_uint(d, len, &o, base_size, &base) ||
            !pf__read_uint(d, len, &o, 2, &extents))
            return 0;
        for (uint64_t e = 0; e < extents; e++) {
            uint64_t index, off, elen;

            if ((h->iloc_v >= 1 && index_size &&
                 !pf__read_uint(d, len, &o, index_size, &index)) ||
                !pf__read_uint(d, len, &o, offset_size, &off) ||
                !pf__read_uint(d, len, &o, length_size, &elen))
                return 0;
            /* Method 1 is idat, 2 another item; dref 0 is this file. */
            if ((method & 15) != 0 || dref != 0)
                continue;
            if (base > UINT64_MAX / 4 || off > UINT64_MAX / 4 ||
                elen > UINT64_MAX / 4)
                return UINT64_MAX;
            if (base + off + elen > end)
                end = base + off + elen;
        }
    }
    return end;
}

/* Indexes the children of ipco, so ipma's 1-based indexes are O(1). */
static pf_err pf__heif_index_props(struct pf__source *src, struct pf__heif *h)
{
    size_t off = 0, body_len, n = 0;
    uint32_t type;
    const uint8_t *body;

    while (n < PF__HEIF_MAX_PROPS &&
           pf__box_next(h->ipco, h->ipco_len, &off, &type, &body, &body_len))
        n++;
    if (n == 0)
        return PF_OK;
    if (!(h->props = calloc(n, sizeof *h->props)))
        return pf__error(src->ctx, PF_ENOMEM, "%s: out of memory", src->name);
    off = 0;
    while (h->nprops < n &&
           pf__box_next(h->ipco, h->ipco_len, &off, &type, &body, &body_len)) {
        h->props[h->nprops].type = type;
        h->props[h->nprops].body = body;
        h->props[h->nprops].len = body_len;
        h->nprops++;
    }
    return PF_OK;
}

/* Reads the top-level box headers up to 'meta' and returns the meta box's
 * body (after its FullBox header), from the head when it is there, else
 * read into *owned. */
static pf_err pf__heif_read_meta(struct pf__source *src, const uint8_t *head,
                                 size_t head_len, const uint8_t **meta,
                                 size_t *meta_len, uint8_t **owned)
{
    int64_t off = 0;
    pf_err rc = PF_OK;

    *meta = NULL;
    *owned = NULL;
    for (int i = 0; i < PF__HEIF_TOP_BOXES; i++) {
        uint8_t hdr[16];
        size_t got = 0, hsize = 8;
        uint64_t size;

        if (off >= 0 && (uint64_t)off + 16 <= head_len) {
            memcpy(hdr, head + off, 16);
            got = 16;
        } else if ((rc = pf__source_read_full(src, off, hdr, 16, &got)) !=
                   PF_OK) {
            return rc;
        }
        if (got < 8)
            break;
        size = pf__be32(hdr);
        if (size == 1) {
            size_t o = 8;

            if (got < 16)
                break;
            pf__read_uint(hdr, 16, &o, 8, &size);
            hsize = 16;
        } else if (size == 0) {
            size = src->size >= off ? (uint64_t)(src->size - off) : 0;
        }
        if (size < hsize)
            break;
        if (pf__be32(hdr + 4) == FOURCC('m', 'e', 't', 'a')) {
            size_t body = (size_t)size - hsize;

            if (size - hsize < 4 || size > PF__HEIF_META_MAX ||
                (int64_t)size > src->ctx->max_probe_bytes)
                return pf__error(src->ctx, size < hsize + 4 ? PF_ECORRUPT
                                                           : PF_ELIMIT,
                                 "%s: %s HEIF meta box (%llu bytes)",
                                 src->name,
                                 size < hsize + 4 ? "corrupt" : "too large a",
                                 (unsigned long long)size);
            if ((uint64_t)off + size <= head_len) {
                *meta = head + off + hsize + 4;
            } else {
                if (!(*owned = malloc(body)))
                    return pf__error(src->ctx, PF_ENOMEM, "%s: out of memory",
                                     src->name);
                if ((rc = pf__source_read_full(src, off + (int64_t)hsize,
                                               *owned, body, &got)) != PF_OK)
                    return rc;
                if (got < body)
                    return pf__error(src->ctx, PF_ECORRUPT,
                                     "%s: truncated HEIF (meta box cut at "
                                     "%lld bytes)", src->name,
                                     (long long)(off + (int64_t)hsize +
                                                 (int64_t)got));
                *meta = *owned + 4;
            }
            *meta_len = body - 4;
            return PF_OK;
        }
        if (size > (uint64_t)INT64_MAX - (uint64_t)off)
            break;
        off += (int64_t)size;
        if (src->size >= 0 && off >= src->size)
            break;
    }
    return pf__error(src->ctx, PF_ECORRUPT,
                     "%s: corrupt HEIF (no meta box with the image items)",
                     src->name);
}

int pf__heif_brand(const uint8_t *head, size_t head_len)
{
    static const char stills[][4] = {
        {'h', 'e', 'i', 'c'}, {'h', 'e', 'i', 'x'}, {'h', 'e', 'i', 'm'},
        {'h', 'e', 'i', 's'}, {'m', 'i', 'f', '1'}, {'m', 'i', 'a', 'f'},
        {'a', 'v', 'i', 'f'}, {'a', 'v', 'i', 'o'}, {'m', 'i', 'f', '2'},
    };

    /* The major brand decides: an image sequence (avis, msf1, hevc) also
     * lists the still brands when it carries a cover still, and is played
     * as the video it mainly is. */
    if (head_len < 12 || memcmp(head + 4, "ftyp", 4) != 0)
        return 0;
    for (size_t i = 0; i < sizeof stills / sizeof stills[0]; i++)
        if (memcmp(head + 8, stills[i], 4) == 0)
            return 1;
    return 0;
}

/* The EXIF orientation equal to irot (anticlockwise quarter turns)
 * followed by imir, in the convention of probe_jpeg.c: 2, 4, 5, 7 flip
 * left and right after turning clockwise by 0, 180, 90, 270. imir's bit is
 * read as the 2021 amendment of ISO/IEC 23008-12 ("mode") says, and as
 * iPhones, libheif and ImageMagick always did: 0 exchanges top and bottom,
 * 1 left and right (the 2017 text's "vertical axis" for 0 was read both
 * ways; MPEGGroup/FileFormat#22). */
static int pf__heif_orientation(int irot, int imir)
{
    static const int plain[4] = {1, 6, 3, 8};       /* by clockwise turns */
    static const int hflip[4] = {2, 5, 4, 7};
    int cw = (4 - (irot & 3)) & 3;

    if (imir < 0)
        return plain[cw];
    /* A top-bottom flip is a left-right flip after half a turn more. */
    if (imir == 0)
        cw = (cw + 2) & 3;
    return hflip[cw];
}

pf_err pf__probe_heif(struct pf__source *src, const uint8_t *head,
                      size_t head_len, pf_media_info *info)
{
    struct pf__heif h = {0};
    const uint8_t *meta = NULL, *body;
    const struct pf__heif_prop *ispe, *p;
    uint8_t *owned = NULL;
    size_t meta_len = 0, off = 0, body_len;
    uint32_t type, item_type, coded_item;
    uint64_t end;
    int width, height, irot = 0, imir = -1, orientation, aux_checked = 0;
    pf_err rc;

    if ((rc = pf__heif_read_meta(src, head, head_len, &meta, &meta_len,
                                 &owned)) != PF_OK)
        goto out;
    while (pf__box_next(meta, meta_len, &off, &type, &body, &body_len)) {
        switch (type) {
        case FOURCC('p', 'i', 't', 'm'):
            if (body_len >= 6)
                h.primary = body[0] == 0 ? pf__be16(body + 4)
                                         : body_len >= 8 ? pf__be32(body + 4)
                                                         : 0;
            break;
        case FOURCC('i', 'i', 'n', 'f'):
            if (body_len >= 6) {
                h.iinf = body;
                h.iinf_len = body_len;
                h.iinf_v = body[0];
                /* Past the FullBox header and the entry count. */
                h.iinf += 4;
                h.iinf_len -= 4;
            }
            break;
        case FOURCC('i', 'r', 'e', 'f'):
            if (body_len >= 4) {
                h.iref = body;
                h.iref_len = body_len;
                h.iref_v = body[0];
            }
            break;
        case FOURCC('i', 'l', 'o', 'c'):
            h.iloc = body;
            h.iloc_len = body_len;
            h.iloc_v = body_len ? body[0] : 0;
            break;
        case FOURCC('i', 'p', 'r', 'p'):
            h.iprp = body;
            h.iprp_len = body_len;
            h.ipco = pf__box_find(body, body_len, FOURCC('i', 'p', 'c', 'o'),
                                  &h.ipco_len);
            break;
        default:
            break;
        }
    }
    if (!h.primary || !h.iprp || !h.ipco) {
        rc = pf__error(src->ctx, PF_ECORRUPT,
                       "%s: corrupt HEIF (no primary item or no item "
                       "properties)", src->name);
        goto out;
    }
    if ((rc = pf__heif_index_props(src, &h)) != PF_OK)
        goto out;
    ispe = pf__heif_prop(&h, h.primary, FOURCC('i', 's', 'p', 'e'));
    if (!ispe || ispe->len < 12 || pf__be32(ispe->body + 4) == 0 ||
        pf__be32(ispe->body + 8) == 0 ||
        pf__be32(ispe->body + 4) > INT32_MAX ||
        pf__be32(ispe->body + 8) > INT32_MAX) {
        rc = pf__error(src->ctx, PF_ECORRUPT,
                       "%s: corrupt HEIF (the primary image has no size)",
                       src->name);
        goto out;
    }
    width = (int)pf__be32(ispe->body + 4);
    height = (int)pf__be32(ispe->body + 8);

    /* The data of every item must be in the file; a cut upload loses the
     * end of mdat, where the pixels are. */
    end = pf__heif_data_end(&h);
    if (src->size >= 0 && end > (uint64_t)src->size) {
        rc = pf__error(src->ctx, PF_ECORRUPT,
                       "%s: truncated HEIF (item data ends at %llu of %lld "
                       "bytes)", src->name, (unsigned long long)end,
                       (long long)src->size);
        goto out;
    }

    /* A grid, overlay or identity item is derived from coded ones
     * ('dimg'): the codec and bit depth are the first one's, the size the
     * derived item's ispe. */
    item_type = pf__heif_item_type(&h, h.primary);
    coded_item = h.primary;
    /* An identity item may stand on a grid: a few levels at most. */
    for (int level = 0; level < 4 && (item_type == FOURCC('g', 'r', 'i', 'd') ||
                                      item_type == FOURCC('i', 'o', 'v', 'l') ||
                                      item_type == FOURCC('i', 'd', 'e', 'n'));
         level++) {
        struct pf__heif_ref_query ref = {coded_item, 0};

        if (!pf__heif_refs(&h, FOURCC('d', 'i', 'm', 'g'), pf__heif_first_ref,
                           &ref) || !ref.to)
            break;
        coded_item = ref.to;
        item_type = pf__heif_item_type(&h, ref.to);
    }
    switch (item_type) {
    case FOURCC('h', 'v', 'c', '1'):
        pf__strlcpy(info->format, "heic", sizeof info->format);
        pf__strlcpy(info->codec, "hevc", sizeof info->codec);
        break;
    case FOURCC('a', 'v', '0', '1'):
        pf__strlcpy(info->format, "avif", sizeof info->format);
        pf__strlcpy(info->codec, "av1", sizeof info->codec);
        break;
    case FOURCC('j', 'p', 'e', 'g'):
        pf__strlcpy(info->format, "heif", sizeof info->format);
        pf__strlcpy(info->codec, "mjpeg", sizeof info->codec);
        break;
    default:
        rc = pf__error(src->ctx, PF_EFORMAT,
                       "%s: HEIF image of an unsupported kind (item type "
                       "%c%c%c%c)", src->name,
                       item_type ? (char)(item_type >> 24 & 0x7F) : '?',
                       item_type ? (char)(item_type >> 16 & 0x7F) : '?',
                       item_type ? (char)(item_type >> 8 & 0x7F) : '?',
                       item_type ? (char)(item_type & 0x7F) : '?');
        goto out;
    }

    info->coded_width = width;
    info->coded_height = height;
    /* The clean aperture crops first (a centred crop is what writers use
     * for odd sizes); its size is a fraction, rounded as libheif does for
     * a centred aperture. */
    if ((p = pf__heif_prop(&h, h.primary, FOURCC('c', 'l', 'a', 'p'))) &&
        p->len >= 32) {
        uint32_t wn = pf__be32(p->body), wd = pf__be32(p->body + 4);
        uint32_t hn = pf__be32(p->body + 8), hd = pf__be32(p->body + 12);

        if (wd && hd && wn / wd >= 1 && hn / hd >= 1 &&
            wn / wd <= (uint32_t)width && hn / hd <= (uint32_t)height) {
            width = (int)((wn + wd / 2) / wd);
            height = (int)((hn + hd / 2) / hd);
        }
    }
    if ((p = pf__heif_prop(&h, h.primary, FOURCC('i', 'r', 'o', 't'))) &&
        p->len >= 1)
        irot = p->body[0] & 3;
    if ((p = pf__heif_prop(&h, h.primary, FOURCC('i', 'm', 'i', 'r'))) &&
        p->len >= 1)
        imir = p->body[0] & 1;
    orientation = pf__heif_orientation(irot, imir);
    switch (orientation) {
    case 3: case 4: info->rotation = 180; break;
    case 5: case 6: info->rotation = 90; break;
    case 7: case 8: info->rotation = 270; break;
    default: info->rotation = 0; break;
    }
    info->orientation = orientation;
    if (orientation >= 5) {
        info->width = height;
        info->height = width;
    } else {
        info->width = width;
        info->height = height;
    }
    info->kind = PF_MEDIA_IMAGE;
    info->bit_depth = pf__heif_bit_depth(&h, h.primary);
    if (info->bit_depth < 0 && coded_item != h.primary)
        info->bit_depth = pf__heif_bit_depth(&h, coded_item);
    info->has_alpha = pf__heif_refs(&h, FOURCC('a', 'u', 'x', 'l'),
                                    pf__heif_alpha_ref, &aux_checked);
    info->has_video = 0;
    info->progressive = 0;
out:
    free(h.props);
    free(owned);
    return rc;
}
