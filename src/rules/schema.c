/*
 * Schema loading. Two shapes are accepted: a preflight rules file (the
 * model's input schema verbatim plus what the engine needs beside it:
 * provider, endpoint, which fields are media, documented extensions), and a
 * RunComfy input schema pasted straight from a model's docs page, whose
 * media fields are then inferred.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "rules_internal.h"

#define MAX_SCHEMA_BYTES (4 << 20)

static int dir_exists(const char *path)
{
    struct stat st;

    return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *pf__rules_dir(pf_ctx *ctx)
{
    const char *env = getenv("PREFLIGHT_RULES_DIR");

    if (ctx->rules_dir)
        return ctx->rules_dir;
    if (env && *env)
        return env;
    /* An installed copy wins; a build tree that was never installed still
     * works from the source tree's rules/. */
    if (dir_exists(PF_RULES_INSTALL_DIR))
        return PF_RULES_INSTALL_DIR;
    return PF_RULES_SOURCE_DIR;
}

void pf_schema_free(pf_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->media_count; i++)
        free(s->media[i].path);
    free(s->media);
    for (size_t i = 0; i < s->ratio_media_count; i++)
        free(s->ratio_media[i]);
    free(s->ratio_media);
    free(s->ratio_field);
    free(s->model);
    free(s->provider);
    free(s->title);
    free(s->origin);
    cJSON_Delete(s->doc);
    free(s);
}

const char *pf_schema_model(const pf_schema *s)
{
    return s->model;
}

const char *pf_schema_provider(const pf_schema *s)
{
    return s->provider;
}

static pf_media_kind kind_from_name(const char *name)
{
    if (!name)
        return PF_MEDIA_UNKNOWN;
    if (strcasecmp(name, "image") == 0)
        return PF_MEDIA_IMAGE;
    if (strcasecmp(name, "video") == 0)
        return PF_MEDIA_VIDEO;
    if (strcasecmp(name, "audio") == 0)
        return PF_MEDIA_AUDIO;
    return PF_MEDIA_UNKNOWN;
}

/* Metrics that only make sense for media: a property carrying one of these
 * in its validations is a media input even when nothing else says so. */
static int has_media_rule(const cJSON *validations)
{
    static const char *const prefixes[] = {
        "file_size", "width", "height", "duration", "fps", "frame",
        "megapixels", "aspect", "short_side", "long_side",
    };
    const cJSON *v;

    cJSON_ArrayForEach(v, validations) {
        const cJSON *rule = cJSON_GetObjectItemCaseSensitive(v, "validation_rule");

        if (!cJSON_IsString(rule))
            continue;
        for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
            if (strncmp(rule->valuestring, prefixes[i], strlen(prefixes[i])) == 0)
                return 1;
    }
    return 0;
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

/* Infers whether a verbatim schema's property is a media input, and of
 * which kind: from validations, from a "format" such as "image_uri", and
 * from names such as "video_url" or "promptImage". */
static int infer_media(const char *name, const cJSON *prop, pf_media_kind *kind)
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(prop, "items");
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(prop, "format");
    const char *fmt = NULL;
    int media = 0;

    if (!cJSON_IsString(format) && cJSON_IsObject(items))
        format = cJSON_GetObjectItemCaseSensitive(items, "format");
    if (cJSON_IsString(format))
        fmt = format->valuestring;
    if (has_media_rule(cJSON_GetObjectItemCaseSensitive(prop, "validations")))
        media = 1;
    if (fmt && (strcmp(fmt, "uri") == 0 || ends_with(fmt, "_uri") ||
                ends_with(fmt, "_url")))
        media = 1;
    if (ends_with(name, "_url") || ends_with(name, "_urls") ||
        ends_with(name, "uri") || ends_with(name, "uris") ||
        ends_with(name, "image") || ends_with(name, "video"))
        media = 1;
    /* A "uri" output link such as a webhook is not media; only call it
     * media when the name or format says image/video/audio or a rule does. */
    *kind = PF_MEDIA_UNKNOWN;
    if ((fmt && contains_ci(fmt, "image")) || contains_ci(name, "image"))
        *kind = PF_MEDIA_IMAGE;
    else if ((fmt && contains_ci(fmt, "video")) || contains_ci(name, "video"))
        *kind = PF_MEDIA_VIDEO;
    else if ((fmt && contains_ci(fmt, "audio")) || contains_ci(name, "audio"))
        *kind = PF_MEDIA_AUDIO;
    if (media && *kind == PF_MEDIA_UNKNOWN &&
        !has_media_rule(cJSON_GetObjectItemCaseSensitive(prop, "validations")) &&
        !(fmt && strcmp(fmt, "uri") != 0))
        media = ends_with(name, "_url") || ends_with(name, "_urls");
    return media;
}

