/* pf_media_info as JSON, for `preflight probe --json` and check reports. */
#include <string.h>

#include <cjson/cJSON.h>

#include "probe_internal.h"

const char *pf_media_kind_name(pf_media_kind kind)
{
    switch (kind) {
    case PF_MEDIA_IMAGE: return "image";
    case PF_MEDIA_VIDEO: return "video";
    case PF_MEDIA_AUDIO: return "audio";
    case PF_MEDIA_UNKNOWN: break;
    }
    return "unknown";
}

static const char *pf__source_kind_name(pf_source_kind kind)
{
    switch (kind) {
    case PF_SOURCE_URL: return "url";
    case PF_SOURCE_DATA: return "data";
    case PF_SOURCE_FILE: break;
    }
    return "file";
}

/* Sizes always appear, as null when unknown: -1 is the C API's sentinel,
 * not a measurement a JSON reader should compare against a limit. */
static int pf__add_int_or_null(cJSON *obj, const char *key, double v)
{
    return v >= 0 ? cJSON_AddNumberToObject(obj, key, v) != NULL
                  : cJSON_AddNullToObject(obj, key) != NULL;
}

char *pf__media_info_to_json(const pf_media_info *info)
{
    cJSON *obj = NULL;
    char *text = NULL;
    int ok;

    if (!info || !(obj = cJSON_CreateObject()))
        goto out;
    ok = cJSON_AddStringToObject(obj, "kind",
                                 pf_media_kind_name(info->kind)) &&
         cJSON_AddStringToObject(obj, "source",
                                 pf__source_kind_name(info->source)) &&
         cJSON_AddStringToObject(obj, "format", info->format) &&
         cJSON_AddStringToObject(obj, "codec", info->codec) &&
         pf__add_int_or_null(obj, "width", info->width) &&
         pf__add_int_or_null(obj, "height", info->height) &&
         pf__add_int_or_null(obj, "coded_width", info->coded_width) &&
         pf__add_int_or_null(obj, "coded_height", info->coded_height) &&
         cJSON_AddNumberToObject(obj, "rotation", info->rotation);
    /* EXIF orientation exists only in JPEGs, and HEIF's irot/imir say the
     * same thing (given as the equivalent EXIF value); elsewhere 0 would
     * read as a claim about the file. */
    if (ok && (strcmp(info->format, "jpeg") == 0 ||
               strcmp(info->format, "heic") == 0 ||
               strcmp(info->format, "avif") == 0 ||
               strcmp(info->format, "heif") == 0))
        ok = cJSON_AddNumberToObject(obj, "orientation",
                                     info->orientation) != NULL;
    ok = ok && cJSON_AddBoolToObject(obj, "has_video", info->has_video) &&
         cJSON_AddBoolToObject(obj, "has_audio", info->has_audio);
    if (ok && info->has_audio)
        ok = cJSON_AddStringToObject(obj, "audio_codec",
                                     info->audio_codec) != NULL;
    ok = ok && cJSON_AddBoolToObject(obj, "has_alpha", info->has_alpha) &&
         cJSON_AddBoolToObject(obj, "progressive", info->progressive) &&
         pf__add_int_or_null(obj, "bit_depth", info->bit_depth) &&
         pf__add_int_or_null(obj, "file_size", (double)info->file_size);
    /* Time facts only when known: a still image has no duration at all. */
    if (ok && info->duration >= 0)
        ok = cJSON_AddNumberToObject(obj, "duration", info->duration) != NULL;
    if (ok && info->fps >= 0)
        ok = cJSON_AddNumberToObject(obj, "fps", info->fps) != NULL;
    if (ok && info->frame_count >= 0)
        ok = cJSON_AddNumberToObject(obj, "frame_count",
                                     (double)info->frame_count) != NULL;
    if (ok && info->bit_rate >= 0)
        ok = cJSON_AddNumberToObject(obj, "bit_rate",
                                     (double)info->bit_rate) != NULL;
    if (ok && info->trailing_bytes > 0)
        ok = cJSON_AddNumberToObject(obj, "trailing_bytes",
                                     (double)info->trailing_bytes) != NULL;
    ok = ok && cJSON_AddNumberToObject(obj, "bytes_read",
                                       (double)info->bytes_read);
    if (ok)
        text = cJSON_PrintUnformatted(obj);
out:
    cJSON_Delete(obj);
    return text;
}
