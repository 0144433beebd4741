/*
 * The validation_rule interpreter. A rule is "metric operator" — the forms
 * the model docs use ("file_size_mb<", "width/height>", "width_pixels<=")
 * and their obvious relatives. A metric this file does not know is reported
 * to the caller, never silently passed.
 */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "rules_internal.h"

enum metric_type { NUMBER, STRING, BOOLEAN };

enum metric_id {
    M_FILE_SIZE_MB, M_FILE_SIZE_KB, M_FILE_SIZE_BYTES, M_FILE_SIZE_MIB,
    M_WIDTH, M_HEIGHT, M_ASPECT, M_INV_ASPECT, M_SHORT_SIDE, M_LONG_SIDE,
    M_PIXELS, M_MEGAPIXELS, M_DURATION, M_FPS, M_FRAME_COUNT, M_BITRATE_KBPS,
    M_HAS_AUDIO, M_FORMAT, M_CODEC, M_MEDIA_TYPE, M_URL_SCHEME
};

static const struct metric {
    const char *name;
    enum metric_id id;
    enum metric_type type;
} metrics[] = {
    { "file_size_mb",      M_FILE_SIZE_MB,    NUMBER },
    { "file_size",         M_FILE_SIZE_MB,    NUMBER },
    { "size_mb",           M_FILE_SIZE_MB,    NUMBER },
    { "file_size_kb",      M_FILE_SIZE_KB,    NUMBER },
    { "file_size_bytes",   M_FILE_SIZE_BYTES, NUMBER },
    { "file_size_mib",     M_FILE_SIZE_MIB,   NUMBER },
    { "width_pixels",      M_WIDTH,           NUMBER },
    { "width",             M_WIDTH,           NUMBER },
    { "height_pixels",     M_HEIGHT,          NUMBER },
    { "height",            M_HEIGHT,          NUMBER },
    { "width/height",      M_ASPECT,          NUMBER },
    { "aspect_ratio",      M_ASPECT,          NUMBER },
    { "height/width",      M_INV_ASPECT,      NUMBER },
    { "short_side_pixels", M_SHORT_SIDE,      NUMBER },
    { "min_side_pixels",   M_SHORT_SIDE,      NUMBER },
    { "long_side_pixels",  M_LONG_SIDE,       NUMBER },
    { "max_side_pixels",   M_LONG_SIDE,       NUMBER },
    { "total_pixels",      M_PIXELS,          NUMBER },
    { "width*height",      M_PIXELS,          NUMBER },
    { "megapixels",        M_MEGAPIXELS,      NUMBER },
    { "duration_seconds",  M_DURATION,        NUMBER },
    { "duration",          M_DURATION,        NUMBER },
    { "duration_s",        M_DURATION,        NUMBER },
    { "video_duration",    M_DURATION,        NUMBER },
    { "fps",               M_FPS,             NUMBER },
    { "frame_rate",        M_FPS,             NUMBER },
    { "frame_count",       M_FRAME_COUNT,     NUMBER },
    { "frames",            M_FRAME_COUNT,     NUMBER },
    { "num_frames",        M_FRAME_COUNT,     NUMBER },
    { "bitrate_kbps",      M_BITRATE_KBPS,    NUMBER },
    { "has_audio",         M_HAS_AUDIO,       BOOLEAN },
    { "format",            M_FORMAT,          STRING },
    { "codec",             M_CODEC,           STRING },
    { "media_type",        M_MEDIA_TYPE,      STRING },
    { "url_scheme",        M_URL_SCHEME,      STRING },
};

static const struct metric *find_metric(const char *name)
{
    for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++)
        if (strcasecmp(metrics[i].name, name) == 0)
            return &metrics[i];
    return NULL;
}

int pf__rule_parse(const char *text, struct pf__rule *rule)
{
    static const struct { const char *s; enum pf__op op; } ops[] = {
        /* two-character operators first, so "<=" is not read as "<" */
        { "<=", PF__OP_LE }, { ">=", PF__OP_GE }, { "==", PF__OP_EQ },
        { "!=", PF__OP_NE }, { "<", PF__OP_LT }, { ">", PF__OP_GT },
        { "=", PF__OP_EQ },
    };
    size_t len = text ? strlen(text) : 0;

    /* Trailing blanks are a copy-paste accident, not a different rule. */
    while (len && (text[len - 1] == ' ' || text[len - 1] == '\t'))
        len--;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = strlen(ops[i].s), mlen;

        if (len <= n || memcmp(text + len - n, ops[i].s, n) != 0)
            continue;
        mlen = len - n;
        while (mlen && text[mlen - 1] == ' ')
            mlen--;
        if (!mlen || mlen >= sizeof rule->metric)
            return -1;
        memcpy(rule->metric, text, mlen);
        rule->metric[mlen] = '\0';
        rule->op = ops[i].op;
        return 0;
    }
    return -1;
}

const char *pf__rule_metric_name(const struct pf__rule *rule)
{
    const struct metric *m = find_metric(rule->metric);

    if (!m)
        return NULL;
    /* The table lists each metric's canonical name before its aliases. */
    for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++)
        if (metrics[i].id == m->id)
            return metrics[i].name;
    return NULL;
}

int pf__rule_needs_probe(const struct pf__rule *rule)
{
    const struct metric *m = find_metric(rule->metric);

    return !m || m->id != M_URL_SCHEME;
}

static int compare(double a, enum pf__op op, double b)
{
    switch (op) {
    case PF__OP_LT: return a < b;
    case PF__OP_LE: return a <= b;
    case PF__OP_GT: return a > b;
    case PF__OP_GE: return a >= b;
    case PF__OP_EQ: return a == b;
    case PF__OP_NE: return a != b;
    }
    return 0;
}