static pf_err add_media(pf_schema *s, const char *path, pf_media_kind kind,
                        const cJSON *validations, const cJSON *extensions)
{
    struct pf__media_field *grown;

    grown = realloc(s->media, (s->media_count + 1) * sizeof *grown);
    if (!grown)
        return PF_ENOMEM;
    s->media = grown;
    grown = &s->media[s->media_count];
    if (!(grown->path = strdup(path)))
        return PF_ENOMEM;
    grown->kind = kind;
    grown->validations = validations;
    grown->extensions = extensions;
    s->media_count++;
    return PF_OK;
}

/* Finds the property schema a media path points at: "references[].uri" →
 * properties.references.items.properties.uri. *validations gets the
 * nearest validations on the way, since the docs put them on an array
 * property and mean each of its elements (dreamina's image_urls). */
static const cJSON *property_at(const cJSON *input, const char *path,
                                const cJSON **validations)
{
    const cJSON *node = input;
    char buf[256];
    char *save = NULL, *part;

    *validations = NULL;
    pf__strlcpy(buf, path, sizeof buf);
    for (part = strtok_r(buf, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
        size_t n = strlen(part);
        int each = n > 2 && strcmp(part + n - 2, "[]") == 0;

        if (each)
            part[n - 2] = '\0';
        node = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(node, "properties"), part);
        if (!node)
            return NULL;
        if (cJSON_GetObjectItemCaseSensitive(node, "validations"))
            *validations = cJSON_GetObjectItemCaseSensitive(node, "validations");
        if (each && !(node = cJSON_GetObjectItemCaseSensitive(node, "items")))
            return NULL;
        if (cJSON_GetObjectItemCaseSensitive(node, "validations"))
            *validations = cJSON_GetObjectItemCaseSensitive(node, "validations");
    }
    return node;
}

static pf_err validate_validations(pf_ctx *ctx, const pf_schema *s,
                                   const char *field, const cJSON *list)
{
    const cJSON *v;

    if (!list)
        return PF_OK;
    if (!cJSON_IsArray(list))
        return pf__error(ctx, PF_ESCHEMA, "%s: '%s': validations must be an array",
                         s->origin, field);
    cJSON_ArrayForEach(v, list) {
        const cJSON *rule = cJSON_GetObjectItemCaseSensitive(v, "validation_rule");

        if (!cJSON_IsObject(v) || !cJSON_IsString(rule))
            return pf__error(ctx, PF_ESCHEMA,
                             "%s: '%s': each validation needs a validation_rule string",
                             s->origin, field);
        if (!cJSON_GetObjectItemCaseSensitive(v, "validation_value"))
            return pf__error(ctx, PF_ESCHEMA,
                             "%s: '%s': rule '%s' has no validation_value",
                             s->origin, field, rule->valuestring);
    }
    return PF_OK;
}

static pf_err dup_string(const cJSON *item, const char *fallback, char **out)
{
    const char *s = cJSON_IsString(item) ? item->valuestring : fallback;

    *out = NULL;
    if (!s)
        return PF_OK;
    return (*out = strdup(s)) ? PF_OK : PF_ENOMEM;
}

