/*
 * Schema loading: the document is read, its dialect told from its content
 * and compiled by that dialect's loader into the one typed model
 * (rules_internal.h): a preflight rules file or a RunComfy input schema
 * pasted from a docs page (dialect_runcomfy.c), or a fal OpenAPI document
 * (dialect_fal.c). The bundled models live here too.
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

const char *pf__rules_dir(pf_ctx *ctx)
{
    const char *env = pf__env_knob("PREFLIGHT_RULES_DIR");

    if (ctx->rules_dir)
        return ctx->rules_dir;
    if (env && *env)
        return env;
    /* Beside the library (a build tree mirrors the installed layout). */
    return pf__installed_rules_dir();
}

void pf_schema_free(pf_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->media_count; i++) {
        struct pf__media_field *m = &s->media[i];

        free(m->path);
        for (size_t j = 0; j < m->rule_count; j++)
            pf__media_rule_free(&m->rules[j]);
        free(m->rules);
        for (size_t j = 0; j < m->prose_count; j++)
            free(m->prose[j]);
        free(m->prose);
    }
    free(s->media);
    for (size_t i = 0; i < s->unchecked_count; i++) {
        free(s->unchecked[i].field);
        free(s->unchecked[i].key);
    }
    free(s->unchecked);
    free(s->endpoint);
    cJSON_Delete(s->resolved);
    cJSON_Delete(s->output);
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

pf_err pf__schema_add_media(pf_schema *s, const char *path, pf_media_kind kind,
                            struct pf__media_field **out)
{
    struct pf__media_field *grown;

    *out = NULL;
    grown = realloc(s->media, (s->media_count + 1) * sizeof *grown);
    if (!grown)
        return PF_ENOMEM;
    s->media = grown;
    grown = &s->media[s->media_count];
    memset(grown, 0, sizeof *grown);
    if (!(grown->path = strdup(path)))
        return PF_ENOMEM;
    grown->kind = kind;
    s->media_count++;
    *out = grown;
    return PF_OK;
}

pf_err pf__media_add_rule(struct pf__media_field *m, struct pf__media_rule *rule)
{
    struct pf__media_rule *grown = realloc(m->rules, (m->rule_count + 1) * sizeof *grown);

    if (!grown) {
        pf__media_rule_free(rule);
        return PF_ENOMEM;
    }
    m->rules = grown;
    m->rules[m->rule_count++] = *rule;
    memset(rule, 0, sizeof *rule);
    return PF_OK;
}

pf_err pf__media_add_prose(struct pf__media_field *m, const char *sentence)
{
    char **grown = realloc(m->prose, (m->prose_count + 1) * sizeof *grown);

    if (!grown)
        return PF_ENOMEM;
    m->prose = grown;
    if (!(m->prose[m->prose_count] = strdup(sentence)))
        return PF_ENOMEM;
    m->prose_count++;
    return PF_OK;
}

pf_err pf__schema_add_unchecked(pf_schema *s, const char *field, const char *key)
{
    struct pf__unchecked_rule *grown =
        realloc(s->unchecked, (s->unchecked_count + 1) * sizeof *grown);

    if (!grown)
        return PF_ENOMEM;
    s->unchecked = grown;
    grown = &s->unchecked[s->unchecked_count];
    grown->field = strdup(field);
    grown->key = strdup(key);
    s->unchecked_count++;
    return grown->field && grown->key ? PF_OK : PF_ENOMEM;
}

const char *pf__schema_endpoint(const pf_schema *s)
{
    return s->endpoint;
}

const cJSON *pf__schema_output(const pf_schema *s)
{
    return s->output;
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
    /* The dialect is told by the content, never by the file name: the
     * same document works pasted, imported or bundled. */
    if (pf__dialect_fal_detect(s->doc))
        rc = pf__dialect_fal(ctx, s, name);
    else
        rc = pf__dialect_runcomfy(ctx, s, name);
    if (rc)
        goto fail;
    *out = s;
    return PF_OK;
nomem:
    rc = pf__error(ctx, PF_ENOMEM, "%s: out of memory", name ? name : "schema");
fail:
    pf_schema_free(s);
    return rc;
}

/* A fal document that does not name its endpoint (a catalogue bundle) is
 * named by the caller: "fal:fal-ai/reve/edit" or "fal-ai/reve/edit". */
static pf_err name_endpoint(pf_ctx *ctx, pf_schema *s, const char *model_id)
{
    const char *colon = strchr(model_id, ':');
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(s->doc, "info"), "x-fal-metadata");

    if (!s->dialect || strcmp(s->dialect, "fal") != 0 ||
        cJSON_IsString(cJSON_GetObjectItemCaseSensitive(meta, "endpointId")))
        return PF_OK;
    free(s->endpoint);
    if (!(s->endpoint = strdup(colon ? colon + 1 : model_id)))
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    return PF_OK;
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
            if ((rc = name_endpoint(ctx, *out, model_id))) {
                pf_schema_free(*out);
                *out = NULL;
            }
        }
    }
    free(text);
    return rc;
}
