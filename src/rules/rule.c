/*
 * Rules: the validation_rule parser ("metric operator", the forms the model
 * docs use: "file_size_mb<", "width/height>", "width_pixels<=") and the
 * evaluator of compiled rules, whatever dialect they were written in. A
 * metric this file does not know is reported to the caller, never silently
 * passed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules_internal.h"

enum metric_type { NUMBER, STRING, BOOLEAN };

/* Each metric's canonical name comes before its aliases. */
static const struct metric {
    const char *name;
    enum pf__metric id;
    enum metric_type type;
} metrics[] = {
    { "file_size_mb",      PF__M_FILE_SIZE_MB,    NUMBER },
    { "file_size",         PF__M_FILE_SIZE_MB,    NUMBER },
    { "size_mb",           PF__M_FILE_SIZE_MB,    NUMBER },
    { "file_size_kb",      PF__M_FILE_SIZE_KB,    NUMBER },
    { "file_size_bytes",   PF__M_FILE_SIZE_BYTES, NUMBER },
    { "file_size_mib",     PF__M_FILE_SIZE_MIB,   NUMBER },
    { "width_pixels",      PF__M_WIDTH,           NUMBER },
    { "width",             PF__M_WIDTH,           NUMBER },
    { "height_pixels",     PF__M_HEIGHT,          NUMBER },
    { "height",            PF__M_HEIGHT,          NUMBER },
    { "width/height",      PF__M_ASPECT,          NUMBER },
    { "aspect_ratio",      PF__M_ASPECT,          NUMBER },
    { "height/width",      PF__M_INV_ASPECT,      NUMBER },
    { "short_side_pixels", PF__M_SHORT_SIDE,      NUMBER },
    { "min_side_pixels",   PF__M_SHORT_SIDE,      NUMBER },
    { "long_side_pixels",  PF__M_LONG_SIDE,       NUMBER },
    { "max_side_pixels",   PF__M_LONG_SIDE,       NUMBER },
    { "total_pixels",      PF__M_PIXELS,          NUMBER },
    { "width*height",      PF__M_PIXELS,          NUMBER },
    { "megapixels",        PF__M_MEGAPIXELS,      NUMBER },
    { "duration_seconds",  PF__M_DURATION,        NUMBER },
    { "duration",          PF__M_DURATION,        NUMBER },
    { "duration_s",        PF__M_DURATION,        NUMBER },
    { "video_duration",    PF__M_DURATION,        NUMBER },
    { "fps",               PF__M_FPS,             NUMBER },
    { "frame_rate",        PF__M_FPS,             NUMBER },
    { "frame_count",       PF__M_FRAME_COUNT,     NUMBER },
    { "frames",            PF__M_FRAME_COUNT,     NUMBER },
    { "num_frames",        PF__M_FRAME_COUNT,     NUMBER },
    { "bitrate_kbps",      PF__M_BITRATE_KBPS,    NUMBER },
    { "short/long",        PF__M_SHORT_LONG,      NUMBER },
    { "long/short",        PF__M_LONG_SHORT,      NUMBER },
    { "has_audio",         PF__M_HAS_AUDIO,       BOOLEAN },
    { "format",            PF__M_FORMAT,          STRING },
    { "codec",             PF__M_CODEC,           STRING },
    { "media_type",        PF__M_MEDIA_TYPE,      STRING },
    { "url_scheme",        PF__M_URL_SCHEME,      STRING },
};

static const struct metric *find_metric(const char *name)
{
    for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++)
        if (strcasecmp(metrics[i].name, name) == 0)
            return &metrics[i];
    return NULL;
}

static const struct metric *metric_by_id(enum pf__metric id)
{
    for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++)
        if (metrics[i].id == id)
            return &metrics[i];
    return NULL;
}

enum pf__metric pf__metric_of(const char *name)
{
    const struct metric *m = name ? find_metric(name) : NULL;

    return m ? m->id : PF__M_UNKNOWN;
}

const char *pf__metric_name(enum pf__metric id)
{
    const struct metric *m = metric_by_id(id);

    return m ? m->name : NULL;
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
    return pf__metric_name(pf__metric_of(rule->metric));
}

int pf__rule_needs_probe(const struct pf__rule *rule)
{
    return pf__metric_of(rule->metric) != PF__M_URL_SCHEME;
}

void pf__media_rule_free(struct pf__media_rule *r)
{
    if (!r)
        return;
    free(r->key);
    for (size_t i = 0; i < r->string_count; i++)
        free(r->strings[i]);
    free(r->strings);
    free(r->message);
    memset(r, 0, sizeof *r);
}

/* Copies the limit into the rule's typed fields and decides, once, whether
 * it suits the metric: the checks pf__media_rule_eval would otherwise make
 * on every value. */