/* Fills the engine's view of a parsed document. */
static pf_err build(pf_ctx *ctx, pf_schema *s, const char *model_id)
{
    const cJSON *doc = s->doc, *props, *prop, *media, *ext, *ratio_media;
    const cJSON *required;
    pf_err rc;

    if (!cJSON_IsObject(doc))
        return pf__error(ctx, PF_ESCHEMA, "%s: a schema must be a JSON object",
                         s->origin);
    s->input = cJSON_GetObjectItemCaseSensitive(doc, "input_schema");
    if (!s->input)
        s->input = doc;                 /* a verbatim docs-page schema */
    props = cJSON_GetObjectItemCaseSensitive(s->input, "properties");
    if (!cJSON_IsObject(props))
        return pf__error(ctx, PF_ESCHEMA,
                         "%s: no \"properties\" object: not an input schema",
                         s->origin);
    required = cJSON_GetObjectItemCaseSensitive(s->input, "required");
    if (required && !cJSON_IsArray(required))
        return pf__error(ctx, PF_ESCHEMA, "%s: \"required\" must be an array",
                         s->origin);
    cJSON_ArrayForEach(prop, required)
        if (!cJSON_IsString(prop))
            return pf__error(ctx, PF_ESCHEMA,
                             "%s: \"required\" must list property names",
                             s->origin);
    cJSON_ArrayForEach(prop, props) {
        if (!cJSON_IsObject(prop))
            return pf__error(ctx, PF_ESCHEMA, "%s: property '%s' is not an object",
                             s->origin, prop->string);
        if ((rc = validate_validations(ctx, s, prop->string,
                 cJSON_GetObjectItemCaseSensitive(prop, "validations"))))
            return rc;
    }

    if ((rc = dup_string(cJSON_GetObjectItemCaseSensitive(doc, "model"), model_id,
                         &s->model)) ||
        (rc = dup_string(cJSON_GetObjectItemCaseSensitive(doc, "provider"),
                         "runcomfy", &s->provider)) ||
        (rc = dup_string(cJSON_GetObjectItemCaseSensitive(doc, "title"),
                         cJSON_IsString(cJSON_GetObjectItemCaseSensitive(s->input, "title"))
                             ? cJSON_GetObjectItemCaseSensitive(s->input, "title")->valuestring
                             : NULL, &s->title)))
        goto nomem;
    if (!s->model && !(s->model = strdup(s->origin)))
        goto nomem;

    ext = cJSON_GetObjectItemCaseSensitive(doc, "extensions");
    if (ext && !cJSON_IsObject(ext))
        return pf__error(ctx, PF_ESCHEMA, "%s: \"extensions\" must be an object",
                         s->origin);
    cJSON_ArrayForEach(prop, ext)
        if ((rc = validate_validations(ctx, s, prop->string, prop)))
            return rc;

    media = cJSON_GetObjectItemCaseSensitive(doc, "media");
    if (media) {
        const cJSON *m;

        if (!cJSON_IsObject(media))
            return pf__error(ctx, PF_ESCHEMA, "%s: \"media\" must be an object",
                             s->origin);
        cJSON_ArrayForEach(m, media) {
            const cJSON *validations;
            const cJSON *target = property_at(s->input, m->string, &validations);

            if (!cJSON_IsString(m) || !target)
                return pf__error(ctx, PF_ESCHEMA,
                                 "%s: media '%s' must name a property and a kind",
                                 s->origin, m->string);
            /* Validations met on a nested media path were not seen by the
             * top-level pass above (a fuzzer-found crash). */
            if ((rc = validate_validations(ctx, s, m->string, validations)))
                return rc;
            if (add_media(s, m->string, kind_from_name(m->valuestring),
                          validations,
                          cJSON_GetObjectItemCaseSensitive(ext, m->string)))
                goto nomem;
        }
    } else {
        cJSON_ArrayForEach(prop, props) {
            pf_media_kind kind;
            const char *name = prop->string;
            char path[256];
            int is_array = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(prop, "type")) &&
                strcmp(cJSON_GetObjectItemCaseSensitive(prop, "type")->valuestring,
                       "array") == 0;

            if (!infer_media(name, prop, &kind))
                continue;
            snprintf(path, sizeof path, "%s%s", name, is_array ? "[]" : "");
            if (add_media(s, path, kind,
                          cJSON_GetObjectItemCaseSensitive(prop, "validations"),
                          cJSON_GetObjectItemCaseSensitive(ext, name)))
                goto nomem;
        }
    }

    /* The output "ratio" frames the main media input: a portrait clip with
     * a landscape ratio will be cropped or letterboxed. */
    if ((rc = dup_string(cJSON_GetObjectItemCaseSensitive(doc, "ratio_field"), NULL,
                         &s->ratio_field)))
        goto nomem;
    if (!s->ratio_field && !cJSON_GetObjectItemCaseSensitive(doc, "input_schema")) {
        static const char *const names[] = { "ratio", "aspect_ratio" };

        for (size_t i = 0; i < 2 && !s->ratio_field; i++)
            if (cJSON_GetObjectItemCaseSensitive(props, names[i]) &&
                !(s->ratio_field = strdup(names[i])))
                goto nomem;
    }
    ratio_media = cJSON_GetObjectItemCaseSensitive(doc, "ratio_media");
    if (ratio_media) {
        const cJSON *m;

        if (!cJSON_IsArray(ratio_media))
            return pf__error(ctx, PF_ESCHEMA, "%s: \"ratio_media\" must be an array",
                             s->origin);
        s->ratio_media = calloc((size_t)cJSON_GetArraySize(ratio_media) + 1,
                                sizeof *s->ratio_media);
        if (!s->ratio_media)
            goto nomem;
        cJSON_ArrayForEach(m, ratio_media) {
            if (!cJSON_IsString(m))
                return pf__error(ctx, PF_ESCHEMA, "%s: \"ratio_media\" lists paths",
                                 s->origin);
            if (!(s->ratio_media[s->ratio_media_count++] = strdup(m->valuestring)))
                goto nomem;
        }
    } else if (s->ratio_field) {
        /* Inferred: every image or video input. */
        s->ratio_media = calloc(s->media_count + 1, sizeof *s->ratio_media);
        if (!s->ratio_media)
            goto nomem;
        for (size_t i = 0; i < s->media_count; i++)
            if (!(s->ratio_media[s->ratio_media_count++] = strdup(s->media[i].path)))
                goto nomem;
    }
    return PF_OK;
