/*
 * The check: every parameter keyword of the input schema, every media input
 * probed and every compiled rule of its field evaluated, with cross-field
 * advice. Violations quote the schema's own words (RunComfy's
 * validation_error, fal's limit sentence).
 */
#include <arpa/inet.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules_internal.h"

struct checker {
    pf_ctx *ctx;
    const pf_schema *schema;
    pf_report *report;
    cJSON *request;             /* normalised copy of the request */
    pf_err rc;                  /* first allocation failure */
    size_t seen;                /* values of the current media field */
    char first_path[512];       /* the first of them */
};

/* Remembers the first out-of-memory so the walk can stay simple. */
static void keep(struct checker *c, pf_err rc)
{
    if (rc && !c->rc)
        c->rc = rc;
}

static const char *json_type_name(const cJSON *v)
{
    if (cJSON_IsString(v)) return "string";
    if (cJSON_IsBool(v)) return "boolean";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsArray(v)) return "array";
    if (cJSON_IsObject(v)) return "object";
    if (cJSON_IsNumber(v))
        return v->valuedouble == floor(v->valuedouble) &&
               fabs(v->valuedouble) <= 9007199254740992.0 ? "integer" : "number";
    return "invalid";
}

static int type_matches(const char *want, const cJSON *v)
{
    const char *have = json_type_name(v);

    if (strcmp(want, have) == 0)
        return 1;
    return strcmp(want, "number") == 0 && strcmp(have, "integer") == 0;
}

static void violation(struct checker *c, const char *path, const char *rule,
                      const cJSON *limit, const cJSON *actual, const char *msg)
{
    keep(c, pf__report_violation(c->report, path, rule, limit, actual, msg));
}

/* "expected integer, got string" — with a hint when the string would have
 * been a fine number, since FIELD=121 and FIELD:=121 differ on the CLI. */
static void check_type(struct checker *c, const char *path, const cJSON *value,
                       const cJSON *type, int *ok)
{
    const cJSON *t;
    char msg[512], want[128] = "";
    cJSON *actual;

    *ok = 1;
    if (cJSON_IsString(type)) {
        *ok = type_matches(type->valuestring, value);
        pf__strlcpy(want, type->valuestring, sizeof want);
    } else if (cJSON_IsArray(type)) {
        *ok = 0;
        cJSON_ArrayForEach(t, type) {
            if (!cJSON_IsString(t))
                continue;
            *ok |= type_matches(t->valuestring, value);
            if (*want)
                strncat(want, " or ", sizeof want - strlen(want) - 1);
            strncat(want, t->valuestring, sizeof want - strlen(want) - 1);
        }
    }
    if (*ok)
        return;
    snprintf(msg, sizeof msg, "expected %s, got %s", want, json_type_name(value));
    if (cJSON_IsString(value) && *value->valuestring &&
        (strstr(want, "integer") || strstr(want, "number") || strstr(want, "boolean"))) {
        cJSON *parsed = cJSON_Parse(value->valuestring);

        if (parsed && !cJSON_IsString(parsed))
            snprintf(msg + strlen(msg), sizeof msg - strlen(msg),
                     " (on the command line, %s:=%s passes a JSON value)",
                     path, value->valuestring);
        cJSON_Delete(parsed);
    }
    actual = cJSON_CreateString(json_type_name(value));
    violation(c, path, "type", type, actual, msg);
    cJSON_Delete(actual);
}

static int json_equal(const cJSON *a, const cJSON *b)
{
    return cJSON_Compare(a, b, 1);
}

static void check_enum(struct checker *c, const char *path, const cJSON *value,
                       const cJSON *list)
{
    const cJSON *e;
    char msg[1024] = "must be one of: ";

    cJSON_ArrayForEach(e, list)
        if (json_equal(e, value))
            return;
    cJSON_ArrayForEach(e, list) {
        char *text = cJSON_PrintUnformatted(e);

        if (!text) {
            keep(c, PF_ENOMEM);
            return;
        }
        if (e != list->child)
            strncat(msg, ", ", sizeof msg - strlen(msg) - 1);
        strncat(msg, cJSON_IsString(e) ? e->valuestring : text,
                sizeof msg - strlen(msg) - 1);
        free(text);
    }
    violation(c, path, "enum", list, value, msg);
}

