/*
 * pf_probe(): open a byte source for a path, URL or data URI, read its head
 * and hand it to the one prober its magic bytes call for. Extensions and
 * MIME types are never trusted: a PNG named .jpg is a PNG to every server.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "probe_internal.h"

/* Sets every number to "unknown", as the public header promises, before a
 * prober fills in what it learns. */
static void pf__media_info_init(pf_media_info *info, pf_source_kind kind)
{
    memset(info, 0, sizeof *info);
    info->size = sizeof *info;      /* the library's own, full struct */
    info->source = kind;
    info->width = info->height = -1;
    info->coded_width = info->coded_height = -1;
    info->bit_depth = -1;
    info->file_size = -1;
    info->duration = -1;
    info->fps = -1;
    info->frame_count = -1;
    info->bit_rate = -1;
    info->bytes_read = 0;
}

pf_err pf__probe_source(struct pf__source *src, pf_media_info *info)
{
    static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G',
                                         0x0D, 0x0A, 0x1A, 0x0A};
    pf_ctx *ctx = src->ctx;
    uint8_t *head = NULL;
    size_t want = PF__HEAD_BYTES, got = 0;
    pf_err rc;

    pf__media_info_init(info, src->kind);
    info->file_size = src->size;
    if (src->size == 0) {
        rc = pf__error(ctx, PF_EEMPTY, "%s: empty file", src->name);
        goto out;
    }
    if (src->size > 0 && (uint64_t)src->size < want)
        want = (size_t)src->size;
    if (!(head = malloc(want))) {
        rc = pf__error(ctx, PF_ENOMEM, "%s: out of memory", src->name);
        goto out;
    }
    if ((rc = pf__source_read_full(src, 0, head, want, &got)) != PF_OK)
        goto out;
    /* A source of unknown size (a server without Content-Length) can still
     * turn out empty. */
    if (got == 0) {
        rc = pf__error(ctx, PF_EEMPTY, "%s: empty file", src->name);
        goto out;
    }
    if (got >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF)
        rc = pf__probe_jpeg(src, head, got, info);
    else if (got >= 8 && memcmp(head, png_magic, 8) == 0)
        rc = pf__probe_png(src, head, got, info);
    else if (pf__heif_brand(head, got))
        rc = pf__probe_heif(src, head, got, info);
    else
        rc = pf__probe_av(src, head, got, info);
out:
    free(head);
    info->bytes_read = (int64_t)src->bytes_read;
    return rc;
}

/* RFC 4648 base64, standard or URL-safe alphabet; whitespace (line breaks
 * in a pasted URI) is skipped and padding is optional. Returns the decoded
 * length, or -1 with *bad_at set to the offending offset. */
static long pf__base64_decode(const char *in, size_t in_len, uint8_t *out,
                              size_t *bad_at)
{
    uint32_t acc = 0;
    int bits = 0, pad = 0;
    size_t n = 0;

    for (size_t i = 0; i < in_len; i++) {
        unsigned char c = (unsigned char)in[i];
        int v;

        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        /* Data after padding means the payload is two strings glued. */
        if (pad)
            goto bad;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '+' || c == '-')
            v = 62;
        else if (c == '/' || c == '_')
            v = 63;
        else
            goto bad;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
        continue;
bad:
        *bad_at = i;
        return -1;
    }
    /* Six leftover bits cannot encode a byte: the text was cut. */
    if (bits >= 6 || pad > 2) {
        *bad_at = in_len;
        return -1;
    }
    return (long)n;
}

/* Decodes data:[<mime>][;base64],<payload> into a heap buffer the caller
 * frees. Only base64 payloads carry media; percent-encoded ones are text. */
static pf_err pf__decode_data_uri(pf_ctx *ctx, const char *uri,
                                  const char *name, uint8_t **out,
                                  size_t *out_len)
{
    const char *comma = strchr(uri, ',');
    const char *payload;
    size_t meta_len, payload_len, bad_at = 0;
    uint8_t *buf = NULL;
    long n;
    pf_err rc = PF_OK;

    *out = NULL;
    *out_len = 0;
    if (!comma) {
        rc = pf__error(ctx, PF_EFORMAT, "%s: malformed data URI (no comma)",
                       name);
        goto out;
    }
    meta_len = (size_t)(comma - uri);
    if (meta_len < 12 || strncasecmp(comma - 7, ";base64", 7) != 0) {
        rc = pf__error(ctx, PF_EFORMAT,
                       "%s: only base64 data URIs are supported", name);
        goto out;
    }
    payload = comma + 1;
    payload_len = strlen(payload);
    if (!(buf = malloc(payload_len / 4 * 3 + 3))) {
        rc = pf__error(ctx, PF_ENOMEM, "%s: out of memory", name);
        goto out;
    }
    if ((n = pf__base64_decode(payload, payload_len, buf, &bad_at)) < 0) {
        rc = pf__error(ctx, PF_EFORMAT,
                       "%s: invalid base64 in data URI (at payload offset %zu)",
                       name, bad_at);
        goto out;
    }
    *out = buf;
    *out_len = (size_t)n;
    buf = NULL;
out:
    free(buf);
    return rc;
}

pf_err pf__probe(pf_ctx *ctx, const char *path_or_url, pf_media_info *info)
{
    struct pf__source *src = NULL;
    uint8_t *data = NULL;
    size_t data_len = 0;
    char name[512];
    pf_err rc;

    if (!info)
        return pf__error(ctx, PF_EUSAGE, "pf_probe: no result to fill");
    memset(info, 0, sizeof *info);
    if (!ctx || !path_or_url || !*path_or_url) {
        rc = pf__error(ctx, PF_EUSAGE, "pf_probe: no path or URL given");
        goto out;
    }
    if (strncasecmp(path_or_url, "http://", 7) == 0 ||
        strncasecmp(path_or_url, "https://", 8) == 0) {
        /* Plain http:// is probed like https://: refusing it is the rules
         * engine's verdict to make, with the field it came from. */
        if ((rc = pf__source_open_url(ctx, path_or_url, &src)) != PF_OK)
            goto out;
        src->kind = PF_SOURCE_URL;
    } else if (strncasecmp(path_or_url, "data:", 5) == 0) {
        pf__redact_url(name, sizeof name, path_or_url);
        if ((rc = pf__decode_data_uri(ctx, path_or_url, name, &data,
                                      &data_len)) != PF_OK)
            goto out;
        if ((rc = pf__source_open_memory(ctx, name, data, data_len, &src)) !=
            PF_OK)
            goto out;
        src->kind = PF_SOURCE_DATA;
    } else {
        if ((rc = pf__source_open_file(ctx, path_or_url, &src)) != PF_OK)
            goto out;
        src->kind = PF_SOURCE_FILE;
    }
    rc = pf__probe_source(src, info);
out:
    if (rc != PF_OK)
        memset(info, 0, sizeof *info);
    info->size = sizeof *info;
    pf__source_close(src);
    free(data);
    return rc;
}
