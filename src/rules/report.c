/*
 * The report of a check: violations, warnings, input errors, defaults and
 * probed inputs, with accessors for the public API and one JSON rendering
 * shared by every caller (the CLI's --json, pipelines, tests).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_internal.h"

struct input {
    char *field;
    char *value;
    pf_media_info info;
};

struct pf_report {
    char *model;
    pf_violation *violations;
    size_t violation_count;
    pf_warning *warnings;
    size_t warning_count;
    pf_input_error *errors;
    size_t error_count;
    struct input *inputs;
    size_t input_count;
    cJSON *defaults;
    char *defaults_text;
    cJSON *request;
};

/* Grows an array by one element; NULL when out of memory. */
static void *grow(void *array, size_t *count, size_t size)
{
    char *p = realloc(array, (*count + 1) * size);

    if (!p)
        return NULL;
    memset(p + *count * size, 0, size);
    return p;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static char *json_text(const cJSON *v)
{
    return v ? cJSON_PrintUnformatted(v) : NULL;
}

pf_report *pf__report_new(const char *model)
{
    pf_report *r = calloc(1, sizeof *r);

    if (!r)
        return NULL;
    if (!(r->model = strdup(model ? model : "")) ||
        !(r->defaults = cJSON_CreateObject())) {
        pf_report_free(r);
        return NULL;
    }
    return r;
}

void pf_report_free(pf_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->violation_count; i++) {
        free((char *)r->violations[i].field);
        free((char *)r->violations[i].rule);
        free((char *)r->violations[i].limit);
        free((char *)r->violations[i].actual);
        free((char *)r->violations[i].message);
    }
    for (size_t i = 0; i < r->warning_count; i++) {
        free((char *)r->warnings[i].field);
        free((char *)r->warnings[i].message);
    }
    for (size_t i = 0; i < r->error_count; i++) {
        free((char *)r->errors[i].field);
        free((char *)r->errors[i].message);
    }
    for (size_t i = 0; i < r->input_count; i++) {
        free(r->inputs[i].field);
        free(r->inputs[i].value);
    }
    free(r->violations);
    free(r->warnings);
    free(r->errors);
    free(r->inputs);
    cJSON_Delete(r->defaults);
    cJSON_Delete(r->request);
    free(r->defaults_text);
    free(r->model);
    free(r);
}

pf_err pf__report_violation(pf_report *r, const char *field, const char *rule,
                            const cJSON *limit, const cJSON *actual,
                            const char *message)
{
    pf_violation *v = grow(r->violations, &r->violation_count, sizeof *v);

    if (!v)
        return PF_ENOMEM;
    r->violations = v;
    v = &v[r->violation_count];
    v->field = dup_or_null(field);
    v->rule = dup_or_null(rule);
    v->limit = json_text(limit);
    v->actual = json_text(actual);
    v->message = dup_or_null(message);
    r->violation_count++;
    if (!v->field || !v->rule || !v->message || (limit && !v->limit) ||
        (actual && !v->actual))
        return PF_ENOMEM;
    return PF_OK;
}

pf_err pf__report_warning(pf_report *r, const char *field, const char *fmt, ...)
{
    pf_warning *w = grow(r->warnings, &r->warning_count, sizeof *w);
    char buf[1024];
    va_list ap;

    if (!w)
        return PF_ENOMEM;
    r->warnings = w;
    w = &w[r->warning_count];
    void *locale = pf__c_locale_begin();    /* "1.33", never "1,33" */
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    pf__c_locale_end(locale);
    w->field = dup_or_null(field);
    w->message = strdup(buf);
    r->warning_count++;
    return w->field && w->message ? PF_OK : PF_ENOMEM;
}

pf_err pf__report_error(pf_report *r, const char *field, pf_err code,
                        const char *message)
{
    pf_input_error *e = grow(r->errors, &r->error_count, sizeof *e);

    if (!e)
        return PF_ENOMEM;
    r->errors = e;
    e = &e[r->error_count];
    e->field = dup_or_null(field);
    e->code = code;
    e->message = dup_or_null(message);
    r->error_count++;
    return e->field && e->message ? PF_OK : PF_ENOMEM;
}

pf_err pf__report_input(pf_report *r, const char *field, const char *value,
                        const pf_media_info *info)
{
    struct input *in = grow(r->inputs, &r->input_count, sizeof *in);

    if (!in)
        return PF_ENOMEM;
    r->inputs = in;
    in = &in[r->input_count];
    in->field = strdup(field);
    in->value = strdup(value);
    in->info = *info;
    r->input_count++;
    return in->field && in->value ? PF_OK : PF_ENOMEM;
}

pf_err pf__report_default(pf_report *r, const char *field, const cJSON *value)
{
    cJSON *copy = cJSON_Duplicate(value, 1);

    if (!copy)
        return PF_ENOMEM;
    cJSON_AddItemToObject(r->defaults, field, copy);
    return PF_OK;
}