static void check_string(struct checker *c, const char *path, const cJSON *value,
                         const cJSON *schema)
{
    const cJSON *maxl = cJSON_GetObjectItemCaseSensitive(schema, "maxLength");
    const cJSON *minl = cJSON_GetObjectItemCaseSensitive(schema, "minLength");
    const cJSON *pattern = cJSON_GetObjectItemCaseSensitive(schema, "pattern");
    long len = pf__utf8_length(value->valuestring);
    char msg[256];
    cJSON *actual;

    if (len < 0) {
        violation(c, path, "type", NULL, NULL, "not valid UTF-8 text");
        return;
    }
    /* Characters, not bytes: 512 Chinese characters fit maxLength 512. */
    if (!(actual = cJSON_CreateNumber((double)len))) {
        keep(c, PF_ENOMEM);
        return;
    }
    if (cJSON_IsNumber(maxl) && len > maxl->valuedouble) {
        snprintf(msg, sizeof msg, "at most %.0f characters allowed, got %ld",
                 maxl->valuedouble, len);
        violation(c, path, "maxLength", maxl, actual, msg);
    }
    if (cJSON_IsNumber(minl) && len < minl->valuedouble) {
        snprintf(msg, sizeof msg, "at least %.0f characters required, got %ld",
                 minl->valuedouble, len);
        violation(c, path, "minLength", minl, actual, msg);
    }
    cJSON_Delete(actual);
    if (cJSON_IsString(pattern)) {
        regex_t re;

        /* JSON Schema patterns are ECMAScript regexes; POSIX extended
         * syntax covers the simple ones schemas use. One it cannot read is
         * said, not skipped in silence. */
        if (regcomp(&re, pattern->valuestring, REG_EXTENDED | REG_NOSUB) != 0) {
            keep(c, pf__report_warning(c->report, path,
                 "pattern '%s' not checked: not a POSIX extended regex",
                 pattern->valuestring));
            return;
        }
        if (regexec(&re, value->valuestring, 0, NULL, 0) != 0) {
            snprintf(msg, sizeof msg, "does not match the pattern %s",
                     pattern->valuestring);
            violation(c, path, "pattern", pattern, value, msg);
        }
        regfree(&re);
    }
}

static void check_number(struct checker *c, const char *path, const cJSON *value,
                         const cJSON *schema)
{
    static const struct { const char *key; int is_max, exclusive; } bounds[] = {
        { "minimum", 0, 0 }, { "maximum", 1, 0 },
        { "exclusiveMinimum", 0, 1 }, { "exclusiveMaximum", 1, 1 },
    };
    double v = value->valuedouble;
    char msg[256], limit_text[64];

    for (size_t i = 0; i < 4; i++) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(schema, bounds[i].key);
        int exclusive = bounds[i].exclusive, bad;

        if (!cJSON_IsNumber(b))
            continue;
        /* Draft-4 spells exclusivity as a boolean beside the bound. */
        if (!exclusive && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(schema,
                bounds[i].is_max ? "exclusiveMaximum" : "exclusiveMinimum")))
            exclusive = 1;
        bad = bounds[i].is_max ? (exclusive ? v >= b->valuedouble : v > b->valuedouble)
                               : (exclusive ? v <= b->valuedouble : v < b->valuedouble);
        if (!bad)
            continue;
        pf__format_number(limit_text, sizeof limit_text, b->valuedouble);
        snprintf(msg, sizeof msg, "must be %s %s", bounds[i].is_max
                     ? (exclusive ? "less than" : "at most")
                     : (exclusive ? "greater than" : "at least"), limit_text);
        violation(c, path, bounds[i].key, b, value, msg);
    }
    {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(schema, "multipleOf");

        if (cJSON_IsNumber(m) && m->valuedouble > 0) {
            double q = v / m->valuedouble;

            if (fabs(q - round(q)) > 1e-9) {
                pf__format_number(limit_text, sizeof limit_text, m->valuedouble);
                snprintf(msg, sizeof msg, "must be a multiple of %s", limit_text);
                violation(c, path, "multipleOf", m, value, msg);
            }
        }
    }
}

static void check_value(struct checker *c, const char *path, const cJSON *value,
                        const cJSON *schema);

