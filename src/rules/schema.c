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

/* ---- the bundled models ---- */

struct model_list {
    char **ids;
    char **providers;
    char **titles;
    size_t count;
};

static void model_list_free(struct model_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        free(l->ids[i]);
        free(l->providers[i]);
        free(l->titles[i]);
    }
    free(l->ids);
    free(l->providers);
    free(l->titles);
}

static int valid_model_path(const char *p)
{
    if (!*p || *p == '/' || strstr(p, ".."))
        return 0;
    for (; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || strchr("._/-", *p)))
            return 0;
    return 1;
}

/* Walks dir/provider recursively collecting "<provider>:<path>" ids. */
static pf_err scan_dir(pf_ctx *ctx, struct model_list *l, const char *root,
                       const char *provider, const char *rel)
{
    char path[4096];
    DIR *d;
    struct dirent *e;
    pf_err rc = PF_OK;

    snprintf(path, sizeof path, "%s/%s%s%s", root, provider, *rel ? "/" : "", rel);
    if (!(d = opendir(path)))
        return PF_OK;
    while ((e = readdir(d))) {
        char sub[2048], file[4096], id[2048];
        struct stat st;
        size_t n = strlen(e->d_name);

        if (e->d_name[0] == '.')
            continue;
        if (snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "",
                     e->d_name) >= (int)sizeof sub ||
            snprintf(file, sizeof file, "%s/%s", path, e->d_name) >= (int)sizeof file ||
            stat(file, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if ((rc = scan_dir(ctx, l, root, provider, sub)))
                break;
            continue;
        }
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        sub[strlen(sub) - 5] = '\0';
        if (snprintf(id, sizeof id, "%s%s%s",
                     strcmp(provider, "runcomfy") == 0 ? "" : provider,
                     strcmp(provider, "runcomfy") == 0 ? "" : ":", sub) >= (int)sizeof id)
            continue;
        {
            char **ids = realloc(l->ids, (l->count + 1) * sizeof *ids);
            char **prov, **titles;
            pf_schema *s = NULL;

            if (ids)
                l->ids = ids;
            prov = realloc(l->providers, (l->count + 1) * sizeof *prov);
            if (prov)
                l->providers = prov;
            titles = realloc(l->titles, (l->count + 1) * sizeof *titles);
            if (titles)
                l->titles = titles;
            if (!ids || !prov || !titles) {
                rc = pf__error(ctx, PF_ENOMEM, "out of memory");
                break;
            }
            if ((rc = pf_schema_load_file(ctx, file, id, &s)))
                break;
            l->ids[l->count] = strdup(id);
            l->providers[l->count] = strdup(provider);
            l->titles[l->count] = strdup(s->title ? s->title : "");
            l->count++;
            pf_schema_free(s);
            if (!l->ids[l->count - 1] || !l->providers[l->count - 1] ||
                !l->titles[l->count - 1]) {
                rc = pf__error(ctx, PF_ENOMEM, "out of memory");
                break;
            }
        }
    }
    closedir(d);
    return rc;
}

static pf_err list_models(pf_ctx *ctx, struct model_list *l)
{
    const char *root = pf__rules_dir(ctx);
    DIR *d;
    struct dirent *e;
    pf_err rc = PF_OK;

    memset(l, 0, sizeof *l);
    if (!(d = opendir(root)))
        return pf__error(ctx, PF_ENOENT, "%s: cannot read the rules directory: %s",
                         root, strerror(errno));
    while ((e = readdir(d)) && !rc)
        if (e->d_name[0] != '.')
            rc = scan_dir(ctx, l, root, e->d_name, "");
    closedir(d);
    /* Sorted by id (insertion sort: a handful to hundreds of models). */
    for (size_t i = 1; i < l->count; i++)
        for (size_t j = i; j > 0 && strcmp(l->ids[j - 1], l->ids[j]) > 0; j--) {
            char *t = l->ids[j]; l->ids[j] = l->ids[j - 1]; l->ids[j - 1] = t;
            t = l->providers[j]; l->providers[j] = l->providers[j - 1]; l->providers[j - 1] = t;
            t = l->titles[j]; l->titles[j] = l->titles[j - 1]; l->titles[j - 1] = t;
        }
    return rc;
}

pf_err pf_models_foreach(pf_ctx *ctx, pf_model_fn fn, void *userdata)
{
    struct model_list l;
    pf_err rc = list_models(ctx, &l);

    if (!rc)
        for (size_t i = 0; i < l.count; i++)
            fn(userdata, l.ids[i], l.providers[i], l.titles[i]);
    model_list_free(&l);
    return rc;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), prev[256], cur[256];

    if (lb >= 255)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof *prev);
    }
    return prev[lb];
}

pf_err pf_schema_load_model(pf_ctx *ctx, const char *model_id, pf_schema **out)
{
    const char *colon = strchr(model_id, ':');
    char provider[64] = "runcomfy", path[4096];
    const char *model_path = model_id;
    struct stat st;
    struct model_list l;
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    pf_err rc;

    *out = NULL;
    if (colon) {
        if ((size_t)(colon - model_id) >= sizeof provider || colon == model_id)
            return pf__error(ctx, PF_ENOMODEL, "unknown model '%s'", model_id);
        memcpy(provider, model_id, (size_t)(colon - model_id));
        provider[colon - model_id] = '\0';
        model_path = colon + 1;
    }
    if (!valid_model_path(provider) || !valid_model_path(model_path))
        return pf__error(ctx, PF_ENOMODEL, "unknown model '%s'", model_id);
    snprintf(path, sizeof path, "%s/%s/%s.json", pf__rules_dir(ctx), provider,
             model_path);
    if (stat(path, &st) == 0)
        return pf_schema_load_file(ctx, path, model_id, out);

    /* Not bundled: suggest the nearest id, then point at --schema. */
    if (list_models(ctx, &l) == PF_OK) {
        for (size_t i = 0; i < l.count; i++) {
            size_t d = edit_distance(model_id, l.ids[i]);

            if (d < best_d) {
                best_d = d;
                best = l.ids[i];
            }
        }
    }
    if (best && best_d <= strlen(model_id) / 3)
        rc = pf__error(ctx, PF_ENOMODEL,
                       "unknown model '%s': not a bundled model (did you mean '%s'?)",
                       model_id, best);
    else
        rc = pf__error(ctx, PF_ENOMODEL,
                       "unknown model '%s': not a bundled model", model_id);
    model_list_free(&l);
    return rc;
}