static pf_err compile_limit(struct pf__media_rule *r, const struct metric *m,
                            const cJSON *limit)
{
    const cJSON *item;
    size_t n = 0;

    r->kind = PF__LIMIT_OTHER;
    if (cJSON_IsNumber(limit)) {
        r->kind = PF__LIMIT_NUMBER;
        r->number = limit->valuedouble;
    } else if (cJSON_IsBool(limit)) {
        r->kind = PF__LIMIT_BOOL;
        r->boolean = cJSON_IsTrue(limit);
    } else if (cJSON_IsString(limit)) {
        r->kind = PF__LIMIT_STRING;
        if (!(r->strings = calloc(1, sizeof *r->strings)) ||
            !(r->strings[0] = strdup(limit->valuestring)))
            return PF_ENOMEM;
        r->string_count = 1;
    } else if (cJSON_IsArray(limit)) {
        int all_strings = 1;

        cJSON_ArrayForEach(item, limit)
            all_strings &= cJSON_IsString(item);
        if (all_strings) {
            r->kind = PF__LIMIT_LIST;
            if (!(r->strings = calloc((size_t)cJSON_GetArraySize(limit) + 1,
                                      sizeof *r->strings)))
                return PF_ENOMEM;
            cJSON_ArrayForEach(item, limit) {
                if (!(r->strings[n] = strdup(item->valuestring)))
                    return PF_ENOMEM;
                r->string_count = ++n;
            }
        }
    }
    if (!m)
        return PF_OK;
    switch (m->type) {
    case NUMBER:
        if (r->kind != PF__LIMIT_NUMBER || !isfinite(r->number))
            r->state = PF__RULE_BAD_VALUE;
        break;
    case BOOLEAN:
        if (r->kind != PF__LIMIT_BOOL || (r->op != PF__OP_EQ && r->op != PF__OP_NE))
            r->state = PF__RULE_BAD_VALUE;
        break;
    case STRING:
        if ((r->op != PF__OP_EQ && r->op != PF__OP_NE) ||
            (r->kind != PF__LIMIT_STRING && r->kind != PF__LIMIT_LIST))
            r->state = PF__RULE_BAD_VALUE;
        break;
    }
    return PF_OK;
}

pf_err pf__media_rule_init(struct pf__media_rule *r, const char *key,
                           const char *metric, enum pf__op op,
                           const cJSON *limit, const char *message)
{
    const struct metric *m = find_metric(metric);

    memset(r, 0, sizeof *r);
    pf__strlcpy(r->metric, metric, sizeof r->metric);
    r->op = op;
    r->id = m ? m->id : PF__M_UNKNOWN;
    r->state = m ? PF__RULE_OK : PF__RULE_UNKNOWN;
    if (!(r->key = strdup(key)) || (message && !(r->message = strdup(message))) ||
        compile_limit(r, m, limit) != PF_OK) {
        pf__media_rule_free(r);
        return PF_ENOMEM;
    }
    return PF_OK;
}

pf_err pf__media_rule_from_text(struct pf__media_rule *r, const char *text,
                                const cJSON *limit, const char *message)
{
    struct pf__rule parsed;
    pf_err rc;

    if (pf__rule_parse(text, &parsed) == 0)
        return pf__media_rule_init(r, text, parsed.metric, parsed.op, limit, message);
    if ((rc = pf__media_rule_init(r, text, "", PF__OP_EQ, NULL, message)))
        return rc;
    r->state = PF__RULE_UNPARSED;
    return PF_OK;
}