static void check_object(struct checker *c, const char *prefix, const cJSON *value,
                         const cJSON *schema)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
    const cJSON *required = cJSON_GetObjectItemCaseSensitive(schema, "required");
    const cJSON *additional = cJSON_GetObjectItemCaseSensitive(schema,
                                                               "additionalProperties");
    const cJSON *item;
    char path[512], msg[600];

    cJSON_ArrayForEach(item, required) {
        const cJSON *v;

        if (!cJSON_IsString(item))
            continue;
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "",
                 item->valuestring);
        v = cJSON_GetObjectItemCaseSensitive(value, item->valuestring);
        if (!v || cJSON_IsNull(v)) {
            /* Some schemas mark a field required and give it a default
             * (aleph's ratio): the API still wants it sent. */
            const cJSON *dflt = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(props, item->valuestring), "default");
            char *text = cJSON_IsString(dflt) ? NULL : cJSON_PrintUnformatted(dflt);

            if (dflt)
                snprintf(msg, sizeof msg, "'%s' is required (the documented default is "
                         "%s: pass %s%s%s)", path, cJSON_IsString(dflt) ? dflt->valuestring
                         : (text ? text : "?"), item->valuestring,
                         cJSON_IsString(dflt) ? "=" : ":=",
                         cJSON_IsString(dflt) ? dflt->valuestring : (text ? text : "?"));
            else
                snprintf(msg, sizeof msg, "'%s' is required", path);
            free(text);
            violation(c, path, "required", NULL, NULL, msg);
        }
    }
    cJSON_ArrayForEach(item, value) {
        const cJSON *prop = cJSON_GetObjectItemCaseSensitive(props, item->string);

        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "",
                 item->string);
        if (prop) {
            check_value(c, path, item, prop);
        } else if (cJSON_IsFalse(additional)) {
            snprintf(msg, sizeof msg, "'%s' is not a parameter of this model", path);
            violation(c, path, "additionalProperties", NULL, NULL, msg);
        } else if (props) {
            keep(c, pf__report_warning(c->report, path,
                 "'%s' is not in the model's schema: the API may ignore or "
                 "reject it", path));
        }
    }
}

/* Violations value would get against one branch of a union, counted on a
 * scratch report so that only the branch finally chosen speaks. */
static size_t branch_violations(struct checker *c, const char *path, const cJSON *value,
                                const cJSON *branch)
{
    struct checker scratch = *c;
    size_t n;

    if (!(scratch.report = pf__report_new(""))) {
        keep(c, PF_ENOMEM);
        return 0;
    }
    scratch.rc = PF_OK;
    check_value(&scratch, path, value, branch);
    keep(c, scratch.rc);
    n = pf_report_violation_count(scratch.report);
    pf_report_free(scratch.report);
    return n;
}

/* anyOf/oneOf as fal writes them (null branches are folded into
 * "nullable" at load): the value passes when a branch passes; otherwise
 * the branch of the value's own type says what is wrong, or the type
 * check of all branches does. */
static void check_union(struct checker *c, const char *path, const cJSON *value,
                        const cJSON *branches)
{
    const cJSON *b, *typed = NULL;
    cJSON *types = cJSON_CreateArray();
    int ok;

    cJSON_ArrayForEach(b, branches) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "type");

        if (branch_violations(c, path, value, b) == 0) {
            check_value(c, path, value, b);     /* its warnings, if any */
            cJSON_Delete(types);
            return;
        }
        if (cJSON_IsString(t)) {
            if (!typed && type_matches(t->valuestring, value))
                typed = b;
            if (types)
                cJSON_AddItemToArray(types, cJSON_CreateString(t->valuestring));
        }
    }
    if (typed)
        check_value(c, path, value, typed);
    else if (types && cJSON_GetArraySize(types) > 0)
        check_type(c, path, value, types, &ok);
    else
        violation(c, path, "anyOf", NULL, NULL, "matches none of the forms the schema allows");
    if (!types)
        keep(c, PF_ENOMEM);
    cJSON_Delete(types);
}

static void check_value(struct checker *c, const char *path, const cJSON *value,
                        const cJSON *schema)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(schema, "type");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(schema, "enum");
    const cJSON *cst = cJSON_GetObjectItemCaseSensitive(schema, "const");
    const cJSON *any = cJSON_GetObjectItemCaseSensitive(schema, "anyOf");
    int ok = 1;

    if (!any)
        any = cJSON_GetObjectItemCaseSensitive(schema, "oneOf");
    /* OpenAPI 3.0's "nullable" (and a null branch of a union, folded into
     * it at load): null means "not given". */
    if (cJSON_IsNull(value) &&
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(schema, "nullable")))
        return;
    if (cJSON_IsArray(any) && cJSON_GetArraySize(any) > 0) {
        check_union(c, path, value, any);
        return;
    }
    if (type)
        check_type(c, path, value, type, &ok);
    if (!ok)
        return;                 /* the other keywords would only add noise */
    if (cJSON_IsArray(list))
        check_enum(c, path, value, list);
    if (cst && !json_equal(cst, value))
        violation(c, path, "const", cst, value, "must be exactly the documented value");
    if (cJSON_IsString(value))
        check_string(c, path, value, schema);
    else if (cJSON_IsNumber(value))
        check_number(c, path, value, schema);
    else if (cJSON_IsArray(value)) {
        const cJSON *minn = cJSON_GetObjectItemCaseSensitive(schema, "minItems");
        const cJSON *maxn = cJSON_GetObjectItemCaseSensitive(schema, "maxItems");
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(schema, "items");
        int n = cJSON_GetArraySize(value), i = 0;
        cJSON *count = cJSON_CreateNumber(n);
        const cJSON *e;
        char msg[256], sub[512];

        if (!count) {
            keep(c, PF_ENOMEM);
            return;
        }
        if (cJSON_IsNumber(minn) && n < minn->valuedouble) {
            snprintf(msg, sizeof msg, "at least %.0f item%s required, got %d",
                     minn->valuedouble, minn->valuedouble == 1 ? "" : "s", n);
            violation(c, path, "minItems", minn, count, msg);
        }
        if (cJSON_IsNumber(maxn) && n > maxn->valuedouble) {
            snprintf(msg, sizeof msg, "at most %.0f item%s allowed, got %d",
                     maxn->valuedouble, maxn->valuedouble == 1 ? "" : "s", n);
            violation(c, path, "maxItems", maxn, count, msg);
        }
        cJSON_Delete(count);
        if (cJSON_IsObject(items))
            cJSON_ArrayForEach(e, value) {
                snprintf(sub, sizeof sub, "%s[%d]", path, i++);
                check_value(c, sub, e, items);
            }
    } else if (cJSON_IsObject(value) &&
               (cJSON_GetObjectItemCaseSensitive(schema, "properties") ||
                cJSON_GetObjectItemCaseSensitive(schema, "required"))) {
        check_object(c, path, value, schema);
    }
}

