/*
 * The probe module's internal interface. pf_probe() (probe.c) opens a byte
 * source for a path, URL or data URI, sniffs magic bytes and hands the
 * source to exactly one codec-specific prober. Each third-party library is
 * quarantined in its own file: probe_jpeg.c (libjpeg-turbo), probe_png.c
 * (libpng), probe_av.c (libavformat/libavcodec), probe_heif.c (HEIF/AVIF
 * item boxes, read by hand), probe_url.c (libcurl, via src/net/http.c).
 */
#ifndef PF_PROBE_INTERNAL_H
#define PF_PROBE_INTERNAL_H

#include <stdint.h>
#include <stddef.h>

#include "../core/internal.h"

/* A random-access byte source. Reads are positional so the same source can
 * serve libjpeg, libpng and an AVIOContext without shared cursor state. */
struct pf__source {
    const char *name;           /* path or redacted URL, for messages */
    pf_source_kind kind;
    int64_t size;               /* total size in bytes, -1 when unknown */
    uint64_t bytes_read;        /* what was really pulled from disk/network */
    /* Set when only a prefix can be read cheaply (a server that ignores
     * Range): end-of-file checks are then skipped rather than paid for by
     * downloading the whole file. */
    int head_only;
    /* Reads up to len bytes at off into buf; *got is 0 at end of data.
     * On failure sets the context's error and returns its code. */
    pf_err (*read_at)(struct pf__source *src, int64_t off, void *buf,
                      size_t len, size_t *got);
    void (*close)(struct pf__source *src);
    pf_ctx *ctx;
    void *impl;
};

/* Opens a source for a local file. ENOENT/EIO with a message naming path. */
pf_err pf__source_open_file(pf_ctx *ctx, const char *path,
                            struct pf__source **out);
/* A source over memory the caller keeps alive (data URIs, fuzzing). */
pf_err pf__source_open_memory(pf_ctx *ctx, const char *name, const void *data,
                              size_t len, struct pf__source **out);
/* An http(s) source reading with Range requests (probe_url.c). */
pf_err pf__source_open_url(pf_ctx *ctx, const char *url,
                           struct pf__source **out);
void pf__source_close(struct pf__source *src);

/* Reads exactly len bytes unless the source ends first (then *got < len). */
pf_err pf__source_read_full(struct pf__source *src, int64_t off, void *buf,
                            size_t len, size_t *got);

/* How many leading bytes probe.c hands to the probers: enough for almost
 * every JPEG header with EXIF and every PNG IHDR in one read. */
#define PF__HEAD_BYTES 65536

/* Each prober fills info (already zeroed, file_size/source set) from the
 * source; head holds the first head_len bytes (head_len may be smaller
 * than PF__HEAD_BYTES for small files). */
pf_err pf__probe_jpeg(struct pf__source *src, const uint8_t *head,
                      size_t head_len, pf_media_info *info);
pf_err pf__probe_png(struct pf__source *src, const uint8_t *head,
                     size_t head_len, pf_media_info *info);
pf_err pf__probe_av(struct pf__source *src, const uint8_t *head,
                    size_t head_len, pf_media_info *info);
/* HEIF/AVIF stills (probe_heif.c, no library): pf__heif_brand says whether
 * the ftyp's major brand is a still image's, which probe_heif then reads
 * from the meta box. Image sequences (avis, msf1) stay with probe_av. */
int pf__heif_brand(const uint8_t *head, size_t head_len);
pf_err pf__probe_heif(struct pf__source *src, const uint8_t *head,
                      size_t head_len, pf_media_info *info);

/* Probes an already opened source (probe.c); shared by pf_probe and the
 * fuzz targets. Does not close src. */
pf_err pf__probe_source(struct pf__source *src, pf_media_info *info);

#endif
