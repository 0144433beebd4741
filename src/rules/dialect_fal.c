/*
 * The fal dialect: an OpenAPI document as fal's model catalogue serves one
 * per endpoint (openapi, info.x-fal-metadata.endpointId, paths,
 * components.schemas), or a catalogue bundle that kept only
 * components.schemas.
 *
 * The input schema is the request body of the endpoint's POST path (for a
 * bundle: the one "*Input" schema no other schema references), resolved
 * into plain JSON Schema the parameter check reads: $ref inlined from the
 * document, allOf merged, a null branch of anyOf/oneOf folded into
 * "nullable", a single remaining branch merged in, real unions kept. Media
 * fields are found in it at any depth ("elements[].frontal_image_url"), and
 * the limits fal's SDK writes under "x-fal" (on the field, or on "items"
 * for each element of an array field) or beside it compile into typed
 * rules. What a field's description states only in prose is kept to be
 * quoted as "not checked".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules_internal.h"

/* $ref chains deeper than this are refused as circular. */
#define MAX_REF_DEPTH 32
#define MAX_RESOLVED_NODES 100000

/* The limits fal writes, as metric and operator, with the label its SDK
 * uses when it restates them in a description ("Max file size: 10.0MB").
 * Bounds are inclusive. */
static const struct fal_key {
    const char *key;
    const char *metric;
    enum pf__op op;
    const char *label;
    const char *plain;          /* "%s" is the limit */
} fal_keys[] = {
    { "max_file_size",    "file_size_bytes", PF__OP_LE, "Max file size",
      "the file must be at most %s bytes" },
    { "min_file_size",    "file_size_bytes", PF__OP_GE, "Min file size",
      "the file must be at least %s bytes" },
    { "min_width",        "width_pixels",    PF__OP_GE, "Min width",
      "the width must be at least %s px" },
    { "max_width",        "width_pixels",    PF__OP_LE, "Max width",
      "the width must be at most %s px" },
    { "min_height",       "height_pixels",   PF__OP_GE, "Min height",
      "the height must be at least %s px" },
    { "max_height",       "height_pixels",   PF__OP_LE, "Max height",
      "the height must be at most %s px" },
    { "min_area",         "total_pixels",    PF__OP_GE, "Min area",
      "width × height must be at least %s pixels" },
    { "max_area",         "total_pixels",    PF__OP_LE, "Max area",
      "width × height must be at most %s pixels" },
    { "max_pixels",       "total_pixels",    PF__OP_LE, "Max pixels",
      "width × height must be at most %s pixels" },
    { "min_pixels",       "total_pixels",    PF__OP_GE, "Min pixels",
      "width × height must be at least %s pixels" },
    { "min_aspect_ratio", "short/long",      PF__OP_GE, "Min aspect ratio",
      "the short side over the long side must be at least %s" },
    { "max_aspect_ratio", "long/short",      PF__OP_LE, "Max aspect ratio",
      "the long side over the short side must be at most %s" },
    { "min_duration",     "duration_seconds", PF__OP_GE, "Min duration",
      "the duration must be at least %s s" },
    { "max_duration",     "duration_seconds", PF__OP_LE, "Max duration",
      "the duration must be at most %s s" },
    { "min_fps",          "fps",             PF__OP_GE, "Min FPS",
      "the frame rate must be at least %s fps" },
    { "max_fps",          "fps",             PF__OP_LE, "Max FPS",
      "the frame rate must be at most %s fps" },
    { "min_frames",       "frame_count",     PF__OP_GE, "Min frames",
      "there must be at least %s frames" },
    { "max_frames",       "frame_count",     PF__OP_LE, "Max frames",
      "there must be at most %s frames" },
};

static const struct fal_key *fal_key(const char *key)
{
    for (size_t i = 0; i < sizeof fal_keys / sizeof fal_keys[0]; i++)
        if (strcmp(fal_keys[i].key, key) == 0)
            return &fal_keys[i];
    return NULL;
}