/* ---- media ---- */

/* A scalar given for an array property becomes a one-element array: what
 * `image_urls=@photo.jpg` means, and what the API is sent. */
static pf_err normalise(const pf_schema *s, const cJSON *root, cJSON **out)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s->input, "properties");
    const cJSON *item;
    cJSON *copy = cJSON_CreateObject();

    *out = NULL;
    if (!copy)
        return PF_ENOMEM;
    cJSON_ArrayForEach(item, root) {
        const cJSON *prop = cJSON_GetObjectItemCaseSensitive(props, item->string);
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(prop, "type");
        cJSON *value = cJSON_Duplicate(item, 1);

        /* fal writes numbers as string enums ("duration": "5"): a number
         * the enum lists as text is sent as that text. */
        if (value && cJSON_IsNumber(item) && cJSON_IsString(type) &&
            strcmp(type->valuestring, "string") == 0) {
            const cJSON *e;
            char text[64];

            pf__format_number(text, sizeof text, item->valuedouble);
            cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(prop, "enum"))
                if (cJSON_IsString(e) && strcmp(e->valuestring, text) == 0) {
                    cJSON_Delete(value);
                    value = cJSON_CreateString(text);
                    break;
                }
        }
        if (value && cJSON_IsString(type) && strcmp(type->valuestring, "array") == 0 &&
            !cJSON_IsArray(item) && !cJSON_IsNull(item)) {
            cJSON *array = cJSON_CreateArray();

            if (array)
                cJSON_AddItemToArray(array, value);
            else
                cJSON_Delete(value);
            value = array;
        }
        if (!value) {
            cJSON_Delete(copy);
            return PF_ENOMEM;
        }
        cJSON_AddItemToObject(copy, item->string, value);
    }
    *out = copy;
    return PF_OK;
}

static int is_private_host(const char *url)
{
    const char *host = strstr(url, "://");
    char name[256];
    size_t n;
    struct in_addr a4;
    struct in6_addr a6;

    if (!host)
        return 0;
    host += 3;
    n = strcspn(host, "/?#");
    if (n >= sizeof name)
        return 0;
    memcpy(name, host, n);
    name[n] = '\0';
    if (strchr(name, '@'))
        memmove(name, strchr(name, '@') + 1, strlen(strchr(name, '@') + 1) + 1);
    if (name[0] == '[') {
        char *end = strchr(name, ']');

        if (!end)
            return 0;
        *end = '\0';
        memmove(name, name + 1, strlen(name));
        if (inet_pton(AF_INET6, name, &a6) != 1)
            return 0;
        return IN6_IS_ADDR_LOOPBACK(&a6) || IN6_IS_ADDR_LINKLOCAL(&a6) ||
               (a6.s6_addr[0] & 0xfe) == 0xfc;   /* unique local fc00::/7 */
    }
    name[strcspn(name, ":")] = '\0';
    if (strcasecmp(name, "localhost") == 0 ||
        (strlen(name) > 10 && strcasecmp(name + strlen(name) - 10, ".localhost") == 0) ||
        (strlen(name) > 6 && strcasecmp(name + strlen(name) - 6, ".local") == 0))
        return 1;
    if (inet_pton(AF_INET, name, &a4) == 1) {
        uint32_t ip = ntohl(a4.s_addr);

        return (ip >> 24) == 127 || (ip >> 24) == 10 || (ip >> 24) == 0 ||
               (ip >> 20) == (172u << 4 | 1) || (ip >> 16) == (192u << 8 | 168) ||
               (ip >> 16) == (169u << 8 | 254) || (ip >> 22) == (100u << 2 | 1);
    }
    return 0;
}

