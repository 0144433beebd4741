/*
 * The public pf_probe and pf_media_info_to_json: they work on the caller's
 * pf_media_info, which may be shorter (an older program) or longer (a newer
 * one) than this library's, as its size says. The work is done on a full
 * struct of our own and only the prefix the caller's size covers is copied
 * back, so an older program's struct is never written past its end.
 */
#include <string.h>

#include "core/internal.h"

/* The caller's size, or 0 when it cannot be a pf_media_info. */
static size_t caller_size(const pf_media_info *info)
{
    size_t size;

    memcpy(&size, info, sizeof size);
    return size < sizeof size ? 0 : size;
}

pf_err pf_probe(pf_ctx *ctx, const char *path_or_url, pf_media_info *info)
{
    pf_media_info full;
    size_t size;
    pf_err rc;

    if (!info)
        return pf__error(ctx, PF_EUSAGE, "pf_probe: no result to fill");
    if (!(size = caller_size(info)))
        return pf__error(ctx, PF_EUSAGE, "pf_probe: info->size is not set: "
                         "initialise it with pf_media_info_init()");
    rc = pf__probe(ctx, path_or_url, &full);
    /* A newer program's fields past ours stay "unknown": zero. */
    if (size > sizeof full)
        memset((char *)info + sizeof full, 0, size - sizeof full);
    memcpy((char *)info + sizeof size, (const char *)&full + sizeof size,
           (size < sizeof full ? size : sizeof full) - sizeof size);
    return rc;
}

char *pf_media_info_to_json(const pf_media_info *info)
{
    pf_media_info full;
    size_t size;

    if (!info || !(size = caller_size(info)))
        return NULL;
    /* Fields an older program does not have are unknown to it: -1 where
     * the header says unknown numbers are -1 (pf_probe's own defaults). */
    memset(&full, 0, sizeof full);
    full.width = full.height = full.coded_width = full.coded_height = -1;
    full.bit_depth = -1;
    full.file_size = -1;
    full.duration = full.fps = -1;
    full.frame_count = full.bit_rate = -1;
    memcpy((char *)&full + sizeof size, (const char *)info + sizeof size,
           (size < sizeof full ? size : sizeof full) - sizeof size);
    full.size = sizeof full;
    return pf__media_info_to_json(&full);
}