void pf__report_set_request(pf_report *r, cJSON *request)
{
    cJSON_Delete(r->request);
    r->request = request;
}

const cJSON *pf__report_request(const pf_report *r)
{
    return r->request;
}

int pf_report_ok(const pf_report *r)
{
    return r->violation_count == 0 && r->error_count == 0;
}

int pf_report_exit_code(const pf_report *r)
{
    if (r->error_count)
        return 2;
    return r->violation_count ? 1 : 0;
}

size_t pf_report_violation_count(const pf_report *r) { return r->violation_count; }
size_t pf_report_warning_count(const pf_report *r) { return r->warning_count; }
size_t pf_report_error_count(const pf_report *r) { return r->error_count; }
size_t pf_report_input_count(const pf_report *r) { return r->input_count; }

const pf_violation *pf_report_violation(const pf_report *r, size_t i)
{
    return i < r->violation_count ? &r->violations[i] : NULL;
}

const pf_warning *pf_report_warning(const pf_report *r, size_t i)
{
    return i < r->warning_count ? &r->warnings[i] : NULL;
}

const pf_input_error *pf_report_error(const pf_report *r, size_t i)
{
    return i < r->error_count ? &r->errors[i] : NULL;
}

const pf_media_info *pf_report_input(const pf_report *r, size_t i,
                                     const char **field, const char **value)
{
    if (i >= r->input_count)
        return NULL;
    if (field)
        *field = r->inputs[i].field;
    if (value)
        *value = r->inputs[i].value;
    return &r->inputs[i].info;
}

const char *pf_report_defaults_json(const pf_report *r)
{
    pf_report *mut = (pf_report *)r;   /* a cache, not a change of state */

    if (!mut->defaults_text)
        mut->defaults_text = cJSON_PrintUnformatted(r->defaults);
    return mut->defaults_text ? mut->defaults_text : "{}";
}

/* Adds the raw JSON text of a limit or measured value, or null. */
static cJSON *raw_or_null(const char *text)
{
    cJSON *v = text ? cJSON_Parse(text) : NULL;

    return v ? v : cJSON_CreateNull();
}

char *pf_report_to_json(const pf_report *r)
{
    cJSON *root = cJSON_CreateObject(), *list, *o;
    char *text = NULL;

    if (!root)
        return NULL;
    cJSON_AddBoolToObject(root, "ok", pf_report_ok(r));
    cJSON_AddStringToObject(root, "model", r->model);
    list = cJSON_AddArrayToObject(root, "violations");
    for (size_t i = 0; list && i < r->violation_count; i++) {
        const pf_violation *v = &r->violations[i];

        if (!(o = cJSON_CreateObject()))
            goto out;
        cJSON_AddItemToArray(list, o);
        cJSON_AddStringToObject(o, "field", v->field);
        cJSON_AddStringToObject(o, "rule", v->rule);
        cJSON_AddItemToObject(o, "limit", raw_or_null(v->limit));
        cJSON_AddItemToObject(o, "actual", raw_or_null(v->actual));
        cJSON_AddStringToObject(o, "message", v->message);
    }
    list = cJSON_AddArrayToObject(root, "warnings");
    for (size_t i = 0; list && i < r->warning_count; i++) {
        if (!(o = cJSON_CreateObject()))
            goto out;
        cJSON_AddItemToArray(list, o);
        cJSON_AddStringToObject(o, "field", r->warnings[i].field);
        cJSON_AddStringToObject(o, "message", r->warnings[i].message);
    }
    list = cJSON_AddArrayToObject(root, "errors");
    for (size_t i = 0; list && i < r->error_count; i++) {
        if (!(o = cJSON_CreateObject()))
            goto out;
        cJSON_AddItemToArray(list, o);
        cJSON_AddStringToObject(o, "field", r->errors[i].field);
        cJSON_AddStringToObject(o, "code", pf_err_name(r->errors[i].code));
        cJSON_AddStringToObject(o, "message", r->errors[i].message);
    }
    cJSON_AddItemToObject(root, "defaults", cJSON_Duplicate(r->defaults, 1));
    o = cJSON_AddObjectToObject(root, "inputs");
    for (size_t i = 0; o && i < r->input_count; i++) {
        char *facts = pf__media_info_to_json(&r->inputs[i].info);
        cJSON *f = facts ? cJSON_Parse(facts) : NULL;

        pf_free(facts);
        if (!f)
            goto out;
        cJSON_AddStringToObject(f, "value", r->inputs[i].value);
        cJSON_AddItemToObject(o, r->inputs[i].field, f);
    }
    if (r->request)
        cJSON_AddItemToObject(root, "request", cJSON_Duplicate(r->request, 1));
    text = cJSON_PrintUnformatted(root);
out:
    cJSON_Delete(root);
    return text;
}