/* "https", "http", "data", another scheme, or "file" for a local path. */
static void scheme_of(const char *value, char *buf, size_t size)
{
    const char *colon = strstr(value, "://");

    if (strncasecmp(value, "data:", 5) == 0) {
        pf__strlcpy(buf, "data", size);
    } else if (colon && (size_t)(colon - value) < size &&
               strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-") ==
                   (size_t)(colon - value)) {
        snprintf(buf, size, "%.*s", (int)(colon - value), value);
        for (char *p = buf; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    } else {
        pf__strlcpy(buf, "file", size);
    }
}

/* The url_scheme rule of a media field (the last one written), or NULL:
 * then what every API in the documents says, "a publicly accessible HTTPS
 * URL". */
static const struct pf__media_rule *find_scheme_rule(const struct pf__media_field *m)
{
    const struct pf__media_rule *found = NULL;

    for (size_t i = 0; i < m->rule_count; i++)
        if (m->rules[i].id == PF__M_URL_SCHEME && m->rules[i].state != PF__RULE_UNPARSED &&
            strcasecmp(m->rules[i].metric, "url_scheme") == 0)
            found = &m->rules[i];
    return found;
}

/* Checks where a URL value points and whether the API may fetch it.
 * Returns 1 when the value should be probed. */
static int check_location(struct checker *c, const struct pf__media_field *m,
                          const char *path, const char *value, const char *scheme)
{
    static char *const https[] = { "https" };
    static const struct pf__media_rule https_only = {
        .key = "url_scheme==", .metric = "url_scheme", .id = PF__M_URL_SCHEME,
        .op = PF__OP_EQ, .kind = PF__LIMIT_LIST, .strings = (char **)https,
        .string_count = 1, .message = "Provide a publicly accessible HTTPS URL.",
    };
    const struct pf__media_rule *rule;
    struct pf__subject subject = { NULL, scheme };
    cJSON *limit = NULL, *actual = NULL;
    int probe = 1;
    enum pf__verdict verdict;
    char redacted[512];

    pf__redact_url(redacted, sizeof redacted, value);
    if (strcmp(scheme, "file") == 0)
        return 1;               /* a local file: uploaded before submission */
    if (!(rule = find_scheme_rule(m)))
        rule = &https_only;
    verdict = pf__media_rule_eval(rule, &subject, &actual);
    if (verdict == PF__FAIL && strcmp(scheme, "http") == 0 && c->ctx->allow_http) {
        /* --allow-http: probe it (local test servers) but say the API won't. */
        keep(c, pf__report_warning(c->report, path,
             "%s is plain http://: allowed for this check, but the API fetches "
             "over HTTPS only", redacted));
    } else if (verdict == PF__FAIL) {
        char own[512];
        const char *msg = rule->message;

        if (!msg) {
            snprintf(own, sizeof own, "URL scheme '%s' is not accepted here", scheme);
            msg = own;
        }
        if (!(limit = pf__media_rule_limit(rule)))
            keep(c, PF_ENOMEM);
        else
            violation(c, path, rule->key, limit, actual, msg);
        /* Only probe what could be read safely: not http:// unless allowed,
         * not an unknown scheme. A data URI is still probed for the rest. */
        probe = strcmp(scheme, "data") == 0;
    }
    cJSON_Delete(actual);
    cJSON_Delete(limit);
    if (probe && (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
        is_private_host(value))
        keep(c, pf__report_warning(c->report, path,
             "%s is on a loopback or private address: the API server cannot "
             "fetch it", redacted));
    return probe;
}

static const char *kind_article(pf_media_kind k)
{
    return k == PF_MEDIA_IMAGE ? "an image" : k == PF_MEDIA_VIDEO ? "a video"
         : k == PF_MEDIA_AUDIO ? "an audio file" : "media";
}

/* "an image or a video" for a field that takes several kinds. */
static void kinds_text(unsigned kinds, char *buf, size_t size)
{
    static const pf_media_kind order[] = { PF_MEDIA_IMAGE, PF_MEDIA_VIDEO, PF_MEDIA_AUDIO };
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < 3; i++)
        if (kinds & (1u << order[i])) {
            snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", n++ ? " or " : "",
                     kind_article(order[i]));
        }
}