static const cJSON *get(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

static const char *get_string(const cJSON *o, const char *key)
{
    const cJSON *v = get(o, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; hay && *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

int pf__dialect_fal_detect(const cJSON *doc)
{
    const cJSON *components = get(doc, "components");

    if (!cJSON_IsObject(doc))
        return 0;
    if (cJSON_IsString(get(doc, "openapi")))
        return 1;
    /* A catalogue bundle: only components.schemas, none of the shapes the
     * RunComfy dialect reads. */
    return cJSON_IsObject(get(components, "schemas")) && !get(doc, "properties") &&
           !get(doc, "input_schema");
}

/* ---- resolving JSON Schema as fal writes it ---- */

struct resolver {
    pf_ctx *ctx;
    const pf_schema *s;
    const cJSON *doc;
    pf_err rc;
    long nodes;                 /* schemas made so far */
};

static cJSON *resolve(struct resolver *r, const cJSON *node, int depth);

/* The node a local "#/a/b" reference points at, or NULL. */
static const cJSON *follow(const cJSON *doc, const char *ref)
{
    char buf[512], *save = NULL, *part;
    const cJSON *node = doc;

    if (strncmp(ref, "#/", 2) != 0 || strlen(ref) >= sizeof buf)
        return NULL;
    pf__strlcpy(buf, ref + 2, sizeof buf);
    for (part = strtok_r(buf, "/", &save); part && node; part = strtok_r(NULL, "/", &save))
        node = get(node, part);
    return node;
}

static int is_null_branch(const cJSON *b)
{
    const char *t = get_string(b, "type");

    return t && strcmp(t, "null") == 0 && cJSON_GetArraySize(b) <= 3;
}

/* Adds what from has and into lacks: properties one by one, "required" as
 * a union, any other keyword only when into has none (the outer schema's
 * title, description and default win over a referenced one's). */
static void merge_into(struct resolver *r, cJSON *into, const cJSON *from)
{
    const cJSON *item;

    if (!cJSON_IsObject(from))
        return;

    cJSON_ArrayForEach(item, from) {
        cJSON *have = cJSON_GetObjectItemCaseSensitive(into, item->string);

        if (strcmp(item->string, "properties") == 0 && cJSON_IsObject(have)) {
            const cJSON *p;

            cJSON_ArrayForEach(p, item)
                if (!cJSON_GetObjectItemCaseSensitive(have, p->string))
                    cJSON_AddItemToObject(have, p->string, cJSON_Duplicate(p, 1));
        } else if (strcmp(item->string, "required") == 0 && cJSON_IsArray(have)) {
            const cJSON *n, *m;

            cJSON_ArrayForEach(n, item) {
                int found = 0;

                cJSON_ArrayForEach(m, have)
                    found |= cJSON_Compare(m, n, 1);
                if (!found)
                    cJSON_AddItemToArray(have, cJSON_Duplicate(n, 1));
            }
        } else if (!have) {
            cJSON *copy = cJSON_Duplicate(item, 1);

            if (!copy)
                r->rc = PF_ENOMEM;
            else
                cJSON_AddItemToObject(into, item->string, copy);
        }
    }
}

/* Resolves each member of an object of schemas ("properties"). */
static cJSON *resolve_members(struct resolver *r, const cJSON *obj, int depth)
{
    cJSON *out = cJSON_CreateObject();
    const cJSON *item;

    if (!out) {
        r->rc = PF_ENOMEM;
        return NULL;
    }
    cJSON_ArrayForEach(item, obj) {
        cJSON *res = resolve(r, item, depth);

        if (!res)
            break;
        cJSON_AddItemToObject(out, item->string, res);
    }
    return out;
}

static cJSON *resolve(struct resolver *r, const cJSON *node, int depth)
{
    const char *ref = get_string(node, "$ref");
    const cJSON *item, *target;
    cJSON *out = NULL, *branches = NULL;
    int nullable = 0;

    if (r->rc)
        return NULL;
    /* A schema referenced from many places is copied into each: bounded,
     * so that a small document cannot expand without end. */
    if (++r->nodes > MAX_RESOLVED_NODES) {
        r->rc = pf__error(r->ctx, PF_ESCHEMA, "%s: too large once its $ref are "
                          "resolved", r->s->origin);
        return NULL;
    }
    if (depth > MAX_REF_DEPTH) {
        r->rc = pf__error(r->ctx, PF_ESCHEMA, "%s: $ref nested more than %d deep "
                          "(circular?)", r->s->origin, MAX_REF_DEPTH);
        return NULL;
    }
    if (!cJSON_IsObject(node)) {
        if (!(out = cJSON_Duplicate(node, 1)))
            r->rc = PF_ENOMEM;
        return out;
    }
    if (ref) {
        if (!(target = follow(r->doc, ref))) {
            r->rc = pf__error(r->ctx, PF_ESCHEMA, "%s: $ref '%s' does not point "
                              "inside the document", r->s->origin, ref);
            return NULL;
        }
        if (!(out = resolve(r, target, depth + 1)))
            return NULL;
        /* Keywords beside a $ref (OpenAPI 3.1) describe this use of it. */
        cJSON_ArrayForEach(item, node) {
            cJSON *res;

            if (strcmp(item->string, "$ref") == 0)
                continue;
            if (!(res = resolve(r, item, depth + 1)))
                break;
            cJSON_DeleteItemFromObjectCaseSensitive(out, item->string);
            cJSON_AddItemToObject(out, item->string, res);
        }
        return out;
    }
    if (!(out = cJSON_CreateObject())) {
        r->rc = PF_ENOMEM;
        return NULL;
    }
    cJSON_ArrayForEach(item, node) {
        const char *k = item->string;
        cJSON *res = NULL;

        if (strcmp(k, "allOf") == 0 || strcmp(k, "anyOf") == 0 || strcmp(k, "oneOf") == 0)
            continue;
        if ((strcmp(k, "properties") == 0 || strcmp(k, "$defs") == 0) && cJSON_IsObject(item))
            res = resolve_members(r, item, depth);
        else if (strcmp(k, "items") == 0 || strcmp(k, "additionalProperties") == 0)
            res = resolve(r, item, depth + 1);
        else if (!(res = cJSON_Duplicate(item, 1)))
            r->rc = PF_ENOMEM;
        if (!res)
            goto fail;
        cJSON_AddItemToObject(out, k, res);
    }
    cJSON_ArrayForEach(item, get(node, "allOf")) {
        cJSON *res = resolve(r, item, depth + 1);

        if (!res)
            goto fail;
        merge_into(r, out, res);
        cJSON_Delete(res);
    }
    /* anyOf/oneOf: a null branch means "may be null"; one branch left is
     * merged in as if written in place; two or more stay a union. */
    for (int u = 0; u < 2; u++) {
        const char *key = u ? "oneOf" : "anyOf";

        if (!cJSON_IsArray(get(node, key)))
            continue;
        if (!branches && !(branches = cJSON_CreateArray())) {
            r->rc = PF_ENOMEM;
            goto fail;
        }
        cJSON_ArrayForEach(item, get(node, key)) {
            cJSON *res;

            if (is_null_branch(item)) {
                nullable = 1;
                continue;
            }
            if (!(res = resolve(r, item, depth + 1)))
                goto fail;
            cJSON_AddItemToArray(branches, res);
        }
    }
    if (branches) {
        if (cJSON_GetArraySize(branches) == 1)
            merge_into(r, out, branches->child);
        else if (cJSON_GetArraySize(branches) > 1) {
            cJSON_AddItemToObject(out, "anyOf", branches);
            branches = NULL;
        }
    }
    if (nullable && !get(out, "nullable"))
        cJSON_AddTrueToObject(out, "nullable");
    cJSON_Delete(branches);
    if (r->rc)
        goto fail;
    return out;
fail:
    cJSON_Delete(branches);
    cJSON_Delete(out);
    if (!r->rc)
        r->rc = PF_ENOMEM;
    return NULL;
}

/* ---- finding the input and output schemas ---- */

/* The JSON schema of a response or request body: content.application/json
 * .schema. */
static const cJSON *body_schema(const cJSON *body)
{
    return get(get(get(body, "content"), "application/json"), "schema");
}

/* Whether any "$ref" in node names "#/components/schemas/<name>". */
static int referenced(const cJSON *node, const char *name)
{
    const cJSON *item;

    if (cJSON_IsString(node) && node->string && strcmp(node->string, "$ref") == 0) {
        const char *p = "#/components/schemas/";

        return strncmp(node->valuestring, p, strlen(p)) == 0 &&
               strcmp(node->valuestring + strlen(p), name) == 0;
    }
    cJSON_ArrayForEach(item, node)
        if (referenced(item, name))
            return 1;
    return 0;
}

/* The one schema named "*<suffix>" that no other schema references, or
 * NULL; *many is set when there are several. */
static const cJSON *unreferenced(const cJSON *schemas, const char *suffix, int *many)
{
    const cJSON *s, *found = NULL;

    *many = 0;
    cJSON_ArrayForEach(s, schemas) {
        if (!ends_with(s->string, suffix) || referenced(schemas, s->string))
            continue;
        if (found)
            *many = 1;
        found = s;
    }
    return *many ? NULL : found;
}

/* Input and output of a whole document: the POST path's request body (the
 * endpoint's own path when there are several), and the 200 answer of the
 * GET that fetches a request's result ("…/requests/{request_id}"). */
static void from_paths(const cJSON *paths, const char *endpoint,
                       const cJSON **input, const cJSON **output)
{
    const cJSON *p;

    *input = *output = NULL;
    cJSON_ArrayForEach(p, paths) {
        const cJSON *post = get(p, "post");
        const cJSON *in = body_schema(get(post, "requestBody"));

        if (in && (!*input || (endpoint && p->string[0] == '/' &&
                               strcmp(p->string + 1, endpoint) == 0)))
            *input = in;
        if (ends_with(p->string, "/requests/{request_id}")) {
            const cJSON *ok = get(get(get(p, "get"), "responses"), "200");

            if (body_schema(ok))
                *output = body_schema(ok);
        }
    }
}

/* "dir/fal-ai__reve__edit.json" -> "fal-ai/reve/edit"; an id already
 * written with slashes ("fal-ai/reve/edit") stays as it is. */
static char *endpoint_from_name(const char *name)
{
    const char *base = name;
    char *id, *w;
    size_t n;

    if (ends_with(name, ".json")) {
        const char *slash = strrchr(name, '/');

        base = slash ? slash + 1 : name;
    }
    n = strlen(base);
    if (ends_with(base, ".json"))
        n -= 5;
    if (!(id = malloc(n + 1)))
        return NULL;
    w = id;
    for (size_t i = 0; i < n; i++) {
        if (base[i] == '_' && i + 1 < n && base[i + 1] == '_') {
            *w++ = '/';
            i++;
        } else {
            *w++ = base[i];
        }
    }
    *w = '\0';
    return id;
}

/* ---- media fields and their rules ---- */

struct walker {
    pf_ctx *ctx;
    pf_schema *s;
    const char **names;         /* every property name with an underscore */
    size_t name_count;
    pf_err rc;
};

/* The fragment of a fal SDK limit sentence that restates key ("Max file
 * size: 10.0MB"), copied into buf; 0 when none of texts has one. */
static int limit_fragment(const char *const texts[], size_t n, const char *label,
                          char *buf, size_t size)
{
    size_t ll = strlen(label);

    for (size_t t = 0; t < n; t++) {
        const char *p = texts[t];

        for (; p && *p; p++) {
            size_t len;

            if (strncasecmp(p, label, ll) != 0 || p[ll] != ':' ||
                (p != texts[t] && p[-1] != ' ' && p[-1] != '\n' && p[-1] != ','))
                continue;
            len = strcspn(p, ",\n");
            while (len && (p[len - 1] == '.' || p[len - 1] == ' '))
                len--;
            if (len >= size)
                len = size - 1;
            memcpy(buf, p, len);
            buf[len] = '\0';
            return 1;
        }
    }
    return 0;
}

/* Compiles one limit fal writes (under x-fal or beside it) onto m. */
static pf_err add_limit(struct pf__media_field *m, const char *key,
                        const cJSON *value, const char *const texts[], size_t ntexts)
{
    const struct fal_key *k = fal_key(key);
    struct pf__media_rule rule;
    char msg[300], num[64];
    const char *metric;
    enum pf__op op;
    pf_err rc;

    if (strcmp(key, "timeout") == 0)
        return PF_OK;           /* the server's download timeout, not a limit */
    if (!k) {
        /* Said at check time as "not checked", never read as whatever
         * metric its name might resemble. */
        if ((rc = pf__media_rule_init(&rule, key, key, PF__OP_EQ, value, NULL)))
            return rc;
        rule.id = PF__M_UNKNOWN;
        rule.state = PF__RULE_UNKNOWN;
        return pf__media_add_rule(m, &rule);
    }
    metric = k->metric;
    op = k->op;
    /* fal's SDK means an orientation-free ratio: a minimum above 1 can
     * only be long/short, a maximum below 1 only short/long. */
    if (cJSON_IsNumber(value) && strcmp(key, "min_aspect_ratio") == 0 &&
        value->valuedouble > 1)
        metric = "long/short";
    if (cJSON_IsNumber(value) && strcmp(key, "max_aspect_ratio") == 0 &&
        value->valuedouble < 1)
        metric = "short/long";
    if (!limit_fragment(texts, ntexts, k->label, msg, sizeof msg)) {
        if (cJSON_IsNumber(value))
            pf__format_number(num, sizeof num, value->valuedouble);
        else
            pf__strlcpy(num, "?", sizeof num);
        snprintf(msg, sizeof msg, k->plain, num);
        msg[0] = (char)(msg[0] - 'a' + 'A');
    }
    if ((rc = pf__media_rule_init(&rule, key, metric, op, value, msg)))
        return rc;
    return pf__media_add_rule(m, &rule);
}

static void bit(unsigned *kinds, pf_media_kind k)
{
    *kinds |= 1u << k;
}

/* The kinds a text names ("image", "video", "audio"/"voice"/"music"). */
static unsigned kinds_named(const char *text)
{
    unsigned k = 0;

    if (!text)
        return 0;
    if (contains_ci(text, "image") || contains_ci(text, "photo") ||
        contains_ci(text, "mask") || contains_ci(text, "picture"))
        bit(&k, PF_MEDIA_IMAGE);
    if (contains_ci(text, "video"))
        bit(&k, PF_MEDIA_VIDEO);
    if (contains_ci(text, "audio") || contains_ci(text, "voice") ||
        contains_ci(text, "music") || contains_ci(text, "speech") ||
        contains_ci(text, "sound"))
        bit(&k, PF_MEDIA_AUDIO);
    return k;
}

/* Whether a field takes a file that is not media at all (a 3D model). */
static int names_3d(const char *text)
{
    static const char *const words[] = {
        ".glb", ".gltf", ".obj", ".fbx", ".stl", ".usdz", ".ply", "3d model file",
        "mesh file", "model file", "glb file",
    };

    for (size_t i = 0; text && i < sizeof words / sizeof words[0]; i++)
        if (contains_ci(text, words[i]))
            return 1;
    return 0;
}

static pf_media_kind single_kind(unsigned kinds)
{
    if (kinds == 1u << PF_MEDIA_IMAGE)
        return PF_MEDIA_IMAGE;
    if (kinds == 1u << PF_MEDIA_VIDEO)
        return PF_MEDIA_VIDEO;
    if (kinds == 1u << PF_MEDIA_AUDIO)
        return PF_MEDIA_AUDIO;
    return PF_MEDIA_UNKNOWN;
}

/* "audio or video", "image or video": a field that says it takes several
 * kinds in so many words. */
static unsigned kinds_either(const char *text)
{
    static const char *const kinds[] = { "image", "video", "audio" };
    unsigned k = 0;

    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            char pat[40];

            if (a == b)
                continue;
            snprintf(pat, sizeof pat, "%s or %s", kinds[a], kinds[b]);
            if (text && contains_ci(text, pat)) {
                k |= 1u << (a == 0 ? PF_MEDIA_IMAGE : a == 1 ? PF_MEDIA_VIDEO : PF_MEDIA_AUDIO);
                k |= 1u << (b == 0 ? PF_MEDIA_IMAGE : b == 1 ? PF_MEDIA_VIDEO : PF_MEDIA_AUDIO);
            }
        }
    return k;
}

struct prose_ctx {
    struct walker *w;
    struct pf__media_field *m;
    unsigned covered;
    const char *self;
};

/* Whether a sentence only restates the structured limits, the way fal's
 * SDK writes them: "Label: value" fragments, commas between. */
static int sdk_sentence(const char *s, size_t len)
{
    const char *p = s, *end = s + len;

    while (p < end) {
        size_t n = 0, colon;
        int known = 0;

        while (p < end && (*p == ' ' || *p == ','))
            p++;
        if (p >= end)
            break;
        while (p + n < end && p[n] != ',')
            n++;
        for (colon = 0; colon < n && p[colon] != ':'; colon++)
            ;
        if (colon == n)
            return 0;
        if (colon == 7 && strncasecmp(p, "Timeout", 7) == 0)
            known = 1;
        for (size_t i = 0; !known && i < sizeof fal_keys / sizeof fal_keys[0]; i++)
            known = strlen(fal_keys[i].label) == colon &&
                    strncasecmp(p, fal_keys[i].label, colon) == 0;
        if (!known)
            return 0;
        p += n;
    }
    return 1;
}

static void prose_sentence(void *ud, const char *s, size_t len)
{
    struct prose_ctx *pc = ud;
    char buf[1024];
    const char *others[64];
    size_t n = 0;
    unsigned kinds;

    if (pc->w->rc || !len || sdk_sentence(s, len))
        return;
    if (len >= sizeof buf)
        len = sizeof buf - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    for (size_t i = 0; i < pc->w->name_count && n < 63; i++)
        if (strcmp(pc->w->names[i], pc->self) != 0)
            others[n++] = pc->w->names[i];
    others[n] = NULL;
    kinds = pf__prose_kinds(buf, others);
    if (!(kinds & ~pc->covered))
        return;
    for (size_t i = 0; i < pc->m->prose_count; i++)
        if (strcmp(pc->m->prose[i], buf) == 0)
            return;
    pc->w->rc = pf__media_add_prose(pc->m, buf);
}

/* Adds the media field at path for property prop (items: its element
 * schema when it is an array of files). */
static void add_field(struct walker *w, const char *path, const char *name,
                      const cJSON *prop, const cJSON *items)
{
    const char *texts[4] = {
        get_string(items, "limit_description"), get_string(prop, "limit_description"),
        get_string(prop, "description"), get_string(items, "description"),
    };
    const cJSON *holders[2] = { prop, items }, *item;
    const char *desc = get_string(prop, "description");
    unsigned kinds = kinds_named(name), either = kinds_either(desc);
    struct pf__media_field *m;
    struct prose_ctx pc;
    int has_count = get(prop, "minItems") || get(prop, "maxItems");
    struct pf__media_rule scheme;
    static const char *const https_data[] = { "https", "data" };
    cJSON *schemes;

    if (w->rc)
        return;
    if (!kinds)
        kinds = kinds_named(desc);
    if (either)
        kinds = either;
    if ((w->rc = pf__schema_add_media(w->s, path, single_kind(kinds), &m)))
        return;
    if (single_kind(kinds) == PF_MEDIA_UNKNOWN && kinds)
        m->kinds = kinds;
    if (!kinds_named(name) && (names_3d(name) || names_3d(desc)))
        m->unprobed = 1;
    /* fal fetches a public HTTPS URL, or takes the file inline. */
    if (!(schemes = cJSON_CreateStringArray(https_data, 2)) ||
        (w->rc = pf__media_rule_init(&scheme, "url_scheme==", "url_scheme", PF__OP_EQ,
             schemes, "fal takes a publicly accessible HTTPS URL or a base64 data URI")) ||
        (w->rc = pf__media_add_rule(m, &scheme))) {
        if (!w->rc)
            w->rc = PF_ENOMEM;
        cJSON_Delete(schemes);
        return;
    }
    cJSON_Delete(schemes);
    /* x-fal on the element wins for an array; limits beside x-fal (a
     * bare max_file_size, max_pixels) count too, on either level. */
    for (int h = 1; h >= 0; h--) {
        const cJSON *xfal = get(holders[h], "x-fal");

        if (!cJSON_IsObject(xfal))
            continue;
        cJSON_ArrayForEach(item, xfal)
            if (!w->rc)
                w->rc = add_limit(m, item->string, item, texts, 4);
    }
    for (int h = 1; h >= 0; h--) {
        const cJSON *holder = cJSON_IsObject(holders[h]) ? holders[h] : NULL;

        cJSON_ArrayForEach(item, holder)
            if (!w->rc && fal_key(item->string))
                w->rc = add_limit(m, item->string, item, texts, 4);
    }
    if (w->rc)
        return;
    pc.w = w;
    pc.m = m;
    pc.covered = pf__prose_covered(m, has_count);
    pc.self = name;
    for (int t = 0; t < 4; t++)
        if (texts[t])
            pf__prose_sentences(texts[t], prose_sentence, &pc);
}

static int is_type(const cJSON *schema, const char *type)
{
    const cJSON *t = get(schema, "type"), *e;

    if (cJSON_IsString(t))
        return strcmp(t->valuestring, type) == 0;
    cJSON_ArrayForEach(e, t)
        if (cJSON_IsString(e) && strcmp(e->valuestring, type) == 0)
            return 1;
    return 0;
}

/* A string property that takes a file: named like one ("*_url",
 * "*_urls"), or carrying fal's limits or a URL format. */
static int takes_file(const char *name, const cJSON *prop, const cJSON *holder)
{
    const char *fmt = get_string(holder, "format"), *desc = get_string(prop, "description");
    const cJSON *item;

    if (!is_type(holder, "string") && get(holder, "type"))
        return 0;
    if (ends_with(name, "_url") || ends_with(name, "_urls") || ends_with(name, "_uri") ||
        ends_with(name, "_uris") || get(holder, "x-fal") || get(prop, "x-fal"))
        return 1;
    if (fmt && (strcmp(fmt, "uri") == 0 || strcmp(fmt, "binary") == 0 ||
                ends_with(fmt, "_url") || ends_with(fmt, "_uri")))
        return 1;
    /* "URL of the audio to use", "URL to the input image": described as
     * one, whatever the name. */
    if (desc && (contains_ci(desc, "url of") || contains_ci(desc, "url to")) &&
        kinds_named(desc))
        return 1;
    cJSON_ArrayForEach(item, prop)
        if (fal_key(item->string))
            return 1;
    return 0;
}

/* Drops what the parameter check and the walk below could not read as
 * JSON Schema (a "properties" that is not an object of schemas, a
 * "required" that is not a list, "items" that is not a schema), so that a
 * malformed document is checked as far as it makes sense, never misread. */
static void tidy(cJSON *node, int depth)
{
    cJSON *props = cJSON_GetObjectItemCaseSensitive(node, "properties"), *p, *next;
    cJSON *items = cJSON_GetObjectItemCaseSensitive(node, "items");
    cJSON *req = cJSON_GetObjectItemCaseSensitive(node, "required");
    cJSON *any = cJSON_GetObjectItemCaseSensitive(node, "anyOf");

    if (!cJSON_IsObject(node) || depth > 64)
        return;
    if (props && !cJSON_IsObject(props))
        cJSON_DeleteItemFromObjectCaseSensitive(node, "properties");
    else
        for (p = props ? props->child : NULL; p; p = next) {
            next = p->next;
            if (!cJSON_IsObject(p))
                cJSON_Delete(cJSON_DetachItemViaPointer(props, p));
            else
                tidy(p, depth + 1);
        }
    if (req && !cJSON_IsArray(req))
        cJSON_DeleteItemFromObjectCaseSensitive(node, "required");
    if (items && !cJSON_IsObject(items))
        cJSON_DeleteItemFromObjectCaseSensitive(node, "items");
    else
        tidy(items, depth + 1);
    if (any && !cJSON_IsArray(any))
        cJSON_DeleteItemFromObjectCaseSensitive(node, "anyOf");
    else
        cJSON_ArrayForEach(p, any)
            tidy(p, depth + 1);
}

static void walk(struct walker *w, const cJSON *schema, const char *prefix, int depth)
{
    const cJSON *prop;

    if (depth > 8)
        return;
    cJSON_ArrayForEach(prop, get(schema, "properties")) {
        const cJSON *items = get(prop, "items");
        char path[512];

        if (w->rc)
            return;
        if (is_type(prop, "array") && cJSON_IsObject(items)) {
            snprintf(path, sizeof path, "%s%s[]", prefix, prop->string);
            if (get(items, "properties")) {
                strncat(path, ".", sizeof path - strlen(path) - 1);
                walk(w, items, path, depth + 1);
            } else if (takes_file(prop->string, prop, items)) {
                add_field(w, path, prop->string, prop, items);
            }
        } else if (get(prop, "properties")) {
            snprintf(path, sizeof path, "%s%s.", prefix, prop->string);
            walk(w, prop, path, depth + 1);
        } else if (takes_file(prop->string, prop, prop)) {
            snprintf(path, sizeof path, "%s%s", prefix, prop->string);
            add_field(w, path, prop->string, prop, NULL);
        }
    }
}

/* Every property name with an underscore, at any depth: a sentence that
 * names one ("depends on character_orientation") states a limit across
 * fields. */
static void collect_names(struct walker *w, const cJSON *schema, int depth)
{
    const cJSON *prop;

    if (depth > 8)
        return;
    cJSON_ArrayForEach(prop, get(schema, "properties")) {
        if (strchr(prop->string, '_') && w->name_count < 256) {
            const char **grown = realloc(w->names, (w->name_count + 1) * sizeof *grown);

            if (!grown) {
                w->rc = PF_ENOMEM;
                return;
            }
            w->names = grown;
            w->names[w->name_count++] = prop->string;
        }
        collect_names(w, get(prop, "items"), depth + 1);
        collect_names(w, prop, depth + 1);
    }
}

static pf_err dup_to(char **out, const char *s)
{
    free(*out);
    *out = NULL;
    if (!s)
        return PF_OK;
    return (*out = strdup(s)) ? PF_OK : PF_ENOMEM;
}

/* The input schema's own title ("ImageToVideoV26ProRequest"): fal's
 * info.title only says "Queue OpenAPI for <endpoint id>", which the id
 * beside it in a listing already says. */
static const char *title_of(const cJSON *doc, const cJSON *input)
{
    const char *info = get_string(get(doc, "info"), "title");
    const char *own = get_string(input, "title");

    if (own && (!info || strncmp(info, "Queue OpenAPI for ", 18) == 0))
        return own;
    return info ? info : own;
}

pf_err pf__dialect_fal(pf_ctx *ctx, pf_schema *s, const char *name)
{
    const cJSON *doc = s->doc, *schemas = get(get(doc, "components"), "schemas");
    const cJSON *meta = get(get(doc, "info"), "x-fal-metadata");
    const cJSON *input = NULL, *output = NULL;
    const char *endpoint = get_string(meta, "endpointId");
    struct resolver r = { ctx, s, doc, PF_OK, 0 };
    struct walker w = { ctx, s, NULL, 0, PF_OK };
    int many = 0;
    pf_err rc = PF_OK;

    s->dialect = "fal";
    if (endpoint) {
        if ((rc = dup_to(&s->endpoint, endpoint)))
            goto out;
    } else if (name && !(s->endpoint = endpoint_from_name(name))) {
        rc = PF_ENOMEM;
        goto out;
    }
    if (cJSON_IsObject(get(doc, "paths")))
        from_paths(get(doc, "paths"), s->endpoint, &input, &output);
    if (!input && cJSON_IsObject(schemas)) {
        input = unreferenced(schemas, "Input", &many);
        if (!input) {
            rc = pf__error(ctx, PF_ESCHEMA, "%s: a fal document with %s: cannot tell "
                           "the endpoint's input schema", s->origin,
                           many ? "several unreferenced *Input schemas"
                                : "no POST request body and no *Input schema");
            goto out;
        }
        if (!output)
            output = unreferenced(schemas, "Output", &many);
    }
    if (!input) {
        rc = pf__error(ctx, PF_ESCHEMA, "%s: a fal document without an input schema "
                       "(no POST request body, no components.schemas)", s->origin);
        goto out;
    }
    if (!(s->resolved = resolve(&r, input, 0)) ||
        (output && !(s->output = resolve(&r, output, 0)))) {
        rc = r.rc ? r.rc : PF_ENOMEM;
        goto out;
    }
    tidy(s->resolved, 0);
    tidy(s->output, 0);
    s->input = s->resolved;
    if (!cJSON_IsObject(get(s->input, "properties"))) {
        rc = pf__error(ctx, PF_ESCHEMA, "%s: the fal input schema has no \"properties\" "
                       "object", s->origin);
        goto out;
    }
    if ((rc = dup_to(&s->provider, "fal")) ||
        (rc = dup_to(&s->model, s->endpoint ? s->endpoint : s->origin)) ||
        (rc = dup_to(&s->title, title_of(doc, s->input))))
        goto out;
    collect_names(&w, s->input, 0);
    if (!w.rc)
        walk(&w, s->input, "", 0);
    rc = w.rc;
out:
    free(w.names);
    if (rc == PF_ENOMEM)
        rc = pf__error(ctx, PF_ENOMEM, "%s: out of memory", s->origin);
    return rc;
}