nomem:
    return pf__error(ctx, PF_ENOMEM, "%s: out of memory", s->origin);
}

pf_err pf_schema_load_text(pf_ctx *ctx, const char *text, size_t len,
                           const char *name, pf_schema **out)
{
    pf_schema *s = NULL;
    const char *end = NULL;
    pf_err rc;

    *out = NULL;
    if (!(s = calloc(1, sizeof *s)) || !(s->origin = strdup(name ? name : "schema")))
        goto nomem;
    /* A schema pasted from a docs page is often followed by the output
     * schema ("}{"): read the first JSON value and ignore what follows. */
    s->doc = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!s->doc) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= text && at <= text + len ? (long)(at - text) : -1;
        rc = pf__error(ctx, PF_EJSON, "%s: malformed JSON near byte %ld", s->origin, off);
        goto fail;
    }
    if ((rc = build(ctx, s, name)))
        goto fail;
    *out = s;
    return PF_OK;
nomem:
    rc = pf__error(ctx, PF_ENOMEM, "%s: out of memory", name ? name : "schema");
fail:
    pf_schema_free(s);
    return rc;
}

pf_err pf_schema_load_file(pf_ctx *ctx, const char *path, const char *model_id,
                           pf_schema **out)
{
    char *text = NULL;
    size_t len = 0;
    pf_err rc;

    *out = NULL;
    if ((rc = pf__read_text_file(ctx, path, MAX_SCHEMA_BYTES, &text, &len)))
        return rc;
    rc = pf_schema_load_text(ctx, text, len, path, out);
    if (!rc && model_id) {
        char *copy = strdup(model_id);

        if (!copy) {
            pf_schema_free(*out);
            *out = NULL;
            rc = pf__error(ctx, PF_ENOMEM, "out of memory");
        } else {
            free((*out)->model);
            (*out)->model = copy;
        }
    }
    free(text);
    return rc;
}