static void check_kind(struct checker *c, const struct pf__media_field *m,
                       const char *path, const char *name, const pf_media_info *info)
{
    char msg[700], want[64];
    cJSON *limit, *actual;

    if (m->kinds) {
        /* A field that takes several kinds ("audio or video") takes any. */
        if (m->kinds & (1u << info->kind))
            return;
        kinds_text(m->kinds, want, sizeof want);
        snprintf(msg, sizeof msg, "expected %s, but %s is %s (%s)", want, name,
                 kind_article(info->kind), info->format);
        limit = cJSON_CreateString(want);
    } else {
        if (m->kind == PF_MEDIA_UNKNOWN || m->kind == info->kind)
            return;
        if (m->kind == PF_MEDIA_VIDEO && info->kind == PF_MEDIA_AUDIO)
            snprintf(msg, sizeof msg, "expected a video, but %s has no video stream", name);
        else
            snprintf(msg, sizeof msg, "expected %s, but %s is %s (%s)",
                     kind_article(m->kind), name, kind_article(info->kind), info->format);
        limit = cJSON_CreateString(pf_media_kind_name(m->kind));
    }
    actual = cJSON_CreateString(pf_media_kind_name(info->kind));
    if (!limit || !actual)
        keep(c, PF_ENOMEM);
    else
        violation(c, path, "media_type", limit, actual, msg);
    cJSON_Delete(limit);
    cJSON_Delete(actual);
}

static void apply_rules(struct checker *c, const char *path, const char *name,
                        const struct pf__media_field *m, const pf_media_info *info,
                        const char *scheme)
{
    for (size_t i = 0; i < m->rule_count; i++) {
        const struct pf__media_rule *rule = &m->rules[i];
        const char *text = rule->key;
        struct pf__subject subject = { info, scheme };
        cJSON *actual = NULL, *limit = NULL;
        char own[600], lim[64], act[64];
        const char *msg = rule->message;

        if (rule->state == PF__RULE_UNPARSED) {
            keep(c, pf__report_warning(c->report, path,
                 "rule '%s' not checked: not a metric followed by an operator", text));
            continue;
        }
        if (rule->id == PF__M_URL_SCHEME)
            continue;           /* url_scheme: see check_location */
        switch (pf__media_rule_eval(rule, &subject, &actual)) {
        case PF__PASS:
            break;
        case PF__FAIL:
            if (!(limit = pf__media_rule_limit(rule))) {
                keep(c, PF_ENOMEM);
                break;
            }
            if (!msg) {
                char *lt = cJSON_PrintUnformatted(limit), *at = cJSON_PrintUnformatted(actual);

                pf__strlcpy(lim, lt ? lt : "?", sizeof lim);
                pf__strlcpy(act, at ? at : "?", sizeof act);
                free(lt);
                free(at);
                snprintf(own, sizeof own, "%s is %s; the rule is %s %s", rule->metric,
                         act, text, lim);
                msg = own;
            }
            violation(c, path, text, limit, actual, msg);
            break;
        case PF__UNKNOWN_METRIC:
            /* A bare key (fal's x-fal) names no operator to quote. */
            if (strcmp(text, rule->metric) == 0)
                keep(c, pf__report_warning(c->report, path,
                     "rule '%s' not checked: a limit preflight does not know", text));
            else
                keep(c, pf__report_warning(c->report, path,
                     "rule '%s' not checked: unknown metric '%s'", text, rule->metric));
            break;
        case PF__BAD_VALUE:
            keep(c, pf__report_warning(c->report, path,
                 "rule '%s' not checked: its validation_value does not suit the metric",
                 text));
            break;
        case PF__NOT_MEASURED:
            keep(c, pf__report_warning(c->report, path,
                 "rule '%s' not checked: %s has no %s", text, name, rule->metric));
            break;
        }
        cJSON_Delete(actual);
        cJSON_Delete(limit);
    }
}

static void check_media_value(struct checker *c, const struct pf__media_field *m,
                              const char *path, const cJSON *value)
{
    char scheme[32], name[512];
    pf_media_info info;
    pf_err rc;

    if (!cJSON_IsString(value))
        return;                 /* check_value reported the type */
    if (!*value->valuestring) {
        char msg[600];

        snprintf(msg, sizeof msg, "'%s' is empty: give a local file or an https URL",
                 path);
        violation(c, path, "required", NULL, NULL, msg);
        return;
    }
    scheme_of(value->valuestring, scheme, sizeof scheme);
    if (strcmp(scheme, "file") == 0)
        pf__strlcpy(name, value->valuestring, sizeof name);
    else
        pf__redact_url(name, sizeof name, value->valuestring);
    if (!c->seen)
        pf__strlcpy(c->first_path, path, sizeof c->first_path);
    c->seen++;
    if (!check_location(c, m, path, value->valuestring, scheme))
        return;
    if (m->unprobed) {
        /* A 3D model or another file that is not media: hosted as it is. */
        keep(c, pf__report_warning(c->report, path,
             "%s not checked: the field takes a file that is not an image, video "
             "or audio (%s), which preflight does not probe", name, m->path));
        return;
    }
    pf__clear_error(c->ctx);
    if ((rc = pf__probe(c->ctx, value->valuestring, &info))) {
        if (rc == PF_ENOMEM)
            keep(c, rc);
        keep(c, pf__report_error(c->report, path, rc, pf_ctx_error(c->ctx)));
        return;
    }
    keep(c, pf__report_input(c->report, path, name, &info));
    check_kind(c, m, path, name, &info);
    apply_rules(c, path, name, m, &info, scheme);
}