cJSON *pf__media_rule_limit(const struct pf__media_rule *r)
{
    switch (r->kind) {
    case PF__LIMIT_NUMBER:
        return cJSON_CreateNumber(r->number);
    case PF__LIMIT_BOOL:
        return cJSON_CreateBool(r->boolean);
    case PF__LIMIT_STRING:
        return cJSON_CreateString(r->strings[0]);
    case PF__LIMIT_LIST:
        return cJSON_CreateStringArray((const char *const *)r->strings,
                                       (int)r->string_count);
    default:
        return NULL;
    }
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
static double numeric_value(enum pf__metric id, enum pf__op op,
                            const pf_media_info *in)
{
    int lower_bound = op == PF__OP_GT || op == PF__OP_GE;
    double w = in->width, h = in->height;
    int sized = in->width > 0 && in->height > 0;

    switch (id) {
    case PF__M_FILE_SIZE_MB:
        if (in->file_size < 0)
            return NAN;
        return (double)in->file_size / (lower_bound ? 1048576.0 : 1e6);
    case PF__M_FILE_SIZE_KB:
        if (in->file_size < 0)
            return NAN;
        return (double)in->file_size / (lower_bound ? 1024.0 : 1e3);
    case PF__M_FILE_SIZE_MIB:
        return in->file_size < 0 ? NAN : (double)in->file_size / 1048576.0;
    case PF__M_FILE_SIZE_BYTES:
        return in->file_size < 0 ? NAN : (double)in->file_size;
    case PF__M_WIDTH:
        return in->width > 0 ? w : NAN;
    case PF__M_HEIGHT:
        return in->height > 0 ? h : NAN;
    case PF__M_ASPECT:
        return sized ? w / h : NAN;
    case PF__M_INV_ASPECT:
        return sized ? h / w : NAN;
    case PF__M_SHORT_SIDE:
        return sized ? fmin(w, h) : NAN;
    case PF__M_LONG_SIDE:
        return sized ? fmax(w, h) : NAN;
    case PF__M_SHORT_LONG:
        return sized ? fmin(w, h) / fmax(w, h) : NAN;
    case PF__M_LONG_SHORT:
        return sized ? fmax(w, h) / fmin(w, h) : NAN;
    case PF__M_PIXELS:
        return sized ? w * h : NAN;
    case PF__M_MEGAPIXELS:
        return sized ? w * h / 1e6 : NAN;
    case PF__M_DURATION:
        return in->duration >= 0 ? in->duration : NAN;
    case PF__M_FPS:
        return in->fps > 0 ? in->fps : NAN;
    case PF__M_FRAME_COUNT:
        return in->frame_count >= 0 ? (double)in->frame_count : NAN;
    case PF__M_BITRATE_KBPS:
        return in->bit_rate > 0 ? in->bit_rate / 1000.0 : NAN;
    default:
        return NAN;
    }
}

static const char *string_value(enum pf__metric id, const struct pf__subject *s)
{
    switch (id) {
    case PF__M_FORMAT:     return s->info ? s->info->format : NULL;
    case PF__M_CODEC:      return s->info ? s->info->codec : NULL;
    case PF__M_MEDIA_TYPE: return s->info ? pf_media_kind_name(s->info->kind) : NULL;
    case PF__M_URL_SCHEME: return s->scheme;
    default:               return NULL;
    }
}

/* String metrics compare case-insensitively; "==" with a list means "one
 * of" and "!=" "none of" (how the documented extensions say "JPEG or PNG
 * only"). "jpg" is accepted as a spelling of "jpeg". */
static int string_matches(const char *actual, const char *want)
{
    if (strcasecmp(actual, want) == 0)
        return 1;
    if (strcasecmp(want, "jpg") == 0 && strcasecmp(actual, "jpeg") == 0)
        return 1;
    return 0;
}

enum pf__verdict pf__media_rule_eval(const struct pf__media_rule *r,
                                     const struct pf__subject *subject,
                                     cJSON **actual)
{
    const struct metric *m = metric_by_id(r->id);

    *actual = NULL;
    if (r->state == PF__RULE_UNKNOWN || r->state == PF__RULE_UNPARSED || !m)
        return PF__UNKNOWN_METRIC;
    if (r->state == PF__RULE_BAD_VALUE)
        return PF__BAD_VALUE;
    if (m->type == NUMBER) {
        double v;

        if (!subject->info)
            return PF__NOT_MEASURED;
        v = numeric_value(r->id, r->op, subject->info);
        if (isnan(v))
            return PF__NOT_MEASURED;
        *actual = cJSON_CreateNumber(v);
        return compare(v, r->op, r->number) ? PF__PASS : PF__FAIL;
    }
    if (m->type == BOOLEAN) {
        int v;

        if (!subject->info)
            return PF__NOT_MEASURED;
        v = subject->info->has_audio != 0;
        *actual = cJSON_CreateBool(v);
        return (v == r->boolean) == (r->op == PF__OP_EQ) ? PF__PASS : PF__FAIL;
    }

    /* STRING */
    {
        const char *v = string_value(r->id, subject);
        int found = 0;

        if (!v || !*v)
            return PF__NOT_MEASURED;
        for (size_t i = 0; i < r->string_count; i++)
            found |= string_matches(v, r->strings[i]);
        *actual = cJSON_CreateString(v);
        return found == (r->op == PF__OP_EQ) ? PF__PASS : PF__FAIL;
    }
}

enum pf__verdict pf__rule_eval(const struct pf__rule *rule, const cJSON *limit,
                               const struct pf__subject *subject,
                               cJSON **actual)
{
    struct pf__media_rule r;
    enum pf__verdict v;

    *actual = NULL;
    if (pf__media_rule_init(&r, rule->metric, rule->metric, rule->op, limit, NULL))
        return PF__NOT_MEASURED;
    v = pf__media_rule_eval(&r, subject, actual);
    pf__media_rule_free(&r);
    return v;
}