/* The measured value of a numeric metric, or NAN when the probe could not
 * tell. File sizes are where the documents are ambiguous (MB or MiB?): an
 * upper limit is read in decimal megabytes and a lower limit in binary
 * ones, the stricter reading each time, so a file that passes here passes
 * a server that uses either. */
static double numeric_value(enum metric_id id, enum pf__op op,
                            const pf_media_info *in)
{
    int lower_bound = op == PF__OP_GT || op == PF__OP_GE;
    double w = in->width, h = in->height;

    switch (id) {
    case M_FILE_SIZE_MB:
        if (in->file_size < 0)
            return NAN;
        return (double)in->file_size / (lower_bound ? 1048576.0 : 1e6);
    case M_FILE_SIZE_KB:
        if (in->file_size < 0)
            return NAN;
        return (double)in->file_size / (lower_bound ? 1024.0 : 1e3);
    case M_FILE_SIZE_MIB:
        return in->file_size < 0 ? NAN : (double)in->file_size / 1048576.0;
    case M_FILE_SIZE_BYTES:
        return in->file_size < 0 ? NAN : (double)in->file_size;
    case M_WIDTH:
        return in->width > 0 ? w : NAN;
    case M_HEIGHT:
        return in->height > 0 ? h : NAN;
    case M_ASPECT:
        return in->width > 0 && in->height > 0 ? w / h : NAN;
    case M_INV_ASPECT:
        return in->width > 0 && in->height > 0 ? h / w : NAN;
    case M_SHORT_SIDE:
        return in->width > 0 && in->height > 0 ? fmin(w, h) : NAN;
    case M_LONG_SIDE:
        return in->width > 0 && in->height > 0 ? fmax(w, h) : NAN;
    case M_PIXELS:
        return in->width > 0 && in->height > 0 ? w * h : NAN;
    case M_MEGAPIXELS:
        return in->width > 0 && in->height > 0 ? w * h / 1e6 : NAN;
    case M_DURATION:
        return in->duration >= 0 ? in->duration : NAN;
    case M_FPS:
        return in->fps > 0 ? in->fps : NAN;
    case M_FRAME_COUNT:
        return in->frame_count >= 0 ? (double)in->frame_count : NAN;
    case M_BITRATE_KBPS:
        return in->bit_rate > 0 ? in->bit_rate / 1000.0 : NAN;
    default:
        return NAN;
    }
}

static const char *string_value(enum metric_id id,
                                const struct pf__subject *s)
{
    switch (id) {
    case M_FORMAT:     return s->info ? s->info->format : NULL;
    case M_CODEC:      return s->info ? s->info->codec : NULL;
    case M_MEDIA_TYPE: return s->info ? pf_media_kind_name(s->info->kind) : NULL;
    case M_URL_SCHEME: return s->scheme;
    default:           return NULL;
    }
}

/* String metrics compare case-insensitively; "==" with an array limit means
 * "one of" and "!=" "none of" (how the documented extensions say "JPEG or
 * PNG only"). "jpg" is accepted as a spelling of "jpeg". */
static int string_matches(const char *actual, const char *want)
{
    if (strcasecmp(actual, want) == 0)
        return 1;
    if (strcasecmp(want, "jpg") == 0 && strcasecmp(actual, "jpeg") == 0)
        return 1;
    return 0;
}

enum pf__verdict pf__rule_eval(const struct pf__rule *rule, const cJSON *limit,
                               const struct pf__subject *subject,
                               cJSON **actual)
{
    const struct metric *m = find_metric(rule->metric);

    *actual = NULL;
    if (!m)
        return PF__UNKNOWN_METRIC;
    if (m->type == NUMBER) {
        double v;

        if (!cJSON_IsNumber(limit) || !isfinite(limit->valuedouble))
            return PF__BAD_VALUE;
        if (!subject->info)
            return PF__NOT_MEASURED;
        v = numeric_value(m->id, rule->op, subject->info);
        if (isnan(v))
            return PF__NOT_MEASURED;
        *actual = cJSON_CreateNumber(v);
        return compare(v, rule->op, limit->valuedouble) ? PF__PASS : PF__FAIL;
    }
    if (m->type == BOOLEAN) {
        int v;

        if (!cJSON_IsBool(limit) ||
            (rule->op != PF__OP_EQ && rule->op != PF__OP_NE))
            return PF__BAD_VALUE;
        if (!subject->info)
            return PF__NOT_MEASURED;
        v = subject->info->has_audio != 0;
        *actual = cJSON_CreateBool(v);
        return (v == cJSON_IsTrue(limit)) == (rule->op == PF__OP_EQ)
                   ? PF__PASS : PF__FAIL;
    }

    /* STRING */
    {
        const char *v = string_value(m->id, subject);
        int found = 0;

        if (rule->op != PF__OP_EQ && rule->op != PF__OP_NE)
            return PF__BAD_VALUE;
        if (cJSON_IsString(limit)) {
            if (!v || !*v)
                return PF__NOT_MEASURED;
            found = string_matches(v, limit->valuestring);
        } else if (cJSON_IsArray(limit)) {
            const cJSON *item;

            cJSON_ArrayForEach(item, limit)
                if (!cJSON_IsString(item))
                    return PF__BAD_VALUE;
            if (!v || !*v)
                return PF__NOT_MEASURED;
            cJSON_ArrayForEach(item, limit)
                found |= string_matches(v, item->valuestring);
        } else {
            return PF__BAD_VALUE;
        }
        *actual = cJSON_CreateString(v);
        return found == (rule->op == PF__OP_EQ) ? PF__PASS : PF__FAIL;
    }
}