/* Visits every value a media path names in the request: "image_urls[]"
 * each element, "references[].uri" each element's uri. */
static void walk_media(struct checker *c, const struct pf__media_field *m,
                       const char *rest, const cJSON *node, const char *path)
{
    char part[128], sub[512];
    size_t n = strcspn(rest, ".");
    int each;
    const cJSON *child;

    if (n >= sizeof part)
        return;
    memcpy(part, rest, n);
    part[n] = '\0';
    each = n > 2 && strcmp(part + n - 2, "[]") == 0;
    if (each)
        part[n - 2] = '\0';
    child = cJSON_GetObjectItemCaseSensitive(node, part);
    if (!child || cJSON_IsNull(child))
        return;
    snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", part);
    if (each) {
        const cJSON *e;
        int i = 0;

        if (!cJSON_IsArray(child))
            return;
        cJSON_ArrayForEach(e, child) {
            char elem[540];

            snprintf(elem, sizeof elem, "%s[%d]", sub, i++);
            if (rest[n])
                walk_media(c, m, rest + n + 1, e, elem);
            else
                check_media_value(c, m, elem, e);
        }
    } else if (rest[n]) {
        walk_media(c, m, rest + n + 1, child, sub);
    } else {
        check_media_value(c, m, sub, child);
    }
}

/* Properties that carry validations but are not media cannot be measured:
 * say so instead of passing them in silence. */
static void warn_unchecked_rules(struct checker *c)
{
    const pf_schema *s = c->schema;

    for (size_t i = 0; i < s->unchecked_count; i++) {
        const char *field = s->unchecked[i].field;
        int media = 0;

        if (!cJSON_GetObjectItemCaseSensitive(c->request, field))
            continue;
        for (size_t j = 0; j < s->media_count; j++)
            if (strncmp(s->media[j].path, field, strlen(field)) == 0)
                media = 1;
        if (!media)
            keep(c, pf__report_warning(c->report, field,
                 "rule '%s' not checked: '%s' is not a media input",
                 s->unchecked[i].key, field));
    }
}

/* Limits a field states only in prose: quoted, said to be unchecked, once
 * per field given. */
static void warn_prose(struct checker *c, const struct pf__media_field *m)
{
    for (size_t i = 0; i < m->prose_count; i++)
        keep(c, pf__report_warning(c->report, c->first_path,
             "not checked: the schema states a limit only in prose: \"%.700s\"",
             m->prose[i]));
}

/* ---- cross-field advice ---- */

static int parse_ratio(const char *s, double *out)
{
    char *end;
    double w = pf__strtod(s, &end), h;

    if (end == s || (*end != ':' && *end != 'x' && *end != '/'))
        return -1;
    h = pf__strtod(end + 1, &end);
    if (*end || !(w > 0) || !(h > 0))
        return -1;
    *out = w / h;
    return 0;
}

static const char *shape(double aspect)
{
    return aspect > 1.01 ? "landscape" : aspect < 0.99 ? "portrait" : "square";
}

/* Whether the schema's ratio frames the media at field ("promptImage",
 * "references[0].uri"). */
static int ratio_frames(const pf_schema *s, const char *field)
{
    for (size_t j = 0; j < s->ratio_media_count; j++) {
        const char *rm = s->ratio_media[j];
        size_t base = strcspn(rm, "[.");

        if (strncmp(field, rm, base) == 0 &&
            (field[base] == '\0' || field[base] == '[' || field[base] == '.'))
            return 1;
    }
    return 0;
}

int pf__requested_ratio(const pf_schema *s, const cJSON *request,
                        const char *path, const char **text, double *want)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s->input, "properties");
    const cJSON *ratio;

    if (!s->ratio_field || !ratio_frames(s, path))
        return 0;
    ratio = cJSON_GetObjectItemCaseSensitive(request, s->ratio_field);
    if (!ratio)
        ratio = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(props, s->ratio_field), "default");
    if (!cJSON_IsString(ratio) || parse_ratio(ratio->valuestring, want) != 0)
        return 0;
    *text = ratio->valuestring;
    return 1;
}

static void check_ratio(struct checker *c)
{
    for (size_t i = 0; i < pf_report_input_count(c->report); i++) {
        const char *field, *value, *ratio_text;
        const pf_media_info *info = pf_report_input(c->report, i, &field, &value);
        double have, want;

        if (!pf__requested_ratio(c->schema, c->request, field, &ratio_text, &want) ||
            info->width <= 0 || info->height <= 0)
            continue;
        have = (double)info->width / info->height;
        if (fabs(have / want - 1.0) <= PF__RATIO_TOLERANCE)
            continue;
        keep(c, pf__report_warning(c->report, field,
             "%s is %d×%d (%s, %.3g) but %s=%s asks for %s (%.3g): the output "
             "will be cropped or letterboxed; a fix can crop or pad it",
             value, info->width, info->height, shape(have), have,
             c->schema->ratio_field, ratio_text, shape(want), want));
    }
}

static int is_required(const cJSON *schema, const char *name)
{
    const cJSON *r;

    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(schema, "required"))
        if (cJSON_IsString(r) && strcmp(r->valuestring, name) == 0)
            return 1;
    return 0;
}

/* Defaults the API applies to absent optional fields (a missing required
 * one is a violation, not a default). */
static void report_defaults(struct checker *c)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(c->schema->input, "properties");
    const cJSON *prop;

    cJSON_ArrayForEach(prop, props) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(prop, "default");

        if (d && !cJSON_GetObjectItemCaseSensitive(c->request, prop->string) &&
            !is_required(c->schema->input, prop->string))
            keep(c, pf__report_default(c->report, prop->string, d));
    }
}

pf_err pf_check(pf_ctx *ctx, const pf_schema *schema, const pf_request *req,
                pf_report **out)
{
    struct checker c = { ctx, schema, NULL, NULL, PF_OK, 0, "" };
    pf_err rc;

    *out = NULL;
    if (!(c.report = pf__report_new(schema->model)))
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    if ((rc = normalise(schema, req->root, &c.request)))
        goto fail;

    check_object(&c, "", c.request, schema->input);
    warn_unchecked_rules(&c);
    for (size_t i = 0; i < schema->media_count; i++) {
        c.seen = 0;
        walk_media(&c, &schema->media[i], schema->media[i].path, c.request, "");
        if (c.seen)
            warn_prose(&c, &schema->media[i]);
    }
    check_ratio(&c);
    report_defaults(&c);
    if ((rc = c.rc))
        goto fail;
    pf__report_set_request(c.report, c.request);
    *out = c.report;
    return PF_OK;
fail:
    cJSON_Delete(c.request);
    pf_report_free(c.report);
    return pf__error(ctx, rc, "out of memory while checking");
}

/* "image_urls[]" matches "image_urls[0]", "references[].uri" matches
 * "references[12].uri": the pattern's "[]" stands for any index. */
static int path_matches(const char *pattern, const char *path)
{
    while (*pattern) {
        if (pattern[0] == '[' && pattern[1] == ']') {
            if (*path++ != '[' || *path < '0' || *path > '9')
                return 0;
            while (*path >= '0' && *path <= '9')
                path++;
            if (*path++ != ']')
                return 0;
            pattern += 2;
        } else if (*pattern++ != *path++) {
            return 0;
        }
    }
    return *path == '\0';
}

const struct pf__media_field *pf__schema_media_at(const pf_schema *schema,
                                                  const char *path)
{
    for (size_t i = 0; i < schema->media_count; i++)
        if (path_matches(schema->media[i].path, path))
            return &schema->media[i];
    return NULL;
}

pf_err pf__check_media(pf_ctx *ctx, const pf_schema *schema, const char *path,
                       const char *value, pf_report **out)
{
    struct checker c = { ctx, schema, NULL, NULL, PF_OK, 0, "" };
    const struct pf__media_field *m = pf__schema_media_at(schema, path);
    cJSON *v = NULL;
    pf_err rc = PF_OK;

    *out = NULL;
    if (!m)
        return pf__error(ctx, PF_EINTERNAL, "%s is not a media input of %s",
                         path, schema->model);
    if (!(c.report = pf__report_new(schema->model)) ||
        !(v = cJSON_CreateString(value))) {
        rc = pf__error(ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    check_media_value(&c, m, path, v);
    if ((rc = c.rc)) {
        rc = pf__error(ctx, rc, "out of memory while checking");
        goto out;
    }
    *out = c.report;
    c.report = NULL;
out:
    cJSON_Delete(v);
    pf_report_free(c.report);
    return rc;
}
